"""Trust anchors: the development root plus every certificate in ``LIENTHONG_TRUST_DIR``.

A deployment drops the national root CA (PEM or DER, ``.pem``/``.crt``/``.cer``) into that
folder; unreadable files stop start-up with a clear message rather than being skipped.
"""
from __future__ import annotations

from pathlib import Path

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509

from certs.ca import load_dev_pki
from settings import ConfigError, Settings

TRUST_SUFFIXES = (".pem", ".crt", ".cer", ".der")


def load_certificates(path: Path) -> list[asn1_x509.Certificate]:
    """Every certificate in one PEM (possibly a bundle) or DER file."""
    data = path.read_bytes()
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


def trust_roots(settings: Settings) -> list[asn1_x509.Certificate]:
    roots = [load_dev_pki(settings).root_asn1]
    if settings.trust_dir is not None:
        if not settings.trust_dir.is_dir():
            raise ConfigError(f"LIENTHONG_TRUST_DIR={settings.trust_dir} is not a folder")
        for path in sorted(settings.trust_dir.iterdir()):
            if path.suffix.lower() in TRUST_SUFFIXES and path.is_file():
                roots.extend(load_certificates(path))
    unique: dict[bytes, asn1_x509.Certificate] = {}
    for cert in roots:
        unique.setdefault(cert.sha256, cert)
    return list(unique.values())
