"""App-wide settings: the compute device and the sizes that suit it."""
from __future__ import annotations

import os

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
