"""Shared test set-up: deterministic seeds, KeOps quiet and cached inside the build tree, and one closing
line on what was skipped and why."""
import collections
import os
import pathlib

os.environ.setdefault("KEOPS_VERBOSE", "0")
os.environ.setdefault("KEOPS_CACHE_FOLDER", str(pathlib.Path(__file__).resolve().parents[1] / ".cache" / "keops"))

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def pytest_terminal_summary(terminalreporter):
    """One line a reason: how many tests were skipped and why (the browser suite skips whole without
    Chromium, the GPU tests without CUDA, the KeOps cases without a working pyKeOps)."""
    reasons = collections.Counter()
    for report in terminalreporter.stats.get("skipped", []):
        reasons[report.longrepr[2].removeprefix("Skipped: ") if isinstance(report.longrepr, tuple) else "?"] += 1
    for why, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"skipped {count}: {why}")
