"""Screenshots of the app for docs/ and the gallery thumbnails in assets/ (headless Chromium).

Usage: python docs/make_screenshots.py   (serves the app on a free port, needs /usr/bin/chromium)
"""
from __future__ import annotations

import pathlib
import sys
import time

from playwright.sync_api import sync_playwright

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from helpers import launch, served_app  # noqa: E402


def main():
    with served_app() as url, sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1560, "height": 900})
        page.goto(url + "annealing")
        page.wait_for_selector(".otlab-step-number")
        time.sleep(1.2)
        page.screenshot(path=str(ROOT / "docs" / "annealing-steps.png"))
        page.locator(".otlab-readout-text", has_text="converging").wait_for(timeout=60_000)
        page.screenshot(path=str(ROOT / "docs" / "annealing-converging.png"))
        page.locator(".otlab-readout-text", has_text="displacement interpolation").wait_for(timeout=60_000)
        time.sleep(0.6)
        page.screenshot(path=str(ROOT / "docs" / "annealing-transport.png"))
        page.goto(url + "annealing?source=heart&target=letters+OT&n_source=600&n_target=600&blur=0.01&scaling=0.9")
        page.wait_for_selector(".otlab-step-number")
        time.sleep(2.5)
        box = page.locator(".otlab-main-plot").bounding_box()  # the main figure, while it animates
        page.screenshot(path=str(ROOT / "assets" / "annealing.png"), clip=box)
        page.screenshot(path=str(ROOT / "docs" / "annealing-heart-to-OT.png"))
        page.goto(url)
        page.wait_for_selector(".otlab-card img")
        time.sleep(1.0)
        page.screenshot(path=str(ROOT / "docs" / "gallery.png"))
        browser.close()
    print("wrote docs/annealing-*.png, docs/gallery.png and assets/annealing.png")


if __name__ == "__main__":
    main()
