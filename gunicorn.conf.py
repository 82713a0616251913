"""gunicorn reads this file from the folder it starts in (docs/deployment.md's command,
``gunicorn -k gevent -w 2 … 'app:create_app()'``, run from the project folder)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
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
    _metrics_folder()


def _metrics_folder() -> None:
    """prometheus_client's multiprocess mode (exchange/adapters/metrics.py): each worker
    writes its values under ``PROMETHEUS_MULTIPROC_DIR``, inherited from this master (set
    before any worker imports the library); by default ``<data dir>/prometheus``. Emptied at
    start: files left by an earlier run's workers would be added to this run's counts."""
    from settings import Settings  # the settings were just checked: this cannot fail on them

    folder = Path(os.environ.get(MULTIPROC_ENV) or Settings.from_env().data_dir / "prometheus").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob("*.db"):
        leftover.unlink()
    os.environ[MULTIPROC_ENV] = str(folder)


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's live gauges (parked long-polls) leave the sum, even if it was killed.

    What ``prometheus_client.multiprocess.mark_process_dead`` does, by hand: importing the
    library here would load ``ssl`` into the master before gevent patches the workers forked
    after this one (see on_starting).
    """
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        for live_gauge in Path(folder).glob(f"gauge_live*_{worker.pid}.db"):
            live_gauge.unlink(missing_ok=True)


def post_worker_init(worker: Any) -> None:
    """Each worker logs in the configured format, starts its verification processes once it
    has its app (app.py), and answers its parked long-polls at once on SIGTERM
    (exchange/http/graceful_stop.py)."""
    from app import warm_up_verification
    from exchange.http import logs
    from exchange.http.graceful_stop import wake_polls_on_sigterm

    logs.configure(worker.wsgi.extensions["lienthong.settings"].log_format)  # the app's lines, text or JSON
    warm_up_verification(worker.wsgi)
    wake_polls_on_sigterm(worker)
