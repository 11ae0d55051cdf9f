"""The Gaussians demo: ``GaussiansModel`` (headless) and ``GaussiansDemo`` (Panel view).

``from otlab.demos.gaussians import GaussiansDemo`` imports Panel; the model alone does not.
"""
from otlab.demos import lazy_exports

__all__ = ["GaussiansDemo", "GaussiansModel"]
__getattr__ = lazy_exports(__name__, {"GaussiansDemo": "view", "GaussiansModel": "model"})
