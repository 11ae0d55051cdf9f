"""Power diagrams and semi-discrete OT in 2D: exact partitions, closed forms, SciPy's Voronoi cells,
the Hessian against finite differences, densities, Lloyd, warm starts and bad input."""
import numpy as np
import pytest
from scipy.spatial import ConvexHull, Voronoi

from otlab.core import iterate_semidiscrete, lloyd, power_diagram, solve_semidiscrete
from otlab.core.semidiscrete.transport import hessian

PENTAGON = np.array([[0.1, 0.0], [0.9, 0.05], [1.0, 0.6], [0.5, 1.0], [0.0, 0.7]])


def sites_in(domain, n, seed):
    """n random points inside a convex polygon (rejection in its bounding box)."""
    rng = np.random.default_rng(seed)
    lo, hi = domain.min(0), domain.max(0)
    out = []
    while len(out) < n:
        p = lo + (hi - lo) * rng.random(2)
        edges = np.roll(domain, -1, 0) - domain
        if (edges[:, 0] * (p[1] - domain[:, 1]) - edges[:, 1] * (p[0] - domain[:, 0]) > 0).all():
            out.append(p)
    return np.array(out)


def power(y, x, w):
    """|y - x_i|^2 - w_i for every point y (P, 2) and site i: (P, N)."""
    return ((y[:, None, :] - x[None]) ** 2).sum(-1) - w[None]


@pytest.mark.parametrize("domain", [None, PENTAGON])
def test_cells_are_the_exact_partition(domain):
    """Every vertex of cell i has minimal power at i (to rounding) and lies in the domain; the areas add
    up to the domain's: convex cells inside the true cells that cover the domain are the true cells."""
    dom = np.array([[0, 0], [1, 0], [1, 1], [0, 1.0]]) if domain is None else domain
    x = sites_in(dom, 200, 1)
    w = np.random.default_rng(2).normal(0, 2e-3, 200)
    d = power_diagram(x, w, domain=domain)
    scale = 1e-12 * (1 + np.abs(w).max())
    for i, poly in enumerate(d.polygons):
        v = poly.numpy()
        if len(v):
            p = power(v, x, w)
            assert (p[:, i] <= p.min(1) + scale).all()
    assert float(d.areas.sum()) == pytest.approx(ConvexHull(dom).volume, rel=1e-12)
    assert int((d.areas == 0).sum()) > 0  # these weights empty some cells: hidden sites are handled


def test_voronoi_cells_match_scipy():
    """Zero weights: the cells not touching the border are SciPy's (Qhull) Voronoi cells."""
    x = np.random.default_rng(3).random((500, 2))
    d = power_diagram(x)
    vor = Voronoi(x)
    checked = 0
    for i in range(len(x)):
        region = vor.regions[vor.point_region[i]]
        if -1 in region or not region:
            continue
        verts = vor.vertices[region]
        if (verts < 0).any() or (verts > 1).any():
            continue
        hull = ConvexHull(verts)
        assert float(d.areas[i]) == pytest.approx(hull.volume, rel=1e-9)
        ring = verts[hull.vertices]  # fan triangles from the first vertex: area-weighted centroid
        a, b, c = ring[0], ring[1:-1], ring[2:]
        tri = 0.5 * np.abs((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])
        fan = (tri[:, None] * (a + b + c) / 3).sum(0) / tri.sum()
        assert np.abs(d.centroids[i].numpy() - fan).max() <= 1e-9
        checked += 1
    assert checked > 300


def test_single_site_centroid_is_the_domains():
    triangle = np.array([[0.0, 0.0], [2.0, 0.0], [0.5, 1.5]])
    d = power_diagram([[0.3, 0.2]], domain=triangle)
    assert np.allclose(d.centroids[0].numpy(), triangle.mean(0), atol=1e-14)
    assert float(d.areas[0]) == pytest.approx(1.5, rel=1e-14)
    assert d.neighbours.shape == (0, 2)


