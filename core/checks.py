"""Input validation shared by every public entry point of :mod:`otlab.core`.

Every check raises ``ValueError`` (bad value) or ``TypeError`` (bad type) with a message that names
the argument and says what was expected, so that a user (or the web app, which shows the message)
knows what to fix.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np
import torch

_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def real_tensor(name: str, x, what: str) -> torch.Tensor:
    """``x`` as a floating tensor: tensors and array-likes (numpy arrays, lists) of real numbers;
    integers are promoted to the default float dtype. Lists go through numpy, so that Python floats (doubles)
    stay float64 (torch would round them to float32). ``what`` names the content in the error."""
    if not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(np.asarray(x) if isinstance(x, (list, tuple)) else x)
        except Exception as err:  # torch raises several types for unconvertible input
            raise TypeError(f"{name} must be a tensor or an array of {what}, got {type(x).__name__}") from err
    if not x.is_floating_point():
        if x.dtype in (torch.bool, torch.complex64, torch.complex128):
            raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
        x = x.to(torch.get_default_dtype())
    return x


def as_points(name: str, x, finite: bool = True) -> torch.Tensor:
    """Return ``x`` as a floating tensor of shape (N, D) or (B, N, D), or raise.

    Accepts torch tensors and array-likes (numpy arrays, lists); integer input is promoted to the
    default float dtype. ``finite=False`` leaves the NaN/inf check to :func:`finite_points` (to run
    it after the device checks of :func:`check_pair`).
    """
    x = real_tensor(name, x, "points")
    if x.dim() not in (2, 3):
        raise ValueError(f"{name} must have shape (N, D) or (B, N, D), got shape {tuple(x.shape)}")
    if x.shape[-2] == 0:
        raise ValueError(f"{name} is an empty point cloud (N = 0); give at least one point")
    if x.shape[-1] == 0:
        raise ValueError(f"{name} has dimension D = 0; points need at least one coordinate")
    if x.dim() == 3 and x.shape[0] == 0:
        raise ValueError(f"{name} has an empty batch (B = 0)")
    if finite:
        finite_points(name, x)
    return x


def finite_points(name: str, x: torch.Tensor) -> None:
    """Raise unless every coordinate of ``x`` is finite."""
    if not bool(torch.isfinite(x.detach()).all()):
        raise ValueError(f"{name} contains NaN or infinite coordinates")


def point_pair(x, y):
    """Validate two clouds together: types and shapes, then compatibility, then finiteness.

    Array-likes (not tensors) take the dtype of the tensor beside them, or a common dtype.
    """
    x_given, y_given = isinstance(x, torch.Tensor), isinstance(y, torch.Tensor)
    x = as_points("x", x, finite=False)
    y = as_points("y", y, finite=False)
    if not (x_given and y_given) and x.dtype != y.dtype:
        dtype = x.dtype if x_given else y.dtype if y_given else torch.promote_types(x.dtype, y.dtype)
        x, y = x.to(dtype), y.to(dtype)
    check_pair(x, y)
    finite_points("x", x)
    finite_points("y", y)
    return x, y


def as_weights(name: str, a, points: torch.Tensor, points_name: str) -> torch.Tensor:
    """Return weights matching ``points`` (uniform when ``a`` is None), or raise.

    Shapes: (N,) for points (N, D), (B, N) for points (B, N, D). Weights must be finite,
    non-negative and have a positive sum (per batch item).
    """
    shape = points.shape[:-1]
    if a is None:
        n = points.shape[-2]
        return torch.full(shape, 1.0 / n, dtype=points.dtype, device=points.device)
    if not isinstance(a, torch.Tensor):
        try:
            a = torch.as_tensor(a, dtype=points.dtype, device=points.device)
        except Exception as err:
            raise TypeError(f"{name} must be a tensor or an array of weights, got {type(a).__name__}") from err
    if not a.is_floating_point():
        a = a.to(points.dtype)
    if a.dim() == len(shape) + 1 and a.shape[-1] == 1:
        a = a.squeeze(-1)  # accept (N, 1) like GeomLoss does
    if tuple(a.shape) != tuple(shape):
        raise ValueError(
            f"{name} must have shape {tuple(shape)} to match {points_name} of shape "
            f"{tuple(points.shape)}, got {tuple(a.shape)}")
    check_same_kind(name, a, points_name, points)
    ad = a.detach()
    if not bool(torch.isfinite(ad).all()):
        raise ValueError(f"{name} contains NaN or infinite weights")
    if bool((ad < 0).any()):
        raise ValueError(f"{name} has negative weights; weights must be >= 0")
    if bool((ad.sum(-1) <= 0).any()):
        raise ValueError(f"{name} sums to zero; weights need a positive total mass")
    return a


def check_same_kind(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    """Raise unless ``a`` and ``b`` share device and dtype."""
    if a.device != b.device:
        raise ValueError(f"{name_a} is on {a.device} but {name_b} is on {b.device}; put both on one device")
    if a.dtype != b.dtype:
        raise TypeError(f"{name_a} has dtype {a.dtype} but {name_b} has dtype {b.dtype}; use one dtype")


def check_pair(x: torch.Tensor, y: torch.Tensor, x_name: str = "x", y_name: str = "y") -> None:
    """Raise unless two point clouds can be compared (same rank, batch, D, device, dtype)."""
    if x.dim() != y.dim():
        raise ValueError(f"{x_name} has shape {tuple(x.shape)} and {y_name} has shape {tuple(y.shape)}: "
                         "both must be (N, D) or both (B, N, D)")
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"{x_name} is {x.shape[-1]}-dimensional but {y_name} is {y.shape[-1]}-dimensional")
    if x.dim() == 3 and x.shape[0] != y.shape[0]:
        raise ValueError(f"batch sizes differ: {x_name} has B = {x.shape[0]}, {y_name} has B = {y.shape[0]}")
    check_same_kind(x_name, x, y_name, y)


def real_number(name: str, value) -> float:
    """Return ``value`` (a number or a one-element tensor) as a finite float, else raise naming ``name``."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise TypeError(f"{name} must be a scalar, got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    return value


