"""``upload``: tus resumable uploads with tuspy, resumed after a crash, checked by SHA-256 at both ends.

The upload's URL is kept per file (its path, size and modification time, and
the portal) in a small JSON store in the user's state folder, through tuspy's
url storage interface: a run after a crash, a kill or a dropped line finds it,
asks the portal for the offset (HEAD) and sends the rest. The entry goes once
the upload is done or the portal has dropped it. The whole file's SHA-256 goes with the
creation (``sha256`` metadata) for the portal to check, and is compared with
the stored file's JSON at the end.

Each PATCH carries at most ``chunk_size`` bytes, streamed from the file in
small blocks (tuspy itself would read a whole chunk into memory), which also
moves the progress bar smoothly, with the chunk's SHA-256 as ``Upload-Checksum``
(the file is read twice, the second time mostly from the page cache) so a chunk
damaged on the way is refused (460) and sent again rather than spoiling the
whole upload. A dropped connection or a 5xx is retried a few times from the
portal's offset; any other refusal ends that file's upload.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import IO
from typing import Any
from typing import Callable

import requests
from tqdm import tqdm
from tusclient.client import TusClient
from tusclient.exceptions import TusCommunicationError
from tusclient.exceptions import TusUploadFailed
from tusclient.fingerprint.interface import Fingerprint
from tusclient.request import TusRequest
from tusclient.storage.interface import Storage
from tusclient.uploader import Uploader

from .api import TIMEOUT
from .api import ClientError
from .api import Portal
from .api import hint_for
from .api import message_of
from .config import read_json
from .config import state_dir
from .config import write_private_json

#: Bytes of one PATCH unless ``--chunk-size`` says otherwise.
DEFAULT_CHUNK_SIZE = 16 * 1024 * 1024
#: Bytes read from the file at a time while hashing and sending.
BLOCK_SIZE = 1024 * 1024
#: How often a dropped connection (or a 5xx, a 423) is tried again, waiting RETRY_DELAY, then twice
#: that, ... up to MAX_RETRY_DELAY: 71 s in all, well past the lease by which a chunk of a portal
#: process that died mid-write keeps the upload (423 until it ends).
RETRIES = 7
RETRY_DELAY = 1.0
MAX_RETRY_DELAY = 20.0
#: Seconds to connect, and to wait for the answer of a PATCH once sent: the last one waits for the
#: checks of the whole file, which take a while for a large one.
PATCH_TIMEOUT = (10, 600)
#: Statuses after which the same PATCH may succeed: the offset moved, another request was still
#: writing to the upload (423: the cut one of a killed run, say), the chunk was damaged on the way
#: (460: its Upload-Checksum did not match), or the portal was restarting.
RETRYABLE_STATUSES = (409, 423, 460, 500, 502, 503, 504)
#: Statuses after which the portal has no such upload any more: it expired, or its last PATCH was
#: refused by the checks of any upload (too large, not a video, checksum, disk full). After any
#: other failure (a refused token, a portal that is down) the next run continues it.
GONE_STATUSES = (404, 410, 413, 415, 422, 507)


def uploads_file() -> Path:
    return state_dir() / "uploads.json"


class UploadStore(Storage):
    """tuspy's url storage in one JSON file (mode 0600: an upload's URL lets its owner's token continue it)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get_item(self, key: str) -> str | None:
        value = read_json(self.path).get(key)
        return value if isinstance(value, str) else None

    def set_item(self, key: str, value: str | None) -> None:
        # tuspy sets what it found, None included, before it creates an upload: None keeps nothing.
        if value is None:
            self.remove_item(key)
            return
        items = read_json(self.path)
        items[key] = value
        write_private_json(self.path, items)

    def remove_item(self, key: str) -> None:
        items = read_json(self.path)
        if key in items:
            del items[key]
            write_private_json(self.path, items)

    def others_of_the_same_file(self, key: str) -> dict[str, str]:
        """The kept uploads of the same portal and path as ``key`` but of another size or time: the file changed."""
        same_file = json.loads(key)[:2]
        found = {}
        for other, url in read_json(self.path).items():
            try:
                other_file = json.loads(other)[:2]
            except ValueError:
                continue
            if other != key and other_file == same_file and isinstance(url, str):
                found[other] = url
        return found


def fingerprint_of(portal_url: str, path: str) -> str:
    """What identifies one file's upload: the portal, and the file's real path, size and modification time."""
    stat = os.stat(path)
    return json.dumps([portal_url, os.path.realpath(path), stat.st_size, stat.st_mtime_ns])


