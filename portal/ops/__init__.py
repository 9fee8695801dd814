"""Running the portal: the process model, health, schema upgrades, moving libraries, the CLI.

May import every domain package; only :mod:`portal` (the factory) and
``wsgi.py`` import this one.
"""
