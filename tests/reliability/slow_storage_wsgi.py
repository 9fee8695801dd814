"""``python wsgi.py`` with storage writes slowed down, to kill the server while the app streams an upload.

waitress hands a request to the app only once the whole body is buffered, and
the app then copies it into storage in well under a second; slowing each write
keeps that window open long enough for a test to catch it. A resumable upload's lease is
shortened too (below); nothing else changes.

Run as ``python -m tests.reliability.slow_storage_wsgi`` from the repository root.
"""

from __future__ import annotations

import runpy
import time
from datetime import timedelta
from pathlib import Path

from portal.storage.local import LocalResumableWrite
from portal.storage.local import LocalUpload
from portal.uploads import resumable

SECONDS_PER_WRITE = 0.05



def _slowed(write):
    def slow_write(self, data: bytes) -> int:
        time.sleep(SECONDS_PER_WRITE)
        return write(self, data)

    return slow_write


LocalUpload.write = _slowed(LocalUpload.write)  # type: ignore[method-assign]
# A tus PATCH writes into its part file.
LocalResumableWrite.write = _slowed(LocalResumableWrite.write)  # type: ignore[method-assign]

# A tus chunk of a server killed mid-PATCH holds its upload until its lease runs out: a short one
# lets a test resume it after seconds rather than half a minute (renewed as often, relative to it).
resumable.LEASE = timedelta(seconds=3)
resumable._RENEW_EVERY = timedelta(seconds=1)

if __name__ == "__main__":
    runpy.run_path(str(Path(__file__).resolve().parents[2] / "wsgi.py"), run_name="__main__")
