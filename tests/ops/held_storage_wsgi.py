"""``python wsgi.py`` whose uploads wait to be stored until the test lets them: a worker thread held at will.

An upload is stored from a worker thread, so while its first write waits,
that thread is busy and the requests that arrive meanwhile wait in
waitress's queue. The write makes the file ``held`` in the data folder when
it starts waiting, and goes on once the file ``release`` is there. Nothing
else changes.

Run as ``python -m tests.ops.held_storage_wsgi`` from the repository root.
"""

from __future__ import annotations

import os
import runpy
import time
from pathlib import Path

from portal.storage.local import LocalUpload

#: Made by the server when an upload's write is held; made by the test to let it go on.
HELD = "held"
RELEASE = "release"

_write = LocalUpload.write


def _held_write(self: LocalUpload, data: bytes) -> int:
    gate = Path(os.environ["PORTAL_DATA_DIR"])
    (gate / HELD).touch()
    while not (gate / RELEASE).exists():
        time.sleep(0.01)
    return _write(self, data)


if __name__ == "__main__":
    # Only in the child server: the tests import the names above without holding their own uploads.
    LocalUpload.write = _held_write  # type: ignore[method-assign]
    runpy.run_path(str(Path(__file__).resolve().parents[2] / "wsgi.py"), run_name="__main__")
