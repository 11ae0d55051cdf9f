"""Semi-discrete OT in 2D (exact power diagrams): damped Newton to 1e-6 relative cell masses.

Families (sites in the domain, uniform density unless said): ``uniform`` random sites; ``clusters``
(five Gaussian blobs, std 0.05, clipped into the square); ``lattice`` (a jittered square lattice, nearly
co-circular: the degenerate case for the hull); ``masses`` (uniform sites, masses uniform in [0.2, 2]);
``pentagon`` (a convex pentagon domain); ``density`` (a Gaussian bump image, 64², on the square).
Seeds 0, 1, 2. Each case: the best of ``REPEATS`` timed solves from zero weights, the Newton steps, the
final error. Targets on this 2-core CPU: ≤ 50 ms at 1k sites, ≤ 0.6 s at 10k.

**Grid path** (any cost, soft volumes on pixels): 1,000 cells on 256² to 1% (max relative volume error),
three cost families — anisotropic ellipses (axis ratios 1–3, random angles), soft particles (p = 1, scales
0.5–2), hard particles (p = 6, scales 0.5–2) — seeds 0 and 1 (target ≤ 10 s; PyAPD's tutorial: 5,000
anisotropic cells took 222 s on a T4 GPU).

Baseline at 1k (the first seed of each family): L-BFGS on the concave dual (SciPy's L-BFGS-B, the
quasi-Newton approach of PyAPD's tutorials) with the same exact diagram for the value and gradient,
to the same 1e-6 (or the time cap): seconds and the error reached. pysdot (C++) needs Boost and Eigen
headers, absent here and not downloadable: not compared.

Usage: python benchmarks/bench_semidiscrete.py [--sizes 1000 10000] [--seeds 0 1 2] [--write docs/benchmarks.md]
"""
from __future__ import annotations

import argparse
import datetime
import statistics
import time

import numpy as np
import scipy
import scipy.optimize

from otlab.core import solve_laguerre_grid, solve_semidiscrete
from otlab.core.semidiscrete.power_diagrams import as_pixel_density, convex_domain, evaluate

FAMILIES = ("uniform", "clusters", "lattice", "masses", "pentagon", "density")
PENTAGON = np.array([[0.1, 0.0], [0.9, 0.05], [1.0, 0.6], [0.5, 1.0], [0.0, 0.7]])
TOL = 1e-6
REPEATS = 3
#: seconds allowed to the L-BFGS baseline per case
BASELINE_CAP = 30.0


def inside(points, domain):
    edges = np.roll(domain, -1, 0) - domain
    rel = points[:, None, :] - domain[None]
    return ((edges[None, :, 0] * rel[..., 1] - edges[None, :, 1] * rel[..., 0]) > 0).all(1)


def case(family: str, n: int, seed: int):
    """(sites (n, 2), masses or None, domain or None, density or None) of one case."""
    rng = np.random.default_rng(seed)
    masses = domain = density = None
    if family == "clusters":
        centres = rng.uniform(0.2, 0.8, (5, 2))
        x = np.clip(centres[rng.integers(0, 5, n)] + 0.05 * rng.standard_normal((n, 2)), 1e-3, 1 - 1e-3)
    elif family == "lattice":
        k = int(np.ceil(np.sqrt(n)))
        g = (np.arange(k) + 0.5) / k
        x = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)[:n] + 1e-3 / k * rng.standard_normal((n, 2))
    elif family == "pentagon":
        domain = PENTAGON
        x = np.empty((0, 2))
        while len(x) < n:
            p = rng.random((2 * n, 2))
            x = np.concatenate([x, p[inside(p, PENTAGON)]])
        x = x[:n]
    else:
        x = rng.random((n, 2))
    if family == "masses":
        masses = rng.uniform(0.2, 2.0, n)
    if family == "density":
        g = (np.arange(64) + 0.5) / 64
        density = np.exp(-((g[:, None] - 0.4) ** 2 + (g[None, :] - 0.6) ** 2) / 0.08) + 0.1
    return x, masses, domain, density


def ours(x, masses, domain, density):
    best, res = float("inf"), None
    for _ in range(REPEATS):
        start = time.perf_counter()
        res = solve_semidiscrete(x, masses, domain=domain, density=density, tol=TOL)
        best = min(best, time.perf_counter() - start)
    return best, res


def lbfgs(x, masses, domain, density):
    r"""Maximise the dual Φ(w) = Σ w_i ν_i + ∫ min_i(|x_i - y|² - w_i) ρ with L-BFGS (minimise -Φ).
    ∫_cell |x_i - y|² ρ comes from the cells' masses, first moments and second moments of ρ (here
    from the areas: Φ is evaluated up to the constant ∫|y|²ρ, which L-BFGS does not need)."""
    dom = convex_domain(domain)
    rho = as_pixel_density(density, dom)
    total = float(rho.polygon_moments(dom[None])[0][0])
    nu = np.full(len(x), 1 / len(x)) if masses is None else masses / masses.sum()
    state = {"error": float("inf")}

    def neg_dual(w):
        d = evaluate(x, w, dom, rho, total)
        mu, cen = d.masses.numpy(), d.centroids.numpy()
        # ∫_cell (|x_i|² - 2 x_i·y - w_i) ρ, dropping ∫|y|²ρ (constant in w)
        value = (w * nu).sum() + (mu * ((x ** 2).sum(1) - 2 * (x * cen).sum(1) - w)).sum()
        state["error"] = float(np.max(np.abs(mu - nu) / nu))
        if state["error"] <= TOL:
            raise StopIteration
        return -value, -(nu - mu)

    start = time.perf_counter()
    try:
        scipy.optimize.minimize(neg_dual, np.zeros(len(x)), jac=True, method="L-BFGS-B",
                                callback=lambda *_: _cap(start),
                                options=dict(maxiter=100_000, maxcor=20, gtol=0, ftol=0))
    except (StopIteration, TimeoutError):
        pass
    return time.perf_counter() - start, state["error"]


