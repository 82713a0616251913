"""Alembic environment: the URL comes from the caller (``storage.db.upgrade``), the
target metadata from every package's models."""
from __future__ import annotations

from typing import Any

from alembic import context

from storage.db import UTCDateTime, make_engine
from storage.schema import import_all_models

config = context.config
target_metadata = import_all_models()


def render_item(kind: str, obj: Any, autogen_context: Any) -> str | bool:
    """Migrations stand alone: a UTC column is written as the plain type it stores."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online() -> None:
    url = config.attributes.get("sqlalchemy_url") or config.get_main_option("sqlalchemy.url")
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_item=render_item,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context.configure(connection=conn, target_metadata=target_metadata, render_item=render_item,
                              render_as_batch=conn.dialect.name == "sqlite")
            with context.begin_transaction():
                context.run_migrations()
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.attributes.get("sqlalchemy_url"), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
