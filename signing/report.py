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
from typing import Any

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
    return FAILED if isinstance(sub, AdESFailure) else INDETERMINATE


@dataclass(frozen=True)
class Signer:
    name: str | None = None
    organization: str | None = None
    serial: str | None = None
    issuer: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "organization": self.organization, "serial": self.serial, "issuer": self.issuer}


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
    source: str = "none"  # embedded | fetched | none

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "source": self.source}


@dataclass(frozen=True)
class Finding:
    """One thing the hardening checks or the validator noticed, named by a stable code."""

    code: str
    severity: str  # FAILED | INDETERMINATE | INFO
    field: str | None = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        vi, en = finding_text(self.code)
        return {"code": self.code, "severity": self.severity, "field": self.field, "detail": self.detail,
                "vi": vi, "en": en}


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
    chain: tuple[str, ...] = ()
    docmdp: int | None = None
    revision: int | None = None
    reasons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
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
            "chain": list(self.chain),
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
    messages_vi: tuple[str, ...] = field(default=(), compare=False)
    messages_en: tuple[str, ...] = field(default=(), compare=False)

    @property
    def messages(self) -> dict[str, list[str]]:
        return {"vi": list(self.messages_vi), "en": list(self.messages_en)}

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
        }


def build_report(signatures: list[SignatureResult], findings: list[Finding], *, sha256: str | None = None,
                 size: int | None = None, validated_at: datetime | None = None) -> Report:
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
    vi, en = _messages(indication, signatures, findings)
    return Report(indication=indication, sub_indication=sub, signatures=tuple(signatures),
                  findings=tuple(findings), validated_at=validated_at, sha256=sha256, size=size,
                  messages_vi=tuple(vi), messages_en=tuple(en))


# ---------------------------------------------------------------------------------------------
# Texts. A clerk reads these: plain words, no jargon, Vietnamese first.

_VERDICT = {
    PASSED: ("Chữ ký hợp lệ", "The signature is valid"),
    INDETERMINATE: ("Chưa xác định được chữ ký có hợp lệ hay không", "The signature could not be confirmed as valid"),
    FAILED: ("Chữ ký không hợp lệ", "The signature is not valid"),
    NO_SIGNATURE: ("Tài liệu không có chữ ký số", "The document carries no digital signature"),
}

_DOC_VERDICT = {
    PASSED: ("Tài liệu hợp lệ: mọi chữ ký đều hợp lệ", "Document valid: every signature is valid"),
    INDETERMINATE: ("Chưa xác định được: cần kiểm tra thêm", "Indeterminate: further checks are needed"),
    FAILED: ("Tài liệu không hợp lệ", "Document not valid"),
    NO_SIGNATURE: ("Tài liệu không có chữ ký số", "The document carries no digital signature"),
}

