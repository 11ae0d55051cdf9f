r"""Wasserstein barycenters: of densities on a grid (Eulerian, debiased) and of point clouds (free support).

**On a grid** (:func:`barycenter_grid`): given densities :math:`\alpha_1, \dots, \alpha_K` (each
normalised to mass 1) and weights :math:`w_k \ge 0` summing to 1, find

.. math::
    \beta^\star = \arg\min_\beta \sum_k w_k\, S_\varepsilon(\alpha_k, \beta) \quad (\text{debiased}),
    \qquad \text{or} \quad \arg\min_\beta \sum_k w_k\, \mathrm{OT}_\varepsilon(\alpha_k, \beta)
    + \varepsilon \langle \beta, \log \beta \rangle \quad (\text{plain}),

with :math:`\mathrm{OT}_\varepsilon(\alpha, \beta) = \min_\pi \langle C, \pi \rangle + \varepsilon\,
\mathrm{KL}(\pi \,|\, \alpha \otimes \beta)` and :math:`S_\varepsilon` its debiased form. Cost
:math:`|x - y|^2/2`, :math:`\varepsilon = \text{blur}^2`. The plain problem is the entropic barycenter
of Benamou et al. 2015 (POT's ``convolutional_barycenter2d``): its entropy is relative to the grid's
counting measure, which adds :math:`\varepsilon\langle\beta, \log\beta\rangle` to the KL form and
blurs β (its spread grows like ε; the minimiser of :math:`\sum_k w_k \mathrm{OT}_\varepsilon` alone
shrinks instead). In :math:`S_\varepsilon` the two entropy references give the same value, and the
debiased barycenter (Janati, Cuturi, Gramfort 2020) is sharp.
Iterative Bregman projections in the log domain, with LK the log-convolution of
:mod:`otlab.core.grids.softmin` and potentials :math:`f_k` (on α_k), :math:`g_k` (on β), q (β's
self-transport):

.. math::
    f_k = -\varepsilon\,\mathrm{LK}(\log\beta + g_k/\varepsilon), \qquad
    g_k = -\varepsilon\,\mathrm{LK}(\log\alpha_k + f_k/\varepsilon), \\
    \log d = \log\beta + q/\varepsilon, \qquad
    \log\beta \leftarrow \log d - \textstyle\sum_k w_k\, g_k/\varepsilon, \qquad
    \log d \leftarrow \tfrac12\big(\log d + \log\beta - \mathrm{LK}(\log d)\big)

(plain: d = 1). In scaling form these are Janati et al.'s updates
:math:`\beta = d \odot \prod_k (K^\top u_k)^{w_k}`, :math:`d \leftarrow \sqrt{d \odot \beta / K d}`; at the
fixed point :math:`\sum_k w_k g_k = q`, the optimality condition of the debiased problem. Nothing
leaves the log domain, so small blurs and non-uniform weights neither overflow nor lose mass. ε is
annealed from the squared diameter down to blur² (the potentials carry over), with extra updates at
each temperature while the marginal error is above ``level_tol`` and at the last one until ``tol``.

The **marginal error** of an update is :math:`\sum_k w_k \|\pi_k^\top 1 - \beta\|_1` for the plans
:math:`\pi_k` of the potentials it starts from (their row marginals are exact after the f-update), plus
with debiasing :math:`\|d \odot K d - \beta\|_1`.

**Free support** (:func:`barycenter_points`): points X (n, D) with uniform weights, moved by the fixed
point :math:`X \leftarrow \sum_k w_k T_k(X)` where :math:`T_k` is the entropic Brenier map from X to
cloud k (:meth:`otlab.core.OTResult.brenier_map`, debiased by default), computed with
:func:`otlab.core.solve`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Optional

import torch

from .. import checks
from .softmin import WORK_DTYPE, Grid, GridSoftmin, as_extent
from ..schedule import anneal_schedule
from ..clouds.sinkhorn import LEVEL_MAX_UPDATES
from ..clouds.solve import solve

#: Default marginal error at which the grid barycenter stops (L1, for unit masses).
BARYCENTER_TOL = 1e-4
#: Steps d <- sqrt(d β / K d) per update of the debiased barycenter. Updates to reach 1e-3 (three
#: blobs 48², 2 px; three balls 64³, blur .03): 544 with 1 step (Janati et al.'s), 324 / 140 with 3,
#: 289 / 128 with 10 (POT's choice) — 3 is the fastest in seconds (0.22 vs 0.40 s; 13 vs 19 s).
DEBIAS_STEPS = 3
#: A warm start re-runs the last temperatures of the schedule (blur / scaling^3 down to blur): at the
#: final ε alone, mass moves slowly — after a change of weights (.6,.2,.2) -> (.2,.2,.6) on 24² at
#: 1.5 px the barycenter was still 0.57 (L1) away after 550 updates.
WARM_TEMPERATURES = 4
#: Default per-temperature tolerance of the annealing. Updates to a marginal error of 1e-3 (debiased;
#: Gaussians, shapes, mixtures at 64² and 3 px, Gaussians and shapes at 128² and 1 px): 63/122/174/112/118
#: with 0.05, 44/105/154/83/91 with 0.2; looser levels lose at small blur (shapes 128², 1 px, to 1e-4:
#: 317 updates at 0.05, 302 at 0.2, 435 at 0.5, 2147 with one update per temperature).
BARYCENTER_LEVEL_TOL = 0.2


@dataclass
class BarycenterPotentials:
    """Iterates of the grid barycenter (float64): f, g (K, *shape), q (*shape) or None (plain),
    log_density = log β (*shape). Pass a state's ``potentials`` as ``warm_start`` to continue."""

    f: torch.Tensor
    g: torch.Tensor
    q: Optional[torch.Tensor]
    log_density: torch.Tensor


