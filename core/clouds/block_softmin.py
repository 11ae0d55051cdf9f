r"""Kernel truncation: soft-mins restricted to the cluster pairs that matter.

The plan is :math:`\pi_{ij} = a_i b_j \exp(-s_{ij}/\varepsilon)` with slack
:math:`s_{ij} = C(x_i, y_j) - f_i - g_j`, and a row of the soft-min weights sums to one at the fixed
point, so dropping the pairs with :math:`s_{ij} > \tau\varepsilon` (τ = ``truncate``) removes at most a
fraction :math:`e^{-\tau}` of each row: each soft-min moves by at most :math:`-\varepsilon\log(1 - e^{-\tau})`.

The slack of points is bounded below from a coarse solution on clusters (centroids X_k, Y_l, radii
r_k, r_l, potentials F_k, G_l) by a first-order expansion around the centroids (p = 2):

.. math::
    s(x, y) \ge s_{kl} - |T_k - Y_l|\, r_k - |S_l - X_k|\, r_l - r_k r_l,

with T_k, S_l the barycentric (entropic Brenier) images of the centroids; for p = 1, f and C are
1-Lipschitz and the margin is 2 (r_k + r_l). A cluster pair is kept when the bound is at most τε.
"""
from __future__ import annotations

from typing import List

import torch

from .clusters import Clusters
from .softmin import entries_per_block, softmin_block, with_closed_form_gradient

#: Rows per dense block.
ROWS_PER_BLOCK = 32
#: keep_pairs works on row chunks of at most this many cluster pairs.
KEEP_CHUNK = 1 << 22


