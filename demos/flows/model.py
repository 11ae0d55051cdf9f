r"""Headless model of the gradient-flows demo: one source, one target, several losses, one flow each.

Every panel runs the particle flow of :func:`otlab.core.gradient_flow`,

.. math::
    x_i \leftarrow x_i - \mathrm{lr}\,\frac{1}{a_i}\,\nabla_{x_i} L(\alpha, \beta), \qquad t = \mathrm{step}\cdot\mathrm{lr},

from the same particles toward the same target, for a different loss L of the zoo (:data:`LOSSES`):
Sinkhorn divergences S_ε (ε = σ^p, p = 1, 2, a small and a 10× larger blur, unbalanced with
ρ = reach^p), the energy distance, Gaussian and Laplacian MMDs (kernel width σ) and the soft Hausdorff
loss. Sinkhorn steps run GeomLoss's iterations (one update per ε) unless ``precise``: on blobs →
crescent (N = 500, blur 0.05, lr 0.05) the flow then stays within 0.005 (mean particle distance at
t = 5) of the flow of converged divergences (tol = 1e-4), 0.002 with ``precise``, at a third of the
cost. One :meth:`FlowsModel.step` is one frame: one Euler step of every panel. Particles keep their
index, so the view colours them by their initial position and tearing or folding shows.

The model records the particles at :data:`SNAPSHOT_TIMES` as the flows pass them; :meth:`snapshot_png`
renders them as one image (rows: losses, columns: times).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List

import numpy as np
import param
import torch

from otlab.core import SamplesLoss, gradient_flow
from otlab.demos.frame_model import FrameModel
from otlab.demos.shapes import glyph, sample
from otlab.demos.snapshots import position_colors, snapshot_grid

#: loss label -> SamplesLoss arguments, given the blur σ and the reach of the sliders
LOSSES = {
    "Sinkhorn p=2": lambda s, r: dict(loss="sinkhorn", p=2, blur=s),
    "Sinkhorn p=2, 10× blur": lambda s, r: dict(loss="sinkhorn", p=2, blur=min(10 * s, 1.0)),
    "Sinkhorn p=1": lambda s, r: dict(loss="sinkhorn", p=1, blur=s),
    "Sinkhorn p=1, 10× blur": lambda s, r: dict(loss="sinkhorn", p=1, blur=min(10 * s, 1.0)),
    "unbalanced Sinkhorn": lambda s, r: dict(loss="sinkhorn", p=2, blur=s, reach=r),
    "energy distance": lambda s, r: dict(loss="energy"),
    "Gaussian MMD": lambda s, r: dict(loss="gaussian", blur=s),
    "Laplacian MMD": lambda s, r: dict(loss="laplacian", blur=s),
    "soft Hausdorff": lambda s, r: dict(loss="hausdorff", p=2, blur=s),
}
#: most panels side by side
MAX_PANELS = 4
#: times of the exported snapshots
SNAPSHOT_TIMES = (0.0, 0.25, 0.5, 1.0, 5.0, 10.0)
#: source → target pairs ("heart → deformed heart" is a registration problem)
PRESETS = ["blobs → crescent", "A → B", "heart → deformed heart", "annulus → two moons"]
#: the view's axes (the presets live in the unit square)
EXTENT = (0.0, 1.0, 0.0, 1.0)


def _deformed(points: np.ndarray) -> np.ndarray:
    """A smooth deformation of the unit square: rotate 40° about the centre, shrink by 0.8, bend the
    vertical axis by 1.5 u², shift by (0.06, -0.08)."""
    c = points - 0.5
    angle = np.deg2rad(40.0)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    c = 0.8 * c @ rot.T
    c[:, 1] += 1.5 * c[:, 0] ** 2
    return c + np.array([0.56, 0.42])


def _pair(preset: str, n: int, seed: int):
    """Source and target clouds (n, 2) of a preset, reproducible from the seed."""
    if preset == "blobs → crescent":
        return sample("Gaussian blobs", n, seed), sample("crescent", n, seed + 1)
    if preset == "A → B":
        return (glyph(n, np.random.default_rng(seed), "A").astype(np.float32),
                glyph(n, np.random.default_rng(seed + 1), "B").astype(np.float32))
    if preset == "heart → deformed heart":
        return sample("heart", n, seed), _deformed(sample("heart", n, seed + 1)).astype(np.float32)
    if preset == "annulus → two moons":
        return sample("annulus", n, seed), sample("two moons", n, seed + 1)
    raise ValueError(f"unknown preset {preset!r}; choose one of {PRESETS}")


@dataclass
class FlowFrame:
    """One frame: the time, every panel's particles (float32 (N, 2)) and loss values so far."""

    generation: int
    step: int
    t: float
    losses: List[str]
    x: List[np.ndarray]               # per panel, (N, 2)
    y: np.ndarray                     # (M, 2) target
    colors: np.ndarray                # (N, 3) uint8, from the initial positions
    times: np.ndarray                 # (K,) t of the recorded values
    values: List[np.ndarray]          # per panel, (K,) L(α_t, β)
    snapshot_times: List[float] = field(default_factory=list)   # times recorded for the export so far


