"""Every bad input gets a ValueError/TypeError that names the argument."""
import warnings

import numpy as np
import pytest
import torch

from otlab.core import ConvergenceWarning, SamplesLoss, iterate, solve

X = torch.rand(10, 2, generator=torch.Generator().manual_seed(10))
Y = torch.rand(12, 2, generator=torch.Generator().manual_seed(12))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(x=torch.tensor([[0.0, float("nan")]])), ValueError, "x contains NaN"),
    (dict(y=torch.tensor([[float("inf"), 0.0]])), ValueError, "y contains NaN or infinite"),
    (dict(x=torch.rand(10)), ValueError, r"x must have shape \(N, D\)"),
    (dict(x=torch.rand(2, 3, 4, 5)), ValueError, "x must have shape"),
    (dict(x=torch.rand(0, 2)), ValueError, "x is an empty point cloud"),
    (dict(y=torch.rand(12, 3)), ValueError, "x is 2-dimensional but y is 3-dimensional"),
    (dict(x=torch.rand(2, 10, 2)), ValueError, "both must be"),
    (dict(x=torch.rand(2, 10, 2), y=torch.rand(3, 12, 2)), ValueError, "batch sizes differ"),
    (dict(x=torch.rand(10, 2, dtype=torch.float64)), TypeError, "dtype"),
    (dict(x="points"), TypeError, "x must be a tensor"),
    (dict(x=torch.ones(10, 2, dtype=torch.bool)), TypeError, "real numbers"),
    (dict(a=-torch.ones(10) / 10), ValueError, "a has negative weights"),
    (dict(b=torch.zeros(12)), ValueError, "b sums to zero"),
    (dict(a=torch.full((10,), float("nan"))), ValueError, "a contains NaN"),
    (dict(a=torch.ones(9) / 9), ValueError, r"a must have shape \(10,\)"),
    (dict(a=torch.ones(10) / 5), ValueError, "different total masses"),
    (dict(blur=0.0), ValueError, "blur must be a finite number > 0"),
    (dict(blur=-1.0), ValueError, "blur"),
    (dict(blur=float("nan")), ValueError, "blur"),
    (dict(blur="big"), TypeError, "blur must be a number"),
    (dict(reach=0.0), ValueError, "reach"),
    (dict(scaling=1.0), ValueError, "scaling must lie in"),
    (dict(scaling=0.0), ValueError, "scaling"),
    (dict(p=3), ValueError, "p must be 1 or 2"),
    (dict(backend="gpu"), ValueError, "backend must be one of"),
    (dict(diameter=-2.0), ValueError, "diameter"),
    (dict(tol=0.0), ValueError, "tol"),
    (dict(max_iter=0), ValueError, "max_iter"),
    (dict(debias="yes"), TypeError, "debias"),
    (dict(cost=lambda x, y: x), ValueError, r"cost\(x, y\) must return a tensor of shape \(B, N, M\)"),
    (dict(cost=lambda x, y: torch.full((1, 10, 12), float("nan"))), ValueError, "cost.*NaN"),
    (dict(cost=lambda x, y: torch.cdist(x, y), backend="online"), ValueError, "dense backend"),
    (dict(cost="SqDist(X,Y)"), ValueError, "KeOps formula"),
    (dict(cost=3), TypeError, "cost must be None or a callable"),
    (dict(level_tol=0), ValueError, "level_tol"),
    (dict(level_tol="tight"), TypeError, "level_tol"),
])
def test_solve_rejects(kwargs, error, match):
    args = dict(x=X, y=Y, a=None, b=None)
    args.update({k: kwargs.pop(k) for k in list(kwargs) if k in args})
    with pytest.raises(error, match=match):
        solve(args["x"], args["y"], args["a"], args["b"], **kwargs)
    with pytest.raises(error, match=match):
        next(iterate(args["x"], args["y"], args["a"], args["b"], **kwargs))


def test_device_mismatch_is_reported():
    meta = torch.rand(12, 2, device="meta")
    with pytest.raises(ValueError, match="device"):
        solve(X, meta)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(loss="wasserstein"), ValueError, "loss must be one of"),
    (dict(p=0), ValueError, "p must be"),
    (dict(blur=0), ValueError, "blur"),
    (dict(loss="gaussian", reach=1.0), ValueError, "reach"),
    (dict(cost="SqDist(X,Y)"), ValueError, "KeOps formula"),
    (dict(loss="gaussian", cost=lambda x, y: x), ValueError, "cost applies to loss='sinkhorn'"),
    (dict(kernel=lambda x, y: x), ValueError, "kernel must be None"),
    (dict(cluster_scale=-1), ValueError, "cluster_scale"),
    (dict(verbose="yes"), TypeError, "verbose"),
    (dict(tolerance=1e-3), TypeError, "unexpected keyword"),
    (dict(scaling=2), ValueError, "scaling"),
    (dict(backend="cuda"), ValueError, "backend"),
])
def test_samples_loss_rejects(kwargs, error, match):
    with pytest.raises(error, match=match):
        SamplesLoss(**kwargs)


