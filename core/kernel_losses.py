r"""Kernel (MMD) losses and the soft Hausdorff loss.

Kernel norms, with k a positive (conditionally positive for "energy") kernel and σ = blur:

.. math::
    L(\alpha, \beta) = \tfrac12 \langle \alpha - \beta, k \star (\alpha - \beta)\rangle
      = \tfrac12 a^\top K_{xx} a + \tfrac12 b^\top K_{yy} b - a^\top K_{xy} b,

    k_\text{gaussian}(x, y) = e^{-|x - y|^2 / (2\sigma^2)},\quad
    k_\text{laplacian}(x, y) = e^{-|x - y| / \sigma},\quad
    k_\text{energy}(x, y) = -|x - y|.

Soft Hausdorff (ε = blur^p, C the cost of :mod:`otlab.core.costs`):

.. math::
    H_\varepsilon(\alpha, \beta) = \langle \alpha, \mathrm{softmin}_\varepsilon(x, y, \log b)
      - \mathrm{softmin}_\varepsilon(x, x, \log a)\rangle
      + \langle \beta, \mathrm{softmin}_\varepsilon(y, x, \log a) - \mathrm{softmin}_\varepsilon(y, y, \log b)\rangle,

which tends to :math:`\langle\alpha, d(\cdot, \beta)\rangle + \langle\beta, d(\cdot, \alpha)\rangle`
as ε → 0 (each point's cost to the nearest point of the other cloud). Everything here is fully
differentiable in positions and weights. Shapes: (B, N, D), (B, M, D) -> (B,).
"""
from __future__ import annotations

import torch

from .costs import squared_distances

KERNELS = ("gaussian", "laplacian", "energy")


def kernel_matrix(kind: str, x: torch.Tensor, y: torch.Tensor, blur: float) -> torch.Tensor:
    """Dense kernel matrix k(x_i, y_j), (B, N, M)."""
    d2 = squared_distances(x, y)
    if kind == "gaussian":
        return torch.exp(-d2 / (2 * blur ** 2))
    # |x - y| with a zero (not NaN) gradient where points coincide
    dist = torch.where(d2 > 0, d2.clamp_min(torch.finfo(d2.dtype).tiny).sqrt(), torch.zeros_like(d2))
    return torch.exp(-dist / blur) if kind == "laplacian" else -dist


def kernel_loss(kind: str, a, x, b, y, blur: float) -> torch.Tensor:
    """½ aᵀK_xx a + ½ bᵀK_yy b - aᵀK_xy b for the kernel ``kind``, (B,)."""

    def quad(u, p, v, q):
        return (u.unsqueeze(-2) @ kernel_matrix(kind, p, q, blur) @ v.unsqueeze(-1)).reshape(u.shape[0])

    return quad(a, x, a, x) / 2 + quad(b, y, b, y) / 2 - quad(a, x, b, y)


def hausdorff_loss(a, x, b, y, p: int, blur: float, softmin) -> torch.Tensor:
    """Soft Hausdorff loss (module docstring) with a soft-min implementation ``softmin``, (B,)."""
    eps = blur ** p
    a_log, b_log = a.log(), b.log()
    fx = softmin(eps, x, y, b_log, p) - softmin(eps, x, x, a_log, p)
    gy = softmin(eps, y, x, a_log, p) - softmin(eps, y, y, b_log, p)
    return (a * fx).sum(-1) + (b * gy).sum(-1)
