r"""ε-annealing Sinkhorn in the log domain: the divergence, its potentials and its gradients.

Conventions: C(x, y) = |x - y| (p = 1) or |x - y|^2 / 2 (p = 2); temperature ε = blur^p;
unbalanced strength ρ = reach^p (reach None: balanced). The entropic OT problem

.. math::
    \mathrm{OT}_\varepsilon(\alpha, \beta) = \min_{\pi \ge 0} \langle \pi, C\rangle
      + \varepsilon\,\mathrm{KL}(\pi \,|\, \alpha\otimes\beta)
      + \rho\,\mathrm{KL}(\pi 1 \,|\, \alpha) + \rho\,\mathrm{KL}(\pi^\top 1 \,|\, \beta)

(the marginal terms are constraints when balanced; KL is the generalised one,
:math:`\sum p\log(p/q) - p + q`) has the dual

.. math::
    \max_{f, g}\ \langle\alpha, \varphi(f)\rangle + \langle\beta, \varphi(g)\rangle
      - \varepsilon\langle \alpha\otimes\beta, e^{(f\oplus g - C)/\varepsilon} - 1\rangle,
    \qquad \varphi(f) = f \ \text{(balanced)}, \quad \rho(1 - e^{-f/\rho}) \ \text{(unbalanced)}.

Its optimality conditions are the Sinkhorn updates :math:`f = \lambda\,\mathrm{softmin}_\varepsilon(x, y, \log b + g/\varepsilon)`
with :math:`\lambda = 1/(1 + \varepsilon/\rho)`. At the optimum, the mass of the plan is
:math:`\langle\pi, 1\rangle = \langle \alpha, e^{-f/\rho}\rangle = \langle\beta, e^{-g/\rho}\rangle` and the value is

.. math::
    \mathrm{OT}_\varepsilon = \langle \alpha, \psi(f)\rangle + \langle \beta, \psi(g)\rangle
      - \tfrac{\varepsilon}{2}(m_\alpha + m_\beta) + \varepsilon\, m_\alpha m_\beta,
    \qquad \psi(f) = f \ \text{or}\ (\rho + \tfrac\varepsilon2)(1 - e^{-f/\rho}),

which is Séjourné et al. (2019, prop. 12) with the mass terms kept, so that measures of any mass get
the exact value. The debiased divergence is
:math:`S_\varepsilon = \mathrm{OT}_\varepsilon(\alpha,\beta) - \tfrac12\mathrm{OT}_\varepsilon(\alpha,\alpha) - \tfrac12\mathrm{OT}_\varepsilon(\beta,\beta)`.

Gradients follow the envelope theorem: the last update runs with gradients on and detached inputs;
f carries the x-gradient and g the y-gradient (see :mod:`otlab.core.clouds.geometry`). The autograd graph
uses the dual objective's own derivatives, :math:`(\rho + \varepsilon)(1 - e^{-f/\rho})` and the mass
terms :math:`-\varepsilon(m_\alpha + m_\beta) + \varepsilon m_\alpha m_\beta`, so that unbalanced gradients in
positions and weights match finite differences (GeomLoss's are off by (ρ + ε/2)/(ρ + ε)).

Annealing (DESIGN §3): initialise with the C-transforms of zero potentials at ε_0, then at each ε
update f, g (and f_aa, g_bb) symmetrically from the old values and average with them — GeomLoss's
scheme, one update per temperature. That single update leaves the potentials far from the fixed point
whenever a temperature step changes the plan a lot: on uniform vs Gaussian clouds at blur .05 and
scaling .5 the value ends 3–12% below the converged S_ε, and with a few far outliers it can come out
negative. With ``level_tol`` (the default of :func:`otlab.core.solve`), extra Sinkhorn updates run at
each temperature while the L1 marginal error is above it, which keeps the iterates on the annealing
path and lands within 1% of the converged value on the benchmark suite (far outliers: ~4%);
gradients are more sensitive and need ``tol`` (``docs/core.md``).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Iterator, Optional

import torch

from ..costs import cost_matrix
from .geometry import Level, Potentials
from .newton import DAMPING_MAX, DAMPING_MIN, NEWTON_DAMPING, NEWTON_SLACK, newton_update
from ..schedule import dampening
from .softmin import soft_average, softmin_online

#: plan() refuses to build a dense matrix with more entries than this (400 MB of float32).
PLAN_MAX_ENTRIES = 100_000_000
#: With ``level_tol``, at most this many extra updates at one temperature.
LEVEL_MAX_UPDATES = 100
#: With ``tol`` and no ``max_iter``, at most this many updates after the schedule.
TOL_MAX_UPDATES = 3000
#: With ``tol``, the run stops (not converged) once the largest marginal error has not fallen below
#: STALL_GAIN times its value at the last such fall for STALL_WINDOW updates. Measured: two Gaussian blobs
#: with 1% far outliers (N = M = 5,000, 2D, blur .05, tol 1e-3) crept from 1.72e-3 to 1.63e-3 over 700
#: updates, in float32 and float64 alike (a slow mode of the iteration, not round-off); at N = 1,000 the
#: error sat at 2.0e-3 for 225 updates before converging: the window is longer than that.
STALL_WINDOW, STALL_GAIN = 300, 0.9
#: With ``map_tol``, the map error is estimated every MAP_CHECK_EVERY updates, and at most
#: MAP_MAX_UPDATES updates run for it after the schedule (within ``max_iter``).
MAP_CHECK_EVERY, MAP_MAX_UPDATES = 2, 1000
#: The estimate uses the last MAP_HISTORY changes and must be met at MAP_CONFIRM checks in a row: with
#: (3, 1), 5 far outliers (2D, 2,000 points) stopped at 1.3% map error, the fast modes' decay hiding the
#: slow one; (5, 2) gave 0.63% there and cost ≤ 2 more updates elsewhere (docs/core.md).
MAP_HISTORY, MAP_CONFIRM = 5, 2


class ConvergenceWarning(UserWarning):
    """Sinkhorn stopped (``max_iter`` or the per-temperature cap) before its marginal error reached the
    tolerance; the result's ``converged`` is False. Filter it with ``warnings.simplefilter``."""


