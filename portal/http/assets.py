"""Static files under names that change with their content, compressed once, served by WhiteNoise.

Each file under ``static/`` is also served under a name that carries the start
of its SHA-256 (``css/portal.3f2a1b4c5d6e.css``), and ``url_for('static', ...)``
gives that name: a page asks for the very bytes it was rendered with, so
browsers may keep them a year without asking again (``immutable``). The plain
names keep working, with a short cache, for anything that links to them.

Brotli and gzip copies are made once, into ``<data folder>/cache/static/<digest of
the files>/`` (the source tree may be read-only), at a process's first request
for a static file, never per request; a folder that an earlier start made for
the same files is used as it is. WhiteNoise answers from it: the smallest copy
the request's ``Accept-Encoding`` takes, with ``Vary: Accept-Encoding``, its
length, ETag, 304 and ranges.

Nothing else is compressed. Pages are not (BREACH): a page carries the CSRF
token beside text a visitor controls (a search, a title), so the length of a
compressed page would give the token away a byte at a time. Videos are not
either: their bytes are compressed already, and their ranges count bytes of
the stored file (:mod:`portal.http.delivery`).
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from pathlib import PurePosixPath
from typing import Any
from typing import Callable

import brotli  # type: ignore[import-untyped]
from flask import Flask
from whitenoise import WhiteNoise  # type: ignore[import-untyped]
from whitenoise.compress import Compressor  # type: ignore[import-untyped]

from ..metrics import ROUTE_KEY
from .security import SECURITY_HEADERS

#: Hex digits of the SHA-256 in a hashed name: 48 bits, so two versions of a file never share a name.
DIGEST_LENGTH = 12
#: A hashed name never changes meaning: kept a year, never revalidated.
IMMUTABLE = "public, max-age=31536000, immutable"
#: A plain name (``css/portal.css``) changes with the next release: a minute, then revalidated by its ETag.
SHORT_CACHE = "public, max-age=60"
#: Quality 11 (WhiteNoise's default) takes 7 s over the 1.7 MB Swagger UI bundle for 10 % fewer bytes than 5.
BROTLI_QUALITY = 5
#: Changed whenever what goes into the cache folder changes, so that an older folder is not used again.
CACHE_FORMAT = "1"
#: Where the copies go, inside the data folder.
CACHE_FOLDER = Path("cache") / "static"
#: Seconds after which a half-made cache folder is a dead process's leftover.
LEFTOVER_AGE = 3600

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class QuickCompressor(Compressor):
    """WhiteNoise's compressor (gzip 9, only copies at least 5 % smaller), with a brotli that takes a fraction of a second."""

    @staticmethod
    def compress_brotli(data: bytes) -> bytes:
        return brotli.compress(data, quality=BROTLI_QUALITY)


def hashed_name(name: str, digest: str) -> str:
    """``css/portal.css`` becomes ``css/portal.<digest>.css``."""
    path = PurePosixPath(name)
    return str(path.with_name(f"{path.stem}.{digest[:DIGEST_LENGTH]}{path.suffix}"))


def file_digests(root: Path) -> dict[str, str]:
    """The SHA-256 of each file under ``root``, by its path there (hashed once per process while none changes)."""
    entries = []
    for path in root.rglob("*"):
        if path.is_file():
            stat = path.stat()
            entries.append((path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns))
    return dict(_digests(root, tuple(sorted(entries))))


@functools.lru_cache(maxsize=8)
def _digests(root: Path, signature: tuple[tuple[str, int, int], ...]) -> tuple[tuple[str, str], ...]:
    return tuple((name, hashlib.sha256((root / name).read_bytes()).hexdigest()) for name, _size, _mtime in signature)


