"""exchange's tables (SQLModel). DESIGN.md §3 describes each one.

Conventions: times are timezone-aware UTC (``storage.db.UTCDateTime``); agency and user
references are integer foreign keys; credentials (``certs``) are referred to by id only,
since ``certs`` owns its table. Enumerated columns hold the ``exchange.domain.enums`` values.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from exchange.domain.enums import DeliveryStatus, DocumentState, RevisionKind, Urgency
from exchange.domain.search import document_search_text
from storage.db import UTCDateTime, utcnow

__all__ = ["Agency", "AgencyEvent", "ApiToken", "Attachment", "AuditEvent", "AuditHead", "Counter", "Delivery",
           "Dispatch", "Document", "EdxmlPackage", "IdempotencyRecord", "LoginFailure", "OutboxEvent", "RegisterEntry",
           "Revision", "SigningSession", "StatusEvent", "User", "WebhookDelivery", "WebhookSubscription", "WebSession",
           "utcnow"]


def _ts(nullable: bool = False, index: bool = False) -> Any:
    return sa.Column(UTCDateTime(), nullable=nullable, index=index)


class Agency(SQLModel, table=True):
    __tablename__ = "agency"

    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(max_length=35, unique=True, index=True)
    name: str = Field(max_length=255)
    short_name: str = Field(default="", max_length=100)
    level: str = Field(max_length=20, index=True)
    parent_id: Optional[int] = Field(default=None, foreign_key="agency.id", index=True)
    successor_id: Optional[int] = Field(default=None, foreign_key="agency.id")
    valid_from: Optional[date] = None
    valid_to: Optional[date] = None
    allow_unsigned_info: bool = Field(default=False)  # policy: may dispatch unsigned "for information" documents
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class User(SQLModel, table=True):
    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL

    id: Optional[int] = Field(default=None, primary_key=True)
    username: str = Field(max_length=100, unique=True, index=True)
    full_name: str = Field(max_length=255)
    position: str = Field(default="", max_length=255)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    roles: str = Field(default="", max_length=100)  # comma-separated subset of the Role values
    password_hash: str = Field(default="", max_length=255)
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(r for r in self.roles.split(",") if r)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: Optional[int] = Field(default=None, primary_key=True)
    agency_id: Optional[int] = Field(default=None, foreign_key="agency.id", index=True)
    user_id: Optional[int] = Field(default=None, foreign_key="app_user.id", index=True)
    name: str = Field(default="", max_length=100)
    secret_sha256: str = Field(max_length=64, unique=True, index=True)
    scopes: str = Field(default="", max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    last_used_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))
    revoked_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))


class Document(SQLModel, table=True):
    __tablename__ = "document"

    id: Optional[int] = Field(default=None, primary_key=True)
    issuer_agency_id: int = Field(foreign_key="agency.id", index=True)
    created_by_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    number: str = Field(default="", max_length=30)
    notation: str = Field(default="", max_length=100)
    doc_type: str = Field(default="", max_length=100)
    subject: str = Field(default="", max_length=2000)
    urgency: str = Field(default=Urgency.NORMAL, max_length=20)
    confidentiality: str = Field(default="normal", max_length=20)
    issued_on: Optional[date] = None
    place: str = Field(default="", max_length=255)
    signer_name: str = Field(default="", max_length=255)
    signer_position: str = Field(default="", max_length=255)
    due_on: Optional[date] = None
    reply_to_id: Optional[int] = Field(default=None, foreign_key="document.id")
    # edXML BussinessDocType 3: this document replaces that one (at most one replacement each)
    replaces_id: Optional[int] = Field(default=None, foreign_key="document.id", unique=True)
    state: str = Field(default=DocumentState.DRAFT, max_length=20, index=True)
    # received as an edXML package (exchange.services.edxml): issued by another system in the
    # issuer's name, so never one of the issuer's own documents here
    imported: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false()))
    # number, notation and subject folded (exchange.domain.search), kept by _fill_search_text
    search_text: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())

    def is_issued_by(self, agency_id: Optional[int]) -> bool:
        """One of that agency's own documents here: an edXML import carries the issuer's id but
        was issued by another system, so its issuer's clerks may not act on it as their own."""
        return self.issuer_agency_id == agency_id and not self.imported


@sa.event.listens_for(Document, "before_insert")
@sa.event.listens_for(Document, "before_update")
def _fill_search_text(_mapper: Any, _connection: Any, document: Document) -> None:
    # every ORM write of a document (upload, numbering, …) refreshes what ``q`` searches;
    # a bulk ``UPDATE`` of number, notation or subject must set search_text itself
    document.search_text = document_search_text(document.number, document.notation, document.subject)


class Revision(SQLModel, table=True):
    __tablename__ = "revision"
    __table_args__ = (sa.UniqueConstraint("document_id", "seq", name="uq_revision_document_seq"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    seq: int
    blob_sha256: str = Field(max_length=64, index=True)
    size: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    kind: str = Field(default=RevisionKind.ORIGINAL, max_length=20)
    profile: Optional[str] = Field(default=None, max_length=20)  # person | seal
    level: Optional[str] = Field(default=None, max_length=10)  # B-B | B-T | B-LT | B-LTA
    credential_id: Optional[int] = Field(default=None, index=True)
    created_by_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Attachment(SQLModel, table=True):
    """A phụ lục of a document: the file as uploaded, and what the agency seal made of it at
    sealing time — a sealed copy of a PDF, or a detached CMS signature (.p7s) of any other file."""

    __tablename__ = "attachment"

    id: Optional[int] = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    name: str = Field(max_length=255)
    blob_sha256: str = Field(max_length=64)
    size: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    content_type: str = Field(default="application/octet-stream", max_length=100)
    created_by_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    created_at: Optional[datetime] = Field(default_factory=utcnow, sa_column=_ts(nullable=True))
    sealed_sha256: Optional[str] = Field(default=None, max_length=64)  # PDF: the sealed copy recipients read
    sealed_size: Optional[int] = Field(default=None, sa_column=sa.Column(sa.BigInteger, nullable=True))
    signature_sha256: Optional[str] = Field(default=None, max_length=64)  # other files: the detached .p7s
    signature_size: Optional[int] = Field(default=None, sa_column=sa.Column(sa.BigInteger, nullable=True))
    sealed_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))


class SigningSession(SQLModel, table=True):
    """A prepared remote (two-step) signature waiting for the signer's raw signature."""

    __tablename__ = "signing_session"

    id: str = Field(primary_key=True, max_length=64)
    document_id: int = Field(foreign_key="document.id", index=True)
    created_by_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    profile: str = Field(max_length=20)
    level: str = Field(max_length=10)
    # JSON envelope: the base revision, the digest, pyHanko's state; the prepared PDF itself is a blob
    state: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    expires_at: datetime = Field(sa_column=_ts())
    completed_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))


