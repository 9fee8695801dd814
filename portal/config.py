"""Default settings of the portal.

Every setting here can be overridden by an environment variable with the
``PORTAL_`` prefix (``PORTAL_DATA_DIR``, ``PORTAL_MAX_CONTENT_LENGTH``, ...);
values are parsed as JSON where they can be, so numbers arrive as numbers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from datetime import timezone
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

GIB = 1024**3


class Config:
    #: Folder holding the SQLite database, the stored files and the secret key.
    DATA_DIR = "data"
    #: Largest accepted upload, in bytes (the file itself, not the request).
    MAX_CONTENT_LENGTH = 4 * GIB
    #: Room for multipart boundaries, part headers and small fields on top of the
    #: file itself, so that a file of exactly MAX_CONTENT_LENGTH still fits in a form.
    MULTIPART_ALLOWANCE = 64 * 1024
    #: Where the bytes live: unset or ``file://...`` for a local folder
    #: (default ``<DATA_DIR>/files``), ``s3://bucket/prefix`` for an
    #: S3-compatible object store (endpoint and credentials: boto3's AWS_* variables).
    STORAGE_URL: str | None = None
    #: Derived from DATA_DIR when unset: SQLite inside the data folder.
    SQLALCHEMY_DATABASE_URI: str | None = None
    #: Generated once and kept in the data folder when unset.
    SECRET_KEY: str | None = None
    #: Seconds a SQLite writer waits for another one before the request fails
    #: with 503 (instead of "database is locked" at the first collision).
    DATABASE_BUSY_TIMEOUT = 30

    #: Address and worker threads of the production server (``python wsgi.py``).
    HOST = "0.0.0.0"
    PORT = 8080
    THREADS = 8
    #: The address of a reverse proxy in front of the portal (e.g. ``127.0.0.1``; ``*`` trusts any
    #: peer), whose X-Forwarded-* headers then give the client's address and scheme; how many
    #: proxies in a row add to X-Forwarded-For. Unset: the peer's own address is the client's.
    TRUSTED_PROXY: str | None = None
    #: Where people reach the portal (e.g. ``https://videos.example.org``): share links are built on
    #: it. Unset: on the address each request came to, whose Host header the client chose.
    BASE_URL: str | None = None
    TRUSTED_PROXY_COUNT = 1
    #: Server processes sharing the port, each with THREADS threads; unset: one per CPU.
    PROCESSES: int | None = None
    #: Seconds a client may go without reading (or sending) anything before its connection is
    #: dropped and what it held freed.
    SEND_TIMEOUT = 60
    #: Seconds a request's headers may take, from its first byte, before its connection is closed;
    #: its body then gets the same grace and must arrive at BODY_MIN_RATE bytes a second on average
    #: (Apache's mod_reqtimeout rule), so that a client trickling a byte at a time holds nothing for ever.
    HEADER_TIMEOUT = 30
    BODY_MIN_RATE = 1024
    #: Seconds a stopping server (SIGTERM) lets requests in progress, uploads above all, finish
    #: before it aborts them (leaving nothing of them) and exits.
    STOP_TIMEOUT = 30

    #: What ``python wsgi.py`` logs to standard error: INFO includes the audit trail
    #: (sign-ins, token and user changes, deletes); WARNING keeps only problems.
    LOG_LEVEL = "INFO"
    #: One line per request on standard output (time, client, method, path without query values,
    #: status, bytes, milliseconds, user); ``false`` turns them off.
    ACCESS_LOG = True
    #: ``text`` for people, ``json``: every line of the log (access lines too) one JSON object.
    LOG_FORMAT = "text"
    #: A static bearer token that may read ``/metrics`` (for a Prometheus server, even before any
    #: account exists); unset: only admins and tokens with the ``metrics`` scope may.
    METRICS_TOKEN: str | None = None

    #: The job queue (probing, posters, playable copies): unset keeps it in ``<DATA_DIR>/jobs.db``
    #: (SQLite, one machine); ``redis://host:6379/0`` or ``unix:///path/redis.sock`` shares one
    #: Redis queue between several portals and ``flask jobs worker`` consumers on other machines.
    QUEUE_URL: str | None = None
    #: Jobs ``python wsgi.py`` runs at once in its job consumer process; 0 starts no consumer
    #: (run ``flask --app wsgi jobs worker`` elsewhere).
    JOB_WORKERS = 1
    #: How much lower than the web workers the job consumer runs (``os.nice`` increment).
    JOB_NICENESS = 10
    #: A job failing for a reason that passes (the file store or the database unreachable) is
    #: tried again this many times, after JOB_RETRY_DELAY seconds, doubling each time.
    JOB_RETRIES = 5
    JOB_RETRY_DELAY = 10
    #: Seconds a probing job may take before it is stopped and its video marked failed.
    PROBE_TIMEOUT = 120
    #: Seconds a job making a playable copy may take (a long transcode runs at about real time).
    COPY_TIMEOUT = 6 * 3600
    #: The most pixels (width x height) of a video that is transcoded: what 4K needs.
    #: Anything larger is left as it is, with a message that says so.
    MEDIA_MAX_PIXELS = 3840 * 2160
    #: Run each job at once, inside the caller, instead of queueing it (for tests only).
    QUEUE_IMMEDIATE = False

    #: Days a deleted video stays in the trash, restorable, before it is purged for good;
    #: 0 deletes at once, with no trash.
    TRASH_DAYS = 30

    #: Hours an unfinished resumable (tus) upload is kept after its last PATCH before
    #: ``cleanup`` removes it; a positive number.
    UPLOAD_EXPIRY_HOURS = 24
    #: Bytes per request the upload page sends a file in (tus chunks): a dropped connection
    #: loses at most one; lower it behind a proxy that limits request bodies.
    UPLOAD_CHUNK_BYTES = 16 * 1024 * 1024
    #: Unfinished resumable (tus) uploads one user may hold at once; the next creation is refused
    #: (429) until one is finished, cancelled (DELETE) or expired. Their announced lengths count
    #: against the quota as well, so neither many small ones nor a few huge ones go unbounded.
    MAX_OPEN_UPLOADS = 20

    #: A library with fewer videos than this is folded at start-up, right after the schema is
    #: upgraded (``flask --app wsgi storage dedupe``'s work: each second copy of an original
    #: removed once the kept one is found whole); a larger one only logs that the command is due.
    DEDUPE_AT_START_MAX_VIDEOS = 10_000

    #: Bytes each user may keep (videos, their trash, tus uploads in progress) unless their own
    #: quota says otherwise: a number of bytes or a size with a unit (``500MiB``, ``2GiB``);
    #: unset (or ``none``): unlimited.
    DEFAULT_QUOTA: int | str | None = None
    #: Free space an upload must leave in a local storage folder (bytes, or with a unit); an
    #: upload that would leave less is refused for everyone. Not applied to an S3 store.
    MIN_FREE_BYTES: int | str = GIB

    #: Scheduled backups (``flask --app wsgi backup``'s, taken by the job consumer): where to
    #: (a folder, ``file:///folder`` or ``s3://bucket/prefix``) and how often (a duration with a
    #: unit: ``24h``, ``90m``, ``3600s``, ``1d``, ``1h30m``). Both set, or neither (no schedule).
    BACKUP_DEST: str | None = None
    BACKUP_EVERY: str | None = None
    #: How many of the newest backups in BACKUP_DEST a scheduled backup keeps (it prunes the rest).
    BACKUP_KEEP = 7

    #: Items per page when a listing does not say.
    PER_PAGE = 20
    #: Let visitors who are not signed in list and watch videos (never upload or delete).
    PUBLIC_VIEWING = False
    #: The session cookie: not readable by scripts, not sent by other sites' forms, and ``Secure``
    #: (sent over HTTPS only) when the request came over HTTPS (``auto``: behind PORTAL_TRUSTED_PROXY,
    #: its X-Forwarded-Proto says so); ``true`` or ``false`` force it.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE: bool | str = "auto"
    #: Strict-Transport-Security on answers to HTTPS requests: only once the site is HTTPS for good.
    HSTS = False
    #: A CSRF token stays valid for a working day, long enough for a slow upload.
    WTF_CSRF_TIME_LIMIT = 12 * 3600
    #: The Argon2id cost of password hashes, one of argon2-cffi's profiles: ``RFC_9106_LOW_MEMORY``
    #: (64 MiB, what RFC 9106 recommends for most uses), ``RFC_9106_HIGH_MEMORY`` (2 GiB), or
    #: ``CHEAPEST``, which protects nothing and exists so that a test suite signing in thousands
    #: of times does not spend its minutes hashing (the portal warns at start-up when it is set).
    #: Hashes made under another profile are replaced at the next sign-in.
    PASSWORD_HASH_PROFILE = "RFC_9106_LOW_MEMORY"
    #: The date (``2027-06-30``, or a moment such as ``2027-06-30T12:00:00Z``) after which /api/v1 may
    #: stop answering: its answers then carry ``Sunset`` (RFC 8594). Unset: no date is announced.
    V1_SUNSET: str | None = None


def check_settings(config: Mapping[str, Any]) -> None:
    """Refuse at start-up a setting no code could use, saying which variable to fix and how.

    Checked once here rather than where a setting is read, so that a typo stops
    the portal before it serves anything instead of failing the first purge.
    """
    days = config["TRASH_DAYS"]
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ValueError(
            f"PORTAL_TRASH_DAYS must be a whole number of days from 0 up (0 deletes at once, without a trash); got {days!r}."
        )
    check_upload_expiry_hours(config["UPLOAD_EXPIRY_HOURS"])
    chunk = config["UPLOAD_CHUNK_BYTES"]
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"PORTAL_UPLOAD_CHUNK_BYTES must be a whole number of bytes, 1 or more (e.g. 16777216); got {chunk!r}.")
    check_whole_number(config, "MAX_OPEN_UPLOADS", "uploads", 1)
    check_log_settings(config)
    check_sender_settings(config)
    for name, allows_none in (("DEFAULT_QUOTA", True), ("MIN_FREE_BYTES", False)):
        try:
            size = size_setting(config.get(name))
        except ValueError as error:
            raise ValueError(f"PORTAL_{name} {error}") from None
        if size is None and not allows_none:
            raise ValueError(f"PORTAL_{name} must be a number of bytes or a size with a unit (0 turns it off).")
    check_base_url(config.get("BASE_URL"))
    parse_sunset(config.get("V1_SUNSET"))
    check_backup_settings(config)
    if config["SESSION_COOKIE_SECURE"] not in (True, False, "auto"):
        raise ValueError(f"PORTAL_SESSION_COOKIE_SECURE must be auto, true or false; got {config['SESSION_COOKIE_SECURE']!r}.")
    if not isinstance(config["HSTS"], bool):
        raise ValueError(f"PORTAL_HSTS must be true or false; got {config['HSTS']!r}.")
    if config["PASSWORD_HASH_PROFILE"] not in PASSWORD_HASH_PROFILES:
        raise ValueError(
            f"PORTAL_PASSWORD_HASH_PROFILE must be one of {', '.join(PASSWORD_HASH_PROFILES)}; "
            f"got {config['PASSWORD_HASH_PROFILE']!r}."
        )


def parse_sunset(value: object) -> datetime | None:
    """PORTAL_V1_SUNSET as a moment in UTC: an ISO 8601 date (its midnight, UTC) or date and time; None when unset."""
    if value is None or value == "":
        return None
    hint = "must be a date such as 2027-06-30 (or a moment such as 2027-06-30T12:00:00Z)"
    if not isinstance(value, str):
        raise ValueError(f"PORTAL_V1_SUNSET {hint}; got {value!r}.")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"PORTAL_V1_SUNSET {hint}; got {value!r}.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def check_sender_settings(config: Mapping[str, Any]) -> None:
    """PORTAL_HEADER_TIMEOUT and PORTAL_BODY_MIN_RATE: 0 or less would close every request, or none."""
    for name, what in (("HEADER_TIMEOUT", "seconds (e.g. 30)"), ("BODY_MIN_RATE", "bytes a second (e.g. 1024)")):
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
            raise ValueError(f"PORTAL_{name} must be a positive number of {what}; got {value!r}.")


def check_whole_number(config: Mapping[str, Any], name: str, unit: str, least: int) -> None:
    """A setting that counts something: a whole number from ``least`` up (JSON's ``true`` is no number)."""
    value = config[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"PORTAL_{name} must be a whole number of {unit}, {least} or more; got {value!r}.")


def check_base_url(value: object) -> None:
    """PORTAL_BASE_URL: an http(s) address with a host, and nothing a link could not be built on."""
    if value is None or value == "":
        return
    parsed = urlsplit(str(value))
    if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.query or parsed.fragment:
        raise ValueError(
            "PORTAL_BASE_URL must be the http:// or https:// address people reach the portal at, "
            f"with no query or fragment (e.g. https://videos.example.org); got {value!r}."
        )


def check_backup_settings(config: Mapping[str, Any]) -> float | None:
    """PORTAL_BACKUP_DEST, PORTAL_BACKUP_EVERY and PORTAL_BACKUP_KEEP; the schedule's seconds, or None when unscheduled.

    Refused at start-up: a schedule with a typo found only when it first fires
    is a night without a backup nobody notices.
    """
    dest, every, keep = config.get("BACKUP_DEST"), config.get("BACKUP_EVERY"), config.get("BACKUP_KEEP", 7)
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise ValueError(f"PORTAL_BACKUP_KEEP must be a whole number of backups, 1 or more (default 7); got {keep!r}.")
    if dest in (None, "") and every in (None, ""):
        return None
    if dest in (None, ""):
        raise ValueError("PORTAL_BACKUP_EVERY is set but PORTAL_BACKUP_DEST is not: say where the backups go "
                         "(a folder, file:///folder or s3://bucket/prefix), or unset both.")
    if every in (None, ""):
        raise ValueError("PORTAL_BACKUP_DEST is set but PORTAL_BACKUP_EVERY is not: say how often to back up "
                         "(e.g. 24h), or unset both.")
    if not isinstance(dest, str):
        raise ValueError(f"PORTAL_BACKUP_DEST must be a folder, file:///folder or s3://bucket/prefix; got {dest!r}.")
    if dest.startswith("s3://") and not urlsplit(dest).netloc:
        raise ValueError(f"PORTAL_BACKUP_DEST names no bucket: write s3://bucket/prefix; got {dest!r}.")
    try:
        return parse_duration(every)
    except ValueError as error:
        raise ValueError(f"PORTAL_BACKUP_EVERY {error}") from None


_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)([dhms]))+", re.IGNORECASE)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])", re.IGNORECASE)
DURATION_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
#: What a duration may be written as, in the messages that refuse one.
DURATION_HINT = "a duration with a unit: 24h, 90m, 3600s, 1d or 1h30m"


