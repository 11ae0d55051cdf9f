r"""Headless model of the 3D shapes demo: optimal transport between two surfaces, and its interpolation.

Source and target are N and M points sampled uniformly on two surfaces (:mod:`otlab.demos.meshes`:
shapes made by code or an uploaded mesh). The debiased Sinkhorn divergence :math:`S_\varepsilon` is
solved once per change (:func:`otlab.core.solve`, multiscale in 3D), giving the debiased dual potential
:math:`F = F_{\alpha\beta} - F_{\alpha\alpha}` on the source points and the entropic, debiased Brenier map
:math:`T(x_i) = x_i - \nabla F(x_i)`. The frames then play
the **displacement interpolation** back and forth,

.. math::
    x_i(t) = (1 - t)\, x_i + t\, T(x_i), \qquad t = \tfrac12 (1 - \cos \pi s), \ s \in [0, 2) \text{ periodic},

(eased at both ends), ``speed`` round trips per ten seconds of frames at 30 frames/s. The frame carries t,
the source, its images T(x) and the target (the moving points on demand: ``points``), the potential (a
colour), and a subset of map arrows.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import param
import torch

from otlab.core import solve
from otlab.demos.frame_model import FrameModel
from otlab.demos.meshes import SHAPES, Mesh, normalise, sample_surface

UPLOAD = "upload"
#: arrows drawn for the map (a subset of the source points)
ARROWS = 150


@dataclass
class ShapesFrame:
    generation: int
    step: int
    t: float                         # interpolation time in [0, 1]
    source: np.ndarray               # (N, 3) float32
    target: np.ndarray               # (M, 3) float32
    mapped: np.ndarray               # (N, 3) float32, T(x)
    potential: np.ndarray            # (N,) float32, F on the source (debiased)
    arrows: np.ndarray               # (ARROWS,) indices of the source points drawn with their arrows
    value: float                     # S_eps
    seconds: float                   # the solve's time
    backend: str

    @property
    def points(self) -> np.ndarray:
        """(N, 3) float32: the source moved to time t, (1 - t) x + t T(x) (computed when asked: the view
        sends x and T(x) once and lets the browser interpolate)."""
        t = np.float64(self.t)
        return ((1 - t) * self.source + t * self.mapped).astype(np.float32)


class ShapesModel(FrameModel):
    """Two surfaces, their OT solved once per change, the interpolation played forever."""

    source = param.Selector(default="bunny", objects=list(SHAPES) + [UPLOAD], doc="the source surface")
    target = param.Selector(default="torus", objects=list(SHAPES) + [UPLOAD], doc="the target surface")
    n = param.Integer(default=5000, bounds=(100, 200_000), doc="points on each surface")
    blur = param.Number(default=0.03, bounds=(0.005, 0.5), doc="σ = ε^(1/2), in units of the shapes' size (2)")
    speed = param.Number(default=1.0, bounds=(0.0, 5.0), doc="round trips per 10 s of frames")
    seed = param.Integer(default=0, bounds=(0, 2 ** 31 - 1))
    device = param.Selector(default="cpu", objects=["cpu", "cuda"], doc="where the OT problem is solved")

    _kept_on_change = ("speed",)

    def __init__(self, **params):
        self._uploads = {}
        super().__init__(**params)

    def set_upload(self, which: str, mesh: Mesh) -> None:
        """Use ``mesh`` for the ``which`` ("source" or "target") surface (a parsed, checked upload)."""
        if which not in ("source", "target"):
            raise ValueError(f"which must be 'source' or 'target', got {which!r}")
        self._uploads[which] = mesh
        if getattr(self, which) == UPLOAD:
            self.restart()
        else:
            setattr(self, which, UPLOAD)

    def _points(self, which: str, seed: int) -> np.ndarray:
        name = getattr(self, which)
        if name == UPLOAD:
            if which not in self._uploads:
                raise ValueError(f"no mesh uploaded for the {which} yet: upload an .obj, .stl, .ply or .vtk file")
            mesh = self._uploads[which]
        else:
            mesh = SHAPES[name]()
        return normalise(sample_surface(mesh, self.n, np.random.default_rng(seed))).astype(np.float32)

    def _rebuild(self):
        x, y = self._points("source", self.seed), self._points("target", self.seed + 1)
        start = time.perf_counter()
        dev = torch.device(self.device)
        result = solve(torch.from_numpy(x).to(dev), torch.from_numpy(y).to(dev), blur=self.blur)
        self._T = result.brenier_map().cpu().numpy().astype(np.float32)
        f = result.f if result.f_aa is None else result.f - result.f_aa
        self._F = f.detach().cpu().numpy().astype(np.float32)
        self._seconds = time.perf_counter() - start
        self._x, self._y = x, y
        self._value, self._backend = float(result.value), result.backend
        rng = np.random.default_rng(self.seed + 2)
        self._arrows = np.sort(rng.choice(len(x), min(ARROWS, len(x)), replace=False))
        self._step, self._phase = 0, 0.0

    def _next_frame(self, generation: int) -> ShapesFrame:
        t = 0.5 * (1 - np.cos(np.pi * self._phase))
        frame = ShapesFrame(generation, self._step, float(t), self._x, self._y, self._T, self._F,
                            self._arrows, self._value, self._seconds, self._backend)
        self._step += 1
        self._phase = (self._phase + self.speed * 2 / 300) % 2  # speed round trips per 300 frames
        return frame
