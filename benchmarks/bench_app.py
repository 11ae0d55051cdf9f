"""Frames per second rendered in the browser, and slider -> new frame latency, for the ε-annealing demo.

Serves the app (``python -m otlab.app serve``), opens /annealing in headless Chromium at the default
sizes, and measures in the page itself (requestAnimationFrame polling of the frame counter and readout):

* fps while playing: changes of the frame counter per second over ``--seconds``;
* latency: with the animation paused, time from releasing the blur slider's handle after a short drag
  (when the browser sends the new value) to the first repaint showing the new frame, over ``--trials``.

With ``--demo flows``: the gradient-flows demo's fps on every preset at the defaults (2 panels of 500
particles) and with 4 panels.

Usage: python benchmarks/bench_app.py [--demo annealing|flows] [--seconds 10] [--trials 20]
       [--write docs/benchmarks.md]
"""
from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import sys
import time

from playwright.sync_api import sync_playwright

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from helpers import launch, served_app  # noqa: E402

DEEP_QUERY = """
window.deepQuery = (selector, root = document) => {
  const found = root.querySelector(selector);
  if (found) return found;
  for (const el of root.querySelectorAll('*')) {
    if (el.shadowRoot) { const inner = window.deepQuery(selector, el.shadowRoot); if (inner) return inner; }
  }
  return null;
};
"""

COUNT_FRAMES = """
async (seconds) => {
  const el = window.deepQuery('.otlab-frame');
  let last = el.textContent, changes = 0;
  const start = performance.now();
  await new Promise(done => {
    const poll = () => {
      const now = window.deepQuery('.otlab-frame').textContent;
      if (now !== last) { changes += 1; last = now; }
      if (performance.now() - start < seconds * 1000) requestAnimationFrame(poll); else done();
    };
    requestAnimationFrame(poll);
  });
  return changes / ((performance.now() - start) / 1000);
}
"""

RELEASE_LISTENER = """
() => document.addEventListener('pointerup', () => { window.__keyTime = performance.now(); }, true)
"""

# resolves with the time from the latest pointer release to the first repaint showing a new frame
WATCH_READOUT = """
() => new Promise(done => {
  const before = window.deepQuery('.otlab-frame').textContent;
  const start = performance.now();
  const poll = () => {
    const el = window.deepQuery('.otlab-frame');
    if (el && el.textContent !== before) done(performance.now() - window.__keyTime);
    else if (performance.now() - start > 10000) done(-1);
    else requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
})
"""


def measure(seconds: float, trials: int):
    with served_app() as url, sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(url + "annealing")
        page.wait_for_selector(".otlab-step-number", timeout=60_000)
        page.evaluate(DEEP_QUERY)
        time.sleep(2.0)  # past the first frames
        fps = page.evaluate(COUNT_FRAMES, seconds)
        page.locator(".otlab-play button", has_text="Pause").click()
        time.sleep(1.0)
        handle = page.locator(".otlab-w-blur .noUi-handle")
        page.evaluate(RELEASE_LISTENER)
        latencies = []
        for k in range(trials):
            box = handle.bounding_box()
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.evaluate(f"() => {{ window.__pending = ({WATCH_READOUT})(); }}")
            page.mouse.move(x, y)
            page.mouse.down()
            page.mouse.move(x + (8 if k % 2 == 0 else -8), y, steps=3)
            page.mouse.up()
            latency = page.evaluate("() => window.__pending")
            if latency > 0:
                latencies.append(latency)
            time.sleep(0.3)
        browser.close()
    return fps, latencies


#: flows demo: the URLs measured (every preset at the defaults, then four panels)
FLOWS_QUERIES = [("blobs → crescent", "Sinkhorn p=2 + energy", "preset=blobs+%E2%86%92+crescent"),
                 ("A → B", "Sinkhorn p=2 + energy", "preset=A+%E2%86%92+B"),
                 ("heart → deformed heart", "Sinkhorn p=2 + energy", "preset=heart+%E2%86%92+deformed+heart"),
                 ("annulus → two moons", "Sinkhorn p=2 + energy", "preset=annulus+%E2%86%92+two+moons"),
                 ("blobs → crescent", "4 panels: Sinkhorn p=2, p=1, energy, Gaussian",
                  "losses=%5B%22Sinkhorn+p%3D2%22%2C+%22Sinkhorn+p%3D1%22%2C+%22energy+distance%22%2C"
                  "+%22Gaussian+MMD%22%5D")]


def measure_flows(seconds: float):
    """Frames per second of the flows demo (500 particles) for each of FLOWS_QUERIES."""
    rows = []
    with served_app() as url, sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        for preset, losses, query in FLOWS_QUERIES:
            page.goto(url + "flows?" + query)
            page.wait_for_selector(".otlab-time", timeout=60_000)
            page.evaluate(DEEP_QUERY)
            time.sleep(2.0)
            rows.append((preset, losses, page.evaluate(COUNT_FRAMES, seconds)))
            print(rows[-1], flush=True)
        browser.close()
    return rows


def flows_main(args):
    import statistics

    rows = measure_flows(args.seconds)
    defaults = [fps for _, losses, fps in rows if losses.startswith("Sinkhorn p=2 +")]
    lines = ["| preset | panels (500 particles each) | fps rendered |", "|---|---|---|"]
    lines += [f"| {preset} | {losses} | {fps:.1f} |" for preset, losses, fps in rows]
    summary = (f"Defaults (2 panels) over the presets: median **{statistics.median(defaults):.1f}** fps, "
               f"worst **{min(defaults):.1f}** fps.")
    print("\n".join(lines) + "\n" + summary)
    if args.write:
        from bench_sinkhorn import replace_block
        replace_block(args.write, "bench:flows-fps", [
            "### The gradient-flows demo in the browser", "",
            f"Measured {datetime.date.today()} with `benchmarks/bench_app.py --demo flows` ({os.cpu_count()} CPU "
            "cores; the server and headless Chromium with software rendering share them; target ≥ 20 fps with "
            "2 panels of 500 particles).", "", *lines, "", summary])


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--write", metavar="MARKDOWN")
    parser.add_argument("--demo", choices=["annealing", "flows"], default="annealing")
    args = parser.parse_args()
    if args.demo == "flows":
        return flows_main(args)
    fps, lat = measure(args.seconds, args.trials)
    p50, p95 = percentile(lat, 0.5), percentile(lat, 0.95)
    line = (f"| {os.cpu_count()} CPU cores, headless Chromium (software rendering) | 400 + 400 points, 96² F and G images "
            f"| **{fps:.1f}** | **{p50:.0f} ms** | {p95:.0f} ms | {len(lat)}/{args.trials} |")
    header = ("| machine | demo defaults | fps rendered while playing | slider → frame p50 | p95 | trials seen |\n"
              "|---|---|---|---|---|---|")
    print(header)
    print(line)
    if args.write:
        from bench_sinkhorn import replace_block
        replace_block(args.write, "bench:app", [
            "### The ε-annealing demo in the browser", "",
            f"Measured {datetime.date.today()} with `benchmarks/bench_app.py` (targets: ≥ 20 fps, p50 ≤ 150 ms).", "",
            header, line])

if __name__ == "__main__":
    main()
