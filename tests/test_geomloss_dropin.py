"""GeomLoss scripts run unchanged: same schedule, same numbers (with level_tol=None), same arguments.

GeomLoss is a test-time oracle only. In float64 the two libraries compute the same updates in a
different order of floating-point operations (otlab centres the clouds, expands costs differently and
floors exp at e^-80 of a row's largest term): values agree to ~1e-13 relative, far inside 1e-9.
"""
import warnings

import numpy as np
import pytest
import torch

from otlab.core import SamplesLoss, anneal_schedule, solve

geomloss = pytest.importorskip("geomloss")
from geomloss._legacy.sinkhorn_divergence import epsilon_schedule  # noqa: E402

from weights import random_weights  # noqa: E402


@pytest.mark.parametrize("p, diameter, blur, scaling", [(2, 1.414, 0.05, 0.5), (1, 3.0, 0.01, 0.9),
                                                        (2, 0.3, 0.05, 0.7), (2, 0.05, 0.05, 0.5),
                                                        (1, 17.3, 0.002, 0.95)])
def test_schedule_is_geomloss_s(p, diameter, blur, scaling):
    assert anneal_schedule(diameter, blur, scaling, p) == epsilon_schedule(p, diameter, blur, scaling)


def clouds(n, m, dim):
    x = torch.rand(n, dim, dtype=torch.float64)
    y = torch.randn(m, dim, dtype=torch.float64) * 0.15 + 0.6
    return x, y, random_weights(n), random_weights(m)


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("debias", [True, False])
@pytest.mark.parametrize("backend", ["tensorized", "online"])
def test_values_and_gradients_match_geomloss(dim, p, debias, backend):
    x, y, a, b = clouds(150, 130, dim)
    kw = dict(p=p, blur=0.05, scaling=0.6, debias=debias)
    xg, xg2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ours = SamplesLoss(**kw, backend=backend, level_tol=None)(a, xg, b, y)
    theirs = geomloss.SamplesLoss(**kw, backend="tensorized")(a, xg2, b, y)
    (g_ours,), (g_theirs,) = torch.autograd.grad(ours, xg), torch.autograd.grad(theirs, xg2)
    ours, theirs = ours.detach(), theirs.detach()
    if p == 2:
        assert float(ours) == pytest.approx(float(theirs), rel=1e-9)
        assert float((g_ours - g_theirs).norm() / g_theirs.norm()) < 1e-8
    else:
        # GeomLoss's p = 1 cost is sqrt(max(|x - y|^2, 1e-8)): every entry within 1e-4 of ours, and each
        # OT_ε is 1-Lipschitz in the cost (sup norm, unit masses), so S moves by at most 2e-4 (the gradients,
        # which the clamp changes on the diagonal of the self-problems, are compared with the clamped cost
        # in the next test)
        assert abs(float(ours) - float(theirs)) <= 2e-4


@pytest.mark.parametrize("debias", [True, False])
def test_p1_values_and_gradients_match_geomloss_with_its_clamped_distance(debias):
    x, y, a, b = clouds(150, 130, 2)

    def clamped(u, v):
        return ((u[:, :, None, :] - v[:, None, :, :]) ** 2).sum(-1).clamp_min(1e-8).sqrt()

    xg, xg2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ours = SamplesLoss(p=1, cost=clamped, blur=0.05, scaling=0.6, debias=debias, level_tol=None)(a, xg, b, y)
    theirs = geomloss.SamplesLoss(p=1, blur=0.05, scaling=0.6, debias=debias, backend="tensorized")(a, xg2, b, y)
    (g_ours,), (g_theirs,) = torch.autograd.grad(ours, xg), torch.autograd.grad(theirs, xg2)
    assert float(ours.detach()) == pytest.approx(float(theirs.detach()), rel=1e-9)
    assert float((g_ours - g_theirs).norm() / g_theirs.norm()) < 1e-8


def test_the_default_is_within_1_percent_of_the_converged_divergence():
    """The default adds updates where one per temperature is far from the fixed point (DESIGN §3): within
    1% of the divergence run to a marginal error of 1e-7 (GeomLoss's one update per temperature is
    level_tol=None, compared above)."""
    x, y, a, b = clouds(300, 250, 2)
    converged = float(solve(x, y, a, b, tol=1e-7, max_iter=20_000).value)
    ours = float(SamplesLoss()(a, x, b, y))
    assert abs(ours - converged) < 0.01 * converged


