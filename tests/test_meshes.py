"""Meshes for the 3D demos: shapes made by code lie where they should, sampling is uniform by area, the
four upload formats round-trip, and corrupt uploads get a MeshError that says why."""
import struct

import numpy as np
import pytest

from otlab.demos import meshes
from otlab.demos.meshes import MeshError, face_areas, normalise, parse_mesh, sample_surface, shape_points

RNG = np.random.default_rng(0)


def test_shapes_lie_on_their_surfaces():
    s = sample_surface(meshes.SHAPES["sphere"](), 5000, RNG)
    r = np.linalg.norm(s, axis=1)
    assert r.max() <= 1 + 1e-12 and r.min() >= np.cos(np.pi / 32)  # chords of a 64 × 32 grid
    t = sample_surface(meshes.torus(0.65, 0.3), 5000, RNG)
    tube = np.hypot(np.hypot(t[:, 0], t[:, 1]) - 0.65, t[:, 2])
    assert np.abs(tube - 0.3).max() < 0.3 * (1 - np.cos(np.pi / 16)) + 1e-9
    c = sample_surface(meshes.cube(), 60000, RNG)
    np.testing.assert_allclose(np.abs(c).max(1), 0.8, atol=1e-12)
    face = np.argmax(np.abs(c), 1) * 2 + (c[np.arange(len(c)), np.argmax(np.abs(c), 1)] > 0)
    np.testing.assert_allclose(np.bincount(face, minlength=6) / len(c), 1 / 6, atol=0.01)  # uniform by area


@pytest.mark.parametrize("name", sorted(meshes.SHAPES))
def test_every_shape_samples_into_the_box(name):
    x = shape_points(name, 2000, seed=1)
    assert x.shape == (2000, 3) and x.dtype == np.float32
    assert np.abs(x).max() == pytest.approx(0.8, rel=1e-6)
    lo, hi = x.min(0), x.max(0)
    np.testing.assert_allclose((lo + hi) / 2, 0, atol=1e-6)
    with pytest.raises(ValueError, match="shape must be one of"):
        shape_points("teapot", 10, 0)


# -- writers for the round trips ------------------------------------------------------------------------------
V = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0.5, 0.5, 1.0]])
QUADS = [[0, 3, 2, 1], [0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]]  # a pyramid, its base a quad
AREA = 1.0 + 4 * 0.5 * np.sqrt(1 + 0.25)


def obj():
    lines = [f"v {x} {y} {z}" for x, y, z in V] + ["f " + " ".join(f"{i + 1}/{i + 1}" for i in q) for q in QUADS]
    return "\n".join(["# pyramid"] + lines).encode()


def triangles():
    return [t for q in QUADS for t in ([q[0], q[k], q[k + 1]] for k in range(1, len(q) - 1))]


def stl_ascii():
    body = "".join("facet normal 0 0 0\n outer loop\n" + "".join(f"  vertex {x} {y} {z}\n" for x, y, z in V[t])
                   + " endloop\nendfacet\n" for t in triangles())
    return f"solid pyramid\n{body}endsolid pyramid\n".encode()


def stl_binary():
    tris = triangles()
    out = b"\0" * 80 + struct.pack("<I", len(tris))
    for t in tris:
        out += struct.pack("<3f", 0, 0, 0) + struct.pack("<9f", *V[t].ravel()) + b"\0\0"
    return out


def ply(fmt):
    header = (f"ply\nformat {fmt} 1.0\ncomment pyramid\nelement vertex {len(V)}\nproperty float x\nproperty float y\n"
              f"property float z\nelement face {len(QUADS)}\nproperty list uchar int vertex_indices\nend_header\n")
    if fmt == "ascii":
        return (header + "".join(f"{x} {y} {z}\n" for x, y, z in V)
                + "".join(f"{len(q)} {' '.join(map(str, q))}\n" for q in QUADS)).encode()
    o = "<" if fmt == "binary_little_endian" else ">"
    body = b"".join(struct.pack(o + "3f", *p) for p in V)
    body += b"".join(struct.pack(o + "B", len(q)) + struct.pack(o + f"{len(q)}i", *q) for q in QUADS)
    return header.encode() + body


