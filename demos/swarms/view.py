"""Panel view of the swarms demo (``panel serve demos/swarms/view.py`` serves it alone).

Left: the preset and its sliders; middle: the room with the cells (polygons on the exact path, an image
on the grid path), the particles and their headings; below it the readout. Formulas: the LESSON below
and :mod:`otlab.core.semidiscrete.swarms`.
"""
from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, LinearColorMapper
from bokeh.palettes import Category10
from bokeh.plotting import figure

from otlab.app.demo_view import DemoView, demo_page
from otlab.app.readout import readout_html
from otlab.demos.cell_images import cell_image
from otlab.demos.swarms.model import CORRECTIONS, SwarmFrame, SwarmsModel

#: parameters mirrored in the page URL
URL_PARAMS = ("preset", "n", "fill", "power", "power_b", "speed", "tumble_rate", "gravity", "tension",
              "void_tension", "dt", "correction", "seed")
#: height of the room on screen (px); its width follows the room's aspect
SIDE = 470
COLOURS = ["species", "id"]
#: species A and B (Okabe–Ito orange and blue: colour-blind safe)
SPECIES_COLOURS = ["#E69F00", "#56B4E9"]
CELL_COLOURS = Category10[10]
VOID_COLOUR, WALL_COLOUR, BORDER_COLOUR = "#ffffff", "#5b6470", "#1f2d3d"

LESSON = r"""
### Incompressible swarms

Each particle $$x_i$$ owns a Laguerre cell of the cost

$$c_i(y) = \tfrac{R}{p_i} (|y - x_i|/R)^{p_i}$$

and of fixed volume V. Every step moves the particles, re-solves the weights so that every cell keeps
volume V, and pulls each particle to its cell's centroid. They never overlap: hard ones (p ≫ 2) stay
round, soft ones (p < 2) squeeze.

<!-- more -->

Each particle $$x_i$$ owns a **Laguerre cell** of the cost $$c_i(y) = \frac{R}{p_i} (|y - x_i|/R)^{p_i}$$
(R the radius of a disk of volume V below: every cost has slope 1 at a cell's radius),

$$C_i = \lbrace y : c_i(y) - w_i \le c_j(y) - w_j \ \text{for all}\ j, \ \ c_i(y) - w_i \le 0 \rbrace,$$

(the last condition: outside every cell is **void**). Every step of length Δt

1. moves the particles: $$v_i$$ = speed × heading (headings **tumble** at rate λ, or **diffuse**,
   $$d\theta = \sqrt{2 D_r}\ dW$$, W a Brownian motion), gravity, the way to the exit, or surface tension;
2. solves the weights w that give **every cell the volume** $$V = \text{fill} \cdot |\Omega| / N$$ — semi-discrete
   optimal transport of the room onto the particles, by Newton's method warm-started from the last step;
3. pulls each particle towards its cell's centroid $$\bar y_i$$ at the rate κ = 20 (*spring*):
   $$x_i \leftarrow x_i + \Delta t \ (v_i + \kappa (\bar y_i - x_i))$$, or puts it there (*jump*).

The particles cannot overlap: they are **incompressible**. With p = 2 the cells are exact power cells
(polygons with arcs); **hard** particles (p ≫ 2) stay round, **soft** ones (p < 2) deform and squeeze
through the exit. **Surface tension**: cells i and j share an interface of length $$\ell_{ij}$$ and unit
normal $$n_{ij}$$ pointing out of i into j; with $$\gamma_{ij}$$ its tension and $$\gamma_{i0}$$ that of i with
the void, cell i moves at
$$v_i = -\frac{R}{|\partial B_R|} \sum_{j} (\gamma_{ij} - \gamma_{i0}) \ \ell_{ij} \ n_{ij}$$
($$|\partial B_R| = 2\pi R$$, the perimeter of a cell-sized disk; plus a fifth of the swimming speed):
away from its costly interfaces, so the types sort.
"""


