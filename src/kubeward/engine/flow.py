"""The verdict for one flow, with its trace."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ir import MAX_PORT, MIN_PORT, Direction, PortMatch
from ..model import Workload
from .engine import Engine
from .evaluate import evaluate_side, resolve_ports
from .portset import ALL, PortSet
from .trace import Reason, Step
from .universe import Endpoint, Identity


@dataclass(frozen=True, slots=True)
class FlowEnd:
    """One end of a flow: the endpoint the engine reasons with, and how the user named it."""

    endpoint: Endpoint
    label: str
    workload: Workload | None = None
    address: str = ""


@dataclass(slots=True)
class FlowVerdict:
    source: FlowEnd
    destination: FlowEnd
    protocol: str | None  # None: every protocol
    port: int | None      # None: every port
    allowed_ports: PortSet
    steps: list[Step] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return bool(self.allowed_ports)

    @property
    def verdict(self) -> str:
        return "allow" if self.allowed else "deny"


def probe_of(protocol: str | None, port: int | None) -> PortSet:
    """The ports a question is about: one port, or every port of a protocol, or everything."""
    if port is not None:
        return PortSet.of(protocol or "TCP", port, port)
    if protocol is not None:
        return PortSet.of(protocol, MIN_PORT, MAX_PORT)
    return ALL


def decide(engine: Engine, source: FlowEnd, destination: FlowEnd, protocol: str | None,
           port: int | None) -> FlowVerdict:
    """Both the source's egress side and the destination's ingress side must allow (NP-5).
    Without a port, the answer is the set of ports allowed."""
    if port is not None and protocol is None:
        protocol = "TCP"
    probe = probe_of(protocol, port)
    steps: list[Step] = []
    src, dst = source.endpoint, destination.endpoint
    if source.workload is not None and source.workload is destination.workload and \
            source.workload.single_pod:
        # NP-7 / ANP-12: a pod can always reach itself.
        steps.append(Step("cni", Direction.EGRESS, source.label, "self", Reason.SELF, "allow",
                          f"{source.label} has a single pod: traffic to itself is always allowed (NP-7)"))
        return FlowVerdict(source, destination, protocol, port, probe, steps)
    dst_ports = dst.ports if isinstance(dst, Identity) else None

    def resolve(ports: tuple[PortMatch, ...] | None) -> PortSet:
        return resolve_ports(ports, dst_ports)

    if isinstance(src, Identity):
        side = engine.side(src, Direction.EGRESS)
        bit = 1 << dst.index
        egress = evaluate_side(side, lambda r: bool(engine.rule_mask(r) & bit), resolve, probe, steps,
                               source.label, destination.label)
    else:
        steps.append(Step("cni", Direction.EGRESS, source.label, "none", Reason.NOT_A_POD, "allow",
                          f"{source.label} is not a pod in the input: no egress policy applies"))
        egress = probe
    if isinstance(dst, Identity):
        side = engine.side(dst, Direction.INGRESS)
        bit = 1 << src.index
        ingress = evaluate_side(side, lambda r: bool(engine.rule_mask(r) & bit), resolve, probe, steps,
                                destination.label, source.label)
    else:
        steps.append(Step("cni", Direction.INGRESS, destination.label, "none", Reason.NOT_A_POD, "allow",
                          f"{destination.label} is not a pod in the input: no ingress policy applies"))
        ingress = probe
    return FlowVerdict(source, destination, protocol, port, egress & ingress, steps)
