"""The ε-annealing demo's headless model (no browser, no Panel)."""
import io
import struct
import sys
import zlib

import numpy as np
import pytest
import torch

from otlab.core import solve
from otlab.demos.annealing.model import MAX_UPDATES, AnnealingModel
from otlab.demos.images import MAX_BYTES, density_from_upload
from otlab.demos.shapes import PRESETS, sample


def run_until_transport(model, limit=200):
    frames = []
    for _ in range(limit):
        frames.append(model.step())
        if frames[-1].phase == "transport":
            return frames
    raise AssertionError("the annealing never finished")


def test_model_module_does_not_import_panel():
    import subprocess
    out = subprocess.run([sys.executable, "-c", "import sys, otlab.demos.annealing.model as m; m.AnnealingModel().step();"
                          "print(any(k.split('.')[0] in ('panel', 'bokeh') for k in sys.modules))"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_frames_follow_the_annealing_then_the_transport():
    model = AnnealingModel(n_source=120, n_target=100, resolution=32, blur=0.05, scaling=0.7)
    frames = run_until_transport(model)
    steps = [f.step for f in frames]
    assert steps[0] == 0 and all(b > a for a, b in zip(steps, steps[1:]))  # a Newton step is an update too
    assert frames[0].blur > frames[-2].blur and frames[-1].blur == pytest.approx(0.05)
    first = frames[0]
    assert first.x.shape == (120, 2) and first.y.shape == (100, 2) and first.F.shape == (32, 32)
    assert first.x.dtype == np.float32 and first.F.dtype == np.float32 and first.mapped.shape == (120, 2)
    assert [h[0] for h in frames[-1].history] == steps
    # then the displacement interpolation: x_t = (1 - t) x + t T(x), t going back and forth
    last = frames[-1]
    ts = []
    for _ in range(60):
        f = model.step()
        tt = f.t if f.t <= 1 else 2 - f.t
        np.testing.assert_allclose(f.moved, (1 - tt) * last.x + tt * last.mapped, atol=1e-5)
        ts.append(tt)
    assert max(ts) > 0.95 and ts[-1] < max(ts)


SETTINGS = [dict(), dict(p=1), dict(unbalanced=True, reach=0.1), dict(debias=False), dict(backend="multiscale"),
            dict(p=1, unbalanced=True, reach=0.2, debias=False)]


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()) or "default")
def test_final_frame_matches_the_core_solver(settings):
    """The demo draws exactly what otlab.core.solve computes with the same settings (cost, reach, debias,
    backend): value, F on the pixel grid, the Brenier map (p = 2; none for p = 1, whose map is not unique)."""
    model = AnnealingModel(n_source=150, n_target=130, resolution=24, blur=0.04, scaling=0.6, seed=3, **settings)
    last = run_until_transport(model)[-1]
    x, y = torch.as_tensor(sample(model.source, 150, 3)), torch.as_tensor(sample(model.target, 130, 4))
    res = solve(x, y, p=model.p, blur=0.04, scaling=0.6, reach=model.reach if model.unbalanced else None,
                debias=model.debias, backend=model.backend, tol=model.tol, max_iter=MAX_UPDATES)
    assert res.backend == (settings.get("backend") or "tensorized")
    assert last.value == pytest.approx(res.value.item(), rel=1e-5)
    u = (np.arange(24) + 0.5) / 24
    gy, gx = np.meshgrid(u, u, indexing="ij")
    grid = torch.as_tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32)
    np.testing.assert_allclose(last.F, res.potential_f(grid).reshape(24, 24).numpy(), rtol=1e-4, atol=1e-6)
    if model.p == 2:
        np.testing.assert_allclose(last.mapped, res.brenier_map().numpy(), atol=1e-5)
    else:
        assert last.mapped is None and model.step().phase == "transport"


def test_plan_lines_are_the_strongest_pairs_of_the_plan():
    model = AnnealingModel(n_source=70, n_target=60, resolution=16, plan_lines=50, seed=2)
    last = run_until_transport(model)[-1]
    x, y = torch.as_tensor(sample(model.source, 70, 2)), torch.as_tensor(sample(model.target, 60, 3))
    plan = solve(x, y, blur=model.blur, scaling=model.scaling, tol=model.tol, max_iter=MAX_UPDATES).plan()
    weakest_drawn = plan.reshape(-1).topk(50).values[-1]
    i = torch.cdist(torch.as_tensor(last.plan_lines[:, :2]), x).argmin(1)
    j = torch.cdist(torch.as_tensor(last.plan_lines[:, 2:]), y).argmin(1)
    assert last.plan_lines.shape == (50, 4) and len(set(zip(i.tolist(), j.tolist()))) == 50
    assert bool((plan[i, j] >= weakest_drawn * (1 - 1e-4)).all())
    assert float(plan[i, j].sum()) == pytest.approx(float(plan.reshape(-1).topk(50).values.sum()), rel=1e-4)


