"""The mesh hop of a flow from a pod to an outside name (IST-28 … IST-36).

A pod with a sidecar sends traffic for a host through its proxy: the proxy knows the host from a
ServiceEntry (IST-28) that its Sidecar lets it see (IST-29), or it does not, and then the outbound
policy decides (IST-30): ALLOW_ANY passes it through as addressed, REGISTRY_ONLY sends it to the
BlackHoleCluster (502 for HTTP, a reset for TCP). A VirtualService for the host (IST-33) may send it
to the egress gateway's Service: the flow then goes sidecar → gateway pod (the CNI policies of both
sides, the gateway's AuthorizationPolicy, IST-35) → the gateway's server for the host (IST-32) →
its VirtualService route → the outside address (the gateway pod's CNI egress). A pod without a
sidecar bypasses all of this: the CNI alone decides (IST-36).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from ..engine.flow import FlowEnd, FlowVerdict, decide, probe_of
from ..engine.l7 import HttpRequest
from ..engine.mesh import REVISION, TLS_MODE_LABEL, membership
from ..engine.options import Mesh, MeshOutbound
from ..engine.portset import EMPTY, PortSet
from ..engine.services import find_service
from ..engine.trace import Effect, Layer, Reason, Step, StepTier
from ..ir import Direction, PolicyRef
from ..model import (
    ClientTls,
    DestinationRule,
    IstioGateway,
    IstioServer,
    ObjectRef,
    OutboundPolicy,
    RouteDestination,
    ServiceEntry,
    SidecarConfig,
    TlsPolicy,
    VirtualService,
    Workload,
)
from .entry import EntryPath, to_backends
from .session import Analysis, is_ip, resolve_peer

if TYPE_CHECKING:
    from .connectivity_map import Connection

_HTTP = ("HTTP", "HTTP2", "GRPC", "GRPC-WEB")
_TLS = ("HTTPS", "TLS")


def host_matches(pattern: str, host: str) -> bool:
    """IST-28: ``*`` any host, ``*.example.com`` any name under it, else the exact name."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return pattern == host


def exported(export_to: tuple[str, ...], owner: str, namespace: str) -> bool:
    """IST-28: ``exportTo`` absent or ``*``: every namespace; ``.``: its own; ``~``: none."""
    if not export_to or "*" in export_to:
        return True
    return (namespace == owner and "." in export_to) or namespace in export_to


def sidecar_of(analysis: Analysis, w: Workload) -> SidecarConfig | None:
    """IST-29: the Sidecar whose workloadSelector picks the pod, else its namespace's default
    Sidecar, else the root namespace's."""
    sidecars = analysis.cluster.mesh.sidecars
    for candidates in ([s for s in sidecars if s.ref.namespace == w.namespace and s.selector is not None
                        and s.selector.matches(w.labels)],
                       [s for s in sidecars if s.ref.namespace == w.namespace and s.selector is None],
                       [s for s in sidecars if s.ref.namespace == analysis.options.root_namespace
                        and s.selector is None]):
        if candidates:
            return sorted(candidates, key=lambda s: s.ref.name)[0]
    return None


def sidecar_sees(sidecar: SidecarConfig, namespace: str, host: str, port: int) -> bool:
    """IST-29: whether an egress listener's ``namespace/dnsName`` hosts include a host of ``namespace``."""
    if not sidecar.egress:
        return True
    for listener in sidecar.egress:
        if listener.port is not None and listener.port != port:
            continue
        for entry in listener.hosts:
            ns, _, name = entry.partition("/")
            ns_ok = ns == "*" or (ns == "." and namespace == sidecar.ref.namespace) or ns == namespace
            if ns_ok and host_matches(name, host):
                return True
    return False


def revision_of(analysis: Analysis, w: Workload) -> str:
    """IST-50: the control-plane revision that injected the pod's sidecar: the default one ("") for a
    namespace labelled ``istio-injection=enabled``, else the pod's ``istio.io/rev`` label, else its
    namespace's; ``default`` is the default revision."""
    ns = analysis.cluster.namespaces.get(w.namespace)
    labels = ns.labels if ns else {}
    if labels.get("istio-injection") == "enabled":
        return ""
    rev = w.labels.get(REVISION) or labels.get(REVISION) or ""
    return "" if rev == "default" else rev


