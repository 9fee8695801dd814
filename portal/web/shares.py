"""Share links in the browser: the page a link opens, and making and revoking links on a video's page.

``/s/<token>`` is a blueprint of its own (``shares``), open to everyone: the
token is the only credential, so the page, its player and its download reach
that one video and nothing else. Its pages show no navigation of the library
(:func:`plain_pages`, error pages included), and every answer asks not to be
kept in caches nor sent on as a referrer, since the token is in the URL.

Making and revoking links belong to the video's page, on the ``web`` blueprint:
signed-in callers who may watch the video, with the form's CSRF token.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from werkzeug.wrappers import Response as BaseResponse

from ..accounts.permissions import Action
from ..accounts.permissions import check
from ..errors import InvalidShareDays
from ..http.auth import caller_required
from ..http.auth import current_caller
from ..http.auth import public
from ..http.auth import requires
from ..http.delivery import send_caption
from ..http.delivery import send_poster
from ..http.delivery import send_stored
from ..http.delivery import send_video
from ..http.links import share_link
from ..library import captions
from ..library import service
from ..sharing import service as sharing
from .forms import ShareForm
from .once import keep_new_share
from .views import bp as web
from .views import player_state

bp = Blueprint("shares", __name__, url_prefix="/s")

#: The token is in the URL: no cache keeps these answers, no referrer carries it to another site.
SHARE_HEADERS = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}


@bp.context_processor
def plain_pages() -> dict[str, object]:
    """Tells ``base.html`` to leave out the library's navigation on every page of a share link."""
    return {"plain_page": True, "share_link": share_link}


@bp.after_request
def keep_the_token_private(response: Response) -> Response:
    response.headers.update(SHARE_HEADERS)
    return response


@bp.get("/<token>")
@public
def player(token: str) -> str:
    share = sharing.open_share(token)
    return render_template("shares/player.html", share=share, video=share.video, token=token)


@bp.route("/<token>/stream", methods=["GET", "HEAD"])
@public
def stream(token: str) -> Response:
    return send_stored(service.player_source(sharing.open_share(token).video), "inline")


@bp.get("/<token>/playback")
@public
def playback_state(token: str) -> Response:
    """Asked by the link's page while it waits for the copy, as the video's own page does."""
    return player_state(sharing.open_share(token).video)


@bp.get("/<token>/poster")
@public
def poster(token: str) -> Response:
    """The player's first picture; kept by no cache, like every answer of a share link."""
    return send_poster(sharing.open_share(token).video)


@bp.get("/<token>/captions/<language>")
@public
def caption(token: str, language: str) -> Response:
    """A caption of the shared video, for its player's ``<track>``."""
    return send_caption(captions.get_caption(sharing.open_share(token).video, language))


@bp.route("/<token>/download", methods=["GET", "HEAD"])
@public
def download(token: str) -> Response:
    return send_video(sharing.open_share(token).video, "attachment")


# --- on the video's page -------------------------------------------------------


@web.post("/videos/<video_id>/shares")
@requires(Action.SHARE)
def create_share(video_id: str) -> BaseResponse:
    """Make a link, then back to the video's page, which shows it this once (:mod:`.once`): a reload posts nothing."""
    video = service.get_video(video_id)
    check(current_caller(), Action.SHARE, video)
    form = ShareForm()
    if not form.validate():
        flash(InvalidShareDays(sharing.MIN_DAYS, sharing.MAX_DAYS).message, "error")
        return redirect(url_for("web.video", video_id=video.id), 303)
    share, token = sharing.create_share(video, by=caller_required().user, days=form.days.data)
    keep_new_share(video, share, token)
    return redirect(url_for("web.video", video_id=video.id), 303)


@web.post("/shares/<row_id:share_id>/revoke")
def revoke_share(share_id: int) -> BaseResponse:
    share = sharing.revoke_share(share_id, by=caller_required().user)
    flash("Revoked the share link: it no longer opens the video.", "success")
    return redirect(url_for("web.video", video_id=share.video_id), 303)