@dataclass
class GridBarycenter:
    """One update of :func:`iterate_barycenter_grid` (the last one is what :func:`barycenter_grid`
    returns): ``density`` β on the grid (*shape), in the inputs' dtype; ``mass`` its total (→ 1);
    ``marginal_error`` (see the module docstring; None before the first measure); ``final`` and
    ``converged`` (whether ``tol`` was met) on the last state."""

    step: int
    eps: float
    blur: float
    density: torch.Tensor
    mass: float
    marginal_error: Optional[float]
    potentials: BarycenterPotentials
    grid: Grid
    final: bool = False
    converged: Optional[bool] = None

    @property
    def n_iter(self) -> int:
        return self.step + 1


def barycentric_weights(weights, k: int, dtype, device) -> torch.Tensor:
    """Weights (K,): uniform when None, else non-negative and summing to 1 (within 1e-6), or raise."""
    if weights is None:
        return torch.full((k,), 1.0 / k, dtype=dtype, device=device)
    try:
        w = torch.as_tensor(weights, dtype=dtype, device=device).detach()
    except Exception as err:
        raise TypeError(f"weights must be a sequence of {k} numbers, got {type(weights).__name__}") from err
    if w.shape != (k,):
        raise ValueError(f"weights must have shape ({k},), one per input, got {tuple(w.shape)}")
    if not bool(torch.isfinite(w).all()) or bool((w < 0).any()):
        raise ValueError(f"weights must be finite and >= 0, got {w.tolist()}")
    if abs(float(w.sum()) - 1) > 1e-6:
        raise ValueError(f"weights must sum to 1, got sum {float(w.sum()):.8g}")
    return w


def _grid_inputs(densities, extent):
    A = checks.as_density("densities", densities)
    if A.dim() not in (2, 3, 4):
        raise ValueError("densities must stack K densities on one grid: (K, n_1), (K, n_1, n_2) or "
                         f"(K, n_1, n_2, n_3), got shape {tuple(A.shape)}")
    mass = A.detach().flatten(1).sum(-1)
    if bool((mass <= 0).any()):
        raise ValueError(f"densities[{int((mass <= 0).nonzero()[0])}] is zero everywhere; each input needs a positive mass")
    grid = Grid(tuple(A.shape[1:]), as_extent(extent, A.dim() - 1))
    return A, grid


def _barycenter_update(op: GridSoftmin, eps: float, log_a: torch.Tensor, w: torch.Tensor,
                       pot: BarycenterPotentials):
    """One update of the iterative Bregman projections (see the module docstring); returns the new
    potentials and the marginal error of the ones it started from."""
    d = op.grid.dim
    wv = w.view(-1, *([1] * d))
    f = -eps * op.logconv(eps, pot.log_density + pot.g / eps)
    g = -eps * op.logconv(eps, log_a + f / eps)
    beta = pot.log_density.exp()
    err = (w * (beta * ((pot.g - g) / eps).exp().sub(1).abs()).flatten(1).sum(-1)).sum()
    log_b = -(wv * g).sum(0) / eps  # plain: d = 1
    q = None
    if pot.q is not None:
        log_d = pot.log_density + pot.q / eps
        log_b = log_b + log_d
        for inner in range(DEBIAS_STEPS):
            conv_d = op.logconv(eps, log_d)
            if inner == 0:
                err = err + (log_b.exp() * (log_d + conv_d - log_b).exp().sub(1).abs()).sum()
            log_d = (log_d + log_b - conv_d) / 2
        q = eps * (log_d - log_b)
    return BarycenterPotentials(f, g, q, log_b), float(err)


