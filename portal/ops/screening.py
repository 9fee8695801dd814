"""waitress reads no body before the application has seen its headers: what they decide is answered at once.

waitress on its own reads each request's whole body (to a temporary file past
512 KiB) before the application sees the request, and says ``100 Continue``
to whoever asks: three anonymous 256 MiB POSTs to ``/api/v1/files`` held
599 MB in deleted files under ``/tmp`` before each got its 401 after 4.3 s.
Here, once a request's headers are in and a body is to follow, the body waits
(no more is read from the connection) while a worker thread runs the
application on the headers alone (:mod:`portal.http.headers_first`). Then:

- the application answered (401, 403, 404, 413, the sign-in page): that answer
  is sent, what had come of the body is dropped, and the connection closes the
  way nginx's lingering close does: the portal stops sending, then reads and
  throws away whatever the client still sends, for at most
  :data:`LINGER_TIME` seconds and until :data:`LINGER_TIMEOUT` seconds pass
  without a byte, so that the client reads the answer instead of a reset;
- or it let the request in: the body is read as before (a client that sent
  ``Expect: 100-continue`` gets its ``100 Continue`` now), and a chunked body
  is held to the route's limit as it arrives, answered with the route's 413
  the moment it passes it.

At most one read of the socket (``recv_bytes``, 1 MiB) of a body is held
while the application looks at its headers. A body of at most
:data:`READ_WITH_HEADERS` bytes announced by its ``Content-Length`` (and
without ``Expect: 100-continue``) is read as before, with no look first: it
costs less than its headers may (waitress takes up to 256 KiB of those), and
forms and JSON bodies then cost no extra round. Nothing here runs per chunk
of an admitted body with a ``Content-Length``, so uploads keep their speed.

The same connections hold slow senders to a pace (Apache's mod_reqtimeout
rule): a request's headers must be complete within ``PORTAL_HEADER_TIMEOUT``
seconds of its first byte, and its body must then arrive at
``PORTAL_BODY_MIN_RATE`` bytes a second on average after the same grace, or
the server's sweep closes the connection (:func:`close_slow_senders`) with one
warning line. waitress's own timeout ends only silent connections: one header
line every 5 s, or a body at a byte every 5 s, held a connection, and its
buffers, for ever. Time the portal makes a client wait (while the application
looks at the headers, or a response to an earlier request goes out) does not
count against it, and a client reading its answer is never held to this.

All of this subclasses waitress's channel (a connection) and request parser,
and reaches into both: :data:`WAITRESS_INTERNALS` says what, and
``tests/ops/test_waitress_shape.py`` checks each on the pinned waitress.
"""

from __future__ import annotations

import io
import logging
import socket
import time
from typing import Any
from typing import NamedTuple

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.task import WSGITask
from waitress.utilities import RequestEntityTooLarge

from ..http.headers_first import BODY_LIMIT
from ..http.headers_first import BODY_OVER_LIMIT
from ..http.headers_first import GO_AHEAD
from ..http.headers_first import HEADERS_ONLY

log = logging.getLogger(__name__)

#: A body announced as no larger than this (and not asking ``100-continue``) is read with no look at its headers first.
READ_WITH_HEADERS = 64 * 1024
#: Seconds a refused client may go on sending, read and thrown away, before its connection is closed (nginx's lingering_time).
LINGER_TIME = 30.0
#: Seconds without a byte from a refused client after which its connection is closed (nginx's lingering_timeout).
LINGER_TIMEOUT = 5.0


class Answer(NamedTuple):
    """The application's whole answer to a request's headers, sent in place of reading its body."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes

    def to_response(self, ident: str) -> tuple[str, list[tuple[str, str]], bytes]:
        """What waitress's ErrorTask sends for a request whose ``error`` this is (it sets the length itself)."""
        return self.status, [(name, value) for name, value in self.headers if name.lower() != "content-length"], self.body


