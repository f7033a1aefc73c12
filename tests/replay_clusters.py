"""Seeded random clusters with every policy kind a profile enforces, for the kernel replay:
generic (NetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy), calico (Kubernetes
NetworkPolicy, Calico NetworkPolicy and GlobalNetworkPolicy in ordered tiers with Allow, Deny,
Pass and Log, Tiers with defaultAction), cilium (NetworkPolicy, CiliumNetworkPolicy with allow and
deny sections, CIDR sets with except, port ranges). Named ports, port ranges, UDP and SCTP."""

from __future__ import annotations

import random
from typing import Any

import yaml

Obj = dict[str, Any]
NAMESPACES = ("a", "b", "c")
APPS = ("ax", "by", "cz")
CIDRS = ("192.168.0.0/16", "10.7.0.0/16", "0.0.0.0/0", "203.0.113.0/24")
EXCEPT = {"192.168.0.0/16": "192.168.5.0/24", "10.7.0.0/16": "10.7.1.0/24", "0.0.0.0/0": "10.0.0.0/8",
          "203.0.113.0/24": "203.0.113.128/25"}
PORTS = [("TCP", 80, None), ("TCP", 8080, 8090), ("UDP", 53, None), ("TCP", 9090, None), ("SCTP", 3868, None),
         ("UDP", 5000, 5010)]
NAMED = ("http", "dns", "metrics")


def _pods(r: random.Random) -> list[Obj]:
    out: list[Obj] = []
    for i in range(r.randint(5, 8)):
        ns = r.choice(NAMESPACES)
        labels = {"app": r.choice(APPS), "tier": r.choice(("fe", "be"))}
        ports = [{"name": "http", "containerPort": r.choice((8080, 8085, 80)), "protocol": "TCP"},
                 {"name": "dns", "containerPort": 53, "protocol": "UDP"}]
        if r.random() < 0.5:
            ports.append({"name": "metrics", "containerPort": 9090, "protocol": "TCP"})
        out.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "namespace": ns, "labels": labels},
                    "spec": {"containers": [{"name": "c", "image": "i", "ports": ports}]},
                    "status": {"phase": "Running", "podIP": f"10.7.{i // 200}.{i % 200 + 2}"}})
    return out


def _namespaces() -> list[Obj]:
    return [{"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": n, "labels": {"kubernetes.io/metadata.name": n, "team": "t" + str(i % 2)}}}
            for i, n in enumerate(NAMESPACES)]


def _np_ports(r: random.Random) -> list[Obj] | None:
    if r.random() < 0.25:
        return None
    out: list[Obj] = []
    for _ in range(r.randint(1, 2)):
        if r.random() < 0.3:
            out.append({"port": r.choice(NAMED), "protocol": "UDP" if r.random() < 0.2 else "TCP"})
            continue
        proto, port, end = r.choice(PORTS)
        item: Obj = {"protocol": proto, "port": port}
        if end:
            item["endPort"] = end
        out.append(item)
    return out


def _np_peer(r: random.Random) -> Obj:
    kind = r.randint(0, 3)
    if kind == 0:
        return {"podSelector": {"matchLabels": {"app": r.choice(APPS)}}}
    if kind == 1:
        return {"namespaceSelector": {"matchLabels": {"team": r.choice(("t0", "t1"))}}}
    if kind == 2:
        return {"namespaceSelector": {}, "podSelector": {"matchLabels": {"tier": r.choice(("fe", "be"))}}}
    cidr = r.choice(CIDRS)
    return {"ipBlock": {"cidr": cidr, **({"except": [EXCEPT[cidr]]} if r.random() < 0.5 else {})}}


def network_policies(r: random.Random, count: int) -> list[Obj]:
    out: list[Obj] = []
    for i in range(count):
        spec: Obj = {"podSelector": {"matchLabels": {"app": r.choice(APPS)}} if r.random() < 0.8 else {}}
        types = r.choice((["Ingress"], ["Egress"], ["Ingress", "Egress"]))
        spec["policyTypes"] = types
        for t in types:
            rules = []
            for _ in range(r.randint(0, 2)):
                rule: Obj = {("from" if t == "Ingress" else "to"): [_np_peer(r) for _ in range(r.randint(1, 2))]}
                ports = _np_ports(r)
                if ports is not None:
                    rule["ports"] = ports
                rules.append(rule)
            spec[t.lower()] = rules
        out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": f"np{i}", "namespace": r.choice(NAMESPACES)}, "spec": spec})
    return out


def _anp_ports(r: random.Random) -> list[Obj] | None:
    if r.random() < 0.3:
        return None
    choice = r.randint(0, 2)
    if choice == 0:
        return [{"namedPort": r.choice(NAMED)}]
    proto, port, end = r.choice(PORTS)
    if choice == 1 or not end:
        return [{"portNumber": {"protocol": proto, "port": port}}]
    return [{"portRange": {"protocol": proto, "start": port, "end": end}}]


