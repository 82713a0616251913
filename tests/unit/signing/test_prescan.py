"""The structure pre-scan: hostile declarations are refused fast, honest files pass."""
from __future__ import annotations

import io
import mmap
import time

import pytest

from signing import prescan
from tests import hostile_pdfs
from tests.exchange_fixtures import make_pdf

HOSTILE = {
    "classic xref": (hostile_pdfs.classic_xref_bomb, "xref_entries"),
    "xref stream": (hostile_pdfs.xref_stream_bomb, "xref_entries"),
    "filter chain": (hostile_pdfs.filter_chain_bomb, "decode_limits"),
    "predictor": (hostile_pdfs.predictor_bomb, "decode_limits"),
    "image": (hostile_pdfs.image_bomb, "decode_limits"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_declarations_are_refused_in_milliseconds(name):
    build, kind = HOSTILE[name]
    data = build()
    assert len(data) < 16_000, "the point is a few-KB file"
    started = time.perf_counter()
    with pytest.raises(prescan.StructureRefused) as err:
        prescan.check(data)
    assert time.perf_counter() - started < 0.5
    assert err.value.kind == kind


def test_honest_files_pass():
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    prescan.check(make_pdf(pages=30))
    out = io.BytesIO()
    IncrementalPdfFileWriter(io.BytesIO(make_pdf())).write(out)  # an xref stream
    prescan.check(out.getvalue())


def test_the_entry_cap_grows_with_the_file_size():
    limits = prescan.Limits()
    assert limits.max_entries(1000) == prescan.MIN_ENTRIES
    assert limits.max_entries(10_000_000) == 10_000_000 // prescan.BYTES_PER_ENTRY
    with pytest.raises(prescan.StructureRefused, match="does not hold"):
        prescan.check(hostile_pdfs.classic_xref_bomb(1000))  # under the cap, but the entries are not there


def test_pathological_keyword_floods_end_fast():
    flood = b"%PDF-1.7\n" + b">>stream\n" * 500_000  # worst case for the dictionary look-back
    started = time.perf_counter()
    with pytest.raises(prescan.StructureRefused, match="stream keywords"):
        prescan.check(flood)
    started_dicts = time.perf_counter()
    prescan.check(b"%PDF-1.7\n" + b"<<" * 2_000_000 + b">>stream\n")  # one stream after 4 MB of "<<"
    assert time.perf_counter() - started_dicts < 1
    assert started_dicts - started < 2


# the three patterns the one-pass scan replaced (issue 13, item 4), each with its own finditer
_SEPARATE = {"size": rb"/Size[\s]*(\d{1,15})", "index": rb"/Index\s*\[([\d\s]{0,2000})\]",
             "length": rb"/Length\s+(\d{1,15})\b(?!\s+\d+\s+R)"}


@pytest.mark.parametrize("name", sorted(HOSTILE) + ["slow xref stream", "honest", "tricky"])
def test_the_one_pass_scan_finds_what_three_passes_found(name):
    import re

    if name == "honest":
        data = make_pdf("Công văn", pages=3)
    elif name == "tricky":  # keys next to and inside each other's near misses
        data = (b"/Size/Index [1 2 /Size 7] /Length 5 0 R /Length 12>>stream\n/Index[0 3 5 4]/Sizes 9"
                b"/Length\n40 /Size\n\n99999999 /Index [ 3 ] /Length 7/Size 1") * 50
    elif name == "slow xref stream":
        data = hostile_pdfs.slow_xref_stream()
    else:
        data = HOSTILE[name][0]()
    separate = sorted((kind, m.start(), m.group(1)) for kind, pattern in _SEPARATE.items()
                      for m in re.finditer(pattern, data))
    merged = sorted((kind, m.start(), m.group(kind)) for m in prescan._SLASH_KEYS.finditer(data)
                    for kind in ("size", "index", "length") if m.group(kind) is not None)
    assert merged == separate


def _classic_xref_tables_by_the_old_pattern(data: bytes) -> list[int]:
    """The classic-table search as it was before it was anchored on "ref" (issue 13, item 4)."""
    import re

    found = []
    for match in re.finditer(rb"xref[ \t]*\r?\n", data):
        if match.start() > 0 and data[match.start() - 1] not in b" \t\r\n\x0c\x00":
            continue
        found.append(match.end())
    return found


def _small_alphabet_files(count: int) -> list[bytes]:
    """Seeded random files over the bytes the xref search cares about: every way the keyword,
    its end of line, "startxref" and near misses can touch each other."""
    import random

    rng = random.Random(13)
    pieces = [b"x", b"r", b"e", b"f", b"ref", b"xref", b"startxref", b" ", b"\t", b"\r", b"\n", b"\x00", b"\x0c",
              b"a", b"0 3\n"]
    return [b"".join(rng.choice(pieces) for _ in range(rng.randrange(1, 60))) for _ in range(count)]


_XREF_EDGES = [b"", b"xref\n", b"ref\n", b"xref", b"xref \t\r\n", b"xref\r\r\n", b"xref\r", b"xxref\n", b"x\nxref\n",
               b"startxref\n", b" startxref\nxref\n", b"\x00xref\r\n", b"\x0cxref\n", b"xref\nxref\n", b"xrefxref\n",
               b"xref\t\t\n0 1\n", b"%xref\n", b"rxref\n", b"xreef\n", b"xre\nf\n", b"ref\nxref\n"]


@pytest.mark.parametrize("name", sorted(HOSTILE) + ["slow xref stream", "honest", "incremental", "x filler",
                                                    "edges", "small alphabet"])
def test_the_xref_search_from_ref_finds_what_the_search_from_xref_found(name):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    from tests.exchange_fixtures import padded_pdf

    if name == "honest":
        files = [make_pdf("Công văn", pages=3)]
    elif name == "incremental":  # an update section after the first: two classic tables
        out = io.BytesIO()
        IncrementalPdfFileWriter(io.BytesIO(make_pdf()), strict=False).write(out)
        files = [out.getvalue(), make_pdf() + make_pdf()]
    elif name == "x filler":
        files = [padded_pdf(64, b"\x01" * 16)]
    elif name == "edges":
        files = _XREF_EDGES + [a + b for a in _XREF_EDGES for b in _XREF_EDGES]
    elif name == "small alphabet":
        files = _small_alphabet_files(20_000)
    elif name == "slow xref stream":
        files = [hostile_pdfs.slow_xref_stream()]
    else:
        files = [HOSTILE[name][0]()]
    tables = 0
    for data in files:
        expected = _classic_xref_tables_by_the_old_pattern(data)
        assert list(prescan._classic_xref_tables(data)) == expected, data[:200]
        tables += len(expected)
    if name in ("honest", "incremental", "x filler", "edges", "small alphabet", "classic xref"):
        assert tables, "the comparison must see tables, or it proves nothing"


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_mapped_file_is_judged_like_its_bytes(name, tmp_path):
    """``check_stream`` maps a file: the search from "ref" and its look-behinds see the mapping as bytes."""
    build, kind = HOSTILE[name]
    path = tmp_path / "upload.pdf"
    path.write_bytes(build())
    with open(path, "rb") as stream, pytest.raises(prescan.StructureRefused) as err:
        prescan.check_stream(stream)
    assert err.value.kind == kind
    assert list(prescan._classic_xref_tables(path.read_bytes())) == _classic_xref_tables_by_the_old_pattern(
        path.read_bytes())
    with open(path, "rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        assert list(prescan._classic_xref_tables(mapped)) == _classic_xref_tables_by_the_old_pattern(path.read_bytes())