class Verdict(NamedTuple):
    """What the application made of a request's headers: an answer, or the body's limit (None: waitress's own).

    An answer is anything waitress's ErrorTask can send (an :class:`Answer`, or one of waitress's own errors).
    """

    answer: Any = None
    limit: int | None = None


class ScreeningParser(HTTPRequestParser):
    """waitress's request parser, which has its channel ask the application before it takes any of a body."""

    #: While the application looks at the headers: what came of the body meanwhile, kept in memory.
    held: list[bytes]
    #: The limit of a chunked body the application let in.
    body_limit: int | None = None
    # waitress's own, typed here: its receiver of the body, and the error it answers instead (any ErrorTask can send).
    body_rcv: Any = None
    error: Any = None
    expect_continue: bool = False
    screening = False
    wants_continue = False
    # waitress's own count of the body's bytes taken so far.
    body_bytes_received: int = 0
    #: Since when the client's time runs (:data:`time.monotonic`): the headers' from the first
    #: byte, the body's from the end of the headers, and either's again after the portal made it wait.
    clock_started = 0.0
    #: waitress's count of body bytes when the clock started.
    clock_bytes = 0

    def __init__(self, adj: Any, channel: ScreeningChannel) -> None:
        super().__init__(adj)
        self.channel = channel
        self.held = []
        # Made when the request's first byte arrives: its headers' time runs from now.
        self.restart_clock(time.monotonic())

    def restart_clock(self, now: float) -> None:
        self.clock_started = now
        self.clock_bytes = self.body_bytes_received

    def too_slow(self, now: float, header_timeout: float, min_rate: float) -> str | None:
        """Why the client is too slow sending this request (None: it is not, or it sent it all)."""
        if self.completed or self.screening:
            return None
        elapsed = now - self.clock_started
        if not self.headers_finished:
            if elapsed <= header_timeout:
                return None
            return f"its request's headers were not complete within {header_timeout:g} s (PORTAL_HEADER_TIMEOUT)"
        received = self.body_bytes_received - self.clock_bytes
        if elapsed <= header_timeout + received / min_rate:
            return None
        return (
            f"the body of its {self.command} came at {received / elapsed:.0f} bytes/s ({received} bytes in {elapsed:.0f} s), "
            f"under PORTAL_BODY_MIN_RATE ({min_rate:g}) after {header_timeout:g} s of grace"
        )

    def received(self, data: bytes) -> int:
        if self.screening:
            # The channel reads nothing more until the verdict: one read's worth at most.
            self.held.append(data)
            return len(data)
        if self.body_rcv is None:
            return self._received_headers(data)
        if self.chunked and self.body_limit is not None and not self.completed:
            return self._received_chunked(data, self.body_limit)
        return int(super().received(data))

    def _received_headers(self, data: bytes) -> int:
        consumed = int(super().received(data))
        if isinstance(self.error, RequestEntityTooLarge) and self.body_rcv is not None:
            # A Content-Length over waitress's ceiling: the application names the route's limit instead.
            self.error = None
            self.completed = False
        if self.headers_finished and not self.completed:
            # The body's time starts as its headers end.
            self.restart_clock(time.monotonic())
        if self.headers_finished and not self.completed and self.body_rcv is not None and self._worth_a_look():
            self.channel.screen(self, over_limit=False)
        return consumed

    def _worth_a_look(self) -> bool:
        return bool(self.chunked or self.expect_continue or self.content_length > READ_WITH_HEADERS)

    def _received_chunked(self, data: bytes, limit: int) -> int:
        # A chunk's bytes never decode to more than themselves: fed at most one byte more than the
        # room left, the body held never passes its limit by more than that byte.
        room = limit + 1 - len(self.body_rcv)
        consumed = int(super().received(data[:room] if room < len(data) else data))
        over_ceiling = isinstance(self.error, RequestEntityTooLarge)  # waitress's own, counted in bytes sent
        if over_ceiling or (self.error is None and len(self.body_rcv) > limit):
            self.error = None
            self.completed = False
            self.drop_body()
            self.channel.screen(self, over_limit=True)
        return consumed

    def start_screening(self) -> None:
        self.screening = True
        # waitress's channel says 100 Continue right after the headers unless this is cleared.
        self.wants_continue = self.expect_continue
        self.expect_continue = False

    def go_ahead(self, limit: int | None) -> bytes:
        """Take the body from here on; what came of it meanwhile, to be parsed now."""
        self.screening = False
        self.body_limit = limit
        self.expect_continue = self.wants_continue
        # The client waited for the verdict (or for its 100 Continue): its body's time starts now.
        self.restart_clock(time.monotonic())
        held, self.held = b"".join(self.held), []
        return held

    def refuse(self, answer: Answer) -> None:
        """Complete this request as ``answer``, with no body."""
        self.screening = False
        self.held = []
        self.expect_continue = False
        self.drop_body()
        self.error = answer
        self.completed = True

    def drop_body(self) -> None:
        if self.body_rcv is not None:
            self.body_rcv.getbuf().close()
            self.body_rcv = None


