"""``otlab serve``'s options that decide how the server shares the machine (nothing is served here)."""
import pytest

from otlab.app import cli, server
from otlab.app.scheduler import WORKERS_ENV
from otlab.app.settings import DEVICE_ENV


@pytest.fixture
def served(monkeypatch):
    """Runs cli.main without serving: returns the frame workers each process would read."""
    monkeypatch.setenv(DEVICE_ENV, "cpu")  # main sets both variables: restored after the test
    monkeypatch.setenv(WORKERS_ENV, "")
    monkeypatch.delenv(WORKERS_ENV)
    monkeypatch.setattr(cli, "default_workers", lambda: 4)
    seen = []
    monkeypatch.setattr(server, "serve", lambda **kwargs: seen.append(cli.os.environ.get(WORKERS_ENV)))

    def run(*options):
        cli.os.environ.pop(WORKERS_ENV, None)  # as set by nobody (a value set by the user wins)
        assert cli.main(["serve", "--no-show", "--no-warm-up", "--device", "cpu", *options]) == 0
        return seen.pop()
    return run


def test_processes_share_the_cores_between_their_frame_workers(served):
    assert served() is None                          # one process: the scheduler takes every core
    assert served("--num-procs", "2") == "2"         # 4 cores, 2 processes: 2 workers each
    assert served("--num-procs", "0") == "1"         # one process per core: 1 worker each
    assert served("--num-procs", "3", "--frame-workers", "3") == "3"


def test_zero_frame_workers_is_refused(served, capsys):
    assert cli.main(["serve", "--no-show", "--no-warm-up", "--device", "cpu", "--frame-workers", "0"]) == 2
    assert "--frame-workers must be >= 1, got 0" in capsys.readouterr().err


def test_the_server_starts_again_with_the_c_allocator(served, monkeypatch):
    """``otlab serve`` re-executes itself with PYTHONMALLOC=malloc (memory flat over sessions coming and
    going); with the variable set (to any allocator), it serves in place."""
    started = []

    def execve(path, args, env):  # the real one never returns
        started.append((args[1:], env["PYTHONMALLOC"]))
        raise SystemExit(0)

    monkeypatch.setattr(cli.os, "execve", execve)
    monkeypatch.setenv(cli.MALLOC_ENV, "")
    monkeypatch.delenv(cli.MALLOC_ENV)
    with pytest.raises(SystemExit):
        cli.run(["serve", "--port", "5999"])
    assert started == [(["-m", "otlab.app", "serve", "--port", "5999"], "malloc")]
    monkeypatch.setenv(cli.MALLOC_ENV, "pymalloc")  # a teacher's choice (docs/deploy.md) is kept
    assert cli.run(["serve", "--no-show", "--no-warm-up", "--device", "cpu"]) == 0 and len(started) == 1


def test_warm_up_runs_every_solver_path_once():
    """Each backend once, on the device asked for, a progress bar to 3/3."""
    import io

    out = io.StringIO()
    cli.warm_up("cpu", out)
    text = out.getvalue()
    for k, backend in enumerate(("online", "multiscale", "tensorized"), 1):
        assert f"{k}/3 {backend}" in text
    assert text.endswith("\n") and "[" + "#" * 20 + "]" in text


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU")
def test_device_cuda_without_a_gpu_is_refused(monkeypatch, capsys):
    monkeypatch.setenv(DEVICE_ENV, "cpu")  # restored after: main sets it
    monkeypatch.setattr(server, "serve", lambda **kwargs: pytest.fail("served without a GPU"))
    assert cli.main(["serve", "--no-show", "--no-warm-up", "--device", "cuda"]) == 2
    assert "--device cuda asked for, but torch sees no CUDA device" in capsys.readouterr().err


def test_the_device_setting(monkeypatch):
    """$OTLAB_DEVICE: cpu and cuda as given, auto (the default) CUDA only where torch sees it, anything else
    refused by name; the sizes for a GPU are larger than the CPU's."""
    import torch

    from otlab.app import settings

    for value in ("cpu", "cuda"):
        monkeypatch.setenv(DEVICE_ENV, value)
        assert settings.default_device() == value
    monkeypatch.delenv(DEVICE_ENV)
    assert settings.default_device() == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setenv(DEVICE_ENV, "gpu")
    with pytest.raises(ValueError, match="OTLAB_DEVICE must be cpu, cuda or auto, got 'gpu'"):
        settings.default_device()
    for size in (settings.cloud_size, settings.surface_points, settings.grid_side):
        assert size("cuda") > size("cpu") > 0


def test_an_installed_wheel_finds_the_gallery_images(tmp_path):
    """Built as a wheel and installed in a fresh environment (no checkout beside it), assets_dir() is
    share/otlab/assets of that environment and holds every gallery thumbnail and the demos' shape images."""
    import pathlib
    import subprocess
    import sys

    from otlab.app.gallery import DEMOS

    root = pathlib.Path(__file__).resolve().parents[1]
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(root)],
                   check=True, capture_output=True, timeout=300)
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "env")], check=True, timeout=300)
    env_python = tmp_path / "env" / "bin" / "python"
    wheel = next((tmp_path / "dist").glob("otlab-*.whl"))
    # the new environment's own pip (this one's, given another --prefix, would uninstall the otlab it runs)
    subprocess.run([str(env_python), "-m", "pip", "--disable-pip-version-check", "-q", "install", "--no-deps",
                    "--no-index", str(wheel)], check=True, capture_output=True, timeout=300)
    found = subprocess.run([str(env_python), "-c", "from otlab.app.settings import assets_dir; print(assets_dir())"],
                           check=True, capture_output=True, text=True, timeout=60, cwd=tmp_path).stdout.strip()
    assets = pathlib.Path(found)
    assert assets == tmp_path / "env" / "share" / "otlab" / "assets"
    assert all((assets / demo.thumbnail).is_file() for demo in DEMOS)
    shapes = sorted(p.name for p in (root / "assets" / "shapes").glob("*.png"))
    assert shapes and sorted(p.name for p in (assets / "shapes").glob("*.png")) == shapes
