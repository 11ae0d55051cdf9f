"""Weighted point clouds at one resolution, with the four soft-min operators Sinkhorn needs.

A :class:`Level` holds x (B, N, D), y (B, M, D) and their weights, and exposes soft-min operators
(``op(eps, h)``, and ``op.barycentric(eps, h)`` for the soft-min weighted means of the support)

* ``xy(eps, h)``: potential on x from a log-weight vector h on y (f-update),
* ``yx(eps, h)``: potential on y from h on x (g-update),
* ``xx(eps, h)``, ``yy(eps, h)``: the self-problems of the debiased divergence.

Each operator differentiates with respect to its first cloud only; its second cloud is detached.
This is GeomLoss's trick: with f carrying the x-gradient and g the y-gradient, the gradient of the
value <a, f> + <b, g> is the envelope-theorem gradient (see :mod:`otlab.core.clouds.sinkhorn`).

A geometry decides which level each annealing step runs on. :class:`SingleLevel` always uses the
points themselves (backends ``tensorized``, ``online``, ``keops``); the multiscale geometry in
:mod:`otlab.core.clouds.multiscale` starts on clusters and refines.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch

from .keops_softmin import softmin_keops
from ..costs import cost_matrix
from .softmin import logsumexp, soft_average, softmin_dense, softmin_online

SoftminFn = Callable[[float, torch.Tensor, torch.Tensor, torch.Tensor, int], torch.Tensor]
SoftminOp = Callable[[float, torch.Tensor], torch.Tensor]

#: The exact soft-min implementations, by backend name.
SOFTMINS = {"tensorized": softmin_dense, "online": softmin_online, "keops": softmin_keops}


@dataclass
class Potentials:
    """Dual potentials on a level: f on x, g on y (the OT_eps(a, b) pair), f_aa on x and g_bb on y
    (the self-problems of the debiased divergence; None without debiasing). Shapes (B, N), (B, M)."""

    f: torch.Tensor
    g: torch.Tensor
    f_aa: Optional[torch.Tensor] = None
    g_bb: Optional[torch.Tensor] = None


class PairSoftmin:
    """softmin_eps(query, support, h) with an exact implementation ``fn``; differentiable in ``query``."""

    def __init__(self, fn: SoftminFn, query: torch.Tensor, support: torch.Tensor, p: int):
        self.fn, self.query, self.support, self.p = fn, query, support.detach(), p

    def __call__(self, eps: float, h: torch.Tensor) -> torch.Tensor:
        return self.fn(eps, self.query, self.support, h, self.p)

    def barycentric(self, eps: float, h: torch.Tensor) -> torch.Tensor:
        """sum_j P_ij y_j, the soft-min weighted mean of the support seen from each query point."""
        return soft_average(eps, self.query.detach(), self.support, h.detach(), self.p, self.support)


class DenseSoftmin(PairSoftmin):
    """Soft-min on the dense cost matrix, computed once and reused while no gradient is needed."""

    def __init__(self, query: torch.Tensor, support: torch.Tensor, p: int):
        super().__init__(softmin_dense, query, support, p)
        self._cost = None

    def __call__(self, eps: float, h: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() and (self.query.requires_grad or h.requires_grad):
            return self.fn(eps, self.query, self.support, h, self.p)
        if self._cost is None:
            self._cost = cost_matrix(self.query.detach(), self.support, self.p)
        return -eps * logsumexp(h.unsqueeze(-2) - self._cost / eps)


class Level:
    """Two weighted clouds at one resolution and their soft-min operators."""

    #: whether balanced ``tol`` iterations may take Newton steps on a sparse plan (needs positions)
    newton = True

    def __init__(self, x, y, a, b, p: int, softmin: SoftminFn, ops=None, name: str = "points", clusters=None):
        self.x, self.y, self.a, self.b, self.p = x, y, a, b, p
        # log 0 = -inf: a point of zero weight never contributes to a soft-min.
        self.a_log, self.b_log = a.log(), b.log()
        self.name = name
        self.clusters = clusters  # multiscale cluster levels: (x clusters, y clusters); None on points
        self.depth = None  # multiscale: depth of the voxel grid of the clusters
        self.keep = None  # multiscale: (potentials, kept cluster pairs) cached for the moves from here
        self.images = None  # multiscale: (potentials, barycentric images of the centroids), likewise
        if ops is None:
            pair = (lambda q, s: DenseSoftmin(q, s, p)) if softmin is softmin_dense else \
                (lambda q, s: PairSoftmin(softmin, q, s, p))
            ops = {"xy": pair(x, y), "yx": pair(y, x), "xx": pair(x, x), "yy": pair(y, y)}
        self.xy, self.yx, self.xx, self.yy = ops["xy"], ops["yx"], ops["xx"], ops["yy"]


class SingleLevel:
    """Geometry whose every annealing step runs on the points themselves."""

    def __init__(self, level: Level):
        self.fine = level

    def start(self, sigma: float) -> Level:
        return self.fine

    def advance(self, level: Level, potentials: Potentials, sigma: float, eps: float, rho):
        """(level, potentials, moved): a single level never moves."""
        return level, potentials, False

    def to_points(self, level: Level, potentials: Potentials, eps: float, rho):
        return level, potentials, False