_SUB = {
    "HASH_FAILURE": ("Tài liệu đã bị sửa đổi sau khi ký", "The document was changed after it was signed"),
    "SIG_CRYPTO_FAILURE": ("Giá trị chữ ký không khớp với chứng thư số", "The signature value does not match the certificate"),
    "FORMAT_FAILURE": ("Cấu trúc chữ ký hoặc tệp PDF không đúng quy định", "The signature or the PDF file is malformed"),
    "NO_CERTIFICATE_CHAIN_FOUND": ("Chứng thư số không thuộc tổ chức cung cấp dịch vụ tin cậy",
                                   "The certificate does not chain to a trusted authority"),
    "NO_SIGNING_CERTIFICATE_FOUND": ("Không tìm thấy chứng thư số của người ký", "The signer's certificate is missing"),
    "REVOKED": ("Chứng thư số đã bị thu hồi", "The certificate has been revoked"),
    "REVOKED_NO_POE": ("Chứng thư số đã bị thu hồi", "The certificate has been revoked"),
    "OUT_OF_BOUNDS_NO_POE": ("Chứng thư số đã hết hạn hoặc chưa có hiệu lực tại thời điểm kiểm tra",
                             "The certificate was expired or not yet valid at validation time"),
    "OUT_OF_BOUNDS_NOT_REVOKED": ("Chứng thư số đã hết hạn", "The certificate has expired"),
    "EXPIRED": ("Chứng thư số đã hết hạn", "The certificate has expired"),
    "NOT_YET_VALID": ("Chứng thư số chưa có hiệu lực", "The certificate is not yet valid"),
    "CRYPTO_CONSTRAINTS_FAILURE": ("Thuật toán hoặc độ dài khoá không còn an toàn",
                                   "The algorithm or key size is no longer considered secure"),
    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": ("Thuật toán hoặc độ dài khoá không còn an toàn",
                                          "The algorithm or key size is no longer considered secure"),
    "SIG_CONSTRAINTS_FAILURE": ("Chữ ký không đáp ứng yêu cầu định dạng", "The signature does not meet the format constraints"),
    "CHAIN_CONSTRAINTS_FAILURE": ("Chuỗi chứng thư số không đáp ứng yêu cầu", "The certificate chain does not meet the constraints"),
    "CERTIFICATE_CHAIN_GENERAL_FAILURE": ("Không kiểm tra được chuỗi chứng thư số", "The certificate chain could not be checked"),
    "TRY_LATER": ("Chưa có thông tin thu hồi chứng thư số; hãy thử lại sau",
                  "No revocation information is available yet; try again later"),
    "REVOCATION_OUT_OF_BOUNDS_NO_POE": ("Thông tin thu hồi chứng thư số không còn hiệu lực",
                                        "The revocation information is out of date"),
    "NO_POE": ("Không chứng minh được thời điểm ký", "The time of signing cannot be proven"),
    "TIMESTAMP_ORDER_FAILURE": ("Thứ tự dấu thời gian không hợp lệ", "The timestamps are out of order"),
    "GENERIC": ("Không xác định được kết quả", "The result could not be determined"),
}

_FINDINGS = {
    "MODIFIED_AFTER_SIGNING": ("Tài liệu đã bị sửa đổi sau khi ký", "The document was changed after it was signed"),
    "PERMITTED_CHANGES": ("Tài liệu có thay đổi được phép sau khi ký (điền biểu mẫu, thêm chữ ký)",
                          "The document has permitted changes after signing (form filling, further signatures)"),
    "ANNOTATIONS_ADDED": ("Tài liệu có thêm ghi chú sau khi ký", "Annotations were added after signing"),
    "NONSTANDARD_COVERAGE": ("Chữ ký không bao phủ toàn bộ tài liệu đã ký", "The signature does not cover the whole signed document"),
    "UNACCOUNTED_BYTES": ("Có dữ liệu được thêm vào sau khi ký mà không được khai báo (tấn công lưu tăng dần)",
                          "Data was appended after signing without being declared (incremental saving attack)"),
    "VISUAL_CHANGE": ("Nội dung hiển thị của trang đã thay đổi sau khi ký", "What a page shows changed after signing"),
    "PAGE_COUNT_CHANGED": ("Số trang đã thay đổi sau khi ký", "The number of pages changed after signing"),
    "CONTENT_COVERED": ("Nội dung đã ký bị che phủ bởi nội dung thêm sau", "Signed content is covered by content added later"),
    "SIGNATURE_HIDDEN": ("Một chữ ký trong phiên bản trước đã bị ẩn khỏi tài liệu", "A signature of an earlier revision was hidden from the document"),
    "SIGNATURE_MALFORMED": ("Chữ ký bị lỗi cấu trúc (thiếu hoặc sai /Contents, /ByteRange)",
                            "The signature is malformed (missing or wrong /Contents or /ByteRange)"),
    "BYTERANGE_INVALID": ("Vùng dữ liệu được ký (/ByteRange) không hợp lệ", "The signed byte range (/ByteRange) is invalid"),
    "UNREADABLE": ("Không đọc được tệp PDF", "The PDF file cannot be read"),
    "NOT_PDF": ("Tệp không phải là PDF", "The file is not a PDF"),
    "TIMEOUT": ("Kiểm tra vượt quá thời gian cho phép; tệp có cấu trúc bất thường",
                "Validation exceeded its time budget; the file has an abnormal structure"),
    "VALIDATION_ERROR": ("Lỗi khi kiểm tra chữ ký", "An error occurred while checking the signature"),
    "DOCMDP_VIOLATION": ("Thay đổi sau khi ký vi phạm quyền mà người ký chứng thực cho phép",
                         "A change after signing breaks what the certifying signer permitted"),
    "CHANGES_NOT_ANALYSED": ("Không phân tích được các thay đổi sau khi ký", "The changes made after signing could not be analysed"),
    "VISUAL_CHECK_UNAVAILABLE": ("Không so sánh được hình ảnh trang", "The pages could not be compared visually"),
    "ENCRYPTED": ("Tệp PDF được mã hoá", "The PDF file is encrypted"),
    "PASSWORD_REQUIRED": ("Tệp PDF được bảo vệ bằng mật khẩu nên không kiểm tra được chữ ký",
                          "The PDF is password-protected, so its signatures cannot be checked"),
    "ONLINE_CHECK_UNAVAILABLE": ("Không tra cứu trực tuyến được tình trạng chứng thư số",
                                 "The certificate status could not be checked online"),
    "REVOCATION_FETCHED": ("Thông tin thu hồi được tra cứu trực tuyến", "Revocation information was fetched online"),
    "NO_REVOCATION_DATA": ("Tệp không kèm thông tin thu hồi chứng thư số (nên ký ở mức PAdES B-LT)",
                           "The file carries no revocation information (sign at PAdES B-LT)"),
}

