"""The swarms demo: ``SwarmsModel`` (headless) and ``SwarmsDemo`` (Panel view).

``from otlab.demos.swarms import SwarmsDemo`` imports Panel; the model alone does not.
"""
from otlab.demos import lazy_exports

__all__ = ["SwarmsDemo", "SwarmsModel"]
__getattr__ = lazy_exports(__name__, {"SwarmsDemo": "view", "SwarmsModel": "model"})
