"""``flask --app wsgi ...`` commands for operators."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
from flask import Flask
from flask import current_app
from flask.cli import with_appcontext

from .. import errors
from ..accounts import service as accounts
from ..accounts.models import ApiToken
from ..accounts.models import Role
from ..accounts.models import Scope
from ..commands import RefusingGroup
from ..library import trash
from ..library.captions import verify_captions
from ..library.integrity import stray_keys
from ..library.integrity import verify_all
from ..library.models import VideoStatus
from ..storage import current_storage
from ..storage import storage_from_url
from ..uploads import quota as quotas
from ..uploads import resumable
from .dedupe import Fold
from .dedupe import dedupe
from .dedupe import second_copies
from .relayout import Move
from .relayout import relayout_library
from .relayout import videos_under_old_keys
from .transfer import Outcome
from .transfer import copy_library
from .transfer import copy_rows


@click.command("verify")
@with_appcontext
def verify_command() -> None:
    """Re-hash every stored file and caption; exit 1 when any is corrupt or missing."""
    checked = bad = 0
    for video in verify_all():
        checked += 1
        if video.status != VideoStatus.OK.value:
            bad += 1
            click.echo(f"{video.status.upper()}: {video.id} {video.filename}")
        for language in verify_captions(video):
            bad += 1
            click.echo(f"CAPTION CORRUPT OR MISSING: {video.id} {video.filename} {language}")
    click.echo(f"checked {checked} files: {checked - bad} ok, {bad} corrupt or missing")
    if bad:
        raise SystemExit(1)


@click.command("cleanup")
@with_appcontext
def cleanup_command() -> None:
    """Remove temporary files that interrupted uploads of dead processes left, and resumable uploads past
    PORTAL_UPLOAD_EXPIRY_HOURS; purge the trash of what is past PORTAL_TRASH_DAYS; name stored files without a row,
    second copies of stored originals (which storage dedupe removes), and videos still under the old layout
    (ab/cd/<id>), which relayout-storage moves."""
    expired = resumable.remove_expired()
    click.echo(f"removed {expired} expired resumable uploads")
    removed = current_storage().remove_leftovers(resuming=resumable.keys_in_progress())
    click.echo(f"removed {removed} leftover temporary files")
    _report_purged(trash.purge_expired())
    copies = {own for _video_id, own, _kept, _sha256, _size in second_copies()}
    for key in stray_keys():
        if key in copies:
            click.echo(f"stored file {key} is a second copy of bytes stored once already: `storage dedupe` removes it")
        else:
            click.echo(f"no row describes stored file {key}: kept; delete it by hand if it is not needed")
    old = videos_under_old_keys()
    for video_id, key in old:
        click.echo(f"video {video_id} is still stored under the old layout, at {key}")
    if old:
        click.echo(f"{len(old)} videos are stored under the old layout: `flask --app wsgi relayout-storage` moves them")


@click.command("relayout-storage")
@with_appcontext
def relayout_storage_command() -> None:
    """Move the bytes of videos stored before the kinds (ab/cd/<id>) to original/ab/cd/<id>; run again to resume.

    Each copy is checked against the video's SHA-256 before its row names it,
    and the old object is deleted only after that, so the portal keeps serving
    every video throughout, and an interrupted run is simply run again.
    """
    counts = {outcome: 0 for outcome in Move}
    try:
        for relaid in relayout_library(current_storage()):
            counts[relaid.outcome] += 1
            described = f"{relaid.video_id} {relaid.filename}"
            if relaid.outcome is Move.MOVED:
                click.echo(f"moved {described}: {relaid.old_key} -> {relaid.new_key}")
            elif relaid.outcome is Move.PURGED:
                click.echo(f"purged meanwhile, not moved: {described}")
            else:
                click.echo(f"{relaid.outcome.value.upper()} at {relaid.old_key}, not moved: {described}")
    except OSError as error:
        click.echo(
            f"Error: the storage failed: {error}. Every video is still readable under the key its row names; "
            "run the command again to finish the move.",
            err=True,
        )
        raise SystemExit(1) from error
    failed = counts[Move.CORRUPT] + counts[Move.MISSING]
    click.echo(f"moved {counts[Move.MOVED]} videos to original/ab/cd/<id>, {failed} not moved")
    if failed:
        click.echo(
            f"Error: {failed} videos do not match their SHA-256 or are missing, and stay where they are: "
            "restore their files from a backup and run the command again, or delete them.",
            err=True,
        )
        raise SystemExit(1)


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
    """Copy every row (users, tokens, videos, share links) into another database (its schema is created first).

    Run it again to resume. The current database is left as it is. Rows already in the target (same
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


# --- users and tokens ------------------------------------------------------------

ROLE_CHOICE = click.Choice([role.value for role in Role])
SCOPE_CHOICE = click.Choice([scope.value for scope in Scope])


def read_password() -> str:
    """The password given on standard input, without the one newline that ends it."""
    password = sys.stdin.read()
    if password.endswith("\r\n"):
        return password[:-2]
    return password.removesuffix("\n")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


@click.group("users", cls=RefusingGroup)
def users_group() -> None:
    """Create, list and change the users who may sign in."""


@users_group.command("create")
@click.argument("name")
@click.option("--role", type=ROLE_CHOICE, required=True, help="What the user may do.")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from standard input.")
@with_appcontext
def users_create_command(name: str, role: str, password_stdin: bool) -> None:
    """Create user NAME with a role; the password comes from standard input."""
    user = accounts.create_user(name, read_password(), role)
    click.echo(f"created user {user.username} ({user.role})")


def _quota_text(quota: int | None) -> str:
    return "unlimited" if quota is None else f"{quota} ({errors.format_bytes(quota)})"


@users_group.command("list")
@with_appcontext
def users_list_command() -> None:
    """List every user: name, role, whether disabled, when created, bytes used and quota (largest usage first)."""
    for line in quotas.usage_of_everyone():
        user = line.user
        state = "disabled" if user.disabled else "active"
        click.echo(
            f"{user.username}\t{user.role}\t{state}\t{_when(user.created_at)}\t"
            f"{line.usage} ({errors.format_bytes(line.usage)})\t{_quota_text(line.quota)}"
        )


@users_group.command("set-quota")
@click.argument("name")
@click.argument("size")
@with_appcontext
def users_set_quota_command(name: str, size: str) -> None:
    """Let user NAME keep SIZE: bytes or with a unit (500MiB, 2GiB), 'none' (unlimited) or 'default' (the setting's)."""
    user = quotas.set_quota(name, size)
    quota = quotas.quota_of(user)
    source = " (PORTAL_DEFAULT_QUOTA)" if user.quota_bytes is None and not user.quota_unlimited else ""
    click.echo(f"quota of {user.username}: {_quota_text(quota)}{source}; uses {errors.format_bytes(quotas.usage_of(user))}")


@users_group.command("set-role")
@click.argument("name")
@click.argument("role", type=ROLE_CHOICE)
@with_appcontext
def users_set_role_command(name: str, role: str) -> None:
    """Give user NAME another role."""
    user = accounts.set_role(name, role)
    click.echo(f"{user.username} is now {user.role}")


@users_group.command("disable")
@click.argument("name")
@with_appcontext
def users_disable_command(name: str) -> None:
    """Stop user NAME signing in or using any token, until enabled again."""
    user = accounts.disable_user(name)
    click.echo(f"disabled {user.username}")


@users_group.command("enable")
@click.argument("name")
@with_appcontext
def users_enable_command(name: str) -> None:
    """Let a disabled user NAME sign in and use their tokens again."""
    user = accounts.enable_user(name)
    click.echo(f"enabled {user.username}")


@users_group.command("reset-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the new password from standard input.")
@with_appcontext
def users_reset_password_command(name: str, password_stdin: bool) -> None:
    """Give user NAME a new password, read from standard input."""
    user = accounts.reset_password(name, read_password())
    click.echo(f"password of {user.username} reset")


@users_group.command("unlock")
@click.argument("name")
@with_appcontext
def users_unlock_command(name: str) -> None:
    """Let NAME sign in again at once: forget the failed sign-ins for that name, from wherever they came."""
    forgotten = accounts.unlock(name)
    click.echo(f"unlocked {name}: {forgotten} attempt{'s' if forgotten != 1 else ''} forgotten")


@click.group("tokens", cls=RefusingGroup)
def tokens_group() -> None:
    """Create, list and revoke API tokens."""


@tokens_group.command("create")
@click.argument("name")
@click.option(
    "--scope", "scopes", type=SCOPE_CHOICE, multiple=True, required=True, help="What the token may do; repeat for more."
)
@click.option("--label", default="", help="What the token is for, to recognise it in the list.")
@click.option("--days", type=int, default=None, help="Expire after this many days (default: never).")
@with_appcontext
def tokens_create_command(name: str, scopes: tuple[str, ...], label: str, days: int | None) -> None:
    """Create a token of user NAME and print it: it is shown only this once."""
    _token, value = accounts.create_token(name, scopes, label, days)
    click.echo(value)


def _describe_token(token: ApiToken) -> str:
    if token.revoked_at is not None:
        state = f"revoked {_when(token.revoked_at)}"
    elif not accounts.token_is_active(token):
        state = f"expired {_when(token.expires_at)}"
    else:
        state = f"expires {_when(token.expires_at)}" if token.expires_at else "no expiry"
    return "\t".join(
        [str(token.id), token.user.username, token.scopes, token.label or "-", f"created {_when(token.created_at)}",
         state, f"last used {_when(token.last_used_at)}"]
    )


@tokens_group.command("list")
@click.argument("name", required=False)
@with_appcontext
def tokens_list_command(name: str | None) -> None:
    """List the tokens of user NAME, or of everyone (never their values)."""
    tokens = accounts.list_tokens(name)
    for token in tokens:
        click.echo(_describe_token(token))


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def tokens_revoke_command(token_id: int) -> None:
    """Revoke token TOKEN_ID (from tokens list) for good."""
    token = accounts.revoke_token(token_id)
    click.echo(f"revoked token {token.id} of {token.user.username}")


# --- the job queue ---------------------------------------------------------------


@click.group("jobs", cls=RefusingGroup)
def jobs_group() -> None:
    """Run the job queue's consumer; queue work for videos stored before it existed."""


@jobs_group.command("worker")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Jobs run at once.")
@with_appcontext
def jobs_worker_command(workers: int) -> None:
    """Run jobs until stopped (SIGTERM at once, SIGINT after the running jobs), beside or away from the web server."""
    from ..jobs.consumer import run_consumer
    from .readiness import wait_for_database
    from .server import configure_logging

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    configure_logging(app)
    run_consumer(app, workers, wait_for_database)


@jobs_group.command("backfill")
@click.option("--failed", "include_failed", is_flag=True, help="Also try the videos whose processing failed again.")
@with_appcontext
def jobs_backfill_command(include_failed: bool) -> None:
    """Queue the processing of every video without its facts (stored before probing existed, or never queued)."""
    from ..media.processing import queue_processing
    from ..media.processing import videos_to_backfill

    queued = queue_processing(videos_to_backfill(include_failed))
    click.echo(f"queued {queued} videos")


# --- the trash -------------------------------------------------------------------


@click.group("storage", cls=RefusingGroup)
def storage_group() -> None:
    """The stored objects themselves."""


@storage_group.command("dedupe")
@with_appcontext
def storage_dedupe_command() -> None:
    """Remove the second copies of identical originals an older library keeps (each after its original is found whole),
    and the posters and copies its videos of one content each made; run again to resume."""
    saved = removed = 0
    damaged = []
    try:
        for folded in dedupe(current_storage()):
            if folded.outcome is Fold.DAMAGED:
                damaged.append(folded)
                click.echo(f"DAMAGED: {folded.video_id}: neither its original nor its copy {folded.key} is whole; both kept")
                continue
            removed += 1
            saved += folded.size
            if folded.outcome is Fold.REPLACED:
                click.echo(f"{folded.video_id}: the original was damaged, its whole copy replaces it; removed {folded.key}")
    except OSError as error:
        click.echo(f"Error: the storage failed: {error}. Every video is still readable; run the command again.", err=True)
        raise SystemExit(1) from error
    click.echo(f"removed {removed} second copies, {saved} bytes saved")
    if damaged:
        raise SystemExit(1)


@click.group("trash", cls=RefusingGroup)
def trash_group() -> None:
    """The trash: deleted videos, kept for PORTAL_TRASH_DAYS before they are purged."""


@trash_group.command("purge")
@click.option("--all", "everything", is_flag=True, help="Purge everything in the trash, however recent.")
@with_appcontext
def trash_purge_command(everything: bool) -> None:
    """Delete for good the videos in the trash for PORTAL_TRASH_DAYS or longer (the periodic job does it too)."""
    _report_purged(trash.purge_all(by="command line") if everything else trash.purge_expired())


def _report_purged(purged: list[trash.Purged]) -> None:
    for video in purged:
        click.echo(f"purged {video.id} {video.filename}")
    click.echo(f"purged {len(purged)} videos from the trash")


def register_commands(app: Flask) -> None:
    from ..backup.cli import backup_group

    app.cli.add_command(backup_group)
    app.cli.add_command(verify_command)
    app.cli.add_command(cleanup_command)
    app.cli.add_command(move_storage_command)
    app.cli.add_command(relayout_storage_command)
    app.cli.add_command(move_database_command)
    app.cli.add_command(users_group)
    app.cli.add_command(tokens_group)
    app.cli.add_command(jobs_group)
    app.cli.add_command(trash_group)
    app.cli.add_command(storage_group)
