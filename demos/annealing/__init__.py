"""The ε-annealing demo: ``AnnealingModel`` (headless) and ``AnnealingDemo`` (Panel view).

``from otlab.demos.annealing import AnnealingDemo`` imports Panel; the model alone does not.
"""


def __getattr__(name):
    if name == "AnnealingDemo":
        from .view import AnnealingDemo
        return AnnealingDemo
    if name == "AnnealingModel":
        from .model import AnnealingModel
        return AnnealingModel
    raise AttributeError(name)


__all__ = ["AnnealingDemo", "AnnealingModel"]
