"""Verify the signatures of a PDF like an auditor: pyHanko's validation plus our hardening.

`verify(pdf_stream, trust_roots=...)` is the one entry point, the same for stored and
uploaded PDFs; it returns a `signing.report.Report` and never raises for a bad file.

Order of work (PYHANKO-NOTES §5):
1. read the file (not strict: Office's hybrid xrefs), decrypt with the empty password;
2. list the signature fields one by one, so one broken field does not hide the others;
3. validate each signature offline from the file's own DSS (hard-fail revocation), and only
   when that leaves it untrusted and fetching is allowed, once more online (hard-fail, never
   soft-fail: soft-fail trusts a B-B file with no revocation data at all);
4. hardening checks (`signing.checks`): byte range sanity, bytes no xref accounts for,
   signatures hidden from the form, and a rendered-page comparison when later changes were
   classified as form filling or annotations.

All of it runs under a deadline (`time_budget_s`, `signing.checks.deadline`); one
ValidationContext is made per call and used only in that call's thread (a shared one
hangs, PYHANKO-NOTES pitfall 4).
"""
from __future__ import annotations

import hashlib
import io
import logging
import re
import time
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, BinaryIO, Callable, Iterable

from asn1crypto import x509
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate

from signing import fast_hex, prescan
from signing.checks import byterange, hidden, increments, visual
from signing.checks.annotations import diff_policy
from signing.checks.deadline import VerificationTimeout, call_with_deadline
from signing.checks.trailer import StandardTrailerReader
from signing.report import (FAILED, INDETERMINATE, PASSED, Finding, Indication, Report, Revocation, SignatureResult,
                            Signer, Timestamp, build_report, indication_of, worse)

log = logging.getLogger(__name__)
fast_hex.install()  # every file this module reads carries signatures: their /Contents read in one pass

ValidationContextFactory = Callable[..., Any]

_COVERAGE = {"ENTIRE_FILE": "entire_file", "ENTIRE_REVISION": "entire_revision",
             "CONTIGUOUS_BLOCK_FROM_START": "partial", "UNCLEAR": "partial"}
# pyHanko's default diff policy + annotations (stateless rules: safe to share between threads).
_DIFF_POLICY = diff_policy()
_FORMAT_FAILURE = AdESFailure.FORMAT_FAILURE.name


def verify(pdf_stream: BinaryIO | bytes, *, trust_roots: list[x509.Certificate],
           other_certs: Iterable[x509.Certificate] = (), allow_fetching: bool = False,
           validation_context_factory: ValidationContextFactory | None = None,
           time_budget_s: float = 10.0, max_rendered_pages: int = visual.DEFAULT_MAX_PAGES,
           structure_checked: bool = False) -> Report:
    """Verify every signature of a PDF; never raises for a bad or hostile file.

    ``validation_context_factory(trust_roots=..., allow_fetching=True, revocation_mode="hard-fail")``
    builds the context for the online pass (e.g. ``functools.partial(certs.responders.
    validation_context, settings)``); without it a plain pyHanko context is used.
    ``max_rendered_pages``: pages compared by rendering per signature; a signature with more
    pages that later revisions may change is at best INDETERMINATE (VISUAL_CHECK_INCOMPLETE).
    ``structure_checked``: the caller already ran ``signing.prescan.check`` on these bytes.
    """
    data = pdf_stream if isinstance(pdf_stream, (bytes, bytearray)) else pdf_stream.read()
    data = bytes(data)
    started = datetime.now(timezone.utc)
    deadline = time.monotonic() + time_budget_s
    job = _Verification(data, list(trust_roots), list(other_certs), allow_fetching, validation_context_factory,
                        deadline)
    job.max_rendered_pages = max_rendered_pages
    job.structure_checked = structure_checked
    try:
        signatures, findings = call_with_deadline(job.run, time_budget_s)
    except VerificationTimeout as exc:
        signatures, findings = [], [Finding("TIMEOUT", FAILED, detail=str(exc))]
    except Exception as exc:  # noqa: BLE001 - a hostile file must never become a 500
        log.warning("verification crashed", exc_info=exc)
        signatures, findings = [], [Finding("VALIDATION_ERROR", FAILED, detail=_describe(exc))]
    return build_report(_plain_names(signatures), _plain_names(findings), sha256=hashlib.sha256(data).hexdigest(),
                        size=len(data), validated_at=started)


