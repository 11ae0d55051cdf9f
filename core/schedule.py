r"""The ε-annealing (ε-scaling) schedule.

The blur :math:`\sigma` goes geometrically from the diameter down to the target ``blur``:

.. math::
    \sigma_0 = \text{diameter},\quad \sigma_{k+1} = \text{scaling}\cdot\sigma_k,\quad
    \text{last } \sigma = \text{blur},\qquad \varepsilon_k = \sigma_k^{\,p}.

Every step but the last is a full ``scaling`` factor; the last one lands exactly on ``blur``.
"""
from __future__ import annotations

import math
from typing import List


def anneal_schedule(diameter: float, blur: float, scaling: float, p: int) -> List[float]:
    """Temperatures eps_k = sigma_k^p, from diameter^p down to exactly blur^p.

    ``diameter`` is clamped to at least ``blur`` so that a single point or identical clouds give a
    one-step schedule instead of an error.
    """
    diameter = max(diameter, blur)
    n_steps = int(math.floor(math.log(diameter / blur) / math.log(1 / scaling) + 1e-9))
    sigmas = [diameter * scaling ** k for k in range(n_steps + 1)]
    if sigmas[-1] > blur * (1 + 1e-9):
        sigmas.append(blur)
    else:
        sigmas[-1] = blur
    return [s ** p for s in sigmas]


def dampening(eps: float, rho) -> float:
    r"""Unbalanced damping :math:`\lambda = 1 / (1 + \varepsilon/\rho)` (1 when balanced, rho None)."""
    return 1.0 if rho is None else 1.0 / (1.0 + eps / rho)
