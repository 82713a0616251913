"""What an edXML package says, as plain frozen values (DOMAIN.md (a) lists the fields).

Two kinds of package: a document (``MessageHeader`` with From/To/Code/…, the files
base64-encoded beside the envelope) and a status (``MessageHeader`` with ResponseFor,
StatusCode, Description, Timestamp).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import IntEnum

from exchange.domain.enums import DeliveryStatus, Urgency

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
DATE_FORMAT = "%Y/%m/%d"  # PromulgationDate, DueDate
TIME_FORMAT = "%Y/%m/%d %H:%M:%S"  # TraceHeader and status Timestamp, Vietnam time

# StatusCode → the delivery status it stands for (01–06 the recipient's, 13 the sender's
# recall request, 15/16 the recipient's answer to it)
STATUS_BY_CODE: dict[str, DeliveryStatus] = {s.edxml_code: s for s in DeliveryStatus if s.edxml_code}

# OtherInfo/Priority: 0 thường, 1 khẩn, 2 thượng khẩn, 3 hỏa tốc, 4 hỏa tốc hẹn giờ
URGENCY_BY_PRIORITY: dict[int, Urgency] = {0: Urgency.NORMAL, 1: Urgency.URGENT, 2: Urgency.VERY_URGENT,
                                           3: Urgency.FLASH, 4: Urgency.FLASH}
PRIORITY_BY_URGENCY: dict[str, int] = {Urgency.NORMAL: 0, Urgency.URGENT: 1, Urgency.VERY_URGENT: 2,
                                       Urgency.FLASH: 3}


class BusinessType(IntEnum):
    """TraceHeaderList/Bussiness/BussinessDocType."""
    NEW = 0
    REVOKE = 1  # thu hồi
    UPDATE = 2  # cập nhật
    REPLACE = 3  # thay thế


@dataclass(frozen=True)
class Organ:
    """From / To: an agency as the package names it (OrganId is its code)."""
    organ_id: str
    name: str = ""
    in_charge: str = ""
    address: str = ""
    email: str = ""
    telephone: str = ""
    fax: str = ""
    website: str = ""


@dataclass(frozen=True)
class Hop:
    """TraceHeader: an agency that sent or forwarded the document, and when."""
    organ_id: str
    at: datetime | None


@dataclass(frozen=True)
class ResponseFor:
    organ_id: str = ""
    code: str = ""
    promulgation_date: str = ""
    document_id: str = ""


@dataclass(frozen=True)
class Staff:
    department: str = ""
    staff: str = ""
    email: str = ""
    mobile: str = ""


@dataclass(frozen=True)
class Part:
    """A file carried in AttachmentEncoded (the PDF, an appendix)."""
    content_id: str
    name: str
    content_type: str
    data: bytes
    description: str = ""


@dataclass(frozen=True)
class SignatureCheck:
    """The envelope's XML signature: ``absent``, ``valid`` (the XML is what the embedded
    certificate's key signed; who that certificate belongs to is shown, not judged) or
    ``invalid``, with ``reason`` (a key of ``envelope.REASONS``) and the verifier's own
    ``detail``."""
    state: str
    reason: str = ""
    signer: str = ""
    detail: str = ""


@dataclass(frozen=True)
class DocumentPackage:
    sender: Organ
    recipients: tuple[Organ, ...]
    document_id: str
    number: str
    notation: str
    subject: str
    place: str = ""
    promulgation_date: date | None = None
    type_code: str = ""
    type_detail: str = ""
    type_name: str = ""
    content: str = ""
    signer_competence: str = ""
    signer_position: str = ""
    signer_name: str = ""
    due_date: date | None = None
    priority: int = 0
    sphere: str = ""
    typer_notation: str = ""
    promulgation_amount: str = ""
    page_amount: str = ""
    appendixes: tuple[str, ...] = ()
    steering_type: str = ""
    to_places: tuple[str, ...] = ()
    response_for: ResponseFor | None = None
    trace: tuple[Hop, ...] = ()
    business: BusinessType = BusinessType.NEW
    business_reason: str = ""
    replaces: tuple[str, ...] = ()  # ReplacementInfo/DocumentId: the documents this one replaces
    staff: Staff = field(default_factory=Staff)
    parts: tuple[Part, ...] = ()
    signature: SignatureCheck = field(default_factory=lambda: SignatureCheck("absent"))


@dataclass(frozen=True)
class StatusPackage:
    sender: Organ  # who reports the status
    response_for: ResponseFor  # the document it is about
    status_code: str
    description: str = ""
    at: datetime | None = None
    staff: Staff = field(default_factory=Staff)
    signature: SignatureCheck = field(default_factory=lambda: SignatureCheck("absent"))

    @property
    def status(self) -> DeliveryStatus:
        return STATUS_BY_CODE[self.status_code]


def document_id(organ_id: str, day: date | None, number: str, notation: str) -> str:
    """``<OrganId>,<yyyy/MM/dd>,<Number>/<Notation>``, as QCVN 102 forms a document's id."""
    when = day.strftime(DATE_FORMAT) if day else ""
    reference = f"{number}/{notation}" if notation else number
    return f"{organ_id},{when},{reference}"
