"""Panel view of the barycenter explorer (``panel serve demos/barycenters/view.py`` serves it alone).

Left: the weight picker (a triangle or a square with the inputs at its corners: drag or tap the dot);
middle: the Euclidean average and the Wasserstein barycenter at those weights, updated live; below: the
5 × 5 interpolation grid on demand, exportable as PNG. Formulas: the LESSON below and
:mod:`otlab.demos.barycenters.model`.
"""
from __future__ import annotations

import functools
import io
import threading

import numpy as np
import panel as pn
import param
from bokeh import events
from bokeh.models import ColumnDataSource, LinearColorMapper
from bokeh.palettes import Category10
from bokeh.plotting import figure

from otlab.app.demo_view import DemoView, demo_page
from otlab.app.point_cloud import PointCloud3D
from otlab.app.readout import readout_html
from otlab.app.upload import Upload
from otlab.app.settings import default_device, grid_side
from otlab.demos.barycenters.model import (MODES, BarycenterFrame, BarycentersModel,
                                           picker_corners, point_of)
from otlab.demos.densities import SHAPES, VOLUMES
from otlab.demos.images import MAX_BYTES as MAX_IMAGE_BYTES, density_from_upload
from otlab.demos.snapshots import density_rgb, ink_rgb

#: parameters mirrored in the page URL
URL_PARAMS = ("mode", "inputs", "volumes", "resolution", "volume_resolution", "blur", "debias", "n_points", "seed")
#: side of the picker and of the two density plots (px)
SIDE = 300
CORNER_NAMES = "ABCD"
INPUT_COLORS = [Category10[10][i] for i in (0, 1, 2, 4)]
#: the ink colour ramp of the PNG export, as a Bokeh palette
PALETTE = ["#%02x%02x%02x" % tuple(c) for c in density_rgb(np.linspace(0, 1, 256)[:, None])[0]]
#: thumbnails of the inputs beside the picker's corners: (x, y) of their lower-left corner, side
THUMB = 0.3
THUMB_AT = {3: [(-0.36, -0.3), (1.06, -0.3), (0.35, 0.92)], 4: [(-0.36, -0.3), (1.06, -0.3), (1.06, 0.98), (-0.36, 0.98)]}
#: height of a 3D view's title (px)
TITLE_3D = 30

LESSON = r"""
### Averaging shapes: Euclidean vs Wasserstein

The dot sets the weights $$w_k$$. The Euclidean average $$\sum_k w_k \alpha_k$$ cross-fades; the
**Wasserstein barycenter**

$$\beta^\star = \arg\min_\beta \sum_k w_k S_\varepsilon(\alpha_k, \beta)$$

moves mass: the shapes morph into one another. $$S_\varepsilon$$ is the Sinkhorn divergence of the cost
$$\tfrac12|x - y|^2$$ at ε = σ².

<!-- more -->

Give each input density $$\alpha_k$$ a weight $$w_k \ge 0$$, $$\sum_k w_k = 1$$ (drag the dot: barycentric
coordinates in the triangle, bilinear ones in the square).

The **Euclidean average** $$\sum_k w_k \alpha_k$$ is a cross-fade: every input stays where it is,
only fainter. It minimises $$\sum_k w_k \lVert\alpha_k - \beta\rVert_2^2$$.

The **Wasserstein barycenter** minimises the transport costs instead,

$$\beta^\star = \arg\min_\beta \sum_k w_k S_\varepsilon(\alpha_k, \beta), \qquad C(x, y) = \tfrac12|x-y|^2, \quad \varepsilon = \sigma^2,$$

so mass **moves**: shapes morph into one another, and the barycenter of two copies of a shape is the
shape at the weighted mean position. Each update is a log-domain Sinkhorn projection on the grid,

$$f_k = -\varepsilon \log K e^{g_k/\varepsilon}\beta, \quad g_k = -\varepsilon \log K e^{f_k/\varepsilon}\alpha_k, \quad \log\beta = \log d - \sum_k w_k g_k/\varepsilon,$$

where K is the Gaussian blur of width σ, applied axis by axis, and d solves $$d \odot K d = \beta$$.

Here $$\mathrm{OT}_\varepsilon(\alpha, \beta) = \min_\pi \langle C, \pi\rangle + \varepsilon\,\mathrm{KL}(\pi \,|\, \alpha\otimes\beta)$$
and $$S_\varepsilon$$ is its debiased form, $$\mathrm{OT}_\varepsilon(\alpha,\beta) - \tfrac12\mathrm{OT}_\varepsilon(\alpha,\alpha) - \tfrac12\mathrm{OT}_\varepsilon(\beta,\beta)$$.

**Debiased** (Janati et al. 2020): sharp. **Plain** (d = 1, untick *debiased*): the entropic barycenter
of Benamou et al. 2015 (what POT computes), which minimises
$$\sum_k w_k \mathrm{OT}_\varepsilon(\alpha_k, \beta) + \varepsilon\langle\beta, \log\beta\rangle$$ — the entropy is
taken relative to the grid, and its term spreads β: blurred by about σ. (The minimiser of
$$\sum_k w_k \mathrm{OT}_\varepsilon(\alpha_k, \beta)$$ alone would shrink instead.) Larger blur: faster and
smoother; smaller: sharper, slower.

*Try:* the square (4 inputs), the point-cloud mode (the same barycenter for samples: every point moves
to $$\sum_k w_k T_k(x)$$, $$T_k$$ the Brenier map to input k), 3D volumes (drawn as points, about as
many in a region as it holds mass; drag to turn both views), your own image.
**Compute the 5 × 5 grid** for a slide.
"""


