"""Trust anchors: the development root plus every certificate in ``LIENTHONG_TRUST_DIR``.

A deployment drops the national root CA (PEM or DER, ``.pem``/``.crt``/``.cer``) into that
folder. The service reads it once, at start-up (:func:`load_trust_store`): an unreadable
file stops start-up with a clear message rather than being skipped, and no request ever
reads the folder again.
"""
from __future__ import annotations

import threading
from pathlib import Path

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509

from certs.ca import load_dev_pki
from settings import ConfigError, Settings

TRUST_SUFFIXES = (".pem", ".crt", ".cer", ".der")


def load_certificates(path: Path) -> list[asn1_x509.Certificate]:
    """Every certificate in one PEM (possibly a bundle) or DER file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the trust anchor {path}: {exc.strerror}") from None
    try:
        if pem.detect(data):
            found = [asn1_x509.Certificate.load(der) for kind, _, der in pem.unarmor(data, multiple=True)
                     if kind == "CERTIFICATE"]
        else:
            found = [asn1_x509.Certificate.load(data)]
        for cert in found:
            cert.native  # noqa: B018 - parse fully now, not at validation time
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path} is not a certificate file: {exc}") from None
    return found


def load_anchors(trust_dir: Path | None) -> list[asn1_x509.Certificate]:
    """The certificates of the trust folder (none without one); ConfigError on a bad file."""
    if trust_dir is None:
        return []
    if not trust_dir.is_dir():
        raise ConfigError(f"LIENTHONG_TRUST_DIR={trust_dir} is not a folder")
    anchors: list[asn1_x509.Certificate] = []
    for path in sorted(trust_dir.iterdir()):
        if path.suffix.lower() in TRUST_SUFFIXES and path.is_file():
            anchors.extend(load_certificates(path))
    return anchors


def _unique(certs: list[asn1_x509.Certificate]) -> list[asn1_x509.Certificate]:
    unique: dict[bytes, asn1_x509.Certificate] = {}
    for cert in certs:
        unique.setdefault(cert.sha256, cert)
    return list(unique.values())


class TrustStore:
    """The anchors read at start-up, with the development root (made on first use, since a
    fresh data folder has no PKI until ``pki init`` or the first signature)."""

    def __init__(self, settings: Settings, anchors: list[asn1_x509.Certificate]) -> None:
        self._settings = settings
        self._anchors = anchors
        self._roots: list[asn1_x509.Certificate] | None = None
        self._lock = threading.Lock()

    def roots(self) -> list[asn1_x509.Certificate]:
        if self._roots is None:
            with self._lock:
                if self._roots is None:
                    roots = _unique([load_dev_pki(self._settings).root_asn1, *self._anchors])
                    for root in roots:
                        # parsed whole now, once: asn1crypto parses a value's parts on first
                        # use, and these objects are shared by every thread's validation
                        # (a KeyError was seen from two contexts built at once)
                        _ = root.native
                    self._roots = roots
        return list(self._roots)


def load_trust_store(settings: Settings) -> TrustStore:
    return TrustStore(settings, load_anchors(settings.trust_dir))


def trust_roots(settings: Settings) -> list[asn1_x509.Certificate]:
    """Read now, for callers outside the service (tests, scripts)."""
    return load_trust_store(settings).roots()
