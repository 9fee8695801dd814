"""``GET /metrics``: the counters of :mod:`portal.metrics` and the library's size, in Prometheus's text format.

``python wsgi.py`` runs several worker processes and a job consumer, which
share no memory: before it forks them, :func:`prepare_multiprocess` points
prometheus-client at a fresh folder where every process keeps its counts in
files of its own, and a scrape adds them all up (prometheus-client's
multiprocess mode). A single process (tests, ``flask run``) keeps them in
memory, in :data:`portal.metrics.REGISTRY`.

What the database or the queue knows (the size of the library, the jobs
waiting) is asked at scrape time, so it is the same whichever worker answers.
"""

from __future__ import annotations

import hmac
import os
import shutil
import tempfile
from collections.abc import Iterable
from collections.abc import Iterator

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import request
from prometheus_client import CollectorRegistry
from prometheus_client import multiprocess
from prometheus_client import values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from .. import errors
from ..accounts.models import Role
from ..accounts.models import Scope
from ..accounts.permissions import Caller
from ..backup.models import RunStatus
from ..backup.schedule import schedule_state
from ..extensions import db
from ..http.auth import bearer_caller
from ..http.auth import public
from ..jobs import current_jobs
from ..library.models import Original
from ..library.models import Video
from ..library.models import as_utc
from ..metrics import REGISTRY

bp = Blueprint("metrics", __name__)

#: The environment variable prometheus-client's multiprocess mode reads.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


# --- several processes ---------------------------------------------------------


def prepare_multiprocess() -> str:
    """Before forking: a fresh, empty folder for every process's counts; its path.

    Fresh at each start, so that no process of an earlier run (whose ids the
    new ones may reuse) is ever added up with the new ones. A private
    temporary folder rather than one in the data folder, which two portals
    might share.
    """
    folder = tempfile.mkdtemp(prefix="portal-metrics-")
    os.environ[MULTIPROC_ENV] = folder
    # prometheus-client picks how it keeps values when it is imported, and the
    # application (which imports it) was built before the folder existed.
    values.ValueClass = values.get_value_class()
    return folder


def process_ended(pid: int) -> None:
    """A worker or the consumer is gone: its live gauges, if any, drop out of the sums."""
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        multiprocess.mark_process_dead(pid, folder)


def remove_multiprocess_folder(folder: str) -> None:
    """Once every process stopped: nothing in the folder is read again."""
    shutil.rmtree(folder, ignore_errors=True)


# --- what is asked at scrape time --------------------------------------------------


