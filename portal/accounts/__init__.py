"""Accounts: users, their roles and their API tokens; the rules of who may do what.

This package holds the rows (:mod:`.models`) and the service functions
(:mod:`.service`) that own every rule about accounts. Like every domain
package it speaks no HTTP: it may import :mod:`portal.extensions`,
:mod:`portal.errors` and the standard library, never a blueprint, a view or
:mod:`portal.http`. The doors (web, API, CLI) call it. It sits below the library (a video has an
owner): nothing here imports :mod:`portal.library` or :mod:`portal.uploads`; a
user's usage, which adds up their videos and uploads, is :mod:`portal.uploads.quota`.
"""
