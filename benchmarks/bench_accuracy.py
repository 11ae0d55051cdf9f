"""Time to accuracy: each library's fastest setting within 1% of the converged S_ε and 1% of its gradient.

The comparison users make is not "who is faster at their defaults" but "who reaches the precision I need
first". For each case this script

1. computes a **truth**: the converged debiased divergence S_ε and its gradient in x, in float64, with a
   plain log-domain Sinkhorn written here (ε-scaling warm start, then alternating updates until the L1
   marginal error of each of the three problems is ≤ 1e-7), independent of the code under test. Its own
   uncertainty is reported: the change of the value and of the gradient between the checkpoints at
   marginal error 1e-6 and 1e-7. It is cached in ``benchmarks/.cache/``.
2. runs every library on a ladder of its own settings, loss + gradient in float32, alternating in one
   process (median of ``--repeats`` runs after a warm-up; OTT's jit compilation is the warm-up, reported
   apart), and records value error |S - S*| / |S*| and map error |∇S - ∇S*| / |∇S*| (relative L2 of the
   gradient, equivalently of x - T(x)).
3. reports per case the fastest setting of each library within **1% on the value and 1% on the map**,
   and the ratio otlab / best peer.

Conventions: C(x, y) = |x - y|² / 2, ε = blur², uniform or given weights (GeomLoss's). OTT's point clouds
use |x - y|²: it runs with ε' = 2ε, and its divergence and gradient are halved. POT runs ``ot.solve``
(log-domain Sinkhorn, envelope gradients) on the dense cost matrix, three problems for the debiased value.

Usage:
    python benchmarks/bench_accuracy.py [--cases 2:5000 3:5000 8:5000] [--families ring mixture ...]
                                        [--seeds 0 1] [--blurs 0.05] [--peers geomloss ott pot]
                                        [--save rows.jsonl] [--write docs/benchmarks.md]
    python benchmarks/bench_accuracy.py --load rows.jsonl --write docs/benchmarks.md
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import pathlib
import statistics
import subprocess
import warnings

os.environ.setdefault("KEOPS_VERBOSE", "0")

import torch  # noqa: E402

from bench_sinkhorn import family, machine, replace_block, timings, versions  # noqa: E402
from otlab.core import solve  # noqa: E402
from otlab.core.checks import as_weights  # noqa: E402

CACHE = pathlib.Path(__file__).resolve().parent / ".cache"
#: the precision asked of every library: value and map (relative L2 of the gradient)
VALUE_TOL = MAP_TOL = 0.01
#: the truth's stopping rule, and the checkpoint that gives its uncertainty
TRUTH_TOL, TRUTH_CHECK = 1e-7, 1e-6


# -- data ----------------------------------------------------------------------------------------------
def embedded(name, n, dim, seed):
    """High-dimensional families: ``mixture`` (a Gaussian mixture in D, 6 components of std .05 in
    [0.15, 0.85]^D) against another; ``manifold``: a 2D ring and a 2D mixture (the suite's ``ring``
    family) carried into D by a random isometry, plus noise of std .01 in every direction."""
    gen = torch.Generator().manual_seed(1000 + seed)
    if name == "mixture":
        def mix(k=6, std=0.05):
            centres = 0.15 + 0.7 * torch.rand(k, dim, generator=gen)
            return centres[torch.randint(0, k, (n,), generator=gen)] + std * torch.randn(n, dim, generator=gen)
        return mix(), mix(), None, None
    if name == "manifold":
        x2, y2, _, _ = family("ring", n, 2, seed)
        q, _ = torch.linalg.qr(torch.randn(dim, 2, generator=gen))
        lift = lambda z: (z - 0.5) @ q.T + 0.5 + 0.01 * torch.randn(n, dim, generator=gen)  # noqa: E731
        return lift(x2), lift(y2), None, None
    raise ValueError(f"unknown high-dimensional family {name!r} (mixture, manifold)")


def case_data(name, n, dim, seed):
    return embedded(name, n, dim, seed) if dim > 3 else family(name, n, dim, seed)


# -- the truth: a plain log-domain Sinkhorn, float64 ----------------------------------------------------
def _softmin(eps, x, y, h, block=4096):
    """-eps log sum_j exp(h_j - |x_i - y_j|^2 / (2 eps)), by row blocks (float64)."""
    out = torch.empty(x.shape[0], dtype=x.dtype)
    for s in range(0, x.shape[0], block):
        c = torch.cdist(x[s:s + block], y).square_() / 2
        out[s:s + block] = -eps * torch.logsumexp(h[None, :] - c / eps, dim=1)
    return out


def _barycentric(eps, x, y, h, block=4096):
    """Σ_j π_ij y_j / Σ_j π_ij with log π_ij = const_i + h_j - C_ij / eps: the rows' barycentres (= Σ_j π_ij
    y_j / a_i at convergence, where the row masses are the a_i to the marginal error)."""
    out = torch.empty_like(x)
    for s in range(0, x.shape[0], block):
        c = torch.cdist(x[s:s + block], y).square_() / 2
        w = torch.softmax(h[None, :] - c / eps, dim=1)
        out[s:s + block] = w @ y
    return out


def _solve_pair(x, y, a, b, eps, diameter, checkpoints):
    """Potentials (f, g) of OT_eps(a, b): ε-scaling (factor .7 from the squared diameter), then Sinkhorn
    updates at eps, f <- T_x(T_y(f)), over-relaxed as f <- f + ω (T_x(T_y(f)) - f) with ω = 2 / (2 - θ),
    θ the contraction of the marginal error over the last 10 updates. (The linearised composed update
    has its spectrum in [0, θ], so this ω gives the rate θ / (2 - θ) and stays below 2: it converges
    wherever plain Sinkhorn does.) Runs until the L1 marginal error of (f, g) is below each checkpoint
    in turn; returns [(f, g, error, updates)] at each."""
    la, lb = a.log(), b.log()
    g = torch.zeros(y.shape[0], dtype=x.dtype)
    e = max(diameter ** 2, eps)
    while e > eps:
        f = _softmin(e, x, y, lb + g / e)
        g = _softmin(e, y, x, la + f / e)
        e = max(e * 0.7, eps)
    out, updates, omega, history = [], 0, 1.0, []
    f = _softmin(eps, x, y, lb + g / eps)
    for target in checkpoints:
        while True:
            g = _softmin(eps, y, x, la + f / eps)  # the columns of (f, g) are now exact
            f_next = _softmin(eps, x, y, lb + g / eps)
            updates += 1
            err = float((a * ((f - f_next) / eps).exp() - a).abs().sum())  # row masses a_i e^{(f - f_next)/eps}
            if err <= target or updates > 100_000:
                break
            history.append(err)
            if len(history) > 10:
                theta = min(max((history[-1] / history[-11]) ** 0.1, 0.0), 0.999)
                omega = 2 / (2 - theta) if history[-1] < history[-2] * 1.5 else 1.0
            f = f + omega * (f_next - f)
        out.append((f.clone(), g.clone(), err, updates))
    return out


def truth(x, y, a, b, blur):
    """Converged S_eps and ∇_x S_eps (float64) with their uncertainty (the change from the 1e-6
    checkpoint), the worst marginal error and the updates; cached on disk by the data's hash."""
    key = hashlib.sha1(b"".join(t.double().numpy().tobytes() for t in (x, y, a, b)) + str(blur).encode()).hexdigest()
    path = CACHE / f"truth-{key[:16]}.pt"
    if path.exists():
        return torch.load(path)
    x, y, a, b = (t.double() for t in (x, y, a, b))
    eps = blur ** 2
    diameter = float(torch.cat([x, y]).amax(0).sub(torch.cat([x, y]).amin(0)).norm())
    checks = [TRUTH_CHECK, TRUTH_TOL]
    xy = _solve_pair(x, y, a, b, eps, diameter, checks)
    xx = _solve_pair(x, x, a, a, eps, diameter, checks)
    yy = _solve_pair(y, y, b, b, eps, diameter, checks)
    results = []
    for (f, g, e1, u1), (f_aa, g_aa, e2, u2), (f_bb, g_bb, e3, u3) in zip(xy, xx, yy):
        # OT_eps = <a, f> + <b, g> at the optimum (each pair is defined up to f + c, g - c)
        value = float((a * f).sum() + (b * g).sum() - ((a * f_aa).sum() + (a * g_aa).sum()) / 2
                      - ((b * f_bb).sum() + (b * g_bb).sum()) / 2)
        t_ab = _barycentric(eps, x, y, b.log() + g / eps)
        t_aa = _barycentric(eps, x, x, a.log() + g_aa / eps)
        grad = a[:, None] * (t_aa - t_ab)  # ∇_x [OT(a,b) - OT(a,a)/2]: x - T_ab minus x - T_aa
        results.append((value, grad, max(e1, e2, e3), u1 + u2 + u3))
    (v_check, g_check, _, _), (value, grad, err, updates) = results
    out = dict(value=value, grad=grad, marginal_error=err, updates=updates,
               value_uncertainty=abs(v_check - value) / abs(value),
               map_uncertainty=float((g_check - grad).norm() / grad.norm()))
    CACHE.mkdir(exist_ok=True)
    torch.save(out, path)
    return out


