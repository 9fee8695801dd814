"""The web pages: browse, upload, watch, download and delete videos in a browser.

A thin HTML door onto the library's service (:mod:`portal.library`), beside the JSON door of
:mod:`portal.api.v1`; every rule lives in the service, none here.
"""

from __future__ import annotations

from . import account  # noqa: F401  (its routes join the blueprint)
from . import captions  # noqa: F401  (its routes join the blueprint)
from . import shares  # noqa: F401  (its routes join the blueprint)
from . import signin  # noqa: F401  (its routes join the blueprint)
from . import trash  # noqa: F401  (its routes join the blueprint)
from .views import bp

__all__ = ["bp"]