class FileFingerprint(Fingerprint):
    """tuspy's fingerprint of a file opened from its path (see :func:`fingerprint_of`); cheap for any size."""

    def __init__(self, portal_url: str) -> None:
        self.portal_url = portal_url

    def get_fingerprint(self, fs: IO) -> str:
        return fingerprint_of(self.portal_url, fs.name)


class BodyReader:
    """``length`` bytes of ``file`` from where it is, read by the HTTP library block by block.

    ``__len__`` gives requests the Content-Length, so the PATCH is not sent chunked.
    """

    def __init__(self, file: IO[bytes], length: int, on_read: Callable[[int], None]) -> None:
        self.file = file
        self.left = length
        self.length = length
        self.on_read = on_read

    def __len__(self) -> int:
        return self.length

    def read(self, size: int = -1) -> bytes:
        want = self.left if size is None or size < 0 else min(size, self.left)
        data = self.file.read(min(want, BLOCK_SIZE)) if want else b""
        self.left -= len(data)
        if data:
            self.on_read(len(data))
        return data


class StreamingRequest(TusRequest):
    """tuspy's PATCH with the chunk streamed from the file rather than read into memory whole."""

    def __init__(self, uploader: StreamingUploader) -> None:
        super().__init__(uploader)
        self.on_read = uploader.on_read

    def chunk_checksum(self) -> str:
        """The ``Upload-Checksum`` of the chunk about to be sent: read once more from the file, in blocks."""
        start = self.file.tell()
        digest = hashlib.sha256()
        left = self._content_length
        while left > 0 and (block := self.file.read(min(left, BLOCK_SIZE))):
            digest.update(block)
            left -= len(block)
        self.file.seek(start)
        return "sha256 " + base64.b64encode(digest.digest()).decode("ascii")

    def perform(self) -> None:
        headers = {**self._request_headers, "upload-checksum": self.chunk_checksum()}
        body = BodyReader(self.file, self._content_length, self.on_read)
        try:
            response = requests.patch(
                self._url,
                data=body,
                headers=headers,
                timeout=PATCH_TIMEOUT,
                verify=self.verify_tls_cert,
                cert=self.client_cert,
            )
            self.status_code = response.status_code
            self.response_content = response.content
            self.response_headers = {k.lower(): v for k, v in response.headers.items()}
        except requests.exceptions.RequestException as error:
            raise TusUploadFailed(error) from None
        finally:
            self.file.close()


class StreamingUploader(Uploader):
    """tuspy's uploader sending :class:`StreamingRequest` PATCHes; retries are the caller's (:func:`send`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Told the count of every block read from the file: the progress bar's update.
        self.on_read: Callable[[int], None] = lambda count: None
        #: The headers of the last PATCH's answer (lower case): the final one names the stored file.
        self.last_headers: dict[str, str] = {}

    def _do_request(self) -> None:
        request = StreamingRequest(self)
        self.request = request  # type: ignore[assignment]  # tuspy declares the attribute as None only
        request.perform()
        self.last_headers = request.response_headers
        if not 200 <= (request.status_code or 0) < 300:
            raise TusUploadFailed("", request.status_code, request.response_content)


def file_sha256(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file, tqdm(
        total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=f"hashing {path.name}", disable=None, leave=False
    ) as bar:
        while block := file.read(BLOCK_SIZE):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


def refusal(error: TusCommunicationError, portal: Portal, what: str) -> ClientError:
    """A :class:`ClientError` for a failed tus request, with the portal's own message when it sent one."""
    if error.status_code is None:
        return ClientError(
            f"Cannot reach the portal at {portal.url}: check that it is running, "
            "then run the same command again to continue the upload."
        )
    try:
        message = message_of(json.loads(error.response_content))
    except (ValueError, KeyError, TypeError):
        message = f"the portal answered {error.status_code}"
    if what == "create" and error.status_code in (404, 405):
        message = f"{portal.url} does not take resumable (tus) uploads at {portal.api('/uploads')}: update the portal"
    return ClientError(f"{error.status_code}: {message.rstrip('.')}. {hint_for(error.status_code)}".strip())


