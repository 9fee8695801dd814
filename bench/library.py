"""The library at scale: ``python bench/run.py --library N [--database sqlite|postgresql|both]``.

Seeds ``N`` real videos (owners, titles, descriptions, tags, the search index
filled) into a fresh database of each kind, then times the listings v2 and v1
answer, in-process (the Flask test client: the app and the database, no
sockets) and over HTTP (a real ``python wsgi.py`` on 127.0.0.1):

- v2's first page, a page 25,000 pages deep by cursor (the cursor of the row
  at that depth is computed by a query, then the request is timed), a search
  matching nothing, a search matching 10% of the library, a tag filter; and
  combinations: a one- and a two-letter search matching nothing, a search with
  a tag, two tags, an owner with a tag and a word (each printed with the
  catalog's plan for it, :func:`portal.library.catalog.plan_name`);
- v1's first page (its exact ``total``), and for reference v1's page 25,000
  (OFFSET) and a v1 search matching nothing, which have no target.

Targets: p50 under 10 ms and p99 under 25 ms (twice that on PostgreSQL); v1's
first page p50 under 15 ms; seeding a million rows under two minutes (scaled
to ``N``). PostgreSQL is a throwaway cluster started here (``initdb``, as the
``postgres`` user when run as root, fsync off as in CI) unless
``--postgres-url`` names a server whose database may be filled.
"""

from __future__ import annotations

import hashlib
import http.client
import itertools
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import percentile  # noqa: E402
from bench.common import write_results  # noqa: E402
from tests.support import ADMIN_PASSWORD  # noqa: E402
from tests.support import ADMIN_USERNAME  # noqa: E402
from tests.support import free_port  # noqa: E402
from tests.support import portal_environment  # noqa: E402
from tests.support import start_process  # noqa: E402
from tests.support import stop_process  # noqa: E402
from tests.support import wait_until_answering  # noqa: E402

#: Each word is in the title of one video in ten: a search for one matches 10% of the library.
TITLE_WORDS = ("Beach", "Birthday", "Concert", "Drone", "Garden", "Hiking", "Kitchen", "Lecture", "Snow", "Wedding")
#: Second words of titles, in several scripts; none contains a title word.
TITLE_SUFFIXES = ("morning", "evening", "Ελλάδα", "東京", "Москва", "día", "Straße", "été")
#: Tags: every video has two of them.
TAGS = tuple(f"topic-{number:02d}" for number in range(20))
#: Letters no seeded text contains: a search for them matches nothing.
NOTHING = "qqxz"
OWNERS = 4
DEEP_PAGE = 25_000
PER_PAGE = 20
#: A million rows in two minutes, scaled to the size asked for; below a tenth of that, the fixed
#: costs (the search index's rebuild, ANALYZE) weigh more than the rows and no target is set.
SEED_SECONDS_PER_ROW = 120 / 1_000_000
SEED_TARGET_FROM = 100_000
#: From this many videos on, every combination case has matches (the tags are random: a small library may have none).
COMBINED_FROM = 10_000


# --- the databases -------------------------------------------------------------------


def postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[4]))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise SystemExit("PostgreSQL is not installed (Debian package 'postgresql'), or pass --postgres-url.")
    return Path(initdb).parent


