r"""Optimal assignment between two clouds of N points: exact, auction, and the naive dual ascent.

The problem, for uniform weights 1/N and a cost C_ij = C(x_i, y_j) (|x - y| for p = 1, |x - y|^2/2 for
p = 2), and its dual:

.. math::
    \min_{\sigma \in S_N} \frac1N \sum_i C_{i\sigma(i)}
    \;=\; \max_{f_i + g_j \le C_{ij}} \frac1N \Big(\sum_i f_i + \sum_j g_j\Big).

**Auction** (Bertsekas), written for costs: objects j carry prices p_j = -g_j; an unassigned point i
bids for its best object j_i = argmin_j C_ij + p_j, raising that price by

.. math::
    \gamma_i = v_i^{(2)} - v_i^{(1)} + \varepsilon, \qquad v^{(1)} \le v^{(2)} \text{ the two smallest } C_{ij} + p_j,

the highest bid wins and the previous owner becomes unassigned. With f_i = min_j C_ij + p_j the pair
(f, g) is dual feasible, and every assigned i keeps ε-complementary slackness
C_{iσ(i)} + p_{σ(i)} ≤ f_i + ε, so when all are assigned the mean cost is within ε of the dual
objective, hence of the optimum. ε-scaling runs phases ε_0 > ε_1 > … (each from the previous prices,
everybody unassigned), the rounds of all phases run "Jacobi" style: all unassigned points bid at once.

**Exact at the end.** A matching σ is optimal iff its exchange graph has no negative cycle: on the
points, the edge i → k (i takes k's object) weighs W_ik = C_{iσ(k)} - C_{kσ(k)}. After each phase
from ``eps`` on, Bellman-Ford from the auction's potentials π = -f (every edge already violated by at
most ε) either converges, which proves optimality and gives tight duals f = -π, or finds a cycle in
its predecessor graph — a negative one. Then another phase runs at ε / 5: the certificate, not a
guess, decides the last ε. (Past N ε < 1e-9 max|C| the cycles are cancelled instead — the points on
one swap objects — until Bellman-Ford converges.)
Cycles lighter than η = 1e-12 max|C| in magnitude are float rounding and are not cancelled: the mean
cost returned is within η of the optimum (exactly optimal up to float64 rounding). No ε needs tuning.

**The naive dual ascent** ("greedy") is the auction with ε = 0: a bidder raises the price only to the
point where its second choice is as good. When two points want the same two objects equally (ties,
duplicated points), the increments are zero and the bids circle forever; on generic data the
increments shrink and progress stalls. It stops after ``max_iter`` rounds; points still unassigned
then take the free objects in index order (a permutation, not an optimal one) and ``converged`` is
False.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterator, Optional

import torch

from .. import checks
from ..costs import joint_diameter

METHODS = ("exact", "auction", "greedy")
#: ε-scaling: each auction phase divides ε by this
EPS_DIVISOR = 5.0
#: bidding rounds of the naive dual ascent before it gives up (per point)
GREEDY_ROUNDS_PER_POINT = 20
#: past this N ε / max|C|, a matching the certificate rejects has its cycles cancelled, not re-auctioned
EPS_FLOOR = 1e-9
#: relative size of the negative cycles treated as float rounding (see the module docstring)
CYCLE_TOL = 1e-12
#: rows of the cost matrix built at once from coordinate differences
ROW_CHUNK = 256


@dataclass
class Assignment:
    r"""A (possibly partial) matching and its dual prices.

    Attributes:
        perm: (N,) long, ``perm[i]`` = index of the y matched to x_i (-1 while unassigned).
        cost: mean cost (1/N) Σ_i C(x_i, y_perm[i]) in otlab's convention (NaN while partial).
        f, g: (N,) float64 dual prices with f_i + g_j ≤ C_ij; ``dual`` = mean(f) + mean(g) ≤ optimum.
        n_iter: bidding rounds so far (Hungarian: 0).
        eps: the auction's slack ε of this round (0 for greedy and after the exact finish).
        phase: "auction", "certify" (cancelling a negative exchange cycle), "greedy" or "done".
        converged: True once the matching is proved optimal, False when greedy gave up, None meanwhile.
        cycles: negative exchange cycles cancelled by the exact finish.
    """

    perm: torch.Tensor
    cost: float
    f: torch.Tensor
    g: torch.Tensor
    n_iter: int
    eps: float = 0.0
    phase: str = "done"
    converged: Optional[bool] = None
    cycles: int = 0

    @property
    def dual(self) -> float:
        """The dual objective (1/N)(Σ f_i + Σ g_j), a lower bound on the optimal mean cost."""
        return float(self.f.mean() + self.g.mean())

    def to(self, device) -> "Assignment":
        """The same state with its tensors (perm, f, g) on ``device``."""
        return dataclasses.replace(self, perm=self.perm.to(device), f=self.f.to(device), g=self.g.to(device))


def assignment_costs(x, y, p: int = 2) -> torch.Tensor:
    """The (N, M) float64 cost matrix C(x_i, y_j), from coordinate differences (exact to rounding)."""
    x64, y64 = x.detach().to(torch.float64), y.detach().to(torch.float64)
    rows = []
    for start in range(0, len(x64), ROW_CHUNK):
        diff = x64[start:start + ROW_CHUNK, None, :] - y64[None, :, :]
        d2 = (diff * diff).sum(-1)
        rows.append(d2 / 2 if p == 2 else d2.sqrt())
    return torch.cat(rows)


def assign(x, y, *, method: str = "exact", p: int = 2, eps: Optional[float] = None,
           max_iter: Optional[int] = None) -> Assignment:
    r"""Optimal matching between equal-size uniform clouds x (N, D) and y (N, D).

    Args:
        method: "exact" (``scipy.optimize.linear_sum_assignment``), "auction" (ε-scaling auction,
            then the negative-cycle certificate: always optimal) or "greedy" (naive dual ascent, ε = 0;
            may stop before it converges, see the module docstring).
        p: 1 for C = |x - y|, 2 for C = |x - y|^2 / 2.
        eps: the auction's last ε (cost units); default max|C| / (10 N). Smaller: more bidding rounds,
            fewer cycles left for the certificate. Ignored by "exact" and "greedy".
        max_iter: cap on bidding rounds ("auction": a RuntimeError past it; "greedy": it gives up).

    Returns:
        :class:`Assignment` with ``perm`` a permutation, ``cost`` the mean matched cost and
        dual prices; for "exact" and "auction" ``cost`` equals the optimum and ``dual`` matches it.
    """
    final = None
    for final in iterate_assignment(x, y, method=method, p=p, eps=eps, max_iter=max_iter, every_round=False):
        pass
    return final


def iterate_assignment(x, y, *, method: str = "auction", p: int = 2, eps: Optional[float] = None,
                       annealing: bool = True, max_iter: Optional[int] = None,
                       every_round: bool = True) -> Iterator[Assignment]:
    r"""Yield an :class:`Assignment` after every bidding round (auction, greedy) and every cancelled
    cycle; the last one is the result of :func:`assign`.

    ``annealing=False`` runs the auction at ``eps`` from the start (one phase, no ε-scaling): the
    same optimum, reached after many more rounds when ε is small. ``every_round=False`` yields the
    final state only.

    The matching runs on the CPU (scipy's Hungarian method, rounds of a few vector operations, the
    sequential certificate): inputs on a GPU are matched there and every state comes back on their device.
    """
    method = checks.choice("method", method, METHODS)
    eps = checks.positive_number("eps", eps, allow_none=True)
    C, device = _costs(x, y, p)
    for state in _matching(C, method, eps, annealing, max_iter, every_round):
        yield state if device.type == "cpu" else state.to(device)


def _matching(C, method, eps, annealing, max_iter, every_round) -> Iterator[Assignment]:
    """The states of :func:`iterate_assignment` for the (N, N) float64 CPU cost matrix C."""
    n = C.shape[0]
    cmax = float(C.max())
    scale = cmax if cmax > 0 else 1.0
    tol = CYCLE_TOL * scale
    if method == "exact":
        yield _exact(C, tol)
        return
    if method == "greedy":
        rounds = max_iter if max_iter is not None else GREEDY_ROUNDS_PER_POINT * n
        yield from _greedy(C, rounds, every_round)
        return
    eps = scale / (10 * n) if eps is None else eps
    auction = _Auction(C)
    for eps_k in _eps_schedule(scale, eps) if annealing else [eps]:
        yield from _phase(auction, eps_k, max_iter, every_round)
    while True:  # the certificate decides the last ε: refine until it proves optimality
        pi, cycle = _potentials(C, auction.perm, -auction.f(), tol)
        if cycle is None or eps_k * n <= EPS_FLOOR * scale:
            break
        eps_k /= EPS_DIVISOR
        yield from _phase(auction, eps_k, max_iter, every_round)
    yield from _certify(C, auction.perm, pi, cycle, auction.rounds, tol, every_round)


def _phase(auction, eps: float, max_iter, every_round) -> Iterator[Assignment]:
    """One auction phase at ε: everybody unassigned, bidding rounds until all are assigned."""
    auction.start_phase()
    while auction.unassigned():
        if max_iter is not None and auction.rounds >= max_iter:
            raise RuntimeError(f"the auction needed more than max_iter = {max_iter} rounds; raise max_iter or eps")
        auction.bid(eps)
        if every_round:
            yield auction.state(eps, "auction")


def _costs(x, y, p):
    """The float64 cost matrix, on the CPU, and the inputs' device."""
    x, y = checks.point_pair(x, y)
    if x.dim() != 2:
        raise ValueError(f"x and y must be single clouds (N, D) for an assignment, got shape {tuple(x.shape)}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"an assignment needs as many points in y as in x, got N = {x.shape[0]} and "
                         f"M = {y.shape[0]} (use solve or solve_1d for N != M)")
    p = checks.exponent(p)
    checks.costs_fit_dtype("x and y", joint_diameter(x, y), p, torch.float64)  # costs are float64
    return assignment_costs(x, y, p).cpu(), x.device


