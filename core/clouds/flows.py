r"""Lagrangian gradient flows of a loss between point clouds.

For a loss L(α, β) of α = Σ_i a_i δ_{x_i} and a fixed β, the Wasserstein gradient flow of α ↦ L(α, β),
discretised on the particles, moves each x_i with the velocity -∇φ(x_i), φ the first variation of L;
since ∂L/∂x_i = a_i ∇φ(x_i), the explicit Euler step of size lr is

.. math::
    x_i \leftarrow x_i - \mathrm{lr}\; \frac{1}{a_i}\,\frac{\partial L}{\partial x_i}(a, x, b, y),
    \qquad t = \mathrm{step} \times \mathrm{lr} .

(GeomLoss's tutorials scale the gradient by N for uniform weights: the same for a_i = 1/N.) For the
Sinkhorn divergence with p = 2, -∇φ(x_i) = T(x_i) - x_i points to the Brenier map, so lr = 1 jumps
to T in one step at small blur. Kernel losses drive the particles with -∇(k ⋆ (α - β)): the
Gaussian and Laplacian kernels' forces fade with distance (far particles get stuck); the energy
distance's do not (∇|x - y| has unit length), but far from β the pull of β and the push of the rest of
α, which has mostly arrived there, nearly cancel, leaving a force of order a_i: slow stragglers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Optional

import torch

from .. import checks


@dataclass
class FlowState:
    """One state of the flow: step k, time t = k lr, positions x (N, D) (detached), L(x) (0-dim)."""

    step: int
    t: float
    x: torch.Tensor
    value: torch.Tensor


def gradient_flow(loss: Callable, x, y, *, a=None, b=None, lr: float = 0.05,
                  steps: Optional[int] = None) -> Iterator[FlowState]:
    r"""Yield the states of the particle flow x_i ← x_i − lr ∇_{x_i} L(a, x, b, y) / a_i.

    Args:
        loss: any callable ``loss(a, x, b, y)`` returning a differentiable scalar (every
            :class:`~otlab.core.SamplesLoss`), or a (B,) tensor for batched clouds (summed for the
            gradient: each batch item flows on its own).
        x: initial particles (N, D) or (B, N, D); not modified.
        y: target points (M, D) or (B, M, D), fixed.
        a, b: weights (positive for a: the step divides by a_i), uniform when None.
        lr: step size > 0 (time units per step).
        steps: number of steps (``steps + 1`` states, t = 0 to steps · lr), None: forever.

    Yields:
        :class:`FlowState` at t = 0, lr, 2 lr, …; ``value`` is L at the state's positions.
    """
    if not callable(loss):
        raise TypeError(f"loss must be a callable loss(a, x, b, y), got {type(loss).__name__}")
    x, y = checks.point_pair(x, y)
    a = checks.as_weights("a", a, x, "x")
    b = checks.as_weights("b", b, y, "y")
    if bool((a.detach() <= 0).any()):
        raise ValueError("a must be positive: the flow divides each particle's gradient by its weight a_i")
    lr = checks.positive_number("lr", lr)
    steps = checks.integer("steps", steps, minimum=0, allow_none=True)
    x = x.detach().clone()
    weights = a.detach().unsqueeze(-1)
    step = 0
    while True:
        moving = x.requires_grad_(True)
        value = loss(a, moving, b, y)
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"loss(a, x, b, y) must return a tensor, got {type(value).__name__}")
        (grad,) = torch.autograd.grad(value.sum(), moving)
        x = moving.detach()
        yield FlowState(step, step * lr, x.clone(), value.detach())
        if steps is not None and step >= steps:
            return
        x = x - lr * grad / weights
        step += 1
