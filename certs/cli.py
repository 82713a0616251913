"""``flask --app app pki ...``: the development PKI and credentials. Prints serials, never keys."""
from __future__ import annotations

import os
from pathlib import Path

import click
from cryptography.hazmat.primitives import hashes
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import Engine

from certs import images, keystore, operations
from certs.ca import init_dev_pki
from certs.issuance import CredentialNotFound
from certs.ports import CREDENTIAL_AUDIT_KEY, DIRECTORY_KEY, AgencyInfo, CredentialAudit, PersonInfo
from certs.responders import REASONS
from settings import Settings
from translations import _l, translate


def _settings() -> Settings:
    return current_app.extensions["lienthong.settings"]


def _engine() -> Engine:
    return current_app.extensions["lienthong.engine"]


def _audit() -> CredentialAudit | None:
    return current_app.extensions.get(CREDENTIAL_AUDIT_KEY)


def _text(message: object) -> str:
    """``message`` in the operator's language (``LIENTHONG_LANGUAGE``)."""
    return translate(message, _settings().language)


def _refused(exc: Exception) -> click.ClickException:
    # the libraries' refusals carry one message, translatable or not
    return click.ClickException(_text(exc.args[0] if len(exc.args) == 1 else exc))


def _read_image(path: str | None) -> bytes | None:
    if path is None:
        return None
    try:
        return images.check_png(Path(path).read_bytes())
    except OSError as exc:
        message = _l("cannot read %(path)s: %(error)s", path=path, error=exc.strerror)
        raise click.ClickException(_text(message)) from None
    except images.ImageError as exc:
        raise _refused(exc) from None


@click.group("pki", help="Development PKI and signing credentials (Hạ tầng khóa công khai).")
def pki_cli() -> None:
    pass


@pki_cli.command("init", help="Create the development root CA, issuing CA, OCSP and TSA certificates (idempotent).")
@with_appcontext
def init_command() -> None:
    pki, created = init_dev_pki(_settings())
    fingerprint = pki.root.fingerprint(hashes.SHA256()).hex()
    done = (_l("development PKI created: root CA SHA-256 %(fingerprint)s", fingerprint=fingerprint) if created
            else _l("development PKI already present: root CA SHA-256 %(fingerprint)s", fingerprint=fingerprint))
    click.echo(_text(done))


def _person(username: str, full_name: str | None, position: str | None, agency_code: str | None,
            agency_name: str | None) -> PersonInfo:
    if full_name and agency_code and agency_name:
        return PersonInfo(full_name, position or "", agency_code, agency_name)
    directory = current_app.extensions.get(DIRECTORY_KEY)
    if directory is None:
        raise click.UsageError(_text(_l("no user directory is registered: give --full-name, --position, "
                                        "--agency-code and --agency-name")))
    try:
        return directory.person(username)
    except LookupError:
        raise click.ClickException(_text(_l("unknown user %(username)r", username=username))) from None


def _agency(code: str, agency_name: str | None) -> AgencyInfo:
    if agency_name:
        return AgencyInfo(code, agency_name)
    directory = current_app.extensions.get(DIRECTORY_KEY)
    if directory is None:
        raise click.UsageError(_text(_l("no agency directory is registered: give --agency-name")))
    try:
        return directory.agency(code)
    except LookupError:
        raise click.ClickException(_text(_l("unknown agency %(code)r", code=code))) from None


@pki_cli.command("issue", help="Issue a personal (--user) or agency seal (--agency) signing credential.")
@click.option("--user", "username", help="Username of the official.")
@click.option("--agency", "agency", help="Agency code (QCVN 102) for a seal credential.")
@click.option("--image", "image", type=click.Path(dir_okay=False), help="Signature or seal PNG (transparent).")
@click.option("--full-name", help="Full name (when no directory is registered).")
@click.option("--position", help="Position / chức vụ (when no directory is registered).")
@click.option("--agency-code", help="The user's agency code (when no directory is registered).")
@click.option("--agency-name", help="Agency name (when no directory is registered).")
@with_appcontext
def issue_command(username: str | None, agency: str | None, image: str | None, full_name: str | None,
                  position: str | None, agency_code: str | None, agency_name: str | None) -> None:
    if bool(username) == bool(agency):
        raise click.UsageError(_text(_l("give exactly one of --user or --agency")))
    image_png = _read_image(image)
    try:
        if username:
            person = _person(username, full_name, position, agency_code, agency_name)
            row = operations.issue_for_person(_engine(), _settings(), username, person, image_png=image_png,
                                              audit=_audit())
        else:
            info = _agency(agency or "", agency_name)
            row = operations.issue_for_agency(_engine(), _settings(), info, image_png=image_png, audit=_audit())
    except (ValueError, keystore.KeyStoreError) as exc:
        raise _refused(exc) from None
    click.echo(_text(_l("credential %(id)s issued: serial %(serial)s, subject %(subject)s, key in %(store)s",
                        id=row.id, serial=row.serial, subject=row.subject, store=row.key_store)))


@pki_cli.command("revoke", help="Revoke a credential by certificate serial (hex) and regenerate the CRL.")
@click.argument("serial")
@click.option("--reason", default="unspecified", show_default=True, type=click.Choice(sorted(REASONS)))
@with_appcontext
def revoke_command(serial: str, reason: str) -> None:
    try:
        row = operations.revoke_serial(_engine(), _settings(), serial, reason, audit=_audit())
    except (CredentialNotFound, ValueError) as exc:
        raise _refused(exc) from None
    click.echo(_text(_l("credential %(id)s revoked: serial %(serial)s, reason %(reason)s", id=row.id,
                        serial=row.serial, reason=row.revocation_reason)))


@pki_cli.command("import-p12", help="Import a real CA's credential (PKCS#12). "
                                    "Password from LIENTHONG_P12_PASSWORD or a prompt.")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option("--user", "username", help="Owner: username of the official.")
@click.option("--agency", "agency", help="Owner: agency code (seal).")
@click.option("--image", "image", type=click.Path(dir_okay=False), help="Signature or seal PNG.")
@with_appcontext
def import_command(file: str, username: str | None, agency: str | None, image: str | None) -> None:
    if bool(username) == bool(agency):
        raise click.UsageError(_text(_l("give exactly one of --user or --agency")))
    password = os.environ.get("LIENTHONG_P12_PASSWORD")
    if password is None:
        password = click.prompt(_text(_l("PKCS#12 password")), hide_input=True, default="", show_default=False)
    try:
        row = operations.import_credential(_engine(), _settings(), data=Path(file).read_bytes(),
                                           password=password.encode("utf-8") if password else None,
                                           owner_kind="user" if username else "agency",
                                           owner_ref=username or agency or "", image_png=_read_image(image),
                                           audit=_audit())
    except (ValueError, keystore.KeyStoreError) as exc:
        raise _refused(exc) from None
    click.echo(_text(_l("credential %(id)s imported: serial %(serial)s, subject %(subject)s", id=row.id,
                        serial=row.serial, subject=row.subject)))