def _plain_names(items: list[Any]) -> list[Any]:
    """Field names as plain ``str``: pyHanko's ``TextStringObject`` keeps a reference to the
    object it was read from, and through it the reader and the file, so a report holding one
    pickled to 320 kB (and 13 ms to unpickle in the web worker) on its way out of the
    verification process (signing.isolation)."""
    return [replace(item, field=str(item.field)) if item.field is not None and type(item.field) is not str else item
            for item in items]


class _PasswordRequired(Exception):
    """An encrypted PDF whose user password is not empty: nothing can be checked."""


class _Verification:
    """The work for one call; lives in the worker thread only."""

    def __init__(self, data: bytes, trust_roots: list[x509.Certificate], other_certs: list[x509.Certificate],
                 allow_fetching: bool, factory: ValidationContextFactory | None, deadline: float) -> None:
        self.data = data
        self.trust_roots = trust_roots
        self.other_certs = other_certs
        self.allow_fetching = allow_fetching
        self.factory = factory
        self.deadline = deadline
        self.structure_checked = False
        self.findings: list[Finding] = []
        self._offline_vc: Any = None
        self._online_vc: Any = None
        self.reader: Any = None
        self.has_dss = False
        self.max_rendered_pages = visual.DEFAULT_MAX_PAGES

    # -- top level ---------------------------------------------------------------------------

    def run(self) -> tuple[list[SignatureResult], list[Finding]]:
        if b"%PDF-" not in self.data[:1024]:
            return [], [Finding("NOT_PDF", FAILED)]
        try:
            if not self.structure_checked:
                prescan.check(self.data)
        except prescan.StructureRefused as exc:
            # declared structure the file cannot hold: parsing it is the attack
            return [], [Finding("STRUCTURE_REFUSED", FAILED, detail=exc.detail)]
        try:
            self.reader = self._open()
            fields = self._signature_fields()
        except _PasswordRequired as exc:
            return [], [Finding("PASSWORD_REQUIRED", INDETERMINATE, detail=str(exc))]
        except Exception as exc:  # noqa: BLE001 - unreadable file
            return self._readable_prefix(exc) or ([], [Finding("UNREADABLE", FAILED, detail=_describe(exc))])

        from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

        results: list[SignatureResult] = []
        embedded: list[Any] = []
        final_sig_objects: set[int] = set()
        for name, value, field in fields:
            idnum = getattr(value, "idnum", None)
            if idnum is not None:
                final_sig_objects.add(idnum)
            try:
                embedded.append(EmbeddedPdfSignature(self.reader, field, name))
            except Exception as exc:  # noqa: BLE001 - USF: empty/null/absent /Contents or /ByteRange
                results.append(self._malformed(name, value, exc))
        embedded.sort(key=lambda e: e.signed_revision)
        for emb in embedded:
            results.append(self._check_signature(emb))

        ends = [end for e in embedded if (end := _signed_end(e)) is not None]
        if ends or results:
            results = self._check_increments(results, embedded, min(ends) if ends else 0)
        results = self._check_hidden(results, final_sig_objects)
        return results, self.findings

    def _readable_prefix(self, error: Exception) -> tuple[list[SignatureResult], list[Finding]] | None:
        """The file as a whole cannot be read: validate the longest readable revision that has
        signatures, so the report names them, and fail them for what was appended.

        An update that breaks the reader (a broken xref, a startxref pointing nowhere) is how
        several Incremental Saving Attacks hide from validators while viewers repair the file.
        """
        # a revision ends after %%EOF and its end-of-line (signers include it in the byte range)
        ends = [m.end() for m in re.finditer(rb"%%EOF(?:\r\n|\r|\n)?", self.data)][::-1][:20]
        for end in ends:
            if end >= len(self.data.rstrip(b" \t\r\n\x00\x0c")):
                continue  # the whole file: already failed
            prefix = _Verification(self.data[:end], self.trust_roots, self.other_certs, False, None, self.deadline)
            prefix.max_rendered_pages = self.max_rendered_pages
            try:
                prefix.reader = prefix._open()
                if not prefix._signature_fields():
                    continue
            except Exception:  # noqa: BLE001 - try an earlier revision
                continue
            results, findings = prefix.run()
            reason = f"the update appended after byte {end} cannot be read: {_describe(error)}"
            return ([replace(_fail(r, AdESFailure.FORMAT_FAILURE, [reason]), modification="other") for r in results],
                    findings + [Finding("UNACCOUNTED_BYTES", FAILED, None, reason)])
        return None

    def _open(self) -> Any:
        reader = StandardTrailerReader(io.BytesIO(self.data), strict=False)
        if reader.encrypted:
            from pyhanko.pdf_utils.crypt import AuthStatus

            if reader.decrypt("").status == AuthStatus.FAILED:
                raise _PasswordRequired("the PDF needs a password to open")
            self.findings.append(Finding("ENCRYPTED", "INFO"))
        return reader

    def _signature_fields(self) -> list[tuple[str, Any, Any]]:
        from pyhanko.sign.fields import enumerate_sig_fields

        fields = []
        for name, value, field in enumerate_sig_fields(self.reader, filled_status=True):
            fields.append((name, value, field))
            if len(fields) > 200:
                raise ValueError("more than 200 signature fields")
        return fields

    # -- one signature -----------------------------------------------------------------------

    def _check_signature(self, emb: Any) -> SignatureResult:
        status, error, diff_failed = self._validate(emb, self._offline())
        source = "embedded"
        if (status is not None and not status.trusted and not status.revoked and self.allow_fetching
                and status.intact and status.valid):
            try:
                online_vc = self._online()
            except Exception as exc:  # noqa: BLE001 - no online pass; the offline answer stands
                self.findings.append(Finding("ONLINE_CHECK_UNAVAILABLE", "INFO", emb.field_name, _describe(exc)))
                online_vc = None
            online, online_error, online_diff_failed = (self._validate(emb, online_vc) if online_vc is not None
                                                        else (None, None, None))
            if online is not None and (online.trusted or online.revoked):
                status, error, diff_failed, source = online, online_error, online_diff_failed, "fetched"
        result = self._result(emb, status, error, source)
        if diff_failed:
            from pyhanko.pdf_utils.misc import PdfReadError

            if isinstance(diff_failed, PdfReadError):
                # Malformed objects written after signing (a common trace of hand-made
                # attack updates): a change that is not even valid PDF is not harmless.
                self.findings.append(Finding("MODIFIED_AFTER_SIGNING", FAILED, emb.field_name,
                                             f"a later revision is malformed: {_describe(diff_failed)}"))
                result = replace(_fail(result, AdESFailure.FORMAT_FAILURE, ["a later revision is malformed"]),
                                 modification="other")
            else:
                self.findings.append(Finding("CHANGES_NOT_ANALYSED", INDETERMINATE, emb.field_name,
                                             _describe(diff_failed)))
                result = _cap(result, INDETERMINATE, AdESFailure.FORMAT_FAILURE,
                              "later revisions could not be analysed")
                result = replace(result, modification="unknown")
        result = self._check_byterange(emb, result)
        if status is not None and (diff_failed or result.modification in ("form_filling", "annotations")):
            result = self._check_visual(emb, result)
        return result

    def _validate(self, emb: Any, vc: Any) -> tuple[Any, Exception | None, Exception | None]:
        """(status, error, diff error). A crash in the diff is retried without it."""
        from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
        from pyhanko.sign.validation.errors import SignatureValidationError

        def run(skip_diff: bool) -> Any:
            if emb.sig_object_type == "/DocTimeStamp":
                return validate_pdf_timestamp(emb, validation_context=vc, skip_diff=skip_diff, diff_policy=_DIFF_POLICY)
            return validate_pdf_signature(emb, signer_validation_context=vc, ts_validation_context=vc,
                                          skip_diff=skip_diff, diff_policy=_DIFF_POLICY)

        try:
            return run(False), None, None
        except VerificationTimeout:
            raise
        except SignatureValidationError as exc:
            return None, exc, None
        except Exception as exc:  # noqa: BLE001
            log.info("validation of %s failed (%s); retrying without diff analysis", emb.field_name, _describe(exc))
            try:
                emb.diff_result = None
                return run(True), None, exc
            except VerificationTimeout:
                raise
            except Exception as exc2:  # noqa: BLE001
                return None, exc2, None

    def _result(self, emb: Any, status: Any, error: Exception | None, source: str) -> SignatureResult:
        kind = "doc_timestamp" if emb.sig_object_type == "/DocTimeStamp" else "signature"
        signer = _signer(_safe(lambda: emb.signer_cert))
        base = SignatureResult(field=emb.field_name, indication=FAILED, sub_indication=_FORMAT_FAILURE, kind=kind,
                               signer=signer, docmdp=_safe(lambda: int(emb.docmdp_level.value)),
                               revision=emb.signed_revision)
        if status is None:
            base = replace(base, coverage=_coverage(_safe(emb.evaluate_signature_coverage)))
            return self._from_error(emb, base, error)
        coverage = _coverage(status.coverage)
        level = getattr(status.modification_level, "name", None)
        modification = "none" if coverage == "entire_file" else (level.lower() if level else "unknown")
        revoked = bool(getattr(status, "revoked", False))
        has_revinfo = self.has_dss or source == "fetched"
        revocation = Revocation(
            status="revoked" if revoked else ("good" if status.trusted and has_revinfo else "unknown"),
            source=("fetched" if source == "fetched" else "embedded") if has_revinfo or revoked else "none")
        timestamp = _timestamp(status, kind)
        signing_time = status.timestamp if kind == "doc_timestamp" else (
            getattr(status, "signer_reported_dt", None) or (timestamp.time if timestamp else None))
        result = replace(base, intact=bool(status.intact), valid=bool(status.valid), trusted=bool(status.trusted),
                         coverage=coverage, modification=modification, signing_time=signing_time,
                         timestamp=timestamp, revocation=revocation, chain=_chain(status))
        docmdp_ok = getattr(status, "docmdp_ok", None)
        if not status.intact:
            return _verdict(result, AdESFailure.HASH_FAILURE)
        if not status.valid:
            return _verdict(result, AdESFailure.SIG_CRYPTO_FAILURE)
        if coverage not in ("entire_file", "entire_revision"):
            self.findings.append(Finding("NONSTANDARD_COVERAGE", FAILED, emb.field_name, str(status.coverage)))
            return _verdict(result, AdESFailure.FORMAT_FAILURE)
        if modification == "other" or docmdp_ok is False:
            code = "DOCMDP_VIOLATION" if docmdp_ok is False and modification != "other" else "MODIFIED_AFTER_SIGNING"
            self.findings.append(Finding(code, FAILED, emb.field_name, f"modification level {level}"))
            return _verdict(result, AdESFailure.FORMAT_FAILURE)
        if modification in ("form_filling", "annotations"):
            code = "ANNOTATIONS_ADDED" if modification == "annotations" else "PERMITTED_CHANGES"
            self.findings.append(Finding(code, "INFO", emb.field_name))
        if revoked:
            return _verdict(result, AdESFailure.REVOKED)
        if not status.trusted:
            problem = status.trust_problem_indic or AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND
            if (problem is AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE and status.validation_path is not None
                    and revocation.source == "none"):
                # The chain reaches an anchor; only revocation data is missing (a B-B/B-T file
                # validated offline): ETSI's "try later", and the clerk is told why.
                problem = AdESIndeterminate.TRY_LATER
                self.findings.append(Finding("NO_REVOCATION_DATA", "INFO", emb.field_name))
            return _verdict(result, problem)
        if source == "fetched":
            self.findings.append(Finding("REVOCATION_FETCHED", "INFO", emb.field_name))
        return replace(result, indication=PASSED, sub_indication=None)

    def _from_error(self, emb: Any, base: SignatureResult, error: Exception | None) -> SignatureResult:
        """A validation that raised: the hash is still checked first, so a changed file is FAILED."""
        reason = _describe(error) if error else "validation failed"
        intact = _hash_matches(emb)
        if intact is False:
            return replace(_verdict(base, AdESFailure.HASH_FAILURE), intact=False, reasons=(reason,))
        changed = _modified_after_signing(emb)
        if changed:
            self.findings.append(Finding("MODIFIED_AFTER_SIGNING", FAILED, emb.field_name, changed))
            return replace(_verdict(base, AdESFailure.FORMAT_FAILURE), intact=bool(intact),
                           modification="other", reasons=(reason, changed))
        sub = getattr(error, "ades_subindication", None)
        # GENERIC means pyHanko could not say why (unknown /SubFilter, broken CMS): a
        # signature nobody can validate is FAILED, never "perhaps valid".
        if isinstance(sub, (AdESFailure, AdESIndeterminate)) and sub is not AdESIndeterminate.GENERIC:
            return replace(_verdict(base, sub), intact=bool(intact), reasons=(reason,))
        self.findings.append(Finding("VALIDATION_ERROR", FAILED, emb.field_name, reason))
        return replace(_verdict(base, AdESFailure.FORMAT_FAILURE), intact=bool(intact),
                       modification="unknown", reasons=(reason,))

    def _malformed(self, name: str, value: Any, exc: Exception) -> SignatureResult:
        problems = []
        try:
            problems = byterange.check(self.data, value.get_object())
        except Exception:  # noqa: BLE001
            pass
        detail = "; ".join(problems) or _describe(exc)
        self.findings.append(Finding("SIGNATURE_MALFORMED", FAILED, name, detail))
        return SignatureResult(field=name, indication=FAILED, sub_indication=_FORMAT_FAILURE,
                               reasons=tuple(problems) or (_describe(exc),))

    # -- hardening ---------------------------------------------------------------------------

    def _check_byterange(self, emb: Any, result: SignatureResult) -> SignatureResult:
        problems = byterange.check(self.data, emb.sig_object, _safe(lambda: bytes(emb.pkcs7_content)))
        if not problems:
            return result
        self.findings.append(Finding("BYTERANGE_INVALID", FAILED, emb.field_name, "; ".join(problems)))
        return _fail(result, AdESFailure.FORMAT_FAILURE, problems)

    def _check_visual(self, emb: Any, result: SignatureResult) -> SignatureResult:
        end = _signed_end(emb)
        if end is None:
            return result
        try:
            changes = visual.changes_after(self.reader, emb.signed_revision)
            comparison = visual.compare(self.data[:end], self.data, changes, self.deadline,
                                        max_pages=self.max_rendered_pages)
        except VerificationTimeout:
            raise
        except Exception as exc:  # noqa: BLE001 - cannot show the pages match: never PASSED
            self.findings.append(Finding("VISUAL_CHECK_UNAVAILABLE", INDETERMINATE, emb.field_name, _describe(exc)))
            return _cap(result, INDETERMINATE, AdESFailure.FORMAT_FAILURE, "pages could not be compared")
        problems = comparison.problems
        if not problems:
            if comparison.incomplete:
                # No silent limits: what was not compared cannot be called unchanged.
                detail = "; ".join(comparison.incomplete)
                self.findings.append(Finding("VISUAL_CHECK_INCOMPLETE", INDETERMINATE, emb.field_name, detail))
                return _cap(result, INDETERMINATE, AdESFailure.FORMAT_FAILURE, detail)
            return result
        for p in problems:
            code = ("PAGE_COUNT_CHANGED" if "page(s)" in p else
                    "CONTENT_COVERED" if "covers" in p else "VISUAL_CHANGE")
            self.findings.append(Finding(code, FAILED, emb.field_name, p))
        return replace(_fail(result, AdESFailure.FORMAT_FAILURE, problems), modification="other")

    def _check_increments(self, results: list[SignatureResult], embedded: list[Any],
                          after: int) -> list[SignatureResult]:
        problems = increments.check(self.data, self.reader, after)
        if not problems:
            return results
        self.findings.append(Finding("UNACCOUNTED_BYTES", FAILED, None, "; ".join(problems)))
        return [replace(_fail(r, AdESFailure.FORMAT_FAILURE, problems), modification="other") for r in results]

    def _check_hidden(self, results: list[SignatureResult], final_sig_objects: set[int]) -> list[SignatureResult]:
        problems, names = hidden.check(self.data, self.reader, final_sig_objects)
        if not problems:
            return results
        self.findings.append(Finding("SIGNATURE_HIDDEN", FAILED, None, "; ".join(problems)))
        # Listed as signatures so that nobody reads the report as "never signed".
        hidden_results = [SignatureResult(field=name, indication=FAILED, sub_indication=_FORMAT_FAILURE,
                                          modification="other", reasons=tuple(problems)) for name in names]
        if not results and not hidden_results:
            hidden_results = [SignatureResult(field=None, indication=FAILED, sub_indication=_FORMAT_FAILURE,
                                              modification="other", reasons=tuple(problems))]
        return hidden_results + results

    # -- validation contexts: one per call, built lazily ----------------------------------------

    def _offline(self) -> Any:
        if self._offline_vc is None:
            from pyhanko.sign.validation.dss import DocumentSecurityStore
            from pyhanko_certvalidator import ValidationContext

            kwargs: dict[str, Any] = {"trust_roots": self.trust_roots, "other_certs": self.other_certs,
                                      "allow_fetching": False, "revocation_mode": "hard-fail", "crls": [], "ocsps": []}
            dss = _safe(lambda: DocumentSecurityStore.read_dss(self.reader))
            self.has_dss = dss is not None
            vc = _safe(lambda: dss.as_validation_context(kwargs)) if dss is not None else None
            self._offline_vc = vc or ValidationContext(**kwargs)
        return self._offline_vc

    def _online(self) -> Any:
        if self._online_vc is None:
            if self.factory is not None:
                self._online_vc = self.factory(trust_roots=self.trust_roots, allow_fetching=True,
                                               revocation_mode="hard-fail")
            else:
                from pyhanko_certvalidator import ValidationContext

                self._online_vc = ValidationContext(trust_roots=self.trust_roots, other_certs=self.other_certs,
                                                    allow_fetching=True, revocation_mode="hard-fail")
        return self._online_vc


