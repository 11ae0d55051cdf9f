"""Uploaded images as densities: validation and decoding (Pillow), no Panel.

:func:`density_from_upload` accepts PNG, JPEG, GIF, BMP or WebP files of at most ``MAX_BYTES`` and
``MAX_SIDE`` pixels per side, and returns a grayscale array in [0, 1] (dark = mass), downsampled to at
most ``WORK_SIDE`` pixels per side. Anything else raises ``ValueError`` with a message for the user.
"""
from __future__ import annotations

import io

import numpy as np

MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 4096
MIN_SIDE = 8
WORK_SIDE = 256
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")


def density_from_upload(data: bytes, filename: str = "") -> np.ndarray:
    """Decode an uploaded image into a grayscale density (H, W), float32 in [0, 1]."""
    from PIL import Image, UnidentifiedImageError

    label = f"'{filename}'" if filename else "the file"
    if not isinstance(data, (bytes, bytearray)) or len(data) == 0:
        raise ValueError(f"{label} is empty")
    if len(data) > MAX_BYTES:
        raise ValueError(f"{label} is {len(data) / 2**20:.1f} MB; the limit is {MAX_BYTES // 2**20} MB")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in FORMATS:
                raise ValueError(f"{label} is a {img.format} image; use one of {', '.join(FORMATS)}")
            w, h = img.size
            if max(w, h) > MAX_SIDE or min(w, h) < MIN_SIDE:
                raise ValueError(f"{label} is {w}x{h} pixels; sides must be between {MIN_SIDE} and {MAX_SIDE}")
            img.draft("L", (WORK_SIDE, WORK_SIDE))
            gray = img.convert("RGBA")
            white = Image.new("RGBA", gray.size, (255, 255, 255, 255))
            gray = Image.alpha_composite(white, gray).convert("L")  # transparent = background
            gray.thumbnail((WORK_SIDE, WORK_SIDE))
            arr = np.asarray(gray, dtype=np.float32) / 255.0
    except Image.DecompressionBombError as err:  # Pillow refuses to open over 2 × 89 M pixels
        raise ValueError(f"{label} has too many pixels; sides must be between {MIN_SIDE} and {MAX_SIDE}") from err
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(f"{label} is not an image we can read ({type(err).__name__})") from err
    if float((1.0 - arr).sum()) <= 0:
        raise ValueError(f"{label} is blank: the density is its dark pixels")
    return arr
