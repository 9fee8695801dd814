"""Forms of the web pages (Flask-WTF: each carries its CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileRequired
from flask_wtf.file import MultipleFileField
from wtforms import HiddenField
from wtforms import IntegerField
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import EqualTo
from wtforms.validators import InputRequired
from wtforms.validators import Optional

from ..accounts.service import MIN_PASSWORD_LENGTH
from ..sharing.service import DEFAULT_DAYS
from ..sharing.service import MAX_DAYS
from ..sharing.service import MIN_DAYS

#: What the file picker offers first. Only a hint: files are recognised by their bytes.
VIDEO_PICKER_ACCEPT = "video/*,.mkv,.ts,.m2ts,.mts,.flv,.wmv,.asf,.ogv,.3gp,.3g2,.m4v"


class UploadForm(FlaskForm):
    """One or more videos, in the multipart field ``file`` (the same name the API takes)."""

    file = MultipleFileField(
        "Video files",
        validators=[FileRequired("Choose at least one video file to upload.")],
        render_kw={"accept": VIDEO_PICKER_ACCEPT},
    )


class ActionForm(FlaskForm):
    """A button that changes something (delete, verify): nothing to fill in but the CSRF token."""


class ShareForm(FlaskForm):
    """A new share link of a video; the range of days is the sharing service's rule, shown here as a hint."""

    days = IntegerField(
        "Days the link works",
        default=DEFAULT_DAYS,
        validators=[Optional()],
        render_kw={"min": MIN_DAYS, "max": MAX_DAYS, "step": 1, "inputmode": "numeric"},
    )


#: A username field as password managers and phones expect it: no capitals, no spelling fixes.
USERNAME_INPUT = {"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}


class SignInForm(FlaskForm):
    username = StringField("Username", validators=[InputRequired("Type your username.")], render_kw=USERNAME_INPUT)
    password = PasswordField(
        "Password", validators=[InputRequired("Type your password.")], render_kw={"autocomplete": "current-password"}
    )
    next = HiddenField()


class SetupForm(FlaskForm):
    """The first admin's account, made with the one-time code the server printed."""

    code = HiddenField()
    username = StringField("Username", validators=[InputRequired("Choose a username.")], render_kw=USERNAME_INPUT)
    password = PasswordField(
        "Password",
        validators=[InputRequired("Choose a password.")],
        render_kw={"autocomplete": "new-password", "minlength": MIN_PASSWORD_LENGTH},
    )
    confirm = PasswordField(
        "Password again",
        validators=[InputRequired("Type the password again."), EqualTo("password", "The two passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )
