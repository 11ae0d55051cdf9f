"""File uploads for the demos: sizes checked in the browser and on the server, files sent in chunks.

Panel's ``FileInput`` sends a whole file, base64-encoded, in one websocket message, and checks no size
first: a file over the server's message limit closed the connection and froze the page (a 30 MB mesh,
with the limit at 40 MB). :class:`Upload` is Panel's ``FileDropper`` (FilePond in the browser): a file
over the limit is refused by the browser before anything is sent, with FilePond's "File is too large"
beside it, and an accepted file travels in ``CHUNK_BYTES`` pieces. The browser's check only spares the
upload: the server keeps at most ``max_bytes`` of one file at a time in memory (a client that ignores
the limit has its file dropped and is told so), and the views check type and content where they read it.
"""
from __future__ import annotations

from typing import Callable

import panel as pn
import param
from panel.viewable import Viewer

#: bytes per websocket message of an upload (far under Bokeh's message limit)
CHUNK_BYTES = 1_000_000


class BoundedFileDropper(pn.widgets.FileDropper):
    """A FileDropper whose server side holds at most ``limit`` bytes of one file at a time; a file that
    would exceed it is dropped and ``refused(filename)`` called."""

    limit = param.Integer(default=2 ** 20, bounds=(1, None), doc="most bytes of a file kept (server side)")
    refused = param.Callable(default=None, doc="called with the filename of a file dropped for its size")

    _rename = {**pn.widgets.FileDropper._rename, "limit": None, "refused": None}

    def _process_event(self, event):
        data = event.data
        if event.event_name == "upload_event":
            name = data["name"]
            if data["chunk"] != 1 and name not in self._file_buffer:
                return  # the rest of a file already dropped
            kept = self._file_buffer.get(name, []) if data["chunk"] != 1 else []
            others = [other for other in self._file_buffer if other != name]  # one file at a time
            if others or sum(map(len, kept)) + len(data["data"]) > self.limit:
                for dropped in others + [name]:
                    self._file_buffer.pop(dropped, None)
                if self.refused is not None:
                    self.refused(name)
                return
        super()._process_event(event)


class Upload(Viewer):
    """A drop zone for one file of at most ``max_bytes``: ``on_file(filename, data)`` is called once for each
    file dropped or chosen (its exceptions are the caller's to catch and show); ``say(text)`` tells the
    user when the server drops a file over the limit."""

    def __init__(self, on_file: Callable[[str, bytes], None], say: Callable[[str], None], max_bytes: int,
                 css_class: str, width: int = 270):
        super().__init__()
        self._on_file, self._say, self._max_bytes = on_file, say, max_bytes
        # FilePond reads "MB" as 10⁶ bytes: whole mebibytes of the server's limit, said as MB, stay under it
        self.widget = BoundedFileDropper(max_file_size=f"{max(1, max_bytes // 2 ** 20)}MB", chunk_size=CHUNK_BYTES,
                                         limit=max_bytes, refused=self._refused, multiple=False, layout="compact",
                                         previews=[], width=width, css_classes=[css_class])
        self._handed = {}  # filename -> the data handed over (FileDropper updates its dict in place)
        self.widget.param.watch(self._changed, "value")

    def _changed(self, event):
        for name, data in list(event.new.items()):
            if self._handed.get(name) is not data:
                self._handed[name] = data
                self._on_file(name, data if isinstance(data, bytes) else data.encode())  # text files come decoded

    def _refused(self, filename: str):
        limit = self._max_bytes
        size = f"{limit // 2 ** 20} MB" if limit >= 2 ** 20 else f"{limit:,} bytes"
        self._say(f"'{filename}' is over {size}: refused.")

    def __panel__(self):
        return self.widget
