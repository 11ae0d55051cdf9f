"""gradient_flow: the Euler step, its time, the Sinkhorn flow against the optimal assignment, and the
ordering the flows demo teaches (OT flows reach the target; kernel flows stall or get stuck)."""
import pytest
import torch

from otlab.core import FlowState, SamplesLoss, assign, gradient_flow
from otlab.demos.shapes import sample


def test_one_step_is_the_weighted_euler_step():
    torch.manual_seed(0)
    x, y = torch.rand(30, 2, dtype=torch.float64), torch.rand(25, 2, dtype=torch.float64)
    a = torch.rand(30, dtype=torch.float64) + 0.1
    a = a / a.sum()
    loss = SamplesLoss("energy")
    states = list(gradient_flow(loss, x, y, a=a, lr=0.2, steps=3))
    assert [s.step for s in states] == [0, 1, 2, 3]
    assert [s.t for s in states] == pytest.approx([0.0, 0.2, 0.4, 0.6])
    assert all(isinstance(s, FlowState) for s in states)
    moving = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(loss(a, moving, None, y), moving)
    assert torch.allclose(states[1].x, x - 0.2 * grad / a[:, None], rtol=0, atol=1e-14)
    assert float(states[0].value) == pytest.approx(float(loss(a, x, None, y)), rel=1e-14)
    assert torch.equal(states[0].x, x)  # the input is not modified, the state is a copy


def test_batched_clouds_flow_independently():
    torch.manual_seed(1)
    x, y = torch.rand(3, 20, 2, dtype=torch.float64), torch.rand(3, 20, 2, dtype=torch.float64)
    loss = SamplesLoss("gaussian", blur=0.2)
    batched = list(gradient_flow(loss, x, y, lr=0.5, steps=2))[-1].x
    for k in range(3):
        alone = list(gradient_flow(loss, x[k], y[k], lr=0.5, steps=2))[-1].x
        assert torch.allclose(batched[k], alone, rtol=0, atol=1e-12)


def test_unit_step_of_a_sharp_sinkhorn_flow_lands_on_the_optimal_matching():
    """For p = 2, x - ∇S/a_i is the Brenier map: at a blur far below the point spacing (0.005 vs
    ~0.1), one step with lr = 1 sends each x_i to the y it is matched with by the optimal assignment
    (within the blur: measured 6e-4)."""
    torch.manual_seed(0)
    x = torch.rand(40, 2, dtype=torch.float64)
    y = 0.5 + 0.5 * torch.rand(40, 2, dtype=torch.float64)
    loss = SamplesLoss("sinkhorn", blur=0.005, scaling=0.9, tol=1e-6)
    moved = list(gradient_flow(loss, x, y, lr=1.0, steps=1))[-1].x
    matched = y[assign(x, y).perm]
    assert float((moved - matched).norm(dim=1).max()) < 0.005


def flow_after(loss, t, lr=0.05):
    x = torch.as_tensor(sample("Gaussian blobs", 200, 0), dtype=torch.float64)
    y = torch.as_tensor(sample("crescent", 200, 1), dtype=torch.float64)
    states = list(gradient_flow(loss, x, y, lr=lr, steps=round(t / lr)))
    farthest = torch.cdist(states[-1].x, y).min(1).values.max()
    return states, float(farthest)


def test_the_sinkhorn_flow_reaches_the_target_and_kernel_flows_do_not():
    """Blobs → crescent, 200 particles, lr = 0.05, t = 5 (measured: max distance of a particle to the
    crescent's samples 0.04 for Sinkhorn, 0.25 energy, 0.54 Gaussian MMD σ = .05, 0.61 σ = 0.1; the
    initial one is 0.27). Asserted: Sinkhorn's loss falls by 1e3 and every particle ends within 0.08
    (about two sample spacings) of the target; the energy flow leaves stragglers (≥ 0.15); the Gaussian
    MMD flow pushes some particles away (farther than at t = 0) and stays stuck there."""
    sinkhorn, far_sinkhorn = flow_after(SamplesLoss("sinkhorn", blur=0.05, scaling=0.7), 5.0)
    values = torch.stack([s.value for s in sinkhorn])
    assert float(values[-1]) < 1e-3 * float(values[0])
    assert float(values[len(values) // 2]) < float(values[0])
    assert far_sinkhorn < 0.08

    _, far_energy = flow_after(SamplesLoss("energy"), 5.0)
    assert far_energy > 0.15 and far_energy > 3 * far_sinkhorn

    x0 = torch.as_tensor(sample("Gaussian blobs", 200, 0), dtype=torch.float64)
    y = torch.as_tensor(sample("crescent", 200, 1), dtype=torch.float64)
    start = float(torch.cdist(x0, y).min(1).values.max())
    for blur in (0.05, 0.1):
        _, far_gaussian = flow_after(SamplesLoss("gaussian", blur=blur), 5.0)
        assert far_gaussian > start > far_sinkhorn


@pytest.mark.parametrize("kwargs, match", [
    (dict(lr=0.0), "lr"), (dict(lr=-1.0), "lr"), (dict(steps=-1), "steps"), (dict(steps=1.5), "steps"),
    (dict(a=torch.tensor([0.5, 0.5, 0.0])), "a must be positive")])
def test_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        next(gradient_flow(SamplesLoss("energy"), torch.rand(3, 2), torch.rand(4, 2), **kwargs))


def test_loss_must_be_callable():
    with pytest.raises(TypeError, match="loss must be a callable"):
        next(gradient_flow("sinkhorn", torch.rand(3, 2), torch.rand(4, 2)))
