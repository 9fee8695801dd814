"""Pieces of request handling shared by the web form and the API upload."""

from __future__ import annotations

from werkzeug.datastructures import FileStorage
from werkzeug.datastructures import MultiDict

from .errors import BadRequest
from .errors import EmptyFile
from .errors import MissingFile
from .videos import IncomingFile

#: Room for multipart boundaries, part headers and small fields on top of the
#: file itself, so that a file of exactly the limit still fits in a form.
MULTIPART_ALLOWANCE = 64 * 1024


def single_uploaded_file(files: MultiDict[str, FileStorage], field: str) -> tuple[IncomingFile, str | None]:
    """The one file sent in ``field``; any other number of files is a client error."""
    parts = list(files.items(multi=True))
    chosen = [storage for name, storage in parts if name == field]
    if not chosen or all(not storage.filename and not _size(storage) for storage in chosen):
        raise MissingFile(f"No file was sent: attach the video as the multipart field '{field}'.")
    if len(parts) > 1:
        raise BadRequest(f"Send exactly one file per request, in the field '{field}' ({len(parts)} were sent).")
    storage = chosen[0]
    if _size(storage) == 0:
        raise EmptyFile()
    return storage.stream, storage.filename  # type: ignore[return-value]


def _size(storage: FileStorage) -> int:
    stream = storage.stream
    return stream.size if isinstance(stream, IncomingFile) else 0
