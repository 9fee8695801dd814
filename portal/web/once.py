"""A new share link's address, carried from the POST that made it to the one page that shows it.

Making a link answers with a redirect (post/redirect/get), so that reloading
the page it lands on fetches it again instead of posting a second time. The
token is kept nowhere on the server (only its SHA-256 is stored), so its
address rides to that next page in the signed session cookie, which only the
person's browser holds and which no log records, and is taken out of it as
soon as a video's page is shown: a reload, or any later visit, no longer has it.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import session

from ..http.links import share_link
from ..library.models import Video
from ..sharing import service as sharing
from ..sharing.models import ShareLink

#: The session's key of a link made and not shown yet.
NEW_SHARE_KEY = "new_share"


@dataclass(frozen=True)
class NewShare:
    share: ShareLink
    url: str


def keep_new_share(video: Video, share: ShareLink, token: str) -> None:
    session[NEW_SHARE_KEY] = {"video": video.id, "share": share.id, "token": token}


def take_new_share(video: Video) -> NewShare | None:
    """The link made just before, when this is its video's page; it leaves the session whichever video this is."""
    kept = session.pop(NEW_SHARE_KEY, None)
    if not isinstance(kept, dict) or kept.get("video") != video.id:
        return None
    share = next((share for share in sharing.list_shares(video) if share.id == kept.get("share")), None)
    if share is None:  # revoked in between
        return None
    return NewShare(share=share, url=share_link("shares.player", str(kept.get("token"))))
