"""Panel view of the ε-annealing demo (``panel serve demos/annealing/view.py`` serves it alone).

Draws the model's frames: both clouds (marker area ∝ weight), the Brenier map as segments x → T(x),
optional plan lines, the potentials F and G as images on the plane, S against the step, and readouts.
All formulas drawn here are in :mod:`otlab.demos.annealing.model` and :mod:`otlab.core.clouds.sinkhorn`.
"""
from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.models import (ColumnDataSource, DataRange1d, FreehandDrawTool, LinearColorMapper, LogAxis, LogScale,
                          PointDrawTool, Range1d, Span)
from bokeh.palettes import Viridis256
from bokeh.plotting import figure

from otlab.app.demo_view import DemoView, demo_page
from otlab.app.readout import readout_html
from otlab.app.upload import Upload
from otlab.app.settings import cloud_size, default_device
from otlab.demos.annealing.model import EXTENT, SHAPES, TOLERANCES, AnnealingModel, Frame
from otlab.demos.images import MAX_BYTES as MAX_IMAGE_BYTES, density_from_upload

SOURCE_COLOR, TARGET_COLOR, MAP_COLOR, ERROR_COLOR = "#1f77b4", "#e6550d", "#555555", "#d62728"
#: the marginal-error axis of the chart (log); errors outside are drawn at its ends
ERROR_RANGE = (1e-5, 1e2)
#: parameters mirrored in the page URL (share a link, get the same picture)
URL_PARAMS = ("source", "target", "n_source", "n_target", "blur", "scaling", "p", "unbalanced", "reach",
              "debias", "backend", "tol", "seed", "plan_lines")

LESSON = r"""
### What you see

Blue $$\alpha = \sum_i a_i \delta_{x_i}$$, orange $$\beta = \sum_j b_j \delta_{y_j}$$, cost
$$C_{ij} = \tfrac12|x_i - y_j|^2$$. Each frame is one **Sinkhorn update** at a temperature ε that shrinks
from the diameter to the target blur:

$$f_i \leftarrow -\varepsilon \log \sum_j b_j e^{(g_j - C_{ij})/\varepsilon},$$

and the same for g (the page averages it with the old f). F and G (right): f and g extended to the
plane. Grey segments: where each point goes, x → T(x). Red: the marginal error, falling below *tol*.

<!-- more -->

Two clouds $$\alpha = \sum_i a_i \delta_{x_i}$$ (blue) and $$\beta = \sum_j b_j \delta_{y_j}$$ (orange),
cost $$C(x, y) = \tfrac{1}{2}|x-y|^2$$ (p = 2) or $$|x - y|$$ (p = 1).

**ε-annealing.** Each frame is one Sinkhorn update at the temperature $$\varepsilon_k = \sigma_k^p$$,
the blur $$\sigma_k$$ shrinking from the diameter to the target blur by the factor *scaling*:

$$f_i \leftarrow \tfrac{1}{2} f_i - \tfrac{1}{2} \lambda \varepsilon \log \sum_j b_j e^{(g_j - C(x_i, y_j))/\varepsilon}$$

with $$\lambda = 1/(1 + \varepsilon/r^p)$$, r the *reach* (λ = 1 when balanced), and the same for g.

**The potentials** F and G (right) are the dual potentials extended to the whole plane by the same
soft-min, $$F(z) = -\lambda \varepsilon \log \sum_j b_j e^{(g_j - C(z, y_j))/\varepsilon}$$, so that
$$F(x_i) = f_i$$ and, for p = 2, the map is $$T = x - \nabla F$$ (GeomLoss's convention).
As ε → 0 they sharpen into the Kantorovich potentials.

**The value** (chart) is the Sinkhorn divergence

$$S_\varepsilon(\alpha, \beta) = \mathrm{OT}\_\varepsilon(\alpha,\beta) - \tfrac{1}{2}\mathrm{OT}\_\varepsilon(\alpha,\alpha) - \tfrac{1}{2}\mathrm{OT}\_\varepsilon(\beta,\beta)$$

with $$\mathrm{OT}\_\varepsilon = \langle \alpha, f \rangle + \langle \beta, g \rangle$$ when balanced.

**The map** (grey segments, p = 2). With $$P_j(x) \propto b_j e^{(g_j - C(x, y_j))/\varepsilon}$$,
$$\sum_j P_j(x) = 1$$, the share of x's mass that the plan sends to $$y_j$$, the **barycentric projection**
$$T_0(x) = \sum_j P_j(x)\, y_j = x - \nabla F(x)/\lambda$$ is the barycentre of where x sends its mass:
drawn with *debias* off. With *debias* on (default) the page draws the **debiased map**
$$T(x) = x - \nabla F(x) + \nabla F_{\alpha\alpha}(x)$$ (balanced), $$F_{\alpha\alpha}$$ the potential of
α's transport onto itself: it removes the entropic shrinkage of $$T_0$$ and is not a barycentre of the
plan. After the last step the points travel along $$x_t = (1-t) x + t T(x)$$: the displacement
interpolation.

**Converging.** Annealing leaves the potentials close to, not at, the fixed point. At the final ε
the solver keeps iterating (Sinkhorn updates, with damped Newton steps on the sparse plan when
balanced) until the marginal error of the plan $$\pi_{ij} = a_i b_j e^{(f_i + g_j - C(x_i, y_j))/\varepsilon}$$,

$$\textstyle\sum_i \big|\sum_j \pi_{ij} - a_i\big| + \sum_j \big|\sum_i \pi_{ij} - b_j\big|$$

(red, log scale), is below *tol* (dotted line): the map you then see is the converged one.

*Try:* a small blur with scaling 0.9 (sharp, slow); a large blur (a blurry map, fast);
*unbalanced* with a small reach (mass is destroyed rather than moved far); p = 1.
"""


