"""The gradient-flows demo: ``FlowsModel`` (headless) and ``FlowsDemo`` (Panel view).

``from otlab.demos.flows import FlowsDemo`` imports Panel; the model alone does not.
"""


def __getattr__(name):
    if name == "FlowsDemo":
        from .view import FlowsDemo
        return FlowsDemo
    if name == "FlowsModel":
        from .model import FlowsModel
        return FlowsModel
    raise AttributeError(name)


__all__ = ["FlowsDemo", "FlowsModel"]