def vtk():
    polys = "".join(f"{len(q)} {' '.join(map(str, q))}\n" for q in QUADS)
    size = sum(len(q) + 1 for q in QUADS)
    return ("# vtk DataFile Version 4.2\npyramid\nASCII\nDATASET POLYDATA\n"
            f"POINTS {len(V)} float\n" + "".join(f"{x} {y} {z}\n" for x, y, z in V)
            + f"POLYGONS {len(QUADS)} {size}\n" + polys).encode()


@pytest.mark.parametrize("filename, data", [
    ("p.obj", obj()), ("p.STL", stl_ascii()), ("p.stl", stl_binary()), ("p.ply", ply("ascii")),
    ("p.ply", ply("binary_little_endian")), ("p.ply", ply("binary_big_endian")), ("p.vtk", vtk())],
    ids=["obj", "stl-ascii", "stl-binary", "ply-ascii", "ply-le", "ply-be", "vtk"])
def test_upload_formats_round_trip(filename, data):
    """Every format gives the pyramid back: its surface area, its vertices (quads split into fans)."""
    vertices, faces = parse_mesh(data, filename)
    assert faces.shape == (6, 3)
    assert face_areas(vertices, faces).sum() == pytest.approx(AREA, rel=1e-6)
    assert {tuple(np.round(v, 6)) for v in vertices} == {tuple(v) for v in V}


def test_obj_negative_indices_and_extra_columns():
    data = b"v 0 0 0 1.0\nv 1 0 0 1.0\nv 0 1 0 1.0\nf -3 -2 -1\n"
    vertices, faces = parse_mesh(data, "t.obj")
    assert faces.tolist() == [[0, 1, 2]] and face_areas(vertices, faces).sum() == pytest.approx(0.5)


@pytest.mark.parametrize("filename, data, match", [
    ("mesh.dae", b"<xml/>", "expected one of .obj, .stl, .ply, .vtk"),
    ("mesh.obj", b"", "empty"),
    ("mesh.obj", b"v 0 0 0\nv 1 0 0\nf 1 2 3\n", "vertex that does not exist"),
    ("mesh.obj", b"v 0 0 0\nv 1 0 0\nv nan 1 0\nf 1 2 3\n", "NaN or infinite"),
    ("mesh.obj", b"v 0 0 0\nv 1 0 0\nf 1 2\n", "at least 3"),
    ("mesh.obj", b"v 0 0 0\nv 1 0 0\nv 2 0 0\nf 1 2 3\n", "no area"),
    ("mesh.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\n", "no faces"),
    ("mesh.obj", b"v 0 zero 0\n", "could not read 'mesh.obj' as OBJ"),
    ("mesh.obj", b"\xff\xfe\x00garbage", "could not read"),
    ("mesh.stl", b"\0" * 80 + struct.pack("<I", 10) + b"\0" * 50, "announces 10 triangles"),
    ("mesh.stl", b"short", "shorter than its 84-byte header"),
    ("mesh.ply", b"ply\nformat ascii 1.0\nelement vertex 3\n", "no 'ply' ... 'end_header'"),
    ("mesh.ply", ply("ascii")[:-30], "could not read"),
    ("mesh.ply", ply("ascii").replace(b"format ascii", b"format binary_middle_endian"), "unknown PLY format"),
    ("mesh.vtk", b"# vtk DataFile Version 4.2\nx\nBINARY\nDATASET POLYDATA\n", "legacy ASCII VTK POLYDATA"),
])
def test_corrupt_uploads_say_why(filename, data, match):
    with pytest.raises(MeshError, match=match):
        parse_mesh(data, filename)


def test_upload_limits(monkeypatch):
    monkeypatch.setattr(meshes, "MAX_BYTES", 100)
    with pytest.raises(MeshError, match="at most 0 MB"):
        parse_mesh(b"#" * 200, "big.obj")
    monkeypatch.setattr(meshes, "MAX_BYTES", 10 ** 6)
    monkeypatch.setattr(meshes, "MAX_VERTICES", 4)
    with pytest.raises(MeshError, match="5 vertices; at most 4"):
        parse_mesh(obj(), "p.obj")


def test_normalise():
    x = normalise(np.array([[0.0, 0, 0], [4, 2, 1]]), size=1.0)
    np.testing.assert_allclose(x, [[-1, -0.5, -0.25], [1, 0.5, 0.25]])