# -- the libraries, loss + gradient in float32 ----------------------------------------------------------
def _otlab(x, y, a, b, blur, **options):
    xg = x.clone().requires_grad_(True)
    res = solve(xg, y, a, b, blur=blur, **options)
    (grad,) = torch.autograd.grad(res.value, xg)
    return float(res.value.detach()), grad


def otlab_ladder(dim):
    yield "defaults", {}
    for tol in (1e-2, 3e-3, 1e-3, 3e-4):
        yield f"tol={tol:g}", dict(tol=tol)
    yield "map_tol=0.005", dict(map_tol=5e-3)
    yield "tol=0.01, map_tol=0.005", dict(tol=1e-2, map_tol=5e-3)


def geomloss_ladder(dim):
    import geomloss
    backends = (["multiscale"] if dim <= 3 else []) + ["online" if dim > 3 else "tensorized"]
    for backend in backends:
        for scaling in (0.5, 0.7, 0.8, 0.9, 0.95):
            loss = geomloss.SamplesLoss("sinkhorn", p=2, blur=None, scaling=scaling, backend=backend)
            yield f"{backend}, scaling={scaling}", dict(loss=loss)


def _geomloss(x, y, a, b, blur, loss):
    loss.blur = blur
    xg = x.clone().requires_grad_(True)
    value = loss(a, xg, b, y)
    (grad,) = torch.autograd.grad(value, xg)
    return float(value.detach()), grad


