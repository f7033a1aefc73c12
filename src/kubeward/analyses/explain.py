"""`explain`: the verdict for one flow and the trace that produced it."""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.flow import FlowEnd, FlowVerdict, decide
from ..engine.trace import Reason, Step
from ..ir import Direction
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
    verdict.steps.extend(_other_pods(analysis, src, dst, protocol, port, verdict))
    return Explanation(verdict, analysis.options.describe())


def _other_pods(analysis: Analysis, src: FlowEnd, dst: FlowEnd, protocol: str | None, port: int | None,
                verdict: FlowVerdict) -> list[Step]:
    """Pods of one workload whose IPs fall into different ipBlocks can get different answers:
    say so, with the union (as the map shows it), rather than pick one pod silently."""
    u = analysis.engine.universe
    ends = []
    for end in (src, dst):
        idents = u.identities_of.get(end.workload.id, []) if end.workload and not end.address else []
        ends.append([FlowEnd(i, end.label, end.workload) for i in idents] or [end])
    if len(ends[0]) * len(ends[1]) == 1:
        return []
    differing = 0
    for s in ends[0]:
        for d in ends[1]:
            other = decide(analysis.engine, s, d, protocol, port)
            if other.allowed_ports != verdict.allowed_ports:
                differing += 1
                verdict.allowed_ports = verdict.allowed_ports | other.allowed_ports
    if not differing:
        return []
    return [Step("cni", Direction.EGRESS, src.label, "none", Reason.PODS_DIFFER, "none",
                 "the pods of these workloads have addresses in different ipBlocks and do not all get "
                 f"the same answer; shown: the union ({verdict.allowed_ports}). Name a pod IP with "
                 "--from/--to for one pod's answer")]
