"""certs: the PKI — development CA, credential stores (PKCS#12, PKCS#11), trust store, CRL / OCSP / RFC 3161 responders.

What other packages call (see the modules for details):
``load_dev_pki``, ``issue_person_credential``, ``issue_agency_seal``, ``import_pkcs12``, ``revoke``,
``load_signing_credential``, ``local_timestamper``, ``validation_context``, ``trust_roots``.
"""
from __future__ import annotations

from flask import Flask

from certs.ca import DevPKI, init_dev_pki, load_dev_pki
from certs.credentials import SigningCredential
from certs.issuance import (CredentialNotFound, CredentialRevoked, import_pkcs12, issue_agency_seal,
                            issue_person_credential, load_signing_credential, revoke)
from certs.local import local_timestamper, validation_context
from certs.trust import trust_roots

__all__ = [
    "DevPKI", "init_dev_pki", "load_dev_pki", "SigningCredential", "CredentialNotFound", "CredentialRevoked",
    "import_pkcs12", "issue_agency_seal", "issue_person_credential", "load_signing_credential", "revoke",
    "local_timestamper", "validation_context", "trust_roots",
]


def init_app(app: Flask) -> None:
    """Register this package's blueprints and `flask` commands."""
    from certs.api import bp
    from certs.cli import pki_cli

    app.register_blueprint(bp)
    app.cli.add_command(pki_cli)