class BarycentersDemo(DemoView):
    """The barycenter explorer; works served and in Jupyter."""

    model = param.ClassSelector(class_=BarycentersModel)

    def __init__(self, model: BarycentersModel = None, **params):
        if model is None:
            device = default_device()
            model = BarycentersModel(device=device, resolution=grid_side(device))
        super().__init__(model, self._draw, **params)
        m = self.model
        self._syncing = False        # True while the corner menus follow the model
        self._shown = (None, None)   # (generation, version) on screen
        self._build_picker()
        self._build_plots()
        self.readout = pn.pane.HTML("", css_classes=["otlab-readout"], width=SIDE, min_height=120)
        self.bind_widgets({
            "mode": pn.widgets.RadioButtonGroup(name="mode", options=MODES, value=m.mode, button_type="primary"),
            "resolution": pn.widgets.IntSlider(name="resolution (pixels per side)", start=32, end=192, step=16,
                                               value=m.resolution),
            "volume_resolution": pn.widgets.IntSlider(name="resolution (voxels per side)", start=16, end=64, step=8,
                                                      value=m.volume_resolution),
            "blur": pn.widgets.FloatSlider(name="blur σ", start=0.01, end=0.1, step=0.005, value=m.blur,
                                           format="0.000"),
            "debias": pn.widgets.Checkbox(name="debiased (sharp)", value=m.debias),
            "n_points": pn.widgets.IntSlider(name="points per cloud", start=50, end=1000, step=50, value=m.n_points),
        })
        self.count = pn.widgets.RadioButtonGroup(name="inputs", options=["3 inputs", "4 inputs"],
                                                 value=f"{len(m.names)} inputs", css_classes=["otlab-count"])
        self.corners = [pn.widgets.Select(name=f"corner {c}", options=list(SHAPES), width=135,
                                          css_classes=[f"otlab-corner-{c}"]) for c in CORNER_NAMES]
        self.count.param.watch(self._set_count, "value")
        for i, select in enumerate(self.corners):
            select.param.watch(lambda e, i=i: self._set_corner(i, e.new), "value")
        self.upload = Upload(self._uploaded, self.say, MAX_IMAGE_BYTES, "otlab-upload", width=270)
        self.upload_corner = pn.widgets.RadioButtonGroup(options=list(CORNER_NAMES[:3]), value="C", width=200)
        self.grid_button = pn.widgets.Button(name="Compute the 5 × 5 grid", button_type="primary", width=200,
                                             css_classes=["otlab-grid-button"])
        self.grid_button.on_click(self._compute_grid)
        self._build_volume_views()
        self.grid_png = None
        self.grid_image = pn.pane.PNG(None, width=560, visible=False, css_classes=["otlab-grid-image"])
        self.grid_download = pn.widgets.FileDownload(callback=lambda: io.BytesIO(self.grid_png),
                                                     filename="otlab-barycenters.png", label="Download PNG",
                                                     visible=False, width=160, css_classes=["otlab-grid-download"])
        self._sync_inputs()
        m.param.watch(lambda *_: self._sync_inputs(), ["mode", "inputs", "volumes"])

    # -- inputs --------------------------------------------------------------------------------------------
    def _sync_inputs(self):
        """Corner menus, counts and visibility from the model (after any change of mode or inputs)."""
        m = self.model
        names = m.names
        options = list(VOLUMES) if m.mode == MODES[2] else list(SHAPES) + list(m._uploads)
        self._syncing = True
        try:
            self.count.value = f"{len(names)} inputs"
            for i, select in enumerate(self.corners):
                select.options = options
                select.visible = i < len(names)
                select.value = names[i] if i < len(names) else options[0]  # a hidden corner: a valid value
            self.upload_corner.options = list(CORNER_NAMES[:len(names)])
        finally:
            self._syncing = False
        points, volumes = m.mode == MODES[1], m.mode == MODES[2]
        self.widgets["n_points"].visible = points
        self.widgets["resolution"].visible = not volumes
        self.widgets["volume_resolution"].visible = volumes
        self.upload.widget.disabled = volumes
        self._show_views(volumes)

    def _names_param(self):
        return "volumes" if self.model.mode == MODES[2] else "inputs"

    def _set_corner(self, i, name):
        names = list(self.model.names)
        if self._syncing or i >= len(names):  # a hidden corner (Panel resets a value its options lost)
            return
        names[i] = name
        self.set_parameter(self._names_param(), names)

    def _set_count(self, event):
        if self._syncing:
            return
        k = int(event.new[0])
        names = list(self.model.names)
        spare = [s for s in (VOLUMES if self.model.mode == MODES[2] else SHAPES) if s not in names]
        names = names[:k] if k < len(names) else names + spare[:k - len(names)]
        weights = np.full(k, 1.0 / k)
        self.model.point = point_of(weights, k)  # the centre of the new picker
        self.set_parameter(self._names_param(), names)

    def _uploaded(self, filename: str, data: bytes):
        try:
            gray = density_from_upload(data, filename)
        except ValueError as err:
            self.say(str(err))
            return
        name = self.model.add_upload(filename or "image", gray)
        names = list(self.model.inputs)
        names[CORNER_NAMES.index(self.upload_corner.value)] = name
        self.set_parameter("inputs", names)
        self.say(f"'{filename}' is now corner {self.upload_corner.value}.", "success")

    # -- the picker ----------------------------------------------------------------------------------------
    def _build_picker(self):
        fig = figure(width=SIDE, height=SIDE, x_range=(-0.42, 1.42), y_range=(-0.42, 1.42), tools="",
                     toolbar_location=None, match_aspect=True, css_classes=["otlab-picker"],
                     title="Drag the dot: the weights")
        fig.axis.visible = False
        fig.grid.visible = False
        fig.title.text_font_size = "15px"
        self.src_shape = ColumnDataSource(dict(x=[], y=[]))
        fig.patch("x", "y", source=self.src_shape, fill_color="#eef3fa", line_color="#6b8fb5", line_width=2)
        self.src_thumbs = [ColumnDataSource(dict(image=[np.zeros((2, 2), np.float32)], x=[0.0], y=[0.0]))
                           for _ in CORNER_NAMES]
        mapper = LinearColorMapper(palette=PALETTE, low=0, high=1)
        self.thumbs = [fig.image(image="image", x="x", y="y", dw=THUMB, dh=THUMB, source=src, color_mapper=mapper)
                       for src in self.src_thumbs]
        self.src_labels = ColumnDataSource(dict(x=[], y=[], text=[], color=[]))
        fig.text("x", "y", text="text", color="color", source=self.src_labels, text_font_size="14px",
                 text_align="center", text_font_style="bold")
        self.src_dot = ColumnDataSource(dict(x=[0.5], y=[0.3]))
        fig.scatter("x", "y", source=self.src_dot, size=22, color="#d62728", line_color="white", line_width=2)
        for event in (events.Tap, events.PanStart, events.Pan, events.PanEnd):
            fig.on_event(event, self._moved)
        self.picker = fig

    def _moved(self, event):
        x, y = min(max(event.x, -0.1), 1.1), min(max(event.y, -0.1), 1.1)
        self.src_dot.data = dict(x=[x], y=[y])
        self.model.point = (x, y)

    def _show_picker(self, frame: BarycenterFrame):
        k = len(frame.names)
        corners = picker_corners(k)
        self.src_shape.data = dict(x=list(corners[:, 0]), y=list(corners[:, 1]))
        for i, (src, renderer) in enumerate(zip(self.src_thumbs, self.thumbs)):
            renderer.visible = i < k
            if i < k:
                x0, y0 = THUMB_AT[k][i]
                src.data = dict(image=[_thumbnail(frame, i)], x=[x0], y=[y0])

    def _thumb_labels(self, frame: BarycenterFrame):
        k = len(frame.names)
        x = [THUMB_AT[k][i][0] + THUMB / 2 for i in range(k)]
        y = [THUMB_AT[k][i][1] + (THUMB + 0.02 if THUMB_AT[k][i][1] > 0.5 else -0.1) for i in range(k)]
        text = [f"{CORNER_NAMES[i]} {frame.weights[i]:.2f}" for i in range(k)]
        self.src_labels.data = dict(x=x, y=y, text=text, color=INPUT_COLORS[:k])

    # -- the two averages ----------------------------------------------------------------------------------
    def _build_plots(self):
        mapper = LinearColorMapper(palette=PALETTE, low=0, high=1)
        self.src_avg = ColumnDataSource(dict(image=[np.zeros((2, 2), np.float32)]))
        self.src_bar = ColumnDataSource(dict(image=[np.zeros((2, 2), np.float32)]))
        self.src_mix = ColumnDataSource(dict(x=[], y=[], color=[], alpha=[]))
        self.src_support = ColumnDataSource(dict(x=[], y=[]))
        self.plots = {}
        for key, title in (("average", "Euclidean average Σ wₖ αₖ"), ("barycenter", "Wasserstein barycenter")):
            fig = figure(width=SIDE, height=SIDE, x_range=(0, 1), y_range=(0, 1), tools="", toolbar_location=None,
                         match_aspect=True, title=title, css_classes=[f"otlab-{key}"])
            fig.axis.visible = False
            fig.grid.visible = False
            fig.title.text_font_size = "15px"
            src = self.src_avg if key == "average" else self.src_bar
            image = fig.image(image="image", x=0, y=0, dw=1, dh=1, source=src, color_mapper=mapper)
            if key == "average":
                dots = fig.scatter("x", "y", source=self.src_mix, size=4, color="color", alpha="alpha")
            else:
                dots = fig.scatter("x", "y", source=self.src_support, size=5, color=PALETTE[-1])
            self.plots[key] = (fig, image, dots)

    def _build_volume_views(self):
        """The 3D mode's two WebGL views (average, barycenter); their cameras turn together."""
        self.volume_views = {key: PointCloud3D(width=SIDE, height=SIDE - TITLE_3D, point_size=4, distance=1.9,
                                               css_classes=[f"otlab-3d-{key}"]) for key in ("average", "barycenter")}
        self.volume_titles = {key: pn.pane.HTML("", height=TITLE_3D, width=SIDE, margin=(0, 5),
                                                styles={"font-size": "15px", "font-weight": "bold"})
                              for key in self.volume_views}
        average, barycenter = self.volume_views.values()
        average.jslink(barycenter, yaw="yaw", pitch="pitch", distance="distance", bidirectional=True)
        for view in self.volume_views.values():
            view.show_box()
        self.volume_panes = [pn.Column(self.volume_titles[key], view, margin=0)
                             for key, view in self.volume_views.items()]
        self.figure_panes = [pn.pane.Bokeh(self.plots[key][0]) for key in ("average", "barycenter")]
        self.plots_row = pn.Row(pn.pane.Bokeh(self.picker), *self.figure_panes)

    def _show_views(self, volumes: bool):
        """The 3D views in place of the two figures in the volumes mode, the figures otherwise (on a change
        of mode). Views are added when shown: created hidden, they laid out at a wrong size."""
        panes = self.volume_panes if volumes else self.figure_panes
        if list(self.plots_row.objects[1:]) != panes:  # only on a change of mode
            self.plots_row.objects = [self.plots_row.objects[0], *panes]

    def _draw_volumes(self, frame: BarycenterFrame):
        for key, volume in (("average", frame.average_3d), ("barycenter", frame.density_3d)):
            self.volume_views[key].show(*volume_points(volume))

    def _draw(self, frame: BarycenterFrame):
        if self._shown[0] != frame.generation:  # new inputs or settings
            self._show_picker(frame)
            points = frame.mode == MODES[1]
            for fig, image, dots in self.plots.values():
                image.visible, dots.visible = not points, points
            title = "Wasserstein barycenter" + ("" if frame.mode == MODES[1] or self.model.debias else " (plain)")
            self.plots["barycenter"][0].title.text = self.volume_titles["barycenter"].object = title
            average = "mixture Σ wₖ αₖ (opacity wₖ)" if points else "Euclidean average Σ wₖ αₖ"
            self.plots["average"][0].title.text = self.volume_titles["average"].object = average
        if self._shown != (frame.generation, frame.version):
            if frame.mode == MODES[1]:
                self._draw_points(frame)
            elif frame.mode == MODES[2]:
                self._draw_volumes(frame)
            else:
                self.src_avg.data = dict(image=[frame.average.T])
                self.src_bar.data = dict(image=[frame.density.T])
            self._thumb_labels(frame)
            self.src_dot.data = dict(x=[frame.point[0]], y=[frame.point[1]])
            self._shown = (frame.generation, frame.version)
        self.readout.object = _readout_html(frame, self.model.debias)

    def _draw_points(self, frame: BarycenterFrame):
        xs = np.concatenate([c[:, 0] for c in frame.inputs])
        ys = np.concatenate([c[:, 1] for c in frame.inputs])
        colors = [INPUT_COLORS[k] for k, c in enumerate(frame.inputs) for _ in range(len(c))]
        alpha = np.concatenate([np.full(len(c), 0.05 + 0.95 * frame.weights[k]) for k, c in enumerate(frame.inputs)])
        self.src_mix.data = dict(x=xs, y=ys, color=colors, alpha=alpha)
        self.src_support.data = dict(x=frame.support[:, 0], y=frame.support[:, 1])

    # -- the interpolation grid ----------------------------------------------------------------------------
    def _compute_grid(self, _):
        """Compute the grid in a thread (seconds), then show it and offer the download."""
        self.grid_button.disabled = True
        self.grid_button.name = "Computing the grid…"
        doc = pn.state.curdoc

        def work():
            try:
                png, error = self.model.interpolation_png(), None
            except Exception as err:  # never crash the session
                png, error = None, f"{type(err).__name__}: {err}"

            def show():
                self.grid_button.disabled = False
                self.grid_button.name = "Compute the 5 × 5 grid"
                if error:
                    self.say(f"The grid failed: {error}")
                    return
                self.grid_png = png
                self.grid_image.object = png
                self.grid_image.visible = self.grid_download.visible = True

            if doc is not None and doc.session_context is not None:
                doc.add_next_tick_callback(show)
            else:
                show()

        threading.Thread(target=work, daemon=True).start()

    # -- layout ----------------------------------------------------------------------------------------------
    def __panel__(self):
        self.start_session(URL_PARAMS)
        w = self.widgets
        settings = pn.Column(
            w["mode"], self.count, pn.Row(*self.corners[:2]), pn.Row(*self.corners[2:]),
            w["blur"], w["debias"], w["resolution"], w["volume_resolution"], w["n_points"],
            pn.pane.Markdown("**Your image** (dark = mass, ≤ 5 MB) → corner", margin=(4, 10, 0, 10)),
            self.upload_corner, self.upload, width=300)
        main = pn.Column(self.player, self.message, self.plots_row,
                         pn.Row(self.readout, pn.Column(self.grid_button, self.grid_download)),
                         self.grid_image, width=3 * SIDE + 40)
        return demo_page(settings, main, LESSON)


