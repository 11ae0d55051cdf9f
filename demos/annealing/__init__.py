"""The ε-annealing demo: ``AnnealingModel`` (headless) and ``AnnealingDemo`` (Panel view).

``from otlab.demos.annealing import AnnealingDemo`` imports Panel; the model alone does not.
"""
from otlab.demos import lazy_exports

__all__ = ["AnnealingDemo", "AnnealingModel"]
__getattr__ = lazy_exports(__name__, {"AnnealingDemo": "view", "AnnealingModel": "model"})
