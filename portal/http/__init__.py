"""The HTTP layer shared by both doors: domain errors to statuses, delivery of bytes, headers, links.

May import every domain package; the domain packages never import this one.
"""
