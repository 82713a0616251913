"""The room reserved for a signature: pyHanko's own estimate, its dry run made once per
signer, time stamper and options (signing.sign.reserved_size)."""
from __future__ import annotations

import io

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers.pdf_signer import PdfSigningSession
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation import validate_pdf_signature

from signing import sign as sign_module
from signing.sign import sign
from tests.pdfs import make_pdf
from tests.signing_pki import SigningPKI, person, seal, signing_pki  # noqa: F401 (fixtures)


@pytest.fixture
def dry_runs(monkeypatch):  # type: ignore[no-untyped-def]
    """The dry runs pyHanko makes, counted, with nothing remembered from other tests."""
    monkeypatch.setattr(sign_module, "_estimates", {})
    calls: list[bool] = []
    real = PdfSigningSession.estimate_signature_container_size

    async def counted(self, validation_info, tight=False):  # type: ignore[no-untyped-def]
        calls.append(tight)
        return await real(self, validation_info, tight=tight)

    monkeypatch.setattr(PdfSigningSession, "estimate_signature_container_size", counted)
    return calls


def _sign(pki: SigningPKI, pdf: bytes, cred, **kw):  # type: ignore[no-untyped-def]
    return sign(io.BytesIO(pdf), cred, timestamper=pki.timestamper(), validation_context=pki.validation_context(),
                **kw).data()


def _reserved(data: bytes) -> int:
    """Hex characters between the /Contents brackets of the file's last signature."""
    sig = PdfFileReader(io.BytesIO(data)).embedded_signatures[-1]
    br = [int(x) for x in sig.sig_object["/ByteRange"]]
    return br[2] - br[1] - 2


def _valid(pki: SigningPKI, data: bytes) -> bool:
    sig = PdfFileReader(io.BytesIO(data)).embedded_signatures[-1]
    return validate_pdf_signature(sig, signer_validation_context=pki.validation_context()).bottom_line


def test_one_dry_run_per_signer_and_the_same_room_as_pyhanko_would_reserve(signing_pki, person, dry_runs):  # type: ignore[no-untyped-def]  # noqa: F811
    first = _sign(signing_pki, make_pdf(), person, level="B-LT")
    second = _sign(signing_pki, make_pdf(), person, level="B-LT")
    assert len(dry_runs) == 1 and _valid(signing_pki, first) and _valid(signing_pki, second)
    sign_module._estimates.clear()  # what pyHanko's own estimate gives for the next one
    fresh = _sign(signing_pki, make_pdf(), person, level="B-LT")
    assert len(dry_runs) == 2
    # the revocation data's size may differ by a few bytes from one signature to the next
    assert abs(_reserved(second) - _reserved(fresh)) <= 64, (_reserved(second), _reserved(fresh))


def test_levels_signers_and_unnamed_time_stampers_each_get_their_own_estimate(signing_pki, person, seal,  # noqa: F811
                                                                             dry_runs):  # type: ignore[no-untyped-def]
    pdf = make_pdf()
    b_b = _sign(signing_pki, pdf, person, level="B-B")
    b_lt = _sign(signing_pki, pdf, person, level="B-LT")  # with revocation data: its own dry run
    sealed = _sign(signing_pki, b_lt, seal, profile="seal", level="B-LT")  # another signer: its own
    assert len(dry_runs) == 3
    assert _reserved(b_lt) > _reserved(b_b)
    assert all(_valid(signing_pki, d) for d in (b_b, b_lt, sealed))

    class Unnamed(TimeStamper):  # a stamper of someone else's: no tsa_cert, no url to know it by
        def __init__(self, inner: TimeStamper) -> None:
            super().__init__()
            self.inner = inner

        async def async_request_tsa_response(self, req):  # type: ignore[no-untyped-def]
            return await self.inner.async_request_tsa_response(req)

    stamper = Unnamed(signing_pki.timestamper())
    before = len(dry_runs)
    for _ in range(2):
        out = sign(io.BytesIO(pdf), person, level="B-T", timestamper=stamper,
                   validation_context=signing_pki.validation_context())
        assert out.size > 0
    assert len(dry_runs) == before + 2  # pyHanko estimates every time
