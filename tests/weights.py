"""Helpers shared by the numerical tests: weights and point spacing."""
import torch


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
