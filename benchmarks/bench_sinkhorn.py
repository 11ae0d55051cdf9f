"""otlab vs GeomLoss on the Sinkhorn divergence (loss + gradient), over a suite of data families.

Speed must not depend on the data a benchmark happened to use, so every (size, dimension) runs
every family of :data:`FAMILIES` with several seeds and reports the **median and the worst** ratio
otlab / GeomLoss-best (GeomLoss's fastest of ``multiscale`` and, up to N = 2k, ``tensorized``), and
the worst value and gradient errors; beside it, otlab with ``level_tol=None`` (GeomLoss's one update
per temperature: the same work as GeomLoss). Settings: p = 2, blur = 0.05, scaling = 0.5, otlab's defaults
otherwise (``backend="auto"``, ``level_tol=0.05``). Times are medians over repeated runs after a
warm-up run (KeOps compiles there).

Errors are relative to **the untruncated solver with the same settings** (otlab's ``online``
backend: exact soft-mins on the points, the same schedule and per-temperature tolerance): "value err"
is |S - S_ref| / |S_ref|, "grad err" the relative L2 error of the gradient in x. GeomLoss's error is
against the same reference, so it also contains the gap of its one update per temperature
(``level_tol=None``), up to tens of % on these families: that is why otlab's default adds updates.
``--converged`` adds the errors against the converged divergence (``online``, ``tol=1e-5``; slow).

Usage:
    python benchmarks/bench_sinkhorn.py [--sizes 5000 20000] [--dims 2 3] [--seeds 0 1 2]
                                        [--families uniform ring ...] [--save cases.jsonl]
                                        [--write docs/benchmarks.md]
    python benchmarks/bench_sinkhorn.py --load cases.jsonl [...] --write docs/benchmarks.md
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import time
import warnings

os.environ.setdefault("KEOPS_VERBOSE", "0")

import torch  # noqa: E402

from otlab.core import ConvergenceWarning, solve  # noqa: E402

BLUR, SCALING = 0.05, 0.5
#: GeomLoss's dense backend is timed up to this size (above, its multiscale always won here)
TENSORIZED_MAX = 2000


# -- data families ------------------------------------------------------------------------------------
def _ring(n, dim, gen, radius=0.35, width=0.02):
    t = torch.rand(n, generator=gen) * 2 * math.pi
    r = radius + width * torch.randn(n, generator=gen)
    cols = [0.5 + r * t.cos(), 0.5 + r * t.sin()] + [0.5 + width * torch.randn(n, generator=gen)] * (dim - 2)
    return torch.stack(cols, 1)


def _mixture(n, dim, gen, k=4, std=0.05):
    centres = 0.15 + 0.7 * torch.rand(k, dim, generator=gen)
    return centres[torch.randint(0, k, (n,), generator=gen)] + std * torch.randn(n, dim, generator=gen)


def _gauss(n, dim, gen, std):
    return 0.5 + std * torch.randn(n, dim, generator=gen)


def _uniform(n, dim, gen):
    return torch.rand(n, dim, generator=gen)


def _sphere(n, gen, radius=0.4):
    u = torch.randn(n, 3, generator=gen)
    return 0.5 + radius * u / u.norm(dim=1, keepdim=True)


def _torus(n, gen, big=0.3, small=0.1):
    s, t = torch.rand(n, generator=gen) * 2 * math.pi, torch.rand(n, generator=gen) * 2 * math.pi
    r = big + small * t.cos()
    return 0.5 + torch.stack([r * s.cos(), r * s.sin(), small * t.sin()], 1)


def _with_outliers(x, gen, count=5, far=10.0):
    """Replace ``count`` points by points at distance ~``far`` from the bulk (diameter >> bulk)."""
    x = x.clone()
    d = torch.randn(count, x.shape[1], generator=gen)
    x[:count] = 0.5 + far * d / d.norm(dim=1, keepdim=True)
    return x


def _random_weights(n, gen):
    w = torch.rand(n, generator=gen) + 0.1
    return w / w.sum()


def family(name, n, dim, seed):
    """Clouds (x, y) and weights (a, b) (None = uniform) of family ``name``, N = n points in dimension dim."""
    gen = torch.Generator().manual_seed(seed)
    a = b = None
    if name == "uniform":  # onto a smaller cube: two samples of one law would have S ~ 0 and meaningless relative errors
        x, y = _uniform(n, dim, gen), 0.25 + 0.5 * _uniform(n, dim, gen)
    elif name.startswith("gauss"):  # gauss0.05, gauss0.1, gauss0.2: uniform -> Gaussian of that std
        x, y = _uniform(n, dim, gen), _gauss(n, dim, gen, float(name[5:]))
    elif name == "mixture":
        x, y = _mixture(n, dim, gen), _mixture(n, dim, gen)
    elif name == "ring":
        x, y = _ring(n, dim, gen), _mixture(n, dim, gen)
    elif name == "outliers":  # 5 of the N points of x 10 units away from [0, 1]^D
        x, y = _with_outliers(_uniform(n, dim, gen), gen), _gauss(n, dim, gen, 0.1)
    elif name == "N!=M":  # M = N / 2, random weights on both sides
        x, y = _mixture(n, dim, gen), _ring(n // 2, dim, gen)
        a, b = _random_weights(n, gen), _random_weights(n // 2, gen)
    elif name == "weights":
        x, y = _uniform(n, dim, gen), _gauss(n, dim, gen, 0.15)
        a, b = _random_weights(n, gen), _random_weights(n, gen)
    elif name == "surfaces":  # 3D only: sphere -> torus
        if dim != 3:
            return None
        x, y = _sphere(n, gen), _torus(n, gen)
    else:
        raise ValueError(f"unknown family {name!r}")
    return x, y, a, b


FAMILIES = ["uniform", "gauss0.05", "gauss0.1", "gauss0.2", "mixture", "ring", "outliers", "N!=M", "weights",
            "surfaces"]


# -- measurements ---------------------------------------------------------------------------------------
def _clock(fn):
    start = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def timings(fn, repeats):
    """(median wall time of fn() over ``repeats`` runs after one warm-up, the warm-up's time, last output)."""
    warm, out = _clock(fn)
    times = []
    for _ in range(repeats):
        seconds, out = _clock(fn)
        times.append(seconds)
    return statistics.median(times), warm, out


def timed(fn, repeats):
    """Median wall time of fn() over ``repeats`` runs after one warm-up; returns (seconds, last output)."""
    seconds, _, out = timings(fn, repeats)
    return seconds, out


def loss_and_grad(loss_fn, x, y, a, b):
    xg = x.clone().requires_grad_(True)
    value = loss_fn(xg, y, a, b)
    (grad,) = torch.autograd.grad(value, xg)
    return value.item(), grad


def otlab_fn(backend, **options):
    return lambda x, y, a, b: solve(x, y, a, b, blur=BLUR, scaling=SCALING, backend=backend, **options).value


def geomloss_fn(backend):
    from geomloss import SamplesLoss
    loss = SamplesLoss("sinkhorn", p=2, blur=BLUR, scaling=SCALING, backend=backend)

    def run(x, y, a, b):
        if a is None:
            return loss(x, y)
        return loss(a, x, b, y)
    return run


def rel(a, b):
    return abs(a - b) / abs(b)


def grad_err(g, ref):
    return float((g - ref).norm() / ref.norm())


def measure(name, n, dim, seed, device, converged_reference=False):
    data = family(name, n, dim, seed)
    if data is None:
        return None
    x, y, a, b = (None if t is None else t.to(device) for t in data)
    repeats = 3 if n <= 5000 else 2
    ref_value, ref_grad = loss_and_grad(otlab_fn("online"), x, y, a, b)
    t_ot, (v_ot, g_ot) = timed(lambda: loss_and_grad(otlab_fn("auto"), x, y, a, b), repeats)
    t_fast, (v_fast, g_fast) = timed(lambda: loss_and_grad(otlab_fn("auto", level_tol=None), x, y, a, b), repeats)
    backend = solve(x, y, a, b, blur=BLUR, scaling=SCALING).backend
    gl = {}
    for be in ["multiscale"] + (["tensorized"] if n <= TENSORIZED_MAX else []):
        gl[be] = timed(lambda: loss_and_grad(geomloss_fn(be), x, y, a, b), repeats)
    gl_be = min(gl, key=lambda k: gl[k][0])
    t_gl, (v_gl, g_gl) = gl[gl_be]
    converged = {}
    if converged_reference:  # the converged S_eps (tol 1e-5); slow: many exact updates on the points
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            conv_value, conv_grad = loss_and_grad(otlab_fn("online", tol=1e-5, max_iter=5000), x, y, a, b)
        converged = dict(err_conv=rel(v_ot, conv_value), gerr_conv=grad_err(g_ot, conv_grad))
    return dict(**converged, family=name, seed=seed, dim=dim, n=n, backend=backend, t_ot=t_ot, gl_backend=gl_be, t_gl=t_gl,
                ratio=t_ot / t_gl, ratio_fast=t_fast / t_gl, err_fast=rel(v_fast, ref_value),
                gerr_fast=grad_err(g_fast, ref_grad), err_ot=rel(v_ot, ref_value), err_gl=rel(v_gl, ref_value),
                gerr_ot=grad_err(g_ot, ref_grad), gerr_gl=grad_err(g_gl, ref_grad))


def summarise(rows):
    """One line per (D, N): median and worst ratio, worst errors, and the worst case's family."""
    out = []
    for key in sorted({(r["dim"], r["n"]) for r in rows}):
        group = [r for r in rows if (r["dim"], r["n"]) == key]
        worst = max(group, key=lambda r: r["ratio"])
        out.append(dict(dim=key[0], n=key[1], cases=len(group),
                        median=statistics.median(r["ratio"] for r in group), worst=worst["ratio"],
                        worst_case=f"{worst['family']} (seed {worst['seed']})",
                        t_ot=statistics.median(r["t_ot"] for r in group),
                        t_gl=statistics.median(r["t_gl"] for r in group),
                        median_fast=statistics.median(r["ratio_fast"] for r in group),
                        worst_fast=max(r["ratio_fast"] for r in group),
                        err_fast=max(r["err_fast"] for r in group), gerr_fast=max(r["gerr_fast"] for r in group),
                        err_conv=max((r["err_conv"] for r in group if "err_conv" in r), default=None),
                        gerr_conv=max((r["gerr_conv"] for r in group if "gerr_conv" in r), default=None),
                        err_ot=max(r["err_ot"] for r in group), gerr_ot=max(r["gerr_ot"] for r in group),
                        err_gl=max(r["err_gl"] for r in group), gerr_gl=max(r["gerr_gl"] for r in group)))
    return out


SUMMARY_HEADER = ("| D | N = M | cases | median ratio otlab/GeomLoss | worst ratio (case) | median otlab (s) "
                  "| median GeomLoss (s) | worst value err otlab / GeomLoss | worst grad err otlab / GeomLoss "
                  "| otlab level_tol=None (GeomLoss's iterations): median / worst ratio "
                  "| level_tol=None: worst value / grad err vs the same reference "
                  "| otlab vs converged S_ε: worst value / grad err |")
CASE_HEADER = ("| D | N | family | seed | otlab backend | otlab (s) | GeomLoss best | GeomLoss (s) | ratio "
               "| value err otlab / GeomLoss | grad err otlab / GeomLoss | level_tol=None: ratio, value / grad err "
               "| otlab vs converged: value / grad err |")


def rule(header):
    return "|" + "|".join(["---"] * (header.count("|") - 1)) + "|"


def format_summary(s):
    return (f"| {s['dim']} | {s['n']:,} | {s['cases']} | **{s['median']:.2f}** | **{s['worst']:.2f}** "
            f"({s['worst_case']}) | {s['t_ot']:.3f} | {s['t_gl']:.3f} | {s['err_ot']:.2%} / {s['err_gl']:.2%} "
            f"| {s['gerr_ot']:.2%} / {s['gerr_gl']:.2%} | {s['median_fast']:.2f} / {s['worst_fast']:.2f} "
            f"| {s['err_fast']:.2%} / {s['gerr_fast']:.2%} | {_pair(s.get('err_conv'), s.get('gerr_conv'))} |")


def _pair(value_err, grad_err):
    return "–" if value_err is None else f"{value_err:.2%} / {grad_err:.2%}"


def format_case(r):
    return (f"| {r['dim']} | {r['n']:,} | {r['family']} | {r['seed']} | {r['backend']} | {r['t_ot']:.3f} "
            f"| {r['gl_backend']} | {r['t_gl']:.3f} | {r['ratio']:.2f} | {r['err_ot']:.2%} / {r['err_gl']:.2%} "
            f"| {r['gerr_ot']:.2%} / {r['gerr_gl']:.2%} | {r['ratio_fast']:.2f}, {r['err_fast']:.2%} / {r['gerr_fast']:.2%} "
            f"| {_pair(r.get('err_conv'), r.get('gerr_conv'))} |")


def machine(device):
    if device == "cuda":
        return f"GPU: {torch.cuda.get_device_name()} (torch {torch.__version__})"
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    return f"CPU: {model}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads)"


def versions():
    import geomloss
    out = [f"geomloss {geomloss.__version__}"]
    try:
        import pykeops
        out.append(f"pykeops {pykeops.__version__}")
    except ImportError:
        pass
    return ", ".join(out)


def replace_block(path, marker, lines):
    """Replace the text between ``<!-- marker:start -->`` and ``<!-- marker:end -->`` (or append it)."""
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    block = "\n".join([start] + lines + [end])
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    if start in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    with open(path, "w") as fh:
        fh.write(text)


def write_markdown(path, rows, device, seeds):
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    families = sorted({r["family"] for r in rows}, key=FAMILIES.index)
    lines = [f"### Sinkhorn divergence over data families, loss + gradient — {machine(device)}", "",
             f"Measured {datetime.date.today()} at commit {commit or '?'} with {versions()}; blur = {BLUR}, "
             f"scaling = {SCALING}, p = 2; families {', '.join(families)}; seeds {seeds}. "
             "Errors against otlab's untruncated solver with the same settings.", "",
             SUMMARY_HEADER, rule(SUMMARY_HEADER)] + [format_summary(s) for s in summarise(rows)]
    lines += ["", "<details><summary>Every case</summary>", "", CASE_HEADER, rule(CASE_HEADER)]
    lines += [format_case(r) for r in rows] + ["", "</details>", ""]
    replace_block(path, f"bench:{device}", lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--families", nargs="+", default=FAMILIES, choices=FAMILIES)
    parser.add_argument("--converged", action="store_true",
                        help="also report errors against the converged divergence (online, tol=1e-5; slow)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--write", metavar="MARKDOWN", help="replace this file's table for the device")
    parser.add_argument("--save", metavar="JSONL", help="append every measured case to this file")
    parser.add_argument("--load", metavar="JSONL", nargs="+",
                        help="measure nothing: summarise (and --write) the cases saved in these files")
    args = parser.parse_args()
    print(machine(args.device))
    print(CASE_HEADER)
    rows = [json.loads(line) for path in args.load or [] for line in open(path) if line.strip()]
    for row in rows:
        print(format_case(row))
    for dim in [] if args.load else args.dims:
        for n in args.sizes:
            for name in args.families:
                for seed in args.seeds:
                    row = measure(name, n, dim, seed, args.device, args.converged)
                    if row is not None:
                        rows.append(row)
                        print(format_case(row), flush=True)
                        if args.save:
                            with open(args.save, "a") as fh:
                                fh.write(json.dumps(row) + "\n")
    print(SUMMARY_HEADER)
    for s in summarise(rows):
        print(format_summary(s))
    if args.write:
        write_markdown(args.write, rows, args.device, sorted({r["seed"] for r in rows}))


if __name__ == "__main__":
    main()
