"""App-wide settings: the compute device and the sizes that suit it."""
from __future__ import annotations

import os
import sys
from pathlib import Path

#: environment variable read by every new session: "cpu", "cuda" or "auto"
DEVICE_ENV = "OTLAB_DEVICE"


def default_device() -> str:
    """The device for new demo sessions: $OTLAB_DEVICE, where "auto" (the default) picks CUDA if present."""
    choice = os.environ.get(DEVICE_ENV, "auto")
    if choice not in ("cpu", "cuda", "auto"):
        raise ValueError(f"{DEVICE_ENV} must be cpu, cuda or auto, got {choice!r}")
    if choice == "auto":
        import torch
        return "cuda" if torch.cuda.is_available() else "cpu"
    return choice


def cloud_size(device: str) -> int:
    """Default points per cloud: CPU-safe (a browser redraws 400 points at 30+ fps), larger on a GPU."""
    return 3000 if device == "cuda" else 400


def surface_points(device: str) -> int:
    """Default points per surface of the 3D shapes demo, sized for a new pair of shapes solved in 1–2 s:
    5,000 on a CPU (1.1–1.3 s on 2 threads), 100,000 on a GPU (1.6 s on an H100 without pyKeOps:
    docs/benchmarks.md, bench_gpu_frames.py). Only t travels per frame, so the size costs the browser's
    drawing, not the network."""
    return 100_000 if device == "cuda" else 5000


def assets_dir() -> Path:
    """assets/ of a checkout (editable install), else the copy a wheel installs under share/otlab."""
    checkout = Path(__file__).resolve().parent.parent / "assets"
    return checkout if checkout.is_dir() else Path(sys.prefix) / "share" / "otlab" / "assets"


def grid_side(device: str) -> int:
    """Default pixels per side of the grid demos: 64 keeps a live barycenter at ~7 new pictures/s while
    dragging on 2 CPU cores, settling 0.3–0.8 s after a click (docs/benchmarks.md); 128 on a GPU."""
    return 128 if device == "cuda" else 64
