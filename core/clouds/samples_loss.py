"""``SamplesLoss``: a ``torch.nn.Module`` with GeomLoss's interface.

Call forms ``L(x, y)``, ``L(a, x, b, y)`` and ``L(labels_x, a, x, labels_y, b, y)`` with points
(N, D) / (M, D) -> scalar, or batches (B, N, D) / (B, M, D) -> (B,). Losses:

* ``"sinkhorn"``: the debiased Sinkhorn divergence S_ε (``debias=False``: OT_ε), see
  :mod:`otlab.core.clouds.sinkhorn`; cost |x - y| (p = 1) or |x - y|^2 / 2 (p = 2), ε = blur^p, ρ = reach^p.
* ``"hausdorff"``: the soft Hausdorff loss, ``"gaussian"``, ``"laplacian"``, ``"energy"``: kernel norms,
  see :mod:`otlab.core.clouds.kernel_losses` (σ = blur).

With ``potentials=True`` the module returns the potentials instead of the value: (F, G) on x and y,
debiased (f_ab - f_aa, g_ab - g_bb) when ``debias`` for "sinkhorn", the weight-derivatives
(K_xx a - K_xy b, K_yy b - K_yx a) for the kernels — what GeomLoss returns.

Where otlab differs from GeomLoss on purpose (correct unbalanced gradients, equal-mass checks,
multiscale accuracy, cluster labels as hints only) is listed in ``docs/core.md``.
"""
from __future__ import annotations

import torch

