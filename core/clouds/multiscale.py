r"""Multiscale Sinkhorn: anneal on voxel clusters, finish on the points, with kernel truncation.

At an annealing step of blur σ the clouds are replaced by the weighted centroids of their points on
a voxel grid (side ``side / 2**j``, nested grids): clusters much smaller than the blur barely change a
soft-min — the error of a step scales like ε (r/σ)^2 for clusters of radius r — and there are far fewer
of them. The grid of a step is the finest that pays — 16 times less soft-min work than the points;
failing that, the present clusters while they are no larger than 2σ, or a grid at least 4 times
cheaper — among those whose half-diagonal (a bound on r) lies between σ / ``early_ratio`` (16)
and σ / ``radius_ratio`` (4), never finer than the grid with half-diagonal blur / ``radius_ratio``:
early steps are cheap whatever their grid, so they get fine clusters (this is what keeps the annealing
on the path of the single-scale solver: 0.04% instead of 0.7% in value), and the last steps keep a
grid coarse enough to pay. When no grid qualifies (clusters larger than 2σ, ``STAY_RATIO``, and no
finer grid paying), the annealing moves to the points.

Moving to a finer support is itself a Sinkhorn update (the potentials extend to any point):

.. math::
    f(x) = \lambda\,\mathrm{softmin}_\varepsilon\big(x, Y, \log B + G/\varepsilon\big),

with Y, B, G the coarser support, weights and potential; that move is the update of its step, so
the schedule has as many updates as the single-scale solvers'. Large levels restrict every soft-min
to the cluster pairs kept by :func:`~otlab.core.clouds.block_softmin.keep_pairs` on the coarser level.

After the schedule the solver moves to the points once (that move is an update) and closes there
(the closing update, with gradients, on the points; truncated soft-mins where they pay). This is a
two-grid scheme: the slow, smooth modes of the Sinkhorn iteration converge on the clusters, where an
update is cheap (the per-temperature tolerance ``level_tol`` runs its extra updates there), and the
points only correct what the clusters cannot represent — on the benchmark suite the marginal error
on the points is already below ``level_tol`` after the move. With ``level_tol=None`` (GeomLoss's
iterations) the closing update is instead the extrapolation of the cluster potentials onto the
points, as in GeomLoss — faster, but its gradient can be several % off (``docs/core.md``).
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import torch

from .block_softmin import BlockSoftmin, keep_pairs
from .clusters import parent_labels, voxel_clusters
from .geometry import Level, PairSoftmin, Potentials
from ..schedule import dampening
from .softmin import softmin_online

#: Truncation (keep masks, block lists) costs about as much per cluster pair as a soft-min per
#: entry costs TRUNCATE_RATIO times over: soft-mins with fewer entries than TRUNCATE_RATIO times the
#: cluster pairs of the coarser level, or than TRUNCATE_MIN, run dense (online, exact).
TRUNCATE_RATIO = 16
TRUNCATE_MIN = 1 << 24
#: When no finer grid pays, the annealing stays on clusters whose half-diagonal is at most
#: σ / STAY_RATIO (beyond, the cluster problem is too far from the points' and the solver moves).
STAY_RATIO = 0.5


def worth_truncating(entries: int, pairs: int) -> bool:
    """Whether soft-mins over ``entries`` should be truncated from a level of ``pairs`` cluster pairs."""
    return entries > max(TRUNCATE_MIN, TRUNCATE_RATIO * pairs)


class MultiscaleGeometry:
    """Cluster levels on nested voxel grids, then the points; see the module docstring.

    Unbatched problems only (clouds given as (1, N, D)).
    """

    def __init__(self, x, y, a, b, p: int, truncate: float, blur: float, radius_ratio: float = 4.0,
                 early_ratio: float = 16.0, worth: Tuple[float, ...] = (16.0, 4.0)):
        if x.shape[0] != 1:
            raise ValueError(f"backend 'multiscale' takes unbatched clouds (N, D); got a batch of {x.shape[0]}")
        self.x, self.y, self.a, self.b, self.p = x, y, a, b, p
        self.truncate, self.worth = truncate, worth
        pts = torch.cat([x[0], y[0]]).detach()
        self.origin = pts.min(0).values
        self.side = max(float((pts.max(0).values - self.origin).max()), 1e-12)
        # cells of side c have half-diagonal c sqrt(D) / 2: at most sigma / early_ratio while annealing,
        # and never finer than the grid of the last step (half-diagonal <= blur / radius_ratio)
        self.half_diagonal = math.sqrt(x.shape[-1]) / 2
        self.early_ratio, self.radius_ratio = early_ratio, radius_ratio
        self.finest = self._grid_depth(blur / radius_ratio)
        self.points: Optional[Level] = None
        self._clusterings = {}

    # -- levels ---------------------------------------------------------------------------------------
    def _grid_depth(self, radius: float) -> int:
        """Depth of the coarsest grid whose cells have a half-diagonal at most ``radius``."""
        return max(0, math.ceil(math.log2(self.half_diagonal * self.side / radius) - 1e-9))

    def _grid(self, sigma: float, current: Optional[int] = None):
        """Depth of the grid for a step of blur sigma, or None for the points.

        Grids with half-diagonal between sigma/early_ratio and sigma/radius_ratio, never finer than the
        last step's, are candidates; ``current`` is the present level's depth. In order: the finest
        candidate 16x cheaper than the points (``worth[0]``) or the current one; else the present
        clusters while their half-diagonal is at most sigma/STAY_RATIO (the annealing then moves to
        the points once, after the schedule); else the finest grid at least 4x cheaper (``worth[1]``)
        with half-diagonal at most sigma/STAY_RATIO; else the points. Preferring coarse clusters that
        are cheap to a finer grid that barely pays is what the points' closing allows: at 20k points in
        2D the extra updates cost a third (4.5 s -> 1.5 s on random weights) at the same accuracy
        against the exact solver.
        """
        fine = min(self._grid_depth(sigma / self.early_ratio), self.finest)
        coarse = min(self._grid_depth(sigma / self.radius_ratio), fine)
        cheap, enough = self.worth
        for depth in range(fine, coarse - 1, -1):
            if depth == current or self._pays(depth, cheap):
                return depth
        loose = self._grid_depth(sigma / STAY_RATIO)  # the coarsest grid with half-diagonal <= 2 sigma
        if current is not None and current >= loose:
            return current
        for depth in range(fine, loose - 1, -1):
            if self._pays(depth, enough):
                return depth
        return None

    def _clustering(self, depth: int):
        """Clusters (x clusters, y clusters) of both clouds at grid ``depth`` (cached)."""
        if depth not in self._clusterings:
            cell = self.side / 2 ** depth
            self._clusterings[depth] = (voxel_clusters(self.x[0], self.a[0], self.origin, cell),
                                        voxel_clusters(self.y[0], self.b[0], self.origin, cell))
        return self._clusterings[depth]

    def _pays(self, depth: int, worth: float) -> bool:
        """Whether soft-mins on the clusters of grid ``depth`` cost ``worth`` times less than on the points."""
        xc, yc = self._clustering(depth)
        return xc.count * yc.count * worth <= self.x.shape[1] * self.y.shape[1]

    def _cluster_level(self, clusters, depth: int, ops=None) -> Level:
        xc, yc = clusters
        level = Level(xc.centroids[None], yc.centroids[None], xc.masses[None], yc.masses[None], self.p,
                      softmin_online, ops=ops, name=f"{xc.count} + {yc.count} clusters", clusters=clusters)
        level.depth = depth
        return level

    def _points_level(self, ops=None) -> Level:
        self.points = Level(self.x, self.y, self.a, self.b, self.p, softmin_online, ops=ops)
        return self.points

    def start(self, sigma: float) -> Level:
        depth = self._grid(sigma)
        return self._points_level() if depth is None else self._cluster_level(self._clustering(depth), depth)

    # -- moves ------------------------------------------------------------------------------------------
    def advance(self, level: Level, pot: Potentials, sigma: float, eps: float, rho):
        """(level, potentials, moved) for an annealing step of blur sigma."""
        if level.clusters is None:
            return level, pot, False
        depth = self._grid(sigma, current=level.depth)
        if depth == level.depth:
            return level, pot, False
        clusters = None if depth is None else self._clustering(depth)
        return (*self._move(level, pot, clusters, depth, eps, rho), True)

    def to_points(self, level: Level, pot: Potentials, eps: float, rho):
        """(level, potentials, moved): move onto the points (before iterating to a tolerance)."""
        if level.clusters is None:
            return level, pot, False
        return (*self._move(level, pot, None, None, eps, rho), True)

    def close(self, level: Level, pot: Potentials, eps: float, rho):
        """Closing update from a cluster level: potentials on the points, differentiable in x and y.

        Returns the points level (exact soft-mins, for diagnostics) and the potentials."""
        xc, yc = level.clusters
        ops = self._transfer_ops(level, pot, eps, self.x, self.y, xc.labels, yc.labels)
        return self._points_level(), extrapolate(pot, level, ops, eps, rho)

    def _move(self, level: Level, pot: Potentials, clusters, depth, eps: float, rho):
        """Move to finer clusters (or to the points when ``clusters`` is None): the averaged update
        (old potential carried over + extrapolated update) / 2 on the new support."""
        xc, yc = level.clusters
        if clusters is None:
            new_x, new_y, lx, ly = self.x, self.y, xc.labels, yc.labels
        else:
            nxc, nyc = clusters
            new_x, new_y = nxc.centroids[None], nyc.centroids[None]
            lx, ly = parent_labels(nxc, xc), parent_labels(nyc, yc)
        ops = None
        old_count = level.x.shape[1] + level.y.shape[1]
        if self._truncates((new_x.shape[1] + new_y.shape[1]) ** 2, old_count ** 2):
            keep = self._keep_masks(level, pot, eps)
            ops = {"xy": BlockSoftmin(new_x, new_y, keep["xy"], lx, ly, self.p),
                   "yx": BlockSoftmin(new_y, new_x, keep["xy"].T, ly, lx, self.p),
                   "xx": BlockSoftmin(new_x, new_x, keep["xx"], lx, lx, self.p) if "xx" in keep else None,
                   "yy": BlockSoftmin(new_y, new_y, keep["yy"], ly, ly, self.p) if "yy" in keep else None}
        transfer = self._transfer_ops(level, pot, eps, new_x, new_y, lx, ly)
        target = self._points_level(ops) if clusters is None else self._cluster_level(clusters, depth, ops)
        update = extrapolate(pot, level, transfer, eps, rho)
        old = carry(pot, level, self._images(level, pot, eps), new_x[0].detach(), new_y[0].detach(), lx, ly)
        return target, Potentials(*[None if u is None else (u + o) / 2
                                    for u, o in zip((update.f, update.g, update.f_aa, update.g_bb),
                                                    (old.f, old.g, old.f_aa, old.g_bb))])

    def _truncates(self, entries: int, pairs: int) -> bool:
        """Truncate soft-mins over ``entries`` from a level of ``pairs`` cluster pairs (never with truncate=None)."""
        return self.truncate is not None and worth_truncating(entries, pairs)

    def _images(self, level: Level, pot: Potentials, eps: float):
        """Barycentric images of the centroids for each soft-min of ``level`` (p = 2), else None."""
        if self.p != 2:
            return None
        if level.images is not None and level.images[0] is pot:
            return level.images[1]
        images = {"xy": level.xy.barycentric(eps, level.b_log + pot.g / eps)[0],
                  "yx": level.yx.barycentric(eps, level.a_log + pot.f / eps)[0]}
        if pot.f_aa is not None:
            images["xx"] = level.xx.barycentric(eps, level.a_log + pot.f_aa / eps)[0]
            images["yy"] = level.yy.barycentric(eps, level.b_log + pot.g_bb / eps)[0]
        level.images = (pot, images)
        return images

    def _transfer_ops(self, level: Level, pot: Potentials, eps: float, new_x, new_y, lx, ly):
        """Soft-mins from the new supports (rows) to the clusters of ``level`` (columns)."""
        kx, ky = level.x.shape[1], level.y.shape[1]
        if not self._truncates((new_x.shape[1] + new_y.shape[1]) * (kx + ky), (kx + ky) ** 2):
            return {"xy": PairSoftmin(softmin_online, new_x, level.y, self.p),
                    "yx": PairSoftmin(softmin_online, new_y, level.x, self.p),
                    "xx": PairSoftmin(softmin_online, new_x, level.x, self.p),
                    "yy": PairSoftmin(softmin_online, new_y, level.y, self.p)}
        keep = self._keep_masks(level, pot, eps)
        ix, iy = torch.arange(kx, device=lx.device), torch.arange(ky, device=ly.device)
        return {"xy": BlockSoftmin(new_x, level.y, keep["xy"], lx, iy, self.p),
                "yx": BlockSoftmin(new_y, level.x, keep["xy"].T, ly, ix, self.p),
                "xx": BlockSoftmin(new_x, level.x, keep["xx"], lx, ix, self.p) if "xx" in keep else None,
                "yy": BlockSoftmin(new_y, level.y, keep["yy"], ly, iy, self.p) if "yy" in keep else None}

    def _keep_masks(self, level: Level, pot: Potentials, eps: float):
        """Cluster pairs kept by the truncation on ``level``: 'xy' (and 'xx', 'yy' when debiased)."""
        if level.keep is not None and level.keep[0] is pot:
            return level.keep[1]
        xc, yc = level.clusters
        im = self._images(level, pot, eps) or {}
        keep = {"xy": keep_pairs(xc, yc, pot.f[0], pot.g[0], im.get("xy"), im.get("yx"), eps, self.truncate, self.p)}
        if pot.f_aa is not None:
            keep["xx"] = keep_pairs(xc, xc, pot.f_aa[0], pot.f_aa[0], im.get("xx"), im.get("xx"), eps,
                                    self.truncate, self.p)
            keep["yy"] = keep_pairs(yc, yc, pot.g_bb[0], pot.g_bb[0], im.get("yy"), im.get("yy"), eps,
                                    self.truncate, self.p)
        level.keep = (pot, keep)
        return keep


def carry(pot: Potentials, level: Level, images, new_x, new_y, lx, ly) -> Potentials:
    r"""Potentials of a cluster level carried to finer supports by a first-order expansion around the
    parent centroid: :math:`f(x) \approx F_k + \nabla F_k\cdot(x - X_k)`, :math:`\nabla F_k = X_k - T_k`
    (p = 2, T the barycentric image); the parent's value for p = 1."""
    X, Y = level.x[0], level.y[0]

    def taylor(values, centers, image, labels, points):
        v = values[0][labels]
        if image is None:
            return v[None]
        return (v + ((centers - image)[labels] * (points - centers[labels])).sum(-1))[None]

    im = images or {}
    return Potentials(
        f=taylor(pot.f, X, im.get("xy"), lx, new_x), g=taylor(pot.g, Y, im.get("yx"), ly, new_y),
        f_aa=None if pot.f_aa is None else taylor(pot.f_aa, X, im.get("xx"), lx, new_x),
        g_bb=None if pot.g_bb is None else taylor(pot.g_bb, Y, im.get("yy"), ly, new_y))


def extrapolate(pot: Potentials, source: Level, ops, eps: float, rho) -> Potentials:
    r"""Potentials on new supports: f = λ softmin_ε(rows, source.y, log B + G/ε), etc., with ``ops``
    the soft-mins from the new supports to ``source``'s (keys 'xy', 'yx', 'xx', 'yy')."""
    lam = dampening(eps, rho)
    a_log, b_log = source.a_log.detach(), source.b_log.detach()
    return Potentials(
        f=lam * ops["xy"](eps, (b_log + pot.g / eps).detach()),
        g=lam * ops["yx"](eps, (a_log + pot.f / eps).detach()),
        f_aa=None if pot.f_aa is None else lam * ops["xx"](eps, (a_log + pot.f_aa / eps).detach()),
        g_bb=None if pot.g_bb is None else lam * ops["yy"](eps, (b_log + pot.g_bb / eps).detach()),
    )
