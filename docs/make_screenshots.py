"""Screenshots of the app for docs/ and the gallery thumbnails in assets/ (headless Chromium).

Usage: python docs/make_screenshots.py [annealing] [flows] [sorting] [barycenters] [barycenters_3d] [gaussians] [power_diagrams] [swarms] [shapes3d] [swarms3d] [gallery]   (default: all; serves the
app on a free port, needs /usr/bin/chromium)
"""
from __future__ import annotations

import pathlib
import sys
import time

from playwright.sync_api import sync_playwright

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from helpers import launch, served_app  # noqa: E402

DOCS, ASSETS = ROOT / "docs", ROOT / "assets"


def thumbnail(page, selector, name):
    """The union of the boxes of ``selector``'s visible matches, saved as assets/<name>."""
    boxes = [b for b in (el.bounding_box() for el in page.locator(f"{selector}:visible").all()) if b]
    x0, y0 = min(b["x"] for b in boxes), min(b["y"] for b in boxes)
    x1, y1 = max(b["x"] + b["width"] for b in boxes), max(b["y"] + b["height"] for b in boxes)
    page.screenshot(path=str(ASSETS / name), clip=dict(x=x0, y=y0, width=x1 - x0, height=y1 - y0))


def projector_shots(page, name, selector):
    """docs/<name>-1280.png, the thumbnail assets/<name>.png of ``selector``, docs/<name>-1920.png (the page
    widened to 1920×1080), then back to 1280×720."""
    page.screenshot(path=str(DOCS / f"{name}-1280.png"))
    thumbnail(page, selector, f"{name}.png")
    page.set_viewport_size({"width": 1920, "height": 1080})
    time.sleep(1.0)
    page.screenshot(path=str(DOCS / f"{name}-1920.png"))
    page.set_viewport_size({"width": 1280, "height": 720})


def visit(page, address, selector, seconds):
    """Open ``address``, wait for ``selector`` (the demo's first frame), then let it animate ``seconds``."""
    page.goto(address)
    page.wait_for_selector(selector)
    time.sleep(seconds)


def annealing(page, url):
    visit(page, url + "annealing", ".otlab-step-number", 1.2)
    page.screenshot(path=str(DOCS / "annealing-steps.png"))
    page.locator(".otlab-readout-text", has_text="converging").wait_for(timeout=60_000)
    page.screenshot(path=str(DOCS / "annealing-converging.png"))
    page.locator(".otlab-readout-text", has_text="displacement interpolation").wait_for(timeout=60_000)
    time.sleep(0.6)
    page.screenshot(path=str(DOCS / "annealing-transport.png"))
    visit(page, url + "annealing?source=heart&target=letters+OT&n_source=600&n_target=600&blur=0.01&scaling=0.9",
          ".otlab-step-number", 2.5)
    page.screenshot(path=str(DOCS / "annealing-heart-to-OT.png"))
    page.set_viewport_size({"width": 1280, "height": 720})
    time.sleep(1.0)
    projector_shots(page, "annealing", ".otlab-main-plot")


def flows(page, url):
    page.set_viewport_size({"width": 1280, "height": 720})
    visit(page, url + "flows", ".otlab-time", 4.0)
    page.screenshot(path=str(DOCS / "flows-1280.png"))
    page.set_viewport_size({"width": 1920, "height": 1080})
    visit(page, url + "flows?preset=heart+%E2%86%92+deformed+heart&losses=%5B%22Sinkhorn+p%3D2%22%2C+%22Sinkhorn+p%3D1"
          "%22%2C+%22energy+distance%22%2C+%22Gaussian+MMD%22%5D", ".otlab-time", 6.0)
    page.screenshot(path=str(DOCS / "flows-registration-1920.png"))
    visit(page, url + "flows?preset=A+%E2%86%92+B&losses=%5B%22Sinkhorn+p%3D2%22%2C+%22Gaussian+MMD%22%5D&n=400",
          ".otlab-time", 2.5)
    thumbnail(page, ".otlab-flow-plot", "flows.png")


