"""Wasserstein barycenters on grids (debiased and plain) and of point clouds (free support)."""
import numpy as np
import pytest
import torch

from otlab.core import barycenter_grid, barycenter_points, iterate_barycenter_grid, solve_grid

F64 = torch.float64


def blob(n, c, s):
    x = (torch.arange(n, dtype=F64) + 0.5) / n
    X, Y = torch.meshgrid(x, x, indexing="ij")
    b = torch.exp(-((X - c[0]) ** 2 + (Y - c[1]) ** 2) / (2 * s * s))
    return b / b.sum()


def three_blobs(n):
    A = torch.stack([blob(n, (0.3, 0.3), 0.08), blob(n, (0.7, 0.4), 0.06) + blob(n, (0.7, 0.7), 0.05),
                     blob(n, (0.4, 0.7), 0.1)])
    return A / A.sum((1, 2), keepdim=True)


def centroid(d):
    axes = [(torch.arange(s, dtype=F64) + 0.5) / s for s in d.shape]
    return torch.stack([(d.sum(tuple(j for j in range(d.dim()) if j != k)) * x).sum() for k, x in enumerate(axes)])


@pytest.mark.parametrize("debias", [True, False])
@pytest.mark.parametrize("weights", [[0.5, 0.5], [0.25, 0.75]])
def test_two_diracs_meet_at_the_weighted_mean(debias, weights):
    """Diracs at the two ends of a 101-cell line: the barycenter sits at the weighted mean of their
    positions, a Dirac when debiased (measured: all mass within ±2 cells), a blurred bump when plain."""
    n = 101
    A = torch.zeros(2, n, dtype=F64)
    A[0, 0], A[1, -1] = 1, 1
    b = barycenter_grid(A, weights, blur=0.02, debias=debias).density
    x = (torch.arange(n, dtype=F64) + 0.5) / n
    expected = weights[0] * x[0] + weights[1] * x[-1]
    assert float((b * x).sum()) == pytest.approx(float(expected), abs=1e-5)
    k = int(b.argmax())
    assert abs(float(x[k]) - float(expected)) <= 1 / n
    near = float(b[k - 2:k + 3].sum())
    assert near > 0.999 if debias else near < 0.9


def shape(n, c):
    x = (torch.arange(n, dtype=F64) + 0.5) / n
    X, Y = torch.meshgrid(x, x, indexing="ij")
    box = ((X - c[0]).abs() < 0.12) & ((Y - c[1]).abs() < 0.07)
    disk = (X - c[0] - 0.1) ** 2 + (Y - c[1]) ** 2 < 0.08 ** 2
    d = box.to(F64) + 0.5 * disk.to(F64)
    return d / d.sum()


def test_translated_copies_give_the_translated_shape():
    """Copies shifted by v_k (whole pixels) with weights w: the barycenter is the shape shifted by
    Σ w_k v_k. Centroid exact (symmetry of the fixed point; measured 1e-7); L1 distance to the shifted
    shape measured 0.019 at blur = 1 px, tol 1e-4 (the plain barycenter: 0.2, blurred)."""
    n = 48
    shifts, w = [(-8, 0), (4, 8), (8, -4)], [0.5, 0.25, 0.25]
    A = torch.stack([shape(n, (0.5 + dx / n, 0.5 + dy / n)) for dx, dy in shifts])
    target = shape(n, (0.5 - 1 / n, 0.5 + 1 / n))
    result = barycenter_grid(A, w, blur=1 / n)
    assert result.converged
    assert torch.allclose(centroid(result.density), centroid(target), atol=1e-5)
    assert float((result.density - target).abs().sum()) < 0.05
    plain = barycenter_grid(A, w, blur=1 / n, debias=False).density
    assert float((plain - target).abs().sum()) > 0.1


@pytest.mark.parametrize("debias", [True, False])
def test_small_blur_in_float32_is_the_gaussian_closed_form(debias):
    """Half a pixel of blur (e^{-C/ε} underflows for most pixel pairs), weights (.1, .2, .7), float32:
    the W2 barycenter of isotropic Gaussians N(m_k, s_k² I) is N(Σ w_k m_k, (Σ w_k s_k)² I). Measured L1 to
    it: 0.020 (the inputs are Gaussians sampled on 40 cells, s = 2.4–4 cells; the mixture Σ w_k α_k is 1.0
    away); the float32 run is the float64 run (2e-8 in L1) and has mass 1 (POT's kernel iterations lose
    mass here)."""
    n, w = 40, [0.1, 0.2, 0.7]
    means, sds = [(0.3, 0.3), (0.7, 0.4), (0.45, 0.7)], [0.08, 0.06, 0.1]
    A = torch.stack([blob(n, m, s) for m, s in zip(means, sds)])
    target = blob(n, tuple(sum(wk * m[i] for wk, m in zip(w, means)) for i in (0, 1)),
                  sum(wk * s for wk, s in zip(w, sds)))
    single = barycenter_grid(A.float(), w, blur=0.5 / n, debias=debias)
    double = barycenter_grid(A, w, blur=0.5 / n, debias=debias)
    assert single.density.dtype == torch.float32 and single.converged
    assert single.mass == pytest.approx(1.0, abs=1e-6)
    assert float((single.density.double() - double.density).abs().sum()) < 1e-6
    assert float((double.density - target).abs().sum()) < 0.03


