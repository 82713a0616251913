"""Quản trị (``/admin/…``), for an agency's administrators: the users of the agency and of
those below it (create, roles, deactivate — which ends their web sessions and tokens) and
the API tokens (create: the secret is shown once, in that answer only; revoke), the
agencies below it (CSV import, all or nothing; merge) and the signing credentials (issue
with the signature image; revoke), through
``exchange.services.admin`` (the accounts service's functions, audited with the
administrator as the actor). A success goes back to the list (303) with the result in
words; a refusal shows the page again with the reason, in the refusal's status."""
from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import flash, render_template, request
from flask import session as web_session
from flask_wtf import FlaskForm  # type: ignore[import-untyped]  # no type hints shipped
from flask_wtf.file import FileField, FileRequired  # type: ignore[import-untyped]
from wtforms import DateField, PasswordField, SelectMultipleField, StringField
from wtforms.validators import DataRequired

from errors import ServiceError, Unprocessable
from exchange.domain.enums import Role
from exchange.http.auth import services
from exchange.http.errors import status_of
from exchange.http.web.forms import REQUIRED, ActionForm, invalid
from exchange.http.web.pages import caller, page, see_other, text
from exchange.http.web.routes import bp
from exchange.services import admin
from translations import Message, _l

ROLE_NAMES: dict[str, Message] = {Role.CLERK: _l("clerk"), Role.SIGNER: _l("signer (leader)"),
                                  Role.AUDITOR: _l("auditor"), Role.ADMIN: _l("administrator")}


class UserForm(FlaskForm):
    username = StringField(validators=[DataRequired(REQUIRED)])
    full_name = StringField(validators=[DataRequired(REQUIRED)])
    position = StringField()
    agency = StringField(validators=[DataRequired(REQUIRED)])
    roles = SelectMultipleField(choices=[], validate_choice=False)  # the service checks them
    password = PasswordField(validators=[DataRequired(REQUIRED)])


class RolesForm(FlaskForm):
    roles = SelectMultipleField(choices=[], validate_choice=False)  # the service checks them


class TokenForm(FlaskForm):
    username = StringField(validators=[DataRequired(REQUIRED)])
    name = StringField()


def _users_page(form: UserForm | None = None, error: Any = None, fields: Any = None, status: int = 200) -> Any:
    form = form or UserForm(formdata=None)
    form.password.data = ""  # never written back into the page
    return render_template("web/admin/users.html", form=form, error=error, field_errors=fields or {},
                           users=admin.users(services(), caller()), codes=admin.agency_codes(services(), caller()),
                           role_names=ROLE_NAMES, action_form=ActionForm()), status


# The new-token form carries a key good for one post: reloading the page that shows a new
# token re-sends the form, which must not create a second one (CSRF tokens are reusable).
FORM_KEY = "token_form_key"


def _tokens_page(form: TokenForm | None = None, error: Any = None, fields: Any = None, status: int = 200,
                 secret: str | None = None) -> Any:
    web_session[FORM_KEY] = form_key = secrets.token_urlsafe(16)
    return render_template("web/admin/tokens.html", form=form or TokenForm(formdata=None), error=error,
                           field_errors=fields or {}, tokens=admin.tokens(services(), caller()),
                           users=admin.users(services(), caller()), secret=secret, form_key=form_key,
                           action_form=ActionForm()), status, {"Cache-Control": "no-store"}


def _sent_again() -> bool:
    """The form was posted before (a reload): its key is not the one the page last gave. A
    post without the page's key (a script) is not judged by it."""
    posted = request.form.get("form_key")
    expected = web_session.pop(FORM_KEY, None)
    return posted is not None and not (isinstance(expected, str) and hmac.compare_digest(posted, expected))


@bp.get("/admin", endpoint="admin")
@page(Role.ADMIN)
def admin_start() -> Any:
    return see_other("web.admin_users")


@bp.route("/admin/users", methods=["GET", "POST"], endpoint="admin_users")
@page(Role.ADMIN)
def users_page() -> Any:
    form = UserForm()
    if not form.is_submitted():
        return _users_page()
    try:
        if not form.validate():
            raise invalid(form)
        admin.create_user(services(), caller(), username=(form.username.data or "").strip(),
                          agency_code=form.agency.data or "", roles=form.roles.data or [],
                          full_name=(form.full_name.data or "").strip(), position=(form.position.data or "").strip(),
                          password=form.password.data or "")
    except ServiceError as exc:
        return _users_page(form, exc.message, exc.fields, status_of(exc))
    flash(text(_l("the user %(username)s is created", username=form.username.data or "")), "done")
    return see_other("web.admin_users")


def _user_action(action: Any, done: Message) -> Any:
    try:
        action()
    except ServiceError as exc:
        return _users_page(error=exc.message, status=status_of(exc))
    flash(text(done), "done")
    return see_other("web.admin_users")


@bp.post("/admin/users/<username>/roles")
@page(Role.ADMIN)
def user_roles(username: str) -> Any:
    form = RolesForm()
    if not form.validate():
        return _users_page(error=_l("invalid input"), status=422)
    return _user_action(lambda: admin.set_roles(services(), caller(), username, form.roles.data or []),
                        _l("the roles of %(username)s are saved", username=username))


@bp.post("/admin/users/<username>/deactivate")
@page(Role.ADMIN)
def user_deactivate(username: str) -> Any:
    return _user_action(lambda: admin.set_active(services(), caller(), username, False),
                        _l("%(username)s is deactivated: their sessions and tokens are ended", username=username))


@bp.post("/admin/users/<username>/activate")
@page(Role.ADMIN)
def user_activate(username: str) -> Any:
    return _user_action(lambda: admin.set_active(services(), caller(), username, True),
                        _l("%(username)s is active again", username=username))


