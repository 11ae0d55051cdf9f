"""One pool of frame workers for the whole server, shared fairly between the sessions.

Every session's next frame is a job for the same few worker threads (``workers``, by default one per
usable core). Among the waiting jobs, a worker takes the one whose session has used the least compute
*lately*: each session (an :class:`Account`) carries its recent service

    S(t) = Σ_frames  seconds_k · exp(−(t − t_k) / TAU)        (seconds; t_k: when frame k ended)

so S/TAU is its recent duty (compute seconds per second). Smallest S first is max–min fairness on duty:
a session of 2 ms frames at 30 frames/s (duty 0.06) is served as soon as a worker frees, ahead of any
session computing flat out, which share what is left equally (a waiting session's S decays until it is
the smallest). A newcomer (S = 0) gets its first frames next: a new page shows up at once. It cannot
take the workers over while it catches up, since a session has one frame in flight at most: it is
served at most every other frame for a fraction of TAU. With as many workers as cores, frames do not fight each
other for the cores (50 sessions used to mean 50 threads on 2 cores, each frame taking 25 times its time).

Start-time fair queueing (cumulative service, a virtual clock) was tried first: a session that is never
backlogged — one frame in flight, the next submitted only after it is shown, as the runner does — got one
frame per round of the others: 2 ms frames every 160 ms behind four sessions of 40 ms frames.

An account also records how long its jobs waited in the queue (``waited``, exponentially averaged), the
measure behind the player's "server busy" message.
"""
from __future__ import annotations

import itertools
import math
import os
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable, Optional

#: environment variable: the number of frame workers (default: the usable cores)
WORKERS_ENV = "OTLAB_FRAME_WORKERS"


def default_workers() -> int:
    """``$OTLAB_FRAME_WORKERS`` if set (a positive integer), else the cores this process may use."""
    text = os.environ.get(WORKERS_ENV)
    if text is None:
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{WORKERS_ENV} must be a positive integer, got {text!r}")
    return int(text)


#: frames are background work: pages, websockets and the other processes of the machine come first
WORKER_NICENESS = 10
#: the time scale of "lately" (s)
TAU = 1.0


class Account:
    """A session's standing with the scheduler: its recent service S (s) and how long its jobs waited."""

    def __init__(self):
        self.service = 0.0  # S at ``stamp``
        self.stamp = None  # clock time of the last update; None: never served
        self.waited = 0.0  # exponential average of the seconds its jobs waited for a worker
        self.last_wait = 0.0

    def recent(self, now: float) -> float:
        """S(now): the compute it received lately (s), decayed with TAU."""
        return 0.0 if self.stamp is None else self.service * math.exp(-(now - self.stamp) / TAU)

    def charge(self, seconds: float, now: float) -> None:
        self.service, self.stamp = self.recent(now) + seconds, now


class FrameScheduler:
    """``submit(account, fn)`` → a Future; ``workers`` daemon threads run the least-served session first.

    ``clock``: the time (s) that service and waits are measured in, ``time.perf_counter`` by default (the
    tests pass a clock that only moves when their jobs say, so that who is served when is the same on a
    busy machine as on an idle one). ``computed`` counts the jobs run, ``running()`` the ones in progress.
    """

    def __init__(self, workers: int, clock: Callable[[], float] = time.perf_counter):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self.clock = clock
        self.computed = 0
        self._running = 0
        self._queue = []  # (order, account, fn, future, submitted_at)
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._threads = []

    def submit(self, account: Account, fn: Callable[[], Any]) -> Future:
        future = Future()
        with self._ready:
            if len(self._threads) < self.workers:  # started on first use, then kept for the process
                thread = threading.Thread(target=self._work, name=f"otlab-frame-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()
            self._queue.append((next(self._order), account, fn, future, self.clock()))
            self._ready.notify()
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future) -> None:
        """A job cancelled while waiting leaves the queue at once: it held its session's frame function
        (and so its model and runner) until a worker came to it, minutes on a loaded server."""
        if future.cancelled():
            with self._ready:
                self._queue = [job for job in self._queue if job[3] is not future]

    def waiting(self) -> int:
        """Jobs waiting for a worker."""
        with self._ready:
            return len(self._queue)

    def running(self) -> int:
        """Jobs a worker is computing now."""
        with self._ready:
            return self._running

    def _take(self):
        """The waiting job whose session has the least recent service (the oldest on a tie)."""
        with self._ready:
            while not self._queue:
                self._ready.wait()
            now = self.clock()
            best = min(range(len(self._queue)), key=lambda k: (self._queue[k][1].recent(now), self._queue[k][0]))
            self._running += 1
            return self._queue.pop(best)

    def _work(self):
        if hasattr(os, "setpriority"):  # Linux: a thread's id sets that thread's niceness alone
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICENESS)
            except OSError:
                pass
        while True:
            self._run(*self._take())  # nothing of a job outlives it here (a worker kept its last session alive)

    def _run(self, _, account, fn, future, submitted):
        if not future.set_running_or_notify_cancel():
            with self._ready:
                self._running -= 1
            return  # cancelled while waiting (its session stopped)
        started = self.clock()
        account.last_wait = started - submitted
        account.waited = 0.7 * account.waited + 0.3 * account.last_wait
        try:
            result, error = fn(), None
        except BaseException as err:  # delivered to the session, which shows it; the worker lives on
            result, error = None, err
        ended = self.clock()
        with self._ready:  # charged before the session can submit again
            account.charge(ended - started, ended)
            self._running -= 1
            self.computed += 1
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)


_shared: Optional[FrameScheduler] = None
_shared_lock = threading.Lock()


def shared() -> FrameScheduler:
    """The process's scheduler (created on first use with :func:`default_workers`)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = FrameScheduler(default_workers())
        return _shared
