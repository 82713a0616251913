"""Signing and remote prepare refuse a structure bomb before pyHanko parses it: both open
their input with ``signing.sign.open_document``."""
from __future__ import annotations

import io
import time

import pytest

from errors import ErrorCode, Unprocessable
from signing.sign import open_document
from tests import hostile_pdfs
from tests.exchange_fixtures import make_pdf
from tests.signing_pki import person, signing_pki  # noqa: F401 (fixtures)


@pytest.mark.parametrize("build", [hostile_pdfs.classic_xref_bomb, hostile_pdfs.xref_stream_bomb,
                                   hostile_pdfs.predictor_bomb])
def test_a_structure_bomb_is_refused_before_signing(build, tmp_path):
    started = time.monotonic()
    with pytest.raises(Unprocessable) as err:
        open_document(io.BytesIO(build()))
    assert err.value.code == ErrorCode.PDF_TOO_COMPLEX
    path = tmp_path / "blob.pdf"  # as the services hand it over: a spooled copy on disk
    path.write_bytes(build())
    with path.open("rb") as f, pytest.raises(Unprocessable):
        open_document(f)
    assert time.monotonic() - started < 1


def test_an_honest_file_opens():
    assert open_document(io.BytesIO(make_pdf(pages=3))).prev.root["/Pages"]["/Count"] == 3


def test_remote_prepare_and_server_signing_refuse_it(signing_pki, person):  # type: ignore[no-untyped-def]
    from signing.remote import prepare
    from signing.sign import sign

    official = signing_pki.issue_person("Phạm Thị Hồng Nhung", "Phó Chủ tịch")
    for build in (hostile_pdfs.classic_xref_bomb, hostile_pdfs.xref_stream_bomb):
        with pytest.raises(Unprocessable) as err:
            prepare(io.BytesIO(build()), official.pem, level="B-T", chain=[signing_pki.issuing.asn1],
                    timestamper=signing_pki.timestamper())
        assert err.value.code == ErrorCode.PDF_TOO_COMPLEX
        with pytest.raises(Unprocessable) as err:
            sign(io.BytesIO(build()), person, level="B-B")
        assert err.value.code == ErrorCode.PDF_TOO_COMPLEX


def test_verification_refuses_it_in_process_and_without_a_worker():
    from signing.isolation import IsolatedVerifier
    from signing.verify import verify

    for build in (hostile_pdfs.classic_xref_bomb, hostile_pdfs.image_bomb):
        report = verify(build(), trust_roots=[])
        assert report.indication == "FAILED" and [f.code for f in report.findings] == ["STRUCTURE_REFUSED"]
    fresh = IsolatedVerifier(workers=1)
    started = time.monotonic()
    report = fresh.verify(hostile_pdfs.xref_stream_bomb(), trust_roots=[])
    assert [f.code for f in report.findings] == ["STRUCTURE_REFUSED"] and time.monotonic() - started < 0.5
    assert fresh.worker_pids() == []  # no pool was started for it
    fresh.close()
