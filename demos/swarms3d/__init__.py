"""The 3D swarms demo: ``Swarms3DModel`` (headless) and ``Swarms3DDemo`` (Panel view, WebGL).

``from otlab.demos.swarms3d import Swarms3DDemo`` imports Panel; the model alone does not.
"""
from otlab.demos import lazy_exports

__all__ = ["Swarms3DDemo", "Swarms3DModel"]
__getattr__ = lazy_exports(__name__, {"Swarms3DDemo": "view", "Swarms3DModel": "model"})
