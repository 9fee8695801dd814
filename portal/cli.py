"""``flask --app wsgi ...`` commands for operators."""

from __future__ import annotations

import click
from flask import Flask
from flask import current_app
from flask.cli import with_appcontext

from . import videos
from .models import VideoStatus


@click.command("verify")
@with_appcontext
def verify_command() -> None:
    """Re-hash every stored file; exit 1 when any is corrupt or missing."""
    checked = bad = 0
    for video in videos.verify_all():
        checked += 1
        if video.status != VideoStatus.OK.value:
            bad += 1
            click.echo(f"{video.status.upper()}: {video.id} {video.filename}")
    click.echo(f"checked {checked} files: {checked - bad} ok, {bad} corrupt or missing")
    if bad:
        raise SystemExit(1)


@click.command("cleanup")
@with_appcontext
def cleanup_command() -> None:
    """Remove temporary files that interrupted uploads of dead processes left."""
    removed = current_app.extensions["portal.storage"].remove_leftovers()
    click.echo(f"removed {removed} leftover temporary files")


def register_commands(app: Flask) -> None:
    app.cli.add_command(verify_command)
    app.cli.add_command(cleanup_command)
