"""The contract with ``certs``: its credentials, in-process TSA and validation context sign
person (B-LT) then seal (B-LTA) with no HTTP call to ourselves, and both validate offline."""
from __future__ import annotations

import io
import socket

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore

from certs.issuance import issue_agency_seal, issue_person_credential, load_signing_credential
from certs.fetchers import local_timestamper, validation_context
from certs.trust import trust_roots
from signing.sign import sign
from storage.db import make_engine
from tests.db import session_scope
from tests.pdfs import make_pdf

AGENCY = ("000.00.31.H59", "Ủy ban nhân dân tỉnh Vĩnh Long")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_person_then_seal_with_certs_credentials(settings, database_url):  # type: ignore[no-untyped-def]
    # a base URL nobody answers on: every OCSP/CRL/TSA answer must come in-process
    settings = settings.with_changes(base_url=f"http://127.0.0.1:{_closed_port()}")
    engine = make_engine(database_url)
    with session_scope(engine, write=True) as db:
        person_id = issue_person_credential(db, settings, username="lanh", full_name="Nguyễn Thị Lấp Lánh Ánh",
                                            position="Chủ tịch", agency_code=AGENCY[0], agency_name=AGENCY[1]).id
        seal_id = issue_agency_seal(db, settings, agency_code=AGENCY[0], agency_name=AGENCY[1]).id
    with session_scope(engine) as db:
        person = load_signing_credential(db, settings, person_id)
        seal = load_signing_credential(db, settings, seal_id)
    engine.dispose()

    first = sign(io.BytesIO(make_pdf()), person, level="B-LT", timestamper=local_timestamper(settings),
                 validation_context=validation_context(settings, for_signing=True))
    second = sign(io.BytesIO(first.data()), seal, profile="seal", level="B-LTA",
                  timestamper=local_timestamper(settings),
                  validation_context=validation_context(settings, for_signing=True))
    reader = PdfFileReader(io.BytesIO(second.data()))
    names = []
    for sig in reader.embedded_regular_signatures:
        offline = DocumentSecurityStore.read_dss(reader).as_validation_context(
            {"trust_roots": trust_roots(settings), "allow_fetching": False, "revocation_mode": "hard-fail"})
        status = validate_pdf_signature(sig, signer_validation_context=offline)
        assert status.bottom_line and status.trusted, (sig.field_name, status.summary())
        names.append(sig.field_name)
    assert names == ["Person1", "Seal2"]
