r"""Kernel (MMD) losses and the soft Hausdorff loss, in O(N + M) memory.

Kernel norms, with k a positive (conditionally positive for "energy") kernel and σ = blur:

.. math::
    L(\alpha, \beta) = \tfrac12 \langle \alpha - \beta, k \star (\alpha - \beta)\rangle
      = \tfrac12 a^\top K_{xx} a + \tfrac12 b^\top K_{yy} b - a^\top K_{xy} b,

    k_\text{gaussian}(x, y) = e^{-|x - y|^2 / (2\sigma^2)},\quad
    k_\text{laplacian}(x, y) = e^{-|x - y| / \sigma},\quad
    k_\text{energy}(x, y) = -|x - y|.

Their "potentials" (GeomLoss's ``potentials=True``) are the derivatives of L in the weights,
:math:`F = K_{xx} a - K_{xy} b` on x and :math:`G = K_{yy} b - K_{yx} a` on y.

Every product :math:`K v` is computed on row blocks of at most ``entries_per_block(device)`` kernel entries and
never stored: memory is O(N + M), and the backward pass walks over the blocks again with the closed
form :math:`\nabla_{x_i} k(x_i, y_j) = w(|x_i - y_j|)\,(x_i - y_j)`, :math:`w(d) = k'(d)/d`.
Distances for "laplacian" and "energy" come from coordinate differences (not the
:math:`|x|^2 + |y|^2 - 2x\cdot y` expansion, whose cancellation error is square-rooted: a point's
distance to itself would come out ~1e-8 instead of 0).

Soft Hausdorff (ε = blur^p, C the cost of :mod:`otlab.core.costs`):

.. math::
    H_\varepsilon(\alpha, \beta) = \langle \alpha, \mathrm{softmin}_\varepsilon(x, y, \log b)
      - \mathrm{softmin}_\varepsilon(x, x, \log a)\rangle
      + \langle \beta, \mathrm{softmin}_\varepsilon(y, x, \log a) - \mathrm{softmin}_\varepsilon(y, y, \log b)\rangle,

which tends to :math:`\langle\alpha, d(\cdot, \beta)\rangle + \langle\beta, d(\cdot, \alpha)\rangle`
as ε → 0 (each point's cost to the nearest point of the other cloud). Everything here is
differentiable (once) in positions and weights. Shapes: (B, N, D), (B, M, D) -> (B,).
"""
from __future__ import annotations

import torch

from .softmin import block_rows

KERNELS = ("gaussian", "laplacian", "energy")


def _kernel_block(kind: str, xb: torch.Tensor, y: torch.Tensor, blur: float, with_slope: bool):
    """Kernel block k(x_i, y_j), (B, R, M), and, if ``with_slope``, w = k'(d)/d (0 where d = 0)."""
    if kind == "gaussian":
        x2 = (xb * xb).sum(-1, keepdim=True)
        y2 = (y * y).sum(-1).unsqueeze(-2)
        d2 = torch.baddbmm(x2 + y2, xb, y.transpose(-1, -2), alpha=-2).clamp_min_(0)
        k = d2.div_(-2 * blur ** 2).exp_()
        return k, (-k / blur ** 2 if with_slope else None)
    d = torch.cdist(xb, y, compute_mode="donot_use_mm_for_euclid_dist")
    k = torch.exp(-d / blur) if kind == "laplacian" else -d
    if not with_slope:
        return k, None
    slope = -k / blur if kind == "laplacian" else -torch.ones_like(d)  # k'(d)
    return k, torch.where(d > 0, slope / d.clamp_min(torch.finfo(d.dtype).tiny), torch.zeros_like(d))


def _rows(x: torch.Tensor, y: torch.Tensor) -> int:
    return block_rows(x.device, x.shape[0] * y.shape[1])


