"""The generators the demos animate (``iterate_*``) against their solvers and the definitions of their
steps; the remaining public entry points without a test of their own (to_pot, SamplesLoss's Sinkhorn
potentials, free-support barycenters with masses and without debiasing)."""
import numpy as np
import pytest
import torch

from otlab.core import (SamplesLoss, barycenter_points, from_pot, iterate_barycenter_points, iterate_laguerre_grid,
                        iterate_lloyd, lloyd, solve, solve_laguerre_grid, to_pot)

F64 = torch.float64


def cloud(n, seed, shift=(0.0, 0.0), scale=0.1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=g, dtype=F64) * scale + torch.tensor(shift, dtype=F64)


def objective(support, clouds, weights, blur):
    """Σ_k w_k S_ε(α_k, uniform on the support): what the free-support barycenter decreases."""
    return sum(w * float(solve(c, support, blur=blur).value) for w, c in zip(weights, clouds))


def test_iterate_barycenter_points_ends_on_barycenter_points_and_decreases_the_objective():
    clouds = [cloud(60, 1, (0.2, 0.3)), cloud(50, 2, (0.7, 0.5), 0.15), cloud(70, 3, (0.4, 0.8), 0.05)]
    w = [0.5, 0.3, 0.2]
    supports = list(iterate_barycenter_points(clouds, w, blur=0.05, steps=8))
    assert 1 <= len(supports) <= 8
    torch.testing.assert_close(supports[-1], barycenter_points(clouds, w, blur=0.05, steps=8), rtol=0, atol=0)
    # from the heaviest cloud (the default start): 0.071, then 0.0422 after the first step, non-increasing
    values = [objective(s, clouds, w, 0.05) for s in [clouds[0]] + supports]
    assert values[1] < 0.7 * values[0] and all(b <= a * (1 + 1e-6) for a, b in zip(values, values[1:]))
    mean = sum(wk * c.mean(0) for wk, c in zip(w, clouds))
    torch.testing.assert_close(supports[-1].mean(0), mean, atol=1e-3, rtol=0)  # W2 barycenter: the mean mixes


def test_masses_are_the_same_as_repeated_points():
    """A cloud with masses (3/4, 1/4 on two halves) is the same measure as its first half taken three times:
    the same barycenter from the same initial support."""
    a, b = cloud(20, 4, (0.3, 0.3)), cloud(20, 5, (0.6, 0.6))
    first, second = cloud(40, 6, (0.5, 0.2))[:20], cloud(40, 6, (0.5, 0.2))[20:]
    weighted = torch.cat([first, second])
    masses = torch.cat([torch.full((20,), 0.75 / 20, dtype=F64), torch.full((20,), 0.25 / 20, dtype=F64)])
    repeated = torch.cat([first, first, first, second])
    init = cloud(30, 7, (0.45, 0.4))
    kw = dict(blur=0.05, steps=5, init=init, n_support=30)
    with_masses = barycenter_points([a, weighted], [0.5, 0.5], masses=[None, masses], **kw)
    with_repeats = barycenter_points([a, repeated], [0.5, 0.5], **kw)
    torch.testing.assert_close(with_masses, with_repeats, rtol=1e-9, atol=1e-9)
    assert not torch.allclose(with_masses, barycenter_points([a, weighted], [0.5, 0.5], **kw), atol=1e-3)
    del b


def test_plain_barycenter_contracts_and_the_debiased_does_not():
    """Translated copies of one cloud: both barycenters have the weighted mean of the copies' means; the
    debiased one keeps the cloud's spread (translation: the barycenter is the translated cloud), the plain
    entropic one (debias=False) shrinks it, its maps being barycentric projections of blurred plans."""
    x = cloud(80, 8, scale=0.1)
    shifts = torch.tensor([[0.3, 0.0], [0.0, 0.4]], dtype=F64)
    w = [0.25, 0.75]
    clouds = [x + s for s in shifts]
    mean = x.mean(0) + 0.25 * shifts[0] + 0.75 * shifts[1]
    spread = lambda s: float(((s - s.mean(0)) ** 2).sum(1).mean())  # noqa: E731
    debiased = barycenter_points(clouds, w, blur=0.05, init=clouds[1])
    plain = barycenter_points(clouds, w, blur=0.05, init=clouds[1], debias=False)
    for support in (debiased, plain):  # entropic maps keep the mean up to O(ε) (measured 4e-4)
        torch.testing.assert_close(support.mean(0), mean, atol=2e-3, rtol=0)
    assert spread(debiased) == pytest.approx(spread(x), rel=0.05)
    assert spread(plain) < 0.9 * spread(x)


