"""OT on grids: the separable log-domain solver against the point-cloud solver, closed forms,
finite differences, and bad input."""
import math

import pytest
import torch

from otlab.core import ImagesLoss, iterate_grid, solve, solve_grid
from otlab.core.grids.softmin import Grid, GridSoftmin, axis_kernel, logconv_last

F64 = torch.float64


def density(shape, seed, holes=True):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(shape, generator=g, dtype=F64) ** 2 + (0 if holes else 0.2)
    if holes:  # empty cells: log-weights of -inf must pass through every pass
        a.view(-1)[:: 3] = 0
    return a / a.sum()


def on_nodes(grid_result, A, B, **kw):
    """The point-cloud problem on the grid nodes, same schedule (diameter of the grid's box)."""
    nodes = grid_result.grid.nodes(F64).reshape(-1, grid_result.grid.dim)
    return solve(nodes, nodes, A.reshape(-1), B.reshape(-1), backend="tensorized",
                 diameter=grid_result.grid.diameter, **kw)


@pytest.mark.parametrize("shape, extent", [((37,), None), ((9, 7), None), ((6, 11), ((0, 2), (-1, 0.5))),
                                           ((5, 4, 6), None)])
@pytest.mark.parametrize("debias", [True, False])
@pytest.mark.parametrize("reach", [None, 0.4])
def test_grid_equals_point_cloud_solver(shape, extent, debias, reach):
    """Same ε schedule and updates: the values agree to float64 rounding of two exact soft-mins."""
    A, B = density(shape, 1), density(shape, 2)
    kw = dict(blur=0.07, debias=debias, reach=reach, level_tol=None)
    r = solve_grid(A, B, extent=extent, **kw)
    s = on_nodes(r, A, B, **kw)
    assert float(r.value) == pytest.approx(float(s.value), rel=1e-5, abs=1e-12)
    assert torch.allclose(r.f.reshape(-1), s.f, rtol=1e-5, atol=1e-9)
    assert torch.allclose(r.g.reshape(-1), s.g, rtol=1e-5, atol=1e-9)
    assert r.n_iter == s.n_iter


def test_brenier_map_equals_point_cloud_map():
    A, B = density((8, 9), 3), density((8, 9), 4)
    r = solve_grid(A, B, blur=0.05, level_tol=None)
    s = on_nodes(r, A, B, blur=0.05, level_tol=None)
    assert r.brenier_map().shape == (8, 9, 2)
    assert torch.allclose(r.brenier_map().reshape(-1, 2), s.brenier_map(), atol=1e-8)