class Dispatch(SQLModel, table=True):
    __tablename__ = "dispatch"
    __table_args__ = (
        sa.UniqueConstraint("sender_agency_id", "idempotency_key", name="uq_dispatch_idempotency"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    revision_id: int = Field(foreign_key="revision.id")
    sender_agency_id: int = Field(foreign_key="agency.id", index=True)
    created_by_id: Optional[int] = Field(default=None, foreign_key="app_user.id")
    # a forward (chuyển tiếp): the delivery it came from (no FK: delivery already points here)
    forwarded_from_id: Optional[int] = Field(default=None, index=True)
    idempotency_key: str = Field(max_length=200)
    # JSON list of the codes not sent again: they already held a live delivery of the document
    already_delivered: str = Field(default="[]", sa_column=sa.Column(sa.Text, nullable=False, server_default="[]"))
    request_sha256: str = Field(max_length=64)  # the body the key was first used with
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


# The two feeds' pages (inbox, events) on PostgreSQL come from covering indexes alone (migration
# 0017): an agency's rows arrive over a year among everyone's, so a page of 50 read from the heap
# touches ~50 scattered pages. A B-tree entry holds at most ~2.7 kB and ``trace`` / ``data`` are
# unbounded text: the covering index takes the rows whose text is at most COVERED_TEXT_MAX bytes
# (all but a long forward's), a small partial index the others, and a page reads both. SQLite
# (no INCLUDE; its pages are read in process) declares them empty, so the models say the same on
# both databases.
COVERED_TEXT_MAX = 2000


def covered(column: str) -> str:
    """The covering index's predicate on ``column`` (the page's query repeats it, word for word)."""
    return f"octet_length({column}) <= {COVERED_TEXT_MAX}"


def uncovered(column: str) -> str:
    return f"octet_length({column}) > {COVERED_TEXT_MAX}"


def _feed_indexes(table: str, agency: str, text: str, included: list[str]) -> tuple[sa.Index, sa.Index]:
    return (sa.Index(f"ix_{table}_page", agency, "seq", postgresql_include=included,
                     postgresql_where=sa.text(covered(text)), sqlite_where=sa.text("0")),
            sa.Index(f"ix_{table}_page_long", agency, "seq", postgresql_where=sa.text(uncovered(text)),
                     sqlite_where=sa.text("0")))


DELIVERY_PAGE_COLUMNS = ["id", "status", "incoming_number", "created_at", "addressed_agency_id", "dispatch_id", "trace",
                         "fetched_at", "document_id"]
AGENCY_EVENT_PAGE_COLUMNS = ["id", "kind", "at", "delivery_id", "document_id", "data"]


class Delivery(SQLModel, table=True):
    __tablename__ = "delivery"
    __table_args__ = (
        sa.UniqueConstraint("recipient_agency_id", "seq", name="uq_delivery_recipient_seq"),
        sa.UniqueConstraint("recipient_agency_id", "incoming_year", "incoming_number",
                            name="uq_delivery_incoming_number"),
        *_feed_indexes("delivery", "recipient_agency_id", "trace", DELIVERY_PAGE_COLUMNS),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    dispatch_id: int = Field(foreign_key="dispatch.id", index=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    recipient_agency_id: int = Field(foreign_key="agency.id")
    addressed_agency_id: int = Field(foreign_key="agency.id")  # as addressed, before successor routing
    seq: int  # gapless per recipient, assigned in the dispatch's transaction: the inbox cursor
    status: str = Field(default=DeliveryStatus.QUEUED, max_length=20)
    incoming_number: Optional[int] = None  # số đến, per recipient agency and year
    incoming_year: Optional[int] = None
    trace: str = Field(default="[]", sa_column=sa.Column(sa.Text, nullable=False))  # JSON hops, edXML TraceHeaderList
    receipt: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))  # signed receipt JSON
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    fetched_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))
    acked_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class Counter(SQLModel, table=True):
    """Gapless counters (inbox sequence, số đến per year, số đi), incremented under a row lock
    inside the transaction that uses the number, so a rollback gives the number back."""

    __tablename__ = "counter"

    agency_id: int = Field(foreign_key="agency.id", primary_key=True)
    name: str = Field(primary_key=True, max_length=40)  # "inbox" | "incoming:2026" | ...
    value: int = Field(default=0)


