"""The swarms demo's headless model: frames on both paths, presets, live parameters, torus images."""
import numpy as np
import pytest

from otlab.core.semidiscrete.polygons import clip_to_convex
from otlab.core.semidiscrete.swarms import EXACT_TOL, GRID_TOL
from otlab.demos.swarms.model import GRID, PRESETS, SwarmsModel


def polygon_area(v):
    return 0.5 * float((v[:, 0] * np.roll(v[:, 1], -1) - np.roll(v[:, 0], -1) * v[:, 1]).sum())


def test_default_frames_hold_the_volumes_and_draw_every_cell():
    model = SwarmsModel()
    for _ in range(5):
        frame = model.step()
    assert frame.exact and frame.step == 5 and len(frame.positions) == 200
    assert np.abs(frame.volumes / frame.volume - 1).max() <= EXACT_TOL
    drawn = np.array([polygon_area(p) for p in frame.polygons])  # arcs drawn as points on the circles
    assert len(frame.polygons) == 200 and (drawn <= frame.volumes * (1 + 1e-9)).all()
    assert (drawn >= 0.97 * frame.volumes).all()
    np.testing.assert_allclose(np.linalg.norm(frame.headings, axis=1), 1, rtol=1e-9)


def test_a_preset_sets_its_parameters_and_the_grid_path():
    model = SwarmsModel(preset="gravity")
    for name, value in PRESETS["gravity"].items():
        if name != "motion":
            assert getattr(model, name) == value
    frame = model.step()
    assert not frame.exact and frame.labels.shape == (GRID, GRID) and frame.polygons is None
    assert np.abs(frame.volumes / frame.volume - 1).max() <= GRID_TOL * 1.0001
    assert set(np.unique(frame.species)) == {0, 1}
    evacuation = SwarmsModel(preset="evacuation").step()
    assert evacuation.walls is not None and evacuation.walls.any() and evacuation.extent[0][1] > 1


def test_live_parameters_keep_the_swarm_and_others_restart_it():
    model = SwarmsModel(preset="active Brownian")
    for _ in range(3):
        model.step()
    model.speed = 1.5  # applied to the running swarm
    frame = model.step()
    assert frame.step == 4 and model._swarm.speed == 1.5
    model.n = 120  # restarts
    frame = model.step()
    assert frame.step == 1 and len(frame.positions) == 120
    with pytest.raises(ValueError):
        model.fill = 1.5


def test_torus_cells_are_drawn_whole_on_both_sides():
    """On the periodic box a cell cut by a side is drawn on both sides: every particle's cell is drawn,
    each piece reaches into the box, and the pieces of a cell clipped to the box add up to its volume
    (97% at least: the disks' arcs are drawn as chords; never more) — the copies outside do not count twice."""
    frame = SwarmsModel(preset="active Brownian").step()
    owners = np.asarray(frame.polygon_owner)
    assert set(owners) == set(range(len(frame.positions)))  # every cell drawn
    for p in frame.polygons:  # every piece reaches into the box
        assert (p.max(0) > 0).all() and (p.min(0) < 1).all()
    box = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    inside = np.array([polygon_area(clip_to_convex(p[None], box)[0]) for p in frame.polygons])
    per_cell = np.bincount(owners, weights=inside, minlength=len(frame.positions))
    assert (per_cell <= frame.volumes * (1 + 1e-9)).all() and (per_cell >= 0.97 * frame.volumes).all()
    assert len(frame.polygons) > len(frame.positions)  # some cells do cross a side
