"""The barycenter explorer's headless model and its density helpers (no browser, no Panel)."""
import io

import numpy as np
import pytest
import torch

from otlab.core import barycenter_grid, solve
from otlab.demos.barycenters.model import (BarycentersModel, picker_corners, point_of, weights_at)
from otlab.demos.densities import (SHAPES, VOLUMES, image_density, sample_density, shape_density,
                                   volume_density)


def test_picker_weights_are_barycentric_and_bilinear():
    for k in (3, 4):
        corners = picker_corners(k)
        for i, c in enumerate(corners):
            assert np.allclose(weights_at(c, k), np.eye(k)[i], atol=1e-12)
        centre = corners.mean(0)
        assert np.allclose(weights_at(centre, k), np.full(k, 1 / k), atol=1e-12)
    # a point of the triangle is the weighted mean of the corners; outside points are clipped
    w = np.array([0.2, 0.5, 0.3])
    assert np.allclose(weights_at(point_of(w, 3), 3), w, atol=1e-12)
    far = weights_at((5.0, -3.0), 3)
    assert far.min() >= 0 and abs(far.sum() - 1) < 1e-12 and far[2] == 0
    # bilinear: (u, v) = (0.25, 0.5)
    assert np.allclose(weights_at((0.25, 0.5), 4), [0.375, 0.125, 0.125, 0.375])
    assert np.allclose(point_of(weights_at((0.25, 0.5), 4), 4), (0.25, 0.5))
    with pytest.raises(ValueError, match="3 or 4"):
        picker_corners(5)


def test_shapes_images_and_volumes():
    for name in SHAPES:
        d = shape_density(name, 40)
        assert d.shape == (40, 40) and d.min() >= 0 and d.sum() > 40  # a shape covers > 40 of 1600 cells
    for name in VOLUMES:
        v = volume_density(name, 16)
        assert v.shape == (16, 16, 16) and v.sum() > 16
    # orientation: a dark top-left pixel of an image is at small x, large y
    gray = np.ones((10, 20))
    gray[0, 0] = 0
    d = image_density(gray, 20)
    i, j = np.unravel_index(d.argmax(), d.shape)
    assert (i, j) == (0, 14)  # padded to 20 x 20: the image's rows 0..9 are canvas rows 5..14, y cells 14..5
    with pytest.raises(ValueError, match="unknown shape"):
        shape_density("unicorn", 8)
    pts = sample_density(shape_density("square", 32), 2000, np.random.default_rng(0))
    assert pts.shape == (2000, 2) and np.abs(pts - 0.5).max() < 0.27  # the square spans ±0.26 (± a cell)


def test_barycenter_frames_match_the_core_and_the_average():
    """The settled live barycenter equals barycenter_grid at the same weights (L1 < 0.01, the demo's
    tolerance 1e-3 on the marginals), and the Euclidean panel is Σ w_k α_k."""
    m = BarycentersModel(resolution=32, blur=0.04, point=(0.6, 0.3))
    frame = m.settle()
    assert frame.settled and abs(frame.mass - 1) < 1e-3 and frame.density.shape == (32, 32)
    stack = np.stack([shape_density(n, 32) for n in m.inputs])
    stack /= stack.sum((1, 2), keepdims=True)
    ref = barycenter_grid(torch.as_tensor(stack), frame.weights, blur=0.04, tol=1e-3).density.numpy()
    got = m._state.density.double().numpy()
    assert np.abs(got - ref).sum() < 0.01
    average = np.tensordot(frame.weights, stack, axes=1)
    shown = frame.average * (average.max() / frame.average.max())
    assert np.corrcoef(shown.ravel(), average.ravel())[0, 1] > 0.99


def test_moving_the_point_continues_the_run_and_settles_where_a_fresh_model_does():
    m = BarycentersModel(resolution=32, blur=0.04)
    first = m.settle()
    m.point = (0.9, 0.1)  # near corner B
    frame = m.step()
    assert frame.generation == first.generation and frame.version > first.version  # same figures, new picture
    frame = m.settle()
    assert frame.settled and frame.weights[1] > 0.75
    cold = BarycentersModel(resolution=32, blur=0.04, point=(0.9, 0.1)).settle()
    assert np.abs(frame.density - cold.density).mean() < 0.02  # images in [0, 1]
    # a settled frame is returned unchanged
    assert m.step().version == frame.version


def test_corner_weight_gives_back_the_input():
    """At corner B (weights (0, 1, 0)) the barycenter is input B (the ring): most of its mass sits on
    the ring's cells."""
    m = BarycentersModel(resolution=32, blur=0.03, point=tuple(picker_corners(3)[1]))
    m.settle()
    ring = shape_density("ring", 32) > 0
    assert float(m._state.density.double().numpy()[ring].sum()) > 0.9