@pytest.mark.parametrize("tol", [1e-2, 1e-4])
def test_the_demo_converges_to_tol_before_showing_the_transport(tol):
    """At the defaults the annealing alone ends short of the fixed point (marginal error ~0.09); the
    demo then iterates at the final ε, the error falls below tol, and only then the transport plays."""
    model = AnnealingModel(resolution=16, tol=tol)
    frames = run_until_transport(model, limit=600)
    annealing = [f for f in frames if f.phase == "annealing"]
    converging = [f for f in frames if f.phase == "converging"]
    assert annealing and converging and frames.index(converging[0]) == len(annealing)
    assert all(f.blur == pytest.approx(model.blur) for f in converging)
    errors = [f.marginal_error for f in converging[1:]]  # the first is measured before the last ε's update
    assert errors[0] > 0.05 and errors[-1] <= tol and min(errors[:-1]) > tol
    last = frames[-1]
    assert last.converged is True and last.marginal_error <= tol
    # the history the chart draws carries the errors (nan where a move between levels has none)
    assert [h[2] for h in last.history][-len(errors) - 1:-1] == pytest.approx(errors)


def test_parameter_change_restarts_and_marks_old_frames_stale():
    model = AnnealingModel(n_source=80, n_target=80, resolution=16)
    for _ in range(4):
        old = model.step()
    assert old.step == 3 and old.generation == model.generation
    model.n_source = 50
    assert old.generation != model.generation  # a frame in flight would now be dropped
    new = model.step()
    assert new.step == 0 and new.x.shape == (50, 2) and new.generation == model.generation
    model.restart()
    assert model.step().step == 0


@pytest.mark.parametrize("name, value", [("blur", 0.0), ("blur", -1), ("scaling", 1.5), ("n_source", 1),
                                         ("source", "square"), ("p", 3), ("backend", "gpu"), ("reach", 0)])
def test_bad_parameters_are_rejected(name, value):
    model = AnnealingModel()
    with pytest.raises(ValueError):
        setattr(model, name, value)


def test_drawn_points_and_images():
    model = AnnealingModel(n_source=60, n_target=60, resolution=16)
    pts = np.random.default_rng(0).uniform(0.3, 0.4, size=(25, 2))
    model.set_points("source", pts)
    assert model.source == "drawn"
    np.testing.assert_allclose(model.step().x, pts.astype(np.float32))
    with pytest.raises(ValueError, match="finite"):
        model.set_points("target", [[0.1, float("nan")], [0.2, 0.3]])
    with pytest.raises(ValueError, match="source' or 'target"):
        model.set_points("middle", pts)
    gray = np.ones((40, 40), np.float32)
    gray[5:15, 25:35] = 0.0  # a dark square: top right of the image
    model.set_image("target", gray)
    frame = model.step()
    assert model.target == "image" and frame.y.shape == (60, 2)
    assert frame.y[:, 0].min() > 0.5 and frame.y[:, 1].min() > 0.5  # top right of the plane
    with pytest.raises(ValueError, match="blank"):
        model.set_image("source", np.ones((10, 10)))


def test_presets_are_reproducible_and_in_the_unit_square():
    for name in PRESETS:
        pts = sample(name, 300, 7)
        assert pts.shape == (300, 2) and pts.dtype == np.float32
        assert pts.min() > -0.05 and pts.max() < 1.05
        np.testing.assert_array_equal(pts, sample(name, 300, 7))
    with pytest.raises(ValueError, match="unknown shape"):
        sample("square", 10, 0)


def png_bytes(array):
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def test_uploaded_images_are_validated():
    img = np.full((64, 48), 255, np.uint8)
    img[10:20, 10:20] = 0
    gray = density_from_upload(png_bytes(img), "square.png")
    assert gray.shape == (64, 48) and gray.min() == 0.0 and gray.max() == 1.0
    with pytest.raises(ValueError, match="not an image"):
        density_from_upload(b"hello, this is text", "notes.png")
    with pytest.raises(ValueError, match="empty"):
        density_from_upload(b"", "empty.png")
    with pytest.raises(ValueError, match="limit"):
        density_from_upload(b"0" * (MAX_BYTES + 1), "big.png")
    with pytest.raises(ValueError, match="pixels"):
        density_from_upload(png_bytes(np.zeros((4, 4), np.uint8)), "tiny.png")
    with pytest.raises(ValueError, match="blank"):
        density_from_upload(png_bytes(np.full((20, 20), 255, np.uint8)), "white.png")
    for side in (5000, 100_000):  # a few kB that decode to 25 M or 10 G pixels (a decompression bomb)
        with pytest.raises(ValueError, match="pixels; sides must be between 8 and 4096"):
            density_from_upload(bomb_png(side), "bomb.png")


def bomb_png(side: int) -> bytes:
    """A PNG that says it is side × side pixels, with the first rows of zeros only: the header alone
    makes it huge, the file stays small."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(4 * (side + 1))))
            + chunk(b"IEND", b""))
