r"""Convex polygons in the plane, many at once: validation, clipping, and integrals of a pixel density.

Polygons are stored **padded**: an array (N, M, 2) of vertices in counter-clockwise order, a polygon
with fewer than M vertices repeating its last one (a repeated vertex is a zero-length edge, which no
formula below notices), an empty polygon as M copies of one point. All in float64 numpy.

**Clipping** (:func:`clip_polygons`) is Sutherland–Hodgman against one half-plane
:math:`\{p : (b - a) \times (p - a) \ge 0\}` (the left of the directed line a → b), vectorised over the
polygons; clipping by every edge of a convex polygon intersects with it. :func:`clip_segments` is
Cyrus–Beck: the parameter interval [t_0, t_1] ⊂ [0, 1] of each segment p + t (q - p) inside a convex
polygon.

**Integrals of a piecewise-constant density** (:class:`PixelDensity`): ρ equal to
:math:`\rho_{ij}` on the pixel :math:`[X_i, X_{i+1}] \times [Y_j, Y_{j+1}]` of a box. By Green's
theorem, over a counter-clockwise polygon P,

.. math::
    \int_P \rho = \oint_{\partial P} G_0\, dy, \qquad
    \int_P x\rho = \oint_{\partial P} G_1\, dy, \qquad
    \int_P y\rho = \oint_{\partial P} y\, G_0\, dy,

with :math:`G_0(x, y) = \int_{X_0}^x \rho(s, y)\, ds` and :math:`G_1(x, y) = \int_{X_0}^x s\,\rho(s, y)\, ds`.
Each edge is cut where it crosses a pixel line; on a piece inside pixel (i, j), :math:`G_0` is affine
and :math:`G_1`, :math:`yG_0` are quadratic in the edge parameter, so the trapezoid and Simpson rules
integrate them exactly: the integrals are those of the piecewise-constant ρ to rounding, for any
polygon. Along a segment, :math:`\int \rho\, ds` is the sum of ρ times the lengths of the pieces.
A uniform density is the one-pixel image (no cuts).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Edges of a many-sided domain that clip every polygon before the per-polygon rounds (clip_to_convex).
COARSE_EDGES = 8
#: The unit square, counter-clockwise.
UNIT_SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])


def cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """z-component of u × v over the last axis (…, 2)."""
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def as_array(name: str, value, what: str) -> np.ndarray:
    """``value`` (a tensor or an array-like) as a float64 numpy array, or a TypeError naming ``name``."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}") from err


def convex_domain(domain) -> np.ndarray:
    """``domain`` (K, 2) vertices of a convex polygon (either orientation) as float64, counter-clockwise,
    or the unit square when None; raise naming ``domain`` if it is not a convex polygon of positive area."""
    if domain is None:
        return UNIT_SQUARE.copy()
    v = as_array("domain", domain, "the (K, 2) vertices of a convex polygon")
    if v.ndim != 2 or v.shape[1] != 2 or v.shape[0] < 3:
        raise ValueError(f"domain must be the (K, 2) vertices of a convex polygon, K >= 3, got shape {v.shape}")
    if not np.isfinite(v).all():
        raise ValueError("domain has NaN or infinite coordinates")
    if polygon_area(v) < 0:
        v = v[::-1].copy()
    turns = cross(np.roll(v, -1, 0) - v, np.roll(v, -2, 0) - np.roll(v, -1, 0))
    scale = np.abs(v - v.mean(0)).max() ** 2
    if polygon_area(v) <= 1e-12 * scale or (turns < -1e-12 * scale).any():
        raise ValueError("domain must be a convex polygon of positive area, its vertices in order around it")
    return v


def shoelace(P: np.ndarray, moments: bool = True):
    """Signed areas (N,) and (if ``moments``) first moments ∫ y dy (N, 2) of padded polygons P (N, M, 2)
    (positive when counter-clockwise): the shoelace formulas."""
    Q = np.roll(P, -1, axis=1)
    c = cross(P, Q)
    return c.sum(1) / 2, (((P + Q) * c[..., None]).sum(1) / 6 if moments else None)


