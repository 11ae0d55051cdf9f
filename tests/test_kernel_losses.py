"""Kernel losses against ½ wᵀKw computed densely, and the soft Hausdorff loss."""
import pytest
import torch

from otlab.core import SamplesLoss

from weights import random_weights


def dense_kernel_norm(kind, a, x, b, y, blur):
    """½ (a, -b)ᵀ K (a, -b) with K built from torch.cdist on the stacked points."""
    z = torch.cat([x, y])
    w = torch.cat([a, -b])
    d = torch.cdist(z, z)
    k = {"gaussian": torch.exp(-d ** 2 / (2 * blur ** 2)), "laplacian": torch.exp(-d / blur), "energy": -d}[kind]
    return float(w @ k @ w) / 2


@pytest.mark.parametrize("kind", ["gaussian", "laplacian", "energy"])
def test_kernel_losses_equal_dense_quadratic_form(kind):
    x, y = torch.randn(70, 3, dtype=torch.float64), torch.randn(50, 3, dtype=torch.float64) + 0.5
    a, b = random_weights(70), random_weights(50)
    value = SamplesLoss(kind, blur=0.4)(a, x, b, y)
    assert float(value) == pytest.approx(dense_kernel_norm(kind, a, x, b, y, 0.4), rel=1e-10)
    assert float(value) > 0
    assert abs(float(SamplesLoss(kind, blur=0.4)(a, x, a, x))) < 1e-12


def test_kernel_gradient_matches_finite_differences():
    x, y = torch.randn(20, 2, dtype=torch.float64), torch.randn(15, 2, dtype=torch.float64)
    loss = SamplesLoss("gaussian", blur=0.7)
    xg = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(loss(xg, y), xg)
    d = torch.randn_like(x)
    h = 1e-6
    fd = (float(loss(x + h * d, y)) - float(loss(x - h * d, y))) / (2 * h)
    assert float((g * d).sum()) == pytest.approx(fd, rel=1e-6)


@pytest.mark.parametrize("p", [1, 2])
def test_hausdorff_tends_to_nearest_point_costs(p):
    """As blur -> 0: <α, d(·, β)> + <β, d(·, α)>, d the cost to the nearest point of the other cloud."""
    x, y = torch.rand(40, 2, dtype=torch.float64), torch.rand(30, 2, dtype=torch.float64) + 0.3
    a, b = random_weights(40), random_weights(30)
    c = torch.cdist(x, y) ** p / (2 if p == 2 else 1)
    expected = float((a * c.min(1).values).sum() + (b * c.min(0).values).sum())
    for backend in ["tensorized", "online"]:
        value = SamplesLoss("hausdorff", p=p, blur=1e-4, backend=backend)(a, x, b, y)
        assert float(value) == pytest.approx(expected, rel=1e-3)


def test_hausdorff_gradient_matches_finite_differences():
    x, y = torch.rand(20, 2, dtype=torch.float64), torch.rand(15, 2, dtype=torch.float64)
    for backend in ["tensorized", "online"]:
        loss = SamplesLoss("hausdorff", blur=0.2, backend=backend)
        xg, yg = x.clone().requires_grad_(True), y.clone().requires_grad_(True)
        gx, gy = torch.autograd.grad(loss(xg, yg), (xg, yg))
        dx, dy = torch.randn_like(x), torch.randn_like(y)
        h = 1e-6
        fd = (float(loss(x + h * dx, y + h * dy)) - float(loss(x - h * dx, y - h * dy))) / (2 * h)
        assert float((gx * dx).sum() + (gy * dy).sum()) == pytest.approx(fd, rel=1e-6)
