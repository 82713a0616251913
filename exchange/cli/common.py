"""What every exchange command shares: the ``Services`` object, the operator's language and
the way a refusal ends."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

import click
from flask import current_app

from errors import ServiceError
from translations import _l, translate

if TYPE_CHECKING:
    from bootstrap import Services


def services() -> "Services":
    return current_app.extensions["lienthong.services"]


def text(message: object) -> str:
    """``message`` in the operator's language (``LIENTHONG_LANGUAGE``)."""
    return translate(message, services().settings.language)


def echo(message: object, *, err: bool = False) -> None:
    click.echo(text(message), err=err)


@contextmanager
def refusals_exit() -> Iterator[None]:
    """A refused change ends the command with its message (and per-field messages), exit 1."""
    try:
        yield
    except ServiceError as exc:
        echo(_l("error: %(message)s", message=exc.message), err=True)
        for name, message in (exc.fields or {}).items():
            click.echo(f"  {name}: {text(message)}", err=True)
        sys.exit(1)
