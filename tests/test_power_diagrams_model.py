"""The power-diagram demo's headless model: Newton frames, dragging, targets, painting, Lloyd, anisotropy."""
import numpy as np
import pytest

from otlab.demos.power_diagrams.model import GRID_TOL, TOL, PowerDiagramsModel


def run(model, frames=30):
    frame = None
    for _ in range(frames):
        frame = model.step()
        if frame.converged and not frame.lloyd_left:
            break
    return frame


def polygon_area(v):
    return 0.5 * float((v[:, 0] * np.roll(v[:, 1], -1) - np.roll(v[:, 0], -1) * v[:, 1]).sum())


def test_default_converges_and_cells_hold_their_masses():
    frame = run(PowerDiagramsModel())
    assert frame.converged and frame.error <= TOL and frame.newton_step <= 10
    areas = np.array([polygon_area(p) for p in frame.polygons])
    assert areas.sum() == pytest.approx(1.0, rel=1e-12)
    assert np.abs(areas * 60 - 1).max() <= TOL
    assert (np.diff(frame.history[:, 0]) == 1).all()  # one Newton step per frame


def test_moving_a_site_restarts_newton_from_the_current_weights():
    model = PowerDiagramsModel()
    frame = run(model)
    weights = frame.weights.copy()
    target = frame.sites[0] + 0.01  # a small move, as during a drag
    model.move_site(0, target)
    moved = model.step()
    assert np.allclose(moved.sites[0], target) and not moved.converged
    assert np.array_equal(moved.weights, weights)  # the warm start (a far move may empty a cell: restart from 0)
    after = run(model)
    assert after.converged and after.history[-1, 0] > frame.history[-1, 0]
    model.move_site(1, moved.sites[2])  # onto another site: ignored
    assert np.allclose(model.step().sites[1], after.sites[1])


def test_two_sizes():
    frame = run(PowerDiagramsModel(targets="two sizes", n_sites=30))
    areas = np.array([polygon_area(p) for p in frame.polygons])
    assert np.allclose(areas[:10] / areas[10:].mean(), 3.0, rtol=1e-5)


def test_density_targets_and_painting():
    frame = run(PowerDiagramsModel(targets="blob"))
    assert frame.converged and np.abs(frame.masses * 60 - 1).max() <= TOL
    model = PowerDiagramsModel()
    run(model)
    model.paint((0.25, 0.75), radius=0.1, amount=5.0)
    assert model.targets == "painted"
    frame = run(model)
    assert frame.converged
    near = np.hypot(*(frame.sites - (0.25, 0.75)).T) < 0.15
    areas = np.array([polygon_area(p) for p in frame.polygons])
    assert near.any() and areas[near].mean() < 0.5 * areas[~near].mean()  # dense paint: small cells


def test_lloyd_moves_sites_to_centroids():
    model = PowerDiagramsModel(n_sites=40)
    start = run(model)
    gap = np.abs(start.sites - start.centroids).max()
    model.lloyd(8)
    frame = run(model, frames=200)
    assert frame.lloyd_left == 0 and frame.converged
    assert np.abs(frame.sites - frame.centroids).max() < 0.5 * gap


def test_anisotropic_mode():
    """Every pixel is in the Laguerre cell of its cost: argmin_i (y - x_i)ᵀ A_i (y - x_i) - w_i with
    A_i = R(θ_i) diag(1, aspect²) R(θ_i)ᵀ built here from the drawn ellipses' angles (brute force over the
    128² pixel centres and all sites, with the frame's weights); the masses are the targets."""
    model = PowerDiagramsModel(mode="anisotropic", n_sites=30, aspect=4.0)
    frame = run(model, frames=40)
    assert frame.converged and frame.error <= GRID_TOL
    assert frame.labels.shape == (128, 128) and len(np.unique(frame.labels)) == 30
    assert np.allclose(frame.ellipses[:, 0] / frame.ellipses[:, 1], 4.0)
    c, s = np.cos(frame.ellipses[:, 2]), np.sin(frame.ellipses[:, 2])
    axis, across = np.stack([c, s], 1), np.stack([-s, c], 1)
    metrics = axis[:, :, None] * axis[:, None, :] + 16.0 * across[:, :, None] * across[:, None, :]
    u = (np.arange(128) + 0.5) / 128
    d = np.stack(np.meshgrid(u, u, indexing="ij"), -1).reshape(-1, 1, 2) - frame.sites[None]
    score = np.einsum("pni,nij,pnj->pn", d, metrics, d) - frame.weights[None]
    assert (score.argmin(1).reshape(128, 128) == frame.labels).mean() > 0.999  # ties aside
    np.testing.assert_allclose(frame.masses, frame.targets, rtol=GRID_TOL * 1.0001)


def test_bad_parameters():
    with pytest.raises(ValueError):
        PowerDiagramsModel(n_sites=1)
    with pytest.raises(ValueError):
        PowerDiagramsModel(targets="nothing")
