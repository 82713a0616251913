"""``python -m client``: the same as the ``lienthong-client`` command."""
from client.cli import main

raise SystemExit(main())