def test_points_mode_volumes_and_four_inputs():
    m = BarycentersModel(mode="point clouds", n_points=80, blur=0.05, inputs=["disk", "square", "ring", "cross"],
                         point=(1.0, 0.0))
    frame = m.settle(max_frames=50)
    assert frame.support.shape == (80, 2) and frame.weights[1] == 1.0
    # at corner B the support is a sample of the square: of the four inputs, the nearest to it (the
    # divergence to 2,000 samples of each; measured: square 0.0014, disk 0.0021, cross 0.0038, ring 0.0070)
    rng = np.random.default_rng(5)
    support = torch.as_tensor(frame.support, dtype=torch.float64)
    far = {name: float(solve(support, sample_density(shape_density(name, 64), 2000, rng).astype(np.float64),
                             blur=0.02).value) for name in m.inputs}
    assert min(far, key=far.get) == "square", far
    v = BarycentersModel(mode="volumes (3D)", volume_resolution=16, blur=0.06)
    frame = v.settle()
    assert frame.sizes == (16, 16, 16) and frame.density.shape == (16, 16) and abs(frame.mass - 1) < 1e-3
    assert frame.density_3d.shape == frame.average_3d.shape == (16, 16, 16) and frame.density_3d.max() == 1
    # the volume shown is barycenter_grid's at the frame's weights (the mixture Σ w_k α_k is 0.76 away in L1)
    stack = np.stack([volume_density(name, 16) for name in v.names])
    stack /= stack.sum((1, 2, 3), keepdims=True)
    ref = barycenter_grid(torch.as_tensor(stack), frame.weights, blur=0.06, tol=1e-3).density.numpy()
    assert np.abs(v._state.density.double().numpy() - ref).sum() < 1e-3


def test_volumes_mode_at_a_corner_draws_that_volume_in_3d():
    """At corner B (the torus) the 3D barycenter's bright voxels lie on the torus, none in its hole; the
    drawn points (volume_points) are dense there and absent where the volume is faint."""
    from otlab.demos.barycenters.view import volume_points
    m = BarycentersModel(mode="volumes (3D)", volume_resolution=24, blur=0.04, point=tuple(picker_corners(3)[1]))
    frame = m.settle()
    torus = volume_density("torus", 24) > 0
    bright = frame.density_3d > 0.5
    assert bright.sum() > 100 and (bright & torus).sum() >= 0.95 * bright.sum()
    points, colours = volume_points(frame.density_3d)
    cells = np.clip(((points + 0.5) * 24).astype(int), 0, 23)
    assert torus[tuple(cells.T)].mean() > 0.9
    assert colours.shape == points.shape and colours.dtype == np.uint8


def test_volume_points_draw_voxels_with_probability_growing_with_the_value():
    from otlab.demos.barycenters.view import volume_points
    volume = np.zeros((32, 32, 32), np.float32)
    volume[:16] = 1.0      # every voxel drawn
    volume[16:24] = 0.55   # half of them: (0.55 - 0.1) / 0.9
    volume[24:] = 0.05     # none
    points, colours = volume_points(volume)
    x = (points[:, 0] + 0.5) * 32
    assert (x < 16).sum() == 16 * 32 * 32 and ((x >= 24).sum() == 0)
    assert abs((x >= 16).sum() / (8 * 32 * 32) - 0.5) < 0.03
    assert np.abs(points).max() <= 0.5
    dark = colours[x < 16].astype(int).sum(1).mean()
    light = colours[(x >= 16) & (x < 24)].astype(int).sum(1).mean()
    assert dark < light  # denser is darker


def test_interpolation_grid_png():
    from PIL import Image

    m = BarycentersModel(resolution=20, blur=0.06)
    rows = m.grid_weights()
    assert [len(r) for r in rows] == [1, 2, 3, 4, 5]
    assert np.allclose(rows[0][0], [0, 0, 1]) and np.allclose(rows[4][0], [1, 0, 0])
    assert all(abs(w.sum() - 1) < 1e-12 for r in rows for w in r)
    # the grid's corners are the inputs (a barycenter with one weight 1 is that input): each corner image
    # is nearest its own input (mean |difference| measured 0.04–0.07, the others 0.14 and more)
    grid = m.interpolation_grid()
    for (r, j), k in (((0, 0), 2), ((4, 0), 0), ((4, 4), 1)):
        gaps = [float(np.abs(grid[r][j] - shown).mean()) for shown in m._shown_inputs]
        assert gaps[k] < 0.1 and gaps[k] == min(gaps), (r, j, gaps)
    png = m.interpolation_png()
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.size[0] > 600
    m4 = BarycentersModel(inputs=["disk", "ring", "star", "heart"])
    rows = m4.grid_weights()
    assert [len(r) for r in rows] == [5] * 5 and np.allclose(rows[4][0], [1, 0, 0, 0])
    assert np.allclose(rows[0][4], [0, 0, 1, 0])


def test_bad_inputs_and_uploads():
    m = BarycentersModel(inputs=["disk", "unicorn", "ring"])
    with pytest.raises(ValueError, match="inputs: unknown 'unicorn'"):
        m.step()
    with pytest.raises(ValueError, match="length must be between 3 and 4"):
        m.inputs = ["disk", "ring"]
    gray = np.ones((30, 40))
    gray[5:25, 5:15] = 0
    name = m.add_upload("bar.png", gray)
    m.inputs = ["disk", name, "ring"]
    m.resolution = 24
    frame = m.step()
    assert frame.names[1] == "upload: bar.png"
