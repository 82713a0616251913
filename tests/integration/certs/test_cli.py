"""`flask pki ...` through Flask's CLI runner, on the test database."""
from __future__ import annotations

import logging

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from sqlmodel import select

from certs.ca import load_dev_pki
from certs.ports import DIRECTORY_KEY as EXTENSION_KEY, AgencyInfo, PersonInfo
from certs.keystore import storage_key
from certs.models import Credential
from tests.db import engine_from_app, session_scope
from tests.integration.certs.helpers import AGENCY, AGENCY_CODE, NAME, foreign_p12


def _rows(app) -> list[Credential]:  # type: ignore[no-untyped-def]
    with session_scope(engine_from_app(app)) as session:
        return list(session.exec(select(Credential).order_by(Credential.id)))


def test_pki_init_is_idempotent(app, settings):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["pki", "init"])
    assert first.exit_code == 0, first.output
    assert "đã tạo" in first.output
    root_pem = (settings.data_dir / "pki" / "root.pem").read_bytes()
    key_files = {p.name: p.read_bytes() for p in (settings.data_dir / "pki").glob("*.p12")}
    second = runner.invoke(args=["pki", "init"])
    assert second.exit_code == 0, second.output
    assert "đã có sẵn" in second.output
    assert first.output.split()[-1] == second.output.split()[-1]  # the same root fingerprint
    assert (settings.data_dir / "pki" / "root.pem").read_bytes() == root_pem
    assert {p.name: p.read_bytes() for p in (settings.data_dir / "pki").glob("*.p12")} == key_files
    assert (settings.data_dir / "pki" / ".storage_key").stat().st_mode & 0o077 == 0


def test_issue_with_explicit_identity_prints_serial_and_no_key(app, settings, caplog):
    caplog.set_level(logging.DEBUG)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["pki", "issue", "--user", "lanh", "--full-name", NAME, "--position",
                                 "Phó Chủ tịch", "--agency-code", AGENCY_CODE, "--agency-name", AGENCY])
    assert result.exit_code == 0, result.output
    (row,) = _rows(app)
    assert row.serial in result.output and row.owner_ref == "lanh" and row.key_store == "pkcs12"
    cert = x509.load_der_x509_certificate(row.certificate)
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == NAME
    key_file = settings.data_dir / row.key_ref
    assert key_file.stat().st_mode & 0o077 == 0
    assert b"PRIVATE KEY" not in key_file.read_bytes()
    secret = storage_key(settings).decode()
    for text in (result.output, caplog.text):
        assert "PRIVATE KEY" not in text and secret not in text


def test_issue_without_directory_or_options_is_a_usage_error(app):
    app.extensions.pop(EXTENSION_KEY, None)  # as before exchange registers its directory
    result = app.test_cli_runner().invoke(args=["pki", "issue", "--user", "lanh"])
    assert result.exit_code == 2
    assert "--full-name" in result.output
    assert _rows(app) == []


class _Directory:
    def person(self, username: str) -> PersonInfo:
        if username != "lanh":
            raise LookupError(username)
        return PersonInfo(NAME, "Phó Chủ tịch", AGENCY_CODE, AGENCY)

    def agency(self, code: str) -> AgencyInfo:
        if code != AGENCY_CODE:
            raise LookupError(code)
        return AgencyInfo(code, AGENCY)


def test_issue_looks_people_and_agencies_up_in_the_registered_directory(app, tmp_path):
    app.extensions[EXTENSION_KEY] = _Directory()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["pki", "issue", "--user", "lanh"]).exit_code == 0
    seal_png = tmp_path / "seal.png"
    from certs.images import seal_placeholder

    seal_png.write_bytes(seal_placeholder("Con dấu"))
    result = runner.invoke(args=["pki", "issue", "--agency", AGENCY_CODE, "--image", str(seal_png)])
    assert result.exit_code == 0, result.output
    unknown = runner.invoke(args=["pki", "issue", "--user", "nobody"])
    assert unknown.exit_code == 1 and "không có người dùng 'nobody'" in unknown.output
    person, seal = _rows(app)
    assert (person.owner_kind, seal.owner_kind) == ("user", "agency")
    assert seal.image_png == seal_png.read_bytes()
    seal_cert = x509.load_der_x509_certificate(seal.certificate)
    assert seal_cert.subject.get_attributes_for_oid(x509.ObjectIdentifier("2.5.4.97"))[0].value == AGENCY_CODE


def test_issue_refuses_a_non_png_image(app, tmp_path):
    bad = tmp_path / "x.png"
    bad.write_bytes(b"GIF89a not a png")
    result = app.test_cli_runner().invoke(args=["pki", "issue", "--agency", AGENCY_CODE, "--agency-name", AGENCY,
                                                "--image", str(bad)])
    assert result.exit_code == 1 and "PNG" in result.output
    assert _rows(app) == []


def test_revoke_by_serial(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["pki", "issue", "--agency", AGENCY_CODE, "--agency-name", AGENCY])
    (row,) = _rows(app)
    result = runner.invoke(args=["pki", "revoke", row.serial.upper(), "--reason", "keyCompromise"])
    assert result.exit_code == 0, result.output
    (row,) = _rows(app)
    assert row.revoked_at is not None and row.revocation_reason == "keyCompromise"
    assert runner.invoke(args=["pki", "revoke", "abcdef"]).exit_code == 1
    assert runner.invoke(args=["pki", "revoke", row.serial, "--reason", "whim"]).exit_code == 2


def test_import_p12_reencrypts_with_our_storage_key(app, settings, tmp_path, monkeypatch):
    foreign = foreign_p12(tmp_path / "real.p12", b"mat-khau")
    p12, cert, ca = foreign.path, foreign.cert, foreign.ca
    runner = app.test_cli_runner()
    monkeypatch.setenv("LIENTHONG_P12_PASSWORD", "wrong")
    assert runner.invoke(args=["pki", "import-p12", str(p12), "--user", "lanh"]).exit_code == 1
    monkeypatch.setenv("LIENTHONG_P12_PASSWORD", "mat-khau")
    result = runner.invoke(args=["pki", "import-p12", str(p12), "--user", "lanh"])
    assert result.exit_code == 0, result.output
    (row,) = _rows(app)
    assert row.certificate == cert.public_bytes(serialization.Encoding.DER)
    stored = (settings.data_dir / row.key_ref).read_bytes()
    loaded_key, loaded_cert, chain = pkcs12.load_key_and_certificates(stored, storage_key(settings))
    assert loaded_cert == cert and chain == [ca]
    assert "mat-khau" not in result.output

    from certs.issuance import load_signing_credential

    with session_scope(engine_from_app(app)) as session:
        credential = load_signing_credential(session, settings, row.id)
    assert credential.chain == ()  # the contract: issuing CAs only, and "Other CA" is a root
    assert credential.certificate.sha256 == cert.fingerprint(hashes.SHA256())
    assert load_dev_pki(settings).issuing != ca
