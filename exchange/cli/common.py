"""What every exchange command shares: the ``Services`` object and the way a refusal ends."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

import click
from flask import current_app

from errors import ServiceError

if TYPE_CHECKING:
    from bootstrap import Services


def services() -> "Services":
    return current_app.extensions["lienthong.services"]


@contextmanager
def refusals_exit() -> Iterator[None]:
    """A refused change ends the command with its message (and per-field messages), exit 1."""
    try:
        yield
    except ServiceError as exc:
        click.echo(f"lỗi / error: {exc.message}", err=True)
        for name, message in (exc.fields or {}).items():
            click.echo(f"  {name}: {message}", err=True)
        sys.exit(1)
