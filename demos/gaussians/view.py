"""Panel view of the Gaussians demo (``panel serve demos/gaussians/view.py`` serves it alone).

Left: settings (mode, the Gaussians' parameters, speed) with the lesson as a tab; middle: 1D — the (m/√2, σ)
half-plane with both geodesics and the two Gaussians to drag, and the three densities at t; 2D — the
Bures interpolation drawn as ellipses, and the check of the closed form with the solver.
"""
from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh import events
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure

from otlab.app.demo_view import DemoView, demo_page
from otlab.app.readout import readout_html
from otlab.demos.gaussians.model import MODES, X, GaussiansFrame, GaussiansModel

URL_PARAMS = ("mode", "m1", "s1", "m2", "s2", "sx1", "sy1", "angle1", "sx2", "sy2", "angle2", "speed")
SIDE = 430
OT_COLOUR, FR_COLOUR, ALL_COLOUR, END_COLOUR = "#1f77b4", "#d62728", "#9467bd", "#7f7f7f"
#: a pointer within this distance (plane units) of a Gaussian grabs it
GRAB = 0.25
#: ellipses are drawn at this many standard deviations
ELLIPSE_SIGMAS = 2.0

LESSON = r"""
### Two geometries on Gaussians

Each point (m, σ) of the half-plane is a Gaussian $$N(m, \sigma^2)$$. Optimal transport makes the
plane **flat**:

$$W_2^2 = \Delta m^2 + \Delta \sigma^2,$$

with $$\Delta m = m_1 - m_2$$, $$\Delta\sigma = \sigma_1 - \sigma_2$$: its geodesic is a straight segment (blue). Fisher–Rao makes it **hyperbolic**: its geodesic is a
half-circle (red). Drag the two Gaussians and watch both paths play.

<!-- more -->

**The plane** is drawn in the coordinates $$(u, \sigma) = (m/\sqrt2, \sigma)$$. The Fisher information
metric of the family is $$ds^2 = (dm^2 + 2\,d\sigma^2)/\sigma^2 = 2\,(du^2 + d\sigma^2)/\sigma^2$$, twice the
Poincaré half-plane's, so

$$d_{FR} = \sqrt2\, \operatorname{arccosh}\Big(1 + \frac{(u_1 - u_2)^2 + (\sigma_1 - \sigma_2)^2}{2\sigma_1\sigma_2}\Big),$$

and its geodesics are half-circles centred on the axis σ = 0 (vertical lines when the means agree).
The OT segment stays straight in these coordinates too.

**The densities** (right) at the time t of both points: along OT,
$$N\big((1-t)m_1 + t m_2,\ ((1-t)\sigma_1 + t\sigma_2)^2\big)$$ translates and scales (blue). Along the
Fisher–Rao arc (red) σ rises on the way: the mass spreads, then gathers. Among **all** densities
(not only Gaussians), Fisher–Rao is the sphere of square roots: $$d = 2\arccos \int\sqrt{\rho_1\rho_2}$$, and
its geodesic cross-fades $$\sqrt\rho$$ (purple, dashed): nothing is translated. It is shorter than
$$d_{FR}$$: the Gaussians are not a geodesic family for Fisher–Rao, and they are one for OT.

**2D: Bures.** For $$N(m_k, \Sigma_k)$$ in the plane,
$$W_2^2 = |m_1 - m_2|^2 + \operatorname{tr}\Sigma_1 + \operatorname{tr}\Sigma_2 - 2\operatorname{tr}(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2})^{1/2}.$$
The map is affine, $$T(x) = m_2 + A(x - m_1)$$ with $$A = \Sigma_1^{-1/2}(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2})^{1/2}\Sigma_1^{-1/2}$$,
and the interpolation stays Gaussian: $$\Sigma_t = A_t \Sigma_1 A_t$$, $$A_t = (1-t)I + tA$$ (ellipses at
two standard deviations). **Check with the solver**: 2,000 samples of each, our Sinkhorn at blur 0.05;
its $$S_\varepsilon$$ (cost $$\tfrac12|x-y|^2$$) against $$W_2^2/2$$, its map against T.
"""


