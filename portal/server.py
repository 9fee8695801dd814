"""The production server: waitress, tuned in this one place.

``python wsgi.py``, ``make run`` and the Docker image all start the portal
through :func:`serve`.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from .uploads import MULTIPART_ALLOWANCE


def waitress_settings(app: Flask) -> dict[str, Any]:
    return {
        "host": app.config["HOST"],
        "port": int(app.config["PORT"]),
        "threads": int(app.config["THREADS"]),
        # waitress refuses bodies of *at least* this size with its own plain-text
        # 413; keep it above the portal's limit so the portal answers first.
        "max_request_body_size": int(app.config["MAX_CONTENT_LENGTH"]) + MULTIPART_ALLOWANCE + 1,
        # Reading the socket in 1 MiB pieces instead of 8 KiB nearly triples upload speed.
        "recv_bytes": 1024 * 1024,
        # A streamed response (the verified whole-file download, in 1 MiB
        # chunks) is queued in memory up to 2 MiB instead of spilling to a
        # temporary file at the default 1 MiB, which wrote every byte to disk and
        # read it back before sending it. The worker waits once 2 MiB are
        # queued, which keeps memory flat per connection (8 MiB let the
        # allocator keep tens of MiB more across the worker threads).
        "outbuf_overflow": 2 * 1024 * 1024,
        "outbuf_high_watermark": 2 * 1024 * 1024,
        "channel_timeout": 300,
        "ident": "portal",
    }


def serve(app: Flask) -> None:
    from waitress import serve as waitress_serve

    waitress_serve(app, **waitress_settings(app))
