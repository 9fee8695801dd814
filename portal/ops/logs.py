"""What ``python wsgi.py`` writes: one access line per request on standard output, everything else on standard error.

``PORTAL_LOG_FORMAT=json`` makes every line one JSON object (the access
lines, every other log record, and the start-up lines), for a log collector
that reads fields rather than text; ``text`` (the default) is for people.
``PORTAL_ACCESS_LOG=false`` leaves the access lines out.

An access line names the path without the values of its query (a setup code
or a search could be secret) and, on a share link, without the link's token:
anyone who reads the log must not be able to open what a link opens.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from datetime import timezone
from typing import Any
from urllib.parse import quote

from flask import Flask

from ..library.integrity import CorruptionDetected

#: The logger of the access lines; ``python wsgi.py`` sends it to standard output only.
ACCESS_LOGGER = "portal.access"
#: One line per event on standard error, with the worker's process id: what a supervisor collects.
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"
#: The settings of ``PORTAL_LOG_FORMAT``.
LOG_FORMATS = ("text", "json")
#: A path's characters kept as they are in a line; any other (a space, a newline) is %-escaped,
#: so that a request cannot write a line of its own into the log.
PATH_SAFE = "/:@!$&'()*+,;=-._~%<>"
#: waitress's own log: the event loop's errors, those of the connections, those of the worker threads.
WAITRESS_LOGGER = "waitress"
#: waitress warns "Task queue depth is N" on this logger at every request that waits for a thread:
#: under load, thousands a minute, hiding everything else. Nothing of it is logged: the depth is
#: the ``portal_queue_depth`` gauge of ``GET /metrics`` instead (:mod:`portal.ops.server`).
QUEUE_LOGGER = "waitress.queue"

access_log = logging.getLogger(ACCESS_LOGGER)


def iso_time(timestamp: float) -> str:
    """UTC, to the millisecond: ``2026-12-02T16:09:19.123Z``."""
    moment = datetime.fromtimestamp(timestamp, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: time, level, logger, process, message, and an access line's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": iso_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "access", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry)


class AccessTextFormatter(logging.Formatter):
    """An access line as text: the time, then the line (which carries everything else)."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{iso_time(record.created)} {record.getMessage()}"


class WithoutCutShortDownloads(logging.Filter):
    """Leaves out waitress's record of a download the portal cut short because its bytes are corrupt.

    The only way to stop a response short of its Content-Length is to fail
    the read of the file waitress is sending (:class:`~portal.library.integrity.CorruptionDetected`),
    and waitress logs any exception raised there as "Unexpected exception when
    flushing", with a traceback, as if it were a bug. The portal has already
    logged one warning naming the video and the reason; every other exception
    waitress logs still goes through.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], CorruptionDetected))


def log_format(app: Flask) -> str:
    return str(app.config["LOG_FORMAT"]).lower()


def configure_logging(app: Flask) -> None:
    """Records at ``LOG_LEVEL`` to standard error; access lines (when ``ACCESS_LOG``) to standard output.

    The access lines do not follow ``LOG_LEVEL``: ``ACCESS_LOG`` alone turns
    them on or off, so ``LOG_LEVEL=WARNING`` keeps the traffic visible.
    """
    as_json = log_format(app) == "json"
    errors = logging.StreamHandler(sys.stderr)
    errors.setFormatter(JsonFormatter() if as_json else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=str(app.config["LOG_LEVEL"]).upper(), handlers=[errors], force=True)
    # Python's warnings become records too, so that a JSON log holds no line of another shape.
    logging.captureWarnings(True)
    traffic = logging.StreamHandler(sys.stdout)
    traffic.setFormatter(JsonFormatter() if as_json else AccessTextFormatter())
    access_log.handlers[:] = [traffic]
    access_log.setLevel(logging.INFO)
    access_log.propagate = False
    logging.getLogger(WAITRESS_LOGGER).filters[:] = [WithoutCutShortDownloads()]
    # Above every level: none of its records is ever handled.
    logging.getLogger(QUEUE_LOGGER).setLevel(logging.CRITICAL + 1)


def announce(app: Flask, logger: logging.Logger, message: str) -> None:
    """A start-up line: printed on standard output whatever ``LOG_LEVEL`` says, and logged.

    As JSON it is printed only: the same object on both streams would be the
    same event twice for a collector that reads both.
    """
    if log_format(app) != "json":
        print(message, flush=True)
        logger.info("%s", message)
        return
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 0, message, (), None)
    print(JsonFormatter().format(record), flush=True)


def loggable_path(path: str, query: str) -> str:
    """``path`` with the keys of ``query`` and not their values: ``/api/v1/files?q&page``.

    ``path`` is a WSGI string (bytes as Latin-1); anything but plain URL
    characters comes out %-escaped.
    """
    shown = quote(path.encode("latin-1", "replace"), safe=PATH_SAFE)
    keys: list[str] = []
    for pair in query.split("&"):
        key = pair.partition("=")[0]
        if key and key not in keys:
            keys.append(key)
    if not keys:
        return shown
    return shown + "?" + "&".join(quote(key.encode("latin-1", "replace"), safe=PATH_SAFE) for key in keys)


def write_access_line(
    client: str, method: str, path: str, status: int, sent: int, milliseconds: float, user: str | None
) -> None:
    """``127.0.0.1 GET /api/v1/files?q 200 5120 12.3ms alice`` (``-`` for nobody signed in); JSON adds each field."""
    fields = {
        "client": client,
        "method": method,
        "path": path,
        "status": status,
        "bytes": sent,
        "duration_ms": round(milliseconds, 1),
        "user": user,
    }
    access_log.info(
        "%s %s %s %d %d %.1fms %s", client, method, path, status, sent, milliseconds, user or "-", extra={"access": fields}
    )