def sorting(page, url):
    page.set_viewport_size({"width": 1280, "height": 720})
    visit(page, url + "sorting", ".otlab-level", 2.0)
    page.screenshot(path=str(DOCS / "sorting-1d-1280.png"))
    page.get_by_text("2D: greedy").click()
    time.sleep(3.0)
    page.screenshot(path=str(DOCS / "sorting-2d-1280.png"))
    thumbnail(page, ".otlab-match-greedy, .otlab-match-auction, .otlab-match-sinkhorn", "sorting.png")
    page.locator(".otlab-readout-text:visible", has_text="optimal (certified)").wait_for(timeout=60_000)
    time.sleep(1.0)
    page.screenshot(path=str(DOCS / "sorting-2d-certified-1280.png"))


def explorer_off_centre(page, address):
    """The barycenter explorer at ``address``, 1280×720, its dot clicked off-centre (weights A 0.16,
    B 0.41, C 0.43), settled there."""
    page.set_viewport_size({"width": 1280, "height": 720})
    visit(page, address, ".otlab-settled", 0.5)
    box = page.locator(".otlab-picker canvas").first.bounding_box()
    page.mouse.click(box["x"] + (0.42 + 0.62) / 1.84 * box["width"],
                     box["y"] + box["height"] - (0.42 + 0.32) / 1.84 * box["height"])
    page.locator(".otlab-readout-text", has_text="B 0.41").wait_for(timeout=60_000)
    page.locator(".otlab-settled").wait_for(timeout=60_000)


def barycenters(page, url):
    """The explorer at 1280 (dot dragged off-centre), the 5 × 5 grid of four shapes, point clouds, 1920."""
    explorer_off_centre(page, url + "barycenters?resolution=96")
    time.sleep(0.5)
    page.screenshot(path=str(DOCS / "barycenters-1280.png"))
    thumbnail(page, ".otlab-average, .otlab-barycenter", "barycenters.png")
    page.set_viewport_size({"width": 1920, "height": 1080})
    time.sleep(1.0)
    page.screenshot(path=str(DOCS / "barycenters-1920.png"))
    page.set_viewport_size({"width": 1280, "height": 720})
    visit(page, url + "barycenters?mode=point+clouds&inputs=%5B%22disk%22%2C+%22ring%22%2C+%22star%22%5D",
          ".otlab-readout-text", 8.0)
    page.screenshot(path=str(DOCS / "barycenters-points-1280.png"))
    visit(page, url + "barycenters?resolution=64&blur=0.03&inputs=%5B%22disk%22%2C+%22ring%22%2C+%22star%22%2C+%22duck"
          "%22%5D", ".otlab-settled", 0.5)
    page.locator(".otlab-grid-button button").click()
    page.locator(".otlab-grid-download").wait_for(timeout=300_000)
    with page.expect_download() as download:
        page.locator(".otlab-grid-download").click()
    download.value.save_as(str(DOCS / "barycenters-grid.png"))


def barycenters_3d(page, url):
    """The volumes mode at 1280: the average and the barycenter drawn in 3D, the camera turned a little."""
    explorer_off_centre(page, url + "barycenters?mode=volumes+%283D%29")
    view = page.locator(".otlab-3d-barycenter canvas").bounding_box()
    page.mouse.move(view["x"] + 150, view["y"] + 130)
    page.mouse.down()
    page.mouse.move(view["x"] + 190, view["y"] + 150, steps=5)
    page.mouse.up()
    time.sleep(0.5)
    page.screenshot(path=str(DOCS / "barycenters-volumes-1280.png"))


def power_diagrams(page, url):
    """Converged cells at 1280 and 1920 (the thumbnail from those), the mass-error colours while Newton runs
    after a drag, and the anisotropic mode."""
    page.set_viewport_size({"width": 1280, "height": 720})
    visit(page, url + "power_diagrams", ".otlab-converged", 0.5)
    projector_shots(page, "power_diagrams", ".otlab-cells")
    visit(page, url + "power_diagrams?mode=anisotropic&targets=blob&colour=weight&aspect=4", ".otlab-converged", 0.5)
    page.screenshot(path=str(DOCS / "power_diagrams-anisotropic-1280.png"))


