"""Upload intake: the hashed upload stream, digest parsing, the request class that feeds it; resumable uploads.

Above the library and accounts, below the doors: a received upload becomes a
video through the library's service (:func:`portal.library.service.finish_upload`,
which takes any :class:`~portal.library.service.ReceivedFile`), and
:mod:`.quota` (a user's usage of videos and uploads) holds each upload to its
owner's room. The library imports nothing of this package.
"""
