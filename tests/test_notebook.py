"""docs/annealing.ipynb executes headlessly (nbclient) and shows the demo."""
import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = pathlib.Path(__file__).resolve().parents[1] / "docs" / "annealing.ipynb"


def test_annealing_notebook_runs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=False).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    shown = [o for o in nb.cells[2].outputs if o.output_type in ("display_data", "execute_result")]
    assert shown and any("application/vnd.holoviews_exec.v0+json" in o.data or "text/html" in o.data for o in shown)
    steps = nb.cells[4].outputs[0].data["text/plain"]
    assert "(0, " in steps and "(5, " in steps


DEMOS_IN_KERNEL = [
    # (view setup, a check run in the kernel after it, expected output)
    ("from otlab.demos.power_diagrams import PowerDiagramsDemo, PowerDiagramsModel\n"
     "m = PowerDiagramsModel(n_sites=30)\nv = PowerDiagramsDemo(m)\nv",
     "f = None\nfor _ in range(12):\n    f = m.step()\n(f.converged, f.error < 1e-6)", "(True, True)"),
    ("from otlab.demos.swarms import SwarmsDemo, SwarmsModel\nm = SwarmsModel(n=60)\nv = SwarmsDemo(m)\nv",
     "s0 = m.step().step  # the view may have drawn frames already\nfor _ in range(5):\n    f = m.step()\n"
     "(f.step - s0, bool(abs(f.volumes / f.volume - 1).max() <= 1e-3))", "(5, True)"),
    ("from otlab.demos.shapes3d import Shapes3DDemo, ShapesModel\nm = ShapesModel(n=800)\nv = Shapes3DDemo(m)\nv",
     "s0 = m.step().step\nfor _ in range(5):\n    f = m.step()\n(f.step - s0, f.points.shape)", "(5, (800, 3))"),
    ("from otlab.demos.gaussians import GaussiansDemo, GaussiansModel\nm = GaussiansModel()\nv = GaussiansDemo(m)\nv",
     "s0 = m.step().step\nfor _ in range(5):\n    f = m.step()\n(f.step - s0, round(f.w2, 4), round(f.d_fr, 4))",
     "(5, 3.015, 4.6851)"),
    ("from otlab.demos.swarms3d import Swarms3DDemo, Swarms3DModel\nm = Swarms3DModel(n=20)\nv = Swarms3DDemo(m)\nv",
     "s0 = m.step().step\nfor _ in range(3):\n    f = m.step()\n(f.step - s0, f.positions.shape)", "(3, (20, 3))"),
]


@pytest.mark.parametrize("setup, check, expected", DEMOS_IN_KERNEL, ids=["power_diagrams", "swarms", "shapes3d", "gaussians", "swarms3d"])
def test_demo_displays_in_a_notebook(setup, check, expected):
    """The demo's view displays in Jupyter and its model steps in the kernel."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import panel as pn; pn.extension('mathjax')"),
                nbformat.v4.new_code_cell(setup),
                # the animation computes frames in a worker thread between cells: stopped (and its frame
                # in flight finished) before the kernel steps the model itself
                nbformat.v4.new_code_cell("v.runner.stop(wait=True)\n" + check)]
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=False).execute()
    shown = [o for o in nb.cells[1].outputs if o.output_type in ("display_data", "execute_result")]
    assert shown and any("application/vnd.holoviews_exec.v0+json" in o.data for o in shown)
    assert nb.cells[2].outputs[0].data["text/plain"] == expected