def _cap(start):
    if time.perf_counter() - start > BASELINE_CAP:
        raise TimeoutError


GRID_FAMILIES = ("anisotropic", "soft p=1", "hard p=6")


def grid_case(family: str, n: int, seed: int) -> dict:
    """Arguments of solve_laguerre_grid for one grid-path case."""
    rng = np.random.default_rng(seed)
    kw = dict(sites=rng.random((n, 2)))
    if family == "anisotropic":
        theta, ratio = rng.uniform(0, np.pi, n), rng.uniform(1, 3, n)
        c, s = np.cos(theta), np.sin(theta)
        R = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)
        D = np.zeros((n, 2, 2))
        D[:, 0, 0], D[:, 1, 1] = 1.0, ratio ** 2
        kw["metrics"] = R @ D @ np.transpose(R, (0, 2, 1))
    else:
        kw["power"] = 1.0 if family.startswith("soft") else 6.0
        kw["scale"] = rng.uniform(0.5, 2.0, n)
    return kw


def grid_rows(seeds, n=1000, side=256):
    rows = []
    for fam in GRID_FAMILIES:
        for seed in seeds:
            kw = grid_case(fam, n, seed)
            start = time.perf_counter()
            res = solve_laguerre_grid(kw.pop("sites"), shape=(side, side), tol=0.01, **kw)
            rows.append((fam, seed, time.perf_counter() - start, res.n_iter, res.error, res.converged))
            print("grid", fam, seed, f"{rows[-1][2]:.2f}s", res.n_iter, f"{res.error:.2g}", flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--grid-seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--write", default=None)
    args = parser.parse_args()
    from bench_sinkhorn import machine, replace_block

    solve_semidiscrete(np.random.default_rng(0).random((50, 2)))  # warm-up
    lines = [f"### Semi-discrete OT, exact 2D power diagrams (`benchmarks/bench_semidiscrete.py`) — {machine('cpu')}", "",
             f"Measured {datetime.date.today()}; SciPy {scipy.__version__} (Qhull). Damped Newton from zero weights "
             f"to a largest relative mass error ≤ {TOL:g}; best of {REPEATS} per case; families {', '.join(FAMILIES)} "
             f"× seeds {', '.join(map(str, args.seeds))}. pysdot needs Boost and Eigen headers, which are not on this machine: not compared.", "",
             "| sites | cases | seconds, median | worst | target | Newton steps (median / max) | worst final error | all converged |",
             "|---|---|---|---|---|---|---|---|"]
    baseline = []
    for n in args.sizes:
        rows = []
        for fam in FAMILIES:
            for seed in args.seeds:
                data = case(fam, n, seed)
                t, res = ours(*data)
                rows.append((fam, seed, t, res.n_iter, res.error, res.converged))
                print(n, fam, seed, f"{t:.3f}s", res.n_iter, f"{res.error:.2g}", flush=True)
                if n == min(args.sizes) and seed == args.seeds[0]:
                    bt, berr = lbfgs(*data)
                    baseline.append((fam, t, bt, berr))
                    print("   L-BFGS", f"{bt:.2f}s", f"{berr:.2g}", flush=True)
        times = [r[2] for r in rows]
        steps = [r[3] for r in rows]
        target = {1000: "≤ 0.05 s", 10000: "≤ 0.6 s"}.get(n, "–")
        lines.append(f"| {n:,} | {len(rows)} | **{statistics.median(times):.3f}** | **{max(times):.3f}** | {target} | "
                     f"{statistics.median(steps):g} / {max(steps)} | {max(r[4] for r in rows):.1e} | "
                     f"{all(r[5] for r in rows)} |")
    lines += ["", f"Against L-BFGS on the same dual with the same exact diagram (the quasi-Newton approach of "
              f"PyAPD's tutorials), {min(args.sizes):,} sites, seed {args.seeds[0]}, capped at {BASELINE_CAP:g} s:", "",
              "| family | Newton s | L-BFGS s | L-BFGS error reached | ratio (Newton / L-BFGS) |", "|---|---|---|---|---|"]
    for fam, t, bt, berr in baseline:
        lines.append(f"| {fam} | {t:.3f} | {bt:.2f} | {berr:.1e} | {t / bt:.3f}{'' if berr <= TOL else ' (L-BFGS not there)'} |")
    grid = grid_rows(args.grid_seeds)
    lines += ["", "Grid path: 1,000 cells on 256² pixels to 1% (soft volumes), damped Newton from zero weights, one run per case:", "",
              "| costs | cases | seconds, median | worst | target | Newton steps (median / max) | all converged |",
              "|---|---|---|---|---|---|---|"]
    for fam in GRID_FAMILIES:
        rows = [r for r in grid if r[0] == fam]
        times = [r[2] for r in rows]
        lines.append(f"| {fam} | {len(rows)} | **{statistics.median(times):.1f}** | **{max(times):.1f}** | ≤ 10 s | "
                     f"{statistics.median([r[3] for r in rows]):g} / {max(r[3] for r in rows)} | {all(r[5] for r in rows)} |")
    print("\n".join(lines))
    if args.write:
        replace_block(args.write, "bench:semidiscrete", lines)


if __name__ == "__main__":
    main()
