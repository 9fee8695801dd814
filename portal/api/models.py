"""The models every version of the API shares: path parameters, a video's media, playback and processing, share links, errors.

A model is written once and is what the documents of /api/v1 and /api/v2 show
(:mod:`portal.api.spec`); a field's limits come from the code that enforces them.
"""

from __future__ import annotations

from typing import Annotated
from typing import Any
from typing import Literal

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import WithJsonSchema

from ..extensions import MAX_ROW_ID
from ..http.delivery import POSTER_CACHE_CONTROL
from ..library.models import MAX_LANGUAGE_LENGTH
from ..library.models import ProcessingState
from ..sharing.service import DEFAULT_DAYS
from ..sharing.service import MAX_DAYS
from ..sharing.service import MIN_DAYS

EXAMPLE_ID = "5f0c6a8e-2b1d-4c3e-9a7f-1e2d3c4b5a69"
EXAMPLE_SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
EXAMPLE_SIZE = 1048576
EXAMPLE_FILENAME = "holiday.mp4"
SHA256_PATTERN = "^[0-9a-fA-F]{64}$"
HEX_SHA256 = "^[0-9a-f]{64}$"
#: The example value of each path parameter, as an example request's path shows it.
PATH_EXAMPLES: dict[str, object] = {"video_id": EXAMPLE_ID, "share_id": 12, "language": "en",
                                    "upload_id": "0b9f7a52-5a3c-4d64-9d3b-2f4c1e7a9e10", "token_id": 7, "user_id": 3}

Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
Url = Annotated[str, WithJsonSchema({"type": "string", "format": "uri"})]
BINARY: dict[str, Any] = {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}


class Closed(BaseModel):
    """An answer's shape: no field beyond these."""

    model_config = ConfigDict(extra="forbid")


class PathParameters(BaseModel):
    """Every path parameter of the API, by its name in the routes (a route's converter is the service's to check)."""

    video_id: str = Field(description=f"The video's id (`id` in its JSON), e.g. `{EXAMPLE_ID}`.")
    share_id: int = Field(ge=1, le=MAX_ROW_ID, description="The link's id, as given when it was made (`id`), e.g. `12`.")
    language: str = Field(max_length=MAX_LANGUAGE_LENGTH,
                          description="The caption's language, a BCP 47 tag (`en`, `pt-BR`, `zh-Hant`), in any case.")
    upload_id: str = Field(json_schema_extra={"format": "uuid"}, description="The upload, as its `Location` names it.")
    token_id: int = Field(ge=1, le=MAX_ROW_ID, description="The token's `id`.")
    user_id: int = Field(ge=1, le=MAX_ROW_ID, description="The user's `id`.")


# --- what probing found, and what a player loads -------------------------------------


class AudioTrack(Closed):
    codec: str = Field(description="FFmpeg's codec name, e.g. `aac`, `opus`.")
    language: str | None = Field(description="ISO 639-2 tag (`eng`); null when the file does not say.")
    channels: int | None = Field(ge=1)


class Media(Closed):
    """What probing the file found; null until it has been probed."""

    duration: float | None = Field(ge=0, description="Seconds.")
    width: int | None = Field(ge=0, description="Pixels as shown: the sample aspect applied, swapped with the height "
                              "for a picture turned by a quarter.")
    height: int | None = Field(ge=0, description="Pixels as shown.")
    video_codec: str | None = Field(description="FFmpeg's codec name, e.g. `h264`, `hevc`, `vp9`.")
    audio_codec: str | None = Field(description="e.g. `aac`, `opus`; null without audio.")
    audio_tracks: list[AudioTrack] | None = Field(
        description="Every audio track, in the file's order (the first one's codec is `audio_codec`); empty without "
        "audio; null for a file probed before the portal listed them (process it again)."
    )
    frame_rate: float | None = Field(ge=0, description="Frames per second.")
    bit_rate: int | None = Field(ge=0, description="Bits per second of the whole file.")
    container: str | None = Field(description="e.g. `mp4`, `mov`, `webm`, `matroska`, `avi`.")


class Processing(Closed):
    """The work done after the upload: `done` once everything it needs is there; `failed` says why in `error`."""

    state: ProcessingState
    error: str | None = Field(description="Why it failed; null unless `failed`.")


class Playback(Closed):
    """What a player should load: the original when browsers play it, else its playable copy; null while the copy is made."""

    url: Url
    content_type: str = Field(examples=["video/mp4", "video/webm"])
    source: Literal["original", "copy"]
    sha256: str = Field(pattern=HEX_SHA256, description="Hex SHA-256 of what `url` sends.")


# --- share links ------------------------------------------------------------------------


class ShareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: int | None = Field(DEFAULT_DAYS, ge=MIN_DAYS, le=MAX_DAYS, description=(
        "How many days the link works (a whole number: `6.0` is 6); null or left out means the default."))


