"""Property: the connectivity map and ``explain`` agree (issue 11 item 8).

Hypothesis draws small clusters — a few Pods with labels, service accounts, ports and addresses
in one or two namespaces, sidecars on some — with NetworkPolicies, AuthorizationPolicies and
PeerAuthentications from a small grammar, and checks every pair of map peers on sampled ports:

* an edge's ports are exactly the ports ``explain`` allows without a request;
* a port the map leaves out is refused by ``explain`` for every sampled HTTP request;
* a port the map keeps without a mesh condition is allowed for every sampled request, and one
  it keeps "allowed if …" is allowed for at least one request of the sample, which holds a request
  of every kind the grammar's patterns can tell apart (IST-12, IST-24, IST-26).

The run is bounded (derandomized, no example database) so that it takes seconds in CI; the
``@example`` inputs are disagreements the property found before they were fixed (IST-26).
"""

from __future__ import annotations

import ipaddress
import itertools
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kubeward import Analysis, Options, analyse_text, connectivity_map, explain
from kubeward.analyses.connectivity_map import Connection, PeerType
from kubeward.engine.trace import Reason
from rules_helpers import to_yaml

Obj = dict[str, Any]

NAMESPACES = ("a", "b")
APPS = ("x", "y", "z")
ACCOUNTS = ("s1", "s2")
PORTS = (80, 3306, 8080)
CIDRS = ("10.0.1.0/24", "10.0.0.0/8", "203.0.113.0/24", "203.0.113.128/25")
# Method, path and header patterns of the grammar, and one request of every kind they tell apart.
METHODS = ("GET", "POST", "G*", "*T")
PATHS = ("/admin*", "/admin/*", "*x", "/api")
HOSTS = ("api.example.com", "*.example.com")
HEADER_VALUES = ("a", "*")
REQUEST_METHODS = ("GET", "POST", "GOT", "PUT", "GETX", "PURGE")
REQUEST_PATHS = ("/admin/x", "/admin/y", "/adminx", "/adminy", "/x", "/y", "/api")
REQUEST_HOSTS = ("api.example.com", "web.example.com", "other.org")
REQUEST_HEADERS: tuple[tuple[tuple[str, str], ...], ...] = ((), (("x-k", "a"),), (("x-k", "b"),))
REQUESTS = tuple(itertools.product(REQUEST_METHODS, REQUEST_PATHS, REQUEST_HOSTS, REQUEST_HEADERS))
Request = tuple[str, str, str, tuple[tuple[str, str], ...]]  # method, path, host, headers
PROBES = (("TCP", 80), ("TCP", 3306), ("TCP", 8080), ("TCP", 9000), ("TCP", 22), ("UDP", 80))


def _sub(draw: st.DrawFn, values: tuple[str, ...]) -> list[str]:
    return draw(st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True))


@st.composite
def pods(draw: st.DrawFn) -> list[Obj]:
    out = []
    for i in range(draw(st.integers(2, 4))):
        labels = {"app": draw(st.sampled_from(APPS))}
        if draw(st.booleans()) and draw(st.booleans()):
            labels["sidecar.istio.io/inject"] = "false"
        ports = draw(st.lists(st.sampled_from(PORTS), min_size=1, max_size=2, unique=True))
        out.append({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": f"w{i}", "namespace": draw(st.sampled_from(NAMESPACES)), "labels": labels},
                    "spec": {"serviceAccountName": draw(st.sampled_from(ACCOUNTS)),
                             "containers": [{"name": "c", "image": "img",
                                             "ports": [{"containerPort": p} for p in ports]}]},
                    "status": {"podIP": f"10.0.{i}.1"}})
    return out


