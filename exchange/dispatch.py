"""Dispatch (gửi) and forward (chuyển tiếp): one delivery per recipient, in one transaction.

A dispatch is keyed by the sender's ``Idempotency-Key``: the same key with the same request
returns the first dispatch; with another request it is 409. Recipients are routed to the
successor of a merged agency (the delivery keeps the code it was addressed to, so the
redirect shows). Each delivery gets its recipient's next inbox ``seq`` from a gapless counter
bumped in this transaction (``exchange.counters``): a poller's cursor can never pass a
delivery that has not committed yet. The file is never copied: every delivery points to the
dispatched revision's blob, and a forward reuses its incoming delivery's revision, so the
bytes (and their signatures) stay identical down the tree.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from errors import Conflict, NotFound, Unprocessable
from exchange import agencies, audit, counters, notify
from exchange.lifecycle import code_of, history_of, iso, own_delivery
from exchange.models import AGENCY_LEVELS, Agency, Delivery, Dispatch, Document, Revision, StatusEvent, utcnow
from storage.db import session_scope

if TYPE_CHECKING:
    from exchange.auth import Caller

DISPATCHABLE_STATES = ("sealed", "sent")
IDEMPOTENCY_KEY_MAX = 200
MAX_RECIPIENTS = 20000


@dataclass(frozen=True)
class Recipients:
    """Who a dispatch or forward goes to: explicit codes and/or the descendants of one code."""

    to: tuple[str, ...] = ()
    children_of: str | None = None
    level: str | None = None

    def fingerprint(self, op: str, subject_id: int) -> str:
        body = {"op": op, "subject": subject_id, "to": sorted(set(self.to)),
                "children_of": self.children_of, "level": self.level}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def check_key(key: str | None) -> str:
    key = (key or "").strip()
    if not key:
        raise Unprocessable("Thiếu Idempotency-Key / the Idempotency-Key header is required",
                            fields={"Idempotency-Key": "required"})
    if len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise Unprocessable("Idempotency-Key không hợp lệ / invalid Idempotency-Key",
                            fields={"Idempotency-Key": f"1 to {IDEMPOTENCY_KEY_MAX} printable characters"})
    return key


def resolve(session: Session, sender_agency_id: int, recipients: Recipients) -> list[tuple[Agency, Agency]]:
    """``[(addressed, routed)]``, one per routed recipient, in a stable order; 422 on bad codes."""
    if not recipients.to and not recipients.children_of:
        raise Unprocessable("Chưa chọn nơi nhận / no recipients",
                            fields={"to": "give `to` and/or `children_of`"})
    if recipients.level is not None and recipients.level not in AGENCY_LEVELS:
        raise Unprocessable("Cấp không hợp lệ / unknown level",
                            fields={"level": f"one of {', '.join(AGENCY_LEVELS)}"})
    if recipients.level is not None and not recipients.children_of:
        raise Unprocessable("`level` chỉ dùng với `children_of` / `level` needs `children_of`",
                            fields={"level": "only with children_of"})
    addressed: list[Agency] = []
    if recipients.to:
        found = agencies.find_by_codes(session, recipients.to)
        unknown = [code for code in dict.fromkeys(recipients.to) if code not in found]
        if unknown:
            raise Unprocessable("Mã cơ quan không tồn tại / unknown agency codes",
                                fields={"to": "unknown: " + ", ".join(unknown[:20])})
        addressed.extend(found[code] for code in dict.fromkeys(recipients.to))
    if recipients.children_of:
        try:
            addressed.extend(agencies.descendants(session, recipients.children_of, recipients.level))
        except NotFound:
            raise Unprocessable("Mã cơ quan không tồn tại / unknown agency code",
                                fields={"children_of": f"unknown: {recipients.children_of}"}) from None
    out: dict[int, tuple[Agency, Agency]] = {}
    closed: list[str] = []
    for agency in addressed:
        routed = agencies.route(session, agency)
        if not agencies.is_current(routed):
            closed.append(agency.code)
            continue
        out.setdefault(routed.id, (agency, routed))  # type: ignore[arg-type]
    if closed:
        raise Unprocessable("Cơ quan đã giải thể, không có đơn vị kế thừa / agency closed without successor",
                            fields={"to": "closed: " + ", ".join(closed[:20])})
    if sender_agency_id in out:
        raise Unprocessable("Không gửi cho chính cơ quan mình / cannot send to your own agency",
                            fields={"to": "the sender itself"})
    if not out:
        raise Unprocessable("Không có nơi nhận nào / the selection names no agency",
                            fields={"children_of": "no agency below it at this level"})
    if len(out) > MAX_RECIPIENTS:
        raise Unprocessable("Quá nhiều nơi nhận / too many recipients",
                            fields={"to": f"at most {MAX_RECIPIENTS}"})
    return list(out.values())


def _replay(session: Session, sender_agency_id: int, key: str, fingerprint: str) -> dict[str, Any] | None:
    existing = session.exec(select(Dispatch).where(Dispatch.sender_agency_id == sender_agency_id,
                                                   Dispatch.idempotency_key == key)).one_or_none()
    if existing is None:
        return None
    if existing.request_sha256 != fingerprint:
        raise Conflict("Idempotency-Key đã dùng cho yêu cầu khác / this Idempotency-Key was used "
                       "with another request", code="idempotency_conflict")
    return dispatch_view(session, existing)


def dispatch_view(session: Session, dispatch: Dispatch) -> dict[str, Any]:
    recipient = sa.orm.aliased(Agency)
    addressed = sa.orm.aliased(Agency)
    rows = session.execute(
        sa.select(Delivery.id, Delivery.status, recipient.code, addressed.code)
        .join(recipient, recipient.id == Delivery.recipient_agency_id)
        .join(addressed, addressed.id == Delivery.addressed_agency_id)
        .where(Delivery.dispatch_id == dispatch.id).order_by(Delivery.id)
    ).all()
    return {
        "id": dispatch.id,
        "document_id": dispatch.document_id,
        "forwarded_from": dispatch.forwarded_from_id,
        "created_at": iso(dispatch.created_at),
        "deliveries": [
            {"id": did, "recipient": rcode, "status": status, "code": code_of(status),
             **({"addressed_to": acode} if acode != rcode else {})}
            for did, status, rcode, acode in rows
        ],
    }


def _create(session: Session, caller: "Caller", *, document_id: int, revision_id: int,
            targets: Sequence[tuple[Agency, Agency]], key: str, fingerprint: str,
            forwarded_from: int | None, trace: list[dict[str, Any]]) -> Dispatch:
    now = utcnow()
    dispatch = Dispatch(document_id=document_id, revision_id=revision_id, sender_agency_id=caller.agency_id,
                        created_by_id=caller.user_id, forwarded_from_id=forwarded_from,
                        idempotency_key=key, request_sha256=fingerprint, created_at=now)
    session.add(dispatch)
    session.flush()  # a racing twin with the same key fails here, before any counter moves
    seqs = counters.bump(session, "inbox", (routed.id for _, routed in targets))  # type: ignore[misc]
    trace_json = json.dumps(trace, ensure_ascii=False)
    rows = [{"dispatch_id": dispatch.id, "document_id": document_id, "recipient_agency_id": routed.id,
             "addressed_agency_id": addressed.id, "seq": seqs[routed.id], "status": "queued",
             "trace": trace_json, "created_at": now, "updated_at": now}  # type: ignore[index]
            for addressed, routed in targets]
    session.execute(sa.insert(Delivery), rows)
    notify.announce(session, [(routed.id, seqs[routed.id]) for _, routed in targets])  # type: ignore[misc, index]
    return dispatch


def _run_idempotent(engine: Engine, caller: "Caller", key: str, fingerprint: str, body) -> tuple[dict[str, Any], bool]:  # type: ignore[no-untyped-def]
    """Run ``body(session)`` once per key; ``(view, created)``. A twin racing on the same key
    loses on the unique constraint and is answered with the winner's dispatch."""
    try:
        with session_scope(engine, write=True) as session:
            replay = _replay(session, caller.agency_id, key, fingerprint)
            if replay is not None:
                return replay, False
            return body(session), True
    except IntegrityError:
        with session_scope(engine) as session:
            replay = _replay(session, caller.agency_id, key, fingerprint)
        if replay is None:
            raise
        return replay, False