class ScreeningChannel(HTTPChannel):
    """waitress's connection, which waits for the application's verdict on headers, and lingers after a refusal."""

    #: The request whose headers the application is looking at; nothing is read meanwhile.
    screening: ScreeningParser | None = None
    #: An answer from headers is queued or sent: whatever else arrives is read and thrown away.
    refused = False
    #: While lingering: when the connection closes at the latest, and when it closes if nothing more comes.
    linger_until: float | None = None
    linger_quiet_until = 0.0

    def parser_class(self, adj: Any) -> ScreeningParser:
        return ScreeningParser(adj, self)

    def readable(self) -> bool:
        if self.linger_until is not None:
            return True
        if self.screening is not None:
            return False
        return bool(super().readable())

    def received(self, data: bytes) -> bool:
        if self.refused:
            return False
        return bool(super().received(data))

    def screen(self, parser: ScreeningParser, over_limit: bool) -> None:
        """Stop reading and have a worker thread ask the application about ``parser``'s headers (event loop)."""
        parser.start_screening()
        self.screening = parser
        self.server.add_task(HeaderScreen(self, parser, over_limit))

    def screened(self, parser: ScreeningParser, verdict: Verdict) -> None:
        """The application's verdict, acted on in the event loop (a trigger's thunk)."""
        if self.screening is not parser or not self.connected:
            return
        self.screening = None
        with self.requests_lock:
            if verdict.answer is not None:
                parser.refuse(verdict.answer)
                self.refused = True
                # As waitress's own received() does with a request it has completed.
                self.sent_continue = False
                self.request = None
                self.requests.append(parser)
                if len(self.requests) == 1:
                    self.server.add_task(self)
                return
            held = parser.go_ahead(verdict.limit)
            if parser.expect_continue and not held and not self.requests and not self.sent_continue:
                self.send_continue()
        if held:
            self.received(held)

    def handle_close(self) -> None:
        lingers = self.refused and self.linger_until is None and self.socket is not None and not self.total_outbufs_len
        if lingers and self._begin_lingering():
            return
        super().handle_close()
        self._drop_unfinished_request()

    def _drop_unfinished_request(self) -> None:
        """Free the body of a request the client never finished as the connection closes.

        The parser and its channel refer to each other, so reference counting alone frees
        neither: without this, a cut-short upload's spooled body stays open on disk until the
        garbage collector's next cyclic pass, which an idle server may not run for minutes.
        """
        request, self.request = self.request, None
        if request is not None:
            request.close()

    def _begin_lingering(self) -> bool:
        """Send the client our end of the connection, and keep reading theirs (False: it is gone already)."""
        try:
            self.socket.shutdown(socket.SHUT_WR)
        except OSError:
            return False
        now = time.monotonic()
        self.linger_until = now + LINGER_TIME
        self.linger_quiet_until = now + LINGER_TIMEOUT
        self.will_close = False
        self.close_when_flushed = False
        return True

    def handle_read(self) -> None:
        if self.linger_until is None:
            super().handle_read()
            return
        try:
            data = self.socket.recv(self.adj.recv_bytes)
        except OSError:
            data = b""
        now = time.monotonic()
        if not data or now >= self.linger_until:
            self.handle_close()
        else:
            self.linger_quiet_until = now + LINGER_TIMEOUT

    def close_if_too_slow(self, now: float, header_timeout: float, min_rate: float) -> bool:
        """Close this connection if its client sends its request too slowly; whether it did (event loop).

        Only while the portal waits for the client: reading is paused while the
        application looks at the headers, or while answers to earlier requests
        on the connection are still being made or sent, and that time restarts
        the client's clock instead of counting against it.
        """
        request = self.request
        if not isinstance(request, ScreeningParser) or self.refused or self.linger_until is not None or not self.connected:
            return False
        if self.screening is not None or not self.readable():
            request.restart_clock(now)
            return False
        reason = request.too_slow(now, header_timeout, min_rate)
        if reason is None:
            return False
        # The client's address and the method only: a path may carry a share token, headers a credential.
        peer = self.addr[0] if isinstance(self.addr, tuple) and self.addr else self.addr
        log.warning("closed a slow sender's connection from %s: %s", peer, reason)
        self.handle_close()
        return True

    def lingered_enough(self, now: float) -> bool:
        """Whether a lingering connection is due to close (``now`` from ``time.monotonic``)."""
        return self.linger_until is not None and (now >= self.linger_until or now >= self.linger_quiet_until)