@functools.lru_cache(maxsize=4)
def _dither(shape: tuple) -> tuple:
    """Fixed per-voxel thresholds u ~ U(0.1, 1) and jitters (shape + (3,)) in [-0.5, 0.5] voxel (seeded)."""
    rng = np.random.default_rng(sum(shape))
    return rng.uniform(0.1, 1.0, shape).astype(np.float32), rng.uniform(-0.5, 0.5, shape + (3,)).astype(np.float32)


def volume_points(volume: np.ndarray) -> tuple:
    """A volume (n_x, n_y, n_z) of values in [0, 1] as points for :class:`PointCloud3D`: voxel v is drawn
    when its value exceeds a fixed random threshold u_v ~ U(0.1, 1), i.e. with probability
    (value − 0.1)/0.9 — denser where the mass is, none in the faint tails below 0.1, and no flicker while
    the volume changes slowly — at its centre plus a fixed jitter, the box mapped to [-0.5, 0.5]³, coloured
    on the ink ramp by value (darker: denser). Returns centres (P, 3) and colours (P, 3) uint8."""
    u, jitter = _dither(volume.shape)
    drawn = volume > u
    idx = np.argwhere(drawn)
    centres = (idx + 0.5 + jitter[drawn]) / np.array(volume.shape) - 0.5
    return centres, ink_rgb(0.35 + 0.65 * volume[drawn])