@pytest.mark.parametrize("domain", [None, PENTAGON])
def test_uniform_areas_to_1e_6(domain):
    dom = np.array([[0, 0], [1, 0], [1, 1], [0, 1.0]]) if domain is None else domain
    x = sites_in(dom, 1000, 4)
    res = solve_semidiscrete(x, domain=domain, tol=1e-6)
    area = ConvexHull(dom).volume
    assert res.converged and res.n_iter <= 12
    assert np.abs(res.areas.numpy() * 1000 / area - 1).max() <= 1e-6
    assert float(res.areas.sum()) == pytest.approx(area, rel=1e-12)


def test_prescribed_masses():
    x = np.random.default_rng(5).random((300, 2))
    nu = np.random.default_rng(6).uniform(0.2, 2.0, 300)
    res = solve_semidiscrete(x, nu, tol=1e-8)
    assert np.abs(res.areas.numpy() / (nu / nu.sum()) - 1).max() <= 1e-8


def test_hessian_matches_finite_differences():
    x = np.random.default_rng(7).random((60, 2))
    w = solve_semidiscrete(x, np.random.default_rng(8).uniform(0.5, 1.5, 60), tol=1e-3).weights.numpy()
    H = hessian(power_diagram(x, w)).toarray()
    h = 1e-6
    fd = np.empty_like(H)
    for j in range(60):
        e = np.zeros(60)
        e[j] = h
        fd[:, j] = (power_diagram(x, w + e).masses.numpy() - power_diagram(x, w - e).masses.numpy()) / (2 * h)
    assert np.abs(fd - H).max() <= 1e-5 * np.abs(H).max()
    assert np.abs(H.sum(1)).max() <= 1e-12 * np.abs(H).max()  # a common shift of the weights changes nothing


def test_linear_ramp_density_masses():
    """ρ ∝ 1 + 2x as a 64² image (pixel centres): cell masses against the closed form ∫(1 + 2x) =
    area (1 + 2 x̄) of each polygon, within the bound on the piecewise-constant image's error (a pixel
    cut by the cell boundary is off by at most slope·h/2 per unit area; at most √2 L/h + 2K of them)."""
    n, slope = 64, 2.0
    h = 1.0 / n
    xc = (np.arange(n) + 0.5) * h
    image = np.repeat((1 + slope * xc)[:, None], n, 1)
    sites = np.random.default_rng(9).random((40, 2))
    d = power_diagram(sites, density=image)
    geo = power_diagram(sites)
    exact = geo.areas.numpy() * (1 + slope * geo.centroids.numpy()[:, 0]) / (1 + slope / 2)
    for i, poly in enumerate(geo.polygons):
        v = poly.numpy()
        perimeter = np.linalg.norm(np.roll(v, -1, 0) - v, axis=1).sum()
        bound = slope * h / 2 * h * h * (np.sqrt(2) * perimeter / h + 2 * len(v)) / (1 + slope / 2)
        assert abs(float(d.masses[i]) - exact[i]) <= bound
    assert float(d.masses.sum()) == pytest.approx(1, rel=1e-12)
    # and the first moments: density centroids move to the heavier side (larger x) than the geometric ones
    inner = (geo.areas.numpy() > 0) & (np.ptp(geo.centroids.numpy(), 0) > 0).all()
    assert (d.centroids.numpy()[inner, 0] >= geo.centroids.numpy()[inner, 0] - 1e-12).mean() > 0.9


def test_constant_image_equals_uniform():
    x = np.random.default_rng(10).random((150, 2))
    w = np.random.default_rng(11).normal(0, 1e-3, 150)
    a, b = power_diagram(x, w), power_diagram(x, w, density=np.full((7, 5), 3.0))
    assert np.abs(a.masses.numpy() - b.masses.numpy()).max() <= 1e-14
    assert np.abs(a.centroids.numpy() - b.centroids.numpy()).max() <= 1e-12
    assert np.abs(a.edge_masses.numpy() - b.edge_masses.numpy()).max() <= 1e-14


def test_density_solve_converges():
    g = (np.arange(48) + 0.5) / 48
    image = np.exp(-((g[:, None] - 0.3) ** 2 + (g[None, :] - 0.6) ** 2) / 0.05) + 0.05
    x = np.random.default_rng(12).random((200, 2))
    res = solve_semidiscrete(x, density=image, tol=1e-7)
    assert res.converged and np.abs(res.masses.numpy() * 200 - 1).max() <= 1e-7
    # where the density is high the cells are small: the 20 smallest cells are where ρ is high
    rho_at = image[(x[:, 0] * 48).astype(int), (x[:, 1] * 48).astype(int)]
    assert np.median(rho_at[np.argsort(res.areas.numpy())[:20]]) > 2 * np.median(rho_at)


