"""sign(): every PAdES level, person + seal, the seal rule, DocMDP, failures mapped to 4xx/503."""
from __future__ import annotations

import asyncio
import io

import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature

from errors import Conflict, ServiceUnavailable, Unprocessable
from signing.errors import DocumentLocked, RevocationUnavailable, SealRefused, SigningFailed, TimestampUnavailable
from signing.sign import sign
from signing.stamps import Appearance
from tests.pdfs import make_pdf
from tests.signing_pki import AGENCY_B, SigningPKI, offline_statuses, person, seal, signing_pki  # noqa: F401 (fixtures)
from translations import translate


def _sign(pki: SigningPKI, pdf: bytes, cred, **kw):  # type: ignore[no-untyped-def]
    kw.setdefault("timestamper", pki.timestamper())
    kw.setdefault("validation_context", pki.validation_context())
    return sign(io.BytesIO(pdf) if isinstance(pdf, bytes) else pdf, cred, **kw)


@pytest.mark.parametrize("level", ["B-B", "B-T", "B-LT", "B-LTA"])
def test_every_level_signs_and_validates(signing_pki, person, level):  # type: ignore[no-untyped-def]
    result = _sign(signing_pki, make_pdf(), person, level=level)
    data = result.data()
    assert result.level == level and result.field_name == "Person1"
    assert result.size == len(data) and result.sha256 == __import__("hashlib").sha256(data).hexdigest()
    assert result.signing_time.utcoffset().total_seconds() == 7 * 3600
    reader = PdfFileReader(io.BytesIO(data))
    sig = reader.embedded_regular_signatures[0]
    status = validate_pdf_signature(sig, signer_validation_context=signing_pki.validation_context())
    assert status.bottom_line, status.summary()
    assert (status.timestamp_validity is not None) == (level != "B-B")
    assert ("/DSS" in reader.root) == (level in ("B-LT", "B-LTA"))
    assert bool(reader.embedded_timestamp_signatures) == (level == "B-LTA")
    # the CMS signing time is the one printed on the stamp
    assert abs((status.signer_reported_dt - result.signing_time).total_seconds()) < 1


def test_person_then_seal_both_valid_offline(signing_pki, person, seal):  # type: ignore[no-untyped-def]
    first = _sign(signing_pki, make_pdf(), person, level="B-LT")
    second = _sign(signing_pki, first.data(), seal, profile="seal", level="B-LTA")
    data = second.data()
    assert data.startswith(first.data())  # an incremental update: the first revision is untouched
    statuses = offline_statuses(signing_pki, data)
    assert set(statuses) == {"Person1", "Seal2"}
    for name, status in statuses.items():
        assert status.bottom_line and status.trusted, (name, status.summary())


@pytest.mark.parametrize("seal_level", ["B-LT", "B-LTA"])
def test_seal_backfills_revocation_of_a_b_t_person_signature(signing_pki, person, seal, seal_level):  # type: ignore[no-untyped-def]
    first = _sign(signing_pki, make_pdf(), person, level="B-T")
    assert not offline_statuses(signing_pki, first.data())["Person1"].trusted  # no revocation data yet
    second = _sign(signing_pki, first.data(), seal, profile="seal", level=seal_level)
    for name, status in offline_statuses(signing_pki, second.data()).items():
        assert status.bottom_line and status.trusted, (name, status.summary())


def test_seal_refused_without_person_signature(signing_pki, seal):  # type: ignore[no-untyped-def]
    with pytest.raises(SealRefused) as err:
        _sign(signing_pki, make_pdf(), seal, profile="seal")
    assert isinstance(err.value, Conflict)


def test_seal_refused_after_a_person_of_another_agency(signing_pki, seal):  # type: ignore[no-untyped-def]
    outsider = signing_pki.credential(signing_pki.issue_person("Trần Văn Bình", "Giám đốc", AGENCY_B))
    signed = _sign(signing_pki, make_pdf(), outsider, level="B-B")
    with pytest.raises(SealRefused, match="chữ ký cá nhân trên văn bản không thuộc cơ quan này") as err:
        _sign(signing_pki, signed.data(), seal, profile="seal")
    assert translate(err.value.message, "en") == ("the agency cannot seal yet: "
                                                  "the person signature belongs to another agency")


