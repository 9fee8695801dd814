"""``python -m portal_client``: the same as the ``portal-client`` command."""

from portal_client.cli import main

raise SystemExit(main())
