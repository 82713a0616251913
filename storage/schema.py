"""Where the tables come from. ``storage`` uses no other package at import time; the
models are found by module name so that Alembic and the tests see the whole schema."""
from __future__ import annotations

import importlib

from sqlalchemy import MetaData
from sqlmodel import SQLModel

# Every module that declares SQLModel tables, in dependency order.
MODEL_MODULES: tuple[str, ...] = ("certs.models", "exchange.models")


def import_all_models() -> MetaData:
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return SQLModel.metadata
