"""Who is calling: a user (token or web session) or an agency's system (agency token)."""
from __future__ import annotations

from dataclasses import dataclass

from exchange.domain.enums import CallerKind


@dataclass(frozen=True)
class Caller:
    kind: CallerKind
    agency_id: int
    agency_code: str
    user_id: int | None
    username: str | None
    roles: frozenset[str]
    token_id: int | None

    @property
    def actor(self) -> str:
        """How the audit trail names this caller."""
        return self.username if self.kind == CallerKind.USER and self.username else f"system:{self.agency_code}"

    @property
    def is_user(self) -> bool:
        return self.kind == CallerKind.USER


CLI_ACTOR = "cli"  # how the audit trail names an operator at the command line
