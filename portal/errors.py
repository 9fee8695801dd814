"""Domain errors: what went wrong, in words a user can act on, and nothing about HTTP.

Services raise these; :mod:`portal.http.errors` holds the one table that turns
each into a status and an error code. Every message says what to fix.
"""

from __future__ import annotations


class PortalError(Exception):
    """Base of every error the portal reports to its user; ``message`` is shown as is."""

    message = "Something went wrong on the server."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message

    def facts(self) -> dict[str, object]:
        """Numbers a script may act on without reading the message; the API adds them to the error's body."""
        return {}


class InvalidInput(PortalError):
    """A parameter, field or header is malformed; the message names it and what it must be."""


class MissingFile(InvalidInput):
    message = "No file was sent: attach the video as the multipart field 'file'."


class EmptyFile(InvalidInput):
    message = "The file is empty: choose a video that has content."


class FileNotAccepted(InvalidInput):
    """A file part was posted where no upload is taken; refused before any byte is stored."""

    message = "This form takes no file: upload videos on the upload page or with POST /api/v1/files."


class VideoNotFound(PortalError):
    message = "No video has this id. It may have been deleted."


class PosterNotFound(PortalError):
    """The video exists but has no poster (yet): its processing makes one."""

    message = (
        "This video has no poster yet: it is made when the video is processed. "
        "See the video's processing state, and try again once it is done."
    )


class PlaybackNotReady(PortalError):
    """The video needs a browser-playable copy, and it is not there (yet)."""

    message = (
        "This video does not play in browsers as it is, and its browser-playable copy is not ready: "
        "see the video's processing state and try again once it is done, or download the original."
    )


class FileUnavailable(PortalError):
    """The stored bytes no longer match the checksum, or are gone."""


class StoredCopyCorrupt(FileUnavailable):
    """A file already found damaged: refused until it is restored or deleted."""

    def __init__(self, filename: str) -> None:
        super().__init__(
            f"The stored copy of {filename!r} does not match its SHA-256 checksum, so it is not served. "
            "Restore it from a backup or delete it."
        )


class RangeNotSatisfiable(PortalError):
    """The requested byte range lies outside the file."""

    def __init__(self, size: int) -> None:
        if size == 0:
            message = "The file is empty: no byte range can be sent; ask for the whole file."
        else:
            message = (
                f"The requested range is outside the file ({size} bytes); ask for bytes within 0-{size - 1}, "
                "or a suffix of at least one byte."
            )
        super().__init__(message)
        self.size = size


