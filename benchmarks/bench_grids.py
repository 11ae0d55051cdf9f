"""OT on grids: barycenters vs POT, the Sinkhorn divergence between images vs GeomLoss, a 3D barycenter.

**Barycenters vs POT** (``ot.bregman.convolutional_barycenter2d`` and ``..._debiased``) at equal
accuracy. For every case (a data family, a seed, a size) otlab computes a reference barycenter run long
(plain: tol 1e-10; debiased: tol 1e-6, at most 4000 updates). Accuracy: plain, L1 distance to the
reference ≤ ``DELTA``; debiased, the objective Σ_k w_k S_ε(α_k, β) (``solve_grid``) within
``OBJECTIVE_RTOL`` of the reference's (the debiased density drifts slowly along modes that leave the
objective flat, docs/core.md, so the objective is the fair measure). For each solver the smallest
iteration count that meets it is found (otlab: updates, annealing included, in one run checked at every
update (plain) or at counts growing by 20% (debiased); POT: ``numItermax`` with ``stopThr=0``, by
doubling then bisection), then runs of that length are timed (best of ``REPEATS``).
Both solve the same problem: POT's grid is ``linspace(0, 1, n)``, so otlab gets the extent widened by
half a cell and POT reg = 2ε. POT not meeting the target in max(``POT_CAP``, ``POT_FACTOR`` × otlab's
count) iterations is reported.
Families: three random Gaussians, three shapes (disk, ring, heart at random offsets), three random
two-component mixtures; random weights (Dirichlet). Blur 2 px (plain), 3 px (debiased).

**Stability**: at blurs of 1 and 0.5 px, POT's answers (mass, NaN) vs otlab's (converged, mass).

**Sinkhorn divergence between 256² images** vs GeomLoss's ``sinkhorn_divergence`` on grids (KeOps,
power-of-two sizes, blur at most one pixel), at its default blur of one pixel: times and values, and
for two Gaussians the closed form ½ W_2².

**3D**: three 64³ volumes (ball, torus, two balls), uniform weights, debiased, tol 1e-3.

Usage: python benchmarks/bench_grids.py [--sizes 64 128 256] [--seeds 0 1] [--large-seeds 0]
                                        [--large-families gaussians] [--quick]
                                        [--cache cases.jsonl] [--write docs/benchmarks.md]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import time
import warnings

os.environ.setdefault("KEOPS_VERBOSE", "0")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from otlab.core import barycenter_grid, iterate_barycenter_grid, solve_grid  # noqa: E402

FAMILIES = ("gaussians", "shapes", "mixtures")
#: plain: the accuracy target, L1 distance to the converged reference (masses 1)
DELTA = 1e-3
#: debiased: the objective Σ w_k S_ε within this (relative) of the reference's
OBJECTIVE_RTOL = 1e-4
#: blur in pixels of POT's grid
PIXELS = {False: 2.0, True: 3.0}
POT_CAP = 500
#: ... or this many times otlab's count, if larger
POT_FACTOR = 4
#: timed runs per solver and case (the fastest counts)
REPEATS = 3


def _grid(n):
    t = np.linspace(0, 1, n)
    return np.meshgrid(t, t, indexing="ij")


def family(name: str, n: int, seed: int) -> np.ndarray:
    """Three densities (3, n, n) of family ``name`` on POT's grid, each of mass 1."""
    rng = np.random.default_rng(seed)
    x, y = _grid(n)
    out = []
    for k in range(3):
        if name == "gaussians":
            c, s = rng.uniform(0.3, 0.7, 2), rng.uniform(0.05, 0.1)
            d = np.exp(-((x - c[0]) ** 2 + (y - c[1]) ** 2) / (2 * s ** 2))
        elif name == "mixtures":
            d = sum(np.exp(-((x - c[0]) ** 2 + (y - c[1]) ** 2) / (2 * s ** 2))
                    for c, s in ((rng.uniform(0.25, 0.75, 2), rng.uniform(0.04, 0.08)) for _ in range(2)))
        elif name == "shapes":
            c = 0.5 + rng.uniform(-0.1, 0.1, 2)
            u, v = (x - c[0]) / 0.25, (y - c[1]) / 0.25
            r = np.sqrt(u ** 2 + v ** 2)
            d = [(r < 1.0), (r > 0.7) & (r < 1.1), ((u ** 2 + v ** 2 - 1) ** 3 - u ** 2 * v ** 3 <= 0)][k]
            d = d.astype(np.float64) + 1e-12
        else:
            raise ValueError(name)
        out.append(d / d.sum())
    return np.stack(out)