def phi_gradient_form(f: torch.Tensor, eps: float, rho) -> torch.Tensor:
    r"""Per-point dual term whose derivative is the envelope one: f, or (ρ + ε)(1 - e^{-f/ρ})."""
    return f if rho is None else (rho + eps) * (1 - torch.exp(-f / rho))


def phi_value_form(f: torch.Tensor, eps: float, rho) -> torch.Tensor:
    r"""Per-point dual term of the value at the optimum: f, or (ρ + ε/2)(1 - e^{-f/ρ})."""
    return f if rho is None else (rho + eps / 2) * (1 - torch.exp(-f / rho))


def dual_value(a, b, f, g, eps: float, rho) -> torch.Tensor:
    r""":math:`\mathrm{OT}_\varepsilon` from optimal potentials, (B,), with envelope-theorem gradients."""
    ma, mb = a.sum(-1), b.sum(-1)
    grad_form = ((a * phi_gradient_form(f, eps, rho)).sum(-1) + (b * phi_gradient_form(g, eps, rho)).sum(-1)
                 - eps * (ma + mb) + eps * ma * mb)
    value = ((a * phi_value_form(f, eps, rho)).sum(-1) + (b * phi_value_form(g, eps, rho)).sum(-1)
             - eps / 2 * (ma + mb) + eps * ma * mb)
    return grad_form + (value - grad_form).detach()


def sinkhorn_value(level: Level, pot: Potentials, eps: float, rho, debias: bool) -> torch.Tensor:
    """OT_eps(a, b), or the debiased S_eps when ``debias``, from the potentials; shape (B,)."""
    value = dual_value(level.a, level.b, pot.f, pot.g, eps, rho)
    if debias:
        value = (value - dual_value(level.a, level.a, pot.f_aa, pot.f_aa, eps, rho) / 2
                 - dual_value(level.b, level.b, pot.g_bb, pot.g_bb, eps, rho) / 2)
    return value