class Upload:
    """The upload of one file to ``portal``, resumed from the store when an earlier run began it."""

    def __init__(self, portal: Portal, path: Path, store: UploadStore, chunk_size: int) -> None:
        self.portal = portal
        self.path = path
        self.store = store
        self.chunk_size = chunk_size
        self.client = TusClient(portal.api("/uploads"), headers=portal.auth_headers)

    def run(self) -> dict[str, Any]:
        """Upload the file; the stored file's JSON, whose sha256 is the file's."""
        if not self.path.is_file():
            raise ClientError(f"{self.path} is not a file: give the path of a video.")
        size = self.path.stat().st_size
        if size == 0:
            raise ClientError(f"{self.path} is empty: there is nothing to upload.")
        key = fingerprint_of(self.portal.url, str(self.path))
        try:
            sha256 = file_sha256(self.path, size)
        except OSError as error:
            raise ClientError(f"Cannot read {self.path}: {error.strerror}.") from None
        self.abandon_older_versions(key)
        uploader = self.uploader(sha256, key)
        if uploader.url:
            print(f"resuming {self.path.name} at {uploader.offset * 100 // size}%", file=sys.stderr)
        try:
            file_url = self.send(uploader, size)
        except TusCommunicationError as error:
            if error.status_code in GONE_STATUSES:
                self.store.remove_item(key)
            raise refusal(error, self.portal, "send") from None
        self.store.remove_item(key)
        file = self.portal.file_at(file_url)
        if file.get("sha256") != sha256:
            raise ClientError(
                f"The portal stored {self.path.name} with SHA-256 {file.get('sha256')}, not {sha256}: "
                f"delete it (portal-client rm {file.get('id')}) and upload it again."
            )
        return file

    def abandon_older_versions(self, key: str) -> None:
        """Cancel (tus termination) and forget the unfinished uploads of this path from before it changed.

        They can never be continued, and cancelling frees their bytes on the
        portal now rather than at their expiry; a failure only leaves that to
        the expiry.
        """
        for other, url in self.store.others_of_the_same_file(key).items():
            try:
                self.portal.session.delete(url, headers={"Tus-Resumable": "1.0.0"}, timeout=TIMEOUT)
            except requests.exceptions.RequestException:
                pass
            self.store.remove_item(other)

    def uploader(self, sha256: str, key: str) -> StreamingUploader:
        """tuspy's uploader, at the offset of the stored upload when one is kept and the portal still has it."""
        for attempt in range(2):
            try:
                return StreamingUploader(
                    file_path=str(self.path),
                    client=self.client,
                    chunk_size=self.chunk_size,
                    metadata={"filename": self.path.name, "sha256": sha256},
                    store_url=True,
                    url_storage=self.store,
                    fingerprinter=FileFingerprint(self.portal.url),
                )
            except TusCommunicationError as error:
                if attempt == 0 and error.status_code in (404, 410):
                    # The kept upload expired or was removed: begin a new one.
                    self.store.remove_item(key)
                    continue
                raise refusal(error, self.portal, "resume") from None
        raise AssertionError("unreachable")

    def send(self, uploader: StreamingUploader, size: int) -> str:
        """Send what the portal lacks; the ``Portal-File-URL`` of the finished upload."""
        with tqdm(
            total=size, initial=uploader.offset, unit="B", unit_scale=True, unit_divisor=1024,
            desc=self.path.name, disable=None,
        ) as bar:
            uploader.on_read = bar.update
            if not uploader.url:
                try:
                    uploader.set_url(uploader.create_url())
                except TusCommunicationError as error:
                    raise refusal(error, self.portal, "create") from None
                uploader.offset = 0
            tries = 0
            while uploader.offset < size:
                try:
                    uploader.upload_chunk()
                    tries = 0
                except TusUploadFailed as error:
                    tries = self.wait_to_retry(uploader, error, tries)
                bar.n = uploader.offset
                bar.refresh()
        return uploader.last_headers.get(self.portal.finished_header.lower()) or self.finished_file_url(str(uploader.url))

    def wait_to_retry(self, uploader: StreamingUploader, error: TusCommunicationError, tries: int) -> int:
        """Wait, then take the portal's offset, for as long as the failure may pass; the tries made so far."""
        while True:
            if tries >= RETRIES or (error.status_code is not None and error.status_code not in RETRYABLE_STATUSES):
                raise error
            time.sleep(min(RETRY_DELAY * 2**tries, MAX_RETRY_DELAY))
            tries += 1
            try:
                uploader.offset = uploader.get_offset()
                return tries
            except TusCommunicationError as again:
                error = again

    def finished_file_url(self, upload_url: str) -> str:
        """The ``Portal-File-URL`` (v2: ``Portal-Video-URL``) a HEAD on a finished upload gives.

        (A run after a crash at the very end.)
        """
        head = self.portal.request("HEAD", upload_url, headers={"Tus-Resumable": "1.0.0"})
        url = head.headers.get(self.portal.finished_header)
        if not url:
            raise ClientError(f"The portal did not say where the finished upload {upload_url} went: run the upload again.")
        return url


def upload(portal: Portal, path: Path, chunk_size: int = DEFAULT_CHUNK_SIZE) -> dict[str, Any]:
    """Upload ``path`` to ``portal`` (resuming an earlier run's upload); the stored file's JSON."""
    return Upload(portal, path, UploadStore(uploads_file()), chunk_size).run()
