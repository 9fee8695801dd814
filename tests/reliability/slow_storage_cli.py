"""``flask --app wsgi ...`` with every stored object's deletion slowed down, to kill a command part-way.

A purge of a trash or a ``storage dedupe`` deletes objects one by one, each in
a moment; a pause before and after each deletion keeps every step of them
(a row's commit, the deletion of its objects, the next row) open long enough
for a test, polling the database or the storage, to SIGKILL the process in
the middle of the run. Nothing else changes.

Run as ``python -m tests.reliability.slow_storage_cli <command> ...`` from the repository root.
"""

from __future__ import annotations

import sys
import time

from flask.cli import main

from portal.storage.local import LocalStorage
from portal.storage.s3 import S3Storage

SECONDS_AROUND_A_DELETE = 0.01


def _slowed(delete):
    def slow_delete(self, key: str) -> None:
        time.sleep(SECONDS_AROUND_A_DELETE)
        delete(self, key)
        time.sleep(SECONDS_AROUND_A_DELETE)

    return slow_delete


LocalStorage.delete = _slowed(LocalStorage.delete)  # type: ignore[method-assign]
S3Storage.delete = _slowed(S3Storage.delete)  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.argv = ["flask", "--app", "wsgi", *sys.argv[1:]]
    main()
