"""What waits for a user (the web start page): outgoing documents to sign or to register and
seal, incoming copies to register, overdue and urgent ones — read through the same queries
as the API's document search and inbox, at most ``limit`` of each (oldest first)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from exchange.domain.caller import Caller
from exchange.domain.enums import DeliveryStatus, DocumentState, Role, Urgency
from exchange.services import document_search, inbox

if TYPE_CHECKING:
    from bootstrap import Services

LIMIT = 20
URGENT = (Urgency.FLASH, Urgency.VERY_URGENT, Urgency.URGENT)
_OPEN = frozenset({DeliveryStatus.QUEUED, DeliveryStatus.DELIVERED, DeliveryStatus.ACCEPTED, DeliveryStatus.ASSIGNED,
                   DeliveryStatus.PROCESSING, DeliveryStatus.RECALL_REQUESTED})


@dataclass
class Worklist:
    to_sign: list[dict[str, Any]] = field(default_factory=list)  # drafts of the agency (signer)
    to_register: list[dict[str, Any]] = field(default_factory=list)  # signed, to number and seal (clerk)
    to_receive: list[dict[str, Any]] = field(default_factory=list)  # incoming copies not yet registered (clerk)
    overdue: list[dict[str, Any]] = field(default_factory=list)
    urgent: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.to_sign or self.to_register or self.to_receive or self.overdue or self.urgent)


def _documents(svc: "Services", caller: Caller, state: DocumentState, limit: int) -> list[dict[str, Any]]:
    filters = document_search.DocumentFilters(state=state.value)
    return list(document_search.search_page(svc, caller, filters, after=0, limit=limit)["items"])


def _incoming(svc: "Services", caller: Caller, filters: inbox.InboxFilters, limit: int) -> list[dict[str, Any]]:
    return [item for item in inbox.poll(svc, caller, limit=limit, filters=filters)["items"] if "document" in item]


def what_waits(svc: "Services", caller: Caller, limit: int = LIMIT) -> Worklist:
    work = Worklist()
    if Role.SIGNER in caller.roles:
        work.to_sign = _documents(svc, caller, DocumentState.DRAFT, limit)
    if Role.CLERK in caller.roles:
        work.to_register = _documents(svc, caller, DocumentState.SIGNED, limit)
        for status in (DeliveryStatus.QUEUED, DeliveryStatus.DELIVERED):
            work.to_receive += _incoming(svc, caller, inbox.InboxFilters(status=status.value), limit)
        work.to_receive = sorted(work.to_receive, key=lambda item: item["seq"])[:limit]
    if caller.roles & {Role.CLERK, Role.SIGNER}:
        work.overdue = _incoming(svc, caller, inbox.InboxFilters(overdue=True), limit)
        for urgency in URGENT:
            work.urgent += [item for item in _incoming(svc, caller, inbox.InboxFilters(urgency=urgency.value), limit)
                            if item["status"] in _OPEN]
        rank = {u.value: i for i, u in enumerate(URGENT)}
        work.urgent = sorted(work.urgent, key=lambda item: (rank[item["document"]["urgency"]], item["seq"]))[:limit]
    return work
