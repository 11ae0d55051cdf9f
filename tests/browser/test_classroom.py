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
    """8 students, one on each demo, for 10 s and on until each has received 3 updates: all held, no error,
    none frozen; a Chromium newcomer sees its first frame (within load.py's join timeout); 32 sessions
    opened and closed: once destroyed, no session, connection, animation or periodic callback is left, no
    frame waits or computes, none is computed in the next 10 s, no session's runner survives a garbage
    collection (nothing keeps a closed session's objects), and the threads do not grow. Counts only: the
    rates, the newcomer's seconds, the idle CPU and the memory are the benchmark's to report (load.py), and
    vary with how busy the machine is."""
    result, cycles, _ = load.main(["--sessions", "8", "--seconds", "10", "--min-updates", "3", "--cycles", "32",
                                   "--browser-trials", "1", "--fairness", "0"])
    assert result["held"] == 8 and result["errors"] == 0, result["error_texts"]
    assert result["frozen"] == 0
    assert len(result["browser_newcomer"]) == 1
    assert cycles["errors"] == 0
    first, last = cycles["marks"][16], cycles["marks"][32]
    for mark in (first, last):
        assert mark["sessions"] == mark["connections"] == mark["animations"] == mark["periodic_callbacks"] == 0, mark
        assert mark["frames_waiting"] == mark["frames_running"] == mark["frames_computed_idle"] == 0, mark
        assert mark["runners_alive"] == 0, mark
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