# -- helpers -----------------------------------------------------------------------------------

def _verdict(result: SignatureResult, sub: AdESFailure | AdESIndeterminate) -> SignatureResult:
    return replace(result, indication=indication_of(sub), sub_indication=sub.name)


def _fail(result: SignatureResult, sub: AdESFailure, reasons: list[str]) -> SignatureResult:
    return replace(result, indication=FAILED, sub_indication=result.sub_indication if result.indication == FAILED
                   else sub.name, reasons=result.reasons + tuple(reasons))


def _cap(result: SignatureResult, indication: Indication, sub: AdESFailure | AdESIndeterminate,
         reason: str) -> SignatureResult:
    """Make the result at least as bad as ``indication`` (never better)."""
    if worse(result.indication, indication) == result.indication:
        return replace(result, reasons=result.reasons + (reason,))
    return replace(result, indication=indication, sub_indication=sub.name, reasons=result.reasons + (reason,))


def _signed_end(emb: Any) -> int | None:
    try:
        br = [int(x) for x in emb.byte_range]
        return br[2] + br[3]
    except Exception:  # noqa: BLE001
        return None


def _hash_matches(emb: Any) -> bool | None:
    """Does the byte-range digest match the signed messageDigest? None when unknowable."""
    try:
        signed_attrs = emb.signer_info["signed_attrs"]
        expected = None
        for attr in signed_attrs:
            if attr["type"].native == "message_digest":
                expected = attr["values"][0].native
        if expected is None:
            return None
        return emb.compute_digest() == expected
    except Exception:  # noqa: BLE001
        return None


