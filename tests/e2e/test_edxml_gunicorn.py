"""edXML over real HTTP, the app under gunicorn (gevent workers): a national sample (its
agency codes and file rewritten in memory) imports into the commune's inbox and acks with a
status package; a billion-laughs package is refused in under a second; a package over the
upload limit is a 413 in our shape; another agency is refused."""
from __future__ import annotations

import time

import pytest
import requests

from storage.db import make_engine
from tests.db import session_scope
from tests.e2e.gunicorn_support import gunicorn
from tests.exchange_fixtures import auth, build_world, make_pdf
from tests.integration.exchange.edxml_support import SAMPLE_DOCUMENT_ID, sample
from tests.unit.exchange.edxml.test_codec import BILLION_LAUGHS

pytestmark = pytest.mark.e2e


def _post(base: str, token: str, data: bytes) -> requests.Response:
    return requests.post(f"{base}/api/v1/edxml", headers=auth(token), files={"file": ("goi.edxml", data)}, timeout=30)


def test_edxml_import_under_gunicorn(tmp_path, database_url):
    engine = make_engine(database_url)
    with session_scope(engine, write=True) as s:
        w = build_world(s)
    engine.dispose()
    commune = w.all_communes[0]
    codes = {"000.00.00.G22": w.other_province, "000.00.00.A80": w.other_province, "28.22.H17": commune,
             "000.00.00.H41": commune}
    env = {"LIENTHONG_DATA_DIR": str(tmp_path / "var"), "LIENTHONG_DATABASE_URL": database_url,
           "LIENTHONG_MAX_UPLOAD_MB": "2"}
    with gunicorn("app:create_app()", env) as base:
        token = w.agency_tokens[commune]
        imported = _post(base, token, sample("edoc_new.edxml", codes, pdf=make_pdf("qua gunicorn"),
                                             document_id=SAMPLE_DOCUMENT_ID))
        assert imported.status_code == 201, imported.text
        assert imported.json()["edxml"]["envelope_signature"]["state"] == "invalid"
        inbox = requests.get(f"{base}/api/v1/inbox", headers=auth(token), timeout=30).json()["items"]
        assert [i["delivery_id"] for i in inbox] == [imported.json()["delivery"]["id"]]
        assert inbox[0]["sender"] == w.other_province
        acked = _post(base, token, sample("status_inbox_01.edxml", codes, document_id=SAMPLE_DOCUMENT_ID))
        assert acked.status_code == 201 and acked.json()["result"]["code"] == "01", acked.text

        started = time.perf_counter()
        laughs = _post(base, token, BILLION_LAUGHS)
        assert time.perf_counter() - started < 1.0
        assert laughs.status_code == 422 and laughs.json()["error"]["code"] == "edxml_dtd_refused"

        huge = _post(base, token, b"<edXML>" + b"A" * (3 * 1024 * 1024) + b"</edXML>")
        assert huge.status_code == 413 and set(huge.json()) == {"error"}

        other = _post(base, w.agency_tokens[w.other_province],
                      sample("edoc_new.edxml", codes, pdf=make_pdf("không phải của bạn")))
        assert other.status_code == 403 and other.json()["error"]["code"] == "edxml_not_addressed"
