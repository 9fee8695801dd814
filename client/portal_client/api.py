"""Talking to the portal's /api/v1: one requests session with the token, and refusals turned into messages.

Every failure a user can meet (a wrong URL, a portal that is down, a token
that was refused, an unknown id) becomes a :class:`ClientError` whose message
says what to do, so the command line prints one line instead of a traceback.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

#: Seconds to wait for the portal to connect and to send the next bytes; a transfer may take longer in all.
TIMEOUT = (10, 60)


class ClientError(Exception):
    """A failure the user can fix; its message says how."""


def hint_for(status: int) -> str:
    """What to do about a refusal with ``status``, beyond the portal's own message."""
    if status == 401:
        return "The token was refused: run `portal-client login URL` with a valid token, or set PORTAL_TOKEN."
    if status == 403:
        return "The token may not do this: make one with the scope named above on the portal's account page."
    return ""


def error_message(response: requests.Response) -> str:
    """The portal's own message of a refusal (its JSON ``error.message``), else the status line."""
    try:
        body = response.json()
        message = body["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = f"{response.status_code} {response.reason}"
    else:
        message = f"{response.status_code}: {message}"
    hint = hint_for(response.status_code)
    return f"{message} {hint}".strip()


class Portal:
    """The API of one portal at ``url``, authenticated with ``token``."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def api(self, path: str) -> str:
        return f"{self.url}/api/v1{path}"

    def file_path(self, file_id: str) -> str:
        return "/files/" + quote(file_id, safe="")

    def request(self, method: str, url: str, expect: tuple[int, ...] = (200,), **kwargs: Any) -> requests.Response:
        """``method url``; a :class:`ClientError` unless the answer's status is one of ``expect``."""
        kwargs.setdefault("timeout", TIMEOUT)
        try:
            response = self.session.request(method, url, **kwargs)
        except requests.exceptions.InvalidURL as error:
            raise ClientError(f"{self.url} is not a valid URL ({error}): run `portal-client login URL` again.") from None
        except requests.exceptions.ConnectionError:
            raise ClientError(
                f"Cannot reach the portal at {self.url}: check that it is running and the URL is right "
                "(`portal-client login URL` or PORTAL_URL)."
            ) from None
        except requests.exceptions.Timeout:
            raise ClientError(f"The portal at {self.url} did not answer in time: try again later.") from None
        if response.status_code not in expect:
            message = error_message(response)
            response.close()
            raise ClientError(message)
        return response

    def json(self, method: str, path: str, expect: tuple[int, ...] = (200,), **kwargs: Any) -> Any:
        """The JSON answer of ``method /api/v1<path>``."""
        response = self.request(method, self.api(path), expect, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ClientError(
                f"{self.api(path)} did not answer JSON: is {self.url} the portal's address?"
            ) from None

    def me(self) -> dict[str, Any]:
        return self.json("GET", "/me")

    def file(self, file_id: str) -> dict[str, Any]:
        return self.json("GET", self.file_path(file_id))

    def file_at(self, url: str) -> dict[str, Any]:
        """The file JSON at ``url`` (a ``Portal-File-URL`` or a file's ``url``)."""
        response = self.request("GET", url)
        try:
            return response.json()
        except ValueError:
            raise ClientError(f"{url} did not answer the file's JSON.") from None

    def files(self, query: str | None) -> list[dict[str, Any]]:
        """Every file whose name contains ``query`` (all of them without one), newest first, page by page."""
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            params: dict[str, Any] = {"page": page, "per_page": 100}
            if query:
                params["q"] = query
            body = self.json("GET", "/files", params=params)
            items.extend(body["items"])
            if not body["items"] or len(items) >= body["total"]:
                return items
            page += 1

    def search(self, text: str) -> list[dict[str, Any]]:
        """Every video v2's search finds for ``text`` (in titles, descriptions, tags and file names), by cursor.

        v1's ``q`` matches file names only, so a title the web search finds would be missed.
        """
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"q": text, "limit": 100}
        while True:
            body = self.request("GET", f"{self.url}/api/v2/videos", params=params).json()
            items.extend(body["items"])
            if not body.get("next_cursor") or not body["items"]:
                return items
            params["cursor"] = body["next_cursor"]

    def delete(self, file_id: str) -> None:
        self.request("DELETE", self.api(self.file_path(file_id)), expect=(204,))

    def share(self, file_id: str, days: int | None) -> dict[str, Any]:
        body = None if days is None else {"days": days}
        return self.json("POST", self.file_path(file_id) + "/shares", expect=(201,), json=body)
