"""Security headers on every response, and the session cookie's ``Secure`` flag where the request came over HTTPS."""

from __future__ import annotations

from flask import Flask
from flask import Response
from flask import current_app
from flask import request
from flask.sessions import SecureCookieSessionInterface

#: Scripts and styles come only from this site: no inline script can run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


#: With ``PORTAL_HSTS=true``, on answers to HTTPS requests: browsers keep to HTTPS for a year.
STRICT_TRANSPORT_SECURITY = "max-age=31536000"


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    # Only over HTTPS, as RFC 6797 says: over plain HTTP a browser ignores it, and it would be a lie.
    if current_app.config["HSTS"] and request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    return response


class SessionOverHttps(SecureCookieSessionInterface):
    """``SESSION_COOKIE_SECURE = "auto"``: the cookie is ``Secure`` when the request came over HTTPS.

    Behind ``PORTAL_TRUSTED_PROXY``, waitress takes the scheme from the proxy's
    ``X-Forwarded-Proto``, so a TLS proxy needs no other setting; ``true`` and
    ``false`` still force it.
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        setting = app.config["SESSION_COOKIE_SECURE"]
        if setting == "auto":
            return request.is_secure
        return bool(setting)


def register_security_headers(app: Flask) -> None:
    app.after_request(add_security_headers)
    app.session_interface = SessionOverHttps()
