"""A baseline for comparison, not part of the portal: the same three endpoints in FastAPI.

Upload (multipart field ``file``, or the raw body with ``?filename=``), list
(``GET /api/v1/files`` with ``page``, ``per_page``, ``q``) and download
(``GET /api/v1/files/<id>/content`` with ranges, by Starlette's
``FileResponse``), doing the same work the portal does on the way in: SHA-256
while writing to a temporary file, fsync, rename, then a row in SQLite. It does
not verify downloads against the checksum, which the portal does.

Run as ``python bench/fastapi_app.py`` with ``BENCH_DATA_DIR``, ``BENCH_HOST``
and ``BENCH_PORT``; served by uvicorn with its defaults.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import uuid
from datetime import datetime
from datetime import timezone
from pathlib import Path

from fastapi import FastAPI
from fastapi import HTTPException
from fastapi import Request
from fastapi.responses import FileResponse
from fastapi.responses import JSONResponse

DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR", "fastapi-data")).resolve()
FILES = DATA_DIR / "files"
DATABASE = DATA_DIR / "baseline.db"
CHUNK_SIZE = 1024 * 1024
SCHEMA = """
CREATE TABLE IF NOT EXISTS videos (
    id TEXT PRIMARY KEY, filename TEXT NOT NULL, search_name TEXT NOT NULL,
    content_type TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL,
    status TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_videos_created_at ON videos (created_at);
"""
COLUMNS = ("id", "filename", "content_type", "size", "sha256", "status", "created_at")

app = FastAPI()


def connect() -> sqlite3.Connection:
    connection = sqlite3.connect(DATABASE, timeout=30)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def prepare() -> None:
    FILES.mkdir(parents=True, exist_ok=True)
    with connect() as connection:
        connection.executescript(SCHEMA)


class Incoming:
    """A temporary file in the storage folder, hashed while written."""

    def __init__(self) -> None:
        self.id = str(uuid.uuid4())
        self.path = FILES / f"{self.id}.part"
        self.file = open(self.path, "xb")
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.size += len(data)
        self.file.write(data)

    def commit(self, filename: str) -> dict:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.path, FILES / self.id)
        row = {
            "id": self.id,
            "filename": filename,
            "content_type": "video/mp4",
            "size": self.size,
            "sha256": self.digest.hexdigest(),
            "status": "ok",
            "created_at": datetime.now(timezone.utc).isoformat(),
        }
        with connect() as connection:
            connection.execute(
                "INSERT INTO videos VALUES (:id, :filename, :search_name, :content_type, :size, :sha256, :status, :created_at)",
                {**row, "search_name": filename.casefold()},
            )
        return row


def describe(row: dict, request: Request) -> dict:
    url = str(request.base_url) + f"api/v1/files/{row['id']}"
    return {**row, "url": url, "content_url": url + "/content"}


@app.post("/api/v1/files", status_code=201)
async def upload(request: Request, filename: str = "upload.mp4") -> JSONResponse:
    incoming = Incoming()
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        part = form["file"]
        assert not isinstance(part, str), "the file field of the form is a file"
        filename = part.filename or filename
        while chunk := await part.read(CHUNK_SIZE):
            incoming.write(chunk)
        await form.close()
    else:
        async for chunk in request.stream():
            incoming.write(chunk)
    row = incoming.commit(filename)
    return JSONResponse(describe(row, request), status_code=201)


@app.get("/api/v1/files")
def list_files(request: Request, page: int = 1, per_page: int = 20, q: str = "") -> dict:
    if page < 1 or not 1 <= per_page <= 100:
        raise HTTPException(400, "bad page or per_page")
    where, parameters = ("WHERE search_name LIKE ? ESCAPE '\\'", [f"%{q.casefold()}%"]) if q else ("", [])
    with connect() as connection:
        total = connection.execute(f"SELECT count(*) FROM videos {where}", parameters).fetchone()[0]
        rows = connection.execute(
            f"SELECT {', '.join(COLUMNS)} FROM videos {where} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            [*parameters, per_page, (page - 1) * per_page],
        ).fetchall()
    items = [describe(dict(zip(COLUMNS, row, strict=True)), request) for row in rows]
    return {"items": items, "total": total, "page": page, "per_page": per_page}


@app.get("/api/v1/files/{video_id}/content")
def download(video_id: str) -> FileResponse:
    path = FILES / str(uuid.UUID(video_id))
    if not path.is_file():
        raise HTTPException(404, "no such file")
    return FileResponse(path, media_type="video/mp4", filename="video.mp4")


@app.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


if __name__ == "__main__":
    import uvicorn

    prepare()
    uvicorn.run(
        app, host=os.environ.get("BENCH_HOST", "127.0.0.1"), port=int(os.environ["BENCH_PORT"]), log_level="warning"
    )
