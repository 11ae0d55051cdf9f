"""otlab.core: geometric optimal transport on PyTorch (and optionally pyKeOps), no web dependency.

Conventions (GeomLoss's): cost C(x, y) = |x - y| for p = 1 and |x - y|^2 / 2 for p = 2; temperature
ε = blur^p; unbalanced strength ρ = reach^p (reach None: balanced). See :func:`to_pot` for POT's.

Entry points:
    solve(x, y, a=None, b=None, ...) -> OTResult     value, potentials, Brenier map, plan
    iterate(x, y, ...)                               one state per annealing step (for animations)
    SamplesLoss(loss="sinkhorn", ...)                torch.nn.Module, drop-in for GeomLoss's
    solve_1d(x, y, a=None, b=None, p=2)              exact OT on the line by sorting: (value, plan)
    assign(x, y, method="exact"|"auction"|"greedy")   optimal matchings of N points to N points
    iterate_assignment(x, y, ...)                    one state per bidding round (for animations)
    gradient_flow(loss, x, y, lr=0.05)               particle flows x_i <- x_i - lr grad L / a_i
    solve_grid(A, B, blur=0.05) -> GridResult         OT between densities on a 1D/2D/3D grid (any size)
    iterate_grid(A, B, ...)                          one state per annealing step on the grid
    ImagesLoss(blur=0.05)                            torch.nn.Module, S_eps between densities on a grid
    barycenter_grid(densities, weights, blur=0.05)   Wasserstein barycenter on a grid (debiased)
    iterate_barycenter_grid(...)                     one state per update (for animations)
    barycenter_points(clouds, weights, blur=0.05)    free-support barycenter of point clouds
    power_diagram(sites, weights, domain=None)       exact 2D power (Laguerre) cells: areas, centroids, polygons
    solve_semidiscrete(sites, masses, density=None)  semi-discrete OT: weights giving each cell its mass (Newton)
    iterate_semidiscrete(...)                        one state per Newton step (for animations)
    lloyd(sites, masses, steps=10)                   centroidal power diagrams with prescribed masses
    laguerre_grid(sites, weights, metrics=None, power=2, scale=None, shape=(256, 256))
                                                     Laguerre cells of any cost on a 2D/3D pixel grid
    solve_laguerre_grid(sites, masses, ...)          their weights for prescribed (soft) volumes, by Newton
    Swarm(n, motion="run_and_tumble", ...)           incompressible particle swarms: step() -> SwarmState

Layout, by family: ``clouds/`` (point-cloud Sinkhorn and its backends), ``grids/`` (densities on grids,
barycenters), ``semidiscrete/`` (power diagrams, Laguerre cells, swarms), ``discrete/`` (assignment, 1D);
shared at the top: argument checks, costs, conventions, the ε schedule; ``gaussians`` (a module, not
re-exported: W₂/Bures and Fisher–Rao closed forms on Gaussians).
"""
from .conventions import from_pot, pot_reg, to_pot
from .schedule import anneal_schedule
from .clouds.flows import FlowState, gradient_flow
from .clouds.results import OTResult
from .clouds.samples_loss import SamplesLoss
from .clouds.sinkhorn import ConvergenceWarning, SinkhornState
from .clouds.solve import iterate, solve
from .grids.barycenters import (GridBarycenter, barycenter_grid, barycenter_points, iterate_barycenter_grid,
                                iterate_barycenter_points)
from .grids.softmin import Grid
from .grids.transport import GridResult, GridState, ImagesLoss, iterate_grid, solve_grid
from .semidiscrete.laguerre_grid import (LaguerreGrid, LaguerreGridResult, iterate_laguerre_grid, laguerre_grid,
                                         solve_laguerre_grid)
from .semidiscrete.power_diagrams import PowerDiagram, power_diagram
from .semidiscrete.swarms import Swarm, SwarmState
from .semidiscrete.transport import (SemiDiscreteResult, SemiDiscreteState, iterate_lloyd, iterate_semidiscrete,
                                     lloyd, solve_semidiscrete)
from .discrete.assignment import Assignment, assign, iterate_assignment
from .discrete.sorting import solve_1d

__all__ = ["solve", "iterate", "OTResult", "SinkhornState", "ConvergenceWarning", "SamplesLoss", "anneal_schedule", "to_pot", "from_pot", "pot_reg", "solve_1d",
           "assign", "iterate_assignment", "Assignment", "gradient_flow", "FlowState",
           "solve_grid", "iterate_grid", "GridResult", "GridState", "Grid", "ImagesLoss",
           "barycenter_grid", "iterate_barycenter_grid", "GridBarycenter", "barycenter_points",
           "iterate_barycenter_points", "power_diagram", "PowerDiagram", "solve_semidiscrete", "iterate_semidiscrete",
           "SemiDiscreteResult", "SemiDiscreteState", "lloyd", "iterate_lloyd",
           "laguerre_grid", "solve_laguerre_grid", "iterate_laguerre_grid", "LaguerreGrid", "LaguerreGridResult",
           "Swarm", "SwarmState"]