@contextmanager
def temporary_postgres(work: Path) -> Iterator[str]:
    """A PostgreSQL cluster of its own on 127.0.0.1 for the run, removed afterwards (``.ci/run`` does the same)."""
    binaries = postgres_bin()
    folder = work / "postgres"
    folder.mkdir()
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root
        shutil.chown(work, "postgres")
        shutil.chown(folder, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = folder / "data"
    run = subprocess.run
    run([*as_postgres, str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
        check=True, capture_output=True)
    options = f"-h 127.0.0.1 -p {port} -k {folder} -F -c shared_buffers=512MB -c max_wal_size=4GB"
    run([*as_postgres, str(binaries / "pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "server.log"),
         "-o", options, "start"], check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        run([*as_postgres, str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True)


# --- seeding --------------------------------------------------------------------------


@dataclass
class Seeded:
    """What the run needs to know of the library it seeded."""

    count: int
    seconds: float
    token: str
    #: Per step: rows generated, inserted, indexed.
    steps: dict[str, float] = field(default_factory=dict)


def video_rows(count: int, owner_ids: list[int]) -> Iterator[tuple[dict[str, Any], list[str]]]:
    """``count`` videos as they would be after upload, processing and editing: a row and its tags.

    One a minute going back from now; the title word cycles, so each is in a
    tenth of the library, and every video has two of :data:`TAGS`.
    """
    from portal.library.models import search_text_of
    from portal.library.models import storage_key_for

    rng = random.Random(17)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    for index in range(count):
        video_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        word = TITLE_WORDS[index % len(TITLE_WORDS)]
        title = f"{word} {TITLE_SUFFIXES[index % len(TITLE_SUFFIXES)]} {index}"
        filename = f"VID_{index:07d}.mp4"
        description = f"Recorded with camera {index % 5} in take {index % 97}."
        first = rng.randrange(len(TAGS))
        tags = [TAGS[first], TAGS[(first + 1 + rng.randrange(len(TAGS) - 1)) % len(TAGS)]]
        moment = now - timedelta(minutes=count - index)
        yield (
            {
                "id": video_id,
                "filename": filename,
                "search_name": filename.casefold(),
                "content_type": "video/mp4",
                "size": rng.randrange(10**6, 10**10),
                "sha256": hashlib.sha256(video_id.encode()).hexdigest(),
                "status": "ok",
                "created_at": moment,
                "verified_at": moment,
                "storage_key": storage_key_for(video_id),
                "owner_id": owner_ids[index % len(owner_ids)],
                "duration": 30.0 + index % 600,
                "width": 1920,
                "height": 1080,
                "video_codec": "h264",
                "audio_codec": "aac",
                "frame_rate": 25.0,
                "bit_rate": 8_000_000,
                "container": "mp4",
                "processing_state": "done",
                "title": title,
                "title_key": title.casefold(),
                "description": description,
                "search_text": search_text_of(title, description, tags, filename),
                "updated_at": moment,
                "revision": 1,
            },
            tags,
        )


def seed_library(app: Any, count: int) -> Seeded:
    """Owners, then ``count`` videos with their tags in bulk, then what the database needs to plan well."""
    from portal.accounts import service
    from portal.extensions import db

    with app.app_context():
        service.create_user(ADMIN_USERNAME, ADMIN_PASSWORD, "admin")
        owners = [service.create_user(f"uploader{number}", ADMIN_PASSWORD, "uploader").id for number in range(OWNERS)]
        _token, token = service.create_token(ADMIN_USERNAME, ("read", "upload", "delete"), label="bench")
        db.session.remove()  # no transaction left open: the bulk load drops and makes constraints
        started = time.perf_counter()
        steps: dict[str, float] = {}
        insert = bulk_insert_postgresql if db.engine.dialect.name == "postgresql" else bulk_insert_sqlite
        insert(db.engine, video_rows(count, owners), steps)
        seconds = time.perf_counter() - started
        db.engine.dispose()
    return Seeded(count=count, seconds=seconds, token=token, steps=steps)


def batches(rows: Iterator[tuple[dict[str, Any], list[str]]], size: int) -> Iterator[list[tuple[dict[str, Any], list[str]]]]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def bulk_insert_sqlite(engine: Any, rows: Iterator[tuple[dict[str, Any], list[str]]], steps: dict[str, float]) -> None:
    """executemany in one transaction, the indexes and the search index made once at the end.

    The values go through the column types' own bind processors, so they are
    stored exactly as the app stores them. The secondary indexes are dropped
    and made again after the rows; the triggers that feed an FTS table whose
    content is ``videos`` are set aside and the index is rebuilt from the rows
    (faster than filling it row by row); the count of migration 0013 keeps its
    trigger. A failure rolls all of it back, indexes and triggers included.
    """
    from portal.library.models import Video
    from portal.library.models import VideoTag

    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA cache_size = -1000000")  # 1 GB: the indexes of random ids stay in memory
        cursor.execute("PRAGMA temp_store = MEMORY")  # where CREATE INDEX sorts
        cursor.execute("BEGIN")
        indexes = [name for (name,) in cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'"
            " AND sql LIKE '%content=''videos''%'"
        )]
        feeders = [(name, sql) for name, sql in cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'videos'"
        ).fetchall() if any(index in sql for index in indexes)]
        for name, _sql in feeders:
            cursor.execute(f'DROP TRIGGER "{name}"')
        # The indexes that are not constraints (those have no SQL) are made again after the rows:
        # sorting once beats a million insertions at random places in each.
        secondary = cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('videos', 'video_tags')"
            " AND sql IS NOT NULL"
        ).fetchall()
        for name, _sql in secondary:
            cursor.execute(f'DROP INDEX "{name}"')
        started = time.perf_counter()
        tag_rows: list[dict[str, Any]] = []
        _executemany(cursor, Video.__table__, (row for row, _tags in _tags_aside(rows, tag_rows)), engine.dialect)
        steps["insert videos"] = time.perf_counter() - started
        started = time.perf_counter()
        _executemany(cursor, VideoTag.__table__, iter(tag_rows), engine.dialect)
        steps["insert tags"] = time.perf_counter() - started
        started = time.perf_counter()
        for _name, sql in secondary:
            cursor.execute(sql)
        steps["indexes"] = time.perf_counter() - started
        started = time.perf_counter()
        for index in indexes:
            cursor.execute(f"INSERT INTO \"{index}\"(\"{index}\") VALUES ('rebuild')")
        for _name, sql in feeders:
            cursor.execute(sql)
        steps["search index"] = time.perf_counter() - started
        raw.commit()
        started = time.perf_counter()
        cursor.execute("ANALYZE")
        raw.commit()
        steps["analyze"] = time.perf_counter() - started
    finally:
        raw.close()


def _tags_aside(
    rows: Iterator[tuple[dict[str, Any], list[str]]], tag_rows: list[dict[str, Any]]
) -> Iterator[tuple[dict[str, Any], list[str]]]:
    """The rows as they come, keeping the rows of their tags in ``tag_rows`` for the insert after."""
    for row, tags in rows:
        tag_rows.extend({"video_id": row["id"], "tag": tag, "position": position} for position, tag in enumerate(tags))
        yield row, tags


def _executemany(cursor: Any, table: Any, rows: Iterator[dict[str, Any]], dialect: Any) -> None:
    """One INSERT for every row; only the columns whose type converts values (the times) are converted."""
    first = next(rows)
    columns = list(first)
    converted = [
        (position, process)
        for position, column in enumerate(columns)
        if (process := table.c[column].type.dialect_impl(dialect).bind_processor(dialect)) is not None
    ]

    def values(row: dict[str, Any]) -> list[Any]:
        items = list(row.values())
        for position, process in converted:
            items[position] = process(items[position])
        return items

    statement = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    cursor.executemany(statement, map(values, itertools.chain([first], rows)))


def bulk_insert_postgresql(
    engine: Any, rows: Iterator[tuple[dict[str, Any], list[str]]], steps: dict[str, float]
) -> None:
    """COPY into ``videos`` and ``video_tags``; their indexes and foreign keys are made again afterwards, which is faster.

    The statement-level triggers (migration 0013) see the COPY as one insert.
    The row trigger that fills ``video_words`` (migration 0014) is set aside
    during the COPY and the table filled from the rows in one statement, its
    key made after. VACUUM ANALYZE, as autovacuum soon does after a bulk
    insert, gives the planner the new sizes and index-only scans the
    visibility map they need to skip the table.
    """
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        indexes = cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "JOIN pg_class c ON c.relname = i.indexname AND c.relnamespace = to_regnamespace(i.schemaname) "
            "WHERE i.schemaname = current_schema() AND i.tablename IN ('videos', 'video_tags') "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)"
        ).fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        # Foreign keys are checked row by row during a COPY (a look-up per row and per key), and in one
        # join when a constraint is added again.
        foreign_keys = cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE contype = 'f' AND conrelid IN ('videos'::regclass, 'video_tags'::regclass)"
        ).fetchall()
        for table, name, _definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute("ALTER TABLE videos DISABLE TRIGGER video_words_after_insert")
        cursor.execute("ALTER TABLE video_words DROP CONSTRAINT pk_video_words")
        started = time.perf_counter()
        first = next(rows)
        tag_rows: list[tuple[Any, str, int]] = []
        with cursor.copy(f"COPY videos ({', '.join(first[0])}) FROM STDIN") as copy:
            for row, tags in itertools.chain([first], rows):
                copy.write_row(tuple(row.values()))
                tag_rows.extend((row["id"], tag, position) for position, tag in enumerate(tags))
        steps["copy videos"] = time.perf_counter() - started
        started = time.perf_counter()
        with cursor.copy("COPY video_tags (video_id, tag, position) FROM STDIN") as copy:
            for tag_row in tag_rows:
                copy.write_row(tag_row)
        steps["copy tags"] = time.perf_counter() - started
        started = time.perf_counter()
        for _name, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        steps["indexes"] = time.perf_counter() - started
        started = time.perf_counter()
        cursor.execute("INSERT INTO video_words (word, video_id) SELECT portal_search_words(search_text), id FROM videos")
        cursor.execute("ALTER TABLE video_words ADD CONSTRAINT pk_video_words PRIMARY KEY (word, video_id)")
        cursor.execute("ALTER TABLE videos ENABLE TRIGGER video_words_after_insert")
        steps["words"] = time.perf_counter() - started
        raw.commit()
        started = time.perf_counter()
        raw.driver_connection.autocommit = True  # VACUUM runs outside a transaction
        for table in ("videos", "video_tags", "video_words"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        raw.driver_connection.autocommit = False
        steps["vacuum analyze"] = time.perf_counter() - started
    finally:
        raw.close()


# --- measuring ------------------------------------------------------------------------


@dataclass
class Case:
    """One request timed, and what it must take (p50, p99 in ms; None: measured for reference)."""

    api: str
    name: str
    path: str
    p50_target: float | None = None
    p99_target: float | None = None
    #: What the answer must hold, so a fast wrong answer is not a result: (key, check).
    check: Callable[[dict[str, Any]], bool] = lambda body: True
    #: How the catalog finds v2's page (:func:`portal.library.catalog.plan_name`); set by :func:`plan_of`.
    plan: str = ""


def plan_of(app: Any, case: Case) -> str:
    """The catalog's plan for a v2 request, asked of the service with the request's own parameters."""
    if case.api != "v2":
        return ""
    from portal.extensions import db
    from portal.library import catalog

    arguments = urllib.parse.parse_qs(urllib.parse.urlsplit(case.path).query)
    with app.app_context():
        query = catalog.CatalogQuery.parse(
            text=arguments.get("q", [""])[0], tags=arguments.get("tag", []), owner=arguments.get("owner", [""])[0],
            sort=arguments.get("sort", [""])[0], limit=arguments.get("limit", [""])[0],
            cursor=arguments.get("cursor", [""])[0],
        )
        plan = catalog.search(query).plan
        db.session.remove()
    return plan


@dataclass
class Timing:
    p50_ms: float
    p99_ms: float
    samples: list[float]

    @classmethod
    def of(cls, samples: list[float]) -> Timing:
        return cls(percentile(samples, 0.5), percentile(samples, 0.99), samples)


def cases(app: Any, count: int, postgresql: bool) -> list[Case]:
    """The requests of the run; the deep page's cursor is the one v2 gives for the row at that depth."""
    factor = 2 if postgresql else 1
    p50, p99 = 10.0 * factor, 25.0 * factor
    depth = min(DEEP_PAGE * PER_PAGE, count - 1)
    tenth = max(1, count // 10)
    return [
        Case("v2", "first page", f"/api/v2/videos?limit={PER_PAGE}", p50, p99,
             lambda body: len(body["items"]) == min(PER_PAGE, count)),
        Case("v2", f"page {depth // PER_PAGE:,} by cursor", deep_page_path(app, depth), p50, p99,
             lambda body: len(body["items"]) == min(PER_PAGE, count - depth)),
        Case("v2", "search matching nothing", f"/api/v2/videos?limit={PER_PAGE}&q={NOTHING}", p50, p99,
             lambda body: body["items"] == []),
        Case("v2", "search matching 10%", f"/api/v2/videos?limit={PER_PAGE}&q={TITLE_WORDS[3].lower()}", p50, p99,
             lambda body: len(body["items"]) == min(PER_PAGE, tenth)
             and all(TITLE_WORDS[3] in item["title"] for item in body["items"])),
        # The same videos by a piece from inside the word: no whole word or start of one to prove the
        # "at least" from, so PostgreSQL counts the matches (see catalog.count_matches); for reference.
        Case("v2", "search matching 10%, inside words", f"/api/v2/videos?limit={PER_PAGE}&q={TITLE_WORDS[3][1:].lower()}",
             check=lambda body: len(body["items"]) == min(PER_PAGE, tenth)
             and all(TITLE_WORDS[3] in item["title"] for item in body["items"])),
        Case("v2", "tag filter", f"/api/v2/videos?limit={PER_PAGE}&tag={TAGS[7]}", p50, p99,
             lambda body: bool(body["items"]) and all(TAGS[7] in item["tags"] for item in body["items"])),
        # Combinations: the shapes that read the whole library, or every match of the commonest filter.
        Case("v2", "one letter matching nothing", f"/api/v2/videos?limit={PER_PAGE}&q={NOTHING[0]}", p50, p99,
             lambda body: body["items"] == []),
        Case("v2", "two letters matching nothing", f"/api/v2/videos?limit={PER_PAGE}&q={NOTHING[:2]}", p50, p99,
             lambda body: body["items"] == []),
        Case("v2", "search and a tag", f"/api/v2/videos?limit={PER_PAGE}&q={TITLE_WORDS[0].lower()}&tag={TAGS[7]}",
             p50, p99, lambda body: (bool(body["items"]) or count < COMBINED_FROM) and all(
                 TITLE_WORDS[0] in item["title"] and TAGS[7] in item["tags"] for item in body["items"])),
        Case("v2", "two tags", f"/api/v2/videos?limit={PER_PAGE}&tag={TAGS[3]}&tag={TAGS[7]}", p50, p99,
             lambda body: (bool(body["items"]) or count < COMBINED_FROM) and all(
                 {TAGS[3], TAGS[7]} <= set(item["tags"]) for item in body["items"])),
        Case("v2", "owner, tag and word",
             f"/api/v2/videos?limit={PER_PAGE}&owner=uploader1&q={TITLE_WORDS[3].lower()}&tag={TAGS[7]}", p50, p99,
             lambda body: (bool(body["items"]) or count < COMBINED_FROM) and all(
                 TITLE_WORDS[3] in item["title"] and TAGS[7] in item["tags"] and item["owner"] == "uploader1"
                 for item in body["items"])),
        Case("v1", "first page (exact total)", f"/api/v1/files?per_page={PER_PAGE}", 15.0, None,
             lambda body: body["total"] == count),
        Case("v1", f"page {DEEP_PAGE:,} (OFFSET)", f"/api/v1/files?per_page={PER_PAGE}&page={DEEP_PAGE}",
             check=lambda body: "items" in body),
        Case("v1", "search matching nothing", f"/api/v1/files?per_page={PER_PAGE}&q={NOTHING}",
             check=lambda body: body["total"] == 0),
    ]


def deep_page_path(app: Any, depth: int) -> str:
    """v2's request for the page after the row ``depth`` rows down the first page's order."""
    from portal.extensions import db
    from portal.library.catalog import DEFAULT_SORT
    from portal.library.catalog import encode_cursor
    from portal.library.models import Video

    with app.app_context():
        video = db.session.scalars(
            db.select(Video)
            .where(Video.deleted_at.is_(None))
            .order_by(Video.created_at.desc(), Video.id.desc())
            .offset(depth - 1)
            .limit(1)
        ).one()
        cursor = encode_cursor(video, DEFAULT_SORT)
        db.session.remove()
    return f"/api/v2/videos?limit={PER_PAGE}&cursor={cursor}"


def time_in_process(app: Any, token: str, case: Case, samples: int) -> Timing:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def get() -> float:
        started = time.perf_counter()
        response = client.get(case.path, headers=headers)
        seconds = time.perf_counter() - started
        body = response.get_json()
        if response.status_code != 200 or not case.check(body):
            items = len(body.get("items", [])) if isinstance(body, dict) else 0
            raise RuntimeError(f"in-process GET {case.path} answered {response.status_code} ({items} items): {body!s:.300}")
        return seconds * 1000

    get()  # warm: statements, caches
    return Timing.of([get() for _ in range(samples)])


def time_over_http(port: int, token: str, case: Case, samples: int) -> Timing:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.connect()
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    headers = {"Authorization": f"Bearer {token}"}

    def get() -> float:
        started = time.perf_counter()
        connection.request("GET", case.path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        seconds = time.perf_counter() - started
        if response.status != 200 or not case.check(json.loads(body)):
            raise RuntimeError(f"GET {case.path} over HTTP answered {response.status}: {body[:300]!r}")
        return seconds * 1000

    try:
        get()
        return Timing.of([get() for _ in range(samples)])
    finally:
        connection.close()


@dataclass
class Result:
    database: str
    seeded: Seeded
    seed_target_s: float | None
    #: (api, name, where) -> timing; ``where`` is "in-process" or "HTTP".
    timings: list[tuple[Case, str, Timing]] = field(default_factory=list)


def run_database(database: str, url: str, work: Path, count: int, samples: int) -> Result:
    from portal import create_app

    data_dir = work / f"data-{database}"
    settings = {"DATA_DIR": str(data_dir), "SQLALCHEMY_DATABASE_URI": url, "JOB_WORKERS": 0}
    app = create_app(settings)
    print(f"{database}: seeding {count:,} videos ...", flush=True)
    seeded = seed_library(app, count)
    print(f"{database}: seeded in {seeded.seconds:.1f} s {seeded.steps}", flush=True)
    result = Result(database, seeded, SEED_SECONDS_PER_ROW * count if count >= SEED_TARGET_FROM else None)
    app = create_app(settings)  # as a freshly started portal finds the library
    planned = cases(app, count, database == "postgresql")
    for case in planned:
        case.plan = plan_of(app, case)
    for case in planned:
        result.timings.append((case, "in-process", time_in_process(app, seeded.token, case, samples)))
    with app.app_context():
        from portal.extensions import db

        db.engine.dispose()
    port = free_port()
    env = portal_environment(data_dir, port, {"PORTAL_SQLALCHEMY_DATABASE_URI": url}, processes=None)
    server = start_process([sys.executable, "wsgi.py"], env, work / f"portal-{database}.log")
    try:
        wait_until_answering(server, port, "/healthz", timeout=60)
        for case in planned:
            result.timings.append((case, "HTTP", time_over_http(port, seeded.token, case, samples)))
    finally:
        stop_process(server, timeout=15)
    return result


def verdict(value: float, target: float | None) -> str:
    if target is None:
        return ""
    return "yes" if value < target else "NO"


def table(results: list[Result]) -> str:
    header = ("database", "api", "request", "where", "p50 ms", "p99 ms", "target", "met", "plan")
    rows = [header]
    for result in results:
        seeded = result.seeded
        target = f"< {result.seed_target_s:.0f} s" if result.seed_target_s is not None else ""
        rows.append((result.database, "", f"seed {seeded.count:,} videos", "", f"{seeded.seconds:.1f} s", "",
                     target, verdict(seeded.seconds, result.seed_target_s), ""))
        for case, where, timing in result.timings:
            targets = []
            if case.p50_target is not None:
                targets.append(f"p50 < {case.p50_target:g}")
            if case.p99_target is not None:
                targets.append(f"p99 < {case.p99_target:g}")
            met = [verdict(timing.p50_ms, case.p50_target), verdict(timing.p99_ms, case.p99_target)]
            rows.append((result.database, case.api, case.name, where, f"{timing.p50_ms:.2f}", f"{timing.p99_ms:.2f}",
                         ", ".join(targets), "NO" if "NO" in met else ("yes" if any(met) else ""), case.plan))
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def as_json(results: list[Result], samples: int) -> dict[str, Any]:
    return {
        "meta": {"samples": samples, "cpus": os.cpu_count(), "python": sys.version.split()[0],
                 "finished_at": datetime.now(timezone.utc).isoformat()},
        "databases": [
            {
                "database": result.database,
                "videos": result.seeded.count,
                "seed_seconds": result.seeded.seconds,
                "seed_steps": result.seeded.steps,
                "seed_target_seconds": result.seed_target_s,
                "timings": [
                    {"api": case.api, "request": case.name, "path": case.path, "where": where,
                     "plan": case.plan, "p50_ms": timing.p50_ms, "p99_ms": timing.p99_ms,
                     "p50_target_ms": case.p50_target, "p99_target_ms": case.p99_target,
                     "met": (case.p50_target is None or timing.p50_ms < case.p50_target)
                     and (case.p99_target is None or timing.p99_ms < case.p99_target),
                     "samples_ms": timing.samples}
                    for case, where, timing in result.timings
                ],
            }
            for result in results
        ],
    }


def run(count: int, databases: list[str], samples: int, json_path: Path, postgres_url: str | None) -> int:
    """Every database asked for, one after the other; prints the table and writes the JSON."""
    work = Path(tempfile.mkdtemp(prefix="portal-library-bench-"))
    started = time.monotonic()
    results = []
    try:
        for database in databases:
            if database == "sqlite":
                results.append(run_database(database, f"sqlite:///{work / 'library.db'}", work, count, samples))
            elif postgres_url:
                results.append(run_database(database, postgres_url, work, count, samples))
            else:
                with temporary_postgres(work) as url:
                    results.append(run_database(database, url, work, count, samples))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"library benchmark: {count:,} videos, {samples} requests per figure, {os.cpu_count()} CPUs, "
          f"{time.monotonic() - started:.0f} s")
    print(table(results))
    write_results(json_path, as_json(results, samples))
    return 0
