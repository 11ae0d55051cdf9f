"""What a GPU buys a classroom server: the demos on CUDA against the CPU, at the sizes ``otlab serve
--device cuda`` gives new sessions (app/settings.py: 3,000 points per cloud, 100,000 per 3D surface, 128²
grids), at the CPU's defaults (400 points, 5,000 per surface, 64²) and between.

Each model is stepped headless (no browser, no Panel) and timed by what its user waits for:

* annealing, flows (a frame per update of the animation): the median and the worst of ``--frames`` frames
  after the first (the first builds the problem);
* barycenters (frames compute for at most ``FRAME_SECONDS`` each until the barycenter settles): the time
  from a new problem to the settled picture (the frames' total until ``version`` stops changing);
* 3D shapes (one solve per new pair of shapes, then playback of t): the first frame, which solves.

The CPU runs with ``--cpu-threads`` torch threads (2: the cores of a small classroom server). Two seeds
(each model's ``seed``) per size.

Usage: python benchmarks/bench_gpu_frames.py [--frames 20] [--cpu-threads 2] [--write docs/benchmarks.md]
"""
from __future__ import annotations

import argparse
import datetime
import statistics
import time

import torch

from otlab.app.settings import cloud_size, grid_side, surface_points
from otlab.demos.annealing.model import AnnealingModel
from otlab.demos.barycenters.model import BarycentersModel
from otlab.demos.flows.model import FlowsModel
from otlab.demos.shapes3d.model import ShapesModel

#: at most this many frames for a barycenter to settle
SETTLE_FRAMES = 400


def synchronize(device):
    if device == "cuda":
        torch.cuda.synchronize()


def timed_step(model, device):
    """(seconds, frame) of one ``step()``."""
    start = time.perf_counter()
    frame = model.step()
    synchronize(device)
    return time.perf_counter() - start, frame


def animation(model, device, frames):
    """(median, worst) seconds of ``frames`` frames after the first."""
    timed_step(model, device)
    times = [timed_step(model, device)[0] for _ in range(frames)]
    return statistics.median(times), max(times)


def settling(model, device, frames):
    """(seconds, frames) from a new problem to the settled picture (``version`` unchanged by a frame)."""
    total, version = 0.0, None
    for k in range(SETTLE_FRAMES):
        seconds, frame = timed_step(model, device)
        if frame.version == version:
            return total, k
        total, version = total + seconds, frame.version
    return float("inf"), SETTLE_FRAMES


def solving(model, device, frames):
    """(seconds of the first frame (the solve), seconds of a playback frame)."""
    return timed_step(model, device)[0], timed_step(model, device)[0]


#: the sizes ``otlab serve`` gives new sessions on each device (app/settings.py)
DEFAULTS = [("GPU default", "cuda"), ("CPU default", "cpu")]
#: (demo, model class, what is timed and how it reads, sizes: [(label, parameters)])
CASES = [
    ("annealing", AnnealingModel, animation, "median / worst frame",
     [(label, dict(n_source=cloud_size(d), n_target=cloud_size(d))) for label, d in DEFAULTS]),
    ("flows", FlowsModel, animation, "median / worst frame", [(label, dict(n=cloud_size(d))) for label, d in DEFAULTS]),
    ("barycenters", BarycentersModel, settling, "to settle / frames",
     [(label, dict(resolution=grid_side(d))) for label, d in DEFAULTS]),
    ("shapes3d", ShapesModel, solving, "solve / playback frame",
     [("GPU default", dict(n=surface_points("cuda"))), ("", dict(n=30_000)), ("", dict(n=10_000)),
      ("CPU default", dict(n=surface_points("cpu")))]),
]


def run(model_class, measure, params, device, frames):
    return measure(model_class(device=device, **params), device, frames)


def shown(values):
    return " / ".join(f"{v}" if isinstance(v, int) else f"{v * 1000:.0f} ms" if v < 1 else f"{v:.1f} s"
                      for v in values)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--cpu-threads", type=int, default=2)
    parser.add_argument("--write", help="the Markdown file to record the results in (docs/benchmarks.md)")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        parser.error("needs a CUDA GPU")
    torch.set_num_threads(args.cpu_threads)
    torch.zeros(1, device="cuda")  # CUDA's start-up, outside the timings
    name = torch.cuda.get_device_name()
    lines = [f"Measured {datetime.date.today()} with `benchmarks/bench_gpu_frames.py --frames {args.frames}` on "
             f"{name} against the same machine's CPU with {args.cpu_threads} torch threads (torch "
             f"{torch.__version__}, pure-torch path, no pyKeOps); two seeds per size.", "",
             "| demo | size | timed | GPU, seed 0 | GPU, seed 1 | CPU, seed 0 | CPU, seed 1 |",
             "|---|---|---|---|---|---|---|"]
    for demo, model_class, measure, what, sizes in CASES:
        for label, params in sizes:
            cells = [run(model_class, measure, dict(params, seed=seed), device, args.frames)
                     for device in ("cuda", "cpu") for seed in (0, 1)]
            size = ", ".join(f"{k}={v:,}" for k, v in params.items()) + (f" ({label})" if label else "")
            lines.append(f"| {demo} | {size} | {what} | " + " | ".join(shown(c) for c in cells) + " |")
            print(lines[-1], flush=True)
    print("\n".join(lines))
    if args.write:
        from bench_sinkhorn import replace_block
        replace_block(args.write, "bench:gpu-frames", ["### The demos' frames on a GPU (`benchmarks/bench_gpu_frames.py`)",
                                                      "", *lines])


if __name__ == "__main__":
    main()