def marginal_violation(weights: torch.Tensor, pot: torch.Tensor, softmin_out: torch.Tensor, eps: float,
                       rho) -> torch.Tensor:
    r"""L1 distance between one marginal of the plan and its target, (B,).

    The plan's row masses are :math:`a_i e^{(f_i - s_i)/\varepsilon}` with s the undamped soft-min of
    the other potential; the target is a_i (balanced) or :math:`a_i e^{-f_i/\rho}` (the optimality
    condition of the unbalanced problem).
    """
    mass = torch.exp((pot - softmin_out) / eps)
    target = 1.0 if rho is None else torch.exp(-pot / rho)
    return (weights * (mass - target).abs()).sum(-1)


def plan_marginal_error(level: Level, pot: Potentials, eps: float, rho) -> torch.Tensor:
    """L1 marginal violation (B,) of the plan of the potentials (f, g) on ``level``: two exact soft-mins."""
    with torch.no_grad():
        f, g = pot.f.detach(), pot.g.detach()
        return (marginal_violation(level.a.detach(), f, level.xy(eps, level.b_log.detach() + g / eps), eps, rho)
                + marginal_violation(level.b.detach(), g, level.yx(eps, level.a_log.detach() + f / eps), eps, rho))


@dataclass
class SinkhornState:
    """One annealing step, as yielded by :func:`iterate`.

    ``step`` counts updates from 0; ``eps`` is the temperature of this step and ``blur`` = eps^(1/p).
    ``potentials`` live on ``level`` (the points, or clusters on the coarse steps of the multiscale
    backend: ``x``/``y`` give their positions). ``value`` is the current estimate of the divergence
    (B,); ``marginal_error`` (B,) is the L1 marginal violation of the potentials this step started
    from, summed over the plan and, when debiased, the self-problems' plans (None after a move
    between levels). ``final`` marks the last state, after the closing update with gradients on;
    its ``converged`` says whether the requested tolerance (``tol``, else ``level_tol`` at the last
    temperature) was met (None when none was asked).

    The potentials extend to any point by the soft-min formula (:meth:`potential_f`), which is how
    the demos draw F and G on a pixel grid at every step.
    """

    step: int
    eps: float
    blur: float
    potentials: Potentials
    value: torch.Tensor
    marginal_error: Optional[torch.Tensor]
    level: Level
    center: torch.Tensor
    p: int
    rho: Optional[float]
    final: bool = False
    converged: Optional[bool] = None

    @property
    def f(self):
        return self.potentials.f

    @property
    def g(self):
        return self.potentials.g

    @property
    def x(self):
        """Positions of the support of f (B, N, D), in the user's coordinates."""
        return (self.level.x + self.center).detach()

    @property
    def y(self):
        return (self.level.y + self.center).detach()

    def _centred(self, points) -> torch.Tensor:
        z = torch.as_tensor(points, dtype=self.center.dtype, device=self.center.device)
        return (z if z.dim() == 3 else z.expand(self.center.shape[0], *z.shape)) - self.center

    def _extend(self, z, support, log_w, potential):
        r""":math:`\lambda\,\mathrm{softmin}_\varepsilon(z, \text{support}, \log w + \text{potential}/\varepsilon)`."""
        eps = self.eps
        return dampening(eps, self.rho) * softmin_online(eps, z, support.detach(),
                                                         (log_w + potential / eps).detach(), self.level.p)

    def _self(self, name):
        t = getattr(self.potentials, name)
        if t is None:
            raise ValueError("debiased potentials need debias=True")
        return t

    def potential_f(self, points, debiased: bool = False) -> torch.Tensor:
        r"""F(z) = λ softmin_ε(z, y, log b + g/ε) at points (K, D) or (B, K, D) -> (B, K); minus
        F_aa(z) when ``debiased``. Differentiable in the points."""
        z, lv = self._centred(points), self.level
        out = self._extend(z, lv.y, lv.b_log, self.potentials.g)
        return out - self._extend(z, lv.x, lv.a_log, self._self("f_aa")) if debiased else out

    def potential_g(self, points, debiased: bool = False) -> torch.Tensor:
        """G(z) = λ softmin_ε(z, x, log a + f/ε) (minus G_bb(z) when ``debiased``), (B, K)."""
        z, lv = self._centred(points), self.level
        out = self._extend(z, lv.x, lv.a_log, self.potentials.f)
        return out - self._extend(z, lv.y, lv.b_log, self._self("g_bb")) if debiased else out

    def brenier_map(self, points=None, debiased: bool = True) -> torch.Tensor:
        r"""p = 2: T(z) = Σ_j P_j(z) y_j, the barycentric projection (B, K, D); debiased (when the
        self-potentials exist): :math:`z + \sum_j P_j(z) y_j - \sum_i P^{aa}_i(z) x_i`."""
        if self.level.p != 2:
            raise ValueError("brenier_map needs the quadratic cost p=2 (for p=1 there is no unique map)")
        lv, eps, pot = self.level, self.eps, self.potentials
        z = (lv.x if points is None else self._centred(points)).detach()
        with torch.no_grad():
            t = soft_average(eps, z, lv.y.detach(), (lv.b_log + pot.g / eps).detach(), 2, lv.y.detach())
            if debiased and pot.f_aa is not None:
                t = t + z - soft_average(eps, z, lv.x.detach(), (lv.a_log + pot.f_aa / eps).detach(), 2,
                                         lv.x.detach())
        return t + self.center

    def plan(self, max_entries: int = PLAN_MAX_ENTRIES) -> torch.Tensor:
        r"""Dense plan :math:`\pi_{ij} = a_i b_j e^{(f_i + g_j - C_{ij})/\varepsilon}` on the level's
        supports, (B, N, M); ValueError above ``max_entries`` entries."""
        lv = self.level
        b, n, m = lv.x.shape[0], lv.x.shape[1], lv.y.shape[1]
        if b * n * m > max_entries:
            raise ValueError(f"the dense plan would have {b * n * m:,} entries (> max_entries={max_entries:,}); "
                             "use plan_apply(v) to multiply by the plan lazily, or brenier_map() for the "
                             "barycentric map")
        with torch.no_grad():
            c = cost_matrix(lv.x.detach(), lv.y.detach(), lv.p)
            logp = (self.f.detach().unsqueeze(-1) + self.g.detach().unsqueeze(-2) - c) / self.eps
            return lv.a.detach().unsqueeze(-1) * lv.b.detach().unsqueeze(-2) * logp.exp()