def _eps_schedule(scale: float, eps: float):
    """ε_0 = max|C| / 4, divided by EPS_DIVISOR down to eps (the last phase runs at eps exactly)."""
    schedule, e = [], scale / 4
    while e > eps:
        schedule.append(e)
        e /= EPS_DIVISOR
    return schedule + [eps]


def _exact(C: torch.Tensor, tol: float) -> Assignment:
    """linear_sum_assignment, with the tight duals of the certificate."""
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(C.numpy())
    perm = torch.as_tensor(cols[rows.argsort()], dtype=torch.long)
    pi, _ = _potentials(C, perm, torch.zeros(len(perm), dtype=C.dtype), tol)
    return _finished(C, perm, -pi, 0, 0)


class _Auction:
    """Jacobi auction state: prices, who owns what, and the bidding rounds so far."""

    def __init__(self, C: torch.Tensor):
        self.C, self.n = C, C.shape[0]
        self.prices = torch.zeros(self.n, dtype=C.dtype)
        self.rounds = 0
        self.start_phase()

    def start_phase(self):
        self.perm = torch.full((self.n,), -1, dtype=torch.long)
        self.owner = torch.full((self.n,), -1, dtype=torch.long)

    def unassigned(self) -> bool:
        return bool((self.perm < 0).any())

    def bid(self, eps: float):
        """One round: every unassigned point bids for its best object; each object goes to its highest bid."""
        free = (self.perm < 0).nonzero().squeeze(1)
        values = self.C[free] + self.prices
        if self.n == 1:
            best, v1, v2 = torch.zeros(1, dtype=torch.long), values[:, 0], values[:, 0]
        else:
            two = torch.topk(values, 2, dim=1, largest=False)
            best, v1, v2 = two.indices[:, 0], two.values[:, 0], two.values[:, 1]
        offer = self.prices[best] + (v2 - v1) + eps
        top = torch.full((self.n,), -float("inf"), dtype=self.C.dtype).scatter_reduce(0, best, offer, "amax")
        wins = offer == top[best]
        winner = torch.full((self.n,), self.n, dtype=torch.long).scatter_reduce(0, best[wins], free[wins], "amin")
        objects = (winner < self.n).nonzero().squeeze(1)
        bidders = winner[objects]
        previous = self.owner[objects]
        self.perm[previous[previous >= 0]] = -1
        self.perm[bidders] = objects
        self.owner[objects] = bidders
        self.prices[objects] = top[objects]
        self.rounds += 1

    def f(self) -> torch.Tensor:
        return (self.C + self.prices).min(1).values

    def state(self, eps: float, phase: str, converged=None) -> Assignment:
        return Assignment(self.perm.clone(), _mean_cost(self.C, self.perm), self.f(), -self.prices.clone(),
                          self.rounds, eps, phase, converged)


