"""Plotting helpers shared by the demos that need no browser: colours from positions and PNG grids.

Pillow only (no matplotlib): the images are what a teacher pastes into slides.
"""
from __future__ import annotations

import io
from typing import List, Optional, Sequence, Tuple

import numpy as np

#: pixels per cell of a snapshot grid, and the margins for the labels
CELL, LABEL_W, HEADER_H = 260, 190, 34


def position_colors(points: np.ndarray, extent: Tuple[float, float, float, float]) -> np.ndarray:
    """(N, 3) uint8 colours that encode a 2D position: u = horizontal, v = vertical in ``extent`` mapped to
    red-ish → green-ish and blue fading with u + v, so that neighbours share a colour and a tear shows."""
    x0, x1, y0, y1 = extent
    u = np.clip((points[:, 0] - x0) / (x1 - x0), 0, 1)
    v = np.clip((points[:, 1] - y0) / (y1 - y0), 0, 1)
    rgb = np.stack([0.15 + 0.8 * u, 0.2 + 0.7 * v, 0.95 - 0.75 * (u + v) / 2], axis=1)
    return (255 * np.clip(rgb, 0, 1)).astype(np.uint8)


def hex_colors(colors: np.ndarray) -> List[str]:
    """uint8 (N, 3) colours as '#rrggbb' strings (what Bokeh's colour columns take)."""
    return ["#%02x%02x%02x" % tuple(c) for c in colors]


def snapshot_grid(rows: Sequence[Tuple[str, Sequence[Tuple[float, Optional[np.ndarray]]]]], target: np.ndarray,
                  colors: np.ndarray, extent, title: str = "") -> bytes:
    """PNG bytes of a grid: one row per (label, [(t, points or None), ...]); the target in light grey
    behind the particles coloured by ``colors``. A None cell says the time was not reached."""
    from PIL import Image, ImageDraw, ImageFont

    n_cols = max(len(cells) for _, cells in rows)
    width, height = LABEL_W + n_cols * CELL, 2 * HEADER_H + len(rows) * CELL
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=17)
    draw.text((10, 8), title, fill="black", font=font)
    x0, x1, y0, y1 = extent

    def to_px(points, col, row):
        px = LABEL_W + col * CELL + 8 + (points[:, 0] - x0) / (x1 - x0) * (CELL - 16)
        py = 2 * HEADER_H + row * CELL + 8 + (y1 - points[:, 1]) / (y1 - y0) * (CELL - 16)
        return px, py

    for col, (t, _) in enumerate(rows[0][1]):
        draw.text((LABEL_W + col * CELL + CELL // 2 - 30, HEADER_H + 6), f"t = {t:g}", fill="black", font=font)
    for row, (label, cells) in enumerate(rows):
        draw.text((10, 2 * HEADER_H + row * CELL + CELL // 2 - 10), label, fill="black", font=font)
        for col, (_, points) in enumerate(cells):
            left, top = LABEL_W + col * CELL, 2 * HEADER_H + row * CELL
            draw.rectangle([left + 2, top + 2, left + CELL - 2, top + CELL - 2], outline="#cccccc")
            if points is None:
                draw.text((left + 60, top + CELL // 2 - 10), "not reached yet", fill="#999999", font=font)
                continue
            for px, py in zip(*to_px(target, col, row)):
                draw.ellipse([px - 2, py - 2, px + 2, py + 2], fill="#d9d9d9")
            for px, py, c in zip(*to_px(points, col, row), colors):
                draw.ellipse([px - 2.5, py - 2.5, px + 2.5, py + 2.5], fill=tuple(int(v) for v in c))
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()
