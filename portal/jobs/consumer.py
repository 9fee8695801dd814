"""The job consumer: huey's, in a process of its own, at a lower CPU priority than the web workers.

``python wsgi.py`` forks it beside the web workers (:mod:`portal.ops.server`);
``flask --app wsgi jobs worker`` runs it alone. Jobs run in worker processes
forked by the consumer, so a decoder that crashes on a hostile file takes
down one worker (huey starts another), and a job's time limit can interrupt
it (huey's alarm signal). Before it starts, the consumer queues again the
jobs a killed consumer left running: huey had taken them off the queue, and
their rows still say ``running``.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
from collections.abc import Callable

from flask import Flask

from ..extensions import db
from ..media import processing
from ..storage import storage_of
from . import jobs_of
from .queue import describe_queue

log = logging.getLogger(__name__)

#: ``prctl`` option: the signal a process receives when its parent dies (Linux).
PR_SET_PDEATHSIG = 1


def run_consumer(app: Flask, workers: int, wait_for_database: Callable[[Flask], None]) -> None:
    """Run jobs, ``workers`` at a time, until SIGTERM (at once) or SIGINT (after the running jobs).

    ``wait_for_database`` (:func:`portal.ops.readiness.wait_for_database`, from the floor that starts
    the consumer) returns once the start-up work that needs the database is done.
    """
    os.nice(int(app.config["JOB_NICENESS"]))
    # Started with the database down, the consumer waits for it instead of failing the whole server.
    wait_for_database(app)
    jobs = jobs_of(app)
    with app.app_context():
        interrupted = processing.interrupted_videos()
        if interrupted:
            log.info("queueing again %d jobs a stopped consumer left running", len(interrupted))
            processing.queue_processing(interrupted)
        db.engine.dispose()
    # The worker processes open their own connections.
    jobs.huey.storage.close()
    storage_of(app).close()
    # periodic: the consumer also runs the scheduled tasks (the trash's hourly purge).
    consumer = jobs.huey.create_consumer(workers=workers, worker_type="process", periodic=True)
    # huey restarts on SIGHUP by executing the command line again, which for a consumer forked
    # by ``python wsgi.py`` would start a second server; a supervisor restarts the whole server instead.
    consumer._signal_actions.pop(signal.SIGHUP, None)
    log.info("job consumer: %d at a time, queue %s", workers, describe_queue(app))
    consumer.run()


def prepare_worker_process(app: Flask) -> None:
    """In each job worker process: die with the consumer, and never share its connections."""
    die_with_parent()
    with app.app_context():
        db.engine.dispose(close=False)
    storage_of(app).close()


def die_with_parent() -> None:
    """Have the kernel kill this process when its parent dies, even by SIGKILL (Linux)."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
