"""Freed memory given back after sessions end: one clean-up for a burst of ends, run on the event loop."""
import asyncio

from otlab.app import memory


def test_a_burst_of_session_ends_schedules_one_release(monkeypatch):
    """Fifty ends in a row schedule one clean-up; once it has run, a later end schedules a new one."""
    calls = []
    monkeypatch.setattr(memory, "DELAY_S", 0.01)
    monkeypatch.setattr(memory, "_trim", lambda: calls.append("trim"))

    async def until(condition, timeout=60.0):
        for _ in range(int(timeout / 0.01)):
            if condition():
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the clean-up did not run")

    async def burst():
        for _ in range(50):  # a class leaving at once
            memory.release_soon()
        pending = memory._pending
        assert pending is not None
        await until(lambda: calls)
        assert calls == ["trim"] and memory._pending is None  # one clean-up ran, none is left waiting
        memory.release_soon()  # a later end: a new clean-up
        assert memory._pending is not None and memory._pending is not pending
        await until(lambda: len(calls) == 2)

    asyncio.run(burst())
    assert calls == ["trim", "trim"] and memory._pending is None


def test_the_trim_runs_here():
    memory.release_now()  # glibc's malloc_trim on Linux; nothing where the C library lacks it
    assert memory._pending is None
