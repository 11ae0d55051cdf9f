"""Kernel losses (energy, gaussian, laplacian): otlab's block-wise O(N + M) products vs GeomLoss.

Loss + gradient in x, x uniform in the unit cube, y Gaussian (mean .5, std .1), N = M, blur .1
(the kernel width), float32. GeomLoss runs its ``online`` backend (pyKeOps, compiled for the CPU)
and, while the three dense N x M matrices fit in ``--dense-max-gb``, its ``tensorized`` one; its
best is the reference for the ratio and for the errors ("value err": relative; "grad err":
relative L2). A dense float32 kernel matrix at N = 100k is 40 GB: only O(N + M) memory runs there.

Usage: python benchmarks/bench_kernels.py [--sizes 20000 100000] [--dims 2 3] [--write docs/benchmarks.md]
"""
from __future__ import annotations

import argparse
import datetime
import os
import subprocess

os.environ.setdefault("KEOPS_VERBOSE", "0")

import torch  # noqa: E402

from otlab.core import SamplesLoss  # noqa: E402

from bench_sinkhorn import loss_and_grad, machine, replace_block, timed, versions  # noqa: E402

LOSSES = ("energy", "gaussian", "laplacian")
BLUR = 0.1


def points_only(loss):
    """``loss(x, y)`` as the ``(x, y, a, b)`` callable of bench_sinkhorn.loss_and_grad (uniform weights)."""
    return lambda x, y, a, b: loss(x, y)


def run(sizes, dims, dense_max_gb):
    import geomloss
    rows = []
    for dim in dims:
        for n in sizes:
            gen = torch.Generator().manual_seed(0)
            x, y = torch.rand(n, dim, generator=gen), 0.5 + 0.1 * torch.randn(n, dim, generator=gen)
            repeats = 3 if n <= 20000 else 1
            for name in LOSSES:
                ours = SamplesLoss(name, blur=BLUR)
                t_ot, (v_ot, g_ot) = timed(lambda: loss_and_grad(points_only(ours), x, y, None, None), repeats)
                gl = {}
                backends = ["online"] + (["tensorized"] if 3 * n * n * 4 / 2 ** 30 <= dense_max_gb else [])
                for be in backends:
                    theirs = geomloss.SamplesLoss(name, blur=BLUR, backend=be)
                    gl[be] = timed(lambda: loss_and_grad(points_only(theirs), x, y, None, None), repeats)
                best = min(gl, key=lambda k: gl[k][0])
                t_gl, (v_gl, g_gl) = gl[best]
                rows.append(dict(dim=dim, n=n, loss=name, t_ot=t_ot, t_gl=t_gl, gl_backend=best, ratio=t_ot / t_gl,
                                 err=abs(v_ot - v_gl) / abs(v_gl), gerr=float((g_ot - g_gl).norm() / g_gl.norm())))
                print(format_row(rows[-1]), flush=True)
    return rows


HEADER = ("| D | N = M | loss | otlab (s) | GeomLoss best | GeomLoss (s) | ratio otlab/GeomLoss "
          "| value err | grad err |")
RULE = "|" + "|".join(["---"] * (HEADER.count("|") - 1)) + "|"


def format_row(r):
    return (f"| {r['dim']} | {r['n']:,} | {r['loss']} | {r['t_ot']:.2f} | {r['gl_backend']} | {r['t_gl']:.2f} "
            f"| **{r['ratio']:.2f}** | {r['err']:.1e} | {r['gerr']:.1e} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20000, 100000])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--dense-max-gb", type=float, default=6.0)
    parser.add_argument("--write", metavar="MARKDOWN")
    args = parser.parse_args()
    print(machine("cpu"))
    print(HEADER)
    print(RULE)
    rows = run(args.sizes, args.dims, args.dense_max_gb)
    if args.write:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        lines = [f"### Kernel losses, loss + gradient — {machine('cpu')}", "",
                 f"Measured {datetime.date.today()} at commit {commit or '?'} with {versions()}; blur = {BLUR}, "
                 "x uniform, y Gaussian (std .1). otlab: block-wise products, O(N + M) memory.", "",
                 HEADER, RULE] + [format_row(r) for r in rows] + [""]
        replace_block(args.write, "bench:kernels", lines)


if __name__ == "__main__":
    main()
