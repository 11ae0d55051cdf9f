"""Closed forms on Gaussians (core/gaussians.py) against independent references: quadrature of the 1D
quantile formula and of the Fisher information, POT's Bures–Wasserstein map and distance, lengths of
the geodesics measured with the metric, and our Sinkhorn solver on samples."""
import numpy as np
import ot.gaussian
import pytest
import torch
from scipy import integrate, stats

from otlab.core import gaussians as G
from otlab.core import solve

PAIRS = [(0.0, 0.3, 1.5, 0.8), (-1.0, 1.2, 0.4, 0.2), (0.2, 0.5, 0.2, 2.0), (2.0, 0.1, -1.0, 0.1)]


def random_covariance(rng, d=2):
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return q @ np.diag(rng.uniform(0.05, 1.0, d)) @ q.T


@pytest.mark.parametrize("m1, s1, m2, s2", PAIRS)
def test_w2_in_1d_is_the_flat_distance_of_the_quantile_formula(m1, s1, m2, s2):
    """W₂² = ∫₀¹ (q₁(s) − q₂(s))² ds with the Gaussian quantile functions, by quadrature."""
    gap = lambda s: ((m1 + s1 * stats.norm.ppf(s)) - (m2 + s2 * stats.norm.ppf(s))) ** 2  # noqa: E731
    quad, _ = integrate.quad(gap, 0, 1, limit=200)
    closed = G.wasserstein2_gaussians([m1], [[s1 ** 2]], [m2], [[s2 ** 2]])
    assert closed == pytest.approx((m1 - m2) ** 2 + (s1 - s2) ** 2, rel=1e-12)
    assert closed == pytest.approx(quad, rel=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_bures_map_and_distance_match_pot(seed):
    rng = np.random.default_rng(seed)
    d = 2 + seed % 2
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    c1, c2 = random_covariance(rng, d), random_covariance(rng, d)
    a = G.bures_map(c1, c2)
    pot_a, pot_b = ot.gaussian.bures_wasserstein_mapping(m1, m2, c1, c2)
    np.testing.assert_allclose(a, pot_a, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(a @ c1 @ a, c2, rtol=1e-8, atol=1e-10)
    assert np.linalg.eigvalsh(a).min() > 0
    pot_w2 = float(ot.gaussian.bures_wasserstein_distance(m1, m2, c1, c2)) ** 2
    assert G.wasserstein2_gaussians(m1, c1, m2, c2) == pytest.approx(pot_w2, rel=1e-7)
    mt, ct = G.wasserstein_geodesic(m1, c1, m2, c2, 0.3)
    # along the geodesic the distance grows linearly: W(γ0, γt) = t W(γ0, γ1)
    assert np.sqrt(G.wasserstein2_gaussians(m1, c1, mt, ct)) == pytest.approx(0.3 * np.sqrt(pot_w2), rel=1e-6)


def test_our_solver_on_samples_finds_the_closed_form_map_and_value():
    """2,000 samples of each 2D Gaussian, blur 0.02: the debiased map fitted by least squares is the closed
    form's affine map within its sampling error, and S_ε is W₂² within the blur bias and sampling error."""
    rng = np.random.default_rng(0)
    m1, m2 = np.array([0.3, 0.4]), np.array([0.7, 0.5])
    c1 = np.array([[0.02, 0.006], [0.006, 0.01]])
    c2 = np.array([[0.005, -0.002], [-0.002, 0.02]])
    x = rng.multivariate_normal(m1, c1, 2000)
    y = rng.multivariate_normal(m2, c2, 2000)
    res = solve(torch.from_numpy(x).float(), torch.from_numpy(y).float(), blur=0.02, tol=1e-3)
    t = res.brenier_map().double().numpy()
    design = np.column_stack([np.ones(len(x)), x - m1])
    coef, *_ = np.linalg.lstsq(design, t, rcond=None)
    a = G.bures_map(c1, c2)
    np.testing.assert_allclose(coef[1:].T, a, atol=0.05 * np.abs(a).max())
    np.testing.assert_allclose(coef[0], m2, atol=0.01)
    w2 = G.wasserstein2_gaussians(m1, c1, m2, c2)
    assert float(res.value) == pytest.approx(w2 / 2, rel=0.05)   # the cost is |x − y|²/2


@pytest.mark.parametrize("m, s", [(0.0, 1.0), (1.5, 0.3)])
def test_the_metric_is_the_fisher_information_of_the_family(m, s):
    """I(m, σ) = E[∇ log ρ ∇ log ρᵀ] by quadrature = diag(1, 2)/σ²: the metric the distance is built on."""
    def score(x):
        return np.array([(x - m) / s ** 2, ((x - m) ** 2 - s ** 2) / s ** 3])
    info = np.array([[integrate.quad(lambda x: score(x)[i] * score(x)[j] * G.gaussian_density(x, m, s),
                                     m - 12 * s, m + 12 * s)[0] for j in range(2)] for i in range(2)])
    np.testing.assert_allclose(info, np.diag([1.0, 2.0]) / s ** 2, rtol=1e-8, atol=1e-10)


def fisher_length(m, s):
    """Length of a path (m(t), s(t)) sampled finely, in the Fisher metric (dm² + 2 ds²)/σ²."""
    dm, ds = np.diff(m), np.diff(s)
    mid = 0.5 * (s[1:] + s[:-1])
    return float(np.sum(np.sqrt(dm ** 2 + 2 * ds ** 2) / mid))


@pytest.mark.parametrize("m1, s1, m2, s2", PAIRS + [(0.5, 0.2, 0.5, 1.4)])
def test_fisher_rao_geodesic_has_the_closed_form_length_and_constant_speed(m1, s1, m2, s2):
    t = np.linspace(0, 1, 20001)
    m, s = G.fisher_rao_geodesic(m1, s1, m2, s2, t)
    assert (m[0], s[0], m[-1], s[-1]) == pytest.approx((m1, s1, m2, s2), abs=1e-9)
    d = G.fisher_rao_distance(m1, s1, m2, s2)
    assert fisher_length(m, s) == pytest.approx(d, rel=1e-6)
    quarter = 5000
    assert fisher_length(m[:quarter + 1], s[:quarter + 1]) == pytest.approx(d / 4, rel=1e-5)
    # any other path between the two is longer: the straight segment, and the geodesic with a bump
    straight = fisher_length((1 - t) * m1 + t * m2, (1 - t) * s1 + t * s2)
    bumped = fisher_length(m + 0.1 * s * np.sin(np.pi * t), s)
    if m1 != m2:  # (equal means: the straight segment is the geodesic, run at another speed)
        assert straight > d * (1 + 1e-4)
    assert bumped > d * (1 + 1e-5)


def test_equal_means_give_the_vertical_geodesic():
    m, s = G.fisher_rao_geodesic(0.5, 0.2, 0.5, 1.4, np.array([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(m, 0.5)
    np.testing.assert_allclose(s, [0.2, np.sqrt(0.2 * 1.4), 1.4])
    assert G.fisher_rao_distance(0.5, 0.2, 0.5, 1.4) == pytest.approx(np.sqrt(2) * np.log(7), rel=1e-12)


@pytest.mark.parametrize("m1, s1, m2, s2", PAIRS)
def test_fisher_rao_among_all_densities_is_the_sphere_of_square_roots(m1, s1, m2, s2):
    lo, hi = min(m1 - 12 * s1, m2 - 12 * s2), max(m1 + 12 * s1, m2 + 12 * s2)
    bc, _ = integrate.quad(lambda x: np.sqrt(G.gaussian_density(x, m1, s1) * G.gaussian_density(x, m2, s2)),
                           lo, hi, points=[m1, m2], limit=400)
    assert G.bhattacharyya(m1, s1, m2, s2) == pytest.approx(bc, rel=1e-7)
    d_all = G.fisher_rao_distance_densities(m1, s1, m2, s2)
    assert d_all == pytest.approx(2 * np.arccos(bc), rel=1e-6)
    assert d_all < G.fisher_rao_distance(m1, s1, m2, s2)   # the family is not totally geodesic
    x = np.linspace(lo, hi, 200001)
    for t in (0.0, 0.3, 1.0):
        rho = G.sphere_geodesic_density(x, m1, s1, m2, s2, t)
        assert np.trapezoid(rho, x) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(G.sphere_geodesic_density(x, m1, s1, m2, s2, 1.0), G.gaussian_density(x, m2, s2),
                               atol=1e-12)
    # it cross-fades: at t = ½ the density between two far, narrow bumps stays ~0 (nothing is translated)
    if abs(m1 - m2) > 6 * max(s1, s2):
        mid = G.sphere_geodesic_density(np.array([(m1 + m2) / 2]), m1, s1, m2, s2, 0.5)
        assert mid[0] < 1e-6


def test_bad_gaussians_are_refused_by_name():
    with pytest.raises(ValueError, match="second standard deviation must be a finite number > 0"):
        G.fisher_rao_distance(0, 1, 0, -1)
    with pytest.raises(ValueError, match="cov1 must be positive definite"):
        G.bures_map([[1, 0], [0, -1]], np.eye(2))
    with pytest.raises(ValueError, match="cov2 must be symmetric"):
        G.wasserstein2_gaussians([0, 0], np.eye(2), [0, 0], [[1, 0.5], [0, 1]])
    with pytest.raises(ValueError, match=r"m1, m2 must have shape \(2,\)"):
        G.wasserstein2_gaussians([0, 0, 0], np.eye(2), [0, 0], np.eye(2))
