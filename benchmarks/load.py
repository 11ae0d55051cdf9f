"""A classroom on one server: many sessions at once, a newcomer's wait, and memory over open/close cycles.

Each simulated student is a Bokeh websocket client (what a browser's page does, without drawing): it
loads a demo's page (HTTP, which builds the session), connects its websocket, pulls the document, says
the page is ready (Bokeh's ``document_ready`` event, which starts the animation) and then counts the
updates the server pushes (one per frame applied). Students are spread over the animated demos. While
they play, a real page in headless Chromium joins several times, timed from ``goto`` to its first frame
on screen.

Phases (on ``otlab serve`` started here, warm-up included; with ``--proxy N``, N of them behind nginx
configured as docs/deploy.md says):

0. **fairness** (unless ``--fairness 0``): two students on a cheap demo play alone, then beside
   ``--fairness`` students on the heaviest: the cheap ones' updates/s both times.
1. **load**: ``--sessions`` students join ``--stagger`` s apart and play for ``--seconds``: sessions held,
   errors (refused pages, closed websockets, protocol errors, tracebacks in the server's log), updates/s
   per session (median and worst by demo), how many saw the "server busy" message, the server's memory
   and CPU; a newcomer's time to first update (the websocket clients, and Chromium) p50/p95.
2. **cycles**: ``--cycles`` sessions opened and closed one after another (each waits for its first
   update); the server's memory and threads after the first ``max(16, --cycles // 10)`` and after all, each
   measured once the closed sessions have been destroyed (Bokeh drops a session 15–30 s after its page
   closed), and the server's CPU while idle afterwards (a periodic callback or worker left running would
   show there).

Usage: python benchmarks/load.py [--sessions 50] [--seconds 60] [--min-updates K] [--cycles 200] [--num-procs 1]
       [--proxy N] [--write docs/benchmarks.md]
(tests/browser/test_classroom.py runs a short version and asserts its counts only: sessions held, errors,
students frozen, what is left once sessions end.)
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import pathlib
import re
import signal
import statistics
import sys
import tempfile
import time

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from helpers import CHROMIUM, CHROMIUM_ARGS, LOAD_LINE, parse_load, proxied_app, served_app  # noqa: E402

#: the animated demos the students play (round robin)
DEMOS = ["annealing", "flows", "sorting", "swarms", "power_diagrams", "barycenters", "shapes3d", "swarms3d"]
#: a session whose first update takes longer than this counts as an error (s): generous, so that a busy
#: machine (the classroom test beside other jobs) is not read as a failure; the joins' seconds are reported
JOIN_TIMEOUT = 180.0
#: how long the load phase waits past ``--seconds`` for a student short of ``--min-updates`` (s)
UPDATES_TIMEOUT = 300.0
#: the player's "server busy" message (a pane in the document, made visible by an update)
BUSY_TEXT = "Server busy"


def find_model(node, text: str):
    """The id of the model in a document's JSON whose ``text`` attribute contains ``text`` (or None)."""
    if isinstance(node, dict):
        attributes = node.get("attributes")
        if node.get("type") == "object" and isinstance(attributes, dict) and text in str(attributes.get("text", "")):
            return node.get("id")
        children = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = find_model(child, text)
        if found:
            return found
    return None


def shows(content: str, model_id: str) -> bool:
    """Whether an update (PATCH-DOC content) makes the model ``model_id`` visible."""
    if not model_id or model_id not in content:
        return False
    return any(e.get("attr") == "visible" and e.get("new") is True and e.get("model", {}).get("id") == model_id
               for e in json.loads(content).get("events", []))