def positive_number(name: str, value, allow_none: bool = False) -> Optional[float]:
    """Return ``value`` as a float if it is finite and > 0 (or None when allowed), else raise."""
    if value is None:
        if allow_none:
            return None
        raise ValueError(f"{name} must be a positive number, got None")
    try:
        value = real_number(name, value)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def equal_masses(names: str, a: torch.Tensor, b: torch.Tensor, fix: str) -> None:
    """Balanced OT (reach=None) needs equal total masses: raise unless sum(a) and sum(b) (last axis,
    per batch item) agree to 1e-3 relative. ``names`` ("a and b") and ``fix`` go into the message."""
    ma, mb = a.detach().sum(-1), b.detach().sum(-1)
    if bool(((ma - mb).abs() > 1e-3 * torch.maximum(ma, mb)).any()):
        raise ValueError(f"{names} have different total masses but reach=None asks for balanced OT: "
                         f"{fix} or set reach for unbalanced OT")


def integer(name: str, value, minimum: int = 1, allow_none: bool = False) -> Optional[int]:
    """Return ``value`` if it is an int >= ``minimum`` (or None when allowed), else raise."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {'None or ' if allow_none else ''}{what}, got {value!r}")
    return value


def flag(name: str, value) -> bool:
    """Return ``value`` if it is True or False, else raise (1, "yes", None are refused)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__}")
    return value


def scaling_factor(value) -> float:
    """The annealing ratio: a number in (0, 1)."""
    s = positive_number("scaling", value)
    if not s < 1:
        raise ValueError(f"scaling must lie in (0, 1), got {s}")
    return s


def exponent(p) -> int:
    """The cost exponent p: 1 (|x - y|) or 2 (|x - y|^2 / 2)."""
    if isinstance(p, bool) or p not in (1, 2):
        raise ValueError(f"p must be 1 or 2, got {p!r}")
    return int(p)


def choice(name: str, value, options: Tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``options``, else raise naming the options."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {options}, got {type(value).__name__}")
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def cost_function(cost):
    """A custom ground cost: None or a callable ``cost(x, y) -> (B, N, M)``.

    GeomLoss's KeOps formula strings (for its online/multiscale backends) are refused by name.
    """
    if cost is None or callable(cost):
        return cost
    if isinstance(cost, str):
        raise ValueError(f"cost={cost!r} looks like a KeOps formula: otlab takes p=1 or p=2, or a Python callable "
                         "cost(x, y) returning the (B, N, M) cost matrix (dense backend)")
    raise TypeError(f"cost must be None or a callable cost(x, y) -> (B, N, M) tensor, got {type(cost).__name__}")


def as_density(name: str, A) -> torch.Tensor:
    """Return ``A`` as a floating tensor of finite, non-negative masses on a grid (at least one axis,
    no empty axis), or raise. Integer input is promoted to the default float dtype."""
    A = real_tensor(name, A, "masses on a grid")
    if A.dim() == 0 or A.numel() == 0:
        raise ValueError(f"{name} must be a non-empty density on a grid, e.g. shape (H, W), got {tuple(A.shape)}")
    ad = A.detach()
    if not bool(torch.isfinite(ad).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    if bool((ad < 0).any()):
        raise ValueError(f"{name} has negative values; a density must be >= 0 everywhere")
    return A


def costs_fit_dtype(name: str, span: float, p: int, dtype: torch.dtype) -> None:
    """Raise a ValueError naming ``name`` when costs |x - y|^p / p across ``span`` (the clouds' diameter)
    would overflow ``dtype`` (float32 from a span of ~2.6e19 at p = 2): the solver would return NaN."""
    limit = torch.finfo(dtype).max / 16  # headroom for the log-sum-exp's sums
    if not math.isfinite(span) or (span > 0 and p * math.log(span) - math.log(p) > math.log(limit)):
        kind = str(dtype).replace("torch.", "")
        raise ValueError(f"{name} span {span:.3g}: their costs |x - y|^{p} overflow {kind}; "
                         "rescale the points or use float64")
