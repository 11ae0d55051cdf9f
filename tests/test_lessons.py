"""The lessons as text: every demo's lesson has a first screen of at most FIRST_SCREEN_WORDS words with a
heading and a formula, and the rest behind "more" (app/demo_view.py); where they show: tests/browser/
test_screens.py."""
import importlib

import pytest

from otlab.app.demo_view import FIRST_SCREEN_WORDS, MORE, split_lesson, word_count
from otlab.app.gallery import DEMOS


def lessons():
    """(demo module, name, text) of every lesson of the gallery's demos."""
    found = []
    for demo in DEMOS:
        module = importlib.import_module(demo.view.split(":")[0])
        found += [(module.__name__, name, getattr(module, name)) for name in dir(module) if name.startswith("LESSON")]
    return found


def test_every_demo_has_a_lesson():
    names = {module for module, _, _ in lessons()}
    assert names == {demo.view.split(":")[0] for demo in DEMOS}
    assert sum(module.endswith("sorting.view") for module, _, _ in lessons()) == 2  # 1D and 2D


@pytest.mark.parametrize("module, name, text", lessons(), ids=lambda v: v if isinstance(v, str) and len(v) < 40 else "")
def test_the_first_screen_is_short_with_a_heading_and_a_formula(module, name, text):
    first, rest = split_lesson(text)
    assert first.startswith("### ") and "\n" in first
    assert first.count("$$") >= 2 and first.count("$$") % 2 == 0, "the first screen needs its key formula"
    assert word_count(first) <= FIRST_SCREEN_WORDS, f"{word_count(first)} words"
    assert word_count(rest) > word_count(first) / 2, "the rest behind 'more' is the lesson's body"
    assert not rest.startswith("### "), "the heading stands once, on the first screen"


def test_word_count_counts_prose_words_and_a_formula_as_one():
    assert word_count("### Cells\n\nSite $$x_i$$ owns **Lag_i**, the cell: $$a + b = c$$ (non-empty).") == 9


def test_a_lesson_without_its_marker_is_refused():
    with pytest.raises(ValueError, match="exactly one '<!-- more -->' marker.*found 0"):
        split_lesson("### A heading\n\ntext")
    with pytest.raises(ValueError, match="found 2"):
        split_lesson(f"a {MORE} b {MORE} c")
