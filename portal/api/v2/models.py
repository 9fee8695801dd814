"""The requests and answers of /api/v2 as models: what its document shows (:mod:`portal.api.spec`).

The limits are the catalog's and the library's own constants; the patterns are
built from the same Unicode categories the catalog refuses. They are JSON Schema's
(ECMA-262) and given as ``json_schema_extra``: pydantic's own regular expressions
take neither lookaheads nor surrogates, and the catalog checks the values anyway.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import Annotated
from typing import Any
from typing import Literal

from flask import current_app
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import WithJsonSchema

from ...accounts.models import TOKEN_LABEL_LENGTH
from ...accounts.models import Role
from ...accounts.models import Scope
from ...accounts.service import MAX_TOKEN_DAYS
from ...accounts.service import MIN_PASSWORD_LENGTH
from ...accounts.service import USERNAME_PATTERN
from ...library import catalog
from ...library.listing import MAX_QUERY_LENGTH
from ...library.models import MAX_CAPTION_LABEL_LENGTH
from ...library.models import MAX_DESCRIPTION_LENGTH
from ...library.models import MAX_LANGUAGE_LENGTH
from ...library.models import MAX_TAG_LENGTH
from ...library.models import MAX_TAGS
from ...library.models import MAX_TITLE_LENGTH
from ...library.models import CaptionSource
from ..models import EXAMPLE_FILENAME
from ..models import EXAMPLE_ID
from ..models import EXAMPLE_SHA256
from ..models import EXAMPLE_SIZE
from ..models import HEX_SHA256
from ..models import Closed
from ..models import Media
from ..models import Playback
from ..models import Processing
from ..models import Timestamp
from ..models import Url
from ..models import header

HOST = "http://localhost:8080"
EXAMPLE_ETAG = '"rev-3"'
EXAMPLE_CAPTION_ETAG = f'"{EXAMPLE_SHA256}"'


@cache
def characters_of(categories: frozenset[str], but: str = "") -> str:
    """A regular expression's character class body of every BMP character in Unicode ``categories``, ``but`` these.

    Written as ``\\uXXXX`` ranges, which ECMA-262 (the patterns of JSON Schema)
    and Python read alike; characters beyond the BMP cannot be named without
    ECMA's ``u`` flag, so the few format characters there are refused by the
    server without the document saying so.
    """
    codes = [code for code in range(0x10000) if unicodedata.category(chr(code)) in categories and chr(code) not in but]
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(f"\\u{low:04x}" if low == high else f"\\u{low:04x}-\\u{high:04x}" for low, high in ranges)


#: Search text, a tag filter, an owner: no control character anywhere (the catalog refuses one with 400). A
#: lookahead rather than ``^[^...]*$``, whose ``$`` Python lets match before a final line break.
QUERY_TEXT = f"^(?![\\s\\S]*[{characters_of(catalog.QUERY_CONTROL_CATEGORIES)}])"
_REFUSED = characters_of(catalog.CONTROL_CATEGORIES)
#: A title or a tag as the catalog takes it: trimmed, then something with no control or format character in it.
LINE = f"^\\s*[^\\s{_REFUSED}](?:[^{_REFUSED}]*[^\\s{_REFUSED}])?\\s*$"
#: A description: trimmed, then no control or format character but line breaks and tabs.
_KEPT = characters_of(catalog.CONTROL_CATEGORIES, but=catalog.DESCRIPTION_CONTROLS)
DESCRIPTION = f"^\\s*(?:[^{_KEPT}]|\\r\\n)*\\s*$"
#: An ``If-Match`` that names some version: neither blank nor ``*`` (both are 428, as no ``If-Match`` is).
IF_MATCH_NAMES_A_VERSION = "^\\s*(?:[^\\s*]|\\*\\s*\\S)"


# --- videos ----------------------------------------------------------------------------------


class Links(Closed):
    self: Url
    content: Url
    playback: Url
    poster: Url
    shares: Url


def _links(video_id: str) -> dict[str, str]:
    base = f"{HOST}/api/v2/videos/{video_id}"
    return {"self": base, "content": f"{base}/content", "playback": f"{base}/playback", "poster": f"{base}/poster",
            "shares": f"{base}/shares"}


EXAMPLE_VIDEO: dict[str, Any] = {
    "id": EXAMPLE_ID, "title": "Holiday in Crete", "description": "Two weeks by the sea.", "tags": ["holiday", "sea"],
    "filename": EXAMPLE_FILENAME, "content_type": "video/mp4", "size": EXAMPLE_SIZE, "sha256": EXAMPLE_SHA256,
    "status": "ok", "owner": "alice", "created_at": "2026-05-01T09:30:00.123456Z",
    "updated_at": "2026-05-03T18:00:00.654321Z", "verified_at": "2026-05-01T09:30:00.123456Z",
    "media": {"duration": 62.4, "width": 1920, "height": 1080, "video_codec": "h264", "audio_codec": "aac",
              "audio_tracks": [{"codec": "aac", "language": "eng", "channels": 2}], "frame_rate": 25.0,
              "bit_rate": 4718592, "container": "mp4"},
    "processing": {"state": "done", "error": None},
    "playback": {"url": _links(EXAMPLE_ID)["playback"], "content_type": "video/mp4", "source": "original",
                 "sha256": EXAMPLE_SHA256},
    "links": _links(EXAMPLE_ID),
}
EXAMPLE_TRASHED_VIDEO: Any = {**EXAMPLE_VIDEO, "deleted_at": "2026-05-04T10:00:00.123456Z", "deleted_by": "alice",
                         "purge_at": "2026-06-03T10:00:00.123456Z"}


class Video(Closed):
    """A video: its details, its bytes' facts, and where to get them."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_VIDEO]})

    id: str = Field(json_schema_extra={"format": "uuid"})
    title: str = Field(max_length=MAX_TITLE_LENGTH, description="Set by its owner; the file name without its "
                       "extension until then.")
    description: str = Field(max_length=MAX_DESCRIPTION_LENGTH)
    tags: list[str] = Field(max_length=MAX_TAGS, json_schema_extra={"items": {
        "type": "string", "minLength": 1, "maxLength": MAX_TAG_LENGTH}})
    filename: str
    content_type: str
    size: int = Field(ge=1)
    sha256: str = Field(pattern=HEX_SHA256)
    status: Literal["ok", "corrupt", "missing"]
    owner: str | None
    created_at: Timestamp
    updated_at: Timestamp
    verified_at: Timestamp | None
    media: Media | None
    processing: Processing
    playback: Playback | None
    links: Links


