"""User formulas (core/formulas.py): what they compute against torch written by hand, inside the solver
against its built-in costs, their gradients against finite differences, and the refusals — a fixed list of
hostile texts with their messages, and Hypothesis' random texts and random well-formed formulas."""
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otlab.core import solve
from otlab.core.formulas import (MAX_LENGTH, FormulaError, check_cost, compile_formula, cost_function)

PAIR = {"x": "vector", "y": "vector"}


def points(n, d, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, n, d, generator=g, dtype=torch.float64)


def pairwise(x, y):
    return x.unsqueeze(-2) - y.unsqueeze(-3)   # (1, N, M, D)


PRESETS = [
    ("sqrt(sum((x - y)**2))**1.5", lambda d: (d ** 2).sum(-1).sqrt() ** 1.5),
    ("sum(abs(x - y))", lambda d: d.abs().sum(-1)),
    ("# a: 0..3 = 1\n0.5*((x[0] - y[0])**2 + a*(x[1] - y[1])**2)", lambda d: 0.5 * (d[..., 0] ** 2 + d[..., 1] ** 2)),
    ("1 - cos(x[0] - y[0]) + 0.5*(x[1]-y[1])**2", lambda d: 1 - torch.cos(d[..., 0]) + 0.5 * d[..., 1] ** 2),
    ("norm(x - y)", lambda d: d.norm(dim=-1)),
    ("dot(x - y, x - y) / 2", lambda d: (d * d).sum(-1) / 2),
    ("where(norm(x - y) < 0.3, sum((x - y)**2), 0.09)", lambda d: torch.where(d.norm(dim=-1) < 0.3, (d ** 2).sum(-1),
                                                                           torch.full_like(d[..., 0], 0.09))),
    ("clamp(norm(x - y), 0.1, 0.5) + minimum(x[0], y[0]) * 0 + maximum(0, -pi) ",
     lambda d: d.norm(dim=-1).clamp(0.1, 0.5)),
]


@pytest.mark.parametrize("text, reference", PRESETS, ids=[t for t, _ in PRESETS])
def test_a_cost_formula_computes_what_torch_computes(text, reference):
    x, y = points(7, 2, 0), points(5, 2, 1)
    got = cost_function(compile_formula(text, PAIR))(x, y)
    assert got.shape == (1, 7, 5)
    torch.testing.assert_close(got, reference(pairwise(x, y)), rtol=1e-12, atol=1e-12)


def test_parameters_come_from_the_header_and_are_checked():
    f = compile_formula("# a: 0..3 = 1\n# b: -1..1 = 0\n# a comment\n0.5*((x[0] - y[0])**2 + a*(x[1] - y[1])**2) + b",
                        PAIR)
    assert [(p.name, p.low, p.high, p.default) for p in f.parameters.values()] == [("a", 0, 3, 1), ("b", -1, 1, 0)]
    x, y = points(4, 2, 2), points(3, 2, 3)
    d = pairwise(x, y)
    torch.testing.assert_close(cost_function(f, a=2.5, b=0.5)(x, y), 0.5 * (d[..., 0] ** 2 + 2.5 * d[..., 1] ** 2) + 0.5)
    with pytest.raises(FormulaError, match=r"parameter `a` must be a number in 0\.\.3, got 4"):
        f.values(a=4)
    with pytest.raises(FormulaError, match=r"no parameter `c` \(it has: a, b\)"):
        f.values(c=1)
    with pytest.raises(FormulaError, match=r"at most 4 parameters, got 5"):
        compile_formula("\n".join(f"# {n}: 0..1 = 0" for n in "abcde") + "\nsum(x - y)", PAIR)
    with pytest.raises(FormulaError, match=r"`a` needs lo < hi and lo <= default <= hi, got 1..0 = 0"):
        compile_formula("# a: 1..0 = 0\na*sum(x - y)", PAIR)
    with pytest.raises(FormulaError, match=r"parameter `x` would hide an input"):
        compile_formula("# x: 0..1 = 0\nsum(x - y)", PAIR)


def test_a_typed_quadratic_cost_gives_the_solvers_own_answer():
    """0.5*sum((x - y)**2) through solve(cost=...) equals the built-in p = 2, values and gradients."""
    x, y = points(60, 2, 4)[0].requires_grad_(), points(50, 2, 5)[0]
    typed = solve(x, y, blur=0.05, cost=cost_function(compile_formula("0.5*sum((x - y)**2)", PAIR)), tol=1e-9)
    (gx_typed,) = torch.autograd.grad(typed.value, x)
    built = solve(x, y, blur=0.05, backend="tensorized", tol=1e-9)
    (gx_built,) = torch.autograd.grad(built.value, x)
    assert float(typed.value.detach()) == pytest.approx(float(built.value.detach()), rel=1e-9)
    torch.testing.assert_close(gx_typed, gx_built, rtol=1e-7, atol=1e-10)