def build_cache(source: Path, digests: dict[str, str], cache_root: Path) -> Path:
    """The folder of these files and their compressed copies, made now if no process made it before.

    It is made under a temporary name and renamed once complete, so that no
    process serves a half-made folder, and two processes making it at once
    both end up with the one that was renamed first (the same bytes).
    """
    tree = hashlib.sha256(CACHE_FORMAT.encode())
    for name in sorted(digests):
        tree.update(f"{name}\0{digests[name]}\n".encode())
    folder = cache_root / tree.hexdigest()[:DIGEST_LENGTH]
    if folder.is_dir():
        return folder
    cache_root.mkdir(parents=True, exist_ok=True)
    making = Path(tempfile.mkdtemp(prefix=".making-", dir=cache_root))
    try:
        compressor = QuickCompressor(quiet=True)
        for name in digests:
            target = making / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, target)
            if compressor.should_compress(name):
                compressor.compress(str(target))
        try:
            making.rename(folder)
        except OSError:
            if not folder.is_dir():
                raise
    finally:
        shutil.rmtree(making, ignore_errors=True)
    remove_other_versions(cache_root, folder)
    return folder


def remove_other_versions(cache_root: Path, keep: Path) -> None:
    """Folders made for earlier versions of the files, and half-made ones that a dead process left."""
    for entry in cache_root.iterdir():
        if entry == keep:
            continue
        if entry.name.startswith(".making-") and time.time() - entry.stat().st_mtime < LEFTOVER_AGE:
            continue  # another process may be making it right now
        shutil.rmtree(entry, ignore_errors=True)


class StaticFiles:
    """WSGI middleware: a request under the static prefix is answered from the cache folder, any other passes on.

    A static path that is not in the folder (a file added since, an old hashed
    name) goes on to Flask's own static view, which answers it or says 404.
    """

    def __init__(self, wsgi_app: WSGIApp, source: Path, cache_root: Path, prefix: str, route: str) -> None:
        self.wsgi_app = wsgi_app
        self.source = source
        self.cache_root = cache_root
        self.prefix = prefix
        self.route = route
        self.digests = file_digests(source)
        self.hashed = {name: hashed_name(name, digest) for name, digest in self.digests.items()}
        self._immutable_urls = {prefix + hashed for hashed in self.hashed.values()}
        self._folder: Path | None = None
        self._served: WhiteNoise | None = None
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not str(environ.get("PATH_INFO", "")).startswith(self.prefix):
            return self.wsgi_app(environ, start_response)
        environ[ROUTE_KEY] = self.route
        return self.prepare()(environ, start_response)

    def hash_static_names(self, endpoint: str, values: dict[str, Any]) -> None:
        """``url_for('static', filename=...)`` gives the hashed name of a file that has one (a ``url_defaults`` hook)."""
        if endpoint == "static":
            hashed = self.hashed.get(values.get("filename", ""))
            if hashed is not None:
                values["filename"] = hashed

    def prepare(self) -> WhiteNoise:
        """Fill the cache folder if these files have none yet, and serve from it: once per process."""
        served = self._served
        if served is None:
            with self._lock:
                if self._served is None:
                    self._served = self._serve_from(build_cache(self.source, self.digests, self.cache_root))
                served = self._served
        return served

    def _serve_from(self, folder: Path) -> WhiteNoise:
        self._folder = folder
        files = WhiteNoise(self.wsgi_app, max_age=None, allow_all_origins=False, add_headers_function=self._add_headers)
        files.add_files(str(folder), prefix=self.prefix)
        for name, hashed in self.hashed.items():
            files.add_file_to_dictionary(self.prefix + hashed, str(folder / name))
        return files

    def _add_headers(self, headers: Any, path: str, url: str) -> None:
        """The pages' security headers (as Flask's static view had them), the cache rule, the content's SHA-256 as ETag."""
        assert self._folder is not None
        for name, value in SECURITY_HEADERS.items():
            headers[name] = value
        headers["Cache-Control"] = IMMUTABLE if url in self._immutable_urls else SHORT_CACHE
        headers["ETag"] = f'"{self.digests[Path(path).relative_to(self._folder).as_posix()]}"'


def register_static_files(app: Flask) -> None:
    """Serve ``static/`` through :class:`StaticFiles`, except under ``--debug``, where an edited file shows at once."""
    if app.debug or app.static_folder is None:
        return
    files = StaticFiles(
        app.wsgi_app,
        Path(app.static_folder),
        Path(app.config["DATA_DIR"]) / CACHE_FOLDER,
        prefix=f"{app.static_url_path}/",
        route=f"{app.static_url_path}/<path:filename>",
    )
    app.url_defaults(files.hash_static_names)
    app.wsgi_app = files  # type: ignore[method-assign]