def _thumbnail(frame: BarycenterFrame, i: int) -> np.ndarray:
    """Input i as a picker thumbnail (image rows = y): the image itself, or a raster of its cloud."""
    content = frame.inputs[i]
    if frame.mode != MODES[1]:
        return content.T
    counts, _, _ = np.histogram2d(content[:, 1], content[:, 0], bins=32, range=[[0, 1], [0, 1]])
    return (counts / max(counts.max(), 1)).astype(np.float32)


def _readout_html(frame: BarycenterFrame, debias: bool) -> str:
    weights = " · ".join(f"<span style='color:{INPUT_COLORS[k]}'>{CORNER_NAMES[k]}</span> {w:.2f}"
                         for k, w in enumerate(frame.weights))
    if frame.mode == MODES[1]:
        move = "–" if frame.marginal_error is None else f"{frame.marginal_error:.2g}"
        status = f"fixed-point steps <b>{frame.updates}</b> · largest move <b>{move}</b>"
    else:
        err = "–" if frame.marginal_error is None else f"{frame.marginal_error:.2g}"
        status = (f"updates <b class='otlab-updates'>{frame.updates}</b> · marginal error <b>{err}</b> · "
                  f"mass <b>{frame.mass:.4f}</b>")
    grid = " × ".join(str(s) for s in frame.sizes) if frame.mode != MODES[1] else f"{frame.sizes[0]} points each"
    state = "<b style='color:#2b8a3e' class='otlab-settled'>settled</b>" if frame.settled else "<i>converging…</i>"
    return readout_html([f"weights {weights}", status,
                         f"{state} in {frame.seconds:.2f} s · {grid} · σ = {frame.blur:.3g}{'' if debias else ' · plain'}"])


if __name__.startswith("bokeh"):  # panel serve demos/barycenters/view.py
    pn.extension("mathjax", "filedropper")
    BarycentersDemo().servable(title="otlab · barycenters")
