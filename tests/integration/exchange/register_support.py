"""Rows of the security matrix (tests/integration/exchange/http/test_security_matrix.py) for
the registers: what each endpoint needs so that the rightful caller (called last) gets a 2xx."""
from __future__ import annotations

from typing import Any

from exchange.domain.times import vn_today
from exchange.services import registers
from tests.db import services_of
from tests.exchange_fixtures import caller_for

PAPER = {"author": "Sở Nội vụ", "reference": "45/SNV-VP", "document_date": "2026-11-30", "doc_type": "Công văn",
         "subject": "V/v báo cáo biên chế"}


def matrix_signed(ctx: Any) -> dict:
    return {"doc": ctx.document("clerk", state="signed", number="")}


def matrix_register_body(ctx: Any, fields: dict) -> dict:
    return {"json": {}}


def _with_paper_entry(ctx: Any, register: str) -> dict:
    from exchange.services.registers import PaperDocumentIn

    registers.register_paper(services_of(ctx.app), caller_for(ctx.world, "clerk"), PaperDocumentIn().load(PAPER))
    return {"register": register, "year": vn_today().year}


def matrix_incoming_register(ctx: Any) -> dict:
    return _with_paper_entry(ctx, "incoming")


def matrix_outgoing_register(ctx: Any) -> dict:
    from exchange.services.registers import register_outgoing

    fields = matrix_signed(ctx)
    register_outgoing(services_of(ctx.app), caller_for(ctx.world, "clerk"), fields["doc"])
    return {"register": "outgoing", "year": vn_today().year}


def matrix_register_leaks(ctx: Any, fields: dict, response: Any) -> bool:
    return bool(response.json["items"]) or response.json["agency"]["code"] == ctx.world.province


def matrix_paper_body(ctx: Any, fields: dict) -> dict:
    return {"json": dict(PAPER)}