def test_seal_refused_when_the_person_signature_is_broken(signing_pki, person, seal):  # type: ignore[no-untyped-def]
    data = bytearray(_sign(signing_pki, make_pdf(), person, level="B-B").data())
    i = data.index(b"trang 2/3")
    data[i] ^= 0x01  # inside the signed byte range
    with pytest.raises(SealRefused):
        _sign(signing_pki, bytes(data), seal, profile="seal")


def test_seal_refused_after_a_seal_only(signing_pki, seal):  # type: ignore[no-untyped-def]
    person_like_seal = signing_pki.credential(signing_pki.issue_seal(), kind="person")  # a seal cert used as person
    signed = _sign(signing_pki, make_pdf(), person_like_seal, level="B-B")
    with pytest.raises(SealRefused):
        _sign(signing_pki, signed.data(), seal, profile="seal")


def test_certified_no_changes_document_refuses_another_signature(signing_pki, person):  # type: ignore[no-untyped-def]
    meta = signers.PdfSignatureMetadata(field_name="Cert", certify=True, docmdp_permissions=fields.MDPPerm.NO_CHANGES)
    w = IncrementalPdfFileWriter(io.BytesIO(make_pdf()))
    certified = signers.PdfSigner(meta, person.signer).sign_pdf(w).getvalue()
    out = io.BytesIO()
    with pytest.raises(DocumentLocked) as err:
        _sign(signing_pki, certified, person, level="B-B", output=out)
    assert isinstance(err.value, Conflict) and out.getvalue() == b""


def test_revoked_certificate_is_refused_with_422(signing_pki):  # type: ignore[no-untyped-def]
    issued = signing_pki.issue_person("Lê Văn Thu Hồi")
    signing_pki.revoke(issued)
    with pytest.raises(SigningFailed) as err:
        _sign(signing_pki, make_pdf(), signing_pki.credential(issued), level="B-LT")
    assert isinstance(err.value, Unprocessable) and err.value.code == "certificate_revoked"


def test_responders_down_gives_503(signing_pki, person):  # type: ignore[no-untyped-def]
    signing_pki.responders_down = True
    try:
        with pytest.raises(RevocationUnavailable) as err:
            _sign(signing_pki, make_pdf(), person, level="B-LT", validation_context=signing_pki.validation_context())
    finally:
        signing_pki.responders_down = False
    assert isinstance(err.value, ServiceUnavailable)


@pytest.mark.parametrize("blob", [b"", b"not a pdf at all", make_pdf()[:300]])
def test_not_a_pdf_is_422(signing_pki, person, blob):  # type: ignore[no-untyped-def]
    with pytest.raises(Unprocessable) as err:
        _sign(signing_pki, blob, person, level="B-B")
    assert isinstance(err.value, Unprocessable)


def test_encrypted_pdf_is_422(signing_pki, person):  # type: ignore[no-untyped-def]
    with pytest.raises(Unprocessable) as err:
        _sign(signing_pki, make_pdf(password="mat-khau"), person, level="B-B")
    assert err.value.code == "pdf_encrypted"


def test_bad_options_are_422(signing_pki, person, seal):  # type: ignore[no-untyped-def]
    with pytest.raises(Unprocessable):
        _sign(signing_pki, make_pdf(), person, level="B-X")
    with pytest.raises(Unprocessable):
        _sign(signing_pki, make_pdf(), person, profile="seal", level="B-B")  # person credential as seal
    with pytest.raises(Unprocessable):
        _sign(signing_pki, make_pdf(), person, level="B-B", appearance=Appearance(7, (10, 10, 200, 100)))
    with pytest.raises(Unprocessable):
        Appearance(0, (10, 10, 12, 100))


def test_missing_timestamper_is_503(signing_pki, person):  # type: ignore[no-untyped-def]
    with pytest.raises(TimestampUnavailable) as err:
        sign(io.BytesIO(make_pdf()), person, level="B-T")
    assert isinstance(err.value, ServiceUnavailable)


def test_given_appearance_is_used(signing_pki, person):  # type: ignore[no-untyped-def]
    data = _sign(signing_pki, make_pdf(), person, level="B-B", appearance=Appearance(0, (50, 600, 280, 710))).data()
    reader = PdfFileReader(io.BytesIO(data))
    widget = reader.embedded_regular_signatures[0].sig_field
    assert [round(float(v)) for v in widget["/Rect"]] == [50, 600, 280, 710]
    first_page = reader.root["/Pages"]["/Kids"][0]
    assert any(a.get_object() is widget or a.get_object() == widget for a in first_page["/Annots"])


