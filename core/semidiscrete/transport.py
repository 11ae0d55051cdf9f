r"""Semi-discrete optimal transport in the plane by damped Newton on the power diagram, and Lloyd steps.

Transport a density ρ on a convex domain Ω (uniform, or an image) to N sites :math:`x_i` with masses
:math:`\nu_i` (summing to 1), for the cost :math:`|x - y|^2`: the optimal map sends each Laguerre cell
:math:`\mathrm{Lag}_i(w)` (:mod:`otlab.core.semidiscrete.power_diagrams`) to :math:`x_i`, for the weights w that
maximise the concave dual

.. math::
    \Phi(w) = \sum_i w_i \nu_i + \int_\Omega \min_i \big(|x_i - y|^2 - w_i\big)\, \rho(y)\, dy,
    \qquad \nabla_i \Phi = \nu_i - \mu_i(w), \quad \mu_i(w) = \int_{\mathrm{Lag}_i(w)} \rho,

(ρ normalised to mass 1), i.e. solve :math:`\mu(w) = \nu`. Its Jacobian is the weighted graph Laplacian
of the diagram,

.. math::
    \frac{\partial \mu_i}{\partial w_j} = -\frac{\int_{\mathrm{Lag}_i \cap \mathrm{Lag}_j} \rho\, ds}{2\,|x_i - x_j|}
    \ (j \ne i \text{ neighbours}), \qquad
    \frac{\partial \mu_i}{\partial w_i} = -\sum_{j \ne i} \frac{\partial \mu_i}{\partial w_j},

singular along the constant vector (a common shift of w changes nothing), so the Newton system is solved
with the last weight fixed (sparse LU). Damping (Kitagawa, Mérigot, Thibert 2019): the step
:math:`w + \tau\delta` is halved until every cell keeps at least
:math:`\epsilon_0 = \tfrac12 \min(\min_i \mu_i(w^0), \min_i \nu_i)` and
:math:`\lVert \mu - \nu \rVert_\infty` drops by the factor :math:`1 - \tau/2`; convergence is then global,
and quadratic near the solution. The stopping error is the largest relative mass error
:math:`\max_i |\mu_i - \nu_i| / \nu_i`.

**Void** (``fill`` < 1): the cells fill that fraction of Ω, the rest is a void phase of constant cost
(:mod:`otlab.core.semidiscrete.power_diagrams`) whose weight stays 0 (it fixes the gauge instead of the last site).
Cell i is then also bounded by the circle of radius :math:`r_i = \sqrt{w_i}`, which moves by
:math:`\delta w_i / (2 r_i)`, so the void is one more node of the Laplacian, joined to each cell by
:math:`\partial\mu_i/\partial w_i \mathrel{+}= a_i / (2 r_i |\Omega|)`, :math:`a_i` the cell's arc length.
The start is the disks of the target areas, :math:`w_i = \nu_i\,\mathrm{fill}\,|\Omega| / \pi`.
``periodic=True`` solves on the torus of a rectangle.

**Lloyd** (:func:`lloyd`): centroidal power diagrams with prescribed masses — solve the masses, move each
site to its cell's centroid (of ρ), repeat, the weights warm-starting the next solve.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Iterator, Optional

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
import torch

from .. import checks
from .polygons import as_array, polygon_area
from .power_diagrams import (PowerDiagram, as_pixel_density, as_site_weights, as_sites, check_void_periodic,
                             convex_domain, evaluate)
from ..clouds.sinkhorn import ConvergenceWarning

#: Step halvings before the damped Newton gives up on a step.
MAX_HALVINGS = 40
#: A warm start leaving a cell less than this fraction of its target mass restarts cold (a nearly empty cell
#: makes the damping floor, and the Hessian's row, nearly zero).
WARM_FLOOR = 1e-3


@dataclass
class SemiDiscreteState:
    """One Newton step: ``weights`` (N,), ``diagram`` (:class:`PowerDiagram` at these weights),
    ``error`` the largest relative mass error, ``step`` (0: the start), ``tau`` the damping of the step
    that led here (1: a full Newton step; None at the start); ``final``/``converged`` on the last state."""

    step: int
    weights: torch.Tensor
    diagram: PowerDiagram
    error: float
    tau: Optional[float] = None
    final: bool = False
    converged: Optional[bool] = None


@dataclass
class SemiDiscreteResult:
    """The solution: ``sites`` (N, 2), ``weights`` (N,), ``areas`` (N,) geometric areas of the cells,
    ``masses`` (N,) their ρ-masses (→ the target masses), ``centroids`` (N, 2) (of ρ), ``diagram``,
    ``n_iter`` Newton steps, ``error`` (max relative mass error), ``converged``."""

    sites: torch.Tensor
    weights: torch.Tensor
    areas: torch.Tensor
    masses: torch.Tensor
    centroids: torch.Tensor
    diagram: PowerDiagram
    n_iter: int
    error: float
    converged: bool


def as_masses(masses, n: int) -> np.ndarray:
    """Target masses (N,) > 0 normalised to sum 1 (uniform when None), or raise naming ``masses``."""
    if masses is None:
        return np.full(n, 1.0 / n)
    m = as_array("masses", masses, f"an array of {n} positive numbers")
    if m.shape != (n,):
        raise ValueError(f"masses must have shape ({n},), one per site, got {m.shape}")
    if not np.isfinite(m).all() or (m <= 0).any():
        raise ValueError("masses must be finite and > 0 (every cell gets some mass)")
    return m / m.sum()


def hessian(diagram: PowerDiagram) -> scipy.sparse.csr_matrix:
    r"""The Jacobian :math:`\partial\mu_i/\partial w_j` (N, N) of the cell masses (see the module docstring);
    (N + 1, N + 1) with a void, the void last."""
    n = len(diagram.sites)
    ij = diagram.neighbours.numpy()
    off = -diagram.edge_masses.numpy() / (2 * np.linalg.norm(diagram.edge_vectors.numpy(), axis=1))
    if diagram.void is not None:  # the void: node n, joined to every cell along its arc
        r = diagram.radii.numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(r > 0, diagram.arcs.numpy() / (2 * r), 0.0) / polygon_area(diagram.domain.numpy())
        ij = np.concatenate([ij, np.stack([np.arange(n), np.full(n, n)], 1)])
        off = np.concatenate([off, -a])
        n += 1
    rows = np.concatenate([ij[:, 0], ij[:, 1], np.arange(n)])
    cols = np.concatenate([ij[:, 1], ij[:, 0], np.arange(n)])
    diag = -np.bincount(ij[:, 0], off, minlength=n) - np.bincount(ij[:, 1], off, minlength=n)
    return scipy.sparse.csr_matrix((np.concatenate([off, off, diag]), (rows, cols)), shape=(n, n))


@dataclass
class NewtonStep:
    """One state of :func:`damped_newton`: ``weights`` (N,) numpy, ``payload`` what ``evaluate`` returned
    with the masses, ``error`` the largest relative mass error, ``tau`` the damping of the step that led here
    (None at the start); ``converged`` is set on the ``final`` state only."""

    step: int
    weights: np.ndarray
    payload: object
    error: float
    tau: Optional[float]
    final: bool
    converged: Optional[bool]


def damped_newton(evaluate, jacobian, w: np.ndarray, start, nu: np.ndarray, *, tol: float, max_iter: int,
                  what: str, ridge: float = 0.0, halvings: int = MAX_HALVINGS) -> Iterator[NewtonStep]:
    r"""Damped Newton for :math:`\mu(w) = \nu` (see the module docstring), shared by the exact and the grid
    paths: ``evaluate(w)`` returns (masses μ (N,) numpy, payload), ``jacobian(payload)`` the sparse
    :math:`\partial\mu/\partial w`; ``start`` is ``evaluate(w)``. The system is solved with the last weight
    fixed, plus ``ridge`` times the largest diagonal entry on the diagonal (for soft masses that underflow).
    Yields the start and every accepted step; stops with a :class:`ConvergenceWarning` if no step is accepted
    after ``halvings`` halvings."""
    mu, payload = start
    floor = 0.5 * min(mu.min(), nu.min())
    error, tau = float(np.max(np.abs(mu - nu) / nu)), None
    for step in range(max_iter + 1):
        done = error <= tol or step == max_iter
        yield NewtonStep(step, w, payload, error, tau, done, (error <= tol) if done else None)
        if done:
            return
        residual = mu - nu
        delta = np.zeros(len(w))
        if len(w) > 1:
            H = jacobian(payload)
            red = H[:-1, :-1].tocsc()
            if ridge:
                red = red + scipy.sparse.identity(len(w) - 1) * ridge * abs(H.diagonal()).max()
            try:
                lu = scipy.sparse.linalg.splu(red, permc_spec="MMD_AT_PLUS_A", options=dict(SymmetricMode=True))
            except RuntimeError:  # exactly singular (a cell of ~zero mass): a tiny ridge
                red = red + scipy.sparse.identity(len(w) - 1) * 1e-12 * abs(H.diagonal()).max()
                lu = scipy.sparse.linalg.splu(red.tocsc(), permc_spec="MMD_AT_PLUS_A")
            delta[:-1] = lu.solve(-residual[:-1])
        tau, worst = 1.0, np.abs(residual).max()
        for _ in range(halvings):
            try:
                mu_t, trial = evaluate(w + tau * delta)
            except ValueError:  # a step so long that the diagram cannot be built (Qhull): shorter
                tau /= 2
                continue
            if mu_t.min() >= floor and np.abs(mu_t - nu).max() <= (1 - tau / 2) * worst:
                break
            tau /= 2
        else:
            warnings.warn(f"{what}: no acceptable Newton step after {halvings} halvings (error {error:.3g}); "
                          "stopping", ConvergenceWarning, stacklevel=3)
            yield NewtonStep(step, w, payload, error, tau, True, False)
            return
        w, payload, mu = w + tau * delta, trial, mu_t
        error = float(np.max(np.abs(mu - nu) / nu))


def as_fill(fill) -> float:
    """``fill`` in (0, 1], or raise naming it."""
    f = checks.positive_number("fill", fill)
    if f > 1:
        raise ValueError(f"fill must lie in (0, 1] (the fraction of the domain the cells fill), got {f}")
    return f


def iterate_semidiscrete(sites, masses=None, *, domain=None, density=None, tol=1e-6, weights0=None,
                         max_iter=100, fill=1.0, periodic=False) -> Iterator[SemiDiscreteState]:
    """Yield a :class:`SemiDiscreteState` per damped Newton step of :func:`solve_semidiscrete` (same
    arguments), the starting diagram first."""
    x = as_sites(sites)
    nu = as_masses(masses, len(x))
    dom = convex_domain(domain)
    fill = as_fill(fill)
    void, periodic = check_void_periodic(0.0 if fill < 1 else None, periodic, density, dom, x)
    rho = as_pixel_density(density, dom)
    tol = checks.positive_number("tol", tol)
    max_iter = checks.integer("max_iter", max_iter, minimum=0)
    domain_mass = float(rho.polygon_moments(dom[None])[0][0])
    if not domain_mass > 0:
        raise ValueError("density has no mass inside the domain")

    if void is None:
        def masses_at(w):
            diagram = evaluate(x, w, dom, rho, domain_mass, periodic=periodic)
            return diagram.masses.numpy(), diagram
        cold = np.zeros(len(x))  # the Voronoi diagram
    else:  # the void's weight is appended, and fixed at 0
        def masses_at(w):
            diagram = evaluate(x, w[:-1], dom, rho, domain_mass, void=w[-1], periodic=periodic)
            return np.append(diagram.masses.numpy(), 1 - diagram.masses.numpy().sum()), diagram
        nu = np.append(nu * fill, 1 - fill)
        cold = np.append(nu[:-1] * polygon_area(dom) / np.pi, 0.0)  # disks of the target areas

    w = cold if weights0 is None else as_site_weights(weights0, len(x))
    if void is not None and weights0 is not None:
        w = np.append(w, 0.0)
    start = masses_at(w)
    if weights0 is not None and (start[0] < WARM_FLOOR * nu).any():
        w = cold  # a warm start that (nearly) empties a cell: restart cold
        start = masses_at(w)
    if start[0].min() <= 0:
        k = int(np.argmin(start[0]))
        raise ValueError(f"sites[{k}] has a cell with no mass at the start (a site outside the domain, or where "
                         "density is zero); move the site or give weights0 that make every cell non-empty")
    for s in damped_newton(masses_at, hessian, w, start, nu, tol=tol, max_iter=max_iter, what="semi-discrete OT"):
        yield SemiDiscreteState(s.step, torch.from_numpy(s.weights[:len(x)]), s.payload, s.error, s.tau,
                                final=s.final, converged=s.converged)


def _result(state: SemiDiscreteState) -> SemiDiscreteResult:
    d = state.diagram
    return SemiDiscreteResult(d.sites, state.weights, d.areas, d.masses, d.centroids, d, state.step, state.error,
                              bool(state.converged))


def solve_semidiscrete(sites, masses=None, *, domain=None, density=None, tol=1e-6, weights0=None,
                       max_iter=100, fill=1.0, periodic=False) -> SemiDiscreteResult:
    r"""Weights w whose power diagram gives every site its mass (semi-discrete OT, exact in 2D).

    Args:
        sites: (N, 2) distinct points inside the domain.
        masses: (N,) positive target masses (normalised to sum 1); uniform when None.
        domain: (K, 2) vertices of a convex polygon (default the unit square).
        density: (n_x, n_y) image >= 0 on the domain's bounding box (axis 0 along x), constant per pixel;
            uniform when None.
        tol: stop when :math:`\max_i |\mu_i - \nu_i|/\nu_i \le` ``tol``.
        weights0: a warm start (N,) (ignored, with a cold restart, if it leaves a cell with less than
            ``WARM_FLOOR`` of its target mass).
        max_iter: cap on Newton steps (``converged`` False if reached).
        fill: the fraction of the domain the cells fill (< 1: the rest is void, cells within
            :math:`\sqrt{w_i}` of their sites; uniform density only). ``masses`` are then fractions of
            ``fill``, and ``error`` covers the void's mass too.
        periodic: solve on the torus of a rectangular ``domain`` (sites inside it).

    Returns:
        :class:`SemiDiscreteResult`.
    """
    state = None
    for state in iterate_semidiscrete(sites, masses, domain=domain, density=density, tol=tol, weights0=weights0,
                                      max_iter=max_iter, fill=fill, periodic=periodic):
        pass
    return _result(state)


def iterate_lloyd(sites, masses=None, *, steps=10, domain=None, density=None, tol=1e-6) -> Iterator[SemiDiscreteResult]:
    """Yield the solved diagram before each Lloyd move and after the last (``steps + 1`` results): each
    step solves the masses (warm-started) and moves every site to its cell's centroid."""
    steps = checks.integer("steps", steps, minimum=0)
    x, weights = as_sites(sites), None
    for k in range(steps + 1):
        res = solve_semidiscrete(x, masses, domain=domain, density=density, tol=tol, weights0=weights)
        yield res
        if k < steps:
            x, weights = res.centroids.numpy().copy(), res.weights


def lloyd(sites, masses=None, *, steps=10, domain=None, density=None, tol=1e-6) -> SemiDiscreteResult:
    """Centroidal power diagram with prescribed masses after ``steps`` Lloyd steps (see
    :func:`iterate_lloyd`); the result's ``sites`` are the moved sites."""
    res = None
    for res in iterate_lloyd(sites, masses, steps=steps, domain=domain, density=density, tol=tol):
        pass
    return res
