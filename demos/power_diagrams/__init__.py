"""The power-diagram demo: ``PowerDiagramsModel`` (headless) and ``PowerDiagramsDemo`` (Panel view).

``from otlab.demos.power_diagrams import PowerDiagramsDemo`` imports Panel; the model alone does not.
"""
from otlab.demos import lazy_exports

__all__ = ["PowerDiagramsDemo", "PowerDiagramsModel"]
__getattr__ = lazy_exports(__name__, {"PowerDiagramsDemo": "view", "PowerDiagramsModel": "model"})