def ott_ladder(dim):
    for threshold in (1e-2, 3e-3, 1e-3, 3e-4):
        yield f"threshold={threshold:g}", dict(threshold=threshold)


_OTT_COMPILED = {}


def _ott(x, y, a, b, blur, threshold):
    """OTT-JAX's sinkdiv on point clouds (cost |x - y|²: ε' = 2ε, value and gradient halved), its value
    and gradient jit-compiled once per (shape, threshold)."""
    import jax
    import jax.numpy as jnp
    from ott.tools.sinkhorn_divergence import sinkdiv
    key = (tuple(x.shape), tuple(y.shape), threshold, blur)
    if key not in _OTT_COMPILED:
        def div(xj, yj, aj, bj):
            return sinkdiv(xj, yj, a=aj, b=bj, epsilon=2 * blur ** 2,
                           solve_kwargs=dict(threshold=threshold, max_iterations=20_000))[0] / 2
        _OTT_COMPILED[key] = jax.jit(jax.value_and_grad(div))
    fn = _OTT_COMPILED[key]
    value, grad = fn(jnp.asarray(x.numpy()), jnp.asarray(y.numpy()), jnp.asarray(a.numpy()), jnp.asarray(b.numpy()))
    grad.block_until_ready()
    return float(value), torch.from_numpy(jax.device_get(grad).copy())


