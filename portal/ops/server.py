"""The production server: waitress, tuned in this one place.

``python wsgi.py``, ``make run`` and the Docker image all start the portal
through :func:`serve`.

One Python process runs one thread of Python at a time, so the portal forks
``PROCESSES`` waitress processes (default: one per CPU) serving one port,
and one job consumer (:mod:`portal.jobs.consumer`, running ``JOB_WORKERS``
jobs at once at a lower CPU priority; none when it is 0). The parent builds
the application once (migrations, leftovers), forks the children, forwards
SIGTERM and SIGINT to them (each stops cleanly: :mod:`portal.ops.lifecycle`),
and stops them all when one dies, so that a
supervisor (Docker's restart policy, systemd) sees the failure and restarts
the whole server.

Each worker listens on a socket of its own bound to the same port
(``SO_REUSEPORT``), and the kernel spreads new connections over them. With
one shared socket, whichever worker woke first took the connection: 16
keep-alive clients sometimes all landed on one worker while the other idled.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import signal
import socket
import struct
import sys
import time
from collections import deque
from typing import Any
from typing import Callable
from typing import NamedTuple
from urllib.parse import urlparse

from flask import Flask
from prometheus_client import Gauge
from sqlalchemy.engine import make_url

from ..accounts.service import SETUP_CODE
from ..extensions import db
from ..jobs import jobs_of
from ..metrics import queue_depth
from ..storage import storage_of
from ..uploads.request import SMALL_BODY_LIMIT
from . import logs
from . import metrics
from .readiness import readiness_of

log = logging.getLogger(__name__)

#: ``prctl`` option: the signal a process receives when its parent dies (Linux).
PR_SET_PDEATHSIG = 1
#: ``mallopt`` option of glibc: the most memory arenas threads may spread over.
M_ARENA_MAX = -8
#: Arenas for a server process: what ``MALLOC_ARENA_MAX=2`` sets.
MALLOC_ARENAS = 2
#: ``mallopt`` option of glibc: allocations this large or larger get pages of their own.
M_MMAP_THRESHOLD = -3
#: Below the 1 MiB chunks every transfer moves, so that each goes back to the system when freed.
MMAP_THRESHOLD = 512 * 1024


def waitress_settings(app: Flask) -> dict[str, Any]:
    return {
        "threads": int(app.config["THREADS"]),
        # waitress refuses bodies of *at least* this size with its own plain-text
        # 413; keep it above the portal's limits so the portal answers first
        # (from the headers: portal.ops.screening).
        "max_request_body_size": max(
            int(app.config["MAX_CONTENT_LENGTH"]) + int(app.config["MULTIPART_ALLOWANCE"]), SMALL_BODY_LIMIT
        ) + 1,
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
        "ident": "portal",
        **viewer_settings(app),
        **proxy_settings(app),
    }


#: Connections one worker process holds at once. Downloads are sent from waitress's event
#: loop (:mod:`portal.http.delivery`), so an open connection costs a socket and a file, not a
#: thread: 200 slow viewers over 2 processes must not fill waitress's default of 100 each,
#: past which it stops accepting, and new requests, the library page included, wait for
#: a viewer to leave.
CONNECTION_LIMIT = 1000


def viewer_settings(app: Flask) -> dict[str, Any]:
    """How waitress holds many slow connections, and drops the ones that stopped.

    ``poll`` instead of ``select``, which fails past 1024 open descriptors.
    A client that has neither sent nor read anything for ``SEND_TIMEOUT``
    seconds is closed at the next sweep, which runs every second or two so
    that it goes within a few seconds of its timeout and its file and buffers
    are freed. One that sends, but too slowly (its headers not complete
    ``HEADER_TIMEOUT`` seconds after their first byte, its body under
    ``BODY_MIN_RATE`` bytes a second after that grace), is closed by the same
    sweep (:mod:`portal.ops.screening`).
    """
    send_timeout = max(1, int(app.config["SEND_TIMEOUT"]))
    header_timeout = float(app.config["HEADER_TIMEOUT"])
    return {
        "connection_limit": CONNECTION_LIMIT,
        "asyncore_use_poll": True,
        "channel_timeout": send_timeout,
        "cleanup_interval": max(1, min(2, send_timeout // 4, int(header_timeout) // 4)),
        "_server": functools.partial(
            create_server,
            stop_timeout=float(app.config["STOP_TIMEOUT"]),
            header_timeout=header_timeout,
            body_min_rate=float(app.config["BODY_MIN_RATE"]),
        ),
    }


class WaitressInternal(NamedTuple):
    """One thing the portal uses of waitress that waitress does not document, so may change in any release."""

    #: Whose it is: ``server``, ``channel`` (a connection), ``dispatcher`` (the worker threads' queue),
    #: ``adjustments``, ``trigger`` (the loop's wake-up pipe), ``file_wrapper``, ``parser`` (a request being
    #: read), ``wasyncore.dispatcher`` or ``serve`` (a keyword of ``waitress.serve``).
    owner: str
    name: str
    #: The portal's module that uses it.
    user: str
    #: What to check again before upgrading waitress.
    purpose: str


#: The waitress these internals were read in; requirements.txt pins it exactly.
WAITRESS_VERSION = "3.0.2"
_SWEEP = ("portal/ops/server.py", "the slow-viewer sweep (create_server)")
_QUEUE = ("portal/ops/server.py", "the portal_queue_depth gauge (WaitingTasks)")
_STOP = ("portal/ops/lifecycle.py", "the graceful stop (GracefulStop)")
_SENT = ("portal/ops/traffic.py", "the bytes counted of a file_wrapper download (observed_file_wrapper)")
_LOGS = ("portal/ops/logs.py", "which of waitress's log records are left out")
_SENDERS = ("portal/ops/screening.py", "the slow-sender sweep (ScreeningChannel.close_if_too_slow)")
#: Every undocumented part of waitress the portal relies on, in one place: tests/ops/test_waitress_shape.py
#: checks each on a real server built by :func:`create_server`, so an upgrade that changes one fails there.
WAITRESS_INTERNALS = (
    WaitressInternal("serve", "_server", "portal/ops/server.py", "viewer_settings, which has waitress build its server here"),
    WaitressInternal("server", "maintenance", *_SWEEP),
    WaitressInternal("server", "active_channels", *_SWEEP),
    WaitressInternal("server", "adj", *_SWEEP),
    WaitressInternal("adjustments", "channel_timeout", *_SWEEP),
    WaitressInternal("channel", "socket", *_SWEEP),
    WaitressInternal("channel", "last_activity", *_SWEEP),
    WaitressInternal("channel", "total_outbufs_len", *_SWEEP),
    WaitressInternal("channel", "handle_close", *_SWEEP),
    WaitressInternal("server", "task_dispatcher", *_QUEUE),
    WaitressInternal("dispatcher", "lock", *_QUEUE),
    WaitressInternal("dispatcher", "queue", *_QUEUE),
    WaitressInternal("server", "trigger", *_STOP),
    WaitressInternal("trigger", "readable", *_STOP),
    WaitressInternal("server", "pull_trigger", *_STOP),
    WaitressInternal("server", "accepting", *_STOP),
    WaitressInternal("server", "active_channels", *_STOP),
    WaitressInternal("channel", "requests", *_STOP),
    WaitressInternal("channel", "request", *_STOP),
    WaitressInternal("wasyncore.dispatcher", "close", *_STOP),
    WaitressInternal("file_wrapper", "prepare", *_SENT),
    WaitressInternal("file_wrapper", "get", *_SENT),
    WaitressInternal("file_wrapper", "remain", *_SENT),
    WaitressInternal("channel", "logger", *_LOGS),
    WaitressInternal("dispatcher", "queue_logger", *_LOGS),
    WaitressInternal("channel", "request", *_SENDERS),
    WaitressInternal("channel", "readable", *_SENDERS),
    WaitressInternal("channel", "addr", *_SENDERS),
    WaitressInternal("channel", "connected", *_SENDERS),
    WaitressInternal("parser", "headers_finished", *_SENDERS),
    WaitressInternal("parser", "completed", *_SENDERS),
    WaitressInternal("parser", "body_bytes_received", *_SENDERS),
)


def create_server(
    application: Any, stop_timeout: float, header_timeout: float, body_min_rate: float, **settings: Any
) -> Any:
    """waitress's server, which tells a slow reader from a stopped one, and drops the stopped.

    waitress counts a connection as active only when it sends to it, but the
    kernel queues megabytes per socket: a client reading 64 KB/s leaves its
    socket unwritable for tens of seconds while it drains that queue. So each
    sweep also looks at how much the kernel still holds for the client, and
    a queue that shrank since the last sweep counts as activity.

    waitress's own sweep only marks an idle connection to be closed, and closes
    it once its socket is writable again, which a client that stopped reading
    never lets happen: it would hold its file (and any worker thread waiting to
    write to it) for ever. Once it has taken nothing for ``channel_timeout``
    seconds while more waits for it, it is closed at once. The sweep runs in
    waitress's event loop, as does all sending.

    Its connections read no body before the application has seen the
    request's headers, and linger after refusing one
    (:mod:`portal.ops.screening`), which the sweep ends in time. The sweep
    also closes those whose clients send their requests too slowly: headers
    not complete ``header_timeout`` seconds after their first byte, or a body
    under ``body_min_rate`` bytes a second on average after that grace.

    SIGTERM stops it cleanly, waiting up to ``stop_timeout`` seconds for the
    requests in progress (:mod:`portal.ops.lifecycle`).

    All of this reaches into waitress's objects: :data:`WAITRESS_INTERNALS`
    lists what, and is what to re-check before upgrading waitress.
    """
    from waitress.server import create_server as create_waitress_server

    from .lifecycle import GracefulStop
    from .screening import ScreeningChannel
    from .screening import close_lingered
    from .screening import close_slow_senders

    server = create_waitress_server(application, **settings)
    # Each connection asks the application about a request's headers before reading its body.
    server.channel_class = ScreeningChannel
    GracefulStop(server, stop_timeout).install()
    count_waiting_tasks(server.task_dispatcher)
    sweep = server.maintenance
    queued: dict[Any, int | None] = {}

    def maintenance(now: float) -> None:
        channels = list(server.active_channels.values())
        for channel in channels:
            still_queued = unsent_bytes(channel.socket)
            if still_queued is not None and still_queued < (queued.get(channel) or 0):
                channel.last_activity = now
            queued[channel] = still_queued
        for gone in set(queued) - set(channels):
            del queued[gone]
        sweep(now)
        close_lingered(channels, time.monotonic())
        close_slow_senders(channels, time.monotonic(), header_timeout, body_min_rate)
        cutoff = now - server.adj.channel_timeout
        for channel in channels:
            if channel.total_outbufs_len and channel.last_activity < cutoff:
                channel.handle_close()

    server.maintenance = maintenance
    return server


class WaitingTasks(deque[Any]):
    """waitress's queue of requests waiting for a worker thread, which keeps ``portal_queue_depth`` at its length.

    waitress changes its queue in two places only, both under its dispatcher's
    lock: it appends a request once it arrived whole, and a free thread takes
    the oldest. So the gauge is the depth at every moment, for a scrape
    answered by any worker: each process writes its own (in its file, in
    multiprocess mode), and a scrape adds them up. Read at scrape time instead,
    the depth would be the answering worker's alone (the workers share no
    memory); waitress's "Task queue depth" warning says the depth only as it
    grows, never as it drains, and is not logged (:mod:`portal.ops.logs`).
    """

    def __init__(self, gauge: Gauge) -> None:
        super().__init__()
        self.gauge = gauge
        gauge.set(0)

    def append(self, task: Any) -> None:
        super().append(task)
        self.gauge.set(len(self))

    def popleft(self) -> Any:
        task = super().popleft()
        self.gauge.set(len(self))
        return task


def count_waiting_tasks(dispatcher: Any) -> None:
    """Give waitress's task dispatcher a :class:`WaitingTasks` queue, before any request arrived."""
    with dispatcher.lock:
        waiting = WaitingTasks(queue_depth())
        waiting.extend(dispatcher.queue)
        dispatcher.queue = waiting


