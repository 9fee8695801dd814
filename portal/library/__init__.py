"""The videos domain: rows, names, formats, listing, integrity and the service the doors call.

May import :mod:`portal.errors`, :mod:`portal.extensions`, :mod:`portal.storage`
and :mod:`portal.uploads.intake`; never :mod:`portal.http`, :mod:`portal.web` or
:mod:`portal.api`: nothing here knows about requests, statuses or markup.
"""
