"""gunicorn reads this file from the folder it starts in (docs/deployment.md's command,
``gunicorn -k gevent -w 2 … 'app:create_app()'``, run from the project folder)."""
from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

# what a worker does with the app spec (``app:create_app()``), done once beforehand
_BUILD = "import sys; from gunicorn.util import import_app; import_app(sys.argv[1])"


def on_starting(server: Any) -> None:
    """Build the app once before any worker is forked, and stop on whatever stops it.

    Each worker builds its own app after the fork, once gevent has patched it. A bad setting
    then fails every worker at the same moment: its one line printed once per worker, and
    gunicorn, reaping the second failed worker while it halts for the first, dies on a
    traceback of its own (exit 1 instead of 4). The check runs in a fresh interpreter, since
    importing the app into this master would load ssl-using libraries before gevent can
    patch them in the workers; on success the workers build the app again.
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # the master's imports
    check = subprocess.run([sys.executable, "-c", _BUILD, server.app.app_uri], cwd=server.cfg.chdir, env=env,
                           check=False)
    if check.returncode:
        sys.exit(check.returncode)  # its line is on stderr already


def post_worker_init(worker: Any) -> None:
    """Each worker starts its verification processes once it has its app (app.py), and
    answers its parked long-polls at once on SIGTERM (exchange/http/graceful_stop.py)."""
    from app import warm_up_verification
    from exchange.http.graceful_stop import wake_polls_on_sigterm

    warm_up_verification(worker.wsgi)
    wake_polls_on_sigterm(worker)
