"""Files, folders and standard input → objects. Only regular files are read, within a size limit
per file and in all; a folder is read recursively (hidden folders skipped, symlinked folders not
followed), its ``.yaml``, ``.yml`` and ``.json`` files in any case, in name order.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..diagnostics import Diagnostics
from .documents import load_text
from .values import RawObject

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"
MAX_FILE_BYTES = 32 * 1024 * 1024     # one file, or standard input
MAX_TOTAL_BYTES = 128 * 1024 * 1024   # every file of one run


def manifest_file(name: str) -> bool:
    """A file a folder contributes: ``.yaml``, ``.yml`` or ``.json``, in any case."""
    return name.lower().endswith(MANIFEST_SUFFIXES)


@dataclass(slots=True)
class _Budget:
    """The bytes read so far in one run, against MAX_TOTAL_BYTES."""

    used: int = 0


def _files_under(path: Path, diags: Diagnostics, display: Callable[[Path | str], str]) -> list[Path]:
    """The manifest files of a folder, recursively, in name order; hidden folders are skipped and
    symlinked folders are not followed (so a symlink loop cannot make the walk endless)."""
    found: list[Path] = []

    def unreadable(exc: OSError) -> None:
        diags.error("unreadable", f"cannot read this folder: {exc.strerror or exc}", display(exc.filename or path))

    for root, dirs, files in os.walk(path, onerror=unreadable):
        for d in sorted(dirs):
            if not d.startswith(".") and os.path.islink(os.path.join(root, d)):
                diags.info("not-followed", "a symlink to a folder: kubeward does not follow it",
                           display(Path(root) / d))
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not os.path.islink(os.path.join(root, d)))
        found.extend(Path(root) / f for f in sorted(files) if manifest_file(f))
    return found


def _read(path: Path, shown: str, diags: Diagnostics, budget: _Budget) -> str | None:
    """A regular file's text within the size limits, or None (and an error). The file is opened
    without blocking and checked after opening, so a FIFO or a device never stalls the run."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        _cannot_read(exc, shown, diags)
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            diags.error("not-a-regular-file", f"not a regular file ({_file_type(info.st_mode)}): kubeward reads "
                        "only regular files", shown)
            return None
        return _limited(handle.read(MAX_FILE_BYTES + 1), shown, diags, budget)


def _limited(data: bytes, shown: str, diags: Diagnostics, budget: _Budget) -> str | None:
    """Bytes read (at most MAX_FILE_BYTES + 1) as text, within the limits of a file and of the run."""
    if len(data) > MAX_FILE_BYTES:
        diags.error("too-large", f"more than {MAX_FILE_BYTES // 2 ** 20} MiB: kubeward does not read files this "
                    "large (split it)", shown)
        return None
    if budget.used + len(data) > MAX_TOTAL_BYTES:
        diags.error("too-large", f"not read: the input would pass {MAX_TOTAL_BYTES // 2 ** 20} MiB in all, "
                    "kubeward's limit for one run", shown)
        return None
    budget.used += len(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        diags.error("unreadable", f"cannot read: {exc}", shown)
        return None


def _cannot_read(exc: OSError, shown: str, diags: Diagnostics) -> None:
    if exc.errno == errno.ELOOP:
        diags.error("symlink-loop", "cannot read: a symlink loop (too many levels of symbolic links)", shown)
    else:
        diags.error("unreadable", f"cannot read: {exc.strerror or exc}", shown)


def _file_type(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "a special file"


def read_regular_file(path: str, diags: Diagnostics) -> str | None:
    """One regular file's text within the limits (a config file), or None with an error."""
    return _read(Path(path), path, diags, _Budget())




def _stdin(diags: Diagnostics, budget: _Budget) -> str | None:
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream without bytes (some test harnesses)
        return _limited(sys.stdin.read(MAX_FILE_BYTES + 1).encode("utf-8"), "<stdin>", diags, budget)
    return _limited(stream.read(MAX_FILE_BYTES + 1), "<stdin>", diags, budget)


def load_paths(paths: Iterable[str], diags: Diagnostics,
               shown_as: Callable[[str], str] | None = None) -> list[RawObject]:
    """Every object in the given files, folders (recursive) and ``-`` (stdin). ``shown_as``
    renames files in messages and file:line references (``diff --git`` shows ``PATH@REV/...``
    instead of a temporary folder). Only regular files are read, within the limits above."""
    def _display(path: Path | str) -> str:
        return shown_as(str(path)) if shown_as else str(path)

    budget = _Budget()
    objects: list[RawObject] = []
    for given in paths:
        if given == STDIN:
            text = _stdin(diags, budget)
            if text is not None:
                objects.extend(load_text(text, "<stdin>", diags))
            continue
        path = Path(given)
        try:
            mode = path.stat().st_mode
        except OSError as exc:
            if os.path.lexists(path):  # a broken symlink, a symlink loop, no permission
                _cannot_read(exc, _display(given), diags)
            else:
                diags.error("no-such-path", "no such file or folder", _display(given))
            continue
        if stat.S_ISDIR(mode):
            files = _files_under(path, diags, _display)
            if not files:
                diags.warning("no-manifests", "no .yaml, .yml or .json file in this folder", _display(given))
        else:
            files = [path]
        for file in files:
            text = _read(file, _display(file), diags, budget)
            if text is None:
                continue
            found = load_text(text, _display(file), diags)
            if not found and not diags.has_errors_in(_display(file)):
                # kubectl apply -f on such a file fails ("no objects passed to apply").
                message = "no Kubernetes object in this file"
                if stat.S_ISDIR(mode):
                    diags.warning("no-objects", message, _display(file))
                else:
                    diags.error("no-objects", message, _display(file))
            objects.extend(found)
    return objects
