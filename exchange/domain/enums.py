"""The closed sets of values the exchange stores and answers with. Each is a ``StrEnum``: its
members are the strings in the database and in the JSON, so they compare equal to them."""
from __future__ import annotations

from enum import StrEnum


class DocumentState(StrEnum):
    """The outgoing side (Decree 30 Art. 14–18): drafted, signed by the official, sealed, sent."""
    DRAFT = "draft"
    SIGNED = "signed"
    SEALED = "sealed"
    SENT = "sent"


class DeliveryStatus(StrEnum):
    """One recipient's copy, with its edXML status code (QCVN 102)."""
    QUEUED = "queued"
    DELIVERED = "delivered"
    RETURNED = "returned"
    ACCEPTED = "accepted"
    ASSIGNED = "assigned"
    PROCESSING = "processing"
    COMPLETED = "completed"
    RECALL_REQUESTED = "recall_requested"
    RECALLED = "recalled"
    RECALL_REFUSED = "recall_refused"

    @property
    def edxml_code(self) -> str | None:
        return _EDXML_CODES[self]


_EDXML_CODES: dict[DeliveryStatus, str | None] = {
    DeliveryStatus.QUEUED: None,
    DeliveryStatus.DELIVERED: "01",
    DeliveryStatus.RETURNED: "02",
    DeliveryStatus.ACCEPTED: "03",
    DeliveryStatus.ASSIGNED: "04",
    DeliveryStatus.PROCESSING: "05",
    DeliveryStatus.COMPLETED: "06",
    DeliveryStatus.RECALL_REQUESTED: "13",
    DeliveryStatus.RECALLED: "15",
    DeliveryStatus.RECALL_REFUSED: "16",
}


class Role(StrEnum):
    CLERK = "clerk"  # văn thư
    SIGNER = "signer"  # lãnh đạo
    AUDITOR = "auditor"
    ADMIN = "admin"


class CallerKind(StrEnum):
    USER = "user"
    AGENCY = "agency"  # an agency's system, with the agency's token


class AgencyLevel(StrEnum):
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"
    DEPARTMENT = "department"
    OTHER = "other"


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"  # khẩn
    VERY_URGENT = "very_urgent"  # thượng khẩn
    FLASH = "flash"  # hỏa tốc


class Confidentiality(StrEnum):
    NORMAL = "normal"
    SECRET = "secret"  # Mật
    TOP_SECRET = "top_secret"  # Tối mật
    ABSOLUTE_SECRET = "absolute_secret"  # Tuyệt mật

    @property
    def may_travel(self) -> bool:
        """Secret documents may not travel on this system."""
        return self is Confidentiality.NORMAL


class RevisionKind(StrEnum):
    ORIGINAL = "original"
    SIGNED = "signed"
    NUMBERED = "numbered"  # the clerk's number and date written onto page 1 (an annotation update)
    VALIDATION_DATA = "validation_data"  # a DSS update (revocation data) before dispatch: no new signature


class Register(StrEnum):
    """An agency's registers (Decree 30 Art. 16, 22): sổ văn bản đi, sổ văn bản đến."""
    OUTGOING = "outgoing"
    INCOMING = "incoming"


class SigningProfile(StrEnum):
    PERSON = "person"  # the competent official's own signature
    SEAL = "seal"  # the agency's seal


class SigningLevel(StrEnum):
    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"


def values(enum: type[StrEnum]) -> tuple[str, ...]:
    """The members' strings, in declaration order (schemas, OpenAPI enums)."""
    return tuple(member.value for member in enum)
