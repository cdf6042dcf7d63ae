"""The data directory holds what must stay private: ``credentials.json`` (the owner's password and the personal access
tokens) and the embedded Valkey's AOF and snapshot (which hold every secret and every chat). It is made 0700 and its
files 0600, and a directory an earlier version left readable to others is tightened at start. The embedded
valkey-server is started under umask 077 (``start_embedded``), so the files it writes later are private too."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def private_dir(path: str | Path) -> Path:
    """``path`` created (with its parents) or tightened: the directory and the ones below it 0700, its files 0600."""
    path = Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    for root, dirs, files in os.walk(path):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o700)
        for name in files:
            file = os.path.join(root, name)
            mode = os.lstat(file).st_mode
            if stat.S_ISREG(mode) and stat.S_IMODE(mode) & 0o077:
                os.chmod(file, 0o600)
    return path
