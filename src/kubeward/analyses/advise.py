"""`kubeward advise` (issue 14): least-privilege policies written from the observed allowed
traffic — per namespace a default deny and DNS egress to the cluster DNS, then per workload the
peers it was seen talking to, ports merged per peer, outside ends as the addresses seen (and, in
the cilium dialect, the DNS names seen and the HTTP requests seen). Each rule carries, as YAML
comments, the flows it was written for. ``advise_proof`` then proves the set with the engine."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import yaml

from ..dialects.grouping import CONTROLLER_LABELS
from ..flows.read import DistinctFlow, Endpoint, FlowRead, read_flows
from ..model import Workload
from .flow_place import Placer
from .flows import observed_verdict
from .session import Analysis, is_ip

DIALECTS = ("networkpolicy", "cilium")
# Labels that differ between pods or revisions of one workload, or between releases: never in a
# selector written to last (pod-template-hash and the controllers' per-pod labels, chart versions).
VOLATILE_LABELS = CONTROLLER_LABELS | {"helm.sh/chart", "app.kubernetes.io/version", "app.kubernetes.io/managed-by"}
NS_LABEL = "kubernetes.io/metadata.name"      # NP: the namespace's name label (Kubernetes sets it)
CILIUM_NS_LABEL = "k8s:io.kubernetes.pod.namespace"  # Cilium: the namespace of an endpoint
DNS_PORT = 53
_DNS_LABELS = {"k8s-app": "kube-dns"}


@dataclass(frozen=True, slots=True)
class Observed:
    """One distinct allowed flow as the advice reads it: placed ends, and the addresses and DNS
    names seen for an end outside the pods."""

    flow: DistinctFlow
    src: str
    dst: str
    src_ip: str
    dst_ip: str
    protocol: str
    port: int

    @property
    def method(self) -> str:
        return self.flow.key.method

    @property
    def path(self) -> str:
        return self.flow.key.path

    @property
    def names(self) -> tuple[str, ...]:
        return self.flow.key.names

    @property
    def label(self) -> str:
        dns = self.flow.key.dns
        http = f" {self.method} {self.path}" if self.method else f" dns {dns}" if dns else ""
        dst = self.dst if not self.dst_ip or self.dst_ip == self.dst else f"{self.dst} ({self.dst_ip})"
        return f"{self.src} → {dst} {self.protocol}/{self.port}{http}"

    @property
    def comment(self) -> str:
        return f"{self.label} ×{self.flow.count} (first seen {self.flow.where})"

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"source": self.src, "destination": self.dst, "protocol": self.protocol,
                                  "port": self.port, "count": self.flow.count, "where": self.flow.where}
        if self.src_ip and self.src_ip != self.src:
            out["sourceAddress"] = self.src_ip
        if self.dst_ip and self.dst_ip != self.dst:
            out["destinationAddress"] = self.dst_ip
        if self.method:
            out["http"] = {"method": self.method, "path": self.path}
        if self.names:
            out["destinationNames"] = list(self.names)
        return out


@dataclass(slots=True)
class Skipped:
    """An observed flow no rule was written for, and why."""

    flow: DistinctFlow
    reason: str

    def to_json(self) -> dict[str, object]:
        k = self.flow.key
        return {"source": k.source.display, "destination": k.destination.display, "protocol": k.protocol,
                "port": k.port, "count": self.flow.count, "where": self.flow.where, "reason": self.reason}


@dataclass(slots=True)
class Rule:
    """One rule of a written policy: its YAML value and the flows it covers (its comments)."""

    body: dict[str, object]
    flows: list[Observed] = field(default_factory=list)
    note: str = ""


@dataclass(slots=True)
class Policy:
    namespace: str
    name: str
    kind: str
    head: dict[str, object]  # apiVersion, kind, metadata, spec without the rules
    ingress: list[Rule] = field(default_factory=list)
    egress: list[Rule] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self, file: str) -> dict[str, object]:
        return {"namespace": self.namespace, "name": self.name, "kind": self.kind, "file": file,
                "ingressRules": len(self.ingress), "egressRules": len(self.egress)}


@dataclass(slots=True)
class Advice:
    dialect: str
    observed: list[Observed]
    skipped: list[Skipped]
    policies: dict[str, list[Policy]]  # per namespace, in writing order
    observed_denied: int = 0           # distinct flows observed dropped by a policy: never advised
    apart: int = 0                     # replies and non-policy verdicts: not traffic to allow


# ---- reading ------------------------------------------------------------------------------------

def read_for_advice(analysis: Analysis, paths: Iterable[str],
                    progress: Callable[[int], None] | None = None) -> FlowRead:
    """The flows of ``paths`` placed among the peers of ``analysis`` (as ``read_placed``), keeping
    the address of an end placed by its DNS name: the advice writes it as a CIDR."""
    placer = Placer(analysis)

    def place(end: Endpoint, names: tuple[str, ...] = ()) -> Endpoint:
        placed = placer.endpoint(end, names)
        return replace(placed, ip=end.ip) if placed.placed_by == "dns" and end.ip else placed

    return read_flows(paths, progress, place)


def observed_allowed(analysis: Analysis, read: FlowRead) -> tuple[list[Observed], list[Skipped], int, int]:
    """The observed allowed flows (FORWARDED, REDIRECTED; replies and non-policy verdicts apart)
    with placed ends; the ones that cannot be written, with why; the number observed denied and
    set apart."""
    cluster = analysis.cluster
    out: list[Observed] = []
    skipped: list[Skipped] = []
    denied = apart = 0
    for flow in read.flows:
        observed, why = observed_verdict(flow)
        if why:
            apart += 1
            continue
        if observed == "deny":
            denied += 1
            continue
        k = flow.key
        if k.protocol not in ("TCP", "UDP", "SCTP") or k.port is None:
            skipped.append(Skipped(flow, f"{k.protocol or 'no L4'}: policies here are written for TCP, UDP and "
                                         "SCTP ports"))
            continue
        ends: list[tuple[str, str]] = []
        for end in (k.source, k.destination):
            if not end.peer:
                ends.append(("", f"{end.display}: cannot be placed among the input's workloads"))
            elif cluster.workload(end.peer) is not None:
                ends.append((end.peer, ""))
            elif end.peer.startswith("service/"):
                ends.append(("", f"{end.peer}: a Service address (seen before load-balancing): no workload to "
                                 "select"))
            elif is_ip(end.peer):
                ends.append((end.peer, end.peer))
            elif end.ip and is_ip(end.ip):
                ends.append((end.peer, end.ip))
            else:
                ends.append(("", f"{end.display}: outside the pods with no address seen"))
        (src, src_ip), (dst, dst_ip) = ends
        if not src or not dst:
            skipped.append(Skipped(flow, src_ip if not src else dst_ip))
            continue
        if cluster.workload(src) is None and cluster.workload(dst) is None:
            skipped.append(Skipped(flow, "neither end is a workload of the input"))
            continue
        if cluster.workload(src) is not None:
            src_ip = ""
        if cluster.workload(dst) is not None:
            dst_ip = ""
        out.append(Observed(flow, src, dst, src_ip, dst_ip, k.protocol, k.port))
    return out, skipped, denied, apart


def stable_labels(w: Workload) -> dict[str, str]:
    """The labels of ``w``'s pods that select them across pods and rollouts."""
    return {k: v for k, v in sorted(w.labels.items()) if k not in VOLATILE_LABELS}


