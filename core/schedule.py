r"""The ε-annealing (ε-scaling) schedule, GeomLoss's to the last bit.

With d the diameter, s the scaling ratio and σ the target blur,

.. math::
    \varepsilon_{\text{list}} = \big[d^p\big]
      + \big[\exp(e) \ \text{for}\ e \in \texttt{arange}(p\log d,\ p\log\sigma,\ p\log s)\big]
      + \big[\sigma^p\big]
    = \big[d^p,\ d^p,\ (d s)^p,\ (d s^2)^p,\ \dots,\ \sigma^p\big].

The solver initialises the potentials with the C-transforms of zero potentials at
:math:`\varepsilon_0 = d^p`, then runs one (averaged) update per entry of the list — so the first
temperature runs twice — and closes with one full update at :math:`\sigma^p`. The ``arange`` is
numpy's, in float64, exactly as GeomLoss computes it: a user who swaps ``geomloss.SamplesLoss`` for
ours gets the same temperatures, hence the same numbers (to rounding).
"""
from __future__ import annotations

from typing import List

import numpy as np


def anneal_schedule(diameter: float, blur: float, scaling: float, p: int) -> List[float]:
    """Temperatures eps_k, from diameter^p (twice) down to exactly blur^p (see the module docstring).

    ``diameter`` is clamped to at least ``blur`` so that a single point or identical clouds give a
    short schedule instead of an error.
    """
    diameter = max(float(diameter), float(blur))
    middle = np.arange(p * np.log(diameter), p * np.log(blur), p * np.log(scaling))
    return [diameter ** p] + [float(np.exp(e)) for e in middle] + [blur ** p]


def dampening(eps: float, rho) -> float:
    r"""Unbalanced damping :math:`\lambda = 1 / (1 + \varepsilon/\rho)` (1 when balanced, rho None)."""
    return 1.0 if rho is None else 1.0 / (1.0 + eps / rho)