_FINDING_SUB = {
    "UNACCOUNTED_BYTES": "FORMAT_FAILURE",
    "SIGNATURE_HIDDEN": "FORMAT_FAILURE",
    "TIMEOUT": "FORMAT_FAILURE",
    "UNREADABLE": "FORMAT_FAILURE",
    "NOT_PDF": "FORMAT_FAILURE",
    "PASSWORD_REQUIRED": "FORMAT_FAILURE",
}

_KIND = {"signature": ("Chữ ký", "Signature"), "doc_timestamp": ("Dấu thời gian tài liệu", "Document timestamp")}


def finding_text(code: str) -> tuple[str, str]:
    return _FINDINGS.get(code, (code, code))


def verdict_text(indication: Indication, sub_indication: str | None, modification: str | None = None) -> tuple[str, str]:
    vi, en = _VERDICT[indication]
    if indication == FAILED and modification == "other" and sub_indication == "FORMAT_FAILURE":
        # What a clerk needs to hear: the document changed, not "the format is wrong".
        svi, sen = _SUB["HASH_FAILURE"]
        return f"{vi}: {svi}", f"{en}: {sen}"
    if sub_indication and sub_indication in _SUB:
        svi, sen = _SUB[sub_indication]
        return f"{vi}: {svi}", f"{en}: {sen}"
    return vi, en


