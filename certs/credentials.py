"""What a signing function needs from a credential, whatever store holds its key.

``certs`` builds these (from a PKCS#12 file or a PKCS#11 token, key kept loaded per
worker); ``signing`` consumes them. The private key stays inside ``signer``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from asn1crypto import x509

if TYPE_CHECKING:  # pyHanko is loaded by whoever signs, not by every command
    from pyhanko.sign.signers import Signer

CredentialKind = Literal["person", "seal"]


@dataclass(frozen=True)
class SigningCredential:
    kind: CredentialKind
    signer: Signer = field(repr=False)
    certificate: x509.Certificate = field(repr=False)
    chain: tuple[x509.Certificate, ...] = field(default=(), repr=False)  # issuing CA(s), not the root
    display_name: str = ""          # person: full name; seal: agency name
    position: str = ""              # person only: chức vụ
    organization: str = ""          # agency name
    agency_code: str = ""           # QCVN 102 code of the owning agency
    image_png: bytes | None = field(default=None, repr=False)  # signature (blue) or seal (red) image
    credential_id: int | None = None
