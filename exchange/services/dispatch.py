"""Dispatch (gửi) and forward (chuyển tiếp): one delivery per recipient, in one transaction.

A dispatch is keyed by the sender's ``Idempotency-Key``: the same key with the same request
returns the first dispatch; with another request it is 409. Recipients are routed to the
successor of a merged agency (the delivery keeps the code it was addressed to, so the
redirect shows). Each delivery gets its recipient's next inbox ``seq`` from a gapless counter
bumped in this transaction (``exchange.adapters.counters``): a poller's cursor can never pass a
delivery that has not committed yet. The file is never copied: every delivery points to the
dispatched revision's blob, and a forward reuses its incoming delivery's revision, so the
bytes (and their signatures) stay identical down the tree.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from errors import Conflict, ErrorCode, NotFound, Unprocessable
from exchange.adapters import counters, metrics, notify
from exchange.domain.caller import Caller
from exchange.domain.enums import AgencyLevel, DeliveryStatus, DocumentState, values
from exchange.domain.lifecycle import DISPATCHABLE, ENDED, edxml_code
from exchange.domain.times import api_time, vn_today
from exchange.models import Agency, Delivery, Dispatch, Document, Revision, utcnow
from exchange.services import audit, directory, validation_data
from exchange.services.delivery import own_delivery
from storage.db import UnitOfWork
from translations import _l

if TYPE_CHECKING:
    from bootstrap import Services

AGENCY_LEVELS = values(AgencyLevel)
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
        raise Unprocessable(_l("the Idempotency-Key header is required"),
                            fields={"Idempotency-Key": _l("required")})
    if len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise Unprocessable(_l("invalid Idempotency-Key"), fields={
            "Idempotency-Key": _l("1 to %(max)s printable characters", max=IDEMPOTENCY_KEY_MAX)})
    return key


_AGENCY_COLUMNS = (col(Agency.id), col(Agency.code), col(Agency.level), col(Agency.successor_id),
                   col(Agency.valid_from), col(Agency.valid_to))


@dataclass(frozen=True)
class Target:
    addressed_id: int
    addressed_code: str
    id: int  # the recipient after successor routing
    code: str


def _rows(session: Session, column: Any, wanted: list[Any]) -> list[sa.Row[Any]]:
    # plain column rows, not ORM objects: a national dispatch resolves thousands of agencies
    rows: list[sa.Row[Any]] = []
    for start in range(0, len(wanted), 1000):
        rows += session.execute(sa.select(*_AGENCY_COLUMNS).where(column.in_(wanted[start:start + 1000]))).all()
    return rows


def _descendant_rows(session: Session, code: str, level: str | None) -> list[sa.Row[Any]]:
    """Like ``directory.descendants`` (any depth, loop-safe), as column rows: one recursive
    query walks the tree in the database and only the rows of ``level`` come back (the
    national directory holds ≈111,000 agencies; a dispatch to its 3,321 communes used to
    read every one of them into the process, a thousand ids per query). ``UNION`` keeps each
    id once, so a loop in the tree ends the walk."""
    root = _rows(session, Agency.code, [code])
    if not root:
        raise Unprocessable(_l("unknown agency code"),
                            fields={"children_of": _l("unknown: %(codes)s", codes=code)})
    root_id = root[0].id
    tree = sa.select(col(Agency.id)).where(col(Agency.parent_id) == root_id).cte("tree", recursive=True)
    child = sa.orm.aliased(Agency, name="child")
    tree = tree.union(sa.select(col(child.id)).join(tree, col(child.parent_id) == tree.c.id))
    stmt = sa.select(*_AGENCY_COLUMNS).join(tree, tree.c.id == Agency.id).where(col(Agency.id) != root_id)
    if level is not None:
        stmt = stmt.where(col(Agency.level) == level)
    return list(session.execute(stmt.order_by(col(Agency.code))).all())


def resolve(session: Session, sender_agency_id: int, recipients: Recipients) -> list[Target]:
    """One target per routed recipient, in a stable order; 422 on bad codes."""
    return resolve_counting_repeats(session, sender_agency_id, recipients)[0]


def resolve_counting_repeats(session: Session, sender_agency_id: int,
                             recipients: Recipients) -> tuple[list[Target], list[str]]:
    """Like :func:`resolve`, and the codes (as addressed) that named a recipient already in
    the list: a code given twice, a merged agency's old code beside its successor's, a code
    in ``to`` that ``children_of`` also reaches."""
    if not recipients.to and not recipients.children_of:
        raise Unprocessable(_l("no recipients"),
                            fields={"to": _l("give `to` and/or `children_of`")})
    if recipients.level is not None and recipients.level not in AGENCY_LEVELS:
        raise Unprocessable(_l("unknown level"),
                            fields={"level": _l("one of %(values)s", values=", ".join(AGENCY_LEVELS))})
    if recipients.level is not None and not recipients.children_of:
        raise Unprocessable(_l("`level` needs `children_of`"),
                            fields={"level": _l("only with children_of")})
    addressed: list[sa.Row[Any]] = []
    repeated: list[str] = []
    if recipients.to:
        wanted = list(dict.fromkeys(recipients.to))
        repeated += [code for code, count in Counter(recipients.to).items() if count > 1]
        found = {r.code: r for r in _rows(session, Agency.code, wanted)}
        unknown = [code for code in wanted if code not in found]
        if unknown:
            raise Unprocessable(_l("unknown agency codes"),
                                fields={"to": _l("unknown: %(codes)s", codes=", ".join(unknown[:20]))})
        addressed += [found[code] for code in wanted]
    if recipients.children_of:
        addressed += _descendant_rows(session, recipients.children_of, recipients.level)
    today = vn_today()
    out: dict[int, Target] = {}
    closed: list[str] = []
    for row in addressed:
        routed: sa.Row[Any] | Agency = row
        if row.successor_id is not None and (row.valid_to is None or row.valid_to < today):
            found_agency = session.get(Agency, row.id)
            assert found_agency is not None
            routed = directory.route(session, found_agency, today)
        if not directory.is_current(routed, today):
            closed.append(row.code)
            continue
        routed_id = routed.id
        assert routed_id is not None  # read from the table
        if routed_id not in out:
            out[routed_id] = Target(row.id, row.code, routed_id, routed.code)
        elif row.code not in repeated:
            repeated.append(row.code)
    if closed:
        raise Unprocessable(_l("agency closed without successor"),
                            fields={"to": _l("closed: %(codes)s", codes=", ".join(closed[:20]))})
    if sender_agency_id in out:
        raise Unprocessable(_l("cannot send to your own agency"),
                            fields={"to": _l("the sender itself")})
    if not out:
        raise Unprocessable(_l("the selection names no agency"),
                            fields={"children_of": _l("no agency below it at this level")})
    if len(out) > MAX_RECIPIENTS:
        raise Unprocessable(_l("too many recipients"),
                            fields={"to": _l("at most %(max)s", max=MAX_RECIPIENTS)})
    return list(out.values()), repeated


# a copy in one of these is no longer held by its recipient: sending again is a new delivery
_NOT_HELD = (DeliveryStatus.RETURNED.value, DeliveryStatus.RECALLED.value)


def drop_already_delivered(session: Session, document_id: int, targets: list[Target],
                           repeated: list[str]) -> tuple[list[Target], list[str]]:
    """The targets that hold no live copy of the document yet (from any sender, any hop), and
    the codes left out: ``repeated`` ones first, then those already holding it."""
    # every live copy of the document, by its index on document_id: as many rows as the
    # document has copies, where a list of the targets' ids (3,321 for the nation's communes)
    # cost four statements of a thousand parameters each, mostly spent parsing them
    held = set(session.execute(
        sa.select(col(Delivery.recipient_agency_id))
        .where(col(Delivery.document_id) == document_id, col(Delivery.status).not_in(_NOT_HELD))).scalars())
    skipped = list(repeated)
    skipped += [t.addressed_code for t in targets if t.id in held and t.addressed_code not in skipped]
    return [t for t in targets if t.id not in held], skipped


def check_inside_subtree(session: Session, forwarder_code: str, targets: list[Target]) -> None:
    """422 ``outside_subtree`` unless every recipient lies below the forwarder in the
    directory (after successor routing: where the copy would really go)."""
    below = {row.id for row in _descendant_rows(session, forwarder_code, None)} if targets else set()
    outside = [t.addressed_code for t in targets if t.id not in below]
    if outside:
        raise Unprocessable(_l("a received document is forwarded only to agencies below yours"),
                            code=ErrorCode.OUTSIDE_SUBTREE,
                            fields={"to": _l("outside your agency's subtree: %(codes)s",
                                             codes=", ".join(outside[:20]))})


def _replay(session: Session, sender_agency_id: int, key: str, fingerprint: str) -> dict[str, Any] | None:
    existing = session.exec(select(Dispatch).where(Dispatch.sender_agency_id == sender_agency_id,
                                                   Dispatch.idempotency_key == key)).one_or_none()
    if existing is None:
        return None
    if existing.request_sha256 != fingerprint:
        raise Conflict(_l("this Idempotency-Key was used with another request"),
                       code=ErrorCode.IDEMPOTENCY_CONFLICT)
    return dispatch_view(session, existing)


def dispatch_view(session: Session, dispatch: Dispatch) -> dict[str, Any]:
    recipient = sa.orm.aliased(Agency)
    addressed = sa.orm.aliased(Agency)
    rows = session.execute(
        sa.select(col(Delivery.id), col(Delivery.status), col(recipient.code), col(addressed.code))
        .join(recipient, col(recipient.id) == Delivery.recipient_agency_id)
        .join(addressed, col(addressed.id) == Delivery.addressed_agency_id)
        .where(col(Delivery.dispatch_id) == dispatch.id).order_by(col(Delivery.id))
    ).all()
    return {
        "id": dispatch.id,
        "document_id": dispatch.document_id,
        "forwarded_from": dispatch.forwarded_from_id,
        "created_at": api_time(dispatch.created_at),
        "already_delivered": json.loads(dispatch.already_delivered or "[]"),
        "deliveries": [
            {"id": did, "recipient": rcode, "status": status, "code": edxml_code(status),
             **({"addressed_to": acode} if acode != rcode else {})}
            for did, status, rcode, acode in rows
        ],
    }


def _create(uow: UnitOfWork, svc: "Services", caller: Caller, *, document_id: int, revision_id: int,
            targets: Sequence[Target], key: str, fingerprint: str,
            forwarded_from: int | None, trace: list[dict[str, Any]],
            already_delivered: Sequence[str] = ()) -> dict[str, Any]:
    """Insert the dispatch and its deliveries (none when every recipient already holds the
    document: the dispatch still answers its Idempotency-Key); return the dispatch's view."""
    session = uow.session
    now = utcnow()
    dispatch = Dispatch(document_id=document_id, revision_id=revision_id, sender_agency_id=caller.agency_id,
                        created_by_id=caller.user_id, forwarded_from_id=forwarded_from,
                        idempotency_key=key, request_sha256=fingerprint, created_at=now,
                        already_delivered=json.dumps(list(already_delivered), ensure_ascii=False))
    session.add(dispatch)
    session.flush()  # a racing twin with the same key fails here, before any counter moves
    seqs = counters.bump(session, "inbox", (t.id for t in targets))
    trace_json = json.dumps(trace, ensure_ascii=False)
    uow.after_commit(lambda: metrics.DISPATCH_RECIPIENTS.observe(len(targets)))
    ids: dict[int, int] = {}
    if targets:
        session.execute(sa.insert(Delivery), [
            {"dispatch_id": dispatch.id, "document_id": document_id, "recipient_agency_id": t.id,
             "addressed_agency_id": t.addressed_id, "seq": seqs[t.id], "status": DeliveryStatus.QUEUED.value,
             "trace": trace_json, "created_at": now, "updated_at": now} for t in targets])
        notify.announce(uow, svc.notifier, [(t.id, seqs[t.id]) for t in targets])
        ids = dict(session.execute(sa.select(col(Delivery.recipient_agency_id), col(Delivery.id))
                                   .where(col(Delivery.dispatch_id) == dispatch.id)).all())
    return {
        "id": dispatch.id, "document_id": document_id, "forwarded_from": forwarded_from, "created_at": api_time(now),
        "already_delivered": list(already_delivered),
        "deliveries": sorted(({"id": ids[t.id], "recipient": t.code, "status": "queued", "code": None,
                               **({"addressed_to": t.addressed_code} if t.addressed_id != t.id else {})}
                              for t in targets), key=lambda d: d["id"]),
    }


