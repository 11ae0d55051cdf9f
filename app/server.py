"""Serving: ``pn.serve`` of per-session factories for the gallery and each demo."""
from __future__ import annotations

import os
import signal
import threading

import panel as pn

from otlab.demos.meshes import MAX_BYTES as LARGEST_UPLOAD

from .gallery import ASSETS, DEMOS, gallery

#: Bokeh closes a websocket on a message above its limit (20 MB by default), and the page freezes. An
#: upload travels base64-encoded in one message (4/3 of the file, plus JSON): twice the largest file
#: the demos accept (a 20 MB mesh) lets every acceptable file arrive and be checked by the server.
WEBSOCKET_MAX_BYTES = 2 * LARGEST_UPLOAD

RAW_CSS = """
body {font-family: system-ui, -apple-system, 'Segoe UI', sans-serif}
"""


def _page(title, factory):
    def make():
        pn.extension("mathjax", raw_css=[RAW_CSS])
        return pn.Column(factory(), sizing_mode="stretch_width")
    make.__name__ = f"otlab_{title}"
    return make


def routes():
    """URL path -> per-session factory ("/" is the gallery)."""
    pages = {"/": _page("gallery", gallery)}
    pages.update({f"/{d.slug}": _page(d.slug, d.factory) for d in DEMOS})
    return pages


def load_report() -> str:
    """One line on this process's load: sessions alive, animations running, Panel periodic callbacks,
    frame jobs waiting, threads. ``kill -USR1 <pid>`` prints it on the server's output (benchmarks/load.py
    reads it to check that closed sessions leave nothing running)."""
    from . import scheduler
    from .runner import AnimationRunner

    callbacks = sum(len(cbs) for cbs in list(pn.state._periodic.values()))
    sessions = sum(len(list(context.sessions)) for server, *_ in list(pn.state._servers.values())
                   for context in server._tornado.applications.values())
    return (f"otlab load: pid={os.getpid()} sessions={sessions} "
            f"animations={AnimationRunner.running()} periodic_callbacks={callbacks} "
            f"frames_waiting={scheduler.shared().waiting()} threads={threading.active_count()}")


def _print_load_report(signum, frame):
    print(load_report(), flush=True)


def serve(port=5006, address="127.0.0.1", show=True, websocket_origin=None, num_procs=1, threaded=False):
    """Serve the app; prints the URL. Blocks unless ``threaded`` (then returns the server)."""
    origins = [f"{address}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"] + list(websocket_origin or [])
    url = f"http://{address}:{port}/"
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGUSR1"):
        signal.signal(signal.SIGUSR1, _print_load_report)  # inherited by --num-procs' processes
    print(f"otlab is serving the gallery at {url}", flush=True)
    return pn.serve(routes(), port=port, address=address, show=show, websocket_origin=origins,
                    num_procs=num_procs, static_dirs={"assets": str(ASSETS)}, title="otlab",
                    threaded=threaded, start=True, websocket_max_message_size=WEBSOCKET_MAX_BYTES)
