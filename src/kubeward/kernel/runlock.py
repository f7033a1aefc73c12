"""Which run owns a namespace or a pin: a lock file per run, held with ``flock`` while it lives.

A run's items (network namespaces ``kw<pid>x<run>-…``, pin folders ``kubeward_<pid>_<n>``) are
shared by every process that sees /var/run/netns or /sys/fs/bpf, containers included, and a pid
means nothing outside its PID namespace: ``os.kill(pid, 0)`` calls a live run of another container
dead. So each run holds an exclusive ``flock`` on ``LOCK_DIR/<name>.lock`` (directory 0700, file
0600) from before it creates anything until it has removed everything; the kernel drops the lock
when the process dies, even by SIGKILL. Another run treats the items as stale exactly when their
lock file exists and ``flock(LOCK_EX | LOCK_NB)`` succeeds, and removes them while holding it.

Items with no lock file (kubeward before locks) are removed on the old pid test only when that
test is sound: this process is in the initial PID namespace and no visible process is in another
one (every process of every PID namespace is visible from the initial one), so the pid is one of
ours. Otherwise they are left, with a debug note.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import count
from pathlib import Path

LOCK_DIR = Path("/run/kubeward/locks")
PROC_PID_INIT_INO = 0xEFFFFFFC  # the inode of the initial PID namespace (include/linux/proc_ns.h)
log = logging.getLogger(__name__)


class RunLock:
    """The lock of one run, held until :meth:`release` (or the process's death)."""

    def __init__(self, name: str, fd: int) -> None:
        self.name = name
        self._fd = fd

    @classmethod
    def claim(cls, name_of: Callable[[int], str], start: Iterator[int] | None = None) -> RunLock:
        """The first free name among ``name_of(n)`` for n of ``start`` (default 0, 1, …), locked. A
        name whose lock another process holds (the same pid in another PID namespace) is skipped."""
        LOCK_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        for n in start if start is not None else count():
            name = name_of(n)
            path = LOCK_DIR / f"{name}.lock"
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            if _lock(fd) and _same_file(fd, path):
                return cls(name, fd)
            os.close(fd)
        raise RuntimeError("no free run name")  # unreachable with an endless ``start``

    def release(self) -> None:
        """Remove the lock file, then drop the lock (call after the run's items are gone)."""
        if self._fd < 0:
            return
        (LOCK_DIR / f"{self.name}.lock").unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = -1


def _lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _same_file(fd: int, path: Path) -> bool:
    """The locked file is still the one at ``path`` (not unlinked by its owner or a cleaner meanwhile)."""
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


@contextmanager
def stale(name: str, pid: int) -> Iterator[bool]:
    """Whether the run ``name`` (whose name says ``pid``) is gone; while the block runs, its lock is
    held here, and after a True block the lock file is removed."""
    path = LOCK_DIR / f"{name}.lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        yield _legacy_dead(name, pid)
        return
    try:
        dead = _lock(fd) and _same_file(fd, path)
        yield dead
        if dead:
            path.unlink(missing_ok=True)
    finally:
        os.close(fd)


def _legacy_dead(name: str, pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        pass
    except PermissionError:
        return False
    else:
        return False
    if _pid_namespace_alone():
        return True
    log.debug("kubeward: %s has no lock file and pid %d is not ours to judge (another PID namespace may own it): "
              "left in place; remove it by hand if no run uses it", name, pid)
    return False


def _pid_namespace_alone() -> bool:
    """This process is in the initial PID namespace and sees no process in another one."""
    try:
        mine = os.stat("/proc/self/ns/pid").st_ino
        if mine != PROC_PID_INIT_INO:
            return False
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    if os.stat(f"/proc/{entry.name}/ns/pid").st_ino != mine:
                        return False
                except (FileNotFoundError, ProcessLookupError):
                    continue  # gone meanwhile
    except OSError:
        return False
    return True
