"""The barycenter explorer in headless Chromium: load, drag and tap the weight point, 4 inputs, the
point-cloud mode, the interpolation grid, a bad upload."""
import re

import pytest

from helpers import open_on_projector, readout, still_picture, wait_until

pytestmark = pytest.mark.browser


def weights(page):
    """The weights the readout shows, e.g. {'A': 0.33, 'B': 0.33, 'C': 0.33}."""
    return {k: float(v) for k, v in re.findall(r"\b([ABCD]) (\d\.\d\d)", readout(page))}


def settled(page):
    return "settled" in readout(page)


def picker_point(page, x, y):
    """Screen position of the picker point (x, y) (plot ranges -0.42..1.42, square frame, no axes)."""
    box = page.locator(".otlab-picker .bk-Canvas, .otlab-picker canvas").first.bounding_box()
    span = 1.84
    return box["x"] + (x + 0.42) / span * box["width"], box["y"] + box["height"] - (y + 0.42) / span * box["height"]


def test_loads_fits_a_projector_and_settles(page, app_url):
    open_on_projector(page, app_url + "barycenters")
    wait_until(lambda: settled(page), timeout=240)
    assert weights(page) == {"A": 0.33, "B": 0.33, "C": 0.33}
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert page.console_errors == []


def test_dragging_the_point_moves_the_weights_and_the_barycenter(page, app_url):
    open_on_projector(page, app_url + "barycenters")
    wait_until(lambda: settled(page), timeout=240)
    bary = page.locator(".otlab-barycenter")
    before = bary.screenshot()
    page.mouse.move(*picker_point(page, 0.5, 0.29))
    page.mouse.down()
    last = weights(page)
    for i in range(1, 21):  # toward corner B (1, 0), a bit beyond it
        page.mouse.move(*picker_point(page, 0.5 + 0.6 * i / 20, 0.29 - 0.35 * i / 20))
        if i in (5, 10, 15):  # the weights follow the pointer during the drag, not only at its end
            wait_until(lambda: weights(page) != last, timeout=180)
            last = weights(page)
    page.mouse.up()
    wait_until(lambda: weights(page).get("B", 0) > 0.9 and settled(page), timeout=240)
    assert bary.screenshot() != before
    assert page.console_errors == []


def test_tapping_a_corner_and_four_inputs(page, app_url):
    open_on_projector(page, app_url + "barycenters?resolution=32")
    wait_until(lambda: settled(page), timeout=240)
    page.mouse.click(*picker_point(page, 0.5, 0.85))  # the apex: corner C
    wait_until(lambda: weights(page).get("C", 0) > 0.9, timeout=180)
    page.locator(".otlab-count").get_by_text("4 inputs").click()
    wait_until(lambda: weights(page) == {"A": 0.25, "B": 0.25, "C": 0.25, "D": 0.25}, timeout=180)
    assert page.locator(".otlab-corner-D select").is_visible()
    page.mouse.click(*picker_point(page, 0.0, 1.0))  # corner D of the square
    wait_until(lambda: weights(page).get("D", 0) > 0.9 and settled(page), timeout=240)
    assert page.console_errors == []


def test_point_cloud_mode_runs_fixed_point_steps(page, app_url):
    open_on_projector(page, app_url + "barycenters?mode=point+clouds&n_points=100")
    wait_until(lambda: "fixed-point steps" in readout(page), timeout=240)
    wait_until(lambda: int(re.search(r"fixed-point steps (\d+)", readout(page)).group(1)) >= 3, timeout=240)
    assert page.console_errors == []


def test_the_interpolation_grid_is_computed_and_offered(page, app_url):
    open_on_projector(page, app_url + "barycenters?resolution=32&blur=0.05")
    wait_until(lambda: settled(page), timeout=240)
    page.locator(".otlab-grid-button button").click()
    page.locator(".otlab-grid-image img").wait_for(timeout=180_000)
    assert page.locator(".otlab-grid-download").is_visible()
    assert page.console_errors == []


def test_a_bad_upload_is_reported_not_raised(page, app_url, tmp_path):
    open_on_projector(page, app_url + "barycenters?resolution=32")
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    page.locator(".otlab-upload input[type=file]").set_input_files(str(bad))
    page.locator(".otlab-message", has_text="not an image we can read").wait_for(timeout=90_000)
    good = tmp_path / "bar.png"
    from PIL import Image
    img = Image.new("L", (40, 30), 255)
    img.paste(0, (5, 5, 15, 25))
    img.save(good)
    page.locator(".otlab-upload input[type=file]").set_input_files(str(good))
    wait_until(lambda: "upload: bar.png" in page.locator(".otlab-corner-C select").input_value(), timeout=90)
    wait_until(lambda: settled(page), timeout=240)


def test_a_url_in_the_volumes_mode_opens(page, app_url):
    """?mode=volumes (3D) used to fail the whole page (IndexError): a hidden fourth corner's menu lost its
    value when the options changed to volumes, and its watcher wrote past the three names."""
    open_on_projector(page, app_url + "barycenters?mode=volumes+%283D%29&volume_resolution=16")
    page.locator(".otlab-settled").wait_for(timeout=120_000)
    assert "16 × 16 × 16" in page.locator(".otlab-readout-text").text_content()
    assert page.console_errors == []


def test_the_volumes_mode_draws_both_volumes_in_3d_and_their_cameras_turn_together(page, app_url):
    """Chosen on the page, the volumes mode draws the average and the barycenter as WebGL point clouds
    (SwiftShader); dragging the barycenter's view turns both; back in the images mode the figures return."""
    open_on_projector(page, app_url + "barycenters?volume_resolution=16")
    page.get_by_role("button", name="volumes (3D)").click()
    wait_until(lambda: "16 × 16 × 16" in readout(page) and settled(page), timeout=120)
    views = [page.locator(f".otlab-3d-{key} canvas") for key in ("average", "barycenter")]
    wait_until(lambda: all(int(v.get_attribute("data-drawn") or 0) > 0 for v in views), timeout=90)
    before = [still_picture(v) for v in views]
    assert before[0] != before[1]  # the average is not the barycenter
    box = views[1].bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 100, box["y"] + box["height"] / 2 + 20, steps=6)
    page.mouse.up()
    wait_until(lambda: all(v.screenshot() != b for v, b in zip(views, before)), timeout=90)
    page.get_by_role("button", name="images").click()
    wait_until(lambda: page.locator("canvas.otlab-webgl").count() == 0 and "64 × 64" in readout(page), timeout=180)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert page.console_errors == []
