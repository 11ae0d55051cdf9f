"""Panel view of the gradient-flows demo (``panel serve demos/flows/view.py`` serves it alone).

One plot per loss (particles coloured by their initial position, the target in light grey behind), the
loss values against time on a log axis, and the export of the snapshots. Formulas: the LESSON below,
:mod:`otlab.demos.flows.model` and :mod:`otlab.core.clouds.flows`.
"""
from __future__ import annotations

import io

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource
from bokeh.palettes import Category10
from bokeh.plotting import figure

from otlab.app.demo_view import DemoView, demo_page
from otlab.app.readout import readout_html
from otlab.app.settings import default_device
from otlab.demos.flows.model import EXTENT, LOSSES, MAX_PANELS, PRESETS, FlowFrame, FlowsModel
from otlab.demos.snapshots import hex_colors

#: parameters mirrored in the page URL
URL_PARAMS = ("preset", "losses", "n", "lr", "blur", "reach", "precise", "seed")
#: width available to the plots (the sidebar takes the rest of a 1280 px projector)
PLOTS_WIDTH = 930
#: the value chart's floor (log axis): values below are drawn there
VALUE_FLOOR = 1e-8
PANEL_COLORS = Category10[10]

LESSON = r"""
### Gradient flows

The particles $$x_i$$ of α descend a loss L to the target β (grey), one Euler step per frame:

$$x_i \leftarrow x_i - \frac{\mathrm{lr}}{a_i} \nabla_{x_i} L(\alpha, \beta).$$

For the Sinkhorn divergence (p = 2) each step points to the transport map: the flow is optimal
transport in slow motion. Kernel losses pull differently: watch them stall.

<!-- more -->

The same particles $$x_i$$ (coloured by where they start) flow toward the same target
$$\beta$$ (grey), one explicit Euler step per frame:

$$x_i \leftarrow x_i - \mathrm{lr} \frac{1}{a_i} \nabla_{x_i} L(\alpha, \beta), \qquad t = \mathrm{step}\times\mathrm{lr}.$$

**Sinkhorn** ($$\varepsilon = \sigma^p$$): with p = 2, $$-\nabla_{x_i} S_\varepsilon / a_i = T(x_i) - x_i$$
points to the Brenier map: the flow is optimal transport, played in slow motion. It reaches every
part of the target, and **tears** the source where the target asks for it. A 10× larger blur
sees a blurred target: smoother, slower, less precise. *Unbalanced*: mass farther than the
reach is not worth moving.

**Kernel norms** $$\tfrac12 \langle \alpha - \beta, k \star (\alpha - \beta)\rangle$$ with
$$k = -|x - y|$$ (energy distance), $$e^{-|x-y|^2/2\sigma^2}$$ (Gaussian), $$e^{-|x-y|/\sigma}$$ (Laplacian):
each particle feels the attraction of $$\beta$$ and the repulsion of $$\alpha$$ through $$k$$.
Far from the target a Gaussian force vanishes: particles **get stuck**, or are pushed away and
never come back; the energy distance's force does not fade ($$\nabla|x - y|$$ has unit length), but far
away the pull of β and the push of the rest of α, mostly arrived, nearly cancel: stragglers come slowly.
The Gaussian kernel's force field is smooth, so its flow deforms the source without tearing (watch the
colours); the energy and Laplacian kernels have a cusp at 0, and their flows can tear.

**Soft Hausdorff** pulls each particle to its nearest target points (and vice versa): fast, but
nothing makes the mass spread evenly.

*Try:* "heart → deformed heart" (registration), "A → B", a larger lr (Sinkhorn still converges;
with lr = 1 and a small blur it jumps to T in one step), 4 panels at once.
The chart shows each $$L(\alpha_t, \beta)$$ on a log axis; **Export** saves the snapshots at
t = 0, 0.25, 0.5, 1, 5, 10 as one PNG.
"""


