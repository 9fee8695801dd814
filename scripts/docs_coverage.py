#!/usr/bin/env python3
"""Whether everything an older README.md said is still in README.md or a docs/ page.

Reads the old README (a file, or ``-`` for standard input) and reports each of its headings
that no page has (at any level), and each of its other lines that appears in no page (compared
with runs of whitespace collapsed, in any case, a Markdown link as its text). Exit status 1
when anything is missing. For example, after moving the sections other branches added to
README.md into docs/:

    git show main:README.md | python3 scripts/docs_coverage.py -
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def headings(text: str) -> list[str]:
    """The headings outside fenced code blocks (a ``#`` comment in a shell block is none)."""
    found, fence = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fence = not fence
        elif not fence and (match := re.match(r"#{1,6} +(.+)", line)):
            found.append(match.group(1).strip())
    return found


def normal(line: str) -> str:
    """A line as compared: whitespace collapsed, case ignored, and a reference (``see "Quotas"``)
    matching the link that replaced it (``see [Quotas](accounts.md#quotas)``)."""
    line = re.sub(r"\[([^\]]*)\]\([^)\s]*\)?", r"\1", line).replace('"', "")
    return " ".join(line.lower().split())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", help="the old README.md, or - for standard input")
    args = parser.parse_args()
    old = sys.stdin.read() if args.old == "-" else Path(args.old).read_text(encoding="utf-8")
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    texts = [page.read_text(encoding="utf-8") for page in pages]
    now_headings = {heading for text in texts for heading in headings(text)}
    now_lines = {normal(line) for text in texts for line in text.splitlines()}
    old_headings = headings(old)
    lost_headings = [heading for heading in old_headings if heading not in now_headings]
    old_lines = [normal(line) for line in old.splitlines() if line.strip() and not re.match(r"#{1,6} ", line)]
    lost_lines = [line for line in old_lines if line not in now_lines]
    for heading in lost_headings:
        print(f"heading not in any page: {heading}")
    for line in lost_lines:
        print(f"line not in any page: {line}")
    print(
        f"{len(old_headings) - len(lost_headings)} of {len(old_headings)} headings and "
        f"{len(old_lines) - len(lost_lines)} of {len(old_lines)} lines found in {len(pages)} pages"
    )
    return 1 if lost_headings or lost_lines else 0


if __name__ == "__main__":
    sys.exit(main())
