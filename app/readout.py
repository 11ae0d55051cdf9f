"""The readout box beside a demo's plots: one HTML wrapper, so that every demo's numbers look alike and
the browser tests and benchmarks find them by one class (``otlab-readout-text``)."""
from __future__ import annotations

from typing import Iterable

#: font size (px) of the readouts: readable from the back of a classroom
FONT_PX = 16


def readout_html(rows: Iterable[str], extra_class: str = "", line_height: float = 1.55) -> str:
    """The readout: each row (HTML) on its own line, in ``div.otlab-readout-text`` (plus ``extra_class``)."""
    classes = f"otlab-readout-text {extra_class}".strip()
    body = "".join(f"<div>{row}</div>" for row in rows)
    return (f"<div class='{classes}' style='font-size:{FONT_PX}px;line-height:{line_height};padding:4px 8px'>"
            f"{body}</div>")
