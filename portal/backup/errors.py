"""What goes wrong with a backup, said to its user."""

from __future__ import annotations

from ..errors import PortalError


class BackupError(PortalError):
    """A backup cannot be made, read or restored; the message says what to do."""
