"""Giving freed memory back to the operating system after sessions end.

A destroyed session's objects are collected (the server's load report counts them), but the freed memory
stays in the allocators' heaps: over 200 sessions opened and closed, a server's resident memory grew 33%
with no Python object left behind (the objects' count was the same after 24 sessions and after 104).
``malloc_trim(0)`` returns glibc's free pages (+14% then); the rest was Python's small-object arenas,
which ``otlab serve`` avoids by running with ``PYTHONMALLOC=malloc`` (``app/cli.py``: flat, −4% over 64
sessions).
:func:`release_soon` runs one garbage collection and one trim a few seconds after the last of a burst of
destroyed sessions (a class leaving at once costs one, not fifty).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc

#: seconds between a session's end and the clean-up (later ends in that time join it)
DELAY_S = 3.0

_pending = None


@functools.lru_cache(maxsize=None)
def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none. Looked up once: ``find_library``
    runs ``ldconfig`` in a subprocess, and the clean-up runs on the event loop."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None


def _trim():
    """``malloc_trim(0)`` where the C library has it (glibc); elsewhere nothing."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def release_now() -> None:
    """Collect garbage, then give the C heap's free pages back."""
    global _pending
    _pending = None
    gc.collect()
    _trim()


def release_soon() -> None:
    """Schedule :func:`release_now` on the current event loop in ``DELAY_S`` (once for a burst)."""
    global _pending
    if _pending is None:
        from tornado.ioloop import IOLoop
        _pending = IOLoop.current().call_later(DELAY_S, release_now)