def parse_duration(value: object) -> float:
    """``24h``, ``90m``, ``3600s``, ``1d``, ``1h30m`` as seconds, more than 0; ValueError saying what one looks like.

    A bare number is refused rather than guessed at: ``24`` could be hours or seconds.
    """
    text = value.strip() if isinstance(value, str) else None
    if text is None or not _DURATION.fullmatch(text):
        hint = f" (seconds? write {value}s)" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
        raise ValueError(f"must be {DURATION_HINT}; got {value!r}{hint}.")
    seconds = sum(float(number) * DURATION_UNITS[unit.lower()] for number, unit in _DURATION_PART.findall(text))
    if seconds <= 0:
        raise ValueError(f"must be longer than 0 ({DURATION_HINT}); got {value!r}.")
    return seconds


#: The argon2-cffi profiles PORTAL_PASSWORD_HASH_PROFILE may name.
PASSWORD_HASH_PROFILES = ("RFC_9106_LOW_MEMORY", "RFC_9106_HIGH_MEMORY", "CHEAPEST")


def check_log_settings(config: Mapping[str, Any]) -> None:
    """PORTAL_LOG_FORMAT and PORTAL_ACCESS_LOG: a typo would otherwise give a log nobody asked for."""
    if str(config["LOG_FORMAT"]).lower() not in ("text", "json"):
        raise ValueError(f"PORTAL_LOG_FORMAT must be text or json (got {config['LOG_FORMAT']!r})")
    if not isinstance(config["ACCESS_LOG"], bool):
        raise ValueError(f"PORTAL_ACCESS_LOG must be true or false (got {config['ACCESS_LOG']!r})")


