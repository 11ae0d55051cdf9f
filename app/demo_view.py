"""What every animated demo view shares: the runner and player, parameter widgets bound to the model
(throttled sliders, errors shown not raised), the message line, URL sync and the session's clean-up.

A demo's view subclasses :class:`DemoView`, builds its figures and ``self.widgets`` (model parameter
name -> widget), calls :meth:`bind_widgets`, and returns its layout from ``__panel__`` after
:meth:`start_session`.
"""
from __future__ import annotations

import re
from typing import Callable, Dict, Iterable, Tuple, Union

import panel as pn
import param
from panel.viewable import Viewer

from . import memory
from .controls import PlayerControls
from .runner import AnimationRunner


#: where a lesson's first screen ends: the text before it is shown, the rest is behind "more"
MORE = "<!-- more -->"
#: the first screen's budget (words, LaTeX and Markdown marks excluded) and the lesson's text size
FIRST_SCREEN_WORDS, LESSON_FONT_PX = 120, 18


def split_lesson(text: str) -> Tuple[str, str]:
    """A lesson's first screen and its rest, split at :data:`MORE` (every lesson has exactly one)."""
    if text.count(MORE) != 1:
        raise ValueError(f"a lesson needs exactly one {MORE!r} marker after its first screen, "
                         f"found {text.count(MORE)}")
    first, rest = text.split(MORE)
    return first.strip(), rest.strip()


def word_count(markdown: str) -> int:
    """Words a reader reads in ``markdown``: formulas ($$...$$) count one word each, Markdown marks none,
    an identifier such as Lag_i one."""
    prose = re.sub(r"\$\$.*?\$\$", " formula ", markdown, flags=re.S)
    return len(re.findall(r"\w+(?:[-'’]\w+)*", prose))


def lesson_pane(text: str, width: int) -> pn.Column:
    """The lesson: its first screen (the key formula, at most :data:`FIRST_SCREEN_WORDS` words) and the
    rest behind a collapsed "more", Markdown with LaTeX rendered by MathJax, at :data:`LESSON_FONT_PX`.
    Wide formulas scroll inside the column rather than widening the page."""
    first, rest = split_lesson(text)
    style = {"font-size": f"{LESSON_FONT_PX}px", "overflow-x": "auto"}
    more = pn.Card(pn.pane.Markdown(rest, sizing_mode="stretch_width", styles=style), title="more",
                   collapsed=True, sizing_mode="stretch_width", css_classes=["otlab-lesson-more"])
    return pn.Column(pn.pane.Markdown(first, sizing_mode="stretch_width", styles=style, margin=(0, 6),
                                      css_classes=["otlab-lesson"]), more, width=width)


def demo_page(settings, main, lesson: str) -> pn.FlexBox:
    """The settings column, with the lesson as a tab of it, beside the demo: on a 1280×720 projector the
    lesson stands beside the running figures, in the place of the settings it gives way to."""
    if isinstance(settings, pn.Tabs):
        column = settings
    else:
        column = pn.Tabs(("Settings", settings), width=(settings.width or 300) + 20)
    column.append(("Lesson", lesson_pane(lesson, column.width)))
    column.css_classes = ["otlab-side"]
    return pn.FlexBox(column, main, flex_wrap="wrap")


class DemoView(Viewer):
    """Base of the demo views: ``model`` has ``step()`` (a frame), ``restart()`` and ``generation``."""

    model = param.Parameter()

    def __init__(self, model, draw: Callable, playing: bool = True, **params):
        super().__init__(model=model, **params)
        self.runner = AnimationRunner(model.step, draw, lambda frame: frame.generation == model.generation,
                                      playing=playing)
        self.player = PlayerControls(self.runner, on_reset=model.restart)
        self.message = pn.pane.Alert("", alert_type="danger", visible=False, css_classes=["otlab-message"])
        self.widgets: Dict[str, pn.widgets.Widget] = {}
        self._echo = None  # the widget whose change is being applied to the model
        model.param.watch(lambda *_: self.runner.request_frame(), [p for p in model.param if p != "name"])
        self.runner.param.watch(self._show_error, "error")

    def bind_widgets(self, widgets: Dict[str, pn.widgets.Widget]) -> None:
        """Two-way binding of ``widgets`` (name -> widget) to the model's parameters of the same name.

        Sliders set the model on release (``value_throttled``); a value the model refuses is shown in
        the message line, never raised into the session.
        """
        self.widgets.update(widgets)
        for name, widget in widgets.items():
            widget.css_classes = [f"otlab-w-{name}"]
            throttled = isinstance(widget, (pn.widgets.IntSlider, pn.widgets.FloatSlider))
            widget.param.watch(lambda e, name=name: self._from_widget(name, e.new),
                               "value_throttled" if throttled else "value")
        self.model.param.watch(self._sync_widget, list(widgets))

    def _from_widget(self, name, value):
        """The widget ``name`` set ``value``: set the model, without echoing it back to that widget (in a
        storm of changes the echo of an older value reached the browser after newer ones and moved the
        slider back under the user's hand: 300 keyboard steps up and down ended 10 away from the start)."""
        self._echo = name
        try:
            self.set_parameter(name, value)
        finally:
            self._echo = None

    def set_parameter(self, name, value):
        try:
            setattr(self.model, name, value)
            self.message.visible = False
        except (ValueError, TypeError) as err:  # never crash the session on bad input
            self.say(str(err))

    def _sync_widget(self, *events):
        for event in events:
            if event.name != self._echo:
                self.widgets[event.name].value = event.new

    def say(self, text: str, kind: str = "danger") -> None:
        """Show ``text`` in the message line ("danger", "success", "info"); empty text hides it."""
        self.message.alert_type = kind
        self.message.object = text
        self.message.visible = bool(text)

    def _show_error(self, event):
        if event.new:
            self.say(f"The solver stopped: {event.new}")

    def _session_destroyed(self, context):
        self.runner.stop()
        memory.release_soon()

    def _refused_from_url(self, values: Dict[str, object]) -> None:
        """The URL's ``values`` (parameter name -> value) did not all fit the model: set those that do, one
        by one, and say which were ignored (their defaults kept). The values are shown, never evaluated."""
        refused = []
        for name, value in values.items():
            try:
                setattr(self.model, name, value)
            except (ValueError, TypeError):
                refused.append(f"`{name}={str(value).replace('`', '')[:40]}`")
        if refused:
            self.say(f"Ignored from the URL (malformed or out of range; the defaults are kept): "
                     f"{', '.join(refused)}", kind="warning")

    def start_session(self, url_params: Union[Iterable[str], Dict[str, str]]) -> None:
        """Start the animation; when served, stop it with the session and mirror the model's parameters
        ``url_params`` in the URL (a dict maps parameter names to query names, for pages with two models).

        Served, the runner starts once the page has loaded: changes made between the page's rendering and
        its websocket's connection never reached the browser (a fresh server's first page lost its first
        frame, and with it the models that frame added: "reference … isn't known" ever after)."""
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            pn.state.onload(self.runner.start)
            pn.state.on_session_destroyed(self._session_destroyed)
            if pn.state.location is not None:
                names = url_params if isinstance(url_params, dict) else {name: name for name in url_params}
                pn.state.location.sync(self.model, names, on_error=self._refused_from_url)
        else:
            self.runner.start()
