"""Every page — the gallery and each demo of the gallery's list — on a projector (1280×720) and on a full-HD
screen (1920×1080): no sideways scrolling, no console errors. The screenshots of both sizes are written to
the test's temporary folder (curated ones for the docs come from docs/make_screenshots.py)."""
import pytest

from helpers import open_on_projector, wait_until
from otlab.app.gallery import DEMOS

pytestmark = pytest.mark.browser

SCREENS = ((1280, 720), (1920, 1080))


@pytest.mark.parametrize("slug", ["gallery"] + [demo.slug for demo in DEMOS])
def test_every_page_fits_a_projector_and_full_hd(page, app_url, slug, tmp_path):
    if slug == "gallery":
        page.set_viewport_size({"width": 1280, "height": 720})
        page.goto(app_url)
        page.wait_for_selector("#card-annealing", timeout=180_000)
    else:
        open_on_projector(page, app_url + slug, timeout=420)
    for width, height in SCREENS:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_function(f"window.innerWidth === {width}", timeout=90_000)
        wide = lambda: page.evaluate("document.documentElement.scrollWidth")  # noqa: E731
        try:  # the layout follows the new size (Bokeh lays out again on the resize)
            wait_until(lambda: wide() <= width, timeout=90)
        except AssertionError:
            raise AssertionError(f"{slug} scrolls sideways at {width}: {wide()} px wide") from None
        page.screenshot(path=str(tmp_path / f"{slug}-{width}.png"))
    assert page.console_errors == []
