"""Trame's remote view (server-side VTK rendering, images streamed), measured for the 3D demos' choice.

The 3D demos draw with otlab's own WebGL component (``otlab.app.point_cloud``). Before choosing, Panel's
VTK pane was measured (it re-serialises the scene per update); this script measures the other path the
3D issue names: a trame app whose ``VtkRemoteView`` renders a PyVista scene offscreen on the server and
sends each picture as an image. Scene: the 3D shapes demo's default, N moving points (a sphere morphing
into a torus and back, coloured by a scalar), in a 520 × 480 view like ours. Measured in headless
Chromium at 1280×720 over ``--seconds``: pictures received per second while the server animates (a new
position array per picture, as fast as the view takes them), bytes per picture, and pictures per second
while the mouse turns the camera during the animation (every camera move is a round trip to the server).

Needs ``pyvista``, ``trame``, ``trame-vtk`` (not otlab dependencies) and an offscreen OpenGL (here VTK's
EGL/OSMesa software path).
Usage: python benchmarks/bench_trame.py [--points 5000] [--seconds 8] [--write docs/benchmarks.md]
"""
from __future__ import annotations

import argparse
import asyncio
import datetime
import math
import os
import subprocess
import sys
import time

import numpy as np

SIDE = (520, 480)


def serve(port: int, n: int) -> None:
    """The trame app (run in a subprocess): the remote view and an animation pushing pictures."""
    import pyvista as pv
    from trame.app import get_server
    from trame.ui.html import DivLayout
    from trame.widgets import vtk as vtk_widgets

    rng = np.random.default_rng(0)
    u, v = rng.uniform(0, 2 * np.pi, (2, n))
    sphere = np.stack([np.cos(u) * np.sin(v / 2), np.sin(u) * np.sin(v / 2), np.cos(v / 2)], 1) * 0.8
    torus = np.stack([(0.7 + 0.25 * np.cos(v)) * np.cos(u), (0.7 + 0.25 * np.cos(v)) * np.sin(u),
                      0.25 * np.sin(v)], 1)
    cloud = pv.PolyData(sphere.copy())
    cloud["F"] = sphere[:, 2]
    plotter = pv.Plotter(off_screen=True, window_size=SIDE)
    plotter.add_points(cloud, scalars="F", point_size=4, show_scalar_bar=False)
    plotter.set_background("white")
    server = get_server("bench", client_type="vue3")
    with DivLayout(server):
        view = vtk_widgets.VtkRemoteView(plotter.ren_win, interactive_ratio=1,
                                         style=f"width: {SIDE[0]}px; height: {SIDE[1]}px;")

    async def animate():
        k = 0
        while True:
            t = 0.5 - 0.5 * math.cos(0.05 * k)
            cloud.points = (1 - t) * sphere + t * torus
            plotter.render()
            view.update()  # trame-vtk's call to push a new picture
            k += 1
            await asyncio.sleep(1 / 30)

    server.controller.on_server_ready.add(lambda **_: asyncio.ensure_future(animate()))
    server.start(port=port, open_browser=False, show_connection_info=False)


def measure(port: int, seconds: float):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "browser"))
    from bench_3d import drag_in_circles
    from helpers import launch
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        images = []
        page.on("websocket", lambda ws: ws.on(
            "framereceived", lambda payload: images.append(len(payload)) if len(payload) > 2000 else None))
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector("img, canvas", timeout=60_000)
        page.wait_for_timeout(3000)  # not time.sleep: Playwright reports the frames only while it waits
        i0, t0 = len(images), time.perf_counter()
        page.wait_for_timeout(seconds * 1000)
        i1, t1 = len(images), time.perf_counter()
        playing = (i1 - i0) / (t1 - t0)
        i0 = len(images)
        elapsed = drag_in_circles(page, SIDE[0] / 2 + 8, SIDE[1] / 2 + 8, seconds)
        turning = (len(images) - i0) / elapsed
        browser.close()
    return playing, turning, float(np.median(images)) if images else 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, nargs="+", default=[5000])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--write", default=None)
    parser.add_argument("--serve", type=int, nargs=2, help=argparse.SUPPRESS)  # port, points (the subprocess)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return
    lines = ["| trame remote view | pictures/s while the server animates | pictures/s while the camera turns "
             "| kB per picture |", "|---|---|---|---|"]
    for n in args.points:
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "browser"))
        from helpers import free_port, wait_until_serving
        port = free_port()
        env = dict(os.environ, VTK_DEFAULT_OPENGL_WINDOW=os.environ.get("VTK_DEFAULT_OPENGL_WINDOW",
                                                                         "vtkEGLRenderWindow"))
        proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port), str(n)], env=env)
        try:
            wait_until_serving(f"http://127.0.0.1:{port}/", proc, 120, "the trame app")
            rate, turning, size = measure(port, args.seconds)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        lines.append(f"| {n:,} moving points, {SIDE[0]} × {SIDE[1]} | **{rate:.1f}** | **{turning:.1f}** "
                     f"| {size / 1e3:.0f} |")
        print(lines[-1], flush=True)
    if args.write:
        from bench_sinkhorn import replace_block
        replace_block(args.write, "bench:trame", [
            "### Trame's remote view, for comparison", "",
            f"Measured {datetime.date.today()} with `benchmarks/bench_trame.py --seconds {args.seconds:g}` "
            f"({os.cpu_count()} CPU cores shared by the server and headless Chromium; VTK renders offscreen "
            "in software). The same scene as the 3D shapes demo's default, rendered on the server and sent "
            "as images; every camera move is a round trip. The server animates with new positions 30 times a "
            "second (`plotter.render()` then `view.update()`, trame-vtk's call to push a picture). Each picture "
            "costs the server a render and an image encoding per viewer, and each camera move waits for one; "
            "otlab's WebGL view sends ~1 kB per frame and turns the camera in the browser (block above).",
            "", *lines, ""])


if __name__ == "__main__":
    main()
