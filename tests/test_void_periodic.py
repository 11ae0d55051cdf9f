"""The void phase and periodic boxes of the power diagrams (exact) and the Laguerre grid: polygons cut by
disks against closed forms, disjoint disks, Hessians against finite differences, torus invariances."""
import math

import numpy as np
import pytest
import torch

from otlab.core import laguerre_grid, power_diagram, solve_laguerre_grid, solve_semidiscrete
from otlab.core.semidiscrete.disk_clipping import polygons_in_disks
from otlab.core.semidiscrete.polygons import shoelace
from otlab.core.semidiscrete.transport import hessian

SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])


def test_polygon_cut_by_disk_closed_forms():
    """Disk inside the square; half disk on an edge; a circular segment from a centre outside the square;
    the square inside a large disk: areas, centroids and arc lengths from their formulas."""
    P = np.repeat(SQUARE[None], 4, 0)
    c = np.array([[0.5, 0.5], [0.5, 0.0], [1.2, 0.5], [0.5, 0.5]])
    r = np.array([0.3, 0.3, 0.3, 1.0])
    area, moment, arc = polygons_in_disks(P, c, r)
    d = 0.2
    segment = r[2] ** 2 * math.acos(d / r[2]) - d * math.sqrt(r[2] ** 2 - d ** 2)
    np.testing.assert_allclose(area, [math.pi * 0.09, math.pi * 0.09 / 2, segment, 1.0], rtol=1e-12)
    centroids = moment / area[:, None]
    h = math.sqrt(r[2] ** 2 - d ** 2)
    seg_x = 1.2 - 2 * h ** 3 / (3 * segment)  # centroid of a circular segment: 2 h^3 / (3 A) from the centre
    np.testing.assert_allclose(centroids, [[0.5, 0.5], [0.5, 4 * 0.3 / (3 * math.pi)], [seg_x, 0.5], [0.5, 0.5]],
                               atol=1e-12)
    np.testing.assert_allclose(arc, [2 * math.pi * 0.3, math.pi * 0.3, 2 * 0.3 * math.acos(d / 0.3), 0.0],
                               atol=1e-12)


def test_disjoint_disks_are_the_cells():
    """Weights small enough for the disks to stay apart and inside: each cell is its disk (area π w_i,
    centroid the site, full circle of arc), no two cells touch."""
    x = np.array([[0.2, 0.2], [0.7, 0.3], [0.4, 0.75], [0.8, 0.8]])
    w = np.array([0.01, 0.02, 0.015, 0.005])
    d = power_diagram(x, w, void=0.0)
    np.testing.assert_allclose(d.areas.numpy(), math.pi * w, rtol=1e-12)
    np.testing.assert_allclose(d.centroids.numpy(), x, atol=1e-12)
    np.testing.assert_allclose(d.arcs.numpy(), 2 * math.pi * np.sqrt(w), rtol=1e-12)
    assert d.neighbours.shape == (0, 2)
    drawn = [p.numpy() for p in d.polygons]  # chords of each circle
    assert all(np.allclose(np.linalg.norm(p - x[i], axis=1), math.sqrt(w[i])) for i, p in enumerate(drawn))


@pytest.mark.parametrize("kind", ["void", "periodic", "both"])
def test_hessian_matches_finite_differences(kind):
    rng = np.random.default_rng(3)
    n = 25
    x = rng.random((n, 2))
    void = 0.0 if kind != "periodic" else None
    periodic = kind != "void"
    w = (0.5 / n / math.pi if void is not None else 0.0) + rng.random(n) * 3e-3

    def masses(we):
        if void is None:
            return power_diagram(x, we, void=None, periodic=periodic).masses.numpy()
        m = power_diagram(x, we[:-1], void=we[-1], periodic=periodic).masses.numpy()
        return np.append(m, 1 - m.sum())

    we = w if void is None else np.append(w, 0.0)
    H = hessian(power_diagram(x, w, void=void, periodic=periodic)).toarray()
    J = np.zeros_like(H)
    for j in range(len(we)):
        e = np.zeros(len(we))
        e[j] = 1e-7
        J[:, j] = (masses(we + e) - masses(we - e)) / 2e-7
    assert np.abs(J - H).max() < 1e-5 * np.abs(H).max()


