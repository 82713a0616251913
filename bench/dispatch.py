"""One dispatch to 3,321 communes (all of Vietnam's communes after the 2025 reform) beside a
bare bulk insert of the same delivery rows, same database, same run.

*ours* = ``exchange.services.dispatch.dispatch_document`` with ``children_of`` the root and
``level=commune``: recipients resolved through the directory, gapless per-recipient ``seq``
bumped by upsert, deliveries bulk-inserted, NOTIFY payloads, audit event and its outbox row, and the response
view read back. *bare* = one ``INSERT`` executemany of the same 3,321 delivery rows (values
precomputed) in one transaction. Rounds alternate; the median counts.

    .venv/bin/python bench/dispatch.py [--rounds 5] [--database-url URL]

Without ``--database-url`` it runs on a temporary SQLite file; with a PostgreSQL URL it uses
a private schema that it drops afterwards. Targets: ours ≤ 1 s and ≤ 3× bare.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

import bootstrap  # noqa: E402
from exchange.domain.caller import Caller  # noqa: E402
from exchange.domain.enums import CallerKind  # noqa: E402
from exchange.models import Agency, Delivery, Dispatch, utcnow  # noqa: E402
from exchange.services.dispatch import Recipients, dispatch_document  # noqa: E402
from settings import Settings  # noqa: E402
from storage.db import make_engine, normalise_url  # noqa: E402
from storage.schema import import_all_models  # noqa: E402
from tests.db import session_scope  # noqa: E402
from tests.national import COMMUNES, ROOT, build_nation, national_document  # noqa: E402



@contextmanager
def database(url: str | None) -> Iterator[str]:
    if not url:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in url else "?"
    try:
        yield f"{normalise_url(url)}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def build(engine: sa.Engine) -> tuple[Caller, int, int]:
    """A national root, 34 provinces, 3,321 communes; a sealed document of the root."""
    import_all_models().create_all(engine)
    with session_scope(engine, write=True) as session:
        nation = build_nation(session)
    return (Caller(CallerKind.AGENCY, nation.root_id, ROOT, None, None, frozenset(), None),
            nation.document_id, nation.revision_id)


def bare_insert(engine: sa.Engine, caller: Caller, doc: int, revision: int, round_no: int) -> float:
    with session_scope(engine) as session:
        ids = [i for (i,) in session.execute(sa.select(Agency.id).where(Agency.level == "commune"))]
    with session_scope(engine, write=True) as session:
        dispatch = Dispatch(document_id=doc, revision_id=revision, sender_agency_id=caller.agency_id,
                            idempotency_key=f"bare-{round_no}", request_sha256="0" * 64)
        session.add(dispatch)
        session.flush()
        now = utcnow()
        rows = [{"dispatch_id": dispatch.id, "document_id": doc, "recipient_agency_id": a,
                 "addressed_agency_id": a, "seq": 1_000_000 + round_no, "status": "queued", "trace": "[]",
                 "created_at": now, "updated_at": now} for a in ids]
    started = time.perf_counter()
    with session_scope(engine, write=True) as session:
        session.execute(sa.insert(Delivery), rows)
    return time.perf_counter() - started


def ours(services: bootstrap.Services, caller: Caller, doc: int, round_no: int) -> float:
    started = time.perf_counter()
    view, created = dispatch_document(services, caller, doc, Recipients(children_of=ROOT, level="commune"),
                                      f"ours-{round_no}")
    elapsed = time.perf_counter() - started
    assert created and len(view["deliveries"]) == COMMUNES
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with database(args.database_url) as url, tempfile.TemporaryDirectory() as data_dir:
        services = bootstrap.build(Settings(data_dir=Path(data_dir), database_url=url))
        engine = services.engine
        caller, doc, revision = build(engine)
        times: dict[str, list[float]] = {"ours": [], "bare": []}
        for r in range(args.rounds + 1):  # the first round warms caches and is not counted
            if r:  # a document already delivered to every commune is not delivered again: a new one
                with session_scope(engine, write=True) as session:
                    doc, revision = national_document(session, caller.agency_id)
            o, b = ours(services, caller, doc, r), bare_insert(engine, caller, doc, revision, r)
            if r:
                times["ours"].append(o)
                times["bare"].append(b)
        services.close()
    kind = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"database: {kind}; {COMMUNES} recipients; median of {args.rounds} rounds")
    print(f"ours: dispatch_document (resolve, seq upsert, insert, notify, audit, view): {med['ours'] * 1000:.0f} ms")
    print(f"bare: INSERT executemany of the same {COMMUNES} delivery rows: {med['bare'] * 1000:.0f} ms")
    print(f"ratio ours/bare: {med['ours'] / med['bare']:.2f} (ours {med['ours']:.3f} s; targets ≤ 1 s and ≤ 3×)")


if __name__ == "__main__":
    main()
