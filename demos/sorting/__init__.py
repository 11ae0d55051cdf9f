"""The "OT is sorting" demo: ``SortingModel`` (1D), ``MatchingModel`` (2D), and ``SortingDemo`` (Panel view).

``from otlab.demos.sorting import SortingDemo`` imports Panel; the models alone do not.
"""


def __getattr__(name):
    if name == "SortingDemo":
        from .view import SortingDemo
        return SortingDemo
    if name in ("SortingModel", "MatchingModel"):
        from . import model
        return getattr(model, name)
    raise AttributeError(name)


__all__ = ["SortingDemo", "SortingModel", "MatchingModel"]
