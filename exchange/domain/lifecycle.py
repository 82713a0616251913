"""The lifecycles (DESIGN.md §4): one recipient's delivery, and the outgoing document.

```
queued ─► delivered 01 ─► accepted 03 ─► assigned 04 ─► processing 05 ─► completed 06
              └─► returned 02 (reason required, ≤ 1000 chars)
sender: recall_requested 13 ─► recalled 15 | recall_refused 16  (not yet acked: recalled at once)
```
"""
from __future__ import annotations

from typing import Iterable

from exchange.domain.enums import DeliveryStatus as S
from exchange.domain.enums import DocumentState, SigningProfile

# what the recipient may move to through POST /inbox/{id}/status
TRANSITIONS: dict[S, frozenset[S]] = {
    S.DELIVERED: frozenset({S.RETURNED, S.ACCEPTED}),
    S.ACCEPTED: frozenset({S.ASSIGNED}),
    S.ASSIGNED: frozenset({S.PROCESSING}),
    S.PROCESSING: frozenset({S.COMPLETED}),
}
SETTABLE: frozenset[S] = frozenset(s for targets in TRANSITIONS.values() for s in targets)
RECALL_STATES = frozenset({S.RECALL_REQUESTED, S.RECALLED, S.RECALL_REFUSED})
# nothing more can happen to these copies: no forward, no new recall
ENDED = frozenset({S.RETURNED, S.RECALLED, S.RECALL_REQUESTED})
REASON_MAX = 1000


def edxml_code(status: str) -> str | None:
    return S(status).edxml_code


def working_status(status: str, history: Iterable[str]) -> S:
    """Where the recipient goes on from: after a refused recall, the status it had before the
    request (``history``: the delivery's statuses, oldest first)."""
    if status != S.RECALL_REFUSED:
        return S(status)
    for earlier in reversed(list(history)):
        if earlier not in RECALL_STATES:
            return S(earlier)
    return S.DELIVERED


def may_move(status: str, working: S, target: str) -> bool:
    """A recipient's move from ``status`` to ``target`` is in the graph (none while a recall waits)."""
    return status != S.RECALL_REQUESTED and target in TRANSITIONS.get(working, frozenset())


# --- the outgoing document -----------------------------------------------------------------
DISPATCHABLE = frozenset({DocumentState.SEALED, DocumentState.SENT})
CLOSED_TO_SIGNATURES = frozenset({DocumentState.SEALED, DocumentState.SENT})  # final after the seal


def state_after_signature(state: str, profile: str) -> DocumentState:
    """A person signature makes a draft ``signed``; the seal makes it ``sealed``."""
    if profile == SigningProfile.SEAL:
        return DocumentState.SEALED
    return DocumentState.SIGNED if state == DocumentState.DRAFT else DocumentState(state)
