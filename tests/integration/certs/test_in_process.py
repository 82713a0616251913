"""Signing at B-LT against our own CA makes no HTTP call: the base URL points at a closed port."""
from __future__ import annotations

import io
import socket
import threading

import pytest

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore

from certs.issuance import CredentialRevoked, load_signing_credential, revoke
from certs.fetchers import local_timestamper, validation_context
from certs.trust import trust_roots
from storage.db import make_engine
from tests.db import session_scope
from tests.integration.certs.helpers import blank_pdf, issue_person, sign_pdf


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _signed_b_lt(engine, settings):  # type: ignore[no-untyped-def]
    row = issue_person(engine, settings)
    with session_scope(engine) as db:
        credential = load_signing_credential(db, settings, row.id)
    signed = sign_pdf(blank_pdf(), credential.signer, timestamper=local_timestamper(settings),
                      validation_context=validation_context(settings, for_signing=True))
    return row, signed


def test_b_lt_signing_and_validation_answer_in_process(settings, database_url):
    settings = settings.with_changes(base_url=f"http://127.0.0.1:{_closed_port()}")
    engine = make_engine(database_url)
    row, signed = _signed_b_lt(engine, settings)
    reader = PdfFileReader(io.BytesIO(signed))
    sig = reader.embedded_signatures[0]

    offline = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {"trust_roots": trust_roots(settings), "allow_fetching": False, "revocation_mode": "hard-fail"})
    status = validate_pdf_signature(sig, signer_validation_context=offline)
    assert status.bottom_line, status.summary()  # the DSS holds OCSP/CRL for the whole chain

    online = validate_pdf_signature(sig, signer_validation_context=validation_context(settings))
    assert online.bottom_line, online.summary()

    with session_scope(engine, write=True) as db:
        revoke(db, settings, row.serial, "keyCompromise")
    after = validate_pdf_signature(sig, signer_validation_context=validation_context(settings))
    assert after.revoked and not after.bottom_line
    with session_scope(engine) as db, pytest.raises(CredentialRevoked):
        load_signing_credential(db, settings, row.id)
    engine.dispose()


def test_one_context_per_thread_validates_concurrently(settings, database_url):
    """The pitfall is sharing one context; fresh contexts in several threads must all finish."""
    engine = make_engine(database_url)
    row, signed = _signed_b_lt(engine, settings)
    results: list[bool] = []

    def work() -> None:
        sig = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
        results.append(validate_pdf_signature(sig, signer_validation_context=validation_context(settings)).bottom_line)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [True] * 4
    engine.dispose()
