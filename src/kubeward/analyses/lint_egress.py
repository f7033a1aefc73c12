"""Lint rules of Istio egress control (IST-28 … IST-36): the traps of the egress gateway pattern."""

from __future__ import annotations

from collections.abc import Iterable

from ..engine.flow import decide
from ..engine.mesh import TLS_MODE_LABEL, applicable, membership
from ..engine.options import Mesh
from ..model import AuthorizationPolicy, OutboundPolicy
from .egress import (
    _cluster_service,
    client_tls,
    destination_rule_for,
    exported,
    outbound_policy,
    revision_of,
    sidecar_of,
)
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
    yield from identity_without_mtls(analysis)
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



def _identity_rules(p: AuthorizationPolicy) -> list[int]:
    """The rules of ``p`` that name a peer identity (IST-16: they need the mesh's mTLS)."""
    return [r.index for r in p.rules or () for src in r.sources or ()
            if any(getattr(src, f) for f in ("principals", "not_principals", "namespaces", "not_namespaces",
                                             "service_accounts", "not_service_accounts"))]


def identity_without_mtls(analysis: Analysis) -> Iterable[tuple[str, str, str, str, str, str, int]]:
    """IST-42: an AuthorizationPolicy of the egress gateway with identity rules, while the sidecars of
    some namespace send it plaintext (no ISTIO_MUTUAL DestinationRule, gateway pods without the
    tlsMode label): those rules never match them."""
    cluster = analysis.cluster
    client_ns = sorted({w.namespace for w in cluster.workloads if membership(cluster, w)[0] == "sidecar"})
    reported: set[str] = set()
    for vs in cluster.mesh.virtual_services:
        for r in vs.routes:
            if (r.gateways if r.gateways is not None else (vs.gateways or ("mesh",))).count("mesh") == 0:
                continue
            for d in r.destinations:
                svc = _cluster_service(analysis, d.host, vs.ref.namespace)
                port = d.port or r.port
                if svc is None or port is None:
                    continue
                pods = [w for w in cluster.workloads_in(svc[0]) if w.labels.get("istio") == "egressgateway"]
                if not pods or all(w.labels.get(TLS_MODE_LABEL) == "istio" for w in pods):
                    continue
                fqdn = f"{svc[1]}.{svc[0]}.svc.cluster.local"
                for ns in client_ns:
                    if not exported(vs.export_to, vs.ref.namespace, ns):
                        continue
                    dr = destination_rule_for(analysis, ns, fqdn, svc[0])
                    tls = client_tls(dr, d.subset, port) if dr is not None else None
                    if tls is not None and tls.mode == "ISTIO_MUTUAL":
                        continue
                    policies = {p.ref.display: p for w in pods for p in applicable(cluster, analysis.options, w)}
                    for p in policies.values():
                        rules = _identity_rules(p)
                        if not rules or p.ref.display in reported:
                            continue
                        reported.add(p.ref.display)
                        how = f"{dr.ref.display} sets TLS {tls.mode}" if dr is not None and tls is not None else \
                            "no DestinationRule sets ISTIO_MUTUAL, and auto mTLS sends plaintext to gateway pods"
                        yield _finding("egress-gateway-identity-without-mtls", f"{p.ref.display} rule(s) "
                                       f"{', '.join(map(str, rules))} match clients by identity, but the sidecars of "
                                       f"{ns} reach the egress gateway ({vs.ref.display} → {svc[0]}/{svc[1]}:{port}) "
                                       f"without the mesh's mTLS ({how}): the gateway knows no identity and those "
                                       "rules never match them (IST-42, IST-16)", p.ref.kind, p.ref.namespace,
                                       p.ref.name, p.ref.file, p.ref.line)
