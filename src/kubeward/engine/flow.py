"""The verdict for one flow, with its trace."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field

from ..ir import MAX_PORT, MIN_PORT, Direction, L7Kind, PortMatch, Rule
from ..model import Workload
from .engine import Engine
from .evaluate import SideRules, evaluate_side, resolve_ports
from .l7 import HttpRequest, admitting_rule, l7_policy
from .mesh import evaluate_mesh
from .portset import ALL, EMPTY, PortSet
from .trace import Effect, Layer, Reason, Step, StepTier
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
           port: int | None, http: HttpRequest | None = None, client_tls: str | None = None) -> FlowVerdict:
    """Both the source's egress side and the destination's ingress side must allow (NP-5).
    Without a port, the answer is the set of ports allowed. On a port that Cilium HTTP rules
    govern, each side's proxy must also admit the request (CIL-15 … CIL-18)."""
    if port is not None and protocol is None:
        protocol = "TCP"
    probe = probe_of(protocol, port)
    steps: list[Step] = []
    src, dst = source.endpoint, destination.endpoint
    if source.workload is not None and source.workload is destination.workload and \
            source.workload.single_pod:
        # NP-7 / ANP-12: a pod can always reach itself.
        steps.append(Step(Layer.CNI, Direction.EGRESS, source.label, StepTier.SELF, Reason.SELF, Effect.ALLOW,
                          f"{source.label} has a single pod: traffic to itself is always allowed (NP-7)"))
        return FlowVerdict(source, destination, protocol, port, probe, steps)
    dst_ports = dst.ports if isinstance(dst, Identity) else None

    def resolve(ports: tuple[PortMatch, ...] | None) -> PortSet:
        return resolve_ports(ports, dst_ports)

    l7_checks: list[tuple[SideRules, Callable[[Rule], bool], str, str]] = []
    if isinstance(src, Identity):
        side = engine.side(src, Direction.EGRESS)
        bit = 1 << dst.index

        def egress_match(r: Rule) -> bool:
            return bool(engine.rule_mask(r) & bit)

        egress = evaluate_side(side, egress_match, resolve, probe, steps, source.label, destination.label)
        l7_checks.append((side, egress_match, source.label, destination.label))
    else:
        steps.append(Step(Layer.CNI, Direction.EGRESS, source.label, StepTier.NONE, Reason.NOT_A_POD, Effect.ALLOW,
                          f"{source.label} is not a pod in the input: no egress policy applies"))
        egress = probe
    if isinstance(dst, Identity):
        side = engine.side(dst, Direction.INGRESS)
        src_bit = 1 << src.index

        def ingress_match(r: Rule) -> bool:
            return bool(engine.rule_mask(r) & src_bit)

        ingress = evaluate_side(side, ingress_match, resolve, probe, steps, destination.label, source.label)
        l7_checks.append((side, ingress_match, destination.label, source.label))
    else:
        steps.append(Step(Layer.CNI, Direction.INGRESS, destination.label, StepTier.NONE, Reason.NOT_A_POD,
                          Effect.ALLOW,
                          f"{destination.label} is not a pod in the input: no ingress policy applies"))
        ingress = probe
    allowed = egress & ingress
    if allowed and port is not None:
        for side, match, subject, peer in l7_checks:
            if not _l7_allows(side, match, resolve, allowed, http, steps, subject, peer):
                allowed = EMPTY
                break
    if engine.options.mesh == "istio" and isinstance(dst, Identity) and protocol in (None, "TCP"):
        # Sidecars proxy TCP only: UDP and SCTP pass the mesh untouched.
        # Every layer shows its outcome, even after an earlier one denied.
        allowed = _mesh(engine, source, destination, port, http, steps, allowed, client_tls)
    return FlowVerdict(source, destination, protocol, port, allowed, steps)


