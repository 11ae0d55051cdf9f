r"""Newton steps on the sparse plan: fast convergence of balanced Sinkhorn at small ε.

At small temperatures (blur below the point spacing) Sinkhorn's fixed-point updates converge slowly:
on a 2D annulus (1,500 points) vs a Gaussian mixture (1,200) at blur .005 they needed ~2,000 updates
to reach a marginal error of 1e-3. The plan is then nearly sparse, and Newton's method on the dual
(Brauer et al. 2017, "A Sinkhorn-Newton method for entropic optimal transport"; Tang et al. 2024)
converges in a few steps.

Balanced dual, with :math:`\pi_{ij} = a_i b_j e^{(f_i + g_j - C_{ij})/\varepsilon}`,
:math:`r = \pi 1`, :math:`c = \pi^\top 1`:

.. math::
    D(f, g) = \langle a, f\rangle + \langle b, g\rangle - \varepsilon\langle 1, \pi\rangle,\qquad
    \nabla D = (a - r,\ b - c),\qquad
    -\varepsilon\,\nabla^2 D = \begin{pmatrix} \mathrm{diag}(r) & \pi \\ \pi^\top & \mathrm{diag}(c)\end{pmatrix}.

The (Levenberg-Marquardt damped) Newton direction solves :math:`-\varepsilon\nabla^2 D\,(\delta f, \delta g) = \varepsilon\,(a - r, b - c)`
by conjugate gradients (Jacobi preconditioner; the system is singular along (1, -1), to which the
right-hand side is orthogonal). π is kept sparse: the entries with slack
:math:`C_{ij} - f_i - g_j \le \tau\varepsilon` (τ = ``NEWTON_TRUNCATE``), found row block by row
block in O(N + M) memory; dropped entries weigh at most :math:`e^{-\tau}` of a row.

Far from the optimum the full step overshoots (|δf|/ε reached 2·10⁴ on that example: the sparse
support graph is nearly disconnected), so the diagonal is scaled by 1 + μ: μ shrinks fourfold after a
step that lowers the marginal error and grows eightfold after one that does not (the step is then
replaced by a plain Sinkhorn update). Measured on the example above (float64): marginal error
0.036 -> 1e-4 in 12 steps (1.1 s), where Sinkhorn took ~1,800 updates (22 s) to reach 1e-3.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch

from .geometry import Potentials
from .softmin import block_logits, block_rows

#: Entries of the plan with slack above NEWTON_TRUNCATE * eps are left out of the Hessian.
NEWTON_TRUNCATE = 25.0
#: Newton steps are built only while the sparse plan has at most this many entries per point.
NEWTON_MAX_DENSITY = 200
#: A Newton step is kept when the marginal error after it is at most NEWTON_SLACK times the one before
#: (the L1 marginal error is not monotone along good steps; a strict decrease stalled on some inputs).
NEWTON_SLACK = 1.25
#: Initial Levenberg-Marquardt damping μ, and its bounds.
NEWTON_DAMPING, DAMPING_MIN, DAMPING_MAX = 1e-3, 1e-8, 1e4


def sparse_plan(x: torch.Tensor, y: torch.Tensor, a_log, b_log, f, g, eps: float, p,
                truncate: float = NEWTON_TRUNCATE) -> Optional[Tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    r"""Entries (rows, cols, values) of :math:`\pi_{ij}` with slack at most ``truncate``·ε, for one
    batch item: x (N, D), y (M, D), a_log, f (N,), b_log, g (M,). None when the plan is too dense."""
    n, m = x.shape[0], y.shape[0]
    rows_per = block_rows(x.device, m)
    y2 = (y * y).sum(-1)
    h = (b_log + g / eps)[None]
    out_r, out_c, out_v, total = [], [], [], 0
    for s in range(0, n, rows_per):
        xb = x[s:s + rows_per]
        logits, _ = block_logits(eps, xb[None], y[None], h, p, y2[None])
        logits = logits[0]
        if not callable(p) and p == 2:
            logits = logits - (xb * xb).sum(-1, keepdim=True) / (2 * eps)
        logits = logits + (a_log[s:s + rows_per] + f[s:s + rows_per] / eps)[:, None]
        # slack <= truncate eps  <=>  log pi_ij >= log a_i + log b_j - truncate
        keep = (logits >= (a_log[s:s + rows_per, None] + b_log[None, :] - truncate)) & torch.isfinite(logits)
        i, j = keep.nonzero(as_tuple=True)
        total += i.numel()
        if total > NEWTON_MAX_DENSITY * (n + m):
            return None
        out_r.append(i + s)
        out_c.append(j)
        out_v.append(logits[i, j].exp())
    return torch.cat(out_r), torch.cat(out_c), torch.cat(out_v)


def newton_direction(rows, cols, vals, a, b, eps: float, n: int, m: int, max_cg: int = 200,
                     cg_tol: float = 1e-4, damping: float = 0.0) -> Tuple[torch.Tensor, torch.Tensor]:
    """(δf, δg) solving the Newton system of the module docstring on the sparse plan, by PCG, with the
    diagonal scaled by 1 + ``damping`` (Levenberg-Marquardt)."""
    r = torch.zeros(n, dtype=vals.dtype, device=vals.device).index_add_(0, rows, vals)
    c = torch.zeros(m, dtype=vals.dtype, device=vals.device).index_add_(0, cols, vals)
    diag_u = (r * (1 + damping)).clamp_min(torch.finfo(r.dtype).tiny)
    diag_v = (c * (1 + damping)).clamp_min(torch.finfo(c.dtype).tiny)

    def apply(u, v):
        return (diag_u * u + torch.zeros_like(u).index_add_(0, rows, vals * v[cols]),
                torch.zeros_like(v).index_add_(0, cols, vals * u[rows]) + diag_v * v)

    res_u, res_v = eps * (a - r), eps * (b - c)
    du, dv = torch.zeros_like(res_u), torch.zeros_like(res_v)
    zu, zv = res_u / diag_u, res_v / diag_v
    pu, pv = zu.clone(), zv.clone()
    rz = (res_u * zu).sum() + (res_v * zv).sum()
    start = (res_u.norm() ** 2 + res_v.norm() ** 2).sqrt()
    for _ in range(max_cg):
        qu, qv = apply(pu, pv)
        alpha = rz / ((pu * qu).sum() + (pv * qv).sum())
        du, dv = du + alpha * pu, dv + alpha * pv
        res_u, res_v = res_u - alpha * qu, res_v - alpha * qv
        if (res_u.norm() ** 2 + res_v.norm() ** 2).sqrt() <= cg_tol * start:
            break
        zu, zv = res_u / diag_u, res_v / diag_v
        rz_new = (res_u * zu).sum() + (res_v * zv).sum()
        pu, pv = zu + (rz_new / rz) * pu, zv + (rz_new / rz) * pv
        rz = rz_new
    return du, dv


def newton_update(level, pot, eps: float, damping):
    """Potentials moved by one (damped) Newton step on each batch item (self-potentials untouched), or
    None when a plan is too dense for a sparse Newton step (large ε: plain Sinkhorn is fast there).
    ``damping``: the Levenberg-Marquardt μ of each batch item (a list of floats)."""
    fs, gs = [], []
    for k in range(level.x.shape[0]):
        x, y = level.x[k].detach(), level.y[k].detach()
        f, g = pot.f[k], pot.g[k]
        plan = sparse_plan(x, y, level.a_log[k].detach(), level.b_log[k].detach(), f, g, eps, level.p)
        if plan is None:
            return None
        du, dv = newton_direction(*plan, level.a[k].detach(), level.b[k].detach(), eps, x.shape[0], y.shape[0],
                                  damping=damping[k])
        fs.append(f + du)
        gs.append(g + dv)
    return Potentials(torch.stack(fs), torch.stack(gs), pot.f_aa, pot.g_bb)
