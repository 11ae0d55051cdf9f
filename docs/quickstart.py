"""otlab quick start: a Sinkhorn divergence, its gradient, the Brenier map and the annealing steps.

Run it with ``python docs/quickstart.py`` once otlab is installed (``bash .ci/bootstrap test`` installs it in ./.venv).
Conventions: cost C(x, y) = |x - y|^2 / 2, temperature eps = blur^2.
"""
import math
import time

import torch

from otlab.core import SamplesLoss, iterate, solve


def crescent(n, generator):
    """n points on a noisy half-annulus."""
    t = torch.rand(n, generator=generator) * math.pi
    r = 0.3 + 0.05 * torch.randn(n, generator=generator)
    return torch.stack([0.5 + r * torch.cos(t), 0.35 + r * torch.sin(t)], dim=1)


def main():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(20_000, 2, generator=gen) * 0.4 + 0.05      # a uniform square
    y = crescent(20_000, gen)                                  # a crescent

    print("ε-annealing (blur = 0.05, scaling = 0.5): one line per Sinkhorn update")
    for state in iterate(x, y, blur=0.05, scaling=0.5):
        if state.final:
            err = "   closing update, with gradients"
        elif state.marginal_error is None:
            err = "   moved to finer clusters"
        else:
            err = f"   marginal error {float(state.marginal_error[0]):.3g}"
        print(f"  step {state.step:2d}  blur {state.blur:6.3f}  on {state.level.name:<22s}"
              f"  S = {float(state.value[0]):.5f}{err}")

    x.requires_grad_(True)
    start = time.perf_counter()
    result = solve(x, y, blur=0.05)
    (grad,) = torch.autograd.grad(result.value, x)
    seconds = time.perf_counter() - start
    print(f"\nS(α, β) = {result.value.item():.5f} with the {result.backend!r} backend, value + gradient "
          f"in {seconds:.2f} s for 20,000 + 20,000 points")

    moved = result.brenier_map()
    shift = (moved - x.detach()).norm(dim=1)
    gap = (moved - (x.detach() - grad * 20_000)).norm(dim=1).max()
    print(f"Brenier map: points move by {shift.mean():.3f} on average (largest {shift.max():.3f}); "
          f"x - grad S / a_i differs from it by at most {gap:.1e}")

    loss = SamplesLoss("sinkhorn", p=2, blur=0.01, scaling=0.9)   # GeomLoss's interface
    print(f"SamplesLoss at blur 0.01, scaling 0.9: {loss(x[:2000], y[:2000]).item():.5f}")


if __name__ == "__main__":
    main()
