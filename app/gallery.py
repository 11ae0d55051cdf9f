"""The gallery: one card per demo (thumbnail, title, one line, link) and the registry of demos."""
from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import List

import panel as pn

from .settings import assets_dir

ASSETS = assets_dir()


@dataclass(frozen=True)
class Demo:
    """A demo the app serves at ``/<slug>``."""

    slug: str
    title: str
    description: str
    thumbnail: str   # file name in assets/
    view: str        # "module:Class" of its Viewer, imported when a session opens it

    def factory(self):
        """A fresh Viewer for one session."""
        module, name = self.view.split(":")
        return getattr(import_module(module), name)()


#: the gallery's order is a course: each demo builds on the ones before it
DEMOS: List[Demo] = [
    Demo("sorting", "OT is sorting", "In 1D, transport matches quantiles; in 2D, greedy bids stall, the "
         "auction closes the gap and Sinkhorn blurs the matching.", "sorting.png",
         "otlab.demos.sorting.view:SortingDemo"),
    Demo("annealing", "ε-annealing", "Sinkhorn converging: the dual potentials F, G sharpen step by step, "
         "then the clouds travel along the map.", "annealing.png", "otlab.demos.annealing.view:AnnealingDemo"),
    Demo("flows", "Gradient flows", "One source, one target, up to four losses: Sinkhorn tears and reaches "
         "the target, kernel flows stall or get stuck.", "flows.png", "otlab.demos.flows.view:FlowsDemo"),
    Demo("barycenters", "Barycenters", "Drag a point between 3 or 4 shapes: their Wasserstein barycenter "
         "morphs, the Euclidean average cross-fades.", "barycenters.png",
         "otlab.demos.barycenters.view:BarycentersDemo"),
    Demo("gaussians", "Two geometries on Gaussians", "Drag two Gaussians in the (m, σ) plane: OT's geodesic is "
         "a straight segment, Fisher–Rao's a half-circle.", "gaussians.png",
         "otlab.demos.gaussians.view:GaussiansDemo"),
    Demo("power_diagrams", "Power diagrams", "Drag a site: Newton re-balances the cells to their masses in "
         "four steps; Lloyd steps, anisotropic cells.", "power_diagrams.png",
         "otlab.demos.power_diagrams.view:PowerDiagramsDemo"),
    Demo("swarms", "Incompressible swarms", "Particles that each own a fixed volume tumble, fall, sort by "
         "surface tension and squeeze through an exit.", "swarms.png", "otlab.demos.swarms.view:SwarmsDemo"),
    Demo("shapes3d", "Shapes in 3D", "One surface flows into another along the map, in a 3D view you turn "
         "while it plays; bring your own mesh.", "shapes3d.png", "otlab.demos.shapes3d.view:Shapes3DDemo"),
    Demo("swarms3d", "Swarms in 3D", "Incompressible particles in a ball or a box, each a cell of voxels of "
         "fixed volume: tumbling, jostling, falling.", "swarms3d.png", "otlab.demos.swarms3d.view:Swarms3DDemo"),
]

CARD_CSS = """
.otlab-course {max-width:1240px; margin:0 auto}
.otlab-card {display:inline-block; width:226px; margin:8px; border-radius:10px; overflow:hidden;
             box-shadow:0 2px 10px rgba(0,0,0,.18); background:white; vertical-align:top}
.otlab-card img {width:226px; height:120px; object-fit:contain; background:white; display:block}
.otlab-card h3 {margin:8px 10px 2px; font-size:18px}
.otlab-card h3 .step {color:#1f77b4; margin-right:6px}
.otlab-card p {margin:0 10px 10px; font-size:15px; line-height:1.3; color:#444}
.otlab-card a {text-decoration:none; color:inherit}
"""


def card_html(demo: Demo, step: int) -> str:
    """A card: the thumbnail, the course step and title, what you will see, a link to the demo."""
    return (f"<div class='otlab-card' id='card-{demo.slug}'><a href='./{demo.slug}'>"
            f"<img src='./assets/{demo.thumbnail}' alt='{demo.title}'>"
            f"<h3><span class='step'>{step}</span>{demo.title}</h3><p>{demo.description}</p></a></div>")


def gallery() -> pn.viewable.Viewable:
    """The index page."""
    header = pn.pane.Markdown(
        "# otlab — optimal transport you can watch converge\n"
        "A course in the order of the cards, from sorting on a line to swarms in 3D. Every slider re-solves "
        "live; share the page URL to share the exact picture.",
        styles={"font-size": "16px"})
    course = "".join(card_html(demo, step) for step, demo in enumerate(DEMOS, 1))
    cards = pn.pane.HTML(f"<style>{CARD_CSS}</style><div class='otlab-course'>{course}</div>",
                         sizing_mode="stretch_width", css_classes=["otlab-gallery"])
    return pn.Column(header, cards, sizing_mode="stretch_width")
