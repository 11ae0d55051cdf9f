"""The 3D swarms demo's headless model: voxel cells keep their volumes, boundary voxels outline them."""
import numpy as np

from otlab.core.semidiscrete.swarms import GRID_TOL
from otlab.demos.swarms3d.model import GRID_3D, PRESETS_3D, Swarms3DModel


def test_frames_keep_the_volumes_and_outline_every_cell():
    model = Swarms3DModel(n=30)
    for _ in range(3):
        frame = model.step()
    assert frame.step == 3 and frame.positions.shape == (30, 3)
    assert np.abs(frame.volumes / frame.volume - 1).max() <= GRID_TOL * 1.0001
    assert set(np.unique(frame.owner)) <= set(range(30)) and len(np.unique(frame.owner)) >= 28
    assert frame.boundary.min() > 0 and frame.boundary.max() < 1  # voxel centres inside the box
    h = 1 / GRID_3D
    v = frame.boundary / h - 0.5
    assert np.abs(v - np.round(v)).max() < 1e-4  # voxel centres
    # the outline is the cells' boundary: a voxel is drawn iff it is on the box's faces or a face neighbour
    # lies in another cell; each drawn voxel is its own cell's
    labels = model._swarm.state.cells.labels.numpy()
    drawn = np.zeros(labels.shape, dtype=bool)
    drawn[tuple(np.round(v).astype(int).T)] = True
    padded = np.pad(labels, 1, constant_values=-2)
    centre = padded[1:-1, 1:-1, 1:-1]
    other = np.zeros(labels.shape, dtype=bool)
    for axis in range(3):
        for shift in (-1, 1):
            other |= np.roll(padded, shift, axis)[1:-1, 1:-1, 1:-1] != centre
    np.testing.assert_array_equal(drawn, other & (labels >= 0))
    assert (labels[tuple(np.round(v).astype(int).T)] == frame.owner).all()


def test_presets_are_three_dimensional():
    for preset in PRESETS_3D:
        model = Swarms3DModel(preset=preset, n=12)
        assert model.step().positions.shape == (12, 3) and model._swarm.dim == 3
