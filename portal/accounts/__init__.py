"""Accounts: users, their roles and their API tokens; the rules of who may do what.

This package holds the rows (:mod:`.models`) and the service functions
(:mod:`.service`) that own every rule about accounts. Like every domain
package it speaks no HTTP: it may import :mod:`portal.extensions`,
:mod:`portal.errors` and the standard library, never a blueprint, a view or
:mod:`portal.http`. The doors (web, API, CLI) call it. :mod:`.quota` alone also
reads the rows of videos and uploads (:mod:`portal.library.models`,
:mod:`portal.uploads.models`), whose sizes make up a user's usage.
"""