class FlowsDemo(DemoView):
    """Side-by-side particle flows of 1–4 losses; works served and in Jupyter."""

    model = param.ClassSelector(class_=FlowsModel)

    def __init__(self, model: FlowsModel = None, **params):
        super().__init__(model if model is not None else FlowsModel(device=default_device()), self._draw, **params)
        self._build_figures()
        self.readout = pn.pane.HTML("", css_classes=["otlab-readout"], width=300)
        self._generation = None   # the run the figures show
        m = self.model
        self.bind_widgets({
            "preset": pn.widgets.Select(name="Source → target", options=PRESETS, value=m.preset),
            "losses": pn.widgets.CheckBoxGroup(name="losses", options=list(LOSSES), value=list(m.losses),
                                               inline=False),
            "n": pn.widgets.IntSlider(name="N (particles)", start=50, end=3000, step=50, value=m.n),
            "lr": pn.widgets.FloatSlider(name="lr (time per frame)", start=0.01, end=1.0, step=0.01, value=m.lr),
            "blur": pn.widgets.FloatSlider(name="blur σ", start=0.01, end=0.5, step=0.01, value=m.blur),
            "reach": pn.widgets.FloatSlider(name="reach (unbalanced)", start=0.05, end=2.0, step=0.05,
                                            value=m.reach),
            "precise": pn.widgets.Checkbox(name="precise Sinkhorn steps (3× slower)", value=m.precise),
            "seed": pn.widgets.IntInput(name="seed", start=0, end=2 ** 31 - 1, value=m.seed),
        })
        self.export = pn.widgets.FileDownload(callback=self._export, filename="otlab-flows.png",
                                              label="Export snapshots t = 0 … 10 (PNG)", button_type="primary",
                                              css_classes=["otlab-export"], width=280)

    def set_parameter(self, name, value):
        if name == "losses" and not 1 <= len(value) <= MAX_PANELS:
            self.say(f"Tick 1 to {MAX_PANELS} losses to compare (you ticked {len(value)}).", "warning")
            return
        super().set_parameter(name, value)

    def _export(self):
        return io.BytesIO(self.model.snapshot_png())

    # -- drawing ---------------------------------------------------------------------------------------------
    def _build_figures(self):
        """MAX_PANELS figures and chart lines, built once: a frame only resizes, shows or hides them (Bokeh
        models are never replaced while the page runs)."""
        empty = np.zeros(0, np.float32)
        self.src_y = ColumnDataSource(dict(x=empty, y=empty))
        self.src_x, self.figures = [], []
        x0, x1, y0, y1 = EXTENT
        for i in range(MAX_PANELS):
            src = ColumnDataSource(dict(x=empty, y=empty, color=[]))
            fig = figure(title="", width=300, height=300, x_range=(x0, x1), y_range=(y0, y1), match_aspect=True,
                         tools="pan,wheel_zoom,reset,save", toolbar_location=None, css_classes=["otlab-flow-plot"])
            fig.scatter("x", "y", source=self.src_y, size=4, color="#c8c8c8", alpha=0.8)
            fig.scatter("x", "y", source=src, size=5, color="color", alpha=0.95)
            fig.title.text_font_size = "16px"
            fig.title.text_color = PANEL_COLORS[i]
            fig.axis.visible = False
            self.src_x.append(src)
            fig.visible = False
            self.figures.append(pn.pane.Bokeh(fig, visible=False))
        self.plots = pn.Row(*self.figures, width=PLOTS_WIDTH)
        chart = figure(title="L(α_t, β) against t (log)", width=PLOTS_WIDTH - 320, height=190, y_axis_type="log",
                       tools="", toolbar_location=None, css_classes=["otlab-flow-chart"])
        self.src_values = ColumnDataSource({"t": empty, **{f"v{i}": empty for i in range(MAX_PANELS)}})
        self.lines = [chart.line("t", f"v{i}", source=self.src_values, color=PANEL_COLORS[i], line_width=3,
                                 legend_label=f"panel {i + 1}") for i in range(MAX_PANELS)]
        chart.legend.location = "bottom_left"
        chart.legend.label_text_font_size = "12px"
        chart.title.text_font_size = "15px"
        self.chart = chart

    def _show_panels(self, frame: FlowFrame):
        """Size, title and colour the panels for a new run; load its first state."""
        k = len(frame.losses)
        side = min(440, PLOTS_WIDTH // k - 12)
        colors = hex_colors(frame.colors)
        self.src_y.data = dict(x=frame.y[:, 0], y=frame.y[:, 1])
        for i, pane in enumerate(self.figures):
            fig = pane.object
            if i < k:
                fig.update(width=side, height=side)
                fig.title.text = frame.losses[i]
                self.src_x[i].data = dict(x=frame.x[i][:, 0], y=frame.x[i][:, 1], color=colors)
            pane.visible = fig.visible = i < k
            self.lines[i].visible = i < k
            self.chart.legend.items[i].visible = i < k
            self.chart.legend.items[i].label = dict(value=frame.losses[i] if i < k else "")
        self.src_values.data = {"t": frame.times, **{f"v{i}": self._values(frame, i, 0) for i in range(MAX_PANELS)}}

    @staticmethod
    def _values(frame: FlowFrame, i: int, start: int) -> np.ndarray:
        """Panel i's values from index ``start`` on, floored for the log axis (NaN for hidden panels)."""
        if i < len(frame.values):
            return np.maximum(frame.values[i][start:], VALUE_FLOOR)
        return np.full(len(frame.times) - start, np.nan, np.float32)

    def _draw(self, frame: FlowFrame):
        if self._generation != frame.generation:  # a new run (any parameter change, losses included)
            self._show_panels(frame)
            self._generation = frame.generation
        else:
            for src, x in zip(self.src_x, frame.x):
                src.data.update(x=x[:, 0], y=x[:, 1])
            shown = len(self.src_values.data["t"])
            self.src_values.stream({"t": frame.times[shown:],
                                    **{f"v{i}": self._values(frame, i, shown) for i in range(MAX_PANELS)}})
        self.readout.object = _readout_html(frame)

    # -- layout ----------------------------------------------------------------------------------------------
    def __panel__(self):
        self.start_session(URL_PARAMS)
        w = self.widgets
        settings = pn.Column(w["preset"], pn.pane.HTML("<b>Losses</b> (1 to 4 panels)", margin=(6, 10, 0, 10)),
                             w["losses"], w["n"], w["lr"], w["blur"], w["reach"], w["precise"], w["seed"], self.export, width=300)
        main = pn.Column(self.player, self.message, self.plots, pn.Row(pn.pane.Bokeh(self.chart), self.readout),
                         width=PLOTS_WIDTH)
        return demo_page(settings, main, LESSON)


def _readout_html(frame: FlowFrame) -> str:
    rows = [f"<span style='color:{PANEL_COLORS[i]}'>■</span> {name}: <b>{frame.values[i][-1]:.3e}</b>"
            for i, name in enumerate(frame.losses)]
    return readout_html([f"t = <b class='otlab-time'>{frame.t:.2f}</b> &nbsp; (step "
                         f"<b class='otlab-step-number'>{frame.step}</b>)", *rows], line_height=1.5)


if __name__.startswith("bokeh"):  # panel serve demos/flows/view.py
    pn.extension("mathjax")
    FlowsDemo().servable(title="otlab · gradient flows")
