"""Laguerre cells of any cost on pixel and voxel grids: labels against the exact power diagram, soft
volumes solved to tolerance in 2D and 3D, anisotropic cells elongated as prescribed, power costs,
the soft Hessian against finite differences, and bad input."""
import importlib

import numpy as np
import pytest
import torch

from otlab.core import laguerre_grid, power_diagram, solve_laguerre_grid
from otlab.core.semidiscrete.laguerre_grid import _Costs, _grid, _hessian, _sweep


def pixel_centres(n):
    g = (np.arange(n) + 0.5) / n
    return np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)


def test_labels_are_the_exact_power_cells():
    """Quadratic cost: each pixel centre lies in the exact (Qhull) cell of its label — checked on the
    polygons of power_diagram, away from the edges by more than rounding."""
    rng = np.random.default_rng(0)
    x, w = rng.random((40, 2)), rng.normal(0, 2e-3, 40)
    lab = laguerre_grid(x, w, shape=(96, 96)).labels.reshape(-1).numpy()
    d = power_diagram(x, w)
    y = pixel_centres(96)
    for i, poly in enumerate(d.polygons):
        v = poly.numpy()
        if len(v) < 3:
            assert not (lab == i).any()
            continue
        e = np.roll(v, -1, 0) - v
        side = e[None, :, 0] * (y[:, None, 1] - v[None, :, 1]) - e[None, :, 1] * (y[:, None, 0] - v[None, :, 0])
        strictly_in = (side > 1e-9).all(1)
        assert (lab[strictly_in] == i).all()


@pytest.mark.parametrize("shape", [(128, 128), (96, 64), (24, 24, 24)])
def test_volumes_solved_to_tolerance(shape):
    dim = len(shape)
    rng = np.random.default_rng(1)
    x = rng.random((30, dim))
    nu = rng.uniform(0.5, 2, 30)
    res = solve_laguerre_grid(x, nu, shape=shape, tol=1e-3)
    v = res.cells.volumes.numpy()
    assert res.converged and np.abs(v / v.sum() / (nu / nu.sum()) - 1).max() <= 1e-3
    assert v.sum() == pytest.approx(1.0, rel=1e-12)
    # hard pixel counts differ from the soft volumes (τ: a pixel wide) by at most the pixels along the
    # cell's boundary, on either side
    lab = res.cells.labels.numpy()
    counts = np.bincount(lab.reshape(-1), minlength=30)
    border = np.zeros(30)
    for axis in range(dim):
        a, b = np.moveaxis(lab, axis, 0)[:-1].reshape(-1), np.moveaxis(lab, axis, 0)[1:].reshape(-1)
        cut = a != b
        border += np.bincount(a[cut], minlength=30) + np.bincount(b[cut], minlength=30)
    assert (np.abs(counts - v * np.prod(shape)) <= border).all()


def test_quadratic_grid_solve_is_close_to_the_exact_one():
    """The soft-volume weights give exact power cells with areas within a few % of the target (the pixel
    discretisation: ~330 pixels per cell here), and within 1e-3 of the exact weights' cells' at 512²."""
    x = np.random.default_rng(2).random((50, 2))
    for n, tol in ((128, 0.06), (512, 0.015)):
        w = solve_laguerre_grid(x, shape=(n, n), tol=1e-6).weights.numpy()
        areas = power_diagram(x, w).areas.numpy()
        assert np.abs(areas * 50 - 1).max() < tol


def test_anisotropic_cells_are_elongated_as_prescribed():
    """A_i = diag(1, 4) for every cell: the cost is Euclidean after y -> (y_1, 2 y_2), so the cells are
    the images of (statistically isotropic) power cells, stretched by 2 along x: var_x / var_y ~ 4."""
    n, side = 60, 160
    rng = np.random.default_rng(3)
    x = rng.random((n, 2))
    A = np.tile(np.diag([1.0, 4.0]), (n, 1, 1))
    res = solve_laguerre_grid(x, metrics=A, shape=(side, side), tol=1e-3)
    lab = res.cells.labels.reshape(-1).numpy()
    y = pixel_centres(side)
    ratios = []
    for i in range(n):
        pts = y[lab == i]
        if len(pts) > 50 and pts.min() > 0.02 and pts.max() < 0.98:  # interior cells
            ratios.append(pts[:, 0].var() / pts[:, 1].var())
    assert len(ratios) > 15
    assert 3.0 < np.median(ratios) < 5.3  # isotropic metrics give ~1
    iso = solve_laguerre_grid(x, shape=(side, side), tol=1e-3).cells.labels.reshape(-1).numpy()
    iso_ratios = [y[iso == i][:, 0].var() / y[iso == i][:, 1].var() for i in range(n) if (iso == i).sum() > 50]
    assert 0.6 < np.median(iso_ratios) < 1.6


