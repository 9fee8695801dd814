"""The README and the pages under docs/ name only what exists.

Each page's examples are checked against the portal itself, without a server: every
``PORTAL_*`` setting named is one the portal reads (and every setting of ``portal/config.py`` is
named somewhere), the defaults in the configuration tables are ``Config``'s, every
``flask --app wsgi`` command and option is one of the app's CLI, every ``make`` target and
variable is the Makefile's, every route under ``/api/`` (and every page path) is in the URL map
with the methods named, and every relative link and ``#anchor`` resolves.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from flask import Flask
from flask.cli import FlaskGroup
from flask.cli import ScriptInfo

from portal.config import Config
from portal.config import size_setting
from portal_client import config as client_config

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def prose(text: str) -> str:
    """The text outside fenced code blocks (where links and headings are)."""
    kept, fence = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fence = not fence
            continue
        kept.append("" if fence else line)
    return "\n".join(kept)


def code_lines(text: str) -> list[str]:
    """The lines of fenced code blocks, their shell comments cut off, then every inline code span."""
    lines, fence = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fence = not fence
            continue
        if fence:
            lines.append(re.sub(r"(^|\s)#.*", "", line))
    spans = re.findall(r"`([^`]+)`", prose(text).replace("\n", " "))
    return lines + spans


# --- settings ----------------------------------------------------------------------------------

SETTING = re.compile(r"\bPORTAL_[A-Z0-9]+(?:_[A-Z0-9]+)*")


def settings_of_the_portal() -> set[str]:
    """What ``create_app`` reads: ``Config``'s names, each overridden by ``PORTAL_<name>``."""
    return {f"PORTAL_{name}" for name in vars(Config) if name.isupper()}


def other_variables() -> set[str]:
    """Variables read by the command-line client and by the test suite, which the pages name too."""
    client = {client_config.URL_VARIABLE, client_config.TOKEN_VARIABLE}
    suite = set()
    for source in (ROOT / "tests").rglob("*.py"):
        if source.parent.name != "docs":
            suite.update(re.findall(r"environ(?:\.get)?[\[(]\"(PORTAL_TEST_[A-Z0-9_]+)\"", read(source)))
    return client | suite


def named_settings() -> dict[str, set[str]]:
    return {page_id(path): set(SETTING.findall(read(path))) for path in PAGES}


def test_every_setting_named_is_one_the_portal_reads():
    known = settings_of_the_portal() | other_variables()
    unknown = {page: sorted(names - known) for page, names in named_settings().items() if names - known}
    assert not unknown, f"settings named in the docs that nothing reads (see portal/config.py): {unknown}"


def test_every_setting_the_portal_reads_is_documented():
    named = set().union(*named_settings().values())
    missing = sorted(settings_of_the_portal() - named)
    assert not missing, f"settings of portal/config.py that no page names (add them to docs/configuration.md): {missing}"


def table_defaults(text: str):
    """(variable, default as written) for each row of a settings table whose default is a value in backticks.

    A settings table is one whose second column is headed ``default`` (not ``example``).
    """
    defaults = False
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|"):
            defaults = False
        elif cells[:2] == ["variable", "default"]:
            defaults = True
        if not defaults or len(cells) < 3 or not cells[0].startswith("`PORTAL_"):
            continue
        names = re.findall(r"`(PORTAL_[A-Z0-9_]+)`", cells[0])
        values = re.findall(r"`([^`]+)`", cells[1])
        if values and len(values) == len(names) and cells[1].startswith("`"):
            yield from zip(names, values, strict=True)


def as_setting(text: str) -> object:
    """A default as the environment would give it: JSON where it parses (``from_prefixed_env``), else text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def test_the_defaults_in_the_settings_tables_are_those_of_config():
    wrong = []
    for path in PAGES:
        for name, written in table_defaults(read(path)):
            attribute = name.removeprefix("PORTAL_")
            if attribute not in vars(Config):
                continue  # reported by test_every_setting_named_is_one_the_portal_reads
            actual, value = getattr(Config, attribute), as_setting(written)
            if isinstance(actual, int) and not isinstance(actual, bool) and isinstance(value, str):
                value = size_setting(value)  # a size written with a unit, such as 1GiB
            if value != actual:
                wrong.append(f"{page_id(path)}: {name} is documented as {written!r}, config.py says {actual!r}")
    assert not wrong, "\n".join(wrong)


# --- commands -----------------------------------------------------------------------------------

FLASK_COMMAND = re.compile(r"flask --app wsgi((?: +[^\s|;&)#`]+)*)")


@pytest.fixture
def cli(app: Flask) -> tuple[click.Group, click.Context]:
    """The ``flask --app wsgi`` command line: the app's commands and those of its extensions (``db``)."""
    group = FlaskGroup(create_app=lambda: app)
    context = group.make_context("flask", ["routes"], obj=ScriptInfo(create_app=lambda: app), resilient_parsing=True)
    return group, context


