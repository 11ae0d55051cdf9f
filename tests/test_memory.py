"""Freed memory given back after sessions end: one clean-up for a burst of ends, run on the event loop."""
import asyncio

from otlab.app import memory


def test_a_burst_of_session_ends_schedules_one_release(monkeypatch):
    calls = []
    monkeypatch.setattr(memory, "DELAY_S", 0.05)
    monkeypatch.setattr(memory, "_trim", lambda: calls.append("trim"))

    async def burst():
        for _ in range(50):  # a class leaving at once
            memory.release_soon()
        await asyncio.sleep(0.3)
        memory.release_soon()  # a later end: a new clean-up
        await asyncio.sleep(0.3)

    asyncio.run(burst())
    assert calls == ["trim", "trim"] and memory._pending is None


def test_the_trim_runs_here():
    memory.release_now()  # glibc's malloc_trim on Linux; nothing where the C library lacks it
    assert memory._pending is None