def check_upload_expiry_hours(value: object) -> float:
    """PORTAL_UPLOAD_EXPIRY_HOURS as a number of hours, refused at start-up when it is not positive.

    A wrong value found only when the first upload expires would remove uploads at once or never.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"PORTAL_UPLOAD_EXPIRY_HOURS must be a positive number of hours (got {value!r})")
    return float(value)


#: Units of a size, as ``parse_size`` reads them (case-insensitive): binary ones, and the decimal ones disks are sold in.
SIZE_UNITS = {
    "": 1, "b": 1,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)\s*", re.IGNORECASE)
#: The largest size: what a signed 64-bit count of bytes holds (the database's BIGINT), 8 EiB less a byte.
MAX_SIZE = 2**63 - 1
#: What a size may be written as, in the messages that refuse one.
SIZE_HINT = "a whole number of bytes, or a number with a unit (500MiB, 2GiB, 1.5TB)"


def parse_size(text: str) -> int:
    """``2GiB``, ``500 MiB``, ``1.5TB`` or ``1048576`` as bytes; ValueError saying what a size looks like."""
    match = _SIZE.fullmatch(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in SIZE_UNITS:
        raise ValueError(f"must be {SIZE_HINT}; got {text!r}.")
    if "." in match.group(1) and SIZE_UNITS[unit] == 1:
        raise ValueError(f"must be {SIZE_HINT}: bytes are whole; got {text!r}.")
    size = int(Decimal(match.group(1)) * SIZE_UNITS[unit])
    if size > MAX_SIZE:
        raise ValueError(f"must be at most {MAX_SIZE} bytes (8 EiB); got {text!r}.")
    return size


def size_setting(value: object) -> int | None:
    """A size setting as bytes: a number (from JSON), a text with a unit, or unset/``none`` (None)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    if isinstance(value, bool) or (isinstance(value, (int, float)) and (value < 0 or value != int(value))):
        raise ValueError(f"must be {SIZE_HINT}; got {value!r}.")
    if isinstance(value, (int, float)):
        return int(value)
    return parse_size(str(value))
