"""Incompressible swarms: every step keeps the volumes and the particles in the room, on both paths and in
3D; soft particles evacuate faster than hard ones; tensions sort two populations; gravity settles."""
import numpy as np
import pytest

from otlab.core import Swarm
from otlab.core.semidiscrete.swarms import EXACT_TOL, GRID_TOL, OUTSIDE, WALL


def in_room(swarm, x):
    """Inside the disk, the box (half-open when periodic) or the room with its outside strip."""
    if swarm.motion == "run_and_tumble":
        return bool((np.linalg.norm(x - 0.5, axis=1) <= 0.5).all())
    hi = np.ones(x.shape[1])
    if swarm.motion == "evacuation":
        hi[0] = 1 + WALL + OUTSIDE
    return bool((x >= 0).all() and ((x < hi) if swarm.periodic else (x <= hi)).all())


CASES = [dict(motion="run_and_tumble"), dict(motion="active_brownian", fill=1.0), dict(motion="gravity", fill=0.6),
         dict(motion="surface_tension", fill=0.5), dict(motion="run_and_tumble", power=1.5, grid=64),
         dict(motion="active_brownian", power=3.0, grid=64), dict(motion="gravity", fill=0.6, power=(6.0, 1.0), grid=64),
         dict(motion="evacuation", fill=0.7, grid=64), dict(motion="surface_tension", fill=0.5, path="grid", grid=64),
         dict(motion="run_and_tumble", dim=3, grid=20, fill=0.7), dict(motion="active_brownian", dim=3, grid=16)]


@pytest.mark.parametrize("kwargs", CASES, ids=lambda k: "-".join(f"{v}" for v in k.values()))
def test_steps_keep_volumes_and_particles_in_the_room(kwargs):
    """After each of 8 steps every cell holds its volume V = fill |Ω| / N to the solver's tolerance
    (exact: 1e-3; grid: the soft volumes to 1%) and every particle is in the room."""
    s = Swarm(n=60, seed=1, **kwargs)
    tol = (EXACT_TOL if s.exact else GRID_TOL) * 1.0001
    for _ in range(8):
        st = s.step()
        v = st.volumes.numpy()
        assert np.abs(v / s.volume - 1).max() <= tol
        assert in_room(s, st.positions.numpy())
        assert st.positions.shape == st.headings.shape == (len(v), s.dim)
        np.testing.assert_allclose(np.linalg.norm(st.headings.numpy(), axis=1), 1, rtol=1e-9)
    assert abs(st.time - 8 * s.dt) < 1e-12 and st.step == 8


def test_jump_puts_particles_at_their_centroids():
    s = Swarm(n=80, motion="run_and_tumble", correction="jump", seed=2)
    st = s.step()
    np.testing.assert_allclose(st.positions.numpy(), st.cells.centroids.numpy(), atol=1e-3)


def test_soft_particles_evacuate_faster_than_hard_ones():
    """Through an exit 0.6 particle diameters wide, after the same time (2 time units, 2 seeds), more
    soft (p = 0.5) than hard (p = 8) particles have left (measured: 16 against 5)."""
    left = {}
    for p in (0.5, 8.0):
        left[p] = 0
        for seed in (0, 1):
            s = Swarm(n=40, motion="evacuation", fill=0.8, power=p, grid=96, seed=seed)
            for _ in range(200):
                st = s.step()
            left[p] += st.left
    assert left[0.5] > left[8.0] + 4


def like_neighbours(state) -> float:
    """Fraction of the cell-cell edges joining two particles of the same species."""
    ij = state.cells.neighbours.numpy()
    t = state.species.numpy()
    return float((t[ij[:, 0]] == t[ij[:, 1]]).mean())


def test_tensions_sort_the_populations():
    """With a costly 0-1 interface (γ_01 = 12 against γ_00 = γ_11 = 1), like neighbours go from about one
    half (random mixture) to well above it (measured: 0.56 to 0.69 in 200 steps); with equal tensions
    they stay about one half."""
    sorted_, mixed = (Swarm(n=120, motion="surface_tension", fill=0.6, seed=3, tensions=g)
                      for g in ((1.0, 1.0, 12.0, 16.0, 16.0), (1.0, 1.0, 1.0, 1.0, 1.0)))
    start = like_neighbours(sorted_.state)
    for _ in range(200):
        a, b = sorted_.step(), mixed.step()
    assert start < 0.6 and like_neighbours(b) < 0.6
    assert like_neighbours(a) > start + 0.1


