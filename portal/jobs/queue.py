"""Which huey queue an application uses: SQLite in its data folder, or Redis at ``QUEUE_URL``.

huey's SQLite storage keeps queued jobs in ``<DATA_DIR>/jobs.db`` across
restarts and needs no server, for a portal on one machine. Several portals
and consumers on several machines share one Redis (priorities need Redis 5 or
later, which has sorted-set pops). Results are not kept: what a job did is in
the video's row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from flask import Flask
from huey import PriorityRedisHuey
from huey import SqliteHuey

QUEUE_NAME = "portal"
REDIS_SCHEMES = ("redis", "rediss", "unix")


def make_huey(app: Flask) -> Any:
    settings: dict[str, Any] = {"name": QUEUE_NAME, "results": False, "immediate": bool(app.config["QUEUE_IMMEDIATE"])}
    url = app.config.get("QUEUE_URL")
    if not url:
        return SqliteHuey(filename=str(Path(app.config["DATA_DIR"]) / "jobs.db"), **settings)
    if urlparse(url).scheme in REDIS_SCHEMES:
        return PriorityRedisHuey(url=url, **settings)
    raise ValueError(f"PORTAL_QUEUE_URL must be redis://host:port/db or unix:///path/redis.sock (got {url!r})")


def describe_queue(app: Flask) -> str:
    """Where the queue is, for the start-up log; a Redis URL's password is left out."""
    url = app.config.get("QUEUE_URL")
    if not url:
        return f"SQLite {Path(app.config['DATA_DIR']) / 'jobs.db'}"
    parsed = urlparse(url)
    return f"Redis {parsed.hostname or ''}{':' + str(parsed.port) if parsed.port else ''}{parsed.path}"