def iterate_barycenter_grid(densities, weights=None, *, blur=0.05, scaling=0.5, debias=True, tol=BARYCENTER_TOL,
                            extent=None, max_iter=2000, level_tol=BARYCENTER_LEVEL_TOL,
                            warm_start: Optional[BarycenterPotentials] = None) -> Iterator[GridBarycenter]:
    """Yield a :class:`GridBarycenter` per update of :func:`barycenter_grid` (same arguments).

    ``warm_start``: the ``potentials`` of an earlier state on the same grid (other weights, say):
    only the last ``WARM_TEMPERATURES`` temperatures run, from there. It saves little when the weights
    move (64², three shapes: ~125 updates to 1e-3 vs ~100 cold) and carries the debiased barycenter's
    ringing modes along, so the barycenter demo restarts cold.
    """
    A, grid = _grid_inputs(densities, extent)
    blur = checks.positive_number("blur", blur)
    scaling = checks.scaling_factor(scaling)
    tol = checks.positive_number("tol", tol)
    level_tol = checks.positive_number("level_tol", level_tol, allow_none=True)
    max_iter = checks.integer("max_iter", max_iter)
    debias = checks.flag("debias", debias)
    w = barycentric_weights(weights, A.shape[0], WORK_DTYPE, A.device)
    work = A.detach().to(WORK_DTYPE)
    log_a = (work / work.flatten(1).sum(-1).view(-1, *([1] * grid.dim))).log()
    op = GridSoftmin(grid, A.device)
    eps_list = anneal_schedule(grid.diameter, blur, scaling, 2)
    if warm_start is not None:
        pot = _checked_warm_start(warm_start, work.shape, debias)
        eps_list = eps_list[-WARM_TEMPERATURES:]
    else:
        zeros = torch.zeros_like(work)
        pot = BarycenterPotentials(zeros, zeros, torch.zeros_like(work[0]) if debias else None,
                                   torch.full_like(work[0], -math.log(grid.size)))  # uniform β
    step = 0
    for k, eps in enumerate(eps_list):
        last = k == len(eps_list) - 1
        limit = tol if last else level_tol
        room = max_iter - step - (len(eps_list) - 1 - k)  # one update per temperature left, at least
        for extra in range(1, max_iter + 1):
            pot, err = _barycenter_update(op, eps, log_a, w, pot)
            stop = limit is None or err <= limit or extra >= room or (not last and extra > LEVEL_MAX_UPDATES)
            final = last and stop
            beta = pot.log_density.exp()
            yield GridBarycenter(step, eps, eps ** 0.5, beta.to(A.dtype), float(beta.sum()), err, pot, grid,
                                 final=final, converged=(err <= tol) if final else None)
            step += 1
            if stop:
                break


def _checked_warm_start(pot, shape, debias: bool) -> BarycenterPotentials:
    if not isinstance(pot, BarycenterPotentials):
        raise TypeError("warm_start must be the .potentials of an earlier GridBarycenter state")
    if tuple(pot.f.shape) != tuple(shape) or (pot.q is not None) != debias:
        raise ValueError(f"warm_start was computed for {tuple(pot.f.shape)} inputs with debias={pot.q is not None}; "
                         f"these are {tuple(shape)} with debias={debias}")
    return pot


def barycenter_grid(densities, weights=None, *, blur=0.05, scaling=0.5, debias=True, tol=BARYCENTER_TOL, extent=None,
                    max_iter=2000, level_tol=BARYCENTER_LEVEL_TOL, warm_start=None) -> GridBarycenter:
    r"""Wasserstein barycenter of K densities on one grid; returns the last :class:`GridBarycenter`
    (its ``density`` is the barycenter).

    Args:
        densities: (K, n_1), (K, n_1, n_2) or (K, n_1, n_2, n_3) non-negative masses, any sizes; each
            is normalised to mass 1.
        weights: barycentric weights (K,), >= 0, summing to 1; uniform when None.
        blur: σ > 0 in the units of ``extent``, ε = σ² (cost |x - y|²/2).
        debias: the debiased barycenter (sharp; default) or the plain entropic one (blurred by ~ε).
        tol: stop at the last ε once the marginal error (L1) is at most ``tol``.
        extent: the box of the grid (as in :func:`otlab.core.solve_grid`).
        max_iter: cap on the updates (one per temperature at least); ``converged`` is False if it
            is reached first.
        level_tol: extra updates at each temperature while the error is above it (None: one each).
        warm_start: potentials of an earlier result (see :func:`iterate_barycenter_grid`).
    """
    state = None
    for state in iterate_barycenter_grid(densities, weights, blur=blur, scaling=scaling, debias=debias, tol=tol,
                                         extent=extent, max_iter=max_iter, level_tol=level_tol, warm_start=warm_start):
        pass
    return state


