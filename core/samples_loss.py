"""``SamplesLoss``: a ``torch.nn.Module`` with GeomLoss's interface.

Call forms ``L(x, y)`` and ``L(a, x, b, y)`` with points (N, D) / (M, D) -> scalar, or batches
(B, N, D) / (B, M, D) -> (B,). Losses:

* ``"sinkhorn"``: the debiased Sinkhorn divergence S_ε (``debias=False``: OT_ε), see
  :mod:`otlab.core.sinkhorn`; cost |x - y| (p = 1) or |x - y|^2 / 2 (p = 2), ε = blur^p, ρ = reach^p.
* ``"hausdorff"``: the soft Hausdorff loss, ``"gaussian"``, ``"laplacian"``, ``"energy"``: kernel norms,
  see :mod:`otlab.core.kernel_losses` (σ = blur).

With ``potentials=True`` the module returns the potentials instead of the value: (F, G) on x and y,
debiased (f_ab - f_aa, g_ab - g_bb) when ``debias`` — what GeomLoss returns.
"""
from __future__ import annotations

import torch

from . import checks
from .geometry import SOFTMINS
from .kernel_losses import KERNELS, hausdorff_loss, kernel_loss
from .solve import BACKENDS, choose_backend, solve

LOSSES = ("sinkhorn", "hausdorff") + KERNELS


class SamplesLoss(torch.nn.Module):
    """Loss between sampled measures; a drop-in for ``geomloss.SamplesLoss``.

    Args:
        loss: "sinkhorn", "hausdorff", "gaussian", "laplacian" or "energy".
        p: cost exponent for "sinkhorn"/"hausdorff": 1 (|x - y|) or 2 (|x - y|^2 / 2).
        blur: σ > 0; ε = σ^p for "sinkhorn"/"hausdorff", the kernel width otherwise.
        reach: None (balanced) or the reach of unbalanced OT ("sinkhorn" only), ρ = reach^p.
        diameter: largest distance in the problem (default: bounding-box diagonal).
        scaling: annealing ratio in (0, 1).
        truncate: multiscale kernel truncation τ.
        cost: must be None (custom costs are not supported yet).
        debias: debiased divergence (True) or OT_ε / biased Hausdorff (False).
        potentials: return the dual potentials instead of the value.
        backend: "auto", "tensorized", "online", "multiscale" or "keops".
    """

    def __init__(self, loss="sinkhorn", p=2, blur=0.05, reach=None, diameter=None, scaling=0.5, truncate=5,
                 cost=None, debias=True, potentials=False, backend="auto", verbose=False):
        super().__init__()
        self.loss = checks.choice("loss", loss, LOSSES)
        self.p = checks.exponent(p)
        self.blur = checks.positive_number("blur", blur)
        self.reach = checks.positive_number("reach", reach, allow_none=True)
        if self.reach is not None and self.loss != "sinkhorn":
            raise ValueError(f"reach (unbalanced transport) applies to loss='sinkhorn', not {self.loss!r}")
        self.diameter = checks.positive_number("diameter", diameter, allow_none=True)
        self.scaling = checks.scaling_factor(scaling)
        self.truncate = checks.positive_number("truncate", truncate)
        if cost is not None:
            raise ValueError("cost must be None: otlab supports the costs p=1 (|x-y|) and p=2 (|x-y|^2/2)")
        if not isinstance(debias, bool) or not isinstance(potentials, bool):
            raise TypeError("debias and potentials must be True or False")
        self.debias, self.potentials = debias, potentials
        self.backend = checks.choice("backend", backend, BACKENDS)
        self.verbose = verbose

    def extra_repr(self):
        return (f"loss={self.loss!r}, p={self.p}, blur={self.blur}, reach={self.reach}, scaling={self.scaling}, "
                f"debias={self.debias}, backend={self.backend!r}")

    def forward(self, *args):
        if len(args) == 2:
            a, x, b, y = None, args[0], None, args[1]
        elif len(args) == 4:
            a, x, b, y = args
        else:
            raise TypeError(f"SamplesLoss takes (x, y) or (a, x, b, y), got {len(args)} arguments")
        if self.loss == "sinkhorn":
            return self._sinkhorn(a, x, b, y)
        x, y = checks.point_pair(x, y)
        a = checks.as_weights("a", a, x, "x")
        b = checks.as_weights("b", b, y, "y")
        batched = x.dim() == 3
        if not batched:
            x, y, a, b = x.unsqueeze(0), y.unsqueeze(0), a.unsqueeze(0), b.unsqueeze(0)
        if self.potentials:
            raise ValueError(f"potentials=True is available for loss='sinkhorn', not {self.loss!r}")
        if self.loss == "hausdorff":
            backend = choose_backend(self.backend, x, y)
            softmin = SOFTMINS["online" if backend == "multiscale" else backend]
            value = hausdorff_loss(a, x, b, y, self.p, self.blur, softmin)
        else:
            value = kernel_loss(self.loss, a, x, b, y, self.blur)
        return value if batched else value[0]

    def _sinkhorn(self, a, x, b, y):
        result = solve(x, y, a, b, p=self.p, blur=self.blur, reach=self.reach, scaling=self.scaling,
                       debias=self.debias, diameter=self.diameter, backend=self.backend, truncate=self.truncate)
        if not self.potentials:
            return result.value
        if self.debias:
            return result.f - result.f_aa, result.g - result.g_bb
        return result.f, result.g
