"""``otlab serve``: the gallery and every demo, one fresh set of objects per browser session."""
from __future__ import annotations

import argparse
import os
import sys
import time

from .scheduler import WORKERS_ENV, default_workers
from .settings import DEVICE_ENV

#: Python's allocator choice, read at start-up (see :func:`run`)
MALLOC_ENV = "PYTHONMALLOC"


def warm_up(device: str, out=sys.stdout) -> None:
    """Run each solver path once (small sizes) so the first visitor does not wait, with a progress bar."""
    import torch

    from otlab.core import solve

    jobs = [("online", 300), ("multiscale", 3000), ("tensorized", 60)]
    x = torch.rand(3000, 2, device=device)
    for k, (backend, n) in enumerate(jobs, 1):
        start = time.perf_counter()
        solve(x[:n], x[:n].flip(1), backend=backend)
        bar = "#" * (20 * k // len(jobs))
        out.write(f"\rwarming up solvers [{bar:<20}] {k}/{len(jobs)} {backend} ({time.perf_counter() - start:.2f}s)")
        out.flush()
    out.write("\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="otlab", description="otlab: optimal transport you can watch converge")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the gallery and the demos")
    serve.add_argument("--port", type=int, default=5006)
    serve.add_argument("--address", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--show", action=argparse.BooleanOptionalAction, default=True,
                       help="open a browser tab (default: yes)")
    serve.add_argument("--device", choices=["cpu", "cuda", "auto"], default="auto")
    serve.add_argument("--allow-websocket-origin", action="append", default=None, metavar="HOST[:PORT]",
                       help="extra origins allowed to connect (repeatable)")
    serve.add_argument("--num-procs", type=int, default=1, help="server processes (0: one per core)")
    serve.add_argument("--frame-workers", type=int, default=None, metavar="N",
                       help="threads computing frames, per process (default: the cores / the processes)")
    serve.add_argument("--no-warm-up", action="store_true", help="skip the solver warm-up")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    os.environ[DEVICE_ENV] = args.device
    if args.frame_workers is not None:
        if args.frame_workers < 1:
            print(f"otlab: --frame-workers must be >= 1, got {args.frame_workers}", file=sys.stderr)
            return 2
        os.environ[WORKERS_ENV] = str(args.frame_workers)  # read by each process's scheduler
    elif args.num_procs != 1 and WORKERS_ENV not in os.environ:  # the processes share the cores
        cores = default_workers()
        os.environ[WORKERS_ENV] = str(max(1, cores // (args.num_procs or cores)))
    from .settings import default_device
    device = default_device()  # validates, e.g. --device cuda without a GPU
    if device == "cuda":
        import torch
        if not torch.cuda.is_available():
            print("otlab: --device cuda asked for, but torch sees no CUDA device", file=sys.stderr)
            return 2
    if not args.no_warm_up:
        warm_up(device)
    from .server import serve
    serve(port=args.port, address=args.address, show=args.show, websocket_origin=args.allow_websocket_origin,
          num_procs=args.num_procs)
    return 0


def run(argv=None) -> int:
    """The ``otlab`` command: :func:`main`, in a Python whose small objects come from the C library's
    malloc. A server lives for hours and sees hundreds of sessions come and go: with Python's own small-
    object allocator its memory grew 0.3–0.8 MB per session opened and closed (its arenas are given back
    only when empty, and a session's objects leave them fragmented; no object was left behind), with the C
    library's (and freed pages given back, ``app/memory.py``) 0.04 MB. ``PYTHONMALLOC`` is read when
    Python starts, so the command starts again with it set (unless it is set already)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"] and MALLOC_ENV not in os.environ:
        os.execve(sys.executable, [sys.executable, "-m", "otlab.app", *argv],
                  dict(os.environ, **{MALLOC_ENV: "malloc"}))
    return main(argv)


if __name__ == "__main__":
    sys.exit(run())
