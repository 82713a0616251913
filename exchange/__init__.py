"""exchange: the domain — agencies, users, documents, dispatch, inbox, lifecycle, audit chain, HTTP API and web UI."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's blueprints and `flask` commands."""