class UploadTooLarge(PortalError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The file is larger than the limit of {format_bytes(limit)} ({limit} bytes).")
        self.limit = limit


class QuotaExceeded(PortalError):
    """Storing ``size`` more bytes would take the owner's usage past their quota; nothing was stored."""

    def __init__(self, usage: int, quota: int, size: int) -> None:
        super().__init__(
            f"This upload of {format_bytes(size)} ({size} bytes) would exceed your quota: you use "
            f"{format_bytes(usage)} ({usage} bytes) of {format_bytes(quota)} ({quota} bytes). Nothing was stored; "
            "delete videos and empty your trash to make room, or ask an admin for a larger quota."
        )
        self.usage, self.quota, self.size = usage, quota, size

    def facts(self) -> dict[str, object]:
        return {"usage_bytes": self.usage, "quota_bytes": self.quota, "size_bytes": self.size}


class BodyTooLarge(PortalError):
    """A body over the limit of a route that takes no uploads (a form, a JSON body)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The request body is larger than the limit of {format_bytes(limit)} ({limit} bytes) of this address; "
            "only uploads may send more."
        )
        self.limit = limit


class NotAVideo(PortalError):
    def __init__(self, accepted_formats: str) -> None:
        super().__init__(f"This file is not a video this portal recognises. Accepted formats: {accepted_formats}.")


class ChecksumMismatch(PortalError):
    def __init__(self, actual: str, expected: str) -> None:
        super().__init__(
            f"The file's SHA-256 is {actual} but {expected} was expected: it was damaged on the way. "
            "Nothing was stored; send it again."
        )


class UploadNotFound(PortalError):
    message = (
        "No unfinished upload of yours has this URL: it was finished, cancelled, or expired "
        "(24 hours after its last PATCH by default). Start the upload again with POST /api/v1/uploads."
    )


class OffsetMismatch(PortalError):
    """A PATCH that does not start where the upload stands (tus: 409)."""

    def __init__(self, offset: int, sent: int) -> None:
        super().__init__(
            f"The upload holds {offset} bytes, but the chunk was sent for offset {sent}: "
            "ask HEAD for Upload-Offset and send the bytes from there."
        )
        self.offset = offset


class UploadBusy(PortalError):
    """Another request is writing to the same upload just now (tus servers answer 423)."""

    message = "Another request is writing to this upload just now: wait for it, then ask HEAD for Upload-Offset."


class NotAnUploadChunk(PortalError):
    """A PATCH whose body is not declared as tus bytes (tus: 415)."""

    message = "Send the chunk with Content-Type: application/offset+octet-stream."


class ChunkChecksumMismatch(PortalError):
    """The chunk's bytes do not match its Upload-Checksum (tus: 460); the chunk is not kept."""

    def __init__(self, algorithm: str) -> None:
        super().__init__(
            f"The chunk's {algorithm} does not match its Upload-Checksum: it was damaged on the way and was not kept. "
            "Send it again."
        )


class UnsupportedTusVersion(PortalError):
    """A tus request without ``Tus-Resumable: 1.0.0`` (tus: 412)."""

    message = "This server speaks tus 1.0.0: send the header Tus-Resumable: 1.0.0."


class InsufficientStorage(PortalError):
    message = "The server has no space left to store this file. Nothing was kept; try again later."


class BelowFreeSpaceFloor(InsufficientStorage):
    """Storing the upload would leave the storage folder less free space than PORTAL_MIN_FREE_BYTES keeps."""

    def __init__(self, free: int, floor: int, size: int) -> None:
        super().__init__(
            f"The server keeps at least {format_bytes(floor)} of its disk free for everyone, and has "
            f"{format_bytes(free)} free: this upload of {format_bytes(size)} would leave less. "
            "Nothing was kept; try again once an admin has freed space."
        )
        self.free, self.floor, self.size = free, floor, size

    def facts(self) -> dict[str, object]:
        return {"free_bytes": self.free, "min_free_bytes": self.floor, "size_bytes": self.size}


class InvalidQuota(InvalidInput):
    """A quota that is neither a size, ``none`` nor ``default``."""


class DatabaseUnavailable(PortalError):
    message = "The database is busy or unavailable. Nothing was changed; try again in a moment."


class StoreUnreachable(PortalError):
    message = "The file store cannot be reached. Nothing was changed; try again in a moment."


class ServerStopping(PortalError):
    message = "The server is stopping, so this upload was not finished and nothing of it was kept; send it again."


class QueueUnavailable(PortalError):
    message = "The job queue cannot be reached, so the video's processing was not queued; try again in a moment."


class InvalidUsername(InvalidInput):
    message = (
        "A username is 1 to 64 characters: letters a-z or A-Z, digits, '.', '_' and '-'."
    )


class InvalidPassword(InvalidInput):
    def __init__(self, minimum: int) -> None:
        super().__init__(f"The password is too short: choose one of at least {minimum} characters.")


class InvalidRole(InvalidInput):
    message = "Unknown role: choose viewer, uploader or admin."


class InvalidScope(InvalidInput):
    message = "Unknown or missing scope: give one or more of read, upload, delete and metrics."


class ScopeAboveRole(InvalidScope):
    """A token would carry more than its owner's role allows."""

    def __init__(self, username: str, role: str, allowed: str) -> None:
        super().__init__(
            f"{username!r} is a {role}, whose tokens may carry only: {allowed}. "
            "Ask for fewer scopes, or give the user a higher role first."
        )


class ScopeAboveToken(InvalidScope):
    """A token asked for a new token carrying more than it carries itself."""

    def __init__(self, held: str) -> None:
        super().__init__(
            f"A token may make tokens of its own scopes at most, and this one carries only: {held}. "
            "Ask for fewer scopes, or sign in to the web pages."
        )


class InvalidLabel(InvalidInput):
    def __init__(self, longest: int) -> None:
        super().__init__(f"A token's label is text of at most {longest} characters, without NUL characters.")


class InvalidExpiry(InvalidInput):
    message = (
        "A token lives a whole number of days, at least 1 and at most 36500 (a century); "
        "leave the days out for a token that does not expire."
    )


class UserNotFound(PortalError):
    def __init__(self, username: str) -> None:
        super().__init__(f"No user is called {username!r}; see the list of users.")


class UserIdNotFound(UserNotFound):
    def __init__(self, user_id: int | str) -> None:
        PortalError.__init__(self, f"No user has the id {user_id}; see the list of users.")


class UserExists(PortalError):
    def __init__(self, username: str) -> None:
        super().__init__(f"A user called {username!r} exists already (names are the same regardless of case).")


class LastAdmin(PortalError):
    """The change would leave no enabled admin, and nobody could manage users any more."""

    def __init__(self, username: str) -> None:
        super().__init__(
            f"{username!r} is the last enabled admin: make another user an admin first, then try again."
        )


class TokenNotFound(PortalError):
    def __init__(self, token_id: int | str) -> None:
        super().__init__(f"No token has the id {token_id}; see the list of tokens.")


class Unauthorized(PortalError):
    """No caller, or credentials that do not identify one (a bad, expired or revoked token)."""

    def __init__(self, message: str = "Sign in, or send an API token as 'Authorization: Bearer <token>'.") -> None:
        super().__init__(message)


class Forbidden(PortalError):
    """A known caller asking for what their role, their token's scopes or the video's owner does not allow."""


class CsrfTokenMissing(InvalidInput):
    def __init__(self) -> None:
        super().__init__(
            "A request signed in with the session cookie that changes something must send the page's CSRF token "
            "in the X-CSRFToken header; scripts should send an API token as 'Authorization: Bearer <token>' instead."
        )


class SignInFailed(PortalError):
    def __init__(self) -> None:
        super().__init__("Wrong username or password, or the account is disabled.")


class WrongPassword(InvalidInput):
    def __init__(self) -> None:
        super().__init__("The current password is wrong: type the password you sign in with now.")


class TooManyRequests(PortalError):
    """Something the caller may start only so many of at once; ``retry_after``: seconds until one may end (None: unknown)."""

    retry_after: int | None = None


class TooManyOpenUploads(TooManyRequests):
    """The user already holds ``limit`` unfinished resumable uploads (PORTAL_MAX_OPEN_UPLOADS)."""

    def __init__(self, count: int, limit: int, expiry_hours: float, retry_after: int | None = None) -> None:
        super().__init__(
            f"You have {count} unfinished uploads, the most one user may hold at once (PORTAL_MAX_OPEN_UPLOADS is {limit}). "
            "Finish one, cancel one you will not finish with DELETE on its URL, or wait until one expires "
            f"({expiry_hours:g} hours after its last chunk), then start this one again."
        )
        self.count, self.limit, self.retry_after = count, limit, retry_after

    def facts(self) -> dict[str, object]:
        return {"open_uploads": self.count, "max_open_uploads": self.limit}


class TooManyVerifies(TooManyRequests):
    """The user has ``limit`` verifies in progress already; each re-reads a whole file."""

    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__(
            f"You have {limit} verifies in progress, the most one user may run at once: each re-reads a whole file. "
            f"Try again in {retry_after} seconds, once one has finished."
        )
        self.limit, self.retry_after = limit, retry_after

    def facts(self) -> dict[str, object]:
        return {"max_verifies": self.limit}


class TooManyAttempts(TooManyRequests):
    """Five failed attempts for a name or from an address within the window: wait ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, -(-retry_after // 60))
        super().__init__(f"Too many failed attempts: try again in {minutes} minute{'s' if minutes != 1 else ''}.")
        self.retry_after = retry_after


class ShareNotFound(PortalError):
    def __init__(self) -> None:
        super().__init__("No share link has this id, or it was revoked; see the video's list of shares.")


class ShareLinkUnavailable(ShareNotFound):
    """What a visitor opening ``/s/<token>`` is told: nothing of why, since it tells nothing of which links exist."""

    def __init__(self) -> None:
        PortalError.__init__(
            self, "This share link does not exist, has expired or was revoked: ask whoever sent it for a new one."
        )


class InvalidShareDays(InvalidInput):
    def __init__(self, minimum: int, maximum: int) -> None:
        super().__init__(f"'days' must be a whole number from {minimum} to {maximum}.")


#: Said for any CSRF failure (missing, wrong or stale token): the usual cause is a page left open too long.
FORM_EXPIRED_MESSAGE = "Sorry, the form expired, please try again."


def format_bytes(size: int) -> str:
    """Human units (binary), e.g. ``1.5 MiB``."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            if unit == "bytes":
                return f"{int(value)} bytes"
            return f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


# A video's details and v2's catalog (portal.library.catalog, /api/v2).
class InvalidCursor(InvalidInput):
    message = (
        "The cursor is not one this listing gave out (or it was changed): start again without 'cursor', "
        "and pass back next_cursor exactly as received, with the same sort."
    )


class InvalidDetails(InvalidInput):
    """A title, description or tag list that breaks a rule; the message names the field and the rule."""


class UnsupportedBodyType(PortalError):
    """A body sent in a format the operation does not take; the message names the one it takes."""


class DetailsVersionRequired(PortalError):
    message = (
        "Changing a video's details needs the If-Match header with the ETag of the version you edited "
        "(GET the video first), so that nobody's changes are overwritten unseen."
    )


class StaleDetails(PortalError):
    message = (
        "Someone else saved changes to this video's details after the version you edited: "
        "GET it again, apply your change to what is there now, and send it with the new ETag."
    )


# Captions of a video (portal.library.captions).
class CaptionNotFound(PortalError):
    message = "This video has no caption in that language: list its captions to see which it has."


class InvalidLanguage(InvalidInput):
    """A language that is not a BCP 47 tag; the message shows what one looks like."""


class CaptionTooLarge(PortalError):
    """A caption file over the limit; refused before it is parsed."""


class InvalidCaption(PortalError):
    """A caption file that is not UTF-8 text, not SRT or WebVTT, or has a cue that breaks a rule; the message says where."""


class CaptionVersionRequired(PortalError):
    message = (
        "Replacing or removing a caption needs the If-Match header with the caption's ETag "
        "(GET it first), so that nobody's caption is overwritten unseen."
    )


class StaleCaption(PortalError):
    message = (
        "This caption changed after the version you named (or there is none to match): "
        "GET it again and send its current ETag in If-Match."
    )
