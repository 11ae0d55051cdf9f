"""otlab vs GeomLoss (and POT) on the Sinkhorn divergence, loss + gradient, in one process.

Same inputs for every library: x uniform in the unit square/cube, y Gaussian (mean 0.5, std 0.1),
N = M points, uniform weights, p = 2, blur = 0.05, scaling = 0.5. Times are medians over repeated
runs after a warm-up run (KeOps compiles there). Errors:

* "value err": relative error against the exact divergence with the same schedule (otlab's
  untruncated ``online`` solver, which matches GeomLoss's ``tensorized`` to 1e-6);
* "grad err": relative L2 error of the gradient in x against that solver's;
* POT: its debiased divergence (numpy, log-domain, value only, run to its own convergence, so its
  "err" is mostly the annealing gap of the one-update-per-ε schedule), N <= 1000;
* "vs emd2": relative gap to the unregularised OT cost (POT's ``ot.emd2``), for N <= 5000 — a
  gap that blur = 0.05 itself causes, the same for every solver.

Usage: python benchmarks/bench_sinkhorn.py [--sizes 1000 5000] [--dims 2 3] [--write docs/benchmarks.md]
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import time

os.environ.setdefault("KEOPS_VERBOSE", "0")

import torch  # noqa: E402

from otlab.core import solve  # noqa: E402

BLUR, SCALING = 0.05, 0.5


def clouds(n, dim, device, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, dim, generator=gen)
    y = torch.randn(n, dim, generator=gen) * 0.1 + 0.5
    return x.to(device), y.to(device)


def timed(fn, repeats):
    """Median wall time of fn() over ``repeats`` runs after one warm-up; returns (seconds, last output)."""
    out = fn()
    times = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def loss_and_grad(loss_fn, x, y):
    xg = x.clone().requires_grad_(True)
    value = loss_fn(xg, y)
    (grad,) = torch.autograd.grad(value, xg)
    return value.item(), grad


def otlab_fn(backend):
    return lambda x, y: solve(x, y, blur=BLUR, scaling=SCALING, backend=backend).value


def geomloss_fn(backend):
    from geomloss import SamplesLoss
    loss = SamplesLoss("sinkhorn", p=2, blur=BLUR, scaling=SCALING, backend=backend)
    return lambda x, y: loss(x, y)


def pot_divergence(x, y):
    """POT's debiased entropic divergence (value only, numpy, log-domain Sinkhorn), in our units."""
    import ot
    reg = 2 * BLUR ** 2  # POT's sqeuclidean cost is |x - y|^2 = 2 C
    value = ot.bregman.empirical_sinkhorn_divergence(x.cpu().numpy(), y.cpu().numpy(), reg, method="sinkhorn_log",
                                                     numIterMax=1000, stopThr=1e-9)
    return float(value) / 2


def exact_ot(x, y):
    import ot
    n, m = x.shape[0], y.shape[0]
    cost = ot.dist(x.cpu().double().numpy(), y.cpu().double().numpy())
    return float(ot.emd2(torch.full((n,), 1 / n).double().numpy(), torch.full((m,), 1 / m).double().numpy(),
                         cost, numItermax=10_000_000)) / 2


def rel(a, b):
    return abs(a - b) / abs(b)


def grad_err(g, ref):
    return float((g - ref).norm() / ref.norm())


def run(sizes, dims, device, with_pot, with_emd):
    rows = []
    for dim in dims:
        for n in sizes:
            x, y = clouds(n, dim, device)
            repeats = 5 if n <= 5000 else 3 if n <= 20000 else 1
            ref_value, ref_grad = loss_and_grad(otlab_fn("online"), x, y)
            t_ot, (v_ot, g_ot) = timed(lambda: loss_and_grad(otlab_fn("auto"), x, y), repeats)
            backend = solve(x, y, blur=BLUR, scaling=SCALING).backend
            gl_backends = ["multiscale"] + (["tensorized"] if n <= 5000 else [])
            gl = {}
            for be in gl_backends:
                gl[be] = timed(lambda: loss_and_grad(geomloss_fn(be), x, y), repeats)
            gl_be = min(gl, key=lambda k: gl[k][0])
            t_gl, (v_gl, g_gl) = gl[gl_be]
            row = dict(dim=dim, n=n, backend=backend, t_ot=t_ot, gl_backend=gl_be, t_gl=t_gl, ratio=t_ot / t_gl,
                       err_ot=rel(v_ot, ref_value), err_gl=rel(v_gl, ref_value),
                       gerr_ot=grad_err(g_ot, ref_grad), gerr_gl=grad_err(g_gl, ref_grad), value=v_ot)
            if "tensorized" in gl and gl_be != "tensorized":
                row["gl_tensorized_value"] = gl["tensorized"][1][0]
            if with_pot and n <= 1000:  # POT's numpy log-domain Sinkhorn: ~40 s at N = 1000 already
                row["t_pot"], v_pot = timed(lambda: pot_divergence(x, y), 1)
                row["err_pot"] = rel(v_pot, ref_value)
            if with_emd and n <= 5000:
                emd = exact_ot(x, y)
                row["emd_ot"], row["emd_gl"] = rel(v_ot, emd), rel(v_gl, emd)
            rows.append(row)
            print(format_row(row), flush=True)
    return rows