class AnnealingDemo(DemoView):
    """Live ε-annealing with F, G and the Brenier map; works served and in Jupyter."""

    model = param.ClassSelector(class_=AnnealingModel)

    def __init__(self, model: AnnealingModel = None, **params):
        if model is None:
            device = default_device()
            model = AnnealingModel(device=device, n_source=cloud_size(device), n_target=cloud_size(device))
        super().__init__(model, self._draw, **params)
        self._build_plots()
        self._build_widgets()

    # -- plots -------------------------------------------------------------------------------------------
    def _build_plots(self):
        empty_pts = dict(x=np.zeros(0, np.float32), y=np.zeros(0, np.float32), size=np.zeros(0, np.float32))
        empty_seg = dict(x0=np.zeros(0, np.float32), y0=np.zeros(0, np.float32), x1=np.zeros(0, np.float32),
                         y1=np.zeros(0, np.float32))
        self.src_x, self.src_y = ColumnDataSource(dict(empty_pts)), ColumnDataSource(dict(empty_pts))
        self.src_x0 = ColumnDataSource(dict(x=empty_pts["x"], y=empty_pts["y"]))  # α where F is drawn
        self.src_map, self.src_plan = ColumnDataSource(dict(empty_seg)), ColumnDataSource(dict(empty_seg))
        self.src_hist = ColumnDataSource(dict(step=np.zeros(0), value=np.zeros(0), error=np.zeros(0)))
        blank = np.zeros((2, 2), np.float32)
        self.src_F, self.src_G = ColumnDataSource(dict(image=[blank])), ColumnDataSource(dict(image=[blank]))
        self.cmap_F = LinearColorMapper(palette=Viridis256, low=0, high=1)
        self.cmap_G = LinearColorMapper(palette=Viridis256, low=0, high=1)

        x0, x1, y0, y1 = EXTENT
        common = dict(x_range=(x0, x1), y_range=(y0, y1), match_aspect=True, tools="pan,wheel_zoom,reset,save",
                      toolbar_location="above")
        main = figure(title="α (blue) → β (orange): Brenier map T", width=520, height=520,
                      css_classes=["otlab-main-plot"], **common)
        main.segment("x0", "y0", "x1", "y1", source=self.src_plan, color="#9467bd", alpha=0.25, line_width=1)
        main.segment("x0", "y0", "x1", "y1", source=self.src_map, color=MAP_COLOR, alpha=0.35, line_width=1)
        main.scatter("x", "y", size="size", source=self.src_y, color=TARGET_COLOR, alpha=0.8)
        main.scatter("x", "y", size="size", source=self.src_x, color=SOURCE_COLOR, alpha=0.85)
        pot_F = figure(title="F: potential on α's side", width=260, height=260, **common)
        pot_F.image("image", x=x0, y=y0, dw=x1 - x0, dh=y1 - y0, source=self.src_F, color_mapper=self.cmap_F)
        pot_F.scatter("x", "y", size=3, source=self.src_x0, color="white", alpha=0.7)
        pot_G = figure(title="G: potential on β's side", width=260, height=260, **common)
        pot_G.image("image", x=x0, y=y0, dw=x1 - x0, dh=y1 - y0, source=self.src_G, color_mapper=self.cmap_G)
        pot_G.scatter("x", "y", size=3, source=self.src_y, color="white", alpha=0.7)
        chart = figure(title="S_ε (blue) and marginal error (red, log) against the step", width=520, height=200,
                       tools="", toolbar_location=None)
        values = [chart.line("step", "value", source=self.src_hist, line_width=2),
                  chart.scatter("step", "value", source=self.src_hist, size=6)]
        chart.y_range = DataRange1d(renderers=values)  # S_ε only: the errors have their own axis
        chart.extra_y_ranges = {"error": Range1d(*ERROR_RANGE)}
        chart.extra_y_scales = {"error": LogScale()}
        chart.add_layout(LogAxis(y_range_name="error", axis_line_color=ERROR_COLOR,
                                 major_label_text_color=ERROR_COLOR), "right")
        chart.line("step", "error", source=self.src_hist, y_range_name="error", color=ERROR_COLOR, line_width=2,
                   line_dash="dashed")
        chart.scatter("step", "error", source=self.src_hist, y_range_name="error", color=ERROR_COLOR, size=4)
        self.tol_line = Span(location=self.model.tol, dimension="width", y_range_name="error", line_color=ERROR_COLOR,
                             line_dash="dotted", line_width=2)
        chart.add_layout(self.tol_line)
        for fig in (main, pot_F, pot_G, chart):
            fig.title.text_font_size = "15px"
            fig.axis.major_label_text_font_size = "12px"
        self.figures = dict(main=main, F=pot_F, G=pot_G, chart=chart)
        self.readout = pn.pane.HTML("", css_classes=["otlab-readout"], sizing_mode="stretch_width")

    def _draw(self, frame: Frame):
        """Push one frame into the Bokeh sources (float32 columns, images). During the displacement
        interpolation only the moving points and the readout change, so only they are sent."""
        n = len(frame.x)
        self.src_x.data = dict(x=frame.moved[:, 0], y=frame.moved[:, 1], size=_marker_sizes(frame.a, n))
        self.readout.object = _readout_html(frame, self.model.tol)
        last, self._last_frame = getattr(self, "_last_frame", None), frame
        if (last is not None and frame.phase == last.phase == "transport" and frame.generation == last.generation
                and frame.step == last.step):
            return
        m = len(frame.y)
        self.src_y.data = dict(x=frame.y[:, 0], y=frame.y[:, 1], size=_marker_sizes(frame.b, m))
        self.src_x0.data = dict(x=frame.x[:, 0], y=frame.x[:, 1])
        if frame.mapped is not None and frame.phase == "annealing":
            self.src_map.data = dict(x0=frame.x[:, 0], y0=frame.x[:, 1], x1=frame.mapped[:, 0], y1=frame.mapped[:, 1])
        elif self.src_map.data["x0"].size:
            self.src_map.data = {k: np.zeros(0, np.float32) for k in ("x0", "y0", "x1", "y1")}
        lines = frame.plan_lines if frame.plan_lines is not None else np.zeros((0, 4), np.float32)
        self.src_plan.data = dict(x0=lines[:, 0], y0=lines[:, 1], x1=lines[:, 2], y1=lines[:, 3])
        for src, cmap, img in ((self.src_F, self.cmap_F, frame.F), (self.src_G, self.cmap_G, frame.G)):
            src.data = dict(image=[img])
            lo, hi = np.percentile(img, [2, 98])
            cmap.update(low=float(lo), high=float(hi if hi > lo else lo + 1e-9))
        steps, values, errors = zip(*frame.history) if frame.history else ((), (), ())
        self.src_hist.data = dict(step=np.asarray(steps, np.float32), value=np.asarray(values, np.float32),
                                  error=np.clip(np.asarray(errors, np.float32), *ERROR_RANGE))
        self.tol_line.location = self.model.tol

    # -- widgets -------------------------------------------------------------------------------------------
    def _build_widgets(self):
        m = self.model
        self.bind_widgets({
            "source": pn.widgets.Select(name="Source α", options=SHAPES, value=m.source),
            "target": pn.widgets.Select(name="Target β", options=SHAPES, value=m.target),
            "n_source": pn.widgets.IntSlider(name="N (points in α)", start=10, end=5000, step=10, value=m.n_source),
            "n_target": pn.widgets.IntSlider(name="M (points in β)", start=10, end=5000, step=10, value=m.n_target),
            "blur": pn.widgets.FloatSlider(name="blur σ", start=0.005, end=0.5, step=0.005, value=m.blur,
                                           format="0.000"),
            "scaling": pn.widgets.FloatSlider(name="scaling", start=0.3, end=0.95, step=0.05, value=m.scaling),
            "p": pn.widgets.RadioButtonGroup(name="p", options=[1, 2], value=m.p),
            "unbalanced": pn.widgets.Checkbox(name="unbalanced", value=m.unbalanced),
            "reach": pn.widgets.FloatSlider(name="reach", start=0.01, end=2.0, step=0.01, value=m.reach),
            "debias": pn.widgets.Checkbox(name="debias (Sinkhorn divergence)", value=m.debias),
            "backend": pn.widgets.Select(name="backend", options=["auto", "tensorized", "online", "multiscale"],
                                         value=m.backend),
            "tol": pn.widgets.Select(name="tol (marginal error at the final ε)", options=TOLERANCES,
                                     value=m.tol),
            "seed": pn.widgets.IntInput(name="seed", start=0, end=2 ** 31 - 1, value=m.seed),
            "plan_lines": pn.widgets.IntSlider(name="plan lines (strongest pairs)", start=0, end=500, step=50,
                                               value=m.plan_lines),
        })
        self._build_sketch()
        self.upload = Upload(self._uploaded, self.say, MAX_IMAGE_BYTES, "otlab-upload", width=300)
        self.upload_target = pn.widgets.RadioButtonGroup(options=["source", "target"], value="target")

    def _build_sketch(self):
        self.src_strokes = ColumnDataSource(dict(xs=[], ys=[]))
        self.src_taps = ColumnDataSource(dict(x=[], y=[]))
        pad = figure(title="Sketch pad: draw strokes or tap points", width=300, height=300, x_range=(0, 1),
                     y_range=(0, 1), match_aspect=True, tools="", toolbar_location="above", css_classes=["otlab-sketch"])
        strokes = pad.multi_line("xs", "ys", source=self.src_strokes, line_width=4, color="black")
        taps = pad.scatter("x", "y", source=self.src_taps, size=8, color="black")
        draw = FreehandDrawTool(renderers=[strokes])
        pad.add_tools(draw, PointDrawTool(renderers=[taps]))
        pad.toolbar.active_drag = draw
        self.sketch = pad
        self.use_source = pn.widgets.Button(name="Use as source α", button_type="primary", width=140)
        self.use_target = pn.widgets.Button(name="Use as target β", button_type="primary", width=140)
        self.clear_sketch = pn.widgets.Button(name="Clear", width=80)
        self.use_source.on_click(lambda _: self._use_sketch("source"))
        self.use_target.on_click(lambda _: self._use_sketch("target"))
        self.clear_sketch.on_click(lambda _: self._clear_sketch())

    def _use_sketch(self, which):
        points = _sketch_points(self.src_strokes.data, self.src_taps.data)
        try:
            self.model.set_points(which, points)
            self.say(f"{len(points)} drawn points are now the {which}.", "success")
        except ValueError as err:
            self.say(f"{err}: draw a few strokes first.")

    def _clear_sketch(self):
        self.src_strokes.data = dict(xs=[], ys=[])
        self.src_taps.data = dict(x=[], y=[])

    def _uploaded(self, filename: str, data: bytes):
        try:
            gray = density_from_upload(data, filename)
            self.model.set_image(self.upload_target.value, gray)
            self.say(f"'{filename}' is now the {self.upload_target.value} density.", "success")
        except ValueError as err:
            self.say(str(err))

    # -- layout --------------------------------------------------------------------------------------------
    def _settings(self):
        w = self.widgets
        return pn.Column(w["source"], w["target"], w["n_source"], w["n_target"], w["blur"], w["scaling"],
                         pn.Row(pn.pane.HTML("<b>p</b>", margin=(8, 5)), w["p"]), w["debias"],
                         w["unbalanced"], w["reach"], w["backend"], w["tol"], w["seed"], w["plan_lines"], width=290)

    def _inputs(self):
        return pn.Column(self.sketch, pn.Row(self.use_source, self.use_target), self.clear_sketch,
                         pn.pane.Markdown("**Upload an image** (dark = mass, ≤ 5 MB)"), self.upload_target,
                         self.upload, width=310)

    def __panel__(self):
        self.start_session(URL_PARAMS)
        f = self.figures
        figures = pn.Column(self.player, self.message,
                            pn.Row(pn.pane.Bokeh(f["main"]),
                                   pn.Column(pn.pane.Bokeh(f["F"]), pn.pane.Bokeh(f["G"]))),
                            pn.Row(pn.pane.Bokeh(f["chart"]), self.readout), width=810)
        sidebar = pn.Tabs(("Settings", self._settings()), ("Draw & upload", self._inputs()), width=320)
        return demo_page(sidebar, figures, LESSON)