class Student:
    """One simulated page: ``join()`` then ``listen()`` until ``leave()``."""

    def __init__(self, base: str, slug: str):
        self.base, self.slug = base, slug
        self.first_update = None  # seconds from the page request to the first update after "ready"
        self.updates = []  # arrival times (perf_counter) of the updates
        self.errors = []
        self.saw_busy = False
        self._socket = None
        self._closing = False

    async def join(self):
        from bokeh.client.websocket import WebSocketClientConnectionWrapper
        from bokeh.document import Document
        from bokeh.document.events import MessageSentEvent
        from bokeh.events import DocumentReady
        from bokeh.protocol import Protocol

        start = time.perf_counter()
        try:
            page = await AsyncHTTPClient().fetch(self.base + self.slug, request_timeout=JOIN_TIMEOUT)
            token = re.search(r'"token":"([^"]+)"', page.body.decode()).group(1)
            address = re.sub("^http", "ws", self.base) + self.slug + "/ws"
            cookies = "; ".join(c.split(";", 1)[0] for c in page.headers.get_list("Set-Cookie"))  # a proxy's route
            request = HTTPRequest(address, headers={"Cookie": cookies} if cookies else {})
            self._socket = await websocket_connect(request, subprotocols=["bokeh", token],
                                                   max_message_size=64 * 2**20)
        except (HTTPClientError, OSError, AttributeError) as err:
            self.errors.append(f"join: {type(err).__name__}: {err}")
            return
        protocol = Protocol()
        wrapper = WebSocketClientConnectionWrapper(self._socket)
        await self._read()  # ACK
        await protocol.create("PULL-DOC-REQ").send(wrapper)
        _, document = await self._read()
        self._busy_id = find_model(json.loads(document), BUSY_TEXT)
        await protocol.create("PATCH-DOC", [MessageSentEvent(Document(), "bokeh_event", DocumentReady())]).send(wrapper)
        self._joined_at = start

    async def start(self) -> asyncio.Future:
        """Join (within JOIN_TIMEOUT), then listen in the background: the listening task."""
        await asyncio.wait_for(self.join(), JOIN_TIMEOUT)
        return asyncio.ensure_future(self.listen())

    async def _read(self):
        """The next message as (type, content text), None once closed. Only the small header is parsed:
        decoding every update's content (as Bokeh's own client does) cost the clients more CPU than the
        server spent making them."""
        header = await self._socket.read_message()
        if header is None:
            return None
        header = json.loads(header)
        await self._socket.read_message()  # metadata
        content = await self._socket.read_message()
        for _ in range(2 * header.get("num_buffers", 0)):  # each buffer: its reference, then its bytes
            await self._socket.read_message()
        return header["msgtype"], content or ""

    async def listen(self):
        """Count updates until the socket closes (an error unless ``leave()`` closed it)."""
        if self._socket is None:
            return
        while True:
            try:
                message = await self._read()
            except Exception as err:  # a malformed message from the server
                self.errors.append(f"read: {type(err).__name__}: {err}")
                return
            if message is None:
                if not self._closing:
                    self.errors.append("the server closed the websocket")
                return
            kind, content = message
            if kind == "ERROR":
                self.errors.append(f"server error: {content[:200]}")
            elif kind == "PATCH-DOC":
                now = time.perf_counter()
                if self.first_update is None:
                    self.first_update = now - self._joined_at
                self.updates.append(now)
                if not self.saw_busy and shows(content, self._busy_id):
                    self.saw_busy = True

    def count(self, since: float) -> int:
        """Updates received since a perf_counter time."""
        return sum(t >= since for t in self.updates)

    def rate(self, since: float, until: float) -> float:
        """Updates per second received between two perf_counter times."""
        return sum(since <= t < until for t in self.updates) / (until - since)

    def leave(self):
        self._closing = True
        if self._socket is not None:
            self._socket.close()