def _mesh(engine: Engine, source: FlowEnd, destination: FlowEnd, port: int | None, http: HttpRequest | None,
          steps: list[Step], allowed: PortSet, client_tls: str | None = None) -> PortSet:
    """The mesh layer, ANDed with the CNI layer (IST-3 … IST-17)."""
    dst = destination.endpoint
    assert isinstance(dst, Identity)
    dst_workload = destination.workload or dst.workloads[0]
    src = source.endpoint
    src_workload = source.workload or (src.workloads[0] if isinstance(src, Identity) else None)
    # The client's own address (IST-25), as the map takes it: identical pods of several workloads
    # share an identity, whose first address may be another workload's.
    own = src_workload.pod_ips[0][0] if src_workload is not None and src_workload.pod_ips and \
        src_workload.pod_ips[0] else None
    address = source.address or own or (src.ips[0] if isinstance(src, Identity) and src.ips else None)
    if address is None and not isinstance(src, Identity) and hasattr(src, "first"):
        address = str(ipaddress.ip_address(src.first)) if getattr(src, "version", 4) == 4 else None
    if port is None:
        steps.append(Step(Layer.MESH, Direction.INGRESS, destination.label, StepTier.MESH, Reason.MESH_CONDITIONAL,
                          Effect.NONE,
                          "the mesh layer decides per port: give --port for its verdict"))
        return allowed
    verdict = evaluate_mesh(engine.cluster, engine.options, src_workload, address, dst_workload, port, http,
                            destination.label, client_tls)
    steps.extend(verdict.steps)
    return allowed if verdict.allowed else EMPTY


def _l7_allows(side: SideRules, match: Callable[[Rule], bool],
               resolve: Callable[[tuple[PortMatch, ...] | None], PortSet], probe: PortSet,
               http: HttpRequest | None, steps: list[Step], subject: str, peer: str) -> bool:
    if side.open or side.inert or side.host_network:
        return True
    policy = l7_policy(side, match, resolve, probe)
    if policy.rules is None:
        if any(r.l7 is not None and r.l7.kind is L7Kind.HTTP and resolve(r.ports) & probe
               for r in side.np_rules if match(r)):
            first = policy.sources[0] if policy.sources else None
            steps.append(Step(Layer.CNI, side.direction, subject, StepTier.L7, Reason.L7_UNRESTRICTED, Effect.ALLOW,
                              f"an L4-only allow covers {probe} "
                              f"{'to' if side.direction is Direction.EGRESS else 'from'} "
                              f"{peer}: the HTTP rules of the same port do not filter (CIL-18)",
                              first.policy if first else None, first.index if first else None, "",
                              first.line if first else 0))
        return True
    listed = "; ".join(str(r) for r in policy.rules)
    src_rule = policy.sources[0]
    if http is None:
        steps.append(Step(Layer.CNI, side.direction, subject, StepTier.L7, Reason.L7_ALLOWED, Effect.ALLOW,
                          f"HTTP rules govern {probe}: only these requests pass (full-match regexes, CIL-16): "
                          f"{listed}; others get 403 from the proxy (CIL-17)", src_rule.policy, src_rule.index, "",
                          src_rule.line))
        return True
    admitted = admitting_rule(policy, http)
    request = f"{http.method} {http.path}" + (f" (host {http.host})" if http.host else "")
    if admitted is not None:
        steps.append(Step(Layer.CNI, side.direction, subject, StepTier.L7, Reason.L7_ALLOWED, Effect.ALLOW,
                          f"{request} matches the HTTP rule {admitted} (CIL-15, CIL-16)", src_rule.policy,
                          src_rule.index, "", admitted.line or src_rule.line))
        return True
    steps.append(Step(Layer.CNI, side.direction, subject, StepTier.L7, Reason.L7_DENIED, Effect.DENY,
                      f"{request} matches none of the HTTP rules ({listed}): the proxy answers 403 Access denied "
                      "(CIL-16: regexes match the whole value; CIL-17)", src_rule.policy, src_rule.index, "",
                      src_rule.line))
    return False
