"""The harness catches what it says it catches: a request to another host, a console error,
an axe violation (else every browser test would pass for nothing)."""
from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.web.conftest import check_accessible

pytestmark = pytest.mark.e2e


def test_another_host_a_console_error_and_an_axe_violation_are_caught(web, page, watch):
    page.goto(f"{web.url}/login")
    page.evaluate("document.querySelector('label[for=username]').remove()")  # an input without a label
    with pytest.raises(AssertionError, match="label"):
        check_accessible(page)
    page.evaluate("console.error('something broke')")
    assert any("something broke" in e for e in watch.errors)
    page.evaluate("""() => { const img = document.createElement('img');
                             img.src = 'http://example.invalid/pixel.png'; document.body.append(img); }""")
    page.wait_for_timeout(300)
    assert any("Content Security Policy" in e for e in watch.errors)  # our CSP stops it before the network
    with pytest.raises(PlaywrightError):
        page.goto("http://example.invalid/")  # a navigation the CSP cannot stop: the route handler does
    assert watch.foreign == ["http://example.invalid/"]
    watch.foreign.clear()
    watch.console.clear()  # caught: the fixture's own check at the end has nothing left to fail on
