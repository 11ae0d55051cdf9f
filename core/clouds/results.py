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

import torch

from .. import checks
from .sinkhorn import PLAN_MAX_ENTRIES, plan_marginal_error
from .softmin import soft_average, softmin_online


def shown_value(value: torch.Tensor) -> str:
    """A value for a repr: the number, or the shape of a batch of values."""
    v = value.detach()
    return f"{v.item():.6g}" if v.dim() == 0 else f"tensor of shape {tuple(v.shape)}"


class SolvedPotentials:
    """What every solver result takes from its last :class:`~otlab.core.clouds.sinkhorn.SinkhornState`: the
    value, the potentials f, g, f_aa, g_bb (shaped by :meth:`_field`), eps, blur, n_iter, converged,
    rho, debias, and the marginal error, computed once on first access. ``level`` is the annealing
    level the potentials live on (its soft-min measures the marginals)."""

    def __init__(self, state, problem, level):
        self._state, self._problem, self._level = state, problem, level
        pot = state.potentials
        self.value = self._unbatch(state.value)
        self.f, self.g = self._field(pot.f), self._field(pot.g)
        self.f_aa = None if pot.f_aa is None else self._field(pot.f_aa)
        self.g_bb = None if pot.g_bb is None else self._field(pot.g_bb)
        self.eps, self.blur = state.eps, state.blur
        self.n_iter = state.step + 1
        self.converged = state.converged
        self.rho, self.debias = problem.rho, problem.debias
        self._marginal_error = None

    def _unbatch(self, t):
        """Drop the batch axis that unbatched inputs were given."""
        return t if self._problem.batched else t[0]

    def _field(self, t):
        """A potential as the result shows it (here: unbatched, one value per sample)."""
        return self._unbatch(t)

    @property
    def marginal_error(self):
        r"""L1 error of the plan's marginals, :math:`\|\pi 1 - a\|_1 + \|\pi^\top 1 - b\|_1` (unbalanced:
        against :math:`a e^{-f/\rho}`, :math:`b e^{-g/\rho}`, the optimality conditions), for the returned
        potentials. A float, or a (B,) tensor for batched inputs. Computed on first access with two exact
        soft-mins (on point clouds O(NM) work, also after a multiscale solve)."""
        if self._marginal_error is None:
            err = plan_marginal_error(self._level, self._state.potentials, self.eps, self.rho)
            self._marginal_error = err if self._problem.batched else float(err[0])
        return self._marginal_error


class OTResult(SolvedPotentials):
    """Result of :func:`otlab.core.solve`.

    Attributes:
        value: S_ε (debias=True) or OT_ε, a scalar tensor (or (B,) for batched inputs), differentiable
            with respect to the points and weights given to ``solve``.
        f, g: potentials of OT_ε(α, β) on x (N,) and y (M,) (or (B, N), (B, M)).
        f_aa, g_bb: potentials of the self-problems OT_ε(α, α), OT_ε(β, β) (None without debias).
        eps, blur: final temperature ε and blur σ = ε^(1/p).
        n_iter: number of Sinkhorn updates, the closing one included.
        converged: whether the requested tolerance was met (``tol``, else ``level_tol`` at the last
            temperature); None when neither was set.
        backend: the backend that ran ("tensorized", "online", "multiscale" or "keops").
    """

    def __init__(self, state, problem):
        super().__init__(state, problem, state.level)
        self.backend = problem.backend
        self.p = problem.p

    def __repr__(self):
        return (f"OTResult(value={shown_value(self.value)}, eps={self.eps:.4g}, blur={self.blur:.4g}, n_iter={self.n_iter}, "
                f"converged={self.converged}, backend={self.backend!r})")

    # -- evaluation at arbitrary points -------------------------------------------------------------
    def _points(self, points, name="points"):
        """Validated evaluation points, batched (B, K, D), in the user's coordinates."""
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
        return z

    def potential_f(self, points, debiased: bool = False) -> torch.Tensor:
        """F(z) for points z (N_z, D) (or (B, N_z, D)) -> (N_z,): the OT_ε potential on the x side,
        extended by the soft-min formula. ``debiased=True`` returns F_ab - F_aa. Differentiable in z."""
        return self._unbatch(self._state.potential_f(self._points(points), debiased))

    def potential_g(self, points, debiased: bool = False) -> torch.Tensor:
        """G(z) for points z: the potential on the y side, extended (see :meth:`potential_f`)."""
        return self._unbatch(self._state.potential_g(self._points(points), debiased))

    def brenier_map(self, points=None) -> torch.Tensor:
        """T(z) for p = 2, (N, D): the entropic Brenier map (debiased when ``debias``), at the samples x
        by default or at any points z. See the module docstring for the formula."""
        z = None if points is None else self._points(points)
        return self._unbatch(self._state.brenier_map(z, debiased=self.debias))

    # -- the transport plan --------------------------------------------------------------------------
    def _row_masses(self):
        """Row masses of the plan, (B, N): a_i exp((f_i - s_i)/ε), with s the undamped soft-min."""
        pr, eps = self._problem, self.eps
        pot = self._state.potentials
        s = softmin_online(eps, pr.x.detach(), pr.y.detach(), (pr.b.log() + pot.g / eps).detach(), self._level.p)
        return pr.a.detach() * torch.exp((pot.f.detach() - s) / eps)

    def plan(self, max_entries: int = PLAN_MAX_ENTRIES) -> torch.Tensor:
        r"""Dense plan :math:`\pi_{ij} = a_i b_j e^{(f_i + g_j - C_{ij})/\varepsilon}`, (N, M) (or (B, N, M)).

        Refuses (ValueError) above ``max_entries`` entries: use :meth:`plan_apply` (π v in O(N + M)
        memory) or :meth:`brenier_map` instead.
        """
        return self._unbatch(self._state.plan(max_entries))

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
        avg = soft_average(eps, pr.x.detach(), pr.y.detach(), (pr.b.log() + pot.g / eps).detach(), self._level.p, v)
        out = self._row_masses().unsqueeze(-1) * avg
        if vector:
            out = out.squeeze(-1)
        return self._unbatch(out)
