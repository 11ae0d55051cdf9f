"""Shared test set-up: deterministic seeds, KeOps quiet and cached inside the build tree, KeOps cases that
skip with their reason (or fail on CI), and one closing line on what was skipped and why."""
import collections
import importlib.util
import os
import pathlib

os.environ.setdefault("KEOPS_VERBOSE", "0")
os.environ.setdefault("KEOPS_CACHE_FOLDER", str(pathlib.Path(__file__).resolve().parents[1] / ".cache" / "keops"))

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def require_keops():
    """For a KeOps case: return if pyKeOps works here; else skip, saying why — except on CI (``CI=true``),
    where the development extras install pyKeOps and a compiler is there, so a KeOps case that cannot run is
    a failure, not a path that vanishes."""
    from otlab.core.keops_softmin import keops_available

    if keops_available():
        return
    why = ("pyKeOps is installed but cannot compile or run (see the RuntimeWarning)"
           if importlib.util.find_spec("pykeops") is not None else "pyKeOps is not installed")
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why}: CI must run the KeOps cases", pytrace=False)
    pytest.skip(why)


def pytest_terminal_summary(terminalreporter):
    """One line a reason: how many tests were skipped and why (the browser suite skips whole without
    Chromium, the GPU tests without CUDA, the KeOps cases without a working pyKeOps)."""
    reasons = collections.Counter()
    for report in terminalreporter.stats.get("skipped", []):
        reasons[report.longrepr[2].removeprefix("Skipped: ") if isinstance(report.longrepr, tuple) else "?"] += 1
    for why, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"skipped {count}: {why}")
