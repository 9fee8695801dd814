"""JSON request bodies, parsed within bounds: a body nested deeper than any request needs is refused, not parsed.

Python's parser recurses once per level, so a small body of 30,000 nested arrays
raised ``RecursionError`` (a 500) before the portal could look at it. No body the
API takes nests deeper than a few levels, so the depth is counted first.
"""

from __future__ import annotations

import json
import re

from ..errors import InvalidInput

#: Deeper than any body the API takes (an object holding a list of tags is two levels).
MAX_JSON_DEPTH = 32

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def nesting_depth(raw: bytes) -> int:
    """How deeply the arrays and objects of ``raw`` nest, brackets inside strings left out."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub(b"", raw)):
        if bracket in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def load_json_body(raw: bytes, invalid_message: str) -> object:
    """The JSON value of ``raw``; :class:`InvalidInput` with ``invalid_message`` when it is not JSON."""
    if nesting_depth(raw) > MAX_JSON_DEPTH:
        raise InvalidInput(f"The body's JSON nests deeper than {MAX_JSON_DEPTH} levels; send an object of the documented fields.")
    try:
        return json.loads(raw)
    except ValueError:
        raise InvalidInput(invalid_message) from None