def weights_for(seed: int) -> np.ndarray:
    return np.random.default_rng(1000 + seed).dirichlet(np.ones(3))


def extent_for(n):
    return (-0.5 / (n - 1), 1 + 0.5 / (n - 1))


def pot_barycenter(A, w, reg, debias, iters):
    import ot

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn = ot.bregman.convolutional_barycenter2d_debiased if debias else ot.bregman.convolutional_barycenter2d
        with np.errstate(all="ignore"):
            return fn(A, reg, weights=w, numItermax=iters, stopThr=0.0)


def l1(a, b):
    a = np.asarray(a, dtype=np.float64)
    return float(np.abs(a - b).sum()) if np.isfinite(a).all() else float("inf")


def objective(beta, A, w, blur, extent):
    """Σ_k w_k S_ε(α_k, β): what the debiased barycenter minimises (β renormalised to mass 1)."""
    b = torch.as_tensor(np.asarray(beta, dtype=np.float64))
    b = b / b.sum()
    return sum(float(wk) * float(solve_grid(torch.as_tensor(a), b, blur=blur, extent=extent, tol=1e-7,
                                            max_iter=20_000).value) for wk, a in zip(w, A))


def first_count(candidate, ok, cap):
    """The smallest iteration count c <= cap (to 2%) with ok(candidate(c)), by doubling then bisection;
    None if candidate(cap) is not ok."""
    lo, hi = 0, 8
    while not ok(candidate(hi)):
        if hi >= cap:
            return None
        lo, hi = hi, min(2 * hi, cap)
    while hi - lo > max(1, hi // 50):
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(candidate(mid)) else (mid, hi)
    return hi


def otlab_count(A, w, blur, extent, debias, ok, check_every_update, cap=4000):
    """otlab's first update count whose barycenter is ok, in one run: checked at every update, or (when
    a check is costly) at counts growing by 20% (so the count is at most 20% above the first ok one)."""
    next_check = 1
    for state in iterate_barycenter_grid(torch.as_tensor(A), w, blur=blur, extent=extent, debias=debias, tol=1e-12,
                                         max_iter=cap):
        count = state.step + 1
        if check_every_update or count >= next_check:
            if ok(state.density.numpy()):
                return count
            next_check = max(count + 1, int(count * 1.2))
    return None


def otlab_after(A, w, blur, extent, debias, count):
    """otlab's barycenter after ``count`` updates (annealing included), and the seconds it took."""
    start = time.perf_counter()
    state = None
    for state in iterate_barycenter_grid(torch.as_tensor(A), w, blur=blur, extent=extent, debias=debias, tol=1e-12,
                                         max_iter=100_000):
        if state.step + 1 >= count:
            break
    return state.density.numpy(), time.perf_counter() - start


def case(A, w, n, debias):
    """Counts and seconds of both solvers to equal accuracy (see the module docstring)."""
    blur, extent = PIXELS[debias] / (n - 1), extent_for(n)
    reg = 2 * blur ** 2
    ref = barycenter_grid(torch.as_tensor(A), w, blur=blur, extent=extent, debias=debias,
                          tol=1e-6 if debias else 1e-10, max_iter=4000 if debias else 20_000).density.numpy()
    if debias:
        target = objective(ref, A, w, blur, extent) * (1 + OBJECTIVE_RTOL)

        def ok(beta):
            return bool(np.isfinite(beta).all()) and objective(beta, A, w, blur, extent) <= target
    else:
        def ok(beta):
            return l1(beta, ref) <= DELTA

    ours_n = otlab_count(A, w, blur, extent, debias, ok, check_every_update=not debias)
    cap = max(POT_CAP, POT_FACTOR * ours_n) if ours_n else POT_CAP
    pot_n = first_count(lambda c: pot_barycenter(A, w, reg, debias, c), ok, cap)
    ours_t = min(otlab_after(A, w, blur, extent, debias, ours_n)[1] for _ in range(REPEATS)) if ours_n else None
    pot_t = min(_seconds(lambda: pot_barycenter(A, w, reg, debias, pot_n)) for _ in range(REPEATS)) if pot_n else None
    return ours_n, ours_t, pot_n, pot_t


def _seconds(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def barycenter_cases(sizes, seeds, debias, quick, cache=None, large_seeds=None, large_families=FAMILIES):
    """Every (size, family, seed) case; rows already in the ``cache`` file (JSON lines) are reused and
    new ones appended. Sizes above 128 run ``large_seeds`` (default: ``seeds``) of ``large_families``."""
    done = {}
    if cache and os.path.exists(cache):
        for line in open(cache):
            r = json.loads(line)
            done[(r["debias"], r["n"], r["family"], r["seed"])] = r
    rows = []
    for n in sizes:
        for fam in (large_families if n > 128 else FAMILIES):
            for seed in (large_seeds if n > 128 and large_seeds is not None else seeds):
                if (debias, n, fam, seed) in done:
                    rows.append(done[(debias, n, fam, seed)])
                    continue
                A, w = family(fam, n, seed), weights_for(seed)
                ours_n, ours_t, pot_n, pot_t = case(A, w, n, debias)
                row = dict(debias=debias, n=n, family=fam, seed=seed, ours_n=ours_n, ours_t=ours_t, pot_n=pot_n, pot_t=pot_t,
                           ratio=(ours_t / pot_t) if ours_t and pot_t else None)
                print(("debiased" if debias else "plain"), row, flush=True)
                rows.append(row)
                if cache:
                    with open(cache, "a") as fh:
                        fh.write(json.dumps(row) + "\n")
                if quick:
                    break
    return rows


def stability_rows(n=128):
    rows = []
    A, w = family("shapes", n, 0), weights_for(0)
    for debias in (False, True):
        for pixels in (1.0, 0.5):
            blur = pixels / (n - 1)
            ours = barycenter_grid(torch.as_tensor(A), w, blur=blur, extent=extent_for(n), debias=debias,
                                   tol=1e-4, max_iter=4000)
            theirs = pot_barycenter(A, w, 2 * blur ** 2, debias, 2000)
            finite = bool(np.isfinite(theirs).all())
            rows.append(dict(debias=debias, pixels=pixels, ours_mass=ours.mass, ours_conv=ours.converged,
                             ours_n=ours.n_iter, pot_mass=float(np.nansum(theirs)), pot_nan=not finite,
                             gap=l1(theirs / max(np.nansum(theirs), 1e-300), ours.density.numpy()) if finite else None))
            print("stability", rows[-1], flush=True)
    return rows


def geomloss_refuses(a, b, blur):
    """GeomLoss's grid loss at ``blur``: None if it runs, else its error (it needs blur <= 1 pixel)."""
    from geomloss import sinkhorn_divergence

    try:
        sinkhorn_divergence(a[None, None], b[None, None], p=2, blur=blur, scaling=0.5)
        return None
    except Exception as err:
        return f"{type(err).__name__}: {err}"


def gaussian_value(n, seed, pair=(0, 1)):
    """½ W_2² between two of the "gaussians" family's isotropic Gaussians (closed form, 2D):
    ½ (|m_1 - m_2|² + 2 (s_1 - s_2)²), on POT's grid coordinates."""
    rng = np.random.default_rng(seed)
    params = [(rng.uniform(0.3, 0.7, 2), rng.uniform(0.05, 0.1)) for _ in range(3)]
    (m1, s1), (m2, s2) = params[pair[0]], params[pair[1]]
    return 0.5 * (float(((m1 - m2) ** 2).sum()) + 2 * (s1 - s2) ** 2)


def divergence_rows(seeds, n=256):
    """otlab's solve_grid (defaults) vs GeomLoss's sinkhorn_divergence on grids, blur one pixel; for the
    Gaussians family, both values against the closed form ½ W_2² (the entropic bias at one pixel is
    ~1e-4 of it)."""
    from geomloss import sinkhorn_divergence

    rows = []
    blur = 1.0 / n  # GeomLoss's default and the largest blur its pyramid accepts
    for fam in FAMILIES:
        for seed in seeds:
            A = torch.as_tensor(family(fam, n, seed), dtype=torch.float32)
            a, b = A[0], A[1]
            extent = extent_for(n)
            start = time.perf_counter()
            ours = float(solve_grid(a, b, blur=blur, extent=extent).value)
            t_ours = time.perf_counter() - start
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sinkhorn_divergence(a[None, None], b[None, None], p=2, blur=blur, scaling=0.5)  # KeOps compiles
                start = time.perf_counter()
                theirs = float(sinkhorn_divergence(a[None, None], b[None, None], p=2, blur=blur, scaling=0.5))
                t_gl = time.perf_counter() - start
            exact = gaussian_value(n, seed) if fam == "gaussians" else None
            rows.append(dict(family=fam, seed=seed, ours=ours, theirs=theirs, exact=exact, t_ours=t_ours, t_gl=t_gl,
                             ratio=t_ours / t_gl))
            print("divergence", rows[-1], flush=True)
    A = torch.as_tensor(family("gaussians", n, 0), dtype=torch.float32)
    refused = geomloss_refuses(A[0], A[1], 2.0 / n)
    return rows, refused


def volume_rows():
    from otlab.demos.densities import volume_density

    A = torch.as_tensor(np.stack([volume_density(v, 64) for v in ("ball", "torus", "two balls")]))
    rows = []
    for blur in (0.05, 0.03):
        t = time.perf_counter()
        res = barycenter_grid(A, blur=blur, tol=1e-3)
        rows.append(dict(blur=blur, seconds=time.perf_counter() - t, n_iter=res.n_iter, converged=res.converged,
                         mass=res.mass))
        print("3D", rows[-1], flush=True)
    return rows


def summary(rows, key="ratio"):
    values = [r[key] for r in rows if r[key] is not None]
    if not values:
        return "–", "–"
    return f"{statistics.median(values):.2f}", f"{max(values):.2f}"


def markdown(plain, debiased, stability, divergence, refused, volumes):
    from bench_sinkhorn import machine

    lines = [f"### OT on grids and barycenters (`benchmarks/bench_grids.py`) — {machine('cpu')}", "",
             f"Measured {datetime.date.today()}; POT {__import__('ot').__version__}, "
             f"GeomLoss {__import__('geomloss').__version__}. Ratios are otlab time / other time (< 1: otlab "
             "faster), at equal accuracy: each solver timed up to its first iterate within L1 1e-3 of a "
             "long otlab run (plain) or with an objective Σ w_k S_ε within 1e-4 of it (debiased). Families: Gaussians, shapes, mixtures (3 inputs, random weights).", "",
             "| barycenter | size | cases | accuracy | ratio median | worst | otlab updates (median) | POT iterations "
             "(median) | otlab s (median) | POT s (median) | POT not there (cap) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, rows, debias in (("plain", plain, False), ("debiased", debiased, True)):
        target = f"objective +{OBJECTIVE_RTOL:g} (rel.)" if debias else f"L1 {DELTA:g}"
        for n in sorted({r["n"] for r in rows}):
            rs = [r for r in rows if r["n"] == n]
            med, worst = summary(rs)
            ok = [r for r in rs if r["ratio"] is not None]
            failed = ", ".join(f"{r['family']}/{r['seed']}" for r in rs if r["pot_n"] is None)

            def mid(key, fmt="{:g}"):
                return fmt.format(statistics.median(r[key] for r in ok)) if ok else "–"

            lines.append(f"| {name} ({PIXELS[debias]:g} px) | {n}² | {len(rs)} | {target} | **{med}** | "
                         f"**{worst}** | {mid('ours_n')} | {mid('pot_n')} | {mid('ours_t', '{:.3f}')} | "
                         f"{mid('pot_t', '{:.3f}')} | {failed or 'none'} |")
    lines += ["", "Small blur (128², shapes, 2000 POT iterations; otlab tol 1e-4):", "",
              "| barycenter | blur | otlab: mass, converged (updates) | POT: mass | POT: NaN | L1(POT, otlab) |",
              "|---|---|---|---|---|---|"]
    for r in stability:
        gap = "–" if r["gap"] is None else f"{r['gap']:.3f}"
        lines.append(f"| {'debiased' if r['debias'] else 'plain'} | {r['pixels']:g} px | {r['ours_mass']:.4f}, "
                     f"{r['ours_conv']} ({r['ours_n']}) | {r['pot_mass']:.4f} | {r['pot_nan']} | {gap} |")
    med, worst = summary(divergence)
    lines += ["", f"Sinkhorn divergence between two 256² images, blur 1 px, otlab `solve_grid` defaults vs GeomLoss "
              f"`sinkhorn_divergence` (grids, KeOps), float32: time ratio median **{med}**, worst **{worst}**. "
              f"At 2 px GeomLoss stops with `{refused}`; otlab takes any blur." if refused else "", "",
              "| family | seed | otlab s | GeomLoss s | otlab value | GeomLoss value | closed form ½W₂² |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['family']} | {r['seed']} | {r['t_ours']:.2f} | {r['t_gl']:.2f} | {r['ours']:.6f} | "
              f"{r['theirs']:.6f} | {'–' if r['exact'] is None else format(r['exact'], '.6f')} |" for r in divergence]
    lines += ["",
              "3D: the debiased barycenter of three 64³ volumes (ball, torus, two balls), uniform weights, tol 1e-3:", "",
              "| blur | seconds | updates | converged | mass |", "|---|---|---|---|---|"]
    lines += [f"| {r['blur']:g} ({r['blur'] * 64:.1f} voxels) | **{r['seconds']:.1f}** | {r['n_iter']} | "
              f"{r['converged']} | {r['mass']:.4f} |" for r in volumes]
    return lines + [""]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--debiased-sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--large-seeds", type=int, nargs="+", default=None, help="seeds of the sizes above 128")
    parser.add_argument("--large-families", nargs="+", default=list(FAMILIES), choices=FAMILIES,
                        help="families of the sizes above 128")
    parser.add_argument("--cache", default=None, help="JSON-lines file of finished barycenter cases (reused)")
    parser.add_argument("--quick", action="store_true", help="one family per size (a smoke run)")
    parser.add_argument("--write", default=None)
    args = parser.parse_args()
    torch.set_default_dtype(torch.float64)
    plain = barycenter_cases(args.sizes, args.seeds, False, args.quick, args.cache, args.large_seeds,
                             args.large_families)
    debiased = barycenter_cases(args.debiased_sizes, args.seeds, True, args.quick, args.cache, args.large_seeds,
                                args.large_families)
    stability = stability_rows()
    divergence, refused = divergence_rows(args.seeds[:1] if args.quick else args.seeds)
    volumes = volume_rows()
    lines = markdown(plain, debiased, stability, divergence, refused, volumes)
    print("\n".join(lines))
    if args.write:
        from bench_sinkhorn import replace_block
        replace_block(args.write, "bench:grids", lines)


if __name__ == "__main__":
    main()
