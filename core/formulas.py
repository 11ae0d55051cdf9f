r"""User-typed formulas (costs, kernels, force laws), parsed into a whitelist and run as torch code.

A formula is one Python-syntax expression over named inputs and up to four parameters, e.g. a cost

.. code-block:: text

    # a: 0..3 = 1
    0.5*((x[0] - y[0])**2 + a*(x[1] - y[1])**2)

Header lines ``# name: lo..hi = default`` declare the parameters (the app makes them sliders); other
``#`` lines are comments. The text is read with :func:`ast.parse` and **never evaluated**: every node
must be one of

* numbers (finite, at most 1e6 in size), the inputs, the parameters, ``pi``;
* ``+ - * /``, unary ``-`` and ``+``, and ``**`` whose exponent is a number or a parameter in [−8, 8];
* ``v[k]``, the k-th coordinate of a vector v (k an integer constant);
* calls of ``abs sqrt exp log sin cos tanh`` (elementwise), ``minimum(a, b)``, ``maximum(a, b)``,
  ``clamp(v, lo, hi)``, ``sum(v)``, ``dot(u, v)``, ``norm(v)`` (over the coordinates) and
  ``where(a < b, p, q)`` — a comparison (``< <= > >= == !=``) is allowed there only.

Anything else (attributes, other names, keywords, lambdas, comprehensions, strings, slices, ``if``
expressions, boolean and bitwise operators…) is refused with a :class:`FormulaError` that says what and
where ("unknown name `os` at line 1, column 3"). The text is at most :data:`MAX_LENGTH` characters, ASCII
(no lookalike letters), with at most :data:`MAX_NODES` nodes.

**Kinds.** Each input is a *vector* (it carries the coordinate axis, last) or a *scalar*; the compiler
tracks which every subexpression is: ``v[k]``, ``sum``, ``dot`` and ``norm`` turn vectors into scalars,
elementwise operations broadcast scalars over coordinates. A cost or a kernel must be a scalar, a force
a vector: the kind is checked when the formula is compiled, not when it runs.

**Numerics.** ``sqrt`` (and ``norm``) have gradient 0 at 0 rather than infinity, so that a cost such as
``norm(x - y)`` differentiates where a point meets itself (the debiased self-transport); the rest is
plain torch, differentiable. :func:`cost_function` gives the callable ``cost(x, y) -> (B, N, M)`` that
:func:`otlab.core.solve` takes; :func:`check_cost` evaluates a cost on a probe batch (finite values,
c(x, x) ≥ 0, a warning when c(x, y) ≠ c(y, x)).
"""
from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Tuple

import torch

MAX_LENGTH, MAX_NODES, MAX_PARAMETERS = 400, 200, 4
MAX_CONSTANT, MAX_EXPONENT = 1e6, 8.0
VECTOR, SCALAR = "vector", "scalar"
CONSTANTS = {"pi": math.pi}
ELEMENTWISE = {"abs": torch.abs, "exp": torch.exp, "log": torch.log, "sin": torch.sin, "cos": torch.cos,
               "tanh": torch.tanh}
#: every function a formula may call, with its number of arguments
FUNCTIONS = dict({name: 1 for name in ELEMENTWISE}, sqrt=1, minimum=2, maximum=2, clamp=3, sum=1, dot=2, norm=1,
                 where=3)
COMPARISONS = {ast.Lt: torch.lt, ast.LtE: torch.le, ast.Gt: torch.gt, ast.GtE: torch.ge, ast.Eq: torch.eq,
               ast.NotEq: torch.ne}
BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_HEADER = re.compile(r"#\s*([A-Za-z_]\w*)\s*:\s*(\S+?)\s*\.\.\s*(\S+?)\s*=\s*(\S+)\s*$")
#: what a refused node is called in the message
_REFUSED = {ast.Attribute: "attribute access (`.`)", ast.Lambda: "`lambda`", ast.IfExp: "`if ... else` (use where(c, a, b))",
            ast.BoolOp: "`and` / `or`", ast.NamedExpr: "`:=`", ast.ListComp: "a comprehension",
            ast.SetComp: "a comprehension", ast.DictComp: "a comprehension", ast.GeneratorExp: "a comprehension",
            ast.JoinedStr: "text (strings)", ast.Tuple: "a tuple", ast.List: "a list", ast.Dict: "a dict",
            ast.Set: "a set", ast.Starred: "`*`", ast.Await: "`await`", ast.Yield: "`yield`",
            ast.YieldFrom: "`yield`", ast.Slice: "a slice"}


