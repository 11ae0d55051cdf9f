"""Panel view of the 3D swarms demo (``panel serve demos/swarms3d/view.py`` serves it alone): the cells'
boundary voxels as points coloured by species (or by cell), the particles dark, in the WebGL view of
:mod:`otlab.app.point_cloud` (drag to turn, scroll to zoom)."""
from __future__ import annotations

import numpy as np
import panel as pn
import param

from otlab.app.demo_view import DemoView, demo_page
from otlab.app.point_cloud import PointCloud3D
from otlab.app.readout import readout_html
from otlab.demos.swarms.view import swarm_widgets
from otlab.demos.swarms3d.model import Swarm3DFrame, Swarms3DModel

URL_PARAMS = ("preset", "n", "fill", "power", "power_b", "speed", "tumble_rate", "gravity", "dt", "seed")
SIDE = 520
SPECIES_RGB = np.array([[230, 159, 0], [86, 180, 233]], np.uint8)  # Okabe–Ito orange, sky blue
CELL_RGB = np.array([[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
                     [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207]], np.uint8)

LESSON = r"""
### Incompressible swarms in 3D

The plane's rules in a ball or a box: each particle owns a cell of voxels of the cost

$$c_i(y) = \tfrac{R}{p_i} (|y - x_i|/R)^{p_i},$$

whose volume every step restores (Newton). Drawn: each cell's boundary voxels. Hard particles (p ≫ 2)
stay round, soft ones (p < 2) fill the gaps.

<!-- more -->

The same rules as in the plane: each particle owns the Laguerre cell
$$\lbrace y : c_i(y) - w_i \le c_j(y) - w_j, \ c_i(y) - w_i \le 0 \rbrace$$ of the cost
$$c_i(y) = \frac{R}{p_i} (|y - x_i|/R)^{p_i}$$ (R the radius of a ball of a cell's volume), here on a grid of voxels; every step moves the particles,
re-solves the weights so that **every cell keeps its volume** (Newton on soft voxel counts), and pulls
each particle towards its cell's centroid. Drawn: the voxels on the boundary of each cell, so you see the
cells squeeze against each other and the walls. Hard particles (p ≫ 2) stay round, soft ones (p < 2) fill
the gaps. Drag to turn the view, scroll to zoom.
"""


class Swarms3DDemo(DemoView):
    """The 3D swarms demo; works served and in Jupyter."""

    model = param.ClassSelector(class_=Swarms3DModel)

    def __init__(self, model: Swarms3DModel = None, **params):
        super().__init__(model if model is not None else Swarms3DModel(), self._draw, **params)
        m = self.model
        self.cloud = PointCloud3D(width=SIDE, height=SIDE - 40, point_size=4, distance=2.6,
                                  css_classes=["otlab-3d"])
        self.readout = pn.pane.HTML("", css_classes=["otlab-readout"], width=SIDE, min_height=70)
        self.colour = pn.widgets.RadioButtonGroup(name="colour", options=["species", "cell"], value="species")
        self.colour.param.watch(lambda _: self.runner.request_frame(), "value")
        self.bind_widgets(swarm_widgets(m, n_step=4))
        self.cloud.show_box()

    def _draw(self, frame: Swarm3DFrame):
        if self.colour.value == "cell":
            cell_rgb = CELL_RGB[frame.owner % len(CELL_RGB)]
        else:
            cell_rgb = SPECIES_RGB[frame.species[frame.owner]]
        points = np.concatenate([frame.boundary, frame.positions]) - 0.5  # the box centred at the origin
        colours = np.concatenate([cell_rgb, np.full((len(frame.positions), 3), 30, np.uint8)])
        self.cloud.show(points, colours)
        err = np.abs(frame.volumes / frame.volume - 1).max() if len(frame.volumes) else 0.0
        self.readout.object = readout_html([
            f"t = <b class='otlab-time'>{frame.time:.2f}</b> (step <b class='otlab-step-number'>{frame.step}</b>) · "
            f"<b>{len(frame.positions)}</b> particles on {self.model._grid}³ voxels",
            f"volumes within <b class='otlab-error'>{err:.1e}</b> of V = {frame.volume:.2e} · solver "
            f"{1000 * frame.seconds:.0f} ms/step"])

    def __panel__(self):
        self.start_session(URL_PARAMS)
        w = self.widgets
        settings = pn.Column(w["preset"], w["n"], w["fill"], w["power"], w["power_b"], w["speed"], w["tumble_rate"],
                             w["gravity"], w["dt"], pn.pane.Markdown("**Colour**", margin=(4, 10, 0, 10)), self.colour,
                             width=280)
        main = pn.Column(self.player, self.message, self.cloud, self.readout, width=SIDE + 20)
        return demo_page(settings, main, LESSON)


if __name__.startswith("bokeh"):  # panel serve demos/swarms3d/view.py
    pn.extension("mathjax")
    Swarms3DDemo().servable(title="otlab · 3D swarms")
