r"""Triangle meshes for the 3D demos: shapes made by code, uploads parsed and checked, surface sampling.

A mesh is ``(vertices (V, 3) float64, faces (F, 3) int64)``. Shapes made here (nothing is downloaded):
``sphere``, ``torus``, ``cube``, ``bunny`` (a bunny-like body: a bumpy ellipsoid with a head and two
ears) and ``vertebra`` (a vertebra-like bone: a body, a ring and three processes) — the last two are
unions of closed parametric surfaces, enough for surface samples. Uploads (``.obj``, ``.stl`` ASCII or
binary, ``.ply`` ASCII or binary little/big endian, legacy ``.vtk`` ASCII POLYDATA) are parsed by the
small readers below, never by evaluating anything from the file; a file that is too large, has too many
vertices, is malformed or has no triangle gets a :class:`MeshError` naming the problem. Polygons with
more than three corners are split into fans.

:func:`sample_surface` draws points uniformly on the surface: a face with probability proportional to
its area :math:`\tfrac12 |(b - a) \times (c - a)|`, then a uniform point in it,
:math:`a + u (b - a) + v (c - a)` with :math:`(u, v)` folded into the triangle. :func:`normalise` centres
a cloud and scales it into the box [-1, 1]^3 (largest extent 2·``size``).
"""
from __future__ import annotations

import re
import struct
from typing import Callable, Dict, Tuple

import numpy as np

Mesh = Tuple[np.ndarray, np.ndarray]
#: upload limits: bytes and vertices
MAX_BYTES = 20 * 1024 * 1024
MAX_VERTICES = 500_000
EXTENSIONS = (".obj", ".stl", ".ply", ".vtk")


class MeshError(ValueError):
    """An upload that is not a usable triangle mesh; the message says why."""


# -- shapes made by code ------------------------------------------------------------------------------------
def _grid_surface(fn: Callable[[np.ndarray, np.ndarray], np.ndarray], nu: int, nv: int,
                  wrap_u: bool, wrap_v: bool) -> Mesh:
    """Triangulate the parametric surface ``fn(u, v) -> (…, 3)`` on [0, 1)² (wrapped axes: periodic)."""
    u = np.arange(nu) / nu if wrap_u else np.linspace(0, 1, nu)
    v = np.arange(nv) / nv if wrap_v else np.linspace(0, 1, nv)
    U, V = np.meshgrid(u, v, indexing="ij")
    verts = fn(U, V).reshape(-1, 3)
    i, j = np.meshgrid(np.arange(nu if wrap_u else nu - 1), np.arange(nv if wrap_v else nv - 1), indexing="ij")
    i2, j2 = (i + 1) % nu, (j + 1) % nv
    a, b, c, d = i * nv + j, i2 * nv + j, i2 * nv + j2, i * nv + j2
    faces = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)])
    return verts, faces.astype(np.int64)