def dispatch_document(engine: Engine, caller: "Caller", document_id: int, recipients: Recipients,
                      idempotency_key: str | None) -> tuple[dict[str, Any], bool]:
    """Send the document's latest revision; ``(view, created)``."""
    key = check_key(idempotency_key)
    fingerprint = recipients.fingerprint("dispatch", document_id)

    def body(session: Session) -> dict[str, Any]:
        document = session.exec(select(Document).where(Document.id == document_id,
                                                       Document.issuer_agency_id == caller.agency_id)
                                .with_for_update()).one_or_none()
        if document is None:
            raise NotFound("Không tìm thấy văn bản / document not found")
        issuer = session.get(Agency, caller.agency_id)
        if document.state not in DISPATCHABLE_STATES and not (issuer and issuer.allow_unsigned_info):
            raise Conflict("Văn bản chưa được đóng dấu số của cơ quan / only a document carrying the "
                           "agency's seal signature can be sent", code="not_sealed")
        revision = session.exec(select(Revision).where(Revision.document_id == document_id)
                                .order_by(Revision.seq.desc()).limit(1)).first()  # type: ignore[attr-defined]
        if revision is None:
            raise Conflict("Văn bản chưa có tệp / the document has no file", code="no_revision")
        targets = resolve(session, caller.agency_id, recipients)
        now = utcnow()
        dispatch = _create(session, caller, document_id=document_id, revision_id=revision.id,  # type: ignore[arg-type]
                           targets=targets, key=key, fingerprint=fingerprint, forwarded_from=None,
                           trace=[{"agency": caller.agency_code, "at": iso(now)}])
        if document.state == "sealed":
            document.state = "sent"
            document.updated_at = now
            session.add(document)
        audit.record(session, actor=caller.actor, agency_code=caller.agency_code, action="document.dispatch",
                     object=f"document:{document_id}",
                     details={"dispatch_id": dispatch.id, "revision_id": revision.id, "recipients": len(targets),
                              "to": list(recipients.to), "children_of": recipients.children_of,
                              "level": recipients.level})
        return dispatch_view(session, dispatch)

    return _run_idempotent(engine, caller, key, fingerprint, body)


