"""The multiscale pieces: nested voxel clusters, truncation masks, block soft-mins."""
import pytest
import torch

from otlab.core import solve
from otlab.core.clouds.block_softmin import BlockSoftmin, keep_pairs
from otlab.core.clouds.clusters import parent_labels, voxel_clusters
from otlab.core.clouds.softmin import softmin_dense


def test_voxel_clusters_are_weighted_and_nested():
    x = torch.rand(500, 2, dtype=torch.float64)
    w = torch.rand(500, dtype=torch.float64)
    origin = torch.zeros(2, dtype=torch.float64)
    coarse, fine = voxel_clusters(x, w, origin, 0.25), voxel_clusters(x, w, origin, 0.125)
    assert coarse.count == 16 and fine.count == 64
    torch.testing.assert_close(coarse.masses.sum(), w.sum())
    k = 3
    members = coarse.labels == k
    torch.testing.assert_close(coarse.centroids[k], (w[members, None] * x[members]).sum(0) / w[members].sum())
    assert float((x - coarse.centroids[coarse.labels]).norm(dim=1).max()) <= float(coarse.radii.max()) + 1e-12
    parents = parent_labels(fine, coarse)
    torch.testing.assert_close(parents[fine.labels], coarse.labels, rtol=0, atol=0)


def clustered_pair(n, m, dim, cell):
    """Random clouds (1, n, dim), (1, m, dim), log-weights h (1, m) and their voxel clusters."""
    x, y = torch.rand(1, n, dim, dtype=torch.float64), torch.rand(1, m, dim, dtype=torch.float64)
    origin = torch.zeros(dim, dtype=torch.float64)
    xc = voxel_clusters(x[0], torch.ones(n, dtype=torch.float64), origin, cell)
    yc = voxel_clusters(y[0], torch.ones(m, dtype=torch.float64), origin, cell)
    return x, y, torch.randn(1, m, dtype=torch.float64), xc, yc


def test_block_softmin_equals_dense_when_everything_is_kept():
    x, y, h, xc, yc = clustered_pair(300, 200, 3, 0.3)
    keep = torch.ones(xc.count, yc.count, dtype=torch.bool)
    for p in (1, 2):
        op = BlockSoftmin(x, y, keep, xc.labels, yc.labels, p)
        assert op.kept_entries == 300 * 200
        torch.testing.assert_close(op(0.05, h), softmin_dense(0.05, x, y, h, p), rtol=1e-12, atol=1e-12)


def test_block_softmin_restricts_to_kept_pairs_and_differentiates():
    x, y, h, xc, yc = clustered_pair(120, 90, 2, 0.5)
    keep = torch.rand(xc.count, yc.count) < 0.6
    keep[:, 0] = True
    # blocks of consecutive points may share clusters: each point sees at least its own cluster's columns
    xg = x.clone().requires_grad_(True)
    op = BlockSoftmin(xg, y, keep, xc.labels, yc.labels, 2)
    f = op(0.1, h)
    mask = keep[xc.labels][:, yc.labels]
    logits = h[0][None, :] - torch.cdist(x[0], y[0]) ** 2 / 2 / 0.1
    kept_only = -0.1 * torch.logsumexp(logits.masked_fill(~mask, float("-inf")), dim=1)
    everything = softmin_dense(0.1, x, y, h, 2)[0]
    # each point sees at least the columns kept for its cluster, and at most all of them
    assert bool((f.detach()[0] <= kept_only + 1e-12).all() and (f.detach()[0] >= everything - 1e-12).all())
    assert bool((f.detach()[0] > everything + 1e-6).any())
    (g,) = torch.autograd.grad(f.sum(), xg)
    d = torch.randn_like(x)
    fd = (BlockSoftmin(x + 1e-6 * d, y, keep, xc.labels, yc.labels, 2)(0.1, h).sum()
          - BlockSoftmin(x - 1e-6 * d, y, keep, xc.labels, yc.labels, 2)(0.1, h).sum()) / 2e-6
    assert float((g * d).sum()) == pytest.approx(float(fd), rel=1e-6)


@pytest.mark.parametrize("p", [1, 2])
def test_a_dropped_cluster_pair_has_every_point_pair_past_the_truncation(p):
    """keep_pairs drops the cluster pair (k, l) only if every point pair (x_i, y_j) in it has slack
    C(x_i, y_j) - F(x_i) - G(y_j) > truncate·ε: its kernel entries are all below e^-truncate. F and G are the
    potentials extended from the clusters by the soft-min formula, evaluated on the points themselves (the
    bound's derivation is not used: for p = 2, |x|²/2 - F is convex; for p = 1, F is 1-Lipschitz). The
    mask must drop much, and keep each row's and column's best pair."""
    eps, truncate = (0.05 ** p), 5.0
    gen = torch.Generator().manual_seed(p)
    x = torch.rand(800, 2, dtype=torch.float64, generator=gen)
    y = 0.15 * torch.randn(700, 2, dtype=torch.float64, generator=gen) + 0.5
    origin = torch.full((2,), -1.0, dtype=torch.float64)
    cell = 0.1 if p == 2 else 0.04  # p = 1 pays 2 (r_x + r_y) of slack for the clusters' size
    xc = voxel_clusters(x, torch.full((800,), 1 / 800, dtype=torch.float64), origin, cell)
    yc = voxel_clusters(y, torch.full((700,), 1 / 700, dtype=torch.float64), origin, cell)
    coarse = solve(xc.centroids, yc.centroids, xc.masses, yc.masses, p=p, blur=0.05, debias=False, tol=1e-6)
    X, Y = xc.centroids.clone().requires_grad_(True), yc.centroids.clone().requires_grad_(True)
    f, g = coarse.potential_f(X), coarse.potential_g(Y)
    maps = None, None
    if p == 2:  # the barycentric images X - ∇F(X), Y - ∇G(Y)
        grad_f, grad_g = torch.autograd.grad(f.sum() + g.sum(), (X, Y))
        maps = (X - grad_f).detach(), (Y - grad_g).detach()
    keep = keep_pairs(xc, yc, f.detach(), g.detach(), *maps, eps, truncate, p)
    d = torch.cdist(x, y)
    slack = (d * d / 2 if p == 2 else d) - coarse.potential_f(x)[:, None] - coarse.potential_g(y)[None, :]
    dropped = ~keep[xc.labels][:, yc.labels]
    assert float(dropped.double().mean()) > (0.3 if p == 2 else 0.1)  # not vacuous
    assert float(slack[dropped].min()) > truncate * eps
    assert bool(keep.any(0).all() and keep.any(1).all())
    assert float(slack[~dropped].min()) < truncate * eps  # the band the plan lives in is kept
