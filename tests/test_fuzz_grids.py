"""Property-based bad input (Hypothesis) at the grid, barycenter, power-diagram and swarm entry points:
densities with NaN/inf/negative/zero cells, 1- to 2-D grids of 1 to 8 cells a side, unequal masses,
barycentric weights that are negative, NaN or do not sum to 1; sites that are empty, single,
duplicated, outside the domain or NaN, with odd weights and masses; swarms with out-of-range sizes,
fills, time steps and speeds. Every call either returns finite numbers or raises the documented
ValueError/TypeError naming the argument at fault — never another exception or a silent NaN. Derandomised: the same examples on
every machine (see tests/test_fuzz_core.py)."""
import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from otlab.core import Swarm, barycenter_grid, laguerre_grid, power_diagram, solve_grid, solve_semidiscrete
from test_fuzz_core import FUZZ, SPECIAL, documented, finite

FEWER = settings(FUZZ, max_examples=60)


def mostly(good, bad):
    """``good`` values three times as likely as ``bad`` ones: bad input, one at a time more often than not,
    so that the calls that succeed are many too."""
    good, bad = list(good), list(bad)
    return st.sampled_from(good * max(1, 3 * len(bad) // len(good)) + bad)


@st.composite
def densities(draw, shape):
    """Non-negative masses on ``shape`` — or not: a NaN/inf/negative cell, all zeros."""
    rho = np.random.default_rng(draw(st.integers(0, 2 ** 16))).random(shape)
    rho /= rho.sum()  # unit mass: balanced OT between two of them is well posed
    kind = draw(mostly(["fine"], ["special", "negative", "zeros"]))
    if kind == "special":
        rho.flat[draw(st.integers(0, rho.size - 1))] = draw(st.sampled_from(SPECIAL))
    elif kind == "negative":
        rho.flat[0] = -0.5
    elif kind == "zeros":
        rho[:] = 0
    return rho.astype(draw(st.sampled_from([np.float32, np.float64])))


@st.composite
def grid_shapes(draw):
    return tuple(draw(st.sampled_from([1, 3, 8])) for _ in range(draw(st.sampled_from([1, 2]))))


@FEWER
@given(data=st.data())
def test_solve_grid_is_finite_or_a_documented_error(data):
    shape = data.draw(grid_shapes())
    A, B = data.draw(densities(shape)), data.draw(densities(shape))
    blur = data.draw(mostly([1e-3, 0.05, 10.0], [1e-8, 1e8, 0.0, -1.0, np.nan]))
    reach = data.draw(mostly([None, 0.3], [0.0, np.nan]))
    result = documented(lambda: solve_grid(A, B, blur=blur, reach=reach), solve_grid)
    if result is not None:
        assert finite(result.value, result.f, result.g), (A, B, blur, reach)


@FEWER
@given(data=st.data())
def test_barycenter_grid_is_a_finite_density_or_a_documented_error(data):
    shape, k = data.draw(grid_shapes()), data.draw(st.sampled_from([1, 2, 3]))
    inputs = np.stack([data.draw(densities(shape)) for _ in range(k)]).astype(np.float64)
    weights = data.draw(mostly([None, "uniform"], ["negative", "nan", "unnormalised"]))
    if weights is not None:
        w = np.full(k, 1.0 / k)
        if weights == "negative":
            w[0] = -0.5
        elif weights == "nan":
            w[0] = np.nan
        elif weights == "unnormalised":
            w = w * 3
        weights = w
    blur = data.draw(mostly([1e-3, 0.05, 10.0], [0.0, -1.0, np.nan]))
    result = documented(lambda: barycenter_grid(inputs, weights, blur=blur, max_iter=50), barycenter_grid)
    if result is not None:  # cut at 50 updates: a tiny blur may not have converged, and says so
        assert finite(result.density), (inputs, weights, blur)
        assert not result.converged or abs(float(result.density.sum()) - 1) < 1e-3, (inputs, weights, blur)


@st.composite
def sites(draw):
    """(n, 2) sites in the unit square — or on its border, outside, duplicated, NaN."""
    n = draw(mostly([2, 7, 20], [0, 1]))
    x = np.random.default_rng(draw(st.integers(0, 2 ** 16))).random((n, 2)) * 0.9 + 0.05
    if n and draw(mostly([False], [True])):
        x[draw(st.integers(0, n - 1)), draw(st.integers(0, 1))] = draw(st.sampled_from(
            [np.nan, np.inf, -3.0, 1.0, 0.0, 2.0]))
    if n > 1 and draw(mostly([False], [True])):
        x[1] = x[0]
    return x


@FEWER
@given(data=st.data())
def test_power_diagrams_and_semidiscrete_ot_are_finite_or_a_documented_error(data):
    x = data.draw(sites())
    n = len(x)
    w = data.draw(mostly([None, "zeros"], ["large", "nan"]))
    if w is not None:
        w = {"zeros": np.zeros(n), "large": np.linspace(-1e6, 1e6, n), "nan": np.full(n, np.nan)}[w]
    diagram = documented(lambda: power_diagram(x, w), power_diagram)
    if diagram is not None:
        assert finite(diagram.areas, diagram.centroids) and abs(float(diagram.areas.sum()) - 1) < 1e-9
    masses = data.draw(mostly([None, "random"], ["zero", "negative"]))
    if masses is not None and n:
        kind, masses = masses, np.random.default_rng(n).random(n) + 0.1
        masses[0] = {"random": masses[0], "zero": 0.0, "negative": -1.0}[kind]
    result = documented(lambda: solve_semidiscrete(x, masses, max_iter=30), solve_semidiscrete)
    if result is not None:
        assert finite(result.weights, result.areas, result.masses)


@FEWER
@given(data=st.data())
def test_laguerre_cells_on_grids_are_finite_or_a_documented_error(data):
    x = data.draw(sites())
    shape = data.draw(mostly([(16, 16), (1, 1)], [(0, 4)]))
    power = data.draw(mostly([2, 1, 0.5], [0, -1, np.nan]))
    fill = data.draw(mostly([1.0, 0.5], [0.0, 1.5]))
    cells = documented(lambda: laguerre_grid(x, shape=shape, power=power, fill=fill), laguerre_grid)
    if cells is not None:
        assert finite(cells.volumes, cells.masses, cells.centroids)


@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_swarms_step_to_finite_positions_or_refuse_their_settings(data):
    options = dict(n=data.draw(mostly([2, 12], [-1, 0, 1])),
                   motion=data.draw(mostly(["run_and_tumble", "active_brownian", "gravity"], ["walk"])),
                   fill=data.draw(mostly([0.5, 0.85], [1.0, 0.0, np.nan])),
                   dt=data.draw(mostly([0.01, 1.0], [0.0, -0.01, np.nan])),
                   speed=data.draw(mostly([0.3, 0.0, 1e3], [np.inf])),
                   grid=32, seed=data.draw(st.integers(0, 99)))

    def run():
        swarm = Swarm(**options)
        return [swarm.step() for _ in range(3)][-1]

    state = documented(run, Swarm)
    if state is not None:
        assert finite(state.positions, state.volumes, torch.tensor(state.error)), options
