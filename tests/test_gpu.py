"""The core on a CUDA GPU: each entry point given CUDA tensors returns what it returns on the CPU (float64
on both: the differences are rounding, reductions running in another order), keeps its tensors on the
GPU, and differentiates there. Skipped without a GPU (CI has none); on a GPU machine:
``pytest tests/test_gpu.py``."""
import dataclasses

import numpy as np
import pytest
import torch

from otlab.core import (ImagesLoss, SamplesLoss, assign, barycenter_grid, barycenter_points, gradient_flow,
                        laguerre_grid, power_diagram, solve, solve_1d, solve_grid, solve_laguerre_grid,
                        solve_semidiscrete)
from otlab.core.clouds.keops_softmin import keops_available

GPU = "cuda"
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def clouds(n, m, d=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, d, generator=gen, dtype=torch.float64)
    y = 0.3 * torch.randn(m, d, generator=gen, dtype=torch.float64) + 0.5
    a = torch.rand(n, generator=gen, dtype=torch.float64) + 0.5
    b = torch.rand(m, generator=gen, dtype=torch.float64) + 0.5
    return x, y, a / a.sum(), b / b.sum()


def on(device, *tensors):
    return [t.to(device) for t in tensors]


def value_and_grad(fn, x, *rest):
    """fn(x, *rest) and the gradient of its sum in x."""
    x = x.clone().requires_grad_(True)
    value = fn(x, *rest)
    (grad,) = torch.autograd.grad(value.sum(), x)
    return value.detach(), grad


def same(cpu, gpu, rtol=1e-9, atol=1e-12):
    """``gpu`` is on the GPU and equal to ``cpu`` up to rounding."""
    assert gpu.device.type == GPU, f"a result came back on {gpu.device}"
    torch.testing.assert_close(gpu.detach().cpu(), cpu.detach(), rtol=rtol, atol=atol)


def both(fn, *tensors, **kw):
    """fn on the CPU tensors and on their GPU copies."""
    return fn(*tensors, **kw), fn(*on(GPU, *tensors), **kw)


@pytest.mark.parametrize("backend,n,p,reach", [("tensorized", 400, 2, None), ("online", 400, 2, None),
                                                ("tensorized", 400, 1, None), ("online", 400, 2, 0.5),
                                                ("multiscale", 4000, 2, None), ("multiscale", 4000, 2, 0.5)])
