"""References to the objects of the input: what a diagnostic, a policy or a trace step is about."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """Which object something came from: a policy, an Ingress, a route, a Service, a workload."""

    kind: str
    namespace: str
    name: str
    file: str
    line: int
    api_version: str = ""

    @property
    def display(self) -> str:
        """``Kind ns/name``, or ``Kind name`` for an object without a namespace."""
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    @property
    def where(self) -> str:
        """``file:line`` (the file alone when the line is unknown)."""
        return f"{self.file}:{self.line}" if self.line else self.file