def forward_delivery(engine: Engine, caller: "Caller", delivery_id: int, recipients: Recipients,
                     idempotency_key: str | None) -> tuple[dict[str, Any], bool]:
    """Send on a received document, byte-identical, with one more hop in its trace."""
    key = check_key(idempotency_key)
    fingerprint = recipients.fingerprint("forward", delivery_id)

    def body(session: Session) -> dict[str, Any]:
        incoming = own_delivery(session, caller, delivery_id)
        if incoming.status in ("returned", "recalled", "recall_requested"):
            raise Conflict(f"Không thể chuyển tiếp văn bản ở trạng thái {incoming.status} / "
                           f"cannot forward a delivery in status {incoming.status}", code="invalid_transition")
        parent = session.get(Dispatch, incoming.dispatch_id)
        assert parent is not None
        trace = json.loads(incoming.trace or "[]") + [{"agency": caller.agency_code, "at": iso(utcnow())}]
        targets = resolve(session, caller.agency_id, recipients)
        dispatch = _create(session, caller, document_id=incoming.document_id, revision_id=parent.revision_id,
                           targets=targets, key=key, fingerprint=fingerprint, forwarded_from=incoming.id,
                           trace=trace)
        audit.record(session, actor=caller.actor, agency_code=caller.agency_code, action="delivery.forward",
                     object=f"delivery:{incoming.id}",
                     details={"dispatch_id": dispatch.id, "document_id": incoming.document_id,
                              "recipients": len(targets), "to": list(recipients.to),
                              "children_of": recipients.children_of, "level": recipients.level})
        return dispatch_view(session, dispatch)

    return _run_idempotent(engine, caller, key, fingerprint, body)


def document_deliveries(session: Session, caller: "Caller", document_id: int) -> dict[str, Any]:
    """Sender side: every recipient's status and history. The issuing agency sees every hop,
    forwards included; an agency that forwarded the document sees its own dispatches."""
    document = session.get(Document, document_id)
    stmt = (sa.select(Delivery, Dispatch.sender_agency_id, Dispatch.forwarded_from_id)
            .join(Dispatch, Dispatch.id == Delivery.dispatch_id)
            .where(Delivery.document_id == document_id).order_by(Delivery.id))
    if document is None or document.issuer_agency_id != caller.agency_id:
        stmt = stmt.where(Dispatch.sender_agency_id == caller.agency_id)
    rows = session.execute(stmt).all()
    if document is None or (document.issuer_agency_id != caller.agency_id and not rows):
        raise NotFound("Không tìm thấy văn bản / document not found")
    ids = [d.id for d, _, _ in rows]
    events: dict[int, list[StatusEvent]] = {i: [] for i in ids}
    for start in range(0, len(ids), 1000):
        for event in session.exec(select(StatusEvent).where(StatusEvent.delivery_id.in_(ids[start:start + 1000]))  # type: ignore[attr-defined]
                                  .order_by(StatusEvent.id)):
            events[event.delivery_id].append(event)
    agency_ids = {d.recipient_agency_id for d, _, _ in rows} | {d.addressed_agency_id for d, _, _ in rows} | {
        s for _, s, _ in rows}
    codes: dict[int, str] = {}
    agency_list = sorted(agency_ids)
    for start in range(0, len(agency_list), 1000):
        codes.update(session.execute(sa.select(Agency.id, Agency.code)
                                     .where(Agency.id.in_(agency_list[start:start + 1000]))).all())  # type: ignore[arg-type, attr-defined]
    out = []
    for delivery, sender_id, forwarded_from in rows:
        trace = json.loads(delivery.trace or "[]")
        entry = {
            "id": delivery.id, "recipient": codes[delivery.recipient_agency_id], "status": delivery.status,
            "code": code_of(delivery.status), "sender": codes[sender_id], "forwarded_from": forwarded_from,
            "hop": len(trace), "trace": trace, "incoming_number": delivery.incoming_number,
            "acked_at": iso(delivery.acked_at), "history": history_of(events[delivery.id], delivery.created_at),
        }
        if delivery.addressed_agency_id != delivery.recipient_agency_id:
            entry["addressed_to"] = codes[delivery.addressed_agency_id]
        out.append(entry)
    return {"document_id": document_id, "deliveries": out}
