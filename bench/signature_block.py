"""What issue 8's items 5 and 7 cost: finding the signing space, signing into it, and the DSS
update a B-B/B-T sealed document gets before dispatch.

    .venv/bin/python bench/signature_block.py      # BENCH_N=30 runs per figure (medians)

The letters are ``tests/letters.py``'s công văn (3 and 50 pages, Vietnamese text in an
embedded font, the signature block at the bottom right of the last page); the PKI is
``tests/signing_pki.py`` (OCSP/CRL over HTTP on 127.0.0.1, TSA in-process).
"""
from __future__ import annotations

import dataclasses
import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N = int(os.environ.get("BENCH_N", "30"))

from bench.sign import median_ms  # noqa: E402 - after the path is set


def main() -> None:
    from signing.sign import add_validation_data, sign
    from signing.signature_block import SignerText, find_signing_space
    from tests.letters import cong_van
    from tests.pdfs import make_pdf
    from tests.signing_pki import start_pki

    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}; medians of {N} runs")
    signer = SignerText(("Chủ tịch",), ("Nguyễn Văn A",))
    a4 = (0.0, 0.0, 595.28, 841.89)
    for label, data in (("3-page letter", cong_van()), ("50-page letter", cong_van(pages=50)),
                        ("3-page PDF without a block", make_pdf(3))):
        stream = io.BytesIO(data)
        found = find_signing_space(stream, -1, a4, signer) is not None
        ms = median_ms(lambda s=stream: find_signing_space(s, -1, a4, signer), N)
        print(f"search  {label:28s} {len(data) // 1024:4d} KB  {'found' if found else 'none '}  {ms:7.2f} ms")

    pki = start_pki()
    person = dataclasses.replace(pki.credential(pki.issue_person()), display_name="Nguyễn Văn A", position="Chủ tịch")
    seal = pki.credential(pki.issue_seal(), kind="seal")
    letter = cong_van()
    into_block = median_ms(lambda: sign(io.BytesIO(letter), person, level="B-B"), N)
    elsewhere = dataclasses.replace(person, display_name="Not Printed", position="Nobody")
    default = median_ms(lambda: sign(io.BytesIO(letter), elsewhere, level="B-B"), N)
    print(f"sign    B-B person stamp into the block {into_block:7.1f} ms; at the default place {default:7.1f} ms")

    signed = sign(io.BytesIO(letter), person, level="B-T", timestamper=pki.timestamper()).data()
    sealed = sign(io.BytesIO(signed), seal, profile="seal", level="B-T", timestamper=pki.timestamper()).data()

    def update() -> int:
        return add_validation_data(io.BytesIO(sealed), pki.validation_context(), io.BytesIO())
    assert update() == 2
    out = io.BytesIO()
    add_validation_data(io.BytesIO(sealed), pki.validation_context(), out)
    print(f"dss     B-T person + B-T seal → data for 2 signatures {median_ms(update, N):7.1f} ms; "
          f"file {len(sealed) // 1024} KB → {len(out.getvalue()) // 1024} KB")
    pki.stop()


if __name__ == "__main__":
    main()