def pot_ladder(dim):
    for tol in (1e-3, 1e-4, 1e-5):
        yield f"sinkhorn_log, tol={tol:g}", dict(tol=tol)


def _pot(x, y, a, b, blur, tol):
    """POT's ot.solve (log-domain Sinkhorn, envelope gradient) on dense costs, three problems."""
    import ot
    eps = blur ** 2
    xg = x.clone().requires_grad_(True)

    def ot_eps(u, v, wu, wv):
        return ot.solve(ot.dist(u, v) / 2, wu, wv, reg=eps, method="sinkhorn_log", tol=tol, max_iter=100_000,
                        grad="envelope").value
    value = ot_eps(xg, y, a, b) - ot_eps(xg, xg, a, a) / 2 - ot_eps(y, y, b, b) / 2
    (grad,) = torch.autograd.grad(value, xg)
    return float(value.detach()), grad


LIBRARIES = {"otlab": (otlab_ladder, _otlab), "geomloss": (geomloss_ladder, _geomloss),
             "ott": (ott_ladder, _ott), "pot": (pot_ladder, _pot)}
#: POT's dense cost matrices are timed up to this many points per cloud
POT_MAX = 5000


def measure(name, n, dim, seed, blur, peers, repeats):
    """Rows (one per library and setting) for one case."""
    x, y, a, b = case_data(name, n, dim, seed)
    a, b = as_weights("a", a, x, "x"), as_weights("b", b, y, "y")
    ref = truth(x, y, a, b, blur)
    rows = []
    for lib in ["otlab", *peers]:
        if lib == "pot" and max(x.shape[0], y.shape[0]) > POT_MAX:
            continue
        ladder, run = LIBRARIES[lib]
        for setting, options in ladder(dim):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                seconds, warm, (value, grad) = timings(lambda: run(x, y, a, b, blur, **options), repeats)
            value_err = abs(value - ref["value"]) / abs(ref["value"])
            map_err = float((grad.double() - ref["grad"]).norm() / ref["grad"].norm())
            rows.append(dict(family=name, n=n, dim=dim, seed=seed, blur=blur, library=lib, setting=setting,
                             seconds=seconds, warmup=warm, value_err=value_err, map_err=map_err,
                             truth_value_unc=ref["value_uncertainty"], truth_map_unc=ref["map_uncertainty"],
                             truth_marginal=ref["marginal_error"]))
            print(f"{name:9s} D={dim} N={n} seed={seed} blur={blur} {lib:8s} {setting:28s} {seconds:8.3f}s "
                  f"value {value_err:8.3%} map {map_err:8.3%}", flush=True)
    return rows


# -- summary --------------------------------------------------------------------------------------------
def best_within(rows):
    """Per (case, library): the fastest row within VALUE_TOL and MAP_TOL, or None."""
    best = {}
    for r in rows:
        key = (r["family"], r["n"], r["dim"], r["seed"], r["blur"], r["library"])
        ok = r["value_err"] <= VALUE_TOL and r["map_err"] <= MAP_TOL
        if key not in best:
            best[key] = None
        if ok and (best[key] is None or r["seconds"] < best[key]["seconds"]):
            best[key] = r
    return best


