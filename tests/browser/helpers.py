"""Serve the app on a free local port in a subprocess, and launch Debian's Chromium with Playwright."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServedURL(str):
    """The served app's base URL; ``process`` is the server's subprocess (to watch its CPU time)."""
    process: subprocess.Popen


def cpu_seconds(process: subprocess.Popen) -> float:
    """CPU time (user + system, s) the process has used so far, from /proc."""
    fields = open(f"/proc/{process.pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float, what: str) -> None:
    """Return once ``url`` answers; a RuntimeError saying ``what`` did not start (with its output, when
    piped) if ``process`` exits first or ``timeout`` seconds pass."""
    deadline = time.time() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{what} did not start:\n{process.stdout.read() if process.stdout else ''}")
            time.sleep(0.3)


@contextlib.contextmanager
def served_app(timeout: float = 90.0):
    """Run ``python -m otlab.app serve`` and yield its base URL (a :class:`ServedURL`); stop it afterwards."""
    port = free_port()
    env = dict(os.environ, OTLAB_DEVICE="cpu", KEOPS_VERBOSE="0")
    proc = subprocess.Popen([sys.executable, "-m", "otlab.app", "serve", "--port", str(port), "--no-show",
                             "--no-warm-up", "--device", "cpu"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(url, proc, timeout, "otlab serve")
        served = ServedURL(url)
        served.process = proc
        yield served
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def open_on_projector(page, address: str, timeout: float = 60) -> None:
    """Open ``address`` (a demo's URL with its query) at 1280×720 and wait for its readout (seconds)."""
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(address)
    page.wait_for_selector(".otlab-readout-text", timeout=timeout * 1000)


def readout(page) -> str:
    """The text of the demo's readout box."""
    return page.locator(".otlab-readout-text").text_content()
