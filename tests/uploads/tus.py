"""Small tus helpers for the tests of resumable uploads: headers, metadata, checksums."""

from __future__ import annotations

import base64
import hashlib

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = {**TUS, "Content-Type": "application/offset+octet-stream"}


def metadata(**values: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


def creation(length: int, **values: str) -> dict[str, str]:
    headers = {**TUS, "Upload-Length": str(length)}
    if values:
        headers["Upload-Metadata"] = metadata(**values)
    return headers


def chunk_headers(offset: int, checksum: bytes | None = None, algorithm: str = "sha256") -> dict[str, str]:
    headers = {**CHUNK, "Upload-Offset": str(offset)}
    if checksum is not None:
        digest = hashlib.new(algorithm, checksum).digest()
        headers["Upload-Checksum"] = f"{algorithm} {base64.b64encode(digest).decode()}"
    return headers


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