class HeaderScreen:
    """A task for waitress's worker threads: run the application on a request's headers alone."""

    def __init__(self, channel: ScreeningChannel, parser: ScreeningParser, over_limit: bool) -> None:
        self.channel = channel
        self.parser = parser
        self.over_limit = over_limit

    def service(self) -> None:
        try:
            verdict = self.ask()
        except Exception:
            # The request goes on as if never looked at; the application answers it whole.
            log.exception("could not look at the headers of %s %s", self.parser.command, self.parser.path)
            # A body dropped for passing its limit cannot go on: waitress's own plain 413 then.
            verdict = Verdict(RequestEntityTooLarge("exceeds the body limit")) if self.over_limit else Verdict()
        self.channel.server.trigger.pull_trigger(lambda: self.channel.screened(self.parser, verdict))

    def cancel(self) -> None:
        """waitress stops: the connection goes with it."""

    def ask(self) -> Verdict:
        environ = WSGITask(self.channel, self.parser).get_environment()
        environ["wsgi.input"] = io.BytesIO()
        environ[HEADERS_ONLY] = True
        if self.over_limit:
            environ[BODY_OVER_LIMIT] = True
        started: list[tuple[str, list[tuple[str, str]]]] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = [(status, list(headers))]
            return lambda _data: None

        body = self.channel.server.application(environ, start_response)
        try:
            content = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        if environ.get(GO_AHEAD) and not self.over_limit:
            return Verdict(limit=environ.get(BODY_LIMIT))
        status, headers = started[0]
        return Verdict(answer=Answer(status, headers, content))


def close_lingered(channels: list[Any], now: float) -> None:
    """Close the lingering connections whose time is up (from the server's sweep)."""
    for channel in channels:
        if isinstance(channel, ScreeningChannel) and channel.lingered_enough(now):
            channel.handle_close()


def close_slow_senders(channels: list[Any], now: float, header_timeout: float, min_rate: float) -> None:
    """Close the connections whose clients send their requests too slowly (from the server's sweep)."""
    for channel in channels:
        if isinstance(channel, ScreeningChannel):
            channel.close_if_too_slow(now, header_timeout, min_rate)