def _run_idempotent(svc: "Services", caller: Caller, key: str, fingerprint: str,
                    body: Callable[[UnitOfWork], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """Run ``body(uow)`` once per key; ``(view, created)``. A twin racing on the same key
    loses on the unique constraint and is answered with the winner's dispatch."""
    try:
        with svc.uow(write=True) as uow:
            replay = _replay(uow.session, caller.agency_id, key, fingerprint)
            if replay is not None:
                return replay, False
            view = body(uow)
            uow.commit()
            return view, True
    except IntegrityError:
        with svc.uow() as uow:
            replay = _replay(uow.session, caller.agency_id, key, fingerprint)
        if replay is None:
            raise
        return replay, False


def dispatch_document(svc: "Services", caller: Caller, document_id: int, recipients: Recipients,
                      idempotency_key: str | None) -> tuple[dict[str, Any], bool]:
    """Send the document's latest revision; ``(view, created)``. A document sealed at B-B or
    B-T first gets its validation data (``validation_data``): recipients validate offline."""
    key = check_key(idempotency_key)
    fingerprint = recipients.fingerprint("dispatch", document_id)
    validation_data.complete_before_dispatch(svc, caller, document_id)

    def body(uow: UnitOfWork) -> dict[str, Any]:
        session = uow.session
        document = session.exec(select(Document).where(Document.id == document_id,
                                                       Document.issuer_agency_id == caller.agency_id,
                                                       col(Document.imported).is_(False))
                                .with_for_update()).one_or_none()
        if document is None:
            raise NotFound(_l("document not found"))
        issuer = session.get(Agency, caller.agency_id)
        if document.state not in DISPATCHABLE and not (issuer and issuer.allow_unsigned_info):
            raise Conflict(_l("only a document carrying the agency's seal signature can be sent"),
                           code=ErrorCode.NOT_SEALED)
        revision = session.exec(select(Revision).where(Revision.document_id == document_id)
                                .order_by(col(Revision.seq).desc()).limit(1)).first()
        if revision is None:
            raise Conflict(_l("the document has no file"), code=ErrorCode.NO_REVISION)
        targets, skipped = drop_already_delivered(session, document_id,
                                                  *resolve_counting_repeats(session, caller.agency_id, recipients))
        now = utcnow()
        assert revision.id is not None
        view = _create(uow, svc, caller, document_id=document_id, revision_id=revision.id,
                       targets=targets, key=key, fingerprint=fingerprint, forwarded_from=None,
                       trace=[{"agency": caller.agency_code, "at": api_time(now)}], already_delivered=skipped)
        if document.state == DocumentState.SEALED:
            document.state = DocumentState.SENT
            document.updated_at = now
            session.add(document)
        audit.record(session, caller, "document.dispatch", f"document:{document_id}",
                     {"dispatch_id": view["id"], "revision_id": revision.id, "recipients": len(targets),
                      "to": list(recipients.to), "children_of": recipients.children_of, "level": recipients.level,
                      "already_delivered": skipped},
                     agency_ids=[t.id for t in targets])
        return view

    return _run_idempotent(svc, caller, key, fingerprint, body)


def _lock_document(session: Session, document_id: int) -> None:
    """Hold the document's row to the commit: dispatches and forwards of one document then
    take turns, so two of them cannot both find a recipient without a copy and both send."""
    session.exec(select(Document.id).where(Document.id == document_id).with_for_update()).one()


def forward_delivery(svc: "Services", caller: Caller, delivery_id: int, recipients: Recipients,
                     idempotency_key: str | None) -> tuple[dict[str, Any], bool]:
    """Send on a received document, byte-identical, with one more hop in its trace."""
    key = check_key(idempotency_key)
    fingerprint = recipients.fingerprint("forward", delivery_id)

    def body(uow: UnitOfWork) -> dict[str, Any]:
        session = uow.session
        incoming = own_delivery(session, caller, delivery_id)
        if incoming.status in ENDED:
            raise Conflict(_l("cannot forward a delivery in status %(status)s", status=incoming.status),
                           code=ErrorCode.INVALID_TRANSITION)
        parent = session.get(Dispatch, incoming.dispatch_id)
        assert parent is not None
        _lock_document(session, incoming.document_id)
        trace = json.loads(incoming.trace or "[]") + [{"agency": caller.agency_code, "at": api_time(utcnow())}]
        targets, repeated = resolve_counting_repeats(session, caller.agency_id, recipients)
        check_inside_subtree(session, caller.agency_code, targets)
        targets, skipped = drop_already_delivered(session, incoming.document_id, targets, repeated)
        view = _create(uow, svc, caller, document_id=incoming.document_id, revision_id=parent.revision_id,
                       targets=targets, key=key, fingerprint=fingerprint, forwarded_from=incoming.id,
                       trace=trace, already_delivered=skipped)
        audit.record(session, caller, "delivery.forward", f"delivery:{incoming.id}",
                     {"dispatch_id": view["id"], "document_id": incoming.document_id,
                      "recipients": len(targets), "to": list(recipients.to),
                      "children_of": recipients.children_of, "level": recipients.level,
                      "already_delivered": skipped},
                     agency_ids=[parent.sender_agency_id, *(t.id for t in targets)])
        return view

    return _run_idempotent(svc, caller, key, fingerprint, body)
