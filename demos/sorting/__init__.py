"""The "OT is sorting" demo: ``SortingModel`` (1D), ``MatchingModel`` (2D), and ``SortingDemo`` (Panel view).

``from otlab.demos.sorting import SortingDemo`` imports Panel; the models alone do not.
"""
from otlab.demos import lazy_exports

__all__ = ["SortingDemo", "SortingModel", "MatchingModel"]
__getattr__ = lazy_exports(__name__, {"SortingDemo": "view", "SortingModel": "model", "MatchingModel": "model"})
