"""Upload intake: the hashed upload stream, digest parsing, the request class that feeds it; resumable uploads.

:mod:`.intake` and :mod:`.request` may import :mod:`portal.errors`,
:mod:`portal.storage` and the library's formats and models; the library's
service builds on them, never the reverse. :mod:`.resumable` (tus sessions)
sits above the library's service: a finished upload becomes a video through it.
"""
