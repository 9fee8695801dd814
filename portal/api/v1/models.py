"""The requests and answers of /api/v1 as models: what its document shows (:mod:`portal.api.spec`).

Changing a field here is a v1 contract change. Limits and defaults come from the
code that enforces them (the listing, the formats table, the settings).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from typing import ClassVar
from typing import Literal

from flask import current_app
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field

from ...accounts.models import Role
from ...accounts.models import Scope
from ...library.formats import FORMATS
from ...library.listing import DEFAULT_SORT
from ...library.listing import MAX_PAGE
from ...library.listing import MAX_PER_PAGE
from ...library.listing import MAX_QUERY_LENGTH
from ...library.listing import SORT_VALUES
from ...library.listing import default_per_page
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

BASE = f"http://localhost:8080/api/v1/files/{EXAMPLE_ID}"
EXAMPLE_FILE: dict[str, Any] = {
    "id": EXAMPLE_ID, "filename": EXAMPLE_FILENAME, "content_type": "video/mp4", "size": EXAMPLE_SIZE,
    "sha256": EXAMPLE_SHA256, "status": "ok", "created_at": "2026-05-01T09:30:00.123456Z",
    "verified_at": "2026-05-01T09:30:00.123456Z", "owner": "alice", "url": BASE, "content_url": f"{BASE}/content",
    "media": {"duration": 62.4, "width": 1920, "height": 1080, "video_codec": "h264", "audio_codec": "aac",
              "audio_tracks": [{"codec": "aac", "language": "eng", "channels": 2},
                               {"codec": "aac", "language": "fra", "channels": 2}],
              "frame_rate": 25.0, "bit_rate": 4718592, "container": "mp4"},
    "processing": {"state": "done", "error": None},
    "playback": {"url": f"{BASE}/playback", "content_type": "video/mp4", "source": "original", "sha256": EXAMPLE_SHA256},
}
EXAMPLE_TRASHED_FILE: dict[str, Any] = {**EXAMPLE_FILE, "deleted_at": "2026-05-02T10:00:00.123456Z",
                                        "deleted_by": "alice", "purge_at": "2026-06-01T10:00:00.123456Z"}
#: Each content type a stored file can have, in the order of the formats table.
CONTENT_TYPES = list(dict.fromkeys(video_format.content_type for video_format in FORMATS))


class File(Closed):
    """A stored video."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_FILE]})

    id: str = Field(json_schema_extra={"format": "uuid"}, description="Opaque, unguessable id.")
    filename: str = Field(max_length=255, description="The client's name, without folders or control characters.")
    content_type: str = Field(json_schema_extra={"enum": list[Any](CONTENT_TYPES)},
                              description="Recognised from the bytes, not from the client's claim.")
    size: int = Field(ge=1, description="Bytes.")
    sha256: str = Field(pattern=HEX_SHA256, description="Hex SHA-256.")
    status: Literal["ok", "corrupt", "missing"] = Field(
        description="What the last look at the bytes found; only `ok` files are served.")
    created_at: Timestamp = Field(description="Upload time, UTC.")
    verified_at: Timestamp | None = Field(description="When the bytes were last checked against the checksum, UTC.")
    owner: str | None = Field(description="The username of who uploaded it. Null only while no admin exists: files "
                              "stored before the portal had accounts go to the first admin.")
    url: Url = Field(description="This file's JSON.")
    content_url: Url = Field(description="This file's bytes.")
    media: Media | None
    processing: Processing
    playback: Playback | None


class StoredFile(File):
    """A file just uploaded, and the first file with the same bytes the caller may see."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {**EXAMPLE_FILE, "duplicate_of": "0b9f7a52-5a3c-4d64-9d3b-2f4c1e7a9e10"}]})

    duplicate_of: str = Field(None, description="The id of a file with the same bytes: the caller's own, or anyone's "  # type: ignore[assignment]
                              "for an admin. Absent when there is none.")


class TrashedFile(File):
    """A file in the trash: its JSON, and when and by whom it was deleted, and when it goes for good."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_TRASHED_FILE]})

    deleted_at: Timestamp = Field(description="When it was moved to the trash, UTC.")
    deleted_by: str | None = Field(description="The username of who deleted it.")
    purge_at: Timestamp = Field(description="When it will be purged for good, UTC.")


def _page_example(item: dict[str, Any]) -> Any:
    return lambda: {"items": [item], "total": 1, "page": 1, "per_page": default_per_page()}