def dns_workloads(analysis: Analysis) -> list[Workload]:
    return [w for w in analysis.cluster.workloads if all(w.labels.get(k) == v for k, v in _DNS_LABELS.items())]


# ---- writing ------------------------------------------------------------------------------------

PeerKey = tuple[str, str]  # ("workload", id) | ("ip", address) | ("fqdn", name)


def advise(analysis: Analysis, read: FlowRead, dialect: str = "networkpolicy",
           namespaces: Iterable[str] = ()) -> Advice:
    """The policies the observed allowed flows of ``read`` ask for, per namespace (only
    ``namespaces`` when given: the others are left as they are)."""
    observed, skipped, denied, apart = observed_allowed(analysis, read)
    cluster = analysis.cluster
    cilium = dialect == "cilium"
    dns_ids = {w.id for w in dns_workloads(analysis)}
    seen_ns = sorted({w.namespace for o in observed for p in (o.src, o.dst) if (w := cluster.workload(p))})
    wanted = set(namespaces) or set(seen_ns)
    # (subject workload, direction) -> peer -> flows
    sides: dict[tuple[str, str], dict[PeerKey, list[Observed]]] = {}
    dns_flows: dict[str, list[Observed]] = {}
    for o in observed:
        src_w, dst_w = cluster.workload(o.src), cluster.workload(o.dst)
        if src_w is not None and src_w.namespace in wanted:
            if o.dst in dns_ids and o.port == DNS_PORT:
                dns_flows.setdefault(src_w.namespace, []).append(o)  # the namespace's DNS rule covers it
            else:
                peer: PeerKey = ("workload", o.dst) if dst_w is not None else \
                    ("fqdn", o.names[0]) if cilium and o.names else ("ip", o.dst_ip)
                sides.setdefault((o.src, "egress"), {}).setdefault(peer, []).append(o)
        if dst_w is not None and dst_w.namespace in wanted:
            peer = ("workload", o.src) if src_w is not None else ("ip", o.src_ip)
            sides.setdefault((o.dst, "ingress"), {}).setdefault(peer, []).append(o)
    policies: dict[str, list[Policy]] = {}
    for ns in sorted(wanted):
        fqdn = cilium and any(p[0] == "fqdn" for (wid, d), peers in sides.items() if wid.startswith(ns + "/")
                              for p in peers)
        written = [_default_deny(ns, cilium), _dns_policy(analysis, ns, cilium, fqdn, dns_flows.get(ns, []))]
        for w in sorted((w for w in cluster.workloads if w.namespace == ns), key=lambda w: w.name):
            ingress, egress = sides.get((w.id, "ingress"), {}), sides.get((w.id, "egress"), {})
            if not ingress and not egress:
                continue
            written.append(_workload_policy(analysis, w, ingress, egress, cilium))
        _unique_names(written)
        policies[ns] = written
    return Advice(dialect, observed, skipped, policies, denied, apart)


