r"""Convex polygons and segments intersected with disks, exactly: areas, first moments, arc lengths.

For a counter-clockwise polygon P (padded, as in :mod:`otlab.core.semidiscrete.polygons`) and a disk D of centre c
and radius r, put the origin at c and split P ∩ D into one piece per edge [a, b]: the region swept from
the origin over the edge, cut by the circle. Where the segment runs inside D (its parameters
:math:`[t_0, t_1]`, the roots of :math:`|a + t(b - a)|^2 = r^2` clipped to [0, 1]), the piece is the
triangle (0, p, q), :math:`p = a + t_0 (b - a)`, :math:`q = a + t_1 (b - a)`; where it runs outside, the
piece is the circular sector between the directions of its end points. With signed angles
:math:`\theta = \operatorname{atan2}(u \times v, u \cdot v)` from direction u to v,

.. math::
    |\text{sector}| = \tfrac12 r^2 \theta, \qquad
    \int_\text{sector} y\, dy = \tfrac{r^3}{3}\,(v_y - u_y,\ u_x - v_x) \ \ (u, v \text{ unit}), \qquad
    |\text{triangle}| = \tfrac12\, p \times q, \qquad \int_\text{triangle} y\, dy = |\text{triangle}|\,\tfrac{p + q}{3},

and the signed sum over the edges is the area and first moment of P ∩ D (Green's theorem: the sectors of
edge parts outside D add up to the arcs of the circle inside P, whichever side of P the centre lies).
The arc length of the circle inside P is :math:`r \sum \theta` over the sectors. The same split
draws the outline of P ∩ D (:func:`outlines`): per edge, the arc over its outside part before p, the
segment [p, q], the arc after q. All float64 numpy, vectorised over polygons and edges.
"""
from __future__ import annotations

import numpy as np

from .polygons import cross


