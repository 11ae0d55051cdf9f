"""Malformed or out-of-range URL query parameters never break a page: the values the models refuse are
ignored (their defaults stay), the demo plays, the browser logs no error, and nothing in the URL is
evaluated."""
import pytest

from helpers import open_on_projector, readout

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("address, shown", [
    ("annealing?n_source=abc&blur=-1&seed=__import__('os')", "σ = ε1/p = 0.02"),
    ("swarms?preset=foo&n=1000000000", "200 particles"),
    ("barycenters?inputs=%5B%22heart%22%5D&resolution=100000", "64 × 64"),
    ("shapes3d?n=-5&source=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "5,000 → 5,000 points"),
    ("barycenters?mode=volumes+%283D%29&volume_resolution=1000", "32 × 32 × 32"),
])
def test_a_malformed_url_keeps_the_defaults_and_the_page_works(page, app_url, address, shown):
    open_on_projector(page, app_url + address, timeout=120)
    page.locator(".otlab-readout-text", has_text=shown).wait_for(timeout=60_000)
    assert shown in readout(page)
    assert page.console_errors == []
