"""A 3D point-cloud view drawn with WebGL in the browser: only the arrays that change travel per frame.

Why not Panel's VTK pane: measured here with 5,000 moving points, its ``synchronize()`` re-serialised the
scene in 45–58 ms per update on the server and the browser received 1.6 updates/s (the whole scene
travels). This component keeps the scene in the browser: the server sends float32 positions (12 bytes a
point, base64) and uint8 colours (3 bytes a point) when they change, and the camera (drag to orbit, wheel
to zoom) turns in the browser without a round trip, so it stays interactive while frames compute.

Two layers: ``positions``/``colors`` (the moving cloud, sent every frame) and ``fixed_positions``/
``fixed_colors`` (e.g. the target, sent once), plus ``segments`` (pairs of points drawn as lines: map
arrows). A moving layer that follows straight paths (a displacement interpolation x(t) = (1 − t) x + t T(x))
is sent once as ``positions`` and ``destinations``; each frame then only sends ``t``, and the vertex shader
draws mix(x, T(x), t). Points are round sprites of ``point_size`` pixels with a depth test; the view is a
perspective camera on a sphere around the origin, ``yaw``/``pitch``/``distance`` synced both ways. The canvas counts
the frames it drew in its ``data-drawn`` attribute (for tests and benchmarks).
"""
from __future__ import annotations

import base64

import numpy as np
import param
from panel.reactive import ReactiveHTML


def pack(array: np.ndarray, dtype) -> str:
    """``array`` as base64 of its bytes in ``dtype`` (C order)."""
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode("ascii")


