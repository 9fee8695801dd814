"""Forms of the web pages (Flask-WTF: each carries its CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from flask_wtf.file import FileRequired
from flask_wtf.file import MultipleFileField
from wtforms import HiddenField
from wtforms import IntegerField
from wtforms import PasswordField
from wtforms import SelectField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import EqualTo
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput
from wtforms.widgets import ListWidget

from ..accounts.models import TOKEN_LABEL_LENGTH
from ..accounts.models import Role
from ..accounts.service import MIN_PASSWORD_LENGTH
from ..library.models import MAX_CAPTION_LABEL_LENGTH
from ..library.models import MAX_DESCRIPTION_LENGTH
from ..library.models import MAX_LANGUAGE_LENGTH
from ..library.models import MAX_TITLE_LENGTH
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


class DetailsForm(FlaskForm):
    """A video's title, description and tags, and the version they were edited from.

    ``version`` carries the ETag of the details the form was filled with, so a
    save is refused when someone else saved in between (the catalog's
    If-Match rule); the catalog checks every value, the fields only say what
    they hold.
    """

    title = StringField("Title", render_kw={"maxlength": MAX_TITLE_LENGTH})
    description = TextAreaField("Description", render_kw={"maxlength": MAX_DESCRIPTION_LENGTH, "rows": 4})
    tags = StringField("Tags", render_kw={"autocomplete": "off", "spellcheck": "false"})
    version = HiddenField()

    def tag_list(self) -> list[str]:
        """The tags typed, one between each pair of commas; blanks left out."""
        return [tag.strip() for tag in (self.tags.data or "").split(",") if tag.strip()]


class CaptionForm(FlaskForm):
    """A caption file with its language and label; the captions service checks all three."""

    file = FileField("Caption file (.vtt or .srt)", render_kw={"accept": ".vtt,.srt,text/vtt,application/x-subrip"})
    language = StringField(
        "Language", render_kw={"maxlength": MAX_LANGUAGE_LENGTH, "placeholder": "en, pt-BR, zh-Hant", "spellcheck": "false",
                               "autocomplete": "off"}
    )
    label = StringField("Label", render_kw={"maxlength": MAX_CAPTION_LABEL_LENGTH, "placeholder": "English"})


class ReplaceCaptionForm(FlaskForm):
    """A new file for one caption, and the version (ETag) the page showed, so that nobody's newer one is overwritten."""

    file = FileField("New file", render_kw={"accept": ".vtt,.srt,text/vtt,application/x-subrip"})
    version = HiddenField()


class RemoveCaptionForm(FlaskForm):
    version = HiddenField()


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


class ChangePasswordForm(FlaskForm):
    """A user's own new password: the current one first, so that a borrowed session cannot take the account."""

    current = PasswordField(
        "Current password",
        validators=[InputRequired("Type the password you sign in with now.")],
        render_kw={"autocomplete": "current-password"},
    )
    new = PasswordField(
        "New password",
        validators=[InputRequired("Choose a new password.")],
        render_kw={"autocomplete": "new-password", "minlength": MIN_PASSWORD_LENGTH},
    )
    confirm = PasswordField(
        "New password again",
        validators=[InputRequired("Type the new password again."), EqualTo("new", "The two new passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )


class MultiCheckboxField(SelectMultipleField):
    """A choice of several values as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CreateTokenForm(FlaskForm):
    """A new API token. The scopes offered are those of the user's role; the service refuses any other."""

    label = StringField(
        "Label",
        validators=[
            InputRequired("Name the token after what will use it, e.g. “backup script”."),
            Length(max=TOKEN_LABEL_LENGTH),
        ],
        render_kw={"maxlength": TOKEN_LABEL_LENGTH, "placeholder": "backup script", "autocomplete": "off"},
    )
    # validate_choice off: a scope the role does not allow gets the service's message, which says why.
    scopes = MultiCheckboxField("Scopes", validate_choice=False)
    days = IntegerField(
        "Expires after (days)",
        validators=[Optional()],
        render_kw={"min": 1, "inputmode": "numeric", "placeholder": "never"},
    )


ROLE_CHOICES = [role.value for role in Role]


class AddUserForm(FlaskForm):
    username = StringField("Username", validators=[InputRequired("Choose a username.")], render_kw=USERNAME_INPUT)
    password = PasswordField(
        "Password",
        validators=[InputRequired("Choose a password.")],
        render_kw={"autocomplete": "new-password", "minlength": MIN_PASSWORD_LENGTH},
    )
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.VIEWER.value, validate_choice=False)


class SetRoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES, validate_choice=False)


class SetQuotaForm(FlaskForm):
    """A user's quota as ``users set-quota`` takes it: a size (``2GiB``), ``none`` or ``default``."""

    quota = StringField("Quota", validators=[InputRequired("Type a quota: a size such as 2GiB, none or default.")])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[InputRequired("Type the new password.")],
        render_kw={"autocomplete": "new-password", "minlength": MIN_PASSWORD_LENGTH},
    )