def _messages(indication: Indication, signatures: list[SignatureResult],
              findings: list[Finding]) -> tuple[list[str], list[str]]:
    dvi, den = _DOC_VERDICT[indication]
    vi, en = [dvi], [den]
    for s in signatures:
        kvi, ken = _KIND.get(s.kind, _KIND["signature"])
        who = s.signer.name or s.field or "?"
        svi, sen = verdict_text(s.indication, s.sub_indication, s.modification)
        vi.append(f"{kvi} \u201c{who}\u201d: {svi}")
        en.append(f"{ken} \u201c{who}\u201d: {sen}")
    seen: set[str] = set()
    for f in findings:
        if f.code in seen or f.severity == "INFO" and f.code in ("REVOCATION_FETCHED",):
            continue
        seen.add(f.code)
        fvi, fen = finding_text(f.code)
        vi.append(fvi)
        en.append(fen)
    return vi, en


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
    "vi": {"title": "Kết quả kiểm tra chữ ký số", "field": "Trường chữ ký", "signer": "Người ký", "org": "Cơ quan, tổ chức",
           "serial": "Số hiệu chứng thư", "issuer": "Tổ chức cấp", "signing_time": "Thời điểm ký",
           "timestamp": "Dấu thời gian", "tsa": "Đơn vị cấp dấu thời gian", "revocation": "Tình trạng thu hồi",
           "coverage": "Phạm vi ký", "modification": "Thay đổi sau khi ký", "intact": "Toàn vẹn", "trusted": "Tin cậy",
           "chain": "Chuỗi chứng thư", "findings": "Phát hiện", "yes": "Có", "no": "Không", "validated_at": "Thời điểm kiểm tra",
           "sha256": "Mã băm SHA-256", "kind": "Loại", "valid": "hợp lệ", "invalid": "không hợp lệ", "none": "—"},
    "en": {"title": "Digital signature verification report", "field": "Signature field", "signer": "Signer",
           "org": "Organisation", "serial": "Certificate serial", "issuer": "Issuer", "signing_time": "Signing time",
           "timestamp": "Timestamp", "tsa": "Timestamp authority", "revocation": "Revocation status",
           "coverage": "Coverage", "modification": "Changes after signing", "intact": "Intact", "trusted": "Trusted",
           "chain": "Certificate chain", "findings": "Findings", "yes": "Yes", "no": "No", "validated_at": "Validated at",
           "sha256": "SHA-256", "kind": "Kind", "valid": "valid", "invalid": "not valid", "none": "—"},
}

_VALUES = {
    "vi": {"entire_file": "toàn bộ tệp", "entire_revision": "toàn bộ phiên bản đã ký", "partial": "một phần",
           "unknown": "không rõ", "none": "không có", "lta_updates": "bổ sung thông tin kiểm tra dài hạn",
           "form_filling": "điền biểu mẫu / thêm chữ ký", "annotations": "thêm ghi chú", "other": "thay đổi khác",
           "good": "chưa bị thu hồi", "revoked": "đã bị thu hồi", "embedded": "có sẵn trong tệp",
           "fetched": "tra cứu trực tuyến", "signature": "Chữ ký", "doc_timestamp": "Dấu thời gian tài liệu"},
    "en": {"entire_file": "entire file", "entire_revision": "entire signed revision", "partial": "partial",
           "unknown": "unknown", "none": "none", "lta_updates": "long-term validation data added",
           "form_filling": "form filling / further signatures", "annotations": "annotations added", "other": "other changes",
           "good": "not revoked", "revoked": "revoked", "embedded": "embedded in the file", "fetched": "fetched online",
           "signature": "Signature", "doc_timestamp": "Document timestamp"},
}


def render_html(report: Report, lang: str = "vi") -> str:
    """A printable UTF-8 HTML page of the report, in Vietnamese (default) or English."""
    import jinja2

    lang = lang if lang in _LABELS else "vi"
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["vntime"] = _vietnam_time
    template = env.from_string(_TEMPLATE.read_text(encoding="utf-8"))
    data = report.to_json()
    rows = []
    for sig, raw in zip(report.signatures, data["signatures"], strict=True):
        svi, sen = verdict_text(sig.indication, sig.sub_indication, sig.modification)
        rows.append({**raw, "verdict": svi if lang == "vi" else sen})
    verdict = _DOC_VERDICT[report.indication][0 if lang == "vi" else 1]
    findings = [{**f, "text": f[lang]} for f in data["findings"]]
    return template.render(lang=lang, L=_LABELS[lang], V=_VALUES[lang], report=data, verdict=verdict,
                           signatures=rows, findings=findings,
                           messages=data["messages"][lang], other_lang="en" if lang == "vi" else "vi")
