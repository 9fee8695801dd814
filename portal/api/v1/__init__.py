"""Version 1 of the JSON API, mounted at ``/api/v1``."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")

from . import deprecation  # noqa: E402,F401  (views attach themselves to bp)
from . import docs  # noqa: E402,F401
from . import routes  # noqa: E402,F401
from . import shares  # noqa: E402,F401
from . import trash  # noqa: E402,F401
from . import uploads  # noqa: E402,F401
