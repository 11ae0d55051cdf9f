"""The frame scheduler: the session served least lately first, newcomers level with the others, errors
delivered."""
import gc
import threading
import time
import weakref

import pytest

from otlab.app import scheduler as scheduling
from otlab.app.scheduler import Account, FrameScheduler


class Session(threading.Thread):
    """Keeps one job of ``seconds`` (a sleep: wall time without CPU contention) in the scheduler at a time,
    as a playing runner does; records when each job finished."""

    def __init__(self, pool, seconds, until):
        super().__init__(daemon=True)
        self.pool, self.seconds, self.until = pool, seconds, until
        self.account, self.finished = Account(), []

    def run(self):
        while time.perf_counter() < self.until:
            self.pool.submit(self.account, lambda: time.sleep(self.seconds)).result()
            self.finished.append(time.perf_counter())


def test_a_cheap_session_waits_for_one_expensive_frame_not_for_all():
    """One worker, four sessions of 40 ms frames and one of 2 ms frames: the cheap session's frame, ahead of
    the expensive ones in the queue, waits at most for the frame running (~28 frames in 1.2 s); first come,
    first served would make it wait for all four (~7 frames). The expensive sessions share the rest equally."""
    pool, until = FrameScheduler(workers=1), time.perf_counter() + 1.2
    cheap = Session(pool, 0.002, until)
    heavy = [Session(pool, 0.04, until) for _ in range(4)]
    for s in [cheap] + heavy:
        s.start()
    for s in [cheap] + heavy:
        s.join(5)
    assert len(cheap.finished) >= 18
    counts = [len(s.finished) for s in heavy]
    assert min(counts) >= 3 and max(counts) <= 2 * min(counts) + 1


def test_a_newcomer_is_served_next():
    """Four sessions computing 40 ms frames flat out on one worker; a newcomer's first frame waits for the
    frame running (< 40 ms), not for the round of four (~160 ms first come, first served)."""
    pool = FrameScheduler(workers=1)
    heavy = [Session(pool, 0.04, time.perf_counter() + 1.0) for _ in range(4)]
    for s in heavy:
        s.start()
    time.sleep(0.5)
    newcomer = Account()
    pool.submit(newcomer, lambda: None).result(5)
    for s in heavy:
        s.join(5)
    assert newcomer.last_wait < 0.08


def test_errors_reach_the_session_and_waits_are_measured():
    pool, account = FrameScheduler(workers=1), Account()
    blocker = threading.Event()
    first = pool.submit(Account(), lambda: blocker.wait(5))
    waiting = pool.submit(account, lambda: 1 / 0)
    time.sleep(0.1)
    blocker.set()
    assert first.result(5)
    with pytest.raises(ZeroDivisionError):
        waiting.result(5)
    assert account.last_wait >= 0.09

    def leave():
        raise SystemExit("a frame that exits")

    with pytest.raises(SystemExit):
        pool.submit(account, leave).result(5)
    assert pool.submit(account, lambda: 2).result(5) == 2  # the only worker is still there


def test_a_finished_job_keeps_nothing_of_its_session_alive():
    """The worker drops the job's function and result once done: the session's objects can be collected
    (a worker's loop variables used to keep the last session of each worker alive)."""
    class Model:
        def step(self):
            return [self]  # a frame that refers to the model

    pool, model = FrameScheduler(workers=1), Model()
    pool.submit(Account(), model.step).result(5)
    time.sleep(0.05)  # the worker is back waiting for a job
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
