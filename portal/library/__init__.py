"""The videos domain: rows, names, formats, listing, integrity and the service the doors call.

May import :mod:`portal.accounts` (a video has an owner), :mod:`portal.storage`
and the modules at the top of the portal (:mod:`portal.errors`,
:mod:`portal.extensions`, :mod:`portal.events`, ...); nothing above it:
never :mod:`portal.uploads`, :mod:`portal.media`, :mod:`portal.jobs`,
:mod:`portal.sharing`, :mod:`portal.backup`, :mod:`portal.http`,
:mod:`portal.web`, :mod:`portal.api` or :mod:`portal.ops`
(``tests/test_layers.py`` checks it). What must follow an upload, a purge or a
copy found damaged (processing queued, share links removed) is published
through :mod:`portal.events`; what the library must know of a playable copy is
on its own rows (:attr:`.models.Video.needs_playable_copy`, from :mod:`.formats`).
"""
