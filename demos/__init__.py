"""otlab.demos: one package per demo, ``model.py`` (headless) and ``view.py`` (Panel)."""
from importlib import import_module
from typing import Callable, Dict


def lazy_exports(package: str, names: Dict[str, str]) -> Callable:
    """A module ``__getattr__`` for a demo package: ``names`` maps each exported name to the submodule
    that defines it, imported on first use (so that importing a model does not import Panel)."""
    def __getattr__(name):
        if name not in names:
            raise AttributeError(name)
        return getattr(import_module(f"{package}.{names[name]}"), name)
    return __getattr__
