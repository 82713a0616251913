"""The browser harness: one live gunicorn server and one Chromium for the web tests.

Chromium is Debian's (/usr/bin/chromium, ``make system-deps``), driven by Python
``playwright``; never ``playwright install``. Every page a test opens fails the test on a
request to any host but 127.0.0.1, and on a console error or an uncaught exception (a CSP
violation is one); :func:`check_accessible` runs axe-core (the copy shipped in the
``axe-playwright-python`` package) and fails on serious or critical violations;
:func:`screenshot` saves under ``var/test-artifacts/web/`` (``LIENTHONG_TEST_ARTIFACTS``).
"""
from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest
import requests

from storage.db import make_engine
from storage.schema import import_all_models
from tests.conftest import _create_schema, empty_database
from tests.db import session_scope
from tests.e2e.gunicorn_support import ROOT, gunicorn
from tests.exchange_fixtures import World, build_world

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ALLOWED_HOST = "127.0.0.1"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 375, "height": 740}
ARTIFACTS = Path(os.environ.get("LIENTHONG_TEST_ARTIFACTS", ROOT / "var" / "test-artifacts")) / "web"
AXE_BLOCKING = ("serious", "critical")


def _axe_source() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


@dataclass
class WebServer:
    url: str
    world: World
    database_url: str
    data_dir: Path
    _services: Any = None

    @property
    def services(self) -> Any:
        """The service's parts on the server's database and files, for a test to set a scene
        the pages alone cannot (a sealed document without a signing PKI)."""
        if self._services is None:
            import bootstrap
            from settings import Settings

            self._services = bootstrap.build(Settings(data_dir=self.data_dir, database_url=self.database_url))
        return self._services

    def send_sealed(self, subject: str, urgency: str, to: list[str], who: str = "clerk") -> int:
        """A document of ``who``'s agency, marked sealed, dispatched to ``to``; its id."""
        from exchange.services import dispatch
        from tests.exchange_fixtures import caller_for, store_document

        with session_scope(self.services.engine, write=True) as session:
            doc = store_document(session, self.services.blobs, self.world, who, state="sealed", subject=subject,
                                 urgency=urgency)
        dispatch.dispatch_document(self.services, caller_for(self.world, who), doc,
                                   dispatch.Recipients(to=tuple(to)), f"web-{doc}")
        return doc

    def add_clerk(self, key: str, username: str, agency_code: str, full_name: str) -> None:
        """One more clerk (of a commune, say), known to :meth:`login` as ``key``."""
        from exchange.services import accounts
        from tests.exchange_fixtures import Person

        with session_scope(self.services.engine, write=True) as session:
            user = accounts.add_user(session, username=username, agency_code=agency_code, roles=["clerk"],
                                     full_name=full_name, position="Văn thư", password=self.world.password,
                                     actor="test")
            token, secret = accounts.add_token(session, user_id=user.id, name="test", actor="test")
            self.world.people[key] = Person(user.id, username, agency_code,  # type: ignore[arg-type]
                                            self.world.agency_ids[agency_code], ("clerk",), secret, token.id)  # type: ignore[arg-type]

    def issue_signing_credentials(self, *keys: str) -> None:
        """Credentials from the server's dev PKI (made in its data folder on first use), as
        tests/signing_world.py issues them: "signer" (the leader's), "seal" (the province's)."""
        from tests.signing_world import SigningWorld, issue_credentials

        issue_credentials(self.services.engine, self.services.settings, SigningWorld(self.world, {}), *keys)

    def login(self, page: Any, who: str = "clerk") -> None:
        page.goto(f"{self.url}/login")
        page.get_by_label(re.compile("Tên đăng nhập|Username")).fill(self.world.people[who].username)
        page.get_by_label(re.compile("Mật khẩu|Password")).fill(self.world.password)
        page.get_by_role("button", name=re.compile("^(Đăng nhập|Log in)$")).click()
        page.wait_for_url(f"{self.url}/")

    def api(self, method: str, path: str, who: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.url}{path}", headers=self.world.headers(who), timeout=30, **kwargs)


