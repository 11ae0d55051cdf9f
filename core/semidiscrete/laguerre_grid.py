r"""Laguerre cells of any cost on a pixel (2D) or voxel (3D) grid, and their volumes by Newton.

Site i has the cost :math:`c_i(y) = s_i\, q_i(y)^{p/2}`, :math:`q_i(y) = (y - x_i)^\top A_i (y - x_i)`,
with :math:`A_i` symmetric positive definite (``metrics``; the identity by default: anisotropic cells
when not), :math:`s_i > 0` (``scale``) and an exponent :math:`p_i` (``power``, one for all or one per
site: p ≫ 2 hard particles, p < 2
soft ones). Pixel y (a grid node) belongs to :math:`\arg\min_i c_i(y) - w_i`. Hard pixel counts are
piecewise constant in w (a Newton loop on them oscillates) and coarse, so the volumes and their
derivatives use the **soft assignment** at temperature τ,

.. math::
    \pi_i(y) = \frac{e^{(w_i - c_i(y))/\tau}}{\sum_j e^{(w_j - c_j(y))/\tau}}, \qquad
    V_i = h^D \sum_y \pi_i(y), \qquad
    \frac{\partial V_i}{\partial w_j} = \frac{h^D}{\tau} \sum_y \pi_i(y)\,\big(\delta_{ij} - \pi_j(y)\big),

(:math:`h^D` the volume of a pixel; with a ``density`` ρ on the grid, the **masses**
:math:`\mu_i = \sum_y \rho(y)\,\pi_i(y) / \sum_y \rho(y)` and their derivatives carry the factor ρ(y)), kept to the ``TOP_K`` lowest :math:`c_i - w_i` per pixel (the
others weigh less than :math:`e^{-\text{gap}/\tau}`). τ defaults to the mean over the cells of the change of their cost
across one pixel at half a cell's radius, so the soft boundary is about a pixel wide. The soft
centroids are :math:`h^D \sum_y \pi_i(y)\, y / V_i`. The weights solving :math:`V_i / \sum_j V_j = \nu_i`
come from damped Newton steps with this Hessian (sparse, the last weight fixed), as for the exact
path (:mod:`otlab.core.semidiscrete.transport`). Costs are computed by chunks of pixels (a few million entries
at a time) with one matrix product, :math:`q_i(y) = y^\top A_i y - 2\, y^\top A_i x_i + x_i^\top A_i x_i`
in float32, only to pick each pixel's ``TOP_K`` candidates; their scores are then recomputed in float64
from :math:`y - x_i`, so labels and volumes do not carry the float32 cancellation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Optional

import numpy as np
import scipy.sparse
import torch

from .. import checks
from ..grids.softmin import Grid, as_extent
from .transport import as_fill, as_masses, damped_newton

#: Cells kept per pixel in the soft assignment (2D, 3D).
TOP_K = {2: 8, 3: 12}
#: Cost entries computed at once.
CHUNK_ENTRIES = 1 << 22
#: Largest N² for which the Hessian is summed in a dense array (else a sparse one).
DENSE_HESSIAN = 1 << 24
#: The Hessian is one dense product SᵀS (P·N² operations) when N ≤ this many times the candidates per
#: node k, else a sum over the k² candidate pairs (P·k² scattered additions, ~150 times slower each).
DENSE_PER_CANDIDATE = 12
#: Step halvings before a Newton step is given up.
MAX_HALVINGS = 30


@dataclass
class LaguerreGrid:
    """Laguerre cells on a grid: ``labels`` (*shape) the cell of each pixel (hard argmin),
    ``volumes`` (N,) soft volumes (sum: the box's volume), ``masses`` (N,) soft fractions of the
    density (= volumes / box volume when uniform), ``centroids`` (N, D) soft centroids of the density,
    ``temperature`` τ, ``grid``; torch float64 / int64 on the sites' device."""

    labels: torch.Tensor
    volumes: torch.Tensor
    masses: torch.Tensor
    centroids: torch.Tensor
    temperature: float
    grid: Grid


@dataclass
class LaguerreGridResult:
    """Weights giving every cell its mass: ``weights`` (N,), ``cells`` (:class:`LaguerreGrid`),
    ``n_iter`` Newton steps, ``error`` the largest relative mass error, ``converged``."""

    weights: torch.Tensor
    cells: LaguerreGrid
    n_iter: int
    error: float
    converged: bool


class _Costs:
    """Checked sites, metrics, scales and powers; ``scores32`` / ``scores_at`` give w_i - c_i(y) at grid nodes.
    With ``void``, a last site of scale 0 (cost 0) is appended; ``period`` (D,) wraps differences."""

    def __init__(self, sites, metrics, power, scale, dim, void=False, period=None):
        x = checks.real_tensor("sites", sites, "points").detach().to(torch.float64)
        if x.dim() != 2 or x.shape[1] != dim or x.shape[0] < 1:
            raise ValueError(f"sites must be an (N, {dim}) array for a {dim}D grid, got shape {tuple(x.shape)}")
        if not bool(torch.isfinite(x).all()):
            raise ValueError("sites has NaN or infinite coordinates")
        n = x.shape[0]
        self.isotropic = metrics is None
        if metrics is None:
            A = torch.eye(dim, dtype=torch.float64, device=x.device).expand(n, dim, dim)
        else:
            A = checks.real_tensor("metrics", metrics, "matrices").detach().to(dtype=torch.float64, device=x.device)
            if A.shape != (n, dim, dim):
                raise ValueError(f"metrics must have shape ({n}, {dim}, {dim}), one matrix per site, got {tuple(A.shape)}")
            if not bool(torch.isfinite(A).all()) or not torch.allclose(A, A.transpose(1, 2), atol=1e-12, rtol=1e-9):
                raise ValueError("metrics must be finite symmetric matrices")
            if bool((torch.linalg.eigvalsh(A)[:, 0] <= 0).any()):
                raise ValueError("metrics must be positive definite")
        if isinstance(power, (int, float)) and not isinstance(power, bool):
            self.power = checks.positive_number("power", power)
            p = torch.full((n,), self.power, dtype=torch.float64, device=x.device)
        else:  # one exponent per site; ``power`` stays the common one when they are all equal
            p = per_site("power", power, n, x.device, positive=True, alternative="a number > 0 or ")
            self.power = float(p[0]) if bool((p == p[0]).all()) else None
        self.p = p
        s = torch.ones(n, dtype=torch.float64, device=x.device) if scale is None else \
            per_site("scale", scale, n, x.device, positive=True)
        self.n_sites = n
        if void:  # cost 0 everywhere: scale 0 at an arbitrary point, unit metric, exponent 2
            x = torch.cat([x, x.new_zeros(1, dim)])
            A = torch.cat([A, torch.eye(dim, dtype=torch.float64, device=x.device)[None]])
            s, p, n = torch.cat([s, s.new_zeros(1)]), torch.cat([p, p.new_full((1,), 2.0)]), n + 1
            self.p = p
        self.x, self.A, self.s, self.n = x, A, s, n
        self.period = None if period is None else torch.as_tensor(period, dtype=torch.float64, device=x.device)
        iu = torch.triu_indices(dim, dim)
        self.iu = iu
        Ax = torch.einsum("nij,nj->ni", A, x)
        # q_i(y) = [y_a y_b (a <= b), y, 1] . [A_ab (x2 off the diagonal), -2 A x, x^T A x]
        self.coef = torch.cat([(A * (2 - torch.eye(dim, dtype=torch.float64, device=x.device)))[:, iu[0], iu[1]],
                               -2 * Ax, (Ax * x).sum(1, keepdim=True)], 1)  # (N, features)

    def features(self, Y: torch.Tensor) -> torch.Tensor:
        return torch.cat([Y[:, self.iu[0]] * Y[:, self.iu[1]], Y, torch.ones_like(Y[:, :1])], 1)

    def wrap(self, d: torch.Tensor, L=None) -> torch.Tensor:
        """Differences y - x (…, D) of points in the box as their shortest images (unchanged when not
        periodic); ``L`` the period when d is one axis only."""
        if self.period is None:
            return d
        L = self.period.to(d.dtype) if L is None else L
        return d - L * torch.round(d / L)  # the nearest image (ties at ±L/2 stay: round half to even)

    def scores32(self, Y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """w_i - c_i(y) (P, N) in float32, to select candidates (power 2: one matrix product)."""
        if self.period is not None:
            if self.isotropic:  # per axis, a table over the few distinct node coordinates, then gathered
                q = 0
                for a, L in enumerate(self.period):
                    values, at = torch.unique(Y[:, a], return_inverse=True)
                    q = q + self.wrap(values[:, None] - self.x[None, :, a], float(L)).square().float()[at]
            else:
                d = self.wrap(Y.float()[:, None, :] - self.x.float()[None])
                q = torch.einsum("pna,nab,pnb->pn", d, self.A.float(), d)
            return w.float() - self.s.float() * (q if self.power == 2 else q.pow(self.half_power32()))
        F = self.features(Y).float()
        if self.power == 2:
            coef = -self.s[:, None] * self.coef
            coef[:, -1] += w
            return F @ coef.float().T
        q = (F @ self.coef.float().T).clamp_min_(0)
        return w.float() - self.s.float() * q.pow_(self.half_power32())

    def half_power32(self):
        """p/2: one number when all sites share p (the void, of scale 0, takes any), else (N,) float32."""
        return self.power / 2 if self.power is not None else (self.p / 2).float()

    def scores_at(self, Y: torch.Tensor, idx: torch.Tensor, w: torch.Tensor):
        """w_i - c_i(y) (P, k) in float64 for the sites idx (P, k) of each node, and the differences
        y - x_i (P, k, D) (shortest images on a torus)."""
        d = self.wrap(Y[:, None, :] - self.x[idx])
        if self.isotropic:
            q = d.square().sum(-1)
        else:
            q = torch.einsum("pka,pkab,pkb->pk", d, self.A[idx], d).clamp_min(0)
        if self.power != 2:
            q = q.pow(self.power / 2 if self.power is not None else self.p[idx] / 2)
        return w[idx] - self.s[idx] * q, d


def _grid(shape, extent) -> Grid:
    shape = tuple(int(k) for k in shape) if hasattr(shape, "__len__") else None
    if not shape or len(shape) not in (2, 3) or min(shape) < 1:
        raise ValueError(f"shape must be 2 or 3 positive sizes (pixels or voxels per axis), got {shape}")
    return Grid(shape, as_extent(extent, len(shape)))


def default_temperature(costs: _Costs, grid: Grid) -> float:
    """τ: the mean over the cells of the cost change across one pixel at half a cell's radius (the median
    would follow the stiffer species when the exponents differ, a temperature at which Newton stalls)."""
    box = math.prod(hi - lo for lo, hi in grid.extent)
    dim = grid.dim
    h = (box / math.prod(grid.shape)) ** (1 / dim)
    radius = 0.5 * (box / costs.n_sites) ** (1 / dim)
    n = costs.n_sites
    stretch = torch.linalg.eigvalsh(costs.A[:n]).mean(1).sqrt()  # a typical length unit of each metric
    p = costs.p[:n]
    change = costs.s[:n] * ((stretch * (radius + h)) ** p - (stretch * radius) ** p)
    return float(change.mean())


def _sweep(costs: _Costs, grid: Grid, w: torch.Tensor, tau: float, rho: Optional[torch.Tensor] = None):
    """At weights w: labels, soft volumes, soft masses (fractions of ρ, uniform when ``rho`` is None),
    soft centroids of ρ, and the soft assignment per chunk of nodes — (candidates (P, k), ρ(y) π (P, k),
    π (P, k)) — from which :func:`_hessian` builds the Hessian only when a Newton step needs it."""
    Y = grid.nodes(torch.float64, costs.x.device).reshape(-1, grid.dim)
    k = min(TOP_K[grid.dim], costs.n)
    cell = math.prod(hi - lo for lo, hi in grid.extent) / len(Y)
    r = torch.full((len(Y),), 1.0 / len(Y), dtype=torch.float64, device=Y.device) if rho is None else rho
    labels = torch.empty(len(Y), dtype=torch.int64, device=Y.device)
    vol = torch.zeros(costs.n, dtype=torch.float64, device=Y.device)
    mass = torch.zeros_like(vol)
    mom = torch.zeros(costs.n, grid.dim, dtype=torch.float64, device=Y.device)
    soft = []
    step = max(1, CHUNK_ENTRIES // costs.n)
    for start in range(0, len(Y), step):
        y, ry = Y[start:start + step], r[start:start + step, None]
        idx = costs.scores32(y, w).topk(k, dim=1).indices  # candidates, then exact scores in float64
        score, disp = costs.scores_at(y, idx, w)
        labels[start:start + step] = idx.gather(1, score.argmax(1, keepdim=True))[:, 0]
        pi = torch.softmax(score / tau, dim=1)
        flat = idx.reshape(-1)
        vol += torch.bincount(flat, pi.reshape(-1), minlength=costs.n)  # bincount: faster than index_add_
        rpi = ry * pi
        mass += torch.bincount(flat, rpi.reshape(-1), minlength=costs.n)
        disp = disp.reshape(-1, grid.dim)
        for a in range(grid.dim):
            mom[:, a] += torch.bincount(flat, rpi.reshape(-1) * disp[:, a], minlength=costs.n)
        soft.append((idx, rpi, pi))
    centroids = costs.x + torch.where(mass[:, None] > 0, mom / mass.clamp_min(1e-300)[:, None], 0.0)
    if costs.period is not None:
        lo = torch.tensor([e[0] for e in grid.extent], dtype=torch.float64, device=Y.device)
        centroids = lo + torch.remainder(centroids - lo, costs.period)
    labels = torch.where(labels == costs.n_sites, -1, labels)  # the void
    return labels.reshape(grid.shape), vol * cell, mass, centroids, soft


def _hessian(soft, mass: torch.Tensor, tau: float) -> scipy.sparse.csr_matrix:
    r"""The Jacobian of the soft masses, :math:`(\operatorname{diag}\mu - M)/\tau` with
    :math:`M_{ij} = \sum_y \rho(y)\, \pi_i(y)\, \pi_j(y)`, from a sweep's ``soft`` chunks. Few sites
    (N ≤ DENSE_PER_CANDIDATE · k): M = SᵀS with S (P, N) the dense ρπ-by-π rows (one matrix product);
    else a sum over the k² candidate pairs of every node (bincount)."""
    n = len(mass)
    k = soft[0][0].shape[1]
    if n <= DENSE_PER_CANDIDATE * k:
        M = mass.new_zeros(n, n)
        for idx, rpi, pi in soft:
            M += idx.new_zeros(len(idx), n, dtype=mass.dtype).scatter_(1, idx, rpi).T @ \
                idx.new_zeros(len(idx), n, dtype=mass.dtype).scatter_(1, idx, pi)
        M = scipy.sparse.csr_matrix(M.cpu().numpy())
    else:
        key = torch.cat([(idx[:, :, None] * n + idx[:, None, :]).reshape(-1) for idx, _, _ in soft])
        val = torch.cat([(rpi[:, :, None] * pi[:, None, :]).reshape(-1) for _, rpi, pi in soft])
        if n * n <= DENSE_HESSIAN:
            M = scipy.sparse.csr_matrix(torch.bincount(key, val, minlength=n * n).reshape(n, n).cpu().numpy())
        else:
            M = scipy.sparse.coo_matrix((val.cpu().numpy(), ((key // n).cpu().numpy(), (key % n).cpu().numpy())),
                                        shape=(n, n)).tocsr()
    return (scipy.sparse.diags(mass.cpu().numpy()) - M) / tau


def _density(density, grid: Grid, device) -> Optional[torch.Tensor]:
    """``density`` (the grid's shape, >= 0, some mass) normalised to sum 1 and flattened, or None."""
    if density is None:
        return None
    rho = checks.real_tensor("density", density, "numbers").detach().to(dtype=torch.float64, device=device)
    if tuple(rho.shape) != grid.shape:
        raise ValueError(f"density must have the grid's shape {grid.shape}, got {tuple(rho.shape)}")
    if not bool(torch.isfinite(rho).all()) or bool((rho < 0).any()) or not float(rho.sum()) > 0:
        raise ValueError("density must be finite, >= 0 and not zero everywhere")
    return (rho / rho.sum()).reshape(-1)


def _setup(sites, metrics, power, scale, shape, extent, fill, periodic, temperature):
    """Checked grid, costs (with the void when ``fill`` < 1, wrapped when ``periodic``), fill and τ."""
    grid = _grid(shape, extent)
    fill = as_fill(fill)
    period = [hi - lo for lo, hi in grid.extent] if checks.flag("periodic", periodic) else None
    costs = _Costs(sites, metrics, power, scale, grid.dim, void=fill < 1, period=period)
    tau = default_temperature(costs, grid) if temperature is None else checks.positive_number("temperature", temperature)
    return grid, costs, fill, tau


def _cells_of(state, costs: _Costs, tau: float, grid: Grid) -> LaguerreGrid:
    """The sites' part of a sweep's state (the void dropped)."""
    labels, vol, mass, cen, _ = state
    n = costs.n_sites
    return LaguerreGrid(labels, vol[:n], mass[:n], cen[:n], tau, grid)


def laguerre_grid(sites, weights=None, *, metrics=None, power=2, scale=None, shape=(256, 256), extent=None,
                  density=None, temperature=None, fill=1.0, periodic=False) -> LaguerreGrid:
    r"""Laguerre cells of the costs :math:`s_i\,((y - x_i)^\top A_i (y - x_i))^{p/2}` on a 2D or 3D grid.

    Args:
        sites: (N, D) points, D = len(shape).
        weights: (N,) the :math:`w_i` of :math:`c_i(y) - w_i` (zeros when None).
        metrics: (N, D, D) symmetric positive definite :math:`A_i` (identity when None).
        power: p > 0, or (N,) exponents, one per site. scale: (N,) :math:`s_i > 0` (ones when None).
        shape: pixels (or voxels) per axis; extent: the box, as for :class:`otlab.core.Grid`.
        density: optional ρ >= 0 on the grid (its shape; axis 0 along x) for ``masses`` and centroids.
        temperature: τ of the soft volumes (see the module docstring; a pixel wide when None).
        fill: < 1 adds the void (weight 0; label -1); periodic: costs modulo the box.
    """
    grid, costs, fill, tau = _setup(sites, metrics, power, scale, shape, extent, fill, periodic, temperature)
    w = _weights(weights, costs)
    if costs.n > costs.n_sites:
        w = torch.cat([w, w.new_zeros(1)])
    state = _sweep(costs, grid, w, tau, _density(density, grid, costs.x.device))
    return _cells_of(state, costs, tau, grid)


def per_site(name: str, value, n: int, device, positive: bool = False, alternative: str = "") -> torch.Tensor:
    """``value`` as (n,) finite float64 numbers (> 0 if ``positive``), one per site, or a ValueError naming
    ``name`` (``alternative``: what else the argument may be, for the message)."""
    v = checks.real_tensor(name, value, "numbers").detach().to(dtype=torch.float64, device=device)
    if v.shape != (n,) or not bool(torch.isfinite(v).all()) or (positive and bool((v <= 0).any())):
        raise ValueError(f"{name} must be {alternative}({n},) finite numbers{' > 0' if positive else ''}, one per site")
    return v


def _weights(weights, costs: _Costs) -> torch.Tensor:
    if weights is None:
        return torch.zeros(costs.n_sites, dtype=torch.float64, device=costs.x.device)
    return per_site("weights", weights, costs.n_sites, costs.x.device)


def ball_radius(volume, dim: int):
    """The radius of the ball of ``volume`` (a number or a tensor) in dimension 2 or 3."""
    return (volume / (math.pi if dim == 2 else 4 * math.pi / 3)) ** (1 / dim)


def _cold_start(costs: _Costs, volumes: torch.Tensor) -> torch.Tensor:
    r"""Weights (N,) making each cell the ball of its target volume in its metric,
    :math:`w_i = s_i r_i^{p_i}` with :math:`\omega_D r_i^D / \sqrt{\det A_i} = V_i`."""
    n = costs.n_sites
    r = ball_radius(volumes * torch.linalg.det(costs.A[:n]).sqrt(), costs.x.shape[1])
    return costs.s[:n] * r ** costs.p[:n]


def iterate_laguerre_grid(sites, masses=None, *, metrics=None, power=2, scale=None, shape=(256, 256), extent=None,
                          density=None, tol=0.01, weights0=None, temperature=None, max_iter=50, fill=1.0,
                          periodic=False) -> Iterator[LaguerreGridResult]:
    """Yield a :class:`LaguerreGridResult` per damped Newton step of :func:`solve_laguerre_grid`."""
    grid, costs, fill, tau = _setup(sites, metrics, power, scale, shape, extent, fill, periodic, temperature)
    nu = as_masses(masses, costs.n_sites)
    rho = _density(density, grid, costs.x.device)
    tol = checks.positive_number("tol", tol)
    max_iter = checks.integer("max_iter", max_iter, minimum=0)
    device, n = costs.x.device, costs.n_sites

    def masses_at(w):
        state = _sweep(costs, grid, torch.as_tensor(w, device=device), tau, rho)
        return state[2].cpu().numpy(), state

    if fill < 1:  # the void's weight is appended, and fixed at 0
        if weights0 is None:
            box = math.prod(hi - lo for lo, hi in grid.extent)
            w = _cold_start(costs, torch.as_tensor(nu * fill * box, device=device)).cpu().numpy()
        else:
            w = _weights(weights0, costs).cpu().numpy()
        w, nu = np.append(w, 0.0), np.append(nu * fill, 1 - fill)
    else:
        w = _weights(weights0, costs).cpu().numpy()
    for s in damped_newton(masses_at, lambda state: _hessian(state[4], state[2], tau), w, masses_at(w), nu,
                           tol=tol, max_iter=max_iter,
                           what="Laguerre cells on a grid", ridge=1e-12, halvings=MAX_HALVINGS):
        yield LaguerreGridResult(torch.as_tensor(s.weights[:n], device=device),
                                 _cells_of(s.payload, costs, tau, grid), s.step, s.error, bool(s.converged))


def solve_laguerre_grid(sites, masses=None, *, metrics=None, power=2, scale=None, shape=(256, 256), extent=None,
                        density=None, tol=0.01, weights0=None, temperature=None, max_iter=50, fill=1.0,
                        periodic=False) -> LaguerreGridResult:
    r"""Weights whose Laguerre cells on the grid hold the prescribed masses (soft, to ``tol`` relative).

    Same cells as :func:`laguerre_grid`; ``masses`` (N,) > 0 are the target fractions of the box's
    volume, or of ``density`` when given (uniform when None); damped Newton on the soft masses from
    ``weights0`` (zeros when None; with ``fill`` < 1, the balls of the target volumes). ``fill`` < 1:
    the cells fill that fraction of the box (or of the density's mass), the void the rest (label -1);
    ``periodic``: on the torus of the box.
    """
    res = None
    for res in iterate_laguerre_grid(sites, masses, metrics=metrics, power=power, scale=scale, shape=shape,
                                     extent=extent, density=density, tol=tol, weights0=weights0,
                                     temperature=temperature, max_iter=max_iter, fill=fill, periodic=periodic):
        pass
    return res
