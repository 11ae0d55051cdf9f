r"""Incompressible particle swarms: each particle owns a Laguerre cell of fixed volume (after Diez & Feydy).

Every step of :class:`Swarm` (time step Δt) does three things:

1. **Motion**: a velocity :math:`v_i` from the chosen model — ``"run_and_tumble"`` (speed along a
   heading, redrawn at random with rate λ: a tumble, in a disk), ``"active_brownian"`` (the heading
   diffuses, :math:`d\theta = \sqrt{2 D_r}\, dW`, in a periodic box), ``"gravity"`` (two species of
   different stiffness fall, :math:`v = -g\, e_D`, onto the floor of a box), ``"evacuation"`` (towards
   the exit of a room, through a gap in its right wall; who passes the wall leaves) or
   ``"surface_tension"`` (two populations with interfacial tensions :math:`\gamma_{ab}`, below).
2. **Volumes**: the weights w giving every cell its volume :math:`V = \text{fill}\,|\Omega| / N_0`
   (the rest of Ω is void), warm-started from the last two steps' weights extrapolated linearly,
   :math:`2w_k - w_{k-1}` (fewer Newton steps than from :math:`w_k`: 1.5 sweeps a step instead of 2 on
   the grids), with a cold start if that fails: exact power diagrams
   (:mod:`otlab.core.semidiscrete.transport`) for the quadratic cost in 2D, pixel or voxel cells
   (:mod:`otlab.core.semidiscrete.laguerre_grid`) for the costs :math:`\tfrac{R}{p} (|y - x_i| / R)^{p}` with one
   exponent per species (hard p ≫ 2, soft p < 2; R the radius of a ball of volume V: every cost has
   slope 1 at a cell's radius, so one soft-assignment temperature, a pixel wide, suits both species)
   and in 3D.
3. **Incompressibility**: particles move towards their cells' centroids :math:`\bar y_i` — ``"spring"``:
   :math:`x_i \leftarrow x_i + \Delta t\,(v_i + \kappa (\bar y_i - x_i))` (κ = ``stiffness``); ``"jump"``: move by
   :math:`\Delta t\, v_i`, solve, then :math:`x_i \leftarrow \bar y_i`.

**Surface tension** (differential interfacial tension): the interface between cells i and j, of length
(area in 3D) :math:`\ell_{ij}` and unit normal :math:`n_{ij}` out of i, pushes cell i by
:math:`-\gamma_{ij}\,\ell_{ij}\,n_{ij}`, its border with the void or the walls by
:math:`-\gamma_{i0}\int n\,ds`. As the outward normals of a closed cell integrate to zero, this is

.. math::
    v_i = -\frac{R}{|\partial B_R|} \sum_{j \sim i} \big(\gamma_{ij} - \gamma_{i0}\big)\, \ell_{ij}\, n_{ij}
    \qquad (B_R \text{ the ball of volume } V),

(γ in cell radii per unit time), zero when every tension is equal, and pushing each cell away from its costly interfaces: the
populations sort. Exact path: :math:`n_{ij}` is the direction of :math:`x_j - x_i` (power edges are
perpendicular to it); grid path: the sum of :math:`\ell n` is taken over the pixel faces between
labels, exact for the staircase boundary.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Tuple, Union

import numpy as np
import torch

from .. import checks
from .laguerre_grid import LaguerreGrid, ball_radius, solve_laguerre_grid
from .power_diagrams import PowerDiagram
from .transport import as_fill, solve_semidiscrete
from ..clouds.sinkhorn import ConvergenceWarning

MOTIONS = ("run_and_tumble", "active_brownian", "gravity", "evacuation", "surface_tension")
CORRECTIONS = ("spring", "jump")
#: The motions with two species (half the particles each); the others have species 0 only.
TWO_SPECIES = ("gravity", "surface_tension")
#: Vertices of the polygon standing for the disk on the exact path.
DISK_VERTICES = 32
#: The room of the evacuation: [0, 1]^D, a wall of this thickness at x = 1, then free space to x = 1 + OUTSIDE.
WALL, OUTSIDE = 0.04, 0.21
#: The exit's width in particle diameters: narrower than one, so that hard particles jam and soft ones pass.
EXIT = 0.6
#: Relative volume error of the solves (exact path; the grid path's soft volumes use GRID_TOL).
EXACT_TOL, GRID_TOL = 1e-3, 0.01


@dataclass
class SwarmState:
    """One step: ``time``, ``step``, ``positions`` (N, D), ``headings`` (N, D) unit vectors, ``species``
    (N,) 0 or 1, ``weights`` (N,), ``cells`` (:class:`PowerDiagram` on the exact path, :class:`LaguerreGrid`
    on the grid), ``volumes`` (N,) the cells' volumes, ``error`` the solve's largest relative volume
    error, ``left`` particles evacuated so far; torch float64 on the CPU."""

    time: float
    step: int
    positions: torch.Tensor
    headings: torch.Tensor
    species: torch.Tensor
    weights: torch.Tensor
    cells: Union[PowerDiagram, LaguerreGrid]
    volumes: torch.Tensor
    error: float
    left: int


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


class Swarm:
    r"""A swarm of N incompressible particles (see the module docstring); :meth:`step` advances it by
    ``dt`` and returns a :class:`SwarmState`, ``state`` is the latest.

    Args:
        n: particles (>= 2). motion: one of ``MOTIONS``. dim: 2 or 3 (3: grid path).
        fill: the fraction of the domain the cells fill (< 1: void around them; 1 is refused for
            ``gravity`` and ``evacuation``, which need room to move).
        power: the cost exponent p, or (p_0, p_1) one per species (species 1: half the particles in
            ``gravity`` and ``surface_tension``; the others use p_0 only). 2 in 2D takes the exact path (except ``evacuation``,
            whose room with an exit is not convex).
        speed: self-propulsion speed (domain widths per unit time). tumble_rate: λ of run-and-tumble.
        rotation: rotational diffusion :math:`D_r` of the active Brownian headings (and of the
            surface-tension jiggle). gravity: g. tensions: (γ_00, γ_11, γ_01, γ_0void, γ_1void).
        dt: time step. correction: ``"spring"`` (rate ``stiffness`` κ) or ``"jump"``.
        grid: pixels (voxels) per unit length on the grid path. seed: random seed. path: ``"auto"``,
            ``"exact"`` or ``"grid"``.
    """

    def __init__(self, n: int = 200, motion: str = "run_and_tumble", *, dim: int = 2, fill: float = 0.85,
                 power: Union[float, Tuple[float, float]] = 2.0, speed: float = 0.3, tumble_rate: float = 1.0,
                 rotation: float = 1.0, gravity: float = 0.5, tensions=(1.0, 1.0, 16.0, 30.0, 30.0), dt: float = 0.01,
                 correction: str = "spring", stiffness: float = 20.0, grid: int = 128, seed: int = 0,
                 path: str = "auto"):
        self.n0 = checks.integer("n", n, minimum=2)
        self.motion = checks.choice("motion", motion, MOTIONS)
        if dim not in (2, 3) or isinstance(dim, bool):
            raise ValueError(f"dim must be 2 or 3, got {dim!r}")
        self.dim = dim
        self.fill = as_fill(fill)
        if self.fill == 1 and motion in ("gravity", "evacuation"):
            raise ValueError(f"fill must be < 1 for motion={motion!r}: the particles need empty space to move into")
        pw = (power, power) if isinstance(power, (int, float)) and not isinstance(power, bool) else tuple(power)
        if len(pw) != 2:
            raise ValueError(f"power must be a number or a pair (one per species), got {power!r}")
        self.powers = tuple(checks.positive_number("power", p) for p in pw)
        self.speed = checks.positive_number("speed", speed) if speed else 0.0
        self.tumble_rate = checks.positive_number("tumble_rate", tumble_rate) if tumble_rate else 0.0
        self.rotation = checks.positive_number("rotation", rotation) if rotation else 0.0
        self.gravity = checks.positive_number("gravity", gravity) if gravity else 0.0
        g = [checks.real_number("tensions", t) for t in tensions]
        if len(g) != 5:
            raise ValueError(f"tensions must be 5 numbers (γ_00, γ_11, γ_01, γ_0void, γ_1void), got {len(g)}")
        self.tensions = g
        self.dt = checks.positive_number("dt", dt)
        self.correction = checks.choice("correction", correction, CORRECTIONS)
        self.stiffness = checks.positive_number("stiffness", stiffness)
        self.grid = checks.integer("grid", grid, minimum=8)
        path = checks.choice("path", path, ("auto", "exact", "grid"))
        used = self.powers if motion in TWO_SPECIES else self.powers[:1]
        exact_ok = dim == 2 and all(p == 2 for p in used) and motion != "evacuation"
        if path == "exact" and not exact_ok:
            raise ValueError("path='exact' needs dim=2, power=2 and a convex room (not 'evacuation')")
        self.exact = exact_ok if path == "auto" else path == "exact"
        self.rng = np.random.default_rng(seed)
        self._set_domain()
        self.volume = self.fill * self.area / self.n0
        self.radius = ball_radius(self.volume, dim)
        self.surface = 2 * math.pi * self.radius if dim == 2 else 4 * math.pi * self.radius ** 2
        self.x = self._initial_positions()
        self.species = np.zeros(self.n0, dtype=np.int64)
        if motion in TWO_SPECIES:
            self.species[self.rng.permutation(self.n0)[: self.n0 // 2]] = 1
        self.headings = _unit(self.rng.normal(size=(self.n0, dim)))
        self.weights, self.time, self.steps, self.left = None, 0.0, 0, 0
        self._previous_weights = None
        self.state = self._solve()

    # -- domain ------------------------------------------------------------------------------------
    def _set_domain(self):
        """The room: ``polygon`` (exact path), ``extent``/``shape``/``mask`` (grid path), ``area``."""
        d, m = self.dim, self.motion
        self.periodic = m == "active_brownian"
        hi = np.ones(d)
        if m == "evacuation":
            hi[0] = 1 + WALL + OUTSIDE
        self.extent = [(0.0, float(h)) for h in hi]
        self.shape = tuple(max(8, int(round(self.grid * h))) for h in hi)
        self.polygon = None
        if self.exact:
            if m == "run_and_tumble":
                t = 2 * np.pi * np.arange(DISK_VERTICES) / DISK_VERTICES
                self.polygon = 0.5 + 0.5 * np.stack([np.cos(t), np.sin(t)], 1)
            else:
                self.polygon = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
            self.mask = None
            self.area = float(0.5 * np.abs(np.sum(self.polygon[:, 0] * np.roll(self.polygon[:, 1], -1)
                                                  - np.roll(self.polygon[:, 0], -1) * self.polygon[:, 1])))
            return
        axes = [(np.arange(s) + 0.5) * (h / s) for s, h in zip(self.shape, hi)]
        Y = np.stack(np.meshgrid(*axes, indexing="ij"), -1)
        if m == "run_and_tumble":
            mask = ((Y - 0.5) ** 2).sum(-1) <= 0.25
        elif m == "evacuation":
            in_wall = (Y[..., 0] >= 1) & (Y[..., 0] < 1 + WALL)
            gap = (np.abs(Y[..., 1:] - 0.5) < self.exit_width / 2).all(-1)
            mask = ~in_wall | gap
        else:
            mask = np.ones(self.shape, dtype=bool)
        self.mask = mask
        self.area = float(mask.mean() * np.prod(hi))

    @property
    def exit_width(self) -> float:
        """The width of the evacuation's exit: ``EXIT`` diameters of a particle of volume fill / N (the room's
        unit volume: the exit is cut before the room's free volume is known)."""
        return 2 * EXIT * ball_radius(self.fill / self.n0, self.dim)

    def _inside(self, x: np.ndarray) -> np.ndarray:
        """Positions (N, D) moved back into the room (wrapped when periodic), and apart: particles pushed
        into the same corner (a fast step against two walls) land on one point, which has no cell."""
        return self._apart(self._into_room(x))

    def _apart(self, x: np.ndarray) -> np.ndarray:
        """``x`` with each repeated position but its first moved by a random 1e-6 (inside the room's
        margin of 1e-3, so still inside)."""
        _, first = np.unique(x, axis=0, return_index=True)
        if len(first) == len(x):
            return x
        again = np.setdiff1d(np.arange(len(x)), first)
        x = x.copy()
        x[again] += 1e-6 * _unit(self.rng.normal(size=(len(again), x.shape[1])))
        return np.mod(x, 1.0) if self.periodic else x

    def _into_room(self, x: np.ndarray) -> np.ndarray:
        margin = 1e-3
        if self.periodic:
            return np.mod(x, 1.0)
        if self.motion == "run_and_tumble":
            d = x - 0.5
            r = np.linalg.norm(d, axis=1, keepdims=True)
            limit = 0.5 * (np.cos(np.pi / DISK_VERTICES) if self.exact else 1.0) - margin
            return np.where(r > limit, 0.5 + d * limit / np.maximum(r, 1e-12), x)
        hi = np.array([h for _, h in self.extent])
        x = np.clip(x, margin, hi - margin)
        if self.motion == "evacuation":  # in the wall but not in the gap: back into the room
            blocked = (x[:, 0] > 1 - margin) & (x[:, 0] < 1 + WALL + margin) & \
                (np.abs(x[:, 1:] - 0.5) >= self.exit_width / 2 - margin).any(1)
            x[blocked, 0] = 1 - margin
        return x

    def _initial_positions(self) -> np.ndarray:
        n, d, rng = self.n0, self.dim, self.rng
        if self.motion == "gravity":  # a loose cloud in the upper part
            x = rng.uniform(0.05, 0.95, size=(n, d))
            x[:, -1] = rng.uniform(0.35, 0.95, size=n)
        elif self.motion == "surface_tension":  # a ball of cells in the middle
            r = ball_radius(self.fill * self.area, d)
            u = _unit(rng.normal(size=(n, d)))
            x = 0.5 + 0.8 * r * u * rng.uniform(size=(n, 1)) ** (1 / d)
        elif self.motion == "evacuation":
            x = rng.uniform(0.05, 0.95, size=(n, d))
        else:
            x = rng.uniform(0.0, 1.0, size=(n, d))
        return self._inside(x)

    # -- one step ----------------------------------------------------------------------------------
    def _turn(self):
        """Tumbles (run-and-tumble) or rotational diffusion (active Brownian, surface tension)."""
        n, d, dt = len(self.x), self.dim, self.dt
        if self.motion == "run_and_tumble" and self.tumble_rate:
            tumble = self.rng.uniform(size=n) < 1 - math.exp(-self.tumble_rate * dt)
            self.headings[tumble] = _unit(self.rng.normal(size=(int(tumble.sum()), d)))
        elif self.motion in ("active_brownian", "surface_tension", "evacuation") and self.rotation:
            kick = math.sqrt(2 * self.rotation * dt) * self.rng.normal(size=(n, d))
            kick -= (kick * self.headings).sum(1, keepdims=True) * self.headings  # tangent to the sphere
            self.headings = _unit(self.headings + kick)

    def _velocity(self) -> np.ndarray:
        m = self.motion
        if m in ("run_and_tumble", "active_brownian"):
            return self.speed * self.headings
        if m == "gravity":
            v = np.zeros_like(self.x)
            v[:, -1] = -self.gravity
            return v
        if m == "evacuation":  # to the exit, then straight out; a little wander
            door = np.full(self.dim, 0.5)
            door[0] = 1 + WALL
            aim = np.where(self.x[:, :1] < 1, _unit(door - self.x), np.eye(self.dim)[0])
            return self.speed * _unit(aim + 0.3 * self.headings)
        return 0.2 * self.speed * self.headings + self._tension()

    def _tension(self) -> np.ndarray:
        """Surface-tension velocities (N, D) of the current cells (module docstring)."""
        g00, g11, g01, g0v, g1v = self.tensions
        gamma = np.array([[g00, g01], [g01, g11]])
        void = np.array([g0v, g1v])
        t = self.species
        v = np.zeros_like(self.x)
        cells = self.state.cells
        if self.exact:
            ij = cells.neighbours.numpy()
            if len(ij):
                i, j = ij[:, 0], ij[:, 1]
                push = (cells.edge_lengths.numpy() * self.radius / self.surface)[:, None] * _unit(cells.edge_vectors.numpy())
                np.add.at(v, i, -(gamma[t[i], t[j]] - void[t[i]])[:, None] * push)
                np.add.at(v, j, (gamma[t[j], t[i]] - void[t[j]])[:, None] * push)
            return v
        labels = cells.labels.cpu().numpy()
        face = np.prod([(h - lo) / s for (lo, h), s in zip(self.extent, self.shape)]) ** ((self.dim - 1) / self.dim)
        for axis in range(self.dim):
            a, b = labels, np.roll(labels, -1, axis)
            if not self.periodic:  # no wrap-around pairs
                a, b = np.moveaxis(a, axis, 0)[:-1], np.moveaxis(b, axis, 0)[:-1]
            both = (a != b) & (a >= 0) & (b >= 0)
            i, j = a[both], b[both]
            e = np.eye(self.dim)[axis] * face * self.radius / self.surface
            np.add.at(v, i, -(gamma[t[i], t[j]] - void[t[i]])[:, None] * e)
            np.add.at(v, j, (gamma[t[j], t[i]] - void[t[j]])[:, None] * e)
        return v

    def _solve(self) -> SwarmState:
        """Solve the volumes from the last weights extrapolated; should that warm start fail (particles moved
        far), from the cold start of the path. The weights' history restarts with a cold start: the next
        warm start is then the last weights, not a line through a jump."""
        res = None
        if self.weights is not None:
            warm = self.weights if self._previous_weights is None else 2 * self.weights - self._previous_weights
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                res = self._volumes(warm)
        cold = res is None or not res.converged
        if cold:
            res = self._volumes(None)
        if self.exact:
            cells, volumes, centroids = res.diagram, res.areas, res.centroids
        else:
            cells, centroids, volumes = res.cells, res.cells.centroids, res.cells.masses * self.area
        self._previous_weights, self.weights = None if cold else self.weights, res.weights.numpy()
        self.centroids = centroids.numpy()
        return SwarmState(self.time, self.steps, torch.from_numpy(self.x.copy()), torch.from_numpy(self.headings.copy()),
                          torch.from_numpy(self.species.copy()), res.weights, cells, volumes, float(res.error),
                          self.left)

    def _volumes(self, weights0):
        """The exact or grid solve of the cell volumes from ``weights0``."""
        fill = min(len(self.x) * self.volume / self.area, 1.0)
        if self.exact:
            return solve_semidiscrete(self.x, domain=self.polygon, tol=EXACT_TOL, weights0=weights0, fill=fill,
                                      periodic=self.periodic)
        power = torch.tensor(self.powers, dtype=torch.float64)[torch.from_numpy(self.species)]
        return solve_laguerre_grid(self.x, power=power, scale=self.radius ** (1 - power) / power, shape=self.shape,
                                   extent=self.extent, density=None if self.mask.all() else self.mask.astype(float),
                                   tol=GRID_TOL, weights0=weights0, fill=fill, periodic=self.periodic)

    def step(self) -> SwarmState:
        """Advance by ``dt`` (motion, volumes, incompressibility) and return the new :class:`SwarmState`."""
        if len(self.x) == 0:
            return self.state
        self._turn()
        v = self._velocity()
        if self.correction == "spring":
            self.x = self._inside(self.x + self.dt * (v + self.stiffness * self._wrapped(self.centroids - self.x)))
        else:
            self.x = self._inside(self.x + self.dt * v)
        self._evacuate()
        self.time += self.dt
        self.steps += 1
        if len(self.x) == 0:
            self.state = SwarmState(self.time, self.steps, torch.zeros(0, self.dim, dtype=torch.float64),
                                    torch.zeros(0, self.dim, dtype=torch.float64), torch.zeros(0, dtype=torch.int64),
                                    torch.zeros(0, dtype=torch.float64), self.state.cells,
                                    torch.zeros(0, dtype=torch.float64), 0.0, self.left)
            return self.state
        self.state = self._solve()
        if self.correction == "jump":
            self.x = self._inside(self.centroids.copy())
            self.state.positions = torch.from_numpy(self.x.copy())
        return self.state

    def _wrapped(self, d: np.ndarray) -> np.ndarray:
        return d - np.round(d) if self.periodic else d

    def _evacuate(self):
        """Drop the particles past the wall (evacuation), with their weights and centroids."""
        if self.motion != "evacuation":
            return
        stay = self.x[:, 0] < 1 + WALL + self.radius
        self.left += int((~stay).sum())
        self.x, self.headings, self.species = self.x[stay], self.headings[stay], self.species[stay]
        self.weights, self.centroids = self.weights[stay], self.centroids[stay]
        if self._previous_weights is not None:
            self._previous_weights = self._previous_weights[stay]