def outbound_policy(analysis: Analysis, sidecar: SidecarConfig | None,
                    revision: str = "") -> tuple[OutboundPolicy, str, ObjectRef | None]:
    """IST-30: the Sidecar's own policy, else --mesh-outbound, else the root namespace's ConfigMap
    of the pod's revision (``istio``, or ``istio-<revision>``, IST-50), else ALLOW_ANY."""
    if sidecar is not None and sidecar.outbound is not None:
        return sidecar.outbound, f"{sidecar.ref.display}", sidecar.ref
    option = analysis.options.mesh_outbound
    if option is not None:
        policy = OutboundPolicy.REGISTRY_ONLY if option is MeshOutbound.REGISTRY_ONLY else OutboundPolicy.ALLOW_ANY
        return policy, f"--mesh-outbound {option}", None
    found = analysis.cluster.mesh.outbound.get((analysis.options.root_namespace, revision))
    if found is not None:
        return found[0], f"{found[1].kind} {found[1].namespace}/{found[1].name} (meshConfig)", found[1]
    if revision:
        return (OutboundPolicy.ALLOW_ANY, f"Istio's default: revision {revision}'s ConfigMap "
                f"{analysis.options.root_namespace}/istio-{revision} is not in the input (IST-50)", None)
    return OutboundPolicy.ALLOW_ANY, "Istio's default", None


def service_entry_for(analysis: Analysis, namespace: str, host: str) -> ServiceEntry | None:
    """IST-28: a ServiceEntry exported to ``namespace`` that names ``host``, exact names first."""
    found = [se for se in analysis.cluster.mesh.service_entries
             if exported(se.export_to, se.ref.namespace, namespace) and any(host_matches(h, host) for h in se.hosts)]
    return min(found, key=lambda se: (host.lower() not in se.hosts, se.ref.namespace, se.ref.name), default=None)


def endpoint_names(analysis: Analysis, host: str) -> list[str]:
    """IST-47: the DNS names among the endpoints of the ServiceEntries that name ``host`` (the proxy
    connects to them, so the CNI's FQDN rules see them)."""
    return sorted({ep.address for se in analysis.cluster.mesh.service_entries
                   if any(host_matches(h, host) for h in se.hosts)
                   for ep in se.endpoints if not is_ip(ep.address)})


def _protocol(se: ServiceEntry, port: int, http: HttpRequest | None) -> str:
    for number, protocol, _ in se.ports:
        if number == port:
            return "http" if protocol in _HTTP else "tls" if protocol in _TLS else "tcp"
    return "http" if http is not None else "tls" if port == 443 else "tcp"


def _bound(vs: VirtualService, gateway: str) -> bool:
    """IST-33: a VirtualService without ``gateways`` applies to the sidecars (``mesh``) only."""
    gateways = vs.gateways or ("mesh",)
    if gateway == "mesh":
        return "mesh" in gateways
    ns, _, name = gateway.partition("/")
    return any(g == gateway or (g == name and vs.ref.namespace == ns) for g in gateways)


def route_for(analysis: Analysis, namespace: str, gateway: str, host: str, port: int,
              protocol: str, sni: str | None = None) -> tuple[VirtualService, tuple[RouteDestination, ...], int] | None:
    """IST-33: the first route of a VirtualService bound to ``gateway`` (``mesh``: the sidecars)
    whose match takes the request: ``sniHosts`` for TLS (against ``sni``, the host's own name
    unless a DestinationRule set another, IST-45), ``authority`` for HTTP, ``port``, and the
    match's own ``gateways``."""
    sni = host if sni is None else sni
    for vs in analysis.cluster.mesh.virtual_services:
        if not exported(vs.export_to, vs.ref.namespace, namespace):
            continue  # IST-48: the sidecars of ``namespace``, or the gateway proxy's own namespace
        if not any(host_matches(h, host) for h in vs.hosts):
            continue
        for r in vs.routes:
            if r.protocol != protocol:
                continue
            if r.gateways is not None:
                if not _bound(VirtualService(vs.ref, vs.hosts, r.gateways, (), ()), gateway):
                    continue
            elif not _bound(vs, gateway):
                continue
            if r.port is not None and r.port != port:
                continue
            if r.protocol == "tls" and not any(host_matches(h, sni) for h in r.sni_hosts):
                continue  # IST-45: a tls route matches on the SNI only (sniHosts is required)
            if r.authorities and not any(_authority(a, host) for a in r.authorities):
                continue
            return vs, r.destinations, r.line
    return None


def _authority(match: str, host: str) -> bool:
    how, _, value = match.partition(":")
    return host == value if how == "exact" else host.startswith(value) if how == "prefix" else True


def _cluster_service(analysis: Analysis, host: str, namespace: str) -> tuple[str, str] | None:
    """A destination host that names a Service: ``name`` (the VirtualService's namespace),
    ``name.ns``, ``name.ns.svc``, ``name.ns.svc.cluster.local``."""
    parts = host.split(".")
    if len(parts) == 1:
        ns, name = namespace, parts[0]
    elif len(parts) == 2 or (len(parts) >= 3 and parts[2] == "svc"):
        ns, name = parts[1], parts[0]
    else:
        return None
    return (ns, name) if find_service(analysis.cluster, ns, name) is not None else None