def unsent_bytes(sock: socket.socket | None) -> int | None:
    """Bytes the kernel holds that the peer has not acknowledged (Linux's SIOCOUTQ); None when unknown."""
    try:
        import fcntl
        import termios
    except ImportError:
        return None
    if sock is None or not hasattr(termios, "TIOCOUTQ"):
        return None
    try:
        return int(struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0])
    except (OSError, ValueError):
        return None


def proxy_settings(app: Flask) -> dict[str, Any]:
    """Behind a reverse proxy at ``TRUSTED_PROXY``, take the client's address from its X-Forwarded-For.

    Without it every client would share the proxy's address, and five wrong
    passwords from anyone would lock everyone out of signing in. Headers from
    any other peer are dropped, so a client cannot pick its own address.
    """
    proxy = app.config.get("TRUSTED_PROXY")
    if not proxy:
        return {}
    return {
        "trusted_proxy": str(proxy),
        "trusted_proxy_count": int(app.config["TRUSTED_PROXY_COUNT"]),
        "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port"},
        "clear_untrusted_proxy_headers": True,
    }


def process_count(app: Flask) -> int:
    configured = app.config.get("PROCESSES")
    if configured is not None:
        return max(1, int(configured))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def listening_socket(host: str, port: int, share_port: bool = False) -> socket.socket:
    """A TCP socket bound to ``host``:``port``; waitress makes it listen."""
    family, kind, protocol, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    listener = socket.socket(family, kind, protocol)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if share_port:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind(address)
    return listener