def gaussians(page, url):
    """Both geodesics and the densities at 1280 and 1920 (the thumbnail from the plane and the densities),
    the Lesson tab beside them, and the 2D Bures mode after the solver check."""
    page.set_viewport_size({"width": 1280, "height": 720})
    visit(page, url + "gaussians", ".otlab-readout-text", 2.0)
    projector_shots(page, "gaussians", ".otlab-plane, .otlab-densities")
    page.locator(".bk-tab:visible", has_text="Lesson").click()
    time.sleep(2.0)
    page.screenshot(path=str(DOCS / "gaussians-lesson-1280.png"))
    visit(page, url + "gaussians?mode=2D%3A+Bures", ".otlab-readout-text", 1.0)
    page.locator(".otlab-check button").click()
    page.locator(".otlab-check-value").wait_for(timeout=600_000)  # a niced frame worker beside other jobs: minutes
    time.sleep(1.0)
    page.screenshot(path=str(DOCS / "gaussians-bures-1280.png"))


def swarms(page, url):
    """Surface tension sorting at 1280 and 1920 (the thumbnail from it), hard and soft particles falling (grid
    path), and an animated GIF of run-and-tumble particles in a disk."""
    page.set_viewport_size({"width": 1280, "height": 720})
    visit(page, url + "swarms?preset=surface+tension", ".otlab-readout-text", 12.0)
    projector_shots(page, "swarms", ".otlab-swarm")
    visit(page, url + "swarms?preset=gravity", ".otlab-readout-text", 25.0)
    page.screenshot(path=str(DOCS / "swarms-gravity-1280.png"))
    visit(page, url + "swarms?preset=run+and+tumble&n=150", ".otlab-readout-text", 2.0)
    animated_gif(page, ".otlab-swarm", DOCS / "swarms.gif", frames=40, every=0.15)


def animated_gif(page, selector, path, frames, every):
    """``frames`` screenshots of ``selector`` taken ``every`` seconds, as a looping GIF (half size)."""
    import io

    from PIL import Image

    shots = []
    for _ in range(frames):
        image = Image.open(io.BytesIO(page.locator(selector).first.screenshot())).convert("RGB")
        shots.append(image.resize((image.width // 2, image.height // 2), Image.LANCZOS).quantize(colors=64))
        time.sleep(every)
    shots[0].save(path, save_all=True, append_images=shots[1:], duration=int(every * 1000), loop=0, optimize=True)


def shapes3d(page, url):
    """The bunny on its way to the torus at 1280 (the thumbnail from the WebGL canvas) and 1920, and a GIF."""
    page.set_viewport_size({"width": 1280, "height": 720})
    visit(page, url + "shapes3d", ".otlab-readout-text", 6.0)
    projector_shots(page, "shapes3d", "canvas.otlab-webgl")
    animated_gif(page, "canvas.otlab-webgl", DOCS / "shapes3d.gif", frames=40, every=0.12)


def swarms3d(page, url):
    """Hard and soft particles falling in a box of voxels at 1280 (the thumbnail from the canvas)."""
    page.set_viewport_size({"width": 1280, "height": 720})
    visit(page, url + "swarms3d?preset=gravity", ".otlab-readout-text", 20.0)
    page.screenshot(path=str(DOCS / "swarms3d-1280.png"))
    thumbnail(page, "canvas.otlab-webgl", "swarms3d.png")


def gallery(page, url):
    page.set_viewport_size({"width": 1280, "height": 720})
    visit(page, url, ".otlab-card img", 1.0)
    page.screenshot(path=str(DOCS / "gallery.png"))


SHOTS = dict(annealing=annealing, flows=flows, sorting=sorting, barycenters=barycenters, barycenters_3d=barycenters_3d,
             gaussians=gaussians, power_diagrams=power_diagrams, swarms=swarms, shapes3d=shapes3d, swarms3d=swarms3d,
             gallery=gallery)


def main(names):
    with served_app() as url, sync_playwright() as pw:
        browser = launch(pw)
        for name in names or SHOTS:
            page = browser.new_page(viewport={"width": 1560, "height": 900})
            SHOTS[name](page, url)
            page.close()
            print("done:", name)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1:])
