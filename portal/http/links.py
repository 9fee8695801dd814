"""Links to a video's pages, built once per request and reused for every video.

``url_for`` walks the URL map on every call; a page of 100 videos needs
hundreds of links that differ only in the id. The link is built once with a
placeholder for the id, then the placeholder is replaced.
"""

from __future__ import annotations

from flask import g
from flask import url_for

#: Stands for the id while a link is built; ids are UUIDs, so it never occurs in one.
_ID_SLOT = "__video_id__"


def video_link(endpoint: str, video_id: str, external: bool = False) -> str:
    """``url_for(endpoint, video_id=video_id, _external=external)``, from a per-request template."""
    templates: dict[tuple[str, bool], str] = g.setdefault("video_link_templates", {})
    template = templates.get((endpoint, external))
    if template is None:
        template = templates[endpoint, external] = url_for(endpoint, video_id=_ID_SLOT, _external=external)
    return template.replace(_ID_SLOT, video_id)
