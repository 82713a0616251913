"""In-process access to our own CA's services while signing or validating.

A sync worker that signs at B-LT would otherwise make an HTTP call to itself for the
OCSP/CRL of its own CA (and wait on itself forever). The fetchers here answer URLs under
``{base_url}/pki/`` by calling ``responders`` directly and go over HTTP for every other CA.
"""
from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterable, TypeVar

from asn1crypto import x509 as asn1_x509
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers import Fetchers
from pyhanko_certvalidator.fetchers.common_utils import FetchBudget
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
from pyhanko_certvalidator.fetchers.requests_fetchers.cert_fetch_client import RequestsCertificateFetcher
from pyhanko_certvalidator.fetchers.requests_fetchers.crl_client import RequestsCRLFetcher
from pyhanko_certvalidator.fetchers.requests_fetchers.ocsp_client import RequestsOCSPFetcher
from pyhanko_certvalidator.fetchers.requests_fetchers.util import RequestsFetcherMixin
from sqlalchemy.engine import Engine

from certs import responders
from certs.timestamper import dev_timestamper
from certs.ca import ca_issuers_url, crl_url, load_dev_pki, ocsp_url, root_crl_url
from certs.trust import trust_roots as default_trust_roots
from settings import Settings
from storage.db import UnitOfWork, make_engine


@dataclass
class _LocalResponse:
    """Just what pyhanko-certvalidator reads from a ``requests.Response``."""
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)
    status_code: int = 200


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _own_engine(settings: Settings) -> Engine:
    """For callers outside the service (tests, benchmarks, scripts): one engine per database
    URL per process. The service passes its own engine."""
    url = settings.effective_database_url
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        return engine


def _local_answers(settings: Settings, engine: Engine) -> tuple[dict[str, Callable[[], _LocalResponse]],
                                                               dict[str, Callable[[bytes], _LocalResponse]]]:
    def crl() -> _LocalResponse:
        with UnitOfWork(engine) as uow:
            return _LocalResponse(responders.current_crl(uow.session, settings),
                                  {"Content-Type": "application/pkix-crl"})

    def ocsp(body: bytes) -> _LocalResponse:
        with UnitOfWork(engine) as uow:
            return _LocalResponse(responders.ocsp_response(uow.session, settings, body),
                                  {"Content-Type": "application/ocsp-response"})

    gets = {
        crl_url(settings): crl,
        root_crl_url(settings): lambda: _LocalResponse(responders.root_crl(settings),
                                                       {"Content-Type": "application/pkix-crl"}),
        ca_issuers_url(settings): lambda: _LocalResponse(load_dev_pki(settings).chain_pem(),
                                                         {"Content-Type": "application/x-pem-file"}),
    }
    return gets, {ocsp_url(settings): ocsp}


class _LocalFirst(RequestsFetcherMixin):
    """Mixin over the ``requests`` fetchers: our own URLs are answered in-process."""

    _local_get: dict[str, Callable[[], _LocalResponse]]
    _local_post: dict[str, Callable[[bytes], _LocalResponse]]

    def _get(self, url: str, *, acceptable_content_types: Iterable[str]) -> Awaitable[Any]:
        answer = self._local_get.get(url)
        if answer is None:
            return super()._get(url, acceptable_content_types=acceptable_content_types)
        return _done(answer)

    def _post(self, url: str, data: bytes, *, content_type: str,
              acceptable_content_types: Iterable[str]) -> Awaitable[Any]:
        answer = self._local_post.get(url)
        if answer is None:
            return super()._post(url, data, content_type=content_type,
                                 acceptable_content_types=acceptable_content_types)
        return _done(lambda: answer(data))


async def _done(answer: Callable[[], _LocalResponse]) -> _LocalResponse:
    # The database read runs in a thread, as the HTTP fetch it replaces would.
    return await asyncio.to_thread(answer)


class _LocalOCSPFetcher(_LocalFirst, RequestsOCSPFetcher):
    pass


class _LocalCRLFetcher(_LocalFirst, RequestsCRLFetcher):
    pass


class _LocalCertificateFetcher(_LocalFirst, RequestsCertificateFetcher):
    pass


_Fetcher = TypeVar("_Fetcher", _LocalOCSPFetcher, _LocalCRLFetcher, _LocalCertificateFetcher)


class LocalFirstFetcherBackend(RequestsFetcherBackend):
    """Fetchers answering our own CA's URLs in-process and others over HTTP."""

    def __init__(self, settings: Settings, engine: Engine, per_request_timeout: int = 10) -> None:
        super().__init__(per_request_timeout=per_request_timeout)
        self.settings = settings
        self.engine = engine

    def get_fetchers(self) -> Fetchers:
        gets, posts = _local_answers(self.settings, self.engine)
        budget = FetchBudget(self.limits)
        timeout = self.per_request_timeout

        def local(cls: type[_Fetcher]) -> _Fetcher:
            fetcher = cls(per_request_timeout=timeout, budget=budget)
            fetcher._local_get, fetcher._local_post = gets, posts
            return fetcher

        return Fetchers(ocsp_fetcher=local(_LocalOCSPFetcher), crl_fetcher=local(_LocalCRLFetcher),
                        cert_fetcher=local(_LocalCertificateFetcher))


def local_timestamper(settings: Settings) -> TimeStamper:
    """Our development TSA, answering in-process (no HTTP round trip)."""
    return dev_timestamper(settings)


def validation_context(settings: Settings, *, engine: Engine | None = None,
                       trust_roots: list[asn1_x509.Certificate] | None = None,
                       allow_fetching: bool = True, revocation_mode: str = "hard-fail",
                       for_signing: bool = False, **kwargs: Any) -> ValidationContext:
    """A new ``ValidationContext`` for one call (never share one across threads: it hangs).

    ``engine``: the database our own CA's answers are read from (default: one of this
    module's, for callers outside the service); ``trust_roots``: default, the development root
    and the trust folder, read now (the service passes the roots it loaded at start-up).

    ``for_signing``: the context pyHanko uses to embed revocation data at B-LT: our issuing
    CA goes in as a known intermediate so that no caIssuers fetch is needed.
    Extra keyword arguments (``moment``, ``crls``, ``ocsps``, ...) go to ValidationContext.
    """
    pki = load_dev_pki(settings)
    roots = list(trust_roots) if trust_roots is not None else default_trust_roots(settings)
    other_certs = list(kwargs.pop("other_certs", ()))
    if for_signing:
        other_certs.append(pki.issuing_asn1)
    return ValidationContext(
        trust_roots=roots,
        other_certs=other_certs,
        allow_fetching=allow_fetching,
        revocation_mode=revocation_mode,
        fetcher_backend=LocalFirstFetcherBackend(settings, engine or _own_engine(settings)) if allow_fetching else None,
        **kwargs,
    )