class FormulaError(ValueError):
    """A formula refused: the message says what and where."""


@dataclass(frozen=True)
class Parameter:
    """A free parameter of a formula: a slider from ``low`` to ``high``, starting at ``default``."""
    name: str
    low: float
    high: float
    default: float


#: a compiled node: its kind and a function of the environment (inputs and parameter values)
_Node = Tuple[str, Callable[[Mapping[str, object]], torch.Tensor]]


@dataclass
class Formula:
    """A parsed, checked formula; ``formula(env)`` evaluates it (``env``: inputs and parameter values)."""
    text: str
    kind: str
    inputs: Dict[str, str]
    parameters: Dict[str, Parameter]
    _run: Callable[[Mapping[str, object]], torch.Tensor]

    def values(self, **overrides) -> Dict[str, float]:
        """The parameters' values: their defaults, with ``overrides`` checked against their ranges."""
        out = {name: p.default for name, p in self.parameters.items()}
        for name, value in overrides.items():
            if name not in self.parameters:
                raise FormulaError(f"the formula has no parameter `{name}` (it has: {', '.join(self.parameters) or 'none'})")
            p = self.parameters[name]
            if not (isinstance(value, (int, float)) and p.low <= value <= p.high):
                raise FormulaError(f"parameter `{name}` must be a number in {p.low:g}..{p.high:g}, got {value!r}")
            out[name] = float(value)
        return out

    def __call__(self, inputs: Mapping[str, torch.Tensor], **values) -> torch.Tensor:
        env = dict(self.values(**values))
        missing = set(self.inputs) - set(inputs)
        if missing:
            raise FormulaError(f"the formula needs the inputs {', '.join(sorted(missing))}")
        env.update(inputs)
        return self._run(env)


def _where(node: ast.AST) -> str:
    return f"at line {getattr(node, 'lineno', 1)}, column {getattr(node, 'col_offset', 0) + 1}"


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FormulaError(f"{what} must be a number, got `{text}`") from None
    if not math.isfinite(value) or abs(value) > MAX_CONSTANT:
        raise FormulaError(f"{what} must be a finite number of size at most {MAX_CONSTANT:g}, got `{text}`")
    return value


def _parameters(text: str, taken) -> Dict[str, Parameter]:
    """The header lines ``# name: lo..hi = default``."""
    params = {}
    for line in text.splitlines():
        match = _HEADER.match(line.strip())
        if not match:
            continue
        name, lo, hi, default = match.groups()
        if name in taken or name in FUNCTIONS or name in CONSTANTS:
            raise FormulaError(f"parameter `{name}` would hide an input, a function or a constant: pick another name")
        if name in params:
            raise FormulaError(f"parameter `{name}` is declared twice")
        p = Parameter(name, _number(lo, f"`{name}`'s lower bound"), _number(hi, f"`{name}`'s upper bound"),
                      _number(default, f"`{name}`'s default"))
        if not p.low < p.high or not p.low <= p.default <= p.high:
            raise FormulaError(f"parameter `{name}` needs lo < hi and lo <= default <= hi, got {lo}..{hi} = {default}")
        params[name] = p
    if len(params) > MAX_PARAMETERS:
        raise FormulaError(f"at most {MAX_PARAMETERS} parameters, got {len(params)}: {', '.join(params)}")
    return params


def safe_sqrt(v: torch.Tensor) -> torch.Tensor:
    """sqrt(v) for v ≥ 0 with gradient 0 at 0 (not infinity); negative values give NaN, as sqrt does."""
    positive = v > 0
    return torch.where(positive, v.clamp_min(torch.finfo(v.dtype).tiny).sqrt(),
                       torch.where(v == 0, torch.zeros_like(v), torch.full_like(v, float("nan"))))