@st.composite
def network_policies(draw: st.DrawFn) -> list[Obj]:
    out = []
    for i in range(draw(st.integers(0, 2))):
        types = draw(st.sampled_from((["Ingress"], ["Egress"], ["Ingress", "Egress"])))
        spec: Obj = {"podSelector": draw(st.sampled_from(({}, *({"matchLabels": {"app": a}} for a in APPS)))),
                     "policyTypes": types}
        for direction, key in (("Ingress", "from"), ("Egress", "to")):
            if direction not in types:
                continue
            rules = []
            for _ in range(draw(st.integers(0, 2))):
                rule: Obj = {}
                peer = draw(st.sampled_from(("pods", "namespaces", "ipBlock", "none")))
                if peer == "pods":
                    rule[key] = [{"podSelector": {"matchLabels": {"app": draw(st.sampled_from(APPS))}}}]
                elif peer == "namespaces":
                    rule[key] = [{"namespaceSelector": {}}]
                elif peer == "ipBlock":
                    rule[key] = [{"ipBlock": {"cidr": draw(st.sampled_from(CIDRS))}}]
                if draw(st.booleans()):
                    rule["ports"] = [{"port": draw(st.sampled_from(PORTS))}]
                rules.append(rule)
            spec[direction.lower()] = rules
        out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": f"np{i}", "namespace": draw(st.sampled_from(NAMESPACES))}, "spec": spec})
    return out


OPERATION_FIELDS: tuple[tuple[str, tuple[str, ...], int], ...] = (
    # field, its values, 1 in how many operations carries it
    ("ports", tuple(str(p) for p in PORTS), 6), ("notPorts", tuple(str(p) for p in PORTS), 8),
    ("methods", METHODS, 3), ("notMethods", METHODS, 3), ("paths", PATHS, 3), ("notPaths", PATHS, 4),
    ("hosts", HOSTS, 8), ("notHosts", HOSTS, 10))


@st.composite
def sources(draw: st.DrawFn) -> Obj:
    field = draw(st.sampled_from(("principals", "notPrincipals", "namespaces", "notNamespaces", "serviceAccounts",
                                  "ipBlocks", "notIpBlocks", "remoteIpBlocks")))
    if field == "serviceAccounts":
        values = [f"{draw(st.sampled_from(NAMESPACES))}/{draw(st.sampled_from(ACCOUNTS))}"]
    elif field.lower().endswith("principals"):
        values = [f"cluster.local/ns/{draw(st.sampled_from(NAMESPACES))}/sa/{draw(st.sampled_from(ACCOUNTS))}"]
    elif field.lower().endswith("namespaces"):
        values = [draw(st.sampled_from(NAMESPACES))]
    else:
        values = [draw(st.sampled_from(CIDRS))]
    return {"source": {field: values}}


@st.composite
def operations(draw: st.DrawFn) -> Obj:
    return {"operation": {field: _sub(draw, values) for field, values, odds in OPERATION_FIELDS
                          if draw(st.integers(1, odds)) == 1}}


@st.composite
def conditions(draw: st.DrawFn) -> Obj:
    key = draw(st.sampled_from(("request.headers[x-k]", "source.ip", "source.namespace")))
    if key.startswith("request."):
        values = _sub(draw, HEADER_VALUES)
    else:
        values = [draw(st.sampled_from(CIDRS if key == "source.ip" else NAMESPACES))]
    return {"key": key, draw(st.sampled_from(("values", "notValues"))): values}


@st.composite
def mesh_rules(draw: st.DrawFn) -> Obj:
    rule: Obj = {}
    if draw(st.integers(0, 3)) == 0:
        rule["from"] = [draw(sources())]
    if draw(st.integers(0, 3)):
        rule["to"] = draw(st.lists(operations(), min_size=1, max_size=2))
    if draw(st.integers(0, 3)) == 0:
        rule["when"] = draw(st.lists(conditions(), min_size=1, max_size=2))
    return rule


@st.composite
def mesh_policies(draw: st.DrawFn) -> list[Obj]:
    out: list[Obj] = []
    shared = draw(mesh_rules())  # a rule several policies may hold: ALLOW and DENY on the same requests
    for i in range(draw(st.integers(1, 3))):
        spec: Obj = {"action": draw(st.sampled_from(("ALLOW", "DENY", "ALLOW", "DENY", "AUDIT")))}
        if draw(st.integers(0, 2)) == 0:
            spec["selector"] = {"matchLabels": {"app": draw(st.sampled_from(APPS))}}
        if draw(st.integers(0, 5)):
            spec["rules"] = draw(st.lists(st.one_of(st.just(shared), mesh_rules()), min_size=1, max_size=2))
        out.append({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
                    "metadata": {"name": f"ap{i}", "namespace": draw(st.sampled_from((*NAMESPACES, "istio-system")))},
                    "spec": spec})
    if draw(st.booleans()):
        pa: Obj = {"mtls": {"mode": draw(st.sampled_from(("STRICT", "PERMISSIVE", "DISABLE")))}}
        if draw(st.booleans()):
            pa["selector"] = {"matchLabels": {"app": draw(st.sampled_from(APPS))}}
            if draw(st.booleans()):
                pa["portLevelMtls"] = {draw(st.sampled_from(PORTS)): {"mode": draw(st.sampled_from(("STRICT",
                                                                                                   "DISABLE")))}}
        out.append({"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
                    "metadata": {"name": "pa", "namespace": draw(st.sampled_from(NAMESPACES))}, "spec": pa})
    return out


