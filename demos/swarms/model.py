r"""Headless model of the swarms demo: incompressible particles, one :class:`otlab.core.Swarm` step per frame.

Each particle owns a Laguerre cell of fixed volume :math:`V = \text{fill}\,|\Omega| / N`; a step moves the
particles (the preset's motion), solves the weights that restore every volume (warm-started Newton), and
pulls each particle towards its cell's centroid (:mod:`otlab.core.semidiscrete.swarms`). With p = 2 for every species
the cells are exact power cells, drawn as polygons; with another softness p (cost
:math:`\tfrac{R}{p}(|y - x_i|/R)^p`, R the radius of a ball of volume V: hard p ≫ 2, soft p < 2) they live
on a pixel grid and are drawn as an image.

Presets set every parameter to values that make their point within seconds: run-and-tumble in a disk,
active Brownian particles on a torus (the box's sides are glued), hard and soft particles falling, a
crowd leaving a room through a narrow exit, two cell types sorting under surface tension. Speed,
tumble rate, gravity, tensions and dt apply to the running swarm; N, fill, softness, the correction
and the seed restart it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import List, Optional

import numpy as np
import param

from otlab.core import Swarm
from otlab.demos.frame_model import FrameModel

#: the values every preset (2D and 3D) starts the live parameters at
SHARED_DEFAULTS = dict(speed=0.3, tumble_rate=1.0, gravity=0.5, tension=16.0, void_tension=30.0, dt=0.01)
#: every parameter of each preset: values that make its point within seconds
PRESETS = {
    "run and tumble": dict(SHARED_DEFAULTS, motion="run_and_tumble", n=200, fill=0.85, power=2.0, power_b=2.0),
    "active Brownian": dict(SHARED_DEFAULTS, motion="active_brownian", n=200, fill=1.0, power=2.0, power_b=2.0),
    "gravity": dict(SHARED_DEFAULTS, motion="gravity", n=100, fill=0.55, power=6.0, power_b=1.0),
    "evacuation": dict(SHARED_DEFAULTS, motion="evacuation", n=80, fill=0.75, power=1.0, power_b=1.0),
    "surface tension": dict(SHARED_DEFAULTS, motion="surface_tension", n=200, fill=0.6, power=2.0, power_b=2.0),
}
CORRECTIONS = ["spring", "jump"]
#: pixels per unit length of the grid path
GRID = 128


@dataclass
class SwarmFrame:
    generation: int
    time: float
    step: int
    positions: np.ndarray               # (N, 2)
    headings: np.ndarray                # (N, 2) unit vectors
    species: np.ndarray                 # (N,) 0 or 1
    volumes: np.ndarray                 # (N,) cell volumes
    volume: float                       # their target V
    error: float                        # the solve's max relative volume error
    left: int                           # evacuated particles
    exact: bool
    seconds: float                      # solver time of this step
    extent: tuple                       # ((x0, x1), (y0, y1)) of the room
    polygons: Optional[List[np.ndarray]] = None    # exact path: each cell (k_i, 2); periodic: with images
    polygon_owner: Optional[np.ndarray] = None     # exact path: the particle of each polygon
    labels: Optional[np.ndarray] = None            # grid path: (n_x, n_y), axis 0 = x, -1 void
    walls: Optional[np.ndarray] = None             # grid path: (n_x, n_y) True inside walls
    domain: Optional[np.ndarray] = None            # exact path: the room's polygon (K, 2)


class SwarmsModel(FrameModel):
    """A swarm run forever; ``step()`` advances it by dt and returns a :class:`SwarmFrame`."""

    preset = param.Selector(default="run and tumble", objects=list(PRESETS), doc="the motion and its room")
    n = param.Integer(default=200, bounds=(10, 2000), doc="N, the number of particles")
    fill = param.Number(default=0.85, bounds=(0.3, 1.0), doc="fraction of the room the cells fill (the rest is void)")
    power = param.Number(default=2.0, bounds=(0.5, 8.0), doc="softness p of species A (2: exact power cells)")
    power_b = param.Number(default=2.0, bounds=(0.5, 8.0), doc="softness p of species B (gravity, surface tension)")
    speed = param.Number(default=0.3, bounds=(0.0, 2.0), doc="self-propulsion speed (room widths per unit time)")
    tumble_rate = param.Number(default=1.0, bounds=(0.0, 10.0), doc="tumbles per unit time (run and tumble), "
                               "rotational diffusion D_r (active Brownian, evacuation, surface tension)")
    gravity = param.Number(default=0.5, bounds=(0.0, 3.0), doc="gravity g (room heights per unit time)")
    tension = param.Number(default=16.0, bounds=(0.0, 40.0), doc="γ_AB, tension between the species (γ_AA = γ_BB = 1)")
    void_tension = param.Number(default=30.0, bounds=(0.0, 40.0), doc="γ with the void, both species")
    dt = param.Number(default=0.01, bounds=(0.002, 0.05), doc="time step")
    correction = param.Selector(default="spring", objects=CORRECTIONS, doc="how particles follow their centroids")
    seed = param.Integer(default=0, bounds=(0, 2 ** 31 - 1))

    #: applied to the running swarm (no restart)
    _kept_on_change = ("speed", "tumble_rate", "gravity", "tension", "void_tension", "dt")
    #: the presets, the room's dimension and the grid path's pixels per unit length (3D: a subclass)
    _presets, _dim, _grid = PRESETS, 2, GRID

    def __init__(self, **params):
        preset = params.get("preset", self.param.preset.default)
        super().__init__(**{**self._preset_values(preset, exclude=params), **params})
        self.param.watch(self._on_change, [p for p in self.param if p != "name"])

    def _on_change(self, *events):
        """A new preset sets its values, except those changed with it (a URL sets them all at once); the
        live parameters retune the running swarm."""
        changed = {e.name: e.new for e in events}
        if "preset" in changed:
            self.param.update(**self._preset_values(changed["preset"], exclude=changed))
        if set(changed) & set(self._kept_on_change):
            with self._step_lock:
                if not self._stale:
                    self._tune(self._swarm)

    def _tune(self, swarm: Swarm):
        swarm.speed, swarm.gravity, swarm.dt = self.speed, self.gravity, self.dt
        swarm.tumble_rate = swarm.rotation = self.tumble_rate
        swarm.tensions = [1.0, 1.0, self.tension, self.void_tension, self.void_tension]

    def _preset_values(self, preset: str, exclude=()) -> dict:
        """The parameter values of ``preset``, less those named in ``exclude``."""
        return {k: v for k, v in self._presets[preset].items() if k != "motion" and k not in exclude}

    def _rebuild(self):
        motion = self._presets[self.preset]["motion"]
        fill = min(self.fill, 0.95) if motion in ("gravity", "evacuation") else self.fill
        self._swarm = Swarm(self.n, motion, dim=self._dim, fill=fill, power=(self.power, self.power_b),
                            correction=self.correction, grid=self._grid, seed=self.seed)
        self._tune(self._swarm)
        self._seconds = 0.0

    def _next_frame(self, generation: int) -> SwarmFrame:
        start = time.perf_counter()
        state = self._swarm.step()
        self._seconds = time.perf_counter() - start
        return self._frame(generation, state)

    def _frame(self, generation: int, state) -> SwarmFrame:
        s = self._swarm
        x = state.positions.numpy()
        frame = SwarmFrame(generation, state.time, state.step, x, state.headings.numpy(), state.species.numpy(),
                           state.volumes.numpy(), s.volume, state.error, state.left, s.exact, self._seconds,
                           tuple(s.extent))
        if s.exact:
            polygons = [p.numpy() for p in state.cells.polygons]
            owner = np.arange(len(polygons))
            if s.periodic:
                polygons, owner = _with_images(polygons)
            frame.polygons, frame.polygon_owner, frame.domain = polygons, owner, s.polygon
        else:
            frame.labels = state.cells.labels.numpy() if len(x) else np.full(s.shape, -1)
            frame.walls = None if s.mask.all() else ~s.mask
        return frame


def _with_images(polygons: List[np.ndarray]):
    """The polygons plus, for those sticking out of the unit box, their translates by ±1 that reach back
    into it (so that a torus cell shows whole), and the index of the cell each comes from."""
    keep = [i for i, p in enumerate(polygons) if len(p) >= 3]
    lo = np.array([polygons[i].min(0) for i in keep]).reshape(-1, 2)
    hi = np.array([polygons[i].max(0) for i in keep]).reshape(-1, 2)
    out, owner = [], []
    for shift in np.array([(sx, sy) for sx in (0, -1, 1) for sy in (0, -1, 1)]):
        for k in np.nonzero(((lo + shift < 1) & (hi + shift > 0)).all(1))[0]:
            out.append(polygons[keep[k]] + shift)
            owner.append(keep[k])
    return out, np.array(owner, dtype=int)
