"""Panel view of the "OT is sorting" demo (``panel serve demos/sorting/view.py`` serves it alone).

Two tabs: 1D (the monotone matching, the CDFs and the quantile functions) and 2D (greedy, auction and
Sinkhorn side by side with their prices and dual objectives). Formulas: the lessons below,
:mod:`otlab.demos.sorting.model`, :mod:`otlab.core.discrete.sorting` and :mod:`otlab.core.discrete.assignment`.
"""
from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, LinearColorMapper, Span
from bokeh.palettes import Category10, Viridis256
from bokeh.plotting import figure
from panel.viewable import Viewer

from otlab.app.demo_view import DemoView, demo_page
from otlab.app.readout import readout_html
from otlab.demos.shapes import PRESETS
from otlab.demos.sorting.model import (LINE_SHAPES, SOLVERS, MatchingFrame, MatchingModel, SortingFrame,
                                       SortingModel)

SOURCE_COLOR, TARGET_COLOR, HIGHLIGHT = "#1f77b4", "#e6550d", "#d62728"
SOLVER_COLORS = dict(zip(SOLVERS, (Category10[10][7], Category10[10][2], Category10[10][4])))
#: the gap axis (log): gaps below are drawn at its floor
GAP_FLOOR = 1e-9
EPS_CHOICES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
WIDTH = 930

LESSON_1D = r"""
### On the line, optimal transport is sorting

For a convex cost $$h(x - y)$$ the **monotone** plan is optimal: the leftmost mass goes to the leftmost
mass, and so on. With the quantile functions $$q_\alpha = F_\alpha^{-1}$$, $$q_\beta = F_\beta^{-1}$$ (right),

$$\mathrm{OT} = \int_0^1 C\big(q_\alpha(s), q_\beta(s)\big)\, ds.$$

The moving level s marks the same mass on both sets.

<!-- more -->

For a convex cost $$C(x, y) = h(x - y)$$ ($$|x-y|$$ or $$\tfrac12|x-y|^2$$), the **monotone** plan is
optimal: the leftmost mass of $$\alpha$$ goes to the leftmost mass of $$\beta$$, and so on. For a strictly
convex cost (p = 2) it is the only optimal plan, and optimal plans never cross; for $$|x - y|$$ plans that
cross can be optimal too (half masses at 0, 1 sent to 1, 2: 0 → 2 and 1 → 1 cost as much as 0 → 1 and
1 → 2). With the
cumulative distribution functions $$F_\alpha(t) = \sum_{x_i \le t} a_i$$ and their inverses, the
quantile functions,

$$\mathrm{OT}(\alpha, \beta) = \int_0^1 C\big(F_\alpha^{-1}(s), F_\beta^{-1}(s)\big) ds.$$

Both quantile functions are steps (right); between two consecutive steps of either, one point
$$x_i$$ sends the interval's length of mass to one point $$y_j$$: at most N + M − 1 lines (top,
width ∝ mass). Sorting both sets is all it takes: $$O((N+M)\log(N+M))$$.

The moving level **s** marks the same mass on the CDFs (left: the horizontal line meets each CDF at
the matched points) and on the quantile functions (right: the vertical line). The shaded area on the
right, between the two quantile functions, is $$\int_0^1 |F_\alpha^{-1}(s) - F_\beta^{-1}(s)|\,ds$$: the
cost for p = 1; for p = 2 the cost is $$\int_0^1 \tfrac12 |F_\alpha^{-1} - F_\beta^{-1}|^2 ds$$, not the area.
"""

