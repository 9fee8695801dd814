"""The JSON API. Each version is a package with its own blueprint, registered side by side."""