@bp.route("/admin/tokens", methods=["GET", "POST"], endpoint="admin_tokens")
@page(Role.ADMIN)
def tokens_page() -> Any:
    form = TokenForm()
    if not form.is_submitted():
        return _tokens_page()
    if _sent_again():
        return _tokens_page(error=_l("this form was already sent and its token created: see the list"), status=409)
    try:
        if not form.validate():
            raise invalid(form)
        _, secret = admin.create_token(services(), caller(), username=form.username.data or "",
                                       name=(form.name.data or "").strip())
    except ServiceError as exc:
        return _tokens_page(form, exc.message, exc.fields, status_of(exc))
    return _tokens_page(secret=secret)  # shown in this answer only: the server keeps its hash


@bp.post("/admin/tokens/<int:token_id>/revoke")
@page(Role.ADMIN)
def token_revoke(token_id: int) -> Any:
    try:
        admin.revoke_token(services(), caller(), token_id)
    except ServiceError as exc:
        return _tokens_page(error=exc.message, status=status_of(exc))
    flash(text(_l("the token %(id)s is revoked", id=token_id)), "done")
    return see_other("web.admin_tokens")


class ImportForm(FlaskForm):
    file = FileField(validators=[FileRequired(REQUIRED)])


class MergeForm(FlaskForm):
    old = StringField(validators=[DataRequired(REQUIRED)])
    into = StringField(validators=[DataRequired(REQUIRED)])
    effective = DateField(validators=[DataRequired(REQUIRED)])


def _agencies_page(error: Any = None, fields: Any = None, status: int = 200, import_errors: Any = None,
                   merge_form: MergeForm | None = None) -> Any:
    return render_template("web/admin/agencies.html", agencies=admin.agencies(services(), caller()), error=error,
                           field_errors=fields or {}, import_errors=import_errors or [],
                           import_form=ImportForm(formdata=None), merge_form=merge_form or MergeForm(formdata=None),
                           own=caller().agency_code), status


@bp.get("/admin/agencies", endpoint="admin_agencies")
@page(Role.ADMIN)
def agencies_page() -> Any:
    return _agencies_page()


@bp.post("/admin/agencies/import")
@page(Role.ADMIN)
def agencies_import() -> Any:
    form = ImportForm()
    try:
        if not form.validate():
            raise invalid(form)
        result = admin.import_agencies(services(), caller(), form.file.data.stream.read())
    except ServiceError as exc:
        return _agencies_page(exc.message, exc.fields, status_of(exc))
    if not result.ok:
        return _agencies_page(_l("the file was not imported: nothing is changed"), status=422,
                              import_errors=result.errors)
    flash(text(_l("agencies imported: %(created)s new, %(updated)s updated", created=result.created,
                  updated=result.updated)), "done")
    return see_other("web.admin_agencies")


@bp.post("/admin/agencies/merge")
@page(Role.ADMIN)
def agencies_merge() -> Any:
    form = MergeForm()
    try:
        if not form.validate() or form.effective.data is None:
            raise invalid(form)
        admin.merge_agencies(services(), caller(), form.old.data or "", form.into.data or "", form.effective.data)
    except ServiceError as exc:
        return _agencies_page(exc.message, exc.fields, status_of(exc), merge_form=form)
    flash(text(_l("%(old)s is merged into %(into)s", old=form.old.data or "", into=form.into.data or "")), "done")
    return see_other("web.admin_agencies")


class CredentialForm(FlaskForm):
    """``owner``: a person (their signature) or the agency (its seal); ``image``: the
    signature or seal PNG (optional: a placeholder is drawn)."""
    owner = StringField(validators=[DataRequired(REQUIRED)])  # "user:<username>" or "agency:<code>"
    image = FileField()


class RevokeForm(FlaskForm):
    reason = StringField(default="unspecified")


def _credentials_page(error: Any = None, fields: Any = None, status: int = 200) -> Any:
    return render_template("web/admin/credentials.html", credentials=admin.credentials(services(), caller()),
                           users=admin.users(services(), caller()), codes=admin.agency_codes(services(), caller()),
                           reasons=admin.REVOCATION_REASONS, form=CredentialForm(formdata=None),
                           revoke_form=RevokeForm(formdata=None), error=error, field_errors=fields or {}), status


@bp.route("/admin/credentials", methods=["GET", "POST"], endpoint="admin_credentials")
@page(Role.ADMIN)
def credentials_page() -> Any:
    form = CredentialForm()
    if not form.is_submitted():
        return _credentials_page()
    kind, _, ref = (form.owner.data or "").partition(":")
    try:
        if not form.validate() or kind not in ("user", "agency") or not ref:
            raise Unprocessable(_l("invalid input"), fields={"owner": REQUIRED})
        upload = form.image.data
        image = upload.stream.read() if upload and getattr(upload, "filename", "") else None
        admin.issue_credential(services(), caller(), username=ref if kind == "user" else None,
                               agency_code=ref if kind == "agency" else None, image_png=image)
    except ServiceError as exc:
        return _credentials_page(exc.message, exc.fields, status_of(exc))
    flash(text(_l("a signing credential is issued for %(owner)s", owner=ref)), "done")
    return see_other("web.admin_credentials")


@bp.post("/admin/credentials/<int:credential_id>/revoke")
@page(Role.ADMIN)
def credential_revoke(credential_id: int) -> Any:
    form = RevokeForm()
    try:
        admin.revoke_credential(services(), caller(), credential_id, form.reason.data or "unspecified")
    except ServiceError as exc:
        return _credentials_page(exc.message, exc.fields, status_of(exc))
    flash(text(_l("the credential %(id)s is revoked", id=credential_id)), "done")
    return see_other("web.admin_credentials")