# package scope, not session: Playwright's sync API keeps an event loop running in the
# main thread while it lives, and a later test's asyncio.run() (pyHanko) would find it
@pytest.fixture(scope="package")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    shutil.which("chromium") or pytest.skip("Debian's chromium is missing: make system-deps")
    folder = tmp_path_factory.mktemp("web")
    with empty_database(folder) as url:
        engine = make_engine(url)
        _create_schema(engine, import_all_models())
        with session_scope(engine, write=True) as session:
            world = build_world(session)
        engine.dispose()
        env = {"LIENTHONG_DATA_DIR": str(folder / "var"), "LIENTHONG_DATABASE_URL": url}
        with gunicorn("app:create_app()", env) as base:
            server = WebServer(base, world, url, folder / "var")
            yield server
            if server._services is not None:
                server._services.close()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@dataclass
class Watch:
    """What a page did that fails its test. A page answered with a 4xx (a refused form is a
    422) is no error of the page: Chromium's console line for that navigation is let through;
    the same line for a style sheet, a script or an image fails the test."""
    foreign: list[str] = field(default_factory=list)
    console: list[tuple[str, str]] = field(default_factory=list)  # (text, url)
    refused_pages: set[str] = field(default_factory=set)

    @property
    def errors(self) -> list[str]:
        return [text for text, url in self.console
                if not (text.startswith("Failed to load resource") and url in self.refused_pages)]


@pytest.fixture
def watch() -> Watch:
    return Watch()


def guarded_context(browser: Any, watch: Watch) -> Any:
    """A browser context (1366×768, an English browser: the pages still say vi) whose requests
    to any host but 127.0.0.1 are refused and noted in ``watch``."""
    ctx = browser.new_context(viewport=DESKTOP, locale="en-US")

    def route(r: Any) -> None:
        if urlsplit(r.request.url).hostname != ALLOWED_HOST and not r.request.url.startswith(("data:", "blob:")):
            watch.foreign.append(r.request.url)
            r.abort()
        else:
            r.continue_()

    ctx.route("**/*", route)
    return ctx


def watched_page(ctx: Any, watch: Watch) -> Any:
    """A new page of ``ctx`` whose console errors, uncaught exceptions and refused
    navigations are noted in ``watch``."""
    p = ctx.new_page()

    def console(msg: Any) -> None:
        if msg.type == "error":
            watch.console.append((msg.text, msg.location.get("url", "")))

    def response(r: Any) -> None:
        if r.request.is_navigation_request() and 400 <= r.status < 500:
            watch.refused_pages.add(r.url)

    p.on("console", console)
    p.on("response", response)
    p.on("pageerror", lambda exc: watch.console.append((f"uncaught: {exc}", "")))
    return p


def check_watch(watch: Watch) -> None:
    assert not watch.foreign, f"requests left 127.0.0.1: {watch.foreign}"
    assert not watch.errors, f"console errors: {watch.errors}"


@pytest.fixture
def context(browser: Any, watch: Watch) -> Iterator[Any]:
    ctx = guarded_context(browser, watch)
    yield ctx
    ctx.close()
    check_watch(watch)


@pytest.fixture
def page(context: Any, watch: Watch) -> Any:
    return watched_page(context, watch)


def check_accessible(page: Any) -> None:
    """axe-core on the page as it is now: no serious or critical violation (run through the
    DevTools protocol, which the page's CSP does not restrict)."""
    page.evaluate(_axe_source())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    blocking = [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
                for v in result["violations"] if v["impact"] in AXE_BLOCKING]
    assert not blocking, json.dumps(blocking, ensure_ascii=False, indent=1)


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def at_both_sizes(page: Any, name: str) -> None:
    """Accessible and without sideways scrolling at 1366×768 and at 375 px; a screenshot of each."""
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        check_accessible(page)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {size['width']}px"
        screenshot(page, f"{name}-{label}")
    page.set_viewport_size(DESKTOP)


# The README's pictures are rewritten only on purpose (LIENTHONG_UPDATE_SCREENSHOTS=1): a test
# run must not leave the checkout changed. Otherwise they go beside the other screenshots.
README_SCREENSHOTS = ROOT / "docs" / "screenshots" if os.environ.get("LIENTHONG_UPDATE_SCREENSHOTS") == "1" \
    else ARTIFACTS / "readme"


def readme_screenshot(page: Any, name: str) -> Path:
    """The README's picture of this page: the 1366×768 viewport only (small PNG files)."""
    README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(DESKTOP)
    path = README_SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