def test_newton_converges_quadratically():
    x = np.random.default_rng(13).random((1000, 2))
    errors = [s.error for s in iterate_semidiscrete(x, tol=1e-10)]
    assert errors[-1] <= 1e-10
    close = [(a, b) for a, b in zip(errors, errors[1:]) if 1e-8 < a < 1e-2]
    assert close and all(b <= 10 * a * a for a, b in close)


def test_warm_start():
    x = np.random.default_rng(14).random((300, 2))
    res = solve_semidiscrete(x, tol=1e-9)
    again = solve_semidiscrete(x, tol=1e-9, weights0=res.weights)
    assert again.n_iter == 0 and again.converged
    y = x + 1e-4 * np.random.default_rng(15).normal(size=x.shape).clip(-1, 1)  # a small move, as in a swarm
    moved = solve_semidiscrete(y, tol=1e-9, weights0=res.weights)
    assert moved.converged and moved.n_iter < solve_semidiscrete(y, tol=1e-9).n_iter
    bad = np.zeros(300)
    bad[0] = -10.0  # empties cell 0: the solver restarts from zero weights
    assert solve_semidiscrete(x, tol=1e-9, weights0=bad).converged


def test_lloyd_in_a_thin_strip_is_one_dimensional():
    """In a strip [0, 1] x [0, 1e-3] with masses ν the cells are intervals of lengths ν in the sites'
    order: one Lloyd step puts every site at its interval's centre."""
    strip = np.array([[0, 0], [1, 0], [1, 1e-3], [0, 1e-3]])
    rng = np.random.default_rng(16)
    n = 12
    x = np.column_stack([np.sort(rng.random(n)), np.full(n, 5e-4)])
    nu = rng.uniform(0.5, 1.5, n)
    nu /= nu.sum()
    res = lloyd(x, nu, steps=1, domain=strip, tol=1e-10)
    ends = np.concatenate([[0], np.cumsum(nu)])
    assert np.abs(res.sites.numpy()[:, 0] - (ends[:-1] + ends[1:]) / 2).max() <= 1e-8
    assert np.abs(res.masses.numpy() - nu).max() <= 1e-10 * nu.max()


def test_lloyd_reaches_a_centroidal_diagram():
    x = np.random.default_rng(17).random((50, 2))
    res = lloyd(x, steps=60, tol=1e-9)
    assert np.abs(res.sites.numpy() - res.centroids.numpy()).max() < 2e-3
    assert np.abs(res.masses.numpy() * 50 - 1).max() <= 1e-9


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(sites=[[0.1, 0.1], [0.1, 0.1]]), ValueError, "distinct"),
    (dict(sites=[[0.1, np.nan]]), ValueError, "sites"),
    (dict(sites=np.zeros((3, 3))), ValueError, r"\(N, 2\)"),
    (dict(sites="abc"), TypeError, "sites"),
    (dict(masses=[1.0, -1.0, 1.0]), ValueError, "masses"),
    (dict(masses=[1.0, 1.0]), ValueError, "masses"),
    (dict(domain=[[0, 0], [1, 1], [1, 0], [0, 1]]), ValueError, "convex"),
    (dict(domain=[[0, 0], [1, 0]]), ValueError, "domain"),
    (dict(density=-np.ones((4, 4))), ValueError, "density"),
    (dict(density=np.ones(4)), ValueError, "density"),
    (dict(weights0=[0.0, 1.0]), ValueError, "weights"),
    (dict(sites=[[0.2, 0.2], [0.8, 0.8], [3.0, 3.0]]), ValueError, r"sites\[2\]"),
    (dict(tol=0), ValueError, "tol"),
])
def test_bad_input(kwargs, exc, match):
    args = dict(sites=[[0.2, 0.2], [0.8, 0.8], [0.5, 0.1]])
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        solve_semidiscrete(args.pop("sites"), **args)
