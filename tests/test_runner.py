"""The animation runner's frame logic, driven tick by tick without a server."""
import threading
import time
from concurrent.futures import Future

from otlab.app.runner import AnimationRunner
from otlab.app.scheduler import Account, FrameScheduler


class SlowCounter:
    """compute() blocks until released; counts calls and the frames it produced."""

    def __init__(self):
        self.calls = 0
        self.release = threading.Event()
        self.generation = 0

    def compute(self):
        self.calls += 1
        generation = self.generation  # the parameters this frame is computed for
        self.release.wait(5)
        return (generation, self.calls)


def settle(runner, until, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        runner._tick()
        if until():
            return
        time.sleep(0.005)
    raise AssertionError("runner did not settle")


def test_frames_are_dropped_not_queued_and_stale_frames_discarded():
    work, applied = SlowCounter(), []
    runner = AnimationRunner(work.compute, applied.append, lambda f: f[0] == work.generation, playing=True, speed=60)
    runner._tick()                      # submits the first frame
    settle(runner, lambda: work.calls == 1)
    for _ in range(20):                 # the worker is busy: ticks drop, nothing queues
        runner._tick()
    assert work.calls == 1 and applied == []
    work.generation = 1                 # parameters change while the frame computes
    work.release.set()
    settle(runner, lambda: len(applied) == 1)
    assert applied[0][0] == 1           # the stale frame was discarded, a fresh one applied
    assert work.calls == 2 and runner.frames == 1
    runner.stop()


def test_paused_runner_computes_only_requested_frames_and_reports_errors():
    calls, applied = [], []

    def compute():
        calls.append(1)
        if len(calls) == 2:
            raise ValueError("bad settings")
        return len(calls)

    runner = AnimationRunner(compute, applied.append)   # paused; the first frame is requested
    settle(runner, lambda: applied == [1])
    for _ in range(10):
        runner._tick()
        time.sleep(0.005)
    assert len(calls) == 1                               # paused: no more work
    runner.playing = True
    settle(runner, lambda: runner.error != "")
    assert runner.error == "ValueError: bad settings" and not runner.playing
    runner.request_frame()
    settle(runner, lambda: applied == [1, 3])
    assert runner.error == ""
    runner.stop()


class Session:
    """Stands for Bokeh's ServerSession: its browser connections."""
    connection_count = 1


def test_a_session_without_a_browser_computes_nothing_and_stop_drops_its_waiting_frame():
    """A closed page (no connection) submits no work until a browser connects again; stop() ends the loop
    and cancels a frame still waiting for a worker."""
    work, applied = SlowCounter(), []
    work.release.set()
    runner = AnimationRunner(work.compute, applied.append, playing=True, speed=60)
    runner._session = session = Session()
    settle(runner, lambda: len(applied) >= 3)
    session.connection_count = 0
    settle(runner, lambda: runner._future is None or runner._future.done())
    runner._tick()
    calls = work.calls
    for _ in range(30):
        runner._tick()
        time.sleep(0.002)
    assert work.calls == calls and not runner.watched()
    session.connection_count = 1
    settle(runner, lambda: work.calls > calls + 2)
    runner.stop()
    assert not runner.playing

    blocker, waiting = SlowCounter(), SlowCounter()
    pool = FrameScheduler(workers=1)
    busy = AnimationRunner(blocker.compute, applied.append, scheduler=pool)
    queued = AnimationRunner(waiting.compute, applied.append, scheduler=pool)
    busy._tick()
    settle(busy, lambda: blocker.calls == 1)  # the only worker is taken
    queued._tick()
    queued.stop()
    blocker.release.set()
    settle(busy, lambda: busy.frames == 1)
    pool.submit(Account(), lambda: None).result(30)  # the one worker has passed the cancelled frame
    assert waiting.calls == 0 and queued._future.cancelled()
    busy.stop()


class Waits:
    """A scheduler that runs each frame at once, in the caller, and says it waited ``wait`` s for a
    worker (the scheduler's own measure of waits is tests/test_scheduler.py's)."""

    def __init__(self, wait: float):
        self.wait = wait

    def submit(self, account, fn):
        account.waited = self.wait
        future = Future()
        future.set_result(fn())
        return future


def test_the_server_is_busy_when_frames_wait_longer_than_a_period():
    """At 60 frames/s asked, ``slowed`` goes on once frames wait longer than a period (1/60 s), stays on
    until they wait less than half of one (no flicker in between), and pausing clears it."""
    pool = Waits(0.0)
    runner = AnimationRunner(lambda: 0, lambda f: None, scheduler=pool, playing=True, speed=60)

    def frames(k):  # k more frames applied
        target = runner.frames + k
        settle(runner, lambda: runner.frames >= target)

    frames(5)
    assert not runner.slowed
    pool.wait = 0.9 / 60
    frames(5)
    assert not runner.slowed  # under a period: not busy
    pool.wait = 1.2 / 60
    settle(runner, lambda: runner.slowed)
    pool.wait = 0.6 / 60
    frames(5)
    assert runner.slowed  # between half a period and one: still busy
    pool.wait = 0.4 / 60
    settle(runner, lambda: not runner.slowed)
    pool.wait = 1.2 / 60
    settle(runner, lambda: runner.slowed)
    runner.playing = False
    assert not runner.slowed
    runner.stop()


def test_runners_counted_alive_from_inside_a_collection_are_the_live_ones():
    """The leak check asked while a garbage collection runs its weak-reference callbacks (a signal or
    another thread can land there): gc.collect() is then a no-op, and a runner this collection has
    already cleared must not be counted."""
    import gc
    import weakref

    before = AnimationRunner.alive()
    counted = []

    def cycle():
        runner = AnimationRunner(lambda: None, lambda frame: None)
        runner.self_reference = runner  # garbage only a collection finds
        # CPython calls a newer weak reference's callback before the runner's entry in the set is removed
        return weakref.ref(runner, lambda ref: counted.append(AnimationRunner.alive()))

    probe = cycle()
    gc.collect()
    assert probe() is None and counted == [before]
