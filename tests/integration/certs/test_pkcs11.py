"""Credentials whose keys live in a real SoftHSM token."""
from __future__ import annotations

import io
import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature

from certs.issuance import issue_agency_seal, load_signing_credential
from certs.keystore import pkcs11_session
from certs.fetchers import local_timestamper, validation_context
from storage.db import make_engine
from tests.db import session_scope
from tests.integration.certs.helpers import AGENCY, AGENCY_CODE, blank_pdf, issue_person, sign_pdf


@pytest.fixture
def token_settings(settings, softhsm_token):
    return settings.with_changes(pkcs11_lib=softhsm_token.lib, pkcs11_token_label=softhsm_token.label,
                                 pkcs11_pin=softhsm_token.pin)


def test_key_generated_in_token_signs_a_pdf_that_validates(token_settings, database_url, caplog, softhsm_token):
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    caplog.set_level(logging.DEBUG)
    engine = make_engine(database_url)
    row = issue_person(engine, token_settings)
    assert row.key_store == "pkcs11"
    assert not (token_settings.data_dir / "pki" / "credentials").exists()  # no key file at all

    session = pkcs11_session(token_settings)
    (key,) = list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.LABEL: row.key_ref}))
    assert key[Attribute.EXTRACTABLE] is False and key[Attribute.SENSITIVE] is True
    with pytest.raises(pkcs11.PKCS11Error):
        key[Attribute.PRIVATE_EXPONENT]
    (cert_obj,) = list(session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: row.key_ref}))
    assert cert_obj[Attribute.VALUE] == row.certificate

    with session_scope(engine) as db:
        credential = load_signing_credential(db, token_settings, row.id)
        assert load_signing_credential(db, token_settings, row.id) is credential  # kept per worker
    signed = sign_pdf(blank_pdf(), credential.signer, timestamper=local_timestamper(token_settings),
                      validation_context=validation_context(token_settings, for_signing=True))
    sig = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    status = validate_pdf_signature(sig, signer_validation_context=validation_context(token_settings))
    assert status.bottom_line, status.summary()
    assert status.signing_cert.dump() == row.certificate

    assert softhsm_token.pin not in caplog.text
    assert "PRIVATE KEY" not in caplog.text
    engine.dispose()


def test_token_signer_is_safe_from_several_threads(token_settings, database_url):
    engine = make_engine(database_url)
    with session_scope(engine, write=True) as db:
        row = issue_agency_seal(db, token_settings, agency_code=AGENCY_CODE, agency_name=AGENCY)
    with session_scope(engine) as db:
        credential = load_signing_credential(db, token_settings, row.id)
    assert credential.kind == "seal" and credential.organization == AGENCY
    pdf = blank_pdf()
    with ThreadPoolExecutor(4) as pool:
        outputs = list(pool.map(lambda _: sign_pdf(pdf, credential.signer), range(8)))
    for out in outputs:
        sig = PdfFileReader(io.BytesIO(out)).embedded_signatures[0]
        status = validate_pdf_signature(sig, signer_validation_context=validation_context(
            token_settings, allow_fetching=False, revocation_mode="soft-fail"))
        assert status.intact and status.valid
    engine.dispose()


def test_wrong_pin_is_a_clear_error_without_the_pin(settings, softhsm_token):
    # In a fresh process: PKCS#11 login state is per process, and ours is logged in already.
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import sys\n"
        "from settings import Settings\n"
        "from certs.keystore import KeyStoreError, pkcs11_session\n"
        f"s = Settings(pkcs11_lib={softhsm_token.lib!r}, pkcs11_token_label={softhsm_token.label!r}, "
        "pkcs11_pin='000000-wrong')\n"
        "try:\n    pkcs11_session(s)\nexcept KeyStoreError as exc:\n    print('refused:', exc)\n"
    )
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=root,
                          env={**os.environ, "PYTHONPATH": str(root)})
    assert done.stdout.startswith("refused: cannot open PKCS#11 token"), done.stdout + done.stderr
    assert "000000-wrong" not in done.stdout + done.stderr


def test_a_token_made_while_running_is_found_and_loaded_signers_are_renewed(token_settings, database_url,
                                                                            softhsm_token):
    import secrets
    import subprocess

    engine = make_engine(database_url)
    row = issue_person(engine, token_settings)
    with session_scope(engine) as db:
        before = load_signing_credential(db, token_settings, row.id)
    label = f"lt-late-{secrets.token_hex(3)}"
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", "5678",
                    "--pin", softhsm_token.pin], check=True, capture_output=True, timeout=60)
    late = token_settings.with_changes(pkcs11_token_label=label)
    pkcs11_session(late)  # re-initialises the library to see the new token
    with session_scope(engine) as db:
        after = load_signing_credential(db, token_settings, row.id)
    assert after is not before
    signed = sign_pdf(blank_pdf(), after.signer)
    status = validate_pdf_signature(PdfFileReader(io.BytesIO(signed)).embedded_signatures[0],
                                    signer_validation_context=validation_context(token_settings))
    assert status.bottom_line, status.summary()
    engine.dispose()