def flask_invocations():
    """(page, the words after ``flask --app wsgi``) for each command named in code."""
    for path in PAGES:
        for line in code_lines(read(path)):
            for match in FLASK_COMMAND.finditer(line):
                words = match.group(1).split()
                if words:
                    yield page_id(path), words


def option_names(command: click.Command) -> set[str]:
    return {"--help"} | {option for parameter in command.params for option in parameter.opts if option.startswith("-")}


def test_every_flask_command_named_exists_with_its_options(cli):
    group, context = cli
    problems, seen = [], 0
    with context:
        for page, words in flask_invocations():
            seen += 1
            command = group.get_command(context, words[0])
            if command is None:
                problems.append(f"{page}: no command `flask --app wsgi {words[0]}`")
                continue
            rest = words[1:]
            if isinstance(command, click.Group):
                if not rest:
                    continue  # the group itself, as in "`flask --app wsgi users` and `tokens`"
                name = rest[0]
                if name.startswith("-") or name not in command.commands:
                    problems.append(f"{page}: no command `flask --app wsgi {words[0]} {name}`")
                    continue
                command, rest = command.commands[name], rest[1:]
            for word in rest:
                option = word.strip("[]").split("=", 1)[0]
                if option.startswith("-") and option not in option_names(command):
                    problems.append(f"{page}: `flask --app wsgi {' '.join(words)}`: {command.name} has no option {option}")
    assert seen > 30, f"only {seen} flask commands found in the pages: the pattern no longer matches them"
    assert not problems, "\n".join(problems)


MAKE = re.compile(r"(?:^|[\s;&|(])make +([A-Za-z0-9_.-]+)((?: +[A-Z_]+=\S*)*)")


def makefile() -> tuple[set[str], set[str]]:
    """The Makefile's targets and the variables it assigns."""
    text = read(ROOT / "Makefile")
    targets: set[str] = set()
    variables: set[str] = set()
    for line in text.splitlines():
        if line.startswith(("\t", "#")) or not line.strip():
            continue
        if assigned := re.match(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:\?|:|\+)?=", line):
            variables.add(assigned.group(1))
        elif rule := re.match(r"([^:=]+):(?!=)", line):
            targets.update(word for word in rule.group(1).split() if "$" not in word)
    return targets, variables


def test_every_make_target_named_exists():
    targets, variables = makefile()
    assert {"run", "test", "test-fast", "check"} <= targets, f"the Makefile's targets were not read: {targets}"
    problems, seen = [], 0
    for path in PAGES:
        for line in code_lines(read(path)):
            for match in MAKE.finditer(line):
                seen += 1
                if match.group(1) not in targets:
                    problems.append(f"{page_id(path)}: no target `make {match.group(1)}`")
                for variable in re.findall(r"([A-Z_]+)=", match.group(2)):
                    if variable not in variables:
                        problems.append(f"{page_id(path)}: `make {match.group(1)} {variable}=...`: the Makefile has no {variable}")
    assert seen > 10, f"only {seen} make commands found in the pages"
    assert not problems, "\n".join(problems)


def test_the_readme_test_command_is_the_one_ci_runs():
    ci = read(ROOT / ".ci" / "run")
    assert re.search(r"^make test$", ci, re.M), ".ci/run no longer runs `make test`"
    assert "make test   # run the test suite" in read(ROOT / "README.md")


# --- routes -----------------------------------------------------------------------------------

#: A path under /api/ in text, a URL's too (``:8080/api/...``) but not a module's (``portal/api/v1/schemas.py``).
API_PATH = re.compile(r"(?<![A-Za-z_])/api/v\d+[^\s`'\")\]|,]*")
#: What a page may name that is no route of its own: the versions' prefixes.
API_ROOT = re.compile(r"/api/v\d+/?")
METHOD_AND_PATH = re.compile(r"((?:%s)(?:`?/`?(?:%s))*) +(/[^\s`]*)" % ("|".join(METHODS), "|".join(METHODS)))