def ellipse(cov: np.ndarray):
    """(width, height, angle) of the ELLIPSE_SIGMAS-σ ellipse of a 2 × 2 covariance (Bokeh's convention)."""
    vals, vecs = np.linalg.eigh(cov)
    return (2 * ELLIPSE_SIGMAS * np.sqrt(vals[1]), 2 * ELLIPSE_SIGMAS * np.sqrt(vals[0]),
            float(np.arctan2(vecs[1, 1], vecs[0, 1])))


class GaussiansDemo(DemoView):
    """The Gaussians demo; works served and in Jupyter."""

    model = param.ClassSelector(class_=GaussiansModel)

    def __init__(self, model: GaussiansModel = None, **params):
        super().__init__(model if model is not None else GaussiansModel(), self._draw, **params)
        m = self.model
        self._grabbed = None
        self._path_generation = -1   # the generation whose 2D path is drawn
        self._build_figures()
        self.readout = pn.pane.HTML("", css_classes=["otlab-readout"], width=SIDE, min_height=100)

        def slider(name, label, start, end, step):
            return pn.widgets.FloatSlider(name=label, start=start, end=end, step=step, value=getattr(m, name),
                                          width=260)
        self.bind_widgets({
            "mode": pn.widgets.RadioButtonGroup(name="mode", options=list(MODES), value=m.mode, button_type="primary"),
            "m1": slider("m1", "m₁", -2.5, 2.5, 0.05), "s1": slider("s1", "σ₁", 0.1, 2.0, 0.05),
            "m2": slider("m2", "m₂", -2.5, 2.5, 0.05), "s2": slider("s2", "σ₂", 0.1, 2.0, 0.05),
            "sx1": slider("sx1", "first: σ along its axis", 0.1, 1.5, 0.05),
            "sy1": slider("sy1", "first: σ across", 0.1, 1.5, 0.05),
            "angle1": slider("angle1", "first: axis (°)", -90, 90, 5),
            "sx2": slider("sx2", "second: σ along its axis", 0.1, 1.5, 0.05),
            "sy2": slider("sy2", "second: σ across", 0.1, 1.5, 0.05),
            "angle2": slider("angle2", "second: axis (°)", -90, 90, 5),
            "speed": slider("speed", "speed (round trips / 10 s)", 0.0, 5.0, 0.25),
        })
        self.check_button = pn.widgets.Button(name="Check with the solver", button_type="primary", width=200,
                                              css_classes=["otlab-check"])
        self.check_button.on_click(lambda _: self._check())
        self.one_d = [self.widgets[k] for k in ("m1", "s1", "m2", "s2")]
        self.two_d = [self.widgets[k] for k in ("sx1", "sy1", "angle1", "sx2", "sy2", "angle2")] + [self.check_button]
        m.param.watch(lambda *_: self._show_mode(), "mode")
        self._show_mode()

    # -- figures -------------------------------------------------------------------------------------------
    def _build_figures(self):
        plane = figure(width=SIDE, height=SIDE, x_range=(-2.0, 2.0), y_range=(0, 2.2), tools="",
                       toolbar_location=None, title="(m/√2, σ): drag a Gaussian", css_classes=["otlab-plane"],
                       x_axis_label="u = m/√2", y_axis_label="σ")
        self.src_ot_path, self.src_fr_path = ColumnDataSource(dict(x=[], y=[])), ColumnDataSource(dict(x=[], y=[]))
        self.src_ends, self.src_now = ColumnDataSource(dict(x=[], y=[])), ColumnDataSource(dict(x=[], y=[], c=[]))
        plane.line("x", "y", source=self.src_ot_path, color=OT_COLOUR, line_width=3, legend_label="optimal transport")
        plane.line("x", "y", source=self.src_fr_path, color=FR_COLOUR, line_width=3, legend_label="Fisher–Rao")
        plane.scatter("x", "y", source=self.src_ends, size=14, color="#1f2d3d", line_color="white", line_width=2)
        plane.scatter("x", "y", source=self.src_now, size=11, color="c", line_color="white", line_width=1.5)
        plane.legend.location = "top_left"
        for event in (events.PanStart, events.Pan, events.PanEnd, events.Tap):
            plane.on_event(event, self._pointer)
        density = figure(width=SIDE, height=SIDE, x_range=(X[0], X[-1]), tools="", toolbar_location=None,
                         title="the densities at t", css_classes=["otlab-densities"])
        self.src_rho = ColumnDataSource(dict(x=X, ot=0 * X, fr=0 * X, all=0 * X, a=0 * X, b=0 * X))
        density.line("x", "a", source=self.src_rho, color=END_COLOUR, line_dash="dotted", line_width=2)
        density.line("x", "b", source=self.src_rho, color=END_COLOUR, line_dash="dotted", line_width=2)
        density.line("x", "ot", source=self.src_rho, color=OT_COLOUR, line_width=3, legend_label="OT")
        density.line("x", "fr", source=self.src_rho, color=FR_COLOUR, line_width=3, legend_label="Fisher–Rao (Gaussians)")
        density.line("x", "all", source=self.src_rho, color=ALL_COLOUR, line_width=3, line_dash="dashed",
                     legend_label="Fisher–Rao (all densities)")
        density.legend.location = "top_right"
        density.legend.label_text_font_size = "12px"
        bures = figure(width=SIDE + 200, height=SIDE, x_range=(-2.6, 2.6), y_range=(-1.9, 1.9), match_aspect=True,
                       tools="", toolbar_location=None, title="2D: the Bures interpolation (2σ ellipses)",
                       css_classes=["otlab-bures"])
        self.src_bures_ends = ColumnDataSource(dict(x=[], y=[], w=[], h=[], a=[]))
        self.src_bures_path = ColumnDataSource(dict(x=[], y=[], w=[], h=[], a=[]))
        self.src_bures_now = ColumnDataSource(dict(x=[], y=[], w=[], h=[], a=[]))
        bures.ellipse("x", "y", width="w", height="h", angle="a", source=self.src_bures_path, fill_alpha=0,
                      line_color=END_COLOUR, line_alpha=0.35, line_width=1)
        bures.ellipse("x", "y", width="w", height="h", angle="a", source=self.src_bures_ends, fill_alpha=0.08,
                      fill_color=END_COLOUR, line_color="#1f2d3d", line_width=2)
        bures.ellipse("x", "y", width="w", height="h", angle="a", source=self.src_bures_now, fill_alpha=0.25,
                      fill_color=OT_COLOUR, line_color=OT_COLOUR, line_width=3)
        self.plane, self.density, self.bures = plane, density, bures
        self.panes_1d = pn.Row(pn.pane.Bokeh(plane), pn.pane.Bokeh(density))
        self.panes_2d = pn.Row(pn.pane.Bokeh(bures))

    def _show_mode(self):
        one = self.model.mode == MODES[0]
        self.panes_1d.visible, self.panes_2d.visible = one, not one
        for w in self.one_d:
            w.visible = one
        for w in self.two_d:
            w.visible = not one

    # -- pointer: drag a Gaussian in the plane -------------------------------------------------------------
    def _pointer(self, event):
        if event.x is None or event.y is None:
            return
        m, s = float(np.clip(event.x * np.sqrt(2), -2.5, 2.5)), float(np.clip(event.y, 0.1, 2.0))
        if isinstance(event, (events.PanStart, events.Tap)):
            ends = np.array([[self.model.m1 / np.sqrt(2), self.model.s1], [self.model.m2 / np.sqrt(2), self.model.s2]])
            d = np.hypot(*(ends - np.array([event.x, event.y])).T)
            self._grabbed = int(d.argmin()) + 1 if d.min() < GRAB else None
        if self._grabbed is not None:
            self.set_parameter(f"m{self._grabbed}", round(m, 3))
            self.set_parameter(f"s{self._grabbed}", round(s, 3))
        if isinstance(event, (events.PanEnd, events.Tap)):
            self._grabbed = None

    def _check(self):
        self.model.request_check()
        self.runner.request_frame()
        self.say("checking with the solver: 2,000 + 2,000 samples…", "info")

    # -- drawing -------------------------------------------------------------------------------------------
    def _draw(self, frame: GaussiansFrame):
        if frame.mode == MODES[0]:
            self._draw_1d(frame)
        else:
            self._draw_2d(frame)

    def _draw_1d(self, frame: GaussiansFrame):
        self.src_ot_path.data = dict(x=frame.ot_path[:, 0], y=frame.ot_path[:, 1])
        self.src_fr_path.data = dict(x=frame.fr_path[:, 0], y=frame.fr_path[:, 1])
        self.src_ends.data = dict(x=[frame.ot_path[0, 0], frame.ot_path[-1, 0]], y=[frame.ot_path[0, 1], frame.ot_path[-1, 1]])
        self.src_now.data = dict(x=[frame.ot_now[0], frame.fr_now[0]], y=[frame.ot_now[1], frame.fr_now[1]],
                                 c=[OT_COLOUR, FR_COLOUR])
        self.src_rho.data = dict(x=X, ot=frame.rho_ot, fr=frame.rho_fr, all=frame.rho_all,
                                 a=frame.rho_ends[0], b=frame.rho_ends[1])
        self.readout.object = readout_html([
            f"t = <b class='otlab-t'>{frame.t:.2f}</b> (frame <b class='otlab-step-number'>{frame.step}</b>)",
            f"<span style='color:{OT_COLOUR}'>W₂ = <b class='otlab-w2'>{frame.w2:.4f}</b></span> · "
            f"<span style='color:{FR_COLOUR}'>d<sub>FR</sub> = <b class='otlab-dfr'>{frame.d_fr:.4f}</b></span>",
            f"<span style='color:{ALL_COLOUR}'>among all densities: 2 arccos BC = "
            f"<b class='otlab-dall'>{frame.d_all:.4f}</b></span>"])

    def _draw_2d(self, frame: GaussiansFrame):
        ends = [ellipse(c) for c in frame.covariances[:2]]
        self.src_bures_ends.data = dict(x=[m[0] for m in frame.means[:2]], y=[m[1] for m in frame.means[:2]],
                                        w=[e[0] for e in ends], h=[e[1] for e in ends], a=[e[2] for e in ends])
        now = ellipse(frame.covariances[2])
        self.src_bures_now.data = dict(x=[frame.means[2][0]], y=[frame.means[2][1]], w=[now[0]], h=[now[1]], a=[now[2]])
        if self._path_generation != frame.generation:
            self._path_generation = frame.generation
            path = [(m, ellipse(c)) for m, c in frame.path]
            self.src_bures_path.data = dict(x=[m[0] for m, _ in path], y=[m[1] for m, _ in path],
                                            w=[e[0] for _, e in path], h=[e[1] for _, e in path],
                                            a=[e[2] for _, e in path])
        rows = [f"t = <b class='otlab-t'>{frame.t:.2f}</b> (frame <b class='otlab-step-number'>{frame.step}</b>)",
                f"W₂ = <b class='otlab-w2'>{frame.w2:.4f}</b> (closed form) · W₂²/2 = {frame.w2 ** 2 / 2:.4f}"]
        c = frame.check
        if c is not None:
            rows.append(f"solver: S<sub>ε</sub> = <b class='otlab-check-value'>{c.value:.4f}</b> "
                        f"({100 * (c.value / c.closed_half_w2 - 1):+.1f}%), map within "
                        f"<b class='otlab-check-map'>{100 * c.map_error:.1f}%</b> · {c.seconds:.1f} s")
            self.message.visible = False
        self.readout.object = readout_html(rows)

    # -- layout ----------------------------------------------------------------------------------------------
    def __panel__(self):
        self.start_session(URL_PARAMS)
        w = self.widgets
        settings = pn.Column(w["mode"], *self.one_d, *self.two_d, w["speed"], width=280)
        main = pn.Column(self.player, self.message, self.panes_1d, self.panes_2d, self.readout, width=2 * SIDE + 20)
        return demo_page(settings, main, LESSON)


if __name__.startswith("bokeh"):  # panel serve demos/gaussians/view.py
    pn.extension("mathjax")
    GaussiansDemo().servable(title="otlab · two geometries on Gaussians")
