"""assign / iterate_assignment against scipy's linear_sum_assignment (costs from scipy's cdist)."""
import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from otlab.core import Assignment, assign, iterate_assignment


def cost_matrix(x, y, p):
    d = cdist(np.asarray(x, float), np.asarray(y, float))
    return d if p == 1 else d ** 2 / 2


def optimum(x, y, p):
    C = cost_matrix(x, y, p)
    rows, cols = linear_sum_assignment(C)
    return C[rows, cols].mean(), C


def clouds(family, n, d, rng):
    x, y = rng.random((n, d)), rng.random((n, d))
    if family == "gaussian":
        y = 0.5 + 0.1 * rng.standard_normal((n, d))
    elif family == "ties":  # points on coarse lattices: many equal costs and tied optimal matchings
        x, y = np.round(x * 3) / 3, np.round(y * 2) / 2
    elif family == "duplicates":  # every point repeated 4 times
        k = -(-n // 4)
        x, y = np.repeat(x[:k], 4, axis=0)[:n], np.repeat(y[:k], 4, axis=0)[:n]
    elif family == "clusters":
        x = rng.integers(0, 5, (n, 1)) * 0.2 + 0.02 * rng.standard_normal((n, d))
    return torch.as_tensor(x), torch.as_tensor(y)


def check_optimal(result, x, y, p):
    opt, C = optimum(x, y, p)
    perm = result.perm.numpy()
    assert sorted(perm.tolist()) == list(range(len(perm))), "not a permutation"
    # the mean cost is optimal to float64 rounding (the certificate's tolerance is 1e-12 max C)
    scale = C.max()
    assert abs(C[np.arange(len(perm)), perm].mean() - opt) <= 1e-10 * scale
    assert abs(result.cost - opt) <= 1e-10 * scale
    # the duals are feasible and tight: a certificate of optimality
    f, g = result.f.numpy(), result.g.numpy()
    assert (f[:, None] + g[None, :] <= C + 1e-10 * scale).all()
    assert abs(result.dual - opt) <= 1e-9 * scale
    assert result.converged is True


@pytest.mark.parametrize("family", ["uniform", "gaussian", "ties", "duplicates", "clusters"])
@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("p", [1, 2])
def test_auction_is_optimal(family, d, p):
    rng = np.random.default_rng(hash((family, d, p)) % 2 ** 32)
    for n in (1, 2, 7, 40, 150):
        x, y = clouds(family, n, d, rng)
        check_optimal(assign(x, y, method="auction", p=p), x, y, p)


@pytest.mark.parametrize("family", ["uniform", "ties", "duplicates"])
def test_auction_is_optimal_at_n_1000(family):
    x, y = clouds(family, 1000, 2, np.random.default_rng(7))
    check_optimal(assign(x, y, method="auction"), x, y, 2)


@pytest.mark.parametrize("eps", [1e-1, 1e-3, 1e-6])
@pytest.mark.parametrize("annealing", [True, False])
def test_auction_is_optimal_for_any_eps(eps, annealing):
    """A large ε leaves cycles to the certificate; the answer is the optimum anyway."""
    x, y = clouds("uniform", 60, 2, np.random.default_rng(3))
    *_, last = iterate_assignment(x, y, eps=eps, annealing=annealing)
    check_optimal(last, x, y, 2)


def test_exact_matches_scipy_and_float32_input():
    x, y = clouds("gaussian", 200, 3, np.random.default_rng(1))
    check_optimal(assign(x, y, method="exact"), x, y, 2)
    x32, y32 = x.float(), y.float()
    check_optimal(assign(x32, y32, method="auction"), x32.double(), y32.double(), 2)


def test_iterates_bound_the_optimum_from_below():
    """Every round's prices are dual feasible: the dual objective never exceeds the optimum, and the
    ε-complementary slackness bounds the gap of each completed phase by ε."""
    x, y = clouds("uniform", 80, 2, np.random.default_rng(5))
    opt, C = optimum(x, y, 2)
    states = list(iterate_assignment(x, y))
    assert len(states) > 10 and states[-1].phase == "done"
    for s in states:
        assert isinstance(s, Assignment)
        assert s.dual <= opt + 1e-12
        if s.phase == "auction" and not bool((s.perm < 0).any()):
            assert s.cost - s.dual <= s.eps * (1 + 1e-9) + 1e-12
    assert [s.n_iter for s in states if s.phase == "auction"] == list(range(1, len(states)))


def test_greedy_circles_on_ties():
    """Documented counterexample: two points at the origin and one at (0.1, 0) compete for two targets
    at the origin; the third target (1, 0) is the right one for the third point. With ε = 0 every bid
    raises no price (the two best objects tie), so the bids circle: after its rounds, prices are
    still 0, the dual objective is stuck at 0.005 / 3 and the optimum 0.405 / 3 is not reached."""
    x = torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.1, 0.0]], dtype=torch.float64)
    y = torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    greedy = assign(x, y, method="greedy", max_iter=500)
    assert greedy.converged is False and greedy.n_iter == 500
    assert torch.equal(greedy.g, torch.zeros(3, dtype=torch.float64))
    assert greedy.dual == pytest.approx(0.005 / 3, rel=1e-12)
    assert assign(x, y, method="auction").cost == pytest.approx(0.405 / 3, rel=1e-12)
    assert assign(x, y, method="exact").cost == pytest.approx(0.405 / 3, rel=1e-12)


def test_greedy_stalls_on_random_points():
    """On generic data the increments shrink: 20 N rounds leave it unfinished, far from the optimum."""
    x, y = clouds("uniform", 100, 2, np.random.default_rng(0))
    opt, _ = optimum(x, y, 2)
    greedy = assign(x, y, method="greedy")
    assert greedy.converged is False
    assert greedy.cost > 1.1 * opt
    assert sorted(greedy.perm.tolist()) == list(range(100))


@pytest.mark.parametrize("kwargs, match", [
    (dict(method="hungarian"), "method"), (dict(p=3), "p must be 1 or 2"), (dict(eps=0.0), "eps"),
    (dict(eps=-1.0), "eps")])
def test_bad_arguments(kwargs, match):
    x = torch.rand(5, 2)
    with pytest.raises((ValueError, TypeError), match=match):
        assign(x, torch.rand(5, 2), **kwargs)


def test_sizes_must_match():
    with pytest.raises(ValueError, match="as many points in y as in x"):
        assign(torch.rand(5, 2), torch.rand(6, 2))
    with pytest.raises(ValueError, match="single clouds"):
        assign(torch.rand(2, 5, 2), torch.rand(2, 5, 2))
