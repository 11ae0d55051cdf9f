"""Invariants of the divergence and agreement between backends."""
import pytest
import torch

from otlab.core import SamplesLoss, solve
from optional import require_keops
from weights import random_weights


def pair(n=150, m=170, dim=2, dtype=torch.float64):
    x = torch.rand(n, dim, dtype=dtype)
    y = torch.randn(m, dim, dtype=dtype) * 0.2 + 0.6
    return x, y, random_weights(n, dtype), random_weights(m, dtype)


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("reach", [None, 0.5])
def test_symmetry_and_positivity(p, reach):
    x, y, a, b = pair()
    s_xy = float(solve(x, y, a, b, p=p, reach=reach).value)
    s_yx = float(solve(y, x, b, a, p=p, reach=reach).value)
    assert s_xy == pytest.approx(s_yx, rel=1e-12)
    assert s_xy > 0


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("backend", ["tensorized", "online", "multiscale"])
def test_divergence_to_itself_is_zero(p, backend):
    x, _, a, _ = pair()
    assert abs(float(solve(x, x.clone(), a, a.clone(), p=p, backend=backend).value)) < 1e-12


def test_nonnegative_on_random_pairs():
    for _ in range(5):
        x, y, a, b = pair(40, 50)
        assert float(solve(x, y, a, b, blur=0.02).value) >= 0


@pytest.mark.parametrize("reach", [None, 0.3])
def test_batch_equals_loop(reach):
    """Same schedule (the diameter is otherwise taken over the whole batch) -> same values."""
    x = torch.rand(4, 60, 3, dtype=torch.float64)
    y = torch.rand(4, 70, 3, dtype=torch.float64) * 0.5
    a = torch.rand(4, 60, dtype=torch.float64) + 0.1
    b = torch.rand(4, 70, dtype=torch.float64) + 0.1
    a, b = a / a.sum(1, keepdim=True), b / b.sum(1, keepdim=True)
    loss = SamplesLoss(reach=reach, diameter=2.0)
    batched = loss(a, x, b, y)
    looped = torch.stack([loss(a[i], x[i], b[i], y[i]) for i in range(4)])
    torch.testing.assert_close(batched, looped, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("backend", ["online", "keops"])
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("reach", [None, 0.4])
def test_exact_backends_agree(p, reach, backend):
    if backend == "keops":
        require_keops()
    x, y, a, b = pair(300, 260, dim=3, dtype=torch.float32)
    values = {be: solve(x, y, a.float(), b.float(), p=p, reach=reach, backend=be) for be in ("tensorized", backend)}
    ref = values["tensorized"]
    for be, res in values.items():
        assert float(res.value) == pytest.approx(float(ref.value), rel=1e-5), be
        torch.testing.assert_close(res.f, ref.f, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dim", [2, 3])
def test_multiscale_agrees_with_exact_solver(dim):
    """Same schedule: value within 0.2% and gradient within 1% (relative L2) of the untruncated solver;
    both run to convergence: within 1e-3."""
    n = 6000
    x = torch.rand(n, dim)
    y = torch.randn(n, dim) * 0.1 + 0.5
    grads = {}
    values = {}
    for backend in ("online", "multiscale"):
        xg = x.clone().requires_grad_(True)
        res = solve(xg, y, backend=backend)
        values[backend] = res.value.item()
        (grads[backend],) = torch.autograd.grad(res.value, xg)
    assert values["multiscale"] == pytest.approx(values["online"], rel=2e-3)
    assert float((grads["multiscale"] - grads["online"]).norm() / grads["online"].norm()) < 1e-2
    exact_c = solve(x, y, backend="online", blur=0.1, tol=1e-3)
    multi_c = solve(x, y, backend="multiscale", blur=0.1, tol=1e-3)
    assert float(multi_c.value) == pytest.approx(float(exact_c.value), rel=1e-3)


def test_auto_multiscale_gradient_matches_the_exact_solver_at_convergence():
    """GeomLoss's README case (3D Gaussian clouds, blur .05), large enough for auto to pick multiscale:
    run to the same tolerance, the truncated multiscale solver and the exact one agree (measured
    2e-7 in value, 1e-4 in gradient; DESIGN §4 asks 1% / 2%). Closing by extrapolation from the
    clusters (GeomLoss's way, what otlab did before) was 12% off in gradient here."""
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(2048, 3, generator=gen), torch.randn(2100, 3, generator=gen)
    out = {}
    for backend in ("auto", "online"):
        xg = x.clone().requires_grad_(True)
        res = solve(xg, y, blur=0.05, backend=backend, tol=1e-4)
        assert res.converged
        out[res.backend] = (float(res.value.detach()), torch.autograd.grad(res.value, xg)[0])
    (v_m, g_m), (v_o, g_o) = out["multiscale"], out["online"]
    assert v_m == pytest.approx(v_o, rel=1e-3)
    assert float((g_m - g_o).norm() / g_o.norm()) < 1e-2

