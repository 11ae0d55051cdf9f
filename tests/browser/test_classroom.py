"""The short version of benchmarks/load.py (8 sessions, 32 open/close cycles), and the same load through
nginx configured as docs/deploy.md says (two otlab processes, sticky sessions)."""
import collections
import os
import pathlib
import sys

import pytest

from helpers import NGINX

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "benchmarks"))
import load  # noqa: E402

pytestmark = pytest.mark.browser


def test_a_small_class_plays_and_leaves_nothing_behind():
    """8 students, one on each demo, for 10 s: all held, no error, none frozen, a Chromium newcomer sees
    its first frame within 5 s; 32 sessions opened and closed: once destroyed, no session, animation or
    periodic callback is left, no session's runner survives a garbage collection (nothing keeps a closed
    session's objects), the server idle (its median second under 0.05 cores), memory within 15% of its
    level after the first 16 (every demo opened twice; the 10% target is for the 200-cycle benchmark:
    allocators still grow here, +8.5% seen)."""
    result, cycles, _ = load.main(["--sessions", "8", "--seconds", "10", "--cycles", "32", "--browser-trials", "1",
                                   "--fairness", "0"])
    assert result["held"] == 8 and result["errors"] == 0, result["error_texts"]
    # no page froze: at least 3 updates in the 7.5 s measured (the rates themselves are the benchmark's;
    # the 3D swarms got 0.93/s in one fresh-clone run, Chromium loading beside them)
    assert min(min(rates) for rates in result["rates"].values()) >= 3 / 7.5
    assert len(result["browser_newcomer"]) == 1 and result["browser_newcomer"][0] < 5.0
    assert cycles["errors"] == 0
    first, last = cycles["marks"][16], cycles["marks"][32]
    for mark in (first, last):
        assert mark["sessions"] == mark["animations"] == mark["periodic_callbacks"] == mark["frames_waiting"] == 0
        assert mark["runners_alive"] == 0
        assert mark["idle_cores"] < 0.05
    assert last["memory_mb"] < 1.15 * first["memory_mb"]
    assert last["threads"] <= first["threads"]


@pytest.mark.skipif(not os.path.exists(NGINX), reason=f"needs Debian's nginx at {NGINX} (apt-get install nginx)")
def test_the_documented_nginx_config_keeps_each_student_on_one_process():
    """docs/deploy/nginx-otlab.conf in front of two processes: 6 students and a Chromium page play through
    it without error; every request of a student (page, websocket) reached the same process, and both
    processes got students."""
    result, _, folder = load.main(["--proxy", "2", "--sessions", "6", "--seconds", "8", "--cycles", "0",
                                   "--fairness", "0", "--browser-trials", "1"])
    assert result["held"] == 6 and result["errors"] == 0, result["error_texts"]
    assert len(result["browser_newcomer"]) == 1
    processes = collections.defaultdict(set)
    pages = collections.Counter()
    for line in (folder / "access.log").read_text().splitlines():
        route, upstream, _, path = line.split()[:4]  # route, process, "GET /path HTTP/1.1"
        processes[route].add(upstream)
        if path.rstrip("/").endswith("/ws"):
            pages[upstream] += 1
    assert all(len(upstreams) == 1 for upstreams in processes.values()), processes
    assert len(pages) == 2 and sum(pages.values()) == 7, pages