def _marker_sizes(weights: np.ndarray, n: int) -> np.ndarray:
    """Marker diameter in screen px with area ∝ weight (uniform weights -> 6 px)."""
    return (6.0 * np.sqrt(np.clip(weights * n, 0.0, None))).astype(np.float32)


def _sketch_points(strokes, taps, spacing: float = 0.008) -> np.ndarray:
    """Points from the sketch pad: strokes resampled every ``spacing``, plus the tapped points."""
    pts = [np.stack([np.asarray(taps["x"], float), np.asarray(taps["y"], float)], axis=1).reshape(-1, 2)]
    for xs, ys in zip(strokes["xs"], strokes["ys"]):
        line = np.stack([np.asarray(xs, float), np.asarray(ys, float)], axis=1)
        if len(line) < 2:
            pts.append(line)
            continue
        seg = np.linalg.norm(np.diff(line, axis=0), axis=1)
        arc = np.concatenate([[0.0], np.cumsum(seg)])
        s = np.arange(0.0, arc[-1] + 1e-12, spacing)
        pts.append(np.stack([np.interp(s, arc, line[:, 0]), np.interp(s, arc, line[:, 1])], axis=1))
    return np.concatenate(pts).astype(np.float32)


def _readout_html(frame: Frame, tol: float) -> str:
    err = "–" if frame.marginal_error is None else f"{frame.marginal_error:.3g}"
    if frame.phase == "transport":
        phase = "displacement interpolation, t = %.2f" % min(frame.t, 2 - frame.t)
        err += " ✓ ≤ tol" if frame.converged else " (not converged: update cap reached)"
    elif frame.phase == "converging":
        phase = f"converging at the final ε on {frame.level}"
        err += f" → tol = {tol:g}"
    else:
        phase = f"annealing on {frame.level}"
    return readout_html([f"step <b class='otlab-step-number'>{frame.step}</b> · {phase}",
                         f"ε = <b>{frame.eps:.3g}</b> &nbsp; σ = ε<sup>1/p</sup> = <b>{frame.blur:.3g}</b>",
                         f"S<sub>ε</sub> = <b class='otlab-value'>{frame.value:.5f}</b>",
                         f"marginal error = <b>{err}</b>"], line_height=1.6)


if __name__.startswith("bokeh"):  # panel serve demos/annealing/view.py
    pn.extension("mathjax", "filedropper")
    AnnealingDemo().servable(title="otlab · ε-annealing")
