"""Reading an edXML package from untrusted bytes.

The parser is locked down before it sees a byte: no entity substitution, no network, no DTD
loading, libxml2's default limits kept (``huge_tree=False``: no text node over 10 MB, no
pathological depth), and a document that declares a DTD at all — the vehicle of entity
expansion (billion laughs) and external entities (XXE) — is refused. Sizes are capped
before anything is decoded: the whole package, and each base64 part.
"""
from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from typing import Iterable

from lxml import etree

from errors import ErrorCode, PayloadTooLarge, Unprocessable
from exchange.domain.times import VN_TZ
from exchange.edxml import envelope
from exchange.edxml.model import (DATE_FORMAT, NS, STATUS_BY_CODE, TIME_FORMAT, BusinessType, DocumentPackage,
                                  Hop, Organ, Part, ResponseFor, SignatureCheck, Staff, StatusPackage)
from translations import _l

MAX_PACKAGE_BYTES = 100 * 1024 * 1024
# libxml2 refuses a text node over 10 MB unless huge_tree is on (and it stays off): a part's
# base64 text stays under that, so a file carried in a package is at most about 7 MB
MAX_PART_BYTES = 7 * 1024 * 1024
_Q = {"e": NS}


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           dtd_validation=False, remove_comments=True, remove_pis=True, collect_ids=False)


def malformed(reason: str) -> Unprocessable:
    return Unprocessable(_l("the edXML package is not well-formed XML: %(reason)s", reason=reason),
                         code=ErrorCode.EDXML_MALFORMED)


def invalid(message: object, field: str) -> Unprocessable:
    return Unprocessable(_l("the edXML package is invalid"), code=ErrorCode.EDXML_INVALID,
                         fields={field: message})