class _Compiler:
    def __init__(self, inputs: Dict[str, str], params: Dict[str, Parameter]):
        self.inputs, self.params = inputs, params

    def fail(self, node, message, more=""):
        raise FormulaError(f"{message} {_where(node)}{more}")

    def compile(self, node) -> _Node:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            what = _REFUSED.get(type(node), f"`{type(node).__name__}`")
            if isinstance(node, (ast.BinOp, ast.UnaryOp)):
                what = "this operator"
            self.fail(node, f"{what} is not allowed")
        return method(node)

    # -- leaves -------------------------------------------------------------------------------------------
    def _Constant(self, node):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            self.fail(node, "only numbers are allowed as constants (no text, no complex numbers)")
        value = float(node.value)
        if not math.isfinite(value) or abs(value) > MAX_CONSTANT:
            self.fail(node, f"numbers must be finite and at most {MAX_CONSTANT:g} in size")
        return SCALAR, lambda env: value

    def _Name(self, node):
        name = node.id
        if name in self.inputs:
            return self.inputs[name], lambda env: env[name]
        if name in self.params:
            return SCALAR, lambda env: env[name]
        if name in CONSTANTS:
            value = CONSTANTS[name]
            return SCALAR, lambda env: value
        hint = ""
        if len(name) == 1 and name.isalpha():
            hint = f" (declare a parameter with a header line such as `# {name}: 0..1 = 0.5`)"
        elif name in FUNCTIONS:
            hint = " (a function: call it, e.g. `{}(...)`)".format(name)
        known = ", ".join(list(self.inputs) + list(self.params)) or "none"
        self.fail(node, f"unknown name `{name}`", f"{hint}; the names here are {known}")

    # -- operators ----------------------------------------------------------------------------------------
    def _UnaryOp(self, node):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            self.fail(node, "only `-` and `+` are allowed in front of a value")
        kind, f = self.compile(node.operand)
        if isinstance(node.op, ast.UAdd):
            return kind, f
        return kind, lambda env: -f(env)

    def _exponent(self, node) -> float:
        """The exponent of ``**``: a number, minus a number, or a parameter, within [−8, 8]."""
        value = None
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            value = (float(node.value),)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
                and isinstance(node.operand.value, (int, float)) and not isinstance(node.operand.value, bool):
            value = (-float(node.operand.value),)
        elif isinstance(node, ast.Name) and node.id in self.params:
            p = self.params[node.id]
            value = (p.low, p.high)
        if value is None or not all(math.isfinite(v) and abs(v) <= MAX_EXPONENT for v in value):
            self.fail(node, f"`**` exponent must be a number or a parameter between {-MAX_EXPONENT:g} and "
                            f"{MAX_EXPONENT:g}")

    def _BinOp(self, node):
        if type(node.op) not in BINARY:
            symbol = {ast.BitXor: "^ (for powers use **)", ast.MatMult: "@", ast.Mod: "%", ast.FloorDiv: "//",
                      ast.BitAnd: "&", ast.BitOr: "|", ast.LShift: "<<", ast.RShift: ">>"}.get(type(node.op), "it")
            self.fail(node, f"the operator {symbol} is not allowed")
        if isinstance(node.op, ast.Pow):
            self._exponent(node.right)
        (ka, fa), (kb, fb) = self.compile(node.left), self.compile(node.right)
        kind = VECTOR if VECTOR in (ka, kb) else SCALAR
        fa, fb = _broadcast(ka, fa, kind), _broadcast(kb, fb, kind)
        op = type(node.op)
        if op is ast.Add:
            return kind, lambda env: fa(env) + fb(env)
        if op is ast.Sub:
            return kind, lambda env: fa(env) - fb(env)
        if op is ast.Mult:
            return kind, lambda env: fa(env) * fb(env)
        if op is ast.Div:
            return kind, lambda env: _divide(fa(env), fb(env))
        return kind, lambda env: _power(fa(env), fb(env))

    def _Subscript(self, node):
        kind, f = self.compile(node.value)
        if kind != VECTOR:
            self.fail(node, "`v[k]` picks a coordinate of a vector; this value is already a number")
        index = node.slice
        k = None
        if isinstance(index, ast.Constant) and isinstance(index.value, int) and not isinstance(index.value, bool):
            k = index.value
        elif isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub) and isinstance(index.operand, ast.Constant) \
                and isinstance(index.operand.value, int) and not isinstance(index.operand.value, bool):
            k = -index.operand.value
        if k is None:
            self.fail(node, "a coordinate index must be an integer constant, e.g. `x[0]`")

        def pick(env, k=k):
            v = f(env)
            d = v.shape[-1]
            if not -d <= k < d:
                raise FormulaError(f"index [{k}] {_where(node)} is out of range for points in {d}D")
            return v[..., k]
        return SCALAR, pick

    def _Compare(self, node):
        self.fail(node, "a comparison is allowed only as the first argument of where(c, a, b)")

    def _comparison(self, node) -> _Node:
        if not isinstance(node, ast.Compare) or len(node.ops) != 1:
            self.fail(node, "where(c, a, b) needs one comparison as c, e.g. `where(x[0] < y[0], a, b)`")
        (ka, fa), (kb, fb) = self.compile(node.left), self.compile(node.comparators[0])
        kind = VECTOR if VECTOR in (ka, kb) else SCALAR
        fa, fb = _broadcast(ka, fa, kind), _broadcast(kb, fb, kind)
        compare = COMPARISONS[type(node.ops[0])]
        return kind, lambda env: compare(torch.as_tensor(fa(env)), torch.as_tensor(fb(env)))

    # -- calls --------------------------------------------------------------------------------------------
    def _Call(self, node):
        if not isinstance(node.func, ast.Name):
            self.fail(node, "only the functions " + ", ".join(FUNCTIONS) + " may be called, by name")
        name = node.func.id
        if name not in FUNCTIONS:
            self.fail(node, f"unknown function `{name}`", f"; the functions are {', '.join(FUNCTIONS)}")
        if node.keywords:
            self.fail(node, f"`{name}` takes its arguments by position only")
        if len(node.args) != FUNCTIONS[name]:
            self.fail(node, f"`{name}` takes {FUNCTIONS[name]} argument{'s' if FUNCTIONS[name] > 1 else ''}, "
                            f"got {len(node.args)}")
        if name == "where":
            args = [self._comparison(node.args[0])] + [self.compile(a) for a in node.args[1:]]
        else:
            args = [self.compile(a) for a in node.args]
        kinds = [k for k, _ in args]
        if name in ("sum", "norm", "dot"):
            if any(k != VECTOR for k in kinds):
                self.fail(node, f"`{name}` reduces over the coordinates of a vector; its argument is already a number")
            fs = [f for _, f in args]
            if name == "sum":
                return SCALAR, lambda env: fs[0](env).sum(-1)
            if name == "norm":
                return SCALAR, lambda env: safe_sqrt((fs[0](env) ** 2).sum(-1))
            return SCALAR, lambda env: (fs[0](env) * fs[1](env)).sum(-1)
        kind = VECTOR if VECTOR in kinds else SCALAR
        fs = [_broadcast(k, f, kind) for k, f in args]
        if name in ELEMENTWISE:
            fn = ELEMENTWISE[name]
            return kind, lambda env: fn(torch.as_tensor(fs[0](env)))
        if name == "sqrt":
            return kind, lambda env: safe_sqrt(torch.as_tensor(fs[0](env)))
        if name == "minimum":
            return kind, lambda env: torch.minimum(*_tensors(fs[0](env), fs[1](env)))
        if name == "maximum":
            return kind, lambda env: torch.maximum(*_tensors(fs[0](env), fs[1](env)))
        if name == "clamp":
            return kind, lambda env: torch.minimum(torch.maximum(*_tensors(fs[0](env), fs[1](env))),
                                                   _tensors(fs[2](env), fs[0](env))[0])
        return kind, lambda env: torch.where(*_tensors(fs[0](env), fs[1](env), fs[2](env)))


