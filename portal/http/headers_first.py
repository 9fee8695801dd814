"""The answer a request's headers already decide, given before its body is read.

The server (:mod:`portal.ops.screening`) asks the application about a request
that brings a body, once its headers are in and before it reads that body: it
runs the application on the headers alone, marked with :data:`HEADERS_ONLY`
and an empty body. The request then goes through the same checks as ever, up
to the ones that need the body: the route (404, 405), who is asking and what
they may do (:func:`~portal.http.auth.authenticate_request`: 401, 403, the
sign-in page), and the route's body limit (413,
:meth:`~portal.uploads.request.PortalRequest.body_limit`). An answer from them
is sent at once, through the usual error handlers, security headers and access
log, and the body is never stored. A request that passes is marked
:data:`GO_AHEAD`, with its body limit in :data:`BODY_LIMIT`; that rehearsal is
neither counted nor logged, and the server then reads the body and hands the
whole request to the application as usual.
"""

from __future__ import annotations

from flask import Flask
from flask import Response
from flask import request

from ..uploads.request import portal_request

#: Set by the server in an environ of headers alone: answer what the headers decide, read no body.
HEADERS_ONLY = "portal.headers_only"
#: Set by the server when a chunked body has grown past :data:`BODY_LIMIT`: the answer is its 413.
BODY_OVER_LIMIT = "portal.body_over_limit"
#: Set by the application: the headers decide nothing, the body may come.
GO_AHEAD = "portal.go_ahead"
#: Set by the application with :data:`GO_AHEAD`: the most bytes the body may have.
BODY_LIMIT = "portal.body_limit"


def answer_from_headers() -> Response | None:
    """Run right after :func:`~portal.http.auth.authenticate_request` let the request in; only for :data:`HEADERS_ONLY`."""
    environ = request.environ
    if not environ.get(HEADERS_ONLY):
        return None
    if request.routing_exception is not None:
        raise request.routing_exception
    limit = portal_request().body_limit()
    if environ.get(BODY_OVER_LIMIT) or (request.content_length or 0) > limit:
        raise portal_request().too_large()
    environ[GO_AHEAD] = True
    environ[BODY_LIMIT] = limit
    # Never sent: the server reads the body, and the request is answered once it is whole.
    return Response(status=204)


def register_headers_first(app: Flask) -> None:
    """Registered right after the authentication check, before anything (CSRFProtect, the form parser) reads the body."""
    app.before_request(answer_from_headers)
