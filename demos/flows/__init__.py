"""The gradient-flows demo: ``FlowsModel`` (headless) and ``FlowsDemo`` (Panel view).

``from otlab.demos.flows import FlowsDemo`` imports Panel; the model alone does not.
"""
from otlab.demos import lazy_exports

__all__ = ["FlowsDemo", "FlowsModel"]
__getattr__ = lazy_exports(__name__, {"FlowsDemo": "view", "FlowsModel": "model"})
