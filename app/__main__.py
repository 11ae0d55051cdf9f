"""``python -m otlab.app serve ...`` is ``otlab serve ...``."""
import sys

from .cli import run

sys.exit(run())
