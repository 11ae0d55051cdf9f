"""Incompressible swarms (`otlab.core.Swarm`): milliseconds per step, per motion, size and path.

Each case: a swarm of the given motion and size, ``WARMUP`` steps (the first ones move the particles far
from their start), then the median and the worst of ``STEPS`` timed steps, and the largest relative
volume error seen. Exact path (p = 2, 2D): run-and-tumble in a disk (fill 0.85), active Brownian on a
torus (fill 1), gravity (fill 0.55), surface tension (fill 0.6) at 200 and 1,000 particles. Grid path
(128 pixels per unit length): gravity with p = 6 and 1 (100 particles), evacuation with p = 1 (80),
run-and-tumble with p = 1.5 (200), and active Brownian in 3D on 32³ voxels (100). Seeds 0 and 1. The demo
draws one step per frame: a 30 fps page needs steps well under 33 ms (the browser and the server's event
loop share the rest; see the fps rows of ``bench_app.py --demo swarms``).

Usage: python benchmarks/bench_swarms.py [--seeds 0 1] [--write docs/benchmarks.md]
"""
from __future__ import annotations

import argparse
import datetime
import statistics
import time

import numpy as np

from otlab.core import Swarm

WARMUP, STEPS = 10, 40
CASES = [  # (label, path, kwargs)
    ("run and tumble, disk", "exact", dict(motion="run_and_tumble", fill=0.85)),
    ("active Brownian, torus", "exact", dict(motion="active_brownian", fill=1.0)),
    ("gravity", "exact", dict(motion="gravity", fill=0.55)),
    ("surface tension", "exact", dict(motion="surface_tension", fill=0.6)),
]
SIZES = (200, 1000)
GRID_CASES = [
    ("gravity, p = 6 and 1", 100, dict(motion="gravity", fill=0.55, power=(6.0, 1.0), grid=128)),
    ("evacuation, p = 1", 80, dict(motion="evacuation", fill=0.75, power=1.0, grid=128)),
    ("run and tumble, p = 1.5", 200, dict(motion="run_and_tumble", fill=0.85, power=1.5, grid=128)),
    ("active Brownian 3D, 32³", 100, dict(motion="active_brownian", fill=0.9, dim=3, grid=32)),
]


def run(n: int, seed: int, kwargs: dict):
    swarm = Swarm(n, seed=seed, **kwargs)
    for _ in range(WARMUP):
        swarm.step()
    times, error = [], 0.0
    for _ in range(STEPS):
        start = time.perf_counter()
        state = swarm.step()
        times.append(time.perf_counter() - start)
        if len(state.volumes):
            error = max(error, float(np.abs(state.volumes.numpy() / swarm.volume - 1).max()))
    return times, error


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--write", default=None)
    args = parser.parse_args()
    from bench_sinkhorn import machine, replace_block

    cases = [(label, path, n, kw) for label, path, kw in CASES for n in SIZES]
    cases += [(label, "grid", n, kw) for label, n, kw in GRID_CASES]
    lines = [f"### Incompressible swarms (`benchmarks/bench_swarms.py`) — {machine('cpu')}", "",
             f"Measured {datetime.date.today()}: milliseconds per `Swarm.step()` (motion, volume solve warm-started, "
             f"centroid correction) after {WARMUP} steps, {STEPS} timed steps per seed, seeds "
             f"{', '.join(map(str, args.seeds))}; median over all steps and the worst step; the largest relative "
             "volume error over the timed steps (exact path tolerance 1e-3, grid path 1e-2).", "",
             "| motion | path | particles | ms per step, median | worst | max volume error |", "|---|---|---|---|---|---|"]
    for label, path, n, kw in cases:
        times, errors = [], []
        for seed in args.seeds:
            t, e = run(n, seed, kw)
            times += t
            errors.append(e)
        row = (f"| {label} | {path} | {n:,} | **{1000 * statistics.median(times):.1f}** | "
               f"{1000 * max(times):.1f} | {max(errors):.1e} |")
        lines.append(row)
        print(row, flush=True)
    if args.write:
        replace_block(args.write, "bench:swarms", lines)


if __name__ == "__main__":
    main()