@st.composite
def clusters(draw: st.DrawFn) -> list[Obj]:
    namespaces = [{"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": ns, "labels": ({"istio-injection": "enabled"} if draw(st.booleans()) else {})}}
                  for ns in NAMESPACES]
    services = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": ns},
                 "spec": {"selector": {"app": draw(st.sampled_from(APPS))},
                          "ports": [{"name": draw(st.sampled_from(("tcp", "http", "mysql-main"))), "port": 80}]}}
                for ns in NAMESPACES if draw(st.integers(0, 2)) == 0]  # a port named tcp is TCP to the mesh
    return [*namespaces, *draw(pods()), *services, *draw(network_policies()), *draw(mesh_policies())]


def _peers(analysis: Analysis) -> list[tuple[str, str, list[str]]]:
    """(peer, kind, the names ``explain`` takes for it): a workload by its name, a network piece
    of the engine by its first and last address (the map merges pieces into ranges per row)."""
    out: list[tuple[str, str, list[str]]] = []
    for p in connectivity_map(analysis).peers:
        if p.type is PeerType.WORKLOAD and not p.assumed:
            out.append((p.id, "workload", [p.id]))
    for atom in analysis.engine.universe.networks:
        if atom.version == 4:
            first, last = ipaddress.ip_address(atom.first), ipaddress.ip_address(atom.last)
            out.append((atom.id, "network", sorted({str(first), str(last)})))
    return out


def _pieces_of(peer: str, ranges: dict[str, tuple[int, int]], pieces: dict[str, tuple[int, int]]) -> list[str]:
    """A map peer as the names ``_peers`` uses: a network range as the engine pieces inside it."""
    if peer not in ranges:
        return [peer]
    first, last = ranges[peer]
    return [name for name, (lo, hi) in pieces.items() if first <= lo and hi <= last]


def _matches(pattern: str, value: str | None) -> bool:
    """Istio's string match (IST-12), written here again so the sample does not trust the code under test."""
    if value is None:
        return False
    if pattern == "*":
        return value != ""
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


def _requests(objects: list[Obj]) -> list[Request]:
    """One request of ``REQUESTS`` per kind the input's patterns tell apart (same matches, same answer)."""
    written: dict[str, set[str]] = {"methods": set(), "paths": set(), "hosts": set(), "headers": set()}
    for o in objects:
        for rule in o["spec"].get("rules") or () if o["kind"] == "AuthorizationPolicy" else ():
            for op in rule.get("to") or ():
                for key, values in op["operation"].items():
                    written.get(key.removeprefix("not").lower(), set()).update(values)
            for c in rule.get("when") or ():
                if c["key"].startswith("request.headers"):
                    written["headers"].update(c.get("values") or c.get("notValues") or ())
    methods, paths, hosts, values = (sorted(written[k]) for k in ("methods", "paths", "hosts", "headers"))
    kinds: dict[tuple[object, ...], Request] = {}
    for method, path, host, headers in REQUESTS:
        header = dict(headers).get("x-k")
        kind = (tuple(_matches(m, method) for m in methods), tuple(_matches(p, path) for p in paths),
                tuple(_matches(h, host) for h in hosts), header is None, tuple(_matches(v, header) for v in values))
        kinds.setdefault(kind, (method, path, host if hosts else "", headers))
    return list(kinds.values())


_DECIDED_BY_REQUESTS = {Reason.MESH_ALLOWED, Reason.MESH_NOT_ALLOWED, Reason.MESH_DENIED, Reason.MESH_NO_ALLOW,
                        Reason.MESH_CONDITIONAL}