def spread(d):
    axes = [(torch.arange(s, dtype=F64) + 0.5) / s for s in d.shape]
    c = centroid(d)
    return sum(float((d.sum(tuple(j for j in range(d.dim()) if j != k)) * (x - c[k]) ** 2).sum())
               for k, x in enumerate(axes))


def divergence_sum(beta, A, w, blur, extent=None):
    """Σ w_k S_ε(α_k, β): the objective the debiased barycenter minimises."""
    beta = beta / beta.sum()
    return sum(wk * float(solve_grid(a, beta, blur=blur, extent=extent, tol=1e-9, max_iter=20_000).value)
               for wk, a in zip(w, A))


def test_debiased_is_sharper_and_minimises_the_divergences():
    """Debiased: smaller spread than plain, and a smaller Σ w_k S_ε(α_k, ·) than the plain barycenter
    and than small perturbations of itself (an independent check of the fixed point)."""
    n, blur, w = 24, 1 / 24, [0.2, 0.3, 0.5]
    A = three_blobs(n)
    deb = barycenter_grid(A, w, blur=blur, tol=1e-6, max_iter=3000).density
    plain = barycenter_grid(A, w, blur=blur, debias=False, tol=1e-6).density
    assert spread(deb) < spread(plain)
    best = divergence_sum(deb, A, w, blur)
    assert best < divergence_sum(plain, A, w, blur)
    g = torch.Generator().manual_seed(0)
    for _ in range(2):
        bump = deb * (1 + 0.05 * torch.randn(deb.shape, generator=g, dtype=F64)).clamp_min(0)
        assert best < divergence_sum(bump, A, w, blur)


def test_agrees_with_pot_and_reaches_the_lowest_objective():
    """POT's convolutional_barycenter2d_debiased on its grid (linspace(0, 1, n): our extent widened by
    half a cell), reg = 2ε, 3000 updates each. At 1.5 px both reach the same objective Σ w_k S_ε
    (measured relative gap 3e-7) and nearly the same density (L1 0.004: the objective is flat along
    fine ringing modes that neither run has finished, see docs/core.md). At 0.7 px our objective is at
    most POT's (measured: POT stops at another point, L1 0.37 away, 4% higher) and at most that of small
    perturbations of our barycenter."""
    ot = pytest.importorskip("ot")
    n, w = 16, [0.2, 0.3, 0.5]
    A = three_blobs(n)
    extent = (-0.5 / (n - 1), 1 + 0.5 / (n - 1))
    for pixels in (1.5, 0.7):
        blur = pixels / (n - 1)
        ours = barycenter_grid(A, w, blur=blur, extent=extent, tol=1e-7, max_iter=3000).density
        theirs = torch.as_tensor(ot.bregman.convolutional_barycenter2d_debiased(
            A.numpy(), 2 * blur ** 2, np.array(w), stopThr=1e-10, numItermax=3000, warn=False))
        mine, pots = divergence_sum(ours, A, w, blur, extent), divergence_sum(theirs, A, w, blur, extent)
        if pixels == 1.5:
            assert abs(mine - pots) < 1e-5 * pots
            assert float((ours - theirs).abs().sum()) < 0.01
        else:
            assert mine <= pots * (1 + 1e-5)
            g = torch.Generator().manual_seed(1)
            bump = ours * (1 + 0.05 * torch.randn(ours.shape, generator=g, dtype=F64)).clamp_min(0)
            assert mine < divergence_sum(bump, A, w, blur, extent)


def test_plain_barycenter_equals_pot_convolutional():
    ot = pytest.importorskip("ot")
    n, w, blur = 32, [0.2, 0.3, 0.5], 0.06
    A = three_blobs(n)
    extent = (-0.5 / (n - 1), 1 + 0.5 / (n - 1))
    ours = barycenter_grid(A, w, blur=blur, extent=extent, debias=False, tol=1e-9).density
    theirs = torch.as_tensor(ot.bregman.convolutional_barycenter2d(A.numpy(), 2 * blur ** 2, np.array(w),
                                                                   stopThr=1e-12, numItermax=5000))
    assert float((ours - theirs).abs().sum()) < 1e-5


