"""Property-based bad input (Hypothesis) at the core's entry points: random sizes (0, 1, a few, 40 points),
dimensions, dtypes, scales from 1e-6 to 1e8, a NaN/±inf/1e±30/0 planted in a coordinate, duplicated
points, negative/zero/NaN weights, blur and reach from 1e-8 to 1e8 (and 0, negative, NaN). Every call
either returns finite numbers (value, gradients, plans) or raises the documented ValueError/TypeError, whose
message names the argument at fault — never another exception or a silent NaN. Examples are derandomised (the same on every machine); the
explicit @example is a case the search found: 1e30 in float32, whose squared distances overflowed
into a NaN value (now a ValueError naming x and y)."""
import inspect
import math
import re
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from otlab.core import ConvergenceWarning, SamplesLoss, assign, solve, solve_1d

SPECIAL = [np.nan, np.inf, -np.inf, 1e30, -1e30, 1e-30, 0.0]
SIZES = [0, 1, 2, 7, 40]
NUMBERS = [1e-8, 1e-3, 0.05, 10.0, 1e8, 0.0, -1.0, np.nan]
FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


@st.composite
def clouds(draw, d, n=None):
    """(n, d) points of a random scale and dtype, maybe with a special value and a duplicated point."""
    n = draw(st.sampled_from(SIZES)) if n is None else n
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    x = np.random.default_rng(draw(st.integers(0, 2 ** 16))).normal(size=(n, d))
    x *= draw(st.sampled_from([1e-6, 1.0, 1e3, 1e8]))
    if n and draw(st.booleans()):
        x[draw(st.integers(0, n - 1)), draw(st.integers(0, d - 1))] = draw(st.sampled_from(SPECIAL))
    if n > 1 and draw(st.booleans()):
        x[1] = x[0]
    return x.astype(dtype)


@st.composite
def weights(draw, n):
    kind = draw(st.sampled_from(["none", "uniform", "random", "negative", "zero", "nan"]))
    if kind == "none":
        return None
    w = np.random.default_rng(draw(st.integers(0, 999))).random(n) + 0.01
    if kind == "uniform":
        w = np.full(n, 1.0 / max(n, 1))
    elif kind == "zero":
        w[:] = 0
    elif n and kind in ("negative", "nan"):
        w[0] = -0.5 if kind == "negative" else np.nan
    return w


def finite(*values) -> bool:
    return all(bool(torch.isfinite(v if torch.is_tensor(v) else torch.tensor(v, dtype=torch.float64)).all())
               for v in values)


#: how a documented refusal goes on after the argument's name: what is wrong with it, or what it must be
REFUSAL = r"(must|has|have|contains|is|sums|span)\b"


def refusal_pattern(entry_points, extra=()):
    """A message that begins with the name of an argument of one of ``entry_points`` (or one of ``extra``),
    maybe indexed (``densities[2]``) or paired (``x and y``), then says what is wrong or expected."""
    names = set(extra)
    for entry in entry_points:
        names |= set(inspect.signature(entry).parameters) - {"self", "args", "kwargs"}
    name = "(?:" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")(?:\[\d+\])?"
    return re.compile(rf"^{name}(?: and {name})? {REFUSAL}")


def documented(call, *entry_points, names=()):
    """Run ``call``: its result, or None when it raised the documented refusal: a ValueError or TypeError
    whose message names the argument at fault and what was expected (see :func:`refusal_pattern`). Any
    other exception, or a ValueError/TypeError with another message (an internal "unsupported operand",
    a shape mismatch inside torch), fails the test."""
    pattern = refusal_pattern(entry_points, names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            return call()
        except (ValueError, TypeError) as err:
            assert pattern.match(str(err)), f"not a documented refusal: {type(err).__name__}: {err}"
            return None


def test_an_internal_error_is_not_taken_for_a_documented_refusal():
    with pytest.raises(AssertionError, match="not a documented refusal"):
        documented(lambda: np.ones(3) + np.ones(4), solve)  # "operands could not be broadcast together"
    with pytest.raises(AssertionError, match="not a documented refusal"):
        documented(lambda: None + 1.0, solve)
    assert documented(lambda: solve(np.zeros((0, 2)), np.zeros((3, 2))), solve) is None


@FUZZ
@given(data=st.data())
@example(data=None)  # replaced below by the overflow case
def test_solve_returns_finite_numbers_or_a_documented_error(data):
    if data is None:
        x = np.random.default_rng(0).normal(size=(40, 1)).astype(np.float32)
        y = x[::-1].copy()
        y[3] = 1e30
        a = b = None
        blur, reach = 1e-8, None
    else:
        d = data.draw(st.sampled_from([1, 2, 3]))
        x, y = data.draw(clouds(d)), data.draw(clouds(d))
        a, b = data.draw(weights(len(x))), data.draw(weights(len(y)))
        blur = data.draw(st.sampled_from(NUMBERS))
        reach = data.draw(st.sampled_from([None, 0.1, 1e8, 0.0, np.nan]))
    result = documented(lambda: solve(x, y, a, b, blur=blur, reach=reach), solve)
    if result is not None:
        assert finite(result.value, result.f, result.g), (x, y, a, b, blur, reach)


@FUZZ
@given(data=st.data())
def test_samples_loss_and_its_gradient_are_finite_or_a_documented_error(data):
    d = data.draw(st.sampled_from([1, 2, 3]))
    x, y = data.draw(clouds(d)), data.draw(clouds(d))
    loss = data.draw(st.sampled_from(["sinkhorn", "energy", "gaussian", "laplacian"]))
    blur = data.draw(st.sampled_from(NUMBERS))

    def run():
        xt = torch.tensor(x, requires_grad=True)
        value = SamplesLoss(loss, blur=blur)(xt, torch.tensor(y))
        (grad,) = torch.autograd.grad(value, xt, allow_unused=True)
        return value, grad if grad is not None else torch.zeros(())

    out = documented(run, SamplesLoss, names=("x", "y"))
    if out is not None:
        assert finite(*[t.detach() for t in out]), (loss, x, y, blur)


@FUZZ
@given(data=st.data())
def test_sorting_and_assignment_are_exact_or_a_documented_error(data):
    n = data.draw(st.sampled_from(SIZES))
    x, y = data.draw(clouds(1, n)), data.draw(clouds(1, n))
    out = documented(lambda: solve_1d(x[:, 0], y[:, 0], p=2), solve_1d)
    if out is not None:
        assert finite(*out)
    d = data.draw(st.sampled_from([1, 2, 3]))
    x, y = data.draw(clouds(d, n)), data.draw(clouds(d, n))
    matching = documented(lambda: assign(x, y), assign)
    if matching is not None:
        assert finite(matching.cost) and sorted(matching.perm.tolist()) == list(range(n))


def test_float32_costs_that_would_overflow_are_refused_by_name():
    x = np.zeros((5, 2), np.float32)
    y = np.full((5, 2), 1e30, np.float32)
    with pytest.raises(ValueError, match="x and y span .*overflow float32"):
        solve(x, y)
    assert math.isfinite(float(solve(x.astype(np.float64), y.astype(np.float64)).value))