class ServerProbe:
    """The server's processes (pids and their children): memory, threads and CPU time from /proc, and
    what each says of its load when sent SIGUSR1 (a line in its ``logs``)."""

    def __init__(self, pids, logs):
        self.roots, self.logs = list(pids), list(logs)

    async def counts(self, timeout: float = 180.0) -> dict:
        """Sessions, animations, runners alive, Panel periodic callbacks, frames waiting and running, frames
        computed, threads: summed over the processes, each asked for a new "otlab load:" line (SIGUSR1) and
        waited for (``timeout`` s; a busy server answers late, and an earlier line would be stale)."""
        def reports():
            found = {}
            for path in self.logs:
                for line in open(path):
                    if line.startswith(LOAD_LINE):
                        fields = parse_load(line)
                        found.setdefault(fields.pop("pid"), []).append(fields)
            return found

        pids, before = self.pids(), reports()
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGUSR1)
        # the processes that answer: those that answered before (all of them from the second call on); on
        # the first call, whichever have answered once none has for a second
        expected, deadline = set(before), time.perf_counter() + timeout
        fresh, settled_at = set(), None  # settled_at: when ``fresh`` last grew
        while time.perf_counter() < deadline:
            await asyncio.sleep(0.2)
            now = reports()
            answered = {pid for pid in now if len(now[pid]) > len(before.get(pid, []))}
            if answered != fresh:
                fresh, settled_at = answered, time.perf_counter()
            if expected and fresh >= expected or not expected and fresh and time.perf_counter() - settled_at > 1.0:
                break
        else:
            raise RuntimeError(f"no load report from {sorted(expected - fresh) or 'any process'} in {timeout} s")
        latest = [now[pid][-1] for pid in fresh]
        return {k: sum(c[k] for c in latest) for k in next(iter(latest), {})}

    def pids(self):
        found, todo = [], list(self.roots)
        while todo:
            pid = todo.pop()
            found.append(pid)
            with contextlib.suppress(OSError):
                for task in os.listdir(f"/proc/{pid}/task"):
                    with contextlib.suppress(OSError):
                        todo += [int(c) for c in open(f"/proc/{pid}/task/{task}/children").read().split()]
        return found

    def _status(self, field):
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                for line in open(f"/proc/{pid}/status"):
                    if line.startswith(field + ":"):
                        total += int(line.split()[1])
        return total

    def memory_mb(self) -> float:
        return self._status("VmRSS") / 1024

    def threads(self) -> int:
        return self._status("Threads")

    def cpu_seconds(self) -> float:
        total = 0.0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total


#: exceptions Tornado logs when it writes to a page that has just closed: not errors of the app
DISCONNECTS = ("WebSocketClosedError", "StreamClosedError")


def tracebacks(log_paths) -> int:
    """Tracebacks in the servers' logs, less the disconnect noise."""
    blocks = [b for path in log_paths for b in open(path).read().split("Traceback (most recent call last):")[1:]]
    return sum(not any(name in block for name in DISCONNECTS) for block in blocks)


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


async def newcomer_in_chromium(browser, base: str, slug: str = "annealing") -> float:
    """Seconds from a fresh page's ``goto`` to its frame counter showing a first frame (Chromium)."""
    page = await browser.new_page(viewport={"width": 1280, "height": 720})
    start = time.perf_counter()
    await page.goto(base + slug, timeout=JOIN_TIMEOUT * 1000)
    await page.locator(".otlab-frame").filter(has_text=re.compile("[1-9]")).first.wait_for(
        timeout=JOIN_TIMEOUT * 1000)
    elapsed = time.perf_counter() - start
    await page.close()
    return elapsed


