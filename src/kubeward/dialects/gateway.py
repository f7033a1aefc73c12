"""Gateway API (gateway.networking.k8s.io v1, v1beta1, v1alpha2) → model. Rules GW-1 … GW-5.

GatewayClass, Gateway, HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute, ReferenceGrant.
"""

from __future__ import annotations

from typing import Any

from ..diagnostics import Diagnostics, Leans
from ..ir import LabelSelector
from ..loader import LMap, RawObject
from ..model import (
    AllowedRoutesFrom,
    BackendRef,
    Cluster,
    Gateway,
    HeaderMatch,
    Listener,
    ObjectRef,
    Origin,
    ParentRef,
    ReferenceGrant,
    Route,
    RouteKind,
    RouteMatch,
    RoutePathType,
    RouteRule,
)
from ._reader import Reader

GROUP = "gateway.networking.k8s.io"
ROUTE_KINDS = tuple(RouteKind)
LISTENER_PROTOCOLS = ("HTTP", "HTTPS", "TLS", "TCP", "UDP")
PATH_TYPES = tuple(RoutePathType)
ALLOWED_FROM = tuple(AllowedRoutesFrom)


def parse_gateway_class(obj: RawObject, cluster: Cluster, diags: Diagnostics) -> None:
    cluster.entry.gateway_classes[obj.name] = Origin(obj.file, obj.line)


def parse_gateway(obj: RawObject, cluster: Cluster, diags: Diagnostics) -> None:
    r = Reader(obj, diags)
    ns = obj.namespace or "default"
    spec = r.get_map(obj.data, "spec", "") or LMap(obj.line)
    listeners: list[Listener] = []
    for i, raw in enumerate(r.get_list(spec, "listeners", "spec") or []):
        path = f"spec.listeners[{i}]"
        if not isinstance(raw, LMap):
            r.error("invalid-type", f"{path} must be a mapping", spec.line_of("listeners"))
            continue
        protocol = r.get_str(raw, "protocol", path) or ""
        if protocol not in LISTENER_PROTOCOLS:
            r.warning("unknown-protocol", f"{path}.protocol {protocol!r} is not one of "
                      f"{', '.join(LISTENER_PROTOCOLS)}; its routes are not modelled", raw.line_of("protocol"))
        port = r.get_int(raw, "port", path)
        if port is None:
            r.error("missing-field", f"{path}.port is required", raw.line)
            continue
        tls = r.get_map(raw, "tls", path)
        tls_mode = ""
        certs: list[BackendRef] = []
        if tls is not None:
            tls_mode = r.get_str(tls, "mode", f"{path}.tls") or "Terminate"
            for c in r.get_list(tls, "certificateRefs", f"{path}.tls") or []:
                if isinstance(c, LMap) and isinstance(c.get("name"), str):
                    certs.append(BackendRef(c["name"], str(c.get("namespace") or ns), None,
                                            str(c.get("kind") or "Secret"), str(c.get("group") or ""),
                                            line=c.line))
        elif protocol in ("HTTPS", "TLS"):
            tls_mode = "Terminate" if protocol == "HTTPS" else ""
        allowed = r.get_map(raw, "allowedRoutes", path) or LMap(raw.line)
        namespaces = r.get_map(allowed, "namespaces", f"{path}.allowedRoutes") or LMap(allowed.line)
        written = r.get_str(namespaces, "from", f"{path}.allowedRoutes.namespaces") or AllowedRoutesFrom.SAME  # GW-1
        allowed_from = AllowedRoutesFrom(written) if written in ALLOWED_FROM else AllowedRoutesFrom.SAME
        selector: LabelSelector | None = None
        if allowed_from is AllowedRoutesFrom.SELECTOR:
            selector = r.selector(namespaces, "selector", f"{path}.allowedRoutes.namespaces", Leans.EITHER)
            if selector is None:
                r.error("missing-field", f"{path}.allowedRoutes.namespaces.selector is required with "
                        "from: Selector", namespaces.line, Leans.MAY_ALLOW_MORE)  # read as admitting none
        elif written not in ALLOWED_FROM:  # read as Same
            r.error("invalid-value", f"{path}.allowedRoutes.namespaces.from {written!r} is not "
                    "Same, All or Selector", namespaces.line_of("from"))
        raw_kinds = r.get_list(allowed, "kinds", f"{path}.allowedRoutes", Leans.MAY_DENY_MORE)
        if raw_kinds is None and allowed.get("kinds") is not None:
            continue  # unreadable: the listener admits no route (fails closed)
        kinds = tuple(str(k.get("kind")) for k in raw_kinds or () if isinstance(k, LMap) and k.get("kind"))
        listeners.append(Listener(str(raw.get("name") or f"listener-{i}"), protocol, port,
                                  str(raw.get("hostname") or "").lower(), tls_mode, tuple(certs),
                                  allowed_from, selector, kinds, raw.line))
    cluster.entry.gateways.append(Gateway(ObjectRef("Gateway", ns, obj.name, obj.file, obj.line),
                                          r.get_str(spec, "gatewayClassName", "spec") or "", tuple(listeners)))


def _backend(r: Reader, raw: Any, path: str, ns: str, line: int) -> BackendRef | None:
    if not isinstance(raw, LMap) or not isinstance(raw.get("name"), str):
        r.error("invalid-type", f"{path} must be a mapping with a name", line)
        return None
    weight = raw.get("weight", 1)
    port = raw.get("port")
    kind = str(raw.get("kind") or "Service")
    if kind == "Service" and port is None:
        r.error("missing-field", f"{path}.port is required for a Service backend", raw.line)
    return BackendRef(raw["name"], str(raw.get("namespace") or ns), port if isinstance(port, int) else None,
                      kind, str(raw.get("group") or ""), weight if isinstance(weight, int) else 1, raw.line)


