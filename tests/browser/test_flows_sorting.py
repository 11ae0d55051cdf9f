"""The gradient-flows and sorting demos in headless Chromium: load, play, controls, export."""
import re

import pytest

from helpers import wait_until

pytestmark = pytest.mark.browser


def visible(page, selector):
    return page.locator(f"{selector}:visible").first


def frame_count(page):
    return int(visible(page, ".otlab-frame").inner_text())


def readout(page):
    return visible(page, ".otlab-readout-text").inner_text()


def test_gallery_lists_both_demos_with_thumbnails(page, app_url):
    page.goto(app_url)
    for slug, title in (("flows", "Gradient flows"), ("sorting", "OT is sorting")):
        card = page.locator(f"#card-{slug}")
        card.wait_for(timeout=90_000)
        assert title in card.inner_text()
        wait_until(lambda: page.evaluate("(img) => img.complete && img.naturalWidth > 100",
                                         card.locator("img").element_handle()))
    assert page.console_errors == []


def open_flows(page, url, query=""):
    page.goto(url + "flows" + query)
    page.wait_for_selector(".otlab-time", timeout=180_000)


def flow_time(page):
    return float(page.locator(".otlab-time").inner_text())


def test_flows_play_moves_the_particles(page, app_url):
    open_flows(page, app_url, "?n=200")
    wait_until(lambda: flow_time(page) > 0.2)
    plot = page.locator(".otlab-flow-plot").first
    before = plot.screenshot()
    t0 = flow_time(page)
    wait_until(lambda: flow_time(page) > t0 + 0.5)
    assert plot.screenshot() != before
    assert "Sinkhorn p=2" in readout(page) and "energy distance" in readout(page)
    assert page.console_errors == []


def test_ticking_a_loss_adds_a_panel_and_too_many_are_refused(page, app_url):
    open_flows(page, app_url, "?n=100")
    page.locator(".otlab-w-losses").get_by_text("Gaussian MMD").click()
    wait_until(lambda: "Gaussian MMD" in readout(page))
    wait_until(lambda: page.locator(".otlab-flow-plot:visible").count() == 3)
    for name in ("soft Hausdorff", "Laplacian MMD"):
        page.locator(".otlab-w-losses").get_by_text(name).click()
    page.get_by_text("Tick 1 to 4 losses").wait_for(timeout=90_000)
    start = frame_count(page)
    wait_until(lambda: frame_count(page) > start + 3)  # the page keeps running
    assert page.console_errors == []


def test_export_downloads_the_snapshot_png(page, app_url):
    open_flows(page, app_url, "?n=100&lr=0.5")
    wait_until(lambda: flow_time(page) >= 10.0)
    with page.expect_download(timeout=60_000) as download:
        page.locator(".otlab-export").get_by_text("Export").click()
    data = open(download.value.path(), "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_sorting_1d_sweeps_and_p_changes_the_cost(page, app_url):
    page.goto(app_url + "sorting")
    page.wait_for_selector(".otlab-level", timeout=180_000)
    level = visible(page, ".otlab-level").inner_text()
    wait_until(lambda: visible(page, ".otlab-level").inner_text() != level)
    value = float(visible(page, ".otlab-value").inner_text())
    page.locator(".otlab-w-p").get_by_text("1", exact=True).click()
    wait_until(lambda: float(visible(page, ".otlab-value").inner_text()) != value)
    assert "line_p=1" in page.url
    assert page.console_errors == []


def matching(page):
    return page.locator(".otlab-matching-readout").inner_text()


def test_sorting_2d_auction_certifies_the_optimum_and_greedy_does_not(page, app_url):
    page.goto(app_url + "sorting?n=30")
    page.wait_for_selector(".otlab-level", timeout=180_000)
    page.get_by_text("2D: greedy").click()
    wait_until(lambda: "optimal (certified)" in matching(page))
    text = matching(page)
    rounds = re.search(r"auction: round (\d+), cost 1\.000× opt", text).group(1)
    assert "greedy" in text
    page.locator(".otlab-w-annealing input").uncheck()  # annealing off: a fresh run, one auction phase at ε
    wait_until(lambda: re.search(r"auction: round (\d+), cost 1\.000× opt", matching(page)) is not None and
               re.search(r"auction: round (\d+)", matching(page)).group(1) != rounds)
    assert "annealing=false" in page.url
    assert page.console_errors == []