# -- free support ---------------------------------------------------------------------------------------------

def _clouds(clouds, masses):
    if isinstance(clouds, torch.Tensor) and clouds.dim() == 3:
        clouds = list(clouds)
    if not isinstance(clouds, (list, tuple)) or len(clouds) == 0:
        raise TypeError("clouds must be a non-empty list of (N_k, D) point clouds or a (K, N, D) tensor")
    points = [checks.as_points(f"clouds[{k}]", c) for k, c in enumerate(clouds)]
    for k, c in enumerate(points):
        if c.dim() != 2:
            raise ValueError(f"clouds[{k}] must have shape (N, D), got {tuple(c.shape)}")
        checks.check_pair(points[0], c, "clouds[0]", f"clouds[{k}]")
    if masses is None:
        masses = [None] * len(points)
    if len(masses) != len(points):
        raise ValueError(f"masses must give one weight vector per cloud ({len(points)}), got {len(masses)}")
    weights = [checks.as_weights(f"masses[{k}]", m, c, f"clouds[{k}]") for k, (m, c) in enumerate(zip(masses, points))]
    return points, [m / m.sum() for m in weights]


def iterate_barycenter_points(clouds, weights=None, *, n_support=None, blur=0.05, steps=20, tol=1e-5, masses=None,
                              init=None, debias=True, scaling=0.5) -> Iterator[torch.Tensor]:
    """Yield the support (n_support, D) after each fixed-point step of :func:`barycenter_points`."""
    points, masses = _clouds(clouds, masses)
    w = barycentric_weights(weights, len(points), points[0].dtype, points[0].device)
    steps = checks.integer("steps", steps)
    tol = checks.positive_number("tol", tol)
    if init is not None:
        x = checks.as_points("init", init)
        checks.check_pair(x, points[0], "init", "clouds[0]")
    else:
        src = points[int(w.argmax())]
        n_support = checks.integer("n_support", max(c.shape[0] for c in points) if n_support is None else n_support)
        pick = torch.linspace(0, src.shape[0] - 1, n_support).round().long()
        x = src[pick]
    x = x.detach().clone()
    everything = torch.cat([x] + points).detach()
    scale = float((everything.amax(0) - everything.amin(0)).norm())
    for _ in range(steps):
        new = sum(float(wk) * solve(x, y, None, b.detach(), blur=blur, debias=debias, scaling=scaling).brenier_map()
                  for wk, y, b in zip(w, points, masses) if float(wk) > 0)
        moved = float((new - x).norm(dim=-1).max())
        x = new.detach()
        yield x
        if moved <= tol * max(scale, blur):
            return


def barycenter_points(clouds, weights=None, *, n_support=None, blur=0.05, steps=20, tol=1e-5, masses=None, init=None,
                      debias=True, scaling=0.5) -> torch.Tensor:
    r"""Free-support Wasserstein barycenter of point clouds: the support X (n_support, D), uniform weights.

    Args:
        clouds: K clouds (N_k, D) (a list, or a (K, N, D) tensor).
        weights: barycentric weights (K,) >= 0 summing to 1; uniform when None.
        n_support: number of support points (default the largest N_k); they start at points of the
            cloud with the largest weight, evenly picked (or at ``init``).
        blur, scaling, debias: of the Sinkhorn solves (cost |x - y|²/2, ε = blur²).
        steps: at most this many fixed-point steps :math:`X \leftarrow \sum_k w_k T_k(X)`.
        tol: stop when no point moved more than ``tol`` times the diameter of the data.
        masses: optional point weights of each cloud (normalised to 1).
    """
    x = None
    for x in iterate_barycenter_points(clouds, weights, n_support=n_support, blur=blur, steps=steps, tol=tol,
                                       masses=masses, init=init, debias=debias, scaling=scaling):
        pass
    return x
