"""The 3D demos (shapes, swarms) in headless Chromium. WebGL runs on SwiftShader (Chromium's software renderer, used
with our default flags: the view's canvas reports "ANGLE ... SwiftShader", asserted below). Plays, turns the
camera, uploads."""
import pytest

from helpers import open_on_projector, pause, readout, still_picture, wait_until

pytestmark = pytest.mark.browser


def drawn(page):
    return int(page.locator("canvas.otlab-webgl").get_attribute("data-drawn") or 0)


def test_plays_and_the_camera_turns(page, app_url):
    sizes = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: sizes.append(len(payload))))
    open_on_projector(page, app_url + "shapes3d?n=1500", timeout=420)
    wait_until(lambda: drawn(page) > 5, timeout=180)
    d0, m0 = drawn(page), len(sizes)
    wait_until(lambda: drawn(page) > d0 + 10, timeout=90)  # frames keep arriving and being drawn
    # the points travel once (1,500 × 12 bytes, base64); a frame sends t and the readout only
    assert max(sizes[m0:]) < 2000
    assert "1,500 → 1,500 points" in readout(page)
    # the software renderer these tests run on (the view then draws without multisampling)
    assert "SwiftShader" in page.locator("canvas.otlab-webgl").get_attribute("data-renderer")
    pause(page)  # only the camera changes the picture now (once a frame in flight has landed)
    canvas = page.locator("canvas.otlab-webgl")
    before = still_picture(canvas)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 120, box["y"] + box["height"] / 2 + 30, steps=6)
    page.mouse.up()
    wait_until(lambda: canvas.screenshot() != before, timeout=90)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert page.console_errors == []


def test_uploads(page, app_url, tmp_path):
    open_on_projector(page, app_url + "shapes3d?n=1500", timeout=420)
    wait_until(lambda: drawn(page) > 2, timeout=180)
    bad = tmp_path / "broken.ply"
    bad.write_bytes(b"ply\nformat ascii 1.0\nelement vertex 3\n")
    page.locator(".otlab-upload-target input[type=file]").set_input_files(str(bad))
    page.locator(".otlab-message", has_text="target upload refused").wait_for(timeout=90_000)
    page.locator(".otlab-message", has_text="end_header").wait_for(timeout=30_000)  # it says why
    good = tmp_path / "tetra.obj"
    good.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n")
    page.locator(".otlab-upload-target input[type=file]").set_input_files(str(good))
    wait_until(lambda: page.locator(".otlab-w-target select").input_value() == "upload", timeout=90)
    d0 = drawn(page)
    wait_until(lambda: drawn(page) > d0 + 5, timeout=180)
    assert page.console_errors == []


def test_swarms_in_3d_play(page, app_url):
    """The 3D swarm steps (its time goes on) and draws new pictures, on a projector, without errors."""
    open_on_projector(page, app_url + "swarms3d?n=24", timeout=420)
    time_of = lambda: float(page.locator(".otlab-time").text_content())  # noqa: E731
    wait_until(lambda: time_of() > 0.02, timeout=180)
    canvas = page.locator("canvas.otlab-webgl")
    d0, t0, before = drawn(page), time_of(), canvas.screenshot()
    wait_until(lambda: time_of() > t0 + 0.05 and drawn(page) > d0 + 3, timeout=180)
    wait_until(lambda: canvas.screenshot() != before, timeout=180)  # the particles moved on screen
    assert "24 particles on 24³ voxels" in readout(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert page.console_errors == []


def test_a_large_upload_arrives_in_chunks_and_is_refused_with_a_message(page, app_url, tmp_path):
    """A 19 MB file (under the demos' 20 MB limit) reaches the server in 1 MB messages, and the server says
    why it refuses it; the page keeps playing."""
    sent = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(len(payload))))
    open_on_projector(page, app_url + "shapes3d?n=1000", timeout=420)
    wait_until(lambda: drawn(page) > 2, timeout=180)
    junk = tmp_path / "junk.obj"
    junk.write_bytes(b"v 0 0\n" * (19 * 2 ** 20 // 6))  # vertices with two coordinates: not a mesh
    page.locator(".otlab-upload-target input[type=file]").set_input_files(str(junk))
    page.locator(".otlab-message", has_text="target upload refused").wait_for(timeout=180_000)
    d0 = drawn(page)
    wait_until(lambda: drawn(page) > d0 + 5, timeout=90)
    assert sum(sent) > 19 * 2 ** 20 and max(sent) < 2 * 2 ** 20  # it all went, in chunks
    assert page.console_errors == []


def test_a_file_over_the_limit_is_refused_before_it_is_sent(page, app_url, tmp_path):
    """A 30 MB mesh (over the 20 MB limit; it froze the page when sent whole): the browser says it is too
    large and sends nothing of it; the page keeps playing and a good file still arrives afterwards."""
    sent = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(len(payload))))
    open_on_projector(page, app_url + "shapes3d?n=1000", timeout=420)
    wait_until(lambda: drawn(page) > 2, timeout=180)
    huge = tmp_path / "huge.obj"
    huge.write_bytes(b"v 0 0 0\n" * (30 * 2 ** 20 // 8))
    before = sum(sent)
    page.locator(".otlab-upload-target input[type=file]").set_input_files(str(huge))
    page.get_by_text("File is too large", exact=True).wait_for(timeout=90_000)
    page.get_by_text("Maximum file size is 20 MB", exact=True).wait_for(timeout=30_000)
    d0 = drawn(page)
    wait_until(lambda: drawn(page) > d0 + 5, timeout=90)
    assert sum(sent) - before < 2 ** 20
    good = tmp_path / "tetra.obj"
    good.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n")
    page.locator(".otlab-upload-target input[type=file]").set_input_files(str(good))
    wait_until(lambda: page.locator(".otlab-w-target select").input_value() == "upload", timeout=90)
    assert page.console_errors == []