def _greedy(C: torch.Tensor, rounds: int, every_round: bool) -> Iterator[Assignment]:
    auction = _Auction(C)
    while auction.unassigned() and auction.rounds < rounds:
        auction.bid(0.0)
        if every_round:
            yield auction.state(0.0, "greedy")
    converged = not auction.unassigned()
    perm = auction.perm.clone()
    left = (perm < 0).nonzero().squeeze(1)
    taken = torch.zeros(len(perm), dtype=torch.bool)
    taken[perm[perm >= 0]] = True
    perm[left] = (~taken).nonzero().squeeze(1)  # give up: the free objects in index order
    yield Assignment(perm, _mean_cost(C, perm), auction.f(), -auction.prices.clone(), auction.rounds, 0.0,
                     "done", converged)


def _certify(C, perm, pi, cycle, rounds, tol, every_round) -> Iterator[Assignment]:
    """From Bellman-Ford's last answer ``(pi, cycle)``, cancel negative exchange cycles until it converges;
    yields after each cancelled cycle, then the proved-optimal result."""
    perm, cycles = perm.clone(), 0
    while cycle is not None:
        objects = perm[cycle]
        perm[cycle] = torch.roll(objects, -1)  # cycle[t] takes the object of cycle[t + 1]
        cycles += 1
        if every_round:
            yield Assignment(perm.clone(), _mean_cost(C, perm), -pi, _c_transform(C, -pi), rounds, 0.0, "certify",
                             None, cycles)
        pi, cycle = _potentials(C, perm, pi, tol)
    yield _finished(C, perm, -pi, rounds, cycles)