def segments_in_disks(p: np.ndarray, q: np.ndarray, centres: np.ndarray, radii: np.ndarray):
    """Parameters (t0, t1), each (E,), of the part of each segment p + t (q - p), t ∈ [0, 1], inside the disk
    of its centre (E, 2) and radius (E,); t0 == t1 when the segment misses the disk."""
    a, d = p - centres, q - p
    dd = (d * d).sum(-1)
    ad = (a * d).sum(-1)
    disc = ad ** 2 - dd * ((a * a).sum(-1) - radii ** 2)
    root = np.sqrt(np.maximum(disc, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = np.where(dd > 0, (-ad - root) / dd, 0.0)
        hi = np.where(dd > 0, (-ad + root) / dd, 0.0)
    t0 = np.clip(lo, 0.0, 1.0)
    t1 = np.clip(hi, 0.0, 1.0)
    miss = (disc <= 0) | (t1 <= t0)
    return np.where(miss, 0.0, t0), np.where(miss, 0.0, t1)


def _sector(u: np.ndarray, v: np.ndarray, r: np.ndarray):
    """Signed angle (…,), area and first moment (…, 2) of the sector of radius r from direction u to v."""
    theta = np.arctan2(cross(u, v), (u * v).sum(-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        uu = np.nan_to_num(u / np.linalg.norm(u, axis=-1, keepdims=True))
        vv = np.nan_to_num(v / np.linalg.norm(v, axis=-1, keepdims=True))
    moment = (r ** 3 / 3)[..., None] * np.stack([vv[..., 1] - uu[..., 1], uu[..., 0] - vv[..., 0]], -1)
    return theta, 0.5 * r ** 2 * theta, np.where((theta != 0)[..., None], moment, 0.0)


#: Polygons with at most this many vertices are integrated apart from the wider ones (less padding).
NARROW = 12


def polygons_in_disks(P: np.ndarray, centres: np.ndarray, radii: np.ndarray):
    """Area (N,), first moment ∫ y dy (N, 2) and inner arc length (N,) of each padded counter-clockwise
    polygon P (N, M, 2) intersected with the disk of its centre (N, 2) and radius (N,) >= 0."""
    if P.shape[1] > NARROW:  # the padded tail repeats the last vertex: a narrow row loses nothing when cut
        narrow = (P[:, NARROW - 1:] == P[:, -1:]).all((1, 2))
        if narrow.any() and not narrow.all():
            area, moment, arc = np.empty(len(P)), np.empty((len(P), 2)), np.empty(len(P))
            for rows, Q in ((narrow, P[narrow, :NARROW]), (~narrow, P[~narrow])):
                area[rows], moment[rows], arc[rows] = _in_disks(Q, centres[rows], radii[rows])
            return area, moment, arc
    return _in_disks(P, centres, radii)


def _edges_in_disks(P: np.ndarray, centres: np.ndarray, radii: np.ndarray):
    """Each polygon's edges [a, b] relative to its centre (N, M, 2) each, its radius broadcast (N, M), and
    the parameters (t0, t1) (N, M) of the edges' parts inside the disks."""
    n, m, _ = P.shape
    a = P - centres[:, None, :]
    b = np.roll(a, -1, axis=1)
    r = np.broadcast_to(radii[:, None], (n, m))
    t0, t1 = segments_in_disks(a.reshape(-1, 2), b.reshape(-1, 2), np.zeros((n * m, 2)), r.reshape(-1))
    return a, b, r, t0.reshape(n, m), t1.reshape(n, m)


def _in_disks(P: np.ndarray, centres: np.ndarray, radii: np.ndarray):
    a, b, r, t0, t1 = _edges_in_disks(P, centres, radii)
    d = b - a
    inside = t1 > t0
    p = np.where(inside[..., None], a + t0[..., None] * d, b)  # a missed edge is one sector, a → b
    q = np.where(inside[..., None], a + t1[..., None] * d, b)
    th1, area1, mom1 = _sector(a, p, r)
    th2, area2, mom2 = _sector(q, b, r)
    tri = 0.5 * cross(p, q)
    area = (area1 + area2 + tri).sum(1)
    moment = (mom1 + mom2 + tri[..., None] * (p + q) / 3).sum(1) + area[:, None] * centres
    arc = radii * (th1 + th2).sum(1)
    return np.maximum(area, 0.0), moment, np.maximum(arc, 0.0)


def outlines(P: np.ndarray, centres: np.ndarray, radii: np.ndarray, arc_points: int = 8) -> np.ndarray:
    """The boundaries of P ∩ disk (N, M·(2·arc_points + 2), 2), counter-clockwise, as padded polygons with
    repeated vertices (drop them before drawing): each edge's outside parts become ``arc_points`` points on
    the circle each (see the module docstring)."""
    n = len(P)
    a, b, r, t0, t1 = _edges_in_disks(P, centres, radii)
    inside = (t1 > t0)[..., None]

    def onto_disk(u):  # points outside the circle brought onto it, radially
        with np.errstate(divide="ignore", invalid="ignore"):
            return u * np.nan_to_num(np.minimum(1.0, r / np.linalg.norm(u, axis=-1)), nan=1.0)[..., None]

    p = np.where(inside, a + t0[..., None] * (b - a), onto_disk(b))  # a missed edge: b brought onto the circle
    q = np.where(inside, a + t1[..., None] * (b - a), onto_disk(b))
    s = np.linspace(0, 1, arc_points)

    def arc(u, v):  # points from direction u to direction v on the circle; no sweep: u, kept in the disk
        start = np.arctan2(u[..., 1], u[..., 0])
        sweep = np.arctan2(cross(u, v), (u * v).sum(-1))
        angle = start[..., None] + sweep[..., None] * s
        pts = r[..., None, None] * np.stack([np.cos(angle), np.sin(angle)], -1)
        return np.where((np.abs(sweep) > 0)[..., None, None], pts, onto_disk(u)[..., None, :])

    pieces = [arc(a, p), p[..., None, :], q[..., None, :], arc(q, b)]
    return np.concatenate(pieces, axis=2).reshape(n, -1, 2) + centres[:, None, :]
