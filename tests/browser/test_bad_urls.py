"""Malformed or out-of-range URL query parameters never break a page: the values the models refuse are
ignored (their defaults stay) and named in the message line, the demo plays, the browser logs no error,
and nothing in the URL is evaluated. Nothing but the demos is served: no admin pages, no files."""
import urllib.error
import urllib.request

import pytest

from helpers import open_on_projector, readout

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("address, shown, named", [
    ("annealing?n_source=abc&blur=-1&seed=__import__('os')", "σ = ε1/p = 0.02",
     ("blur=-1", "n_source=abc", "seed=__import__")),
    ("swarms?preset=foo&n=1000000000", "200 particles", ("n=1000000000", "preset=foo")),
    ("barycenters?inputs=%5B%22heart%22%5D&resolution=100000", "64 × 64", ("resolution=100000",)),
    ("shapes3d?n=-5&source=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "5,000 → 5,000 points", ("source=<script>", "n=-5")),
    ("barycenters?mode=volumes+%283D%29&volume_resolution=1000", "32 × 32 × 32", ("volume_resolution=1000",)),
])
def test_a_malformed_url_keeps_the_defaults_and_the_page_works(page, app_url, address, shown, named):
    open_on_projector(page, app_url + address, timeout=420)
    page.locator(".otlab-readout-text", has_text=shown).wait_for(timeout=180_000)
    assert shown in readout(page)
    message = page.get_by_text("Ignored from the URL").first
    message.wait_for(timeout=90_000)
    assert all(name in message.inner_text() for name in named), message.inner_text()
    assert page.console_errors == []


@pytest.mark.parametrize("path", [
    "admin", "admin/sessions", "liveness", "assets/../pyproject.toml", "assets/..%2f..%2fpyproject.toml",
    "static/..%2f..%2f..%2fetc%2fpasswd", "annealing/static/..%2f..%2f..%2fetc%2fpasswd",
    "components/../../../../etc/passwd", "components/panel/models/..%2f..%2f..%2f..%2f..%2f..%2fetc/passwd",
    "components/otlab.app.point_cloud/PointCloud3D/__css__/..%2f..%2f..%2fpyproject.toml",
    "components/antigravity/x/__css__/y",  # a module nobody imported: never imported for a URL
])
def test_nothing_but_the_demos_is_served(app_url, path):
    """Admin pages do not exist and no path reaches a file outside the served folders: each answer a
    refusal (400, 403, 404 — not a server error), without the file's content, and the server logs no
    uncaught exception for it."""
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(app_url + path, timeout=30)
    assert refused.value.code in (400, 403, 404)
    body = refused.value.read().decode(errors="replace")
    assert "root:" not in body and "[project]" not in body
    assert not any(f"Uncaught exception GET /{path} " in line for line in app_url.output())

