"""The request class: file parts stream into storage on the views that take uploads, and nowhere else; each route's body limit.

Werkzeug would spool every file part to a temporary file and leave the copying
and hashing for later; here a part is written once, to where it will be kept,
hashed on the way (:class:`~portal.uploads.intake.IncomingFile`). Only views
marked with :func:`takes_uploads` get that: a file part posted to any other
form (delete, verify, sign-in) is refused with :class:`~portal.errors.FileNotAccepted`
as soon as the parser meets it, before a byte is stored. That matters because
Flask-WTF's CSRF check parses every POSTed form before any view runs.

Only the views that take uploads (:func:`takes_uploads`) and tus chunks
(:func:`takes_chunks`) take bodies up to ``MAX_CONTENT_LENGTH``; every other
route takes :data:`SMALL_BODY_LIMIT`, far more than any form or JSON body
needs. The server answers a body over its route's limit from the headers
(:mod:`portal.http.headers_first`).
"""

from __future__ import annotations

import io
from typing import IO
from typing import TYPE_CHECKING
from typing import Any
from typing import Callable
from typing import TypeVar

from flask import Request
from flask import current_app
from flask import request
from werkzeug.datastructures import FileStorage

from ..errors import BodyTooLarge
from ..errors import EmptyFile
from ..errors import FileNotAccepted
from ..errors import InvalidInput
from ..errors import MissingFile
from ..errors import PortalError
from ..errors import UploadTooLarge
from .intake import IncomingFile
from .intake import begin_upload
from .quota import room_for

if TYPE_CHECKING:
    from ..accounts.models import User
    from .quota import Room

View = TypeVar("View", bound=Callable[..., Any])

#: The body limit of every route but uploads: no form or JSON body the portal takes comes near it.
SMALL_BODY_LIMIT = 1024 * 1024

#: The view functions whose requests may carry files into storage.
_UPLOAD_VIEWS: set[Callable[..., Any]] = set()
#: The view functions that take a body up to ``MAX_CONTENT_LENGTH`` (uploads, and tus chunks).
_LARGE_BODY_VIEWS: set[Callable[..., Any]] = set()


#: The views that take one small file (a caption): the most bytes of it they read, and their 413 past that.
_SMALL_FILE_VIEWS: dict[Callable[..., Any], tuple[int, Callable[[], PortalError]]] = {}


def takes_uploads(view: View) -> View:
    """Mark ``view`` as one that takes uploads: its file parts stream into storage."""
    _UPLOAD_VIEWS.add(view)
    return takes_chunks(view)


def takes_chunks(view: View) -> View:
    """Mark ``view`` as one whose body may be as large as a file (a tus chunk), with no file parts."""
    _LARGE_BODY_VIEWS.add(view)
    return view


def takes_small_file(limit: int, too_large: Callable[[], PortalError]) -> Callable[[View], View]:
    """Mark ``view`` as one whose file parts are small texts, kept in memory (:class:`SmallFile`), never in storage.

    Its body may hold ``limit`` bytes and a form's parts (or a raw body one byte past
    ``limit``, so the view can tell it is too large); past that the server answers
    ``too_large()`` before the body is read.
    """

    def mark(view: View) -> View:
        _SMALL_FILE_VIEWS[view] = (limit, too_large)
        return view

    return mark


class SmallFile(io.BytesIO):
    """A file part kept in memory up to one byte past ``limit``: enough for the view to tell it is too large.

    What comes after that byte is counted and dropped, so a huge part costs no memory.
    """

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def write(self, data: Any) -> int:
        room = self.limit + 1 - self.tell()
        if room > 0:
            super().write(bytes(data[:room]))
        return len(data)


