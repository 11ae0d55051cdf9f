"""The stopping rule on the transport map (``map_tol``): ∇_x S_ε within 1% of the converged one.

The reference is independent of otlab: a dense float64 log-domain Sinkhorn written here, run until the L1
marginal error of each problem is below 1e-7; at its fixed point ∇_{x_i} S_ε = a_i (x̄^{aa}_i − ȳ_i), with
ȳ_i = Σ_j π_ij y_j / a_i the barycentre of row i of the plan of OT_ε(α, β) and x̄^{aa}_i that of OT_ε(α, α).
"""
import math
import warnings

import pytest
import torch

from otlab.core import ConvergenceWarning, SamplesLoss, solve

MAP_TOL = 0.005  # the estimate's bound that keeps the measured map error within 1% (docs/core.md)


def _row_barycentres(x, y, a, b, eps, tol=1e-7, max_iter=50000):
    """Σ_j π_ij y_j / a_i for the converged plan of OT_ε(a, b), C = |x − y|²/2 (float64): alternating
    updates, warm-started by 20 of them at each of ε = 1, 1/2, 1/4, ... (the fixed point is unique)."""
    cost = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1) / 2
    la, lb = a.log()[:, None], b.log()[None, :]
    g = torch.zeros_like(b)
    schedule = [2.0 ** -(k // 20) for k in range(20 * int(math.log2(1 / eps)))] + [eps] * max_iter
    for k, e in enumerate(schedule):
        f = -e * torch.logsumexp(lb + (g - cost) / e, dim=1)
        g = -e * torch.logsumexp(la + (f[:, None] - cost) / e, dim=0)
        if e == eps and k % 10 == 0:
            plan = torch.exp(la + lb + (f[:, None] + g - cost) / eps)
            if float((plan.sum(1) - a).abs().sum()) < tol:
                return plan @ y / a[:, None]
    raise AssertionError("the reference Sinkhorn did not converge")


def reference_gradient(x, y, a, b, blur):
    x, y, a, b = (t.double() for t in (x, y, a, b))
    eps = blur ** 2
    return a[:, None] * (_row_barycentres(x, x, a, a, eps) - _row_barycentres(x, y, a, b, eps))


def ring_and_mixture(n, seed=0):
    """A thin ring against a three-Gaussian mixture: the family where one update per level of error
    leaves the map furthest from converged."""
    gen = torch.Generator().manual_seed(seed)
    t = 2 * math.pi * torch.rand(n, generator=gen)
    ring = 0.5 + torch.stack([t.cos(), t.sin()], 1) * (0.3 + 0.02 * torch.randn(n, 1, generator=gen))
    centres = torch.tensor([[0.3, 0.3], [0.7, 0.4], [0.45, 0.75]])
    mix = centres[torch.randint(0, 3, (n,), generator=gen)] + 0.06 * torch.randn(n, 2, generator=gen)
    return ring, mix


def gradient(x, y, a, b, **options):
    xg = x.clone().requires_grad_(True)
    result = solve(xg, y, a, b, blur=0.05, **options)
    (grad,) = torch.autograd.grad(result.value, xg)
    return result, grad


def relative(grad, ref):
    return float((grad.double() - ref).norm() / ref.norm())


@pytest.mark.parametrize("seed", [0, 1])
def test_map_tol_gives_the_map_within_one_percent_where_the_marginal_rule_alone_does_not(seed):
    x, y = ring_and_mixture(500, seed)
    a = b = torch.full((500,), 1 / 500)
    ref = reference_gradient(x, y, a, b, 0.05)
    result, grad = gradient(x, y, a, b, map_tol=MAP_TOL)
    assert result.converged is True
    assert relative(grad, ref) < 0.01
    _, marginal_only = gradient(x, y, a, b)  # the default level_tol rule alone: what map_tol fixes
    assert relative(marginal_only, ref) > 0.02


def test_uneven_weights_and_sizes_meet_the_map_tolerance():
    gen = torch.Generator().manual_seed(3)
    x, y = ring_and_mixture(400, 2)
    y = y[:250]
    a, b = torch.rand(400, generator=gen) + 0.5, torch.rand(250, generator=gen) + 0.5
    a, b = a / a.sum(), b / b.sum()
    ref = reference_gradient(x, y, a, b, 0.05)
    result, grad = gradient(x, y, a, b, map_tol=MAP_TOL)
    assert result.converged is True and relative(grad, ref) < 0.01
    assert relative(gradient(x, y, a, b)[1], ref) > 0.02


def test_samples_loss_passes_map_tol_on():
    x, y = ring_and_mixture(400, 4)
    a = b = torch.full((400,), 1 / 400)
    ref = reference_gradient(x, y, a, b, 0.05)
    for convergence, within in (({"map_tol": MAP_TOL}, True), ({"level_tol": None}, False)):
        xg = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(SamplesLoss(blur=0.05, **convergence)(xg, y), xg)
        assert (relative(grad, ref) < 0.01) is within, convergence


def test_an_unreachable_map_tolerance_stops_at_max_iter_and_says_so():
    x, y = ring_and_mixture(300, 5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = solve(x, y, blur=0.05, map_tol=1e-6, max_iter=40)
    assert result.converged is False and result.n_iter <= 40
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(messages) == 1 and "estimated map error" in messages[0] and "map_tol=1e-06" in messages[0]


@pytest.mark.parametrize("options", [dict(p=1), dict(cost=lambda x, y: ((x[:, :, None] - y[:, None]) ** 2).sum(-1))],
                         ids=["p=1", "cost"])
def test_map_tol_is_refused_where_there_is_no_brenier_map(options):
    x, y = ring_and_mixture(50)
    with pytest.raises(ValueError, match="map_tol measures the map"):
        solve(x, y, blur=0.05, map_tol=0.01, **options)
    assert solve(x, y, blur=0.05, **options).converged is True


@pytest.mark.parametrize("bad", [0.0, -1e-3, "tight", float("nan")])
def test_bad_map_tol_is_named(bad):
    x, y = ring_and_mixture(20)
    with pytest.raises((ValueError, TypeError), match="map_tol"):
        solve(x, y, map_tol=bad)


def test_map_tol_keeps_the_symmetry_and_a_batch_equals_a_loop():
    """Both clouds' maps are measured, so swapping them runs the same updates; each batch item stops on
    its own estimate."""
    pairs = [tuple(t.double() for t in ring_and_mixture(200, seed)) for seed in (6, 7)]
    forward, backward = (solve(x, y, blur=0.05, map_tol=MAP_TOL, diameter=1.5) for x, y in (pairs[0], pairs[0][::-1]))
    assert float(forward.value) == pytest.approx(float(backward.value), rel=1e-12, abs=1e-15)
    looped = torch.stack([solve(x, y, blur=0.05, map_tol=MAP_TOL, diameter=1.5).value for x, y in pairs])
    batched = solve(torch.stack([x for x, _ in pairs]), torch.stack([y for _, y in pairs]), blur=0.05,
                    map_tol=MAP_TOL, diameter=1.5).value
    torch.testing.assert_close(batched, looped, rtol=1e-12, atol=1e-15)
