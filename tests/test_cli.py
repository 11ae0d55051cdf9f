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