def gateways_on(analysis: Analysis, w: Workload) -> list[IstioGateway]:
    """IST-32: the Istio Gateways whose selector picks this pod (in any namespace)."""
    return [g for g in analysis.cluster.mesh.gateways
            if g.selector and all(w.labels.get(k) == v for k, v in g.selector.items())]


class _Trace:
    def __init__(self, subject: str) -> None:
        self.steps: list[Step] = []
        self.subject = subject

    def add(self, reason: Reason, effect: Effect, message: str, ref: ObjectRef | None = None, line: int = 0,
            subject: str = "") -> None:
        policy = PolicyRef(ref.kind, ref.namespace, ref.name, ref.file, line or ref.line) if ref else None
        self.steps.append(Step(Layer.MESH, Direction.EGRESS, subject or self.subject, StepTier.MESH, reason, effect,
                               message, policy, None, "", line or (ref.line if ref else 0)))


def mesh_egress(analysis: Analysis, src: FlowEnd, dst: FlowEnd, host: str, port: int,
                http: HttpRequest | None) -> FlowVerdict | None:
    """The flow from a pod to an outside name through the mesh, or None when the mesh layer is
    off or the source is not a pod."""
    if analysis.options.mesh != Mesh.ISTIO or src.workload is None:
        return None
    w = src.workload
    t = _Trace(src.label)
    kind, why = membership(analysis.cluster, w)
    if kind != "sidecar":
        # IST-36: the egress controls live in the sidecar; without one, traffic leaves as addressed.
        t.add(Reason.MESH_BYPASS, Effect.NONE, f"{w.id} has no sidecar ({why}): the mesh's egress controls "
              "(ServiceEntry, outboundTrafficPolicy, the egress gateway) do not apply; the CNI alone decides (IST-36)")
        return _out(analysis, src, dst, port, t, "TCP")
    sidecar = sidecar_of(analysis, w)
    policy, where, policy_ref = outbound_policy(analysis, sidecar, revision_of(analysis, w))
    se = service_entry_for(analysis, w.namespace, host)
    hidden = se is not None and sidecar is not None and not sidecar_sees(sidecar, se.ref.namespace, host, port)
    if se is None or hidden:
        unknown = (f"{sidecar.ref.display} does not import it (its egress hosts leave out "
                   f"{se.ref.namespace}/{host}, IST-29)" if hidden and sidecar is not None and se is not None
                   else f"no ServiceEntry exported to {w.namespace} names {host} (IST-28)")
        if policy is OutboundPolicy.REGISTRY_ONLY:
            t.add(Reason.MESH_BLACKHOLE, Effect.DENY, f"the sidecar of {w.id} does not know {host}: {unknown}; "
                  f"outboundTrafficPolicy REGISTRY_ONLY ({where}) sends it to the BlackHoleCluster: 502 for HTTP, "
                  "the connection reset for TCP (IST-30)", (sidecar.ref if hidden and sidecar else policy_ref))
            return FlowVerdict(src, dst, "TCP", port, EMPTY, t.steps)
        t.add(Reason.MESH_OUTBOUND, Effect.ALLOW, f"the sidecar of {w.id} does not know {host}: {unknown}; "
              f"outboundTrafficPolicy ALLOW_ANY ({where}) passes it through as addressed (PassthroughCluster, "
              "IST-30)", policy_ref)
        return _out(analysis, src, dst, port, t, "TCP")
    t.add(Reason.MESH_OUTBOUND, Effect.ALLOW, f"{se.ref.display} adds {host} to the mesh "
          f"({se.location}, resolution {se.resolution}) for {w.namespace} (IST-28); outboundTrafficPolicy "
          f"{policy} ({where})", se.ref)
    protocol = _protocol(se, port, http)
    found = route_for(analysis, w.namespace, "mesh", host, port, protocol)
    if found is None:
        t.add(Reason.MESH_EGRESS_ROUTE, Effect.ALLOW, f"no VirtualService routes {host}:{port} ({protocol}) for the "
              "sidecars: the sidecar sends it straight out (IST-33)")
        return _leave(analysis, src, dst, host, port, t, se)
    vs, destinations, line = found
    outcomes = [_destination(analysis, src, dst, host, port, http, protocol, t, vs, d, line, "mesh")
                for d in destinations]
    allowed = any(outcomes)
    if allowed and not all(outcomes):
        # IST-33: a weighted split sends each connection to one destination: only a share gets through.
        share = sum(d.weight for d, ok in zip(destinations, outcomes, strict=True) if ok)
        t.add(Reason.MESH_EGRESS_ROUTE, Effect.WARN, f"{vs.ref.display} splits {host} between destinations and only "
              f"some let it out (weight {share} of {sum(d.weight for d in destinations)}): shown as allowed, but "
              "the other connections fail", vs.ref, line)
    if not destinations:
        t.add(Reason.MESH_EGRESS_ROUTE, Effect.DENY, f"{vs.ref.display} has a route for {host} "
              "without destination (IST-33)", vs.ref, line)
    return FlowVerdict(src, dst, "TCP", port, probe_of("TCP", port) if allowed else EMPTY, t.steps)