def _tensors(*values):
    """Numbers and tensors as tensors on one device, numbers in the first floating tensor's dtype."""
    tensors = [v for v in values if isinstance(v, torch.Tensor)]
    if not tensors:
        return [torch.as_tensor(v, dtype=torch.float64) for v in values]
    ref = next((v for v in tensors if v.dtype.is_floating_point), tensors[0])
    dtype = ref.dtype if ref.dtype.is_floating_point else torch.get_default_dtype()
    return [v if isinstance(v, torch.Tensor) else torch.as_tensor(v, dtype=dtype, device=ref.device) for v in values]


def _divide(a, b):
    """a / b, with IEEE's inf and NaN for numbers divided by 0 (as tensors divide)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return a / b
    if b == 0:
        return math.copysign(math.inf, a) * math.copysign(1, b) if a != 0 else math.nan
    return a / b


def _power(base, exponent):
    if isinstance(base, torch.Tensor) or isinstance(exponent, torch.Tensor):
        return torch.pow(*_tensors(base, exponent))
    try:
        return float(base) ** float(exponent)
    except (OverflowError, ZeroDivisionError):
        return float("nan")


def _broadcast(kind: str, f, to: str):
    """``f`` as a value of kind ``to``: a scalar tensor meeting a vector gets a trailing axis."""
    if kind == to or to == SCALAR:
        return f

    def lifted(env):
        v = f(env)
        return v.unsqueeze(-1) if isinstance(v, torch.Tensor) else v
    return lifted


def compile_formula(text: str, inputs: Mapping[str, str], kind: str = SCALAR) -> Formula:
    """Parse ``text`` into a :class:`Formula` over ``inputs`` (name → "vector" or "scalar") whose value is
    of ``kind``; a :class:`FormulaError` says what is refused and where (module docstring)."""
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"a formula is at most {MAX_LENGTH} characters, got {len(text)}")
    for row, line in enumerate(text.splitlines() or [""], 1):
        for col, char in enumerate(line, 1):
            if ord(char) > 127:
                raise FormulaError(f"only ASCII characters are allowed: {char!r} at line {row}, column {col}")
    if kind not in (SCALAR, VECTOR):
        raise ValueError(f"kind must be 'scalar' or 'vector', got {kind!r}")
    inputs = dict(inputs)
    params = _parameters(text, inputs)
    body = "\n".join("" if line.strip().startswith("#") else line for line in text.splitlines())
    if not body.strip():
        raise FormulaError("the formula is empty: type an expression, e.g. `0.5*sum((x - y)**2)`")
    try:
        tree = ast.parse("(\n" + body + "\n)", mode="eval")
    except SyntaxError as err:
        line, rows = (err.lineno or 2) - 1, len(body.splitlines())
        where = f"at line {max(line, 1)}, column {err.offset or 1}" if 1 <= line <= rows else "at the end"
        raise FormulaError(f"cannot read the formula: {err.msg} {where}") from None
    except (RecursionError, MemoryError, ValueError):
        raise FormulaError("cannot read the formula: it is nested too deeply") from None
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        raise FormulaError(f"a formula has at most {MAX_NODES} parts (numbers, names, operations), got {nodes}")
    got, run = _Compiler(inputs, params).compile(_line_shift(tree.body))
    if got != kind:
        need = ("a number per pair of points: reduce the coordinates with sum(...), norm(...), dot(...) or v[k]"
                if kind == SCALAR else "a vector: keep the coordinates (e.g. `-r / norm(r)**3`)")
        raise FormulaError(f"the formula must give {need}; it gives a {got}")
    return Formula(text, kind, inputs, params, run)


def _line_shift(node):
    """The parsed expression with line numbers of the user's text (the parser saw a "(" line first)."""
    for child in ast.walk(node):
        if hasattr(child, "lineno"):
            child.lineno -= 1
    return node


