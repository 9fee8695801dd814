"""The JSON object bodies of v2's account routes (tokens, users): read within a bound, checked for their fields.

The values are the services' to check; here only the format: the media type
(415 for another), the length (read no further than the bound), JSON (400),
an object of known fields (400, as the services' refusals of a value).
"""

from __future__ import annotations

from flask import request

from ...errors import InvalidInput
from ...errors import UnsupportedBodyType
from ...http.json_bodies import load_json_body

#: Far more than a user's name, password and role, or a token's label and scopes, need.
MAX_BODY = 16 * 1024


def read_object(media_type: str, fields: tuple[str, ...], hint: str) -> dict[str, object]:
    """The request's JSON object sent as ``media_type``, holding none but ``fields``; ``hint`` says how to send it."""
    if request.mimetype != media_type:
        raise UnsupportedBodyType(f"The body must be {media_type}. {hint}")
    raw = request.stream.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise InvalidInput(f"The body is longer than {MAX_BODY} bytes. {hint}")
    body = load_json_body(raw, f"The body is not valid JSON. {hint}")
    if not isinstance(body, dict):
        raise InvalidInput(f"The body is not a JSON object. {hint}")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise InvalidInput(f"Unknown field {unknown[0]!r}: send only {', '.join(repr(field) for field in fields)}.")
    return body


def whole_number(value: object) -> object:
    """JSON has numbers, not integers: ``6.0`` is the whole number JSON Schema's ``integer`` allows, so it is 6."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
