"""Exact 1D OT by sorting (otlab.core.solve_1d) against POT's exact solver."""
import numpy as np
import ot
import pytest
import torch

from otlab.core import from_pot, solve_1d


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("n, m", [(1, 1), (7, 7), (50, 33), (200, 301)])
def test_solve_1d_equals_emd2_weighted(p, n, m):
    rng = np.random.default_rng(n * 1000 + m + p)
    x, y = rng.normal(size=n), rng.normal(1.0, 2.0, size=m)
    y[: m // 3] = y[0]  # ties inside a cloud
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    a, b = a / a.sum(), b / b.sum()
    value, plan = solve_1d(torch.tensor(x), torch.tensor(y), torch.tensor(a), torch.tensor(b), p=p)
    metric = "sqeuclidean" if p == 2 else "euclidean"
    exact = from_pot(ot.emd2(a, b, ot.dist(x[:, None], y[:, None], metric=metric)), p)
    assert float(value) == pytest.approx(exact, rel=1e-9, abs=1e-12)
    # the plan: marginals a and b, at most N + M - 1 entries, and its cost is the value
    i, j, mass = plan[:, 0].long(), plan[:, 1].long(), plan[:, 2]
    assert len(plan) <= n + m - 1
    np.testing.assert_allclose(torch.zeros(n, dtype=torch.float64).index_add(0, i, mass), a, atol=1e-12)
    np.testing.assert_allclose(torch.zeros(m, dtype=torch.float64).index_add(0, j, mass), b, atol=1e-12)
    d = torch.tensor(x)[i] - torch.tensor(y)[j]
    assert float((mass * (d.abs() if p == 1 else d * d / 2)).sum()) == pytest.approx(float(value), rel=1e-12)


def test_solve_1d_uniform_is_sorted_matching_and_differentiable():
    x = torch.tensor([3.0, -1.0, 0.5], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0.0, 2.0, 1.0], dtype=torch.float64)
    value, _ = solve_1d(x, y)
    # sorted: -1 -> 0, 0.5 -> 1, 3 -> 2: value = (1 + 0.25 + 1) / 2 / 3
    assert float(value.detach()) == pytest.approx((1 + 0.25 + 1) / 6, rel=1e-12)
    (grad,) = torch.autograd.grad(value, x)
    torch.testing.assert_close(grad, torch.tensor([1.0, -1.0, -0.5], dtype=torch.float64) / 3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(x=[[0.0, 1.0]], y=[0.0]), "on the line"),
    (dict(x=[0.0, 1.0], y=[0.0], a=[0.5, 0.5], b=[2.0]), "same total mass"),
    (dict(x=[0.0, float("nan")], y=[0.0]), "NaN"),
    (dict(x=[0.0, 1.0], y=[0.0], a=[1.0, -0.5]), "negative"),
])
def test_solve_1d_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        solve_1d(**kwargs)