def _modified_after_signing(emb: Any) -> str | None:
    """For a signature whose validation raised: did later revisions change the document?

    The diff is pyHanko's; a crash in it counts as a change we cannot explain.
    """
    from pyhanko.sign.diff_analysis import ModificationLevel, SuspiciousModification

    try:
        if emb.signed_revision >= emb.reader.xrefs.total_revisions - 1:
            return None
        emb.compute_integrity_info(diff_policy=_DIFF_POLICY)
        diff = emb.diff_result
    except VerificationTimeout:
        raise
    except Exception as exc:  # noqa: BLE001
        return f"later revisions could not be analysed: {_describe(exc)}"
    if isinstance(diff, SuspiciousModification):
        return str(diff)[:300]
    level = getattr(diff, "modification_level", None)
    if level is not None and level >= ModificationLevel.OTHER:
        return f"modification level {level.name}"
    return None


def _coverage(level: Any) -> str:
    return _COVERAGE.get(getattr(level, "name", ""), "unknown")


def _signer(cert: Any) -> Signer:
    if cert is None:
        return Signer()
    subject = cert.subject.native
    return Signer(name=_first(subject.get("common_name")), organization=_first(subject.get("organization_name")),
                  serial=format(cert.serial_number, "X"), issuer=_first(cert.issuer.native.get("common_name")),
                  subject_dn=_dn(cert.subject), issuer_dn=_dn(cert.issuer))


