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


def uniform_weights(n, dtype=torch.float64):
    return torch.full((n,), 1.0 / n, dtype=dtype)


def random_weights(n, dtype=torch.float64):
    w = torch.rand(n, dtype=dtype) + 0.5
    return w / w.sum()


def mean_nn_distance(x):
    """Mean distance from a point to its nearest neighbour in the same cloud."""
    d = torch.cdist(x, x)
    d.fill_diagonal_(float("inf"))
    return float(d.min(1).values.mean())