def test_gravity_settles_on_the_floor():
    """Falling cells end packed at the bottom: the highest particle drops below fill + a cell radius."""
    s = Swarm(n=60, motion="gravity", fill=0.5, gravity=1.0, seed=4)
    assert s.x[:, 1].max() > 0.8
    for _ in range(120):
        st = s.step()
    assert st.positions[:, 1].max() < 0.5 + 2 * s.radius


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(motion="flocking"), ValueError, "motion must be one of"),
    (dict(motion="gravity", fill=1.0), ValueError, "fill must be < 1"),
    (dict(power=(1.0, 2.0, 3.0)), ValueError, "power must be a number or a pair"),
    (dict(motion="evacuation", fill=0.5, path="exact"), ValueError, "path='exact' needs"),
    (dict(dim=4), ValueError, "dim must be 2 or 3"),
    (dict(n=1), ValueError, "n must be an integer >= 2"),
    (dict(tensions=(1, 2)), ValueError, "tensions must be 5 numbers"),
    (dict(dt=0), ValueError, "dt must be a finite number > 0"),
    (dict(correction="push"), ValueError, "correction must be one of"),
])
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        Swarm(**kwargs)


def test_after_a_cold_restart_the_next_warm_start_is_not_extrapolated():
    """Warm starts extrapolate the last two steps' weights, w + (w - w_prev); after a step whose warm start
    failed and which restarted cold, the history restarts: the next warm start is w itself."""
    s = Swarm(n=40, motion="run_and_tumble", seed=3)  # solved once: weights w0, no history
    starts, solve, fail = [], s._volumes, [False, False, True]  # the third step's warm start fails

    def volumes(weights0):
        starts.append(None if weights0 is None else weights0.copy())
        res = solve(weights0)
        if weights0 is not None and fail and fail.pop(0):
            res.converged = False
        return res

    s._volumes = volumes
    w = [s.weights.copy()]
    for _ in range(5):
        s.step()
        w.append(s.weights.copy())
    expected = [w[0], 2 * w[1] - w[0], 2 * w[2] - w[1], None, w[3], 2 * w[4] - w[3]]
    assert [x is None for x in starts] == [x is None for x in expected]
    for got, want in zip(starts, expected):
        if want is not None:
            np.testing.assert_array_equal(got, want)


def steps(swarm, k):
    """Positions and headings before and after each of ``k`` steps: lists of (x0, e0, x1, e1)."""
    out = []
    for _ in range(k):
        x0, e0 = swarm.x.copy(), swarm.headings.copy()
        swarm.step()
        out.append((x0, e0, swarm.x.copy(), swarm.headings.copy()))
    return out


@pytest.mark.parametrize("dim, n, grid", [(2, 200, 128), (3, 60, 24)])
def test_run_and_tumble_runs_at_its_speed_and_tumbles_at_its_rate(dim, n, grid):
    """Run-and-tumble (the spring made negligible, κ = 1e-9): away from the wall a particle moves by
    dt·speed along its heading (the new one when it tumbled this step); a heading changes with probability
    1 - e^{-λ dt} per step (tumbles are independent: 6,000 particle-steps in 2D, 1,800 in 3D, within 5
    standard deviations), and is otherwise kept exactly."""
    dt, speed, rate = 0.01, 0.3, 5.0
    swarm = Swarm(n, "run_and_tumble", dim=dim, grid=grid, speed=speed, tumble_rate=rate, dt=dt, stiffness=1e-9,
                  seed=1)
    changed, samples = 0, 0
    for x0, e0, x1, e1 in steps(swarm, 30):
        inside = (np.linalg.norm(x0 - 0.5, axis=1) < 0.45) & (np.linalg.norm(x1 - 0.5, axis=1) < 0.45)
        np.testing.assert_allclose(x1[inside] - x0[inside], dt * speed * e1[inside], atol=1e-9)
        np.testing.assert_allclose(np.linalg.norm(e1, axis=1), 1, rtol=1e-12)
        turned = np.abs(e1 - e0).max(1) > 0
        changed, samples = changed + int(turned.sum()), samples + len(e0)
    p = 1 - np.exp(-rate * dt)
    assert abs(changed / samples - p) < 5 * np.sqrt(p * (1 - p) / samples)


def test_active_brownian_headings_decorrelate_at_the_rotational_diffusion_rate():
    """Active Brownian on the periodic box: each step moves a particle by dt·speed along its heading
    (κ = 1e-9), and in 2D the headings' correlation is E[e(t)·e(0)] = e^{-D_r t} (the discrete update's
    error is O(dt)); 400 particles, within 4 standard errors of the mean at t = 0.25 and 0.5."""
    dt, speed, rotation = 0.005, 0.2, 2.0
    swarm = Swarm(400, "active_brownian", speed=speed, rotation=rotation, dt=dt, stiffness=1e-9, fill=0.5, seed=2)
    start = swarm.headings.copy()
    for k, (x0, e0, x1, e1) in enumerate(steps(swarm, 50), start=1):
        moved = (x1 - x0 + 0.5) % 1.0 - 0.5  # across the periodic box's sides
        np.testing.assert_allclose(moved, dt * speed * e1, atol=1e-9)
        if k in (25, 50):
            cosines = (e1 * start).sum(1)
            expected = np.exp(-rotation * k * dt)
            assert abs(cosines.mean() - expected) < 4 * cosines.std() / np.sqrt(len(cosines)) + 2 * rotation * dt
