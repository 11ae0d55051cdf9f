r"""The soft-min operator, the one reduction every Sinkhorn solver is made of.

.. math::
    \operatorname{softmin}_\varepsilon(x, y, h)_i
      = -\varepsilon \log \sum_{j=1}^{M} \exp\big(h_j - C(x_i, y_j)/\varepsilon\big),

with :math:`h_j = \log b_j + g_j/\varepsilon` in the Sinkhorn updates. Shapes: ``x`` (B, N, D),
``y`` (B, M, D), ``h`` (B, M) -> (B, N). Units: same as the cost C.

Two torch implementations live here:

* :func:`softmin_dense` builds the (B, N, M) cost matrix; fully differentiable. For small problems.
* :func:`softmin_online` walks over row blocks and never holds more than ``block_entries`` matrix
  entries, so memory is O(N + M). The Sinkhorn solvers pass ``y`` and ``h`` detached (GeomLoss's
  trick, see :mod:`otlab.core.clouds.geometry`); the gradient in ``x`` is then the closed form

  .. math::
      \nabla_{x_i} \operatorname{softmin} = \sum_j P_{ij}\, \nabla_x C(x_i, y_j), \qquad
      P_{ij} = \exp\big(h_j - C(x_i, y_j)/\varepsilon + f_i/\varepsilon\big),

  i.e. :math:`x_i - \sum_j P_{ij} y_j` for p = 2, gathered during the forward pass.
"""
from __future__ import annotations

from typing import Optional

import torch

from ..costs import cost_matrix

#: Matrix entries materialised at once by a soft-min on a CPU (4 MiB of float32: fastest here, cache-sized).
BLOCK_ENTRIES = 1 << 20
#: The same on a GPU (128 MiB of float32): a block of 2^20 entries is microseconds of work there and its
#: ~10 kernel launches dominated (on an H100, 100,000 points: 12 s of CPU launching 2.9 s of kernels).
GPU_BLOCK_ENTRIES = 1 << 25


def entries_per_block(device) -> int:
    """How many matrix entries a soft-min materialises at once on ``device``."""
    return GPU_BLOCK_ENTRIES if torch.device(device).type == "cuda" else BLOCK_ENTRIES


