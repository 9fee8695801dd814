"""``python wsgi.py`` with storage writes slowed down, to kill the server while the app streams an upload.

waitress hands a request to the app only once the whole body is buffered, and
the app then copies it into storage in well under a second; slowing each write
keeps that window open long enough for a test to catch it. Nothing else changes.

Run as ``python -m tests.reliability.slow_storage_wsgi`` from the repository root.
"""

from __future__ import annotations

import runpy
import time
from pathlib import Path

from portal.storage.local import LocalUpload

SECONDS_PER_WRITE = 0.05

_write = LocalUpload.write


def _slow_write(self: LocalUpload, data: bytes) -> int:
    time.sleep(SECONDS_PER_WRITE)
    return _write(self, data)


LocalUpload.write = _slow_write  # type: ignore[method-assign]

if __name__ == "__main__":
    runpy.run_path(str(Path(__file__).resolve().parents[2] / "wsgi.py"), run_name="__main__")
