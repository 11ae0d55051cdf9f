"""The divergence against exact OT (POT's network simplex, cost |x - y|^2 / 2).

The divergence approximates OT between the measures blurred at scale ``blur``, so it is compared
with the exact discrete cost only when blur is well below the point spacing (mean nearest-neighbour
distance): blur = spacing / 5.
"""
import numpy as np
import ot
import pytest
import torch

from otlab.core import from_pot, solve

from weights import mean_nn_distance, random_weights, uniform_weights


def clouds(dim, n, m, weights):
    x = torch.rand(n, dim, dtype=torch.float64)
    y = torch.rand(m, dim, dtype=torch.float64) * 0.8 + 0.3
    a, b = (uniform_weights(n), uniform_weights(m)) if weights == "uniform" else (random_weights(n), random_weights(m))
    return x, y, a, b


def exact_cost(x, y, a, b):
    """ot.emd2 with POT's sqeuclidean metric |x - y|^2, converted to |x - y|^2 / 2."""
    return from_pot(ot.emd2(a.numpy(), b.numpy(), ot.dist(x.numpy(), y.numpy(), metric="sqeuclidean")))


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("weights", ["uniform", "random"])
def test_divergence_close_to_exact_ot(dim, weights):
    x, y, a, b = clouds(dim, 200, 230, weights)
    exact = exact_cost(x, y, a, b)
    blur = min(mean_nn_distance(x), mean_nn_distance(y)) / 5
    annealed = float(solve(x, y, a, b, blur=blur, scaling=0.9).value)
    assert annealed == pytest.approx(exact, rel=1e-2)
    converged = solve(x, y, a, b, blur=blur, scaling=0.9, tol=1e-2)
    assert converged.marginal_error < 2e-2
    assert float(converged.value) == pytest.approx(exact, rel=2e-3)
    biased = float(solve(x, y, a, b, blur=blur, scaling=0.9, tol=1e-2, debias=False).value)
    assert biased > exact


def test_pot_conventions_round_trip():
    """POT's entropic problem at reg = pot_reg(blur) has the same plan as ours at blur."""
    from otlab.core import pot_reg
    x, y, a, b = clouds(2, 40, 50, "random")
    blur = 0.2
    plan_pot = ot.sinkhorn(a.numpy(), b.numpy(), ot.dist(x.numpy(), y.numpy()), reg=pot_reg(blur),
                           numItermax=100000, stopThr=1e-12)
    plan = solve(x, y, a, b, blur=blur, debias=False, tol=1e-10, max_iter=100000).plan()
    np.testing.assert_allclose(plan.numpy(), plan_pot, atol=1e-8)


def entropic_ot_pot(a, b, x, y, eps):
    """POT's OT_ε for p = 1 (cost |x - y|): <π, C> + ε KL(π | a⊗b) at its log-domain Sinkhorn's plan."""
    a, b, cost = a.numpy(), b.numpy(), ot.dist(x.numpy(), y.numpy(), metric="euclidean")
    plan = ot.bregman.sinkhorn_log(a, b, cost, eps, numItermax=100000, stopThr=1e-13)
    support = plan > 0
    return float((plan * cost).sum() + eps * (plan[support] * np.log(plan[support] / np.outer(a, b)[support])).sum())


def test_p1_divergence_is_pots_entropic_divergence_and_tends_to_exact_w1():
    """p = 1 (cost |x - y|, ε = blur): the biased OT_ε is POT's entropic OT (primal <π, C> + ε KL at its
    plan), and S_ε = OT_ε(a, b) - OT_ε(a, a)/2 - OT_ε(b, b)/2 (POT's plain Sinkhorn takes ~30 s on the
    self-problems at this ε, so those are ours, biased); S_ε lies below the exact W1 (ot.emd2) by a bias
    that shrinks with blur (measured on these clouds, and with POT's self-problems too: 4.5% at spacing/5,
    2.0% at spacing/10, 0.8% at spacing/20), and the biased OT_ε lies above it."""
    x, y, a, b = clouds(2, 120, 140, "random")
    exact = float(ot.emd2(a.numpy(), b.numpy(), ot.dist(x.numpy(), y.numpy(), metric="euclidean")))
    spacing = min(mean_nn_distance(x), mean_nn_distance(y))
    blur = spacing / 5
    def biased(u, v, wu, wv):
        return float(solve(u, v, wu, wv, p=1, blur=blur, scaling=0.95, tol=1e-9, max_iter=100000,
                           debias=False).value)

    assert biased(x, y, a, b) == pytest.approx(entropic_ot_pot(a, b, x, y, blur), rel=1e-6)
    debiased = float(solve(x, y, a, b, p=1, blur=blur, scaling=0.95, tol=1e-9, max_iter=100000).value)
    assert debiased == pytest.approx(biased(x, y, a, b) - biased(x, x, a, a) / 2 - biased(y, y, b, b) / 2, rel=1e-6)
    gaps = []
    for div in (5, 20):
        converged = solve(x, y, a, b, p=1, blur=spacing / div, scaling=0.95, tol=1e-4, max_iter=100000)
        gaps.append(1 - float(converged.value) / exact)
        biased = solve(x, y, a, b, p=1, blur=spacing / div, scaling=0.95, tol=1e-4, max_iter=100000, debias=False)
        assert float(biased.value) > exact
    assert 0 < gaps[1] < 0.01 and gaps[1] < gaps[0] / 3