def test_logconv_exact_for_steep_inputs():
    """The blockwise pass equals a dense log-sum-exp for tilts of thousands of nats, curvature, empty
    lines and tiny ε (where e^{-C/ε} underflows and kernel convolutions return 0)."""
    n = 300
    x = (torch.arange(n, dtype=F64) + 0.5) / n
    g = torch.Generator().manual_seed(0)
    for eps in (1e-1, 1e-3, 1e-4, 1e-5):
        h = (torch.randn(6, 1, generator=g, dtype=F64) * 0.4 * x / eps
             + torch.randn(6, 1, generator=g, dtype=F64) * x ** 2 / eps + torch.randn(6, n, generator=g, dtype=F64))
        h[:, : n // 4] = -math.inf
        h[5] = -math.inf
        ref = (h.unsqueeze(-2) - (x[:, None] - x[None, :]) ** 2 / (2 * eps)).logsumexp(-1)
        out = logconv_last(h, axis_kernel(x, eps))
        assert torch.isneginf(out[5]).all()
        assert torch.allclose(out[:5], ref[:5], rtol=1e-12, atol=1e-9)


def test_separable_softmin_equals_dense():
    grid = Grid((7, 5, 4), ((0, 1), (0, 0.6), (-1, 1)))
    h = torch.randn(2, grid.size, dtype=F64)
    nodes = grid.nodes().reshape(-1, 3)
    cost = ((nodes[:, None] - nodes[None]) ** 2).sum(-1) / 2
    for eps in (0.3, 1e-3):
        ref = -eps * (h[:, None, :] - cost / eps).logsumexp(-1)
        assert torch.allclose(GridSoftmin(grid)(eps, h), ref, rtol=1e-12, atol=1e-12)


def gaussian_1d(n, m, s):
    x = (torch.arange(n, dtype=F64) + 0.5) / n
    a = torch.exp(-(x - m) ** 2 / (2 * s * s))
    return a / a.sum(), x


def test_1d_gaussians_closed_form():
    """W2^2/2 between Gaussians is ((m1 - m2)^2 + (s1 - s2)^2)/2; S_ε approaches it as blur -> 0
    (measured: 1e-5 relative at blur .02, 8e-7 at .01); moments taken on the discretised densities."""
    A, x = gaussian_1d(800, 0.3, 0.05)
    B, _ = gaussian_1d(800, 0.62, 0.08)
    m = [(d * x).sum() for d in (A, B)]
    s = [((d * (x - mi) ** 2).sum()).sqrt() for d, mi in zip((A, B), m)]
    exact = 0.5 * ((m[0] - m[1]) ** 2 + (s[0] - s[1]) ** 2)
    value = solve_grid(A, B, blur=0.01, tol=1e-5).value
    assert float(value) == pytest.approx(float(exact), rel=1e-2)
    assert abs(float(value) / float(exact) - 1) < 1e-3


def test_translation_on_a_grid():
    """S(α, α shifted by v) = |v|²/2 for any ε when nothing crosses the border."""
    A = torch.zeros(40, 50, dtype=F64)
    A[8:20, 10:22] = torch.rand(12, 12, dtype=F64) + 0.5
    A /= A.sum()
    B = torch.roll(A, shifts=(9, 14), dims=(0, 1))
    v2 = (9 / 40) ** 2 + (14 / 50) ** 2
    for blur in (0.02, 0.2):
        assert float(solve_grid(A, B, blur=blur, tol=1e-7).value) == pytest.approx(v2 / 2, rel=1e-5)


def test_batch_equals_loop_and_float32():
    A = torch.stack([density((12, 10), k) for k in range(3)])
    B = torch.stack([density((12, 10), 10 + k) for k in range(3)])
    batch = solve_grid(A, B, blur=0.05, dim=2).value
    loop = torch.stack([solve_grid(a, b, blur=0.05).value for a, b in zip(A, B)])
    assert batch.shape == (3,)
    assert torch.allclose(batch, loop, rtol=1e-10)
    single = solve_grid(A[0].float(), B[0].float(), blur=0.05).value
    assert single.dtype == torch.float32
    assert float(single) == pytest.approx(float(loop[0]), rel=1e-4)


def test_small_blur_stays_finite_and_converges():
    """blur of half a pixel on a 64² grid (ε = 6e-5: e^{-C/ε} underflows for 2/3 of the pixel
    pairs, even in float64): finite potentials, and the tolerance is met."""
    A = torch.zeros(64, 64, dtype=F64)
    A[5:15, 5:30] = 1
    B = torch.zeros(64, 64, dtype=F64)
    B[40:60, 45:55] = 1
    r = solve_grid(A / A.sum(), B / B.sum(), blur=1 / 128, tol=1e-3)
    assert r.converged and r.marginal_error <= 1e-3
    assert torch.isfinite(r.f).all() and torch.isfinite(r.g).all()


def test_iterate_grid_states():
    A, B = density((10, 10), 5), density((10, 10), 6)
    states = list(iterate_grid(A, B, blur=0.05))
    assert states[-1].final and not any(s.final for s in states[:-1])
    assert states[0].f.shape == (10, 10)
    assert [s.eps for s in states] == sorted([s.eps for s in states], reverse=True)
    assert float(states[-1].value) == pytest.approx(float(solve_grid(A, B, blur=0.05).value), rel=1e-12)


@pytest.mark.parametrize("reach", [None, 0.5])
def test_images_loss_gradient_matches_finite_differences(reach):
    """dS/dA along zero-sum directions (balanced: mass stays put), float64, converged potentials."""
    A, B = density((6, 7), 7, holes=False), density((6, 7), 8, holes=False)
    loss = ImagesLoss(blur=0.1, reach=reach, tol=1e-12)
    A_var = A.clone().requires_grad_(True)
    loss(A_var, B).backward()
    g = torch.Generator().manual_seed(3)
    for _ in range(3):
        d = torch.randn(6, 7, generator=g, dtype=F64)
        d -= d.mean()
        h = 1e-5
        fd = (loss(A + h * d, B) - loss(A - h * d, B)) / (2 * h)
        assert float((A_var.grad * d).sum()) == pytest.approx(float(fd), rel=1e-5, abs=1e-9)


def test_images_loss_batched_and_repr():
    A = torch.stack([density((5, 5), k) for k in range(2)])
    loss = ImagesLoss(blur=0.1, dim=2)
    assert loss(A, A.flip(0)).shape == (2,)
    assert "blur=0.1" in repr(loss)


@pytest.mark.parametrize("call, match", [
    (lambda: solve_grid(-torch.ones(4, 4), torch.ones(4, 4)), "A has negative values"),
    (lambda: solve_grid(torch.zeros(4, 4), torch.ones(4, 4)), "A is zero everywhere"),
    (lambda: solve_grid(torch.ones(4, 4), torch.full((4, 4), math.nan)), "B contains NaN"),
    (lambda: solve_grid(torch.ones(4, 4), torch.ones(4, 5)), "same grid"),
    (lambda: solve_grid(torch.ones(4, 4), 2 * torch.ones(4, 4)), "different total masses"),
    (lambda: solve_grid(torch.ones(4, 4), torch.ones(4, 4), extent=(1, 0)), "lo < hi"),
    (lambda: solve_grid(torch.ones(4, 4), torch.ones(4, 4), extent=((0, 1),) * 3), "3D grid"),
    (lambda: solve_grid(torch.ones(2, 2, 2, 2, 2), torch.ones(2, 2, 2, 2, 2)), "batch"),
    (lambda: solve_grid(torch.ones(4), torch.ones(4), dim=4), "dim must be 1, 2 or 3"),
    (lambda: solve_grid(torch.ones(4), torch.ones(4), blur=0), "blur must be a finite number > 0"),
    (lambda: ImagesLoss(p=1), "p=2 only"),
    (lambda: solve_grid("image", torch.ones(4)), "A must be a tensor"),
])
def test_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
