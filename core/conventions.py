r"""Conversions between otlab's (GeomLoss's) conventions and POT's.

otlab: C(x, y) = |x - y|^2 / 2 for p = 2, temperature ε = blur^2.
POT:   ``metric="sqeuclidean"`` gives M = |x - y|^2 = 2 C, so the same problem has ``reg = 2 ε`` and every
cost (``ot.emd2``, ``ot.sinkhorn2``) is twice ours. For p = 1 (``metric="euclidean"``) the costs agree
and ``reg = ε``. Note that ``ot.sinkhorn2`` reports :math:`\langle\pi, M\rangle` without the entropy term.
"""
from __future__ import annotations

from . import checks


def _factor(p) -> float:
    return 2.0 if checks.exponent(p) == 2 else 1.0


def to_pot(value, p: int = 2):
    """A cost in otlab's convention -> POT's (x2 for p = 2 with metric "sqeuclidean")."""
    return value * _factor(p)


def from_pot(value, p: int = 2):
    """A cost from POT (``ot.emd2`` with metric "sqeuclidean" for p = 2) -> otlab's convention."""
    return value / _factor(p)


def pot_reg(blur: float, p: int = 2) -> float:
    """POT's ``reg`` for the entropic problem otlab solves at ``blur``: 2 blur^2 (p = 2) or blur (p = 1)."""
    blur = checks.positive_number("blur", blur)
    return _factor(p) * blur ** checks.exponent(p)