def _matches(r: Reader, raw: LMap, path: str, kind: str) -> tuple[RouteMatch, ...]:
    matches: list[RouteMatch] = []
    section = r.get_list(raw, "matches", path, Leans.MAY_DENY_MORE)
    if section is None and raw.get("matches") is not None:
        return ()  # unreadable: the rule matches no request (fails closed)
    if not section:
        return (RouteMatch(),)  # GW-5: default match is PathPrefix "/"
    for k, m in enumerate(section):
        mp = f"{path}.matches[{k}]"
        if not isinstance(m, LMap):
            continue
        raw_headers = r.get_list(m, "headers", mp, Leans.MAY_DENY_MORE)
        raw_query = r.get_list(m, "queryParams", mp, Leans.MAY_DENY_MORE)
        if any(raw is None and m.get(key) is not None for raw, key in ((raw_headers, "headers"),
                                                                       (raw_query, "queryParams"))):
            continue  # unreadable: this match matches no request (fails closed)
        headers = tuple(HeaderMatch(str(h.get("name", "")).lower(), str(h.get("value", "")),
                                    str(h.get("type") or "Exact"))
                        for h in raw_headers or () if isinstance(h, LMap))
        if kind == RouteKind.GRPC:
            raw_method = m.get("method")
            method: LMap = raw_method if isinstance(raw_method, LMap) else LMap(m.line)
            matches.append(RouteMatch(headers=headers, grpc_service=method.get("service"),
                                      grpc_method=method.get("method")))
            continue
        raw_path = m.get("path")
        p: LMap = raw_path if isinstance(raw_path, LMap) else LMap(m.line)
        written = str(p.get("type") or RoutePathType.PATH_PREFIX)
        path_type = RoutePathType(written) if written in PATH_TYPES else RoutePathType.PATH_PREFIX
        if written not in PATH_TYPES:  # read as PathPrefix
            r.error("invalid-value", f"{mp}.path.type {written!r} is not one of {', '.join(PATH_TYPES)}",
                    p.line_of("type"))
        value = str(p.get("value") or "/")
        query = tuple(HeaderMatch(str(q.get("name", "")), str(q.get("value", "")), str(q.get("type") or "Exact"))
                      for q in raw_query or () if isinstance(q, LMap))
        method_value = m.get("method")
        matches.append(RouteMatch(path_type, value, str(method_value) if method_value else None, headers, query))
    return tuple(matches)


def parse_route(obj: RawObject, cluster: Cluster, diags: Diagnostics) -> None:
    r = Reader(obj, diags)
    ns = obj.namespace or "default"
    spec = r.get_map(obj.data, "spec", "") or LMap(obj.line)
    parents: list[ParentRef] = []
    for raw in r.get_list(spec, "parentRefs", "spec") or []:
        if isinstance(raw, LMap) and isinstance(raw.get("name"), str):
            port = raw.get("port")
            parents.append(ParentRef(raw["name"], str(raw.get("namespace") or ns), str(raw.get("sectionName") or ""),
                                     port if isinstance(port, int) else None, str(raw.get("kind") or "Gateway"),
                                     str(raw.get("group") or GROUP), raw.line))
    if not parents:
        r.warning("no-parent", f"{obj.kind} has no parentRefs: it attaches to nothing", obj.line)
    rules: list[RouteRule] = []
    for i, raw in enumerate(r.get_list(spec, "rules", "spec") or []):
        path = f"spec.rules[{i}]"
        if not isinstance(raw, LMap):
            continue
        backends = [ref for j, item in enumerate(r.get_items(raw, "backendRefs", path, Leans.MAY_DENY_MORE))
                    if (ref := _backend(r, item, f"{path}.backendRefs[{j}]", ns, raw.line)) is not None]
        rules.append(RouteRule(_matches(r, raw, path, obj.kind), tuple(backends), i, raw.line))
    hostnames = r.string_list(spec, "hostnames", "spec", Leans.MAY_DENY_MORE)
    if hostnames is None:  # unreadable: the route serves no host (fails closed)
        return
    created = str(obj.metadata.get("creationTimestamp") or "")
    cluster.entry.routes.append(Route(ObjectRef(obj.kind, ns, obj.name, obj.file, obj.line),
                                      tuple(parents), tuple(h.lower() for h in hostnames), tuple(rules), created))


def parse_reference_grant(obj: RawObject, cluster: Cluster, diags: Diagnostics) -> None:
    r = Reader(obj, diags)
    spec = r.get_map(obj.data, "spec", "") or LMap(obj.line)
    sources = tuple((str(f.get("group") or ""), str(f.get("kind") or ""), str(f.get("namespace") or ""))
                    for f in (r.get_list(spec, "from", "spec") or []) if isinstance(f, LMap))
    targets = tuple((str(t.get("group") or ""), str(t.get("kind") or ""), str(t.get("name") or ""))
                    for t in (r.get_list(spec, "to", "spec") or []) if isinstance(t, LMap))
    cluster.entry.reference_grants.append(ReferenceGrant(
        ObjectRef("ReferenceGrant", obj.namespace or "default", obj.name, obj.file, obj.line), sources, targets))
