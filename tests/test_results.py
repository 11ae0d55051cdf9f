"""OTResult: Brenier map, plan, extended potentials, marginal error, iterate()."""
import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from otlab.core import anneal_schedule, iterate, solve
from otlab.core.costs import joint_diameter

from weights import random_weights


def test_brenier_map_matches_hungarian_assignment():
    n = 80
    x = torch.rand(n, 2, dtype=torch.float64)
    y = torch.rand(n, 2, dtype=torch.float64) * 0.5 + torch.tensor([0.8, 0.2], dtype=torch.float64)
    rows, cols = linear_sum_assignment(torch.cdist(x, y).pow(2).numpy())
    target = y[torch.as_tensor(cols)][torch.argsort(torch.as_tensor(rows))]
    xg = x.clone().requires_grad_(True)
    res = solve(xg, y, blur=0.002, scaling=0.9, tol=1e-3)
    mapped = res.brenier_map()
    assert mapped.shape == (n, 2)
    err = (mapped - target).norm(dim=1)
    # near-ties of the assignment (cost gaps below ~ε) share mass: most points, not all, land exactly
    assert float(err.median()) < 1e-3 and float((err < 1e-2).double().mean()) >= 0.9 and float(err.mean()) < 5e-3
    map_cost, exact_cost = (((x - m) ** 2).sum(1).mean() / 2 for m in (mapped, target))
    assert float(map_cost) == pytest.approx(float(exact_cost), rel=1e-3)
    # the map is x - grad_x S / a_i
    (grad,) = torch.autograd.grad(res.value, xg)
    torch.testing.assert_close(mapped, x - grad * n, atol=1e-6, rtol=0)


@pytest.mark.parametrize("reach", [None, 0.5])
def test_extended_potentials_match_samples(reach):
    x, y = torch.rand(50, 2, dtype=torch.float64), torch.rand(40, 2, dtype=torch.float64)
    res = solve(x, y, random_weights(50), random_weights(40), reach=reach, blur=0.1, tol=1e-12, max_iter=10_000)
    torch.testing.assert_close(res.potential_f(x), res.f.detach(), rtol=1e-9, atol=1e-11)
    torch.testing.assert_close(res.potential_g(y), res.g.detach(), rtol=1e-9, atol=1e-11)
    torch.testing.assert_close(res.potential_f(x, debiased=True), (res.f - res.f_aa).detach(), rtol=1e-8, atol=1e-10)
    grid = torch.stack(torch.meshgrid(torch.linspace(0, 1, 7, dtype=torch.float64),
                                      torch.linspace(0, 1, 5, dtype=torch.float64), indexing="ij"), -1).reshape(-1, 2)
    assert res.potential_f(grid).shape == (35,)
    # differentiable in the evaluation points; balanced: T(z) = z - grad (F_ab - F_aa)(z)
    if reach is None:
        z = grid.clone().requires_grad_(True)
        (gz,) = torch.autograd.grad(res.potential_f(z, debiased=True).sum(), z)
        torch.testing.assert_close(res.brenier_map(grid), grid - gz, rtol=0, atol=1e-12)


def test_plan_marginals_and_lazy_product():
    a, b = random_weights(30), random_weights(45)
    x, y = torch.rand(30, 3, dtype=torch.float64), torch.rand(45, 3, dtype=torch.float64)
    res = solve(x, y, a, b, blur=0.2, tol=1e-9, max_iter=10_000, debias=False)
    plan = res.plan()
    assert res.marginal_error < 1e-8
    torch.testing.assert_close(plan.sum(1), a, atol=1e-8, rtol=0)
    torch.testing.assert_close(plan.sum(0), b, atol=1e-8, rtol=0)
    v = torch.randn(45, 4, dtype=torch.float64)
    torch.testing.assert_close(res.plan_apply(v), plan @ v, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(res.plan_apply(v[:, 0]), plan @ v[:, 0], rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="plan_apply"):
        res.plan(max_entries=100)


def test_marginal_error_is_reported_and_tol_is_met():
    x, y = torch.rand(200, 2), torch.rand(150, 2)
    loose = solve(x, y, blur=0.05)
    tight = solve(x, y, blur=0.05, tol=1e-3)
    assert tight.marginal_error < 2e-3 < loose.marginal_error
    assert tight.n_iter > loose.n_iter


def test_iterate_yields_the_schedule_and_solve_is_its_end():
    x, y = torch.rand(100, 2), torch.rand(90, 2) + 0.5
    diameter = joint_diameter(x, y)  # the bounding box's diagonal, in float64
    schedule = anneal_schedule(diameter, 0.05, 0.5, 2)
    geomloss_like = list(iterate(x, y, blur=0.05, scaling=0.5, level_tol=None))
    # one update per temperature (to rounding: the states carry ε through σ = ε^(1/p))
    assert [s.eps for s in geomloss_like[:-1]] == pytest.approx(schedule, rel=1e-12)
    states = list(iterate(x, y, blur=0.05, scaling=0.5))
    eps_seen = [s.eps for s in states[:-1]]  # extra updates where the marginal error is above level_tol
    assert len(eps_seen) > len(schedule)
    assert sorted(set(eps_seen), reverse=True) == pytest.approx(sorted(set(schedule), reverse=True), rel=1e-12)
    # non-increasing (GeomLoss's schedule repeats diameter^p as exp(p log diameter): equal to a rounding)
    assert all(e1 <= e0 * (1 + 1e-12) for e0, e1 in zip(eps_seen, eps_seen[1:]))
    assert states[-1].final and not any(s.final for s in states[:-1])
    assert states[-1].eps == pytest.approx(0.05 ** 2) and states[-1].blur == pytest.approx(0.05)
    assert [s.step for s in states] == list(range(len(states)))
    assert states[0].f.shape == (1, 100) and states[0].g.shape == (1, 90)
    assert float(states[-1].value) == pytest.approx(float(solve(x, y, blur=0.05).value), rel=1e-6)
    torch.testing.assert_close(states[-1].x, x.unsqueeze(0))


def test_schedule_ends_exactly_at_blur():
    """[d^p, d^p, (d s)^p, ..., blur^p]: the first temperature twice, ratios s in between, blur^p last."""
    for diameter, blur, scaling in [(3.0, 0.05, 0.5), (1.0, 0.3, 0.9), (0.01, 0.05, 0.5), (1.0, 0.125, 0.5)]:
        eps = anneal_schedule(diameter, blur, scaling, 2)
        assert eps[0] == pytest.approx(eps[1], rel=1e-14) and eps[0] == max(diameter, blur) ** 2
        assert eps[-1] == pytest.approx(blur ** 2)
        ratios = np.sqrt(np.array(eps[2:-1]) / np.array(eps[1:-2]))
        assert np.allclose(ratios, scaling)
        assert min(eps[:-1]) > blur ** 2 * (1 - 1e-12)


def test_brenier_map_needs_p2():
    res = solve(torch.rand(10, 2), torch.rand(10, 2), p=1)
    with pytest.raises(ValueError, match="p=2"):
        res.brenier_map()
