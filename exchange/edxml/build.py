"""Building edXML packages (QCVN 102:2016): a document package — the header, the trace, the
business type, the files base64-encoded in ``AttachmentEncoded`` and listed in the manifest —
and a status package. Elements follow the order of the national samples."""
from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Iterable

from lxml import etree

from exchange.domain.times import VN_TZ
from exchange.edxml.model import (DATE_FORMAT, NS, TIME_FORMAT, DocumentPackage, Organ, ResponseFor, Staff,
                                  StatusPackage)

_NSMAP = {"edXML": NS}


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _add(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    node = etree.SubElement(parent, _q(name))
    if text is not None:
        node.text = text
    return node


def _group(parent: etree._Element, name: str, *children: tuple[str, str]) -> etree._Element:
    """``<name>`` holding one element per ``(tag, text)``, in that order."""
    node = _add(parent, name)
    for tag, text in children:
        _add(node, tag, text)
    return node


def _day(day: date | None) -> str:
    return day.strftime(DATE_FORMAT) if day else ""


def _time(at: datetime | None) -> str:
    return at.astimezone(VN_TZ).strftime(TIME_FORMAT) if at else ""


def _organ(parent: etree._Element, name: str, organ: Organ) -> None:
    _group(parent, name, ("OrganId", organ.organ_id), ("OrganizationInCharge", organ.in_charge),
           ("OrganName", organ.name), ("OrganAdd", organ.address), ("Email", organ.email),
           ("Telephone", organ.telephone), ("Fax", organ.fax), ("Website", organ.website))


def _response_for(parent: etree._Element, response_for: ResponseFor) -> None:
    _group(parent, "ResponseFor", ("OrganId", response_for.organ_id), ("Code", response_for.code),
           ("PromulgationDate", response_for.promulgation_date), ("DocumentId", response_for.document_id))


def _staff(parent: etree._Element, staff: Staff) -> None:
    _group(parent, "StaffInfo", ("Department", staff.department), ("Staff", staff.staff), ("Email", staff.email),
           ("Mobile", staff.mobile))


def _texts(parent: etree._Element, name: str, child: str, values: Iterable[str]) -> None:
    node = _add(parent, name)
    for value in values:
        _add(node, child, value)


def _envelope() -> tuple[etree._Element, etree._Element, etree._Element]:
    root = etree.Element(_q("edXML"), nsmap=_NSMAP)
    envelope = _add(root, "edXMLEnvelope")
    header = _add(envelope, "edXMLHeader")
    return root, envelope, _add(header, "MessageHeader")


def _serialise(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def build_document(package: DocumentPackage) -> bytes:
    root, envelope, header = _envelope()
    _organ(header, "From", package.sender)
    for recipient in package.recipients:
        _organ(header, "To", recipient)
    _add(header, "DocumentId", package.document_id)
    _group(header, "Code", ("CodeNumber", package.number), ("CodeNotation", package.notation))
    _group(header, "PromulgationInfo", ("Place", package.place),
           ("PromulgationDate", _day(package.promulgation_date)))
    _group(header, "DocumentType", ("Type", package.type_code), ("TypeDetail", package.type_detail),
           ("TypeName", package.type_name))
    _add(header, "Subject", package.subject)
    _add(header, "Content", package.content)
    _group(header, "SignerInfo", ("Competence", package.signer_competence), ("Position", package.signer_position),
           ("FullName", package.signer_name))
    _add(header, "DueDate", _day(package.due_date))
    _texts(header, "ToPlaces", "Place", package.to_places)
    other = _add(header, "OtherInfo")
    _add(other, "Priority", str(package.priority))
    _add(other, "SphereOfPromulgation", package.sphere)
    _add(other, "TyperNotation", package.typer_notation)
    _add(other, "PromulgationAmount", package.promulgation_amount)
    _add(other, "PageAmount", package.page_amount)
    _texts(other, "Appendixes", "Appendix", package.appendixes)
    if package.response_for is not None:
        _response_for(header, package.response_for)
    _add(header, "SteeringType", package.steering_type or "0")

    trace = _add(envelope[0], "TraceHeaderList")  # in edXMLHeader, after MessageHeader
    for hop in package.trace:
        _group(trace, "TraceHeader", ("OrganId", hop.organ_id), ("Timestamp", _time(hop.at)))
    business = _group(trace, "Bussiness", ("DocumentId", package.document_id),
                      ("BussinessDocType", str(int(package.business))),
                      ("BussinessDocReason", package.business_reason), ("Paper", "0"))
    _staff(business, package.staff)
    if package.replaces:
        listing = _add(business, "ReplacementInfoList")
        for replaced in package.replaces:
            info = _add(listing, "ReplacementInfo")
            _add(info, "DocumentId", replaced)
            _texts(info, "OrganIdList", "OrganId", (r.organ_id for r in package.recipients))

    manifest = _add(_add(envelope, "edXMLBody"), "edXMLManifest")
    manifest.set("version", "1.0")
    encoded = _add(root, "AttachmentEncoded")
    for part in package.parts:
        _group(manifest, "Reference", ("ContentId", part.content_id), ("ContentType", part.content_type),
               ("Description", part.description), ("AttachmentName", part.name))
        _group(encoded, "Attachment", ("ContentId", part.content_id), ("AttachmentName", part.name),
               ("Description", part.description), ("ContentType", part.content_type),
               ("ContentTransferEncoded", base64.b64encode(part.data).decode("ascii")))
    return _serialise(root)


def build_status(package: StatusPackage) -> bytes:
    root, _envelope_node, header = _envelope()
    _organ(header, "From", package.sender)
    _response_for(header, package.response_for)
    _staff(header, package.staff)
    _add(header, "StatusCode", package.status_code)
    _add(header, "Description", package.description)
    _add(header, "Timestamp", _time(package.at))
    return _serialise(root)
