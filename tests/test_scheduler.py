"""The frame scheduler: the session served least lately first, newcomers level with the others, errors
delivered.

Who is served when is measured on a clock of the test's own (:class:`Clock`): it moves only when a job
says how long it took, so the order and the waits are the same on an idle machine and on a busy one. A
session's next frame is submitted from inside its frame, as the one worker runs it: when the worker picks
the next job, every session's frame is waiting and every account is up to date, with no race between
threads (a playing runner does the same a poll later)."""
import gc
import threading
import weakref

import pytest

from otlab.app import scheduler as scheduling
from otlab.app.scheduler import Account, FrameScheduler


class Clock:
    """Seconds that pass only when :meth:`advance` says."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


#: how often a frame in progress lets the other sessions poll (s): the frames below last whole ticks
TICK = 0.002


class Session:
    """Keeps one frame of ``seconds`` in the scheduler until the clock reaches ``until``: flat out (the next
    frame submitted as one ends), or every ``period`` s as a runner playing at 1/period frames/s does (the
    next frame submitted by :meth:`poll` once a period has passed since the last one started; the other
    sessions' frames call it every ``TICK`` s while they compute, as the runner's timer polls). Records
    the clock when each frame ended and how long each waited."""

    def __init__(self, pool, clock, seconds, until, period=None, during=None):
        self.pool, self.clock, self.seconds, self.until, self.period = pool, clock, seconds, until, period
        self.during = during  # called every TICK s of each frame (a runner's poll, a newcomer arriving)
        self.account, self.finished, self.waits = Account(), [], []
        self.done = threading.Event()
        self.due = None  # paced: when the next frame is due, None while one is in the scheduler

    def submit(self):
        self.due = None
        self.pool.submit(self.account, self.frame)

    def poll(self):
        if self.due is not None and self.clock.now >= self.due:
            self.submit()

    def frame(self):
        self.waits.append(self.account.last_wait)
        started = self.clock.now
        for _ in range(round(self.seconds / TICK)):
            self.clock.advance(TICK)
            if self.during is not None:
                self.during()
        self.finished.append(self.clock.now)
        if self.clock.now >= self.until:
            self.done.set()
        elif self.period is None:
            self.submit()
        else:
            self.due = started + self.period


def play(pool, sessions):
    """Start ``sessions`` together (their first frames queued behind a gate) and wait until all stop."""
    gate = threading.Event()
    pool.submit(Account(), lambda: gate.wait(30))
    for s in sessions:
        s.submit()
    gate.set()
    for s in sessions:
        assert s.done.wait(60), "a session's frames stopped coming"


def test_a_cheap_session_waits_for_one_expensive_frame_not_for_all():
    """One worker, four sessions of 40 ms frames flat out and one of 2 ms frames playing at 30 frames/s
    (duty 0.06), for 1.2 s: once past the start (where all five are newcomers), each cheap frame waits at
    most for the frame running (< 40 ms), ahead of the expensive ones in the queue; first come, first served
    would make it wait for all four (> 120 ms, 7 frames in 1.2 s). The expensive sessions share the rest
    equally."""
    clock = Clock()
    pool = FrameScheduler(workers=1, clock=clock)
    cheap = Session(pool, clock, 0.002, 1.2, period=1 / 30)
    heavy = [Session(pool, clock, 0.04, 1.2, during=cheap.poll) for _ in range(4)]
    play(pool, [cheap] + heavy)
    assert max(cheap.waits[2:]) < 0.04
    assert len(cheap.finished) >= 1.2 / (1 / 30 + 0.04)  # a period, then at most one frame's wait
    counts = [len(s.finished) for s in heavy]
    assert max(counts) - min(counts) <= 1, counts


def test_sessions_computing_flat_out_share_the_worker():
    """Max-min fairness on compute: a session of 2 ms frames computing flat out beside four of 40 ms gets
    about as many compute seconds as each of them (20 times as many frames), not as many frames: over 2 s,
    each session gets at least three quarters of the largest share, and the worker is never idle."""
    clock = Clock()
    pool = FrameScheduler(workers=1, clock=clock)
    cheap = Session(pool, clock, 0.002, 2.0)
    heavy = [Session(pool, clock, 0.04, 2.0) for _ in range(4)]
    play(pool, [cheap] + heavy)
    compute = [len(s.finished) * s.seconds for s in [cheap] + heavy]
    assert min(compute) >= 0.75 * max(compute), compute
    assert len(cheap.finished) >= 10 * len(heavy[0].finished)
    assert sum(compute) == pytest.approx(clock.now)


def test_a_newcomer_is_served_next():
    """Four sessions computing 40 ms frames flat out on one worker; a newcomer's first frame, submitted at
    0.5 s while a frame computes, waits for the rest of that frame (< 40 ms), not for the round of four
    (> 120 ms first come, first served)."""
    clock = Clock()
    pool = FrameScheduler(workers=1, clock=clock)
    newcomer, arrived = Account(), []

    def maybe_arrive():
        if clock.now >= 0.5 and not arrived:
            arrived.append(pool.submit(newcomer, lambda: None))

    heavy = [Session(pool, clock, 0.04, 1.0, during=maybe_arrive) for _ in range(4)]
    play(pool, heavy)
    arrived[0].result(10)
    assert 0 < newcomer.last_wait < 0.04


def test_errors_reach_the_session_and_waits_are_measured():
    clock = Clock()
    pool, account = FrameScheduler(workers=1, clock=clock), Account()
    blocker = threading.Event()

    def block():
        assert blocker.wait(30)
        clock.advance(0.1)  # the worker is busy 0.1 s while the next job waits
        return True

    first = pool.submit(Account(), block)
    waiting = pool.submit(account, lambda: 1 / 0)
    blocker.set()
    assert first.result(30)
    with pytest.raises(ZeroDivisionError):
        waiting.result(30)
    assert account.last_wait == pytest.approx(0.1)
    assert account.waited == pytest.approx(0.3 * 0.1)  # an exponential average, 0.3 for the newest

    def leave():
        raise SystemExit("a frame that exits")

    with pytest.raises(SystemExit):
        pool.submit(account, leave).result(30)
    assert pool.submit(account, lambda: 2).result(30) == 2  # the only worker is still there
    assert pool.computed == 4 and pool.running() == 0 and pool.waiting() == 0


def test_a_finished_job_keeps_nothing_of_its_session_alive():
    """The worker drops the job's function and result once done: the session's objects can be collected
    (a worker's loop variables used to keep the last session of each worker alive)."""
    class Model:
        def step(self):
            return [self]  # a frame that refers to the model

    pool, model = FrameScheduler(workers=1), Model()
    pool.submit(Account(), model.step).result(30)
    pool.submit(Account(), lambda: None).result(30)  # the one worker has finished with the first job
    gone = weakref.ref(model)
    del model
    gc.collect()
    assert gone() is None


def test_worker_count_from_the_environment(monkeypatch):
    monkeypatch.setenv(scheduling.WORKERS_ENV, "3")
    assert scheduling.default_workers() == 3
    monkeypatch.setenv(scheduling.WORKERS_ENV, "zero")
    with pytest.raises(ValueError, match="OTLAB_FRAME_WORKERS must be a positive integer"):
        scheduling.default_workers()
    with pytest.raises(ValueError, match="workers must be >= 1"):
        FrameScheduler(0)


def test_a_cancelled_job_leaves_the_queue_and_its_session():
    """A frame cancelled while waiting (its session stopped) is dropped from the queue at once, so nothing
    keeps the session's objects while the worker is busy with another frame."""
    class Model:
        def step(self):
            return 1

    pool, blocker, model = FrameScheduler(workers=1), threading.Event(), Model()
    started = threading.Event()
    first = pool.submit(Account(), lambda: started.set() or blocker.wait(30))
    assert started.wait(30)  # the one worker is busy
    waiting = pool.submit(Account(), model.step)
    assert pool.waiting() == 1 and waiting.cancel()
    assert pool.waiting() == 0
    gone = weakref.ref(model)
    del model, waiting
    gc.collect()
    assert gone() is None  # while the worker still computes the first frame
    blocker.set()
    assert first.result(30) and pool.submit(Account(), lambda: 2).result(30) == 2
