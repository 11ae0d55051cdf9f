"""Functional API: :func:`solve` (one call, an :class:`~otlab.core.clouds.results.OTResult`) and
:func:`iterate` (a generator of annealing states, what the demos animate). ``solve`` is ``iterate``
run to its end.

Conventions: cost |x - y| (p = 1) or |x - y|^2 / 2 (p = 2); ε = blur^p; ρ = reach^p. Inputs are
(N, D) or batched (B, N, D) clouds with optional weights (N,) / (B, N) (uniform when omitted).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

import warnings

import torch

from .. import checks
from ..costs import centred, joint_diameter
from .geometry import SOFTMINS, Level, SingleLevel
from .keops_softmin import keops_available
from .multiscale import MultiscaleGeometry
from .results import OTResult
from ..schedule import anneal_schedule
from .sinkhorn import SinkhornState, anneal

BACKENDS = ("auto", "tensorized", "online", "multiscale", "keops")

#: auto uses the dense backend up to this many cost-matrix entries (per batch item); above, the
#: online soft-min is faster (measured here: 2.4x at N = M = 1000).
DENSE_MAX_ENTRIES = 1 << 16
#: auto uses the multiscale backend from this many entries on, for unbatched clouds in D <= 3.
MULTISCALE_MIN_ENTRIES = 1 << 22
#: Default per-temperature tolerance on the L1 marginal error (see :mod:`otlab.core.clouds.sinkhorn`): on the
#: benchmark suite it keeps the value within 0.5% of the converged S_ε, where GeomLoss's single update
#: per temperature is 3-12% low. ``level_tol=None`` reproduces GeomLoss's iterations exactly.
LEVEL_TOL = 0.05


def choose_backend(backend: str, x: torch.Tensor, y: torch.Tensor, cost=None, closes_on_points: bool = True) -> str:
    """Resolve ``auto`` by size, dimension, batch and device; check explicit choices.

    A callable ``cost`` runs on the dense backend only. ``multiscale`` on a batch falls back (with a
    warning, as GeomLoss does) to what ``auto`` picks for it. ``auto`` picks multiscale only when the
    run closes on the points (a tolerance, ``tol`` or ``level_tol``, is set): without one, multiscale
    closes by GeomLoss's extrapolation from the clusters, which on GeomLoss's README case (3D, 2,000 vs
    4,000 points) lands 26% from the exact value and 87% in gradient; ``online`` then runs the same
    iterations on the points.
    """
    B, N, D = x.shape
    M = y.shape[1]
    if cost is not None:
        if backend not in ("auto", "tensorized"):
            raise ValueError(f"a callable cost runs on the dense backend: use backend='auto' or 'tensorized', "
                             f"not {backend!r}")
        return "tensorized"
    if backend == "multiscale" and B > 1:
        warnings.warn(f"backend 'multiscale' works on single clouds, not batches (B = {B}); "
                      "using the exact batched backends instead", UserWarning, stacklevel=4)
        backend = "auto"
    if backend == "keops" or (backend == "online" and x.is_cuda and keops_available()):
        return "keops"
    if backend != "auto":
        return backend
    if N * M <= DENSE_MAX_ENTRIES:
        return "tensorized"
    if B == 1 and D <= 3 and N * M >= MULTISCALE_MIN_ENTRIES and closes_on_points:
        return "multiscale"
    return "keops" if x.is_cuda and keops_available() else "online"


@dataclass
class Problem:
    """A validated problem: centred clouds (B, N, D), (B, M, D), weights, and the solver settings."""

    x: torch.Tensor
    y: torch.Tensor
    a: torch.Tensor
    b: torch.Tensor
    center: torch.Tensor
    batched: bool
    p: int
    blur: float
    rho: Optional[float]
    eps_list: list
    debias: bool
    backend: str
    truncate: Optional[float]
    cost: Optional[object] = None

    def geometry(self):
        if self.backend == "multiscale":
            return MultiscaleGeometry(self.x, self.y, self.a, self.b, self.p, self.truncate, self.blur)
        cost = self.p if self.cost is None else self.cost
        return SingleLevel(Level(self.x, self.y, self.a, self.b, cost, SOFTMINS[self.backend]))


def prepare(x, y, a=None, b=None, *, p=2, blur=0.05, reach=None, scaling=0.5, debias=True, diameter=None,
            backend="auto", truncate=5.0, cost=None, closes_on_points=True) -> Problem:
    """Validate the inputs (clear ``ValueError``/``TypeError`` on bad ones) and build a :class:`Problem`
    (``closes_on_points``: whether a tolerance will be met on the points, see :func:`choose_backend`)."""
    x, y = checks.point_pair(x, y)
    a = checks.as_weights("a", a, x, "x")
    b = checks.as_weights("b", b, y, "y")
    p = checks.exponent(p)
    blur = checks.positive_number("blur", blur)
    reach = checks.positive_number("reach", reach, allow_none=True)
    scaling = checks.scaling_factor(scaling)
    diameter = checks.positive_number("diameter", diameter, allow_none=True)
    truncate = checks.positive_number("truncate", truncate, allow_none=True)
    cost = checks.cost_function(cost)
    backend = checks.choice("backend", backend, BACKENDS)
    debias = checks.flag("debias", debias)
    batched = x.dim() == 3
    if not batched:
        x, y, a, b = x.unsqueeze(0), y.unsqueeze(0), a.unsqueeze(0), b.unsqueeze(0)
    if reach is None:
        checks.equal_masses("a and b", a, b, "normalise the weights")
    span = joint_diameter(x, y)
    checks.costs_fit_dtype("x and y", span, p, x.dtype)
    if diameter is None:
        diameter = span
    backend = choose_backend(backend, x, y, cost, closes_on_points)
    x, y, center = centred(x, y)
    return Problem(x, y, a, b, center, batched, p, blur,
                   None if reach is None else reach ** p, anneal_schedule(diameter, blur, scaling, p),
                   debias, backend, truncate, cost)


def _validated_iteration_options(tol, max_iter, level_tol, map_tol=None, cost=None, p=2):
    """The stopping options of :func:`~otlab.core.clouds.sinkhorn.anneal`, checked (``map_tol`` only
    where there is a Brenier map: p = 2 and no callable cost)."""
    tol = checks.positive_number("tol", tol, allow_none=True)
    level_tol = checks.positive_number("level_tol", level_tol, allow_none=True)
    max_iter = checks.integer("max_iter", max_iter, allow_none=True)
    map_tol = checks.positive_number("map_tol", map_tol, allow_none=True)
    if map_tol is not None and (cost is not None or p != 2):
        raise ValueError("map_tol measures the map x - T(x) of the cost |x - y|^2 / 2 (p=2): "
                         f"{'a callable cost' if cost is not None else f'p={p}'} has none; use tol "
                         "(the marginal error) instead")
    return dict(tol=tol, max_iter=max_iter, level_tol=level_tol, map_tol=map_tol)


def _closes_on_points(options) -> bool:
    """Whether the run meets a tolerance on the points (multiscale then finishes there)."""
    return any(options[name] is not None for name in ("tol", "level_tol", "map_tol"))


def _states(problem: Problem, options) -> Iterator[SinkhornState]:
    return anneal(problem.geometry(), problem.eps_list, problem.p, problem.rho, problem.debias,
                  problem.center, **options)


def iterate(x, y, a=None, b=None, *, p=2, blur=0.05, reach=None, scaling=0.5, debias=True, diameter=None,
            backend="auto", tol=None, max_iter=None, level_tol=LEVEL_TOL, map_tol=None, truncate=5.0,
            cost=None) -> Iterator[SinkhornState]:
    """Yield one :class:`~otlab.core.clouds.sinkhorn.SinkhornState` per Sinkhorn update.

    Same arguments as :func:`solve`. Steps follow the schedule ε_k = σ_k^p, σ from the diameter down
    to ``blur`` by factors ``scaling`` (extra steps at a temperature while the marginal error is above
    ``level_tol``); with ``tol``, extra steps at the last ε until the marginal error is at most
    ``tol``, and until the estimated map error is at most ``map_tol``; the last state (``final=True``)
    is the closing update with gradients.
    States hold batched tensors (B, N) (B = 1 for unbatched inputs); coordinates are centred
    (``state.x``/``state.y`` give the supports in the user's coordinates).
    """
    options = _validated_iteration_options(tol, max_iter, level_tol, map_tol, cost, p)
    problem = prepare(x, y, a, b, p=p, blur=blur, reach=reach, scaling=scaling, debias=debias,
                      diameter=diameter, backend=backend, truncate=truncate, cost=cost,
                      closes_on_points=_closes_on_points(options))
    yield from _states(problem, options)


def solve(x, y, a=None, b=None, *, p=2, blur=0.05, reach=None, scaling=0.5, debias=True, diameter=None,
          backend="auto", tol=None, max_iter=None, level_tol=LEVEL_TOL, map_tol=None, truncate=5.0, cost=None,
          verbose=False) -> OTResult:
    r"""Entropic OT between two weighted point clouds, with ε-annealing; returns an :class:`OTResult`.

    Args:
        x, y: points (N, D) and (M, D), or batches (B, N, D) and (B, M, D).
        a, b: non-negative weights (N,), (M,) (or (B, N), (B, M)) with positive sums; uniform if None.
            Balanced OT (reach None) needs equal total masses.
        p: 1 for C = |x - y|, 2 for C = |x - y|^2 / 2.
        blur: final blur σ > 0 (ε = σ^p), in the units of x.
        reach: None (balanced) or the unbalanced reach (ρ = reach^p).
        scaling: annealing ratio in (0, 1); closer to 1 is slower and more accurate.
        debias: return the Sinkhorn divergence S_ε (True) or the entropic OT_ε (False).
        diameter: largest distance in the problem; the bounding-box diagonal when None.
        backend: "auto", "tensorized" (dense), "online" (O(N) memory), "multiscale" (clusters +
            truncation, unbatched D <= 3), "keops" (pykeops). With "auto", a run that exhausts the
            device's memory (``torch.OutOfMemoryError``) warns once (``ResourceWarning``) and is solved
            again with "online".
        tol: if set, extra iterations at the final ε until the L1 marginal error is <= tol.
        max_iter: cap on the total number of updates when ``tol`` is set; hitting it first warns
            (:class:`~otlab.core.clouds.sinkhorn.ConvergenceWarning`) and sets ``result.converged = False``.
        level_tol: extra updates at each temperature while the L1 marginal error is above it (default
            0.05: within 1% of the converged S_ε); None runs GeomLoss's one update per temperature.
        map_tol: then extra over-relaxed symmetric updates at the final ε until the estimated relative
            L2 error of the map x - T(x) (equivalently of the x-gradient;
            :class:`~otlab.core.clouds.sinkhorn.MapErrorEstimate`) is at most it (p = 2 only; at most
            1,000 updates, within ``max_iter``; else a ``ConvergenceWarning``). 5e-3 kept the measured
            map error within 1% on the 2D/3D 2,000-point suite (``docs/core.md``).
        truncate: multiscale truncation τ: pairs with slack above τ ε are dropped (None: no truncation).
        cost: None, or a callable ``cost(x, y)`` returning the (B, N, M) cost matrix of batched clouds
            (dense backend; ``p`` then only sets ε = blur^p; no Brenier map).
        verbose: print the backend, the number of updates and the levels (multiscale) as they run.
    """
    options = _validated_iteration_options(tol, max_iter, level_tol, map_tol, cost, p)
    settings = dict(p=p, blur=blur, reach=reach, scaling=scaling, debias=debias, diameter=diameter,
                    truncate=truncate, cost=cost, closes_on_points=_closes_on_points(options))
    problem = prepare(x, y, a, b, backend=backend, **settings)
    try:
        state = _run(problem, options, verbose)
    except torch.OutOfMemoryError:
        if backend != "auto" or problem.backend in ("online", "keops") or cost is not None:
            raise  # an explicit choice, or already the lean backends: the caller decides
        warnings.warn(f"otlab: the {problem.backend} backend ran out of memory on {problem.x.device}; solving "
                      "again with the online backend (memory O(N + M))", ResourceWarning, stacklevel=2)
        if problem.x.is_cuda:
            torch.cuda.empty_cache()
        problem = prepare(x, y, a, b, backend="online", **settings)
        state = _run(problem, options, verbose)
    return OTResult(state, problem)


def _run(problem: Problem, options, verbose: bool) -> SinkhornState:
    """The last state of the run (printing the backend per level and a summary when ``verbose``)."""
    state, level = None, None
    for state in _states(problem, options):
        if verbose and state.level.name != level:
            level = state.level.name
            print(f"otlab: update {state.step}, blur {state.blur:.3g}: {problem.backend} on {level}")
    if verbose:
        print(f"otlab: {state.step + 1} updates, value {float(state.value.detach().sum()):.6g}, "
              f"converged: {state.converged}")
    return state
