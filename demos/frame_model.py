"""The base of every demo model: parameters, a restart on change, one frame per ``step()``, thread-safe.

A model subclasses :class:`FrameModel` and implements ``_rebuild()`` (build the problem from the
parameters) and ``_next_frame(generation)`` (advance one frame and return it; the frame carries the
generation it was computed for). Any parameter change, except those listed in ``_kept_on_change``,
bumps ``generation`` and marks the model stale; the next :meth:`step` rebuilds first, so a frame
computed for old parameters is recognised (its generation is behind) and dropped by the view.
"""
from __future__ import annotations

import threading

import param


class FrameModel(param.Parameterized):
    """Headless demo model: ``step()`` returns the next frame; ``restart()`` starts again."""

    #: parameters whose change does not restart the model (read by the next frame instead)
    _kept_on_change: tuple = ()

    def __init__(self, **params):
        super().__init__(**params)
        self._lock = threading.Lock()        # guards generation / staleness
        self._step_lock = threading.Lock()   # one step at a time (the runner's thread, a notebook cell)
        self.generation = 0
        self._stale = True
        watched = [p for p in self.param if p != "name" and p not in self._kept_on_change]
        self.param.watch(self._invalidate, watched)

    def _invalidate(self, *_):
        with self._lock:
            self.generation += 1
            self._stale = True

    def restart(self) -> None:
        """Start again from the first frame on the next :meth:`step` (same parameters)."""
        self._invalidate()

    def step(self):
        """Advance one frame (rebuilding first if a parameter changed) and return it. Thread-safe."""
        with self._step_lock:
            with self._lock:
                generation, stale = self.generation, self._stale
                self._stale = False
            if stale:
                try:
                    self._rebuild()
                except Exception:
                    with self._lock:
                        self._stale = True  # retried (and refused again, with its message) on the next step
                    raise
            return self._next_frame(generation)

    def _rebuild(self) -> None:
        raise NotImplementedError

    def _next_frame(self, generation: int):
        raise NotImplementedError
