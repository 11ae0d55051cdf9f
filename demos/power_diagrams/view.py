"""Panel view of the power-diagram demo (``panel serve demos/power_diagrams/view.py`` serves it alone).

Left: settings; middle: the unit square with the cells (drag a site and watch them re-balance, or paint
density with the brush); right: the Newton error curve on a log scale and the readout. Formulas: the
LESSON below and :mod:`otlab.demos.power_diagrams.model`.
"""
from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh import events
from bokeh.models import ColumnDataSource, LinearColorMapper
from bokeh.palettes import Category20, Viridis256
from bokeh.plotting import figure

from otlab.app.demo_view import DemoView, demo_page
from otlab.app.readout import readout_html
from otlab.demos.cell_images import cell_image
from otlab.demos.power_diagrams.model import COLOURS, MODES, TARGETS, PowerDiagramsModel, PowerFrame

#: parameters mirrored in the page URL
URL_PARAMS = ("n_sites", "targets", "mode", "aspect", "colour", "seed")
SIDE = 480
#: a pointer within this distance (unit square) of a site grabs it
GRAB = 0.06
CELL_COLOURS = Category20[20]
#: colour-blind-safe diverging ramp for the mass error (blue: too small, red: too large)
ERROR_PALETTE = ["#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7", "#fddbc7", "#f4a582", "#d6604d", "#b2182b"]

LESSON = r"""
### Power diagrams

Site $$x_i$$ with weight $$w_i$$ owns the **Laguerre cell** where its shifted distance
$$d_i(y) = |y - x_i|^2 - w_i$$ is the smallest:

$$\mathrm{Lag}_i = \lbrace y : d_i(y) \le d_j(y) \ \forall j \rbrace.$$

Newton's method finds the weights that give every cell its mass $$\nu_i$$ of the density ρ: the cells
are then the optimal transport of ρ onto the sites. Drag a site and watch them re-balance.

<!-- more -->

Give each site $$x_i$$ a weight $$w_i$$. Its **Laguerre cell** is where it wins the shifted distance,

$$\mathrm{Lag}_i(w) = \lbrace y : |y - x_i|^2 - w_i \le |y - x_j|^2 - w_j \ \text{for all}\ j \rbrace.$$

Raising $$w_i$$ grows cell i. **Semi-discrete optimal transport** asks for the weights that give every
cell its mass $$\nu_i$$ of the density ρ: the cells are then the optimal transport of ρ onto the sites,
and w maximises the concave dual

$$\Phi(w) = \sum_i w_i \nu_i + \int \min_i \big(|y - x_i|^2 - w_i\big)  \rho(y)  dy, \qquad \partial_{w_i} \Phi = \nu_i - \mu_i(w),$$

where $$\mu_i(w) = \int_{\mathrm{Lag}_i(w)} \rho(y)\,dy$$ is the mass cell i holds. (The cost has no ½:
with $$\tfrac12|y - x_i|^2 - \psi_i$$ the same cells come from $$w = 2\psi$$.)

**Newton's method** solves $$\mu(w) = \nu$$ with $$H = \partial\mu/\partial w$$, a graph Laplacian on the
cells' neighbours: for $$j \ne i$$, with $$ds$$ the length along their common edge,

$$H_{ij} = \frac{\partial \mu_i}{\partial w_j} = -\frac{\int_{\mathrm{Lag}_i \cap \mathrm{Lag}_j} \rho\, ds}{2 |x_i - x_j|}, \qquad H_{ii} = -\sum_{j \ne i} H_{ij}, \qquad w \leftarrow w - \tau H^{-1}(\mu - \nu).$$

Adding a constant to every weight changes no cell, so H is singular on constants: one weight is held
fixed. The step τ is halved until every cell keeps some mass and the error drops: the curve falls
quadratically, 10⁻² → 10⁻⁴ → 10⁻⁸.

**Lloyd**: move each site to its cell's centroid, solve again, repeat: centroidal power diagrams.
**Anisotropic**: the cost $$(y - x_i)^\top A_i (y - x_i)$$ with an ellipse per site; the cells are then
computed on pixels, with soft (entropic) assignments for the masses.
"""


