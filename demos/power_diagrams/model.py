r"""Headless model of the power-diagram demo: sites you drag, cells that re-balance to their volumes.

Each site :math:`x_i` owns the Laguerre cell :math:`\{y : |y - x_i|^2 - w_i \le |y - x_j|^2 - w_j\ \forall j\}`;
the weights w are found by damped Newton so that every cell holds its target mass :math:`\nu_i` of the
density ρ on the unit square (semi-discrete OT: the cells are the optimal transport of ρ onto the
sites),

.. math::
    \mu_i(w) = \int_{\mathrm{Lag}_i(w)} \rho = \nu_i, \qquad
    w \leftarrow w - \tau\, H^{-1} (\mu(w) - \nu), \quad
    H_{ij} = \frac{\partial \mu_i}{\partial w_j} = -\frac{\int_{\mathrm{Lag}_i \cap \mathrm{Lag}_j} \rho\, ds}{2|x_i - x_j|}
    \ (j \ne i), \quad H_{ii} = -\sum_{j \ne i} H_{ij}

(H is singular on constants, w + c giving the same cells: the solver holds one weight fixed).

One :meth:`step` is one Newton step (:func:`otlab.core.iterate_semidiscrete`); the frames keep the
error curve max_i |μ_i − ν_i|/ν_i. Moving a site (:meth:`move_site`) restarts Newton from the current
weights (a warm start: a few steps). ``lloyd`` steps move every site to its cell's centroid once the
masses are solved (centroidal power diagrams).

**Anisotropic mode**: each site gets a metric :math:`A_i = R_{\theta_i}\,\mathrm{diag}(1, a^2)\,R_{\theta_i}^\top`
(aspect a, random orientation θ_i) and the cost :math:`(y - x_i)^\top A_i (y - x_i)`; the cells live on a
pixel grid (:func:`otlab.core.iterate_laguerre_grid`, soft masses) and are drawn as an image, each site
with the ellipse :math:`(y - x_i)^\top A_i (y - x_i) = r^2` holding 35% of its cell's area.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

import numpy as np
import param

from otlab.core import SemiDiscreteState, iterate_laguerre_grid, iterate_semidiscrete
from otlab.demos.frame_model import FrameModel

TARGETS = ["uniform", "two sizes", "ramp", "blob", "painted"]
MODES = ["exact", "anisotropic"]
COLOURS = ["id", "weight", "mass error"]
#: side of the density image (and of the painted canvas)
DENSITY_SIDE = 64
#: pixels per side of the anisotropic mode's grid
GRID_SIDE = 128
#: Newton tolerance (relative mass error) at which a frame is ``converged``
TOL = 1e-6
GRID_TOL = 1e-3


@dataclass
class PowerFrame:
    generation: int
    sites: np.ndarray                  # (N, 2)
    weights: np.ndarray                # (N,)
    masses: np.ndarray                 # (N,) the cells' masses of ρ
    targets: np.ndarray                # (N,) ν
    centroids: np.ndarray              # (N, 2)
    error: float                       # max relative mass error
    history: np.ndarray                # (k, 2): Newton step (cumulated), error
    newton_step: int
    converged: bool
    polygons: Optional[List[np.ndarray]] = None   # exact mode: each cell's vertices (k_i, 2)
    labels: Optional[np.ndarray] = None           # anisotropic mode: (GRID_SIDE, GRID_SIDE), axis 0 = x
    ellipses: Optional[np.ndarray] = None         # anisotropic: (N, 3) half-axes a, b and angle θ
    lloyd_left: int = 0
    density: Optional[np.ndarray] = None          # ρ (DENSITY_SIDE², axis 0 = x), None when uniform
    version: int = 0                              # moves on with every new Newton state (same: same picture)


def pixel_centres():
    """Coordinates X, Y (DENSITY_SIDE², axis 0 along x) of the density image's pixel centres."""
    g = (np.arange(DENSITY_SIDE) + 0.5) / DENSITY_SIDE
    return np.meshgrid(g, g, indexing="ij")


def density_image(kind: str, painted: Optional[np.ndarray] = None) -> Optional[np.ndarray]:
    """The density ρ (DENSITY_SIDE², axis 0 along x) of a ``targets`` choice (None: uniform)."""
    X, Y = pixel_centres()
    if kind == "ramp":
        return 0.2 + 2 * X
    if kind == "blob":
        return 0.15 + np.exp(-((X - 0.6) ** 2 + (Y - 0.45) ** 2) / (2 * 0.15 ** 2))
    if kind == "painted":
        return 0.05 + (painted if painted is not None else np.zeros((DENSITY_SIDE, DENSITY_SIDE)))
    return None


