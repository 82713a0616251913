"""Revocation by the service's own CA: known in-process, so no file can argue with it.

A file may carry a "good" OCSP answer fetched before its signer was revoked; validated from
that file alone (offline, as ``signing.verify`` does) the signature still looks valid. For
certificates our own CA issued the current state is in our database: the caller passes a
:class:`RevocationLookup` (implemented by ``certs.revocation``; ``signing`` imports neither
``certs`` nor the database) and :func:`apply_own_revocations` makes the report say what the
policy table of ``docs/verification-policy.md`` promises:

- revoked now → ``FAILED/REVOKED``, also when the revocation came after a trusted timestamp
  proved the signing time (we validate at the current time, not with the AdES past-time
  algorithm; the reason line says which case it was);
- not revoked, and the only thing missing was revocation data (``TRY_LATER``, a B-B/B-T
  file validated offline) → ``PASSED``, with the revocation source ``own_ca``.

Foreign certificates stay offline: fetching the OCSP/CRL URLs written in an uploaded file
would let any uploader make the server send requests where they choose (request forgery).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Protocol

from signing.report import (FAILED, INDETERMINATE, PASSED, DistinguishedName, Finding, Report, Revocation,
                            SignatureResult, build_report)

OwnStatus = tuple[datetime | None, str | None]  # (revoked_at, reason); revoked_at None: not revoked


class RevocationLookup(Protocol):
    def own_status(self, issuer: DistinguishedName, serial: int) -> OwnStatus | None:
        """The state our CA holds for this certificate now, or None when our CA did not issue it."""
        ...


def apply_own_revocations(report: Report, lookup: RevocationLookup | None) -> Report:
    """The report with our own CA's current revocation state applied to every signature."""
    if lookup is None or not report.signatures:
        return report
    findings = list(report.findings)
    signatures = [_apply(s, lookup, findings) for s in report.signatures]
    if signatures == list(report.signatures):
        return report
    return build_report(signatures, findings, sha256=report.sha256, size=report.size,
                        validated_at=report.validated_at, document=report.document)


def _apply(result: SignatureResult, lookup: RevocationLookup, findings: list[Finding]) -> SignatureResult:
    signer = result.signer
    if not signer.issuer_dn or not signer.serial or not result.checks_evaluated:
        return result
    state = lookup.own_status(signer.issuer_dn, int(signer.serial, 16))
    if state is None:
        return result
    revoked_at, reason = state
    if revoked_at is not None:
        detail = _revoked_detail(result, revoked_at)
        findings.append(Finding("REVOKED_BY_OWN_CA", FAILED, result.field, detail))
        # a signature FAILED for another reason keeps that sub-indication (the first found)
        sub = result.sub_indication if result.indication == FAILED else "REVOKED"
        return replace(result, indication=FAILED, sub_indication=sub, trusted=False,
                       revocation=Revocation("revoked", "own_ca", revoked_at, reason),
                       reasons=result.reasons + (detail,))
    if result.indication == INDETERMINATE and result.sub_indication == "TRY_LATER" and not result.reasons:
        # the chain reached a trust anchor; only revocation data was missing, and we hold it
        findings[:] = [f for f in findings if not (f.code == "NO_REVOCATION_DATA" and f.field == result.field)]
        return replace(result, indication=PASSED, sub_indication=None, trusted=True,
                       revocation=Revocation("good", "own_ca"))
    if result.revocation.status == "good" or result.indication == PASSED:
        return replace(result, revocation=Revocation("good", "own_ca"))
    return result


def _revoked_detail(result: SignatureResult, revoked_at: datetime) -> str:
    when = revoked_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    proven = result.timestamp is not None and result.timestamp.valid and result.timestamp.time is not None
    if proven and result.timestamp is not None and result.timestamp.time is not None \
            and _aware(result.timestamp.time) < _aware(revoked_at):
        return (f"our CA revoked the certificate at {when}, after the timestamped signing time; "
                "validated at the current time, the signature is FAILED/REVOKED")
    return f"our CA revoked the certificate at {when}"


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)