class KernelProduct(torch.autograd.Function):
    r""":math:`(K v)_i = \sum_j k(x_i, y_j) v_j`, (B, N), block by block; differentiable in x, y and v.

    With u the incoming gradient: d/dv_j = sum_i u_i k_ij, d/dx_i = u_i sum_j v_j w_ij (x_i - y_j),
    d/dy_j = -v_j sum_i u_i w_ij (x_i - y_j).
    """

    @staticmethod
    def forward(ctx, x, y, v, kind, blur):
        ctx.save_for_backward(x, y, v)
        ctx.kind, ctx.blur = kind, blur
        out = x.new_empty(x.shape[:2])
        rows = _rows(x, y)
        for s in range(0, x.shape[1], rows):
            k, _ = _kernel_block(kind, x[:, s:s + rows], y, blur, False)
            out[:, s:s + rows] = torch.bmm(k, v.unsqueeze(-1)).squeeze(-1)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, y, v = ctx.saved_tensors
        need_x, need_y, need_v = ctx.needs_input_grad[:3]
        gx = torch.zeros_like(x) if need_x else None
        gy = torch.zeros_like(y) if need_y else None
        gv = torch.zeros_like(v) if need_v else None
        rows = _rows(x, y)
        for s in range(0, x.shape[1], rows):
            xb, u = x[:, s:s + rows], grad_out[:, s:s + rows]
            k, w = _kernel_block(ctx.kind, xb, y, ctx.blur, need_x or need_y)
            if need_v:
                gv += torch.bmm(u.unsqueeze(-2), k).squeeze(-2)
            if need_x or need_y:
                uwv = w.mul_(u.unsqueeze(-1) * v.unsqueeze(-2))  # u_i w_ij v_j
                if need_x:
                    gx[:, s:s + rows] = xb * uwv.sum(-1, keepdim=True) - torch.bmm(uwv, y)
                if need_y:
                    gy += y * uwv.sum(1).unsqueeze(-1) - torch.bmm(uwv.transpose(1, 2), xb)
        return gx, gy, gv, None, None


def kernel_product(kind: str, x: torch.Tensor, y: torch.Tensor, v: torch.Tensor, blur: float) -> torch.Tensor:
    """(K_xy v)_i for the kernel ``kind``: x (B, N, D), y (B, M, D), v (B, M) -> (B, N), O(N + M) memory."""
    return KernelProduct.apply(x, y, v, kind, blur)


def kernel_loss(kind: str, a, x, b, y, blur: float) -> torch.Tensor:
    """½ aᵀK_xx a + ½ bᵀK_yy b - aᵀK_xy b for the kernel ``kind``, (B,)."""
    return ((a * kernel_product(kind, x, x, a, blur)).sum(-1) / 2
            + (b * kernel_product(kind, y, y, b, blur)).sum(-1) / 2
            - (a * kernel_product(kind, x, y, b, blur)).sum(-1))


def kernel_potentials(kind: str, a, x, b, y, blur: float):
    """GeomLoss's kernel "potentials", the weight-derivatives of the loss: (K_xx a - K_xy b, K_yy b - K_yx a)."""
    return (kernel_product(kind, x, x, a, blur) - kernel_product(kind, x, y, b, blur),
            kernel_product(kind, y, y, b, blur) - kernel_product(kind, y, x, a, blur))


def hausdorff_loss(a, x, b, y, p, blur: float, softmin, eps: float = None) -> torch.Tensor:
    """Soft Hausdorff loss (module docstring) with a soft-min implementation ``softmin``, (B,).

    ``p`` is the cost (1, 2 or a callable, see :mod:`otlab.core.costs`); ε = blur^p unless given."""
    eps = blur ** p if eps is None else eps
    a_log, b_log = a.log(), b.log()
    fx = softmin(eps, x, y, b_log, p) - softmin(eps, x, x, a_log, p)
    gy = softmin(eps, y, x, a_log, p) - softmin(eps, y, y, b_log, p)
    return (a * fx).sum(-1) + (b * gy).sum(-1)
