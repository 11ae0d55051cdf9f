"""Laguerre cells on a pixel grid drawn as one image: each pixel shows its cell's value, boundaries dark.

Shared by the demos that draw grid cells (power diagrams in anisotropic mode, swarms on the grid path).
The image is meant for a Bokeh ``LinearColorMapper`` whose ``nan_color`` draws the boundaries and
whose ``low_color`` draws the void (label -1) and ``high_color`` the walls.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

#: image values of the void and of the walls (below and above any cell value)
VOID, WALL = -np.inf, np.inf


def cell_image(values: np.ndarray, labels: np.ndarray, walls: Optional[np.ndarray] = None) -> np.ndarray:
    """The label grid (axis 0 = x; -1: void) as a float32 image (rows = y) of the cells' ``values`` (N,),
    NaN where the label changes between neighbouring pixels (the cell boundaries), ``VOID`` on the void
    and ``WALL`` where ``walls`` (the grid's shape, boolean) is set."""
    padded = np.append(values, VOID).astype(np.float32)
    image = padded[np.where(labels < 0, len(values), labels)]
    edge = np.zeros(labels.shape, dtype=bool)
    edge[1:] |= labels[1:] != labels[:-1]
    edge[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    image[edge] = np.nan
    if walls is not None:
        image[walls] = WALL
    return image.T