async def load_phase(base, sessions, seconds, stagger, probe, log_paths, browser_trials, min_updates=0):
    """``sessions`` students play for ``seconds``, and on until each has received ``min_updates`` updates
    since all joined (at most ``UPDATES_TIMEOUT`` s more: a student still short then is "frozen"); returns
    the phase's numbers."""
    students = [Student(base, DEMOS[k % len(DEMOS)]) for k in range(sessions)]
    tasks, cpu0, own0, t0 = [], probe.cpu_seconds(), time.process_time(), time.perf_counter()
    for student in students:
        tasks.append(await student.start())
        await asyncio.sleep(stagger)
    joined = time.perf_counter()
    newcomers = []
    if browser_trials:
        from playwright.async_api import async_playwright
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for _ in range(browser_trials):  # a real page joins the loaded server
                await asyncio.sleep(seconds / (browser_trials + 1))
                try:
                    newcomers.append(await newcomer_in_chromium(browser, base))
                except Exception as err:  # a page that never shows its first frame: an error, not a crash here
                    students[0].errors.append(f"browser newcomer: {type(err).__name__}: {err}")
            await browser.close()
    await asyncio.sleep(max(0.0, joined + seconds - time.perf_counter()))
    short = lambda: [s for s in students if s.count(joined) < min_updates]  # noqa: E731
    deadline = time.perf_counter() + UPDATES_TIMEOUT
    while short() and time.perf_counter() < deadline and not any(s.errors for s in students):
        await asyncio.sleep(0.2)
    frozen = len(short())
    end = time.perf_counter()
    memory, threads, cpu = probe.memory_mb(), probe.threads(), (probe.cpu_seconds() - cpu0) / (end - t0)
    clients_cpu = (time.process_time() - own0) / (end - t0)
    for student in students:
        student.leave()
    await asyncio.gather(*tasks)
    late = [s for s in students if s.first_update is None]
    for s in late:
        s.errors.append("no update received")
    window = (joined + 0.25 * seconds, end)  # all joined, first frames past
    rates = {}
    for s in students:
        rates.setdefault(s.slug, []).append(s.rate(*window))
    return {"sessions": sessions, "held": sum(not s.errors for s in students),
            "errors": sum(len(s.errors) for s in students) + tracebacks(log_paths),
            "error_texts": sorted({e for s in students for e in s.errors})[:5],
            "first_update": [s.first_update for s in students if s.first_update is not None],
            "browser_newcomer": newcomers, "rates": rates, "busy": sum(s.saw_busy for s in students),
            "frozen": frozen, "played_s": end - joined,
            "memory_mb": memory, "threads": threads, "cpu_cores": cpu, "clients_cpu_cores": clients_cpu}


async def settle(probe, timeout=300.0):
    """Wait until every closed session is destroyed (Bokeh drops a session 15–30 s after its page closed)
    and their frames in flight are done, or ``timeout``; returns the processes' counts (see :meth:`ServerProbe.counts`) with their memory (MB),
    the frames computed in the next 10 s (``frames_computed_idle``: 0 unless something still computes for
    a closed page) and idle CPU: cores, the median of ten 1-s readings. Work left running (a timer, a busy
    worker) shows in every second; the clean-up after the last sessions (Panel's debounced garbage
    collection, ours and the heap's trim, app/memory.py: ~0.2 s each, seen landing 7 s after the last
    session was gone) in one or two, and is not idle work."""
    deadline = time.perf_counter() + timeout
    await asyncio.sleep(15.0)
    counts = await probe.counts()
    # destroyed, and the frames they had in flight done (a frame cannot be interrupted: one started before
    # its session ended finishes, and is dropped; on a loaded machine the 3D shapes' solve takes a minute)
    while (counts.get("sessions", 0) > 0 or counts.get("frames_running", 0) > 0
           or counts.get("frames_waiting", 0) > 0) and time.perf_counter() < deadline:
        await asyncio.sleep(3.0)
        counts = await probe.counts()
    readings, cpu = [], probe.cpu_seconds()
    for _ in range(10):
        await asyncio.sleep(1.0)
        readings.append(-cpu + (cpu := probe.cpu_seconds()))
    after = await probe.counts()
    return dict(counts, memory_mb=probe.memory_mb(), idle_cores=statistics.median(readings),
                frames_computed_idle=after["frames_computed"] - counts["frames_computed"])


