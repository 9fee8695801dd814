"""Stopping a worker process cleanly: SIGTERM lets the requests in progress finish, then exits 0.

A supervisor (Docker, systemd, the compose file) sends SIGTERM to stop or
restart the portal; the parent forwards it to every worker
(:mod:`portal.ops.server`). Each worker then:

1. stops accepting: its listening socket is closed, so new connections go to
   another worker or are refused, and a load balancer moves on;
2. lets every request in progress finish (above all uploads, being received
   or being stored) for up to ``STOP_TIMEOUT`` seconds;
3. then aborts what is left: uploads still being stored fail at their next
   write (:data:`portal.uploads.intake.ABORT_UPLOADS`), which throws away their
   bytes, and no row was written for them; a body waitress was still receiving
   lives only in its temporary file, which goes with the process;
4. and exits with status 0.

Downloads are not waited for: a player reconnects with a range.
"""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

from ..uploads.intake import ABORT_UPLOADS

log = logging.getLogger(__name__)

#: Seconds given to aborted uploads to unwind (their bytes thrown away) before the process exits anyway.
ABORT_GRACE = 5


class GracefulStop:
    """Watches one waitress server for SIGTERM and stops it as this module describes.

    The checks run in waitress's event loop (at each turn, at least once a
    second), never in the signal handler, which only notes the moment and
    wakes the loop: the loop owns the sockets. What it uses of waitress's
    server and connections is in :data:`portal.ops.server.WAITRESS_INTERNALS`.
    """

    def __init__(self, server: Any, timeout: float) -> None:
        self.server = server
        self.timeout = max(0.0, timeout)
        self.asked_at: float | None = None
        self._accepting = True
        self._aborted_at: float | None = None

    def install(self) -> None:
        """Handle SIGTERM and SIGINT, and check for them at every turn of the server's event loop."""
        signal.signal(signal.SIGTERM, self._asked)
        signal.signal(signal.SIGINT, self._asked)
        trigger = self.server.trigger
        trigger_readable = trigger.readable

        def readable() -> bool:
            self.check()
            return bool(trigger_readable())

        # The trigger (waitress's wake-up pipe) is polled at every turn for the server's whole life.
        trigger.readable = readable

    def _asked(self, _signum: int, _frame: Any) -> None:
        if self.asked_at is None:
            self.asked_at = time.monotonic()
            self.server.pull_trigger()

    def requests_in_progress(self) -> int:
        """Connections with a request being received (an upload's body, say) or being answered."""
        return sum(
            bool(channel.requests) or channel.request is not None for channel in list(self.server.active_channels.values())
        )

    def requests_answered(self) -> int:
        """Connections whose request the application is answering (in a worker thread) or will answer next."""
        return sum(bool(channel.requests) for channel in list(self.server.active_channels.values()))

    def check(self) -> None:
        """Raise SystemExit (which ends waitress's loop) once nothing is in progress or time is up."""
        if self.asked_at is None:
            return
        if self._accepting:
            self._stop_accepting()
        busy = self.requests_in_progress()
        if not busy:
            log.info("stopped: no request in progress")
            raise SystemExit(0)
        now = time.monotonic()
        if self._aborted_at is None and now >= self.asked_at + self.timeout:
            self._aborted_at = now
            ABORT_UPLOADS.set()
            log.warning("stopping: %d request(s) still in progress after %g s are aborted", busy, self.timeout)
        # Bodies still being received need no unwinding: they go with the process. Requests the
        # application is answering get ABORT_GRACE seconds to throw their bytes away.
        if self._aborted_at is not None and (not self.requests_answered() or now >= self._aborted_at + ABORT_GRACE):
            log.warning("stopped with %d request(s) still in progress", busy)
            raise SystemExit(0)

    def _stop_accepting(self) -> None:
        from waitress import wasyncore

        self._accepting = False
        self.server.accepting = False
        # The listening socket only: the trigger and the connections stay in the loop.
        wasyncore.dispatcher.close(self.server)
        log.info("stopping: no new connections; %d request(s) in progress may finish", self.requests_in_progress())
