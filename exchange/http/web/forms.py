"""The pages' forms (Flask-WTF: each carries its CSRF token). Field names are a contract:
other programs and the acceptance checks fill them (issue 9). Labels are written by the
templates, in the reader's language; a validator's message is a catalogue :class:`Message`."""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm  # type: ignore[import-untyped]  # no type hints shipped
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import AnyOf, DataRequired

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