class StoredVideo(Video):
    """A video just uploaded, and the first video with the same bytes the caller may see."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_VIDEO]})

    duplicate_of: str = Field(None, description="The id of a video with the same bytes: the caller's own, or anyone's "  # type: ignore[assignment]
                              "for an admin. Absent when there is none.")


class TrashedVideo(Video):
    """A video in the trash, when and by whom it was deleted, and when it goes for good."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_TRASHED_VIDEO]})

    deleted_at: Timestamp
    deleted_by: str | None
    purge_at: Timestamp


class Total(Closed):
    value: int = Field(ge=0, le=catalog.TOTAL_LIMIT)
    relation: Literal["eq", "gte"] = Field(description="`eq`: exact; `gte`: at least, past "
                                           f"{catalog.TOTAL_LIMIT:,} matches.")


EXAMPLE_CURSOR = "WyItY3JlYXRlZF9hdCIsIjIwMjYtMDUtMDFUMDk6MzA6MDAuMTIzNDU2KzAwOjAwIiwiNWYwYyJd.signature"


class VideoPage(Closed):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"items": [EXAMPLE_VIDEO], "next_cursor": EXAMPLE_CURSOR, "total": {"value": 10000, "relation": "gte"}}]})

    items: list[Video]
    next_cursor: str | None
    total: Total


class TrashPage(Closed):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"items": [EXAMPLE_TRASHED_VIDEO], "next_cursor": None, "total": {"value": 1, "relation": "eq"}}]})

    items: list[TrashedVideo]
    next_cursor: str | None
    total: Total


class DetailsPatch(BaseModel):
    """A JSON merge patch: fields left out stay as they are, null clears one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"title": "Holiday in Crete",
                                                                             "tags": ["holiday", "sea"]}})

    title: str | None = Field(None, min_length=1, max_length=MAX_TITLE_LENGTH, json_schema_extra={"pattern": LINE},
                              description="Trimmed; no control or format characters.")
    description: str | None = Field(None, max_length=MAX_DESCRIPTION_LENGTH, json_schema_extra={"pattern": DESCRIPTION},
                                    description="Trimmed; no control or format characters but line breaks and tabs.")
    tags: list[str] | None = Field(None, max_length=MAX_TAGS, json_schema_extra={"items": {
        "type": "string", "minLength": 1, "maxLength": MAX_TAG_LENGTH, "pattern": LINE}},
        description="Each trimmed, inner blanks made one space, repeats dropped.")


# --- queries and headers ----------------------------------------------------------------------


Limit = Annotated[int | None, Field(None, ge=1, le=catalog.MAX_LIMIT, json_schema_extra={
    "default": catalog.DEFAULT_LIMIT, "allowEmptyValue": True},
    description=f"Items per page, 1 to {catalog.MAX_LIMIT} (default {catalog.DEFAULT_LIMIT}).")]
Cursor = Annotated[str | None, Field(None, description="`next_cursor` of the page before, exactly as received (with "
                                     "the same `sort`); none for the first page.")]


class Page(BaseModel):
    limit: Limit = None
    cursor: Cursor = None


class VideoQuery(BaseModel):
    q: str | None = Field(None, max_length=MAX_QUERY_LENGTH, json_schema_extra={"pattern": QUERY_TEXT}, description=(
        "Text anywhere in the title, description, tags or file name, in any case and script, e.g. `olid` finds "
        "\"Holiday\"."))
    tag: list[str] | None = Field(None, max_length=catalog.MAX_TAG_FILTERS, json_schema_extra={
        "style": "form", "explode": True, "items": {"type": "string", "maxLength": MAX_TAG_LENGTH, "pattern": QUERY_TEXT}},
        description="Only videos with exactly this tag; repeat it for videos with all of them.")
    owner: str | None = Field(None, json_schema_extra={"pattern": QUERY_TEXT},
                              description="Only the videos of this user (any case), e.g. `alice`.")
    sort: str | None = Field(None, json_schema_extra={
        "enum": list(catalog.SORT_VALUES), "default": catalog.DEFAULT_SORT, "allowEmptyValue": True},
        description="Order; a leading `-` is descending, ties by id.")
    limit: Limit = None
    cursor: Cursor = None


class DetailsIfMatch(BaseModel):
    if_match: str = Field(alias="If-Match", pattern=IF_MATCH_NAMES_A_VERSION, description=(
        f"The ETag of the version edited, e.g. `{EXAMPLE_ETAG}`; `*` names no version and is answered 428, "
        "as no `If-Match` is."))


DETAILS_ETAG = {"ETag": header("The version of the video's details: send it in `If-Match` to change them.")}


# --- captions ---------------------------------------------------------------------------------

EXAMPLE_CAPTION: Any = {"language": "pt-BR", "label": "Português (Brasil)",
                   "url": f"{HOST}/api/v2/videos/{EXAMPLE_ID}/captions/pt-BR", "source": CaptionSource.UPLOAD.value,
                   "size": 1234, "sha256": EXAMPLE_SHA256, "created_at": "2026-05-01T09:30:00Z"}


class Caption(Closed):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_CAPTION]})

    language: str = Field(max_length=MAX_LANGUAGE_LENGTH)
    label: str = Field(min_length=1, max_length=MAX_CAPTION_LABEL_LENGTH)
    url: Url
    source: CaptionSource
    size: int = Field(ge=1)
    sha256: str = Field(pattern=HEX_SHA256)
    created_at: Timestamp


class CaptionList(Closed):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"items": [EXAMPLE_CAPTION]}]})

    items: list[Caption]


class CaptionQuery(BaseModel):
    label: str = Field(min_length=1, max_length=MAX_CAPTION_LABEL_LENGTH,
                       description="What the player's menu shows, e.g. `English`.")


class CaptionIfMatch(BaseModel):
    if_match: str | None = Field(None, alias="If-Match", pattern=IF_MATCH_NAMES_A_VERSION, description=(
        f"The caption's ETag (from its GET or PUT), e.g. `{EXAMPLE_CAPTION_ETAG}`: needed to replace one that exists. "
        "`*` names no version and is answered 428, as no `If-Match` is."))


class CaptionIfMatchRequired(BaseModel):
    if_match: str = Field(alias="If-Match", pattern=IF_MATCH_NAMES_A_VERSION, description=(
        f"The caption's ETag (from its GET or PUT), e.g. `{EXAMPLE_CAPTION_ETAG}`: always needed. "
        "`*` names no version and is answered 428, as no `If-Match` is."))


CAPTION_ETAG = {"ETag": header("The caption's SHA-256, quoted: send it in `If-Match` to replace or remove it.")}


# --- the caller ------------------------------------------------------------------------------


class Me(Closed):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "id": 3, "name": "alice", "role": "uploader", "scopes": ["read", "upload"], "usage_bytes": 1288490189,
        "quota_bytes": 5368709120, "video_count": 12}]})

    id: int = Field(ge=1)
    name: str
    role: Role
    scopes: list[Scope] | None = Field(description=(
        "The calling token's scopes, within what the role allows now; null for the web session."))
    usage_bytes: int = Field(ge=0, description="Bytes the caller uses.")
    quota_bytes: int | None = Field(ge=0, description="Bytes the caller may use; null: unlimited.")
    video_count: int = Field(ge=0, description="The caller's videos outside the trash.")


# --- tokens and users --------------------------------------------------------------------------

MaybeTimestamp = Annotated[str | None, WithJsonSchema({"type": ["string", "null"], "format": "date-time"})]


class SelfLink(Closed):
    self: Url


EXAMPLE_TOKEN: Any = {
    "id": 7, "owner": "alice", "label": "backup script", "scopes": ["read"],
    "created_at": "2026-05-01T09:30:00.123456Z", "expires_at": "2026-07-30T09:30:00.123456Z",
    "last_used_at": None, "revoked_at": None, "active": True, "links": {"self": f"{HOST}/api/v2/tokens/7"},
}


class Token(Closed):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_TOKEN]})

    id: int = Field(ge=1)
    owner: str
    label: str = Field(max_length=TOKEN_LABEL_LENGTH)
    scopes: list[Scope] = Field(json_schema_extra={"uniqueItems": True})
    created_at: Timestamp
    expires_at: MaybeTimestamp = Field(description="Null: it does not expire.")
    last_used_at: MaybeTimestamp = Field(description="Kept to the minute.")
    revoked_at: MaybeTimestamp
    active: bool = Field(description="Neither revoked nor expired.")
    links: SelfLink


class NewToken(Token):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {**EXAMPLE_TOKEN, "token": "portal_Zm9v..."}]})

    token: str = Field(description="The value to send as `Authorization: Bearer`; shown once.")


class TokenList(Closed):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"items": [EXAMPLE_TOKEN]}]})

    items: list[Token]


class NewTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "label": "backup script", "scopes": ["read"], "days": 90}})

    label: str | None = Field(None, max_length=TOKEN_LABEL_LENGTH, pattern="^[^\\u0000]*$",
                              description="What will use it, e.g. `backup script`.")
    scopes: list[Scope] = Field(min_length=1, description="A scope named twice counts once.")
    days: int | None = Field(None, ge=1, le=MAX_TOKEN_DAYS, description=(
        "Days until it expires (a whole number: `6.0` is 6); null or left out: never (or, asked by a token, when it does)."))


class TokenQuery(BaseModel):
    user: str | None = Field(None, description="Another user's name (any case): their tokens, for an admin signed in.")


EXAMPLE_USER: Any = {
    "id": 3, "name": "alice", "role": "uploader", "disabled": False, "created_at": "2026-05-01T09:30:00.123456Z",
    "usage_bytes": 1288490189, "quota_bytes": 5368709120, "video_count": 12, "links": {"self": f"{HOST}/api/v2/users/3"},
}


class UserModel(Closed):
    model_config = ConfigDict(extra="forbid", title="User", json_schema_extra={"examples": [EXAMPLE_USER]})

    id: int = Field(ge=1)
    name: str
    role: Role
    disabled: bool
    created_at: Timestamp
    usage_bytes: int = Field(ge=0)
    quota_bytes: int | None = Field(ge=0, description="Null: unlimited.")
    video_count: int = Field(ge=0, description="Videos outside the trash.")
    links: SelfLink


class UserList(Closed):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"items": [EXAMPLE_USER]}]})

    items: list[UserModel]


class NewUserRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "name": "alice", "password": "correct horse battery", "role": "uploader"}})

    name: str = Field(pattern=f"^{USERNAME_PATTERN.pattern}$")
    password: str = Field(min_length=MIN_PASSWORD_LENGTH)
    role: Role = Role.VIEWER


class UserPatch(BaseModel):
    """A JSON merge patch: fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"role": "uploader", "quota": "5GiB"}})

    # Left out, not null, is how to leave one as it is: the schema has no null for them.
    role: Annotated[Role | None, WithJsonSchema({"type": "string", "enum": [role.value for role in Role]})] = None
    disabled: Annotated[bool | None, WithJsonSchema({"type": "boolean"})] = None
    quota: Annotated[int | str | None, WithJsonSchema({"oneOf": [
        {"type": "integer", "minimum": 0}, {"type": "string"}, {"type": "null"}]})] = Field(None, description=(
            "Bytes, a size such as `5GiB`, `none` (unlimited), `default` or null (PORTAL_DEFAULT_QUOTA's)."))


def upload_limit_text() -> str:
    from ...uploads.intake import upload_limit

    return f"At most {upload_limit()} bytes (the portal's `MAX_CONTENT_LENGTH`: {current_app.config['MAX_CONTENT_LENGTH']})."