class PowerDiagramsDemo(DemoView):
    """The power-diagram demo; works served and in Jupyter."""

    model = param.ClassSelector(class_=PowerDiagramsModel)

    def __init__(self, model: PowerDiagramsModel = None, **params):
        super().__init__(model if model is not None else PowerDiagramsModel(), self._draw, **params)
        m = self.model
        self._grabbed = None
        self._shown = None   # (generation, version, colour) on screen: an unchanged frame is not sent again
        self._build_figures()
        self.readout = pn.pane.HTML("", css_classes=["otlab-readout"], width=360, min_height=110)
        self.bind_widgets({
            "n_sites": pn.widgets.IntSlider(name="sites N", start=2, end=400, step=1, value=m.n_sites),
            "targets": pn.widgets.Select(name="target masses", options=TARGETS, value=m.targets, width=260),
            "mode": pn.widgets.RadioButtonGroup(name="cells", options=MODES, value=m.mode, button_type="primary"),
            "aspect": pn.widgets.FloatSlider(name="anisotropy (axis ratio)", start=1.0, end=6.0, step=0.5,
                                             value=m.aspect),
            "colour": pn.widgets.RadioButtonGroup(name="colour", options=COLOURS, value=m.colour),
        })
        self.brush = pn.widgets.RadioButtonGroup(name="pointer", options=["move sites", "paint density"],
                                                 value="move sites", css_classes=["otlab-brush"])
        self.lloyd_button = pn.widgets.Button(name="Lloyd × 10", button_type="primary", width=120,
                                              css_classes=["otlab-lloyd"])
        self.lloyd_button.on_click(lambda _: self._lloyd())
        self.new_sites = pn.widgets.Button(name="New sites", width=110, css_classes=["otlab-new-sites"])
        self.new_sites.on_click(lambda _: setattr(self.model, "seed", self.model.seed + 1))
        self.clear = pn.widgets.Button(name="Clear paint", width=110)
        self.clear.on_click(lambda _: self.model.clear_paint())

    # -- figures -------------------------------------------------------------------------------------------
    def _build_figures(self):
        fig = figure(width=SIDE, height=SIDE, x_range=(0, 1), y_range=(0, 1), tools="", toolbar_location=None,
                     match_aspect=True, css_classes=["otlab-cells"], title="Drag a site: the cells re-balance")
        fig.title.text_font_size = "15px"
        fig.axis.visible = False
        fig.grid.visible = False
        self.src_image = ColumnDataSource(dict(image=[np.zeros((2, 2), np.float32)]))
        self.image_mapper = LinearColorMapper(palette=["#ffffff", "#e9eef5", "#c8d6e8", "#9fb6d6"], low=0, high=1)
        self.image = fig.image(image="image", x=0, y=0, dw=1, dh=1, source=self.src_image, color_mapper=self.image_mapper)
        self.src_labels = ColumnDataSource(dict(image=[np.zeros((2, 2), np.float32)]))
        self.label_mapper = LinearColorMapper(palette=list(CELL_COLOURS), low=0, high=20, nan_color="#1f2d3d")
        self.labels = fig.image(image="image", x=0, y=0, dw=1, dh=1, source=self.src_labels,
                                color_mapper=self.label_mapper, global_alpha=0.55)
        self.src_cells = ColumnDataSource(dict(xs=[], ys=[], value=[]))
        self.cell_mapper = LinearColorMapper(palette=list(CELL_COLOURS), low=0, high=20)
        self.cells = fig.patches("xs", "ys", source=self.src_cells, fill_color={"field": "value", "transform": self.cell_mapper},
                                 fill_alpha=0.55, line_color="#1f2d3d", line_width=1.2)
        self.src_ellipses = ColumnDataSource(dict(x=[], y=[], width=[], height=[], angle=[]))
        self.ellipses = fig.ellipse("x", "y", width="width", height="height", angle="angle", source=self.src_ellipses,
                                    fill_alpha=0, line_color="#1f2d3d", line_width=1.5)
        self.src_sites = ColumnDataSource(dict(x=[], y=[]))
        fig.scatter("x", "y", source=self.src_sites, size=8, color="#1f2d3d", line_color="white", line_width=1)
        for event in (events.PanStart, events.Pan, events.PanEnd, events.Tap):
            fig.on_event(event, self._pointer)
        self.fig = fig
        curve = figure(width=360, height=300, y_axis_type="log", tools="", toolbar_location=None,
                       title="Newton: max relative mass error", css_classes=["otlab-error-curve"],
                       x_axis_label="Newton step (cumulated)")
        curve.title.text_font_size = "15px"
        curve.xaxis.axis_label_text_font_size = "13px"
        self.src_curve = ColumnDataSource(dict(step=[], error=[]))
        curve.line("step", "error", source=self.src_curve, line_width=2.5, color="#1f77b4")
        curve.scatter("step", "error", source=self.src_curve, size=6, color="#1f77b4")
        self.curve = curve

    # -- pointer: move a site or paint ---------------------------------------------------------------------
    def _pointer(self, event):
        if event.x is None or event.y is None:
            return
        xy = (min(max(event.x, 0.0), 1.0), min(max(event.y, 0.0), 1.0))
        if self.brush.value == "paint density":
            if not isinstance(event, events.PanEnd):
                self.model.paint(xy, radius=0.07, amount=0.6)
            self.runner.request_frame()
            return
        sites = np.column_stack([self.src_sites.data["x"], self.src_sites.data["y"]])
        if isinstance(event, (events.PanStart, events.Tap)) and len(sites):
            d = np.hypot(*(sites - np.array(xy)).T)
            self._grabbed = int(d.argmin()) if d.min() < GRAB else None
        if self._grabbed is not None:
            self.model.move_site(self._grabbed, xy)
            self.runner.request_frame()
        if isinstance(event, (events.PanEnd, events.Tap)):
            self._grabbed = None

    def _lloyd(self):
        self.model.lloyd(10)
        self.runner.request_frame()

    # -- drawing -------------------------------------------------------------------------------------------
    def _draw(self, frame: PowerFrame):
        shown = (frame.generation, frame.version, self.model.colour)
        if shown == self._shown:
            return
        self._shown = shown
        self.src_sites.data = dict(x=frame.sites[:, 0], y=frame.sites[:, 1])
        density = frame.density
        if density is None:
            self.src_image.data = dict(image=[np.zeros((2, 2), np.float32)])
        else:
            self.src_image.data = dict(image=[(density / density.max()).T.astype(np.float32)])
        values, low, high, palette = self._colours(frame)
        self.cell_mapper.update(low=low, high=high, palette=palette)
        if frame.polygons is not None:
            self.labels.visible, self.ellipses.visible, self.cells.visible = False, False, True
            keep = [i for i, p in enumerate(frame.polygons) if len(p) >= 3]
            self.src_cells.data = dict(xs=[frame.polygons[i][:, 0] for i in keep],
                                       ys=[frame.polygons[i][:, 1] for i in keep], value=values[keep])
        else:
            self.labels.visible, self.ellipses.visible, self.cells.visible = True, True, False
            self.label_mapper.update(low=low, high=high, palette=palette)
            self.src_labels.data = dict(image=[cell_image(values, frame.labels)])
            e = frame.ellipses
            self.src_ellipses.data = dict(x=frame.sites[:, 0], y=frame.sites[:, 1], width=2 * e[:, 0],
                                          height=2 * e[:, 1], angle=e[:, 2])
        self.src_curve.data = dict(step=frame.history[:, 0], error=frame.history[:, 1])
        self.readout.object = _readout_html(frame)

    def _colours(self, frame: PowerFrame):
        """Per-cell values and their colour map (low, high, palette) for the colour choice."""
        n = len(frame.sites)
        if self.model.colour == "weight":
            w = frame.weights - frame.weights.mean()
            return w, float(w.min()), float(max(w.max(), w.min() + 1e-12)), list(Viridis256)
        if self.model.colour == "mass error":
            rel = np.log10(np.maximum(frame.masses, 1e-300) / frame.targets)
            return rel, -0.5, 0.5, ERROR_PALETTE
        return (np.arange(n) % 20).astype(float), 0, 20, list(CELL_COLOURS)

    # -- layout ----------------------------------------------------------------------------------------------
    def __panel__(self):
        self.start_session(URL_PARAMS)
        w = self.widgets
        settings = pn.Column(
            w["n_sites"], w["targets"], w["mode"], w["aspect"], w["colour"],
            pn.pane.Markdown("**Pointer**", margin=(4, 10, 0, 10)), self.brush,
            pn.Row(self.lloyd_button, self.new_sites), self.clear, width=280)
        main = pn.Column(self.player, self.message,
                         pn.Row(pn.pane.Bokeh(self.fig), pn.Column(pn.pane.Bokeh(self.curve), self.readout)),
                         width=SIDE + 400)
        return demo_page(settings, main, LESSON)


def _readout_html(frame: PowerFrame) -> str:
    state = ("<b style='color:#2b8a3e' class='otlab-converged'>converged</b>" if frame.converged
             else "<i>Newton running…</i>")
    lloyd = f" · Lloyd steps left <b>{frame.lloyd_left}</b>" if frame.lloyd_left else ""
    return readout_html([f"{len(frame.sites)} sites · Newton step <b class='otlab-newton-step'>{frame.newton_step}</b>",
                         f"max relative mass error <b class='otlab-error'>{frame.error:.2e}</b>", f"{state}{lloyd}"])


if __name__.startswith("bokeh"):  # panel serve demos/power_diagrams/view.py
    pn.extension("mathjax")
    PowerDiagramsDemo().servable(title="otlab · power diagrams")