class NewShare(Closed):
    id: int = Field(ge=1)
    url: Url = Field(description="The link, `/s/<token>`; shown only now.")
    expires_at: Timestamp = Field(description="When the link stops working, UTC.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "id": 12, "url": "http://localhost:8080/s/Xq3vJ9c0bF1mZtR8yWk2LpA7nD4eHs6u",
        "expires_at": "2026-05-08T09:30:00.123456Z"}]})


class Share(Closed):
    id: int = Field(ge=1)
    expires_at: Timestamp = Field(description="When the link stops (or stopped) working, UTC.")
    created_at: Timestamp = Field(description="When it was made, UTC.")
    created_by: str = Field(description="The username of who made it.")


class ShareList(Closed):
    items: list[Share]

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"items": [{
        "id": 12, "expires_at": "2026-05-08T09:30:00.123456Z", "created_at": "2026-05-01T09:30:00.123456Z",
        "created_by": "alice"}]}]})


# --- uploads ------------------------------------------------------------------------------


class UploadForm(BaseModel):
    # Swagger UI fills each form field with its example, default or a value made up from its pattern, and a
    # made-up checksum fails every upload: the example lives in the description, and "" checks nothing.
    file: bytes = Field(json_schema_extra={"format": "binary", "contentMediaType": "application/octet-stream"},
                        description="The video.")
    sha256: str = Field("", pattern="^([0-9a-fA-F]{64})?$", description=(
        f"The SHA-256 the file must have, in hex, e.g. `{EXAMPLE_SHA256}`; empty or left out checks nothing."))


class UploadQuery(BaseModel):
    filename: str | None = Field(None, description="The file's name for a raw-body upload, e.g. `holiday.mp4` "
                                 "(a form upload brings its own).")
    sha256: str | None = Field(None, pattern=SHA256_PATTERN, json_schema_extra={"allowEmptyValue": True}, description=(
        f"The SHA-256 the file must have, in hex, e.g. `{EXAMPLE_SHA256}` (a raw body and a multipart form alike); "
        "an empty value checks nothing."))


class UploadHeaders(BaseModel):
    content_digest: str | None = Field(None, alias="Content-Digest", description=(
        "RFC 9530 digest the body must have, e.g. `sha-256=:n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=:`. "
        "Only `sha-256` is checked; other algorithms in the list are ignored."))


UPLOAD_BODY: dict[str, Any] = {"multipart/form-data": UploadForm, "application/octet-stream": BINARY}


# --- delivering bytes -------------------------------------------------------------------------


class ContentHeaders(BaseModel):
    range: str | None = Field(None, alias="Range", description=(
        "One byte range, e.g. `bytes=0-1023`, `bytes=1024-` or `bytes=-500`. "
        "Several ranges in one request are answered with the whole file."))
    if_none_match: str | None = Field(None, alias="If-None-Match", description=(
        "An ETag from an earlier download: 304 when the file is still the same."))
    if_range: str | None = Field(None, alias="If-Range", description=(
        "An ETag or date: the range is sent only when it still matches, else the whole file."))


class PosterHeaders(BaseModel):
    if_none_match: str | None = Field(None, alias="If-None-Match", description=(
        "An ETag from an earlier answer: 304 when the poster is still the same."))


def header(description: str = "", **schema: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"schema": schema or {"type": "string"}}
    return {"description": description, **found} if description else found


CONTENT_ETAG = header("The file's SHA-256, quoted; send it back in `If-None-Match` or `If-Range`.")
DELIVERY_HEADERS = {
    "Content-Disposition": header("`attachment` with the original name: an ASCII `filename` and, for other names, "
                                  "the RFC 6266 `filename*` in UTF-8."),
    "ETag": CONTENT_ETAG,
    "Last-Modified": header("When the file was uploaded."),
    "Accept-Ranges": header("Always `bytes`.", type="string", const="bytes"),
    "Repr-Digest": header("RFC 9530 digest of the whole file, so a client can check what it received.",
                          type="string", pattern="^sha-256=:[A-Za-z0-9+/]{43}=:$"),
}
VIDEO_CONTENT = {"video/*": {"schema": BINARY}, "application/octet-stream": {"schema": BINARY}}
POSTER_HEADERS = {"ETag": header("The poster's SHA-256, quoted."),
                  "Cache-Control": header(type="string", const=POSTER_CACHE_CONTROL)}


# --- errors ------------------------------------------------------------------------------------


class ErrorDetail(Closed):
    code: str = Field(pattern="^[a-z0-9_]+$", description="Stable, for programs.")
    message: str = Field(description="For people: says what to fix.")


class Error(Closed):
    """v1's error body."""

    error: ErrorDetail


class Problem(BaseModel):
    """RFC 9457 problem details, with the portal's stable error `code` (and facts such as `retry_after`)."""

    type: str = Field(json_schema_extra={"format": "uri-reference"})
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    instance: str = Field(json_schema_extra={"format": "uri-reference"})
    code: str


class AnyJson(BaseModel):
    """An OpenAPI 3.1 document."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    paths: dict[str, Any]