def rgb(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Colours (N, 3) uint8 of ``values`` on a perceptually ordered blue → yellow ramp (viridis-like)."""
    stops = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], float)
    s = np.clip((np.asarray(values, float) - low) / max(high - low, 1e-12), 0, 1) * (len(stops) - 1)
    k = np.minimum(s.astype(int), len(stops) - 2)
    f = (s - k)[:, None]
    return ((1 - f) * stops[k] + f * stops[k + 1]).astype(np.uint8)


#: the 12 edges of a cube, as pairs of corner numbers (corner k: bits of k are its x, y, z in {0, 1})
CUBE_EDGES = np.array([[a, b] for a in range(8) for b in range(a + 1, 8) if bin(a ^ b).count("1") == 1])


class PointCloud3D(ReactiveHTML):
    """Two point layers and line segments in a WebGL canvas with an orbit camera (see the module docstring)."""

    positions = param.String(default="", doc="base64 float32 (N, 3): the moving layer")
    colors = param.String(default="", doc="base64 uint8 (N, 3)")
    fixed_positions = param.String(default="", doc="base64 float32 (M, 3): the fixed layer")
    fixed_colors = param.String(default="", doc="base64 uint8 (M, 3)")
    destinations = param.String(default="", doc="base64 float32 (N, 3): where the moving layer goes as t → 1")
    t = param.Number(default=0.0, bounds=(0.0, 1.0), doc="the moving layer at (1 - t) positions + t destinations")
    segments = param.String(default="", doc="base64 float32 (S, 2, 3): line segments")
    point_size = param.Number(default=3.0, bounds=(1, 20))
    yaw = param.Number(default=0.6)
    pitch = param.Number(default=0.35)
    distance = param.Number(default=3.2, bounds=(1.0, 20.0))

    _template = """<canvas id="canvas" class="otlab-webgl" style="width:100%;height:100%;cursor:grab;touch-action:none"></canvas>"""

    _scripts = {
        "render": """
// multisampling only on a hardware GPU: a software WebGL (SwiftShader, e.g. headless Chromium or a blocklisted
// GPU) draws twice as fast without it (measured: 100,000 points per layer, 2.5 → 5 pictures/s)
const probe = document.createElement('canvas').getContext('webgl');
const info = probe && probe.getExtension('WEBGL_debug_renderer_info');
const renderer = info ? String(probe.getParameter(info.UNMASKED_RENDERER_WEBGL)) : '';
const software = /swiftshader|llvmpipe|software/i.test(renderer);
if (probe) { const lose = probe.getExtension('WEBGL_lose_context'); if (lose) lose.loseContext(); }
const gl = canvas.getContext('webgl', {antialias: !software});
canvas.dataset.renderer = renderer;
state.gl = gl;
const vs = `attribute vec3 p; attribute vec3 q; attribute vec3 c; uniform mat4 m; uniform float s; uniform float t;
  varying vec3 v; void main() { gl_Position = m * vec4(mix(p, q, t), 1.0); gl_PointSize = s; v = c; }`;
const fsPoints = `precision mediump float; varying vec3 v;
  void main() { vec2 d = gl_PointCoord - 0.5; if (dot(d, d) > 0.25) discard; gl_FragColor = vec4(v, 1.0); }`;
const fsLines = `precision mediump float; varying vec3 v; void main() { gl_FragColor = vec4(v, 1.0); }`;
function program(fsrc) {
  const prog = gl.createProgram();
  for (const [type, src] of [[gl.VERTEX_SHADER, vs], [gl.FRAGMENT_SHADER, fsrc]]) {
    const sh = gl.createShader(type); gl.shaderSource(sh, src); gl.compileShader(sh); gl.attachShader(prog, sh);
  }
  gl.linkProgram(prog); return prog;
}
state.points = program(fsPoints); state.lines = program(fsLines);
state.layers = {};
state.decode = (b64, Type) => {
  if (!b64) return new Type(0);
  const bin = atob(b64); const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Type(bytes.buffer);
};
state.upload = (name, pos, col, dest) => {
  const layer = state.layers[name] || (state.layers[name] = {p: gl.createBuffer(), c: gl.createBuffer(), q: gl.createBuffer(), n: 0, nq: 0});
  if (dest !== undefined) { gl.bindBuffer(gl.ARRAY_BUFFER, layer.q); gl.bufferData(gl.ARRAY_BUFFER, dest, gl.DYNAMIC_DRAW); layer.nq = dest.length / 3; }
  if (pos !== null) { gl.bindBuffer(gl.ARRAY_BUFFER, layer.p); gl.bufferData(gl.ARRAY_BUFFER, pos, gl.DYNAMIC_DRAW); layer.n = pos.length / 3; }
  if (col !== null) { const f = new Float32Array(col.length); for (let i = 0; i < col.length; i++) f[i] = col[i] / 255;
    gl.bindBuffer(gl.ARRAY_BUFFER, layer.c); gl.bufferData(gl.ARRAY_BUFFER, f, gl.DYNAMIC_DRAW); layer.nc = f.length / 3; }
};
state.matrix = () => {
  const w = canvas.clientWidth, h = canvas.clientHeight;
  const cy = Math.cos(data.yaw), sy = Math.sin(data.yaw), cp = Math.cos(data.pitch), sp = Math.sin(data.pitch);
  const eye = [data.distance * cp * cy, data.distance * cp * sy, data.distance * sp];
  const f = eye.map(x => -x / data.distance);                       // forward, towards the origin
  let r = [f[1] * 1 - f[2] * 0, f[2] * 0 - f[0] * 1, 0];            // forward x up (z up)
  const rn = Math.hypot(...r) || 1; r = r.map(x => x / rn);
  const u = [r[1] * f[2] - r[2] * f[1], r[2] * f[0] - r[0] * f[2], r[0] * f[1] - r[1] * f[0]];
  const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  const view = [r[0], u[0], -f[0], 0, r[1], u[1], -f[1], 0, r[2], u[2], -f[2], 0, -dot(r, eye), -dot(u, eye), dot(f, eye), 1];
  const fov = 1 / Math.tan(0.35), near = 0.1, far = 50, a = w / Math.max(h, 1);
  const proj = [fov / a, 0, 0, 0, 0, fov, 0, 0, 0, 0, (far + near) / (near - far), -1, 0, 0, 2 * far * near / (near - far), 0];
  const out = new Float32Array(16);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) { let s = 0; for (let k = 0; k < 4; k++) s += proj[k * 4 + j] * view[i * 4 + k]; out[i * 4 + j] = s; }
  return out;
};
state.draw = () => {
  const w = canvas.clientWidth, h = canvas.clientHeight, dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); }
  gl.viewport(0, 0, canvas.width, canvas.height);
  gl.clearColor(1, 1, 1, 1); gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT); gl.enable(gl.DEPTH_TEST);
  const m = state.matrix();
  for (const [name, prog, mode] of [['fixed', state.points, gl.POINTS], ['moving', state.points, gl.POINTS], ['segments', state.lines, gl.LINES]]) {
    const layer = state.layers[name]; if (!layer || !layer.n || layer.nc !== layer.n) continue;
    gl.useProgram(prog);
    gl.uniformMatrix4fv(gl.getUniformLocation(prog, 'm'), false, m);
    gl.uniform1f(gl.getUniformLocation(prog, 's'), data.point_size * dpr);
    gl.uniform1f(gl.getUniformLocation(prog, 't'), data.t);
    const q = layer.nq === layer.n ? layer.q : layer.p;  // no destinations: q = p, the layer stays put
    for (const [attr, buf] of [['p', layer.p], ['q', q], ['c', layer.c]]) {
      const loc = gl.getAttribLocation(prog, attr); gl.bindBuffer(gl.ARRAY_BUFFER, buf);
      gl.enableVertexAttribArray(loc); gl.vertexAttribPointer(loc, 3, gl.FLOAT, false, 0, 0);
    }
    gl.drawArrays(mode, 0, layer.n);
  }
  state.frames = (state.frames || 0) + 1;
};
state.request = () => { if (!state.pending) { state.pending = true; requestAnimationFrame(() => { state.pending = false; state.draw(); canvas.dataset.drawn = state.frames; }); } };
let drag = null;
canvas.addEventListener('pointerdown', e => { drag = [e.clientX, e.clientY, data.yaw, data.pitch]; canvas.setPointerCapture(e.pointerId); });
canvas.addEventListener('pointermove', e => { if (!drag) return;
  data.yaw = drag[2] - (e.clientX - drag[0]) * 0.01;
  data.pitch = Math.max(-1.5, Math.min(1.5, drag[3] + (e.clientY - drag[1]) * 0.01)); state.request(); });
