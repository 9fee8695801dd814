"""Names of videos: what a client's file name becomes before it is stored and shown."""

from __future__ import annotations

import re
import unicodedata

from .formats import EXTENSIONS

MAX_FILENAME_LENGTH = 255
# Invisible characters that reorder text: they make "evil\u202Egpj.mp4" look like "evilmp4.jpg".
_BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean_filename(name: str | None, content_type: str) -> str:
    """The client's name made safe to store and show.

    Only what cannot be part of a display name goes: any folder part, control
    and bidirectional-override characters, surrounding blanks and dots. Letters
    of every script stay (unlike ``secure_filename``, which turns ``видео.mp4``
    into ``mp4``). A name with nothing left becomes ``untitled.<ext>``.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(
        char for char in name if unicodedata.category(char) not in ("Cc", "Cs") and char not in _BIDI_CONTROLS
    )
    name = name.strip(" .\t")
    if not name:
        return "untitled" + EXTENSIONS.get(content_type, "")
    if len(name) > MAX_FILENAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = stem[: MAX_FILENAME_LENGTH - len(extension) - 1].rstrip(" .") + "." + extension
        else:
            name = name[:MAX_FILENAME_LENGTH]
    return name
