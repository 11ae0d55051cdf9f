"""The animation runner: one loop per session, the work in a worker thread, frames dropped not queued.

A periodic callback on the session's event loop polls every ``POLL_MS``: when the worker's frame is
ready and due (``speed`` frames per second), it is applied (on the event loop, so Bokeh models are only
touched there) and, when playing, the next frame is submitted at once so that it computes while this
one is on screen. At most one frame is ever in flight or waiting, so a slow computation drops frames
instead of queueing them, and sliders stay responsive (the event loop never waits for the solver). A
frame computed for stale parameters (the model's ``generation`` moved on) is discarded. ``stop()`` ends
everything; views call it when their session is destroyed. A session whose page has closed (no
connection) computes nothing and polls once a second while it waits to be destroyed.

The same runner works in a served app and in Jupyter (both run periodic callbacks on their IOLoop).
"""
from __future__ import annotations

import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import panel as pn
import param
from panel.io.document import hold

#: how often the event loop checks the worker (ms)
POLL_MS = 15
#: how often it checks while no browser shows the session (a closed page waiting to be destroyed)
IDLE_POLL_MS = 1000
#: a frame that takes longer than this shows the "busy" indicator (s)
BUSY_AFTER = 0.5


class AnimationRunner(param.Parameterized):
    """Runs ``compute()`` (worker thread) and ``apply(frame)`` (event loop) as an animation.

    ``is_current(frame)`` tells whether a finished frame still matches the model's parameters.
    """

    playing = param.Boolean(default=False, doc="play (True) or pause")
    speed = param.Integer(default=30, bounds=(1, 60), doc="target frames per second")
    fps = param.Number(default=0.0, constant=True, doc="frames per second actually applied")
    frames = param.Integer(default=0, constant=True, doc="frames applied since the start")
    busy = param.Boolean(default=False, constant=True, doc="a frame has been computing for > BUSY_AFTER s")
    error = param.String(default="", constant=True, doc="the last computation error, shown to the user")

    def __init__(self, compute: Callable[[], Any], apply: Callable[[Any], None],
                 is_current: Callable[[Any], bool] = lambda frame: True, **params):
        super().__init__(**params)
        self._compute, self._apply, self._is_current = compute, apply, is_current
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="otlab-frame")
        self._future = None
        self._submitted_at = 0.0
        self._last_frame_at = None
        self._want_one = True  # show the first frame even when paused
        self._callback = None
        self._stopped = False
        self._session = None  # the served session (Bokeh's ServerSession), None in Jupyter and tests

    def start(self):
        """Start polling (idempotent). Call from the session (or notebook) that shows the animation."""
        if self._callback is None and not self._stopped:
            context = getattr(pn.state.curdoc, "session_context", None)
            self._session = getattr(context, "_session", None)
            self._callback = pn.state.add_periodic_callback(self._tick, period=POLL_MS)
        return self

    def watched(self) -> bool:
        """Whether a browser shows the animation: the served session has a connection (always True outside
        a server). Bokeh keeps a closed page's session 15–30 s before destroying it; meanwhile nothing is
        computed for it."""
        return self._session is None or self._session.connection_count > 0

    def request_frame(self):
        """Compute one frame even while paused (after a step press or a parameter change)."""
        self._want_one = True

    def stop(self):
        """Stop the loop and the worker; pending work is dropped."""
        self._stopped = True
        self.playing = False
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _tick(self):
        now = time.perf_counter()
        watched = self.watched()
        period = POLL_MS if watched else IDLE_POLL_MS  # measured: ticks every 15 ms cost ~0.04 core a session
        if self._callback is not None and self._callback.period != period:
            self._callback.period = period
        if self._future is not None:
            if not self._future.done():
                if now - self._submitted_at > BUSY_AFTER and not self.busy:
                    with param.edit_constant(self):
                        self.busy = True
                return
            # due at the tick nearest to one period after the last frame: with a strict ">=", ticks every
            # 15 ms and a 33 ms period showed frames every 45 ms (22 fps at "30 fps")
            due = self._last_frame_at is None or now - self._last_frame_at >= 1.0 / self.speed - POLL_MS / 2000
            if not (due or self._want_one):
                return  # the next frame is ready early: show it when due (it is the only one kept)
            self._finish(self._future, now)
            self._future = None
        if (self._want_one or self.playing) and watched:
            # compute the next frame right away, while this one is on screen
            self._want_one = False
            self._submitted_at = now
            self._future = self._executor.submit(self._compute)

    def _finish(self, future, now):
        with param.edit_constant(self):
            self.busy = False
            try:
                frame = future.result()
            except Exception as err:  # a bad parameter combination must not kill the session
                self.error = f"{type(err).__name__}: {err}"
                self.playing = False
                traceback.print_exc()
                return
            if not self._is_current(frame):
                self._want_one = True  # parameters changed meanwhile: compute a fresh frame now
                return
            if self.error:
                self.error = ""
            fps = self.fps
            if self._last_frame_at is not None:
                rate = 1.0 / max(now - self._last_frame_at, 1e-6)
                fps = rate if self.fps == 0 else 0.8 * self.fps + 0.2 * rate
            self._last_frame_at = now
            with hold():  # the frame's model changes go to the browser as one message
                self._apply(frame)
                self.param.update(fps=fps, frames=self.frames + 1)  # one event for the player's readout
