"""Share links: a random link that opens one video, for anyone who has it, until it expires or is revoked.

May import :mod:`portal.library` and :mod:`portal.accounts`; nothing here knows about HTTP.
"""
