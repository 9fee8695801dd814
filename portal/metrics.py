"""The portal's counters: bare prometheus-client instances, counted by any package, read by ``GET /metrics``.

Like :mod:`portal.extensions`, this holds instances and nothing else, so that
the domain packages may count what happens (an upload stored, a checksum
that failed) without knowing how the counts are served
(:mod:`portal.ops.metrics`). Every counter has labels: no value exists
before its first event, so none is made in ``python wsgi.py``'s first
process before it forks its workers, which keep their counts in files of
their own (prometheus-client's multiprocess mode). The one gauge without
labels, :func:`queue_depth`, is made by the serving process itself, for the
same reason.
"""

from __future__ import annotations

import functools

from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Gauge
from prometheus_client import Histogram

#: The route label of a request no route matched (an unknown URL, a scanner's guesses):
#: one label for all of them, so that random paths cannot make a series each.
UNMATCHED_ROUTE = "unmatched"
#: Where a request's route template is left in its WSGI environment, for the middleware that counts it
#: (by the view's teardown, or by whatever answers before any view, such as the static files).
ROUTE_KEY = "portal.route"
#: Seconds, from a quick page up to a long download.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)
#: Every way an upload ends; "aborted" is any other end short of storing it (a refused or
#: incomplete form, an unreachable store or database, a failure).
UPLOAD_OUTCOMES = ("stored", "too_large", "over_quota", "not_a_video", "checksum_mismatch", "disk_full", "aborted")

#: The counters of this process (in multiprocess mode, a scrape reads every process's files instead).
REGISTRY = CollectorRegistry()

REQUESTS = Counter(
    "portal_http_requests", "Requests answered, by route template, method and status.",
    ["route", "method", "status"], registry=REGISTRY,
)
LATENCY = Histogram(
    "portal_http_request_duration_seconds",
    "Seconds from a request's arrival to the end of its response (the last byte handed to the server).",
    ["route", "method"], buckets=LATENCY_BUCKETS, registry=REGISTRY,
)
SENT = Counter("portal_http_sent_bytes", "Response body bytes sent, by route template.", ["route"], registry=REGISTRY)
RECEIVED = Counter("portal_http_received_bytes", "Request body bytes received, by route template.", ["route"], registry=REGISTRY)
UPLOADS = Counter("portal_uploads", "Uploaded files by how they ended.", ["outcome"], registry=REGISTRY)
CHECKSUM_FAILURES = Counter(
    "portal_checksum_failures",
    "Stored files found not to match their checksum: by a download (stopped short) or by a verify.",
    ["found_by"], registry=REGISTRY,
)
JOB_FAILURES = Counter(
    "portal_job_failures",
    "Failed jobs: 'failed' (the video's processing failed for good: unreadable, too long, an error, no more tries), "
    "'retried' (a failure that passes: tried again later).",
    ["outcome"], registry=REGISTRY,
)


@functools.cache
def queue_depth() -> Gauge:
    """``portal_queue_depth``, made at its first use, by the process that serves (:mod:`portal.ops.server`).

    A gauge without labels has its value from the moment it is made: made at
    import, in the process that later forks the workers, it would stay in
    memory rather than in each worker's file, and no scrape would see it.
    ``livesum``: a scrape adds up the workers alive.
    """
    return Gauge(
        "portal_queue_depth", "Requests accepted and waiting for a worker thread.",
        multiprocess_mode="livesum", registry=REGISTRY,
    )


def count_request(route: str, method: str, status: int, seconds: float, sent: int, received: int) -> None:
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route, method).observe(seconds)
    if sent:
        SENT.labels(route).inc(sent)
    if received:
        RECEIVED.labels(route).inc(received)


def count_upload(outcome: str) -> None:
    if outcome not in UPLOAD_OUTCOMES:
        raise ValueError(f"unknown upload outcome {outcome!r}")
    UPLOADS.labels(outcome).inc()


def count_checksum_failure(found_by: str) -> None:
    """``found_by``: ``download`` (a download stopped short of its end) or ``verify``."""
    CHECKSUM_FAILURES.labels(found_by).inc()


def count_job_failure(outcome: str) -> None:
    """``outcome``: ``failed`` (for good, the video marked failed) or ``retried``."""
    JOB_FAILURES.labels(outcome).inc()
