"""Rows of the security matrix (tests/integration/exchange/http/test_security_matrix.py) for the
attachment endpoints: a draft with an attachment, and one dispatched to a commune."""
from __future__ import annotations

import io

from exchange.models import Attachment
from exchange.services import attachments
from tests.db import services_of, session_scope
from tests.exchange_fixtures import caller_for

CSV = "Xã;Số tiền\nAn Bình;1.000.000\n".encode()


def matrix_draft_with_attachment(ctx) -> dict:  # type: ignore[no-untyped-def]
    doc = ctx.document("clerk")
    added = attachments.add_attachment(services_of(ctx.app), caller_for(ctx.world, "clerk"), doc, io.BytesIO(CSV),
                                       "bang-ke.csv")
    return {"doc": doc, "att": added["id"]}


def matrix_dispatched_with_attachment(ctx) -> dict:  # type: ignore[no-untyped-def]
    """Sent to the first commune; the attachment's row is written directly (a sealed document
    takes none through the service), its .p7s standing in as any stored blob."""
    from tests.integration.exchange.delivery_support import matrix_dispatched

    fields = matrix_dispatched(ctx)
    ref = services_of(ctx.app).blobs.put(io.BytesIO(CSV))
    with session_scope(ctx.engine, write=True) as s:
        row = Attachment(document_id=fields["doc"], name="bang-ke.csv", blob_sha256=ref.sha256, size=ref.size,
                         content_type="text/csv", signature_sha256=ref.sha256, signature_size=ref.size)
        s.add(row)
        s.flush()
        fields["att"] = row.id
    return fields


def matrix_upload_body(ctx, fields: dict) -> dict:  # type: ignore[no-untyped-def]
    return {"content_type": "multipart/form-data", "data": {"file": (io.BytesIO(CSV), "moi.csv")}}