def startup_line(app: Flask, host: str, port: int, processes: int) -> str:
    """What ``python wsgi.py`` prints once it listens: enough to know it is up and how, never a secret.

    The database and storage are named by kind and place only: a database URL's
    password, or any credential, stays out of the line.
    """
    from .. import __version__

    database = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    database_kind = database.get_backend_name()
    database_place = database.database if database_kind == "sqlite" else f"{database.host or 'localhost'}/{database.database}"
    storage_url = app.config.get("STORAGE_URL")
    if storage_url and urlparse(storage_url).scheme == "s3":
        parsed = urlparse(storage_url)
        storage = f"S3 bucket {parsed.netloc}{parsed.path}"
    else:
        storage = f"local folder {storage_url and urlparse(storage_url).path or os.path.join(app.config['DATA_DIR'], 'files')}"
    return (
        f"portal {__version__} on {base_url(host, port)} ({processes} x {int(app.config['THREADS'])} threads); "
        f"data {app.config['DATA_DIR']}; database {database_kind} {database_place}; storage {storage}; "
        f"share links on {app.config['BASE_URL'] or 'the address each request came to (PORTAL_BASE_URL unset)'}"
    )


def setup_line(app: Flask, host: str, port: int) -> str | None:
    """While no account exists: the one-time link that creates the first admin (None once one exists).

    It carries a secret, but only the person who started the server sees it,
    and it stops working as soon as the first admin exists.
    """
    code = app.extensions.get(SETUP_CODE)
    if code is None:
        return None
    link = f"{base_url(host, port)}setup?code={code}"
    if not readiness_of(app).setup_checked:
        return f"The database cannot be reached yet: if no account exists, create the first admin at {link} once it can"
    return f"No account exists yet: create the first admin at {link}"


