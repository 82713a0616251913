"""certs: what keeping keys loaded and answering our own CA in-process buys while signing.

Prints median ms per signed document (blank one-page PDF) for:
  B-B with our ``load_signing_credential`` signer (key object kept) vs pyHanko's stock
  ``SimpleSigner`` (re-parses the key per call), and
  B-LT with the in-process TSA/OCSP/CRL (``local_timestamper``, ``validation_context``)
  vs the same services over HTTP on 127.0.0.1 (werkzeug, threaded).
Last line: the B-B ratio stock/ours.

    .venv/bin/python bench/certs.py
"""
from __future__ import annotations

import io
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: E402
from pyhanko.sign import signers  # noqa: E402
from pyhanko.sign.fields import SigSeedSubFilter  # noqa: E402
from pyhanko.sign.timestamps import HTTPTimeStamper  # noqa: E402
from pyhanko_certvalidator import ValidationContext  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

RUNS, WARM = 15, 2
logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request drowns the figures


def median_ms(fn) -> float:  # type: ignore[no-untyped-def]
    for _ in range(WARM):
        fn()
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    import pypdfium2 as pdfium

    from app import create_app
    from certs.ca import load_dev_pki
    from certs.issuance import issue_person_credential, load_signing_credential
    from certs.keystore import storage_key
    from certs.fetchers import local_timestamper, validation_context
    from settings import Settings
    from storage.db import make_engine
    from tests.db import engine_from_app, session_scope
    from storage.schema import import_all_models

    folder = Path(tempfile.mkdtemp(prefix="bench-certs-"))
    holder: dict = {}
    server = make_server("127.0.0.1", 0, lambda env, start: holder["app"](env, start), threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    settings = Settings(data_dir=folder / "var", database_url=f"sqlite:///{folder / 'b.db'}", base_url=url)
    import_all_models().create_all(make_engine(settings.effective_database_url))
    app = holder["app"] = create_app(settings)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    engine = engine_from_app(app)
    with session_scope(engine, write=True) as session:
        row = issue_person_credential(session, settings, username="bench", full_name="Nguyễn Văn Bền",
                                      position="Chuyên viên", agency_code="000.00.31.H59",
                                      agency_name="Ủy ban nhân dân tỉnh Vĩnh Long")
    with session_scope(engine) as session:
        ours = load_signing_credential(session, settings, row.id)
    stock = signers.SimpleSigner.load_pkcs12(str(settings.data_dir / row.key_ref),
                                             passphrase=storage_key(settings))
    assert stock is not None
    stock._cert_registry = ours.signer.cert_registry  # type: ignore[attr-defined]

    doc = pdfium.PdfDocument.new()
    doc.new_page(595, 842)
    buf = io.BytesIO()
    doc.save(buf)
    pdf = buf.getvalue()

    def sign(signer, timestamper=None, vc=None) -> None:  # type: ignore[no-untyped-def]
        meta = signers.PdfSignatureMetadata(field_name="Sig1", md_algorithm="sha256",
                                            subfilter=SigSeedSubFilter.PADES,
                                            embed_validation_info=vc is not None, validation_context=vc)
        signers.PdfSigner(meta, signer, timestamper=timestamper).sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(pdf)), output=io.BytesIO())

    roots = [load_dev_pki(settings).root_asn1]
    bb_ours = median_ms(lambda: sign(ours.signer))
    bb_stock = median_ms(lambda: sign(stock))
    lt_local = median_ms(lambda: sign(ours.signer, local_timestamper(settings),
                                      validation_context(settings, for_signing=True)))
    lt_http = median_ms(lambda: sign(ours.signer, HTTPTimeStamper(f"{url}/pki/tsa"),
                                     ValidationContext(trust_roots=roots, allow_fetching=True,
                                                       revocation_mode="hard-fail")))
    server.shutdown()
    print(f"B-B  ours (key kept loaded)        {bb_ours:7.1f} ms")
    print(f"B-B  pyHanko SimpleSigner (stock)  {bb_stock:7.1f} ms")
    print(f"B-LT ours, in-process TSA/OCSP/CRL {lt_local:7.1f} ms")
    print(f"B-LT same services over HTTP       {lt_http:7.1f} ms   (ratio http/in-process {lt_http / lt_local:.2f})")
    print(f"B-B stock/ours ratio: {bb_stock / bb_ours:.2f}")


if __name__ == "__main__":
    main()
