"""Migration 0017: the feeds' covering indexes come with the upgrade (INCLUDE and partial on
PostgreSQL, built CONCURRENTLY; empty on SQLite) and go with the downgrade."""
from __future__ import annotations

from alembic import command

from storage.db import make_engine
from storage.migrations import alembic_config, upgrade
from tests.db import drop_everything

PAGE_INDEXES = {"ix_delivery_page", "ix_delivery_page_long", "ix_agency_event_page", "ix_agency_event_page_long"}


def _page_indexes(url: str) -> dict[str, str]:
    """The four indexes' definitions as the database tells them."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                rows = conn.exec_driver_sql(
                    "SELECT c.relname, pg_get_indexdef(c.oid) || CASE WHEN i.indisvalid THEN '' ELSE ' INVALID' END "
                    "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                    "WHERE c.relnamespace = current_schema()::regnamespace").all()
            else:
                rows = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").all()
    finally:
        engine.dispose()
    return {name: definition for name, definition in rows if name in PAGE_INDEXES}


def test_the_upgrade_builds_the_covering_indexes_and_the_downgrade_drops_them(database_url: str) -> None:
    drop_everything(database_url)
    upgrade(database_url)
    built = _page_indexes(database_url)
    assert set(built) == PAGE_INDEXES
    if database_url.startswith("postgresql"):
        page = built["ix_delivery_page"]
        assert "(recipient_agency_id, seq) INCLUDE (id, status, incoming_number, created_at" in page
        assert "trace" in page.split("INCLUDE")[1] and "WHERE (octet_length(trace) <= 2000)" in page
        assert "INCLUDE (id, kind, at, delivery_id, document_id, data) WHERE (octet_length(data) <= 2000)" in \
            built["ix_agency_event_page"]
        assert "WHERE (octet_length(data) > 2000)" in built["ix_agency_event_page_long"]
        assert not any(d.endswith("INVALID") for d in built.values())
    else:
        assert all(d.endswith("WHERE 0") for d in built.values()), built
    command.downgrade(alembic_config(database_url), "0016_edxml")
    assert _page_indexes(database_url) == {}
    upgrade(database_url)
    assert _page_indexes(database_url) == built
