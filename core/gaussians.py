r"""Two geometries on Gaussians, in closed form: optimal transport (flat) and Fisher–Rao (hyperbolic).

**Optimal transport.** For Gaussians :math:`N(m_1, \Sigma_1)`, :math:`N(m_2, \Sigma_2)` in :math:`\mathbb{R}^d`,

.. math::
    W_2^2 = |m_1 - m_2|^2 + B^2(\Sigma_1, \Sigma_2), \qquad
    B^2 = \operatorname{tr}\Sigma_1 + \operatorname{tr}\Sigma_2
          - 2 \operatorname{tr}\big(\Sigma_1^{1/2} \Sigma_2 \Sigma_1^{1/2}\big)^{1/2}

(B the Bures metric). The Brenier map is affine, :math:`T(x) = m_2 + A (x - m_1)` with
:math:`A = \Sigma_1^{-1/2} (\Sigma_1^{1/2} \Sigma_2 \Sigma_1^{1/2})^{1/2} \Sigma_1^{-1/2}` (symmetric,
positive), and McCann's interpolation stays Gaussian: :math:`m_t = (1-t) m_1 + t m_2`,
:math:`\Sigma_t = A_t \Sigma_1 A_t`, :math:`A_t = (1-t) I + t A`. In 1D (d = 1, Σ = σ²) this is the flat
plane: :math:`W_2^2 = (m_1 - m_2)^2 + (\sigma_1 - \sigma_2)^2`, the geodesic a straight segment in (m, σ).

**Fisher–Rao on the family** N(m, σ²). The Fisher information metric is
:math:`ds^2 = (dm^2 + 2\, d\sigma^2)/\sigma^2`; with :math:`u = m/\sqrt2` it is :math:`2 (du^2 + d\sigma^2)/\sigma^2`,
twice the Poincaré half-plane's, so

.. math::
    d_{FR} = \sqrt2\, \operatorname{arccosh}\Big(1 + \frac{(u_1 - u_2)^2 + (\sigma_1 - \sigma_2)^2}{2 \sigma_1 \sigma_2}\Big),

and the geodesics are half-circles centred on the axis σ = 0 of the (u, σ) plane (vertical lines when
:math:`m_1 = m_2`), run at constant speed by :math:`\theta(t) = 2 \arctan e^{(1-t) s_1 + t s_2}`,
:math:`s = \log\tan(\theta/2)` the hyperbolic arclength along the circle.

**Fisher–Rao on all densities** (the family is not totally geodesic there): the map
:math:`\rho \mapsto 2\sqrt\rho` is an isometry onto a sphere of radius 2, so
:math:`d = 2 \arccos \mathrm{BC}(\rho_1, \rho_2)`, :math:`\mathrm{BC} = \int \sqrt{\rho_1 \rho_2}` (for two Gaussians
:math:`\sqrt{2\sigma_1\sigma_2/(\sigma_1^2 + \sigma_2^2)}\, e^{-(m_1 - m_2)^2 / 4(\sigma_1^2 + \sigma_2^2)}`), and the
geodesic is the great circle :math:`\sqrt{\rho_t} = (\sin((1-t)\phi) \sqrt{\rho_1} + \sin(t\phi) \sqrt{\rho_2}) / \sin\phi`,
:math:`\phi = d/2`: a cross-fade of square roots, which never translates mass. It is shorter than the
family's geodesic, :math:`d \le d_{FR}`.

Everything here is float64 NumPy: closed forms, no solver.
"""
from __future__ import annotations

import numpy as np

from . import checks

#: below this |u_1 - u_2| (relative to the σ's) the Fisher–Rao geodesic is taken as the vertical line
VERTICAL = 1e-9


def _gaussian_1d(m, s, what: str):
    m = checks.real_number(f"{what} mean", m)
    s = checks.positive_number(f"{what} standard deviation", s)
    return m, s


