"""Serving: ``pn.serve`` of per-session factories for the gallery and each demo."""
from __future__ import annotations

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


def serve(port=5006, address="127.0.0.1", show=True, websocket_origin=None, num_procs=1, threaded=False):
    """Serve the app; prints the URL. Blocks unless ``threaded`` (then returns the server)."""
    origins = [f"{address}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"] + list(websocket_origin or [])
    url = f"http://{address}:{port}/"
    print(f"otlab is serving the gallery at {url}", flush=True)
    return pn.serve(routes(), port=port, address=address, show=show, websocket_origin=origins,
                    num_procs=num_procs, static_dirs={"assets": str(ASSETS)}, title="otlab",
                    threaded=threaded, start=True, websocket_max_message_size=WEBSOCKET_MAX_BYTES)
