"""Assignment in 2D: otlab's auction vs scipy's linear_sum_assignment vs Sinkhorn (small blur, rounded).

For N in {100, 1000, 5000} (5000: auction and scipy only unless --sinkhorn-5000), data families
uniform → uniform, uniform → Gaussian (std 0.1), clusters → uniform, lattice points with ties, seeds 0, 1.
Reported per N: median and worst time ratio to linear_sum_assignment, and the optimality gap
(mean cost / optimum - 1) of each method — 0 for the auction by construction (it certifies), the
price of blurring for Sinkhorn (blur = median distance to the nearest distinct point / 4, float32,
tol 1e-3, plan rounded to a permutation greedily: largest entries first).

Usage: python benchmarks/bench_assignment.py [--sizes 100 1000 5000] [--write docs/benchmarks.md]
"""
from __future__ import annotations

import argparse
import datetime
import statistics
import time

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from otlab.core import assign, solve
from otlab.core.discrete.assignment import assignment_costs

FAMILIES = ("uniform", "gaussian", "clusters", "ties")


def clouds(family, n, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 2)), rng.random((n, 2))
    if family == "gaussian":
        y = 0.5 + 0.1 * rng.standard_normal((n, 2))
    elif family == "clusters":
        x = rng.integers(0, 5, (n, 1)) * 0.2 + 0.03 * rng.standard_normal((n, 2))
    elif family == "ties":
        k = max(2, int(np.sqrt(n)))
        x, y = np.round(x * k) / k, np.round(y * k) / k
    return torch.as_tensor(x), torch.as_tensor(y)


def rounded_sinkhorn(x, y, C):
    """Sinkhorn plan at a blur below the point spacing, rounded to a permutation (largest entries first)."""
    d = torch.cdist(x, x).fill_diagonal_(float("inf"))
    spacing = float(d.masked_fill(d == 0, float("inf")).min(1).values.median())  # duplicates aside
    blur = max(spacing / 4, 1e-3)
    plan = solve(x.float(), y.float(), blur=blur, scaling=0.9, debias=False, tol=1e-3, backend="tensorized").plan()
    order = torch.argsort(plan.reshape(-1), descending=True)
    n = len(x)
    perm, used_i, used_j = np.full(n, -1), np.zeros(n, bool), np.zeros(n, bool)
    for flat in order.tolist():
        i, j = divmod(flat, n)
        if not used_i[i] and not used_j[j]:
            perm[i], used_i[i], used_j[j] = j, True, True
            if used_i.all():
                break
    return float(C[np.arange(n), perm].mean())


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run(sizes, sinkhorn_max):
    rows = []
    for n in sizes:
        for family in FAMILIES:
            for seed in (0, 1):
                x, y = clouds(family, n, seed)
                C = assignment_costs(x, y, 2).numpy()
                (r, c), t_lsa = timed(lambda: linear_sum_assignment(C))
                opt = C[r, c].mean()
                auction, t_auction = timed(lambda: assign(x, y, method="auction"))
                row = dict(n=n, family=family, seed=seed, lsa=t_lsa, auction=t_auction,
                           auction_gap=auction.cost / opt - 1)
                if n <= sinkhorn_max:
                    cost, t_sink = timed(lambda: rounded_sinkhorn(x, y, C))
                    row.update(sinkhorn=t_sink, sinkhorn_gap=cost / opt - 1)
                rows.append(row)
                print(row, flush=True)
    return rows


def table(rows):
    lines = ["| N | scipy LSA median time | auction / LSA median (worst) | auction gap (worst) "
             "| Sinkhorn / LSA median (worst) | Sinkhorn rounded gap median (worst) |",
             "|---|---|---|---|---|---|"]
    for n in sorted({r["n"] for r in rows}):
        rs = [r for r in rows if r["n"] == n]
        ratio = [r["auction"] / r["lsa"] for r in rs]
        line = (f"| {n} | {statistics.median(r['lsa'] for r in rs) * 1e3:.1f} ms | {statistics.median(ratio):.1f}× "
                f"({max(ratio):.1f}×) | {max(abs(r['auction_gap']) for r in rs):.1e} |")
        if all("sinkhorn" in r for r in rs):
            s = [r["sinkhorn"] / r["lsa"] for r in rs]
            g = [r["sinkhorn_gap"] for r in rs]
            line += f" {statistics.median(s):.1f}× ({max(s):.1f}×) | {statistics.median(g):.2%} ({max(g):.2%}) |"
        else:
            line += " – | – |"
        lines.append(line)
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--sinkhorn-max", type=int, default=1000, help="largest N for the Sinkhorn rows")
    parser.add_argument("--write", metavar="MARKDOWN")
    args = parser.parse_args()
    text = table(run(args.sizes, args.sinkhorn_max))
    print(text)
    if args.write:
        from bench_sinkhorn import replace_block
        replace_block(args.write, "bench:assignment", [
            "### Assignment in 2D: auction, linear_sum_assignment, rounded Sinkhorn", "",
            f"Measured {datetime.date.today()} with `benchmarks/bench_assignment.py`: families "
            f"{', '.join(FAMILIES)}, seeds 0 and 1; time ratios to scipy in the same run; gap = mean cost / "
            "optimum − 1.", "", *text.split("\n")])


if __name__ == "__main__":
    main()
