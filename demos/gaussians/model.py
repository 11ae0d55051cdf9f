r"""Headless model of the Gaussians demo: two geometries on the same family, played side by side.

**1D** (``mode = "1D: (m, σ)"``): two Gaussians :math:`N(m_k, \sigma_k^2)` are two points of the half-plane,
drawn in the coordinates :math:`(m/\sqrt2, \sigma)` where Fisher–Rao geodesics are half-circles. Each frame
advances the time t (back and forth, at constant speed: ``speed`` round trips per ten seconds of frames at
30 frames/s) and carries both geodesics as paths, the point at t on each, and three densities at t: the
optimal-transport one :math:`N((1-t)m_1 + t m_2, ((1-t)\sigma_1 + t\sigma_2)^2)` (it translates and scales),
the Fisher–Rao geodesic of the family (its σ rises on the arc), and the Fisher–Rao geodesic among all
densities (a cross-fade of square roots, which never translates). Distances: :math:`W_2`, :math:`d_{FR}` on
the family, :math:`2\arccos\mathrm{BC}` among all densities (:mod:`otlab.core.gaussians`).

**2D** (``mode = "2D: Bures"``): two Gaussians of the plane with means (−1, 0) and (1, 0) and covariances
:math:`R_\theta \mathrm{diag}(s_x^2, s_y^2) R_\theta^\top`; the frame carries McCann's interpolation
:math:`(m_t, \Sigma_t)` and :math:`W_2^2 = |m_1 - m_2|^2 + B^2(\Sigma_1, \Sigma_2)`. :meth:`request_check`
asks the next frame to check the closed form with the solver: 2,000 samples of each, ``otlab.core.solve``
at blur 0.05 (tol 1e-3), its :math:`S_\varepsilon` against :math:`W_2^2/2` (the cost is |x − y|²/2) and the
least-squares affine fit of its map against :math:`x \mapsto m_2 + A(x - m_1)`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
import param
import torch

from otlab.core import gaussians as G
from otlab.core import solve
from otlab.demos.frame_model import FrameModel

MODES = ("1D: (m, σ)", "2D: Bures")
#: the x axis of the densities and the sampling of the paths
X = np.linspace(-4.0, 4.0, 481)
PATH_POINTS = 121
#: the 2D path is drawn as this many intermediate ellipses
PATH_ELLIPSES = 5
#: the 2D Gaussians' means
MEANS_2D = (np.array([-1.0, 0.0]), np.array([1.0, 0.0]))
#: the solver check: samples of each Gaussian, blur, tolerance
CHECK_SAMPLES, CHECK_BLUR, CHECK_TOL = 2000, 0.05, 1e-3


@dataclass
class SolverCheck:
    """The closed form checked on samples: S_ε against W₂²/2, the fitted affine map against the closed one."""
    value: float           # S_ε of the samples (cost |x − y|²/2)
    closed_half_w2: float  # W₂²/2 of the Gaussians
    map_error: float       # max |A_fit − A| / max |A|
    shift_error: float     # |b_fit − m₂|
    seconds: float


@dataclass
class GaussiansFrame:
    generation: int
    step: int
    t: float
    mode: str
    # 1D: paths (K, 2) in (m/√2, σ), the points at t, the densities on X at t and at the ends
    ot_path: Optional[np.ndarray] = None
    fr_path: Optional[np.ndarray] = None
    ot_now: Optional[np.ndarray] = None
    fr_now: Optional[np.ndarray] = None
    rho_ot: Optional[np.ndarray] = None
    rho_fr: Optional[np.ndarray] = None
    rho_all: Optional[np.ndarray] = None
    rho_ends: Optional[np.ndarray] = None      # (2, len(X))
    w2: float = 0.0
    d_fr: float = 0.0
    d_all: float = 0.0
    # 2D: the two ends and the interpolation at t: means (2,), covariances (2, 2)
    means: Optional[list] = None
    covariances: Optional[list] = None
    path: Optional[list] = None                # [(m_t, Σ_t)] at PATH_ELLIPSES times inside (0, 1)
    check: Optional[SolverCheck] = None


def covariance_2d(sx: float, sy: float, angle_deg: float) -> np.ndarray:
    """R_θ diag(sx², sy²) R_θᵀ."""
    a = np.deg2rad(angle_deg)
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return r @ np.diag([sx ** 2, sy ** 2]) @ r.T


class GaussiansModel(FrameModel):
    """Two Gaussians, the OT and Fisher–Rao geodesics between them, played back and forth."""

    mode = param.Selector(default=MODES[0], objects=list(MODES))
    m1 = param.Number(default=-1.5, bounds=(-2.5, 2.5), doc="mean of the first Gaussian (1D)")
    s1 = param.Number(default=0.3, bounds=(0.1, 2.0), doc="standard deviation of the first Gaussian (1D)")
    m2 = param.Number(default=1.5, bounds=(-2.5, 2.5), doc="mean of the second Gaussian (1D)")
    s2 = param.Number(default=0.6, bounds=(0.1, 2.0), doc="standard deviation of the second Gaussian (1D)")
    sx1 = param.Number(default=0.6, bounds=(0.1, 1.5), doc="2D: first Gaussian's standard deviation along its axis")
    sy1 = param.Number(default=0.2, bounds=(0.1, 1.5), doc="2D: first Gaussian's standard deviation across it")
    angle1 = param.Number(default=30.0, bounds=(-90.0, 90.0), doc="2D: first Gaussian's axis (degrees)")
    sx2 = param.Number(default=0.2, bounds=(0.1, 1.5), doc="2D: second Gaussian's standard deviation along its axis")
    sy2 = param.Number(default=0.7, bounds=(0.1, 1.5), doc="2D: second Gaussian's standard deviation across it")
    angle2 = param.Number(default=-20.0, bounds=(-90.0, 90.0), doc="2D: second Gaussian's axis (degrees)")
    speed = param.Number(default=1.0, bounds=(0.0, 5.0), doc="round trips per 10 s of frames")

    _kept_on_change = ("speed",)

    def __init__(self, **params):
        self._phase, self._step = 0.0, 0
        self._check, self._check_requested = None, False
        super().__init__(**params)

    def request_check(self) -> None:
        """Check the 2D closed form with the solver on the next frame (it takes a few seconds)."""
        self._check_requested = True

    def _rebuild(self):
        self._check = None
        if self.mode == MODES[0]:
            self._w2 = float(np.hypot(self.m1 - self.m2, self.s1 - self.s2))
            self._d_fr = G.fisher_rao_distance(self.m1, self.s1, self.m2, self.s2)
            self._d_all = G.fisher_rao_distance_densities(self.m1, self.s1, self.m2, self.s2)
            t = np.linspace(0.0, 1.0, PATH_POINTS)
            self._ot_path = np.column_stack([((1 - t) * self.m1 + t * self.m2) / np.sqrt(2),
                                             (1 - t) * self.s1 + t * self.s2])
            m, s = G.fisher_rao_geodesic(self.m1, self.s1, self.m2, self.s2, t)
            self._fr_path = np.column_stack([m / np.sqrt(2), s])
            self._ends = np.stack([G.gaussian_density(X, self.m1, self.s1), G.gaussian_density(X, self.m2, self.s2)])
        else:
            self._covs = (covariance_2d(self.sx1, self.sy1, self.angle1), covariance_2d(self.sx2, self.sy2, self.angle2))
            self._w2 = float(np.sqrt(G.wasserstein2_gaussians(MEANS_2D[0], self._covs[0], MEANS_2D[1], self._covs[1])))
            self._path = [G.wasserstein_geodesic(MEANS_2D[0], self._covs[0], MEANS_2D[1], self._covs[1], float(t))
                          for t in np.linspace(0, 1, PATH_ELLIPSES + 2)[1:-1]]

    def _solver_check(self) -> SolverCheck:
        rng = np.random.default_rng(0)
        (m1, m2), (c1, c2) = MEANS_2D, self._covs
        x, y = rng.multivariate_normal(m1, c1, CHECK_SAMPLES), rng.multivariate_normal(m2, c2, CHECK_SAMPLES)
        start = time.perf_counter()
        res = solve(torch.from_numpy(x).float(), torch.from_numpy(y).float(), blur=CHECK_BLUR, tol=CHECK_TOL)
        t = res.brenier_map().double().numpy()
        seconds = time.perf_counter() - start
        coef, *_ = np.linalg.lstsq(np.column_stack([np.ones(len(x)), x - m1]), t, rcond=None)
        a = G.bures_map(c1, c2)
        return SolverCheck(float(res.value), self._w2 ** 2 / 2,
                           float(np.abs(coef[1:].T - a).max() / np.abs(a).max()),
                           float(np.linalg.norm(coef[0] - m2)), seconds)

    def _next_frame(self, generation: int) -> GaussiansFrame:
        t = self._phase if self._phase <= 1 else 2 - self._phase
        frame = GaussiansFrame(generation, self._step, float(t), self.mode, w2=self._w2)
        if self.mode == MODES[0]:
            m_fr, s_fr = G.fisher_rao_geodesic(self.m1, self.s1, self.m2, self.s2, t)
            m_ot, s_ot = (1 - t) * self.m1 + t * self.m2, (1 - t) * self.s1 + t * self.s2
            frame.ot_path, frame.fr_path, frame.rho_ends = self._ot_path, self._fr_path, self._ends
            frame.ot_now = np.array([m_ot / np.sqrt(2), s_ot])
            frame.fr_now = np.array([float(m_fr) / np.sqrt(2), float(s_fr)])
            frame.rho_ot = G.gaussian_density(X, m_ot, s_ot)
            frame.rho_fr = G.gaussian_density(X, float(m_fr), float(s_fr))
            frame.rho_all = G.sphere_geodesic_density(X, self.m1, self.s1, self.m2, self.s2, t)
            frame.d_fr, frame.d_all = self._d_fr, self._d_all
        else:
            if self._check_requested:
                self._check_requested = False
                self._check = self._solver_check()
            mt, ct = G.wasserstein_geodesic(MEANS_2D[0], self._covs[0], MEANS_2D[1], self._covs[1], t)
            frame.means, frame.covariances = [MEANS_2D[0], MEANS_2D[1], mt], [self._covs[0], self._covs[1], ct]
            frame.path, frame.check = self._path, self._check
        self._step += 1
        self._phase = (self._phase + self.speed * 2 / 300) % 2  # speed round trips per 300 frames
        return frame
