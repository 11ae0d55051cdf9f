"""The power-diagram demo in headless Chromium: load and converge on a projector, drag a site (Newton
restarts during the drag and the cells change), paint density, Lloyd steps, the anisotropic mode."""
import io

import numpy as np
import pytest

from helpers import open_on_projector, readout, still_picture, wait_until

pytestmark = pytest.mark.browser


def converged(page):
    return "converged" in readout(page)


def screen(page, x, y):
    """Screen position of the point (x, y) of the unit square (the plot's ranges, no axes)."""
    box = page.locator(".otlab-cells canvas").first.bounding_box()
    return box["x"] + x * box["width"], box["y"] + box["height"] * (1 - y)


def default_sites():
    """The sites of the default model (seed 0, 60 sites), as the model draws them."""
    return np.random.default_rng(0).uniform(0.02, 0.98, (60, 2))


def test_loads_fits_a_projector_and_converges(page, app_url):
    open_on_projector(page, app_url + "power_diagrams")
    wait_until(lambda: converged(page), timeout=180)
    assert "60 sites" in readout(page)
    assert float(page.locator(".otlab-error").text_content()) <= 1e-6
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert page.console_errors == []


def test_dragging_a_site_rebalances_the_cells(page, app_url):
    open_on_projector(page, app_url + "power_diagrams")
    wait_until(lambda: converged(page), timeout=180)
    cells = page.locator(".otlab-cells")
    before = cells.screenshot()
    x0 = default_sites()[0]
    page.mouse.move(*screen(page, *x0))
    page.mouse.down()
    last = before
    for i in range(1, 16):
        page.mouse.move(*screen(page, x0[0] + (0.5 - x0[0]) * i / 15, x0[1] + (0.5 - x0[1]) * i / 15))
        if i in (5, 10):  # the cells change while the site is dragged, not only once it is dropped
            wait_until(lambda: cells.screenshot() != last, timeout=180)
            last = cells.screenshot()
    page.mouse.up()
    wait_until(lambda: converged(page), timeout=180)
    assert cells.screenshot() != before
    assert page.console_errors == []


def cells_along(page, start, end):
    """How many cells the segment start–end of the unit square crosses on screen: runs of at least 3
    pixels of one colour along it (cell fills; boundaries and anti-aliasing make shorter runs)."""
    from PIL import Image
    canvas = page.locator(".otlab-cells canvas").first
    shot = Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")
    steps = int(np.hypot(end[0] - start[0], end[1] - start[1]) * shot.width)
    pixels = [shot.getpixel((int(x * (shot.width - 1)), int((1 - y) * (shot.height - 1))))
              for x, y in np.linspace(start, end, steps)]
    runs, length = 0, 1
    for a, b in zip(pixels, pixels[1:]):
        length = length + 1 if a == b else 1
        runs += length == 3
    return runs


def test_painting_density_makes_small_cells_there(page, app_url):
    """A stroke of density across (0.3, 0.3)–(0.7, 0.5): once Newton has converged on the painted target,
    the cells there are smaller — the stroke crosses more cells than before (the sites are seeded: the
    same picture every run)."""
    open_on_projector(page, app_url + "power_diagrams")
    wait_until(lambda: converged(page), timeout=180)
    stroke = (0.32, 0.31), (0.68, 0.49)
    cells = page.locator(".otlab-cells canvas").first
    converged_text = readout(page)  # its mass error is that run's: a new converged run reads otherwise
    before = cells_along(page, *stroke)
    page.locator(".otlab-brush").get_by_text("paint density").click()
    page.mouse.move(*screen(page, 0.3, 0.3))
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(*screen(page, 0.3 + 0.04 * i, 0.3 + 0.02 * i))
        page.wait_for_timeout(60)  # a dab per move (the brush paints where the pointer is)
    page.mouse.up()
    wait_until(lambda: "painted" in page.locator(".otlab-w-targets select").input_value(), timeout=90)
    # Newton re-runs on the painted target: wait for it to converge there, and the picture to rest
    wait_until(lambda: converged(page) and readout(page) != converged_text, timeout=240)
    still_picture(cells)
    after = cells_along(page, *stroke)
    assert after > before, (before, after)  # measured: 5 cells before, 8 after
    assert page.console_errors == []


def test_lloyd_steps_then_converged(page, app_url):
    open_on_projector(page, app_url + "power_diagrams")
    wait_until(lambda: converged(page), timeout=180)
    page.locator(".otlab-lloyd").click()
    wait_until(lambda: "Lloyd steps left" in readout(page), timeout=90)
    wait_until(lambda: "Lloyd steps left" not in readout(page) and converged(page), timeout=240)
    assert page.console_errors == []


def test_anisotropic_mode(page, app_url):
    open_on_projector(page, app_url + "power_diagrams?mode=anisotropic&targets=blob&colour=weight")
    wait_until(lambda: converged(page), timeout=120)
    assert float(page.locator(".otlab-error").text_content()) <= 1e-3
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert page.console_errors == []
