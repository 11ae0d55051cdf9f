r"""Exact optimal transport on the line, by sorting.

In 1D, for any cost C(x, y) = h(x - y) with h convex — here |x - y| (p = 1) or |x - y|^2 / 2 (p = 2) —
the monotone (sorted) coupling is optimal. With F_α, F_β the cumulative distribution functions and
F^{-1} their quantile functions,

.. math::
    \mathrm{OT}(\alpha, \beta) = \int_0^{m} C\big(F_\alpha^{-1}(t), F_\beta^{-1}(t)\big)\,dt ,

m the common total mass. Both quantile functions are piecewise constant, with breakpoints at the
cumulative weights of the sorted points: on each interval between consecutive breakpoints of the
merged list, the plan moves the interval's length of mass from one point of x to one point of y.
Cost O((N + M) log(N + M)); the plan has at most N + M - 1 non-zero entries.
"""
from __future__ import annotations

from typing import Tuple

import torch

from .. import checks
from ..costs import joint_diameter


def _line(name: str, x) -> torch.Tensor:
    """Points on the line as (N, 1): accepts (N,) or (N, 1)."""
    if isinstance(x, torch.Tensor) and x.dim() == 1:
        x = x.unsqueeze(-1)
    elif not isinstance(x, torch.Tensor):
        x = torch.as_tensor(x)
        x = x.unsqueeze(-1) if x.dim() == 1 else x
    if x.dim() != 2 or x.shape[-1] != 1:
        raise ValueError(f"{name} must hold points on the line, shape (N,) or (N, 1); got {tuple(x.shape)}")
    return x


def solve_1d(x, y, a=None, b=None, *, p: int = 2) -> Tuple[torch.Tensor, torch.Tensor]:
    r"""Exact OT between weighted points on the line: ``(value, plan)``.

    Args:
        x, y: points (N,) or (N, 1), and (M,) or (M, 1); any N, M.
        a, b: non-negative weights (N,), (M,) with equal positive totals (uniform when None).
        p: 1 for C = |x - y|, 2 for C = |x - y|^2 / 2 (otlab's conventions).

    Returns:
        value: 0-dim tensor, :math:`\sum_k m_k\, C(x_{i_k}, y_{j_k})`, differentiable in x and y
            (the weights enter through the detached interval lengths m_k).
        plan: (K, 3) float64 tensor of triplets (i, j, mass), K ≤ N + M - 1, indices into the given
            (unsorted) x and y; the masses sum to the total mass.
    """
    x, y = checks.point_pair(_line("x", x), _line("y", y))
    a = checks.as_weights("a", a, x, "x")
    b = checks.as_weights("b", b, y, "y")
    p = checks.exponent(p)
    checks.costs_fit_dtype("x and y", joint_diameter(x, y), p, x.dtype)
    ma, mb = float(a.detach().sum()), float(b.detach().sum())
    if abs(ma - mb) > 1e-6 * max(ma, mb):
        raise ValueError(f"a and b must have the same total mass for balanced OT, got {ma:.6g} and {mb:.6g}")
    ix = torch.argsort(x[:, 0].detach(), stable=True)
    iy = torch.argsort(y[:, 0].detach(), stable=True)
    ca = torch.cumsum(a.detach()[ix].double(), 0)
    cb = torch.cumsum(b.detach()[iy].double(), 0) * (ma / mb)
    ca[-1] = cb[-1] = ma  # both CDFs end exactly at the total mass
    levels = torch.unique(torch.cat([ca, cb]).clamp_max(ma))  # sorted breakpoints of both quantile functions
    lo = torch.cat([levels.new_zeros(1), levels[:-1]])
    # breakpoints closer than rounding (cumulative sums of the two clouds meeting) are one breakpoint
    keep = levels - lo > 8 * torch.finfo(torch.float64).eps * ma
    hi = levels[keep]
    lo = torch.cat([hi.new_zeros(1), hi[:-1]])
    mid = (lo + hi) / 2
    i = ix[torch.searchsorted(ca, mid).clamp_max(len(ca) - 1)]
    j = iy[torch.searchsorted(cb, mid).clamp_max(len(cb) - 1)]
    mass = (hi - lo).to(x.dtype)
    d = x[i, 0] - y[j, 0]
    cost = d.abs() if p == 1 else d * d / 2
    value = (mass * cost).sum()
    plan = torch.stack([i.double(), j.double(), (hi - lo)], dim=1)
    return value, plan

