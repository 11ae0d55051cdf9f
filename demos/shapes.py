"""Point-cloud presets in the unit square, shared by the 2D demos.

Every generator takes the number of points and a ``numpy.random.Generator`` and returns an (n, 2)
float32 array in [0, 1]^2. :func:`points_from_density` turns a grayscale image (drawn, uploaded or
rendered text) into points sampled with probability proportional to darkness.
"""
from __future__ import annotations

from typing import Callable, Dict

import numpy as np


def gaussian_blobs(n, rng):
    centers = np.array([[0.3, 0.3], [0.7, 0.35], [0.45, 0.72]])
    picks = rng.integers(0, len(centers), n)
    return centers[picks] + 0.06 * rng.standard_normal((n, 2))


def crescent(n, rng):
    t = rng.uniform(0.0, np.pi, n)
    r = 0.28 + 0.035 * rng.standard_normal(n)
    return np.stack([0.5 + r * np.cos(t), 0.3 + r * np.sin(t)], axis=1)


def annulus(n, rng):
    t = rng.uniform(0.0, 2 * np.pi, n)
    r = np.sqrt(rng.uniform(0.2 ** 2, 0.32 ** 2, n))
    return np.stack([0.5 + r * np.cos(t), 0.5 + r * np.sin(t)], axis=1)


def two_moons(n, rng):
    half = n // 2
    t = rng.uniform(0.0, np.pi, n)
    upper = np.stack([np.cos(t[:half]), np.sin(t[:half])], axis=1)
    lower = np.stack([1 - np.cos(t[half:]), 0.5 - np.sin(t[half:])], axis=1)
    pts = np.concatenate([upper, lower]) + 0.08 * rng.standard_normal((n, 2))
    # the moons span [-1, 2] x [-0.5, 1]
    return np.array([0.15, 0.25]) + (pts + np.array([1.0, 0.5])) * np.array([0.7 / 3, 0.5 / 1.5])


def uniform_square(n, rng):
    return 0.2 + 0.6 * rng.uniform(size=(n, 2))


def heart(n, rng):
    """Uniform in the heart (x^2 + y^2 - 1)^3 <= x^2 y^3, by rejection."""
    out = np.empty((0, 2))
    while len(out) < n:
        c = rng.uniform(-1.3, 1.3, size=(2 * n, 2))
        inside = (c[:, 0] ** 2 + c[:, 1] ** 2 - 1) ** 3 - c[:, 0] ** 2 * c[:, 1] ** 3 <= 0
        out = np.concatenate([out, c[inside]])
    return 0.5 + 0.3 * out[:n] / 1.3


def glyph(n, rng, text="OT"):
    """Points filling the letters of ``text`` (Pillow's default font, rendered at 200 px)."""
    from PIL import Image, ImageDraw, ImageFont

    size = 256
    img = Image.new("L", (size, size), 255)
    font = ImageFont.load_default(size=150)
    draw = ImageDraw.Draw(img)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(((size - (right - left)) / 2 - left, (size - (bottom - top)) / 2 - top), text, fill=0, font=font)
    return points_from_density(np.asarray(img, dtype=np.float32) / 255.0, n, rng)


def points_from_density(gray: np.ndarray, n: int, rng) -> np.ndarray:
    """Sample n points in [0.05, 0.95]^2 from a grayscale image (H, W) in [0, 1], dark = mass.

    Row 0 of the image is its top. Raises ValueError when the image holds no dark pixel.
    """
    mass = np.clip(1.0 - np.asarray(gray, dtype=np.float64), 0.0, 1.0)
    total = mass.sum()
    if not np.isfinite(total) or total <= 0:
        raise ValueError("the image is blank: draw or upload something darker than the background")
    h, w = mass.shape
    idx = rng.choice(h * w, size=n, p=(mass / total).ravel())
    rows, cols = np.divmod(idx, w)
    u = (cols + rng.uniform(size=n)) / w
    v = 1.0 - (rows + rng.uniform(size=n)) / h
    scale = 0.9 / max(h, w)
    return np.stack([0.5 + (u - 0.5) * w * scale, 0.5 + (v - 0.5) * h * scale], axis=1)


PRESETS: Dict[str, Callable] = {
    "Gaussian blobs": gaussian_blobs,
    "crescent": crescent,
    "annulus": annulus,
    "two moons": two_moons,
    "uniform square": uniform_square,
    "heart": heart,
    "letters OT": glyph,
}


def sample(name: str, n: int, seed: int) -> np.ndarray:
    """n points of preset ``name`` as float32 (n, 2), reproducible from ``seed``."""
    if name not in PRESETS:
        raise ValueError(f"unknown shape {name!r}; choose one of {sorted(PRESETS)}")
    rng = np.random.default_rng(seed)
    return np.asarray(PRESETS[name](n, rng), dtype=np.float32)
