"""Serving: ``pn.serve`` of per-session factories for the gallery and each demo."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading

import panel as pn
from panel.io.resources import COMPONENT_PATH
from panel.io.server import ComponentResourceHandler
from tornado.web import HTTPError

from .gallery import ASSETS, DEMOS, gallery
from .upload import CHUNK_BYTES

#: the largest message a page may send; Bokeh closes the websocket above it. Uploads come in chunks of
#: CHUNK_BYTES (with base64 and JSON, ~1.4 MB a message); nothing else a page sends comes near. Bokeh's
#: default, 20 MB, let one message of a misbehaving client take 20 MB of the server's memory.
WEBSOCKET_MAX_BYTES = 4 * CHUNK_BYTES

RAW_CSS = """
body {font-family: system-ui, -apple-system, 'Segoe UI', sans-serif}
"""


class ComponentFiles(ComponentResourceHandler):
    """Panel's handler of the components' own files (``/components/<module>/<class>/<attribute>/<file>``)
    with two holes closed: Panel imports whatever module the URL names (a request could run the import of
    any installed module, with its side effects), here only modules already imported are looked in; and a
    path its lookup cannot follow (``/components/../x``, a resource list that is None) raised an uncaught
    exception (HTTP 500, a traceback in the log), here it is a 404."""

    def parse_url_path(self, path: str) -> str:
        if path.split("/")[0] not in sys.modules:
            raise HTTPError(404, "Module not found")
        try:
            return super().parse_url_path(path)
        except HTTPError:
            raise
        except Exception:
            raise HTTPError(404, "Resource not found") from None


def _page(title, factory):
    def make():
        pn.extension("mathjax", "filedropper", raw_css=[RAW_CSS])
        return pn.Column(factory(), sizing_mode="stretch_width")
    make.__name__ = f"otlab_{title}"
    return make


def routes():
    """URL path -> per-session factory ("/" is the gallery)."""
    pages = {"/": _page("gallery", gallery)}
    pages.update({f"/{d.slug}": _page(d.slug, d.factory) for d in DEMOS})
    return pages


def load_report() -> str:
    """One line on this process's load: sessions alive, their pages' connections, animations running,
    animation runners not yet garbage-collected (a leak check), Panel periodic callbacks, frame jobs
    waiting, computing and computed since the start (counts that say whether anything still works for a
    closed page), threads.
    ``kill -USR1 <pid>`` prints it on the server's output (benchmarks/load.py reads it to check that
    closed sessions leave nothing running)."""
    from . import scheduler
    from .runner import AnimationRunner

    frames = scheduler.shared()
    callbacks = sum(len(cbs) for cbs in list(pn.state._periodic.values()))
    sessions = [session for server, *_ in list(pn.state._servers.values())
                for context in server._tornado.applications.values() for session in list(context.sessions)]
    connections = sum(session.connection_count for session in sessions)
    return (f"otlab load: pid={os.getpid()} sessions={len(sessions)} connections={connections} "
            f"animations={AnimationRunner.running()} runners_alive={AnimationRunner.alive()} "
            f"periodic_callbacks={callbacks} "
            f"frames_waiting={frames.waiting()} frames_running={frames.running()} "
            f"frames_computed={frames.computed} threads={threading.active_count()}")


def _print_load_report(signum, frame):
    """SIGUSR1: the report is printed by the event loop, as its next callback, not by the handler: a signal
    is handled between any two bytecodes, also those of a garbage collection's callbacks."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no event loop in this thread
        print(load_report(), flush=True)
    else:
        loop.call_soon_threadsafe(lambda: print(load_report(), flush=True))


def serve(port=5006, address="127.0.0.1", show=True, websocket_origin=None, num_procs=1, threaded=False):
    """Serve the app; prints the URL. Blocks unless ``threaded`` (then returns the server)."""
    origins = [f"{address}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"] + list(websocket_origin or [])
    url = f"http://{address}:{port}/"
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGUSR1"):
        signal.signal(signal.SIGUSR1, _print_load_report)  # inherited by --num-procs' processes
    print(f"otlab is serving the gallery at {url}", flush=True)
    return pn.serve(routes(), port=port, address=address, show=show, websocket_origin=origins,
                    num_procs=num_procs, static_dirs={"assets": str(ASSETS)}, title="otlab",
                    threaded=threaded, start=True, websocket_max_message_size=WEBSOCKET_MAX_BYTES,
                    extra_patterns=[(rf"/{COMPONENT_PATH}(.*)", ComponentFiles, {})])