def _covariance(cov, name: str) -> np.ndarray:
    c = np.asarray(cov, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or not np.all(np.isfinite(c)):
        raise ValueError(f"{name} must be a finite square matrix (d, d), got shape {c.shape}")
    if not np.allclose(c, c.T, rtol=1e-10, atol=1e-12):
        raise ValueError(f"{name} must be symmetric")
    smallest = np.linalg.eigvalsh(c).min()
    if smallest <= 0:
        raise ValueError(f"{name} must be positive definite (its smallest eigenvalue is {smallest:.3g})")
    return c


def _sqrtm(c: np.ndarray) -> np.ndarray:
    """The symmetric positive square root of a symmetric positive semi-definite matrix."""
    vals, vecs = np.linalg.eigh(c)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def _means_and_covariances(m1, cov1, m2, cov2):
    c1, c2 = _covariance(cov1, "cov1"), _covariance(cov2, "cov2")
    a, b = np.asarray(m1, dtype=np.float64).reshape(-1), np.asarray(m2, dtype=np.float64).reshape(-1)
    d = c1.shape[0]
    if c2.shape[0] != d or a.shape != (d,) or b.shape != (d,):
        raise ValueError(f"m1, m2 must have shape ({d},) and cov2 ({d}, {d}) to match cov1, got "
                         f"{a.shape}, {b.shape}, {c2.shape}")
    return a, c1, b, c2


def bures_map(cov1, cov2) -> np.ndarray:
    r"""A (d, d): the linear part of the Brenier map between centred Gaussians with these covariances,
    :math:`A = \Sigma_1^{-1/2} (\Sigma_1^{1/2} \Sigma_2 \Sigma_1^{1/2})^{1/2} \Sigma_1^{-1/2}`, so that
    :math:`A \Sigma_1 A = \Sigma_2`."""
    c1, c2 = _covariance(cov1, "cov1"), _covariance(cov2, "cov2")
    r1 = _sqrtm(c1)
    r1_inv = np.linalg.inv(r1)
    a = r1_inv @ _sqrtm(r1 @ c2 @ r1) @ r1_inv
    return 0.5 * (a + a.T)


def wasserstein2_gaussians(m1, cov1, m2, cov2) -> float:
    """W₂² between N(m1, cov1) and N(m2, cov2): |m1 − m2|² + the squared Bures distance."""
    a, c1, b, c2 = _means_and_covariances(m1, cov1, m2, cov2)
    r1 = _sqrtm(c1)
    bures2 = np.trace(c1) + np.trace(c2) - 2 * np.trace(_sqrtm(r1 @ c2 @ r1))
    return float(np.sum((a - b) ** 2) + max(bures2, 0.0))


def wasserstein_geodesic(m1, cov1, m2, cov2, t: float):
    """(m_t, Σ_t): McCann's interpolation between the two Gaussians at time t ∈ [0, 1] (a Gaussian)."""
    a, c1, b, c2 = _means_and_covariances(m1, cov1, m2, cov2)
    t = checks.real_number("t", t)
    at = (1 - t) * np.eye(len(a)) + t * bures_map(c1, c2)
    return (1 - t) * a + t * b, at @ c1 @ at


def fisher_rao_distance(m1, s1, m2, s2) -> float:
    """The Fisher–Rao distance between N(m1, s1²) and N(m2, s2²) on the family (module docstring)."""
    (m1, s1), (m2, s2) = _gaussian_1d(m1, s1, "first"), _gaussian_1d(m2, s2, "second")
    q = ((m1 - m2) ** 2 / 2 + (s1 - s2) ** 2) / (2 * s1 * s2)
    return float(np.sqrt(2) * _arccosh1p(q))


def _arccosh1p(q: float) -> float:
    """arccosh(1 + q) for q ≥ 0, accurate for small q: log(1 + q + sqrt(q (q + 2)))."""
    return float(np.log1p(q + np.sqrt(q * (q + 2))))


def fisher_rao_geodesic(m1, s1, m2, s2, t):
    """(m_t, s_t) arrays: the Fisher–Rao geodesic of the family N(m, s²) at times t (constant speed)."""
    (m1, s1), (m2, s2) = _gaussian_1d(m1, s1, "first"), _gaussian_1d(m2, s2, "second")
    t = np.asarray(t, dtype=np.float64)
    u1, u2 = m1 / np.sqrt(2), m2 / np.sqrt(2)
    if abs(u1 - u2) <= VERTICAL * (s1 + s2):
        return np.full_like(t, (m1 + m2) / 2), s1 ** (1 - t) * s2 ** t
    c = ((u2 ** 2 + s2 ** 2) - (u1 ** 2 + s1 ** 2)) / (2 * (u2 - u1))   # the circle's centre on σ = 0
    r = np.hypot(u1 - c, s1)
    th1, th2 = np.arctan2(s1, u1 - c), np.arctan2(s2, u2 - c)
    arc1, arc2 = np.log(np.tan(th1 / 2)), np.log(np.tan(th2 / 2))
    th = 2 * np.arctan(np.exp((1 - t) * arc1 + t * arc2))
    return np.sqrt(2) * (c + r * np.cos(th)), r * np.sin(th)


def bhattacharyya(m1, s1, m2, s2) -> float:
    """BC = ∫ sqrt(ρ₁ ρ₂) for ρ_k = N(m_k, s_k²)."""
    (m1, s1), (m2, s2) = _gaussian_1d(m1, s1, "first"), _gaussian_1d(m2, s2, "second")
    v = s1 ** 2 + s2 ** 2
    return float(np.sqrt(2 * s1 * s2 / v) * np.exp(-(m1 - m2) ** 2 / (4 * v)))


def fisher_rao_distance_densities(m1, s1, m2, s2) -> float:
    """The Fisher–Rao distance between the two Gaussians among all densities: 2 arccos BC."""
    return float(2 * np.arccos(min(bhattacharyya(m1, s1, m2, s2), 1.0)))


def gaussian_density(x, m, s) -> np.ndarray:
    """The density of N(m, s²) at x."""
    m, s = _gaussian_1d(m, s, "the")
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-0.5 * ((x - m) / s) ** 2) / (s * np.sqrt(2 * np.pi))


def sphere_geodesic_density(x, m1, s1, m2, s2, t: float) -> np.ndarray:
    """The Fisher–Rao geodesic among all densities at time t, at x: (sin((1−t)φ)√ρ₁ + sin(tφ)√ρ₂)² / sin²φ."""
    phi = fisher_rao_distance_densities(m1, s1, m2, s2) / 2
    r1, r2 = np.sqrt(gaussian_density(x, m1, s1)), np.sqrt(gaussian_density(x, m2, s2))
    if phi < 1e-12:
        return r1 ** 2
    return ((np.sin((1 - t) * phi) * r1 + np.sin(t * phi) * r2) / np.sin(phi)) ** 2