def _initial(level: Level, eps: float, rho, debias: bool) -> Potentials:
    """C-transforms of zero potentials at the first temperature."""
    lam = dampening(eps, rho)
    with torch.no_grad():
        return Potentials(
            f=lam * level.xy(eps, level.b_log), g=lam * level.yx(eps, level.a_log),
            f_aa=lam * level.xx(eps, level.a_log) if debias else None,
            g_bb=lam * level.yy(eps, level.b_log) if debias else None)


def _update(level: Level, pot: Potentials, eps: float, rho, debias: bool, mode: str = "average"):
    """One update at temperature eps; returns the new potentials and a marginal error: the L1
    marginal violations of the plan (and, with ``debias``, of the two self-problems' plans).

    ``mode``:
      * "average": symmetric update (f from the old g, g from the old f) averaged with the old
        values, new = (old + update) / 2 — the annealing step; the error is that of the old potentials.
      * "full": the same symmetric update without averaging — the closing step.
      * "alternate": f from the old g, then g from the new f (Sinkhorn's own, faster at a fixed ε);
        the self-potentials are averaged. The error is that of (new f, old g), whose row marginal is exact.
    The soft-min inputs (potentials, log-weights) are detached: only positions are differentiated
    through a soft-min.
    """
    lam = dampening(eps, rho)
    a_log, b_log = level.a_log.detach(), level.b_log.detach()
    ft = level.xy(eps, b_log + pot.g / eps)
    f_next = lam * ft
    gt = level.yx(eps, a_log + (f_next if mode == "alternate" else pot.f) / eps)
    with torch.no_grad():
        if mode == "alternate":
            err = marginal_violation(level.a, f_next, ft, eps, rho) + marginal_violation(level.b, pot.g, gt, eps, rho)
        else:
            err = marginal_violation(level.a, pot.f, ft, eps, rho) + marginal_violation(level.b, pot.g, gt, eps, rho)
    new = Potentials(f_next, lam * gt)
    if debias:
        ft_aa = level.xx(eps, a_log + pot.f_aa / eps)
        gt_bb = level.yy(eps, b_log + pot.g_bb / eps)
        with torch.no_grad():
            err = err + (marginal_violation(level.a, pot.f_aa, ft_aa, eps, rho)
                         + marginal_violation(level.b, pot.g_bb, gt_bb, eps, rho))
        new.f_aa, new.g_bb = lam * ft_aa, lam * gt_bb
    if mode == "average":
        new = Potentials(*[None if o is None else (o + n) / 2
                           for o, n in zip((pot.f, pot.g, pot.f_aa, pot.g_bb), (new.f, new.g, new.f_aa, new.g_bb))])
    elif mode == "alternate" and debias:
        new.f_aa, new.g_bb = (pot.f_aa + new.f_aa) / 2, (pot.g_bb + new.g_bb) / 2
    return new, err