LESSON_2D = r"""
### In 2D: matching N points to N points

Find the permutation σ that minimises

$$\tfrac1N \sum_i C(x_i, y_{\sigma(i)}).$$

Prices with $$f_i + g_j \le C_{ij}$$ bound it from below; the chart shows each solver's gap.
Greedy bids stall, the auction (slack ε) closes the gap, Sinkhorn blurs the matching.

<!-- more -->

Minimise $$\tfrac1N\sum_i C(x_i, y_{\sigma(i)})$$ over the permutations σ of {1, …, N} (here σ is a
matching, not a blur). The dual problem puts a price
on each side: maximise $$\tfrac1N(\sum_i f_i + \sum_j g_j)$$ subject to $$f_i + g_j \le C(x_i, y_j)$$.
Every panel colours the points by their prices (x: f, circles; y: g, squares; dark = low) and the chart shows how far each dual
objective still is below the optimum (log).

**Greedy** (naive dual ascent): each unassigned point $$x_i$$ ranks the targets by
$$C(x_i, y_j) + p_j$$, with prices $$p_j = -g_j$$; $$v^{(1)} \le v^{(2)}$$ are the two smallest values. It bids
for its best target, raising that price by the gap to its second choice, $$v^{(2)} - v^{(1)}$$. When two points want two targets
equally, that gap is 0: no price moves and the bids circle; otherwise the raises shrink and it **stalls**.

**Auction** adds a slack: raise by $$v^{(2)} - v^{(1)} + \varepsilon$$. Every bid now makes progress,
and the result is within ε of the optimum (ε-complementary slackness). Large ε: fast and rough; small
ε: exact but slow — unless ε is **annealed** (ε-scaling), each phase starting from the last prices.
otlab then proves optimality (no negative exchange cycle, by Bellman–Ford) and refines ε until it can.

**Sinkhorn** at temperature ε spreads each point's mass over its neighbours,
$$\pi_{ij} \propto e^{(f_i + g_j - C_{ij})/\varepsilon}$$ (lines, opacity ∝ mass): a blurred matching whose
cost exceeds the optimum by at most ε log N. Its dual is smooth, so it climbs fast, then stops short.
"""