def base_url(host: str, port: int) -> str:
    shown_host = "localhost" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown_host:
        shown_host = f"[{shown_host}]"
    return f"http://{shown_host}:{port}/"


def announce(app: Flask, host: str, port: int, processes: int) -> None:
    for line in (startup_line(app, host, port, processes), setup_line(app, host, port)):
        if line is not None:
            logs.announce(app, log, line)
    if app.config["PASSWORD_HASH_PROFILE"] == "CHEAPEST":
        log.warning("PORTAL_PASSWORD_HASH_PROFILE is CHEAPEST: password hashes protect nothing (meant for test suites)")


def configure_logging(app: Flask) -> None:
    """The log (audit trail included) to standard error at ``LOG_LEVEL``; access lines to standard output."""
    logs.configure_logging(app)


def serve(app: Flask) -> None:
    from waitress import serve as waitress_serve

    configure_logging(app)
    limit_malloc_arenas()
    host, port = app.config["HOST"], int(app.config["PORT"])
    forks = hasattr(os, "fork") and hasattr(socket, "SO_REUSEPORT")
    processes = process_count(app) if forks else 1
    job_workers = max(0, int(app.config["JOB_WORKERS"]))
    if job_workers and not forks:
        log.warning("no job consumer on this system: run `flask --app wsgi jobs worker` beside the server")
        job_workers = 0
    if processes == 1 and not job_workers:
        listener = listening_socket(host, port)
        announce(app, host, listener.getsockname()[1], processes)
        waitress_serve(app, sockets=[listener], **waitress_settings(app))
        return
    # A plain bind first fails when anything serves the port already, another
    # portal included (sockets that all ask to share a port may share it).
    listening_socket(host, port).close()
    # Bound but never listening: holds the port for the workers without
    # receiving any connection itself (and fixes the port when PORT is 0).
    reservation = listening_socket(host, port, share_port=True)
    port = reservation.getsockname()[1]
    announce(app, host, port, processes)
    release_connections(app)
    # Workers and the consumer share no memory: each keeps its counts in this folder, which /metrics adds up.
    metrics_folder = metrics.prepare_multiprocess()
    workers = {_fork_worker(app, host, port) for _ in range(processes)}
    if job_workers:
        workers.add(_fork_consumer(app, job_workers))
    status = _supervise(workers)
    reservation.close()
    metrics.remove_multiprocess_folder(metrics_folder)
    sys.exit(status)


