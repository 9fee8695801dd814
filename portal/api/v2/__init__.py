"""Version 2 of the JSON API, mounted at ``/api/v2``: titles, descriptions, tags, search, cursor pages.

v1 stays as it is for the scripts written against it; v2 calls the same
services. Every error under ``/api/v2/`` is RFC 9457 problem details
(:mod:`portal.http.problems`).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api_v2", __name__, url_prefix="/api/v2")

from . import captions  # noqa: E402,F401  (views attach themselves to bp)
from . import docs  # noqa: E402,F401
from . import me  # noqa: E402,F401
from . import shares  # noqa: E402,F401
from . import tokens  # noqa: E402,F401
from . import trash  # noqa: E402,F401
from . import uploads  # noqa: E402,F401
from . import users  # noqa: E402,F401
from . import videos  # noqa: E402,F401
