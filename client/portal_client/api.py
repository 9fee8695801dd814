"""Talking to the portal's API: one requests session with the token, and refusals turned into messages.

The client speaks v2 (``/api/v2``) to a portal that offers all it needs
there, which its ``/api/v2/openapi.json`` tells (it lists ``/api/v2/me`` and
``/api/v2/uploads``), and v1 to an older one (that document answers 404, or
lacks them). Asked once per :class:`Portal`. A v2 video's JSON is given the
two keys of v1's file JSON the commands use (``url``, ``content_url``), so
the commands read either.

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


#: What v2 must offer for the client to speak it: the caller and resumable uploads.
V2_NEEDS = ("/api/v2/me", "/api/v2/uploads", "/api/v2/videos/{video_id}")


def message_of(body: Any) -> str:
    """The portal's words in an error's body: v1's ``error.message``, or v2's problem ``detail``."""
    if isinstance(body, dict):
        if isinstance(body.get("error"), dict) and isinstance(body["error"].get("message"), str):
            return str(body["error"]["message"])
        if isinstance(body.get("detail"), str):
            return str(body["detail"])
    raise KeyError("message")


def error_message(response: requests.Response) -> str:
    """The portal's own message of a refusal (v1's ``error.message``, v2's ``detail``), else the status line."""
    try:
        message = message_of(response.json())
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
        self._version: str | None = None

    @property
    def version(self) -> str:
        """``v2`` when the portal's v2 document offers what the client needs, else ``v1``."""
        if self._version is None:
            response = self.request("GET", f"{self.url}/api/v2/openapi.json", expect=tuple(range(200, 600)))
            try:
                paths = response.json()["paths"] if response.status_code == 200 else {}
            except (ValueError, KeyError, TypeError):
                paths = {}
            self._version = "v2" if isinstance(paths, dict) and all(path in paths for path in V2_NEEDS) else "v1"
        return self._version

    @property
    def finished_header(self) -> str:
        """The header naming the video a finished tus upload became."""
        return "Portal-Video-URL" if self.version == "v2" else "Portal-File-URL"

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def api(self, path: str) -> str:
        return f"{self.url}/api/{self.version}{path}"

    def file_path(self, file_id: str) -> str:
        return ("/videos/" if self.version == "v2" else "/files/") + quote(file_id, safe="")

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
        """The JSON answer of ``method /api/<version><path>``."""
        response = self.request(method, self.api(path), expect, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise ClientError(
                f"{self.api(path)} did not answer JSON: is {self.url} the portal's address?"
            ) from None

    def me(self) -> dict[str, Any]:
        """Who the token is: ``username``, ``role``, ``scopes`` (v2 names the user ``name``; both are given)."""
        me = self.json("GET", "/me")
        if isinstance(me, dict) and "username" not in me and "name" in me:
            me["username"] = me["name"]
        return me

    def file(self, file_id: str) -> dict[str, Any]:
        return as_file(self.json("GET", self.file_path(file_id)))

    def file_at(self, url: str) -> dict[str, Any]:
        """The file JSON at ``url`` (a finished upload's ``Portal-File-URL``/``Portal-Video-URL``, a file's ``url``)."""
        response = self.request("GET", url)
        try:
            return as_file(response.json())
        except ValueError:
            raise ClientError(f"{url} did not answer the file's JSON.") from None

    def files(self, query: str | None) -> list[dict[str, Any]]:
        """Every file whose name contains ``query`` (all of them without one), newest first, page by page.

        From v2, every video by cursor (its ``q`` is the search, :meth:`search`).
        """
        if self.version == "v2":
            return self.search(query)
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

    def search(self, text: str | None) -> list[dict[str, Any]]:
        """Every video v2's search finds for ``text`` (in titles, descriptions, tags and file names), by cursor.

        v1's ``q`` matches file names only, so a title the web search finds would be missed; a portal
        without v2 has only that.
        """
        if self.version == "v1":
            return self.files(text)
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 100}
        if text:
            params["q"] = text
        while True:
            body = self.request("GET", f"{self.url}/api/v2/videos", params=params).json()
            items.extend(as_file(item) for item in body["items"])
            if not body.get("next_cursor") or not body["items"]:
                return items
            params["cursor"] = body["next_cursor"]

    def delete(self, file_id: str) -> None:
        self.request("DELETE", self.api(self.file_path(file_id)), expect=(204,))

    def share(self, file_id: str, days: int | None) -> dict[str, Any]:
        body = None if days is None else {"days": days}
        return self.json("POST", self.file_path(file_id) + "/shares", expect=(201,), json=body)


def as_file(body: Any) -> Any:
    """A v2 video's JSON with v1's ``url`` and ``content_url`` beside its ``links`` (a v1 file's: as it is)."""
    if isinstance(body, dict) and isinstance(body.get("links"), dict):
        body.setdefault("url", body["links"].get("self"))
        body.setdefault("content_url", body["links"].get("content"))
    return body
