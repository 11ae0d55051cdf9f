"""Gradients against central finite differences (float64, converged potentials), and the unbalanced
value against the primal objective evaluated on the plan."""
import pytest
import torch

from otlab.core import solve

from weights import random_weights

H = 1e-5
TOL = 1e-11


def small_problem(n=14, m=11, dim=2):
    x = torch.rand(n, dim, dtype=torch.float64)
    y = torch.rand(m, dim, dtype=torch.float64) * 0.7 + 0.4
    return x, y, random_weights(n), random_weights(m)


def value(x, y, a, b, **kw):
    return float(solve(x, y, a, b, blur=0.3, tol=TOL, max_iter=100_000, **kw).value)


def directional_fd(fun, t, direction):
    return (fun(t + H * direction) - fun(t - H * direction)) / (2 * H)


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("reach", [None, 0.5])
@pytest.mark.parametrize("debias", [True, False])
@pytest.mark.parametrize("backend", ["tensorized", "online"])
def test_position_gradients(p, reach, debias, backend):
    x, y, a, b = small_problem()
    kw = dict(p=p, reach=reach, debias=debias, backend=backend)
    xg, yg = x.clone().requires_grad_(True), y.clone().requires_grad_(True)
    res = solve(xg, yg, a, b, blur=0.3, tol=TOL, max_iter=100_000, **kw)
    gx, gy = torch.autograd.grad(res.value, (xg, yg))
    for _ in range(3):
        dx, dy = torch.randn_like(x), torch.randn_like(y)
        fd_x = directional_fd(lambda t: value(t, y, a, b, **kw), x, dx)
        fd_y = directional_fd(lambda t: value(x, t, a, b, **kw), y, dy)
        assert float((gx * dx).sum()) == pytest.approx(fd_x, rel=1e-5, abs=1e-9)
        assert float((gy * dy).sum()) == pytest.approx(fd_y, rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("reach", [None, 0.5])
@pytest.mark.parametrize("debias", [True, False])
def test_weight_gradients(reach, debias):
    """Balanced: along mass-preserving directions (the weights live on a simplex); unbalanced: any."""
    x, y, a, b = small_problem()
    ag, bg = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
    res = solve(x, y, ag, bg, blur=0.3, reach=reach, debias=debias, tol=TOL, max_iter=100_000)
    ga, gb = torch.autograd.grad(res.value, (ag, bg))
    for _ in range(3):
        da, db = torch.randn_like(a), torch.randn_like(b)
        if reach is None:
            da, db = da - da.mean(), db - db.mean()
        fd_a = directional_fd(lambda t: value(x, y, t, b, reach=reach, debias=debias), a, da)
        fd_b = directional_fd(lambda t: value(x, y, a, t, reach=reach, debias=debias), b, db)
        assert float((ga * da).sum()) == pytest.approx(fd_a, rel=1e-5, abs=1e-9)
        assert float((gb * db).sum()) == pytest.approx(fd_b, rel=1e-5, abs=1e-9)


def test_balanced_weight_gradient_is_the_debiased_potential():
    x, y, a, b = small_problem()
    ag = a.clone().requires_grad_(True)
    res = solve(x, y, ag, b, blur=0.3, tol=TOL, max_iter=100_000)
    (ga,) = torch.autograd.grad(res.value, ag)
    torch.testing.assert_close(ga, (res.f - res.f_aa).detach(), rtol=1e-9, atol=1e-12)


def generalised_kl(p, q):
    return (p * (p / q).log() - p + q).sum()


@pytest.mark.parametrize("reach, masses", [(None, (1.0, 1.0)), (None, (1.3, 1.3)), (0.2, (1.0, 1.0)),
                                            (1.0, (1.0, 1.0)), (0.2, (0.7, 1.6)), (1.0, (0.7, 1.6))])
def test_value_equals_primal_objective(reach, masses):
    """OT_ε from the dual formula = <π, C> + ε KL(π | a⊗b) + ρ KL(π1 | a) + ρ KL(πᵀ1 | b), for
    measures of any mass (balanced transport needs equal masses)."""
    x, y, a, b = small_problem()
    a, b = a * masses[0], b * masses[1]
    blur = 0.3
    res = solve(x, y, a, b, blur=blur, reach=reach, debias=False, tol=1e-13, max_iter=100_000)
    plan = res.plan()
    cost = ((x[:, None] - y[None]) ** 2).sum(-1) / 2
    eps = blur ** 2
    primal = (plan * cost).sum() + eps * generalised_kl(plan, a[:, None] * b[None])
    if reach is not None:
        rho = reach ** 2
        primal = primal + rho * generalised_kl(plan.sum(1), a) + rho * generalised_kl(plan.sum(0), b)
    assert float(res.value) == pytest.approx(float(primal), rel=1e-9)


def test_unbalanced_gradient_fixes_geomloss_factor():
    """GeomLoss's unbalanced position gradient is ours times (ρ + ε/2) / (ρ + ε)."""
    geomloss = pytest.importorskip("geomloss")
    x, y, a, b = small_problem(40, 30)
    blur, reach = 0.3, 0.5
    eps, rho = blur ** 2, reach ** 2
    xg = x.clone().requires_grad_(True)
    ours = solve(xg, y, a, b, blur=blur, reach=reach, scaling=0.9, level_tol=None).value  # GeomLoss's iterations
    (g_ours,) = torch.autograd.grad(ours, xg)
    xg2 = x.clone().requires_grad_(True)
    theirs = geomloss.SamplesLoss("sinkhorn", blur=blur, reach=reach, scaling=0.9, backend="tensorized")(a, xg2, b, y)
    (g_theirs,) = torch.autograd.grad(theirs, xg2)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-4)
    torch.testing.assert_close(g_theirs, g_ours * (rho + eps / 2) / (rho + eps), rtol=2e-3, atol=1e-9)
