"""The one map from error kinds to HTTP statuses (``exchange.http.errors.status_of``), over
every ``ServiceError`` subclass the code base defines: a new refusal anywhere lands on a
deliberate status, never on the silent 400 fallback."""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import errors
from errors import ErrorCode, ServiceError
from exchange.http.errors import STATUS_OF_KIND, status_of

ROOT = Path(__file__).resolve().parents[4]
# the service's own packages and top-level modules (not tests, benches, migrations or the client)
PACKAGES = ("certs", "exchange", "signing", "storage")
MODULES = ("app", "bootstrap", "errors", "settings")


def _import_everything() -> None:
    for name in MODULES:
        importlib.import_module(name)
    for package in PACKAGES:
        for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
            importlib.import_module(info.name)


def _subclasses(kind: type[ServiceError]) -> set[type[ServiceError]]:
    found: set[type[ServiceError]] = set()
    for sub in kind.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


_import_everything()
ALL_KINDS = sorted(_subclasses(ServiceError), key=lambda k: f"{k.__module__}.{k.__qualname__}")


def _instance(kind: type[ServiceError]) -> ServiceError:
    return kind("x")


def test_the_walk_finds_the_kinds_of_every_package():
    # guards the walk itself: were it to stop finding signing's kinds, the tests below would prove little
    modules = {k.__module__ for k in ALL_KINDS}
    assert {"errors", "signing.errors"} <= modules
    assert set(STATUS_OF_KIND) <= set(ALL_KINDS)


@pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda k: f"{k.__module__}.{k.__qualname__}")
def test_every_kind_maps_to_an_error_status_through_the_map(kind):
    status = status_of(_instance(kind))
    assert 400 <= status <= 599
    # reached through a kind the map names, not the fallback for unknown classes
    assert any(base in STATUS_OF_KIND for base in kind.__mro__), f"{kind} is in no kind of the map"
    assert isinstance(kind.code, ErrorCode)


@pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda k: f"{k.__module__}.{k.__qualname__}")
def test_no_kind_carries_an_http_status_of_its_own(kind):
    # statuses live in exchange.http.errors only; a `status` on an exception would be a second map
    own = {name for klass in kind.__mro__ if klass.__module__ != "builtins" for name in vars(klass)}
    assert not own & {"status", "status_code", "http_status", "code_http"}


@pytest.mark.parametrize("name, status", [
    ("SealRefused", 409), ("DocumentLocked", 409), ("SigningFailed", 422),
    ("TimestampUnavailable", 503), ("RevocationUnavailable", 503),
])
def test_signing_refusals(name, status):
    import signing.errors

    kind = getattr(signing.errors, name)
    assert status_of(kind("x")) == status


@pytest.mark.parametrize("kind, status", [
    (errors.BadRequest, 400), (errors.Unauthorized, 401), (errors.Forbidden, 403), (errors.NotFound, 404),
    (errors.Conflict, 409), (errors.Gone, 410), (errors.PayloadTooLarge, 413), (errors.UnsupportedMediaType, 415),
    (errors.Unprocessable, 422), (errors.TooManyRequests, 429), (errors.ServiceUnavailable, 503),
])
def test_the_kinds(kind, status):
    assert status_of(kind("x")) == status


def test_a_code_given_at_the_raise_does_not_change_the_status():
    # the code names the condition, the class the kind: a Conflict with a finer code is still 409
    assert status_of(errors.Conflict("x", code=ErrorCode.INVALID_TRANSITION)) == 409
    assert status_of(errors.Unprocessable("x", code=ErrorCode.PDF_ENCRYPTED)) == 422
