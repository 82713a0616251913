"""The upload check over the shared public corpus of real-world PDFs: every file a reader
opens is accepted, except the encrypted one, which is refused as encrypted."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from errors import Unprocessable
from exchange.services.pdf_check import inspect_pdf

CORPUS = Path(__file__).resolve().parents[4].parent / "shared" / "corpus"
FILES = sorted(CORPUS.rglob("*.pdf")) if CORPUS.is_dir() else []


@pytest.mark.skipif(not FILES, reason=f"public corpus not found at {CORPUS} (it is never copied into the project)")
@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(CORPUS)) for p in FILES])
def test_corpus_file_passes_the_upload_check(path):
    data = path.read_bytes()
    if path.name == "encrypted.pdf":
        with pytest.raises(Unprocessable) as err:
            inspect_pdf(io.BytesIO(data))
        assert err.value.code == "pdf_encrypted"
    else:
        assert inspect_pdf(io.BytesIO(data)) == len(data)