def test_file_to_file(signing_pki, person, tmp_path):  # type: ignore[no-untyped-def]
    src = tmp_path / "in.pdf"
    src.write_bytes(make_pdf())
    with open(src, "rb") as f, open(tmp_path / "out.pdf", "w+b") as out:
        result = _sign(signing_pki, f, person, level="B-LT", output=out)
    data = (tmp_path / "out.pdf").read_bytes()
    assert result.size == len(data) and data.startswith(src.read_bytes())


def test_a_forward_only_input_stream_is_spooled(signing_pki, person):  # type: ignore[no-untyped-def]
    class ForwardOnly(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, b):  # type: ignore[no-untyped-def]
            chunk = self._inner.read(len(b))
            b[:len(chunk)] = chunk
            return len(chunk)

    pdf = make_pdf()
    result = _sign(signing_pki, ForwardOnly(pdf), person, level="B-B")
    assert result.data().startswith(pdf)


def test_sign_works_inside_a_running_event_loop(signing_pki, person):  # type: ignore[no-untyped-def]
    async def inside() -> int:
        return _sign(signing_pki, make_pdf(), person, level="B-B").size
    assert asyncio.run(inside()) > 0


def test_threads_sign_with_one_credential(signing_pki, person, seal):  # type: ignore[no-untyped-def]
    """A threaded worker shares the credential, the font cache and the decoded images."""
    from concurrent.futures import ThreadPoolExecutor

    def job(i: int) -> bytes:
        first = _sign(signing_pki, make_pdf(1 + i % 3), person, level="B-LT")
        return _sign(signing_pki, first.data(), seal, profile="seal", level="B-B").data()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(job, range(4)))
    for data in results:
        for name, status in offline_statuses(signing_pki, data).items():
            assert status.intact and status.valid and status.bottom_line is not None, name
        reader = PdfFileReader(io.BytesIO(data))
        for sig in reader.embedded_regular_signatures:
            assert validate_pdf_signature(sig, signer_validation_context=signing_pki.validation_context()).bottom_line


def test_tsa_failing_after_the_file_was_written_leaves_no_output(signing_pki, person):  # type: ignore[no-untyped-def]
    from pyhanko.sign.timestamps.common_utils import TimestampRequestError

    class FlakyTSA(type(signing_pki.timestamper())):  # type: ignore[misc]
        calls = 0

        async def async_request_tsa_response(self, req):  # type: ignore[no-untyped-def]
            FlakyTSA.calls += 1
            if FlakyTSA.calls > 1:  # the size estimate passes, the real token request fails
                raise TimestampRequestError("TSA down")
            return await super().async_request_tsa_response(req)

    base = signing_pki.timestamper()
    tsa = FlakyTSA(base.tsa_cert, signing_pki.tsa.key, [signing_pki.issuing.asn1])
    out = io.BytesIO(b"keep")
    out.seek(4)
    with pytest.raises(ServiceUnavailable) as err:
        _sign(signing_pki, make_pdf(), person, level="B-T", timestamper=tsa, output=out)
    assert isinstance(err.value, ServiceUnavailable) and FlakyTSA.calls == 2
    assert out.getvalue() == b"keep"


def test_seal_lands_on_the_person_signature_it_certifies(signing_pki, person, seal):  # type: ignore[no-untyped-def]
    from signing import stamps
    first = _sign(signing_pki, make_pdf(), person, level="B-B", appearance=Appearance(0, (300, 500, 530, 610)))
    data = _sign(signing_pki, first.data(), seal, profile="seal", level="B-B").data()
    reader = PdfFileReader(io.BytesIO(data))
    rects = {s.field_name: [float(v) for v in s.sig_field["/Rect"]] for s in reader.embedded_regular_signatures}
    ix1, iy1, ix2, _ = stamps.person_image_box(tuple(rects["Person1"]))
    sx1, sy1, sx2, sy2 = stamps.seal_circle(tuple(rects["Seal2"]))
    assert sx2 == pytest.approx(ix1 + (ix2 - ix1) / 3, abs=1)  # covers the image's left third
    assert sy1 < iy1 < sy2
    first_page = reader.root["/Pages"]["/Kids"][0]
    assert len(first_page["/Annots"]) == 2  # on the person's page, not the last page
