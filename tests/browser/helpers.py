"""Serve the app on a free local port in a subprocess, and launch Debian's Chromium with Playwright."""
from __future__ import annotations

import contextlib
import os
import pathlib
import re
import socket
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Callable

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: how long a page action (a click, a read, a screenshot, a navigation) may wait: on a busy machine a
#: server's answer can take a minute, and Playwright's own 30 s failed tests there; a broken page still fails
PAGE_TIMEOUT_MS = 180_000


def patient(page):
    """``page`` with Playwright's default action and navigation timeouts raised to PAGE_TIMEOUT_MS."""
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
    return page


#: how a server's load report starts (app/server.py's ``load_report``, printed on SIGUSR1)
LOAD_LINE = "otlab load:"


def parse_load(line: str) -> dict:
    """The fields of one load report line: pid, sessions, animations, runners_alive, ... as integers."""
    return {key: int(value) for key, value in (item.split("=") for item in line.split()[2:])}


class ServedURL(str):
    """The served app's base URL; ``process`` is the server's subprocess, ``output()`` its output so far."""
    process: subprocess.Popen
    output: Callable[[], list]

    def load(self, timeout: float = 60.0) -> dict:
        """Ask the server for its load report (SIGUSR1) and wait for it: a dict (see :func:`parse_load`)."""
        before = sum(line.startswith(LOAD_LINE) for line in self.output())
        os.kill(self.process.pid, signal.SIGUSR1)
        deadline = time.time() + timeout
        while time.time() < deadline:
            reports = [line for line in self.output() if line.startswith(LOAD_LINE)]
            if len(reports) > before:
                return parse_load(reports[-1])
            time.sleep(0.1)
        raise AssertionError(f"the server printed no load report in {timeout} s")


class _Lines:
    """A process's output, read line by line in a thread (a pipe nobody reads blocks its writer once full)."""

    def __init__(self, stream):
        self.lines = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            self.lines.append(line)

    def __call__(self) -> list:
        return list(self.lines)


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float, what: str, output=None) -> None:
    """Return once ``url`` answers; a RuntimeError saying ``what`` did not start (with ``output()``, its
    output, where given) if ``process`` exits first or ``timeout`` seconds pass."""
    deadline = time.time() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{what} did not start:\n{''.join(output()) if output else ''}")
            time.sleep(0.3)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@contextlib.contextmanager
def served_app(timeout: float = 240.0, port: int = 0, options=("--no-warm-up",), output=subprocess.PIPE):
    """Run ``python -m otlab.app serve`` on ``port`` (a free one by default) with ``options`` and yield its
    base URL (a :class:`ServedURL`); stop it afterwards. ``output``: where its output goes (a file, or
    piped and kept: ``ServedURL.output()``)."""
    port = port or free_port()
    env = dict(os.environ, OTLAB_DEVICE="cpu", KEOPS_VERBOSE="0")
    proc = subprocess.Popen([sys.executable, "-m", "otlab.app", "serve", "--port", str(port), "--no-show",
                             "--device", "cpu", *options], env=env, stdout=output,
                            stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    served = ServedURL(url)
    served.process = proc
    served.output = _Lines(proc.stdout) if output == subprocess.PIPE else lambda: open(output.name).readlines()
    try:
        wait_until_serving(url, proc, timeout, "otlab serve", served.output)
        yield served
    finally:
        stop(proc)


NGINX = "/usr/sbin/nginx"
#: the reverse-proxy configuration docs/deploy.md gives, with its ports (proxy 8080, processes 5101, 5102)
NGINX_SITE = pathlib.Path(__file__).resolve().parents[2] / "docs" / "deploy" / "nginx-otlab.conf"


@contextlib.contextmanager
def proxied_app(folder: pathlib.Path, backends: int = 2, options=("--no-warm-up",), timeout: float = 240.0):
    """``backends`` otlab processes behind nginx configured with docs/deploy/nginx-otlab.conf as written
    (only its ports changed to free ones, and more upstream lines when ``backends`` > 2); yields
    (proxy URL, [backend ServedURL]). nginx's access log, ``folder``/access.log, has one line per request:
    the student's route (cookie), the process that answered, the request."""
    proxy_port = free_port()
    with contextlib.ExitStack() as stack:
        servers = []
        for k in range(backends):
            log = stack.enter_context(open(folder / f"otlab-{k}.log", "w"))
            servers.append(stack.enter_context(served_app(
                timeout, options=(*options, "--allow-websocket-origin", f"127.0.0.1:{proxy_port}"), output=log)))
        site = NGINX_SITE.read_text().replace("listen 8080;", f"listen 127.0.0.1:{proxy_port};")
        upstreams = "".join(f"    server 127.0.0.1:{s.rsplit(':', 1)[1].strip('/')};\n" for s in servers)
        site = re.sub(r"(    server 127\.0\.0\.1:510\d;\n)+", upstreams, site)
        (folder / "otlab.conf").write_text(site)
        (folder / "nginx.conf").write_text(
            f"daemon off;\nworker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\n"
            "events { worker_connections 1024; }\n"
            f"http {{\n  log_format routes '$otlab_route $upstream_addr $request';\n"
            f"  access_log {folder}/access.log routes;\n"
            + "".join(f"  {kind}_temp_path {folder}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi",
                                                                             "uwsgi", "scgi"))
            + f"  include {folder}/otlab.conf;\n}}\n")
        folder.chmod(0o777)  # nginx's workers run as nobody when started by root
        proxy = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf")],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        stack.callback(stop, proxy)
        url = f"http://127.0.0.1:{proxy_port}/"
        wait_until_serving(url, proxy, timeout, "nginx", _Lines(proxy.stdout))
        yield url, servers


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def open_on_projector(page, address: str, timeout: float = 420) -> None:
    """Open ``address`` (a demo's URL with its query) at 1280×720 and wait for its readout (seconds)."""
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(address, timeout=timeout * 1000)
    page.wait_for_selector(".otlab-readout-text", timeout=timeout * 1000)


def wait_until(predicate, timeout: float = 180.0, every: float = 0.1) -> bool:
    """Return once ``predicate()`` is true; an AssertionError after ``timeout`` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(every)
    raise AssertionError(f"condition not met in {timeout} s")


def frame_count(page) -> int:
    """The frames the player says it has shown."""
    return int(page.locator(".otlab-frame").inner_text())


def pause(page) -> None:
    """Press pause and wait until the server says so (the button then offers Play)."""
    if "Play" in page.locator(".otlab-play button").inner_text():
        return
    page.locator(".otlab-play button").click()
    wait_until(lambda: "Play" in page.locator(".otlab-play button").inner_text())


def still_picture(locator, timeout: float = 60.0) -> bytes:
    """A screenshot of ``locator`` once two taken 0.3 s apart agree (whatever was changing it is done)."""
    shot = locator.screenshot()
    deadline = time.time() + timeout
    while time.time() < deadline:
        locator.page.wait_for_timeout(300)
        again = locator.screenshot()
        if again == shot:
            return shot
        shot = again
    raise AssertionError(f"the picture kept changing for {timeout} s")


def readout(page) -> str:
    """The text of the demo's readout box."""
    return page.locator(".otlab-readout-text").text_content()