canvas.addEventListener('pointerup', () => { drag = null; });
canvas.addEventListener('wheel', e => { e.preventDefault(); data.distance = Math.max(1.5, Math.min(15, data.distance * Math.exp(e.deltaY * 0.001))); state.request(); }, {passive: false});
self.fixed_positions(); self.segments(); self.positions(); self.destinations(); self.colors();
""",
        "positions": "state.upload('moving', state.decode(data.positions, Float32Array), null); state.request();",
        "colors": "state.upload('moving', null, state.decode(data.colors, Uint8Array)); state.request();",
        "destinations": "state.upload('moving', null, null, state.decode(data.destinations, Float32Array)); state.request();",
        "t": "state.request();",
        "fixed_positions": "state.upload('fixed', state.decode(data.fixed_positions, Float32Array), state.decode(data.fixed_colors, Uint8Array)); state.request();",
        "fixed_colors": "state.upload('fixed', null, state.decode(data.fixed_colors, Uint8Array)); state.request();",
        "segments": """const s = state.decode(data.segments, Float32Array); const c = new Uint8Array(s.length).fill(90);
state.upload('segments', s, c); state.request();""",
        "point_size": "state.request();",
        "yaw": "state.request();", "pitch": "state.request();", "distance": "state.request();",
        "after_layout": "if (state.request) state.request();",  # a layout pass may come before render
    }

    def show(self, positions: np.ndarray, colors: np.ndarray) -> None:
        """The moving layer: positions (N, 3) and colours (N, 3) uint8, sent together (no destinations)."""
        self.param.update(colors=pack(colors, np.uint8), positions=pack(positions, np.float32), destinations="",
                          t=0.0)

    def show_path(self, starts: np.ndarray, ends: np.ndarray, colors: np.ndarray) -> None:
        """The moving layer as straight paths from ``starts`` to ``ends`` (N, 3), drawn at (1 - t) starts +
        t ends by the browser's GPU: afterwards only ``t`` travels per frame (:meth:`show_time`)."""
        self.param.update(colors=pack(colors, np.uint8), positions=pack(starts, np.float32),
                          destinations=pack(ends, np.float32))

    def show_time(self, t: float) -> None:
        """The moving layer at time t in [0, 1] along the paths of :meth:`show_path`."""
        self.t = float(t)

    def show_fixed(self, positions: np.ndarray, colors: np.ndarray) -> None:
        self.param.update(fixed_colors=pack(colors, np.uint8), fixed_positions=pack(positions, np.float32))

    def show_segments(self, starts: np.ndarray, ends: np.ndarray) -> None:
        self.segments = pack(np.stack([starts, ends], 1), np.float32)

    def show_box(self, half: float = 0.5) -> None:
        """The segments: the edges of the cube [-half, half]³ (a frame for a box centred at the origin)."""
        corners = (np.array([[(k >> 2) & 1, (k >> 1) & 1, k & 1] for k in range(8)], np.float32) - 0.5) * 2 * half
        self.show_segments(corners[CUBE_EDGES[:, 0]], corners[CUBE_EDGES[:, 1]])