def _fqdn(host: str, namespace: str) -> str:
    """A DestinationRule's or route's short name is a Service of its own namespace."""
    return host if "." in host or host == "*" else f"{host}.{namespace}.svc.cluster.local"


def destination_rule_for(analysis: Analysis, proxy_ns: str, hostname: str, host_ns: str) -> DestinationRule | None:
    """IST-43: the DestinationRule a proxy of ``proxy_ns`` applies to ``hostname``: one of its own
    namespace, else one exported by the host's namespace (the Service's or the ServiceEntry's),
    else one exported by the root namespace; in each, an exact host before a wildcard."""
    rules = analysis.cluster.mesh.destination_rules
    for ns in dict.fromkeys((proxy_ns, host_ns, analysis.options.root_namespace)):
        found = [dr for dr in rules if dr.ref.namespace == ns and exported(dr.export_to, ns, proxy_ns)
                 and host_matches(_fqdn(dr.host, ns), hostname)]
        if found:
            return min(found, key=lambda dr: ("*" in dr.host, dr.ref.name))
    return None


def client_tls(dr: DestinationRule, subset: str, port: int) -> ClientTls | None:
    """IST-42: the ``tls`` a client proxy uses towards ``port``: a port-level entry replaces its
    policy's ``tls``; a subset's trafficPolicy replaces the rule's when it sets ``tls`` or has an
    entry for the port."""
    def at_port(policy: TlsPolicy | None) -> tuple[ClientTls | None, bool]:
        if policy is None:
            return None, False
        return (policy.ports[port], True) if port in policy.ports else (policy.tls, False)

    original, _ = at_port(dr.policy)
    sub = dr.subset_policies.get(subset) if subset else None
    if sub is None:
        return original
    sub_tls, port_level = at_port(sub)
    return sub_tls if dr.policy is None or sub_tls is not None or port_level else original


