r"""Headless model of the ε-annealing demo: clouds, annealing states, potentials on a grid, transport.

One :meth:`AnnealingModel.step` is one frame. While annealing, a frame is one Sinkhorn update of
:func:`otlab.core.iterate` (ε_k = σ_k^p, σ from the diameter down to ``blur``); with it come the dual
potentials extended to a pixel grid,

.. math::
    F(z) = \lambda\,\mathrm{softmin}_\varepsilon(z, y, \log b + g/\varepsilon), \qquad
    G(z) = \lambda\,\mathrm{softmin}_\varepsilon(z, x, \log a + f/\varepsilon),

and, for p = 2, the map: the barycentric projection :math:`T_0(x) = \sum_j P_j(x) y_j = x - \nabla F(x)/\lambda`
with ``debias`` off, the debiased map :math:`x - \nabla F(x) + \nabla F_{\alpha\alpha}(x)` (balanced) with it on.
At the final ε the solver keeps iterating (phase "converging") until the L1 marginal error
:math:`\|\pi 1 - a\|_1 + \|\pi^\top 1 - b\|_1` (plus the self-problems' when debiased) is at most ``tol``, so
that the transport drawn afterwards is the converged one, not an annealing snapshot. After the
closing update, frames run the displacement interpolation :math:`x_t = (1 - t)\,x + t\,T(x)` with t going
back and forth between 0 and 1, so that the transport itself is seen.

No Panel here: the view reads :class:`Frame` snapshots (float32 numpy arrays) and sets parameters.
Parameter changes mark the model stale; the next :meth:`step` rebuilds the clouds and restarts at step 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np
import param
import torch

from otlab.core import iterate
from otlab.demos.frame_model import FrameModel
from otlab.demos.shapes import PRESETS, points_from_density, sample

#: shapes offered for each cloud; "drawn" and "image" use points set by the user
SHAPES = list(PRESETS) + ["drawn", "image"]
#: the potentials are drawn on [0, 1]^2 (the presets live there)
EXTENT = (0.0, 1.0, 0.0, 1.0)
#: tolerances offered for the final temperature (L1 marginal error)
TOLERANCES = [1e-2, 1e-3, 1e-4]
#: cap on the Sinkhorn updates of one run (the demo then shows "not converged")
MAX_UPDATES = 3000
#: displacement interpolation: t moves by this much per frame
INTERPOLATION_STEP = 0.04


@dataclass
class Frame:
    """What the view draws for one frame. Arrays are float32; images are (resolution, resolution)
    with row 0 at the bottom (y = 0)."""

    generation: int
    phase: str                      # "annealing", "converging" (at the final ε, until tol) or "transport"
    step: int                       # Sinkhorn update index (annealing) or last update (transport)
    eps: float
    blur: float
    value: float
    marginal_error: Optional[float]
    level: str
    x: np.ndarray                   # (N, 2) source points
    y: np.ndarray                   # (M, 2) target points
    a: np.ndarray                   # (N,) weights
    b: np.ndarray                   # (M,)
    moved: np.ndarray               # (N, 2) x_t (= x while annealing)
    mapped: Optional[np.ndarray]    # (N, 2) T(x) (None for p = 1)
    F: np.ndarray                   # potential images
    G: np.ndarray
    t: float = 0.0
    history: List[tuple] = field(default_factory=list)   # (step, S, marginal error or nan) so far
    plan_lines: Optional[np.ndarray] = None               # (K, 4) x0, y0, x1, y1 of the strongest pairs
    converged: Optional[bool] = None                      # from the closing frame on: was tol reached?


class AnnealingModel(FrameModel):
    """ε-annealing between two 2D clouds, one frame per :meth:`step`."""

    source = param.Selector(default="Gaussian blobs", objects=SHAPES, doc="shape of the source cloud α")
    target = param.Selector(default="crescent", objects=SHAPES, doc="shape of the target cloud β")
    n_source = param.Integer(default=400, bounds=(2, 50_000), doc="N, points in α")
    n_target = param.Integer(default=400, bounds=(2, 50_000), doc="M, points in β")
    blur = param.Number(default=0.02, bounds=(0.005, 1.0), doc="final blur σ (ε = σ^p)")
    scaling = param.Number(default=0.8, bounds=(0.3, 0.95), doc="annealing ratio σ_{k+1}/σ_k")
    p = param.Selector(default=2, objects=[1, 2], doc="cost |x-y| (1) or |x-y|²/2 (2)")
    unbalanced = param.Boolean(default=False, doc="unbalanced OT (marginal penalties)")
    reach = param.Number(default=0.3, bounds=(0.01, 3.0), doc="reach, ρ = reach^p, when unbalanced")
    debias = param.Boolean(default=True, doc="Sinkhorn divergence S_ε (on) or OT_ε (off)")
    backend = param.Selector(default="auto", objects=["auto", "tensorized", "online", "multiscale"])
    tol = param.Selector(default=1e-3, objects=TOLERANCES, doc="marginal error reached at the final ε")
    seed = param.Integer(default=0, bounds=(0, 2 ** 31 - 1), doc="random seed of the clouds")
    resolution = param.Integer(default=96, bounds=(16, 512), doc="pixels per side of the F, G images")
    plan_lines = param.Integer(default=0, bounds=(0, 2000), doc="draw the K strongest pairs of the plan")
    device = param.Selector(default="cpu", objects=["cpu", "cuda"])

    _kept_on_change = ("plan_lines",)

    def __init__(self, **params):
        super().__init__(**params)
        self._custom = {"source": None, "target": None}
        self._states = None
        self._frame: Optional[Frame] = None

    # -- inputs from the user ---------------------------------------------------------------------------
    def set_points(self, which: str, points) -> None:
        """Use user points (K, 2) for ``which`` = "source" or "target" (the shape becomes "drawn")."""
        pts = np.asarray(points, dtype=np.float32)
        if which not in self._custom:
            raise ValueError(f"which must be 'source' or 'target', got {which!r}")
        if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 2 or not np.isfinite(pts).all():
            raise ValueError("drawn points must be at least 2 finite (x, y) pairs")
        self._custom[which] = ("drawn", pts)
        self._set_shape(which, "drawn")

    def set_image(self, which: str, gray: np.ndarray) -> None:
        """Use a grayscale image (H, W) in [0, 1] (dark = mass) as the density of ``which``."""
        if which not in self._custom:
            raise ValueError(f"which must be 'source' or 'target', got {which!r}")
        points_from_density(gray, 2, np.random.default_rng(0))  # raises on a blank image
        self._custom[which] = ("image", np.asarray(gray, dtype=np.float32))
        self._set_shape(which, "image")

    def _set_shape(self, which, shape):
        if getattr(self, which) == shape:
            self._invalidate()
        else:
            setattr(self, which, shape)

    # -- the clouds ------------------------------------------------------------------------------------------
    def _cloud(self, which: str, n: int, seed: int) -> np.ndarray:
        shape = getattr(self, which)
        if shape in PRESETS:
            return sample(shape, n, seed)
        custom = self._custom[which]
        if custom is None or custom[0] != shape:
            raise ValueError(f"{which} is set to {shape!r} but no {shape} input was given yet")
        if shape == "drawn":
            return custom[1]
        return points_from_density(custom[1], n, np.random.default_rng(seed)).astype(np.float32)

    def _rebuild(self):
        x = self._cloud("source", self.n_source, self.seed)
        y = self._cloud("target", self.n_target, self.seed + 1)
        dev = torch.device(self.device)
        self._x = torch.as_tensor(x, device=dev)
        self._y = torch.as_tensor(y, device=dev)
        self._a = torch.full((len(x),), 1.0 / len(x), device=dev)
        self._b = torch.full((len(y),), 1.0 / len(y), device=dev)
        r = self.resolution
        u = (torch.arange(r, device=dev, dtype=torch.float32) + 0.5) / r
        gy, gx = torch.meshgrid(u * (EXTENT[3] - EXTENT[2]) + EXTENT[2], u * (EXTENT[1] - EXTENT[0]) + EXTENT[0],
                                indexing="ij")
        self._grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)
        self._states = iterate(self._x, self._y, self._a, self._b, p=self.p, blur=self.blur,
                               reach=self.reach if self.unbalanced else None, scaling=self.scaling,
                               debias=self.debias, backend=self.backend, tol=self.tol, max_iter=MAX_UPDATES)
        self._history = []
        self._frame = None

    # -- frames ------------------------------------------------------------------------------------------------
    def _next_frame(self, generation: int) -> Frame:
        frame = self._frame
        if frame is None or frame.phase != "transport":
            state = next(self._states, None)
            if state is not None:
                self._frame = self._annealing_frame(state, generation)
                return self._frame
        self._frame = self._transport_frame(self._frame, generation)
        return self._frame

    def _annealing_frame(self, state, generation) -> Frame:
        with torch.no_grad():
            r = self.resolution
            F = state.potential_f(self._grid)[0].reshape(r, r)
            G = state.potential_g(self._grid)[0].reshape(r, r)
            mapped = state.brenier_map(self._x)[0] if self.p == 2 else None
            value = float(state.value[0])
        err = None if state.marginal_error is None else float(state.marginal_error[0])
        self._history = self._history + [(state.step, value, float("nan") if err is None else err)]
        if state.final:
            phase = "transport"
        else:
            phase = "converging" if abs(state.blur - self.blur) <= 1e-9 * self.blur else "annealing"
        x = _np(self._x)
        return Frame(generation, phase, state.step, state.eps, state.blur,
                     value, err, state.level.name, x, _np(self._y), _np(self._a), _np(self._b), x,
                     None if mapped is None else _np(mapped), _np(F), _np(G), 0.0, self._history,
                     self._plan_lines(state), state.converged)

    def _transport_frame(self, last: Frame, generation) -> Frame:
        """Displacement interpolation x_t = (1 - t) x + t T(x), t bouncing in [0, 1]."""
        if last.mapped is None:
            return last
        t = last.t + INTERPOLATION_STEP
        phase_t = 2 - t if t > 1 else t
        t = t % 2
        moved = ((1 - phase_t) * last.x + phase_t * last.mapped).astype(np.float32)
        return Frame(generation, "transport", last.step, last.eps, last.blur, last.value, last.marginal_error,
                     last.level, last.x, last.y, last.a, last.b, moved, last.mapped, last.F, last.G, t,
                     last.history, last.plan_lines, last.converged)

    def _plan_lines(self, state) -> Optional[np.ndarray]:
        k = self.plan_lines
        if k == 0 or state.level.clusters is not None:
            return None
        plan = state.plan(max_entries=4_000_000)[0]
        top = torch.topk(plan.reshape(-1), min(k, plan.numel())).indices
        i, j = top // plan.shape[1], top % plan.shape[1]
        return np.concatenate([_np(self._x[i]), _np(self._y[j])], axis=1)


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float32).numpy()
