"""Densities on grids for the demos: shapes drawn by code, small images shipped in ``assets/shapes``,
uploaded images, and volumes for 3D. No Panel.

Every 2D density is an (n, n) float64 array >= 0 on the cell-centred grid of the unit square
(:class:`otlab.core.Grid`: node (i, j) at ((i + ½)/n, (j + ½)/n)), axis 0 = x (left → right),
axis 1 = y (bottom → top); every shape fills a centred box of about 0.7 of the side, so that
barycenters morph shapes rather than move them. Volumes are (n, n, n) in the unit cube.
"""
from __future__ import annotations

from typing import Callable, Dict

import numpy as np

from otlab.app.settings import assets_dir

#: images in assets/shapes (dark = mass), drawn once with Pillow
IMAGE_SHAPES = ("star", "moon", "arrow", "duck")


def _xy(n: int):
    t = (np.arange(n) + 0.5) / n - 0.5
    return np.meshgrid(t, t, indexing="ij")


def disk(n):
    x, y = _xy(n)
    return (x ** 2 + y ** 2 < 0.3 ** 2).astype(np.float64)


def ring(n):
    x, y = _xy(n)
    r = np.sqrt(x ** 2 + y ** 2)
    return ((r > 0.24) & (r < 0.34)).astype(np.float64)


def square(n):
    x, y = _xy(n)
    return ((abs(x) < 0.26) & (abs(y) < 0.26)).astype(np.float64)


def cross(n):
    x, y = _xy(n)
    return (((abs(x) < 0.33) & (abs(y) < 0.09)) | ((abs(x) < 0.09) & (abs(y) < 0.33))).astype(np.float64)


def two_disks(n):
    x, y = _xy(n)
    return (((x + 0.2) ** 2 + (y - 0.2) ** 2 < 0.14 ** 2) | ((x - 0.2) ** 2 + (y + 0.2) ** 2 < 0.14 ** 2)).astype(
        np.float64)


def heart(n):
    x, y = _xy(n)
    u, v = x / 0.27, y / 0.27 + 0.1
    return ((u ** 2 + v ** 2 - 1) ** 3 - u ** 2 * v ** 3 <= 0).astype(np.float64)


CODE_SHAPES: Dict[str, Callable[[int], np.ndarray]] = {
    "disk": disk, "ring": ring, "square": square, "cross": cross, "two disks": two_disks, "heart": heart,
}
SHAPES = tuple(CODE_SHAPES) + IMAGE_SHAPES


def image_density(gray: np.ndarray, n: int) -> np.ndarray:
    """A grayscale image (H, W) in [0, 1] (dark = mass, row 0 at the top) as an (n, n) density: padded
    to a centred square with white, resized to n × n (area averaging), mass = 1 - gray."""
    from PIL import Image

    gray = np.clip(np.asarray(gray, dtype=np.float64), 0.0, 1.0)
    h, w = gray.shape
    side = max(h, w)
    canvas = np.ones((side, side))
    canvas[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = gray
    img = Image.fromarray((canvas * 255).round().astype(np.uint8)).resize((n, n), Image.BOX)
    mass = 1.0 - np.asarray(img, dtype=np.float64) / 255.0
    return np.ascontiguousarray(mass[::-1].T)  # rows top→bottom, columns left→right  ->  axis 0 = x, axis 1 = y


def shape_density(name: str, n: int) -> np.ndarray:
    """Shape ``name`` (one of :data:`SHAPES`) as an (n, n) density."""
    if name in CODE_SHAPES:
        return CODE_SHAPES[name](n)
    if name in IMAGE_SHAPES:
        from PIL import Image

        with Image.open(assets_dir() / "shapes" / f"{name}.png") as img:
            gray = np.asarray(img.convert("L"), dtype=np.float64) / 255.0
        return image_density(gray, n)
    raise ValueError(f"unknown shape {name!r}; choose one of {list(SHAPES)}")


def _xyz(n: int):
    t = (np.arange(n) + 0.5) / n - 0.5
    return np.meshgrid(t, t, t, indexing="ij")


def ball(n):
    x, y, z = _xyz(n)
    return (x ** 2 + y ** 2 + z ** 2 < 0.3 ** 2).astype(np.float64)


def box(n):
    x, y, z = _xyz(n)
    return ((abs(x) < 0.3) & (abs(y) < 0.12) & (abs(z) < 0.22)).astype(np.float64)


def torus(n):
    x, y, z = _xyz(n)
    return ((np.sqrt(x ** 2 + y ** 2) - 0.25) ** 2 + z ** 2 < 0.09 ** 2).astype(np.float64)


def two_balls(n):
    x, y, z = _xyz(n)
    return (((x + 0.18) ** 2 + (y + 0.18) ** 2 + z ** 2 < 0.15 ** 2)
            | ((x - 0.18) ** 2 + (y - 0.18) ** 2 + z ** 2 < 0.15 ** 2)).astype(np.float64)


VOLUMES: Dict[str, Callable[[int], np.ndarray]] = {"ball": ball, "box": box, "torus": torus, "two balls": two_balls}


def volume_density(name: str, n: int) -> np.ndarray:
    """Volume ``name`` (one of :data:`VOLUMES`) as an (n, n, n) density."""
    if name not in VOLUMES:
        raise ValueError(f"unknown volume {name!r}; choose one of {list(VOLUMES)}")
    return VOLUMES[name](n)


def sample_density(density: np.ndarray, n_points: int, rng: np.random.Generator) -> np.ndarray:
    """n_points (n_points, 2) float32 drawn from an (n, n) density on the unit square: a cell with
    probability proportional to its mass, then a uniform position inside it."""
    d = np.asarray(density, dtype=np.float64)
    total = d.sum()
    if not np.isfinite(total) or total <= 0:
        raise ValueError("the density is empty: nothing to sample points from")
    idx = rng.choice(d.size, size=n_points, p=(d / total).ravel())
    i, j = np.divmod(idx, d.shape[1])
    return np.stack([(i + rng.uniform(size=n_points)) / d.shape[0],
                     (j + rng.uniform(size=n_points)) / d.shape[1]], axis=1).astype(np.float32)