def test_torus_diagram_invariances():
    """On the torus: areas sum to the box, a generic diagram has E = 3N edges (Euler: a triangulation of
    the torus; N the non-empty cells), every cell's ∑ ℓ_ij n_ij vanishes, and translating every site (mod 1) moves nothing."""
    rng = np.random.default_rng(4)
    x = rng.random((150, 2))
    w = rng.random(150) * 1e-3
    d = power_diagram(x, w, periodic=True)
    assert abs(float(d.areas.sum()) - 1) < 1e-12
    assert len(d.neighbours) == 3 * int((d.areas > 0).sum())
    ij, n = d.neighbours.numpy(), d.edge_vectors.numpy()
    push = d.edge_lengths.numpy()[:, None] * n / np.linalg.norm(n, axis=1, keepdims=True)
    closure = np.zeros((150, 2))
    np.add.at(closure, ij[:, 0], push)
    np.add.at(closure, ij[:, 1], -push)
    assert np.abs(closure).max() < 1e-12
    moved = power_diagram(np.mod(x + [0.37, 0.81], 1.0), w, periodic=True)
    np.testing.assert_allclose(moved.areas.numpy(), d.areas.numpy(), atol=1e-13)
    np.testing.assert_allclose(np.mod(moved.centroids.numpy() - d.centroids.numpy() - [0.37, 0.81] + 0.5, 1) - 0.5,
                               0, atol=1e-9)  # moment / area of small cells: 1e-12 rounding


@pytest.mark.parametrize("fill, periodic", [(0.6, False), (0.95, False), (1.0, True), (0.5, True)])
def test_solve_with_void_and_torus(fill, periodic):
    """Areas fill/N to 1e-6 relative, void area 1 - fill, each cell within its disk of radius √w_i."""
    x = np.random.default_rng(5).random((300, 2))
    res = solve_semidiscrete(x, tol=1e-6, fill=fill, periodic=periodic)
    assert res.converged
    np.testing.assert_allclose(res.areas.numpy(), fill / 300, rtol=1e-6)
    assert abs(float(res.areas.sum()) - fill) < 1e-6 * fill
    if fill < 1:
        r = np.sqrt(res.weights.numpy())
        drawn = res.diagram.polygons  # arcs as points on the circles: the drawn area is a little less
        for i, p in enumerate(drawn):
            assert (np.linalg.norm(p.numpy() - x[i], axis=1) <= r[i] * (1 + 1e-9)).all()
        drawn_area = np.array([shoelace(p.numpy()[None], moments=False)[0][0] for p in drawn])
        assert (drawn_area <= res.areas.numpy() * (1 + 1e-9)).all()
        assert (drawn_area >= res.areas.numpy() * 0.97).all()


def test_void_and_torus_bad_input():
    x = np.random.default_rng(0).random((10, 2))
    with pytest.raises(ValueError, match="fill must lie in"):
        solve_semidiscrete(x, fill=1.5)
    with pytest.raises(ValueError, match="axis-aligned rectangle"):
        power_diagram(x * 0.5, periodic=True, domain=[[0, 0], [1, 0], [0.5, 1]])
    with pytest.raises(ValueError, match="inside the domain"):
        power_diagram(x + 1, periodic=True)
    with pytest.raises(ValueError, match="void needs a uniform density"):
        power_diagram(x, void=0.0, density=np.ones((4, 4)))
    with pytest.raises(TypeError, match="periodic must be True or False"):
        power_diagram(x, periodic="yes")


@pytest.mark.parametrize("shape, label_tol", [((96, 96), 0.03), ((32, 32, 32), 0.05)])
def test_grid_void_volumes_and_labels(shape, label_tol):
    """Soft volumes fill/N within the tolerance, the void's label -1 on about 1 - fill of the pixels (hard
    labels differ from the soft volumes by a fraction of the one-pixel boundary layer: more in 3D)."""
    dim = len(shape)
    x = np.random.default_rng(6).random((40, dim))
    res = solve_laguerre_grid(x, shape=shape, fill=0.6, tol=0.01, power=1.5)
    assert res.converged
    np.testing.assert_allclose(res.cells.volumes.numpy(), 0.6 / 40, rtol=0.011)
    void = float((res.cells.labels == -1).double().mean())
    assert abs(void - 0.4) < label_tol


@pytest.mark.parametrize("shape", [(64, 64), (16, 16, 16)])
def test_grid_torus_is_translation_invariant(shape):
    """Translating the sites by whole pixels (mod 1) rolls the labels and keeps the volumes."""
    dim = len(shape)
    x = torch.rand(30, dim, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    w = torch.rand(30, generator=torch.Generator().manual_seed(8), dtype=torch.float64) * 1e-3
    shift = torch.tensor([5, 11, 3][:dim]) / torch.tensor(shape)
    a = laguerre_grid(x, w, shape=shape, periodic=True, power=1.2)
    b = laguerre_grid(torch.remainder(x + shift, 1.0), w, shape=shape, periodic=True, power=1.2)
    rolled = torch.roll(a.labels, shifts=tuple([5, 11, 3][:dim]), dims=tuple(range(dim)))
    assert float((rolled == b.labels).double().mean()) > 0.999  # ties at float rounding may differ
    np.testing.assert_allclose(b.volumes.numpy(), a.volumes.numpy(), rtol=1e-9)