class SwarmsDemo(DemoView):
    """The swarms demo; works served and in Jupyter."""

    model = param.ClassSelector(class_=SwarmsModel)

    def __init__(self, model: SwarmsModel = None, **params):
        super().__init__(model if model is not None else SwarmsModel(), self._draw, **params)
        m = self.model
        self._room = None  # the extent the figure was sized for
        self.colour = pn.widgets.RadioButtonGroup(name="colour", options=COLOURS, value="species",
                                                  css_classes=["otlab-colour"])
        self.colour.param.watch(lambda _: self.runner.request_frame(), "value")
        self.readout = pn.pane.HTML("", css_classes=["otlab-readout"], width=SIDE, min_height=90)
        self.bind_widgets({
            **swarm_widgets(m, n_step=10),
            "tension": _slider(name="tension γ_AB", start=0.0, end=40.0, step=1.0, value=m.tension),
            "void_tension": _slider(name="tension with the void γ_0", start=0.0, end=40.0, step=1.0,
                                    value=m.void_tension),
            "correction": pn.widgets.RadioButtonGroup(name="correction", options=CORRECTIONS, value=m.correction),
        })
        self.new_swarm = pn.widgets.Button(name="New swarm", width=120, css_classes=["otlab-new-swarm"])
        self.new_swarm.on_click(lambda _: setattr(self.model, "seed", self.model.seed + 1))
        self._build_figure()
        self.main = pn.Column(width=SIDE + 20)  # filled by __panel__; widened for a wider room

    # -- figure ------------------------------------------------------------------------------------------
    def _build_figure(self):
        fig = figure(height=SIDE, width=SIDE, x_range=(0, 1), y_range=(0, 1), tools="", toolbar_location=None,
                     match_aspect=True, css_classes=["otlab-swarm"], background_fill_color=VOID_COLOUR)
        fig.axis.visible = False
        fig.grid.visible = False
        self.src_labels = ColumnDataSource(dict(image=[np.full((2, 2), np.nan, np.float32)], dw=[1.0], dh=[1.0]))
        self.label_mapper = LinearColorMapper(palette=SPECIES_COLOURS, low=0, high=1, nan_color=BORDER_COLOUR,
                                              low_color=VOID_COLOUR, high_color=WALL_COLOUR)
        self.labels = fig.image(image="image", x=0, y=0, dw="dw", dh="dh", source=self.src_labels,
                                color_mapper=self.label_mapper, global_alpha=0.75)
        # one patch glyph per colour, its polygons joined by NaN breaks: two flat arrays per colour to send,
        # not one array per cell
        self.src_cells = [ColumnDataSource(dict(x=[], y=[])) for _ in CELL_COLOURS]
        self.cells = [fig.patch("x", "y", source=src, fill_color=colour, fill_alpha=0.75, line_color=BORDER_COLOUR,
                                line_width=1) for src, colour in zip(self.src_cells, CELL_COLOURS)]
        self.src_room = ColumnDataSource(dict(x=[], y=[]))
        fig.line("x", "y", source=self.src_room, line_color=WALL_COLOUR, line_width=3)
        self.src_heads = ColumnDataSource(dict(x0=[], y0=[], x1=[], y1=[]))
        fig.segment("x0", "y0", "x1", "y1", source=self.src_heads, line_color=BORDER_COLOUR, line_width=1.5)
        self.src_particles = ColumnDataSource(dict(x=[], y=[]))
        fig.scatter("x", "y", source=self.src_particles, size=3.5, color=BORDER_COLOUR)
        self.fig = fig

    # -- drawing -----------------------------------------------------------------------------------------
    def _draw(self, frame: SwarmFrame):
        (x0, x1), (y0, y1) = frame.extent
        if self._room != frame.extent:  # a new room: resize (the figure keeps its height)
            self._room = frame.extent
            self.fig.x_range.update(start=x0, end=x1)
            self.fig.y_range.update(start=y0, end=y1)
            self.fig.width = int(round(SIDE * (x1 - x0) / (y1 - y0)))
            self.main.width = max(self.fig.width, SIDE) + 20
        values, low, high, palette = self._colours(frame)
        x, h = frame.positions, frame.headings
        if frame.exact:
            self.labels.visible = False
            groups = _joined(frame.polygons, values[frame.polygon_owner] if len(frame.polygon_owner) else [],
                             len(palette))
            for k, (src, glyph) in enumerate(zip(self.src_cells, self.cells)):
                glyph.visible = k < len(palette)
                if k < len(palette):
                    glyph.glyph.fill_color = palette[k]
                    src.data = groups[k]
            room = np.vstack([frame.domain, frame.domain[:1]]) if frame.domain is not None else np.zeros((0, 2))
            self.src_room.data = dict(x=room[:, 0], y=room[:, 1])
        else:
            self.labels.visible = True
            for glyph in self.cells:
                glyph.visible = False
            self.label_mapper.update(low=low, high=high, palette=palette)
            self.src_labels.data = dict(image=[cell_image(values, frame.labels, frame.walls)], dw=[x1 - x0],
                                        dh=[y1 - y0])
            self.src_room.data = dict(x=[], y=[])
        tip = x + 0.9 * np.sqrt(frame.volume / np.pi) * h
        self.src_heads.data = dict(x0=x[:, 0], y0=x[:, 1], x1=tip[:, 0], y1=tip[:, 1])
        self.src_particles.data = dict(x=x[:, 0], y=x[:, 1])
        self.readout.object = _readout_html(frame, self.runner.fps)

    def _colours(self, frame: SwarmFrame):
        """Per-particle values and their colour map (low, high, palette)."""
        if self.colour.value == "id":
            return np.arange(len(frame.positions)) % len(CELL_COLOURS), 0, len(CELL_COLOURS) - 1, list(CELL_COLOURS)
        return frame.species, 0, 1, SPECIES_COLOURS

    # -- layout --------------------------------------------------------------------------------------------
    def __panel__(self):
        self.start_session(URL_PARAMS)
        w = self.widgets
        settings = pn.Column(w["preset"], w["n"], w["fill"], w["power"], w["power_b"], w["speed"], w["tumble_rate"],
                             w["gravity"], w["tension"], w["void_tension"], w["dt"],
                             pn.pane.Markdown("**Incompressibility**", margin=(4, 10, 0, 10)), w["correction"],
                             pn.pane.Markdown("**Colour**", margin=(4, 10, 0, 10)), self.colour, self.new_swarm,
                             width=280)
        self.main.objects = [self.player, self.message, pn.pane.Bokeh(self.fig), self.readout]
        return demo_page(settings, self.main, LESSON)