def read_tree(data: bytes, *, max_bytes: int = MAX_PACKAGE_BYTES) -> etree._Element:
    """The package's root element, or a refusal: too large (413), a DTD (422
    ``edxml_dtd_refused``), not well-formed (422 ``edxml_malformed``)."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(_l("the edXML package is larger than %(max)s bytes", max=max_bytes),
                              code=ErrorCode.EDXML_TOO_LARGE)
    if not data.strip():
        raise malformed("empty")
    try:
        tree = etree.fromstring(data, _parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        message = str(exc)
        if "huge" in message.lower():  # libxml2's own limit on one text node
            raise _part_too_large() from None
        if "entity" in message.lower() and b"<!DOCTYPE" in data[:4096].upper():
            raise _dtd_refused() from None
        raise malformed(message[:200]) from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise _dtd_refused()
    root = tree.getroot()
    if etree.QName(root).namespace != NS or etree.QName(root).localname != "edXML":
        raise malformed(_l("the root element is not edXML in the QCVN 102 namespace").render())
    return root


def _dtd_refused() -> Unprocessable:
    return Unprocessable(_l("the edXML package declares a DTD or entities, which are refused"),
                         code=ErrorCode.EDXML_DTD_REFUSED)


def _part_too_large() -> PayloadTooLarge:
    return PayloadTooLarge(_l("a file in the edXML package is larger than %(max)s bytes", max=MAX_PART_BYTES),
                           code=ErrorCode.EDXML_TOO_LARGE)


def parse(data: bytes, *, max_bytes: int = MAX_PACKAGE_BYTES) -> DocumentPackage | StatusPackage:
    """A document or a status package, with its envelope signature checked."""
    root = read_tree(data, max_bytes=max_bytes)
    header = root.find("e:edXMLEnvelope/e:edXMLHeader/e:MessageHeader", _Q)
    if header is None:
        raise invalid(_l("required"), "edXMLEnvelope/edXMLHeader/MessageHeader")
    signature = envelope.check(root)
    if header.find("e:StatusCode", _Q) is not None:
        return _status(header, signature)
    return _document(root, header, signature)


# --- reading fields --------------------------------------------------------------------------

def _text(node: etree._Element | None, path: str) -> str:
    if node is None:
        return ""
    found = node.find(path, _Q)
    return (found.text or "").strip() if found is not None else ""


def _texts(node: etree._Element, path: str) -> tuple[str, ...]:
    return tuple(t for t in ((e.text or "").strip() for e in node.iterfind(path, _Q)) if t)


def _date(node: etree._Element, path: str) -> date | None:
    value = _text(node, path)
    if not value:
        return None
    try:
        return datetime.strptime(value, DATE_FORMAT).date()
    except ValueError:
        raise invalid(_l("a date as yyyy/MM/dd"), path.replace("e:", "")) from None


def _time(node: etree._Element, path: str) -> datetime | None:
    value = _text(node, path)
    if not value:
        return None
    try:
        return datetime.strptime(value, TIME_FORMAT).replace(tzinfo=VN_TZ)
    except ValueError:
        raise invalid(_l("a time as yyyy/MM/dd HH:mm:ss"), path.replace("e:", "")) from None


def _organ(node: etree._Element | None, where: str) -> Organ:
    organ_id = _text(node, "e:OrganId")
    if node is None or not organ_id:
        raise invalid(_l("required"), f"{where}/OrganId")
    return Organ(organ_id=organ_id, name=_text(node, "e:OrganName"), in_charge=_text(node, "e:OrganizationInCharge"),
                 address=_text(node, "e:OrganAdd"), email=_text(node, "e:Email"),
                 telephone=_text(node, "e:Telephone"), fax=_text(node, "e:Fax"), website=_text(node, "e:Website"))


def _response_for(node: etree._Element | None) -> ResponseFor | None:
    if node is None:
        return None
    found = ResponseFor(organ_id=_text(node, "e:OrganId"), code=_text(node, "e:Code"),
                        promulgation_date=_text(node, "e:PromulgationDate"),
                        document_id=_text(node, "e:DocumentId"))
    return found if any((found.organ_id, found.code, found.document_id)) else None


def _staff(node: etree._Element | None) -> Staff:
    return Staff(department=_text(node, "e:Department"), staff=_text(node, "e:Staff"),
                 email=_text(node, "e:Email"), mobile=_text(node, "e:Mobile"))


def _status(header: etree._Element, signature: SignatureCheck) -> StatusPackage:
    code = _text(header, "e:StatusCode")
    if code not in STATUS_BY_CODE:
        raise Unprocessable(_l("unknown edXML status code %(code)s", code=code[:10]),
                            code=ErrorCode.EDXML_UNKNOWN_STATUS,
                            fields={"StatusCode": _l("one of %(values)s", values=", ".join(sorted(STATUS_BY_CODE)))})
    response_for = _response_for(header.find("e:ResponseFor", _Q))
    if response_for is None or not response_for.document_id:
        raise invalid(_l("required"), "ResponseFor/DocumentId")
    return StatusPackage(sender=_organ(header.find("e:From", _Q), "From"), response_for=response_for,
                         status_code=code, description=_text(header, "e:Description"),
                         at=_time(header, "e:Timestamp"), staff=_staff(header.find("e:StaffInfo", _Q)),
                         signature=signature)


def _document(root: etree._Element, header: etree._Element, signature: SignatureCheck) -> DocumentPackage:
    recipients = tuple(_organ(node, "To") for node in header.iterfind("e:To", _Q))
    if not recipients:
        raise invalid(_l("required"), "To")
    trace_list = root.find("e:edXMLEnvelope/e:edXMLHeader/e:TraceHeaderList", _Q)
    hops: tuple[Hop, ...] = ()
    business, reason, staff = BusinessType.NEW, "", Staff()
    replaces: tuple[str, ...] = ()
    if trace_list is not None:
        hops = tuple(Hop(_text(node, "e:OrganId"), _time(node, "e:Timestamp"))
                     for node in trace_list.iterfind("e:TraceHeader", _Q) if _text(node, "e:OrganId"))
        bussiness = trace_list.find("e:Bussiness", _Q)
        if bussiness is not None:
            raw = _text(bussiness, "e:BussinessDocType") or "0"
            try:
                business = BusinessType(int(raw))
            except ValueError:
                raise invalid(_l("one of %(values)s", values="0, 1, 2, 3"), "Bussiness/BussinessDocType") from None
            reason = _text(bussiness, "e:BussinessDocReason")
            replaces = _texts(bussiness, "e:ReplacementInfoList/e:ReplacementInfo/e:DocumentId")
            staff = _staff(bussiness.find("e:StaffInfo", _Q))
    priority_text = _text(header, "e:OtherInfo/e:Priority") or "0"
    if priority_text not in {"0", "1", "2", "3", "4"}:
        raise invalid(_l("one of %(values)s", values="0, 1, 2, 3, 4"), "OtherInfo/Priority")
    return DocumentPackage(
        sender=_organ(header.find("e:From", _Q), "From"), recipients=recipients,
        document_id=_text(header, "e:DocumentId"),
        number=_text(header, "e:Code/e:CodeNumber"), notation=_text(header, "e:Code/e:CodeNotation"),
        subject=_text(header, "e:Subject"), place=_text(header, "e:PromulgationInfo/e:Place"),
        promulgation_date=_date(header, "e:PromulgationInfo/e:PromulgationDate"),
        type_code=_text(header, "e:DocumentType/e:Type"), type_detail=_text(header, "e:DocumentType/e:TypeDetail"),
        type_name=_text(header, "e:DocumentType/e:TypeName"), content=_text(header, "e:Content"),
        signer_competence=_text(header, "e:SignerInfo/e:Competence"),
        signer_position=_text(header, "e:SignerInfo/e:Position"),
        signer_name=_text(header, "e:SignerInfo/e:FullName"), due_date=_date(header, "e:DueDate"),
        priority=int(priority_text), sphere=_text(header, "e:OtherInfo/e:SphereOfPromulgation"),
        typer_notation=_text(header, "e:OtherInfo/e:TyperNotation"),
        promulgation_amount=_text(header, "e:OtherInfo/e:PromulgationAmount"),
        page_amount=_text(header, "e:OtherInfo/e:PageAmount"),
        appendixes=_texts(header, "e:OtherInfo/e:Appendixes/e:Appendix"),
        steering_type=_text(header, "e:SteeringType"), to_places=_texts(header, "e:ToPlaces/e:Place"),
        response_for=_response_for(header.find("e:ResponseFor", _Q)), trace=hops, business=business,
        business_reason=reason, replaces=replaces, staff=staff,
        parts=tuple(_parts(root.iterfind("e:AttachmentEncoded/e:Attachment", _Q))), signature=signature,
    )


def _parts(nodes: Iterable[etree._Element]) -> Iterable[Part]:
    for index, node in enumerate(nodes, start=1):
        encoded = node.find("e:ContentTransferEncoded", _Q)
        text = (encoded.text or "") if encoded is not None else ""
        if len(text) * 3 // 4 > MAX_PART_BYTES + 3:  # checked before a byte is decoded
            raise _part_too_large()
        try:
            data = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            raise invalid(_l("not base64"), f"Attachment[{index}]/ContentTransferEncoded") from None
        if len(data) > MAX_PART_BYTES:
            raise _part_too_large()
        yield Part(content_id=_text(node, "e:ContentId"), name=_text(node, "e:AttachmentName"),
                   content_type=_text(node, "e:ContentType"), description=_text(node, "e:Description"),
                   data=data)
