"""`explain`: the verdict for one flow and the trace that produced it."""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.flow import FlowEnd, FlowVerdict, decide
from ..errors import UsageError
from ..ir import PROTOCOLS
from ..engine.engine import Engine
from .session import Analysis, is_domain, resolve_peer


@dataclass(slots=True)
class Explanation:
    verdict: FlowVerdict
    options: list[str]

    @property
    def allowed(self) -> bool:
        return self.verdict.allowed

    def to_json(self) -> dict[str, object]:
        v = self.verdict
        return {
            "schema": 1,
            "verdict": v.verdict,
            "flow": {
                "from": _end_json(v.source),
                "to": _end_json(v.destination),
                "protocol": v.protocol,
                "port": v.port,
            },
            "allowedPorts": v.allowed_ports.to_json(),
            "options": self.options,
            "trace": [s.to_json() for s in v.steps],
        }


def _end_json(end: FlowEnd) -> dict[str, object]:
    kind = end.endpoint.kind
    out: dict[str, object] = {"peer": end.label, "type": "workload" if kind == "identity" else kind}
    if end.workload is not None:
        out.update(id=end.workload.id, namespace=end.workload.namespace, name=end.workload.name,
                   kind=end.workload.kind)
    else:
        out["id"] = end.endpoint.display
    if end.address:
        out["address"] = end.address
    return out


def explain(analysis: Analysis, source: str, destination: str, port: int | None = None,
            protocol: str | None = None) -> Explanation:
    """The verdict for one flow. ``port`` None: which ports are allowed (of ``protocol``, or of
    every protocol); ``protocol`` None with a port: TCP."""
    if protocol is not None:
        protocol = protocol.upper()
        if protocol not in PROTOCOLS:
            raise UsageError(f"--protocol {protocol}: expected one of {', '.join(PROTOCOLS)}")
    if port is not None and not 1 <= port <= 65535:
        raise UsageError(f"--port {port}: expected 1-65535")
    wanted = [p.lower().rstrip(".") for p in (source, destination) if is_domain(p)]
    if any(analysis.engine.universe.domain(name) is None for name in wanted):
        # A DNS name no policy names: bind the policies again with it in the universe.
        engine = Engine(analysis.cluster, analysis.options, wanted)
        analysis = Analysis(analysis.objects, analysis.cluster, engine)
    src = resolve_peer(analysis, source, "from")
    dst = resolve_peer(analysis, destination, "to")
    verdict = decide(analysis.engine, src, dst, protocol, port)
    return Explanation(verdict, analysis.options.describe())
