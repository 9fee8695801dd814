"""``download``: a video's bytes into PATH.part, resumed with Range, renamed to PATH only once they match.

The bytes are hashed as they are written (those already in PATH.part first),
and the SHA-256 must match both the ``Repr-Digest`` of the answer (RFC 9530)
and the file JSON's ``sha256``: a mismatching file is removed, never renamed,
so whatever is under PATH is the video as the portal stored it. A cut
connection leaves PATH.part for the next run to continue; ``If-Range`` with the
ETag makes the portal send the whole file instead should it have changed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import time
from pathlib import Path
from typing import Any
from typing import BinaryIO

import requests
from tqdm import tqdm

from .api import ClientError
from .api import Portal

#: Bytes read from the answer (and written) at a time: memory stays at about this, whatever the file's size.
CHUNK_SIZE = 1024 * 1024
#: How often a download cut mid-file is continued within one run, waiting RETRY_DELAY, then twice that, ...
RETRIES = 3
RETRY_DELAY = 1.0
SHA256_DIGEST = re.compile(r"(?:^|,)\s*sha-256\s*=\s*:([A-Za-z0-9+/]*={0,2}):", re.IGNORECASE)


def repr_digest_sha256(header: str | None) -> str | None:
    """The hex SHA-256 of a ``Repr-Digest: sha-256=:<base64>:`` header; None without one."""
    if not header:
        return None
    match = SHA256_DIGEST.search(header)
    if match is None:
        return None
    try:
        return base64.b64decode(match.group(1), validate=True).hex()
    except binascii.Error:
        raise ClientError(f"The portal sent a malformed Repr-Digest header: {header!r}.") from None


def target_path(output: str | None, file: dict[str, Any]) -> Path:
    """Where the file goes: ``-o PATH``, the file's own name in a folder ``-o`` names, or in the current folder."""
    name = Path(str(file.get("filename") or "")).name.strip()
    if name in ("", ".", ".."):
        name = str(file["id"])
    if output is None:
        return Path(name)
    path = Path(output)
    return path / name if path.is_dir() else path


def part_path(target: Path) -> Path:
    return target.with_name(target.name + ".part")


def hash_existing(part: Path, digest: Any) -> int:
    """Feed the bytes already in ``part`` to ``digest``; how many there are."""
    total = 0
    with part.open("rb") as file:
        while chunk := file.read(CHUNK_SIZE):
            digest.update(chunk)
            total += len(chunk)
    return total


class TransferCut(ClientError):
    """The answer ended before its last byte: what was received is kept in PATH.part to continue from."""


class Mismatch(ClientError):
    """The bytes received do not have the file's SHA-256; they are removed. ``resumed``: part came from before."""

    def __init__(self, message: str, resumed: bool) -> None:
        super().__init__(message)
        self.resumed = resumed


def download(portal: Portal, file_id: str, output: str | None) -> Path:
    """Download the file ``file_id``; the path it is now under.

    A connection cut mid-file is continued from PATH.part a few times on its
    own. Bytes that do not match after continuing a PATH.part left from before
    (of another file by the same name, say) are fetched again whole, once.
    """
    file = portal.file(file_id)
    target = target_path(output, file)
    if target.exists():
        raise ClientError(f"{target} exists already: remove it, or choose another path with -o PATH.")
    if not target.parent.is_dir():
        raise ClientError(f"There is no folder {target.parent}: make it, or choose another path with -o PATH.")
    tries = 0
    fetched_again = False
    while True:
        try:
            return download_once(portal, file, target)
        except Mismatch as mismatch:
            if not mismatch.resumed or fetched_again:
                raise
            fetched_again = True
        except TransferCut:
            if tries >= RETRIES:
                raise
            tries += 1
            time.sleep(RETRY_DELAY * tries)
        except OSError as error:
            if isinstance(error, requests.exceptions.RequestException):
                raise
            raise ClientError(f"Cannot write {error.filename or part_path(target)}: {error.strerror}.") from None


def download_once(portal: Portal, file: dict[str, Any], target: Path) -> Path:
    """Continue (or begin) the download of ``file`` into ``target``.part; rename it when its bytes match."""
    part = part_path(target)
    size = int(file["size"])
    expected = str(file["sha256"])
    digest = hashlib.sha256()
    have = part.stat().st_size if part.exists() else 0
    if have > size:
        part.unlink()
        have = 0
    have = hash_existing(part, digest) if have else 0
    resumed = have > 0
    served_digest: str | None
    if have == size and part.exists():
        # Complete but not renamed yet (a crash in between): only the checksums are left to compare.
        head = portal.request("HEAD", file["content_url"])
        served_digest = repr_digest_sha256(head.headers.get("Repr-Digest"))
    else:
        headers: dict[str, str] = {}
        if have:
            etag = portal.request("HEAD", file["content_url"]).headers.get("ETag")
            headers["Range"] = f"bytes={have}-"
            if etag:
                headers["If-Range"] = etag
        response = portal.request("GET", file["content_url"], expect=(200, 206), headers=headers, stream=True)
        with response:
            if response.status_code == 200 and have:
                # The portal sends the whole file (it changed, or ignores ranges): start again.
                digest = hashlib.sha256()
                have = 0
            elif response.status_code == 206 and not response.headers.get("Content-Range", "").startswith(f"bytes {have}-"):
                raise ClientError(f"The portal answered another range than bytes={have}-: remove {part} and try again.")
            served_digest = repr_digest_sha256(response.headers.get("Repr-Digest"))
            with part.open("ab" if have else "wb") as out:
                have = receive(response, out, digest, have, size, part)
    check_digests(digest.hexdigest(), expected, served_digest, part, target, resumed)
    os.replace(part, target)
    return target


def receive(response: requests.Response, out: BinaryIO, digest: Any, have: int, size: int, part: Path) -> int:
    """Write the body of ``response`` to ``out`` and ``digest``; the bytes in ``out`` after it."""
    try:
        with tqdm(total=size, initial=have, unit="B", unit_scale=True, unit_divisor=1024, disable=None, leave=False) as bar:
            for chunk in response.iter_content(CHUNK_SIZE):
                out.write(chunk)
                digest.update(chunk)
                have += len(chunk)
                bar.update(len(chunk))
    except (requests.exceptions.RequestException, OSError) as error:
        out.flush()
        # requests' errors are OSErrors too: only the others are about the local file.
        if not isinstance(error, (requests.exceptions.RequestException, ConnectionError)):
            raise ClientError(f"Cannot write {part}: {error}.") from None
        raise TransferCut(
            f"The download stopped at {have} of {size} bytes ({type(error).__name__}): "
            "run the same command again to continue from there."
        ) from None
    out.flush()
    os.fsync(out.fileno())
    if have != size:
        raise TransferCut(
            f"The download stopped at {have} of {size} bytes: run the same command again to continue from there."
        )
    return have


def check_digests(received: str, expected: str, served: str | None, part: Path, target: Path, resumed: bool) -> None:
    """Refuse (and remove) the downloaded bytes unless their SHA-256 is the one the portal announced."""
    if served is not None and served != expected:
        part.unlink(missing_ok=True)
        raise ClientError(
            f"The portal's Repr-Digest ({served}) and the file's sha256 ({expected}) differ: nothing was kept. "
            "Ask the portal's admin to run `flask --app wsgi verify`."
        )
    if received != expected:
        part.unlink(missing_ok=True)
        raise Mismatch(
            f"The downloaded bytes have SHA-256 {received}, not {expected}: nothing was kept under {target}. "
            "The stored copy may be damaged: check it with `portal-client info ID` and ask the portal's admin.",
            resumed,
        )