def _unique_names(policies: list[Policy]) -> None:
    used: set[str] = set()
    for p in policies:
        name, n = p.name, 2
        while name in used:
            name, n = f"{p.name}-{n}", n + 1
        if name != p.name:
            p.name = name
            meta = p.head["metadata"]
            assert isinstance(meta, dict)
            meta["name"] = name
        used.add(name)


def _head(ns: str, name: str, cilium: bool) -> dict[str, object]:
    if cilium:
        return {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
                "metadata": {"name": name, "namespace": ns}, "spec": {}}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": {}}


def _spec(policy: dict[str, object]) -> dict[str, object]:
    spec = policy["spec"]
    assert isinstance(spec, dict)
    return spec


def _default_deny(ns: str, cilium: bool) -> Policy:
    head = _head(ns, "default-deny", cilium)
    if cilium:  # CIL-1, CIL-3: an empty rule (`- {}`) isolates its direction and allows nothing
        _spec(head)["endpointSelector"] = {}
        policy = Policy(ns, "default-deny", "CiliumNetworkPolicy", head, [Rule({})], [Rule({})])
    else:
        _spec(head).update(podSelector={}, policyTypes=["Ingress", "Egress"])  # NP-3, NP-12: no rules isolate
        policy = Policy(ns, "default-deny", "NetworkPolicy", head)
    policy.notes.append(f"every pod of {ns}: nothing in, nothing out, but what the policies below allow")
    return policy


