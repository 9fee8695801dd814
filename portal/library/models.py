"""Metadata of stored videos. The bytes live in :mod:`portal.storage`."""

from __future__ import annotations

import enum
from datetime import datetime
from datetime import timezone
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import DateTime
from sqlalchemy import Float
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import text
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from ..accounts.models import User
from ..extensions import Model
from .formats import plays_in_browsers


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every moment stored here is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


#: ``str.casefold`` turns one character into at most three ("ΐ" -> "ΐ"), so the
#: search name of a 255-character filename needs room for three times as many.
SEARCH_NAME_LENGTH = 3 * 255
#: PostgreSQL compares text by the server's locale unless told otherwise; "C"
#: orders by code point, as SQLite does, so sorting by name is the same everywhere.
SEARCH_NAME_TYPE = String(SEARCH_NAME_LENGTH).with_variant(String(SEARCH_NAME_LENGTH, collation="C"), "postgresql")
#: Room for ``<kind>/ab/cd/<36-character id>`` with a kind name of any sensible length.
STORAGE_KEY_LENGTH = 255


class StorageKind(str, enum.Enum):
    """What a stored object is to its video: the first part of its key.

    Each kind has a namespace of its own, so a video's other objects can live
    beside its bytes and the cleanup can tell them from strays. A new kind of
    object gets a member here before anything stores one.
    """

    #: The uploaded bytes; the row names their key (:attr:`Video.storage_key`).
    ORIGINAL = "original"
    #: A still picture of the video.
    POSTER = "poster"
    #: A copy every browser can play.
    PLAYABLE = "playable"
    #: A caption track as WebVTT: a video has one per language, each under a key of its own
    #: (:func:`caption_key_for`), named by its row (:class:`Caption`).
    CAPTION = "caption"


def storage_key_for(video_id: str, kind: StorageKind = StorageKind.ORIGINAL) -> str:
    """Where an object of a video is: its kind, then sharded by id, never derived from the client's name."""
    return f"{kind.value}/{video_id[:2]}/{video_id[2:4]}/{video_id}"


def caption_key_for(video_id: str, version: str) -> str:
    """Where one stored version of a caption is: beside the video's other objects, a new key for every version.

    A replacement is written under a new key and the row switched to it, so the
    bytes a row names always match its SHA-256, even while a replacement is written.
    """
    return f"{storage_key_for(video_id, StorageKind.CAPTION)}/{version}"


def parse_storage_key(key: str) -> tuple[StorageKind, str] | None:
    """The kind and video id of a namespaced key, or None when ``key`` is not one of a known kind."""
    kind_name, _, rest = key.partition("/")
    try:
        kind = StorageKind(kind_name)
    except ValueError:
        return None
    video_id = rest.rpartition("/")[2]
    if key != storage_key_for(video_id, kind):
        return None
    return kind, video_id


def _original_key_of_row(context: DefaultExecutionContext) -> str:
    """A row inserted without a key names the one new bytes go under."""
    return storage_key_for(context.get_current_parameters()["id"], StorageKind.ORIGINAL)


# Details a person gives a video (v2's resource: :mod:`portal.library.catalog` edits them).
#: Long enough for any file name's stem, which is the title until one is set.
MAX_TITLE_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 5000
MAX_TAG_LENGTH = 50
MAX_TAGS = 20


def default_title(filename: str) -> str:
    """The title of a video nobody titled: its file name without the extension (``Holiday.mp4`` -> ``Holiday``)."""
    stem, dot, _extension = filename.rpartition(".")
    return stem if dot and stem else filename


def sort_key(text: str) -> str:
    """What a listing sorts text by: case-folded, so "apple" and "Zebra" sort as a reader expects in any script."""
    return text.casefold()


def search_text_of(title: str, description: str, tags: list[str], filename: str) -> str:
    """Everything a search looks in, case-folded, one field a line: the search index holds this text.

    Case-folding here (not in SQL) makes matching the same on every database:
    SQLite's ``lower()`` knows only ASCII, and PostgreSQL's depends on the server's locale.
    """
    return "\n".join([title, description, *tags, filename]).casefold()