def _potentials(C, perm, pi, tol):
    r"""Bellman-Ford on the exchange graph W_ik = C_{iσ(k)} - C_{kσ(k)} from the potentials ``pi``.

    Returns ``(pi, None)`` with π_k ≤ π_i + W_ik + tol for all i, k (σ is then optimal up to tol per
    edge), or ``(pi, cycle)`` with a negative cycle of the predecessor graph (see :func:`_find_cycle`).
    """
    n = len(perm)
    idx = torch.arange(n)
    W = C[:, perm] - C[idx, perm][None, :]
    pred = torch.full((n,), -1, dtype=torch.long)
    pi = pi.clone()
    while True:
        best, arg = (pi[:, None] + W).min(0)
        better = best < pi - tol
        if not bool(better.any()):
            return pi, None
        pi = torch.where(better, best, pi)
        pred = torch.where(better, arg, pred)
        cycle = _find_cycle(pred)
        if cycle is not None:
            return pi, cycle


def _find_cycle(pred: torch.Tensor):
    """A cycle of the predecessor graph (pred = -1: none), or None; O(N).

    Returned in the order where each node takes the object of the next one (cyclically): the edge
    pred[k] → k means that pred[k] takes k's object.
    """
    succ = pred.tolist()
    state = [0] * len(succ)  # 0 unseen, 1 on the current walk, 2 done
    for start in range(len(succ)):
        if state[start]:
            continue
        walk, k = [], start
        while k >= 0 and state[k] == 0:
            state[k] = 1
            walk.append(k)
            k = succ[k]
        if k >= 0 and state[k] == 1:
            cycle = walk[walk.index(k):]
            return torch.as_tensor(cycle[::-1], dtype=torch.long)
        for node in walk:
            state[node] = 2
    return None


def _c_transform(C, f):
    """g_j = min_i C_ij - f_i: the best prices g given f (feasible: f_i + g_j ≤ C_ij)."""
    return (C - f[:, None]).min(0).values


def _finished(C, perm, f, rounds, cycles) -> Assignment:
    return Assignment(perm, _mean_cost(C, perm), f, _c_transform(C, f), rounds, 0.0, "done", True, cycles)


def _mean_cost(C, perm) -> float:
    if bool((perm < 0).any()):
        return float("nan")
    return float(C[torch.arange(len(perm)), perm].mean())