def test_iterate_lloyd_moves_each_site_to_its_centroid():
    """steps + 1 solved diagrams; between two, every site moved to the centroid of its cell (a Lloyd step
    is that), each diagram holds the prescribed masses, the last is lloyd()'s, and the sites approach their
    centroids."""
    g = np.random.default_rng(9)
    x = g.uniform(0.1, 0.9, (25, 2))
    masses = g.uniform(0.5, 1.5, 25)
    masses /= masses.sum()
    results = list(iterate_lloyd(x, masses, steps=6))
    assert len(results) == 7
    for before, after in zip(results, results[1:]):
        torch.testing.assert_close(after.sites, before.centroids, rtol=0, atol=1e-12)
    for r in results:
        assert r.converged and np.allclose(r.masses.numpy(), masses, rtol=1e-5)
    last = lloyd(x, masses, steps=6)
    torch.testing.assert_close(results[-1].sites, last.sites, rtol=0, atol=0)
    gaps = [float((r.sites - r.centroids).norm(dim=1).max()) for r in results]
    assert gaps[-1] < 0.3 * gaps[0]


def test_iterate_laguerre_grid_ends_on_solve_laguerre_grid():
    """One state per Newton step, the errors falling to tol; the last is solve_laguerre_grid's."""
    g = np.random.default_rng(10)
    x = g.uniform(0.1, 0.9, (20, 2))
    masses = g.uniform(0.5, 1.5, 20)
    masses /= masses.sum()
    kw = dict(shape=(96, 96), power=1.5, tol=1e-3)
    states = list(iterate_laguerre_grid(x, masses, **kw))
    result = solve_laguerre_grid(x, masses, **kw)
    assert [s.n_iter for s in states] == list(range(len(states))) and states[-1].n_iter == result.n_iter
    assert states[0].error > 1e-2 and states[-1].error <= 1e-3 and states[-1].converged
    torch.testing.assert_close(states[-1].weights, result.weights, rtol=0, atol=0)
    np.testing.assert_allclose(result.cells.masses.numpy(), masses, rtol=1e-3)


def test_samples_loss_sinkhorn_potentials_are_the_debiased_potentials():
    """potentials=True gives (F, G) = (f_ab - f_aa, g_ab - g_bb) on the samples: GeomLoss's, with its
    iterations (level_tol=None), batched as (B, N) and (B, M); their pairing with the weights is S_ε
    (balanced): <a, F> + <b, G> = SamplesLoss's value."""
    geomloss = pytest.importorskip("geomloss")
    g = torch.Generator().manual_seed(11)
    a, b = torch.rand(2, 40, generator=g, dtype=F64) + 0.1, torch.rand(2, 50, generator=g, dtype=F64) + 0.1
    a, b = a / a.sum(1, keepdim=True), b / b.sum(1, keepdim=True)
    x, y = torch.rand(2, 40, 2, generator=g, dtype=F64), torch.rand(2, 50, 2, generator=g, dtype=F64) * 0.5
    F, G = SamplesLoss(blur=0.05, potentials=True, level_tol=None)(a, x, b, y)
    value = SamplesLoss(blur=0.05, level_tol=None)(a, x, b, y)
    assert F.shape == (2, 40) and G.shape == (2, 50)
    torch.testing.assert_close((a * F).sum(1) + (b * G).sum(1), value, rtol=1e-9, atol=1e-12)
    F2, G2 = geomloss.SamplesLoss(blur=0.05, potentials=True, backend="tensorized")(a, x, b, y)
    torch.testing.assert_close(F, F2.reshape(F.shape), rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(G, G2.reshape(G.shape), rtol=1e-9, atol=1e-12)


def test_to_pot_is_pots_convention():
    """p = 2: POT's sqeuclidean cost |x - y|² is twice ours, so ot.emd2 there is to_pot of ot.emd2 on
    |x - y|²/2; p = 1 the same number; to_pot and from_pot undo each other."""
    ot = pytest.importorskip("ot")
    g = np.random.default_rng(12)
    x, y = g.random((30, 2)), g.random((35, 2))
    a, b = np.full(30, 1 / 30), np.full(35, 1 / 35)
    half = ot.emd2(a, b, ot.dist(x, y, metric="sqeuclidean") / 2)
    assert to_pot(half) == pytest.approx(ot.emd2(a, b, ot.dist(x, y, metric="sqeuclidean")), rel=1e-12)
    w1 = ot.emd2(a, b, ot.dist(x, y, metric="euclidean"))
    assert to_pot(w1, p=1) == w1 and from_pot(to_pot(0.3)) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="p must be 1 or 2"):
        to_pot(1.0, p=3)