def case_lines(rows):
    best = best_within(rows)
    cases = sorted({k[:5] for k in best}, key=lambda k: (k[2], k[1], k[4], k[0], k[3]))
    libraries = [lib for lib in LIBRARIES if any(k[5] == lib for k in best)]
    header = ("| D | N | blur | family | seed | truth ± (value / map) | "
              + " | ".join(f"{lib} best (s, setting)" for lib in libraries) + " | otlab / best peer |")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    ratios = []
    for case in cases:
        cells, peer_best = [], None
        for lib in libraries:
            r = best.get(case + (lib,))
            if case + (lib,) not in best:
                cells.append("–")
                continue
            if r is None:
                worst = min((q for q in rows if (q["family"], q["n"], q["dim"], q["seed"], q["blur"], q["library"])
                             == case + (lib,)), key=lambda q: max(q["value_err"], q["map_err"]))
                cells.append(f"never (best: {worst['map_err']:.1%} map, {worst['setting']})")
                continue
            cells.append(f"{r['seconds']:.3g} ({r['setting']})")
            if lib != "otlab" and (peer_best is None or r["seconds"] < peer_best):
                peer_best = r["seconds"]
        ours = best.get(case + ("otlab",))
        ratio = ours["seconds"] / peer_best if ours is not None and peer_best is not None else None
        if ratio is not None:
            ratios.append(ratio)
        one = next(q for q in rows if (q["family"], q["n"], q["dim"], q["seed"], q["blur"]) == case)
        lines.append(f"| {case[2]} | {case[1]:,} | {case[4]} | {case[0]} | {case[3]} | "
                     f"{one['truth_value_unc']:.0e} / {one['truth_map_unc']:.0e} | " + " | ".join(cells)
                     + f" | {'–' if ratio is None else f'{ratio:.2f}'} |")
    return lines, ratios


def default_lines(rows):
    """otlab's defaults on every case: value and map error against the truth."""
    mine = [r for r in rows if r["library"] == "otlab" and r["setting"] == "defaults"]
    if not mine:
        return []
    maps = [r["map_err"] for r in mine]
    met = sum(m <= MAP_TOL for m in maps)
    return [f"otlab's defaults: map error median {statistics.median(maps):.2%}, worst {max(maps):.2%}; "
            f"within 1% on {met} of {len(maps)} cases."]


def write_markdown(path, rows, device):
    lines, ratios = case_lines(rows)
    head = [f"### Time to accuracy (1% value, 1% map), loss + gradient — {machine(device)}", "",
            f"Measured {datetime.date.today()} at commit {subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()} "
            f"({versions()}); float32, median of repeated runs; truth: float64 plain Sinkhorn to marginal "
            f"error {TRUTH_TOL:g}, ± its change from {TRUTH_CHECK:g}. `benchmarks/bench_accuracy.py`.", ""]
    if ratios:
        head += [f"otlab / best peer where both reached 1%: median {statistics.median(ratios):.2f}, "
                 f"worst {max(ratios):.2f} over {len(ratios)} cases.", ""]
    head += default_lines(rows) + [""]
    replace_block(path, "bench:accuracy", head + lines)


def parse_case(text):
    dim, n = text.split(":")
    return int(dim), int(n)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", type=parse_case, default=[(2, 5000), (3, 5000)],
                        help="D:N pairs")
    parser.add_argument("--families", nargs="+", default=None,
                        help="families (D <= 3: bench_sinkhorn's; D > 3: mixture, manifold)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--blurs", nargs="+", type=float, default=[0.05])
    parser.add_argument("--peers", nargs="+", default=["geomloss", "ott", "pot"], choices=["geomloss", "ott", "pot"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--save", type=pathlib.Path)
    parser.add_argument("--load", type=pathlib.Path)
    parser.add_argument("--write", type=pathlib.Path)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    if args.load:
        rows = [json.loads(line) for line in args.load.read_text().splitlines() if line.strip()]
    else:
        rows = []
        for dim, n in args.cases:
            families = args.families or (["mixture", "manifold"] if dim > 3 else
                                         ["gauss0.1", "mixture", "ring", "outliers", "N!=M"] + (["surfaces"] if dim == 3 else []))
            for name in families:
                if dim <= 3 and case_data(name, 8, dim, 0) is None:
                    continue
                for blur in args.blurs:
                    for seed in args.seeds:
                        new = measure(name, n, dim, seed, blur, args.peers, args.repeats)
                        rows += new
                        if args.save:
                            with args.save.open("a") as fh:
                                fh.writelines(json.dumps(r) + "\n" for r in new)
    lines, ratios = case_lines(rows)
    print("\n".join(default_lines(rows) + lines))
    if args.write:
        write_markdown(args.write, rows, "cpu")


if __name__ == "__main__":
    main()
