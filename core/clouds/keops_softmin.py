"""Soft-min on KeOps LazyTensors (optional: pykeops may be missing or its compiler may fail).

Same formula and shapes as :mod:`otlab.core.clouds.softmin`; KeOps never builds the N x M matrix and
differentiates the reduction itself. Used by the ``online`` backend on CUDA and on request
(``backend="keops"``). On a CPU the chunked torch soft-min is faster, so ``auto`` does not pick it there.
"""
from __future__ import annotations

import functools
import importlib
import os
import tempfile
import warnings

import torch


@functools.lru_cache(maxsize=None)
def keops_available() -> bool:
    """True when pykeops imports and can compile and run a tiny reduction."""
    os.environ.setdefault("KEOPS_VERBOSE", "0")
    os.environ.setdefault("KEOPS_CACHE_FOLDER", os.path.join(tempfile.gettempdir(), "otlab-keops-cache"))
    try:
        importlib.import_module("pykeops.torch")
        x = torch.zeros(1, 2, 1)
        _softmin_keops(1.0, x, x, torch.zeros(1, 2), 2)
    except ImportError:
        return False
    except Exception as err:  # a broken compiler raises many kinds of errors; report and fall back
        warnings.warn(f"pykeops is installed but unusable ({type(err).__name__}: {err}); "
                      "otlab uses its pure-torch path instead", RuntimeWarning, stacklevel=2)
        return False
    return True


def _softmin_keops(eps: float, x: torch.Tensor, y: torch.Tensor, h: torch.Tensor, p: int) -> torch.Tensor:
    from pykeops.torch import LazyTensor

    x_i = LazyTensor(x.unsqueeze(2).contiguous())       # (B, N, 1, D)
    y_j = LazyTensor(y.unsqueeze(1).contiguous())       # (B, 1, M, D)
    h_j = LazyTensor(h.unsqueeze(1).unsqueeze(-1).contiguous())  # (B, 1, M, 1)
    d2 = x_i.sqdist(y_j)
    cost = d2 / 2 if p == 2 else d2.sqrt()
    return -eps * (h_j - cost / eps).logsumexp(dim=2).squeeze(-1)


def softmin_keops(eps: float, x: torch.Tensor, y: torch.Tensor, h: torch.Tensor, p: int) -> torch.Tensor:
    """Soft-min with a KeOps reduction, (B, N, D), (B, M, D), (B, M) -> (B, N). Raises if KeOps is unusable."""
    if not keops_available():
        raise ValueError("backend 'keops' needs a working pykeops (pip install 'otlab[keops]')")
    return _softmin_keops(eps, x, y, h, p)
