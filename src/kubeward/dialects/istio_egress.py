"""Istio traffic management (networking.istio.io) as far as it decides egress → model. Rules IST-28 … IST-34.

ServiceEntry, Sidecar, Gateway, VirtualService, DestinationRule, and the mesh-wide
``outboundTrafficPolicy`` read from the ``istio`` ConfigMap's ``mesh`` key (YAML inside a string).
Fields that change no reachability (timeouts, retries, load balancing) are not read.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..diagnostics import Diagnostics, Leans
from ..ir import LabelSelector, Operator, Requirement
from ..loader import LList, LMap, RawObject
from ..model import (
    ClientTls,
    Cluster,
    DestinationRule,
    EntryEndpoint,
    IstioGateway,
    IstioServer,
    ObjectRef,
    OutboundPolicy,
    RouteDestination,
    ServiceEntry,
    SidecarConfig,
    SidecarEgress,
    TlsPolicy,
    VirtualRoute,
    VirtualService,
)
from ._reader import Reader

EGRESS_GATEWAY_LABELS = {"istio": "egressgateway"}  # the istio/gateway chart's egress gateway (IST-32)


def _ref(obj: RawObject) -> ObjectRef:
    return ObjectRef(obj.kind, obj.namespace or "default", obj.name, obj.file, obj.line)


def _strings(r: Reader, parent: LMap, key: str, path: str) -> tuple[str, ...]:
    return r.string_list(parent, key, path, Leans.EITHER) or ()


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_service_entry(obj: RawObject, cluster: Cluster, diags: Diagnostics) -> None:
    r = Reader(obj, diags)
    spec = r.get_map(obj.data, "spec", "") or LMap(obj.line)
    ports = []
    for p in r.get_items(spec, "ports", "spec", Leans.EITHER):
        if isinstance(p, LMap) and _int(p.get("number")) is not None:
            ports.append((int(p["number"]), str(p.get("protocol") or "TCP").upper(), str(p.get("name") or "")))
    endpoints = []
    for e in r.get_items(spec, "endpoints", "spec", Leans.EITHER):
        if isinstance(e, LMap) and isinstance(e.get("address"), str):
            raw_ports = e.get("ports")
            named = {str(k): v for k, v in raw_ports.items() if _int(v) is not None} \
                if isinstance(raw_ports, LMap) else {}
            endpoints.append(EntryEndpoint(str(e["address"]).lower(), named, e.line))
    se = ServiceEntry(_ref(obj), tuple(h.lower() for h in _strings(r, spec, "hosts", "spec")),
                      _strings(r, spec, "addresses", "spec"), tuple(ports),
                      str(spec.get("location") or "MESH_EXTERNAL").upper(),
                      str(spec.get("resolution") or "NONE").upper(), _strings(r, spec, "exportTo", "spec"),
                      tuple(endpoints))
    cluster.mesh.service_entries.append(se)


def _outbound(value: Any) -> OutboundPolicy | None:
    mode = str(value.get("mode") or "").upper() if isinstance(value, dict) else ""
    return OutboundPolicy(mode) if mode in tuple(OutboundPolicy) else None


def parse_sidecar(obj: RawObject, cluster: Cluster, diags: Diagnostics) -> None:
    r = Reader(obj, diags)
    spec = r.get_map(obj.data, "spec", "") or LMap(obj.line)
    selector = None
    ws = r.get_map(spec, "workloadSelector", "spec", Leans.EITHER)
    if ws is not None:
        selector = LabelSelector(tuple(Requirement(k, Operator.IN, (v,)) for k, v in
                                       sorted(r.labels(ws, "labels", "spec.workloadSelector").items())))
    egress = []
    for i, e in enumerate(r.get_items(spec, "egress", "spec", Leans.EITHER)):
        if not isinstance(e, LMap):
            continue
        port = e.get("port")
        egress.append(SidecarEgress(_int(port.get("number")) if isinstance(port, LMap) else None,
                                    _strings(r, e, "hosts", f"spec.egress[{i}]")))
    cluster.mesh.sidecars.append(SidecarConfig(_ref(obj), selector, tuple(egress),
                                               _outbound(spec.get("outboundTrafficPolicy"))))


def parse_gateway(obj: RawObject, cluster: Cluster, diags: Diagnostics) -> None:
    r = Reader(obj, diags)
    spec = r.get_map(obj.data, "spec", "") or LMap(obj.line)
    selector = r.labels(spec, "selector", "spec")
    servers = []
    for i, s in enumerate(r.get_items(spec, "servers", "spec", Leans.EITHER)):
        if not isinstance(s, LMap):
            continue
        raw_port = s.get("port")
        port = raw_port if isinstance(raw_port, LMap) else LMap(s.line)
        number = _int(port.get("number"))
        if number is None:
            continue
        tls = s.get("tls")
        servers.append(IstioServer(number, str(port.get("protocol") or "").upper(),
                                   tuple(h.lower() for h in _strings(r, s, "hosts", f"spec.servers[{i}]")),
                                   str(tls.get("mode") or "").upper() if isinstance(tls, LMap) else "", s.line))
    cluster.mesh.gateways.append(IstioGateway(_ref(obj), selector, tuple(servers)))


def _destinations(raw: Any) -> tuple[RouteDestination, ...]:
    out = []
    for d in raw if isinstance(raw, LList) else ():
        dest = d.get("destination") if isinstance(d, LMap) else None
        if not isinstance(dest, LMap):
            continue
        port = dest.get("port")
        out.append(RouteDestination(str(dest.get("host") or "").lower(), str(dest.get("subset") or ""),
                                    _int(port.get("number")) if isinstance(port, LMap) else None,
                                    _int(d.get("weight")) or 0))
    return tuple(out)


def _authorities(match: LMap) -> tuple[str, ...]:
    raw = match.get("authority")
    if not isinstance(raw, LMap):
        return ()
    return tuple(f"{k}:{str(v).lower()}" for k, v in raw.items())


def parse_virtual_service(obj: RawObject, cluster: Cluster, diags: Diagnostics) -> None:
    r = Reader(obj, diags)
    spec = r.get_map(obj.data, "spec", "") or LMap(obj.line)
    routes = []
    for protocol in ("http", "tls", "tcp"):
        for route in r.get_items(spec, protocol, "spec", Leans.EITHER):
            if not isinstance(route, LMap):
                continue
            destinations = _destinations(route.get("route"))
            matches = route.get("match")
            items = [m for m in matches if isinstance(m, LMap)] if isinstance(matches, LList) and matches else [None]
            for m in items:
                if m is None:
                    routes.append(VirtualRoute(protocol, None, None, (), (), destinations, route.line))
                    continue
                gws = m.get("gateways")
                sni = m.get("sniHosts")
                routes.append(VirtualRoute(
                    protocol, tuple(str(g) for g in gws) if isinstance(gws, LList) else None, _int(m.get("port")),
                    tuple(str(h).lower() for h in sni) if isinstance(sni, LList) else (), _authorities(m),
                    destinations, m.line))
    vs = VirtualService(_ref(obj), tuple(h.lower() for h in _strings(r, spec, "hosts", "spec")),
                        _strings(r, spec, "gateways", "spec"), tuple(routes), _strings(r, spec, "exportTo", "spec"))
    cluster.mesh.virtual_services.append(vs)


def parse_destination_rule(obj: RawObject, cluster: Cluster, diags: Diagnostics) -> None:
    r = Reader(obj, diags)
    spec = r.get_map(obj.data, "spec", "") or LMap(obj.line)
    subsets = {}
    subset_policies = {}
    for i, s in enumerate(r.get_items(spec, "subsets", "spec", Leans.EITHER)):
        if isinstance(s, LMap) and s.get("name"):
            subsets[str(s["name"])] = r.labels(s, "labels", f"spec.subsets[{i}]")
            subset_policies[str(s["name"])] = _tls_policy(s.get("trafficPolicy"))
    policy = spec.get("trafficPolicy")
    tls = policy.get("tls") if isinstance(policy, LMap) else None
    mode = str(tls.get("mode") or "").upper() if isinstance(tls, LMap) else ""
    cluster.mesh.destination_rules.append(DestinationRule(
        _ref(obj), str(spec.get("host") or "").lower(), subsets, mode, _strings(r, spec, "exportTo", "spec"),
        _tls_policy(policy), subset_policies))


def _client_tls(raw: Any) -> ClientTls | None:
    if not isinstance(raw, LMap):
        return None
    return ClientTls(str(raw.get("mode") or "DISABLE").upper(), str(raw.get("sni") or "").lower(), raw.line)


def _tls_policy(raw: Any) -> TlsPolicy | None:
    """IST-42: a trafficPolicy's ``tls`` and its ``portLevelSettings[].tls`` by port number."""
    if not isinstance(raw, LMap):
        return None
    ports: dict[int, ClientTls | None] = {}
    levels = raw.get("portLevelSettings")
    for entry in levels if isinstance(levels, LList) else ():
        port = entry.get("port") if isinstance(entry, LMap) else None
        number = _int(port.get("number")) if isinstance(port, LMap) else None
        if isinstance(entry, LMap) and number is not None and number not in ports:
            ports[number] = _client_tls(entry.get("tls"))
    return TlsPolicy(_client_tls(raw.get("tls")), ports)


