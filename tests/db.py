"""Test helpers over the service's parts: a committing session scope for setting up data,
and the parts of an app built by ``create_app``."""
from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage.blobs import BlobStore
from storage.db import UnitOfWork, make_engine
from storage.schema import import_all_models

if TYPE_CHECKING:
    from bootstrap import Services


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A unit of work that commits when the block ends without an error (test set-up)."""
    with UnitOfWork(engine, write=write) as uow:
        yield uow.session
        uow.commit()


def services_of(app: Any) -> "Services":
    return app.extensions["lienthong.services"]  # type: ignore[no-any-return]


def store_from_app(app: Any) -> BlobStore:
    return services_of(app).blobs


def engine_from_app(app: Any) -> Engine:
    return services_of(app).engine


def build_services(database_url: str, data_dir: Any) -> "Services":
    """The service's parts over ``database_url`` (another process's, a second database)."""
    import bootstrap
    from settings import Settings

    return bootstrap.build(Settings(data_dir=data_dir, database_url=database_url, testing=True))


def drop_everything(url: str) -> None:
    """Empty the test's database of every table (the fixture made them from the models, stamped
    at head), for a test that runs the migrations themselves from the start."""
    engine = make_engine(url)
    with engine.begin() as conn:
        for table in reversed(import_all_models().sorted_tables):
            conn.execute(sa.schema.DropTable(table, if_exists=True))
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    engine.dispose()