class SortingLineView(DemoView):
    """1D: points, monotone plan, CDFs and quantile functions, with the level s sweeping."""

    model = param.ClassSelector(class_=SortingModel)

    def __init__(self, model: SortingModel = None, **params):
        super().__init__(model if model is not None else SortingModel(), self._draw, **params)
        self._generation = None
        e = np.zeros(0)
        self.src_x, self.src_y = ColumnDataSource(dict(x=e, y=e, size=e)), ColumnDataSource(dict(x=e, y=e, size=e))
        self.src_plan = ColumnDataSource(dict(x0=e, x1=e, width=e))
        self.src_pick = ColumnDataSource(dict(x0=e, x1=e))
        self.src_cdf_x, self.src_cdf_y = ColumnDataSource(dict(t=e, F=e)), ColumnDataSource(dict(t=e, F=e))
        self.src_quant = ColumnDataSource(dict(s=e, qx=e, qy=e))
        self.src_area = ColumnDataSource(dict(left=e, right=e, bottom=e, top=e))
        line = figure(title="α (top) → β (bottom): the sorted matching", width=WIDTH, height=210, x_range=(0, 1),
                      y_range=(-0.4, 1.4), tools="", toolbar_location=None, css_classes=["otlab-line-plot"])
        line.segment("x0", 1, "x1", 0, source=self.src_plan, line_width="width", color="#888888", alpha=0.6)
        line.segment("x0", 1, "x1", 0, source=self.src_pick, line_width=4, color=HIGHLIGHT)
        line.scatter("x", "y", size="size", source=self.src_x, color=SOURCE_COLOR)
        line.scatter("x", "y", size="size", source=self.src_y, color=TARGET_COLOR)
        line.yaxis.visible = False
        cdf = figure(title="CDFs F_α (blue), F_β (orange); level s", width=WIDTH // 2 - 5, height=260, x_range=(0, 1),
                     y_range=(0, 1.02), tools="", toolbar_location=None)
        cdf.step("t", "F", source=self.src_cdf_x, mode="after", color=SOURCE_COLOR, line_width=3)
        cdf.step("t", "F", source=self.src_cdf_y, mode="after", color=TARGET_COLOR, line_width=3)
        quant = figure(title="quantile functions F⁻¹(s); shaded: the gap (the cost for p = 1)", width=WIDTH // 2 - 5,
                       height=260, x_range=(0, 1), y_range=(0, 1), tools="", toolbar_location=None)
        quant.quad(left="left", right="right", bottom="bottom", top="top", source=self.src_area, color=HIGHLIGHT,
                   alpha=0.15)
        quant.step("s", "qx", source=self.src_quant, mode="after", color=SOURCE_COLOR, line_width=3)
        quant.step("s", "qy", source=self.src_quant, mode="after", color=TARGET_COLOR, line_width=3)
        self.level_h = Span(location=0, dimension="width", line_color=HIGHLIGHT, line_width=2, line_dash="dashed")
        self.level_v = Span(location=0, dimension="height", line_color=HIGHLIGHT, line_width=2, line_dash="dashed")
        cdf.add_layout(self.level_h)
        quant.add_layout(self.level_v)
        for fig in (line, cdf, quant):
            fig.title.text_font_size = "15px"
            fig.axis.major_label_text_font_size = "13px"
        self.figures = (line, cdf, quant)
        self.readout = pn.pane.HTML("", css_classes=["otlab-readout"], width=WIDTH)
        m = self.model
        self.bind_widgets({
            "source": pn.widgets.Select(name="α: points x", options=LINE_SHAPES, value=m.source),
            "target": pn.widgets.Select(name="β: points y", options=LINE_SHAPES, value=m.target),
            "n_source": pn.widgets.IntSlider(name="N", start=1, end=200, value=m.n_source),
            "n_target": pn.widgets.IntSlider(name="M", start=1, end=200, value=m.n_target),
            "weighted": pn.widgets.Checkbox(name="random weights", value=m.weighted),
            "p": pn.widgets.RadioButtonGroup(name="p", options=[1, 2], value=m.p),
            "seed": pn.widgets.IntInput(name="seed", start=0, end=2 ** 31 - 1, value=m.seed),
        })

    def _draw(self, frame: SortingFrame):
        i, j = frame.plan[:, 0].astype(int), frame.plan[:, 1].astype(int)
        if self._generation != frame.generation:
            self._generation = frame.generation
            n, m = len(frame.x), len(frame.y)
            self.src_x.data = dict(x=frame.x, y=np.ones(n), size=8 * np.sqrt(frame.a * n) + 2)
            self.src_y.data = dict(x=frame.y, y=np.zeros(m), size=8 * np.sqrt(frame.b * m) + 2)
            self.src_plan.data = dict(x0=frame.x[i], x1=frame.y[j], width=1 + 30 * frame.plan[:, 2])
            ox, oy = np.argsort(frame.x, kind="stable"), np.argsort(frame.y, kind="stable")
            self.src_cdf_x.data = dict(t=np.r_[0, frame.x[ox], 1], F=np.r_[0, np.cumsum(frame.a[ox]), 1])
            self.src_cdf_y.data = dict(t=np.r_[0, frame.y[oy], 1], F=np.r_[0, np.cumsum(frame.b[oy]), 1])
            qx, qy = frame.x[i], frame.y[j]
            self.src_quant.data = dict(s=frame.levels, qx=np.r_[qx, qx[-1]], qy=np.r_[qy, qy[-1]])
            self.src_area.data = dict(left=frame.levels[:-1], right=frame.levels[1:], bottom=np.minimum(qx, qy),
                                      top=np.maximum(qx, qy))
        k = frame.piece
        self.src_pick.data = dict(x0=frame.x[i[k:k + 1]], x1=frame.y[j[k:k + 1]])
        self.level_h.location = self.level_v.location = frame.s
        c = abs(frame.x[i[k]] - frame.y[j[k]])
        cost = c if self.model.p == 1 else c * c / 2
        self.readout.object = readout_html([
            f"OT(α, β) = <b class='otlab-value'>{frame.value:.5f}</b> &nbsp;·&nbsp; level s = "
            f"<b class='otlab-level'>{frame.s:.2f}</b>: x<sub>{i[k]}</sub> = {frame.x[i[k]]:.3f} → "
            f"y<sub>{j[k]}</sub> = {frame.y[j[k]]:.3f}, mass {frame.plan[k, 2]:.3f}, cost {cost:.4f} &nbsp;·&nbsp; "
            f"{len(frame.plan)} pieces (N + M − 1 = {len(frame.x) + len(frame.y) - 1})"])

    def settings(self):
        w = self.widgets
        return pn.Column(w["source"], w["target"], w["n_source"], w["n_target"], w["weighted"],
                         pn.Row(pn.pane.HTML("<b>p</b>", margin=(8, 5)), w["p"]), w["seed"], width=290)

    def __panel__(self):
        self.start_session({"source": "line_source", "target": "line_target", "n_source": "line_n",
                            "n_target": "line_m", "weighted": "line_weighted", "p": "line_p", "seed": "line_seed"})
        line, cdf, quant = (pn.pane.Bokeh(f) for f in self.figures)
        main = pn.Column(self.player, self.message, line, self.readout, pn.Row(cdf, quant), width=WIDTH)
        return demo_page(self.settings(), main, LESSON_1D)


