"""Forms of the web pages (Flask-WTF: each carries its CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileRequired
from flask_wtf.file import MultipleFileField

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
