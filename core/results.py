r"""What :func:`otlab.core.solve` returns: the value, the potentials and what derives from them.

With the non-debiased potentials f (on x) and g (on y) at temperature ε:

* the potentials extend to any point z by the soft-min formula
  :math:`F(z) = \lambda\,\mathrm{softmin}_\varepsilon(z, y, \log b + g/\varepsilon)`
  (and G likewise), λ = 1/(1 + ε/ρ) (1 when balanced);
* the plan is :math:`\pi_{ij} = a_i b_j \exp((f_i + g_j - C(x_i, y_j))/\varepsilon)`;
* for p = 2 the (entropic) Brenier map is the barycentric projection
  :math:`T(z) = \sum_j P_j(z)\, y_j = z - \nabla_z\,\mathrm{softmin}_\varepsilon(z, y, \log b + g/\varepsilon)`;
  with debiasing the self-term's projection is removed,
  :math:`T(z) = z + \sum_j P_j(z) y_j - \sum_i P^{aa}_i(z) x_i`, which is
  :math:`z - \nabla F_{ab}(z) + \nabla F_{aa}(z)`, i.e. :math:`x_i - \nabla_{x_i} S / a_i` on the samples.
"""
from __future__ import annotations

from typing import Optional

import torch

from . import checks
from .costs import cost_matrix
from .schedule import dampening
from .sinkhorn import marginal_violation
from .softmin import soft_average, softmin_online

#: plan() refuses to build a dense matrix with more entries than this (400 MB of float32).
PLAN_MAX_ENTRIES = 100_000_000


class OTResult:
    """Result of :func:`otlab.core.solve`.

    Attributes:
        value: S_ε (debias=True) or OT_ε, a scalar tensor (or (B,) for batched inputs), differentiable
            with respect to the points and weights given to ``solve``.
        f, g: potentials of OT_ε(α, β) on x (N,) and y (M,) (or (B, N), (B, M)).
        f_aa, g_bb: potentials of the self-problems OT_ε(α, α), OT_ε(β, β) (None without debias).
        eps, blur: final temperature ε and blur σ = ε^(1/p).
        n_iter: number of Sinkhorn updates, the closing one included.
        backend: the backend that ran ("tensorized", "online", "multiscale" or "keops").
    """

    def __init__(self, state, problem):
        self._state, self._problem = state, problem
        self._level = state.level
        pot = state.potentials
        self.value = self._unbatch(state.value)
        self.f, self.g = self._unbatch(pot.f), self._unbatch(pot.g)
        self.f_aa = None if pot.f_aa is None else self._unbatch(pot.f_aa)
        self.g_bb = None if pot.g_bb is None else self._unbatch(pot.g_bb)
        self.eps, self.blur = state.eps, state.blur
        self.n_iter = state.step + 1
        self.backend = problem.backend
        self.p, self.rho, self.debias = problem.p, problem.rho, problem.debias
        self._marginal_error = None

    def _unbatch(self, t):
        return t if self._problem.batched else t[0]

    def __repr__(self):
        v = self.value.detach()
        shown = f"{v.item():.6g}" if v.dim() == 0 else f"tensor of shape {tuple(v.shape)}"
        return (f"OTResult(value={shown}, eps={self.eps:.4g}, blur={self.blur:.4g}, n_iter={self.n_iter}, "
                f"backend={self.backend!r})")

    @property
    def marginal_error(self):
        r"""L1 error of the plan's marginals, :math:`\|\pi 1 - a\|_1 + \|\pi^\top 1 - b\|_1` (unbalanced:
        against :math:`a e^{-f/\rho}`, :math:`b e^{-g/\rho}`, the optimality conditions), for the returned
        potentials. A float, or a (B,) tensor for batched inputs. Computed on first access (two soft-mins)."""
        if self._marginal_error is None:
            lvl, pot, eps, rho = self._level, self._state.potentials, self.eps, self.rho
            with torch.no_grad():
                f, g = pot.f.detach(), pot.g.detach()
                s_f = lvl.xy(eps, lvl.b_log.detach() + g / eps)
                s_g = lvl.yx(eps, lvl.a_log.detach() + f / eps)
                err = (marginal_violation(lvl.a.detach(), f, s_f, eps, rho)
                       + marginal_violation(lvl.b.detach(), g, s_g, eps, rho))
            self._marginal_error = err if self._problem.batched else float(err[0])
        return self._marginal_error

    # -- evaluation at arbitrary points -------------------------------------------------------------
    def _points(self, points, name="points"):
        z = checks.as_points(name, points)
        ref = self._problem.x
        if z.dim() == 2:
            if self._problem.batched:
                raise ValueError(f"{name} must be batched (B, N, D) like the inputs, got {tuple(z.shape)}")
            z = z.unsqueeze(0)
        elif not self._problem.batched:
            raise ValueError(f"{name} must have shape (N, D) like the inputs, got {tuple(z.shape)}")
        if z.shape[-1] != ref.shape[-1]:
            raise ValueError(f"{name} must be {ref.shape[-1]}-dimensional like the inputs, got D = {z.shape[-1]}")
        if z.shape[0] != ref.shape[0]:
            raise ValueError(f"{name} has batch size {z.shape[0]}, the problem has {ref.shape[0]}")
        checks.check_same_kind(name, z, "x", ref)
        return z - self._problem.center

    def _extend(self, z, support, log_w, potential):
        """λ softmin_ε(z, support, log_w + potential/ε): a potential extended to the points z."""
        eps = self.eps
        return dampening(eps, self.rho) * softmin_online(eps, z, support.detach(),
                                                         (log_w + potential / eps).detach(), self.p)

    def potential_f(self, points, debiased: bool = False) -> torch.Tensor:
        """F(z) for points z (N_z, D) (or (B, N_z, D)) -> (N_z,): the OT_ε potential on the x side,
        extended by the soft-min formula. ``debiased=True`` returns F_ab - F_aa. Differentiable in z."""
        pr = self._problem
        z = self._points(points)
        out = self._extend(z, pr.y, pr.b.log(), self._state.potentials.g)
        if debiased:
            out = out - self._extend(z, pr.x, pr.a.log(), self._self_potential("f_aa"))
        return self._unbatch(out)

    def potential_g(self, points, debiased: bool = False) -> torch.Tensor:
        """G(z) for points z: the potential on the y side, extended (see :meth:`potential_f`)."""
        pr = self._problem
        z = self._points(points)
        out = self._extend(z, pr.x, pr.a.log(), self._state.potentials.f)
        if debiased:
            out = out - self._extend(z, pr.y, pr.b.log(), self._self_potential("g_bb"))
        return self._unbatch(out)

    def _self_potential(self, name):
        t = getattr(self._state.potentials, name)
        if t is None:
            raise ValueError("debiased potentials need solve(..., debias=True)")
        return t

    def brenier_map(self, points=None) -> torch.Tensor:
        """T(z) for p = 2, (N, D): the entropic Brenier map (debiased when ``debias``), at the samples x
        by default or at any points z. See the module docstring for the formula."""
        if self.p != 2:
            raise ValueError("brenier_map needs the quadratic cost p=2 (for p=1 there is no unique map)")
        pr = self._problem
        z = (pr.x if points is None else self._points(points)).detach()
        eps = self.eps
        pot = self._state.potentials
        with torch.no_grad():
            t = soft_average(eps, z, pr.y.detach(), (pr.b.log() + pot.g / eps).detach(), 2, pr.y.detach())
            if self.debias:
                t = t + z - soft_average(eps, z, pr.x.detach(), (pr.a.log() + pot.f_aa / eps).detach(), 2,
                                         pr.x.detach())
        return self._unbatch(t + pr.center)

    # -- the transport plan --------------------------------------------------------------------------
    def _row_masses(self):
        """Row masses of the plan, (B, N): a_i exp((f_i - s_i)/ε), with s the undamped soft-min."""
        pr, eps = self._problem, self.eps
        pot = self._state.potentials
        s = softmin_online(eps, pr.x.detach(), pr.y.detach(), (pr.b.log() + pot.g / eps).detach(), self.p)
        return pr.a.detach() * torch.exp((pot.f.detach() - s) / eps)

    def plan(self, max_entries: int = PLAN_MAX_ENTRIES) -> torch.Tensor:
        r"""Dense plan :math:`\pi_{ij} = a_i b_j e^{(f_i + g_j - C_{ij})/\varepsilon}`, (N, M) (or (B, N, M)).

        Refuses (ValueError) above ``max_entries`` entries: use :meth:`plan_apply` (π v in O(N + M)
        memory) or :meth:`brenier_map` instead.
        """
        pr = self._problem
        n, m = pr.x.shape[1], pr.y.shape[1]
        if pr.x.shape[0] * n * m > max_entries:
            raise ValueError(f"the dense plan would have {pr.x.shape[0] * n * m:,} entries (> max_entries="
                             f"{max_entries:,}); use plan_apply(v) to multiply by the plan lazily, or "
                             "brenier_map() for the barycentric map")
        with torch.no_grad():
            pot = self._state.potentials
            c = cost_matrix(pr.x.detach(), pr.y.detach(), self.p)
            logp = (pot.f.detach().unsqueeze(-1) + pot.g.detach().unsqueeze(-2) - c) / self.eps
            plan = pr.a.detach().unsqueeze(-1) * pr.b.detach().unsqueeze(-2) * logp.exp()
        return self._unbatch(plan)

    def plan_apply(self, values) -> torch.Tensor:
        r""":math:`(\pi v)_i = \sum_j \pi_{ij} v_j` for values (M,) or (M, K) (batched: (B, M[, K])),
        without building the plan: O(N + M) memory."""
        pr, eps = self._problem, self.eps
        v = torch.as_tensor(values, dtype=pr.y.dtype, device=pr.y.device)
        vector = v.dim() == (2 if pr.batched else 1)
        if not pr.batched:
            v = v.unsqueeze(0)
        if vector:
            v = v.unsqueeze(-1)
        if v.dim() != 3 or v.shape[:2] != pr.y.shape[:2]:
            raise ValueError(f"values must have shape (M,) or (M, K) with M = {pr.y.shape[1]} "
                             f"(batched: (B, M) or (B, M, K)), got {tuple(torch.as_tensor(values).shape)}")
        pot = self._state.potentials
        avg = soft_average(eps, pr.x.detach(), pr.y.detach(), (pr.b.log() + pot.g / eps).detach(), self.p, v)
        out = self._row_masses().unsqueeze(-1) * avg
        if vector:
            out = out.squeeze(-1)
        return self._unbatch(out)