class LibraryCollector:
    """The library's size (outside the trash, and in it) and the jobs waiting, asked at each scrape."""

    def describe(self) -> Iterable[Metric]:
        """Nothing to check for clashes at registration; the names are the ones :meth:`collect` yields."""
        return []

    def collect(self) -> Iterable[Metric]:
        yield from self._library()
        yield from self._storage()
        yield from self._queue()
        yield from self._backup()

    def _backup(self) -> Iterator[Metric]:
        """The scheduled backups' last outcome, from their rows (so any worker answers the same); none when unscheduled.

        ``portal_backup_last_success_timestamp_seconds`` is 0 before the first
        success, so that an alert on ``time() - it`` fires for a schedule that never worked.
        """
        try:
            state = schedule_state()
        except SQLAlchemyError as error:
            db.session.rollback()
            current_app.logger.warning("metrics: the backups' state could not be asked: %s", error)
            return
        if state.every_seconds is None:
            return
        success = state.last_success.finished_at if state.last_success else None
        yield GaugeMetricFamily(
            "portal_backup_last_success_timestamp_seconds",
            "When the last scheduled backup that succeeded ended (Unix time; 0: none yet).",
            value=as_utc(success).timestamp() if success else 0,
        )
        ended = state.last_ended
        yield GaugeMetricFamily(
            "portal_backup_last_run_success",
            "Whether the last scheduled backup to end succeeded (1) or not (0: failed or interrupted, or none yet).",
            value=1 if ended is not None and ended.status == RunStatus.SUCCEEDED.value else 0,
        )
        yield GaugeMetricFamily(
            "portal_backup_last_run_timestamp_seconds",
            "When the last scheduled backup to end started (Unix time; 0: none yet).",
            value=as_utc(ended.started_at).timestamp() if ended else 0,
        )

    def _storage(self) -> Iterator[Metric]:
        """``portal_storage_bytes`` (stored, after sharing) and ``portal_storage_logical_bytes`` (before).

        Both are sums of the sizes the rows record (originals, the trash's
        included, and playable copies; posters, a few KiB each, have no size in
        their row): the first counts each stored original once (a video made
        without one, by SQL, counts its own), the second once per video that uses it.
        """
        copies = func.coalesce(func.sum(Video.playable_size), 0)
        logical = func.coalesce(func.sum(Video.size), 0) + copies
        unshared = (
            select(func.coalesce(func.sum(Video.size), 0))
            .where(~select(Original.sha256).where(Original.sha256 == Video.sha256).exists())
            .scalar_subquery()
        )
        originals = select(func.coalesce(func.sum(Original.size), 0)).scalar_subquery()
        try:
            stored_logical = int(db.session.scalar(select(logical)) or 0)
            stored = int(db.session.scalar(select(copies + originals + unshared)) or 0)
        except SQLAlchemyError as error:
            db.session.rollback()
            current_app.logger.warning("metrics: the stored bytes could not be asked: %s", error)
            return
        yield GaugeMetricFamily("portal_storage_bytes", "Bytes of stored objects, each counted once.", value=stored)
        yield GaugeMetricFamily(
            "portal_storage_logical_bytes",
            "Bytes of stored objects, counted once per video that uses them.",
            value=stored_logical,
        )

    def _library(self) -> Iterator[Metric]:
        videos = GaugeMetricFamily("portal_library_videos", "Videos stored, in the library or in the trash.", labels=["place"])
        size = GaugeMetricFamily(
            "portal_library_bytes", "Bytes of the videos' originals, in the library or in the trash.", labels=["place"]
        )
        in_trash = Video.deleted_at.is_not(None)
        try:
            rows = db.session.execute(select(in_trash, func.count(), func.coalesce(func.sum(Video.size), 0)).group_by(in_trash))
            found = {bool(trashed): (count, total) for trashed, count, total in rows}
        except SQLAlchemyError as error:
            # The database down is when the counts matter most: they are still served, without these two.
            db.session.rollback()
            current_app.logger.warning("metrics: the library's size could not be asked: %s", error)
            return
        for place, trashed in (("library", False), ("trash", True)):
            count, total = found.get(trashed, (0, 0))
            videos.add_metric([place], count)
            size.add_metric([place], total)
        yield videos
        yield size

    def _queue(self) -> Iterator[Metric]:
        try:
            huey = current_jobs().huey
            pending, scheduled = huey.pending_count(), huey.scheduled_count()
        except Exception as error:
            # An unreachable queue (Redis down) leaves these two out rather than failing the scrape.
            current_app.logger.warning("metrics: the job queue could not be asked: %s", error)
            return
        yield GaugeMetricFamily("portal_jobs_pending", "Jobs waiting in the queue to be run.", value=pending)
        yield GaugeMetricFamily("portal_jobs_scheduled", "Jobs waiting for a later time (a retry).", value=scheduled)


class StartedFilesCollector(multiprocess.MultiProcessCollector):
    """The counts of every process whose file is past its first instant.

    A process making its file (the job consumer counting its first failure, say)
    leaves it empty for an instant between creating and sizing it, and
    prometheus-client reads an empty file as an error: that scrape answered 500.
    An empty file holds no counts yet, so it is left out.
    """

    def collect(self) -> Iterable[Metric]:
        started = []
        for entry in os.scandir(self._path):
            try:
                if entry.name.endswith(".db") and entry.stat().st_size > 0:
                    started.append(entry.path)
            except FileNotFoundError:
                continue  # a live gauge's file removed as its process ended
        return self.merge(started, accumulate=True)


def scrape_registry() -> CollectorRegistry:
    """The counters (of every process, or of this one) and the library's collector, for one scrape."""
    registry = CollectorRegistry()
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        StartedFilesCollector(registry, path=folder)
    else:
        registry.register(REGISTRY)
    registry.register(LibraryCollector())
    return registry


# --- who may scrape ----------------------------------------------------------------

#: The 401 of a scrape without any credential.
NO_CREDENTIALS = "Metrics need an admin's session or token, a token with the 'metrics' scope, or PORTAL_METRICS_TOKEN."


def check_scraper(caller: Caller | None) -> None:
    """An admin (by the session or any token of theirs) or a token with the ``metrics`` scope; 401 or 403 otherwise."""
    if caller is None:
        raise errors.Unauthorized(NO_CREDENTIALS)
    if caller.role is not Role.ADMIN and Scope.METRICS not in caller.scopes:
        raise errors.Forbidden(f"Metrics are for admins and tokens with the 'metrics' scope; {caller.username} is neither.")


def is_metrics_token() -> bool:
    """Whether the request's bearer token is ``PORTAL_METRICS_TOKEN``: a scraper's static token, for before accounts exist."""
    configured = current_app.config.get("METRICS_TOKEN")
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    if configured in (None, "") or scheme.lower() != "bearer" or not value.strip():
        return False
    return hmac.compare_digest(value.strip().encode(), str(configured).encode())


@bp.get("/metrics")
@public
def metrics() -> Response:
    # Public to the gate, which reads bearer tokens under /api/ only: the rule is checked here.
    if not is_metrics_token():
        if "Authorization" in request.headers:
            g.caller = bearer_caller()
        check_scraper(g.get("caller"))
    body = generate_latest(scrape_registry())
    return Response(body, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
