"""Closed forms: Diracs, translations, 1D sorting."""
import math

import pytest
import torch

from otlab.core import SamplesLoss, solve

BACKENDS = ["tensorized", "online", "multiscale"]


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("backend", BACKENDS)
def test_two_diracs(p, backend):
    """1 x 1 Diracs: OT_eps = C(x, y), f = g = C / 2 (debiased S equals C too)."""
    x = torch.tensor([[0.3, -0.2]], dtype=torch.float64)
    y = torch.tensor([[1.1, 0.4]], dtype=torch.float64)
    cost = float((x - y).norm()) ** p / (2 if p == 2 else 1)
    biased = solve(x, y, p=p, blur=0.1, debias=False, backend=backend)
    assert float(biased.value) == pytest.approx(cost, rel=1e-10)
    assert float(biased.f[0]) == pytest.approx(cost / 2, rel=1e-10)
    assert float(biased.g[0]) == pytest.approx(cost / 2, rel=1e-10)
    assert float(solve(x, y, p=p, blur=0.1, backend=backend).value) == pytest.approx(cost, rel=1e-10)


@pytest.mark.parametrize("blur", [0.01, 0.1, 0.5, 2.0])
@pytest.mark.parametrize("backend", BACKENDS)
def test_translation_is_half_squared_shift(blur, backend):
    """S(α, α + v) = |v|^2 / 2 for any ε (p = 2) at convergence, here with non-uniform weights."""
    x = torch.randn(120, 2, dtype=torch.float64)
    w = torch.rand(120, dtype=torch.float64) + 0.2
    w /= w.sum()
    v = torch.tensor([0.7, -0.4], dtype=torch.float64)
    value = solve(x, x + v, w, w, blur=blur, backend=backend, tol=1e-4).value
    assert float(value) == pytest.approx(float(v @ v) / 2, rel=1e-6)


def test_translation_batched():
    x = torch.randn(3, 80, 3, dtype=torch.float64)
    v = torch.randn(3, 1, 3, dtype=torch.float64)
    values = SamplesLoss(blur=0.05)(x, x + v)
    assert values.shape == (3,)
    torch.testing.assert_close(values, (v[:, 0] ** 2).sum(-1) / 2, rtol=1e-6, atol=0)


def test_translation_gradient_is_the_shift():
    """grad_x S(α, α + v) = -a_i v: every point is pulled along v, weighted by its mass."""
    x = torch.randn(50, 2, dtype=torch.float64)
    v = torch.tensor([0.3, 0.1], dtype=torch.float64)
    xg = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(solve(xg, x + v, blur=0.1, tol=1e-7).value, xg)
    torch.testing.assert_close(grad, (-v / 50).expand(50, 2), rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("p", [1, 2])
def test_one_dimensional_sorting(p):
    """In 1D the optimal plan between equal-size uniform clouds matches sorted samples."""
    n = 60
    x = torch.randn(n, 1, dtype=torch.float64)
    y = torch.rand(n, 1, dtype=torch.float64) * 3 + 1
    diff = (x.sort(0).values - y.sort(0).values).abs()
    exact = float((diff ** p / (2 if p == 2 else 1)).mean())
    value = float(solve(x, y, p=p, blur=1e-3, scaling=0.9, tol=1e-3).value)
    assert value == pytest.approx(exact, rel=2e-3)


def test_single_point_and_identical_clouds():
    """Diameter 0 must not crash: identical single points give 0."""
    x = torch.tensor([[1.0, 2.0]])
    assert float(solve(x, x).value) == 0.0
    y = torch.randn(30, 2)
    for backend in BACKENDS:
        assert abs(float(solve(y, y.clone(), backend=backend).value)) < 1e-6
    assert math.isfinite(float(solve(x, y).value))