def test_a_typed_l1_cost_in_1d_is_the_solvers_p1():
    x, y = points(40, 1, 6)[0], points(30, 1, 7)[0]
    typed = solve(x, y, p=1, blur=0.02, cost=cost_function(compile_formula("sum(abs(x - y))", PAIR)), tol=1e-9)
    built = solve(x, y, p=1, blur=0.02, backend="tensorized", tol=1e-9)
    assert float(typed.value) == pytest.approx(float(built.value), rel=1e-9)


@pytest.mark.parametrize("text", ["sqrt(sum((x - y)**2))**1.5", "1 - cos(x[0] - y[0]) + 0.5*(x[1]-y[1])**2",
                                  "exp(-norm(x - y)) * tanh(x[1]) + log(1 + sum(abs(x - y)))"])
def test_gradients_agree_with_finite_differences(text):
    cost = cost_function(compile_formula(text, PAIR))
    x, y = points(4, 2, 8).requires_grad_(), points(3, 2, 9).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: cost(a, b), (x, y))


def test_norm_differentiates_where_a_point_meets_itself():
    cost = cost_function(compile_formula("norm(x - y)", PAIR))
    x = points(5, 2, 10).requires_grad_()
    c = cost(x, x)
    (g,) = torch.autograd.grad(c.sum(), x)
    assert torch.isfinite(g).all() and float(c.detach().diagonal(dim1=-2, dim2=-1).abs().max()) == 0.0


def test_force_and_kernel_formulas_keep_their_kinds():
    force = compile_formula("# soft: 0.01..1 = 0.1\n-r / (norm(r)**3 + soft**3)", {"r": "vector"}, kind="vector")
    r = points(6, 3, 11)[0] - 0.5
    torch.testing.assert_close(force({"r": r}, soft=0.2), -r / (r.norm(dim=-1, keepdim=True) ** 3 + 0.2 ** 3))
    kernel = compile_formula("# s: 0.05..2 = 0.5\nexp(-r2 / s**2)", {"r2": "scalar"})
    r2 = (r ** 2).sum(-1)
    torch.testing.assert_close(kernel({"r2": r2}), torch.exp(-r2 / 0.25))
    with pytest.raises(FormulaError, match="must give a vector"):
        compile_formula("norm(r)", {"r": "vector"}, kind="vector")
    with pytest.raises(FormulaError, match=r"must give a number per pair of points: reduce the coordinates"):
        compile_formula("x - y", PAIR)


def test_the_probe_refuses_bad_costs_and_warns_on_asymmetry():
    with pytest.raises(FormulaError, match="NaN or infinite values .* use abs"):
        check_cost(compile_formula("sum((x - y)**1.5)", PAIR), 2)
    with pytest.raises(FormulaError, match="NaN or infinite"):
        check_cost(compile_formula("log(norm(x - y))", PAIR), 2)
    with pytest.raises(FormulaError, match=r"c\(x, x\) >= 0; it reaches -1"):
        check_cost(compile_formula("sum(abs(x - y)) - 1", PAIR), 3)
    with pytest.raises(FormulaError, match=r"index \[2\] at line 1, column 1 is out of range for points in 2D"):
        check_cost(compile_formula("x[2] - y[2]", PAIR), 2)
    assert check_cost(compile_formula("sum(abs(x - y))", PAIR), 2) == []
    (warning,) = check_cost(compile_formula("where(x[0] < y[0], 1, 2) * sum(abs(x - y))", PAIR), 2)
    assert warning.startswith("the cost is not symmetric")
    assert check_cost(compile_formula("where(x[0] < y[0], 1, 2) * sum(abs(x - y))", PAIR), 2, symmetric=False) == []