class FlowsModel(FrameModel):
    """Particle gradient flows of several losses, side by side, one Euler step per frame."""

    preset = param.Selector(default=PRESETS[0], objects=PRESETS, doc="source and target clouds")
    losses = param.ListSelector(default=["Sinkhorn p=2", "energy distance"], objects=list(LOSSES),
                                doc="one panel per loss (1 to 4)")
    n = param.Integer(default=500, bounds=(10, 20_000), doc="particles in the source and points in the target")
    lr = param.Number(default=0.05, bounds=(1e-3, 2.0), doc="Euler step, time per frame")
    blur = param.Number(default=0.05, bounds=(0.005, 1.0), doc="blur σ (Sinkhorn ε = σ^p) / kernel width")
    reach = param.Number(default=0.3, bounds=(0.01, 3.0), doc="reach of the unbalanced Sinkhorn panel")
    precise = param.Boolean(default=False, doc="Sinkhorn steps with level_tol = 0.05 (core default, ~3x slower) "
                            "instead of one update per ε (GeomLoss's)")
    seed = param.Integer(default=0, bounds=(0, 2 ** 31 - 1))
    device = param.Selector(default="cpu", objects=["cpu", "cuda"])

    def _rebuild(self):
        losses = list(self.losses)
        if not 1 <= len(losses) <= MAX_PANELS:
            raise ValueError(f"losses: choose 1 to {MAX_PANELS} losses to compare, got {len(losses)}")
        x, y = _pair(self.preset, self.n, self.seed)
        dev = torch.device(self.device)
        self._x0 = torch.as_tensor(x, device=dev)
        self._y = torch.as_tensor(y, device=dev)
        self._colors = position_colors(x, EXTENT)
        self._losses = losses
        self._flows = [gradient_flow(self._loss(name), self._x0, self._y, lr=self.lr) for name in losses]
        self._times: List[float] = []
        self._values: List[List[float]] = [[] for _ in losses]
        self._snapshots: Dict[float, List[np.ndarray]] = {}

    def _loss(self, name: str) -> SamplesLoss:
        kwargs = LOSSES[name](self.blur, self.reach)
        if kwargs["loss"] == "sinkhorn" and not self.precise:
            kwargs["level_tol"] = None
        return SamplesLoss(**kwargs)

    def _next_frame(self, generation: int) -> FlowFrame:
        states = [next(flow) for flow in self._flows]
        t, step = states[0].t, states[0].step
        xs = [s.x.detach().to("cpu", torch.float32).numpy() for s in states]
        self._times.append(t)
        for values, s in zip(self._values, states):
            values.append(float(s.value))
        for target in SNAPSHOT_TIMES:
            if target not in self._snapshots and step == round(target / self.lr):
                self._snapshots[target] = xs
        return FlowFrame(generation, step, t, self._losses, xs, _np(self._y), self._colors,
                         np.asarray(self._times, np.float32), [np.asarray(v, np.float32) for v in self._values],
                         sorted(self._snapshots))

    def run_until(self, t: float) -> FlowFrame:
        """Step until the flows reach time ``t`` (headless use, e.g. before :meth:`snapshot_png`)."""
        frame = self.step()
        while frame.t < t - 1e-9 * max(t, 1.0):
            frame = self.step()
        return frame

    def snapshot_png(self) -> bytes:
        """The recorded snapshots as one PNG: a row per loss, a column per time of SNAPSHOT_TIMES
        (times the flows have not reached yet are left blank, with a note)."""
        if self._stale:
            self.step()
        rows = [(name, [(t, self._snapshots[t][k] if t in self._snapshots else None) for t in SNAPSHOT_TIMES])
                for k, name in enumerate(self._losses)]
        return snapshot_grid(rows, _np(self._y), self._colors, EXTENT,
                             title=f"{self.preset.replace('→', '->')}, N = {self.n}, lr = {self.lr:g}, blur = {self.blur:g}")


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float32).numpy()
