"""Lint rules of Istio egress control (IST-28 … IST-36): the traps of the egress gateway pattern."""

from __future__ import annotations

from collections.abc import Iterable

from ..engine.flow import decide
from ..engine.mesh import membership
from ..engine.options import Mesh
from ..model import OutboundPolicy
from .egress import _cluster_service, outbound_policy, revision_of, sidecar_of
from .session import Analysis, resolve_peer, world_address


def _finding(code: str, message: str, kind: str, ns: str, name: str, file: str, line: int) -> tuple[str, str, str,
                                                                                                    str, str, str, int]:
    return code, message, kind, ns, name, file, line


def gateway_hosts(analysis: Analysis) -> list[tuple[str, str]]:
    """(host, VirtualService display) for every host a mesh route sends to an egress gateway's Service
    (IST-33)."""
    out: list[tuple[str, str]] = []
    gateways = {(g.ref.namespace, g.ref.name) for g in analysis.cluster.mesh.gateways}
    for vs in analysis.cluster.mesh.virtual_services:
        if vs.gateways and "mesh" not in vs.gateways:
            continue
        for r in vs.routes:
            if r.gateways is not None and "mesh" not in r.gateways:
                continue
            for d in r.destinations:
                svc = _cluster_service(analysis, d.host, vs.ref.namespace)
                if svc is not None and gateways and any(w.labels.get("istio") == "egressgateway"
                                                        for w in analysis.cluster.workloads_in(svc[0])):
                    out.extend((h, vs.ref.display) for h in vs.hosts)
    return sorted(set(out))


def egress_findings(analysis: Analysis) -> Iterable[tuple[str, str, str, str, str, str, int]]:
    """(code, message, kind, namespace, name, file, line) of each egress trap."""
    if analysis.options.mesh != Mesh.ISTIO:
        return
    cluster = analysis.cluster
    for se in cluster.mesh.service_entries:
        if "*" in se.hosts:  # IST-28: every host is in the registry: REGISTRY_ONLY refuses nothing
            yield _finding("service-entry-all-hosts", f"{se.ref.display} lists the host '*': every outside host is "
                           "in the registry, so REGISTRY_ONLY refuses nothing (IST-28, IST-30)", se.ref.kind,
                           se.ref.namespace, se.ref.name, se.ref.file, se.ref.line)
    names = {(g.ref.namespace, g.ref.name) for g in cluster.mesh.gateways}
    for vs in cluster.mesh.virtual_services:
        for g in vs.gateways:
            if g == "mesh":
                continue
            ns, _, name = g.rpartition("/")
            if (ns or vs.ref.namespace, name) not in names:  # IST-33: its routes for that Gateway do nothing
                yield _finding("virtual-service-gateway-missing", f"{vs.ref.display} is bound to Gateway {g}, which "
                               "is not in the input: its routes for that gateway apply nowhere (IST-33)",
                               vs.ref.kind, vs.ref.namespace, vs.ref.name, vs.ref.file, vs.ref.line)
    hosts = gateway_hosts(analysis)
    if not hosts:
        return
    world = world_address(analysis)
    for w in cluster.workloads:
        if membership(cluster, w)[0] != "sidecar" or w.host_network:
            continue
        policy, where, _ = outbound_policy(analysis, sidecar_of(analysis, w), revision_of(analysis, w))
        src = resolve_peer(analysis, w.id, "from")
        dst = resolve_peer(analysis, "world", "to")
        if decide(analysis.engine, src, dst, "TCP", 443).allowed:
            # IST-36: the sidecar routes the host to the gateway, but nothing stops the pod going straight out.
            yield _finding("egress-gateway-bypass", f"{w.id} has a sidecar that sends {hosts[0][0]} to the egress "
                           f"gateway ({hosts[0][1]}), but its CNI egress also lets it reach the internet directly "
                           f"({world}:443 is allowed): a process that skips the sidecar bypasses the gateway (IST-36)",
                           w.kind, w.namespace, w.name, w.origin.file, w.origin.line)
        if policy is OutboundPolicy.ALLOW_ANY:
            # IST-30: hosts with no ServiceEntry pass through the sidecar, not through the gateway.
            yield _finding("mesh-allow-any-with-egress-gateway", f"{w.id}: outboundTrafficPolicy ALLOW_ANY ({where}) "
                           f"while {hosts[0][1]} routes {hosts[0][0]} through the egress gateway: any host without a "
                           "ServiceEntry leaves through the sidecar directly, not through the gateway (IST-30)",
                           w.kind, w.namespace, w.name, w.origin.file, w.origin.line)