def polygon_area(v: np.ndarray) -> float:
    """Signed area of one polygon (K, 2) (positive when counter-clockwise)."""
    return float(shoelace(v[None], moments=False)[0][0])


def compact(cand: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The candidates (N, L, 2) with ``keep`` (N, L) moved to the front in order, padded by repeating the
    last kept one (an empty row: copies of its first candidate); trimmed to the longest row."""
    order = np.argsort(~keep, axis=1, kind="stable")
    n_keep = keep.sum(1)
    width = max(int(n_keep.max()), 1)
    idx = np.minimum(np.arange(width)[None, :], np.maximum(n_keep - 1, 0)[:, None])
    rows = np.take_along_axis(order, idx, axis=1)
    return np.take_along_axis(cand, rows[..., None], axis=1)


def clip_polygons(P: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Padded convex polygons P (N, M, 2) intersected with the left of the line a → b (Sutherland–Hodgman)."""
    s = cross(b - a, P - a)
    Q, sq = np.roll(P, -1, axis=1), np.roll(s, -1, axis=1)
    inside, inside_q = s >= 0, sq >= 0
    crossing = inside != inside_q
    t = np.where(crossing, s / np.where(crossing, s - sq, 1.0), 0.0)
    X = P + t[..., None] * (Q - P)
    cand = np.stack([P, X], axis=2).reshape(P.shape[0], -1, 2)
    keep = np.stack([inside, crossing], axis=2).reshape(P.shape[0], -1)
    return compact(cand, keep)


def clip_to_convex(P: np.ndarray, domain: np.ndarray) -> np.ndarray:
    """Padded polygons P (N, M, 2) intersected with the convex counter-clockwise polygon ``domain``.

    Only the polygons not inside the domain's inscribed circle are clipped, each by the edges that cut it,
    one per round (:func:`clip_by_lines`): a domain of many edges, such as a disk, costs a few rounds, not
    one pass per edge. Polygons cut by more than ``COARSE_EDGES`` edges (unbounded cells closed far away)
    are first clipped by that many evenly spread edges."""
    centre, inradius = inscribed_circle(domain)
    rows = np.nonzero((np.linalg.norm(P - centre, axis=2) > inradius).any(1))[0]  # the others are inside
    if len(rows) == 0:
        return P
    a_all, b_all = domain, np.roll(domain, -1, 0)
    sub = P[rows]
    cuts = (cross((b_all - a_all)[None, None], sub[:, :, None, :] - a_all) < 0).any(1).sum(1)
    if cuts.max() > COARSE_EDGES:  # large polygons (unbounded cells cut far away): a few edges first
        for e in range(0, len(domain), max(1, len(domain) // COARSE_EDGES)):
            a, b = a_all[e], b_all[e]
            beyond = (cross(b - a, sub - a) < 0).any(1)
            if beyond.any():
                sub = replace_rows(sub, beyond, clip_polygons(sub[beyond], a, b))
    return replace_rows(P, rows, clip_by_lines(sub, a_all, b_all))


def clip_by_lines(P: np.ndarray, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Padded convex polygons P (N, M, 2), each intersected with the left of the lines A → B: (E, 2) shared
    by all, or (N, E, 2) one set per polygon. Each polygon meets only the lines that cut it, one per round,
    all polygons at once."""
    if A.ndim == 2:
        A, B = np.broadcast_to(A, (len(P),) + A.shape), np.broadcast_to(B, (len(P),) + B.shape)
    cuts = (cross((B - A)[:, None], P[:, :, None, :] - A[:, None]) < 0).any(1)  # (N, E)
    count = cuts.sum(1)
    order = np.argsort(~cuts, axis=1, kind="stable")  # each row's cutting lines first
    rows = np.arange(len(P))
    for r in range(int(count.max(initial=0))):
        active = count > r
        e = order[active, r]
        P = replace_rows(P, active, clip_polygons(P[active], A[rows[active], e][:, None], B[rows[active], e][:, None]))
    return P


def inscribed_circle(domain: np.ndarray):
    """A centre (the vertices' mean) and the radius of the largest circle around it inside the convex
    counter-clockwise ``domain``: points within it need no clipping."""
    centre = domain.mean(0)
    e = np.roll(domain, -1, 0) - domain
    dist = cross(e, centre - domain) / np.linalg.norm(e, axis=1)
    return centre, float(dist.min())


def replace_rows(P: np.ndarray, rows: np.ndarray, C: np.ndarray) -> np.ndarray:
    """P with the polygons ``rows`` replaced by C, both padded to the wider."""
    width = max(P.shape[1], C.shape[1])
    out = pad_polygons(P, width)
    out[rows] = pad_polygons(C, width)
    return out


def pad_polygons(P: np.ndarray, width: int) -> np.ndarray:
    """Padded polygons P (N, M, 2) widened to ``width`` >= M vertices by repeating the last."""
    return np.concatenate([P, np.repeat(P[:, -1:], width - P.shape[1], axis=1)], axis=1)


def clip_segments(p: np.ndarray, q: np.ndarray, domain: np.ndarray):
    """Cyrus–Beck: (t0, t1) (S,) with p + t (q - p) inside the convex ``domain`` for t in [t0, t1];
    t1 <= t0 when no part of the segment is inside (segments within the inscribed circle skip the loop)."""
    t0, t1 = np.zeros(len(p)), np.ones(len(p))
    centre, inradius = inscribed_circle(domain)
    near = np.nonzero((np.linalg.norm(p - centre, axis=1) > inradius) | (np.linalg.norm(q - centre, axis=1) > inradius))[0]
    p, q, s0, s1 = p[near], q[near], t0[near], t1[near]
    for a, b in zip(domain, np.roll(domain, -1, 0)):
        sp, sq = cross(b - a, p - a), cross(b - a, q - a)
        d = sq - sp
        with np.errstate(divide="ignore", invalid="ignore"):
            t = -sp / d
        s0 = np.where(d > 0, np.maximum(s0, t), s0)
        s1 = np.where(d < 0, np.minimum(s1, t), s1)
        s1 = np.where((d == 0) & (sp < 0), -1.0, s1)
    t0[near], t1[near] = s0, s1
    return t0, t1


def polygon_edges(P: np.ndarray):
    """The non-degenerate edges of padded polygons P (N, M, 2): (owner (E,), start (E, 2), end (E, 2))."""
    Q = np.roll(P, -1, axis=1)
    keep = (P != Q).any(-1)
    owner = np.broadcast_to(np.arange(P.shape[0])[:, None], keep.shape)[keep]
    return owner, P[keep], Q[keep]


@dataclass
class PixelDensity:
    """A density constant on each pixel of a box: ``values`` (n_x, n_y) >= 0 (axis 0 along x, as for
    :class:`otlab.core.Grid`), ``box`` ((x_0, x_1), (y_0, y_1))."""

    values: np.ndarray
    box: tuple

    @classmethod
    def uniform(cls, box) -> "PixelDensity":
        return cls(np.ones((1, 1)), box)

    def __post_init__(self):
        (x0, x1), (y0, y1) = self.box
        nx, ny = self.values.shape
        self.h = np.array([(x1 - x0) / nx, (y1 - y0) / ny])
        self.origin = np.array([x0, y0])
        X = x0 + self.h[0] * np.arange(nx + 1)
        # cumulative integrals from x_0 to the left edge of each pixel, per row: of ρ and of x ρ
        self.cum0 = np.concatenate([np.zeros((1, ny)), np.cumsum(self.values * self.h[0], 0)])[:-1]
        self.cum1 = np.concatenate([np.zeros((1, ny)),
                                    np.cumsum(self.values * ((X[1:] ** 2 - X[:-1] ** 2) / 2)[:, None], 0)])[:-1]
        self.left = X[:-1]

    def pieces(self, p: np.ndarray, q: np.ndarray):
        """Cut the segments p → q (S, 2) at the pixel lines: (segment id, start, end, pixel i, pixel j)."""
        if self.values.size == 1:
            zero = np.zeros(len(p), dtype=np.int64)
            return np.arange(len(p)), p, q, zero, zero
        u, v = (p - self.origin) / self.h, (q - self.origin) / self.h
        ts, ids = [np.zeros(len(p)), np.ones(len(p))], [np.arange(len(p))] * 2
        for axis, n in enumerate(self.values.shape):
            lo, hi = np.minimum(u[:, axis], v[:, axis]), np.maximum(u[:, axis], v[:, axis])
            first = np.clip(np.floor(lo) + 1, 1, n)
            count = np.maximum(np.clip(np.ceil(hi) - 1, 0, n - 1) - first + 1, 0).astype(np.int64)
            seg = np.repeat(np.arange(len(p)), count)
            offsets = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
            line = first[seg] + offsets
            ts.append((line - u[seg, axis]) / (v[seg, axis] - u[seg, axis]))
            ids.append(seg)
        t, seg = np.concatenate(ts), np.concatenate(ids)
        order = np.lexsort((t, seg))
        t, seg = t[order], seg[order]
        same = seg[1:] == seg[:-1]
        seg, t_a, t_b = seg[:-1][same], t[:-1][same], t[1:][same]
        d = q[seg] - p[seg]
        a, b = p[seg] + t_a[:, None] * d, p[seg] + t_b[:, None] * d
        cell = np.floor(((a + b) / 2 - self.origin) / self.h).astype(np.int64)
        i = np.clip(cell[:, 0], 0, self.values.shape[0] - 1)
        j = np.clip(cell[:, 1], 0, self.values.shape[1] - 1)
        return seg, a, b, i, j

    def _g0(self, pt, i, j):
        return self.cum0[i, j] + self.values[i, j] * (pt[:, 0] - self.left[i])

    def _g1(self, pt, i, j):
        return self.cum1[i, j] + self.values[i, j] * (pt[:, 0] ** 2 - self.left[i] ** 2) / 2

    def polygon_moments(self, P: np.ndarray):
        """Mass (N,) and first moments (N, 2) of ρ over the padded counter-clockwise polygons P."""
        if self.values.size == 1:  # uniform: the shoelace formulas
            area, moments = shoelace(P)
            return self.values[0, 0] * area, self.values[0, 0] * moments
        owner, p, q = polygon_edges(P)
        seg, a, b, i, j = self.pieces(p, q)
        m = (a + b) / 2
        dy = b[:, 1] - a[:, 1]
        g0a, g0m, g0b = self._g0(a, i, j), self._g0(m, i, j), self._g0(b, i, j)
        mass = (g0a + g0b) / 2 * dy
        mx = (self._g1(a, i, j) + 4 * self._g1(m, i, j) + self._g1(b, i, j)) / 6 * dy
        my = (a[:, 1] * g0a + 4 * m[:, 1] * g0m + b[:, 1] * g0b) / 6 * dy
        cell = owner[seg]
        n = P.shape[0]
        mass = np.bincount(cell, mass, minlength=n)
        moments = np.stack([np.bincount(cell, mx, minlength=n), np.bincount(cell, my, minlength=n)], -1)
        return mass, moments

    def segment_masses(self, p: np.ndarray, q: np.ndarray) -> np.ndarray:
        """The integrals of ρ along the segments p → q (S, 2), per unit length: (S,)."""
        seg, a, b, i, j = self.pieces(p, q)
        return np.bincount(seg, self.values[i, j] * np.linalg.norm(b - a, axis=1), minlength=len(p))
