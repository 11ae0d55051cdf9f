"""Packaging rules: otlab.core imports without any web package and without pykeops."""
import subprocess
import sys
import tempfile

WEB = ("panel", "bokeh", "pyvista", "trame", "vtk")


def run_python(code):
    with tempfile.TemporaryDirectory() as elsewhere:
        return subprocess.run([sys.executable, "-c", code], cwd=elsewhere, capture_output=True, text=True,
                              timeout=300)


def test_core_imports_without_web_packages_from_any_directory():
    out = run_python(
        "import sys, otlab.core, torch\n"
        f"assert not [m for m in sys.modules if m.split('.')[0] in {WEB!r}], sorted(sys.modules)\n"
        "print(float(otlab.core.solve(torch.zeros(1, 2), torch.ones(1, 2)).value))")
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) == 1.0


def runs_on_torch(setup: str, check: str) -> None:
    """In a fresh interpreter: ``setup`` (how pykeops is broken), import otlab.core, ``check`` (about
    keops_available), then an online solve, which must run on the pure-torch path."""
    out = run_python(
        setup + "import torch, otlab.core\n"
        "from otlab.core.clouds.keops_softmin import keops_available\n" + check +
        "x = torch.rand(3000, 2); y = torch.rand(3000, 2)\n"
        "print(otlab.core.solve(x, y, backend='online').backend)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "online"


def test_core_works_without_pykeops():
    runs_on_torch("import sys; sys.modules['pykeops'] = None; sys.modules['pykeops.torch'] = None\n",
                  "assert not keops_available()\n")


def test_core_works_when_the_keops_compiler_fails():
    """pykeops imports but cannot compile (simulated): one RuntimeWarning, then the pure-torch path."""
    runs_on_torch(
        "import sys, types, warnings\n"
        "fake = types.ModuleType('pykeops.torch')\n"
        "class LazyTensor:\n"
        "    def __init__(self, *a):\n"
        "        raise RuntimeError('[KeOps] Error: compilation of the formula failed (simulated)')\n"
        "fake.LazyTensor = LazyTensor\n"
        "sys.modules['pykeops'] = types.ModuleType('pykeops'); sys.modules['pykeops.torch'] = fake\n",
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    assert not keops_available() and not keops_available()\n"
        "assert len(caught) == 1 and 'unusable' in str(caught[0].message), caught\n")
