"""Small helpers for tests: upload, and look at what is stored (child servers: :mod:`tests.support`)."""

from __future__ import annotations

import io
import os
from pathlib import Path

from portal.storage.local import INCOMING


def upload(client, data: bytes, filename: str = "clip.mp4", **form):
    return client.post(
        "/api/v1/files",
        data={"file": (io.BytesIO(data), filename), **form},
        content_type="multipart/form-data",
    )


def stored_files(data_dir: Path) -> list[Path]:
    """Every file in the storage folder, temporary ones included."""
    return sorted(path for path in (data_dir / "files").rglob("*") if path.is_file())


def incoming_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "files" / INCOMING).iterdir())


def row_count(app) -> int:
    from portal.extensions import db
    from portal.library.models import Video

    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(Video))


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a server and its worker processes), from Linux's /proc."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return [pid]
    return [pid, *(descendant for child in children for descendant in process_tree(int(child)))]


def process_state(pid: int) -> str | None:
    """The state letter Linux's /proc gives ``pid`` ("Z": exited, not yet reaped), or None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def open_descriptors(pid: int) -> list[str]:
    """What the open file descriptors of ``pid`` point at (paths, ``socket:[...]``), from /proc."""
    targets = []
    try:
        links = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return targets
    for link in links:
        try:
            targets.append(os.readlink(link))
        except OSError:
            continue  # closed meanwhile
    return targets
