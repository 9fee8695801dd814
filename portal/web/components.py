"""Small pieces of markup drawn many times on a page: icons, status and processing badges.

Template globals (``{{ icon("play") }}``, ``{{ status_badge(video) }}``)
rather than Jinja macros: a library page draws dozens of them, and a macro
call costs far more than a dictionary lookup. Icons are inline SVG, so they
follow the text colour and need no extra request.
"""

from __future__ import annotations

from markupsafe import Markup

from ..library.models import Video

_SHAPES = {
    "play": '<path d="M8 5.5v13a1 1 0 0 0 1.5.86l10.2-6.5a1 1 0 0 0 0-1.72L9.5 4.64A1 1 0 0 0 8 5.5z" fill="currentColor"/>',
    "grid": '<path d="M4 4h7v7H4zM13 4h7v7h-7zM4 13h7v7H4zM13 13h7v7h-7z" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"/>',
    "upload": '<path d="M12 16V4m0 0L7 9m5-5 5 5M4 16v3a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-3" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/>',
    "download": '<path d="M12 4v12m0 0-5-5m5 5 5-5M4 16v3a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-3" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/>',
    "trash": '<path d="M4 7h16M10 11v6M14 11v6M6 7l1 12a1 1 0 0 0 1 1h8a1 1 0 0 0 1-1l1-12M9 7V4h6v3" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/>',
    "check": '<path d="M5 12.5l4.5 4.5L19 7.5" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round"/>',
    "shield": '<path d="M12 3l7 3v6c0 4.2-3 7.6-7 9-4-1.4-7-4.8-7-9V6z" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"/><path d="M9 12l2 2 4-4" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/>',
    "alert": '<path d="M12 8v5m0 3.5v.01M10.3 3.9 2.6 17.5A2 2 0 0 0 4.3 20.5h15.4a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/>',
    "search": '<path d="M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14zm9 2-4-4" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>',
    "film": '<path d="M4 5h16v14H4zM8 5v14M16 5v14M4 9h4M4 15h4M16 9h4M16 15h4" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linejoin="round"/>',
    "code": '<path d="M9 8l-4 4 4 4M15 8l4 4-4 4" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/>',
    "copy": '<path d="M9 9h10v11H9zM5 15V4h10" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"/>',
    "user": '<path d="M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM4.5 20a7.5 7.5 0 0 1 15 0" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>',
    "users": '<path d="M9 11a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7zM2.5 20a6.5 6.5 0 0 1 13 0M16 4.3a3.5 3.5 0 0 1 0 6.4M18.5 14.2A6.5 6.5 0 0 1 21.5 20" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>',
    "menu": '<path d="M4 7h16M4 12h16M4 17h16" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>',
    "back": '<path d="M15 6l-6 6 6 6" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/>',
}

ICONS = {
    name: Markup(
        '<svg class="icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">'
        f"{shape}</svg>"
    )
    for name, shape in _SHAPES.items()
}


def icon(name: str) -> Markup:
    return ICONS[name]


#: A video's status as a badge: class modifier, icon and label.
_BADGES = {
    "ok": ("ok", "check", "Verified"),
    "missing": ("warn", "alert", "Missing"),
    "corrupt": ("bad", "alert", "Corrupt"),
}

def _badge(modifier: str, icon_name: str, label: str, attributes: str = "") -> Markup:
    return Markup(f'<span class="badge badge--{modifier}"{attributes}>{ICONS[icon_name]}{label}</span>')


BADGES = {status: _badge(*badge) for status, badge in _BADGES.items()}


def status_badge(video: Video) -> Markup:
    return BADGES.get(video.status, BADGES["corrupt"])


#: A video's processing state as a badge: class modifier, icon and label.
_PROCESSING_BADGES = {
    "queued": ("warn", "film", "Waiting to be processed"),
    "running": ("warn", "film", "Processing"),
    "done": ("ok", "check", "Ready"),
    "failed": ("bad", "alert", "Failed"),
}

PROCESSING_BADGES = {
    state: _badge(*badge, attributes=f' data-processing-state="{state}"') for state, badge in _PROCESSING_BADGES.items()
}


def processing_badge(video: Video) -> Markup:
    return PROCESSING_BADGES.get(video.processing_state, PROCESSING_BADGES["queued"])