# asn1crypto's attribute names → RFC 4514 short names (the report labels them per language)
_DN_KEYS = {"common_name": "CN", "organization_name": "O", "organizational_unit_name": "OU",
            "locality_name": "L", "state_or_province_name": "ST", "country_name": "C", "email_address": "E",
            "title": "T", "serial_number": "SERIALNUMBER", "user_id": "UID", "street_address": "STREET",
            "given_name": "GN", "surname": "SN"}


def _dn(name: Any) -> tuple[tuple[str, str], ...]:
    """A name's attributes in the order the certificate lists them."""
    pairs = []
    for rdn in name.chosen:
        for attribute in rdn:
            key = attribute["type"].native
            pairs.append((_DN_KEYS.get(key, str(key)), str(attribute["value"].native)))
    return tuple(pairs)


def _timestamp(status: Any, kind: str) -> Timestamp | None:
    if kind == "doc_timestamp":
        return Timestamp(time=status.timestamp, tsa=_signer(status.signing_cert).name,
                         valid=bool(status.intact and status.valid and status.trusted))
    tsv = getattr(status, "timestamp_validity", None)
    if tsv is None:
        return None
    return Timestamp(time=tsv.timestamp, tsa=_signer(_safe(lambda: tsv.signing_cert)).name,
                     valid=bool(tsv.intact and tsv.valid and tsv.trusted))


def _chain(status: Any) -> tuple[tuple[tuple[str, str], ...], ...]:
    path = getattr(status, "validation_path", None)
    if path is None:
        return ()
    try:
        # signer first, trust anchor last: the order a reader follows
        return tuple(reversed([_dn(c.subject) for c in path.iter_certs(include_root=True)]))
    except Exception:  # noqa: BLE001
        return ()


def _first(value: Any) -> str | None:
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return str(value) if value is not None else None


def _safe(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except VerificationTimeout:
        raise
    except Exception:  # noqa: BLE001
        return None


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    return f"{type(exc).__name__}: {str(exc)[:300]}"
