"""Deployment (issue 19): the files in ``deploy/`` that need no container to check. ``systemd-analyze verify`` reads
the systemd unit as systemd would (an unknown or misspelt directive, a bad value, a missing section is reported; its
ExecStart's venv is pointed at this Python, since /opt/widget-server does not exist here). The unit running under a
real systemd is in ``tests/test_container.py``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANALYZE = shutil.which("systemd-analyze")


def test_systemd_analyze_verifies_the_unit_without_a_word(tmp_path) -> None:
    assert ANALYZE is not None, "systemd-analyze is not installed: apt-get install -y systemd (.ci/run does)"
    unit = (ROOT / "deploy" / "widget-server.service").read_text()
    assert "ExecStart=/opt/widget-server/bin/python " in unit
    copy = tmp_path / "widget-server.service"
    copy.write_text(unit.replace("/opt/widget-server/bin/python", sys.executable))
    done = subprocess.run([ANALYZE, "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), done.stdout + done.stderr
    # the check itself catches a misspelt directive (systemd ignores it, with a warning, and exits 0)
    copy.write_text(unit.replace("/opt/widget-server/bin/python", sys.executable)
                    .replace("NoNewPrivileges=", "NoNewPrivilege="))
    bad = subprocess.run([ANALYZE, "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False)
    assert "Unknown key" in bad.stderr, bad.stderr
