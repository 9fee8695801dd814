"""The ``portal-client`` command line: argument parsing, one function per command, exit statuses.

Expected failures (a :class:`~portal_client.api.ClientError`) print one line
that says what to fix and exit with status 1; a wrong command line exits with
2 (argparse), an interrupt with 130.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any
from typing import Sequence

from . import config
from .api import ClientError
from .api import Portal
from .download import download
from .upload import DEFAULT_CHUNK_SIZE
from .upload import upload

MIB = 1024 * 1024
#: The exit status of ``ls -q`` finding nothing: apart from 1 (an error) and 2 (a wrong command line),
#: so that a script tells an empty search from a failed one.
NO_MATCH = 3


def portal_from_settings() -> Portal:
    settings = config.load_settings()
    return Portal(settings.url, settings.token)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def read_token(url: str) -> str:
    """The token, typed without echo at a terminal, else the first line of standard input.

    So ``portal-client login URL < token-file`` works in a script, and the token
    never appears on a command line (where any user could see it).
    """
    if sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass(f"API token for {url} (made on its account page): ")
    return sys.stdin.readline() if sys.stdin is not None else ""


def cmd_login(args: argparse.Namespace) -> int:
    url = config.normalise_url(args.url)
    token = read_token(url).strip()
    if not token:
        raise ClientError("No token given: make one on the portal's account page, then run login again.")
    portal = Portal(url, token)
    me = portal.me()
    if not isinstance(me, dict) or "username" not in me:
        raise ClientError(f"{portal.api('/me')} did not answer who the token belongs to: is {url} the portal's address?")
    path = config.save_login(url, token)
    scopes = ", ".join(me.get("scopes") or [])
    print(f"Signed in to {url} as {me['username']} ({me.get('role')}; scopes: {scopes}); kept in {path}.")
    return 0


def cmd_ls(args: argparse.Namespace) -> int:
    """List the files; with ``-q``, what v2's search finds, by title. Nothing found is exit status :data:`NO_MATCH`."""
    portal = portal_from_settings()
    files = portal.search(args.q) if args.q else portal.files(None)
    if args.json:
        print(json.dumps(files, indent=2))
        return 0 if files or not args.q else NO_MATCH
    if args.q and not files:
        print(f"no videos match {args.q!r}", file=sys.stderr)
        return NO_MATCH
    for file in files:
        created = str(file.get("created_at") or "")[:19].replace("T", " ")
        title = file.get("title") or file["filename"]
        named = title if title == file["filename"] else f"{title}  ({file['filename']})"
        print(f"{file['id']}  {human_size(int(file['size'])):>10}  {created}  {named}")
    return 0


INFO_FIELDS = ("id", "filename", "content_type", "size", "sha256", "status", "created_at", "verified_at", "owner", "url")


def cmd_info(args: argparse.Namespace) -> int:
    file = portal_from_settings().file(args.id)
    for key in INFO_FIELDS:
        print(f"{key + ':':14}{file.get(key)}")
    media = file.get("media") or {}
    for key, value in media.items():
        print(f"{key + ':':14}{value}")
    processing = file.get("processing") or {}
    print(f"{'processing:':14}{processing.get('state')}" + (f" ({processing['error']})" if processing.get("error") else ""))
    return 0


def cmd_upload(args: argparse.Namespace) -> int:
    if args.chunk_size < 1:
        raise ClientError("--chunk-size must be at least 1 (MiB).")
    portal = portal_from_settings()
    failed = 0
    for name in args.files:
        try:
            file = upload(portal, Path(name), args.chunk_size * MIB)
        except ClientError as error:
            failed += 1
            print(f"portal-client: {name}: {error}", file=sys.stderr)
            continue
        print(f"{file['id']}  {file['filename']}  sha256 {file['sha256']}")
    if failed:
        raise ClientError(
            f"{failed} of {len(args.files)} uploads failed (see above); an upload that was cut continues when run again."
        )
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    path = download(portal_from_settings(), args.id, args.output)
    print(f"{path}")
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    portal = portal_from_settings()
    portal.delete(args.id)
    print(f"Moved {args.id} to the trash (restore it on the portal's Trash page).")
    return 0


def cmd_share(args: argparse.Namespace) -> int:
    share = portal_from_settings().share(args.id, args.days)
    print(share["url"])
    print(f"expires {share['expires_at']}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="portal-client",
        description="The portal from the command line. PORTAL_URL and PORTAL_TOKEN win over what login kept.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    login = commands.add_parser("login", help="ask for an API token, check it and keep it with the URL")
    login.add_argument("url", metavar="URL", help="the portal's address, such as http://localhost:8080")
    login.set_defaults(run=cmd_login)

    ls = commands.add_parser("ls", help="list the files, newest first")
    ls.add_argument(
        "-q", metavar="TEXT", help="search titles, descriptions, tags and file names, as the web does (exit 3: no match)"
    )
    ls.add_argument("--json", action="store_true", help="print the files' JSON")
    ls.set_defaults(run=cmd_ls)

    info = commands.add_parser("info", help="show one file")
    info.add_argument("id", metavar="ID")
    info.set_defaults(run=cmd_info)

    up = commands.add_parser("upload", help="upload files (resumable: run again after a crash to continue)")
    up.add_argument("files", metavar="FILE", nargs="+")
    up.add_argument(
        "--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE // MIB, metavar="MIB",
        help=f"MiB sent per request (default {DEFAULT_CHUNK_SIZE // MIB}); less on a line that drops often",
    )
    up.set_defaults(run=cmd_upload)

    down = commands.add_parser("download", help="download a file, resumable, checked against its SHA-256")
    down.add_argument("id", metavar="ID")
    down.add_argument("-o", "--output", metavar="PATH", help="where to write it (a folder: under the file's name)")
    down.set_defaults(run=cmd_download)

    rm = commands.add_parser("rm", help="move a file to the trash")
    rm.add_argument("id", metavar="ID")
    rm.set_defaults(run=cmd_rm)

    share = commands.add_parser("share", help="make a share link and print its URL")
    share.add_argument("id", metavar="ID")
    share.add_argument("--days", type=int, metavar="N", help="days the link works (the portal's default: 7)")
    share.set_defaults(run=cmd_share)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command of ``argv`` (the process's arguments by default); the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: Any = args.run(args)
    except ClientError as error:
        print(f"portal-client: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader of the output left (`portal-client ls | head`): nothing more to say, and no
        # complaint from the interpreter when it flushes standard output at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("portal-client: interrupted; an upload or download continues where it stopped when run again.", file=sys.stderr)
        return 130
    return int(status)
