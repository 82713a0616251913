"""The verification report: typed, frozen results that the API, the web page and the CLI all render.

`Report.to_json()` keeps the key names other programs read (issue 3); extra keys are only
ever added, never renamed. Indications follow ETSI EN 319 102-1: PASSED, INDETERMINATE,
FAILED (plus NO_SIGNATURE for a document that carries none).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from translations import Message, _l, language, translate

# pyHanko loads with the verifier that makes a report, not with every importer of these
# types (the service's ``flask`` commands, its verification workers' parent).
if TYPE_CHECKING:
    from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate


class Indication(StrEnum):
    """A signature's (or the document's) main indication; the values are what other programs read."""
    PASSED = "PASSED"
    INDETERMINATE = "INDETERMINATE"
    FAILED = "FAILED"
    NO_SIGNATURE = "NO_SIGNATURE"


PASSED = Indication.PASSED
INDETERMINATE = Indication.INDETERMINATE
FAILED = Indication.FAILED
NO_SIGNATURE = Indication.NO_SIGNATURE

# Worst first: the document's indication is the worst of its signatures'.
_SEVERITY: dict[str, int] = {PASSED: 0, NO_SIGNATURE: 1, INDETERMINATE: 2, FAILED: 3}


def worse(a: Indication, b: Indication) -> Indication:
    """The worse of two indications."""
    return a if _SEVERITY[a] >= _SEVERITY[b] else b


def indication_of(sub: AdESFailure | AdESIndeterminate) -> Indication:
    """The main indication a sub-indication belongs to, as pyHanko's own classes say: a name
    alone is not enough (NOT_YET_VALID is both a failure and an indeterminate one)."""
    from pyhanko.sign.ades.report import AdESFailure

    return FAILED if isinstance(sub, AdESFailure) else INDETERMINATE


# A certificate's distinguished name as (attribute, value) pairs, attributes by their
# RFC 4514 short names (CN, O, ...): rendered with labels from the catalogues on the page.
DistinguishedName = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Signer:
    name: str | None = None
    organization: str | None = None
    serial: str | None = None
    issuer: str | None = None
    subject_dn: DistinguishedName = ()
    issuer_dn: DistinguishedName = ()

    @property
    def self_signed(self) -> bool:
        return bool(self.subject_dn) and self.subject_dn == self.issuer_dn

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "organization": self.organization, "serial": self.serial, "issuer": self.issuer,
                "subject_dn": dn_text(self.subject_dn) or None, "issuer_dn": dn_text(self.issuer_dn) or None}


def dn_text(dn: DistinguishedName) -> str:
    """``CN=Nguyễn Văn A, O=UBND tỉnh`` (RFC 4514 escaping of the separators)."""
    def escape(value: str) -> str:
        return "".join("\\" + ch if ch in ',+"\\<>;=' else ch for ch in value)

    return ", ".join(f"{key}={escape(value)}" for key, value in dn)


@dataclass(frozen=True)
class Timestamp:
    time: datetime | None = None
    tsa: str | None = None
    valid: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"time": _iso(self.time), "tsa": self.tsa, "valid": self.valid}


@dataclass(frozen=True)
class Revocation:
    status: str = "unknown"  # good | revoked | unknown
    source: str = "none"  # embedded | fetched | own_ca | none
    revoked_at: datetime | None = None  # when our own CA revoked the certificate
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "source": self.source, "revoked_at": _iso(self.revoked_at),
                "reason": self.reason}


@dataclass(frozen=True)
class DocumentIdentity:
    """Which document the report is about: the file, and for a stored one its register data."""

    file_name: str | None = None
    document_id: int | None = None
    revision: int | None = None
    number: str | None = None  # số
    notation: str | None = None  # ký hiệu
    subject: str | None = None  # trích yếu

    def to_json(self) -> dict[str, Any]:
        return {"file_name": self.file_name, "document_id": self.document_id, "revision": self.revision,
                "number": self.number, "notation": self.notation, "subject": self.subject}


@dataclass(frozen=True)
class Finding:
    """One thing the hardening checks or the validator noticed, named by a stable code."""

    code: str
    severity: str  # FAILED | INDETERMINATE | INFO
    field: str | None = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        text = finding_text(self.code)
        return {"code": self.code, "severity": self.severity, "field": self.field, "detail": self.detail,
                "vi": translate(text, "vi"), "en": translate(text, "en")}


@dataclass(frozen=True)
class SignatureResult:
    field: str | None
    indication: Indication
    sub_indication: str | None  # the ETSI name, e.g. HASH_FAILURE
    kind: str = "signature"  # signature | doc_timestamp
    signer: Signer = Signer()
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    coverage: str = "unknown"  # entire_file | entire_revision | partial | unknown
    modification: str = "unknown"  # none | lta_updates | form_filling | annotations | other | unknown
    signing_time: datetime | None = None
    timestamp: Timestamp | None = None
    revocation: Revocation = Revocation()
    chain: tuple[DistinguishedName, ...] = ()  # signer first, trust anchor last
    docmdp: int | None = None
    revision: int | None = None
    reasons: tuple[str, ...] = ()

    @property
    def checks_evaluated(self) -> bool:
        """False after a HASH_FAILURE: the signed bytes are not the file's, so whatever the
        other checks say (certificate, timestamp, revocation, changes) says nothing."""
        return self.sub_indication != "HASH_FAILURE"

    def to_json(self) -> dict[str, Any]:
        return {
            "checks_evaluated": self.checks_evaluated,
            "field": self.field,
            "kind": self.kind,
            "indication": self.indication,
            "sub_indication": self.sub_indication,
            "signer": self.signer.to_json(),
            "intact": self.intact,
            "valid": self.valid,
            "trusted": self.trusted,
            "coverage": self.coverage,
            "modification": self.modification,
            "signing_time": _iso(self.signing_time),
            "timestamp": self.timestamp.to_json() if self.timestamp else None,
            "revocation": self.revocation.to_json(),
            "chain": [dn_text(dn) for dn in self.chain],
            "docmdp": self.docmdp,
            "revision": self.revision,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class Report:
    indication: Indication
    sub_indication: str | None
    signatures: tuple[SignatureResult, ...] = ()
    findings: tuple[Finding, ...] = ()
    validated_at: datetime | None = None
    sha256: str | None = None
    size: int | None = None
    message_ids: tuple[Message | str, ...] = field(default=(), compare=False)
    document: DocumentIdentity = DocumentIdentity()

    @property
    def messages(self) -> dict[str, list[str]]:
        """The verdict in plain words, in both languages (``vi``, ``en``: names other programs read)."""
        return {lang: [translate(m, lang) for m in self.message_ids] for lang in ("vi", "en")}

    def to_json(self) -> dict[str, Any]:
        return {
            "indication": self.indication,
            "sub_indication": self.sub_indication,
            "signatures": [s.to_json() for s in self.signatures],
            "findings": [f.to_json() for f in self.findings],
            "messages": self.messages,
            "validated_at": _iso(self.validated_at),
            "sha256": self.sha256,
            "size": self.size,
            "document": self.document.to_json(),
        }


def build_report(signatures: list[SignatureResult], findings: list[Finding], *, sha256: str | None = None,
                 size: int | None = None, validated_at: datetime | None = None,
                 document: DocumentIdentity = DocumentIdentity()) -> Report:
    """Combine per-signature results and document findings into a report with its messages.

    A document-level finding of severity FAILED makes the document FAILED even when every
    listed signature passed (e.g. a signature hidden from the form, bytes nobody accounts for).
    """
    if signatures:
        worst = signatures[0]
        for s in signatures[1:]:
            if _SEVERITY[s.indication] > _SEVERITY[worst.indication]:
                worst = s
        indication, sub = worst.indication, worst.sub_indication
    else:
        indication, sub = NO_SIGNATURE, None
    for f in findings:
        if f.field is None and f.severity in (FAILED, INDETERMINATE) and _SEVERITY[f.severity] > _SEVERITY[indication]:
            indication, sub = Indication(f.severity), _FINDING_SUB.get(f.code, "FORMAT_FAILURE")
    return Report(indication=indication, sub_indication=sub, signatures=tuple(signatures),
                  findings=tuple(findings), validated_at=validated_at, sha256=sha256, size=size,
                  message_ids=tuple(_messages(indication, signatures, findings)), document=document)


# ---------------------------------------------------------------------------------------------
# Texts. A clerk reads these: plain words, no jargon, Vietnamese first.

_VERDICT = {
    PASSED: _l("The signature is valid"),
    INDETERMINATE: _l("The signature could not be confirmed as valid"),
    FAILED: _l("The signature is not valid"),
    NO_SIGNATURE: _l("The document carries no digital signature"),
}

_DOC_VERDICT = {
    PASSED: _l("Document valid: every signature is valid"),
    INDETERMINATE: _l("Indeterminate: further checks are needed"),
    FAILED: _l("Document not valid"),
    NO_SIGNATURE: _l("The document carries no digital signature"),
}

_SUB = {
    "HASH_FAILURE": _l("The document was changed after it was signed"),
    "SIG_CRYPTO_FAILURE": _l("The signature value does not match the certificate"),
    "FORMAT_FAILURE": _l("The signature or the PDF file is malformed"),
    "NO_CERTIFICATE_CHAIN_FOUND": _l("The certificate does not chain to a trusted authority"),
    "NO_SIGNING_CERTIFICATE_FOUND": _l("The signer's certificate is missing"),
    "REVOKED": _l("The certificate has been revoked"),
    "REVOKED_NO_POE": _l("The certificate has been revoked"),
    "OUT_OF_BOUNDS_NO_POE": _l("The certificate was expired or not yet valid at validation time"),
    "OUT_OF_BOUNDS_NOT_REVOKED": _l("The certificate has expired"),
    "EXPIRED": _l("The certificate has expired"),
    "NOT_YET_VALID": _l("The certificate is not yet valid"),
    "CRYPTO_CONSTRAINTS_FAILURE": _l("The algorithm or key size is no longer considered secure"),
    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": _l("The algorithm or key size is no longer considered secure"),
    "SIG_CONSTRAINTS_FAILURE": _l("The signature does not meet the format constraints"),
    "CHAIN_CONSTRAINTS_FAILURE": _l("The certificate chain does not meet the constraints"),
    "CERTIFICATE_CHAIN_GENERAL_FAILURE": _l("The certificate chain could not be checked"),
    "TRY_LATER": _l("No revocation information is available yet; try again later"),
    "REVOCATION_OUT_OF_BOUNDS_NO_POE": _l("The revocation information is out of date"),
    "NO_POE": _l("The time of signing cannot be proven"),
    "TIMESTAMP_ORDER_FAILURE": _l("The timestamps are out of order"),
    "GENERIC": _l("The result could not be determined"),
}

_FINDINGS = {
    "MODIFIED_AFTER_SIGNING": _l("The document was changed after it was signed"),
    "PERMITTED_CHANGES": _l("The document has permitted changes after signing (form filling, further signatures)"),
    "ANNOTATIONS_ADDED": _l("Annotations were added after signing"),
    "NONSTANDARD_COVERAGE": _l("The signature does not cover the whole signed document"),
    "UNACCOUNTED_BYTES": _l("Data was appended after signing without being declared (incremental saving attack)"),
    "VISUAL_CHANGE": _l("What a page shows changed after signing"),
    "PAGE_COUNT_CHANGED": _l("The number of pages changed after signing"),
    "CONTENT_COVERED": _l("Signed content is covered by content added later"),
    "SIGNATURE_HIDDEN": _l("A signature of an earlier revision was hidden from the document"),
    "SIGNATURE_MALFORMED": _l("The signature is malformed (missing or wrong /Contents or /ByteRange)"),
    "BYTERANGE_INVALID": _l("The signed byte range (/ByteRange) is invalid"),
    "UNREADABLE": _l("The PDF file cannot be read"),
    "NOT_PDF": _l("The file is not a PDF"),
    "TIMEOUT": _l("Validation exceeded its time budget; the file has an abnormal structure"),
    "VALIDATION_ERROR": _l("An error occurred while checking the signature"),
    "DOCMDP_VIOLATION": _l("A change after signing breaks what the certifying signer permitted"),
    "CHANGES_NOT_ANALYSED": _l("The changes made after signing could not be analysed"),
    "VISUAL_CHECK_UNAVAILABLE": _l("The pages could not be compared visually"),
    "VISUAL_CHECK_INCOMPLETE": _l("Not every page or appearance could be compared within the rendering budget"),
    "ENCRYPTED": _l("The PDF file is encrypted"),
    "PASSWORD_REQUIRED": _l("The PDF is password-protected, so its signatures cannot be checked"),
    "ONLINE_CHECK_UNAVAILABLE": _l("The certificate status could not be checked online"),
    "REVOCATION_FETCHED": _l("Revocation information was fetched online"),
    "NO_REVOCATION_DATA": _l("The file carries no revocation information (sign at PAdES B-LT)"),
    "STRUCTURE_REFUSED": _l("The file declares more structure or decoding work than its size allows"),
    "RESOURCE_LIMIT": _l("Validation exceeded its memory budget or its process ended abnormally"),
    "REVOKED_BY_OWN_CA": _l("The signer's certificate has been revoked by the service's certification authority"),
}

_FINDING_SUB = {
    "UNACCOUNTED_BYTES": "FORMAT_FAILURE",
    "SIGNATURE_HIDDEN": "FORMAT_FAILURE",
    "TIMEOUT": "FORMAT_FAILURE",
    "UNREADABLE": "FORMAT_FAILURE",
    "NOT_PDF": "FORMAT_FAILURE",
    "PASSWORD_REQUIRED": "FORMAT_FAILURE",
    "STRUCTURE_REFUSED": "FORMAT_FAILURE",
    "RESOURCE_LIMIT": "FORMAT_FAILURE",
}

_KIND = {"signature": _l("Signature"), "doc_timestamp": _l("Document timestamp")}


def finding_text(code: str) -> Message | str:
    return _FINDINGS.get(code, code)


def verdict_text(indication: Indication, sub_indication: str | None, modification: str | None = None) -> Message:
    verdict = _VERDICT[indication]
    if indication == FAILED and modification == "other" and sub_indication == "FORMAT_FAILURE":
        # What a clerk needs to hear: the document changed, not "the format is wrong".
        return _l("%(verdict)s: %(reason)s", verdict=verdict, reason=_SUB["HASH_FAILURE"])
    if sub_indication and sub_indication in _SUB:
        return _l("%(verdict)s: %(reason)s", verdict=verdict, reason=_SUB[sub_indication])
    return verdict


def _messages(indication: Indication, signatures: list[SignatureResult],
              findings: list[Finding]) -> list[Message | str]:
    messages: list[Message | str] = [_DOC_VERDICT[indication]]
    for s in signatures:
        messages.append(_l("%(kind)s “%(who)s”: %(verdict)s", kind=_KIND.get(s.kind, _KIND["signature"]),
                           who=s.signer.name or s.field or "?",
                           verdict=verdict_text(s.indication, s.sub_indication, s.modification)))
    seen: set[str] = set()
    for f in findings:
        if f.code in seen or f.severity == "INFO" and f.code in ("REVOCATION_FETCHED",):
            continue
        seen.add(f.code)
        messages.append(finding_text(f.code))
    return messages


def _vietnam_time(iso: str | None) -> str | None:
    """ISO 8601 → "26/11/2026 16:19:06 (+07:00)": the time a Vietnamese clerk reads."""
    if not iso:
        return iso
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if t.tzinfo is None:
        return t.strftime("%d/%m/%Y %H:%M:%S")
    return t.astimezone(timezone(timedelta(hours=7))).strftime("%d/%m/%Y %H:%M:%S (+07:00)")


def _iso(t: datetime | None) -> str | None:
    """The API's one time format (``exchange.domain.times.api_time``, which signing may not
    import): RFC 3339, UTC, whole seconds, ``Z``."""
    if t is None:
        return None
    if t.tzinfo is None:
        # a file's signingTime may be a GeneralizedTime without an offset (asn1crypto gives it
        # naive): read as UTC rather than let one odd file break the report
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------
# Printable page.

_TEMPLATE = Path(__file__).with_name("templates") / "verification_report.html"

_LABELS = {
    "title": _l("Digital signature verification report"), "field": _l("Signature field"), "signer": _l("Signer"),
    "org": _l("Organisation"), "serial": _l("Certificate serial"), "issuer": _l("Issuer"),
    "signing_time": _l("Signing time"), "timestamp": _l("Timestamp"), "tsa": _l("Timestamp authority"),
    "revocation": _l("Revocation status"), "coverage": _l("Coverage"), "modification": _l("Changes after signing"),
    "intact": _l("Intact"), "trusted": _l("Trusted"), "chain": _l("Certificate chain"), "findings": _l("Findings"),
    "yes": _l("Yes"), "no": _l("No"), "validated_at": _l("Validated at"), "sha256": _l("SHA-256"), "kind": _l("Kind"),
    "valid": _l("valid"), "invalid": _l("not valid"), "none": "—", "attachments": _l("Attachments"),
    "not_evaluated": _l("not evaluated"), "document": _l("Document"), "file_name": _l("File name"),
    "number": _l("Number"), "notation": _l("Notation"), "subject": _l("Subject (summary)"),
    "size": _l("Size (bytes)"), "revoked_at": _l("revoked on"),
}

# Certificate name attributes, by RFC 4514 short name: never "Common Name:" on a Vietnamese page.
_DN_LABELS = {
    "CN": _l("Name"), "O": _l("Organisation"), "OU": _l("Unit"), "L": _l("Locality"),
    "ST": _l("Province"), "C": _l("Country"), "E": _l("Email"), "T": _l("Title"),
    "SERIALNUMBER": _l("Identifier"), "UID": _l("User ID"), "STREET": _l("Address"),
    "GN": _l("Given name"), "SN": _l("Surname"),
}
_ATTACHMENT_KIND = {"pades": _l("PDF with the agency's signature"),
                    "detached_cms": _l("file with a detached signature (.p7s)"), None: _l("not signed")}

_VALUES = {
    "entire_file": _l("entire file"), "entire_revision": _l("entire signed revision"), "partial": _l("partial"),
    "unknown": _l("unknown"), "none": _l("none"), "lta_updates": _l("long-term validation data added"),
    "form_filling": _l("form filling / further signatures"), "annotations": _l("annotations added"),
    "other": _l("other changes"), "good": _l("not revoked"), "revoked": _l("revoked"),
    "embedded": _l("embedded in the file"), "fetched": _l("fetched online"),
    "own_ca": _l("the service's own certification authority"), **_KIND,
}


def labelled_dn(dn: DistinguishedName, lang: str) -> str:
    """``Tên: Nguyễn Văn A; Tổ chức: UBND tỉnh`` in the reader's language."""
    return "; ".join(f"{translate(_DN_LABELS[key], lang) if key in _DN_LABELS else key}: {value}"
                     for key, value in dn)