def _anp_peer(r: random.Random, egress: bool) -> Obj:
    kind = r.randint(0, 2 if egress else 1)
    if kind == 0:
        return {"namespaces": {"matchLabels": {"team": r.choice(("t0", "t1"))}}}
    if kind == 1:
        return {"pods": {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": r.choice(APPS)}}}}
    return {"networks": [r.choice(CIDRS)]}


def admin_policies(r: random.Random, count: int) -> list[Obj]:
    out: list[Obj] = []
    for i in range(count + 1):
        baseline = i == count
        actions = ("Allow", "Deny") if baseline else ("Allow", "Deny", "Pass")
        spec: Obj = {"subject": {"namespaces": {"matchLabels": {"team": r.choice(("t0", "t1"))}}}
                     if r.random() < 0.5 else
                     {"pods": {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": r.choice(APPS)}}}}}
        if not baseline:
            spec["priority"] = i * 10 + 1
        for direction in ("ingress", "egress"):
            rules = []
            for k in range(r.randint(0, 2)):
                rule: Obj = {"name": f"{direction}{k}", "action": r.choice(actions),
                             ("to" if direction == "egress" else "from"): [_anp_peer(r, direction == "egress")]}
                ports = _anp_ports(r)
                if ports is not None:
                    rule["ports"] = ports
                rules.append(rule)
            if rules:
                spec[direction] = rules
        out.append({"apiVersion": "policy.networking.k8s.io/v1alpha1",
                    "kind": "BaselineAdminNetworkPolicy" if baseline else "AdminNetworkPolicy",
                    "metadata": {"name": "default" if baseline else f"anp{i}"}, "spec": spec})
    return out


def _calico_rule(r: random.Random, direction: str) -> Obj:
    rule: Obj = {"action": r.choice(("Allow", "Deny", "Pass", "Log", "Allow"))}
    proto, port, end = r.choice(PORTS)
    if r.random() < 0.7:
        rule["protocol"] = proto
    peer: Obj = {}
    if r.random() < 0.5:
        peer["selector"] = f"app == '{r.choice(APPS)}'"
    elif r.random() < 0.5:
        peer["nets"] = [r.choice(CIDRS)]
    own: Obj = {}
    if "protocol" in rule and r.random() < 0.7:
        own["ports"] = [port if not end else f"{port}:{end}"]
    if direction == "ingress":
        rule["source"], rule["destination"] = peer, own
    else:
        rule["destination"] = {**peer, **own}
    return rule


def calico_policies(r: random.Random, count: int) -> list[Obj]:
    out: list[Obj] = [{"apiVersion": "projectcalico.org/v3", "kind": "Tier",
                       "metadata": {"name": t}, "spec": {"order": o, "defaultAction": a}}
                      for t, o, a in (("security", 100, "Deny"), ("platform", 200, "Pass"))]
    for i in range(count):
        tier = r.choice(("security", "platform", "default"))
        name = f"cp{i}" if tier == "default" else f"{tier}.cp{i}"
        types = r.choice((["Ingress"], ["Egress"], ["Ingress", "Egress"]))
        spec: Obj = {"tier": tier, "order": r.choice((10, 20, 30)), "selector": f"app == '{r.choice(APPS)}'",
                     "types": types}
        for t in types:
            spec[t.lower()] = [_calico_rule(r, t.lower()) for _ in range(r.randint(0, 3))]
        glob = r.random() < 0.4
        out.append({"apiVersion": "projectcalico.org/v3",
                    "kind": "GlobalNetworkPolicy" if glob else "NetworkPolicy",
                    "metadata": {"name": name, **({} if glob else {"namespace": r.choice(NAMESPACES)})},
                    "spec": spec})
    return out


def cilium_policies(r: random.Random, count: int) -> list[Obj]:
    out: list[Obj] = []
    for i in range(count):
        spec: Obj = {"endpointSelector": {"matchLabels": {"app": r.choice(APPS)}}}
        for section in r.sample(("ingress", "egress", "ingressDeny", "egressDeny"), r.randint(1, 2)):
            egress = section.startswith("egress")
            rules = []
            for _ in range(r.randint(1, 2)):
                rule: Obj = {}
                if r.random() < 0.6:
                    rule["toEndpoints" if egress else "fromEndpoints"] = [{"matchLabels": {"app": r.choice(APPS)}}]
                else:
                    cidr = r.choice(CIDRS)
                    rule["toCIDRSet" if egress else "fromCIDRSet"] = [
                        {"cidr": cidr, **({"except": [EXCEPT[cidr]]} if r.random() < 0.5 else {})}]
                if r.random() < 0.7:
                    proto, port, end = r.choice(PORTS)
                    item: Obj = {"port": str(port), "protocol": proto}
                    if end:
                        item["endPort"] = end
                    rule["toPorts"] = [{"ports": [item]}]
                rules.append(rule)
            spec[section] = rules
        out.append({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
                    "metadata": {"name": f"cnp{i}", "namespace": r.choice(NAMESPACES)}, "spec": spec})
    return out


def cluster(seed: int, cni: str) -> str:
    r = random.Random(seed)
    docs = [*_namespaces(), *_pods(r), *network_policies(r, r.randint(1, 3))]
    if cni == "generic":
        docs += admin_policies(r, r.randint(1, 3))
    elif cni == "calico":
        docs += admin_policies(r, 1) + calico_policies(r, r.randint(2, 5))
    else:
        docs += cilium_policies(r, r.randint(2, 4))
    return str(yaml.safe_dump_all(docs, sort_keys=False))
