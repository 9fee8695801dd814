"""Where the client keeps what it remembers: the portal's URL and token, and unfinished uploads.

The token is a password: its file is readable by the user only (0600, in a
folder of mode 0700), written to a temporary file first so a crash never
leaves half a file. ``PORTAL_URL`` and ``PORTAL_TOKEN`` win over the file, so
scripts and CI need no login.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from .api import ClientError

APP_NAME = "portal-client"
URL_VARIABLE = "PORTAL_URL"
TOKEN_VARIABLE = "PORTAL_TOKEN"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME))


def state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP_NAME))


def config_file() -> Path:
    return config_dir() / "config.json"


def private_folder(folder: Path) -> Path:
    """``folder``, made when missing, readable by the user only."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def write_private_json(path: Path, value: Any) -> None:
    """Write ``value`` as JSON to ``path`` (mode 0600) through a temporary file and a rename."""
    private_folder(path.parent)
    # mkstemp makes the file with mode 0600 already, so the token is never readable by others.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as file:
            json.dump(value, file, indent=2)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; empty when there is no such file."""
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise ClientError(f"Cannot read {path} ({error}): remove that file and try again.") from None
    if not isinstance(value, dict):
        raise ClientError(f"{path} is not a JSON object: remove that file and try again.")
    return value


@dataclass(frozen=True)
class Settings:
    url: str
    token: str


def save_login(url: str, token: str) -> Path:
    path = config_file()
    write_private_json(path, {"url": url, "token": token})
    return path


def load_settings() -> Settings:
    """The portal's URL and token: ``PORTAL_URL``/``PORTAL_TOKEN`` first, then the file of ``login``."""
    stored = read_json(config_file())
    url = os.environ.get(URL_VARIABLE) or stored.get("url")
    token = os.environ.get(TOKEN_VARIABLE) or stored.get("token")
    if not url:
        raise ClientError(f"No portal is set: run `portal-client login URL`, or set {URL_VARIABLE} and {TOKEN_VARIABLE}.")
    if not token:
        raise ClientError(f"No token is set: run `portal-client login {url}`, or set {TOKEN_VARIABLE}.")
    return Settings(url=normalise_url(url), token=token)


def normalise_url(url: str) -> str:
    """``url`` without a trailing slash; a :class:`ClientError` unless it is http(s)."""
    url = url.strip()
    if not url.startswith(("http://", "https://")):
        raise ClientError(f"{url!r} is not a portal URL: give it with http:// or https://, such as http://localhost:8080.")
    return url.rstrip("/")
