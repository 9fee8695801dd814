"""``python wsgi.py`` whose local storage reads slowly and notes each object it opens, for verifies that overlap.

A verify of a few MiB takes milliseconds; each read of a stored object here
waits first, so that verifies sent to two servers at once are surely in
progress together. Each key opened is appended to the file named by
``PORTAL_TEST_READS_LOG``, so a test counts the reads the real storage did.

Run as ``python -m tests.reliability.slow_reads_wsgi`` from the repository root.
"""

from __future__ import annotations

import os
import runpy
import time
from pathlib import Path
from typing import BinaryIO

from portal.storage.local import LocalStorage

SECONDS_PER_READ = 0.3

_open = LocalStorage.open


class _SlowReader:
    def __init__(self, content: BinaryIO) -> None:
        self._content = content

    def read(self, size: int = -1) -> bytes:
        time.sleep(SECONDS_PER_READ)
        return self._content.read(size)

    def __getattr__(self, name: str):
        return getattr(self._content, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._content.close()


def _slow_open(self: LocalStorage, key: str):
    content = _open(self, key)
    with open(os.environ["PORTAL_TEST_READS_LOG"], "a") as log:
        log.write(key + "\n")
    return _SlowReader(content)


LocalStorage.open = _slow_open  # type: ignore[method-assign]

if __name__ == "__main__":
    runpy.run_path(str(Path(__file__).resolve().parents[2] / "wsgi.py"), run_name="__main__")