def _symmetric_update(level: Level, pot: Potentials, eps: float, rho, debias: bool):
    """A full Sinkhorn iteration that keeps the solver's symmetries exact: the average of the two
    alternating orders, (f' = T g, g' = T f') and (g'' = T f, f'' = T g''), and for each self-potential
    the average of T h and T T h (what the two orders give when x = y). So S(α, β) = S(β, α) and
    S(α, α) = 0 hold to the last bit, as with the averaged annealing updates. Returns (potentials, error)
    with the error of the potentials it started from."""
    lam = dampening(eps, rho)
    a_log, b_log = level.a_log.detach(), level.b_log.detach()
    f1 = lam * level.xy(eps, b_log + pot.g / eps)
    g1 = lam * level.yx(eps, a_log + f1 / eps)
    g2t = level.yx(eps, a_log + pot.f / eps)
    g2 = lam * g2t
    f2 = lam * level.xy(eps, b_log + g2 / eps)
    with torch.no_grad():
        err = (marginal_violation(level.a, pot.f, f1 / lam, eps, rho)
               + marginal_violation(level.b, pot.g, g2t, eps, rho))
    new = Potentials((f1 + f2) / 2, (g1 + g2) / 2)
    if debias:
        for name, op, w_log, w in (("f_aa", level.xx, a_log, level.a), ("g_bb", level.yy, b_log, level.b)):
            old = getattr(pot, name)
            once = op(eps, w_log + old / eps)
            with torch.no_grad():
                err = err + marginal_violation(w, old, once, eps, rho)
            twice = lam * op(eps, w_log + lam * once / eps)
            setattr(new, name, (lam * once + twice) / 2)
    return new, err