def test_solve_values_potentials_maps_and_gradients(backend, n, p, reach):
    """solve(): S_ε, the potentials, the Brenier map and ∇_x S_ε are the CPU's, on the GPU; the same
    number of updates."""
    x, y, a, b = clouds(n, n + 37)
    kw = dict(p=p, blur=0.05, reach=reach, backend=backend)
    cpu, gpu = both(solve, x, y, a, b, **kw)
    # on CUDA, "online" runs on KeOps where pyKeOps works (core/clouds/solve.py's choose_backend)
    assert cpu.backend == backend and gpu.n_iter == cpu.n_iter
    assert gpu.backend == ("keops" if backend == "online" and keops_available() else backend)
    same(cpu.value, gpu.value, rtol=1e-7)
    same(cpu.f, gpu.f, rtol=1e-6, atol=1e-8)
    same(cpu.g, gpu.g, rtol=1e-6, atol=1e-8)
    if p == 2:
        same(cpu.brenier_map(), gpu.brenier_map(), rtol=1e-6, atol=1e-8)

    def loss(xx, yy, aa, bb):
        return solve(xx, yy, aa, bb, **kw).value

    (v_cpu, g_cpu), (v_gpu, g_gpu) = value_and_grad(loss, x, y, a, b), value_and_grad(loss, *on(GPU, x, y, a, b))
    same(v_cpu, v_gpu, rtol=1e-7)
    same(g_cpu, g_gpu, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("loss,kw", [("sinkhorn", dict(blur=0.05)), ("sinkhorn", dict(blur=0.05, reach=0.3)),
                                     ("energy", {}), ("gaussian", dict(blur=0.2)), ("laplacian", dict(blur=0.2))])
def test_samples_loss_batched(loss, kw):
    """SamplesLoss (GeomLoss's interface) on a batch of two problems: values and gradients in x."""
    x, y, a, b = clouds(300, 250, d=3)
    xs, ys = torch.stack([x, x.flip(0)]), torch.stack([y, 0.5 * y])
    as_, bs = torch.stack([a, a.flip(0)]), torch.stack([b, b])
    fn = SamplesLoss(loss, **kw)

    def of_x(xx, aa, bb, yy):
        return fn(aa, xx, bb, yy)

    (v_cpu, g_cpu), (v_gpu, g_gpu) = value_and_grad(of_x, xs, as_, bs, ys), value_and_grad(of_x, *on(GPU, xs, as_, bs, ys))
    same(v_cpu, v_gpu, rtol=1e-7, atol=1e-10)
    same(g_cpu, g_gpu, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("p", [1, 2])
def test_solve_1d_and_assignments(p):
    """Sorting on the line (value, plan, gradient) and the matchings (exact, auction): the same on the GPU."""
    x, y, a, b = clouds(500, 400, d=1)
    (v_cpu, g_cpu), (v_gpu, g_gpu) = (value_and_grad(lambda xx, *r: solve_1d(xx[:, 0], *r, p=p)[0], *t)
                                      for t in ((x, y[:, 0], a, b), on(GPU, x, y[:, 0], a, b)))
    same(v_cpu, v_gpu)
    same(g_cpu, g_gpu, rtol=1e-9, atol=1e-12)
    same(solve_1d(x[:, 0], y[:, 0], a, b, p=p)[1].to_dense(), solve_1d(*on(GPU, x[:, 0], y[:, 0], a, b), p=p)[1].to_dense())
    x2, y2 = clouds(200, 200)[:2]
    for method in ("exact", "auction"):
        cpu, gpu = both(assign, x2, y2, method=method, p=p)
        assert torch.equal(gpu.perm.cpu(), cpu.perm) and gpu.cost == pytest.approx(cpu.cost, rel=1e-12)


def test_gradient_flow():
    """Ten steps of a Sinkhorn flow: the particles follow the same paths."""
    x, y = clouds(300, 300)[:2]
    loss = SamplesLoss("sinkhorn", blur=0.05)
    runs = [list(gradient_flow(loss, *t, lr=0.1, steps=10)) for t in ((x, y), on(GPU, x, y))]
    assert len(runs[0]) == len(runs[1]) == 11
    same(runs[0][-1].x, runs[1][-1].x, rtol=1e-7, atol=1e-9)
    same(runs[0][-1].value, runs[1][-1].value, rtol=1e-7)


def densities(shape, seed=0):
    gen = torch.Generator().manual_seed(seed)
    A = torch.rand(*shape, generator=gen, dtype=torch.float64) ** 4
    B = torch.rand(*shape, generator=gen, dtype=torch.float64) ** 4
    return A / A.sum(), B / B.sum()


@pytest.mark.parametrize("shape,reach", [((64, 64), None), ((64, 64), 0.3), ((16, 16, 16), None)])
def test_grids(shape, reach):
    """OT between densities on a grid (value, potentials, gradient in A) and ImagesLoss."""
    A, B = densities(shape)
    cpu, gpu = both(solve_grid, A, B, blur=0.03, reach=reach)
    assert gpu.n_iter == cpu.n_iter
    same(cpu.value, gpu.value, rtol=1e-7)
    same(cpu.f, gpu.f, rtol=1e-6, atol=1e-8)
    fn = ImagesLoss(blur=0.03, reach=reach)
    (v_cpu, g_cpu), (v_gpu, g_gpu) = value_and_grad(fn, A, B), value_and_grad(fn, *on(GPU, A, B))
    same(v_cpu, v_gpu, rtol=1e-7)
    same(g_cpu, g_gpu, rtol=1e-6, atol=1e-10)


def test_barycenters():
    """A grid barycenter of three densities and a free-support barycenter of two clouds."""
    A, B = densities((48, 48))
    C = torch.roll(A, 10, 0)
    weights = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    cpu, gpu = (barycenter_grid(torch.stack(t[:3]), t[3], blur=0.05)
                for t in ((A, B, C, weights), on(GPU, A, B, C, weights)))
    assert gpu.step == cpu.step
    same(cpu.density, gpu.density, rtol=1e-6, atol=1e-10)
    x, y = clouds(200, 150)[:2]
    halves = torch.tensor([0.6, 0.4], dtype=torch.float64)
    cpu, gpu = (barycenter_points([t[0], t[1]], t[2], n_support=100, init=t[0][:100], steps=5)
                for t in ((x, y, halves), on(GPU, x, y, halves)))
    same(cpu, gpu, rtol=1e-6, atol=1e-9)


def test_semidiscrete_power_and_laguerre_cells():
    """CUDA sites are accepted where the exact geometry runs on the CPU (power diagrams, semi-discrete
    Newton: the results say so); Laguerre cells on a grid run on the sites' device."""
    x = clouds(60, 1)[0]
    w = 0.01 * torch.rand(60, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    cpu, gpu = both(power_diagram, x, w)
    torch.testing.assert_close(gpu.areas, cpu.areas, rtol=1e-12, atol=1e-15)
    cpu, gpu = both(solve_semidiscrete, x)
    torch.testing.assert_close(gpu.weights, cpu.weights, rtol=1e-9, atol=1e-12)
    cpu, gpu = both(laguerre_grid, x, w, shape=(128, 128))
    assert torch.equal(gpu.labels.cpu(), cpu.labels)
    same(cpu.volumes, gpu.volumes, rtol=1e-9)
    cpu, gpu = both(solve_laguerre_grid, x, shape=(128, 128), power=1.5)
    assert gpu.n_iter == cpu.n_iter and gpu.converged
    same(cpu.weights, gpu.weights, rtol=1e-6, atol=1e-9)


def frames(model_class, device, count):
    """``count`` frames of a demo model at its defaults, computed on ``device``."""
    model = model_class(device=device)
    return [model.step() for _ in range(count)]


def assert_numbers_match(u, v, name, rtol=1e-3, atol=1e-4):
    """Two frames' values agree: float arrays and floats to float32 rounding, the rest exactly."""
    if dataclasses.is_dataclass(u):
        for field in dataclasses.fields(u):
            if field.name != "seconds":  # a timing
                assert_numbers_match(getattr(u, field.name), getattr(v, field.name), field.name, rtol, atol)
    elif isinstance(u, np.ndarray) and u.dtype.kind == "f":
        np.testing.assert_allclose(v, u, rtol=rtol, atol=atol, err_msg=name)
    elif isinstance(u, np.ndarray):
        np.testing.assert_array_equal(v, u, err_msg=name)
    elif isinstance(u, (list, tuple)):
        assert len(u) == len(v), name
        for p, q in zip(u, v):
            assert_numbers_match(p, q, name, rtol, atol)
    elif isinstance(u, float):
        assert v == pytest.approx(u, rel=rtol, abs=atol), name
    else:
        assert u == v, name


@pytest.mark.parametrize("demo", ["annealing", "flows", "shapes3d"])
def test_demo_models_draw_the_same_frames(demo):
    """The demos with a device parameter (``otlab serve --device cuda``): their first frames on the GPU are
    the CPU's. (The barycenter explorer computes for a fixed time per frame: its frames depend on the
    speed; its solver is compared in test_barycenters.)"""
    import importlib

    module = importlib.import_module(f"otlab.demos.{demo}.model")
    model_class = next(v for k, v in vars(module).items() if k.endswith("Model") and k != "FrameModel")
    cpu, gpu = frames(model_class, "cpu", 12), frames(model_class, GPU, 12)
    for u, v in zip(cpu, gpu):
        assert_numbers_match(u, v, "frame")
