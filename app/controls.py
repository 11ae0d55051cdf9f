"""ShaderToy-style player controls shared by the animated demos: play/pause, step, reset, speed,
a live fps readout and the frame counter."""
from __future__ import annotations

from typing import Callable, Optional

import panel as pn
import param
from panel.viewable import Viewer

from .runner import AnimationRunner


#: shown while the server's workers are shared by more work than they can do at full speed
SERVER_BUSY = "Server busy: frames slowed so that every page keeps moving"


class PlayerControls(Viewer):
    """Widgets bound to an :class:`AnimationRunner`; ``on_reset`` restarts the demo."""

    runner = param.ClassSelector(class_=AnimationRunner)

    def __init__(self, runner: AnimationRunner, on_reset: Optional[Callable[[], None]] = None, **params):
        super().__init__(runner=runner, **params)
        self._on_reset = on_reset
        self.play = pn.widgets.Toggle(name=_play_label(runner.playing), value=runner.playing, button_type="success",
                                      width=110, css_classes=["otlab-play"])
        self.step = pn.widgets.Button(name="Step ▸", width=90, css_classes=["otlab-step"])
        self.reset = pn.widgets.Button(name="⟲ Reset", width=90, css_classes=["otlab-reset"])
        self.speed = pn.widgets.IntSlider(name="Speed (frames/s)", start=1, end=60, value=runner.speed, width=200)
        self.readout = pn.pane.HTML(self._readout(), css_classes=["otlab-fps"], margin=(12, 10))
        self.busy = pn.indicators.LoadingSpinner(value=False, size=28, visible=False)
        self.busy_text = pn.pane.HTML("<i>computing the next frame…</i>", visible=False, margin=(14, 4),
                                      css_classes=["otlab-busy"])
        self.server_busy = pn.pane.HTML(f"<b>⚠ {SERVER_BUSY}</b>", visible=False, margin=(14, 4),
                                        css_classes=["otlab-server-busy"], styles={"color": "#b35806"})
        self.play.param.watch(self._toggle, "value")
        self.step.on_click(self._step)
        self.reset.on_click(self._reset)
        self.speed.link(runner, value="speed")
        runner.param.watch(self._update, ["fps", "frames", "busy", "playing", "slowed"])

    def _readout(self):
        r = self.runner
        return (f"<span style='font-size:15px;font-family:monospace'>frame <b class='otlab-frame'>{r.frames}</b>"
                f" &nbsp;·&nbsp; <b>{r.fps:4.1f}</b> fps</span>")

    def _toggle(self, event):
        self.runner.playing = event.new

    def _step(self, _):
        self.runner.playing = False
        self.runner.request_frame()

    def _reset(self, _):
        if self._on_reset is not None:
            self._on_reset()
        self.runner.request_frame()

    def _update(self, *events):
        for event in events:  # fps and frames come together (one batch per frame)
            if event.name == "playing":
                self.play.value = event.new
                self.play.name = _play_label(event.new)
            elif event.name == "busy":
                self.busy.visible = self.busy.value = self.busy_text.visible = event.new
            elif event.name == "slowed":
                self.server_busy.visible = event.new
        self.readout.object = self._readout()

    def __panel__(self):
        return pn.FlexBox(self.play, self.step, self.reset, self.speed, self.readout, self.busy, self.busy_text,
                          self.server_busy, align_items="center", flex_wrap="wrap",
                          sizing_mode="stretch_width")  # wraps in narrow pages


def _play_label(playing: bool) -> str:
    return "❚❚ Pause" if playing else "▶ Play"