def _dns_policy(analysis: Analysis, ns: str, cilium: bool, fqdn: bool, flows: list[Observed]) -> Policy:
    found = dns_workloads(analysis)
    dns_ns = found[0].namespace if found else "kube-system"
    labels = stable_labels(found[0]) if found else dict(_DNS_LABELS)
    ports = [{"protocol": "UDP", "port": DNS_PORT}, {"protocol": "TCP", "port": DNS_PORT}]
    head = _head(ns, "allow-dns", cilium)
    if cilium:
        _spec(head)["endpointSelector"] = {}
        to_ports: dict[str, object] = {"ports": [{"port": str(DNS_PORT), "protocol": "UDP"},
                                                 {"port": str(DNS_PORT), "protocol": "TCP"}]}
        if fqdn:  # toFQDNs learns addresses only from lookups through Cilium's DNS proxy (CIL-21)
            to_ports["rules"] = {"dns": [{"matchPattern": "*"}]}
        body: dict[str, object] = {"toEndpoints": [{"matchLabels": {CILIUM_NS_LABEL: dns_ns, **labels}}],
                                   "toPorts": [to_ports]}
        kind = "CiliumNetworkPolicy"
    else:
        _spec(head).update(podSelector={}, policyTypes=["Egress"])
        body = {"to": [{"namespaceSelector": {"matchLabels": {NS_LABEL: dns_ns}},
                        "podSelector": {"matchLabels": labels}}], "ports": ports}
        kind = "NetworkPolicy"
    rule = Rule(body, sorted(flows, key=lambda o: o.label))
    if not flows:
        rule.note = "no DNS lookup was seen: kept so that names keep resolving"
    policy = Policy(ns, "allow-dns", kind, head, egress=[rule])
    policy.notes.append(f"every pod of {ns} may ask the cluster DNS")
    return policy


def _workload_policy(analysis: Analysis, w: Workload, ingress: dict[PeerKey, list[Observed]],
                     egress: dict[PeerKey, list[Observed]], cilium: bool) -> Policy:
    head = _head(w.namespace, f"allow-{w.name}", cilium)
    labels = stable_labels(w)
    selector: dict[str, object] = {"matchLabels": labels} if labels else {}
    policy = Policy(w.namespace, f"allow-{w.name}", "CiliumNetworkPolicy" if cilium else "NetworkPolicy", head)
    others = [o.id for o in analysis.cluster.workloads if o.namespace == w.namespace and o.id != w.id
              and all(o.labels.get(k) == v for k, v in labels.items())]
    policy.notes.append(f"{w.kind} {w.id}")
    if others:
        policy.notes.append(f"note: these labels also select {', '.join(sorted(others))}")
    if cilium:
        _spec(head)["endpointSelector"] = selector
    else:
        types = [t for t, rules in (("Ingress", ingress), ("Egress", egress)) if rules]
        _spec(head).update(podSelector=selector, policyTypes=types)
    for direction, peers, out in (("ingress", ingress, policy.ingress), ("egress", egress, policy.egress)):
        out.extend(_rules(analysis, w.namespace, direction, peers, cilium))
    return policy


def _rules(analysis: Analysis, ns: str, direction: str, peers: dict[PeerKey, list[Observed]],
           cilium: bool) -> list[Rule]:
    """One rule per workload peer (its ports merged); outside peers with the same ports in one
    rule, their addresses as CIDRs (collapsed) or, in the cilium dialect, their DNS names."""
    rules: list[Rule] = []
    outside: dict[tuple[tuple[str, int], ...], list[tuple[PeerKey, list[Observed]]]] = {}
    for key, flows in sorted(peers.items()):
        ports = tuple(sorted({(o.protocol, o.port) for o in flows}))
        if key[0] != "workload":
            outside.setdefault(ports, []).append((key, flows))
            continue
        w = analysis.cluster.workload(key[1])
        assert w is not None
        labels = stable_labels(w)
        if cilium:
            # CIL-7: peer selectors without a namespace label stay in the policy's namespace
            match = dict(labels) if w.namespace == ns else {CILIUM_NS_LABEL: w.namespace, **labels}
            body: dict[str, object] = {("toEndpoints" if direction == "egress" else "fromEndpoints"):
                                       [{"matchLabels": match}]}
        else:
            peer: dict[str, object] = {"podSelector": {"matchLabels": labels} if labels else {}}
            if w.namespace != ns:  # NP-16: namespaceSelector and podSelector in one peer: both must match
                peer = {"namespaceSelector": {"matchLabels": {NS_LABEL: w.namespace}}, **peer}
            body = {("to" if direction == "egress" else "from"): [peer]}
        body.update(_ports(flows, cilium))
        rules.append(Rule(body, sorted(flows, key=lambda o: o.label)))
    for _, group in sorted(outside.items()):
        names = sorted({k[1] for k, _ in group if k[0] == "fqdn"})
        ips = sorted({(o.dst_ip if direction == "egress" else o.src_ip) for k, fl in group if k[0] == "ip" for o in fl})
        cidrs = _cidrs(ips)
        if names:
            body = {"toFQDNs": [{"matchName": n} for n in names]}
            body.update(_ports([o for k, fl in group if k[0] == "fqdn" for o in fl], cilium))
            rules.append(Rule(body, sorted((o for k, fl in group if k[0] == "fqdn" for o in fl),
                                           key=lambda o: o.label)))
        if cidrs:
            fl_ip = sorted((o for k, fl in group if k[0] == "ip" for o in fl), key=lambda o: o.label)
            if cilium:
                body = {("toCIDR" if direction == "egress" else "fromCIDR"): cidrs}
            else:
                body = {("to" if direction == "egress" else "from"): [{"ipBlock": {"cidr": c}} for c in cidrs]}
            body.update(_ports(fl_ip, cilium))
            rules.append(Rule(body, fl_ip))
    return rules


