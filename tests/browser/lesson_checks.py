"""What a page must show on a screen: the lesson beside the running demo (heading, first formula and the
figure in the viewport, formulas within the lesson's column, text readable on a projector)."""
from __future__ import annotations

import re

from helpers import wait_until

from otlab.app.demo_view import LESSON_FONT_PX


def shown(locator):
    """The first of ``locator``'s elements that is displayed."""
    return locator.locator("visible=true").first


def box_inside(box, width: int, height: int) -> bool:
    return (box is not None and box["x"] >= -0.5 and box["y"] >= -0.5
            and box["x"] + box["width"] <= width + 0.5 and box["y"] + box["height"] <= height + 0.5)


def open_lesson(page) -> None:
    """Select the page's visible "Lesson" tab."""
    shown(page.locator(".bk-tab").filter(has_text=re.compile(r"^\s*Lesson\s*$"))).click()


def assert_lesson_in_view(page, width: int, height: int, where: str) -> None:
    """With the Lesson tab selected: its heading, its first formula (typeset by MathJax) and the demo's
    largest figure lie inside the ``width`` × ``height`` viewport; every formula of the first screen fits in
    the lesson's column; the lesson's text is at least LESSON_FONT_PX."""
    lesson = shown(page.locator(".otlab-lesson"))
    heading, formula = lesson.locator("h3"), lesson.locator("mjx-container").first
    wait_until(lambda: formula.count() == 1 and formula.bounding_box() is not None, timeout=120)
    for name, part in (("heading", heading), ("first formula", formula)):
        assert box_inside(part.bounding_box(), width, height), f"{where}: the lesson's {name} is out of view"
    column = lesson.bounding_box()
    for k, box in enumerate(f.bounding_box() for f in lesson.locator("mjx-container").all()):
        assert box["x"] + box["width"] <= column["x"] + column["width"] + 1, \
            f"{where}: formula {k} of the first screen is {box['width']:.0f} px wide, wider than the lesson's column"
    size = lesson.locator("p").first.evaluate("(el) => parseFloat(getComputedStyle(el).fontSize)")
    assert size >= LESSON_FONT_PX, f"{where}: the lesson's text is {size} px"
    canvases = [c.bounding_box() for c in page.locator("canvas").locator("visible=true").all()]
    figure = max((b for b in canvases if b), key=lambda b: b["width"] * b["height"])
    assert box_inside(figure, width, height), f"{where}: the demo's figure {figure} is out of view"
