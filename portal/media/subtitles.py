"""Text subtitle tracks inside an upload (SRT, ASS/SSA, WebVTT, mov_text), read as cues for the video's captions.

PyAV's FFmpeg decodes each of these to ASS dialogue; its text, with the ASS
override tags (``{\\i1}``) dropped and ``\\N`` made a line break, is the
cue's plain text, timed by its packet. Only the subtitle streams are demuxed
(the pictures and sound are never decoded), but they are spread over the whole
file, so the file is read once to its end, and only when it has such a track.
Picture subtitles (PGS, DVB, DVD) are images, not text: they are not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO

import av

from .. import errors
from ..library.captions import Cue
from ..library.captions import canonical_language
from ..library.captions import escape_text

#: FFmpeg's names of the text subtitle codecs.
TEXT_CODECS = frozenset({"subrip", "srt", "ass", "ssa", "webvtt", "mov_text", "text"})
#: A cue whose packet has no duration shows this long (seconds).
DEFAULT_CUE_SECONDS = 2.0
#: Containers name languages in ISO 639-2 (``eng``, ``fre``/``fra``); browsers match the ISO 639-1 tags BCP 47 prefers.
ISO_639_2 = {
    "ara": "ar", "chi": "zh", "zho": "zh", "cze": "cs", "ces": "cs", "dan": "da", "dut": "nl", "nld": "nl", "eng": "en",
    "fin": "fi", "fre": "fr", "fra": "fr", "ger": "de", "deu": "de", "gre": "el", "ell": "el", "heb": "he", "hin": "hi",
    "hun": "hu", "ind": "id", "ita": "it", "jpn": "ja", "kor": "ko", "nor": "no", "per": "fa", "fas": "fa", "pol": "pl",
    "por": "pt", "rum": "ro", "ron": "ro", "rus": "ru", "spa": "es", "swe": "sv", "tha": "th", "tur": "tr", "ukr": "uk",
    "vie": "vi",
}
UNDETERMINED = "und"
_ASS_OVERRIDE = re.compile(r"\{[^}]*\}")


@dataclass(frozen=True)
class TextTrack:
    """A text subtitle stream of the file: its language (a BCP 47 tag), its title if it has one, and its cues."""

    index: int
    language: str
    title: str | None
    cues: list[Cue]


def language_of(code: str | None) -> str:
    """The stream's language as a BCP 47 tag: ISO 639-1 where there is one, ``und`` when unknown or not a tag."""
    if not code:
        return UNDETERMINED
    lowered = code.strip().lower()
    try:
        return canonical_language(ISO_639_2.get(lowered, lowered))
    except errors.InvalidLanguage:
        return UNDETERMINED


def plain_text(dialogue: str) -> str:
    """ASS dialogue as WebVTT cue text that reads as plain text: override tags dropped, markup characters escaped."""
    text = _ASS_OVERRIDE.sub("", dialogue).replace("\\N", "\n").replace("\\n", "\n").replace("\\h", " ")
    lines = [line.strip() for line in text.split("\n")]
    return escape_text("\n".join(line for line in lines if line))


def read_text_tracks(raw: BinaryIO) -> list[TextTrack]:
    """Every text subtitle stream of the file with its cues, in the file's order; none without any."""
    with av.open(raw, mode="r") as container:
        streams = [stream for stream in container.streams.subtitles if stream.codec_context.name in TEXT_CODECS]
        if not streams:
            return []
        cues: dict[int, list[Cue]] = {stream.index: [] for stream in streams}
        for packet in container.demux(*streams):
            if packet.pts is None or packet.time_base is None:
                continue
            start = max(0.0, float(packet.pts * packet.time_base))
            length = float(packet.duration * packet.time_base) if packet.duration else DEFAULT_CUE_SECONDS
            for subtitle in packet.decode():
                text = plain_text(bytes(getattr(subtitle, "dialogue", b"")).decode("utf-8", "replace"))
                if text:
                    cues[packet.stream.index].append(Cue(start, start + length, text))
        return [
            TextTrack(
                index=stream.index,
                language=language_of(stream.metadata.get("language")),
                title=(stream.metadata.get("title") or "").strip() or None,
                cues=sorted(cues[stream.index], key=lambda cue: (cue.start, cue.end)),
            )
            for stream in streams
            if cues[stream.index]
        ]
