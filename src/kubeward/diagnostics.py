"""Diagnostics: what kubeward says about its input, with file:line.

Bad input never crashes the analysis and never passes silently: every problem becomes a
:class:`Diagnostic` with a stable code, a severity, the place in the input, and — where the
problem changes a verdict — which way the result may be wrong (``leans``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from .refs import ObjectRef


def escape(text: str) -> str:
    """Text from the input made safe for one line of a terminal or a CI log: every character that
    is not printable — newlines, escape sequences, other control characters, line separators,
    zero-width and bidirectional formatting characters — is written as its Python escape
    (``\\n``, ``\\x1b``, ``\\u202e``); the rest (letters of any script, spaces) is unchanged."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Leans(StrEnum):
    """Which way a result may be wrong because of a diagnostic."""

    MAY_ALLOW_MORE = "may allow more than shown"
    MAY_DENY_MORE = "may deny more than shown"
    EITHER = "may allow or deny more than shown"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem of the input. ``file``/``line`` locate the problem itself (a field, a rule);
    ``ref`` is the object it belongs to; a summary ("3 objects, first at …") has no ``ref`` and
    lists the objects it summarises in ``related``."""

    code: str
    severity: Severity
    message: str
    file: str = ""
    line: int = 0
    ref: ObjectRef | None = None
    leans: Leans | None = None
    related: tuple[ObjectRef, ...] = ()

    @property
    def resource(self) -> str:
        """The object as text, ``Kind ns/name`` ("" when the diagnostic is about no one object)."""
        return self.ref.display if self.ref is not None else ""

    @property
    def where(self) -> str:
        if not self.file:
            return "<input>"
        return f"{self.file}:{self.line}" if self.line else self.file

    def __str__(self) -> str:
        """One line, whatever the input's strings hold (they are escaped)."""
        what = f" [{self.resource}]" if self.resource else ""
        lean = f" ({self.leans.value})" if self.leans else ""
        return escape(f"{self.where}: {self.severity.value}: {self.code}: {self.message}{what}{lean}")

    def to_json(self) -> dict[str, object]:
        """The diagnostic as every command prints it in JSON (docs/json.md, "diagnostic")."""
        out: dict[str, object] = {"code": self.code, "severity": self.severity.value, "message": self.message,
                                  "file": self.file, "line": self.line}
        if self.ref is not None:
            out["resource"] = self.resource
        if self.leans:
            out["leans"] = self.leans.value
        return out


@dataclass(slots=True)
class Diagnostics:
    """An ordered collection of diagnostics; duplicates (same code, place and text) are kept once."""

    items: list[Diagnostic] = field(default_factory=list)
    _seen: set[tuple[str, str, int, str]] = field(default_factory=set)

    def add(
        self,
        code: str,
        severity: Severity,
        message: str,
        file: str = "",
        line: int = 0,
        ref: ObjectRef | None = None,
        leans: Leans | None = None,
        related: tuple[ObjectRef, ...] = (),
    ) -> None:
        key = (code, file, line, message)
        if key in self._seen:
            return
        self._seen.add(key)
        self.items.append(Diagnostic(code, severity, message, file, line, ref, leans, related))

    def error(self, code: str, message: str, file: str = "", line: int = 0, ref: ObjectRef | None = None,
              leans: Leans | None = None, related: tuple[ObjectRef, ...] = ()) -> None:
        self.add(code, Severity.ERROR, message, file, line, ref, leans, related)

    def warning(self, code: str, message: str, file: str = "", line: int = 0, ref: ObjectRef | None = None,
                leans: Leans | None = None, related: tuple[ObjectRef, ...] = ()) -> None:
        self.add(code, Severity.WARNING, message, file, line, ref, leans, related)

    def info(self, code: str, message: str, file: str = "", line: int = 0, ref: ObjectRef | None = None,
             related: tuple[ObjectRef, ...] = ()) -> None:
        self.add(code, Severity.INFO, message, file, line, ref, related=related)

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.items)

    def downgrade(self, objects: Iterable[ObjectRef], severity: Severity, note: str) -> None:
        """Lower the severity of the errors of some objects: e.g. input errors of policies the
        chosen CNI does not enforce. An object is matched by file, namespace and name, not kind:
        a dialect may give its policies another kind than the manifest's (Calico's NetworkPolicy
        is a CalicoNetworkPolicy)."""
        keys = {(o.file, o.namespace, o.name) for o in objects}
        for i, d in enumerate(self.items):
            if d.severity is Severity.ERROR and d.ref is not None and (d.file, d.ref.namespace, d.ref.name) in keys:
                self.items[i] = replace(d, severity=severity, message=f"{d.message} — {note}")

    def has_errors_in(self, file: str) -> bool:
        return any(d.severity is Severity.ERROR and d.file == file for d in self.items)

    @property
    def has_warnings(self) -> bool:
        return any(d.severity is Severity.WARNING for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
        return sorted(self.items, key=lambda d: (order[d.severity], d.file, d.line, d.code, d.message))