class Page(Closed):
    items: list[File] = Field(max_length=MAX_PER_PAGE)
    total: int = Field(ge=0, description="Files matching `q`, on all pages.")
    page: int = Field(ge=1)
    per_page: int = Field(ge=1, le=MAX_PER_PAGE)

    document_example: ClassVar[Callable[[], Any]] = _page_example(EXAMPLE_FILE)


class TrashPage(Closed):
    items: list[TrashedFile] = Field(max_length=MAX_PER_PAGE)
    total: int = Field(ge=0, description="Files in the trash matching `q`, on all pages.")
    page: int = Field(ge=1)
    per_page: int = Field(ge=1, le=MAX_PER_PAGE)

    document_example: ClassVar[Callable[[], Any]] = _page_example(EXAMPLE_TRASHED_FILE)


class TrashUsage(Closed):
    """What the trash the caller may act on holds (admins: everyone's)."""

    count: int = Field(ge=0, description="Files in the trash.")
    bytes: int = Field(ge=0, description="Their bytes and copies.")


class Me(Closed):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "dependentRequired": {"scopes": ["token_id"], "token_id": ["scopes"]},
        "examples": [{"username": "alice", "role": "uploader", "scopes": ["read", "upload", "delete"], "token_id": 3,
                      "trash": {"count": 1, "bytes": EXAMPLE_SIZE}}]})

    username: str
    role: Role
    scopes: list[Scope] = Field(None, json_schema_extra={"uniqueItems": True},  # type: ignore[arg-type]
                                description="Only with a token: what it may do, within the role.")
    token_id: int = Field(None, description="Only with a token: its id (`tokens list`).")  # type: ignore[assignment]
    trash: TrashUsage


# --- queries --------------------------------------------------------------------------------


def _per_page(schema: dict[str, Any]) -> None:
    """The default is the portal's ``PER_PAGE`` setting, read when the document is built."""
    schema.update(default=default_per_page(), allowEmptyValue=True)


class TrashQuery(BaseModel):
    page: int | None = Field(None, ge=1, le=MAX_PAGE, json_schema_extra={"default": 1, "allowEmptyValue": True},
                             description="Page number, from 1. An empty value means the default.")
    per_page: int | None = Field(None, ge=1, le=MAX_PER_PAGE, json_schema_extra=_per_page, description=(
        f"Files per page, at most {MAX_PER_PAGE}. An empty value means the default (the portal's `PER_PAGE` setting)."))
    q: str | None = Field(None, max_length=MAX_QUERY_LENGTH,
                          description="Only files whose name contains this text (case-insensitive), e.g. `holiday`.")


class ListQuery(TrashQuery):
    sort: str | None = Field(None, json_schema_extra={"enum": list(SORT_VALUES), "default": DEFAULT_SORT,
                                                      "allowEmptyValue": True},
                             description="Order by a field; a leading `-` sorts descending. An empty value means the default.")


# --- tus ------------------------------------------------------------------------------------------


def _upload_length(schema: dict[str, Any]) -> None:
    from ...uploads.intake import upload_limit

    schema.update(maximum=upload_limit(), description=f"The file's size in bytes, at most {upload_limit()}.")


class TusHeaders(BaseModel):
    tus_resumable: Literal["1.0.0"] = Field(alias="Tus-Resumable", description="The tus version the client speaks.")


class CreationHeaders(TusHeaders):
    upload_length: int = Field(alias="Upload-Length", ge=1, json_schema_extra=_upload_length)
    upload_metadata: str | None = Field(None, alias="Upload-Metadata",
                                        description="Comma-separated `key base64(value)`: `filename`, `sha256`.")


class ChunkHeaders(TusHeaders):
    upload_offset: int = Field(alias="Upload-Offset", ge=0,
                               description="Where the chunk starts: the upload's current offset.")
    upload_checksum: str | None = Field(None, alias="Upload-Checksum", description=(
        "`sha1 <base64>` or `sha256 <base64>` of the chunk; a mismatch keeps nothing."))


OFFSET = header("Bytes of the file the portal holds.", type="integer", minimum=0)
FILE_URL = header("The finished upload's file JSON (`GET /api/v1/files/{video_id}`).")


def expires() -> dict[str, Any]:
    hours = current_app.config["UPLOAD_EXPIRY_HOURS"]
    return header(f"When the unfinished upload is removed: {hours} hours after its last chunk.")