def _slider(**kw) -> pn.widgets.FloatSlider:
    return pn.widgets.FloatSlider(width=260, **kw)


def swarm_widgets(m: SwarmsModel, n_step: int) -> dict:
    """The widgets of the parameters every swarm demo has (2D and 3D): the preset (from the model's
    presets), N (the model's bounds, in steps of ``n_step``), fill, softness, speed, tumbling, gravity, Δt."""
    lo, hi = m.param.n.bounds
    return {
        "preset": pn.widgets.Select(name="preset", options=list(m._presets), value=m.preset, width=260),
        "n": pn.widgets.IntSlider(name="particles N", start=lo, end=hi, step=n_step, value=m.n, width=260),
        "fill": _slider(name="fill fraction", start=0.3, end=1.0, step=0.05, value=m.fill),
        "power": _slider(name="softness p (species A)", start=0.5, end=8.0, step=0.5, value=m.power),
        "power_b": _slider(name="softness p (species B)", start=0.5, end=8.0, step=0.5, value=m.power_b),
        "speed": _slider(name="speed", start=0.0, end=2.0, step=0.05, value=m.speed),
        "tumble_rate": _slider(name="tumble rate λ / rotation D_r", start=0.0, end=10.0, step=0.5,
                               value=m.tumble_rate),
        "gravity": _slider(name="gravity g", start=0.0, end=3.0, step=0.1, value=m.gravity),
        "dt": _slider(name="time step Δt", start=0.002, end=0.05, step=0.002, value=m.dt),
    }


def _joined(polygons, values, groups: int):
    """For each colour k < ``groups``: the polygons whose value is k as two float32 arrays, NaN between
    polygons (one Bokeh ``patch`` draws them all)."""
    out = []
    for k in range(groups):
        pieces = [p for p, v in zip(polygons, values) if v == k and len(p) >= 3]
        if not pieces:
            out.append(dict(x=np.zeros(0, np.float32), y=np.zeros(0, np.float32)))
            continue
        gap = np.full((1, 2), np.nan)
        xy = np.concatenate([q for p in pieces for q in (p, gap)][:-1]).astype(np.float32)
        out.append(dict(x=xy[:, 0], y=xy[:, 1]))
    return out


def _readout_html(frame: SwarmFrame, fps: float) -> str:
    n = len(frame.positions)
    err = np.abs(frame.volumes / frame.volume - 1).max() if n else 0.0
    path = "exact power cells" if frame.exact else "cells on a pixel grid"
    left = f" · <b class='otlab-left'>{frame.left}</b> evacuated" if frame.left else ""
    return readout_html([
        f"t = <b class='otlab-time'>{frame.time:.2f}</b> (step <b class='otlab-step-number'>{frame.step}</b>)"
        f" · <b>{n}</b> particles{left}",
        f"{path}: volumes within <b class='otlab-error'>{err:.1e}</b> of V = {frame.volume:.2e}",
        f"solver {1000 * frame.seconds:.0f} ms/step · <b class='otlab-fps'>{fps:.0f}</b> frames/s"])


if __name__.startswith("bokeh"):  # panel serve demos/swarms/view.py
    pn.extension("mathjax")
    SwarmsDemo().servable(title="otlab · swarms")