async def cycles_phase(base, cycles, probe):
    """Open and close ``cycles`` sessions one after another (each waits for its first update); the
    server's state once the closed sessions are gone, after every demo has been opened twice (the first
    ``max(2 * len(DEMOS), cycles // 10)``: the first visits to a demo import and cache what it needs; in
    a 16-cycle run, memory still grew 10% between the 8th and the 16th) and after all."""
    errors, marks, first_mark = 0, {}, max(2 * len(DEMOS), cycles // 10)
    for k in range(cycles):
        student = Student(base, DEMOS[k % len(DEMOS)])
        listening = await student.start()
        deadline = time.perf_counter() + JOIN_TIMEOUT
        while student.first_update is None and not student.errors and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        student.leave()
        await listening
        errors += len(student.errors) + (student.first_update is None)
        if k + 1 in (first_mark, cycles):
            marks[k + 1] = await settle(probe)
    return {"cycles": cycles, "errors": errors, "marks": marks}


def report(load, cycles, fairness, args) -> list:
    """Markdown lines for docs/benchmarks.md."""
    first, browser = load["first_update"], load["browser_newcomer"]
    lines = [f"Measured {datetime.date.today()} with `benchmarks/load.py --sessions {args.sessions} --seconds "
             f"{args.seconds} --cycles {args.cycles}` ({os.cpu_count()} CPU cores shared by the server, the "
             f"clients and Chromium; the server on CPU{', ' + args.via if args.via else ''}).", "",
             "| measure | value |", "|---|---|",
             f"| sessions held / asked | {load['held']} / {load['sessions']} |",
             f"| errors | {load['errors']}{' (' + '; '.join(load['error_texts']) + ')' if load['errors'] else ''} |",
             f"| newcomer, first update (websocket clients, while joining) p50 / p95 | "
             f"{percentile(first, 0.5):.2f} s / {percentile(first, 0.95):.2f} s |"]
    if browser:
        lines.append(f"| newcomer in Chromium under full load, `goto` → first frame, p50 / worst of {len(browser)} | "
                     f"{percentile(browser, 0.5):.2f} s / {max(browser):.2f} s |")
    lines += [f"| sessions that saw \"server busy\" | {load['busy']} |",
              f"| CPU while loaded: server / the websocket clients | {load['cpu_cores']:.2f} / "
              f"{load['clients_cpu_cores']:.2f} cores |",
              f"| server memory / threads while loaded | {load['memory_mb']:.0f} MB / {load['threads']} |", "",
              "| demo | sessions | updates/s per session: median | worst |", "|---|---|---|---|"]
    for slug, rates in load["rates"].items():
        lines.append(f"| {slug} | {len(rates)} | {statistics.median(rates):.1f} | {min(rates):.1f} |")
    lines += ["", "An update is a message from the server: one per frame (its changes are held and sent together), "
              "a few demos add one for a readout. Every demo asks for 30 frames/s, so a full server shows every "
              "page its \"server busy\" line; cheap frames (sorting, the 3D shapes' playback) keep a high rate "
              "while heavy ones share the rest. Chromium's newcomer page runs on the same cores as the loaded "
              "server (a student's browser would not)."]
    if fairness:
        lines += ["", f"Fairness, on the idle server first: two sessions of a cheap demo (sorting) got "
                  f"{fairness['alone']:.1f} updates/s each alone, {fairness['beside']:.1f} beside "
                  f"{fairness['heavy_sessions']} sessions of the heaviest (3D swarms), which got "
                  f"{fairness['heavy']:.1f} each ({fairness['errors']} errors)."]
    if cycles:
        (k1, a), (k2, b) = sorted(cycles["marks"].items())
        lines += ["", f"Open/close cycles: {cycles['cycles']} sessions opened (each to its first update) and closed "
                  f"one after another, {cycles['errors']} errors. Once the closed sessions were destroyed:", "",
                  "| after | memory | threads | sessions | animations running | runners not collected "
                  "| periodic callbacks | idle CPU (median of 1-s readings) |", "|---|---|---|---|---|---|---|---|"]
        growth = 100 * (b["memory_mb"] - a["memory_mb"]) / a["memory_mb"]
        for k, m, change in ((k1, a, ""), (k2, b, f" ({growth:+.1f}%)")):
            lines.append(f"| {k} cycles | {m['memory_mb']:.0f} MB{change} | {m.get('threads')} | {m.get('sessions')} "
                         f"| {m.get('animations')} | {m.get('runners_alive')} | {m.get('periodic_callbacks')} "
                         f"| {m['idle_cores']:.3f} cores |")
    return lines


async def fairness_phase(base, heavy: int, seconds: float = 10.0) -> dict:
    """Two sessions of a cheap demo (sorting) play alone, then beside ``heavy`` sessions of the heaviest
    (the 3D swarms): the cheap ones' updates/s each time (median), and the heavy ones'."""
    async def play(students):
        return [await student.start() for student in students]

    async def measure(students, settle):
        await asyncio.sleep(settle)
        start = time.perf_counter()
        await asyncio.sleep(seconds)
        return statistics.median(s.rate(start, start + seconds) for s in students)

    cheap, loaded = [Student(base, "sorting") for _ in range(2)], [Student(base, "swarms3d") for _ in range(heavy)]
    tasks = await play(cheap)
    alone = await measure(cheap, 3.0)
    tasks += await play(loaded)
    beside = await measure(cheap, 5.0)
    end = time.perf_counter()
    heavy_rate = statistics.median(s.rate(end - seconds, end) for s in loaded)
    for student in cheap + loaded:
        student.leave()
    await asyncio.gather(*tasks)
    return {"alone": alone, "beside": beside, "heavy": heavy_rate, "heavy_sessions": heavy,
            "errors": sum(len(s.errors) for s in cheap + loaded)}


async def run(args, base, probe, log_paths):
    fairness = await fairness_phase(base, args.fairness) if args.fairness else None
    if fairness:
        print(json.dumps(fairness), flush=True)
    load = await load_phase(base, args.sessions, args.seconds, args.stagger, probe, log_paths, args.browser_trials,
                            args.min_updates)
    print(json.dumps({k: v for k, v in load.items() if k != "first_update"}, indent=1, default=str), flush=True)
    cycles = await cycles_phase(base, args.cycles, probe) if args.cycles else None
    if cycles:
        print(json.dumps(cycles, indent=1), flush=True)
    return load, cycles, fairness


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the sessions play together")
    parser.add_argument("--stagger", type=float, default=0.2, help="seconds between two students joining")
    parser.add_argument("--cycles", type=int, default=200, help="sessions opened and closed (0: none)")
    parser.add_argument("--browser-trials", type=int, default=5, help="Chromium newcomers during the load")
    parser.add_argument("--min-updates", type=int, default=0, metavar="K",
                        help="play on past --seconds until every student has received K updates (at most "
                             f"{UPDATES_TIMEOUT:.0f} s more; those still short are counted as frozen)")
    parser.add_argument("--fairness", type=int, default=12, metavar="N",
                        help="first, cheap sessions alone and beside N heavy ones (0: skip)")
    parser.add_argument("--num-procs", type=int, default=1, help="otlab serve --num-procs")
    parser.add_argument("--proxy", type=int, default=0, metavar="N",
                        help="N otlab processes behind nginx with docs/deploy/nginx-otlab.conf (0: no proxy)")
    parser.add_argument("--write", help="the Markdown file to record the results in (docs/benchmarks.md)")
    args = parser.parse_args(argv)
    if 0 < args.cycles <= 2 * len(DEMOS):
        parser.error(f"--cycles must be 0 or more than {2 * len(DEMOS)} (every demo is opened twice before the "
                     "first mark)")
    folder = pathlib.Path(tempfile.mkdtemp(prefix="otlab-load-"))
    options = ("--num-procs", str(args.num_procs))
    with contextlib.ExitStack() as stack:
        if args.proxy:
            base, servers = stack.enter_context(proxied_app(folder, args.proxy, options, timeout=240))
            args.via = f"nginx in front of {args.proxy} processes"
        else:
            log = stack.enter_context(open(folder / "otlab-0.log", "w"))
            servers = [stack.enter_context(served_app(180, options=options, output=log))]
            base = servers[0]
            args.via = f"--num-procs {args.num_procs}" if args.num_procs != 1 else ""
        probe = ServerProbe([s.process.pid for s in servers], sorted(folder.glob("otlab-*.log")))
        load, cycles, fairness = asyncio.run(run(args, base, probe, sorted(folder.glob("otlab-*.log"))))
    lines = report(load, cycles, fairness, args)
    print("\n".join(lines))
    if args.write:
        from bench_sinkhorn import replace_block
        replace_block(args.write, "bench:load" + (f"-proxy{args.proxy}" if args.proxy else
                                                  f"-procs{args.num_procs}" if args.num_procs != 1 else ""),
                      ["### A classroom on one server (`benchmarks/load.py`)"
                       + (f" — {args.via}" if args.via else ""),
                       "", *lines])
    return load, cycles, folder


if __name__ == "__main__":
    main()
