"""Keep pyHanko's logs useful: an untrusted certificate is an ordinary verification result
(the report says NO_CERTIFICATE_CHAIN_FOUND), not a reason for a traceback in the log of
every document an auditor checks."""
from __future__ import annotations

import logging
import unicodedata

from signing.report import Report, dn_text

_LOGGERS = ("pyhanko.sign.validation.generic_cms",)


class DropExpectedTracebacks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # imported here, not at the top: only pyHanko's loggers carry this filter, so pyHanko is
        # loaded by the time a record reaches it, and the service starts without it
        from pyhanko_certvalidator.errors import PathBuildingError

        if record.exc_info and isinstance(record.exc_info[1], PathBuildingError):
            record.exc_info = None
            record.exc_text = None
        return True


def quiet_expected_validation_tracebacks() -> None:
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, DropExpectedTracebacks) for f in logger.filters):
            logger.addFilter(DropExpectedTracebacks())


# -- one line per untrusted or self-signed chain ---------------------------------------------

_CHAIN_PROBLEMS = {"NO_CERTIFICATE_CHAIN_FOUND", "CERTIFICATE_CHAIN_GENERAL_FAILURE", "CHAIN_CONSTRAINTS_FAILURE",
                   "NO_SIGNING_CERTIFICATE_FOUND"}
chain_log = logging.getLogger("lienthong.verification.chains")


def escape_control(text: str) -> str:
    """``text`` on one log line: control, format and line/paragraph separator characters
    (a certificate subject may hold a newline that would forge a second log line) as
    ``\\xNN``/``\\uNNNN``, and the backslash doubled so that an escape cannot be faked.
    Vietnamese letters stay as they are."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def log_untrusted_chains(report: Report, file_name: str | None = None) -> int:
    """Log one WARNING line per signature whose chain is self-signed or reaches no trust
    anchor (an auditor greps for them); returns how many lines were written."""
    lines = 0
    for sig in report.signatures:
        if not sig.checks_evaluated:
            continue
        signer = sig.signer
        if not (signer.self_signed or (not sig.trusted and sig.sub_indication in _CHAIN_PROBLEMS)):
            continue
        chain_log.warning("%s chain: file=%s sha256=%s field=%s subject=%s issuer=%s serial=%s",
                          "self-signed" if signer.self_signed else "untrusted",
                          escape_control(file_name or "-"), report.sha256 or "-", escape_control(sig.field or "-"),
                          escape_control(dn_text(signer.subject_dn) or "-"),
                          escape_control(dn_text(signer.issuer_dn) or "-"), signer.serial or "-")
        lines += 1
    return lines