def test_custom_cost_callable_matches_geomloss():
    x, y, a, b = clouds(80, 60, 2)

    def cost(u, v):  # an anisotropic quadratic cost, (B, N, M)
        d = u[:, :, None, :] - v[:, None, :, :]
        return (d[..., 0] ** 2 + 4 * d[..., 1] ** 2) / 2

    ours = SamplesLoss(cost=cost, blur=0.1, level_tol=None)(a, x, b, y)
    theirs = geomloss.SamplesLoss(cost=cost, blur=0.1, backend="tensorized")(a, x, b, y)
    assert float(ours) == pytest.approx(float(theirs), rel=1e-9)


@pytest.mark.parametrize("kind", ["gaussian", "laplacian", "energy"])
def test_kernel_potentials_match_geomloss(kind):
    x, y, a, b = clouds(60, 50, 3)
    F, G = SamplesLoss(kind, blur=0.3, potentials=True)(a, x, b, y)
    F2, G2 = geomloss.SamplesLoss(kind, blur=0.3, potentials=True, backend="tensorized")(a, x, b, y)
    # GeomLoss's distances are sqrt(max(d^2, 1e-8)): the d = 0 (diagonal) entries of K_xx, K_yy move by at
    # most 1e-4 times the kernel's Lipschitz constant (1/σ laplacian, 1 energy, 0 at d = 0 for the gaussian)
    lipschitz = {"gaussian": 0.0, "laplacian": 1 / 0.3, "energy": 1.0}[kind]
    atol = 1e-4 * lipschitz * float(max(a.max(), b.max())) + 1e-12
    torch.testing.assert_close(F, F2.reshape(F.shape), rtol=1e-12, atol=atol)
    torch.testing.assert_close(G, G2.reshape(G.shape), rtol=1e-12, atol=atol)


def test_geomloss_arguments_are_accepted(capsys):
    x, y, a, b = clouds(400, 300, 2)
    x, y, a, b = x.float(), y.float(), a.float(), b.float()
    reference = float(SamplesLoss(backend="online")(a, x, b, y))
    untruncated = SamplesLoss(backend="multiscale", truncate=None, cluster_scale=0.05, verbose=True)
    labels_x, labels_y = torch.arange(400) % 7, torch.arange(300) % 5
    assert float(untruncated(labels_x, a, x, labels_y, b, y)) == pytest.approx(reference, rel=1e-2)
    assert "otlab:" in capsys.readouterr().out


def test_batched_multiscale_warns_and_falls_back():
    x = torch.rand(3, 100, 2, dtype=torch.float64)
    y = torch.rand(3, 120, 2, dtype=torch.float64)
    with pytest.warns(UserWarning, match="multiscale"):
        values = SamplesLoss(backend="multiscale")(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        expected = SamplesLoss(backend="online")(x, y)
    np.testing.assert_allclose(values.numpy(), expected.numpy(), rtol=1e-12)


def test_geomloss_readme_snippet_with_geomloss_iterations_gives_geomloss_numbers():
    """GeomLoss's README snippet (3D Gaussian clouds, 2,000 vs 4,000 points, blur .05), otlab with
    ``level_tol=None``: auto used to pick multiscale there, whose closing extrapolates the cluster
    potentials, where GeomLoss's auto runs its dense solver; now auto runs the same iterations on the
    points (online) and lands on GeomLoss's numbers. With the default tolerance auto keeps multiscale."""
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(2000, 3, generator=gen), torch.randn(4000, 3, generator=gen)
    xg, xg2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ours = solve(xg, y, blur=0.05, level_tol=None)
    assert ours.backend == "online"
    theirs = geomloss.SamplesLoss("sinkhorn", p=2, blur=0.05)(xg2, y)
    (g_ours,), (g_theirs,) = torch.autograd.grad(ours.value, xg), torch.autograd.grad(theirs, xg2)
    assert float(ours.value.detach()) == pytest.approx(float(theirs.detach()), rel=1e-4)
    assert float((g_ours - g_theirs).norm() / g_theirs.norm()) < 1e-3
    assert solve(x, y, blur=0.05).backend == "multiscale"
