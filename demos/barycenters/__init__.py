"""The barycenter explorer: ``BarycentersModel`` (headless) and ``BarycentersDemo`` (Panel view).

``from otlab.demos.barycenters import BarycentersDemo`` imports Panel; the model alone does not.
"""
from otlab.demos import lazy_exports

__all__ = ["BarycentersDemo", "BarycentersModel"]
__getattr__ = lazy_exports(__name__, {"BarycentersDemo": "view", "BarycentersModel": "model"})
