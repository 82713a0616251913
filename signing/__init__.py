"""signing: PAdES signing (levels, profiles, visible stamps, remote signing) and verification reports."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this package's blueprints and `flask` commands."""
    from signing.logs import quiet_expected_validation_tracebacks

    quiet_expected_validation_tracebacks()