def disagreements(objects: list[Obj]) -> list[str]:
    """Every way the map and explain disagree on this input (empty: they agree)."""
    analysis = analyse_text(to_yaml(objects), file="spec.yaml", options=Options(cni="generic", mesh="istio"))
    cmap = connectivity_map(analysis)
    peers = _peers(analysis)
    pieces = {n.id: (n.first, n.last) for n in analysis.engine.universe.networks}
    ranges = {p.id: (int(ipaddress.ip_network(p.cidrs[0]).network_address),
                     int(ipaddress.ip_network(p.cidrs[-1]).broadcast_address))
              for p in cmap.peers if p.type is PeerType.NETWORK}
    edges: dict[tuple[str, str], Connection] = {}
    for c in cmap.connections:
        for src_id in _pieces_of(c.src, ranges, pieces):
            for dst_id in _pieces_of(c.dst, ranges, pieces):
                edges[(src_id, dst_id)] = c
    requests = _requests(objects)
    pod_ips = {f"10.0.{i}.1" for i in range(4)}
    found: list[str] = []
    for (src, src_kind, src_names), (dst, dst_kind, dst_names) in itertools.product(peers, peers):
        if src == dst or (src_kind, dst_kind) == ("network", "network"):
            continue
        edge = edges.get((src, dst))
        conditional = bool(edge and edge.mesh and edge.mesh.get("requires"))
        for (protocol, port), source, target in itertools.product(PROBES, src_names, dst_names):
            if source in pod_ips or target in pod_ips:
                continue  # the address of a pod names the pod, not the network piece
            in_map = edge is not None and edge.ports.contains(protocol, port)
            where = f"{src} -> {dst} {protocol}/{port} (explain --from {source} --to {target})"
            answer = explain(analysis, source, target, port, protocol)
            if answer.allowed != in_map:
                found.append(f"{where}: map {'allows' if in_map else 'denies'}, explain does not")
                continue
            if source != src_names[0]:
                continue  # one address of a network piece is enough for the requests
            steps = answer.verdict.steps
            if any(s.layer == "cni" and s.effect == "deny" for s in steps) or \
                    not any(s.layer == "mesh" and s.reason in _DECIDED_BY_REQUESTS for s in steps):
                continue  # no HTTP request can change this answer
            answers = (explain(analysis, source, target, port, protocol, method=m, path=p, host=h or None,
                               headers=hs).allowed for m, p, h, hs in requests)
            if not in_map and any(answers):
                found.append(f"{where}: map denies, explain allows a request")
            elif in_map and not conditional and not all(answers):
                found.append(f"{where}: map allows unconditionally, explain denies a request")
            elif in_map and conditional and not any(answers):
                found.append(f"{where}: map allows if {edge.mesh}, explain denies every request"
                             if edge is not None and edge.mesh else where)
    return found


def _known(*policies: Obj) -> list[Obj]:
    """Two pods with sidecars and ``policies``: the disagreements the property found once."""
    pods = [{"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": f"w{i}", "namespace": "a", "labels": {"app": "x"}},
             "spec": {"serviceAccountName": "s1",
                      "containers": [{"name": "c", "image": "img", "ports": [{"containerPort": p}]}]},
             "status": {"podIP": f"10.0.{i}.1"}} for i, p in enumerate((80, 3306))]
    namespace = {"apiVersion": "v1", "kind": "Namespace",
                 "metadata": {"name": "a", "labels": {"istio-injection": "enabled"}}}
    return [namespace, *pods, *({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
                                 "metadata": {"name": f"ap{i}", "namespace": "a"}, "spec": spec}
                                for i, spec in enumerate(policies))]


ALLOW_GET = {"action": "ALLOW", "rules": [{"to": [{"operation": {"methods": ["GET"]}}]}]}
DENY_G = {"action": "DENY", "rules": [{"to": [{"operation": {"methods": ["G*"]}}]}]}
DENY_NOT_G = {"action": "DENY", "rules": [{"to": [{"operation": {"notMethods": ["G*"]}}]}]}
IMPOSSIBLE = {"action": "ALLOW", "rules": [{"to": [{"operation": {"methods": ["GET"], "notMethods": ["GET"]}}]}]}


@example(_known(IMPOSSIBLE))
@example(_known(ALLOW_GET, DENY_G))
@example(_known(DENY_G, DENY_NOT_G))
@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(clusters())
def test_item8_every_map_edge_agrees_with_explain_on_sampled_ports_and_requests(objects: list[Obj]) -> None:
    bad = disagreements(objects)
    assert not bad, "\n".join(bad[:10]) + "\n---\n" + to_yaml(objects)
