"""Diagnostics: what kubeward says about its input, with file:line.

Bad input never crashes the analysis and never passes silently: every problem becomes a
:class:`Diagnostic` with a stable code, a severity, the place in the input, and — where the
problem changes a verdict — which way the result may be wrong (``leans``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


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
    code: str
    severity: Severity
    message: str
    file: str = ""
    line: int = 0
    resource: str = ""
    leans: Leans | None = None

    @property
    def where(self) -> str:
        if not self.file:
            return "<input>"
        return f"{self.file}:{self.line}" if self.line else self.file

    def __str__(self) -> str:
        what = f" [{self.resource}]" if self.resource else ""
        lean = f" ({self.leans.value})" if self.leans else ""
        return f"{self.where}: {self.severity.value}: {self.code}: {self.message}{what}{lean}"


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
        resource: str = "",
        leans: Leans | None = None,
    ) -> None:
        key = (code, file, line, message)
        if key in self._seen:
            return
        self._seen.add(key)
        self.items.append(Diagnostic(code, severity, message, file, line, resource, leans))

    def error(self, code: str, message: str, file: str = "", line: int = 0, resource: str = "",
              leans: Leans | None = None) -> None:
        self.add(code, Severity.ERROR, message, file, line, resource, leans)

    def warning(self, code: str, message: str, file: str = "", line: int = 0, resource: str = "",
                leans: Leans | None = None) -> None:
        self.add(code, Severity.WARNING, message, file, line, resource, leans)

    def info(self, code: str, message: str, file: str = "", line: int = 0, resource: str = "") -> None:
        self.add(code, Severity.INFO, message, file, line, resource)

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.items)

    def downgrade(self, objects: set[tuple[str, str]], severity: Severity, note: str) -> None:
        """Lower the severity of the errors of some objects, given as (file, "ns/name"): e.g.
        input errors of policies the chosen CNI does not enforce."""
        for i, d in enumerate(self.items):
            if d.severity is Severity.ERROR and any(d.file == f and d.resource.endswith(" " + name)
                                                     for f, name in objects):
                self.items[i] = Diagnostic(d.code, severity, f"{d.message} — {note}", d.file, d.line, d.resource, d.leans)

    def has_errors_in(self, file: str) -> bool:
        return any(d.severity is Severity.ERROR and d.file == file for d in self.items)

    @property
    def has_warnings(self) -> bool:
        return any(d.severity is Severity.WARNING for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
        return sorted(self.items, key=lambda d: (order[d.severity], d.file, d.line, d.code, d.message))