def _relaxation(err: torch.Tensor, previous: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    r"""Over-relaxation factors (B,) for the next update at a fixed temperature (None: plain updates).

    With θ the observed contraction of a batch item's marginal error over the last update (capped at
    0.95), ω = 2 / (1 + √(1 - θ)) — Young's optimal SOR factor for an iteration that contracts by θ
    (Thibault et al. 2017 use it for Sinkhorn); ω = 1 for the first update and where the error grew.
    Each batch item's factor depends on its own errors only, so a batch equals a loop.
    """
    if previous is None:
        return None
    theta = (err / previous).clamp(0.0, 0.95)
    return torch.where(err < previous, 2 / (1 + (1 - theta).sqrt()), torch.ones_like(err))


def _over_relaxed(old: Potentials, new: Potentials, omega: Optional[torch.Tensor]) -> Potentials:
    """old + ω (new - old) for each potential, ω (B,) per batch item (None returns ``new``).
    Elementwise and the same for every potential, so the symmetric update's symmetries stay exact."""
    if omega is None:
        return new
    w = omega.to(new.f.dtype).unsqueeze(-1)
    return Potentials(*[None if n is None else o + w * (n - o)
                        for n, o in zip((new.f, new.g, new.f_aa, new.g_bb), (old.f, old.g, old.f_aa, old.g_bb))])


def _select(mask: torch.Tensor, new: Potentials, old: Potentials) -> Potentials:
    """Per batch item (mask (B,)): the new potentials where mask, else the old ones."""
    m = mask.unsqueeze(-1)
    return Potentials(*[None if n is None else torch.where(m, n, o)
                        for n, o in zip((new.f, new.g, new.f_aa, new.g_bb), (old.f, old.g, old.f_aa, old.g_bb))])


def displacements(level: Level, pot: Potentials, eps: float):
    r"""The map displacements on both clouds, (B, N, D) and (B, M, D): on x,
    :math:`x_i - T(x_i) = \bar x^{aa}_i - \bar y_i` (debiased; :math:`x_i - \bar y_i` otherwise), with
    :math:`\bar y_i = \sum_j P_{ij} y_j` the barycentre of row i of the plan of g (the soft-min weights
    of ``level.xy``) and :math:`\bar x^{aa}_i` that of f_aa; on y likewise. For p = 2 and balanced
    weights, :math:`a_i` times the first is the gradient :math:`\nabla_{x_i} S_\varepsilon` that the
    closing update returns from these potentials."""
    with torch.no_grad():
        out = []
        for op, self_op, w_log, self_log, other, own, support in (
                (level.xy, level.xx, level.b_log, level.a_log, pot.g, pot.f_aa, level.x),
                (level.yx, level.yy, level.a_log, level.b_log, pot.f, pot.g_bb, level.y)):
            t = op.barycentric(eps, w_log.detach() + other.detach() / eps)
            base = support.detach() if own is None else self_op.barycentric(eps, self_log.detach() + own.detach() / eps)
            out.append(base - t)
        return out


class MapErrorEstimate:
    r"""An estimate of the relative L2 error of the map, :math:`\|a(D_k - D_*)\| / \|a D_k\|` per batch
    item, from displacements :math:`D_k` of one cloud (:func:`displacements`) measured every w updates.

    Near the fixed point the iteration contracts linearly, :math:`D_k - D_* \approx \theta (D_{k-1} - D_*)`,
    so the error left is :math:`\|D_k - D_{k-1}\|\,\theta/(1-\theta)`, with θ the ratio of consecutive
    changes. Over-relaxed iterations need not contract monotonically, so θ is the largest ratio over the
    last MAP_HISTORY changes; the estimate is infinite until MAP_HISTORY + 1 displacements are known and
    while θ ≥ 1 (and 0 once a change is exactly 0).
    """

    def __init__(self, weights: torch.Tensor):
        self.weights = weights.detach().unsqueeze(-1)
        self.last, self.changes = None, []

    def update(self, disp: torch.Tensor) -> torch.Tensor:
        """Add the displacement D_k (B, N, D); returns the estimated error (B,)."""
        wd = self.weights * disp
        if self.last is not None:
            self.changes = [*self.changes[-(MAP_HISTORY - 1):], (wd - self.last).flatten(1).norm(dim=1)]
        self.last = wd
        inf = torch.full(wd.shape[:1], float("inf"), dtype=wd.dtype, device=wd.device)
        if len(self.changes) < MAP_HISTORY:
            return inf
        c2 = self.changes[-1]
        theta = torch.stack([b / a for a, b in zip(self.changes, self.changes[1:])]).amax(0)
        left = c2 * theta / (1 - theta) / wd.flatten(1).norm(dim=1).clamp_min(torch.finfo(wd.dtype).tiny)
        return torch.where(c2 == 0, torch.zeros_like(left), torch.where(theta < 1, left, inf))


def above_limit(err: Optional[torch.Tensor], limit: float) -> bool:
    """Whether a marginal error (B,) exceeds ``limit`` for some batch item (True when unknown)."""
    return err is None or bool((err > limit).any())


def _detached(pot: Potentials) -> Potentials:
    return Potentials(*[None if t is None else t.detach() for t in (pot.f, pot.g, pot.f_aa, pot.g_bb)])


def anneal(geometry, eps_list, p: int, rho, debias: bool, center: torch.Tensor, tol: Optional[float] = None,
           max_iter: Optional[int] = None, level_tol: Optional[float] = None,
           map_tol: Optional[float] = None) -> Iterator[SinkhornState]:
    """The annealing loop over a geometry (see :mod:`otlab.core.clouds.geometry`); yields a state per update.

    At each temperature the geometry may move the potentials to another level (a multiscale solver
    refining its clusters); that move is the step's update. Otherwise the step is a symmetric,
    averaged update, followed — with ``level_tol`` — by over-relaxed symmetric Sinkhorn iterations
    while the marginal error is above ``level_tol`` (at most LEVEL_MAX_UPDATES, and within
    ``max_iter``). After the schedule, with a tolerance (``tol`` or ``level_tol``) a multiscale
    geometry moves to the points (tolerances are met there). When ``tol`` is set, alternating updates
    (with damped Newton steps when balanced) continue at the last temperature until the marginal error
    is at most ``tol`` or ``max_iter`` updates in all have run (a :class:`ConvergenceWarning` then).
    With ``map_tol``, over-relaxed symmetric updates continue on the points until the estimated
    relative error of the map (:class:`MapErrorEstimate`) is at most ``map_tol`` (at most
    MAP_MAX_UPDATES of them, within ``max_iter``).
    One full update with gradients on closes the loop (the ``final`` state); it measures the
    potentials it starts from, and after a move to the points it is redone after extra updates while
    that error is above ``level_tol``. Without any tolerance a multiscale geometry closes by
    extrapolating its cluster potentials onto the points (GeomLoss's closing).
    """
    sigmas = [e ** (1 / p) for e in eps_list]
    level = geometry.start(sigmas[0])
    pot = _initial(level, eps_list[0], rho, debias)
    step, err = 0, None

    def state(eps, final=False, converged=None):
        with torch.set_grad_enabled(final and torch.is_grad_enabled()):
            value = sinkhorn_value(level, pot, eps, rho, debias)
        return SinkhornState(step, eps, eps ** (1 / p), pot, value, err, level, center, p, rho, final, converged)

    def above(limit):
        return above_limit(err, limit)

    for k, eps in enumerate(eps_list):
        with torch.no_grad():
            level, pot, moved = geometry.advance(level, pot, sigmas[k], eps, rho)
            pot, err = (pot, None) if moved else _update(level, pot, eps, rho, debias)
        yield state(eps)
        step += 1
        extra = 0
        # extra updates stay within max_iter, leaving room for the rest of the schedule and the closing update
        room = None if max_iter is None else max_iter - (len(eps_list) - 1 - k)
        previous = None
        while (level_tol is not None and not moved and extra < LEVEL_MAX_UPDATES and above(level_tol)
               and (room is None or step < room)):
            with torch.no_grad():
                active = err > level_tol  # batch items already within level_tol keep their potentials
                new, err = _symmetric_update(level, pot, eps, rho, debias)
                new = _over_relaxed(pot, new, _relaxation(err, previous))
                pot, previous = _select(active, new, pot), err
            yield state(eps)
            step, extra = step + 1, extra + 1
    eps = eps_list[-1]
    goal = tol if tol is not None else level_tol
    if goal is not None or map_tol is not None:  # tolerances are measured and met on the points
        with torch.no_grad():
            level, pot, moved = geometry.to_points(level, pot, eps, rho)
        if moved:
            err = None
            yield state(eps)
            step += 1
    stalled = None  # (error at the last fall, error now) when the tolerance loop stalled
    if tol is not None:
        cap = max_iter if max_iter is not None else step + TOL_MAX_UPDATES
        mark, mark_step = None, step
        # balanced: damped Newton steps on the sparse plan (see otlab.core.clouds.newton), each followed by a
        # Sinkhorn update that measures it; else (or when the plan is dense) plain Sinkhorn updates
        newton, damping = rho is None and level.newton, torch.full((level.a.shape[0],), NEWTON_DAMPING)
        while step < cap and above(tol):
            with torch.no_grad():
                active = torch.ones_like(level.a[:, 0], dtype=torch.bool) if err is None else err > tol
                trial = newton_update(level, pot, eps, damping.tolist()) if newton and err is not None else None
                newton = trial is not None
                if newton:
                    step += 1  # the Newton step counts as an update
                    new, new_err = _update(level, trial, eps, rho, debias, mode="alternate")
                    better = (new_err <= NEWTON_SLACK * err).cpu()
                    damping = torch.where(better, (damping / 4).clamp_min(DAMPING_MIN), (damping * 8).clamp_max(DAMPING_MAX))
                    if not bool(better.all()):  # where the step did not help: a plain Sinkhorn update
                        plain, plain_err = _update(level, pot, eps, rho, debias, mode="alternate")
                        keep = better.to(new_err.device)
                        new, new_err = _select(keep, new, plain), torch.where(keep, new_err, plain_err)
                else:
                    new, new_err = _update(level, pot, eps, rho, debias, mode="alternate")
                pot = _select(active, new, pot)
                err = new_err if err is None else torch.where(active, new_err, err)
            yield state(eps)
            step += 1
            worst = float(err.max())
            if mark is None or worst < STALL_GAIN * mark:
                mark, mark_step = worst, step
            elif step - mark_step >= STALL_WINDOW and worst > tol:
                stalled = (mark, worst)
                break
    map_left = None  # the estimated map error (B,) when map_tol is set
    if map_tol is not None:
        # both clouds' maps, so that swapping the clouds runs the same updates (S(α, β) = S(β, α) exactly)
        estimates, previous, start = (MapErrorEstimate(level.a), MapErrorEstimate(level.b)), None, step
        met = torch.zeros(level.a.shape[:1], dtype=torch.long, device=level.a.device)
        cap = step + MAP_MAX_UPDATES if max_iter is None else min(step + MAP_MAX_UPDATES, max_iter - 1)
        while True:
            if (step - start) % MAP_CHECK_EVERY == 0:
                map_left = torch.maximum(*[e.update(d) for e, d in zip(estimates, displacements(level, pot, eps))])
                met = torch.where(map_left <= map_tol, met + 1, 0)
            if step >= cap or bool((met >= MAP_CONFIRM).all()):
                break
            with torch.no_grad():
                active = met < MAP_CONFIRM  # batch items whose map is within map_tol keep their potentials
                new, new_err = _symmetric_update(level, pot, eps, rho, debias)
                new = _over_relaxed(pot, new, _relaxation(new_err, previous))
                pot, previous = _select(active, new, pot), new_err
                err = new_err if err is None else torch.where(active, new_err, err)
            yield state(eps)
            step += 1
    if level.clusters is not None:  # level_tol=None: GeomLoss's closing extrapolation from the clusters
        level, pot = geometry.close(level, _detached(pot), eps, rho)
        err = None
    else:
        # The closing update measures the potentials it starts from: after a move to the points that
        # error was unknown, and if it is above level_tol the closing is redone after extra updates.
        extra = 0
        while True:
            closing, closing_err = _update(level, _detached(pot), eps, rho, debias, mode="full")
            if not (moved and tol is None and goal is not None and above_limit(closing_err, goal)) \
                    or extra >= LEVEL_MAX_UPDATES or (max_iter is not None and step >= max_iter - 1):
                break
            with torch.no_grad():
                pot, _ = _symmetric_update(level, _detached(pot), eps, rho, debias)
            err = None
            yield state(eps)
            step, extra = step + 1, extra + 1
        # the tolerance loops measured err on their own iterates; after a move it is the closing's
        pot, err = closing, closing_err if err is None else err
    map_met = None if map_left is None else bool((met >= MAP_CONFIRM).all())
    converged = None if goal is None and map_met is None else (goal is None or not above(goal)) and map_met is not False
    if converged is False and map_met is False and (goal is None or not above(goal)):
        warnings.warn(f"Sinkhorn stopped after {step} updates with an estimated map error of "
                      f"{float(map_left.max()):.3g} > map_tol={map_tol:g}; anneal more slowly (scaling closer "
                      "to 1) or loosen map_tol", ConvergenceWarning, stacklevel=3)
    elif converged is False:
        shown = float(err.max()) if err is not None else float("nan")
        name = "tol" if tol is not None else "level_tol"
        if stalled is None:
            why, advice = "", "raise max_iter, loosen the tolerance, or anneal more slowly (scaling closer to 1)"
        else:
            why = (f" (stalled: it fell by less than {1 - STALL_GAIN:.0%} over the last {STALL_WINDOW} updates, "
                   f"from {stalled[0]:.3g})")
            advice = "loosen the tolerance, or anneal more slowly (scaling closer to 1)"
        warnings.warn(f"Sinkhorn stopped after {step} updates with a marginal error of {shown:.3g} > "
                      f"{name}={goal:g}{why}; {advice}", ConvergenceWarning, stacklevel=3)
    yield state(eps, final=True, converged=converged)