def route_of(path: str) -> str | None:
    """A path as written in a page, without its query and trailing punctuation; None when it is elided (``...``)."""
    if "..." in path or "…" in path:
        return None
    return path.split("?", 1)[0].split("#", 1)[0].rstrip(".:;,") or None


def matching_rules(app: Flask, path: str):
    """The URL map's rules a documented path names: ``<x>``, ``ID`` or a value where the rule has a variable."""
    parts = path.strip("/").split("/") if path != "/" else [""]
    prefix = path.endswith("/") and path != "/"
    for rule in app.url_map.iter_rules():
        segments = rule.rule.strip("/").split("/") if rule.rule != "/" else [""]
        if prefix:
            parts_here = parts[:-1] if parts[-1] == "" else parts
            if len(segments) > len(parts_here) and segments[: len(parts_here)] == parts_here:
                yield rule
            continue
        if len(segments) != len(parts):
            continue
        if all(
            (segment.startswith("<") and part) or (segment == part and not part.startswith("<"))
            for segment, part in zip(segments, parts, strict=True)
        ):
            yield rule


def documented_paths(app: Flask):
    """(page, path, methods named with it) for API paths anywhere, and page paths in code spans."""
    first_segments = {rule.rule.strip("/").split("/")[0] for rule in app.url_map.iter_rules()} - {"static"}
    for path in PAGES:
        text = read(path)
        for line in text.splitlines():  # with its backticks: `GET`/`HEAD /api/v1/files/<id>/content`
            for match in METHOD_AND_PATH.finditer(line):
                if route := route_of(match.group(2)):
                    yield page_id(path), route, set(re.findall("|".join(METHODS), match.group(1)))
        for match in API_PATH.finditer(text):
            if route := route_of(match.group(0)):
                yield page_id(path), route, set()
        for span in re.findall(r"`(/[^`\s]*)`", prose(text).replace("\n", " ")):
            route = route_of(span)
            if route and not route.startswith("/api") and route.strip("/").split("/")[0] in first_segments:
                yield page_id(path), route, set()


def test_every_route_named_is_in_the_url_map(app):
    problems, seen = [], 0
    for page, path, methods in documented_paths(app):
        seen += 1
        rules = list(matching_rules(app, path + "/" if API_ROOT.fullmatch(path) else path))
        if not rules:
            problems.append(f"{page}: no route {path}")
            continue
        allowed = set().union(*(rule.methods or set() for rule in rules))
        if methods - allowed:
            problems.append(f"{page}: {path} does not answer {sorted(methods - allowed)} (only {sorted(allowed)})")
    assert seen > 100, f"only {seen} routes found in the pages"
    assert not problems, "\n".join(problems)


# --- links --------------------------------------------------------------------------------------

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"`|\*\*|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for line in prose(read(path)).splitlines():
        if heading := re.match(r"#{1,6} +(.+)", line):
            base = slug(heading.group(1))
            name, count = base, 1
            while name in found:
                name, count = f"{base}-{count}", count + 1
            found.add(name)
    return found


def test_every_relative_link_and_anchor_resolves():
    problems, seen = [], 0
    for path in PAGES:
        for target in LINK.findall(prose(read(path))):
            if re.match(r"[a-z]+:", target):
                continue
            seen += 1
            file, _, anchor = target.partition("#")
            linked = (path.parent / file).resolve() if file else path
            if not linked.exists():
                problems.append(f"{page_id(path)}: {target}: no file {linked}")
            elif anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
                problems.append(f"{page_id(path)}: {target}: no heading #{anchor} in {linked.name}")
    assert seen > 30, f"only {seen} relative links found in the pages"
    assert not problems, "\n".join(problems)


def test_every_page_is_in_the_index():
    index = read(DOCS / "README.md")
    linked = {target.partition("#")[0] for target in LINK.findall(index)}
    missing = sorted(path.name for path in DOCS.glob("*.md") if path.name != "README.md" and path.name not in linked)
    assert not missing, f"docs pages that docs/README.md does not list: {missing}"
    readme = read(ROOT / "README.md")
    assert "(docs/README.md)" in readme, "README.md does not link the docs' index"
