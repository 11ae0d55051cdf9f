r"""Power (Laguerre) diagrams in the plane, exact: cells, areas, centroids, neighbours.

For sites :math:`x_i \in \mathbb{R}^2` and weights :math:`w_i`, the cell of site i is

.. math::
    \mathrm{Lag}_i(w) = \{ y \in \Omega : |y - x_i|^2 - w_i \le |y - x_j|^2 - w_j \ \ \forall j \},

a convex polygon, possibly empty (adding one constant to every weight changes nothing). Lifting each site
to :math:`(x_i, |x_i|^2 - w_i) \in \mathbb{R}^3`, the lower convex hull of the lifted points is the
regular triangulation dual to the diagram: each lower facet, the plane
:math:`z = 2\,p \cdot x + c` through three lifted sites, gives a vertex p of the diagram (equal power
:math:`|p - x_i|^2 - w_i` to its three sites), and each cell is the convex polygon of the vertices of
the facets around its site. Eight dummy sites far outside (at radii of 4r to 4.6r for data within r of
the domain's centre, weight above every real one, so they never win inside Ω) make every real cell
bounded. Cells are then clipped to the convex domain Ω (:mod:`otlab.core.semidiscrete.polygons`); the edge shared by
sites i and j (a segment between two facet vertices) is clipped to Ω too, its length is
:math:`\ell_{ij}`.

With a density ρ on Ω (piecewise constant on the pixels of an image), the **masses** are
:math:`\mu_i = \int_{\mathrm{Lag}_i} \rho / \int_\Omega \rho` and the **edge masses**
:math:`\int_{\mathrm{Lag}_i \cap \mathrm{Lag}_j} \rho\, ds / \int_\Omega \rho` (uniform ρ: areas and
lengths over the area of Ω). These enter the Hessian of :mod:`otlab.core.semidiscrete.transport`.

**Void** (``void`` = :math:`w_0`, a phase of constant cost 0 and weight :math:`w_0`): a point belongs to
no cell where :math:`|y - x_i|^2 - w_i > -w_0` for every i, so each cell is its power cell intersected
with the disk of radius :math:`r_i = \sqrt{(w_i - w_0)_+}` around its site (cells of particles with
free space around them; :mod:`otlab.core.semidiscrete.disk_clipping`, exact, uniform density only). ``arcs`` (N,)
are the lengths of the circles inside the cells, where the cells meet the void.

**Periodic** (``periodic=True``, an axis-aligned rectangular domain): the diagram on the torus, from the
sites and their eight translates by the periods; cells are those of the original sites, in unwrapped
coordinates (they may stick out of the box; centroids too), each torus edge listed once, with
``edge_vectors`` the shortest image of :math:`x_j - x_i` across it.

Qhull (scipy.spatial) computes the hull; everything else is vectorised numpy in float64, on the CPU.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import List, Optional

import numpy as np
import torch
from scipy.spatial import ConvexHull, QhullError

from .. import checks
from .disk_clipping import outlines, polygons_in_disks, segments_in_disks
from .polygons import (PixelDensity, as_array, clip_polygons, clip_segments, clip_to_convex, convex_domain,
                       polygon_area, replace_rows, shoelace)

#: Dummy sites on the far circle.
N_DUMMIES = 8
#: Points per arc piece when a void cell's outline is drawn (``PowerDiagram.polygons``).
ARC_POINTS = 8


@dataclass
class PowerDiagram:
    """The power diagram of N sites clipped to a convex domain (torch float64 tensors, CPU).

    ``areas`` (N,) and ``centroids`` (N, 2) of the cells (centroids of ρ when a density is given; an
    empty cell's centroid is its site); ``masses`` (N,) the cells' fractions of the density's mass
    (uniform: areas / area of the domain); ``neighbours`` (E, 2) site pairs (i < j) sharing an edge of
    positive length, ``edge_lengths`` (E,) and ``edge_masses`` (E,) (∫ρ ds over the edge, over ∫_Ω ρ);
    ``edge_vectors`` (E, 2) :math:`x_j - x_i` (periodic: the image across the edge);
    ``vertices`` (N, M, 2) the power cells as padded counter-clockwise polygons (see ``polygons``);
    ``void`` the void's weight :math:`w_0` (None: no void) and ``arcs`` (N,) the cells' borders with it."""

    sites: torch.Tensor
    weights: torch.Tensor
    domain: torch.Tensor
    areas: torch.Tensor
    centroids: torch.Tensor
    masses: torch.Tensor
    neighbours: torch.Tensor
    edge_lengths: torch.Tensor
    edge_masses: torch.Tensor
    vertices: torch.Tensor
    edge_vectors: torch.Tensor
    void: Optional[float] = None
    arcs: Optional[torch.Tensor] = None
    periodic: bool = False

    @property
    def radii(self) -> Optional[torch.Tensor]:
        r"""(N,) radii :math:`\sqrt{(w_i - w_0)_+}` of the disks bounding the cells (None without a void)."""
        return None if self.void is None else (self.weights - self.void).clamp_min(0).sqrt()

    @property
    def polygons(self) -> List[torch.Tensor]:
        """Each cell's vertices (k_i, 2), counter-clockwise, repeated vertices dropped (k_i = 0: empty); with
        a void, the arcs as ``ARC_POINTS`` points per piece."""
        V, n = self.vertices.numpy(), len(self.sites)
        groups = [(np.arange(n), V)]
        if self.void is not None:  # the cells reaching out of their disks: arcs where they meet the void
            x, r = self.sites.numpy(), self.radii.numpy()
            out = (np.linalg.norm(V - x[:, None], axis=2) > r[:, None]).any(1)
            rows = np.nonzero(out)[0]
            groups = [(np.nonzero(~out)[0], V[~out]), (rows, outlines(V[rows], x[rows], r[rows], ARC_POINTS))]
        cells: List[torch.Tensor] = [None] * n
        nonempty = self.areas.numpy() > 0
        for ids, P in groups:  # each group at its own width: the arcs' many points do not pad every cell
            keep = (P != np.roll(P, 1, axis=1)).any(-1) & nonempty[ids][:, None]
            for i, cell in zip(ids, torch.split(torch.from_numpy(P[keep]), keep.sum(1).tolist())):
                cells[i] = cell
        return cells


def as_sites(sites) -> np.ndarray:
    """``sites`` as an (N, 2) float64 array of finite, distinct points, or raise naming ``sites``."""
    x = as_array("sites", sites, "an (N, 2) array of points")
    if x.ndim != 2 or x.shape[1] != 2 or x.shape[0] < 1:
        raise ValueError(f"sites must be an (N, 2) array of points, N >= 1, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("sites has NaN or infinite coordinates")
    uniq = np.unique(x, axis=0)
    if len(uniq) < len(x):
        raise ValueError(f"sites must be distinct: {len(x) - len(uniq)} duplicated point(s)")
    return x


def as_site_weights(weights, n: int) -> np.ndarray:
    """``weights`` (N,) finite float64 (zeros when None), or raise naming ``weights``."""
    if weights is None:
        return np.zeros(n)
    w = as_array("weights", weights, f"an array of {n} numbers")
    if w.shape != (n,):
        raise ValueError(f"weights must have shape ({n},), one per site, got {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError("weights has NaN or infinite values")
    return w


def as_pixel_density(density, domain: np.ndarray) -> PixelDensity:
    """``density`` (n_x, n_y) >= 0 on the bounding box of ``domain`` (axis 0 along x), uniform when None."""
    box = ((domain[:, 0].min(), domain[:, 0].max()), (domain[:, 1].min(), domain[:, 1].max()))
    if density is None:
        return PixelDensity.uniform(box)
    rho = as_array("density", density, "an (n_x, n_y) image")
    if rho.ndim != 2 or min(rho.shape) < 1:
        raise ValueError(f"density must be an (n_x, n_y) image (axis 0 along x), got shape {rho.shape}")
    if not np.isfinite(rho).all() or (rho < 0).any():
        raise ValueError("density must be finite and >= 0 everywhere")
    return PixelDensity(rho, box)


def _facets(x: np.ndarray, w: np.ndarray, centre: np.ndarray, radius: float):
    """Lower facets of the lifted sites plus dummies: triangles (T, 3) of site ids, their vertices in the
    plane (T, 2), and their neighbours (T, 3) (the facet across the edge opposite each corner; -1: none)."""
    k = np.arange(N_DUMMIES)
    angles = 2 * np.pi * k / N_DUMMIES + 0.1 * np.sqrt(k)  # irregular: co-circular dummies would lift to
    radii = 4 * radius * (1 + 0.05 * np.sqrt(k + 1))      # coplanar points, which Qhull merges slowly
    dummies = centre + radii[:, None] * np.stack([np.cos(angles), np.sin(angles)], 1)
    pts = np.concatenate([x, dummies]) - centre
    shifted = w - w.max()  # the diagram ignores a common shift; dummies get weight 0 >= every real one
    lift = (pts ** 2).sum(1) - np.concatenate([shifted, np.zeros(N_DUMMIES)])
    try:
        hull = ConvexHull(np.column_stack([pts, lift]))
    except QhullError as err:  # pragma: no cover - the dummies make the lifted set full-dimensional
        raise ValueError(f"the power diagram of these sites could not be built: {err}") from err
    lower = hull.equations[:, 2] < 0
    eq = hull.equations[lower]
    renumber = np.full(len(lower) + 1, -1)
    renumber[:-1][lower] = np.arange(int(lower.sum()))
    return hull.simplices[lower], centre - eq[:, :2] / (2 * eq[:, 2:3]), renumber[hull.neighbors[lower]]


def _cells(tri: np.ndarray, vert: np.ndarray, n: int, x: np.ndarray) -> np.ndarray:
    """Cells of the real sites as padded counter-clockwise polygons (N, M, 2), before clipping."""
    site, facet = tri.ravel(), np.repeat(np.arange(len(tri)), 3)
    real = site < n
    site, facet = site[real], facet[real]
    count = np.bincount(site, minlength=n)
    mean = np.stack([np.bincount(site, vert[facet, k], minlength=n) for k in range(2)], 1) / np.maximum(count, 1)[:, None]
    rel = vert[facet] - mean[site]
    order = np.argsort(site + (np.arctan2(rel[:, 1], rel[:, 0]) + np.pi) / (2 * np.pi + 1e-9))
    start = np.cumsum(count) - count
    width = max(int(count.max()), 1)
    idx = start[:, None] + np.minimum(np.arange(width)[None, :], np.maximum(count - 1, 0)[:, None])
    P = vert[facet[order]][np.minimum(idx, len(order) - 1)]
    P[count == 0] = x[count == 0][:, None, :]  # hidden site: empty cell
    return P


def _edges(tri: np.ndarray, vert: np.ndarray, nbr: np.ndarray, n: int, domain: np.ndarray):
    """Pairs (i, j) of real sites sharing a facet edge and the edge's end points clipped to the domain:
    the edge opposite corner k of facet t joins facets t and nbr[t, k] (each pair taken once, t < nbr)."""
    t, k = np.nonzero(nbr > np.arange(len(tri))[:, None])
    ij = np.sort(np.stack([tri[t, (k + 1) % 3], tri[t, (k + 2) % 3]], 1), 1)
    real = ij[:, 1] < n
    ij, p, q = ij[real], vert[t[real]], vert[nbr[t[real], k[real]]]
    t0, t1 = clip_segments(p, q, domain)
    inside = t1 > t0
    d = q - p
    return ij[inside], p[inside] + t0[inside, None] * d[inside], p[inside] + t1[inside, None] * d[inside]


def _periodic_copies(x: np.ndarray, domain: np.ndarray, band: float):
    """The sites and those of their translates by the periods of the rectangle ``domain`` that land within
    ``band`` of it (the originals first): points (P, 2), the site (P,) and the index in ``SHIFTS`` (P,)
    of each."""
    lo, hi = domain.min(0), domain.max(0)
    points, origin, index = [], [], []
    for k, s in enumerate(np.array(SHIFTS)):
        y = x + s * (hi - lo)
        near = np.nonzero(((y >= lo - band) & (y < hi + band)).all(1))[0]
        points.append(y[near])
        origin.append(near)
        index.append(np.full(len(near), k))
    return np.concatenate(points), np.concatenate(origin), np.concatenate(index)


#: Translates by the periods, the identity first; those after ``SHIFTS[4]`` are the "positive half".
#: Translates are kept within this fraction of the shorter period around the box; a cell reaching farther
#: than half of it from its site makes the diagram take every translate.
PERIODIC_BAND = 0.25
SHIFTS = [(0, 0)] + [s for s in product((-1, 0, 1), repeat=2) if s != (0, 0)]


def _torus_cells(x: np.ndarray, w: np.ndarray, domain: np.ndarray, band: float):
    """The sites with their translates within ``band`` of the rectangle (see :func:`_periodic_copies`),
    the facets of their diagram, and the cells (n, M, 2) of the originals (unclipped: translates bound them)."""
    X, origin, shift = _periodic_copies(x, domain, band)
    centre = domain.mean(0)
    radius = max(np.linalg.norm(3 * (domain - centre), axis=1).max(), np.linalg.norm(X - centre, axis=1).max())
    tri, vert, nbr = _facets(X, w[origin], centre, radius)
    return X, origin, shift, tri, vert, nbr, _cells(tri, vert, len(X), X)[:len(x)]


def _clip_to_boxes(P: np.ndarray, x: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Padded polygons P (N, M, 2) clipped to the squares [x_i - r_i, x_i + r_i]^2 (a little wider); only
    the polygons reaching out of their square are touched."""
    h = 1.001 * r + 1e-12
    rows = np.nonzero((np.abs(P - x[:, None]) > h[:, None, None]).any((1, 2)))[0]
    if len(rows) == 0:
        return P
    C, c, hr = P[rows], x[rows], h[rows, None]
    for corner, direction in (((-1, -1), (1, 0)), ((1, -1), (0, 1)), ((1, 1), (-1, 0)), ((-1, 1), (0, -1))):
        a = c + hr * np.array(corner)
        C = clip_polygons(C, a[:, None], (a + np.array(direction))[:, None])
    return replace_rows(P, rows, C)


def _is_rectangle(domain: np.ndarray) -> bool:
    """Whether the convex polygon ``domain`` is an axis-aligned rectangle."""
    lo, hi = domain.min(0), domain.max(0)
    return bool(np.isclose(polygon_area(domain), np.prod(hi - lo), rtol=1e-9))


def evaluate(x: np.ndarray, w: np.ndarray, domain: np.ndarray, rho: PixelDensity,
             domain_mass: Optional[float] = None, void: Optional[float] = None,
             periodic: bool = False) -> PowerDiagram:
    """The :class:`PowerDiagram` of checked numpy inputs (see :func:`power_diagram`)."""
    n = len(x)
    centre = domain.mean(0)
    radii = None if void is None else np.sqrt(np.maximum(w - void, 0.0))  # of the disks bounding the cells
    if periodic:
        band = PERIODIC_BAND * (domain.max(0) - domain.min(0)).min()
        X, origin, shift, tri, vert, nbr, P = _torus_cells(x, w, domain, band)
        if np.linalg.norm(P - x[:, None], axis=2).max() >= band / 2:  # a cell may miss a copy: take them all
            X, origin, shift, tri, vert, nbr, P = _torus_cells(x, w, domain, np.inf)
        clip_box = centre + 3 * (domain - centre)
    else:
        X, clip_box = x, domain
        radius = max(np.linalg.norm(domain - centre, axis=1).max(), np.linalg.norm(x - centre, axis=1).max())
        tri, vert, nbr = _facets(x, w, centre, radius)
        P = _cells(tri, vert, n, x)
        if void is not None:  # the void's disks bound the cells: clip to their boxes before the domain
            P = _clip_to_boxes(P, x, radii)
        P = clip_to_convex(P, domain)
    if domain_mass is None:
        domain_mass = float(rho.polygon_moments(domain[None])[0][0])
    ij, p, q = _edges(tri, vert, nbr, len(X), clip_box)
    vectors = X[ij[:, 1]] - X[ij[:, 0]]
    if periodic:  # each torus edge once: original-original, or original-copy with i < j (i == j: half the shifts)
        i, j = ij[:, 0], origin[ij[:, 1]]
        keep = (ij[:, 0] < n) & ((i < j) | ((i == j) & (shift[ij[:, 1]] > 4)))
        ij, p, q, vectors = np.stack([i, j], 1)[keep], p[keep], q[keep], vectors[keep]
    arcs = None
    if void is None:
        area = np.maximum(shoelace(P, moments=False)[0], 0.0)
        mass, moments = rho.polygon_moments(P)
    else:
        area, moments, arcs = polygons_in_disks(P, x, radii)
        mass = area * (domain_mass / polygon_area(domain))
        t0, t1 = segments_in_disks(p, q, x[ij[:, 0]], radii[ij[:, 0]])
        p, q = p + t0[:, None] * (q - p), p + t1[:, None] * (q - p)
    with np.errstate(divide="ignore", invalid="ignore"):
        centroids = np.where(mass[:, None] > 0, moments / mass[:, None], x)
    lengths = np.linalg.norm(q - p, axis=1)
    keep = lengths > 0
    ij, p, q, lengths, vectors = ij[keep], p[keep], q[keep], lengths[keep], vectors[keep]
    t = torch.from_numpy
    return PowerDiagram(t(x), t(w), t(domain), t(area), t(centroids), t(np.maximum(mass, 0.0) / domain_mass), t(ij),
                        t(lengths), t(rho.segment_masses(p, q) / domain_mass), t(P), t(vectors), void,
                        None if arcs is None else t(arcs), periodic)


def power_diagram(sites, weights=None, *, domain=None, density=None, void=None, periodic=False) -> PowerDiagram:
    r"""The power diagram of ``sites`` with ``weights``, clipped to a convex ``domain`` (exact, 2D).

    Args:
        sites: (N, 2) distinct points (tensor or array).
        weights: (N,) the :math:`w_i` of :math:`|y - x_i|^2 - w_i` (zeros, the Voronoi diagram, when None).
        domain: (K, 2) vertices of a convex polygon, either orientation (default the unit square).
        density: optional (n_x, n_y) image >= 0 on the domain's bounding box (axis 0 along x), constant on
            each pixel, for ``masses``, ``edge_masses`` and density centroids; uniform when None.
        void: the weight :math:`w_0` of a void phase (cells within :math:`\sqrt{w_i - w_0}` of their
            sites; uniform density only), or None.
        periodic: the diagram on the torus of a rectangular ``domain`` (sites inside it).

    Returns:
        :class:`PowerDiagram` (areas, centroids, masses, neighbours, edge lengths, polygons).
    """
    x = as_sites(sites)
    w = as_site_weights(weights, len(x))
    dom = convex_domain(domain)
    void, periodic = check_void_periodic(void, periodic, density, dom, x)
    return evaluate(x, w, dom, as_pixel_density(density, dom), void=void, periodic=periodic)


def check_void_periodic(void, periodic, density, domain: np.ndarray, x: np.ndarray):
    """``void`` as a float or None and ``periodic`` as a bool, or raise naming the argument: a void needs a
    uniform density; a periodic diagram a rectangular domain holding every site."""
    if void is not None:
        void = checks.real_number("void", void)
        if density is not None:
            raise ValueError("void needs a uniform density (density=None)")
    if checks.flag("periodic", periodic):
        if not _is_rectangle(domain):
            raise ValueError("periodic=True needs a domain that is an axis-aligned rectangle")
        lo, hi = domain.min(0), domain.max(0)
        if ((x < lo) | (x >= hi)).any():
            raise ValueError("periodic=True needs every site inside the domain (wrap them first)")
    return void, periodic


def domain_area(domain=None) -> float:
    """Area of a convex ``domain`` (as in :func:`power_diagram`)."""
    return polygon_area(convex_domain(domain))
