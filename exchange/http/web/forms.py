"""The pages' forms (Flask-WTF: each carries its CSRF token). Field names are a contract:
other programs and the acceptance checks fill them (issue 9). Labels are written by the
templates, in the reader's language; a validator's message is a catalogue :class:`Message`."""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm  # type: ignore[import-untyped]  # no type hints shipped
from flask_wtf.file import FileField, FileRequired, MultipleFileField  # type: ignore[import-untyped]
from wtforms import (BooleanField, DateField, HiddenField, PasswordField, SelectMultipleField, StringField,
                     TextAreaField)
from wtforms.validators import AnyOf, DataRequired, Optional

from errors import Unprocessable
from exchange.domain.enums import DeliveryStatus, DocumentState, Urgency, values
from translations import LANGUAGES, _l

# a Message, not a str: the template renders it in the reader's language (pages.text)
REQUIRED: Any = _l("this field is required")


class LoginForm(FlaskForm):
    username = StringField(validators=[DataRequired(REQUIRED)])
    password = PasswordField(validators=[DataRequired(REQUIRED)])
    next = HiddenField()


class LanguageForm(FlaskForm):
    lang = HiddenField(validators=[AnyOf(LANGUAGES)])
    next = HiddenField()


class ActionForm(FlaskForm):
    """A button that changes something (logout, …): nothing but its CSRF token."""


class UploadForm(FlaskForm):
    """``/outgoing/new``: the API's metadata fields under the same names, the PDF and its
    attachments. The metadata's rules are the service's (``documents.parse_metadata``), not
    repeated here: its refusals come back onto the fields they name."""

    number = StringField()
    notation = StringField()
    doc_type = StringField()
    subject = TextAreaField()
    urgency = StringField(default=Urgency.NORMAL.value)  # a <select> the template writes
    issued_on = StringField()
    place = StringField()
    signer_name = StringField()
    signer_position = StringField()
    due_on = StringField()
    file = FileField(validators=[FileRequired(REQUIRED)])
    attachments = MultipleFileField()

    METADATA = ("number", "notation", "doc_type", "subject", "urgency", "issued_on", "place", "signer_name",
                "signer_position", "due_on")

    def metadata(self) -> dict[str, Any]:
        """The metadata as the API's JSON part would hold it (an empty date: none)."""
        data = {name: (getattr(self, name).data or "").strip() for name in self.METADATA}
        for name in ("issued_on", "due_on"):
            data[name] = data[name] or None
        return data


class SearchForm(FlaskForm):
    """``/outgoing``'s search (GET: no CSRF token, nothing changes)."""

    class Meta:
        csrf = False

    q = StringField()
    state = StringField(validators=[Optional(), AnyOf(values(DocumentState))])  # <select>s the template writes
    urgency = StringField(validators=[Optional(), AnyOf(values(Urgency))])


class DispatchForm(FlaskForm):
    """The dispatch dialog: agency codes (``to``, several), or a whole level under a node
    (``children_of`` + ``level``), as the API's dispatch body; the key makes a resent form
    (a double click, a reload) one dispatch."""

    to = SelectMultipleField(choices=[], validate_choice=False)
    children_of = StringField()
    level = StringField()
    idempotency_key = HiddenField()


class RecallForm(FlaskForm):
    reason = TextAreaField()


class InboxFilterForm(FlaskForm):
    """``/incoming``'s filters (GET: no CSRF token), as the API's inbox query."""

    class Meta:
        csrf = False

    status = StringField(validators=[Optional(), AnyOf(values(DeliveryStatus))])
    urgency = StringField(validators=[Optional(), AnyOf(values(Urgency))])
    sender = StringField()
    received_from = DateField(validators=[Optional()])
    received_to = DateField(validators=[Optional()])
    overdue = BooleanField()


class StatusForm(FlaskForm):
    """A recipient's move: ``status`` (accepted 03, returned 02, assigned 04, processing 05,
    completed 06) with a ``reason`` (a return needs one)."""

    status = StringField(validators=[DataRequired(REQUIRED)])
    reason = TextAreaField()


class VerifyForm(FlaskForm):
    """``/verify``: any PDF, field ``file``."""

    file = FileField(validators=[FileRequired(REQUIRED)])


def invalid(form: FlaskForm) -> Unprocessable:
    """The 422 of a form that did not validate: each field's first complaint."""
    return Unprocessable(_l("invalid input"), fields={name: errors[0] for name, errors in form.errors.items()})