HEADER = ("| D | N = M | otlab backend | otlab (s) | GeomLoss best | GeomLoss (s) | ratio otlab/GeomLoss "
          "| value err otlab | value err GeomLoss | grad err otlab | grad err GeomLoss | POT (s, value only) "
          "| vs emd2 otlab / GeomLoss |")
RULE = "|" + "|".join(["---"] * (HEADER.count("|") - 1)) + "|"


def format_row(r):
    pot = f"{r['t_pot']:.2f} (err {r['err_pot']:.1%})" if "t_pot" in r else "–"
    emd = f"{r['emd_ot']:.1%} / {r['emd_gl']:.1%}" if "emd_ot" in r else "–"
    return (f"| {r['dim']} | {r['n']:,} | {r['backend']} | {r['t_ot']:.3f} | {r['gl_backend']} | {r['t_gl']:.3f} "
            f"| **{r['ratio']:.2f}** | {r['err_ot']:.2%} | {r['err_gl']:.2%} | {r['gerr_ot']:.2%} | {r['gerr_gl']:.2%} "
            f"| {pot} | {emd} |")


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
        import ot
        out.append(f"POT {ot.__version__}")
    except ImportError:
        pass
    try:
        import pykeops
        out.append(f"pykeops {pykeops.__version__}")
    except ImportError:
        pass
    return ", ".join(out)


def _merged(old_block: str, rows):
    """Table lines of ``old_block`` for the (D, N) not measured now, with the new rows, sorted."""
    lines = {}
    for line in old_block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 2 and cells[0].isdigit():
            lines[(int(cells[0]), int(cells[1].replace(",", "")))] = line
    lines.update({(r["dim"], r["n"]): format_row(r) for r in rows})
    return [lines[k] for k in sorted(lines)]


def write_markdown(path, rows, device, merge=False):
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    section = [f"### Sinkhorn divergence, loss + gradient — {machine(device)}", "",
               f"Measured {datetime.date.today()} at commit {commit or '?'} with {versions()}; "
               f"blur = {BLUR}, scaling = {SCALING}, p = 2, x uniform, y Gaussian (std 0.1).", "",
               HEADER, RULE] + [format_row(r) for r in rows] + [""]
    marker_start, marker_end = f"<!-- bench:{device}:start -->", f"<!-- bench:{device}:end -->"
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    if merge and marker_start in text:
        table = _merged(text.split(marker_start, 1)[1].split(marker_end, 1)[0], rows)
        section = section[:section.index(RULE) + 1] + table + [""]
        section[2] = section[2].rstrip(".") + "; rows measured in separate runs (`--merge`)."
    block = "\n".join([marker_start] + section + [marker_end])
    if marker_start in text:
        before, rest = text.split(marker_start, 1)
        text = before + block + rest.split(marker_end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    with open(path, "w") as fh:
        fh.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000, 100000])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--no-pot", action="store_true", help="skip POT's divergence")
    parser.add_argument("--no-emd", action="store_true", help="skip ot.emd2")
    parser.add_argument("--write", metavar="MARKDOWN", help="update this file's table for the device")
    parser.add_argument("--merge", action="store_true", help="keep the file's rows for sizes not measured now")
    args = parser.parse_args()
    print(machine(args.device))
    print(HEADER)
    print(RULE)
    rows = run(args.sizes, args.dims, args.device, not args.no_pot, not args.no_emd)
    if args.write:
        write_markdown(args.write, rows, args.device, merge=args.merge)


if __name__ == "__main__":
    main()