class MatchingView(DemoView):
    """2D: greedy, auction and Sinkhorn on the same points, each with its matching and prices."""

    model = param.ClassSelector(class_=MatchingModel)

    def __init__(self, model: MatchingModel = None, **params):
        super().__init__(model if model is not None else MatchingModel(), self._draw, **params)
        e = np.zeros(0)
        self.panels = {}
        for name in SOLVERS:
            src_x, src_y = ColumnDataSource(dict(x=e, y=e, price=e)), ColumnDataSource(dict(x=e, y=e, price=e))
            src_lines = ColumnDataSource(dict(x0=e, y0=e, x1=e, y1=e, alpha=e))
            src_free = ColumnDataSource(dict(x=e, y=e))
            mapper_f, mapper_g = (LinearColorMapper(palette=Viridis256, low=0, high=1) for _ in range(2))
            fig = figure(title=name, width=WIDTH // 3 - 10, height=WIDTH // 3 - 10, x_range=(0, 1), y_range=(0, 1),
                         match_aspect=True, tools="", toolbar_location=None,
                         css_classes=[f"otlab-match-{name.lower()}"])
            fig.segment("x0", "y0", "x1", "y1", source=src_lines, color="#555555", line_alpha="alpha", line_width=1.5)
            fig.scatter("x", "y", source=src_y, size=9, marker="square",
                        color={"field": "price", "transform": mapper_g}, line_color=TARGET_COLOR, line_width=1.5)
            fig.scatter("x", "y", source=src_x, size=9, color={"field": "price", "transform": mapper_f},
                        line_color=SOURCE_COLOR, line_width=1.5)
            fig.scatter("x", "y", source=src_free, size=15, fill_alpha=0, line_color=HIGHLIGHT, line_width=2)
            fig.title.text_font_size = "16px"
            fig.title.text_color = SOLVER_COLORS[name]
            fig.axis.visible = False
            self.panels[name] = (fig, src_x, src_y, src_lines, src_free, mapper_f, mapper_g)
        chart = figure(title="optimum − dual objective (log) against the round", width=WIDTH - 330, height=200,
                       y_axis_type="log", tools="", toolbar_location=None)
        self.src_gap = {name: ColumnDataSource(dict(r=e, gap=e)) for name in SOLVERS}
        for name in SOLVERS:
            chart.line("r", "gap", source=self.src_gap[name], color=SOLVER_COLORS[name], line_width=3, legend_label=name)
        chart.legend.location = "bottom_left"
        chart.title.text_font_size = "15px"
        self.chart = chart
        self.readout = pn.pane.HTML("", css_classes=["otlab-readout"], width=320)
        self._drawn = {}   # solver -> the SolverState on screen (a finished solver's state is reused)
        m = self.model
        self.bind_widgets({
            "source": pn.widgets.Select(name="points x", options=list(PRESETS), value=m.source),
            "target": pn.widgets.Select(name="points y", options=list(PRESETS), value=m.target),
            "n": pn.widgets.IntSlider(name="N (points on each side)", start=5, end=200, step=5, value=m.n),
            "eps": pn.widgets.DiscreteSlider(name="ε (auction slack, Sinkhorn temperature)", options=EPS_CHOICES,
                                             value=m.eps),
            "annealing": pn.widgets.Checkbox(name="annealing (ε-scaling)", value=m.annealing),
            "rounds_per_frame": pn.widgets.IntSlider(name="rounds per frame", start=1, end=50,
                                                     value=m.rounds_per_frame),
            "seed": pn.widgets.IntInput(name="seed", start=0, end=2 ** 31 - 1, value=m.seed),
        })

    def _draw(self, frame: MatchingFrame):
        x, y = frame.x, frame.y
        for s in frame.solvers:
            if self._drawn.get(s.name) is s:
                continue  # a finished solver: nothing new to send
            self._drawn[s.name] = s
            fig, src_x, src_y, src_lines, src_free, mapper_f, mapper_g = self.panels[s.name]
            src_x.data = dict(x=x[:, 0], y=x[:, 1], price=s.f)
            src_y.data = dict(x=y[:, 0], y=y[:, 1], price=s.g)
            for mapper, prices in ((mapper_f, s.f), (mapper_g, s.g)):
                lo, hi = np.percentile(prices, [2, 98])
                mapper.update(low=float(lo), high=float(hi if hi > lo else lo + 1e-12))
            if s.pairs is not None:
                i, j = s.pairs[:, 0].astype(int), s.pairs[:, 1].astype(int)
                alpha = np.clip(s.pairs[:, 2], 0, 1)
                src_free.data = dict(x=np.zeros(0), y=np.zeros(0))
            else:
                i = np.flatnonzero(s.perm >= 0)
                j = s.perm[i]
                alpha = np.full(len(i), 0.9)
                free = np.flatnonzero(s.perm < 0)
                src_free.data = dict(x=x[free, 0], y=x[free, 1])
            src_lines.data = dict(x0=x[i, 0], y0=x[i, 1], x1=y[j, 0], y1=y[j, 1], alpha=alpha)
            history = frame.history[s.name]
            if history:
                r, gap = zip(*history)
                self.src_gap[s.name].data = dict(r=np.asarray(r, float), gap=np.maximum(np.asarray(gap), GAP_FLOOR))
        self.readout.object = _matching_readout(frame)

    def settings(self):
        w = self.widgets
        return pn.Column(w["source"], w["target"], w["n"], w["eps"], w["annealing"], w["rounds_per_frame"], w["seed"],
                         width=290)

    def __panel__(self):
        self.start_session({"source": "source", "target": "target", "n": "n", "eps": "eps",
                            "annealing": "annealing", "seed": "seed"})
        figures = pn.Row(*(pn.pane.Bokeh(self.panels[name][0]) for name in SOLVERS))
        main = pn.Column(self.player, self.message, figures, pn.Row(pn.pane.Bokeh(self.chart), self.readout),
                         width=WIDTH)
        return demo_page(self.settings(), main, LESSON_2D)


def _matching_readout(frame: MatchingFrame) -> str:
    rows = []
    for s in frame.solvers:
        cost = "–" if np.isnan(s.cost) else f"{s.cost / frame.optimum:.3f}× opt"
        rows.append(f"<b style='color:{SOLVER_COLORS[s.name]}'>{s.name}</b>: round {s.rounds}, "
                    f"cost {cost}<br><span style='font-size:14px'>{s.note}</span>")
    return readout_html([f"optimum = <b class='otlab-value'>{frame.optimum:.5f}</b>", *rows],
                        extra_class="otlab-matching-readout", line_height=1.35)


class SortingDemo(Viewer):
    """The two tabs: 1D sorting and 2D matchings; works served and in Jupyter."""

    def __init__(self, **params):
        super().__init__(**params)
        self.line = SortingLineView()
        self.matching = MatchingView()

    def __panel__(self):
        return pn.Tabs(("1D: OT is sorting", self.line), ("2D: greedy · auction · Sinkhorn", self.matching),
                       dynamic=False, css_classes=["otlab-sorting-tabs"])


if __name__.startswith("bokeh"):  # panel serve demos/sorting/view.py
    pn.extension("mathjax")
    SortingDemo().servable(title="otlab · OT is sorting")
