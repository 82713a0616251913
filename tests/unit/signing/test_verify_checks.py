"""The hardening checks on hand-made bytes: each rule fails on the broken case and passes the sane one."""
from __future__ import annotations

import io

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from signing.checks import byterange, increments
from signing.checks.deadline import VerificationTimeout, call_with_deadline
from tests.verify_fixtures import append_garbage, append_unreferenced_update, make_pdf


def _sig_dict(contents: object, byte_range: list[int] | None) -> generic.DictionaryObject:
    d = generic.DictionaryObject()
    if contents is not None:
        d[generic.NameObject("/Contents")] = contents  # type: ignore[assignment]
    if byte_range is not None:
        d[generic.NameObject("/ByteRange")] = generic.ArrayObject([generic.NumberObject(v) for v in byte_range])
    return d


def _file(value_hex: bytes) -> tuple[bytes, list[int]]:
    head = b"%PDF-1.7\n1 0 obj << /Contents "
    tail = b" >> endobj\n%%EOF\n"
    data = head + b"<" + value_hex + b">" + tail
    return data, [0, len(head), len(head) + len(value_hex) + 2, len(tail)]


def test_sane_byte_range_passes():
    data, br = _file(b"3082" + b"00" * 8)
    assert byterange.check(data, _sig_dict(generic.ByteStringObject(bytes.fromhex("3082")), br)) == []


@pytest.mark.parametrize("contents", [None, generic.NullObject(), generic.ByteStringObject(b""),
                                      generic.ByteStringObject(b"\x00" * 8)])
def test_empty_null_or_absent_contents_is_flagged(contents):
    data, br = _file(b"00" * 8)
    assert any("/Contents" in p for p in byterange.check(data, _sig_dict(contents, br)))


@pytest.mark.parametrize("br", [None, [0, 10], [5, 10, 20, 3], [0, 30, 20, 3], [0, 10, 20, 10_000]])
def test_malformed_byte_range_is_flagged(br):
    data, _ = _file(b"3082")
    assert byterange.check(data, _sig_dict(generic.ByteStringObject(b"\x30\x82"), br))


def test_gap_that_holds_other_bytes_is_flagged():
    data, br = _file(b"3082")
    other = generic.ByteStringObject(b"\x30\x83")
    assert any("does not hold" in p for p in byterange.check(data, _sig_dict(other, br)))
    shifted = [br[0], br[1] - 3, br[2], br[3]]
    assert any("hex" in p for p in byterange.check(data, _sig_dict(generic.ByteStringObject(b"\x30\x82"), shifted)))


def test_increments_accept_an_honest_file_and_flag_unaccounted_objects():
    data = make_pdf()
    reader = PdfFileReader(io.BytesIO(data))
    assert increments.check(data, reader, 0) == []
    for attacked in (append_unreferenced_update(data), append_garbage(data)):
        reader = PdfFileReader(io.BytesIO(attacked), strict=False)
        assert increments.check(attacked, reader, len(data)), "appended object must be reported"


def _spin() -> None:
    while True:
        try:
            pass
        except Exception:  # noqa: BLE001 - a library's broad handler must not swallow the timeout
            pass


def test_deadline_interrupts_a_runaway_loop():
    with pytest.raises(VerificationTimeout):
        call_with_deadline(_spin, 0.2)
    # the thread is usable afterwards: no timeout left pending
    assert call_with_deadline(lambda: sum(range(10_000)), 5) == sum(range(10_000))


def test_deadline_passes_results_and_errors_through():
    assert call_with_deadline(lambda: 42, 5) == 42
    with pytest.raises(ZeroDivisionError):
        call_with_deadline(lambda: 1 / 0, 5)


def test_callable_from_inside_a_running_event_loop():
    import asyncio

    async def main() -> int:
        return call_with_deadline(lambda: asyncio.run(asyncio.sleep(0, result=7)), 5)

    assert asyncio.run(main()) == 7
