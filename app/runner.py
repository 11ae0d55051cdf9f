"""The animation runner: one per session, frames computed by the server's shared workers, dropped not queued.

A cheap timer (Tornado's, on the session's event loop) polls every ``POLL_MS``; when there is something to
do — the worker's frame is ready and due (``speed`` frames per second), a frame is wanted and none is in
flight, or the busy indicator must show — it runs :meth:`_tick` inside the session's document (Bokeh's
``add_next_tick_callback``, which holds the document's lock and sends the changes; in Jupyter, directly).
There the frame is applied (Bokeh models are only touched there) and, when playing, the next frame is
submitted at once so that it computes while this one is on screen. At most one frame is ever in flight or
waiting, so a slow computation drops frames instead of queueing them, and sliders stay responsive (the
event loop never waits for the solver). A frame computed for stale parameters (the model's
``generation`` moved on) is discarded. ``stop()`` ends everything; views call it when their session is
destroyed. A session whose page has closed (no connection) computes nothing and polls once a second while
it waits to be destroyed.

Frames are computed by the process's :class:`~otlab.app.scheduler.FrameScheduler` (one worker per core,
the least-served session first); when this session's frames wait longer than a frame's period for a
worker, ``slowed`` is set and the player says the server is busy.

Measured with 10 sessions on 2 cores: Panel's periodic callbacks every 15 ms (its busy-state bookkeeping,
ids, logging) took a third of the event loop's time; the plain timer costs a few microseconds a tick.
"""
from __future__ import annotations

import gc
import time
import traceback
import weakref
from typing import Any, Callable, Optional

import panel as pn
import param
from panel.io.document import hold
from tornado.ioloop import PeriodicCallback

from . import scheduler as scheduling

#: how often the event loop checks the worker (ms)
POLL_MS = 15
#: how often it checks while no browser shows the session (a closed page waiting to be destroyed)
IDLE_POLL_MS = 1000
#: a frame that takes longer than this shows the "busy" indicator (s)
BUSY_AFTER = 0.5


