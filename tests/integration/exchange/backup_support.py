"""What the backup tests share: a small world with documents, attachments, signatures and
dispatches; a thread that keeps uploading while the backup runs; a fresh database to restore
into (an SQLite file, or on PostgreSQL a new database whose search_path names the backed-up
schema, since an archive's objects keep their schema's name)."""
from __future__ import annotations

import io
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy.engine import make_url

from storage.db import make_engine, normalise_url
from tests.conftest import TEST_DATABASE_URL, _with_search_path
from tests.exchange_fixtures import make_pdf, upload_via_api
from tests.signing_world import SigningWorld, upload

CSV = "Xã;Số tiền\nAn Bình;1.000.000\n".encode()


def build_backup_world(client: Any, sw: SigningWorld) -> dict[str, Any]:
    """A sealed document with two attachments sent to two communes (one acknowledged), and a
    draft; the ids."""
    communes = sw.world.all_communes[:2]
    sealed = upload(client, sw, "Công văn gửi hai xã")
    for data, name in ((make_pdf("Phụ lục I"), "Phụ lục I.pdf"), (CSV, "Danh sách xã.csv")):
        r = client.post(f"/api/v1/documents/{sealed}/attachments", headers=sw.headers("clerk"),
                        content_type="multipart/form-data", data={"file": (io.BytesIO(data), name)})
        assert r.status_code == 201, r.get_json()
    steps: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
        ("signer", "signatures", {"profile": "person"}, {}),
        ("clerk", "register", {}, {}),
        ("clerk", "signatures", {"profile": "seal"}, {}),
        ("clerk", "dispatches", {"to": communes}, {"Idempotency-Key": "backup-world"}),
    ]
    for who, path, body, extra in steps:
        r = client.post(f"/api/v1/documents/{sealed}/{path}", headers={**sw.headers(who), **extra}, json=body)
        assert r.status_code < 300, (path, r.get_json())
    inbox = client.get("/api/v1/inbox", headers=sw.headers(communes[0])).get_json()
    r = client.post(f"/api/v1/inbox/{inbox['items'][0]['delivery_id']}/ack", headers=sw.headers(communes[0]))
    assert r.status_code == 200, r.get_json()
    draft = upload(client, sw, "Dự thảo chưa ký")
    return {"sealed": sealed, "draft": draft}


class KeepUploading(threading.Thread):
    """Uploads documents through the API until stopped: the app writing while the backup runs."""

    def __init__(self, app: Any, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.client = app.test_client()
        self.headers = headers
        self.done = 0
        self.errors: list[Any] = []
        self.first = threading.Event()
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            r = upload_via_api(self.client, self.headers, pdf=make_pdf(f"Công văn số {self.done} trong lúc sao lưu"))
            if r.status_code != 201:
                self.errors.append(r.get_json())
                return
            self.done += 1
            self.first.set()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=60)


@contextmanager
def fresh_database(tmp_path: Path, schema: str | None) -> Iterator[str]:
    """An empty database to restore into: an SQLite file, or a new PostgreSQL database (dropped
    afterwards) whose URL's search_path names ``schema``, which does not exist there yet."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    assert schema is not None
    name = f"restore_{uuid.uuid4().hex[:12]}"
    admin = make_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(normalise_url(TEST_DATABASE_URL)).set(database=name).render_as_string(hide_password=False)
        yield _with_search_path(url, schema)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()
