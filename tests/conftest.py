"""Shared test set-up: deterministic seeds, KeOps quiet and cached inside the build tree."""
import os
import pathlib

os.environ.setdefault("KEOPS_VERBOSE", "0")
os.environ.setdefault("KEOPS_CACHE_FOLDER", str(pathlib.Path(__file__).resolve().parents[1] / ".cache" / "keops"))

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
