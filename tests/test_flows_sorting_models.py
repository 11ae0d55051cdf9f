"""The flows and sorting demo models, headless: frames, restarts, snapshots, the numbers they show."""
import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

import ot
from otlab.core import SamplesLoss
from otlab.demos.flows.model import LOSSES, SNAPSHOT_TIMES, FlowsModel
from otlab.demos.sorting.model import MatchingModel, SortingModel


def test_flows_model_steps_every_panel_and_records_snapshots():
    m = FlowsModel(n=60, losses=["Sinkhorn p=2", "Gaussian MMD", "soft Hausdorff"], lr=0.25)
    first = m.step()
    assert first.step == 0 and first.t == 0 and len(first.x) == 3 and first.colors.shape == (60, 3)
    frame = m.run_until(10.0)
    assert frame.step == 40 and frame.t == pytest.approx(10.0)
    assert frame.snapshot_times == list(SNAPSHOT_TIMES)  # 0.25 steps hit every time exactly
    assert all(len(v) == 41 for v in frame.values)
    # the Sinkhorn panel has moved its particles onto the target: its loss fell by 1e2 at least
    assert frame.values[0][-1] < 1e-2 * frame.values[0][0]
    png = m.snapshot_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


@pytest.mark.parametrize("losses", [["Sinkhorn p=2", "Sinkhorn p=1, 10× blur", "unbalanced Sinkhorn", "energy distance"],
                                    ["Gaussian MMD", "Laplacian MMD", "soft Hausdorff", "Sinkhorn p=1"]])
def test_each_panel_flows_by_its_own_loss(losses):
    """Panel k's first step is x - lr · N ∇_x L_k(x, y) with L_k the SamplesLoss its label names (blur,
    reach of the sliders; Sinkhorn with one update per ε unless precise), computed here; the values the
    chart draws are L_k at the particles."""
    m = FlowsModel(n=40, losses=losses, lr=0.1, blur=0.1, reach=0.5)
    first, second = m.step(), m.step()
    y = torch.as_tensor(first.y)
    for k, name in enumerate(losses):
        kwargs = LOSSES[name](0.1, 0.5)
        if kwargs["loss"] == "sinkhorn":
            kwargs["level_tol"] = None
        x = torch.as_tensor(first.x[k]).requires_grad_(True)
        value = SamplesLoss(**kwargs)(x, y)
        (grad,) = torch.autograd.grad(value, x)
        assert second.values[k][0] == pytest.approx(float(value.detach()), rel=1e-5, abs=1e-7), name
        np.testing.assert_allclose(second.x[k], (x - 0.1 * 40 * grad).detach().numpy(), atol=1e-5, err_msg=name)
        assert not np.allclose(second.x[k], first.x[k])


def test_snapshots_are_the_particles_at_their_times():
    m = FlowsModel(n=30, losses=["energy distance", "Gaussian MMD"], lr=0.25)
    frames = [m.step() for _ in range(5)]  # t = 0, 0.25, ..., 1
    assert frames[-1].snapshot_times == [0.0, 0.25, 0.5, 1.0]
    for t in frames[-1].snapshot_times:
        shown = frames[round(t / 0.25)]
        for k in range(2):
            np.testing.assert_array_equal(m._snapshots[t][k], shown.x[k])


def test_flows_model_restarts_on_change_and_refuses_too_many_panels():
    m = FlowsModel(n=40)
    g0 = m.step().generation
    m.lr = 0.1
    frame = m.step()
    assert frame.generation > g0 and frame.step == 0
    m.losses = list(LOSSES)[:5]
    with pytest.raises(ValueError, match="1 to 4"):
        m.step()


@pytest.mark.parametrize("preset", ["blobs → crescent", "A → B", "heart → deformed heart", "annulus → two moons"])
def test_flow_presets_live_in_the_unit_square(preset):
    frame = FlowsModel(n=200, preset=preset, losses=["energy distance"]).step()
    for pts in (frame.x[0], frame.y):
        assert pts.shape == (200, 2) and (pts > 0).all() and (pts < 1).all()


def test_sorting_model_value_is_exact_ot_and_the_level_sweeps():
    m = SortingModel(n_source=15, n_target=11, weighted=True, p=2, seed=3)
    frame = m.step()
    M = cdist(frame.x[:, None], frame.y[:, None]) ** 2 / 2
    assert frame.value == pytest.approx(ot.emd2(frame.a, frame.b, M), rel=1e-9)
    assert frame.levels[0] == 0 and frame.levels[-1] == pytest.approx(1.0)
    levels = [m.step().s for _ in range(150)]
    assert max(levels) == pytest.approx(1.0) and levels[-1] < 1.0  # 0 -> 1 and back
    k = frame.piece
    assert frame.levels[k] <= frame.s <= frame.levels[k + 1]


def test_matching_model_solvers_reach_what_the_lesson_says():
    """Auction: certified optimum; Sinkhorn: a blurred plan, cost above the optimum, dual below; greedy:
    every dual below the optimum."""
    m = MatchingModel(n=30, rounds_per_frame=50, seed=2)
    for _ in range(200):
        frame = m.step()
        if all(s.done for s in frame.solvers):
            break
    x, y = frame.x, frame.y
    C = cdist(x, y) ** 2 / 2
    rows, cols = linear_sum_assignment(C)
    assert frame.optimum == pytest.approx(C[rows, cols].mean(), rel=1e-12)
    greedy, auction, sinkhorn = frame.solvers
    assert auction.done and auction.cost == pytest.approx(frame.optimum, rel=1e-10)
    assert sinkhorn.done and sinkhorn.dual <= frame.optimum + 1e-12
    # the entropic plan's cost at ε (POT's Sinkhorn on the same cost matrix, reg = ε in cost units)
    plan = ot.sinkhorn(np.full(30, 1 / 30), np.full(30, 1 / 30), C, reg=m.eps, method="sinkhorn_log",
                       numItermax=100000, stopThr=1e-10)
    assert sinkhorn.cost == pytest.approx(float((plan * C).sum()), rel=1e-3)
    assert all(gap >= 0 for name in frame.history for _, gap in frame.history[name])
    assert greedy.dual <= frame.optimum + 1e-12