def cost_function(formula: Formula, **values) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The callable ``cost(x, y) -> (B, N, M)`` of a cost formula over inputs x and y (vectors), for
    :func:`otlab.core.solve`'s ``cost=``; ``values`` set its parameters (defaults otherwise)."""
    if formula.kind != SCALAR or formula.inputs != {"x": VECTOR, "y": VECTOR}:
        raise FormulaError("a cost is a scalar formula over the vectors x and y")
    params = formula.values(**values)

    def cost(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        c = formula({"x": x.unsqueeze(-2), "y": y.unsqueeze(-3)}, **params)
        shape = x.shape[:-1] + y.shape[-2:-1]
        return torch.as_tensor(c, dtype=x.dtype, device=x.device).expand(shape)
    return cost


def check_cost(formula: Formula, dim: int, symmetric: bool = True, points: int = 48, seed: int = 0,
               **values) -> List[str]:
    """Evaluate a cost formula on a probe batch of ``points`` points in [0, 1]^dim (float64): a
    :class:`FormulaError` if a value is NaN or infinite or c(x, x) < 0; the list of warnings (empty, or
    one saying c(x, y) ≠ c(y, x) when ``symmetric`` is expected)."""
    cost = cost_function(formula, **values)
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, points, dim, generator=g, dtype=torch.float64)
    y = torch.rand(1, points, dim, generator=g, dtype=torch.float64)
    try:
        c, self_cost = cost(x, y), cost(x, x)
    except FormulaError:
        raise
    except (RuntimeError, TypeError, ValueError, IndexError) as err:
        raise FormulaError(f"the formula cannot be evaluated on points in {dim}D: {err}") from None
    if not bool(torch.isfinite(c).all() and torch.isfinite(self_cost).all()):
        raise FormulaError("the formula gives NaN or infinite values on points of [0, 1]^"
                           f"{dim} (a log or a negative power of 0, or a fractional power of a negative number: "
                           "use abs(...))")
    diagonal = torch.diagonal(self_cost, dim1=-2, dim2=-1)
    if bool((diagonal < -1e-9).any()):
        raise FormulaError(f"a cost must have c(x, x) >= 0; it reaches {float(diagonal.min()):.3g}")
    warnings = []
    if symmetric:
        gap = (c - cost(y, x).transpose(-1, -2)).abs().max()
        scale = c.abs().max().clamp_min(1e-12)
        if float(gap / scale) > 1e-9:
            warnings.append(f"the cost is not symmetric: c(x, y) and c(y, x) differ by up to {float(gap):.3g}")
    return warnings