def _title_of_row(context: DefaultExecutionContext) -> str:
    return default_title(context.get_current_parameters()["filename"])


def _title_key_of_row(context: DefaultExecutionContext) -> str:
    parameters = context.get_current_parameters()
    return sort_key(parameters.get("title") or default_title(parameters["filename"]))


def _search_text_of_row(context: DefaultExecutionContext) -> str:
    """A new row is found by its title and file name: it has no description or tags yet."""
    parameters = context.get_current_parameters()
    title = parameters.get("title") or default_title(parameters["filename"])
    return search_text_of(title, parameters.get("description") or "", [], parameters["filename"])


class VideoStatus(str, enum.Enum):
    """What the last look at a file's bytes found."""

    OK = "ok"
    CORRUPT = "corrupt"
    MISSING = "missing"


class ProcessingState(str, enum.Enum):
    """Where a video is in the work the job queue does for it (facts and poster, and later a copy)."""

    QUEUED = "queued"
    RUNNING = "running"
    #: Everything the video needs is there.
    DONE = "done"
    #: Given up: :attr:`Video.processing_error` says why; the original stays as it is.
    FAILED = "failed"


class Video(Model):
    __tablename__ = "videos"
    # A listing orders by one of these columns, then by id to break ties: with
    # the id in the index, the database walks the index in listing order
    # instead of sorting every row again for each page.
    __table_args__ = (
        Index("ix_videos_created_at_id", "created_at", "id"),
        Index("ix_videos_search_name_id", "search_name", "id"),
        Index("ix_videos_size_id", "size", "id"),
        Index("ix_videos_duration_id", "duration", "id"),
        Index("ix_videos_title_key_id", "title_key", "id"),
        # v2's search index over search_text is made by migration 0012, in each database's own kind
        # (PostgreSQL: a pg_trgm GIN index; SQLite: the FTS5 table video_search and its triggers).
        # Only the rows in the trash: the trash's listing and the purge find them by it, while the
        # library's listing (deleted_at IS NULL) keeps walking its order's index instead of this one.
        Index(
            "ix_videos_deleted_at",
            "deleted_at",
            sqlite_where=text("deleted_at IS NOT NULL"),
            postgresql_where=text("deleted_at IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    #: ``filename.casefold()``: searching and sorting by it is case-insensitive
    #: for every script on every database (SQLite's lower() only knows ASCII).
    search_name: Mapped[str] = mapped_column(SEARCH_NAME_TYPE)
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    #: Of the uploaded bytes: their check, and the key of their stored :class:`Original`.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default=VideoStatus.OK.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Where this upload's bytes were written: ``original/ab/cd/<id>``, or ``ab/cd/<id>`` for a video
    #: stored before the kinds (the column keeps its old name, ``storage_key``). Unique, and never
    #: where another video's upload went; the bytes a video plays are its :attr:`original`'s, which
    #: is under this key only for the first video of those bytes (:attr:`storage_key`).
    upload_key: Mapped[str] = mapped_column(
        "storage_key", String(STORAGE_KEY_LENGTH), unique=True, default=_original_key_of_row
    )
    #: The stored object of its bytes, shared with every video of the same SHA-256 (:class:`Original`).
    original: Mapped[Original | None] = relationship(
        lazy="joined", primaryjoin="foreign(Video.sha256) == Original.sha256", viewonly=True
    )
    #: Who uploaded it. None only for videos of a library older than accounts,
    #: until its first admin exists and takes them (:func:`portal.accounts.service.create_user`).
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: Loaded with the row (a join), so that a listing does not ask once per video.
    owner: Mapped[User | None] = relationship(lazy="joined", foreign_keys=[owner_id])

    # In the trash (:mod:`portal.library.trash`): out of the library, its objects kept until purged.
    #: When it was moved to the trash; None while it is in the library.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Who moved it there; None while it is in the library.
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deleted_by: Mapped[User | None] = relationship(lazy="joined", foreign_keys=[deleted_by_id])

    # What probing the file found (:mod:`portal.media.probe`); all None until it has.
    #: Seconds.
    duration: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    #: FFmpeg's short codec names: ``h264``, ``vp9``, ``aac``, ``opus``, ...
    video_codec: Mapped[str | None] = mapped_column(String(32))
    #: FFmpeg's name for how the pictures are stored: ``yuv420p``, ``yuv420p10le``, ``yuv444p``, ...
    #: (None for videos probed before revision 0015).
    pixel_format: Mapped[str | None] = mapped_column(String(32))
    #: None when the file has no audio.
    audio_codec: Mapped[str | None] = mapped_column(String(32))
    #: Every audio track in the file's order, ``{"codec", "language", "channels"}`` each (the first one's
    #: codec is ``audio_codec``); empty without audio, None for videos probed before revision 0016.
    audio_tracks: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    #: Every subtitle track, ``{"codec", "language", "title", "text"}`` each: text ones are converted into
    #: captions, picture ones (PGS, DVB) only listed; None for videos probed before revision 0019.
    subtitle_tracks: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    #: Frames per second (the stream's average).
    frame_rate: Mapped[float | None] = mapped_column(Float)
    #: Bits per second of the whole file.
    bit_rate: Mapped[int | None] = mapped_column(BigInteger)
    #: The demuxer's name for the container: ``mp4``, ``webm``, ``matroska``, ``avi``, ...
    container: Mapped[str | None] = mapped_column(String(32))
    #: The pictures' transfer function, primaries and matrix in ffprobe's names (``smpte2084``,
    #: ``bt2020``, ``bt2020nc`` for a phone's HDR); None where the file does not say, and for videos
    #: probed before revision 0022. PQ and HLG (``arib-std-b67``) get a tone-mapped copy.
    color_transfer: Mapped[str | None] = mapped_column(String(32))
    color_primaries: Mapped[str | None] = mapped_column(String(32))
    color_space: Mapped[str | None] = mapped_column(String(32))
    processing_state: Mapped[str] = mapped_column(
        String(16), default=ProcessingState.QUEUED.value, server_default=ProcessingState.QUEUED.value
    )
    #: Why processing failed, in words for the video's owner; None unless it did.
    processing_error: Mapped[str | None] = mapped_column(String(1000))
    #: SHA-256 of its poster (:mod:`portal.media.poster`): its ETag, and the check of its copies. None until it is made.
    poster_sha256: Mapped[str | None] = mapped_column(String(64))
    #: Where its poster is: ``poster/ab/cd/<id>`` of the video that made it, this one or another of the same bytes
    #: (a poster is made once per content, :mod:`portal.media.processing`). None until it has one.
    poster_object_key: Mapped[str | None] = mapped_column("poster_key", String(STORAGE_KEY_LENGTH), index=True)
    # The browser-playable copy (:mod:`portal.media.playable`), made only when the original does not play
    # in browsers, once per content like the poster; all None until it is made.
    #: Where it is: ``playable/ab/cd/<id>`` of the video that made it.
    playable_object_key: Mapped[str | None] = mapped_column("playable_key", String(STORAGE_KEY_LENGTH), index=True)
    playable_sha256: Mapped[str | None] = mapped_column(String(64))
    playable_size: Mapped[int | None] = mapped_column(BigInteger)
    playable_content_type: Mapped[str | None] = mapped_column(String(64))
    #: When the stored copy last matched ``playable_sha256`` (like :attr:`verified_at` for the original).
    playable_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # Details a person gives (v2; :mod:`portal.library.catalog`). A row made by SQL without them
    # has empty ones, and shows its file name's stem as its title (:attr:`display_title`).
    #: :func:`default_title` of the file name until someone sets one.
    title: Mapped[str] = mapped_column(String(MAX_TITLE_LENGTH), default=_title_of_row, server_default="")
    #: :func:`sort_key` of the title: sorting by title walks its index (``ix_videos_title_key_id``).
    title_key: Mapped[str] = mapped_column(SEARCH_NAME_TYPE, default=_title_key_of_row, server_default="")
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: :func:`search_text_of` the title, description, tags and file name: what v2's ``q`` searches,
    #: through a trigram index (PostgreSQL: pg_trgm; SQLite: the FTS5 table ``video_search``).
    search_text: Mapped[str] = mapped_column(Text, default=_search_text_of_row, server_default="")
    #: When the details last changed (None only for a row made by SQL, which shows ``created_at``).
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: Bumped by every edit of the details: the basis of the ETag that ``If-Match`` must name.
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    #: The tags in the order they were given; replaced as a whole by an edit.
    tag_rows: Mapped[list[VideoTag]] = relationship(
        cascade="all, delete-orphan", order_by="VideoTag.position", passive_deletes=True
    )
    #: Its caption tracks (:mod:`portal.library.captions`), one per language.
    captions: Mapped[list[Caption]] = relationship(
        cascade="all, delete-orphan", order_by="Caption.language", passive_deletes=True
    )

    @property
    def display_title(self) -> str:
        return self.title or default_title(self.filename)

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]

    @property
    def owner_name(self) -> str | None:
        return self.owner.username if self.owner is not None else None

    @property
    def in_trash(self) -> bool:
        return self.deleted_at is not None

    @property
    def has_facts(self) -> bool:
        """Whether the file was probed (every probed video has a container and a video stream)."""
        return self.container is not None

    @property
    def has_poster(self) -> bool:
        return self.poster_sha256 is not None

    @property
    def poster_key(self) -> str:
        """Where its poster is, or would be made: the one it shares, else its own key."""
        return self.poster_object_key or storage_key_for(self.id, StorageKind.POSTER)

    @property
    def has_playable_copy(self) -> bool:
        return self.playable_sha256 is not None

    @property
    def needs_playable_copy(self) -> bool:
        """Whether its facts say browsers cannot play the original as it is (False until it is probed)."""
        return self.has_facts and not plays_in_browsers(
            self.content_type, self.video_codec, self.audio_codec, self.pixel_format, self.color_transfer
        )

    @property
    def playable_key(self) -> str:
        """Where its playable copy is, or would be made: the one it shares, else its own key."""
        return self.playable_object_key or storage_key_for(self.id, StorageKind.PLAYABLE)

    @property
    def storage_key(self) -> str:
        """Where the bytes are: its original's key, or its own for a row made without one (by SQL)."""
        return self.original.storage_key if self.original is not None else self.upload_key

    @property
    def own_keys(self) -> list[str]:
        """The keys of the objects this video alone has: its captions (its bytes, poster and copy may be shared)."""
        return [caption.storage_key for caption in self.captions]

    @property
    def derived_keys(self) -> list[str]:
        """Every key its poster and copy may be under: the ones it names, and its own (made, or being made, by it)."""
        own = [storage_key_for(self.id, StorageKind.POSTER), storage_key_for(self.id, StorageKind.PLAYABLE)]
        named = [key for key in (self.poster_object_key, self.playable_object_key) if key is not None]
        return list(dict.fromkeys([*named, *own]))

    @property
    def stored_keys(self) -> list[str]:
        """Every key the video may have objects under: bytes, poster, copy, captions (deleting a missing one is harmless)."""
        return [self.storage_key, *self.derived_keys, *self.own_keys]

    def __repr__(self) -> str:
        return f"<Video {self.id} {self.filename!r}>"


class Original(Model):
    """One stored object of uploaded bytes, shared by every video with its SHA-256 (:mod:`portal.library.originals`).

    Keyed by the checksum, so two uploads of the same bytes at the same moment
    cannot both make one: the second's insert fails on the primary key and it
    takes a reference to the first's instead. ``refs`` counts the videos
    (library and trash) that use it; the object is deleted only by the
    transaction that takes the count to zero, after that transaction commits.
    """

    __tablename__ = "originals"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: The ``upload_key`` of the video whose upload stored these bytes first.
    storage_key: Mapped[str] = mapped_column(String(STORAGE_KEY_LENGTH), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    refs: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class VideoTag(Model):
    """One tag of a video. A row per tag makes ``tag=`` an index look-up, at a million videos as at ten."""

    __tablename__ = "video_tags"
    __table_args__ = (
        UniqueConstraint("video_id", "tag", name="uq_video_tags_video_id_tag"),
        Index("ix_video_tags_tag_video_id", "tag", "video_id"),
    )

    #: A key of its own, so that copying a library (:mod:`portal.ops.transfer`) treats it like any other table.
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[str] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(MAX_TAG_LENGTH))
    #: Where the tag stands in the list it was given in.
    position: Mapped[int] = mapped_column(Integer)


class CaptionSource(str, enum.Enum):
    """Where a caption came from."""

    #: Sent by the video's owner or an admin (the video page, ``PUT /api/v2/videos/<id>/captions/<language>``).
    UPLOAD = "upload"
    #: A text subtitle track inside the uploaded file, converted when the video was processed.
    EMBEDDED = "embedded"


#: RFC 5646 asks implementations to take language tags of at least 35 characters.
MAX_LANGUAGE_LENGTH = 35
MAX_CAPTION_LABEL_LENGTH = 100


class Caption(Model):
    """One caption track of a video, in one language, stored as normalised WebVTT under :attr:`storage_key`."""

    __tablename__ = "captions"
    __table_args__ = (UniqueConstraint("video_id", "language", name="uq_captions_video_id_language"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    video_id: Mapped[str] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    #: A BCP 47 tag in its canonical case (``en``, ``pt-BR``, ``zh-Hant-TW``): the caption's name in its URL.
    language: Mapped[str] = mapped_column(String(MAX_LANGUAGE_LENGTH))
    #: What the player's menu shows.
    label: Mapped[str] = mapped_column(String(MAX_CAPTION_LABEL_LENGTH))
    storage_key: Mapped[str] = mapped_column(String(STORAGE_KEY_LENGTH), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    #: Of the stored WebVTT: its ETag, and the check of every read and copy.
    sha256: Mapped[str] = mapped_column(String(64))
    #: A :class:`CaptionSource` value.
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LibraryStats(Model):
    """Figures of the whole library kept by the database: one row (``id`` 1), made by migration 0013.

    Triggers on ``videos`` (see that migration) change it in the transaction of
    every insert, move to or from the trash and delete, so the library's exact
    size is read at once instead of counted. A migration that rebuilds
    ``videos`` on SQLite must make the triggers again.
    """

    __tablename__ = "library_stats"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: Videos in the library, not in the trash.
    videos: Mapped[int] = mapped_column(BigInteger)


class VerifyRun(Model):
    """A verify in progress (hashing a stored object, or waiting for the run that does), on any process.

    The database holds them so that every process of the portal sees the
    same: one run hashes a stored object at a time however many verifies of
    its videos arrive (single flight, :attr:`hashing`), and a user has at most
    two in progress whichever processes they reach
    (:mod:`portal.library.integrity`). A row is renewed while its request
    works and deleted when it ends; one left by a killed process counts no
    more once :attr:`expires_at` has passed.
    """

    __tablename__ = "verify_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Who asked; None for an operator's ``flask --app wsgi verify``, which no limit counts.
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: The stored original the verify reads: the videos of one content share it, and so its run.
    object_key: Mapped[str] = mapped_column(String(STORAGE_KEY_LENGTH), index=True)
    #: True for the one run that reads the object; the others wait for what it records.
    hashing: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