def limit_malloc_arenas() -> None:
    """Have glibc's threads share two memory arenas instead of up to eight per CPU.

    A download moves 1 MiB chunks through whichever worker thread serves it,
    and glibc keeps freed chunks in that thread's own arena: each of the 8
    threads of a worker settled some 7 MiB higher, so a worker grew by about
    55 MiB over its first dozen 1 GiB downloads. With two arenas it grew by
    about 10 MiB, at the same speed. Called before any thread starts; does
    nothing outside glibc.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(M_ARENA_MAX, MALLOC_ARENAS)
    # glibc raises its threshold to the size of any mapped block freed, after which
    # 1 MiB chunks come from the arenas, which keep them: RSS then wandered by up to
    # 33 MiB between runs of the same 48 downloads. A fixed threshold stops that.
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def release_connections(app: Flask) -> None:
    """Close the parent's database, storage and queue connections: a forked worker must open its own."""
    with app.app_context():
        db.engine.dispose()
    storage_of(app).close()
    jobs_of(app).huey.storage.close()


def _fork_worker(app: Flask, host: str, port: int) -> int:
    from waitress import serve as waitress_serve

    def serve_port() -> None:
        listener = listening_socket(host, port, share_port=True)
        waitress_serve(app, sockets=[listener], **waitress_settings(app))

    return _fork_child(serve_port, "a portal worker process")


def _fork_consumer(app: Flask, job_workers: int) -> int:
    from ..jobs.consumer import run_consumer
    from .readiness import wait_for_database

    return _fork_child(lambda: run_consumer(app, job_workers, wait_for_database), "the job consumer process")


def _fork_child(run: Callable[[], None], name: str) -> int:
    """Fork a child that dies with this process, runs ``run`` and exits (1 when it failed); its pid here."""
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    status = 1
    try:
        _die_with(parent)
        run()
        status = 0
    except BaseException:
        log.exception("%s failed", name)
    finally:
        logging.shutdown()
        os._exit(status)


def _die_with(parent: int) -> None:
    """Have the kernel kill this worker when the parent dies, even by SIGKILL.

    Otherwise a killed server would leave workers holding the port and
    finishing requests nobody supervises.
    """
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _supervise(workers: set[int]) -> int:
    """Wait for the workers; return the exit status of the whole server."""
    stopping = False

    def stop(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        _signal_all(workers, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = 0
    while workers:
        pid, wait_status = os.wait()
        workers.discard(pid)
        metrics.process_ended(pid)
        if not stopping:
            log.error("portal process %d stopped (%s); stopping the server", pid, _describe(wait_status))
            stopping = True
            status = 1
            _signal_all(workers, signal.SIGTERM)
    return status


def _signal_all(workers: set[int], signum: int) -> None:
    for pid in workers:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def _describe(wait_status: int) -> str:
    if os.WIFSIGNALED(wait_status):
        return f"killed by signal {os.WTERMSIG(wait_status)}"
    return f"exit status {os.waitstatus_to_exitcode(wait_status)}"