def _cidrs(ips: list[str]) -> list[str]:
    """The addresses as /32 (/128) networks, adjacent ones merged, per address family."""
    v4 = [ipaddress.IPv4Network(ip) for ip in ips if ipaddress.ip_address(ip).version == 4]
    v6 = [ipaddress.IPv6Network(ip) for ip in ips if ipaddress.ip_address(ip).version == 6]
    return [str(n) for n in ipaddress.collapse_addresses(v4)] + [str(n) for n in ipaddress.collapse_addresses(v6)]


def _ports(flows: list[Observed], cilium: bool) -> dict[str, object]:
    ports = sorted({(o.protocol, o.port) for o in flows}, key=lambda p: (p[1], p[0]))
    if not cilium:
        return {"ports": [{"protocol": p, "port": n} for p, n in ports]}
    http: dict[tuple[str, int], set[tuple[str, str]]] = {}
    for o in flows:
        if o.method:
            http.setdefault((o.protocol, o.port), set()).add((o.method, o.path))
    plain = [{"port": str(n), "protocol": p} for p, n in ports if (p, n) not in http]
    entries: list[dict[str, object]] = [{"ports": plain}] if plain else []
    for (p, n), requests in sorted(http.items(), key=lambda i: (i[0][1], i[0][0])):
        # CIL-16: the path is a regular expression that must match the whole path: the path seen, escaped
        rules = [{"method": m, "path": re.escape(path)} for m, path in sorted(requests)]
        entries.append({"ports": [{"port": str(n), "protocol": p}], "rules": {"http": rules}})
    return {"toPorts": entries}


# ---- YAML -----------------------------------------------------------------------------------------

def _dump(value: object) -> str:
    return yaml.safe_dump(value, sort_keys=False, default_flow_style=False, allow_unicode=True, width=120)


def _comment(text: str, indent: str) -> str:
    return "".join(f"{indent}# {line}\n" for line in text.splitlines())


def policy_yaml(policy: Policy) -> str:
    """``policy`` as readable YAML: key order as written, each rule preceded by the flows it
    covers as comments."""
    out = [_comment(n, "") for n in policy.notes]
    out.append(_dump(policy.head).replace("spec: {}\n", "spec:\n"))
    for direction, rules in (("ingress", policy.ingress), ("egress", policy.egress)):
        if not rules:
            continue
        out.append(f"  {direction}:\n")
        for rule in rules:
            if rule.note:
                out.append(_comment(rule.note, "  "))
            for o in rule.flows:
                out.append(_comment(o.comment, "  "))
            text = _dump([rule.body])
            out.append("".join(f"  {line}\n" for line in text.splitlines()))
    return "".join(out)


def namespace_yaml(ns: str, policies: list[Policy], dialect: str) -> str:
    header = (f"# Written by kubeward advise ({dialect}) from the observed allowed traffic of namespace {ns}.\n"
              "# Each rule lists the flows it was written for; prove the set again with `kubeward advise`.\n")
    return header + "---\n".join(policy_yaml(p) for p in policies)