HOSTILE = [
    ("__import__('os')", r"unknown function `__import__` at line 1, column 1"),
    ("().__class__", r"attribute access \(`\.`\) is not allowed at line 1, column 1"),
    ("x.grad", r"attribute access"),
    ("lambda: 1", r"`lambda` is not allowed"),
    ("[i for i in x]", r"a comprehension is not allowed"),
    ("sum(i for i in x)", r"a comprehension is not allowed at line 1, column 4"),
    ("f'{x}'", r"text \(strings\) is not allowed"),
    ("'abc'", r"only numbers are allowed as constants \(no text"),
    ("9**9**9", r"`\*\*` exponent must be a number or a parameter between -8 and 8 at line 1, column 4"),
    ("x[0]**y[0]", r"`\*\*` exponent must be"),
    ("2**100", r"`\*\*` exponent must be"),
    ("sum(x - y) + os", r"unknown name `os` at line 1, column 14; the names here are x, y"),
    ("a * sum(x - y)", r"unknown name `a` at line 1, column 1 \(declare a parameter"),
    ("sum(x, y)", r"`sum` takes 1 argument, got 2"),
    ("sum(x=x)", r"`sum` takes its arguments by position only"),
    ("x ^ 2", r"the operator \^ \(for powers use \*\*\) is not allowed"),
    ("x @ y", r"the operator @ is not allowed"),
    ("sum(x) if 1 else 0", r"`if ... else` \(use where\(c, a, b\)\) is not allowed"),
    ("sum(x) and 1", r"`and` / `or` is not allowed"),
    ("(a := 1)", r"`:=` is not allowed"),
    ("x[0:1]", r"a coordinate index must be an integer constant"),
    ("x[y]", r"a coordinate index must be an integer constant"),
    ("x[0][0]", r"`v\[k\]` picks a coordinate of a vector; this value is already a number"),
    ("x[0] < y[0]", r"a comparison is allowed only as the first argument of where"),
    ("where(1, 2, 3)", r"where\(c, a, b\) needs one comparison as c"),
    ("not x[0]", r"only `-` and `\+` are allowed in front of a value"),
    ("(sum(x),)", r"a tuple is not allowed"),
    ("{1: 2}", r"a dict is not allowed"),
    ("1e999 * sum(x)", r"numbers must be finite and at most 1e\+06 in size"),
    ("1j * sum(x)", r"only numbers are allowed as constants"),
    ("True * sum(x)", r"only numbers are allowed as constants"),
    ("ｓｕｍ(x - y)", r"only ASCII characters are allowed: 'ｓ' at line 1, column 1"),
    ("sum(x - y) +", r"cannot read the formula: invalid syntax at the end"),
    ("sum(x - y) $ 2", r"cannot read the formula: invalid syntax at line 1, column 12"),
    ("0/0", r"NaN or infinite"),
    ("# a: 0..1 = 0.5\n\nsum(x - y) + b", r"unknown name `b` at line 3, column 14"),
    ("", r"the formula is empty"),
    ("   # only a comment", r"the formula is empty"),
    ("x" * (MAX_LENGTH + 1), r"a formula is at most 400 characters, got 401"),
    ("+".join(["x[0]"] * 60), r"a formula has at most 200 parts"),
    ("(" * 199 + "sum(x)" + ")" * 199, r"a formula is at most 400 characters|cannot read the formula"),
]


@pytest.mark.parametrize("text, message", HOSTILE, ids=[t[:30] for t, _ in HOSTILE])
def test_hostile_and_malformed_text_is_refused_with_what_and_where(text, message):
    with pytest.raises(FormulaError, match=message):
        check_cost(compile_formula(text, PAIR), 2)


def test_text_that_is_not_a_string_is_refused():
    with pytest.raises(FormulaError, match="a formula must be text, got int"):
        compile_formula(3, PAIR)


def outcome(text):
    """Compile and probe ``text``: a FormulaError (refused) or finite costs with c(x, x) >= 0."""
    try:
        check_cost(compile_formula(text, PAIR), 2)
    except FormulaError as err:
        assert str(err)
        return "refused"
    return "accepted"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=120))
def test_random_text_is_refused_with_a_message_or_gives_finite_costs(text):
    outcome(text)


ATOMS = st.sampled_from(["x", "y", "x[0]", "y[1]", "0.5", "2", "pi", "(x - y)", "x[1]"])
FUNCS = st.sampled_from(["abs", "sqrt", "exp", "log", "sin", "cos", "tanh", "sum", "norm"])


def expressions():
    return st.recursive(ATOMS, lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, st.sampled_from(["2", "-1", "0.5", "3"])).map(lambda t: f"({t[0]})**{t[1]}"),
        st.tuples(FUNCS, inner).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(inner, inner, inner, inner).map(lambda t: f"where({t[0]} < {t[1]}, {t[2]}, {t[3]})"),
    ), max_leaves=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions())
def test_random_formulas_are_refused_with_a_message_or_give_finite_costs(text):
    outcome(text)
    if outcome(text) == "accepted":
        c = cost_function(compile_formula(text, PAIR))(points(5, 2, 12), points(4, 2, 13))
        assert c.shape == (1, 5, 4) and bool(torch.isfinite(c).all())


def test_well_known_costs_are_accepted():
    for text, _ in PRESETS:
        assert outcome(text) == "accepted"
    assert math.isfinite(float(cost_function(compile_formula("sum(x - y) * 0 + 1", PAIR))(points(2, 2, 0),
                                                                                          points(2, 2, 1)).sum()))
