"""Helpers for the webhook tests: a subscription made through the service, rows of the security matrix."""
from __future__ import annotations

from typing import Any

from exchange.services import webhooks
from tests.db import services_of
from tests.exchange_fixtures import World, caller_for

PUBLIC_URL = "https://93.184.215.14/lienthong-hook"  # a public address literal: no DNS needed to accept it


def subscribe(services: Any, world: World, who: str, url: str = PUBLIC_URL) -> dict:
    return webhooks.subscribe(services, caller_for(world, who), url, "thử nghiệm")


# --- rows of the security matrix (tests/integration/exchange/http/test_security_matrix.py) -----------

def matrix_hook(ctx) -> dict:  # type: ignore[no-untyped-def]
    return {"hook": subscribe(services_of(ctx.app), ctx.world, "admin")["id"]}


def matrix_commune_hook(ctx) -> dict:  # type: ignore[no-untyped-def]
    return {"hook": subscribe(services_of(ctx.app), ctx.world, ctx.world.all_communes[0])["id"]}


def matrix_body(ctx, fields: dict) -> dict:  # type: ignore[no-untyped-def]
    return {"json": {"url": PUBLIC_URL}}


def matrix_leaks(ctx, fields: dict, response) -> bool:  # type: ignore[no-untyped-def]
    return any(item["id"] == fields["hook"] for item in response.json["items"])
