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


#: white -> deep blue: mass drawn as ink, readable on a projector and on paper
INK = np.array([[255, 255, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]], np.float64)


def density_rgb(image: np.ndarray) -> np.ndarray:
    """An image (n_x, n_y) in [0, 1] (axis 0 = x, axis 1 = y, as on the grids) as (n_y, n_x, 3) uint8
    RGB rows top to bottom, coloured with :data:`INK`."""
    return ink_rgb(np.asarray(image).T[::-1])


def ink_rgb(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] (any shape) as RGB uint8 (shape + (3,)) on the :data:`INK` ramp (white → dark blue)."""
    t = np.clip(np.asarray(values, dtype=np.float64), 0, 1) * (len(INK) - 1)
    low = np.minimum(t.astype(int), len(INK) - 2)
    frac = (t - low)[..., None]
    return ((1 - frac) * INK[low] + frac * INK[low + 1]).round().astype(np.uint8)


def interpolation_grid_png(rows: Sequence[Sequence[np.ndarray]], title: str, triangle: bool = False,
                           points: bool = False) -> bytes:
    """PNG bytes of a grid of barycenters, a row per entry of ``rows`` (top first). A cell is an image
    (n_x, n_y) in [0, 1], or with ``points`` a point cloud (n, 2) in the unit square. ``triangle``: row r holds r + 1
    cells, centred, so that the rows draw the weight triangle (apex on top)."""
    from PIL import Image, ImageDraw, ImageFont

    side = max(len(row) for row in rows)
    cell = CELL // 2 + 20
    img = Image.new("RGB", (side * cell + 20, len(rows) * cell + HEADER_H + 10), "white")
    draw = ImageDraw.Draw(img)
    draw.text((10, 8), title, fill="black", font=ImageFont.load_default(size=15))
    for r, row in enumerate(rows):
        left0 = 10 + ((side - len(row)) * cell) // 2 if triangle else 10
        for j, content in enumerate(row):
            left, top = left0 + j * cell, HEADER_H + r * cell
            box = (left + 4, top + 4, left + cell - 4, top + cell - 4)
            if points:
                draw.rectangle(box, outline="#cccccc")
                size = cell - 8
                for x, y in content:
                    px, py = box[0] + x * size, box[1] + (1 - y) * size
                    draw.ellipse([px - 1.5, py - 1.5, px + 1.5, py + 1.5], fill=tuple(int(c) for c in INK[-1]))
            else:
                tile = Image.fromarray(density_rgb(content)).resize((cell - 8, cell - 8), Image.BILINEAR)
                img.paste(tile, box[:2])
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()
