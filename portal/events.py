"""What one floor announces and a floor above it acts on: the portal's published events (blinker signals).

The floors read top-down (the doors, then jobs, media, uploads, sharing, the
library, accounts): a floor never imports the one above it. Where a lower one
must have something happen up there (a stored upload gets its facts, poster
and copy; a purged video's share links go), it sends one of these signals
(:func:`publish`), with the application as sender, and :func:`portal.create_app` connects the
receivers of that application (:func:`portal.jobs.events.connect`,
:func:`portal.sharing.events.connect`, :func:`portal.library.events.connect`).

Receivers run at once, in the sender's app context and transaction, and what
they raise reaches the sender as if it had called them: a signal changes who
knows whom, not what happens or in which order. This module imports nothing
of the portal, so every floor may use it.
"""

from __future__ import annotations

from typing import Any

from blinker import NamedSignal
from blinker import Namespace
from flask import current_app

_events = Namespace()


def publish(event: NamedSignal, **data: Any) -> None:
    """Send ``event`` from the current application, to the receivers it connected (:func:`portal.create_app`)."""
    event.send(current_app._get_current_object(), **data)  # type: ignore[attr-defined]


#: A video's upload is committed (row and bytes): its processing is to be queued. ``video_id=``.
#: Never fails the upload: the receiver logs a queue it cannot reach, and the video stays ``queued``.
video_stored = _events.signal("portal.video-stored")

#: Someone asked for a video's processing again. ``video_ids=``; a queue that cannot be reached
#: raises :class:`~portal.errors.QueueUnavailable` out of ``send``.
processing_requested = _events.signal("portal.processing-requested")

#: The playable copy a video was served was found damaged or gone: it is to be forgotten by every
#: video playing it and made again. ``video_id=``, ``sha256=`` (of the copy the row named).
copy_lost = _events.signal("portal.copy-lost")

#: A video is being purged; its row goes at the end of this transaction. ``video_id=``.
#: Rows of other floors that point to it (share links) go first, in the same transaction.
video_purging = _events.signal("portal.video-purging")

#: A user was created as, or made, an admin. ``user=``. The first admin adopts the ownerless videos.
became_admin = _events.signal("portal.became-admin")

#: Media work on a video asks for its next job: the facts (and poster) job, or the copy job.
#: ``video_id=``, ``owner_id=`` (owners take turns in the queue); what the queue raises reaches the sender.
probe_wanted = _events.signal("portal.probe-wanted")
copy_wanted = _events.signal("portal.copy-wanted")