def test_samples_loss_call_forms():
    loss = SamplesLoss()
    with pytest.raises(TypeError, match=r"\(x, y\), \(a, x, b, y\) or \(labels_x, a, x, labels_y, b, y\)"):
        loss(X)
    with pytest.raises(ValueError, match="labels_x must be an integer vector"):
        loss(torch.rand(10), None, X, None, None, Y)
    with pytest.raises(ValueError, match="x contains NaN"):
        SamplesLoss("energy")(torch.full((3, 2), float("nan")), Y)


def test_array_likes_give_the_numbers_of_tensors():
    x, y = np.random.default_rng(1).random((10, 2)), np.random.default_rng(2).random((12, 2))
    reference = solve(torch.from_numpy(x), torch.from_numpy(y))
    for xs, ys in ((x, y.tolist()), (x.tolist(), y), (x.astype(np.float32), y.astype(np.float32))):
        result = solve(xs, ys)
        rtol = 1e-5 if isinstance(xs, np.ndarray) and xs.dtype == np.float32 else 1e-12
        assert result.value.dtype == (torch.float32 if rtol > 1e-12 else torch.float64)
        assert float(result.value) == pytest.approx(float(reference.value), rel=rtol)
        torch.testing.assert_close(result.f.double(), reference.f, rtol=rtol, atol=rtol * 1e-2)


def test_result_methods_check_points():
    res = solve(X, Y)
    with pytest.raises(ValueError, match="3-dimensional|2-dimensional"):
        res.potential_f(torch.rand(5, 3))
    with pytest.raises(ValueError, match="points contains NaN"):
        res.potential_g(torch.tensor([[float("nan"), 0.0]]))
    with pytest.raises(ValueError, match="values must have shape"):
        res.plan_apply(torch.rand(7))


@pytest.mark.parametrize("backend", ["tensorized", "online"])
def test_zero_weights_are_the_same_as_removing_the_points(backend):
    """Points of zero weight take no part: the value and the other points' potentials are those of the
    problem without them (the same diameter, hence the same temperatures). (Multiscale clusters them too,
    which moves its truncation: its accuracy is tests/test_multiscale.py's.)"""
    x, y = X.double(), Y.double()
    a = torch.rand(10, dtype=torch.float64) + 0.1
    a[:3] = 0
    a /= a.sum()
    kept = solve(x[3:], y, a[3:], None, backend=backend, diameter=2.0)
    full = solve(x, y, a, None, backend=backend, diameter=2.0)
    assert float(full.value) == pytest.approx(float(kept.value), rel=1e-9)
    torch.testing.assert_close(full.f[3:], kept.f, rtol=1e-9, atol=1e-11)
    torch.testing.assert_close(full.g, kept.g, rtol=1e-9, atol=1e-11)


def test_degenerate_but_valid_inputs_are_finite():
    """Duplicates and a tiny blur in float32: finite results; duplicated points are the same measure as the
    points once (on the exact backends: multiscale's clusters, and so its truncation, see the points twice)."""
    dup = torch.cat([X[:5], X[:5]])
    for backend in ["tensorized", "online", "multiscale"]:
        merged = solve(X[:5].double(), Y.double(), backend=backend)
        doubled = solve(dup.double(), Y.double(), backend=backend)
        if backend == "multiscale":
            assert torch.isfinite(doubled.value)
        else:
            assert float(doubled.value) == pytest.approx(float(merged.value), rel=1e-9)
        with warnings.catch_warnings():  # float32 at blur 1e-4 may stop above level_tol: that is a warning
            warnings.simplefilter("ignore", ConvergenceWarning)
            assert torch.isfinite(solve(X, Y, blur=1e-4, backend=backend).value)


def test_out_of_memory_on_auto_falls_back_to_the_online_backend(monkeypatch):
    """A dense run that exhausts the device's memory (simulated) is solved again online, with one warning;
    an explicit backend choice gets the error."""
    import importlib
    solve_module = importlib.import_module("otlab.core.clouds.solve")
    real = solve_module._states

    def states(problem, options):
        if problem.backend == "tensorized":
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(problem, options)

    x, y = torch.rand(100, 2, generator=torch.Generator().manual_seed(0)), torch.rand(120, 2)
    reference = solve(x, y, backend="online")
    monkeypatch.setattr(solve_module, "_states", states)
    with pytest.warns(ResourceWarning, match="ran out of memory") as caught:
        result = solve(x, y)
    assert len(caught) == 1 and result.backend == "online"
    assert abs(float(result.value) - float(reference.value)) <= 1e-6 * abs(float(reference.value))
    with pytest.raises(torch.OutOfMemoryError):
        solve(x, y, backend="tensorized")
