"""What every command group shares: a domain error ends a command with its message, not a traceback.

Below every floor that has commands (:mod:`portal.ops.cli`, :mod:`portal.backup.cli`), so none
of them imports another's for it.
"""

from __future__ import annotations

from typing import Any
from typing import NoReturn

import click

from . import errors


def refuse(error: errors.PortalError) -> NoReturn:
    """Say what went wrong on standard error and exit 1."""
    click.echo(f"Error: {error.message}", err=True)
    raise SystemExit(1)


class RefusingGroup(click.Group):
    """A command group whose commands end on a domain error by saying it (:func:`refuse`), not with a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except errors.PortalError as error:
            refuse(error)
