"""Panel view of the 3D shapes demo (``panel serve demos/shapes3d/view.py`` serves it alone).

Left: the surfaces, uploads and sliders; middle: the WebGL view (:class:`otlab.app.point_cloud.PointCloud3D`:
drag to turn, wheel to zoom) with the target in grey, the source moving along the displacement
interpolation coloured by the dual potential F, and map arrows; right: the lesson.
"""
from __future__ import annotations

import numpy as np
import panel as pn
import param

from otlab.app.demo_view import DemoView, demo_page
from otlab.app.point_cloud import PointCloud3D, rgb
from otlab.app.readout import readout_html
from otlab.app.settings import default_device, surface_points
from otlab.app.upload import Upload
from otlab.demos.meshes import EXTENSIONS, MAX_BYTES, SHAPES, MeshError, parse_mesh
from otlab.demos.shapes3d.model import UPLOAD, ShapesFrame, ShapesModel

URL_PARAMS = ("source", "target", "n", "blur", "speed", "seed")
SIDE = 560
TARGET_GREY = 205

LESSON = r"""
### Optimal transport between two surfaces

N points $$x_i$$ on the source surface, M points $$y_j$$ on the target (grey). The debiased Sinkhorn
divergence gives the potential F (the colour) and the map (the arrows)

$$T(x) = x - \nabla F(x).$$

The animation plays $$x_i(t) = (1 - t)\,x_i + t\,T(x_i)$$. Drag to turn the view, scroll to zoom.

<!-- more -->

N points $$x_i$$ sampled on the source surface and M points $$y_j$$ on the target (grey). The debiased
Sinkhorn divergence at temperature $$\varepsilon = \sigma^2$$ gives the **debiased dual potential**
$$F = F_{\alpha\beta} - F_{\alpha\alpha}$$ on the source (the extended dual potentials of α → β and of α → α),
and the entropic, debiased **Brenier map**

$$T(x) = x - \nabla F(x),$$

where each point goes (the arrows). The colour is F. The animation plays the interpolation

$$x_i(t) = (1 - t) \ x_i + t \ T(x_i), \qquad t = \tfrac12(1 - \cos \pi s),$$

every point on a straight line, eased at both ends (s is the clock). With the exact Brenier map this is
McCann's displacement interpolation, the Wasserstein geodesic, along which no two paths cross; T here is
entropic (blur σ), so it approximates both, and a few paths may cross. Drag to turn the view, scroll
to zoom; upload your own mesh (.obj, .stl, .ply, .vtk) as source or target.
"""


class Shapes3DDemo(DemoView):
    """The 3D shapes demo; works served and in Jupyter."""

    model = param.ClassSelector(class_=ShapesModel)

    def __init__(self, model: ShapesModel = None, **params):
        if model is None:
            device = default_device()
            model = ShapesModel(device=device, n=surface_points(device))
        super().__init__(model, self._draw, **params)
        m = self.model
        self.cloud = PointCloud3D(width=SIDE, height=SIDE - 60, css_classes=["otlab-3d"])
        self.readout = pn.pane.HTML("", css_classes=["otlab-readout"], width=SIDE, min_height=70)
        self._shown_generation = None
        choices = list(SHAPES) + [UPLOAD]
        self.bind_widgets({
            "source": pn.widgets.Select(name="source", options=choices, value=m.source, width=260),
            "target": pn.widgets.Select(name="target", options=choices, value=m.target, width=260),
            "n": pn.widgets.IntSlider(name="points on each surface", start=500, value=m.n, width=260,
                                      end=200_000 if m.device == "cuda" else 20_000,
                                      step=5000 if m.device == "cuda" else 500),
            "blur": pn.widgets.FloatSlider(name="blur σ", start=0.01, end=0.2, step=0.005, value=m.blur, width=260),
            "speed": pn.widgets.FloatSlider(name="round trips per 10 s", start=0.0, end=5.0, step=0.25,
                                            value=m.speed, width=260),
        })
        self.uploads = {which: Upload(lambda name, data, which=which: self._upload(which, name, data), self.say, MAX_BYTES,
                                      f"otlab-upload-{which}", width=260) for which in ("source", "target")}
        self.new_points = pn.widgets.Button(name="New samples", width=120, css_classes=["otlab-new-samples"])
        self.new_points.on_click(lambda _: setattr(self.model, "seed", self.model.seed + 1))

    def _upload(self, which: str, filename: str, data: bytes):
        try:
            mesh = parse_mesh(data, filename)
        except MeshError as err:  # never crash the session: say why, keep the current shape
            self.say(f"{which} upload refused: {err}")
            return
        self.say("")
        self.model.set_upload(which, mesh)

    def _draw(self, frame: ShapesFrame):
        if self._shown_generation != frame.generation:  # a new problem: every array once, then only t
            self._shown_generation = frame.generation
            self.cloud.show_fixed(frame.target, np.full(frame.target.shape, TARGET_GREY, np.uint8))
            k = frame.arrows
            self.cloud.show_segments(frame.source[k], frame.mapped[k])
            F = frame.potential
            self.cloud.show_path(frame.source, frame.mapped, rgb(F, float(np.percentile(F, 2)),
                                                                 float(np.percentile(F, 98))))
        self.cloud.show_time(frame.t)
        self.readout.object = readout_html([
            f"t = <b class='otlab-t'>{frame.t:.2f}</b> (frame <b class='otlab-step-number'>{frame.step}</b>) · "
            f"{len(frame.source):,} → {len(frame.target):,} points",
            f"S<sub>ε</sub> = <b class='otlab-value'>{frame.value:.5f}</b> · solved in {frame.seconds:.2f} s "
            f"({frame.backend}, {self.model.device})"])

    def __panel__(self):
        self.start_session(URL_PARAMS)
        w = self.widgets
        kinds = f"{', '.join(EXTENSIONS)}, ≤ {MAX_BYTES // 2 ** 20} MB"
        settings = pn.Column(w["source"], pn.pane.Markdown(f"upload a source mesh ({kinds})", margin=(0, 10)),
                             self.uploads["source"], w["target"],
                             pn.pane.Markdown(f"upload a target mesh ({kinds})", margin=(0, 10)),
                             self.uploads["target"], w["n"], w["blur"], w["speed"], self.new_points, width=280)
        main = pn.Column(self.player, self.message, self.cloud, self.readout, width=SIDE + 20)
        return demo_page(settings, main, LESSON)


if __name__.startswith("bokeh"):  # panel serve demos/shapes3d/view.py
    pn.extension("mathjax")
    Shapes3DDemo().servable(title="otlab · 3D shapes")
