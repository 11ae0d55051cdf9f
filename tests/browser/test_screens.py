"""Every page — the gallery and each demo of the gallery's list — on a projector (1280×720) and on a full-HD
screen (1920×1080): no sideways scrolling, the lesson in view beside the running demo, the gallery's course
on one screen, no console errors. The screenshots of both sizes are written to the test's temporary folder
(curated ones for the docs come from docs/make_screenshots.py)."""
import pytest

from helpers import open_on_projector, wait_until
from lesson_checks import assert_lesson_in_view, box_inside, open_lesson, shown
from otlab.app.gallery import DEMOS

pytestmark = pytest.mark.browser

SCREENS = ((1280, 720), (1920, 1080))


#: pages with a second lesson, behind a tab of their own
SECOND_LESSONS = {"sorting": "2D: greedy · auction · Sinkhorn"}


def assert_course_on_screen(page, width: int, height: int) -> None:
    """The gallery's cards are numbered 1, 2, ... in the order of DEMOS, read left to right and top to
    bottom, and all lie inside the viewport."""
    cards = [page.locator(f"#card-{demo.slug}") for demo in DEMOS]
    assert [card.locator(".step").inner_text() for card in cards] == [str(k) for k in range(1, len(DEMOS) + 1)]
    boxes = [card.bounding_box() for card in cards]
    assert sorted(boxes, key=lambda b: (round(b["y"]), b["x"])) == boxes, "the cards are not in the course's order"
    for demo, box in zip(DEMOS, boxes):
        assert box_inside(box, width, height), f"the gallery's card {demo.slug} is out of view at {width}×{height}"


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
        if slug == "gallery":
            assert_course_on_screen(page, width, height)
        else:
            open_lesson(page)
            assert_lesson_in_view(page, width, height, f"{slug} at {width}×{height}")
            if slug in SECOND_LESSONS:
                shown(page.locator(".bk-tab").filter(has_text=SECOND_LESSONS[slug])).click()
                open_lesson(page)
                assert_lesson_in_view(page, width, height, f"{slug}, {SECOND_LESSONS[slug]}, at {width}×{height}")
                shown(page.locator(".bk-tab").filter(has_text="1D")).click()
        page.screenshot(path=str(tmp_path / f"{slug}-{width}.png"))
    assert page.console_errors == []