class PortalRequest(Request):
    """Streams each uploaded file part of an upload view straight into storage."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Every upload this request opened, in order; closed (and so discarded
        #: unless committed) with the request, even when parsing failed halfway.
        self.incoming_files: list[IncomingFile] = []
        #: Who the files go to, once the request's caller is known (before any body is read):
        #: their quota holds the files to its room as they arrive.
        self.uploader: User | None = None
        self._room: Room | None = None

    def _view(self) -> Callable[..., Any] | None:
        return current_app.view_functions.get(self.endpoint) if self.endpoint else None

    def takes_uploads(self) -> bool:
        return self._view() in _UPLOAD_VIEWS

    def body_limit(self) -> int:
        """The most bytes this route's body may have: a file's (an upload's, a small one's) and its form, or the small limit."""
        view = self._view()
        if view in _SMALL_FILE_VIEWS:
            return max(SMALL_BODY_LIMIT, _SMALL_FILE_VIEWS[view][0] + int(current_app.config["MULTIPART_ALLOWANCE"]))
        if view not in _LARGE_BODY_VIEWS:
            return SMALL_BODY_LIMIT
        limit = int(current_app.config["MAX_CONTENT_LENGTH"])
        if self.mimetype == "multipart/form-data":
            # The file itself is held to the limit while it streams in (IncomingFile).
            return limit + int(current_app.config["MULTIPART_ALLOWANCE"])
        return limit

    def too_large(self) -> PortalError:
        """The 413 of a body over :meth:`body_limit`, naming this route's limit (an upload's: the file's)."""
        view = self._view()
        if view in _SMALL_FILE_VIEWS:
            return _SMALL_FILE_VIEWS[view][1]()
        if view in _LARGE_BODY_VIEWS:
            return UploadTooLarge(int(current_app.config["MAX_CONTENT_LENGTH"]))
        return BodyTooLarge(SMALL_BODY_LIMIT)

    def takes_files(self) -> bool:
        """Whether this request's file parts are read at all: into storage, or as a small file."""
        return self.takes_uploads() or self._view() in _SMALL_FILE_VIEWS

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        if self.routing_exception is not None:
            # No view answers this URL or method: say that (404, 405), not something about files.
            raise self.routing_exception
        view = self._view()
        if view in _SMALL_FILE_VIEWS:
            return SmallFile(_SMALL_FILE_VIEWS[view][0])
        if not self.takes_uploads():
            raise FileNotAccepted()
        if not self.incoming_files:
            # Asked once: the files of one form share the room, and the floor is checked with the whole body.
            self._room = room_for(self.uploader) if self.uploader is not None else None
            incoming = begin_upload(self._room, space=total_content_length)
        else:
            incoming = begin_upload(self._room)
        self.incoming_files.append(incoming)
        return incoming

    def incoming_for(self, file: FileStorage) -> IncomingFile:
        """The upload a parsed file part was streamed into."""
        for incoming in self.incoming_files:
            if incoming is file.stream:
                return incoming
        raise MissingFile()

    def uploaded_file(self, field: str) -> tuple[IncomingFile, str | None]:
        """The one file sent in ``field``; any other number of files is a client error."""
        parts = list(self.files.items(multi=True))
        chosen = [file for name, file in parts if name == field]
        if not chosen or all(not file.filename and not self.incoming_for(file).size for file in chosen):
            raise MissingFile(f"No file was sent: attach the video as the multipart field '{field}'.")
        if len(parts) > 1:
            raise InvalidInput(f"Send exactly one file per request, in the field '{field}' ({len(parts)} were sent).")
        incoming = self.incoming_for(chosen[0])
        if incoming.size == 0:
            raise EmptyFile()
        return incoming, chosen[0].filename

    @property
    def max_content_length(self) -> int | None:
        """The route's :meth:`body_limit`, with room for a raw body of exactly the limit.

        A multipart body may exceed the file limit by its boundaries and small
        fields; the file itself is held to the limit while it streams in (by
        :class:`~portal.uploads.intake.IncomingFile`), so a browser form carrying
        a file of exactly the limit is accepted, as it is by the API. This must
        hold before any view runs, because the CSRF check parses the form first.
        """
        if self._max_content_length is not None or current_app.config["MAX_CONTENT_LENGTH"] is None:
            return self._max_content_length
        limit = self.body_limit()
        if self.mimetype == "multipart/form-data":
            return limit
        if self.content_length is not None and self.content_length > limit:
            return limit
        # Behind a server that ends the body itself (waitress), Werkzeug caps the stream at this
        # length and raises when a read reaches the cap, even where the body ends exactly there:
        # one byte of room lets a body of exactly the limit end, and the file's own count refuses
        # the byte past it.
        return limit + 1

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    def close(self) -> None:
        super().close()
        for incoming in self.incoming_files:
            incoming.close()


def refuse_file_parts_off_upload_views() -> None:
    """Parse a multipart body sent to a view that takes no uploads, so a file part in it is refused.

    No view but an upload view reads such a body; without this, a file sent
    to ``DELETE /api/v1/files/<id>`` would be silently ignored and the delete
    done. Parsing it here meets the first file part and raises
    :class:`~portal.errors.FileNotAccepted` before a byte is stored; a form of
    plain fields passes.
    """
    if request.mimetype == "multipart/form-data" and not portal_request().takes_files():
        request.files  # noqa: B018  (parsing is the point: it raises at the first file part)


def portal_request() -> PortalRequest:
    """The current request, as the portal's request class (installed by :func:`portal.create_app`)."""
    assert isinstance(request, PortalRequest), "create_app sets PortalRequest as the request class"
    return request