def mesh_config_revision(name: str) -> str | None:
    """IST-50: the revision whose istiod reads the ConfigMap ``name``: ``istio`` the default one (""),
    ``istio-<revision>`` that revision's; None: not a mesh ConfigMap name."""
    if name == "istio":
        return ""
    return name.removeprefix("istio-") if name.startswith("istio-") and len(name) > len("istio-") else None


def parse_mesh_config(obj: RawObject, cluster: Cluster, diags: Diagnostics) -> bool:
    """IST-30, IST-50: the ``istio`` or ``istio-<revision>`` ConfigMap: ``data.mesh`` is meshConfig
    as YAML inside a string. False: the ConfigMap has no ``mesh`` key (another ConfigMap)."""
    data = obj.data.get("data")
    text = data.get("mesh") if isinstance(data, LMap) else None
    revision = mesh_config_revision(obj.name)
    if not isinstance(text, str) or revision is None:
        return False
    line = data.line_of("mesh") if isinstance(data, LMap) else obj.line
    try:
        mesh = yaml.safe_load(text)
    except yaml.YAMLError as e:
        diags.error("invalid-mesh-config", f"ConfigMap {obj.namespace}/{obj.name} data.mesh is not YAML ({e}); "
                    "the mesh-wide outboundTrafficPolicy is taken as ALLOW_ANY (IST-30)", obj.file, line,
                    leans=Leans.EITHER)
        return True
    if not isinstance(mesh, dict) or "outboundTrafficPolicy" not in mesh:
        return True
    record_outbound(cluster, diags, mesh["outboundTrafficPolicy"],
                    ObjectRef("ConfigMap", obj.namespace or "default", obj.name, obj.file, line), revision)
    return True