def keep_pairs(xc: Clusters, yc: Clusters, f: torch.Tensor, g: torch.Tensor, x_map, y_map, eps: float,
               truncate: float, p: int) -> torch.Tensor:
    """Boolean (Kx, Ky) mask of the cluster pairs whose slack lower bound is at most truncate * eps.

    ``f`` (Kx,), ``g`` (Ky,) are potentials on the centroids; ``x_map`` (Kx, D) and ``y_map`` (Ky, D)
    the barycentric images of the centroids (p = 2; None for p = 1). Every row and column keeps at
    least its best pair.
    """
    X, Y = xc.centroids, yc.centroids
    kx, ky = X.shape[0], Y.shape[0]
    keep = torch.empty(kx, ky, dtype=torch.bool, device=X.device)
    col_best = torch.full((ky,), float("inf"), dtype=X.dtype, device=X.device)
    col_arg = torch.zeros(ky, dtype=torch.long, device=X.device)
    step = max(1, KEEP_CHUNK // max(ky, 1))
    for s in range(0, kx, step):
        sl = slice(s, s + step)
        d = torch.cdist(X[sl], Y)
        bound = (d * d / 2 if p == 2 else d) - f[sl, None] - g[None, :]
        if p == 2:
            bound -= (torch.cdist(x_map[sl], Y) * xc.radii[sl, None] + torch.cdist(X[sl], y_map) * yc.radii[None, :]
                      + xc.radii[sl, None] * yc.radii[None, :])
        else:
            bound -= 2 * (xc.radii[sl, None] + yc.radii[None, :])
        keep[sl] = bound <= truncate * eps
        keep[sl][torch.arange(bound.shape[0], device=X.device), bound.argmin(1)] = True
        best, arg = bound.min(0)
        better = best < col_best
        col_best = torch.where(better, best, col_best)
        col_arg = torch.where(better, arg + s, col_arg)
    keep[col_arg, torch.arange(ky, device=X.device)] = True
    return keep


class BlockSoftmin:
    """Soft-min of x against the columns kept by a cluster mask, on dense blocks.

    ``keep`` (Kx, Ky) relates clusters of x (``x_labels``, (N,)) to clusters of y (``y_labels``, (M,)).
    The points of x, sorted by cluster, are cut into blocks of ROWS_PER_BLOCK consecutive points; a
    block's columns are all the points of the y-clusters kept by any cluster it touches. Blocks are
    sorted by width and batched (padded columns carry h = -inf), at most ``entries_per_block`` entries a
    batch. Differentiable in x (closed form, see :mod:`otlab.core.clouds.softmin`).
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, keep: torch.Tensor, x_labels: torch.Tensor,
                 y_labels: torch.Tensor, p: int):
        # x is (1, N, D) and may require grad: it is sliced at call time, so that a call with gradients
        # on (the closing Sinkhorn update) differentiates it even if this object was built without.
        self.x, self.p = x, p
        y = y[0].detach()
        self.n, self.m = x.shape[1], y.shape[0]
        dev = x.device
        kx, ky = keep.shape
        x_perm = torch.argsort(x_labels, stable=True)
        y_perm = torch.argsort(y_labels, stable=True)
        y_count = torch.bincount(y_labels, minlength=ky)
        y_start = torch.cumsum(y_count, 0) - y_count
        rows_per = ROWS_PER_BLOCK
        n_blocks = (self.n + rows_per - 1) // rows_per
        first = torch.arange(n_blocks, device=dev) * rows_per
        last = (first + rows_per - 1).clamp_max(self.n - 1)
        sorted_labels = x_labels[x_perm]
        # a block touches clusters k0..k1: OR of their rows of keep, from a cumulative sum
        cum = torch.cat([torch.zeros(1, ky, dtype=torch.int32, device=dev), keep.int().cumsum(0, dtype=torch.int32)])
        block_keep = (cum[sorted_labels[last] + 1] - cum[sorted_labels[first]]) > 0
        bb, ll = block_keep.nonzero(as_tuple=True)
        pair_len = y_count[ll]
        flat_cols = y_perm[_ranges(y_start[ll], pair_len)]
        width = torch.zeros(n_blocks, dtype=torch.long, device=dev).index_add_(0, bb, pair_len)
        seg_start = torch.cumsum(width, 0) - width
        order = torch.argsort(width, stable=True)
        widths = width[order]

        x_perm_ext = torch.cat([x_perm, x_perm.new_full((rows_per,), self.n)])
        y_ext = torch.cat([y, y.new_zeros(1, y.shape[1])])
        r = torch.arange(rows_per, device=dev)
        self.batches = []
        for lo, hi in _batch_bounds(widths.tolist(), rows_per, entries_per_block(dev)):
            blk = order[lo:hi]
            rows = x_perm_ext[first[blk, None] + r[None, :]]
            c = torch.arange(int(widths[hi - 1]), device=dev)
            inside = c[None, :] < width[blk, None]
            cols = torch.where(inside, flat_cols[(seg_start[blk, None] + c[None, :]).clamp_max(flat_cols.numel() - 1)],
                               torch.full_like(inside, self.m, dtype=torch.long))
            yb = y_ext[cols]
            self.batches.append((rows, cols, yb, (yb * yb).sum(-1)))
        #: number of (row, column) pairs the soft-min visits, padding excluded
        self.kept_entries = int((width * (last - first + 1)).sum())

    def _compute(self, eps: float, h: torch.Tensor, need_grad: bool):
        x = self.x[0].detach()
        h_ext = torch.cat([h.reshape(-1).detach(), h.new_full((1,), float("-inf"))])
        x_ext = torch.cat([x, x.new_zeros(1, x.shape[1])])
        f = x.new_empty(self.n + 1)
        grad = x.new_zeros(self.n + 1, x.shape[1]) if need_grad else None
        for rows, cols, yb, y2b in self.batches:
            fb, gb = softmin_block(eps, x_ext[rows], yb, h_ext[cols], self.p, y2b, need_grad)
            f[rows.reshape(-1)] = fb.reshape(-1)
            if need_grad:
                grad[rows.reshape(-1)] = gb.reshape(-1, x.shape[1])
        return f[None, : self.n], (grad[None, : self.n] if need_grad else None)

    def __call__(self, eps: float, h: torch.Tensor) -> torch.Tensor:
        """Potentials on x, (1, N), from log-weights h (1, M) on y."""
        return with_closed_form_gradient(self.x, lambda need: self._compute(eps, h, need))

    def barycentric(self, eps: float, h: torch.Tensor) -> torch.Tensor:
        """Barycentric images sum_j P_ij y_j of the rows (p = 2), (1, N, D)."""
        _, grad = self._compute(eps, h, True)
        return self.x.detach() - grad


def _ranges(starts: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Concatenation of arange(s, s + n) for each (s, n), vectorised."""
    total = int(lengths.sum())
    offsets = torch.cumsum(lengths, 0) - lengths
    return torch.arange(total, device=starts.device) - torch.repeat_interleave(offsets - starts, lengths)


def _batch_bounds(widths: List[int], rows: int, budget: int):
    """Cut blocks sorted by width into consecutive batches of at most ``budget`` padded entries."""
    lo, n = 0, len(widths)
    while lo < n:
        hi = lo + 1
        while hi < n and (hi + 1 - lo) * rows * max(widths[hi], 1) <= budget:
            hi += 1
        yield lo, hi
        lo = hi