class AnimationRunner(param.Parameterized):
    """Runs ``compute()`` (a frame worker) and ``apply(frame)`` (the session's document) as an animation.

    ``is_current(frame)`` tells whether a finished frame still matches the model's parameters.
    """

    playing = param.Boolean(default=False, doc="play (True) or pause")
    speed = param.Integer(default=30, bounds=(1, 60), doc="target frames per second")
    fps = param.Number(default=0.0, constant=True, doc="frames per second actually applied")
    frames = param.Integer(default=0, constant=True, doc="frames applied since the start")
    busy = param.Boolean(default=False, constant=True, doc="a frame has been computing for > BUSY_AFTER s")
    slowed = param.Boolean(default=False, constant=True,
                           doc="frames wait for a worker longer than a frame's period: the server is busy")
    error = param.String(default="", constant=True, doc="the last computation error, shown to the user")

    _running = weakref.WeakSet()  # the runners whose timer runs, for the server's load report
    _alive = weakref.WeakSet()  # every runner not yet garbage-collected (a leak check)

    @classmethod
    def running(cls) -> int:
        """How many runners of this process have a running timer (started and not stopped)."""
        return len(cls._running)

    @classmethod
    def alive(cls) -> int:
        """How many runners of this process still exist (after a garbage collection): once every session
        is destroyed, 0 unless something keeps a session's objects. Counts the runners themselves, not the
        set's length: asked from inside a collection (a weak-reference callback or finalizer runs Python
        code, and a signal handler or another thread can run then), ``gc.collect()`` does nothing and the
        set still holds the references that collection has cleared but not yet removed (18 runners of
        destroyed sessions were counted so in a CI run)."""
        gc.collect()
        return sum(1 for _ in cls._alive)

    def __init__(self, compute: Callable[[], Any], apply: Callable[[Any], None],
                 is_current: Callable[[Any], bool] = lambda frame: True,
                 scheduler: Optional[scheduling.FrameScheduler] = None, **params):
        super().__init__(**params)
        AnimationRunner._alive.add(self)
        self._compute, self._apply, self._is_current = compute, apply, is_current
        self._scheduler = scheduler  # None: the process's shared scheduler
        self._account = scheduling.Account()
        self._future = None
        self._submitted_at = 0.0
        self._last_frame_at = None
        self._want_one = True  # show the first frame even when paused
        self._timer = None
        self._doc = None  # the served session's document, None in Jupyter and tests
        self._tick_pending = False
        self._stopped = False
        self._session = None  # the served session (Bokeh's ServerSession), None in Jupyter and tests

    def start(self):
        """Start polling (idempotent). Call from the session (or notebook) that shows the animation."""
        if self._timer is None and not self._stopped:
            doc = pn.state.curdoc
            context = getattr(doc, "session_context", None)
            self._session = getattr(context, "_session", None)
            self._doc = doc if context is not None else None
            self._timer = PeriodicCallback(self._poll, POLL_MS)
            self._timer.start()
            AnimationRunner._running.add(self)
        return self

    def watched(self) -> bool:
        """Whether a browser shows the animation: the served session has a connection (always True outside
        a server). Bokeh keeps a closed page's session 15–30 s before destroying it; meanwhile nothing is
        computed for it."""
        return self._session is None or self._session.connection_count > 0

    def request_frame(self):
        """Compute one frame even while paused (after a step press or a parameter change)."""
        self._want_one = True

    def stop(self, wait: bool = False):
        """Stop the loop; a frame still waiting for a worker is dropped. ``wait``: also block until a frame
        already computing has finished (then the model is the caller's alone, e.g. to step it in Jupyter)."""
        self._stopped = True
        self.playing = False
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        AnimationRunner._running.discard(self)
        if self._future is not None and not self._future.cancel() and wait:
            self._future.exception()  # waits; the frame's own error, if any, is not the caller's

    @param.depends("playing", watch=True)
    def _paused(self):
        if not self.playing and self.slowed:
            with param.edit_constant(self):
                self.slowed = False

    def _poll(self):
        """The timer's tick, outside the document: cheap checks; any work goes to :meth:`_tick`."""
        watched = self.watched()
        period = POLL_MS if watched else IDLE_POLL_MS  # a closed page: nothing to show until it is destroyed
        if self._timer is not None and self._timer.callback_time != period:
            self._timer.callback_time = period
        if self._tick_pending or self._next_action(time.perf_counter(), watched) is None:
            return
        if self._doc is None:
            self._tick()
        else:
            self._tick_pending = True
            self._doc.add_next_tick_callback(self._tick_in_document)

    def _tick_in_document(self):
        self._tick_pending = False
        if not self._stopped:
            self._tick()

    def _next_action(self, now: float, watched: bool) -> Optional[str]:
        """What a tick would do now: "busy" (show the indicator), "finish" (apply the ready frame),
        "submit" (start the next frame) or None."""
        if self._future is not None:
            if not self._future.done():
                return "busy" if now - self._submitted_at > BUSY_AFTER and not self.busy else None
            # due at the tick nearest to one period after the last frame: with a strict ">=", ticks every
            # 15 ms and a 33 ms period showed frames every 45 ms (22 fps at "30 fps")
            due = self._last_frame_at is None or now - self._last_frame_at >= 1.0 / self.speed - POLL_MS / 2000
            return "finish" if due or self._want_one else None  # early: shown when due (the only one kept)
        return "submit" if (self._want_one or self.playing) and watched and not self._stopped else None

    def _tick(self):
        now = time.perf_counter()
        watched = self.watched()
        action = self._next_action(now, watched)
        if action == "busy":
            with param.edit_constant(self):
                self.busy = True
            return
        if action == "finish":
            self._finish(self._future, now)
            self._future = None
            action = self._next_action(now, watched)
        if action == "submit":  # compute the next frame right away, while this one is on screen
            self._want_one = False
            self._submitted_at = now
            self._future = (self._scheduler or scheduling.shared()).submit(self._account, self._compute)

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
            threshold = (0.5 if self.slowed else 1.0) / self.speed  # on past a period of waiting, off below half
            slowed = self.playing and self._account.waited > threshold
            if slowed != self.slowed:
                self.slowed = slowed
            fps = self.fps
            if self._last_frame_at is not None:
                rate = 1.0 / max(now - self._last_frame_at, 1e-6)
                fps = rate if self.fps == 0 else 0.8 * self.fps + 0.2 * rate
            self._last_frame_at = now
            with hold():  # the frame's model changes go to the browser as one message
                self._apply(frame)
                self.param.update(fps=fps, frames=self.frames + 1)  # one event for the player's readout