def parse_istio_operator(obj: RawObject, cluster: Cluster, diags: Diagnostics) -> None:
    """IST-30: an IstioOperator's ``spec.meshConfig.outboundTrafficPolicy`` — what the operator
    writes into the istio ConfigMap; the ConfigMap, when the input has it too, is what istiod reads."""
    spec = obj.data.get("spec")
    mesh = spec.get("meshConfig") if isinstance(spec, LMap) else None
    if not isinstance(mesh, LMap) or "outboundTrafficPolicy" not in mesh:
        return
    line = mesh.line_of("outboundTrafficPolicy")
    revision = str(spec.get("revision") or "") if isinstance(spec, LMap) else ""
    record_outbound(cluster, diags, mesh["outboundTrafficPolicy"],
                    ObjectRef("IstioOperator", obj.namespace or "istio-system", obj.name, obj.file, line),
                    "" if revision == "default" else revision)


def record_outbound(cluster: Cluster, diags: Diagnostics, raw: Any, ref: ObjectRef, revision: str = "") -> None:
    """The mesh-wide outbound policy that ``ref`` sets (IST-30); a rendered ConfigMap wins over an
    IstioOperator or Helm values, which only say what it will hold."""
    policy = _outbound(raw)
    if policy is None:
        diags.error("invalid-mesh-config", f"{ref.display}: meshConfig.outboundTrafficPolicy.mode must be ALLOW_ANY "
                    "or REGISTRY_ONLY; taken as ALLOW_ANY (IST-30)", ref.file, ref.line, leans=Leans.MAY_ALLOW_MORE)
        return
    found = cluster.mesh.outbound.get((ref.namespace, revision))
    if found is not None and found[1].kind == "ConfigMap" and ref.kind != "ConfigMap":
        return
    cluster.mesh.outbound[(ref.namespace, revision)] = (policy, ref)


def is_egress_gateway(gateway: IstioGateway) -> bool:
    return all(gateway.selector.get(k) == v for k, v in EGRESS_GATEWAY_LABELS.items())