def ellipsoid(centre=(0, 0, 0), radii=(1, 1, 1), bumps: float = 0.0, n: int = 48) -> Mesh:
    """An ellipsoid (optionally with smooth radial bumps of relative height ``bumps``)."""
    def fn(U, V):
        theta, phi = np.pi * (0.02 + 0.96 * V), 2 * np.pi * U  # poles left open: no degenerate faces
        r = 1 + bumps * np.sin(3 * theta) * np.cos(2 * phi)
        d = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], -1)
        return np.asarray(centre) + (r[..., None] * d) * np.asarray(radii)
    return _grid_surface(fn, n, n // 2, True, False)


def torus(R: float = 0.65, r: float = 0.3, n: int = 64) -> Mesh:
    def fn(U, V):
        a, b = 2 * np.pi * U, 2 * np.pi * V
        return np.stack([(R + r * np.cos(b)) * np.cos(a), (R + r * np.cos(b)) * np.sin(a), r * np.sin(b)], -1)
    return _grid_surface(fn, n, n // 2, True, True)


def cube(n: int = 12) -> Mesh:
    """The surface of [-0.8, 0.8]^3, each face an n × n grid."""
    parts = []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            def fn(U, V, axis=axis, sign=sign):
                coords = [1.6 * U - 0.8, 1.6 * V - 0.8]
                coords.insert(axis, np.full_like(U, 0.8 * sign))
                return np.stack(coords, -1)
            parts.append(_grid_surface(fn, n, n, False, False))
    return union(parts)


def union(parts) -> Mesh:
    """The meshes side by side (faces renumbered)."""
    verts, faces, offset = [], [], 0
    for v, f in parts:
        verts.append(v)
        faces.append(f + offset)
        offset += len(v)
    return np.concatenate(verts), np.concatenate(faces)


def bunny() -> Mesh:
    """A bunny-like body: a bumpy ellipsoid, a head and two long ears."""
    return union([ellipsoid((0, 0, -0.2), (0.75, 0.55, 0.5), bumps=0.05),
                  ellipsoid((0.55, 0, 0.25), (0.35, 0.3, 0.3)),
                  ellipsoid((0.6, -0.12, 0.75), (0.08, 0.06, 0.32), n=24),
                  ellipsoid((0.6, 0.12, 0.75), (0.08, 0.06, 0.32), n=24)])


def vertebra() -> Mesh:
    """A vertebra-like bone: a cylindrical body, the ring of the canal behind it, three processes."""
    return union([ellipsoid((0, 0.35, 0), (0.45, 0.35, 0.28)),
                  torus(0.32, 0.09),
                  ellipsoid((0, -0.62, -0.05), (0.08, 0.3, 0.1), n=24),
                  ellipsoid((0.55, -0.15, 0), (0.3, 0.08, 0.08), n=24),
                  ellipsoid((-0.55, -0.15, 0), (0.3, 0.08, 0.08), n=24)])


SHAPES: Dict[str, Callable[[], Mesh]] = {
    "sphere": lambda: ellipsoid(n=64), "torus": torus, "cube": cube, "bunny": bunny, "vertebra": vertebra,
}


# -- sampling -------------------------------------------------------------------------------------------------
def face_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    return 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)


def sample_surface(mesh: Mesh, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points (n, 3) uniform on the surface (see the module docstring)."""
    vertices, faces = mesh
    area = face_areas(vertices, faces)
    pick = rng.choice(len(faces), size=n, p=area / area.sum())
    u, v = rng.random(n), rng.random(n)
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    a, b, c = (vertices[faces[pick, k]] for k in range(3))
    return a + u[:, None] * (b - a) + v[:, None] * (c - a)


def normalise(points: np.ndarray, size: float = 0.8) -> np.ndarray:
    """Centred (bounding-box centre at 0) and scaled so that the largest extent is 2·size."""
    lo, hi = points.min(0), points.max(0)
    return (points - (lo + hi) / 2) * (2 * size / max(float((hi - lo).max()), 1e-12))


def shape_points(name: str, n: int, seed: int) -> np.ndarray:
    """n points on the named shape, normalised, as float32."""
    if name not in SHAPES:
        raise ValueError(f"shape must be one of {sorted(SHAPES)}, got {name!r}")
    return normalise(sample_surface(SHAPES[name](), n, np.random.default_rng(seed))).astype(np.float32)


# -- uploads --------------------------------------------------------------------------------------------------
def parse_mesh(data: bytes, filename: str) -> Mesh:
    """The triangle mesh in an uploaded file (see the module docstring), or a :class:`MeshError`."""
    name = (filename or "").lower()
    ext = next((e for e in EXTENSIONS if name.endswith(e)), None)
    if ext is None:
        raise MeshError(f"unsupported file {filename!r}: expected one of {', '.join(EXTENSIONS)}")
    if len(data) > MAX_BYTES:
        raise MeshError(f"the file is {len(data) / 2 ** 20:.1f} MB; at most {MAX_BYTES // 2 ** 20} MB")
    if not data:
        raise MeshError("the file is empty")
    try:
        vertices, faces = {".obj": _obj, ".stl": _stl, ".ply": _ply, ".vtk": _vtk}[ext](data)
    except MeshError:
        raise
    except (ValueError, IndexError, KeyError, struct.error, UnicodeDecodeError) as err:
        raise MeshError(f"could not read {filename!r} as {ext[1:].upper()}: {err}") from err
    return _checked(np.asarray(vertices, dtype=np.float64).reshape(-1, 3), faces)


def _checked(vertices: np.ndarray, faces) -> Mesh:
    if len(vertices) == 0:
        raise MeshError("the mesh has no vertices")
    if len(vertices) > MAX_VERTICES:
        raise MeshError(f"the mesh has {len(vertices):,} vertices; at most {MAX_VERTICES:,}")
    if not np.isfinite(vertices).all():
        raise MeshError("the mesh has NaN or infinite coordinates")
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if len(faces) == 0:
        raise MeshError("the mesh has no faces (triangles or polygons)")
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise MeshError("a face refers to a vertex that does not exist")
    if not face_areas(vertices, faces).sum() > 0:
        raise MeshError("the mesh's faces have no area")
    return vertices, faces


def _fan(polygon) -> list:
    """A polygon's corner indices as triangles (a fan from the first corner)."""
    if len(polygon) < 3:
        raise MeshError(f"a face has {len(polygon)} corners; at least 3 are needed")
    return [(polygon[0], polygon[k], polygon[k + 1]) for k in range(1, len(polygon) - 1)]


def _obj(data: bytes) -> Mesh:
    vertices, faces = [], []
    for line in data.decode("utf-8", errors="strict").splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "v":
            vertices.append([float(t) for t in parts[1:4]])
        elif parts[0] == "f":  # "f 1/2/3 4//6 -1": 1-based, negative counts from the end
            idx = [int(t.split("/")[0]) for t in parts[1:]]
            faces += _fan([i - 1 if i > 0 else len(vertices) + i for i in idx])
    return np.array(vertices), faces


def _stl(data: bytes) -> Mesh:
    if data[:5].lower() == b"solid" and b"facet" in data[:1000]:
        numbers = re.findall(rb"vertex\s+(\S+)\s+(\S+)\s+(\S+)", data)
        tri = np.array(numbers, dtype=np.float64).reshape(-1, 3, 3)
    else:
        if len(data) < 84:
            raise MeshError("the binary STL is shorter than its 84-byte header")
        count = struct.unpack_from("<I", data, 80)[0]
        if len(data) < 84 + 50 * count:
            raise MeshError(f"the binary STL announces {count:,} triangles but holds {(len(data) - 84) // 50:,}")
        records = np.frombuffer(data, dtype=np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")]),
                                count=count, offset=84)
        tri = records["v"].astype(np.float64)
    return tri.reshape(-1, 3), np.arange(3 * len(tri)).reshape(-1, 3)


_PLY_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
              "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
              "float": "f4", "float32": "f4", "double": "f8", "float64": "f8"}


def _ply(data: bytes) -> Mesh:
    end = data.find(b"end_header")
    if not data.startswith(b"ply") or end < 0:
        raise MeshError("not a PLY file (no 'ply' ... 'end_header' header)")
    header = data[:end].decode("ascii").splitlines()
    body = data[data.index(b"\n", end) + 1:]
    fmt = next(line.split()[1] for line in header if line.startswith("format"))
    elements, current = [], None
    for line in header:
        parts = line.split()
        if parts[:1] == ["element"]:
            current = (parts[1], int(parts[2]), [])
            elements.append(current)
        elif parts[:1] == ["property"] and current is not None:
            current[2].append(parts[1:])
    if fmt == "ascii":
        return _ply_ascii(body.decode("ascii").split(), elements)
    order = {"binary_little_endian": "<", "binary_big_endian": ">"}.get(fmt)
    if order is None:
        raise MeshError(f"unknown PLY format {fmt!r}")
    return _ply_binary(body, elements, order)


def _ply_ascii(tokens, elements) -> Mesh:
    pos, vertices, faces = 0, None, []
    for name, count, props in elements:
        rows = []
        for _ in range(count):
            row = []
            for prop in props:
                if prop[0] == "list":
                    k = int(tokens[pos])
                    row.append([int(float(t)) for t in tokens[pos + 1:pos + 1 + k]])
                    pos += 1 + k
                else:
                    row.append(float(tokens[pos]))
                    pos += 1
            rows.append(row)
        if name == "vertex":
            names = [p[-1] for p in props]
            vertices = np.array([[r[names.index(c)] for c in "xyz"] for r in rows])
        elif name == "face":
            faces = [t for r in rows for t in _fan(r[0])]
    if vertices is None:
        raise MeshError("the PLY file has no vertex element")
    return vertices, faces


def _ply_binary(body: bytes, elements, order: str) -> Mesh:
    pos, vertices, faces = 0, None, []
    for name, count, props in elements:
        if any(p[0] == "list" for p in props):
            count_t, index_t = (np.dtype(order + _PLY_TYPES[t]) for t in props[0][1:3])
            for _ in range(count):  # lists vary in length: one face at a time
                k = int(np.frombuffer(body, count_t, 1, pos)[0])
                pos += count_t.itemsize
                faces += _fan([int(i) for i in np.frombuffer(body, index_t, k, pos)])
                pos += k * index_t.itemsize
        else:
            dtype = np.dtype([(p[-1], order + _PLY_TYPES[p[0]]) for p in props])
            table = np.frombuffer(body, dtype, count, pos)
            pos += count * dtype.itemsize
            if name == "vertex":
                vertices = np.stack([table[c].astype(np.float64) for c in "xyz"], 1)
    if vertices is None:
        raise MeshError("the PLY file has no vertex element")
    return vertices, faces


def _vtk(data: bytes) -> Mesh:
    text = data.decode("ascii")
    if "ASCII" not in text[:300] or "POLYDATA" not in text[:400]:
        raise MeshError("only legacy ASCII VTK POLYDATA files are read (save as ASCII polydata)")
    tokens = text.split()
    p = tokens.index("POINTS")
    n = int(tokens[p + 1])
    vertices = np.array(tokens[p + 3:p + 3 + 3 * n], dtype=np.float64).reshape(n, 3)
    q = tokens.index("POLYGONS")
    count, pos, faces = int(tokens[q + 1]), q + 3, []
    if pos < len(tokens) and tokens[pos] == "OFFSETS":  # VTK 5 layout: offsets then connectivity
        raise MeshError("VTK 5 offset/connectivity polygons are not read: save with legacy format 4.2")
    for _ in range(count):
        k = int(tokens[pos])
        faces += _fan([int(t) for t in tokens[pos + 1:pos + 1 + k]])
        pos += 1 + k
    return vertices, faces
