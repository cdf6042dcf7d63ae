"""What the CLI prepares before granian starts the workers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..datadir import private_dir


def prepare_metrics_dir(data_dir: str) -> None:
    """Called last before granian starts the workers. Point prometheus-client's multiprocess mode at ``<data dir>/metrics``, emptied: the files of a previous run's
    workers would otherwise be summed into this run's counters. An operator's own ``PROMETHEUS_MULTIPROC_DIR`` wins
    (it is emptied all the same: it is this server's)."""
    own = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    path = Path(own) if own else private_dir(data_dir) / "metrics"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    # prometheus-client creates the workers' files with the process's umask, and every file in the data dir is the
    # owner's alone (``datadir.py``): the workers forked after this write nothing anyone else must read (the widget
    # is built and the embedded Valkey started before it)
    os.umask(0o077)
