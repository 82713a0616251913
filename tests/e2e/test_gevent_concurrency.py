"""Signatures and verifications at the same time in one gevent worker (gunicorn -k gevent,
the recommended deployment). Two faults this catches (found by bench/throughput.py, issue 13,
item 5): a signature starting while another greenlet's asyncio loop waited answered 500
("asyncio.run() cannot be called from a running event loop"), and more verifications than
verification workers froze the whole worker on a pipe write until gunicorn killed it."""
from __future__ import annotations

import json
import threading

import pytest
import requests

from settings import Settings
from storage.db import make_engine
from tests.e2e.gunicorn_support import gunicorn
from tests.exchange_fixtures import DOCUMENT_METADATA, make_pdf
from tests.signing_world import build_signing_world, pki_template, seed_pki  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e
SIGNATURES = 4
VERIFICATIONS = 6  # three times the worker's verification processes (LIENTHONG_VERIFY_WORKERS=2)


def test_one_gevent_worker_signs_and_verifies_many_at_once(tmp_path, database_url, pki_template):  # noqa: F811
    settings = Settings(data_dir=tmp_path / "var", database_url=database_url, testing=True)
    seed_pki(settings, pki_template)
    engine = make_engine(database_url)
    sw = build_signing_world(engine, settings, "signer")
    engine.dispose()
    env = {"LIENTHONG_DATA_DIR": str(settings.data_dir), "LIENTHONG_DATABASE_URL": database_url,
           "LIENTHONG_VERIFY_WORKERS": "2"}
    answers: list[tuple[str, int, str]] = []

    def call(kind: str, method: str, url: str, **kwargs) -> None:  # type: ignore[no-untyped-def]
        try:
            r = requests.request(method, url, timeout=90, **kwargs)
            indication = r.json().get("indication", "") if r.headers.get("Content-Type", "").startswith(
                "application/json") else ""
            answers.append((kind, r.status_code, indication))
        except requests.RequestException as exc:
            answers.append((kind, 0, repr(exc)))

    with gunicorn("app:create_app()", env, workers=1) as base:
        documents = []
        for i in range(SIGNATURES + 1):
            up = requests.post(f"{base}/api/v1/documents", headers=sw.headers("clerk"), timeout=60,
                               files={"file": ("a.pdf", make_pdf(f"Song song {i}", pages=2), "application/pdf")},
                               data={"metadata": json.dumps(DOCUMENT_METADATA)})
            assert up.status_code == 201, up.text
            documents.append(up.json()["id"])
        signed = requests.post(f"{base}/api/v1/documents/{documents[0]}/signatures", headers=sw.headers("signer"),
                               json={"profile": "person", "level": "B-LT"}, timeout=90)
        assert signed.status_code == 201, signed.text
        threads = [threading.Thread(target=call, args=("sign", "POST", f"{base}/api/v1/documents/{d}/signatures"),
                                    kwargs={"headers": sw.headers("signer"),
                                            "json": {"profile": "person", "level": "B-LT"}})
                   for d in documents[1:]]
        threads += [threading.Thread(target=call, args=("verify", "GET",
                                                        f"{base}/api/v1/documents/{documents[0]}/verification"),
                                     kwargs={"headers": sw.headers("clerk")}) for _ in range(VERIFICATIONS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert sorted(answers) == sorted([("sign", 201, "")] * SIGNATURES + [("verify", 200, "PASSED")] * VERIFICATIONS)
