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
