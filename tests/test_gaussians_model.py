"""The Gaussians demo's model, headless: its frames against their definitions (moments of the drawn
densities by quadrature, distances travelled along the paths, the Bures interpolation, the solver check)."""
import numpy as np
import pytest
from scipy import stats

from otlab.core import gaussians as G
from otlab.demos.gaussians.model import MEANS_2D, MODES, X, GaussiansModel, covariance_2d


def moments(rho):
    mass = np.trapezoid(rho, X)
    mean = np.trapezoid(X * rho, X) / mass
    return mass, mean, np.sqrt(np.trapezoid((X - mean) ** 2 * rho, X) / mass)


def frame_at(model, t):
    """The first frame whose time is within half a frame of t (the clock runs forward from 0)."""
    for _ in range(400):
        f = model.step()
        if abs(f.t - t) <= 1 / 300 + 1e-12:
            return f
    raise AssertionError(f"no frame near t = {t}")


def test_time_runs_back_and_forth_at_constant_speed():
    m = GaussiansModel(speed=1.0)
    ts = [m.step().t for _ in range(301)]
    assert ts[0] == 0.0 and ts[150] == pytest.approx(1.0) and ts[300] == pytest.approx(0.0, abs=1e-9)
    assert np.allclose(np.abs(np.diff(ts)), 2 / 300)


def test_the_ot_density_translates_and_scales_the_fisher_rao_ones_do_not():
    m = GaussiansModel(m1=-1.5, s1=0.3, m2=1.5, s2=0.6)
    f = frame_at(m, 0.5)
    t = f.t
    mass, mean, sd = moments(f.rho_ot)
    assert (mass, mean, sd) == pytest.approx((1.0, (1 - t) * -1.5 + t * 1.5, (1 - t) * 0.3 + t * 0.6), abs=1e-4)
    # the point drawn at t on the straight segment is that Gaussian
    assert f.ot_now == pytest.approx([mean / np.sqrt(2), sd], abs=1e-4)
    # Fisher–Rao on the family: the drawn density is the Gaussian at the red point, wider than both ends
    m_fr, s_fr = f.fr_now[0] * np.sqrt(2), f.fr_now[1]
    np.testing.assert_allclose(f.rho_fr, stats.norm.pdf(X, m_fr, s_fr), rtol=1e-12)
    assert s_fr > 0.6 * 1.5
    # Fisher–Rao among all densities: mass 1, two bumps at the ends' means and, where the OT density now
    # peaks, no more than the ends' own tails there (a cross-fade of square roots moves nothing)
    assert np.trapezoid(f.rho_all, X) == pytest.approx(1.0, abs=1e-4)
    at = lambda rho, x: rho[np.argmin(abs(X - x))]  # noqa: E731
    assert at(f.rho_all, -1.5) > 0.3 and at(f.rho_all, 1.5) > 0.2
    phi = G.fisher_rao_distance_densities(-1.5, 0.3, 1.5, 0.6) / 2
    a, b = np.sin((1 - t) * phi) / np.sin(phi), np.sin(t * phi) / np.sin(phi)
    tails = (a + b) ** 2 * max(at(f.rho_ends[0], 0.0), at(f.rho_ends[1], 0.0))
    assert at(f.rho_all, 0.0) <= tails and at(f.rho_all, 0.0) < 0.03 * at(f.rho_ot, 0.0)


def test_each_point_travels_its_distance_in_proportion_to_t():
    m = GaussiansModel(m1=-1.0, s1=0.5, m2=1.2, s2=0.25)
    f = frame_at(m, 0.3)
    t = f.t
    m_ot, s_ot = f.ot_now[0] * np.sqrt(2), f.ot_now[1]
    assert np.hypot(m_ot + 1.0, s_ot - 0.5) == pytest.approx(t * f.w2, rel=1e-9)
    m_fr, s_fr = f.fr_now[0] * np.sqrt(2), f.fr_now[1]
    assert G.fisher_rao_distance(-1.0, 0.5, m_fr, s_fr) == pytest.approx(t * f.d_fr, rel=1e-7)
    assert G.fisher_rao_distance(m_fr, s_fr, 1.2, 0.25) == pytest.approx((1 - t) * f.d_fr, rel=1e-7)
    # the red path is a half-circle of the (m/√2, σ) plane centred on σ = 0
    centre = np.polyfit(f.fr_path[:, 0], -(f.fr_path[:, 0] ** 2 + f.fr_path[:, 1] ** 2), 1)[0] / -2
    radii = np.hypot(f.fr_path[:, 0] - centre, f.fr_path[:, 1])
    assert radii.std() < 1e-9 * radii.mean()


def test_the_2d_interpolation_is_the_bures_geodesic():
    m = GaussiansModel(mode=MODES[1], sx1=0.6, sy1=0.2, angle1=30.0, sx2=0.2, sy2=0.7, angle2=-20.0)
    f = frame_at(m, 0.4)
    c1, c2 = covariance_2d(0.6, 0.2, 30.0), covariance_2d(0.2, 0.7, -20.0)
    np.testing.assert_allclose(f.covariances[:2], [c1, c2])
    mt, ct = f.means[2], f.covariances[2]
    w = np.sqrt(G.wasserstein2_gaussians(MEANS_2D[0], c1, MEANS_2D[1], c2))
    assert f.w2 == pytest.approx(w)
    assert np.sqrt(G.wasserstein2_gaussians(MEANS_2D[0], c1, mt, ct)) == pytest.approx(f.t * w, rel=1e-6)
    assert np.sqrt(G.wasserstein2_gaussians(mt, ct, MEANS_2D[1], c2)) == pytest.approx((1 - f.t) * w, rel=1e-6)
    assert len(f.path) == 5 and f.check is None


def test_the_solver_check_agrees_with_the_closed_form():
    m = GaussiansModel(mode=MODES[1])
    m.step()
    m.request_check()
    c = m.step().check
    assert c.value == pytest.approx(c.closed_half_w2, rel=0.04)
    assert c.map_error < 0.03 and c.shift_error < 0.06
    assert m.step().check is c              # kept until the Gaussians change
    m.sx1 = 0.5
    assert m.step().check is None


def test_a_bad_parameter_is_refused_by_name():
    m = GaussiansModel()
    with pytest.raises(ValueError, match="s1"):
        m.s1 = -0.2