class PowerDiagramsModel(FrameModel):
    """Sites on the unit square whose power cells are solved, one Newton step per frame, to their masses."""

    n_sites = param.Integer(default=60, bounds=(2, 3000), doc="N, the number of sites")
    targets = param.Selector(default="uniform", objects=TARGETS,
                             doc="target masses: equal cells, two sizes, or equal masses of a density (ramp, blob, painted)")
    mode = param.Selector(default="exact", objects=MODES, doc="exact power cells, or anisotropic cells on a pixel grid")
    aspect = param.Number(default=3.0, bounds=(1.0, 8.0), doc="anisotropic mode: the ratio of the ellipses' axes")
    colour = param.Selector(default="id", objects=COLOURS, doc="what the cells' colour shows")
    seed = param.Integer(default=0, bounds=(0, 2 ** 31 - 1))

    _kept_on_change = ("colour",)

    def __init__(self, **params):
        self._painted = np.zeros((DENSITY_SIDE, DENSITY_SIDE))
        super().__init__(**params)

    # -- interaction (called by the view, between steps) -------------------------------------------------------
    def move_site(self, i: int, xy) -> None:
        """Move site ``i`` to ``xy`` (clipped inside the square) and resume Newton from the current weights."""
        with self._step_lock:
            if self._stale or not 0 <= i < len(self._sites):
                return
            p = np.clip(np.asarray(xy, dtype=np.float64), 1e-3, 1 - 1e-3)
            if np.any(np.all(np.abs(np.delete(self._sites, i, 0) - p) < 1e-9, axis=1)):
                return  # on top of another site: ignored
            self._sites[i] = p
            self._restart_newton(keep_weights=True)

    def paint(self, xy, radius: float = 0.08, amount: float = 1.0) -> None:
        """Add a Gaussian dab of density at ``xy`` (``targets`` becomes "painted")."""
        X, Y = pixel_centres()
        self._painted += amount * np.exp(-((X - xy[0]) ** 2 + (Y - xy[1]) ** 2) / (2 * radius ** 2))
        if self.targets != "painted":
            self.targets = "painted"  # a parameter change: rebuilds with the painted density
        else:
            with self._step_lock:
                if not self._stale:
                    self._density = density_image("painted", self._painted)
                    self._restart_newton(keep_weights=True)

    def clear_paint(self) -> None:
        self._painted[:] = 0
        self.restart()

    def lloyd(self, steps: int = 10) -> None:
        """Queue ``steps`` Lloyd moves (each once the masses are solved)."""
        self._lloyd_left = int(steps)

    # -- frames --------------------------------------------------------------------------------------------
    def _rebuild(self):
        rng = np.random.default_rng(self.seed)
        n = self.n_sites
        self._sites = rng.uniform(0.02, 0.98, (n, 2))
        self._targets = np.ones(n)
        if self.targets == "two sizes":
            self._targets[: n // 3] = 3.0
        self._targets /= self._targets.sum()
        self._density = density_image(self.targets, self._painted)
        self._theta = rng.uniform(0, np.pi, n)
        self._weights = np.zeros(n)
        self._history: list = []
        self._total_steps = 0
        self._version = 0
        self._lloyd_left = 0
        self._restart_newton(keep_weights=False)

    def _metrics(self) -> np.ndarray:
        c, s = np.cos(self._theta), np.sin(self._theta)
        R = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)  # (N, 2, 2), columns the axes
        D = np.zeros((len(c), 2, 2))
        D[:, 0, 0], D[:, 1, 1] = 1.0, self.aspect ** 2
        return R @ D @ np.transpose(R, (0, 2, 1))

    def _restart_newton(self, keep_weights: bool):
        w0 = self._weights if keep_weights else None
        if self.mode == "exact":
            self._newton = iterate_semidiscrete(self._sites, self._targets, density=self._density, tol=TOL,
                                                weights0=w0, max_iter=60)
        else:
            rho = None if self._density is None else np.kron(self._density, np.ones((GRID_SIDE // DENSITY_SIDE,) * 2))
            self._newton = iterate_laguerre_grid(self._sites, self._targets, metrics=self._metrics(),
                                                 shape=(GRID_SIDE, GRID_SIDE), density=rho, tol=GRID_TOL,
                                                 weights0=w0, max_iter=40)
        self._state = None

    def _next_frame(self, generation: int) -> PowerFrame:
        state = next(self._newton, None)
        if state is None:  # Newton is done: a queued Lloyd move, else the same picture again
            if self._lloyd_left > 0 and self._state is not None:
                self._lloyd_left -= 1
                self._sites = np.clip(self._centroids(), 1e-3, 1 - 1e-3)
                self._restart_newton(keep_weights=True)
                state = next(self._newton)
            else:
                return self._frame(generation)
        if _newton_step(state) > 0:  # step 0: the starting state of a (re)started Newton, no step taken
            self._total_steps += 1
        self._state = state
        self._weights = state.weights.numpy().copy()
        self._history.append((self._total_steps, max(state.error, 1e-16)))
        self._version += 1
        return self._frame(generation)

    def _centroids(self) -> np.ndarray:
        if self.mode == "exact":
            return self._state.diagram.centroids.numpy()
        return self._state.cells.centroids.numpy()

    def _frame(self, generation: int) -> PowerFrame:
        s = self._state
        history = np.array(self._history[-400:], dtype=np.float64).reshape(-1, 2)
        if self.mode == "exact":
            d = s.diagram
            return PowerFrame(generation, self._sites.copy(), self._weights.copy(), d.masses.numpy(), self._targets,
                              d.centroids.numpy(), s.error, history, _newton_step(s), bool(s.final and s.converged),
                              polygons=[p.numpy() for p in d.polygons], lloyd_left=self._lloyd_left,
                              density=self._density, version=self._version)
        cells = s.cells
        vol = cells.volumes.numpy()
        # the ellipse (y - x_i)^T A_i (y - x_i) = r^2 has half-axes r and r / aspect, area π r² / aspect:
        # drawn with 35% of the cell's area
        r = np.sqrt(0.35 * np.maximum(vol, 0) * self.aspect / np.pi)
        ellipses = np.column_stack([r, r / self.aspect, self._theta])
        masses = cells.masses.numpy()
        return PowerFrame(generation, self._sites.copy(), self._weights.copy(), masses, self._targets,
                          cells.centroids.numpy(), s.error, history, _newton_step(s), bool(s.converged),
                          labels=cells.labels.numpy(), ellipses=ellipses, lloyd_left=self._lloyd_left,
                          density=self._density, version=self._version)


def _newton_step(state) -> int:
    """The Newton step of a state of either path (0: the start)."""
    return state.step if isinstance(state, SemiDiscreteState) else state.n_iter
