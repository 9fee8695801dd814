"""portal-client: the portal's API from the command line (``portal-client --help``)."""
