"""Upload intake: the hashed upload stream, digest parsing, and the request class that feeds it.

May import :mod:`portal.errors`, :mod:`portal.storage` and the library's
formats and models; the library's service builds on it, never the reverse.
"""
