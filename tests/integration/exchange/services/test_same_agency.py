"""One same-agency rule (``signing.rules.same_agency``) for both places that ask "is this
certificate of this agency?": the seal rule while signing (the person signature under a seal
must be of the seal's agency) and the remote-signing certificate check. Each case uses one
certificate on both paths, over HTTP, and both must give the same answer — in particular where
the two old copies disagreed (a code that says another agency, an O that says this one; no
code at all)."""
from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from certs.ca import load_dev_pki
from certs.issuance import import_pkcs12
from errors import ErrorCode
from signing.rules import ORG_ID
from tests.db import session_scope
from tests.exchange_fixtures import OTHER_PROVINCE, PROVINCE
from tests.signing_world import (HeldKey, SigningWorld, issue_held_key, pki_template,  # noqa: F401 (fixtures)
                                 register, signing_world, upload)

SIGNER_NAME = "Trần Văn Ánh"  # the world's province signer
SIGNER_USERNAME = "lanhdao.tinh"
THIS_AGENCY = "UBND tỉnh Thử Nghiệm"
OTHER_AGENCY = "UBND tỉnh Bên Cạnh"

# (organizationIdentifier, O) of the signer's certificate → is it the province's?
CASES = [
    pytest.param(OTHER_PROVINCE, THIS_AGENCY, False, id="another-agency's-code-this-agency's-O"),
    pytest.param("", THIS_AGENCY, True, id="no-code-this-agency's-O"),
    pytest.param(PROVINCE, OTHER_AGENCY, True, id="this-agency's-code-another-O"),  # the code decides
    pytest.param("", OTHER_AGENCY, False, id="no-code-another-O"),
]


def _import_as_signers_credential(engine: Any, settings: Any, held: HeldKey) -> int:
    """The certificate and its key as a server-held credential of the signer (``pki import-p12``)."""
    password = b"mat-khau-thu"
    data = pkcs12.serialize_key_and_certificates(b"held", held.key, held.cert, [load_dev_pki(settings).issuing],
                                                 serialization.BestAvailableEncryption(password))
    with session_scope(engine, write=True) as session:
        row = import_pkcs12(session, settings, data=data, password=password, owner_kind="user",
                            owner_ref=SIGNER_USERNAME)
        return row.id  # type: ignore[return-value]


def _seal_rule_accepts(client: Any, sw: SigningWorld, credential_id: int) -> bool:
    doc_id = upload(client, sw, "Công văn cần đóng dấu")
    person = client.post(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers("signer"),
                         json={"profile": "person", "level": "B-B", "credential_id": credential_id})
    assert person.status_code == 201, person.get_json()
    register(client, sw, doc_id)
    seal = client.post(f"/api/v1/documents/{doc_id}/signatures", headers=sw.headers("clerk"),
                       json={"profile": "seal", "level": "B-B"})
    if seal.status_code == 409:
        assert seal.get_json()["error"]["code"] == ErrorCode.SEAL_REFUSED
        return False
    assert seal.status_code == 201, seal.get_json()
    return True


def _remote_check_accepts(client: Any, sw: SigningWorld, held: HeldKey) -> bool:
    doc_id = upload(client, sw, "Công văn ký từ xa")
    prepared = client.post(f"/api/v1/documents/{doc_id}/signatures/prepare", headers=sw.headers("signer"),
                           json={"certificate": held.pem, "profile": "person", "level": "B-B"})
    if prepared.status_code == 422:
        assert prepared.get_json()["error"]["code"] == ErrorCode.CERTIFICATE_NOT_YOURS
        return False
    assert prepared.status_code == 201, prepared.get_json()
    return True


@pytest.mark.parametrize("org_id, organization, belongs", CASES)
def test_the_seal_rule_and_the_remote_check_agree(client, engine, settings, signing_world,  # noqa: F811
                                                  org_id, organization, belongs):
    held = issue_held_key(settings, full_name=SIGNER_NAME, agency_code=org_id, agency_name=organization)
    has_code = any(a.oid.dotted_string == ORG_ID for a in held.cert.subject)
    assert has_code == bool(org_id)  # the certificate is the case it claims to be
    credential_id = _import_as_signers_credential(engine, settings, held)
    assert _seal_rule_accepts(client, signing_world, credential_id) is belongs
    assert _remote_check_accepts(client, signing_world, held) is belongs
