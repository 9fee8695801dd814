"""Each request, once its response is finished: its metrics and its access line.

A response is finished when the server closes its body: after the last byte
of a streamed download, or after a broken connection, so that the bytes and
the duration counted are those of the whole exchange, not of the moment the
view returned. A file handed to waitress as ``wsgi.file_wrapper`` is sent by
its main loop, which closes the wrapper when it has sent it all (or the
client left); the wrapper is swapped for a subclass that reports then, so
that such downloads keep leaving their worker thread free.

A download cut short because its bytes did not match their checksum
(:class:`~portal.library.integrity.CorruptionDetected`, raised while the
body is read) is counted here too, whichever way the body is sent.

The route template (``/api/v1/files/<video_id>``), never the raw path, labels
the metrics, so that the number of series stays bounded whatever URLs are
asked for.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from collections.abc import Iterator
from typing import Any
from typing import Callable

from flask import Flask
from flask import g
from flask import request

from ..http.headers_first import GO_AHEAD
from ..library.integrity import CorruptionDetected
from ..metrics import ROUTE_KEY
from ..metrics import UNMATCHED_ROUTE
from ..metrics import count_checksum_failure
from ..metrics import count_request
from .logs import loggable_path
from .logs import write_access_line

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: What a request's view leaves in its WSGI environment for :class:`Exchange` (and :data:`ROUTE_KEY`).
USER_KEY = "portal.user"
SECRET_PATH_KEY = "portal.secret_path"
#: Arguments of a route that are secrets in themselves (a share link's token): a line shows the template instead.
SECRET_ARGUMENTS = frozenset({"token"})
#: Where share links live: whatever follows is a token or part of one, whether or not a route matches it.
SHARE_PREFIX = "/s/"
#: How a line shows any path under :data:`SHARE_PREFIX` (with its query, suffix or none).
SHARE_PATH_SHOWN = "/s/<token>"
#: Methods labelled as themselves; any other is "other", so that made-up methods cannot make series.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Exchange:
    """One request and its response, from its arrival to the end of its body."""

    def __init__(self, app: Flask, environ: dict[str, Any]) -> None:
        self.app = app
        self.environ = environ
        self.started = time.perf_counter()
        self.status = 500
        self.finished = False

    def start_response(self, start_response: Callable[..., Any]) -> Callable[..., Any]:
        def observed(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            self.status = int(status[:3])
            return start_response(status, headers, exc_info)

        return observed

    def finish(self, sent: int) -> None:
        """Count the exchange and write its line, once, whoever ends it first."""
        if self.finished:
            return
        self.finished = True
        try:
            self._report(sent)
        except Exception:
            # The response is gone already; a failure here must not also break the server's loop.
            log.exception("could not count a finished request")

    def _report(self, sent: int) -> None:
        environ = self.environ
        if environ.get(GO_AHEAD):
            # Only the server's look at the headers (portal.http.headers_first): the request itself comes next.
            return
        seconds = time.perf_counter() - self.started
        route = environ.get(ROUTE_KEY, UNMATCHED_ROUTE)
        method = str(environ.get("REQUEST_METHOD", ""))
        try:
            received = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            received = 0
        count_request(route, method if method in KNOWN_METHODS else "other", self.status, seconds, sent, received)
        if not self.app.config["ACCESS_LOG"]:
            return
        if str(environ.get("PATH_INFO", "")).startswith(SHARE_PREFIX):
            # A typo'd or made-up suffix matches no route, yet its first part may be a live token.
            path = loggable_path(environ.get("SCRIPT_NAME", "") + SHARE_PATH_SHOWN, "")
        elif environ.get(SECRET_PATH_KEY):
            path = loggable_path(route, "")
        else:
            path = loggable_path(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
        write_access_line(
            environ.get("REMOTE_ADDR") or "-", method, path, self.status, sent, seconds * 1000, environ.get(USER_KEY)
        )


class ObservedBody:
    """A response body that counts the bytes taken from it and finishes its exchange when closed."""

    def __init__(self, body: Iterable[bytes], exchange: Exchange) -> None:
        self._body = body
        self._iterator: Iterator[bytes] | None = None
        self._exchange = exchange
        self._sent = 0

    def __iter__(self) -> ObservedBody:
        self._iterator = iter(self._body)
        return self

    def __next__(self) -> bytes:
        assert self._iterator is not None
        try:
            chunk = next(self._iterator)
        except CorruptionDetected:
            count_checksum_failure("download")
            raise
        self._sent += len(chunk)
        return chunk

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._exchange.finish(self._sent)


_observed_wrappers: dict[type, type] = {}


def observed_file_wrapper(server_wrapper: type) -> type:
    """A subclass of the server's ``wsgi.file_wrapper`` whose ``close`` finishes its exchange.

    A subclass, so the server still recognises it as its own and sends it
    from its main loop. waitress's wrapper counts down ``remain`` as it sends,
    so what was sent is what ``prepare`` announced less what remains.
    """
    if server_wrapper not in _observed_wrappers:

        class ObservedFileWrapper(server_wrapper):
            exchange: Exchange | None = None
            prepared = 0
            corruption_counted = False

            def prepare(self, size: int | None = None) -> int:
                self.prepared = super().prepare(size)
                return self.prepared

            def get(self, numbytes: int = -1, skip: bool = False) -> bytes:
                try:
                    return super().get(numbytes, skip)
                except CorruptionDetected:
                    # waitress may ask again after the refusal: one download is one failure.
                    if not self.corruption_counted:
                        self.corruption_counted = True
                        count_checksum_failure("download")
                    raise

            def close(self) -> None:
                # Before closing, which sets ``remain`` to 0.
                sent = max(0, self.prepared - int(getattr(self, "remain", 0) or 0))
                try:
                    super().close()
                finally:
                    if self.exchange is not None:
                        self.exchange.finish(sent)

        _observed_wrappers[server_wrapper] = ObservedFileWrapper
    return _observed_wrappers[server_wrapper]


class Traffic:
    """WSGI middleware around the application: every response is counted and logged once it is finished."""

    def __init__(self, app: Flask, wsgi_app: WSGIApp) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        exchange = Exchange(self.app, environ)
        server_wrapper = environ.get("wsgi.file_wrapper")
        wrapper = observed_file_wrapper(server_wrapper) if isinstance(server_wrapper, type) else None
        if wrapper is not None:
            environ["wsgi.file_wrapper"] = wrapper
        try:
            body = self.wsgi_app(environ, exchange.start_response(start_response))
        except BaseException:
            exchange.finish(0)
            raise
        if wrapper is not None and isinstance(body, wrapper):
            body.exchange = exchange  # type: ignore[attr-defined]
            return body
        return ObservedBody(body, exchange)


def remember_route_and_user(_error: BaseException | None = None) -> None:
    """At the end of the request: what :class:`Exchange` labels and logs it with (the view knows, the middleware not)."""
    environ = request.environ
    rule = request.url_rule
    environ[ROUTE_KEY] = rule.rule if rule is not None else UNMATCHED_ROUTE
    environ[SECRET_PATH_KEY] = bool(SECRET_ARGUMENTS & set(request.view_args or ()))
    caller = g.get("caller")
    environ[USER_KEY] = caller.username if caller is not None else None


def register_traffic(app: Flask) -> None:
    app.teardown_request(remember_route_and_user)
    app.wsgi_app = Traffic(app, app.wsgi_app)  # type: ignore[method-assign]