class StatusEvent(SQLModel, table=True):
    __tablename__ = "status_event"

    id: Optional[int] = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", index=True)
    status: str = Field(max_length=20)
    code: str = Field(max_length=2)
    actor: str = Field(default="", max_length=255)
    at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    reason: str = Field(default="", max_length=1000)


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    # the login limiter counts one user's recent failures: found without scanning the trail
    __table_args__ = (sa.Index("ix_audit_event_action_object_seq", "action", "object", "seq"),)

    seq: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    actor: str = Field(default="", max_length=255)
    agency_code: str = Field(default="", max_length=35, index=True)
    action: str = Field(max_length=50, index=True)
    object: str = Field(default="", max_length=255)
    details: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False))  # canonical JSON
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """One row: the chain's last seq and hash. Appenders lock it, so the chain stays linear
    even with many processes writing at once."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    last_seq: int = Field(default=0)
    last_hash: str = Field(default="0" * 64, max_length=64)


class OutboxEvent(SQLModel, table=True):
    """Every audited change, written in the change's own transaction: what the events feed
    and the webhooks will hand on, so that nothing committed is ever left untold."""

    __tablename__ = "outbox_event"

    seq: Optional[int] = Field(default=None, primary_key=True)
    id: str = Field(max_length=36, unique=True)  # the event's id (UUID), stable for receivers
    kind: str = Field(max_length=50, index=True)  # the audit action, e.g. "delivery.ack"
    agency_ids: str = Field(default="[]", sa_column=sa.Column(sa.Text, nullable=False))  # JSON: who it concerns
    payload: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False))  # JSON
    audit_seq: Optional[int] = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class AgencyEvent(SQLModel, table=True):
    """The events feed: one row per (agency, event), written in the change's own transaction.
    ``seq`` is gapless per agency (``counter`` "events", bumped under the audit head's lock),
    so a reader resuming after its cursor never skips a late commit (like the inbox ``seq``)."""

    __tablename__ = "agency_event"
    __table_args__ = (sa.UniqueConstraint("agency_id", "seq", name="uq_agency_event_agency_seq"),
                      *_feed_indexes("agency_event", "agency_id", "data", AGENCY_EVENT_PAGE_COLUMNS))

    id: Optional[int] = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id")
    seq: int
    outbox_id: str = Field(max_length=36)  # the OutboxEvent (audited change) it tells of
    kind: str = Field(max_length=50)  # "delivery.created", "recall.requested", ...
    at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    delivery_id: Optional[int] = Field(default=None)
    document_id: Optional[int] = Field(default=None)
    data: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False))  # JSON


class RegisterEntry(SQLModel, table=True):
    """One line of an agency's register (sổ văn bản đi / đến, Decree 30 Art. 16, 22): its
    number, gapless per agency, register and year (shared by electronic and paper documents),
    and what the register shows of the document, copied when it was registered (a register
    records the moment; later edits of the document do not rewrite it)."""

    __tablename__ = "register_entry"
    __table_args__ = (
        sa.UniqueConstraint("agency_id", "kind", "year", "number", name="uq_register_entry_number"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    kind: str = Field(max_length=10)  # the register: outgoing | incoming
    year: int
    number: int
    document_id: Optional[int] = Field(default=None, foreign_key="document.id", index=True)
    delivery_id: Optional[int] = Field(default=None, foreign_key="delivery.id", index=True)
    author: str = Field(default="", max_length=255)  # tác giả: the issuing agency's name
    reference: str = Field(default="", max_length=140)  # số, ký hiệu as on the document: "12/UBND-VP"
    document_date: Optional[date] = None  # ngày văn bản
    doc_type: str = Field(default="", max_length=100)
    subject: str = Field(default="", max_length=2000)
    signer: str = Field(default="", max_length=255)
    handler: str = Field(default="", max_length=255)  # đơn vị / người nhận (incoming), bản lưu (outgoing)
    copies: Optional[int] = None  # số lượng bản
    due_on: Optional[date] = None  # hạn giải quyết
    note: str = Field(default="", max_length=1000)
    scan_sha256: Optional[str] = Field(default=None, max_length=64)  # a paper document's scan, a blob
    registered_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    registered_by: str = Field(default="", max_length=255)
class LoginFailure(SQLModel, table=True):
    """One failed login. Kept apart from the audit chain: counting a password spray costs an
    insert here, not a chained event (the chain gets one summary now and then)."""

    __tablename__ = "login_failure"

    id: Optional[int] = Field(default=None, primary_key=True)
    username: str = Field(max_length=100, index=True)
    ip: str = Field(max_length=64, index=True)
    at: datetime = Field(default_factory=utcnow, sa_column=_ts(index=True))


class IdempotencyRecord(SQLModel, table=True):
    """A request made with an ``Idempotency-Key``: claimed before it runs (``status`` None),
    then holding the answer that every retry with the same key and body gets back."""

    __tablename__ = "idempotency_record"
    __table_args__ = (sa.UniqueConstraint("scope", "endpoint", "key", name="uq_idempotency_scope_endpoint_key"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    scope: str = Field(max_length=80)  # the caller: "agency:<id>/user:<id>"
    endpoint: str = Field(max_length=255)  # "POST /api/v1/documents/7/signatures"
    key: str = Field(max_length=200)
    request_sha256: str = Field(max_length=64)
    status: Optional[int] = None  # None while the first request runs
    body: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    headers: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False))  # JSON: Location, Content-Type
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    expires_at: datetime = Field(sa_column=_ts(index=True))


class WebhookSubscription(SQLModel, table=True):
    """A callback URL of an agency: the worker POSTs each of the agency's events to it, in
    order. ``cursor`` is the seq of the last event done with (delivered, or failed after the
    retry window); ``lease_*`` say which worker holds it until when; ``next_attempt_at`` is
    when the head event may be tried again. ``secret`` signs the bodies: the worker needs it
    in clear, so it is kept as given out (shown once at creation, never in a listing)."""

    __tablename__ = "webhook_subscription"

    id: Optional[int] = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=255)
    secret: str = Field(max_length=100)
    cursor: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    lease_until: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))
    lease_owner: Optional[str] = Field(default=None, max_length=64)
    created_by: str = Field(default="", max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    deleted_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))


class WebhookDelivery(SQLModel, table=True):
    """The delivery log: one row per subscription and event, updated at each attempt."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (sa.UniqueConstraint("subscription_id", "event_id", name="uq_webhook_delivery_event"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="webhook_subscription.id", index=True)
    event_id: int = Field(foreign_key="agency_event.id")
    event_seq: int
    attempts: int = Field(default=0)
    status_code: Optional[int] = None  # the receiver's last answer; None when none came
    error: str = Field(default="", max_length=500)
    state: str = Field(default="pending", max_length=10)  # pending | delivered | failed
    next_attempt_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class EdxmlPackage(SQLModel, table=True):
    """An edXML (QCVN 102) package imported: what it said of itself (its DocumentId, business
    type) and of its envelope's XML signature, beside the document and delivery it became or
    the delivery whose status it moved."""
    __tablename__ = "edxml_package"
    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)  # document | status
    sha256: str = Field(max_length=64, index=True)  # of the package's bytes
    edxml_document_id: str = Field(default="", max_length=255, index=True)  # DocumentId (or ResponseFor's)
    sender_code: str = Field(max_length=35)  # the package's From
    business_type: Optional[int] = None  # BussinessDocType (documents); StatusCode in status_code
    status_code: Optional[str] = Field(default=None, max_length=2)
    document_id: Optional[int] = Field(default=None, foreign_key="document.id", index=True)
    delivery_id: Optional[int] = Field(default=None, foreign_key="delivery.id", index=True)
    agency_id: int = Field(foreign_key="agency.id")  # the importing agency
    signature_state: str = Field(max_length=10)  # absent | valid | invalid
    signature_reason: str = Field(default="", max_length=20)  # a key of exchange.edxml.envelope.REASONS
    signature_detail: str = Field(default="", max_length=300)  # the verifier's own words (signxml, English)
    signature_signer: str = Field(default="", max_length=300)
    imported_by: str = Field(default="", max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class WebSession(SQLModel, table=True):
    """A logged-in browser (server-side session): the cookie carries a random secret, the
    row its SHA-256. Logout, a password change and a deactivation revoke the rows; the idle
    and absolute lifetimes are settings (``web_session_idle_minutes``, ``web_session_max_hours``)."""

    __tablename__ = "web_session"

    id: Optional[int] = Field(default=None, primary_key=True)
    secret_sha256: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    fingerprint: str = Field(max_length=16)  # the password's (exchange.services.login.session_fingerprint)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    revoked_at: Optional[datetime] = Field(default=None, sa_column=_ts(nullable=True))