def _in_cidr(address: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def mesh_egress_address(analysis: Analysis, src: FlowEnd, dst: FlowEnd, address: str, port: int) -> FlowVerdict | None:
    """IST-49: a flow from a pod with a sidecar to an IP address outside the cluster. A ServiceEntry
    exported to the pod's namespace whose ``addresses`` (IPs or CIDRs) hold the address and whose
    ports include the port makes it known to the sidecar; else the outbound policy decides (IST-30).
    None: the mesh layer is off, the source has no sidecar, or the address is a Service's."""
    if analysis.options.mesh != Mesh.ISTIO or src.workload is None:
        return None
    w = src.workload
    if membership(analysis.cluster, w)[0] != "sidecar" or any(
            svc.cluster_ip == address for svc in analysis.cluster.services):
        return None
    t = _Trace(src.label)
    sidecar = sidecar_of(analysis, w)
    policy, where, policy_ref = outbound_policy(analysis, sidecar, revision_of(analysis, w))
    found = [se for se in analysis.cluster.mesh.service_entries
             if exported(se.export_to, se.ref.namespace, w.namespace)
             and any(_in_cidr(address, a) for a in se.addresses) and any(n == port for n, _, _ in se.ports)
             and (sidecar is None or not se.hosts or sidecar_sees(sidecar, se.ref.namespace, se.hosts[0], port))]
    se = min(found, key=lambda e: (e.ref.namespace, e.ref.name), default=None)
    if se is None:
        unknown = f"no ServiceEntry exported to {w.namespace} lists {address} in its addresses with port {port}"
        if policy is OutboundPolicy.REGISTRY_ONLY:
            t.add(Reason.MESH_BLACKHOLE, Effect.DENY, f"the sidecar of {w.id} does not know {address}: {unknown}; "
                  f"outboundTrafficPolicy REGISTRY_ONLY ({where}) sends it to the BlackHoleCluster (IST-30, IST-49)",
                  policy_ref)
            return FlowVerdict(src, dst, "TCP", port, EMPTY, t.steps)
        t.add(Reason.MESH_OUTBOUND, Effect.ALLOW, f"the sidecar of {w.id} does not know {address}: {unknown}; "
              f"outboundTrafficPolicy ALLOW_ANY ({where}) passes it through (IST-30, IST-49)", policy_ref)
        return _out(analysis, src, dst, port, t, "TCP")
    t.add(Reason.MESH_OUTBOUND, Effect.ALLOW, f"{se.ref.display} lists {address} in its addresses "
          f"({', '.join(se.addresses)}) with port {port}: the sidecar knows it (IST-49); outboundTrafficPolicy "
          f"{policy} ({where})", se.ref)
    return _leave(analysis, src, dst, se.hosts[0] if se.hosts else address, port, t, se)


def _destination(analysis: Analysis, src: FlowEnd, dst: FlowEnd, host: str, port: int, http: HttpRequest | None,
                 protocol: str, t: _Trace, vs: VirtualService, d: RouteDestination, line: int, at: str) -> bool:
    weight = f" (weight {d.weight})" if d.weight else ""
    out_port = d.port or port
    if host_matches(d.host, host) or host_matches(host, d.host):
        t.add(Reason.MESH_EGRESS_ROUTE, Effect.ALLOW, f"{vs.ref.display} ({at}) routes {host} to "
              f"{d.host}:{out_port}{weight}: out of the mesh (IST-33)", vs.ref, line)
        assert src.workload is not None
        _originate(analysis, t, src.workload, host, d.subset, out_port, protocol, src.label)
        return _leave(analysis, src, dst, host, out_port, t,
                      service_entry_for(analysis, src.workload.namespace, host)).allowed
    svc = _cluster_service(analysis, d.host, vs.ref.namespace)
    if svc is None or at != "mesh":
        t.add(Reason.MESH_EGRESS_ROUTE, Effect.DENY, f"{vs.ref.display} ({at}) routes {host} to "
              f"{d.host}, which is neither {host} nor a Service in the input: no upstream, 503 (IST-33)", vs.ref, line)
        return False
    service = find_service(analysis.cluster, *svc)
    assert service is not None and src.workload is not None
    t.add(Reason.MESH_EGRESS_ROUTE, Effect.ALLOW, f"{vs.ref.display} (mesh) routes {host} to Service "
          f"{service.namespace}/{service.name}:{out_port}{weight}, the egress gateway (IST-33)", vs.ref, line)
    fqdn = f"{service.name}.{service.namespace}.svc.cluster.local"
    dr = destination_rule_for(analysis, src.workload.namespace, fqdn, service.namespace)
    labels = _subset(t, d, dr, service.namespace, service.name)
    if labels is None:
        return False
    ctls = client_tls(dr, d.subset, out_port) if dr is not None else None
    if ctls is not None and dr is not None:
        t.add(Reason.MESH_TLS, Effect.ALLOW, f"{dr.ref.display} sets the client TLS towards {fqdn}:{out_port}: "
              f"{ctls.mode}" + (f", SNI {ctls.sni}" if ctls.sni else "") + " (IST-42)", dr.ref, ctls.line)
    # IST-35: sidecar → gateway pod: both sides' CNI policies and the gateway's AuthorizationPolicy,
    # which sees the client's identity only over Istio mTLS (IST-42).
    path = EntryPath({"kind": "Service", "namespace": service.namespace, "name": service.name, "port": out_port})
    gateway_http = HttpRequest(http.method, http.path, host, http.headers) if http is not None else None
    to_backends(analysis, path, src, service, out_port, "TCP", gateway_http,
                client_tls=ctls.mode if ctls is not None else None)
    t.steps.extend(path.steps)
    allowed = False
    in_subset = 0
    for wid, _, pod_port in path.reached:
        gw = analysis.cluster.workload(wid)
        assert gw is not None
        if any(gw.labels.get(k) != v for k, v in labels.items()):
            # IST-34: the subset's cluster holds only the pods with its labels.
            t.add(Reason.MESH_EGRESS_ROUTE, Effect.NONE, f"{gw.id} is not in subset {d.subset} "
                  f"({', '.join(f'{k}={v}' for k, v in sorted(labels.items()))}): the route does not send to it "
                  "(IST-34)", dr.ref if dr is not None else None, subject=gw.id)
            continue
        in_subset += 1
        sends = ctls.mode if ctls is not None else (
            "ISTIO_MUTUAL" if gw.labels.get(TLS_MODE_LABEL) == "istio" else "DISABLE")
        sni = ctls.sni if ctls is not None and ctls.sni else (
            f"outbound_.{out_port}_.{d.subset}_.{fqdn}" if sends == "ISTIO_MUTUAL" else
            host if sends in ("SIMPLE", "MUTUAL") or protocol == "tls" else "")
        allowed |= _gateway(analysis, gw, dst, host, out_port, pod_port, protocol, t, sends, sni)
    if path.reached and not in_subset:
        t.add(Reason.MESH_EGRESS_ROUTE, Effect.DENY, f"no pod of Service {service.namespace}/{service.name} that "
              f"the flow reaches is in subset {d.subset}: no healthy upstream, 503 (IST-34)",
              dr.ref if dr is not None else None)
    return allowed


def _subset(t: _Trace, d: RouteDestination, dr: DestinationRule | None, namespace: str,
            name: str) -> dict[str, str] | None:
    """IST-34: a subset must be defined by the DestinationRule that applies to the host (IST-43),
    else 503 (no cluster); its labels narrow the pods."""
    if not d.subset:
        return {}
    if dr is not None and d.subset in dr.subsets:
        t.add(Reason.MESH_EGRESS_ROUTE, Effect.ALLOW, f"{dr.ref.display} defines subset {d.subset} "
              f"({', '.join(f'{k}={v}' for k, v in sorted(dr.subsets[d.subset].items())) or 'every pod'}) "
              "(IST-34)", dr.ref)
        return dict(dr.subsets[d.subset])
    t.add(Reason.MESH_EGRESS_ROUTE, Effect.DENY, f"subset {d.subset} of {name}.{namespace} is defined by no "
          "DestinationRule that applies to the client (IST-43): the route has no upstream, 503 (IST-34)",
          dr.ref if dr is not None else None)
    return None


def _server_routes(server: IstioServer) -> str:
    """IST-44: which routes of a VirtualService a gateway server uses: ``http`` for HTTP servers and
    HTTPS servers that terminate TLS, ``tls`` (on the SNI) for PASSTHROUGH, else ``tcp``."""
    if server.tls_mode in ("PASSTHROUGH", "AUTO_PASSTHROUGH"):
        return "tls"
    if server.protocol in _HTTP or (server.protocol == "HTTPS" and server.tls_mode):
        return "http"
    return "tcp"


def _server_refuses(server: IstioServer, sends: str, protocol: str, sni: str) -> str | None:
    """IST-44: why the gateway server cannot take what the client proxy sends (``sends``: the
    client's TLS mode, DISABLE for plaintext; ``protocol``: what the application speaks)."""
    names = [h.partition("/")[2] if "/" in h else h for h in server.hosts]
    sni_ok = any(host_matches(h, sni) for h in names) if sni else False
    mode = server.tls_mode
    if mode == "ISTIO_MUTUAL":
        if sends != "ISTIO_MUTUAL":
            return f"the server terminates Istio mTLS and the client proxy sends {_sends(sends, protocol)}"
        return None if sni_ok else (f"the client's SNI {sni} is none of the server's hosts: no filter chain "
                                    "matches (set tls.sni in the DestinationRule)")
    if mode in ("SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL"):
        tls = sends in ("SIMPLE", "MUTUAL") or (sends == "DISABLE" and protocol == "tls")
        if not tls:
            return f"the server terminates TLS ({mode}) and the client proxy sends {_sends(sends, protocol)}"
        return None if sni_ok else f"the SNI {sni or '(none)'} is none of the server's hosts"
    if mode in ("PASSTHROUGH", "AUTO_PASSTHROUGH"):
        if sends == "ISTIO_MUTUAL":
            return ("the client proxy sends Istio mTLS, which the server passes through unopened: the outside "
                    "host cannot complete the mesh's handshake")
        if sends == "DISABLE" and protocol != "tls":
            return "the server routes on the TLS SNI and the client sends plaintext: no SNI, no filter chain"
        return None
    if sends != "DISABLE" or (protocol == "tls" and _server_routes(server) == "http"):
        return f"the server ({server.protocol or 'unnamed'}) terminates no TLS and receives {_sends(sends, protocol)}"
    return None


def _sends(sends: str, protocol: str) -> str:
    return {"ISTIO_MUTUAL": "Istio mTLS", "SIMPLE": "TLS (SIMPLE)", "MUTUAL": "TLS (MUTUAL)"}.get(
        sends, "the application's own TLS" if protocol == "tls" else "plaintext")


def _gateway(analysis: Analysis, gw: Workload, dst: FlowEnd, host: str, port: int, pod_port: int, protocol: str,
             t: _Trace, sends: str, sni: str) -> bool:
    """IST-32, IST-44: the gateway needs a server for the host on the port that takes what the client
    proxy sends, and a VirtualService bound to it that sends the host out; then its own CNI egress
    decides."""
    gw_end = FlowEnd(analysis.engine.universe.identities_of[gw.id][0], gw.id, gw)
    for g in gateways_on(analysis, gw):
        for server in g.servers:
            if server.port not in (port, pod_port):
                continue
            if not any(host_matches(h.partition("/")[2] if "/" in h else h, host) for h in server.hosts):
                continue
            tls = f", TLS {server.tls_mode}" if server.tls_mode else ""
            t.add(Reason.ROUTED, Effect.ALLOW, f"{g.ref.display} has a server for {host} on port "
                  f"{server.port} ({server.protocol or 'unnamed'}{tls}) on {gw.id} (IST-32)", g.ref, server.line,
                  subject=gw.id)
            refused = _server_refuses(server, sends, protocol, sni)
            if refused is not None:
                t.add(Reason.MESH_TLS, Effect.DENY, f"{refused}: the connection fails (IST-44)", g.ref, server.line,
                      subject=gw.id)
                return False
            kind = _server_routes(server)
            inner = protocol if kind != "http" else "http"
            found = route_for(analysis, gw.namespace, f"{g.ref.namespace}/{g.ref.name}", host, server.port, kind,
                              sni or host)
            if found is None:
                t.add(Reason.NO_ROUTE, Effect.DENY, f"no VirtualService bound to {g.ref.display} has a {kind} route "
                      f"for {host}:{server.port}" + (f" (SNI {sni})" if kind == "tls" else "") + ": the gateway "
                      "answers 404 or closes the connection (IST-33, IST-44)", g.ref, subject=gw.id)
                return False
            vs, destinations, line = found
            out = [d for d in destinations if host_matches(d.host, host) or host_matches(host, d.host)]
            if not out:
                t.add(Reason.NO_ROUTE, Effect.DENY, f"{vs.ref.display} on {g.ref.display} "
                      f"routes {host} elsewhere ({', '.join(d.host for d in destinations)}), not out (IST-33)",
                      vs.ref, line, subject=gw.id)
                return False
            out_port = out[0].port or port
            t.add(Reason.MESH_EGRESS_ROUTE, Effect.ALLOW, f"{vs.ref.display} on {g.ref.display} ({kind} route) "
                  f"routes {host} out to {host}:{out_port} (IST-33)", vs.ref, line, subject=gw.id)
            _originate(analysis, t, gw, host, out[0].subset, out_port, inner, gw.id)
            return _leave(analysis, gw_end, dst, host, out_port, t,
                          service_entry_for(analysis, gw.namespace, host)).allowed
    t.add(Reason.NO_ROUTE, Effect.DENY, f"no Istio Gateway selecting {gw.id} has a server for {host} on port "
          f"{port}: the gateway refuses it (IST-32)", subject=gw.id)
    return False


def _originate(analysis: Analysis, t: _Trace, proxy: Workload, host: str, subset: str, port: int, protocol: str,
               subject: str) -> None:
    """IST-46: a DestinationRule for the outside host whose TLS is SIMPLE or MUTUAL makes the proxy
    originate TLS: the outside sees TLS on ``port`` whatever the application sent."""
    se = service_entry_for(analysis, proxy.namespace, host)
    dr = destination_rule_for(analysis, proxy.namespace, host, se.ref.namespace if se is not None else "")
    ctls = client_tls(dr, subset, port) if dr is not None else None
    if dr is not None and ctls is not None and ctls.mode in ("SIMPLE", "MUTUAL"):
        if protocol == "tls":
            t.add(Reason.MESH_TLS, Effect.WARN, f"{dr.ref.display} originates TLS ({ctls.mode}) to {host}:{port}, "
                  "but the application already speaks TLS: TLS inside TLS, the server cannot read it (IST-46)",
                  dr.ref, ctls.line, subject=subject)
        else:
            t.add(Reason.MESH_TLS, Effect.ALLOW, f"{dr.ref.display} originates TLS ({ctls.mode}) to {host}:{port}: "
                  f"the outside sees TLS on port {port} (IST-46)", dr.ref, ctls.line, subject=subject)
    elif protocol == "http" and port == 443:
        t.add(Reason.MESH_TLS, Effect.WARN, f"plain HTTP leaves for {host}:443 and no DestinationRule originates "
              "TLS (tls.mode SIMPLE): an HTTPS server refuses it (IST-46)", subject=subject)


def _leave(analysis: Analysis, src: FlowEnd, dst: FlowEnd, host: str, port: int, t: _Trace,
           se: ServiceEntry | None) -> FlowVerdict:
    """IST-47: the proxy's hop out. A ServiceEntry with ``resolution`` STATIC, DNS or
    DNS_ROUND_ROBIN and ``endpoints`` sends the traffic to those endpoints (an endpoint's ``ports``
    renames the port by the ServiceEntry port's name), not to what the host resolves to: the CNI
    hop is to each endpoint; each connection goes to one, so the flow passes if some endpoint
    takes it (a warning says when not all do)."""
    if se is None or se.resolution not in ("STATIC", "DNS", "DNS_ROUND_ROBIN") or not se.endpoints:
        return _out(analysis, src, dst, port, t, "TCP")
    name = next((n for number, _, n in se.ports if number == port and n), "")
    results = []
    for ep in se.endpoints:
        ep_port = int(ep.ports.get(name, port)) if name else port
        known = is_ip(ep.address) or analysis.engine.universe.domain(ep.address) is not None
        end = resolve_peer(analysis, ep.address if known else "world", "to")
        t.add(Reason.MESH_EGRESS_ROUTE, Effect.ALLOW, f"{se.ref.display} (resolution {se.resolution}) sends "
              f"{host}:{port} to its endpoint {ep.address}:{ep_port}, not to the addresses {host} resolves to "
              "(IST-47)", se.ref, ep.line, subject=src.label)
        results.append(_out(analysis, src, end, ep_port, t, "TCP").allowed)
    ok = any(results)
    if ok and not all(results):
        t.add(Reason.MESH_EGRESS_ROUTE, Effect.WARN, f"only {sum(results)} of the {len(results)} endpoints of "
              f"{se.ref.display} let {src.label} out: shown as allowed, but the connections the proxy sends to the "
              "others fail (IST-47)", se.ref, subject=src.label)
    return FlowVerdict(src, dst, "TCP", port, probe_of("TCP", port) if ok else EMPTY, t.steps)


def _out(analysis: Analysis, src: FlowEnd, dst: FlowEnd, port: int, t: _Trace, protocol: str) -> FlowVerdict:
    """The last hop: ``src``'s CNI egress to the outside address."""
    verdict = decide(analysis.engine, src, dst, protocol, port)
    t.steps.extend(verdict.steps)
    return FlowVerdict(src, dst, protocol, port, verdict.allowed_ports, t.steps)


def mesh_egress_edges(analysis: Analysis, connections: list[Connection]) -> list[Connection]:
    """The map's edges from pods with a sidecar to outside names (IST-28 … IST-36): each port of
    an edge the CNI allows is asked of the mesh hop, and the ports of the ServiceEntries for the
    name are asked even without a direct edge (the egress gateway may carry them). An edge through
    the gateway carries ``mesh.egressVia``: the gateways on its path."""
    from .connectivity_map import Connection  # the map imports this module

    if analysis.options.mesh != Mesh.ISTIO:
        return connections
    u = analysis.engine.universe
    if not u.domains:
        return connections
    cluster = analysis.cluster
    meshed = [w for w in cluster.workloads if membership(cluster, w)[0] == "sidecar" and not w.host_network]
    if not meshed:
        return connections
    by_pair = {(c.src, c.dst): c for c in connections}
    dropped: set[tuple[str, str]] = set()
    added: list[Connection] = []
    for w in meshed:
        src = FlowEnd(u.identities_of[w.id][0], w.id, w)
        for d in u.domains:
            dst = FlowEnd(d, d.name)
            se = service_entry_for(analysis, w.namespace, d.name)
            se_ports = {number for number, _, _ in se.ports} if se is not None else set()
            c = by_pair.get((w.id, d.name))
            probes = set(se_ports)
            if c is not None:
                for proto, ranges in c.ports.items():
                    if proto == "TCP":
                        probes |= {p for lo, hi in ranges for p in se_ports if lo <= p <= hi}
                        probes |= {next((p for p in range(lo, min(hi, lo + 64) + 1) if p not in se_ports), lo)
                                   for lo, hi in ranges}
            allowed = PortSet()
            via: set[str] = set()
            for port in sorted(probes):
                verdict = mesh_egress(analysis, src, dst, d.name, port, None)
                assert verdict is not None
                if not verdict.allowed:
                    continue
                via |= {s.subject for s in verdict.steps if s.reason is Reason.ROUTED and s.layer is Layer.MESH}
                if port in se_ports or c is None:
                    allowed = allowed | PortSet.of("TCP", port, port)
                else:  # the other ports of the range get the answer of the port that speaks for them
                    allowed = allowed | _tcp_range_of(c.ports, port, se_ports)
            if c is not None:
                other = PortSet({p: r for p, r in c.ports.items() if p != "TCP"})  # sidecars proxy TCP only
                if not (allowed | other):
                    dropped.add((c.src, c.dst))
                    continue
                c.ports = allowed | other
            elif allowed:
                c = Connection(w.id, d.name, allowed)
                added.append(c)
            if c is not None and via:
                c.mesh = {**(c.mesh or {}), "egressVia": sorted(via)}
    kept = [c for c in connections if (c.src, c.dst) not in dropped] + added
    kept.sort(key=lambda c: (c.src, c.dst))
    return kept


def _tcp_range_of(ports: PortSet, port: int, exclude: set[int]) -> PortSet:
    for proto, ranges in ports.items():
        if proto != "TCP":
            continue
        for lo, hi in ranges:
            if lo <= port <= hi:
                out = PortSet.of("TCP", lo, hi)
                for p in exclude:
                    if lo <= p <= hi:
                        out = out - PortSet.of("TCP", p, p)
                return out
    return PortSet.of("TCP", port, port)
