"""The 3D shapes demo: ``ShapesModel`` (headless) and ``Shapes3DDemo`` (Panel view, WebGL).

``from otlab.demos.shapes3d import Shapes3DDemo`` imports Panel; the model alone does not.
"""
from otlab.demos import lazy_exports

__all__ = ["Shapes3DDemo", "ShapesModel"]
__getattr__ = lazy_exports(__name__, {"Shapes3DDemo": "view", "ShapesModel": "model"})
