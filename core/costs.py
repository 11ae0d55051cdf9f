r"""Ground costs between point clouds.

Conventions (the ones GeomLoss uses):

.. math::
    p = 1:\quad C(x, y) = |x - y|, \qquad p = 2:\quad C(x, y) = \tfrac12 |x - y|^2 .

A custom cost (GeomLoss's ``cost=`` for its dense backend) is a callable ``cost(x, y)`` returning
the (B, N, M) matrix; it runs on the dense soft-min only, and ``p`` then only sets the temperatures
ε = blur^p.

Shapes: ``x`` is (B, N, D), ``y`` is (B, M, D); cost matrices are (B, N, M).
"""
from __future__ import annotations

import torch


def squared_distances(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""Dense matrix :math:`|x_i - y_j|^2`, (B, N, M), via :math:`|x|^2 + |y|^2 - 2\langle x, y\rangle`."""
    x2 = (x * x).sum(-1, keepdim=True)
    y2 = (y * y).sum(-1).unsqueeze(-2)
    return torch.baddbmm(x2 + y2, x, y.transpose(-1, -2), alpha=-2).clamp_min(0)


def cost_matrix(x: torch.Tensor, y: torch.Tensor, p) -> torch.Tensor:
    r"""Dense cost matrix :math:`C(x_i, y_j)` for p in {1, 2} or a callable cost, (B, N, M), differentiable.

    For p = 1 the distance is computed from coordinate differences so that its gradient
    :math:`(x - y)/|x - y|` is exact, and set to zero where two points coincide.
    """
    if callable(p):
        return custom_cost_matrix(p, x, y)
    if p == 2:
        return squared_distances(x, y) / 2
    diff = x.unsqueeze(-2) - y.unsqueeze(-3)
    d2 = (diff * diff).sum(-1)
    positive = d2 > 0
    return torch.where(positive, d2.clamp_min(torch.finfo(d2.dtype).tiny).sqrt(), torch.zeros_like(d2))


def custom_cost_matrix(cost, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``cost(x, y)`` checked: a (B, N, M) tensor of finite numbers, else a ValueError naming ``cost``."""
    c = cost(x, y)
    shape = (x.shape[0], x.shape[1], y.shape[1])
    if not isinstance(c, torch.Tensor) or tuple(c.shape) != shape:
        got = tuple(c.shape) if isinstance(c, torch.Tensor) else type(c).__name__
        raise ValueError(f"cost(x, y) must return a tensor of shape (B, N, M) = {shape} for x {tuple(x.shape)} "
                         f"and y {tuple(y.shape)}, got {got}")
    if not bool(torch.isfinite(c.detach()).all()):
        raise ValueError("cost(x, y) returned NaN or infinite values")
    return c


def cost_from_squared(d2: torch.Tensor, p: int) -> torch.Tensor:
    """Cost from squared distances (no gradient needed): d2/2 for p = 2, sqrt(d2) for p = 1."""
    return d2 / 2 if p == 2 else d2.sqrt()


def joint_diameter(x: torch.Tensor, y: torch.Tensor) -> float:
    """Diagonal of the bounding box of both clouds (all batch items together), as a float."""
    pts = torch.cat([x.detach().reshape(-1, x.shape[-1]), y.detach().reshape(-1, y.shape[-1])])
    return float((pts.max(0).values.double() - pts.min(0).values.double()).norm())  # float64: no overflow


def centred(x: torch.Tensor, y: torch.Tensor):
    """x - c, y - c and c (B, 1, D), c the centre of the bounding box of each batch item's two clouds
    (detached): costs are translation invariant, and centring keeps the |x|^2 of the soft-min and kernel
    expansions small (1e30 in float32 squared is inf)."""
    with torch.no_grad():
        both = torch.cat([x, y], dim=1)
        c = (both.amax(dim=1, keepdim=True) + both.amin(dim=1, keepdim=True)) / 2
    return x - c, y - c, c
