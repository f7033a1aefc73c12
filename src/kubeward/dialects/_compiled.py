"""Compiled schema validators, kept on disk between runs (issue 13: start-up time).

fastjsonschema turns a kind's schema into Python code that says yes or no to an object fast;
generating and compiling that code costs 2-130 ms a kind, and building the schema first reads the
upstream definitions. So each kind's validator is compiled once and kept, as a marshalled code
object, in the kubeward cache folder: ``$KUBEWARD_CACHE_DIR``, else ``$XDG_CACHE_HOME/kubeward``,
else ``~/.cache/kubeward``. The entries live in a folder named by a fingerprint of everything the
code depends on — kubeward's version and schema modules, the schema data files, fastjsonschema,
the Python version — so that an upgrade never reads a stale entry (folders no run has used for a
month are removed when a new one is made). A run whose objects are all valid then imports
neither jsonschema nor the schema data. ``KUBEWARD_CACHE_DIR=off``, or a folder kubeward
cannot write, keeps everything in memory (:mod:`kubeward.dialects.schema` then compiles only
where it pays within one run). In CI (``CI`` set) stored validators are used, but a validator
is compiled only where it pays within the run (and then stored): a fresh CI machine would pay
for compiling every kind at each run.

Entries are written to a temporary file and renamed, so concurrent runs never read half an entry;
an entry that does not load is compiled again.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import re
import sys
import zlib
from collections.abc import Callable
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from ._schemas import k8s_definitions_file

CACHE_ENV = "KUBEWARD_CACHE_DIR"
_NO_SCHEMA = b"no schema"
_IMPORT = re.compile(r"^from fastjsonschema import [^\n]*\n", re.M)

Validate = Callable[..., Any]


class Rejected(ValueError):
    """What a compiled validator raises for an object its schema refuses (it takes the place of
    fastjsonschema's exceptions, so that loading a validator does not import fastjsonschema)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args)


class NoSchema:
    """A stored answer: kubeward has no schema for this apiVersion and kind."""


NO_SCHEMA = NoSchema()


def cache_folder() -> Path | None:
    """The kubeward cache folder, or None when caching is off."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit is not None:
        return None if explicit.strip().lower() in ("", "off", "0", "no", "false") else Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kubeward"


def _stat(path: str | Path | None) -> str:
    try:
        found = os.stat(path) if path else None
    except OSError:
        found = None
    return f"{path}:{found.st_size}:{found.st_mtime_ns}" if found else f"{path}:-"


@cache
def _fingerprint() -> str:
    """What the compiled code depends on, as a short hash (file sizes and times: no file is read)."""
    from .. import __version__

    here = Path(__file__).resolve().parent
    parts = [__version__, sys.version, _stat(here / "_schemas.py"), _stat(here / "schema.py"), _stat(__file__)]
    parts += [_stat(path) for path in sorted((here.parent / "schemas").glob("*.json"))]
    for package in ("fastjsonschema", "kubernetes_validate"):
        spec = find_spec(package)
        parts.append(_stat(spec.origin if spec else None))
    parts.append(_stat(k8s_definitions_file()))
    return _digest("\n".join(parts))


def _digest(text: str) -> str:
    """A short, stable digest (zlib's two checksums: hashlib costs more to import than this saves)."""
    data = text.encode()
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}"


UNUSED_DAYS = 30  # a fingerprint folder no run has used for this long is removed


@cache
def _folder() -> Path | None:
    """This fingerprint's folder in the cache, made if need be; None when it cannot be written.
    Each run marks the folder it uses (its time); folders of other fingerprints (another version
    of kubeward, or of its schemas) that no run has used for UNUSED_DAYS are removed when a new
    one is made (two versions in use on one machine keep theirs)."""
    root = cache_folder()
    if root is None:
        return None
    folder = root / "validators" / _fingerprint()
    if folder.is_dir():
        with contextlib.suppress(OSError):
            os.utime(folder)
    else:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            return None
        _remove_unused(folder)
    return folder if _private(folder) else None


def _remove_unused(current: Path) -> None:
    import shutil
    import time

    for old in current.parent.iterdir():
        with contextlib.suppress(OSError):
            if old != current and time.time() - old.stat().st_mtime > UNUSED_DAYS * 86400:
                shutil.rmtree(old, ignore_errors=True)


def _private(folder: Path) -> bool:
    """Whether ``folder`` is the user's own and only theirs: its entries are code kubeward runs."""
    try:
        found = folder.stat()
    except OSError:
        return False
    owner = getattr(os, "getuid", None)
    if owner is not None and (found.st_uid != owner() or found.st_mode & 0o022):
        return False
    return os.access(folder, os.W_OK)


def available() -> bool:
    """Whether compiled validators are kept between runs."""
    return _folder() is not None


def compile_ahead() -> bool:
    """Whether a kind's validator is compiled on its first object, for the runs to come: when
    the cache is kept, except in CI (``CI`` set), whose machines seldom keep it — there a
    validator is compiled, and then kept, only once it pays within the run."""
    return available() and not os.environ.get("CI")


def _entry(api_version: str, kind: str) -> Path | None:
    folder = _folder()
    exact = _digest(f"{api_version}\n{kind}")
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{api_version}_{kind}")[:100]
    return None if folder is None else folder / f"{name}-{exact}.bin"


def load(api_version: str, kind: str) -> Validate | NoSchema | None:
    """The stored validator of this kind, NO_SCHEMA, or None when nothing usable is stored."""
    entry = _entry(api_version, kind)
    if entry is None:
        return None
    try:
        data = entry.read_bytes()
    except OSError:
        return None
    if data == _NO_SCHEMA:
        return NO_SCHEMA
    try:
        return _run(marshal.loads(data))
    except Exception:  # a damaged entry: compile again
        return None


def store_no_schema(api_version: str, kind: str) -> None:
    _write(_entry(api_version, kind), _NO_SCHEMA)


def load_bytes(name: str) -> bytes | None:
    """Another entry of the cache (``name``: a file name that says what it depends on)."""
    folder = _folder()
    try:
        return None if folder is None else (folder / name).read_bytes()
    except OSError:
        return None


def store_bytes(name: str, data: bytes) -> None:
    folder = _folder()
    _write(None if folder is None else folder / name, data)


def compile_validator(api_version: str, kind: str, document: dict[str, Any], formats: dict[str, Any]) -> Validate:
    """The compiled validator of ``document`` (called as ``validate(data)``; raises
    :class:`Rejected`), stored for the next runs when the cache is available."""
    import fastjsonschema

    source = fastjsonschema.compile_to_code(document, formats=formats, use_default=False, detailed_exceptions=False)
    code = compile(_IMPORT.sub("", source), f"<kubeward validator {api_version} {kind}>", "exec")
    _write(_entry(api_version, kind), marshal.dumps(code))
    return _run(code)


def _run(code: Any) -> Validate:
    from .schema import FORMAT_CHECKS

    namespace: dict[str, Any] = {"__name__": "kubeward.validator", "JsonSchemaValueException": Rejected,
                                 "JsonSchemaValuesException": Rejected}
    exec(code, namespace)
    validate = namespace["validate"]

    def checked(data: Any) -> Any:
        return validate(data, FORMAT_CHECKS)

    return checked


def _write(entry: Path | None, data: bytes) -> None:
    if entry is None:
        return
    import tempfile

    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, entry)
    except OSError:  # a full or read-only disk: the next run compiles again
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