def test_power_costs_and_scales():
    """Soft particles (p = 1) and hard ones (p = 6) with per-cell scales: the volumes still solve."""
    rng = np.random.default_rng(4)
    x = rng.random((25, 2))
    for p in (1.0, 6.0):
        res = solve_laguerre_grid(x, power=p, scale=rng.uniform(0.5, 2, 25), shape=(96, 96), tol=1e-3)
        v = res.cells.volumes.numpy()
        assert res.converged and np.abs(v * 25 - 1).max() <= 1e-3


def test_one_power_per_site():
    """Two species, soft (p = 1) and hard (p = 4), in one diagram: the masses solve, and the labels follow the
    per-site exponents (each pixel's label minimises s_i |y - x_i|^p_i - w_i, checked by brute force)."""
    rng = np.random.default_rng(9)
    x = rng.random((24, 2))
    p = np.array([1.0] * 12 + [4.0] * 12)
    res = solve_laguerre_grid(x, power=p, shape=(64, 64), tol=1e-3)
    assert res.converged and np.abs(res.cells.masses.numpy() * 24 - 1).max() <= 1e-3
    y = pixel_centres(64)
    score = res.weights.numpy()[None] - np.linalg.norm(y[:, None] - x[None], axis=-1) ** p[None]
    best = np.sort(score, 1)
    clear = best[:, -1] - best[:, -2] > 1e-9
    assert (res.cells.labels.reshape(-1).numpy()[clear] == score.argmax(1)[clear]).all()


def test_density_masses():
    """A density twice as heavy on the right half: equal masses make the right cells about half as large."""
    rho = np.ones((64, 64))
    rho[32:] = 2.0
    x = np.random.default_rng(8).random((40, 2))
    res = solve_laguerre_grid(x, shape=(64, 64), density=rho, tol=1e-3)
    m, v = res.cells.masses.numpy(), res.cells.volumes.numpy()
    assert res.converged and np.abs(m * 40 - 1).max() <= 1e-3
    left, right = res.cells.centroids.numpy()[:, 0] < 0.4, res.cells.centroids.numpy()[:, 0] > 0.6
    assert 1.6 < np.median(v[left]) / np.median(v[right]) < 2.5


@pytest.mark.parametrize("dense", [True, False], ids=["dense product", "candidate pairs"])
def test_soft_hessian_matches_finite_differences(dense, monkeypatch):
    monkeypatch.setattr(importlib.import_module("otlab.core.semidiscrete.laguerre_grid"), "DENSE_PER_CANDIDATE",
                        12 if dense else 0)
    x = np.random.default_rng(5).random((12, 2))
    grid = _grid((48, 48), None)
    costs = _Costs(x, None, 1.5, None, 2)
    w = torch.as_tensor(np.random.default_rng(6).normal(0, 1e-2, 12))
    rho = torch.as_tensor(np.random.default_rng(7).uniform(0.2, 1.0, (48, 48))).reshape(-1)
    rho = rho / rho.sum()
    state = _sweep(costs, grid, w, 5e-3, rho)
    H = _hessian(state[4], state[2], 5e-3)
    h = 1e-6
    fd = np.empty((12, 12))
    for j in range(12):
        e = torch.zeros(12, dtype=torch.float64)
        e[j] = h
        fd[:, j] = ((_sweep(costs, grid, w + e, 5e-3, rho)[2] - _sweep(costs, grid, w - e, 5e-3, rho)[2])
                    / (2 * h)).numpy()
    assert np.abs(fd - H.toarray()).max() <= 1e-5 * np.abs(H.toarray()).max()


@pytest.mark.parametrize("kwargs, match", [
    (dict(sites=np.zeros((3, 3))), "sites"),
    (dict(metrics=np.tile(np.diag([1.0, -1.0]), (3, 1, 1))), "positive definite"),
    (dict(metrics=np.tile(np.array([[1.0, 0.5], [0.0, 1.0]]), (3, 1, 1))), "symmetric"),
    (dict(metrics=np.eye(2)), "metrics"),
    (dict(power=0), "power"),
    (dict(power=[1.0, 2.0]), "power"),
    (dict(scale=[1.0, 0.0, 1.0]), "scale"),
    (dict(shape=(8,)), "shape"),
    (dict(masses=[1.0, 1.0]), "masses"),
    (dict(weights0=[0.0]), "weights"),
    (dict(density=np.ones((8, 8))), "density"),
    (dict(density=-np.ones((16, 16))), "density"),
])
def test_bad_input(kwargs, match):
    args = dict(sites=np.array([[0.2, 0.2], [0.8, 0.7], [0.4, 0.9]]), shape=(16, 16))
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        solve_laguerre_grid(args.pop("sites"), **args)
