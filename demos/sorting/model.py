r"""Headless models of the "OT is sorting" demo.

**1D** (:class:`SortingModel`): two weighted point sets on the line; the optimal plan is the monotone
one, read off the quantile functions (:func:`otlab.core.solve_1d`):

.. math::
    F_\alpha(t) = \sum_{x_i \le t} a_i, \qquad F_\alpha^{-1}(s) = \min\{t : F_\alpha(t) \ge s\}, \qquad
    \mathrm{OT}(\alpha, \beta) = \int_0^1 C\big(F_\alpha^{-1}(s), F_\beta^{-1}(s)\big)\,ds .

Frames sweep the level s from 0 to 1 and back: the view marks s on both graphs and the pair
(F_α^{-1}(s), F_β^{-1}(s)) it matches.

**2D** (:class:`MatchingModel`): N points to N points, three solvers side by side, each frame a few
rounds of each: the naive dual ascent ("greedy", ε = 0), the auction with slack ε (ε-scaling when
``annealing``), both from :func:`otlab.core.iterate_assignment`, and Sinkhorn at temperature ε
(:func:`otlab.core.iterate`, ε = blur², annealed from the diameter or not). Every solver shows a
dual-feasible pair (f, g), f_i + g_j ≤ C_ij, whose objective mean(f) + mean(g) is a lower bound of the
optimal mean cost; for Sinkhorn g is the c-transform of its f, g_j = min_i C_ij - f_i. The chart draws
optimum - dual for the three, the optimum from ``scipy.optimize.linear_sum_assignment``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np
import param
import torch

from otlab.core import assign, iterate, iterate_assignment, solve_1d
from otlab.core.discrete.assignment import assignment_costs
from otlab.demos.frame_model import FrameModel
from otlab.demos.shapes import PRESETS, sample


# -- 1D -----------------------------------------------------------------------------------------------------
def _line_sample(shape: str, n: int, rng) -> np.ndarray:
    if shape == "two bumps":
        pick = rng.random(n) < 0.6
        return np.where(pick, 0.3 + 0.05 * rng.standard_normal(n), 0.72 + 0.07 * rng.standard_normal(n))
    if shape == "uniform":
        return rng.uniform(0.1, 0.9, n)
    if shape == "skewed":
        return 0.05 + 0.9 * rng.beta(2.0, 5.0, n)
    if shape == "one bump":
        return 0.55 + 0.1 * rng.standard_normal(n)
    raise ValueError(f"unknown 1D shape {shape!r}; choose one of {LINE_SHAPES}")


LINE_SHAPES = ["two bumps", "uniform", "skewed", "one bump"]
#: the level s moves by this much per frame
LEVEL_STEP = 0.01


@dataclass
class SortingFrame:
    generation: int
    x: np.ndarray          # (N,) source points, float64
    a: np.ndarray          # (N,) weights (sum 1)
    y: np.ndarray          # (M,)
    b: np.ndarray          # (M,)
    plan: np.ndarray       # (K, 3): i, j, mass of the monotone plan
    value: float           # OT cost
    levels: np.ndarray     # (K + 1,) cumulative masses 0 = s_0 < ... < s_K = 1 of the plan's pieces
    s: float               # the level shown
    piece: int             # index of the plan piece at level s


class SortingModel(FrameModel):
    """Exact 1D OT between two weighted point sets; frames sweep the quantile level s."""

    source = param.Selector(default="two bumps", objects=LINE_SHAPES, doc="distribution of the points x_i")
    target = param.Selector(default="skewed", objects=LINE_SHAPES, doc="distribution of the points y_j")
    n_source = param.Integer(default=12, bounds=(1, 2000), doc="N, points in α")
    n_target = param.Integer(default=9, bounds=(1, 2000), doc="M, points in β")
    weighted = param.Boolean(default=True, doc="random weights (else uniform 1/N, 1/M)")
    p = param.Selector(default=2, objects=[1, 2], doc="cost |x-y| (1) or |x-y|²/2 (2)")
    seed = param.Integer(default=0, bounds=(0, 2 ** 31 - 1))

    def _rebuild(self):
        rng = np.random.default_rng(self.seed)
        x, y = _line_sample(self.source, self.n_source, rng), _line_sample(self.target, self.n_target, rng)
        a = rng.uniform(0.2, 1.0, len(x)) if self.weighted else np.ones(len(x))
        b = rng.uniform(0.2, 1.0, len(y)) if self.weighted else np.ones(len(y))
        a, b = a / a.sum(), b / b.sum()
        value, plan = solve_1d(torch.as_tensor(x), torch.as_tensor(y), torch.as_tensor(a), torch.as_tensor(b), p=self.p)
        plan = plan.numpy()
        self._static = (x, a, y, b, plan, float(value), np.concatenate([[0.0], np.cumsum(plan[:, 2])]))
        self._t = 0.0

    def _next_frame(self, generation: int) -> SortingFrame:
        s = self._t if self._t <= 1 else 2 - self._t        # 0 → 1 → 0
        self._t = (self._t + LEVEL_STEP) % 2
        x, a, y, b, plan, value, levels = self._static
        piece = int(np.clip(np.searchsorted(levels, s, side="right") - 1, 0, len(plan) - 1))
        return SortingFrame(generation, x, a, y, b, plan, value, levels, s, piece)


# -- 2D -----------------------------------------------------------------------------------------------------
SOLVERS = ("greedy", "auction", "Sinkhorn")


@dataclass
class SolverState:
    """What one panel draws: a matching (perm, -1 = unassigned) or a plan's strongest pairs, and prices."""

    name: str
    rounds: int
    f: np.ndarray                      # (N,) prices on x
    g: np.ndarray                      # (N,) prices on y
    dual: float                        # mean(f) + mean(g) ≤ optimum
    perm: Optional[np.ndarray] = None  # (N,) matching
    pairs: Optional[np.ndarray] = None  # (K, 3) i, j, N π_ij of the plan entries above 1% of a row's mass
    cost: float = float("nan")         # mean cost of the matching (NaN while partial)
    note: str = ""                     # phase / status for the readout
    done: bool = False