def test_3d_and_odd_rectangular_grids():
    """Translated boxes on a 15 x 12 x 9 grid, by whole cells and away from the border (both would
    break the translation symmetry): the barycenter is the box translated by the weighted shift (3 cells
    on each axis for weights .4, .6 and a shift of 5): L1 measured 0.005 at blur 0.6 cell, 8e-5 at 0.3
    cell (the mixture of the two boxes is 2 away); the centroid at the weighted mean of the centroids."""
    A = torch.zeros(2, 15, 12, 9, dtype=F64)
    A[0, 3:6, 2:4, 1:3] = 1
    A[1, 8:11, 7:9, 6:8] = 1
    target = torch.zeros(15, 12, 9, dtype=F64)
    target[6:9, 5:7, 4:6] = 1 / 12
    result = barycenter_grid(A, [0.4, 0.6], blur=0.06, extent=((0, 1.5), (0, 1.2), (0, 0.9)))
    assert result.density.shape == (15, 12, 9) and result.converged
    assert float((result.density - target).abs().sum()) < 0.02
    c = [centroid(a / a.sum()) * torch.tensor([1.5, 1.2, 0.9], dtype=F64) for a in A]
    got = centroid(result.density) * torch.tensor([1.5, 1.2, 0.9], dtype=F64)
    assert torch.allclose(got, 0.4 * c[0] + 0.6 * c[1], atol=1e-5)


def test_warm_start_from_a_converged_state():
    """Restarting from converged potentials with the same weights stops after the short re-annealing
    and stays put (L1 measured 0.027 at tol 1e-3)."""
    n = 24
    A = three_blobs(n)
    first = barycenter_grid(A, [0.6, 0.2, 0.2], blur=1.5 / n, tol=1e-3)
    again = barycenter_grid(A, [0.6, 0.2, 0.2], blur=1.5 / n, tol=1e-3, warm_start=first.potentials)
    assert again.converged and again.eps == first.eps and again.n_iter < first.n_iter / 3
    assert float((again.density - first.density).abs().sum()) < 0.05



def test_iterate_barycenter_grid_yields_every_update_and_ends_on_barycenter_grid():
    """One state per update, the steps counted 1, 2, ...; the last is final and is barycenter_grid's result
    for the same arguments (same density, same number of updates), also when cut by max_iter."""
    A = three_blobs(24)
    for kw in (dict(blur=1.5 / 24, tol=1e-3), dict(blur=1.5 / 24, max_iter=30)):
        states = list(iterate_barycenter_grid(A, [0.6, 0.2, 0.2], **kw))
        result = barycenter_grid(A, [0.6, 0.2, 0.2], **kw)
        assert [s.n_iter for s in states] == list(range(1, len(states) + 1)) == list(range(1, result.n_iter + 1))
        assert states[-1].final and not any(s.final for s in states[:-1])
        torch.testing.assert_close(states[-1].density, result.density, rtol=0, atol=0)
        assert float((states[-1].density - states[len(states) // 2].density).abs().sum()) > 0  # it moved


def test_free_support_diracs_and_translations():
    assert float(barycenter_points([torch.tensor([[-1.0]]), torch.tensor([[1.0]])])[0, 0]) == pytest.approx(0, abs=1e-6)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(60, 2, generator=g, dtype=F64)
    shifts = torch.tensor([[0.5, 0.0], [0.0, 0.4], [-0.3, -0.2]], dtype=F64)
    w = torch.tensor([0.2, 0.5, 0.3], dtype=F64)
    bary = barycenter_points([x + s for s in shifts], w, blur=0.01)
    # the support starts on the heaviest cloud (x + shifts[1]) and moves by the weighted shift
    expected = x + (w[:, None] * shifts).sum(0)
    assert torch.allclose(bary.mean(0), expected.mean(0), atol=1e-6)
    assert float((bary - expected).norm(dim=-1).max()) < 0.02


@pytest.mark.parametrize("call, match", [
    (lambda: barycenter_grid(torch.ones(2, 4, 4), [0.5, 0.6]), "weights must sum to 1"),
    (lambda: barycenter_grid(torch.ones(2, 4, 4), [1.5, -0.5]), "finite and >= 0"),
    (lambda: barycenter_grid(torch.ones(2, 4, 4), [1.0]), r"shape \(2,\)"),
    (lambda: barycenter_grid(torch.stack([torch.ones(4, 4), torch.zeros(4, 4)])), r"densities\[1\] is zero"),
    (lambda: barycenter_grid(torch.ones(4)), "stack K densities"),
    (lambda: barycenter_grid(-torch.ones(2, 4)), "negative"),
    (lambda: barycenter_grid(torch.ones(2, 4), max_iter=0), "max_iter"),
    (lambda: barycenter_points([torch.ones(3, 2), torch.ones(3, 3)]), "dimensional"),
    (lambda: barycenter_points([]), "non-empty list"),
    (lambda: barycenter_points([torch.ones(3, 2)], n_support=0), "n_support"),
])
def test_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_warm_start_mismatch():
    first = barycenter_grid(torch.ones(2, 5, 5), blur=0.2)
    with pytest.raises(ValueError, match="warm_start"):
        barycenter_grid(torch.ones(3, 5, 5), blur=0.2, warm_start=first.potentials)
