"""``flask --app wsgi ...`` commands for operators."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask import current_app
from flask.cli import with_appcontext

from ..library.integrity import stray_keys
from ..library.integrity import verify_all
from ..library.models import VideoStatus
from ..storage import current_storage
from ..storage import storage_from_url
from .transfer import Outcome
from .transfer import copy_library
from .transfer import copy_rows


@click.command("verify")
@with_appcontext
def verify_command() -> None:
    """Re-hash every stored file; exit 1 when any is corrupt or missing."""
    checked = bad = 0
    for video in verify_all():
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
    """Remove temporary files that interrupted uploads of dead processes left; name stored files without a row."""
    removed = current_storage().remove_leftovers()
    click.echo(f"removed {removed} leftover temporary files")
    for key in stray_keys():
        click.echo(f"no row describes stored file {key}: kept; delete it by hand if it is not needed")


@click.command("move-storage")
@click.option("--to", "target_url", required=True, help="Where the bytes go: s3://bucket/prefix or file:///folder.")
@click.option(
    "--from", "source_url", default=None, help="Where they are now (default: PORTAL_STORAGE_URL, i.e. the storage in use)."
)
@click.option("--verify-existing", is_flag=True, help="Re-hash copies already at the target instead of trusting their size.")
@with_appcontext
def move_storage_command(target_url: str, source_url: str | None, verify_existing: bool) -> None:
    """Copy every stored file to another storage, checking each SHA-256; run again to resume.

    The source is left as it is, so the portal keeps serving from it; switch
    PORTAL_STORAGE_URL to the target, then run this once more to copy what was
    uploaded in between.
    """
    data_dir = Path(current_app.config["DATA_DIR"])
    source = storage_from_url(source_url, data_dir) if source_url else current_storage()
    target = storage_from_url(target_url, data_dir)
    counts = {outcome: 0 for outcome in Outcome}
    for video, outcome in copy_library(source, target, verify_existing):
        counts[outcome] += 1
        if outcome is Outcome.COPIED:
            click.echo(f"copied {video.id} {video.filename}")
        elif outcome in (Outcome.CORRUPT, Outcome.MISSING):
            click.echo(f"{outcome.value.upper()} at the source, not copied: {video.id} {video.filename}")
    failed = counts[Outcome.CORRUPT] + counts[Outcome.MISSING]
    click.echo(f"copied {counts[Outcome.COPIED]} files, {counts[Outcome.PRESENT]} already there, {failed} not copied")
    if failed:
        raise SystemExit(1)


@click.command("move-database")
@click.option("--to", "target_url", required=True, help="The new database, e.g. postgresql+psycopg://user:password@host/portal.")
@with_appcontext
def move_database_command(target_url: str) -> None:
    """Copy every video row into another database (its schema is created first); run again to resume.

    The current database is left as it is. Rows already in the target (same
    id) are skipped, so a second run after switching PORTAL_SQLALCHEMY_DATABASE_URI
    copies what was uploaded meanwhile; deletions made in between are not carried over.
    """
    from .. import create_app
    from ..extensions import db

    source = db.engine
    target_app = create_app({**current_app.config, "SQLALCHEMY_DATABASE_URI": target_url, "SQLALCHEMY_ENGINE_OPTIONS": {}})
    with target_app.app_context():
        target = db.engine
        try:
            copied, present = copy_rows(source, target)
        finally:
            target.dispose()
    click.echo(f"copied {copied} rows, {present} already there")


def register_commands(app: Flask) -> None:
    app.cli.add_command(verify_command)
    app.cli.add_command(cleanup_command)
    app.cli.add_command(move_storage_command)
    app.cli.add_command(move_database_command)