@dataclass
class MatchingFrame:
    generation: int
    x: np.ndarray            # (N, 2)
    y: np.ndarray            # (N, 2)
    optimum: float           # exact optimal mean cost
    solvers: List[SolverState]
    history: Dict[str, List[tuple]]   # solver -> [(rounds, optimum - dual)]


class MatchingModel(FrameModel):
    """Greedy, auction and Sinkhorn on the same N points, a few rounds of each per frame."""

    source = param.Selector(default="Gaussian blobs", objects=list(PRESETS), doc="shape of the points x_i")
    target = param.Selector(default="crescent", objects=list(PRESETS), doc="shape of the points y_j")
    n = param.Integer(default=60, bounds=(2, 200), doc="N, points on each side")
    eps = param.Number(default=1e-3, bounds=(1e-5, 0.1), doc="auction slack / Sinkhorn temperature ε (cost units)")
    annealing = param.Boolean(default=True, doc="ε-scaling (auction) and ε-annealing (Sinkhorn) on")
    rounds_per_frame = param.Integer(default=4, bounds=(1, 100), doc="rounds of each solver per frame")
    seed = param.Integer(default=0, bounds=(0, 2 ** 31 - 1))

    _kept_on_change = ("rounds_per_frame",)

    def _rebuild(self):
        x = torch.as_tensor(sample(self.source, self.n, self.seed), dtype=torch.float64)
        y = torch.as_tensor(sample(self.target, self.n, self.seed + 1), dtype=torch.float64)
        self._x, self._y = x, y
        self._C = assignment_costs(x, y, 2)
        self._optimum = assign(x, y).cost
        blur = float(np.sqrt(self.eps))
        sinkhorn_schedule = {} if self.annealing else {"diameter": blur}
        self._runs = {
            "greedy": iterate_assignment(x, y, method="greedy"),
            "auction": iterate_assignment(x, y, method="auction", eps=self.eps, annealing=self.annealing),
            "Sinkhorn": iterate(x, y, p=2, blur=blur, scaling=0.7, debias=False, backend="tensorized",
                                tol=1e-4, max_iter=20_000, level_tol=None, **sinkhorn_schedule),
        }
        self._last: Dict[str, SolverState] = {}
        self._history: Dict[str, List[tuple]] = {name: [] for name in SOLVERS}

    def _next_frame(self, generation: int) -> MatchingFrame:
        for name in SOLVERS:
            for _ in range(self.rounds_per_frame):
                if name in self._last and self._last[name].done:
                    break
                state = next(self._runs[name], None)
                if state is None:
                    self._last[name].done = True
                    break
                self._last[name] = (self._sinkhorn_state(state) if name == "Sinkhorn"
                                    else self._assignment_state(name, state))
                self._history[name].append((self._last[name].rounds, max(self._optimum - self._last[name].dual, 0.0)))
        return MatchingFrame(generation, self._x.numpy(), self._y.numpy(), self._optimum,
                             [self._last[name] for name in SOLVERS], {k: list(v) for k, v in self._history.items()})

    def _assignment_state(self, name, state) -> SolverState:
        if state.phase == "done":
            note = ("optimal (certified)" if state.converged else
                    f"gave up after {state.n_iter} rounds: free objects handed out in index order")
        elif state.phase == "certify":
            note = f"certificate: cancelled {state.cycles} negative cycle(s)"
        else:
            free = int((state.perm < 0).sum())
            note = f"ε = {state.eps:.2g}, {free} unassigned" if name == "auction" else f"{free} unassigned"
        return SolverState(name, state.n_iter, state.f.numpy(), state.g.numpy(), state.dual, perm=state.perm.numpy(),
                           cost=state.cost, note=note, done=state.phase == "done")

    def _sinkhorn_state(self, state) -> SolverState:
        f = state.f[0].detach()
        g = (self._C - f[:, None]).min(0).values   # c-transform: the best feasible g for this f
        plan = state.plan()[0] * len(f)            # rows sum to ~1
        keep = plan > 0.01
        i, j = keep.nonzero(as_tuple=True)
        pairs = torch.stack([i.double(), j.double(), plan[i, j].double()], 1).numpy()
        note = (f"ε = {state.eps:.2g}" + (f", marginal error {float(state.marginal_error[0]):.1e}"
                                          if state.marginal_error is not None else ""))
        if state.final:
            note += " (converged)" if state.converged else ""
        return SolverState("Sinkhorn", state.step, f.numpy(), g.numpy(), float(f.mean() + g.mean()), pairs=pairs,
                           cost=float((plan * self._C).sum() / len(f)), note=note, done=state.final)
