r"""Headless model of the barycenter explorer: K = 3 or 4 shapes, a point in a triangle or a square that
sets the weights, and their Wasserstein barycenter beside their Euclidean average.

**Weights from the picker** (:func:`weights_at`): 3 inputs sit at the corners of a triangle and the
weights are the barycentric coordinates λ of the point (clipped to ≥ 0 and renormalised when the point
leaves the triangle); 4 inputs sit at the corners of the unit square, in the order (0, 0), (1, 0),
(1, 1), (0, 1), with bilinear weights (1-u)(1-v), u(1-v), uv, (1-u)v.

**The two averages** of the normalised densities α_k:

.. math::
    \bar\alpha = \sum_k w_k \alpha_k \ (\text{Euclidean: a cross-fade}), \qquad
    \beta^\star = \arg\min_\beta \sum_k w_k S_\varepsilon(\alpha_k, \beta) \ (\text{Wasserstein, debiased}),

the second from :func:`otlab.core.iterate_barycenter_grid` (when ``debias`` is off, the plain entropic
barycenter of Benamou et al. 2015, argmin Σ_k w_k OT_ε(α_k, β) + ε⟨β, log β⟩, blurred by ~ε), cost
|x - y|²/2 on the unit square, ε = blur². One :meth:`step` runs updates for at most :data:`FRAME_SECONDS`;
a new point starts the solver again from the top of the ε-schedule (without a new generation: the view keeps its figures). A cold start settles in as many updates as a
warm start did (64², ~100 vs ~125) and does not carry the debiased barycenter's ringing modes from one
point to the next, which warm starts accumulated over a drag. A frame is ``settled`` once the marginal
error is below :data:`LIVE_TOL`; further steps return it unchanged (same ``version``).

Modes: ``images`` (n × n densities), ``volumes (3D)`` (n³: the frame carries both volumes, drawn in
3D, and their maximum-intensity projections along z for thumbnails and the PNG grid) and ``point
clouds`` (the free-support barycenter of :func:`otlab.core.iterate_barycenter_points`, one fixed-point
step X ← Σ_k w_k T_k(X) per frame; its "Euclidean average" is the mixture Σ_k w_k α_k, drawn as every
input point with opacity w_k).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np
import param
import torch

from otlab.core import barycenter_grid, barycenter_points, iterate_barycenter_grid, iterate_barycenter_points
from otlab.demos.densities import SHAPES, VOLUMES, image_density, sample_density, shape_density, volume_density
from otlab.demos.frame_model import FrameModel
from otlab.demos.snapshots import interpolation_grid_png

MODES = ["images", "point clouds", "volumes (3D)"]
#: the corners of the weight picker, in the order of the inputs
TRIANGLE = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, math.sqrt(3) / 2]])
SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
#: a frame computes for at most this long (s), then shows what it has
FRAME_SECONDS = 0.12
#: marginal error (L1) at which the live barycenter stops updating
LIVE_TOL = 1e-3
#: the free-support barycenter stops when no point moves more than this (unit square)
POINTS_TOL = 1e-4
#: the interpolation grid: SIDE × SIDE cells (a triangle of SIDE rows for 3 inputs)
GRID_SIDE = 5
UPLOAD_PREFIX = "upload: "


def picker_corners(k: int) -> np.ndarray:
    """The corners (k, 2) of the weight picker for k = 3 (triangle) or 4 (square) inputs."""
    if k == 3:
        return TRIANGLE
    if k == 4:
        return SQUARE
    raise ValueError(f"the weight picker takes 3 or 4 inputs, got {k}")


def weights_at(point, k: int) -> np.ndarray:
    """Barycentric (k = 3) or bilinear (k = 4) weights (k,) of a picker point (x, y); points outside
    the shape get the weights of a point on its border (non-negative, summing to 1)."""
    x, y = (float(v) for v in point)
    if k == 4:
        u, v = min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0)
        return np.array([(1 - u) * (1 - v), u * (1 - v), u * v, (1 - u) * v])
    a, b, c = picker_corners(k)
    m = np.column_stack([b - a, c - a])
    l1, l2 = np.linalg.solve(m, np.array([x, y]) - a)
    lam = np.clip(np.array([1 - l1 - l2, l1, l2]), 0.0, None)
    return lam / lam.sum()


def point_of(weights, k: int) -> tuple:
    """The picker point of weights (k,) (the inverse of :func:`weights_at` inside the shape)."""
    w = np.asarray(weights, dtype=np.float64)
    if k == 4:  # bilinear: u = w1 + w2, v = w2 + w3 for weights of the bilinear form
        return float(w[1] + w[2]), float(w[2] + w[3])
    return tuple(float(v) for v in w @ picker_corners(k))


@dataclass
class BarycenterFrame:
    """What the view draws. Images are (n, n) float32 arrays scaled to max 1 (axis 0 = x); in the
    points mode ``clouds``/``support`` replace them."""

    generation: int
    version: int                      # bumps whenever the picture changes
    mode: str
    names: List[str]
    weights: np.ndarray               # (K,)
    point: tuple
    inputs: List[np.ndarray]          # K images (MIPs in 3D), or K clouds (n, 2) in the points mode
    average: Optional[np.ndarray]     # Σ w_k α_k (image), None in the points mode
    density: Optional[np.ndarray]     # the barycenter (image), None in the points mode
    support: Optional[np.ndarray]     # (n, 2) free-support barycenter, points mode
    updates: int                      # solver updates (points: fixed-point steps) at these weights
    blur: float
    marginal_error: Optional[float]   # points mode: the largest move of the last step
    mass: float
    settled: bool
    seconds: float                    # solver time at these weights
    sizes: tuple = field(default=())  # the grid (n, n) or (n, n, n); (N,) per cloud in the points mode
    average_3d: Optional[np.ndarray] = None  # volumes mode: Σ w_k α_k (n, n, n) scaled as the images
    density_3d: Optional[np.ndarray] = None  # volumes mode: the barycenter (n, n, n)


class BarycentersModel(FrameModel):
    """Live Wasserstein barycenter of 3–4 inputs at the weights of a picker point."""

    mode = param.Selector(default=MODES[0], objects=MODES)
    inputs = param.List(default=["heart", "ring", "star"], item_type=str, bounds=(3, 4),
                        doc="3 or 4 shape names (the picker's corners, in order); uploads are 'upload: <file>'")
    volumes = param.List(default=["ball", "torus", "two balls"], item_type=str, bounds=(3, 4), doc="3 or 4 volume names (3D mode)")
    point = param.NumericTuple(default=(0.5, 0.29), length=2, doc="the picker point (x, y)")
    resolution = param.Integer(default=64, bounds=(16, 256), doc="pixels per side (images)")
    volume_resolution = param.Integer(default=32, bounds=(8, 96), doc="voxels per side (3D)")
    blur = param.Number(default=0.025, bounds=(0.005, 0.5), doc="blur σ (unit square), ε = σ²")
    debias = param.Boolean(default=True, doc="debiased barycenter (sharp) or the plain entropic one (blurred)")
    n_points = param.Integer(default=300, bounds=(10, 5000), doc="points per cloud (points mode)")
    seed = param.Integer(default=0, bounds=(0, 2 ** 31 - 1))
    device = param.Selector(default="cpu", objects=["cpu", "cuda"])

    _kept_on_change = ("point",)

    def __init__(self, **params):
        self._uploads: Dict[str, np.ndarray] = {}
        super().__init__(**params)

    # -- inputs --------------------------------------------------------------------------------------------
    def add_upload(self, filename: str, gray: np.ndarray) -> str:
        """Register an uploaded grayscale image (H, W) in [0, 1] (dark = mass) and return the input
        name to put in ``inputs``."""
        name = UPLOAD_PREFIX + (filename or "image")
        self._uploads[name] = np.asarray(gray, dtype=np.float64)
        return name

    @property
    def names(self) -> List[str]:
        return list(self.volumes if self.mode == MODES[2] else self.inputs)

    @property
    def weights(self) -> np.ndarray:
        return weights_at(self.point, len(self.names))

    def input_density(self, name: str, n: int) -> np.ndarray:
        """Input ``name`` as an (n, n) density (a shape, an image of assets/shapes or an upload)."""
        if name in self._uploads:
            return image_density(self._uploads[name], n)
        return shape_density(name, n)

    def _check_names(self, names: List[str]):
        catalogue = list(VOLUMES) if self.mode == MODES[2] else list(SHAPES) + list(self._uploads)
        what = "volumes" if self.mode == MODES[2] else "inputs"
        for name in names:
            if name not in catalogue:
                raise ValueError(f"{what}: unknown {name!r}; choose from {catalogue}")

    # -- frames --------------------------------------------------------------------------------------------
    def _rebuild(self):
        names = self.names
        self._check_names(names)
        dev = torch.device(self.device)
        if self.mode == MODES[2]:
            stack = np.stack([volume_density(v, self.volume_resolution) for v in names])
        else:
            stack = np.stack([self.input_density(v, self.resolution) for v in names])
        stack = stack / stack.reshape(len(names), -1).sum(1).reshape(-1, *[1] * (stack.ndim - 1))
        self._names = names
        self._A = torch.as_tensor(stack, dtype=torch.float32, device=dev)
        self._shown_inputs = [_image(a) for a in stack]
        self._iter = None
        self._weights = None
        self._state = None
        self._updates, self._seconds, self._version = 0, 0.0, 0
        if self.mode == MODES[1]:
            rng = np.random.default_rng(self.seed)
            self._clouds = [torch.as_tensor(sample_density(a, self.n_points, rng), device=dev) for a in stack]
            self._shown_inputs = [c.cpu().numpy() for c in self._clouds]
            self._support = None
            self._moved = math.inf

    def _next_frame(self, generation: int) -> BarycenterFrame:
        w = self.weights
        changed = self._weights is None or not np.allclose(w, self._weights, rtol=0, atol=1e-9)
        if changed:
            self._weights, self._updates, self._seconds = w, 0, 0.0
            self._version += 1
        if self.mode == MODES[1]:
            return self._points_frame(generation, w, changed)
        if changed:
            self._iter = iterate_barycenter_grid(self._A, w, blur=self.blur, debias=self.debias, tol=LIVE_TOL,
                                                 max_iter=100_000)
        start = time.perf_counter()
        while self._iter is not None and time.perf_counter() - start < FRAME_SECONDS:
            state = next(self._iter)
            self._state = state
            self._updates += 1
            if state.final:
                self._iter = None
            self._version += 1
        self._seconds += time.perf_counter() - start
        s = self._state
        density = s.density.detach().cpu().double().numpy()
        average = np.tensordot(w, self._A.cpu().double().numpy(), axes=1)
        volumes = (_scaled(average), _scaled(density)) if density.ndim == 3 else (None, None)
        return BarycenterFrame(generation, self._version, self.mode, self._names, w, tuple(self.point),
                               self._shown_inputs, _image(average), _image(density), None, self._updates, s.blur,
                               s.marginal_error, s.mass, self._iter is None, self._seconds, tuple(density.shape),
                               *volumes)

    def _points_frame(self, generation, w, changed) -> BarycenterFrame:
        if changed:
            self._moved = math.inf
        start = time.perf_counter()
        if self._moved > POINTS_TOL:
            init = self._support
            step = iterate_barycenter_points(self._clouds, w, blur=self.blur, steps=1, debias=self.debias,
                                             init=init, n_support=self.n_points)
            new = next(step)
            self._moved = math.inf if init is None else float((new - init).norm(dim=-1).max())
            self._support = new
            self._updates += 1
            self._version += 1
        self._seconds += time.perf_counter() - start
        return BarycenterFrame(generation, self._version, self.mode, self._names, w, tuple(self.point),
                               self._shown_inputs, None, None, self._support.cpu().numpy(), self._updates,
                               self.blur, None if math.isinf(self._moved) else self._moved, 1.0,
                               self._moved <= POINTS_TOL, self._seconds,
                               tuple(c.shape[0] for c in self._clouds))

    def settle(self, max_frames: int = 10_000) -> BarycenterFrame:
        """Step until the frame is settled (headless use, tests, exports)."""
        frame = self.step()
        for _ in range(max_frames):
            if frame.settled:
                break
            frame = self.step()
        return frame

    # -- the interpolation grid ----------------------------------------------------------------------------
    def grid_weights(self) -> List[List[np.ndarray]]:
        """Rows (top to bottom) of weights for the interpolation grid: bilinear over a GRID_SIDE ×
        GRID_SIDE lattice of the square (4 inputs), or a triangle of GRID_SIDE rows, apex first (3)."""
        k, m = len(self.names), GRID_SIDE - 1
        if k == 4:
            return [[weights_at((j / m, 1 - r / m), 4) for j in range(GRID_SIDE)] for r in range(GRID_SIDE)]
        return [[np.array([(r - j) / m, j / m, 1 - r / m]) for j in range(r + 1)] for r in range(GRID_SIDE)]

    def interpolation_grid(self) -> List[List[np.ndarray]]:
        """The barycenters (images; point clouds (n, 2) in the points mode) at :meth:`grid_weights`.
        Images start cold, as in :meth:`step` (a 64² grid chained by warm starts in a serpentine came
        out striped). Point clouds start from their neighbour's support (rows run in a serpentine)."""
        self.step()  # builds the inputs
        rows = []
        previous = None
        for r, row in enumerate(self.grid_weights()):
            order = list(range(len(row)))[:: 1 if r % 2 == 0 else -1]
            cells = [None] * len(row)
            for j in order:
                if self.mode == MODES[1]:
                    previous = barycenter_points(self._clouds, row[j], blur=self.blur, debias=self.debias,
                                                 n_support=self.n_points, init=previous, tol=POINTS_TOL)
                    cells[j] = previous.cpu().numpy()
                else:
                    state = barycenter_grid(self._A, row[j], blur=self.blur, debias=self.debias, tol=LIVE_TOL,
                                            max_iter=100_000)
                    cells[j] = _image(state.density.detach().cpu().double().numpy())
            rows.append(cells)
        return rows

    def interpolation_png(self) -> bytes:
        """The interpolation grid as a PNG (the inputs at the corners)."""
        rows = self.interpolation_grid()
        kind = "debiased" if self.debias else "plain entropic"
        title = (f"Wasserstein barycenters ({kind}, blur {self.blur:g}) of " + ", ".join(self._names)
                 + (" - 3D: projections along z" if self.mode == MODES[2] else ""))
        return interpolation_grid_png(rows, title, triangle=len(self._names) == 3, points=self.mode == MODES[1])


def _image(density: np.ndarray) -> np.ndarray:
    """A density as a float32 image in [0, 1] (its maximum along z in 3D), :func:`_scaled`."""
    return _scaled(density.max(axis=2) if density.ndim == 3 else density)


def _scaled(d: np.ndarray) -> np.ndarray:
    """``d`` (an image or a volume) as float32 in [0, 1], scaled so that the 98th percentile of its visible
    values (above 5% of the maximum) is 1: a few bright pixels — the debiased barycenter rings near
    creases — do not wash out the rest."""
    top = float(d.max())
    if top <= 0:
        return d.astype(np.float32)
    scale = float(np.quantile(d[d > 0.05 * top], 0.98))
    return np.clip(d / scale, 0, 1).astype(np.float32)
