"""Kernel losses against ½ wᵀKw computed densely, and the soft Hausdorff loss."""
import pytest
import torch

from otlab.core import SamplesLoss

from weights import random_weights


KERNELS = {"gaussian": lambda d, s: torch.exp(-d ** 2 / (2 * s ** 2)), "laplacian": lambda d, s: torch.exp(-d / s),
           "energy": lambda d, s: -d}


def exact_distances(z, w):
    """|z_i - w_j| from coordinate differences: no cancellation, relative error ~ (D + 1) u."""
    return (z[:, None, :] - w[None, :, :]).pow(2).sum(-1).sqrt()


def dense_kernel_norm(kind, a, x, b, y, blur):
    """½ (a, -b)ᵀ K (a, -b) with K built from exact distances on the stacked points, and a bound on
    the rounding error of any evaluation of it in float64 (see below)."""
    z = torch.cat([x, y])
    w = torch.cat([a, -b])
    d = exact_distances(z, z)
    k = KERNELS[kind](d, blur)
    terms = (w[:, None] * w[None, :] * k).abs()
    u = torch.finfo(z.dtype).eps / 2
    n, dim = len(z), z.shape[1]
    # per entry: distances (dim + 2 roundings), exp of an argument of size |arg|, then sums of n terms;
    # for the gaussian, otlab expands |x|^2 + |y|^2 - 2 x.y: an absolute error (dim + 3) u (|z_i|^2 + |z_j|^2)
    # in d^2, which moves k by k / (2 σ^2) times that.
    arg = {"gaussian": d ** 2 / (2 * blur ** 2), "laplacian": d / blur, "energy": torch.zeros_like(d)}[kind]
    per_entry = (n + dim + 4 + arg) * u
    if kind == "gaussian":
        sq = (z * z).sum(-1)
        per_entry = per_entry + (dim + 3) * u * (sq[:, None] + sq[None, :]) / (2 * blur ** 2)
    bound = 2 * float((terms * per_entry).sum())  # both evaluations err
    return float(w @ k @ w) / 2, bound


@pytest.mark.parametrize("kind", ["gaussian", "laplacian", "energy"])
def test_kernel_losses_equal_dense_quadratic_form(kind):
    x, y = torch.randn(70, 3, dtype=torch.float64), torch.randn(50, 3, dtype=torch.float64) + 0.5
    a, b = random_weights(70), random_weights(50)
    value = SamplesLoss(kind, blur=0.4)(a, x, b, y)
    expected, bound = dense_kernel_norm(kind, a, x, b, y, 0.4)
    assert abs(float(value) - expected) <= bound
    assert bound < 1e-9 * expected  # the bound is tight enough to mean something
    assert float(value) > 0
    # the same cloud twice: every term cancels exactly (same blocks, same order)
    assert float(SamplesLoss(kind, blur=0.4)(a, x, a, x)) == pytest.approx(0, abs=dense_kernel_norm(kind, a, x, a, x, 0.4)[1])


@pytest.mark.parametrize("kind", ["gaussian", "laplacian", "energy"])
def test_kernel_product_in_blocks_equals_dense_autograd(kind, monkeypatch):
    """K v over many row blocks (O(N + M) memory): values and gradients in x, y, v as the dense product's."""
    import otlab.core.clouds.kernel_losses as kl
    monkeypatch.setattr(kl, "_rows", lambda x, y: 2)  # 2 rows of 40 columns: 15 blocks
    x = torch.randn(2, 30, 2, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, 40, 2, dtype=torch.float64, requires_grad=True)
    v = torch.randn(2, 40, dtype=torch.float64, requires_grad=True)
    u = torch.randn(2, 30, dtype=torch.float64)
    ours = kl.kernel_product(kind, x, y, v, 0.7)
    grads = torch.autograd.grad((ours * u).sum(), (x, y, v))
    d = (x[:, :, None, :] - y[:, None, :, :]).pow(2).sum(-1).sqrt()
    dense = (KERNELS[kind](d, 0.7) * v[:, None, :]).sum(-1)
    ref_grads = torch.autograd.grad((dense * u).sum(), (x, y, v))
    torch.testing.assert_close(ours, dense, rtol=1e-12, atol=1e-12)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-12)


def test_kernel_potentials_are_the_weight_gradients():
    x, y = torch.randn(25, 2, dtype=torch.float64), torch.randn(20, 2, dtype=torch.float64)
    a, b = random_weights(25).requires_grad_(True), random_weights(20).requires_grad_(True)
    for kind in ["gaussian", "laplacian", "energy"]:
        F, G = SamplesLoss(kind, blur=0.5, potentials=True)(a, x, b, y)
        ga, gb = torch.autograd.grad(SamplesLoss(kind, blur=0.5)(a, x, b, y), (a, b))
        torch.testing.assert_close(F, ga, rtol=1e-10, atol=1e-13)
        torch.testing.assert_close(G, gb, rtol=1e-10, atol=1e-13)


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