def block_rows(device, row_entries: int, block_entries: Optional[int] = None) -> int:
    """Rows per block (at least one) when a row holds ``row_entries`` matrix entries: ``block_entries``
    entries a block, by default :func:`entries_per_block` of ``device``."""
    return max(1, (block_entries or entries_per_block(device)) // max(1, row_entries))
#: Shifted logits are clamped here before exp: exp of inputs below about -87 (float32 underflow)
#: runs 50-100x slower on x86 CPUs, and e^-80 ~ 1.8e-35 is nothing next to the largest term, 1.
EXP_FLOOR = -80.0


def shifted_exp_(logits: torch.Tensor):
    """In place: exp(logits - max) along the last axis, floored at exp(EXP_FLOOR); returns (weights, max).

    Terms far below the row's largest (zero weights and padding included, whose logits are -inf)
    count as e^-80 of it: a relative change below 1e-30 per term.
    """
    top = logits.amax(-1, keepdim=True)
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    return logits.sub_(top).clamp_min_(EXP_FLOOR).exp_(), top


def logsumexp(logits: torch.Tensor) -> torch.Tensor:
    """log sum_j exp(logits_j) along the last axis, differentiable, without the slow exp underflow path."""
    top = logits.detach().amax(-1, keepdim=True)
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    return (logits - top).clamp_min(EXP_FLOOR).exp().sum(-1).log() + top.squeeze(-1)


def softmin_dense(eps: float, x: torch.Tensor, y: torch.Tensor, h: torch.Tensor, p: int) -> torch.Tensor:
    """Soft-min with the dense (B, N, M) cost matrix; differentiable in x, y and h."""
    return -eps * logsumexp(h.unsqueeze(-2) - cost_matrix(x, y, p) / eps)


def block_logits(eps: float, xb: torch.Tensor, y: torch.Tensor, h: torch.Tensor, p: int, y2: torch.Tensor):
    """Logits h_j - C(x_i, y_j)/eps for a row block xb (B, R, D), and the distances for p = 1.

    For p = 2 the row term -|x_i|^2/(2 eps) is left out (it leaves the log-sum-exp as a constant);
    the caller adds |x_i|^2/2 back to the soft-min.
    """
    if callable(p):  # a custom cost: its dense block (soft averages only; soft-mins go dense)
        return h.unsqueeze(-2) - cost_matrix(xb, y, p) / eps, None
    yt = y.transpose(-1, -2)
    if p == 2:
        return torch.baddbmm((h - y2 / (2 * eps)).unsqueeze(-2), xb, yt, alpha=1 / eps), None
    # |x - y| from coordinate differences: the expansion's cancellation error would be square-rooted
    dist = torch.cdist(xb, y, compute_mode="donot_use_mm_for_euclid_dist")
    return h.unsqueeze(-2) - dist / eps, dist


def softmin_block(eps: float, xb: torch.Tensor, yb: torch.Tensor, hb: torch.Tensor, p: int, y2b: torch.Tensor,
                  need_grad: bool):
    """Soft-min of row blocks against their own columns, and its gradient in x when asked.

    Shapes: xb (K, R, D) rows, yb (K, C, D) columns, hb and y2b = |y|^2 (K, C), K independent blocks.
    Padded columns carry hb = -inf. Returns f (K, R) and, if ``need_grad``, the gradient
    d f_i / d x_i (K, R, D): x_i - sum_j P_ij y_j for p = 2, sum_j P_ij (x_i - y_j)/|x_i - y_j| for p = 1.
    """
    logits, dist = block_logits(eps, xb, yb, hb, p, y2b)
    weights, top = shifted_exp_(logits)
    total = weights.sum(-1)
    lse = total.log() + top.squeeze(-1)
    f = (xb * xb).sum(-1) / 2 - eps * lse if p == 2 else -eps * lse
    if not need_grad:
        return f, None
    prob = weights.div_(total.unsqueeze(-1))
    if p == 2:
        return f, xb - torch.bmm(prob, yb)
    w = torch.where(dist > 0, prob / dist.clamp_min(torch.finfo(dist.dtype).tiny), torch.zeros_like(prob))
    return f, xb * w.sum(-1, keepdim=True) - torch.bmm(w, yb)


class ClosedFormGradient(torch.autograd.Function):
    """Wrap a soft-min evaluation ``compute(need_grad) -> (f, grad_x)`` as a function of ``x``.

    ``compute`` works on detached tensors and returns the potentials f (B, N) and, when asked, the
    per-point gradients d f_i / d x_i (B, N, D); backward multiplies them by the incoming gradient.
    """

    @staticmethod
    def forward(ctx, x, compute):
        f, grad_x = compute(ctx.needs_input_grad[0])
        if grad_x is not None:
            ctx.save_for_backward(grad_x)
        return f

    @staticmethod
    def backward(ctx, grad_out):
        (grad_x,) = ctx.saved_tensors
        return grad_out.unsqueeze(-1) * grad_x, None


def with_closed_form_gradient(x: torch.Tensor, compute) -> torch.Tensor:
    """Run ``compute`` through :class:`ClosedFormGradient` only when a gradient in ``x`` is wanted."""
    if torch.is_grad_enabled() and x.requires_grad:
        return ClosedFormGradient.apply(x, compute)
    return compute(False)[0]


class _OnlineSoftminFull(torch.autograd.Function):
    """Row-block soft-min differentiable in x, y and h; backward recomputes the blocks.

    With P the soft-min weights and u the incoming gradient: d/dh_j = -eps sum_i u_i P_ij,
    d/dy_j = sum_i u_i P_ij grad_y C(x_i, y_j), d/dx_i = u_i sum_j P_ij grad_x C(x_i, y_j).
    """

    @staticmethod
    def forward(ctx, x, y, h, eps, p, rows):
        ctx.save_for_backward(x, y, h)
        ctx.eps, ctx.p, ctx.rows = eps, p, rows
        return _online_forward(eps, x, y, h, p, rows)[0]

    @staticmethod
    def backward(ctx, grad_out):
        x, y, h = ctx.saved_tensors
        eps, p, rows = ctx.eps, ctx.p, ctx.rows
        y2 = (y * y).sum(-1)
        gx, gy, gh = torch.zeros_like(x), torch.zeros_like(y), torch.zeros_like(h)
        for s in range(0, x.shape[1], rows):
            xb, u = x[:, s:s + rows], grad_out[:, s:s + rows].unsqueeze(-1)
            logits, dist = block_logits(eps, xb, y, h, p, y2)
            weights, _ = shifted_exp_(logits)
            prob = weights.div_(weights.sum(-1, keepdim=True))
            gh -= eps * (u * prob).sum(1)
            if p == 2:
                w = u * prob  # grad_x C = x - y
            else:
                w = u * torch.where(dist > 0, prob / dist.clamp_min(torch.finfo(dist.dtype).tiny),
                                    torch.zeros_like(prob))
            gx[:, s:s + rows] = xb * w.sum(-1, keepdim=True) - torch.bmm(w, y)
            gy += y * w.sum(1).unsqueeze(-1) - torch.bmm(w.transpose(1, 2), xb)
        return gx, gy, gh, None, None, None


def _online_forward(eps, x, y, h, p, rows, need_grad=False):
    """Soft-min (B, N) and, if ``need_grad``, its x-gradient (B, N, D), block by block.

    The outputs are preallocated: collecting thousands of small per-block results between the large
    block temporaries fragments the heap (RSS reached 14 GB at N = M = 100k before this).
    """
    y2 = (y * y).sum(-1)
    f = x.new_empty(x.shape[:2])
    grad = x.new_empty(x.shape) if need_grad else None
    for s in range(0, x.shape[1], rows):
        fb, gb = softmin_block(eps, x[:, s:s + rows], y, h, p, y2, need_grad)
        f[:, s:s + rows] = fb
        if need_grad:
            grad[:, s:s + rows] = gb
    return f, grad


def softmin_online(eps: float, x: torch.Tensor, y: torch.Tensor, h: torch.Tensor, p: int,
                   block_entries: Optional[int] = None) -> torch.Tensor:
    """Soft-min in O(N + M) memory, differentiable in x, y and h.

    When only x needs a gradient (the Sinkhorn solvers' case) the gradient is gathered during the
    forward pass; otherwise the backward pass walks over the blocks again. A custom (callable) cost
    has no closed-form gradient here: it runs on the dense soft-min.
    """
    if callable(p):
        return softmin_dense(eps, x, y, h, p)
    rows = block_rows(x.device, x.shape[0] * y.shape[1], block_entries)
    if torch.is_grad_enabled() and (y.requires_grad or h.requires_grad):
        return _OnlineSoftminFull.apply(x, y, h, eps, p, rows)
    return with_closed_form_gradient(x, lambda need_grad: _online_forward(eps, x.detach(), y, h, p, rows, need_grad))


def soft_average(eps: float, x: torch.Tensor, y: torch.Tensor, h: torch.Tensor, p: int, values: torch.Tensor,
                 block_entries: Optional[int] = None) -> torch.Tensor:
    r"""Row averages :math:`\sum_j P_{ij} v_j` under the soft-min weights, in O(N + M) memory.

    :math:`P_{ij} = \exp(h_j - C(x_i, y_j)/\varepsilon) / \sum_k \exp(h_k - C(x_i, y_k)/\varepsilon)`.
    Shapes: x (B, N, D), y (B, M, D), h (B, M), values (B, M, K) -> (B, N, K). With values = y and
    p = 2 this is the barycentric projection (the entropic Brenier map). No gradient.
    """
    B, N, _ = x.shape
    rows = block_rows(x.device, B * y.shape[1], block_entries)
    y2 = (y * y).sum(-1)
    out = values.new_empty(B, N, values.shape[-1])  # preallocated: see _online_forward
    with torch.no_grad():
        for s in range(0, N, rows):
            logits, _ = block_logits(eps, x[:, s:s + rows], y, h, p, y2)
            weights, _ = shifted_exp_(logits)
            out[:, s:s + rows] = torch.bmm(weights.div_(weights.sum(-1, keepdim=True)), values)
    return out


__all__ = ["softmin_dense", "softmin_online", "softmin_block", "block_logits", "soft_average",
           "with_closed_form_gradient", "BLOCK_ENTRIES", "entries_per_block", "block_rows"]
