"""The app in headless Chromium: gallery, the annealing demo, uploads, sessions."""
import re
import time

import pytest

from helpers import frame_count, open_on_projector, patient, pause, wait_until

pytestmark = pytest.mark.browser


def readout(page):
    return page.locator(".otlab-readout-text").inner_text()


def open_demo(page, url, query=""):
    page.goto(url + "annealing" + query)
    page.wait_for_selector(".otlab-step-number", timeout=180_000)


def f_image(page):
    """PNG bytes of the F figure."""
    return page.locator(".bk-Canvas").nth(1).screenshot()


def test_gallery_lists_the_demo(page, app_url):
    page.goto(app_url)
    card = page.locator("#card-annealing")
    card.wait_for(timeout=90_000)
    assert "ε-annealing" in card.inner_text()
    assert card.locator("a").get_attribute("href") == "./annealing"
    wait_until(lambda: page.evaluate("(img) => img.complete && img.naturalWidth > 100",
                                     card.locator("img").element_handle()))
    assert page.console_errors == []


def test_demo_loads_without_console_errors_and_plays(page, app_url):
    open_demo(page, app_url)
    start, picture = frame_count(page), f_image(page)
    wait_until(lambda: frame_count(page) >= start + 5)
    wait_until(lambda: f_image(page) != picture)  # the potential F is drawn anew as ε goes down
    step = int(page.locator(".otlab-step-number").inner_text())
    assert step >= 1 or "interpolation" in readout(page)
    assert page.locator(".otlab-lesson h3").inner_text() == "What you see"
    # the transport only plays once the final ε has converged to tol (default 1e-3)
    wait_until(lambda: "interpolation" in readout(page))
    assert "✓ ≤ tol" in readout(page)
    err = float(re.search(r"marginal error = ([0-9.e+-]+)", readout(page)).group(1))
    assert err <= 1e-3
    time.sleep(1.0)
    assert page.console_errors == []


def test_blur_slider_changes_the_potential_image(page, app_url):
    open_demo(page, app_url, "?n_source=200&n_target=200&scaling=0.5")
    wait_until(lambda: "interpolation" in readout(page))
    pause(page)
    before_text, before_img = readout(page), f_image(page)
    sigma_before = re.search(r"σ = ε1/p = ([0-9.e-]+)", before_text).group(1)
    handle = page.locator(".otlab-w-blur .noUi-handle")
    handle.focus()
    for _ in range(8):
        handle.press("ArrowRight")
    page.locator(".otlab-play button").click()  # play the new annealing to its end
    wait_until(lambda: "interpolation" in readout(page) and
               re.search(r"σ = ε1/p = ([0-9.e-]+)", readout(page)).group(1) != sigma_before)
    pause(page)
    assert f_image(page) != before_img
    assert page.console_errors == []


def test_uploading_a_non_image_shows_an_error_and_the_page_keeps_working(page, app_url, tmp_path):
    open_demo(page, app_url)
    bogus = tmp_path / "notes.png"
    bogus.write_text("this is not an image")
    page.get_by_text("Draw & upload").click()
    page.locator(".otlab-upload input[type=file]").set_input_files(str(bogus))
    page.get_by_text("is not an image we can read").wait_for(timeout=90_000)
    page.get_by_text("Settings").click()
    start = frame_count(page)
    wait_until(lambda: frame_count(page) > start + 3)


def test_two_sessions_do_not_share_state(browser, app_url):
    first, second = patient(browser.new_page()), patient(browser.new_page())
    open_demo(first, app_url, "?n_source=100&n_target=100")
    open_demo(second, app_url, "?n_source=100&n_target=100")
    first.locator(".otlab-w-source select").select_option("heart")
    wait_until(lambda: "heart" in first.url or first.locator(".otlab-w-source select").input_value() == "heart")
    time.sleep(1.0)
    assert second.locator(".otlab-w-source select").input_value() == "Gaussian blobs"
    assert "heart" not in second.url
    pause(second)
    frozen = frame_count(second)  # the server has paused it: a frame computing then may still land, no other
    s1 = frame_count(first)
    wait_until(lambda: frame_count(first) > s1 + 3)
    assert frozen <= frame_count(second) <= frozen + 1
    first.close()
    second.close()


def test_a_closed_page_stops_computing(browser, app_url):
    """Bokeh keeps a closed page's session 15–30 s before destroying it; its runner computes nothing
    meanwhile. Counted by the server (its load report): frames are computed while the 3D swarm plays; once
    the page's connection is gone and the frame in flight has finished, no frame is computed, waiting or
    running for 3 s (the runner of a closed page polls once a second, so it would have submitted two)."""
    page = patient(browser.new_page())
    open_on_projector(page, app_url + "swarms3d")
    wait_until(lambda: frame_count(page) > 5)
    playing = app_url.load()
    assert playing["connections"] >= 1
    wait_until(lambda: app_url.load()["frames_computed"] > playing["frames_computed"])
    page.close()
    wait_until(lambda: (lambda c: c["connections"] == c["frames_waiting"] == c["frames_running"] == 0)(app_url.load()))
    closed = app_url.load()
    time.sleep(3.0)
    later = app_url.load()
    assert later["frames_computed"] == closed["frames_computed"]
