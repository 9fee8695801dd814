"""Accounts: users, their roles and their API tokens; the rules of who may do what.

This package holds the rows (:mod:`.models`) and the service functions
(:mod:`.service`) that own every rule about accounts. Like every domain
package it speaks no HTTP: it may import :mod:`portal.extensions`,
:mod:`portal.errors` and the standard library, never a blueprint, a view or
:mod:`portal.http`. The doors (web, API, CLI) call it.
"""
