"""A run of another PID namespace, as the cleanup of stale runs sees it: a process holding the lock
of a run name whose pid means nothing here (``os.kill(pid, 0)`` says no such process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
_HOLD = """
import sys, time
sys.path.insert(0, {src!r})
from kubeward.kernel.runlock import RunLock
lock = RunLock.claim(lambda n: sys.argv[1])
print(lock.name, flush=True)
time.sleep(120)
"""


def dead_pid() -> int:
    """A pid no process of this PID namespace has."""
    pid = int(Path("/proc/sys/kernel/pid_max").read_text()) - 1
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


def hold(name: str) -> subprocess.Popen[str]:
    """A child holding the lock of run ``name`` until it is killed."""
    child = subprocess.Popen([sys.executable, "-c", _HOLD.format(src=str(SRC)), name], stdout=subprocess.PIPE,
                             text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == name
    return child
