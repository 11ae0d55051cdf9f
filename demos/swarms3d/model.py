r"""Headless model of the 3D swarms demo: incompressible particles in a ball or a cube, on voxel cells.

The same simulation as :mod:`otlab.demos.swarms.model` (one :class:`otlab.core.Swarm` step per frame) with
``dim=3``: every particle owns a Laguerre cell of voxels of fixed volume, re-solved at each step (soft
volumes, :mod:`otlab.core.semidiscrete.laguerre_grid`). A frame carries the particles and the **boundary voxels** of
every cell (voxels with a 6-neighbour in another cell or in the void): drawn as points coloured by
cell, they show the cells' shapes without a surface extraction.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import param

from otlab.demos.swarms.model import SHARED_DEFAULTS, CORRECTIONS, SwarmsModel
PRESETS_3D = {
    "run and tumble": dict(SHARED_DEFAULTS, motion="run_and_tumble", n=60, fill=0.8, power=2.0, power_b=2.0),
    "active Brownian": dict(SHARED_DEFAULTS, motion="active_brownian", n=60, fill=0.9, power=2.0, power_b=2.0),
    "gravity": dict(SHARED_DEFAULTS, motion="gravity", n=60, fill=0.5, power=6.0, power_b=1.0),
}
#: voxels per unit length
GRID_3D = 24


@dataclass
class Swarm3DFrame:
    generation: int
    time: float
    step: int
    positions: np.ndarray       # (N, 3)
    species: np.ndarray         # (N,)
    boundary: np.ndarray        # (B, 3) centres of the cells' boundary voxels
    owner: np.ndarray           # (B,) the cell of each
    volumes: np.ndarray         # (N,)
    volume: float
    error: float
    seconds: float


class Swarms3DModel(SwarmsModel):
    """A 3D swarm run forever on voxel cells."""

    preset = param.Selector(default="run and tumble", objects=list(PRESETS_3D), doc="the motion and its room")
    n = param.Integer(default=60, bounds=(4, 400), doc="N, the number of particles")
    correction = param.Selector(default="spring", objects=CORRECTIONS)

    _presets, _dim, _grid = PRESETS_3D, 3, GRID_3D

    def _frame(self, generation: int, state) -> Swarm3DFrame:
        s = self._swarm
        labels = state.cells.labels.numpy()
        edge = np.zeros(labels.shape, dtype=bool)
        for axis in range(3):
            a, b = np.moveaxis(labels, axis, 0), np.moveaxis(edge, axis, 0)
            differ = a[1:] != a[:-1]
            b[1:] |= differ
            b[:-1] |= differ
            b[0] |= True  # the box's faces
            b[-1] |= True
        edge &= labels >= 0
        idx = np.argwhere(edge)
        h = np.array([(hi - lo) / k for (lo, hi), k in zip(s.extent, labels.shape)])
        return Swarm3DFrame(generation, state.time, state.step, state.positions.numpy(), state.species.numpy(),
                            ((idx + 0.5) * h).astype(np.float32), labels[edge], state.volumes.numpy(), s.volume,
                            state.error, self._seconds)
