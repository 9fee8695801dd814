"""``flask --app wsgi backup ...``: make, list, check, prune, restore and rehearse backups."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..commands import RefusingGroup
from . import create_backup
from . import destination
from . import drill
from . import manifests
from . import prune
from . import read_manifest
from . import restore_backup
from . import verify_backup
from .schedule import BackupBusy
from .schedule import backup_lock


@click.group("backup", cls=RefusingGroup)
def backup_group() -> None:
    """Backups of the database and every stored object to DEST: a folder, or s3://bucket/prefix."""


@contextmanager
def _one_at_a_time() -> Iterator[None]:
    """The backup lock, waited for when a scheduled backup holds it: a prune must not remove objects a backup is writing."""
    try:
        with backup_lock(wait=False):
            yield
        return
    except BackupBusy:
        click.echo("another backup of this portal is running; waiting for it to end", err=True)
    with backup_lock(wait=True):
        yield


@backup_group.command("create")
@click.argument("dest")
@with_appcontext
def create_command(dest: str) -> None:
    """Back the portal up to DEST while it serves; objects already there are not copied again."""
    with _one_at_a_time():
        created = create_backup(destination(dest))
    click.echo(
        f"backup {created.backup_id}: {created.objects} objects, {created.copied} copied "
        f"({created.copied_bytes} bytes), {created.objects - created.copied} already there"
    )


@backup_group.command("list")
@click.argument("dest")
@with_appcontext
def list_command(dest: str) -> None:
    """List the complete backups in DEST, oldest first."""
    for manifest in manifests(destination(dest)):
        size = sum(entry["size"] for entry in manifest["objects"])
        click.echo(
            f"{manifest['id']}\t{manifest['time']}\t{len(manifest['objects'])} objects\t{size} bytes\t"
            f"schema {manifest['schema_revision']}\tportal {manifest['portal_version']}"
        )


@backup_group.command("verify")
@click.argument("dest")
@click.option("--backup", "backup_id", default=None, help="The backup to check (default: the latest).")
@with_appcontext
def verify_command(dest: str, backup_id: str | None) -> None:
    """Re-hash every object of a backup and read its database dump; exit 1 listing what is wrong."""
    target = destination(dest)
    manifest = read_manifest(target, backup_id)
    problems = list(verify_backup(target, manifest))
    for problem in problems:
        click.echo(problem)
    click.echo(f"backup {manifest['id']}: {len(manifest['objects'])} objects checked, {len(problems)} problems")
    if problems:
        raise SystemExit(1)


@backup_group.command("prune")
@click.argument("dest")
@click.option("--keep", type=int, required=True, help="How many of the newest backups to keep.")
@with_appcontext
def prune_command(dest: str, keep: int) -> None:
    """Remove all but the newest KEEP backups, and the objects only they named."""
    with _one_at_a_time():
        removed = prune(destination(dest), keep)
    for backup_id in removed:
        click.echo(f"removed backup {backup_id}")
    click.echo(f"removed {len(removed)} backups")


@backup_group.command("restore")
@click.argument("dest")
@click.option("--backup", "backup_id", default=None, help="The backup to restore (default: the latest).")
@with_appcontext
def restore_command(dest: str, backup_id: str | None) -> None:
    """Restore a backup onto this portal's empty data folder and database; refused when either is in use."""
    target = destination(dest)
    manifest = read_manifest(target, backup_id)
    restored = restore_backup(target, manifest)
    click.echo(f"restored backup {manifest['id']}: {restored} objects and the database")


@backup_group.command("drill")
@click.argument("dest")
@with_appcontext
def drill_command(dest: str) -> None:
    """Restore the latest backup into a throwaway portal and compare it; exit 0 only when all came back."""
    with tempfile.TemporaryDirectory(prefix="portal-drill-") as folder:
        problems = drill(destination(dest), Path(folder))
    for problem in problems:
        click.echo(problem)
    if problems:
        click.echo(f"the drill failed: {len(problems)} problems")
        raise SystemExit(1)
    click.echo("the drill passed: every user, token, video, tag, share link and object came back")
