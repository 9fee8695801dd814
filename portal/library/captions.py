"""Captions of a video: parse SRT or WebVTT, keep them as normalised WebVTT, one per language.

Nothing here knows about HTTP. A caption file is checked whole before a byte
is stored: at most :data:`MAX_CAPTION_BYTES`, UTF-8 text (UTF-16 with a
byte-order mark is converted), SRT or WebVTT that parses strictly, no cue
ending before it starts, and a language that is a BCP 47 tag. What is stored
is WebVTT written anew from the parsed cues, so every caption the portal
serves has one shape whatever was sent.

Cue text stays text: browsers render a ``<track>``'s cues themselves, through
the WebVTT parser, which never makes HTML of them; an SRT's tags other than
``<i>``, ``<b>`` and ``<u>`` are dropped and its ``&`` and ``<`` escaped, so
the WebVTT reads as the SRT showed.

Like every stored object, a caption's bytes have their SHA-256 in the row
(its ETag too), and a read that does not match is refused. A replacement is
written under a new key before the row names it, then the old object goes.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
import uuid
from dataclasses import dataclass

from .. import errors
from ..accounts.permissions import Action
from ..accounts.permissions import Caller
from ..accounts.permissions import check
from ..extensions import db
from ..storage import StorageUnavailable
from ..storage import current_storage
from .models import MAX_CAPTION_LABEL_LENGTH
from .models import MAX_LANGUAGE_LENGTH
from .models import Caption
from .models import CaptionSource
from .models import Video
from .models import caption_key_for
from .models import utcnow

audit = logging.getLogger("portal.audit")

#: The largest caption file taken: hours of dialogue fit in far less.
MAX_CAPTION_BYTES = 2 * 1024 * 1024
#: Served as this, always (with ``X-Content-Type-Options: nosniff``).
CAPTION_CONTENT_TYPE = "text/vtt; charset=utf-8"

# RFC 5646's syntax of a language tag (section 2.1), without the irregular grandfathered tags.
_LANGTAG = re.compile(
    r"""
    (?:
      (?P<language>[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4}|[a-z]{5,8})
      (?:-(?P<script>[a-z]{4}))?
      (?:-(?P<region>[a-z]{2}|[0-9]{3}))?
      (?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*
      (?:-[0-9a-wyz](?:-[a-z0-9]{2,8})+)*
      (?:-x(?:-[a-z0-9]{1,8})+)?
    |
      x(?:-[a-z0-9]{1,8})+
    )
    """,
    re.VERBOSE,
)
LANGUAGE_HINT = "a BCP 47 language tag such as 'en', 'pt-BR' or 'zh-Hant'"

_WEBVTT_TIME = r"(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})"
_WEBVTT_TIMING = re.compile(rf"{_WEBVTT_TIME}[ \t]+-->[ \t]+{_WEBVTT_TIME}(?P<settings>(?:[ \t].*)?)")
_SRT_TIME = r"(\d{1,3}):([0-5]\d):([0-5]\d)[,.](\d{1,3})"
_SRT_TIMING = re.compile(rf"{_SRT_TIME}[ \t]*-->[ \t]*{_SRT_TIME}(?:[ \t]+.*)?")
#: The formatting an SRT may carry that WebVTT has too; any other tag (``<font ...>``) is dropped.
_SRT_TAG = re.compile(r"</?([a-zA-Z]+)(?:\s[^<>]*)?>")
_SRT_KEPT_TAGS = {"i", "b", "u"}


@dataclass(frozen=True)
class Cue:
    """One cue: seconds from the start of the video, and its text as WebVTT cue text."""

    start: float
    end: float
    text: str
    #: WebVTT cue settings (``align:start line:0``), kept from a WebVTT file.
    settings: str = ""


def canonical_language(value: str | None) -> str:
    """The BCP 47 tag in its conventional case (``pt-br`` -> ``pt-BR``); :class:`~portal.errors.InvalidLanguage` if it is none."""
    text = (value or "").strip()
    if not text:
        raise errors.InvalidLanguage(f"A caption needs a language: {LANGUAGE_HINT}.")
    shown = text[:40]
    lowered = text.lower().replace("_", "-")
    match = _LANGTAG.fullmatch(lowered) if text.isascii() and len(text) <= MAX_LANGUAGE_LENGTH else None
    if match is None:
        raise errors.InvalidLanguage(f"{shown!r} is not a language tag: give {LANGUAGE_HINT}.")
    subtags = lowered.split("-")
    canonical = [subtags[0]]
    private = subtags[0] == "x"
    for subtag in subtags[1:]:
        if subtag == "x" or len(subtag) == 1:
            private = private or subtag == "x"
        elif not private and len(subtag) == 4 and subtag.isalpha() and subtag == match.group("script"):
            subtag = subtag.title()
        elif not private and subtag == match.group("region"):
            subtag = subtag.upper()
        canonical.append(subtag)
    return "-".join(canonical)


def clean_label(value: str | None) -> str:
    """The label the player's menu shows: one line of 1 to 100 characters."""
    label = unicodedata.normalize("NFC", value or "").strip()
    if not label:
        raise errors.InvalidInput("A caption needs a label, the name the player's menu shows (e.g. 'English').")
    if any(unicodedata.category(char) in {"Cc", "Cf", "Cs"} for char in label):
        raise errors.InvalidInput("A caption's label must not contain control characters or line breaks.")
    if len(label) > MAX_CAPTION_LABEL_LENGTH:
        raise errors.InvalidInput(f"A caption's label is at most {MAX_CAPTION_LABEL_LENGTH} characters (got {len(label)}).")
    return label


def caption_too_large() -> errors.CaptionTooLarge:
    """The refusal of a caption file over :data:`MAX_CAPTION_BYTES`, whether it is seen by its length or its bytes."""
    return errors.CaptionTooLarge(
        f"The caption file is larger than {MAX_CAPTION_BYTES // (1024 * 1024)} MiB: split it, or remove what is not dialogue."
    )


def decode_caption(raw: bytes) -> str:
    """The file's text: UTF-8 (a byte-order mark dropped), or UTF-16 with a byte-order mark."""
    if len(raw) > MAX_CAPTION_BYTES:
        raise caption_too_large()
    try:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = raw.decode("utf-16")
        else:
            text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise errors.InvalidCaption(
            f"The caption file is not UTF-8 text (byte {error.start} cannot be read): save it as UTF-8 and send it again."
        ) from None
    if "\x00" in text:
        raise errors.InvalidCaption("The caption file holds NUL characters: it is not a text file. Save it as UTF-8.")
    return text


def parse_caption(text: str) -> list[Cue]:
    """The cues of an SRT or WebVTT text (WebVTT when it starts with ``WEBVTT``); :class:`~portal.errors.InvalidCaption` else."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    first = lines[0] if lines else ""
    if first == "WEBVTT" or first.startswith(("WEBVTT ", "WEBVTT\t")):
        cues = _parse_webvtt(lines)
    else:
        cues = _parse_srt(lines)
    if not cues:
        raise errors.InvalidCaption("The caption file has no cues: it must be SRT or WebVTT with at least one timed cue.")
    return cues


def _blocks(lines: list[str], start: int = 0) -> list[tuple[int, list[str]]]:
    """Groups of lines separated by blank lines, each with its first line's number (from 1)."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    first_line = 0
    for number, line in enumerate(lines[start:], start=start + 1):
        if line.strip():
            if not current:
                first_line = number
            current.append(line)
        elif current:
            blocks.append((first_line, current))
            current = []
    if current:
        blocks.append((first_line, current))
    return blocks


def _seconds(hours: str | None, minutes: str, seconds: str, fraction: str) -> float:
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(fraction.ljust(3, "0")) / 1000


def _checked(cue_number: int, line_number: int, start: float, end: float, text: str, settings: str = "") -> Cue:
    if end < start:
        raise errors.InvalidCaption(
            f"Cue {cue_number} (line {line_number}) ends at {_timestamp(end)}, before it starts at {_timestamp(start)}."
        )
    return Cue(start, end, text, settings)


def _parse_webvtt(lines: list[str]) -> list[Cue]:
    cues: list[Cue] = []
    blocks = _blocks(lines)
    for line_number, block in blocks[1:]:  # the first block is the header
        if block[0].startswith(("NOTE", "STYLE", "REGION")) and "-->" not in block[0]:
            continue
        timing_at = 1 if "-->" not in block[0] and len(block) > 1 else 0
        match = _WEBVTT_TIMING.fullmatch(block[timing_at].strip())
        if match is None:
            raise errors.InvalidCaption(
                f"Line {line_number + timing_at} is not a WebVTT cue timing ('00:00:01.000 --> 00:00:04.000'): "
                f"{block[timing_at][:60]!r}."
            )
        start = _seconds(*match.groups()[0:4])
        end = _seconds(*match.groups()[4:8])
        text = "\n".join(block[timing_at + 1 :])
        settings = " ".join(match.group("settings").split())
        cues.append(_checked(len(cues) + 1, line_number, start, end, text, settings))
    return cues


def _parse_srt(lines: list[str]) -> list[Cue]:
    cues: list[Cue] = []
    for line_number, block in _blocks(lines):
        if not block[0].strip().isdigit() or len(block) < 2:
            raise errors.InvalidCaption(
                f"Line {line_number} does not start an SRT cue (its number, then '00:00:01,000 --> 00:00:04,000'), "
                f"and the file is not WebVTT (no 'WEBVTT' first line): {block[0][:60]!r}."
            )
        match = _SRT_TIMING.fullmatch(block[1].strip())
        if match is None:
            raise errors.InvalidCaption(
                f"Line {line_number + 1} is not an SRT cue timing ('00:00:01,000 --> 00:00:04,000'): {block[1][:60]!r}."
            )
        start = _seconds(*match.groups()[0:4])
        end = _seconds(*match.groups()[4:8])
        cues.append(_checked(len(cues) + 1, line_number, start, end, "\n".join(_srt_text(line) for line in block[2:])))
    return cues


def _srt_text(line: str) -> str:
    """One line of SRT cue text as WebVTT cue text: the same words, ``<i>``, ``<b>`` and ``<u>``, nothing else."""
    parts: list[str] = []
    position = 0
    for tag in _SRT_TAG.finditer(line):
        parts.append(escape_text(line[position : tag.start()]))
        name = tag.group(1).lower()
        if name in _SRT_KEPT_TAGS:
            parts.append(f"</{name}>" if tag.group(0).startswith("</") else f"<{name}>")
        position = tag.end()
    parts.append(escape_text(line[position:]))
    return "".join(parts)


def escape_text(text: str) -> str:
    """Plain text as WebVTT cue text: ``&``, ``<`` and ``>`` as character references, so no tag can come of it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    return f"{hours:02d}:{minutes:02d}:{millis // 1000:02d}.{millis % 1000:03d}"


def to_webvtt(cues: list[Cue]) -> bytes:
    """The cues as one WebVTT file, numbered from 1, UTF-8 with LF line ends."""
    blocks = ["WEBVTT"]
    for number, cue in enumerate(cues, start=1):
        timing = f"{_timestamp(cue.start)} --> {_timestamp(cue.end)}" + (f" {cue.settings}" if cue.settings else "")
        # "-->" in cue text would end the cue in a WebVTT parser; a line of it cannot be text.
        text = cue.text.replace("-->", "--&gt;")
        blocks.append(f"{number}\n{timing}" + (f"\n{text}" if text else ""))
    return ("\n\n".join(blocks) + "\n").encode("utf-8")


def normalise(raw: bytes) -> bytes:
    """A caption file as the WebVTT the portal keeps, or the error saying what is wrong with it."""
    return to_webvtt(parse_caption(decode_caption(raw)))


# --- stored captions ------------------------------------------------------------


def etag_of(caption: Caption) -> str:
    """The strong entity tag of the caption's current bytes."""
    return f'"{caption.sha256}"'


def list_captions(video: Video) -> list[Caption]:
    return list(video.captions)


def get_caption(video: Video, language: str) -> Caption:
    """The video's caption in ``language`` (any case); :class:`~portal.errors.CaptionNotFound` when it has none."""
    try:
        wanted = canonical_language(language)
    except errors.InvalidLanguage:
        raise errors.CaptionNotFound() from None
    caption = _find(video, wanted)
    if caption is None:
        raise errors.CaptionNotFound()
    return caption


def _find(video: Video, language: str) -> Caption | None:
    return db.session.scalar(db.select(Caption).where(Caption.video_id == video.id, Caption.language == language))


def read_caption(caption: Caption) -> bytes:
    """The stored WebVTT, checked against its SHA-256: damaged or missing bytes are refused, never served."""
    try:
        with current_storage().open(caption.storage_key) as content:
            data = content.read(MAX_CAPTION_BYTES * 2 + 1)
    except FileNotFoundError:
        raise errors.FileUnavailable(
            f"The stored bytes of the {caption.language!r} caption are missing: send the caption again, or remove it."
        ) from None
    if hashlib.sha256(data).hexdigest() != caption.sha256:
        raise errors.FileUnavailable(
            f"The stored {caption.language!r} caption no longer matches its SHA-256, so it is not served: "
            "send the caption again, or remove it."
        )
    return data


#: Why ``If-Match: *`` is refused as no If-Match is (as for a video's details): it names no version,
#: so it would let a change overwrite any caption unseen.
STAR_NAMES_NO_CAPTION = (
    "If-Match: * names no version of the caption: send its ETag (GET it first) to replace or remove it, "
    "or no If-Match to add one, so that nobody's caption is overwritten unseen."
)


def _check_precondition(current: Caption | None, if_match: str | None) -> None:
    """A caption that exists is replaced or removed only by naming its ETag; If-Match on one that does not is stale.

    ``*`` is no ETag: it is refused as a missing one is (428), whether or not the caption exists.
    """
    named = (if_match or "").strip()
    if named == "*":
        raise errors.CaptionVersionRequired(STAR_NAMES_NO_CAPTION)
    if current is None:
        if named:
            raise errors.StaleCaption()
        return
    if not named:
        raise errors.CaptionVersionRequired()
    tags = {tag.strip() for tag in named.split(",")}
    if etag_of(current) not in tags:
        raise errors.StaleCaption()


def put_caption(
    video: Video, language: str, label: str | None, raw: bytes, *, by: Caller, if_match: str | None
) -> tuple[Caption, bool]:
    """Add the video's caption in ``language``, or replace it (``if_match`` its ETag); True when it is new.

    Only the owner or an admin may. Everything is checked before a byte is stored.
    """
    check(by, Action.EDIT, video)
    wanted = canonical_language(language)
    clean = clean_label(label)
    webvtt = normalise(raw)
    current = _find(video, wanted)
    _check_precondition(current, if_match)
    caption = store_caption(video, wanted, clean, webvtt, CaptionSource.UPLOAD, replacing=current)
    audit.info("caption %s: video=%s language=%s by=%s", "replaced" if current else "added", video.id, wanted, by.username)
    return caption, current is None


def store_caption(
    video: Video, language: str, label: str, webvtt: bytes, source: CaptionSource, replacing: Caption | None = None
) -> Caption:
    """Store normalised WebVTT under a new key, then name it in the row (``replacing``'s, whose old object then goes).

    A row that cannot be saved takes its new object with it. A replacement
    changes the row only if it still names the bytes that were checked
    (:class:`~portal.errors.StaleCaption` otherwise).
    """
    key = caption_key_for(video.id, uuid.uuid4().hex)
    upload = current_storage().create(key)
    try:
        upload.write(webvtt)
        upload.commit()
    except BaseException:
        upload.abort()
        raise
    sha256 = hashlib.sha256(webvtt).hexdigest()
    old_key = replacing.storage_key if replacing is not None else None
    try:
        if replacing is None:
            caption = Caption(
                video_id=video.id, language=language, label=label, storage_key=key, size=len(webvtt),
                sha256=sha256, source=source.value, created_at=utcnow(),
            )
            db.session.add(caption)
            db.session.commit()
        else:
            result = db.session.execute(
                db.update(Caption)
                .where(Caption.id == replacing.id, Caption.sha256 == replacing.sha256, Caption.storage_key == old_key)
                .values(label=label, storage_key=key, size=len(webvtt), sha256=sha256, source=source.value, created_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise errors.StaleCaption()
            db.session.commit()
            db.session.expire(replacing)
            caption = replacing
    except BaseException:
        db.session.rollback()
        _remove_object(video.id, key)
        raise
    db.session.expire(video, ["captions"])
    if old_key is not None:
        _remove_object(video.id, old_key)
    return caption


def keep_embedded_caption(video: Video, language: str, label: str, cues: list[Cue]) -> Caption | None:
    """Store a caption read from the video's own file, unless one sent by a person has that language already.

    Processing the video again finds the same cues: an embedded caption that
    has them is left as it is, so the step can run any number of times.
    """
    current = _find(video, language)
    if current is not None and current.source != CaptionSource.EMBEDDED.value:
        return None
    webvtt = to_webvtt(cues)
    if current is not None and current.sha256 == hashlib.sha256(webvtt).hexdigest():
        return current
    caption = store_caption(video, language, clean_label(label[:MAX_CAPTION_LABEL_LENGTH]), webvtt, CaptionSource.EMBEDDED,
                            replacing=current)
    audit.info("caption from the file: video=%s language=%s", video.id, language)
    return caption


def delete_caption(video: Video, language: str, *, by: Caller, if_match: str | None) -> None:
    """Remove the video's caption in ``language`` (``if_match`` its ETag): the row, then its object."""
    check(by, Action.EDIT, video)
    caption = get_caption(video, language)
    _check_precondition(caption, if_match)
    result = db.session.execute(
        db.delete(Caption).where(Caption.id == caption.id, Caption.sha256 == caption.sha256)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        db.session.rollback()
        raise errors.StaleCaption()
    db.session.commit()
    db.session.expire(video, ["captions"])
    audit.info("caption removed: video=%s language=%s by=%s", video.id, caption.language, by.username)
    _remove_object(video.id, caption.storage_key)


def _remove_object(video_id: str, key: str) -> None:
    """An object no row names any more; one the store cannot reach just then stays as a stray (``cleanup`` names it)."""
    try:
        current_storage().delete(key)
    except StorageUnavailable as error:
        logging.getLogger(__name__).warning("a caption object of video %s stays behind at %s: %s", video_id, key, error)


def verify_captions(video: Video) -> list[str]:
    """The languages of the video's captions whose stored bytes are missing or no longer match their SHA-256."""
    damaged = []
    for caption in video.captions:
        try:
            read_caption(caption)
        except errors.FileUnavailable:
            damaged.append(caption.language)
    return damaged


def best_language(captions: list[Caption], accepted: list[tuple[str, float]]) -> str | None:
    """The caption language that suits a browser's ``Accept-Language`` best (the tag, else its primary language), or None."""
    languages = {caption.language.lower(): caption.language for caption in captions}
    for tag, quality in sorted(accepted, key=lambda item: -item[1]):
        if quality <= 0 or tag == "*":
            continue
        wanted = tag.lower()
        if wanted in languages:
            return languages[wanted]
        primary = wanted.split("-")[0]
        for key, language in languages.items():
            if key == primary or key.split("-")[0] == primary:
                return language
    return None