def render_html(report: Report, lang: str = "vi", attachments: list[dict[str, Any]] | None = None) -> str:
    """A printable UTF-8 HTML page of the report, in Vietnamese (default) or English;
    ``attachments``: a stored document's attachments' entries (``exchange.services.attachments``)."""
    import jinja2

    lang = language(lang)
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["vntime"] = _vietnam_time
    template = env.from_string(_TEMPLATE.read_text(encoding="utf-8"))
    data = report.to_json()
    rows = []
    for sig, raw in zip(report.signatures, data["signatures"], strict=True):
        rows.append({**raw, "verdict": translate(verdict_text(sig.indication, sig.sub_indication, sig.modification),
                                                 lang),
                     "chain_text": [labelled_dn(dn, lang) for dn in sig.chain]})
    verdict = translate(_DOC_VERDICT[report.indication], lang)
    findings = [{**f, "text": f[lang]} for f in data["findings"]]
    labels = {key: translate(text, lang) for key, text in _LABELS.items()}
    values = {key: translate(text, lang) for key, text in _VALUES.items()}
    return template.render(lang=lang, L=labels, V=values, report=data, verdict=verdict,
                           signatures=rows, findings=findings,
                           attachments=[_attachment_row(a, lang) for a in attachments or ()],
                           messages=data["messages"][lang], other_lang="en" if lang == "vi" else "vi")


def _attachment_row(entry: dict[str, Any], lang: str) -> dict[str, Any]:
    """One attachment's line: its verdict, and who signed it when (the seal's first signature)."""
    signature = entry.get("signature") or next(iter((entry.get("report") or {}).get("signatures", [])), None) or {}
    signer = signature.get("signer") or {}
    indication = Indication(entry["indication"])
    return {"name": entry["name"], "kind": translate(_ATTACHMENT_KIND.get(entry.get("kind"), _l("not signed")), lang),
            "indication": indication, "sub_indication": entry.get("sub_indication"),
            "verdict": translate(verdict_text(indication, entry.get("sub_indication")), lang),
            "signer": signer.get("organization") or signer.get("name"), "signing_time": signature.get("signing_time")}


def value_text(value: str) -> Message | str:
    """A report value (``entire_file``, ``revoked``, …) in words: what the printable page writes."""
    return _VALUES.get(value, value)


def label_text(key: str) -> Message | str:
    """A printable page's label (``signer``, ``coverage``, …)."""
    label = _LABELS[key]
    return label if isinstance(label, Message) else str(label)
