r"""Optimal transport between densities on a regular grid (1D, 2D, 3D, any size): :func:`solve_grid`,
:func:`iterate_grid` and the loss module :class:`ImagesLoss`.

A density is a tensor of non-negative masses on the cells of a grid, (n_1,), (n_1, n_2) or
(n_1, n_2, n_3), or a batch of them with a leading axis. The grid spans ``extent`` (default the unit
interval, square or cube); each value is the mass at its cell centre. The problem is the point-cloud
problem of :func:`otlab.core.solve` on those nodes, with the same conventions: cost
:math:`C(x, y) = |x - y|^2/2` (p = 2 only: the kernel must factorise over the axes), temperature
:math:`\varepsilon = \text{blur}^2`, unbalanced strength :math:`\rho = \text{reach}^2`, the same
ε-annealing and the same debiased value

.. math::
    S_\varepsilon(\alpha, \beta) = \mathrm{OT}_\varepsilon(\alpha, \beta)
      - \tfrac12 \mathrm{OT}_\varepsilon(\alpha, \alpha) - \tfrac12 \mathrm{OT}_\varepsilon(\beta, \beta),

computed by the annealing loop of :mod:`otlab.core.clouds.sinkhorn`; only the soft-min changes: it is the
separable log-domain convolution of :mod:`otlab.core.grids.softmin`, O(N n_k) per axis pass.
The value is differentiable in the densities: :math:`\partial S/\partial\alpha_i = f_i - f^{aa}_i`
(envelope theorem, as for point weights).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

import torch

from .. import checks
from ..clouds.geometry import Level, SingleLevel
from .softmin import Grid, GridSoftmin, as_extent, extent_axes
from ..clouds.results import SolvedPotentials, shown_value
from ..schedule import anneal_schedule
from ..clouds.sinkhorn import SinkhornState, anneal
from ..clouds.solve import LEVEL_TOL, _validated_iteration_options


class GridLevel(Level):
    """Two densities on one grid, flattened to weights (B, N), with the separable soft-min for all
    four operators. No Newton steps: they need a sparse plan over point positions."""

    newton = False

    def __init__(self, a: torch.Tensor, b: torch.Tensor, grid: Grid):
        op = GridSoftmin(grid, a.device)
        super().__init__(None, None, a, b, 2, None, ops={"xy": op, "yx": op, "xx": op, "yy": op}, name="grid")
        self.grid, self.op = grid, op


def grid_densities(A, B, *, dim=None, extent=None):
    """Validate two densities on a common grid; returns (A, B, grid, batched) with A, B batched
    (n_batch, *shape). ``dim`` (1, 2 or 3) tells batches from volumes; when None it comes from
    ``extent`` (D pairs), else it is the number of axes (3 for a 4-axis tensor)."""
    A, B = checks.as_density("A", A), checks.as_density("B", B)
    if dim is None:
        dim = extent_axes(extent) or min(A.dim(), 3)
    if isinstance(dim, bool) or dim not in (1, 2, 3):
        raise ValueError(f"dim must be 1, 2 or 3 (the number of grid axes), got {dim!r}")
    if A.dim() not in (dim, dim + 1):
        raise ValueError(f"A must have shape (n_1, ..., n_{dim}) or (batch, n_1, ..., n_{dim}) for a "
                         f"{dim}D grid, got {tuple(A.shape)}")
    if tuple(A.shape) != tuple(B.shape):
        raise ValueError(f"A and B must lie on the same grid: shapes {tuple(A.shape)} and {tuple(B.shape)} differ "
                         "(resample one of them)")
    checks.check_same_kind("A", A, "B", B)
    batched = A.dim() == dim + 1
    grid = Grid(tuple(A.shape[-dim:]), as_extent(extent, dim))
    if not batched:
        A, B = A.unsqueeze(0), B.unsqueeze(0)
    for name, t in (("A", A), ("B", B)):
        if bool((t.detach().flatten(1).sum(-1) <= 0).any()):
            raise ValueError(f"{name} is zero everywhere; a density needs a positive total mass")
    return A, B, grid, batched


def grid_settings(blur, scaling, reach, debias, p=2) -> dict:
    """Validated solver settings of the grid functions (clear errors): blur, scaling, reach, debias."""
    if isinstance(p, bool) or p != 2:
        raise ValueError(f"grids support p=2 only (C = |x - y|^2/2 factorises over the axes), got p={p!r}")
    return dict(blur=checks.positive_number("blur", blur), scaling=checks.scaling_factor(scaling),
                reach=checks.positive_number("reach", reach, allow_none=True), debias=checks.flag("debias", debias))


@dataclass
class GridProblem:
    level: GridLevel
    grid: Grid
    batched: bool
    blur: float
    rho: Optional[float]
    eps_list: list
    debias: bool

    def unbatched(self, t: torch.Tensor) -> torch.Tensor:
        """Drop the batch axis that unbatched inputs were given."""
        return t if self.batched else t[0]

    def on_grid(self, t: torch.Tensor) -> torch.Tensor:
        """Flattened values (n_batch, N) -> (*shape), or (n_batch, *shape) for batched inputs."""
        return self.unbatched(t.reshape(t.shape[0], *self.grid.shape))


def prepare_grid(A, B, *, blur=0.05, scaling=0.5, reach=None, debias=True, extent=None, dim=None) -> GridProblem:
    """Validate (clear errors on bad input) and build the annealing problem on the grid."""
    A, B, grid, batched = grid_densities(A, B, dim=dim, extent=extent)
    settings = grid_settings(blur, scaling, reach, debias)
    a, b = A.flatten(1), B.flatten(1)
    if settings["reach"] is None:
        checks.equal_masses("A and B", a, b, "normalise them (A / A.sum())")
    rho = None if settings["reach"] is None else settings["reach"] ** 2
    return GridProblem(GridLevel(a, b, grid), grid, batched, settings["blur"], rho,
                       anneal_schedule(grid.diameter, settings["blur"], settings["scaling"], 2), settings["debias"])


def _states(problem: GridProblem, options) -> Iterator[SinkhornState]:
    lv = problem.level
    center = torch.zeros(lv.a.shape[0], 1, problem.grid.dim, dtype=lv.a.dtype, device=lv.a.device)
    return anneal(SingleLevel(lv), problem.eps_list, 2, problem.rho, problem.debias, center, **options)


@dataclass
class GridState:
    """One annealing step of :func:`iterate_grid`: potentials f, g on the grid ((*shape) or
    (batch, *shape)), the current value, the L1 marginal error of the potentials the step started
    from (None when unknown), ``final`` and ``converged`` as in :class:`~otlab.core.SinkhornState`."""

    step: int
    eps: float
    blur: float
    f: torch.Tensor
    g: torch.Tensor
    value: torch.Tensor
    marginal_error: Optional[torch.Tensor]
    final: bool
    converged: Optional[bool]


def _grid_state(state: SinkhornState, problem: GridProblem) -> GridState:
    err = None if state.marginal_error is None else problem.unbatched(state.marginal_error)
    return GridState(state.step, state.eps, state.blur, problem.on_grid(state.f), problem.on_grid(state.g),
                     problem.unbatched(state.value), err, state.final, state.converged)


def iterate_grid(A, B, *, blur=0.05, scaling=0.5, reach=None, debias=True, extent=None, dim=None, tol=None,
                 max_iter=None, level_tol=LEVEL_TOL) -> Iterator[GridState]:
    """Yield one :class:`GridState` per Sinkhorn update of :func:`solve_grid` (same arguments)."""
    problem = prepare_grid(A, B, blur=blur, scaling=scaling, reach=reach, debias=debias, extent=extent, dim=dim)
    for state in _states(problem, _validated_iteration_options(tol, max_iter, level_tol)):
        yield _grid_state(state, problem)


class GridResult(SolvedPotentials):
    """Result of :func:`solve_grid`.

    Attributes:
        value: S_ε (debias) or OT_ε, scalar (or (batch,)), differentiable in the densities.
        f, g: potentials of OT_ε(α, β) on the grid, shape (*shape) (or (batch, *shape)).
        f_aa, g_bb: the self-problems' potentials (None without debias).
        eps, blur, n_iter, converged: as in :class:`~otlab.core.OTResult`.
        grid: the :class:`~otlab.core.grids.softmin.Grid` (shape, extent, ``nodes()``).
    """

    def __init__(self, state: SinkhornState, problem: GridProblem):
        self.grid = problem.grid
        super().__init__(state, problem, problem.level)

    def _field(self, t):
        """Potentials on the grid, (*shape) (or (batch, *shape))."""
        return self._problem.on_grid(t)

    def __repr__(self):
        return (f"GridResult(value={shown_value(self.value)}, grid={self.grid.shape}, blur={self.blur:.4g}, n_iter={self.n_iter}, "
                f"converged={self.converged})")

    def brenier_map(self) -> torch.Tensor:
        r"""Targets of the entropic Brenier map at every node, (*shape, D) (or (batch, *shape, D)):
        :math:`T(x_i) = \sum_j P_{ij} y_j`, the barycentric projection of the plan's row i; with debias
        the self-term's projection is removed, :math:`T(x_i) = x_i + \sum_j P_{ij} y_j - \sum_j P^{aa}_{ij} x_j`
        (the same map as :meth:`otlab.core.OTResult.brenier_map`). Coordinates in axis order."""
        lv, pot, eps = self._problem.level, self._state.potentials, self.eps
        with torch.no_grad():
            t = lv.op.barycentric(eps, lv.b_log.detach() + pot.g.detach() / eps)
            if self.debias:
                nodes = self.grid.nodes(t.dtype, t.device).reshape(1, -1, self.grid.dim)
                t = t + nodes - lv.op.barycentric(eps, lv.a_log.detach() + pot.f_aa.detach() / eps)
        return self._problem.unbatched(t.reshape(t.shape[0], *self.grid.shape, self.grid.dim))


def solve_grid(A, B, *, blur=0.05, scaling=0.5, reach=None, debias=True, extent=None, dim=None, tol=None,
               max_iter=None, level_tol=LEVEL_TOL) -> GridResult:
    r"""Entropic OT between two densities on one regular grid; returns a :class:`GridResult`.

    Args:
        A, B: non-negative masses on the cells, shape (n_1[, n_2[, n_3]]) or batched (batch, ...); any
            sizes (not only powers of two), rectangular grids. Balanced OT needs equal total masses.
        blur: σ > 0 in the units of ``extent``; ε = σ² (cost |x - y|²/2).
        scaling: annealing ratio in (0, 1).
        reach: None (balanced) or the unbalanced reach (ρ = reach²).
        debias: the Sinkhorn divergence S_ε (True) or OT_ε (False).
        extent: the box the grid spans: None (unit interval/square/cube), one (lo, hi) pair for every
            axis, or one pair per axis. Nodes are the cell centres.
        dim: number of grid axes (1, 2 or 3); needed only to pass a batch of 2D images as a 3-axis
            tensor (a 3-axis tensor is otherwise one volume).
        tol, max_iter, level_tol: as in :func:`otlab.core.solve` (plain Sinkhorn updates at the last ε
            until the L1 marginal error is at most ``tol``).
    """
    problem = prepare_grid(A, B, blur=blur, scaling=scaling, reach=reach, debias=debias, extent=extent, dim=dim)
    state = None
    for state in _states(problem, _validated_iteration_options(tol, max_iter, level_tol)):
        pass
    return GridResult(state, problem)


class ImagesLoss(torch.nn.Module):
    r"""Sinkhorn divergence between densities on a grid, an ``nn.Module``: ``L(A, B)`` -> scalar, or
    (batch,) for batched densities; differentiable in A and B. Arguments as :func:`solve_grid`
    (p must be 2: cost |x - y|²/2, ε = blur²)."""

    def __init__(self, blur=0.05, p=2, scaling=0.5, reach=None, debias=True, extent=None, dim=None, tol=None):
        super().__init__()
        grid_settings(blur, scaling, reach, debias, p)  # clear errors now rather than at the first call
        checks.positive_number("tol", tol, allow_none=True)
        self.options = dict(blur=blur, scaling=scaling, reach=reach, debias=debias, extent=extent, dim=dim, tol=tol)

    def forward(self, A, B) -> torch.Tensor:
        return solve_grid(A, B, **self.options).value

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.options.items())