from .. import checks
from ..costs import centred, joint_diameter
from .geometry import SOFTMINS
from .kernel_losses import KERNELS, hausdorff_loss, kernel_loss, kernel_potentials
from .softmin import softmin_dense
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
        truncate: multiscale kernel truncation τ (None: no truncation).
        cost: None (the cost set by p) or a callable ``cost(x, y)`` returning the (B, N, M) cost
            matrix of batched clouds (dense backend, as GeomLoss's ``tensorized``).
        cluster_scale: accepted for GeomLoss scripts; otlab's multiscale backend picks its own
            nested voxel grids at every annealing step, so this value does not change the result.
        debias: debiased divergence (True) or OT_ε / biased Hausdorff (False).
        potentials: return the dual potentials instead of the value.
        verbose: print the backend and, for the multiscale backend, the levels it runs on.
        backend: "auto", "tensorized", "online", "multiscale" or "keops".
        level_tol, tol, map_tol, max_iter: convergence controls of :func:`otlab.core.solve` ("sinkhorn").
    """

    def __init__(self, loss="sinkhorn", p=2, blur=0.05, reach=None, diameter=None, scaling=0.5, truncate=5,
                 cost=None, kernel=None, cluster_scale=None, debias=True, potentials=False, verbose=False,
                 backend="auto", **convergence):
        super().__init__()
        self.loss = checks.choice("loss", loss, LOSSES)
        self.p = checks.exponent(p)
        self.blur = checks.positive_number("blur", blur)
        self.reach = checks.positive_number("reach", reach, allow_none=True)
        if self.reach is not None and self.loss != "sinkhorn":
            raise ValueError(f"reach (unbalanced transport) applies to loss='sinkhorn', not {self.loss!r}")
        self.diameter = checks.positive_number("diameter", diameter, allow_none=True)
        self.scaling = checks.scaling_factor(scaling)
        self.truncate = checks.positive_number("truncate", truncate, allow_none=True)
        self.cost = checks.cost_function(cost)
        if self.cost is not None and self.loss not in ("sinkhorn", "hausdorff"):
            raise ValueError(f"cost applies to loss='sinkhorn' or 'hausdorff', not {self.loss!r} (kernels use blur)")
        if kernel is not None:
            raise ValueError("kernel must be None: otlab's kernel losses are 'gaussian', 'laplacian' and 'energy'")
        self.cluster_scale = checks.positive_number("cluster_scale", cluster_scale, allow_none=True)
        self.debias, self.potentials, self.verbose = (checks.flag(name, value) for name, value in (
            ("debias", debias), ("potentials", potentials), ("verbose", verbose)))
        self.backend = checks.choice("backend", backend, BACKENDS)
        unknown = set(convergence) - {"level_tol", "tol", "map_tol", "max_iter"}
        if unknown:
            raise TypeError(f"SamplesLoss got unexpected keyword arguments {sorted(unknown)}")
        self.convergence = convergence

    def extra_repr(self):
        return (f"loss={self.loss!r}, p={self.p}, blur={self.blur}, reach={self.reach}, scaling={self.scaling}, "
                f"debias={self.debias}, backend={self.backend!r}")

    def forward(self, *args):
        if len(args) == 2:
            a, x, b, y = None, args[0], None, args[1]
        elif len(args) == 4:
            a, x, b, y = args
        elif len(args) == 6:
            labels_x, a, x, labels_y, b, y = args
            self._check_labels(labels_x, x, labels_y, y)
        else:
            raise TypeError(f"SamplesLoss takes (x, y), (a, x, b, y) or (labels_x, a, x, labels_y, b, y), "
                            f"got {len(args)} arguments")
        if self.loss == "sinkhorn":
            return self._sinkhorn(a, x, b, y)
        x, y = checks.point_pair(x, y)
        a = checks.as_weights("a", a, x, "x")
        b = checks.as_weights("b", b, y, "y")
        checks.costs_fit_dtype("x and y", joint_diameter(x, y), 2, x.dtype)  # the kernels use |x - y|^2
        batched = x.dim() == 3
        if not batched:
            x, y, a, b = x.unsqueeze(0), y.unsqueeze(0), a.unsqueeze(0), b.unsqueeze(0)
        unbatch = (lambda t: t) if batched else (lambda t: t[0])
        if self.cost is None:  # translation invariant
            x, y, _ = centred(x, y)
        if self.loss == "hausdorff":
            if self.potentials:
                raise ValueError("potentials=True is available for loss='sinkhorn' and the kernel losses, "
                                 "not 'hausdorff'")
            backend = choose_backend(self.backend, x, y, self.cost)
            softmin = softmin_dense if self.cost is not None else SOFTMINS["online" if backend == "multiscale" else backend]
            return unbatch(hausdorff_loss(a, x, b, y, self.p if self.cost is None else self.cost, self.blur,
                                          softmin, eps=self.blur ** self.p))
        if self.potentials:
            return tuple(unbatch(t) for t in kernel_potentials(self.loss, a, x, b, y, self.blur))
        return unbatch(kernel_loss(self.loss, a, x, b, y, self.blur))

    @staticmethod
    def _check_labels(labels_x, x, labels_y, y):
        """Cluster labels (GeomLoss's multiscale hints): integer vectors (N,), (M,) of unbatched clouds."""
        for name, labels, pts in (("labels_x", labels_x, x), ("labels_y", labels_y, y)):
            if labels is None:
                continue
            shape = torch.as_tensor(pts).shape
            n = shape[0] if len(shape) == 2 else None
            lab = torch.as_tensor(labels)
            if n is None or lab.dim() != 1 or lab.shape[0] != n or lab.is_floating_point():
                raise ValueError(f"{name} must be an integer vector (N,) of cluster labels for an unbatched "
                                 f"cloud (N, D), got shape {tuple(lab.shape)}")

    def _sinkhorn(self, a, x, b, y):
        result = solve(x, y, a, b, p=self.p, blur=self.blur, reach=self.reach, scaling=self.scaling,
                       debias=self.debias, diameter=self.diameter, backend=self.backend, truncate=self.truncate,
                       cost=self.cost, verbose=self.verbose, **self.convergence)
        if not self.potentials:
            return result.value
        if self.debias:
            return result.f - result.f_aa, result.g - result.g_bb
        return result.f, result.g
