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


DEMOS: List[Demo] = [
    Demo("annealing", "ε-annealing", "Watch Sinkhorn converge: dual potentials F, G, the Brenier map and the "
         "transport itself, one annealing step per frame.", "annealing.png",
         "otlab.demos.annealing.view:AnnealingDemo"),
    Demo("flows", "Gradient flows", "One source, one target, up to four losses: watch Sinkhorn tear and reach "
         "the target while kernel flows stall or get stuck.", "flows.png", "otlab.demos.flows.view:FlowsDemo"),
    Demo("sorting", "OT is sorting", "In 1D, sort and match quantiles; in 2D, watch greedy stall, the auction "
         "close the gap and Sinkhorn blur the matching.", "sorting.png", "otlab.demos.sorting.view:SortingDemo"),
    Demo("barycenters", "Barycenters", "Drag a point between 3 or 4 shapes: their Wasserstein barycenter morphs "
         "one into the other while the Euclidean average only cross-fades.", "barycenters.png",
         "otlab.demos.barycenters.view:BarycentersDemo"),
    Demo("power_diagrams", "Power diagrams", "Drag a site and watch the cells re-balance to their masses: "
         "semi-discrete OT by Newton's method, Lloyd steps, anisotropic cells.", "power_diagrams.png",
         "otlab.demos.power_diagrams.view:PowerDiagramsDemo"),
    Demo("swarms", "Incompressible swarms", "Particles that each own a fixed volume: run-and-tumble, active "
         "Brownian, falling hard and soft spheres, a crowd leaving a room, cell sorting.", "swarms.png",
         "otlab.demos.swarms.view:SwarmsDemo"),
    Demo("shapes3d", "Shapes in 3D", "Optimal transport between two surfaces: the Brenier map and the "
         "displacement interpolation, in a 3D view you turn while it plays; upload your own mesh.",
         "shapes3d.png", "otlab.demos.shapes3d.view:Shapes3DDemo"),
    Demo("swarms3d", "Swarms in 3D", "Incompressible particles in a ball or a box, each owning a cell of voxels "
         "of fixed volume: tumbling, jostling, hard and soft ones falling.", "swarms3d.png",
         "otlab.demos.swarms3d.view:Swarms3DDemo"),
]

CARD_CSS = """
.otlab-card {display:inline-block; width:340px; margin:14px; border-radius:10px; overflow:hidden;
             box-shadow:0 2px 10px rgba(0,0,0,.18); background:white; vertical-align:top}
.otlab-card img {width:340px; height:220px; object-fit:contain; background:white; display:block}
.otlab-card h3 {margin:12px 14px 4px; font-size:20px}
.otlab-card p {margin:0 14px 16px; font-size:15px; color:#444}
.otlab-card a {text-decoration:none; color:inherit}
"""


def card_html(demo: Demo) -> str:
    return (f"<div class='otlab-card' id='card-{demo.slug}'><a href='./{demo.slug}'>"
            f"<img src='./assets/{demo.thumbnail}' alt='{demo.title}'>"
            f"<h3>{demo.title}</h3><p>{demo.description}</p></a></div>")


def gallery() -> pn.viewable.Viewable:
    """The index page."""
    header = pn.pane.Markdown(
        "# otlab — optimal transport you can watch converge\n"
        "Pick a demo. Every slider re-solves live; share the page URL to share the exact picture.",
        styles={"font-size": "16px"})
    cards = pn.pane.HTML(f"<style>{CARD_CSS}</style>" + "".join(card_html(d) for d in DEMOS),
                         sizing_mode="stretch_width", css_classes=["otlab-gallery"])
    return pn.Column(header, cards, sizing_mode="stretch_width")
