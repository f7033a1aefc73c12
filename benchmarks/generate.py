"""Seeded generator of synthetic clusters for the kubeward performance benchmark.

    python benchmarks/generate.py --pods 10000 [--seed 1] [--out cluster.yaml|-]

Writes one multi-document YAML stream: Namespaces, ServiceAccounts, Deployments, Services and
NetworkPolicies. The shape scales with --pods (pods = sum of Deployment replicas, exactly N):

* workloads (Deployments) = N // 5, replicas 1-9 (mean about 5), including a coredns
  Deployment (2 replicas) in kube-system;
* user namespaces = max(2, workloads // 20), plus kube-system;
* NetworkPolicies = max(workloads, 2 * namespaces): one default-deny and one DNS egress allow
  per user namespace, the rest a mix of ingress/egress rules (pod/namespace selectors, both in
  one peer, matchExpressions, ipBlocks with except, named/numeric ports, endPort ranges,
  UDP/SCTP, a few rules with empty from/to).

Only random.Random(seed) is used, so a given (pods, seed) always yields the same bytes.

--shape picks other clusters that once made kubeward slow (issue 12), to keep them measured:

* ``no-policies``: the same workloads without any NetworkPolicy: everything reaches everything,
  so the map lists workloads² connections (``--pods 2500``: 500 Deployments, 250,000 rows; the
  text map took 112 s with a rich Table);
* ``bare-pods``: N bare Pods with the same labels in one namespace, no policy (5,000 took more
  than 120 s and 6 GB as 5,000 workloads; alike Pods are now one workload).

Measure the text map with ``benchmarks/run.py --cmd "python -m kubeward map {file}"``.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, dataclass
from enum import StrEnum
from random import Random
from typing import Any, TextIO

import yaml

try:
    _BaseDumper: type = yaml.CSafeDumper
except AttributeError:  # PyYAML built without libyaml
    _BaseDumper = yaml.SafeDumper


class _Dumper(_BaseDumper):  # type: ignore[misc]
    def ignore_aliases(self, data: Any) -> bool:  # never emit &id001 anchors
        return True


Obj = dict[str, Any]

TEAMS = list("abcdefgh")
ENVS = ["prod", "staging", "dev"]
NS_TIERS = ["edge", "apps", "data", "platform"]
ROLES = ["frontend", "backend", "db", "cache", "worker"]
POD_TIERS = ["web", "api", "data", "batch"]
ROLE_TIER = {"frontend": "web", "backend": "api", "db": "data", "cache": "data", "worker": "batch"}
VERSIONS = ["v1", "v2", "v3"]
APP_WORDS = (
    "cart checkout catalog search auth billing ledger inventory shipping review "
    "profile notify report media gateway session pricing order payment recommend"
).split()
NS_WORDS = ["shop", "pay", "data", "ops", "web", "ml", "core", "edge"]

# (name, port, protocol) per role; every role also gets a few random extras below.
ROLE_PORTS: dict[str, list[tuple[str, int, str]]] = {
    "frontend": [("http", 8080, "TCP"), ("metrics", 9090, "TCP")],
    "backend": [("http", 8080, "TCP"), ("grpc", 9000, "TCP"), ("metrics", 9090, "TCP")],
    "db": [("db", 5432, "TCP"), ("metrics", 9187, "TCP")],
    "cache": [("redis", 6379, "TCP"), ("metrics", 9121, "TCP")],
    "worker": [("metrics", 9090, "TCP"), ("statsd", 8125, "UDP")],
}
EXTRA_PORTS: list[tuple[float, list[tuple[str, int, str]]]] = [
    (0.15, [("syslog", 514, "UDP")]),
    (0.10, [("gossip-tcp", 7946, "TCP"), ("gossip-udp", 7946, "UDP")]),
    (0.05, [("diameter", 3868, "SCTP")]),
]
NAMED_PORTS = ["http", "metrics", "grpc", "db", "redis", "statsd", "syslog", "gossip-udp"]
NUMERIC_PORTS = [80, 443, 8080, 9090, 9000, 5432, 6379, 3306, 8443, 53]
PORT_RANGES = [(8000, 8100), (30000, 32767), (9000, 9100), (5000, 5010), (1024, 2047)]


@dataclass
class Stats:
    pods: int
    workloads: int
    namespaces: int
    services: int
    service_accounts: int
    policies: int
    documents: int


@dataclass
class _Workload:
    name: str
    namespace: str
    replicas: int
    labels: dict[str, str]
    ports: list[tuple[str, int, str]]


def _cidr_pool(rng: Random) -> list[Obj]:
    """A few dozen distinct ipBlocks (cidr + except) in the usual ranges."""
    pool: list[Obj] = [
        {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "192.168.0.0/16", "172.16.0.0/12"]},
        {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]},
        {"cidr": "10.0.0.0/8"},
        {"cidr": "192.168.0.0/16", "except": ["192.168.255.0/24"]},
        {"cidr": "203.0.113.0/24", "except": ["203.0.113.128/25"]},
    ]
    for a in rng.sample(range(1, 255), 10):
        block: Obj = {"cidr": f"10.{a}.0.0/16"}
        if rng.random() < 0.6:
            block["except"] = [f"10.{a}.{b}.0/24" for b in sorted(rng.sample(range(256), 2))]
        pool.append(block)
    for b in rng.sample(range(256), 8):
        pool.append({"cidr": f"192.168.{b}.0/24"})
    for k in rng.sample(range(16), 6):
        block = {"cidr": f"203.0.113.{k * 16}/28"}
        if rng.random() < 0.5:
            block["except"] = [f"203.0.113.{k * 16 + 8}/29"]
        pool.append(block)
    for a, b in zip(rng.sample(range(1, 255), 4), rng.sample(range(256), 4), strict=True):
        pool.append({"cidr": f"10.{a}.{b}.{rng.randrange(0, 256, 32)}/27"})
    return pool


class _Generator:
    def __init__(self, pods: int, seed: int, dense: bool = False, policies: int | None = None) -> None:
        self.rng = Random(seed)
        self.dense = dense
        self.pods = pods
        self.n_workloads = max(1, pods // 5)
        self.n_namespaces = max(2, self.n_workloads // 20)
        self.n_policies = max(policies if policies is not None else self.n_workloads, 2 * self.n_namespaces)
        self.cidrs = _cidr_pool(self.rng)
        self.namespaces: list[str] = []
        self.ns_labels: dict[str, dict[str, str]] = {}
        self.workloads: list[_Workload] = []
        self.by_ns: dict[str, list[_Workload]] = {}

    # ---- cluster --------------------------------------------------------------------------

    def _replicas(self, n: int, total: int) -> list[int]:
        assert n <= total <= 9 * n, (n, total)
        counts = [self.rng.randint(1, 9) for _ in range(n)]
        diff = total - sum(counts)
        i = n - 1
        while diff:  # adjust the last ones, staying within 1..9
            if diff > 0 and counts[i] < 9:
                step = min(diff, 9 - counts[i])
            elif diff < 0 and counts[i] > 1:
                step = max(diff, 1 - counts[i])
            else:
                step = 0
            counts[i] += step
            diff -= step
            i = (i - 1) % n
        return counts

    def cluster(self) -> list[Obj]:
        rng = self.rng
        docs: list[Obj] = []
        for j in range(self.n_namespaces):
            name = f"{NS_WORDS[j % len(NS_WORDS)]}-{j}"
            labels = {
                "kubernetes.io/metadata.name": name,
                "team": rng.choice(TEAMS),
                "env": rng.choice(ENVS),
                "tier": rng.choice(NS_TIERS),
            }
            if rng.random() < 0.1:
                labels["debug"] = "true"
            self.namespaces.append(name)
            self.ns_labels[name] = labels
            self.by_ns[name] = []
            docs.append(_namespace(name, labels))
        docs.append(_namespace("kube-system", {"kubernetes.io/metadata.name": "kube-system"}))

        user = self.n_workloads - 1  # plus coredns
        coredns_replicas = max(2, self.pods - 9 * user) if user else self.pods
        if self.dense:  # every Deployment has 5 replicas (coredns takes what is left)
            coredns_replicas = max(1, self.pods - 5 * user)
            replicas = [5] * user
        else:
            replicas = self._replicas(user, self.pods - coredns_replicas)
        accounts: set[tuple[str, str]] = set()
        for i, count in enumerate(replicas):
            ns = self.namespaces[i] if i < self.n_namespaces else rng.choice(self.namespaces)
            word = rng.choice(APP_WORDS)
            name = f"{word}-{i}"
            role = rng.choice(ROLES)
            tier = ROLE_TIER[role] if rng.random() < 0.8 else rng.choice(POD_TIERS)
            team = self.ns_labels[ns]["team"] if rng.random() < 0.7 else rng.choice(TEAMS)
            labels = {
                "app": name,
                "role": role,
                "tier": tier,
                "version": rng.choice(VERSIONS),
                "team": team,
            }
            if rng.random() < 0.1:
                labels["canary"] = "true"
            ports = list(ROLE_PORTS[role])
            for p, extra in EXTRA_PORTS:
                if rng.random() < p:
                    ports += [x for x in extra if x[0] not in {q[0] for q in ports}]
            wl = _Workload(name, ns, count, labels, ports)
            self.workloads.append(wl)
            self.by_ns[ns].append(wl)
            sa = f"{role}-sa" if rng.random() < 0.8 else name
            accounts.add((ns, sa))
            docs.append(_deployment(wl, sa, f"registry.example.com/{word}:{labels['version']}"))
            docs.append(_service(wl, rng))
        for ns, sa in sorted(accounts):
            docs.append(_meta("v1", "ServiceAccount", sa, ns))
        self.n_accounts = len(accounts) + 1

        coredns = _Workload(
            "coredns",
            "kube-system",
            coredns_replicas,
            {"k8s-app": "kube-dns"},
            [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")],
        )
        docs.append(_meta("v1", "ServiceAccount", "coredns", "kube-system"))
        docs.append(_deployment(coredns, "coredns", "registry.k8s.io/coredns/coredns:v1.11.1"))
        docs.append(_service(coredns, rng, name="kube-dns"))
        self.workloads.append(coredns)
        return docs

    # ---- policies -------------------------------------------------------------------------

    def policies(self) -> list[Obj]:
        docs: list[Obj] = []
        for ns in self.namespaces:
            docs.append(_policy("default-deny", ns, {}, ["Ingress", "Egress"]))
            docs.append(_dns_policy(ns))
        user = [w for w in self.workloads if w.namespace != "kube-system"]
        for k in range(self.n_policies - len(docs)):
            target = self.rng.choice(user)
            docs.append(self._mixed(k, target))
        return docs

    def dense_policies(self) -> list[Obj]:
        """The dense cluster's policies: ingress default-deny per namespace (egress stays open), then
        allow-lists with broad peers (namespaces by label, roles), and a fifth of the policies
        limiting egress to ipBlocks with ``except`` drawn fresh each time, which cuts the address
        space outside the pods into thousands of pieces."""
        rng = self.rng
        docs: list[Obj] = [_policy("default-deny-ingress", ns, {}, ["Ingress"]) for ns in self.namespaces]
        user = [w for w in self.workloads if w.namespace != "kube-system"]
        for k in range(self.n_policies - len(docs)):
            target = rng.choice(user)
            selector: Obj = ({"matchLabels": {"app": target.name}} if rng.random() < 0.7
                             else {"matchLabels": {"role": target.labels["role"]}})
            spec: Obj
            if k % 5 == 0:
                spec = {"podSelector": selector, "policyTypes": ["Egress"],
                        "egress": [{"to": [{"ipBlock": self._fresh_block()}]},
                                   {"to": [{"namespaceSelector": {}}]}]}
            else:
                peers = [self._dense_peer() for _ in range(rng.randint(1, 2))]
                rule: Obj = {"from": peers}
                if rng.random() < 0.6:
                    rule["ports"] = [self._port(target, "from") for _ in range(rng.choice([1, 1, 2]))]
                spec = {"podSelector": selector, "policyTypes": ["Ingress"], "ingress": [rule]}
            docs.append({**_meta("networking.k8s.io/v1", "NetworkPolicy", f"np-{k}-{target.name}",
                                 target.namespace), "spec": spec})
        return docs

    def _dense_peer(self) -> Obj:
        rng = self.rng
        r = rng.random()
        if r < 0.35:
            return {"namespaceSelector": {"matchLabels": {"team": rng.choice(TEAMS)}}}
        if r < 0.45:
            return {"namespaceSelector": {"matchLabels": {"env": rng.choice(ENVS)}}}
        if r < 0.62:
            return {"namespaceSelector": {}, "podSelector": {"matchLabels": {"role": rng.choice(ROLES)}}}
        if r < 0.8:
            return {"namespaceSelector": {"matchLabels": {"team": rng.choice(TEAMS)}},
                    "podSelector": {"matchLabels": {"role": rng.choice(ROLES)}}}
        if r < 0.9:
            return {"podSelector": {"matchLabels": {"tier": rng.choice(POD_TIERS)}}}
        return {"ipBlock": self._fresh_block()}

    def _fresh_block(self) -> Obj:
        """A random public or private range with one or two holes in it."""
        rng = self.rng
        if rng.random() < 0.3:
            holes = sorted({f"{rng.randrange(1, 224)}.{rng.randrange(256)}.0.0/16" for _ in range(2)})
            return {"cidr": "0.0.0.0/0", "except": holes}
        a, b = rng.randrange(1, 224), rng.randrange(256)
        holes = sorted({f"{a}.{b}.{rng.randrange(256)}.0/24" for _ in range(rng.randint(1, 2))})
        return {"cidr": f"{a}.{b}.0.0/16", "except": holes}

    def _mixed(self, k: int, target: _Workload) -> Obj:
        rng = self.rng
        ns = target.namespace
        r = rng.random()
        if r < 0.6:
            selector: Obj = {"matchLabels": {"app": target.name}}
        elif r < 0.8:
            selector = {"matchLabels": {"role": target.labels["role"]}}
        elif r < 0.95:
            selector = {"matchExpressions": [self._expr(pod=True)]}
        else:
            selector = {}
        kind = rng.choices(["Ingress", "Egress", "both"], [0.5, 0.2, 0.3])[0]
        types = ["Ingress", "Egress"] if kind == "both" else [kind]
        spec: Obj = {"podSelector": selector}
        if "Ingress" in types:
            spec["ingress"] = [self._rule("from", target) for _ in range(rng.randint(1, 3))]
        if "Egress" in types:
            spec["egress"] = [self._rule("to", target) for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.85:  # sometimes leave policyTypes to be inferred
            spec["policyTypes"] = types
        return {
            **_meta("networking.k8s.io/v1", "NetworkPolicy", f"np-{k}-{target.name}", ns),
            "spec": spec,
        }

    def _rule(self, key: str, target: _Workload) -> Obj:
        rng = self.rng
        rule: Obj = {}
        r = rng.random()
        if r < 0.03:
            pass  # no from/to at all: every peer
        elif r < 0.05:
            rule[key] = []  # empty list: every peer, too
        else:
            rule[key] = [self._peer(key, target) for _ in range(rng.choice([1, 1, 1, 2, 2, 3]))]
        if rng.random() < 0.85:
            rule["ports"] = [self._port(target, key) for _ in range(rng.choice([1, 1, 2, 3]))]
        return rule

    def _peer(self, key: str, target: _Workload) -> Obj:
        rng = self.rng
        kinds = ["pod", "ns", "ns+pod", "expr", "ip", "all-pods", "all-ns"]
        weights = [30, 15, 20, 15, 30 if key == "to" else 15, 3, 2]
        kind = rng.choices(kinds, weights)[0]
        if kind == "pod":
            return {"podSelector": self._pod_labels(target.namespace)}
        if kind == "ns":
            return {"namespaceSelector": self._ns_labels()}
        if kind == "ns+pod":
            peer: Obj = {"namespaceSelector": self._ns_labels(), "podSelector": self._pod_labels()}
            return peer
        if kind == "expr":
            exprs = [self._expr(pod=True) for _ in range(rng.randint(1, 2))]
            if rng.random() < 0.5:
                return {"podSelector": {"matchExpressions": exprs}}
            return {
                "namespaceSelector": {"matchExpressions": [self._expr(pod=False)]},
                "podSelector": {
                    "matchLabels": {"role": rng.choice(ROLES)},
                    "matchExpressions": exprs,
                },
            }
        if kind == "ip":
            block = self.rng.choice(self.cidrs)
            return {
                "ipBlock": {k: (list(v) if isinstance(v, list) else v) for k, v in block.items()}
            }
        if kind == "all-pods":
            return {"podSelector": {}}
        return {"namespaceSelector": {}}

    def _pod_labels(self, ns: str | None = None) -> Obj:
        rng = self.rng
        r = rng.random()
        if r < 0.4 and ns is not None and self.by_ns[ns]:
            return {"matchLabels": {"app": rng.choice(self.by_ns[ns]).name}}
        if r < 0.7:
            return {"matchLabels": {"role": rng.choice(ROLES)}}
        if r < 0.85:
            return {"matchLabels": {"role": rng.choice(ROLES), "tier": rng.choice(POD_TIERS)}}
        return {"matchLabels": {"version": rng.choice(VERSIONS), "team": rng.choice(TEAMS)}}

    def _ns_labels(self) -> Obj:
        rng = self.rng
        r = rng.random()
        if r < 0.35:
            return {"matchLabels": {"team": rng.choice(TEAMS)}}
        if r < 0.6:
            return {"matchLabels": {"env": rng.choice(ENVS)}}
        if r < 0.85:
            return {"matchLabels": {"kubernetes.io/metadata.name": rng.choice(self.namespaces)}}
        return {"matchLabels": {"team": rng.choice(TEAMS), "env": rng.choice(ENVS)}}

    def _expr(self, pod: bool) -> Obj:
        rng = self.rng
        vocab = (
            {"role": ROLES, "tier": POD_TIERS, "version": VERSIONS, "team": TEAMS}
            if pod
            else {"team": TEAMS, "env": ENVS, "tier": NS_TIERS}
        )
        key = rng.choice(sorted(vocab))
        op = rng.choices(["In", "NotIn", "Exists", "DoesNotExist"], [45, 30, 15, 10])[0]
        if op in ("Exists", "DoesNotExist"):
            if op == "DoesNotExist" or rng.random() < 0.5:
                key = rng.choice(["canary", "legacy", "debug", key])
            return {"key": key, "operator": op}
        values = rng.sample(vocab[key], rng.randint(1, min(3, len(vocab[key]))))
        return {"key": key, "operator": op, "values": values}

    def _port(self, target: _Workload, key: str) -> Obj:
        rng = self.rng
        r = rng.random()
        if r < 0.4:  # named
            if key == "from" and rng.random() < 0.7:
                name, _, proto = rng.choice(target.ports)
            else:
                name = rng.choice(NAMED_PORTS)
                proto = "UDP" if name in ("statsd", "syslog", "gossip-udp") else "TCP"
            port: Obj = {"port": name}
        elif r < 0.85:  # numeric
            number, proto = rng.choice(NUMERIC_PORTS), "TCP"
            if number == 53 and rng.random() < 0.7:
                proto = "UDP"
            port = {"port": number}
        else:  # range
            lo, hi = rng.choice(PORT_RANGES)
            port, proto = {"port": lo, "endPort": hi}, "TCP"
        s = rng.random()
        if s < 0.03:
            proto = "UDP"
        elif s < 0.05:
            proto = "SCTP"
        if proto != "TCP" or rng.random() < 0.4:  # TCP is the default: often left out
            port = {"protocol": proto, **port}
        return port


def _meta(api: str, kind: str, name: str, ns: str | None = None) -> Obj:
    meta: Obj = {"name": name}
    if ns is not None:
        meta["namespace"] = ns
    return {"apiVersion": api, "kind": kind, "metadata": meta}


def _namespace(name: str, labels: dict[str, str]) -> Obj:
    doc = _meta("v1", "Namespace", name)
    doc["metadata"]["labels"] = dict(labels)
    return doc


def _deployment(wl: _Workload, sa: str, image: str) -> Obj:
    select = {"app": wl.name} if "app" in wl.labels else dict(wl.labels)
    doc = _meta("apps/v1", "Deployment", wl.name, wl.namespace)
    doc["metadata"]["labels"] = dict(select)
    container: Obj = {
        "name": "main",
        "image": image,
        "ports": [{"name": n, "containerPort": p, "protocol": proto} for n, p, proto in wl.ports],
    }
    doc["spec"] = {
        "replicas": wl.replicas,
        "selector": {"matchLabels": dict(select)},
        "template": {
            "metadata": {"labels": dict(wl.labels)},
            "spec": {"serviceAccountName": sa, "containers": [container]},
        },
    }
    return doc


def _service(wl: _Workload, rng: Random, name: str | None = None) -> Obj:
    doc = _meta("v1", "Service", name or wl.name, wl.namespace)
    ports = []
    for n, p, proto in wl.ports:
        target: str | int = n if rng.random() < 0.6 else p
        ports.append(
            {"name": n, "port": 80 if n == "http" else p, "targetPort": target, "protocol": proto}
        )
    selector = {"app": wl.name} if "app" in wl.labels else dict(wl.labels)
    doc["spec"] = {"selector": selector, "ports": ports}
    return doc


def _policy(name: str, ns: str, selector: Obj, types: list[str]) -> Obj:
    doc = _meta("networking.k8s.io/v1", "NetworkPolicy", name, ns)
    doc["spec"] = {"podSelector": dict(selector), "policyTypes": list(types)}
    return doc


def _dns_policy(ns: str) -> Obj:
    doc = _policy("allow-dns", ns, {}, ["Egress"])
    doc["spec"]["egress"] = [
        {
            "to": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                    },
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        }
    ]
    return doc


class Shape(StrEnum):
    """Which synthetic cluster: the benchmark's, or a case that once made kubeward slow."""

    DEFAULT = "default"
    NO_POLICIES = "no-policies"
    BARE_PODS = "bare-pods"
    DENSE = "dense"


def _bare_pods(pods: int) -> tuple[list[Obj], Stats]:
    """``pods`` bare Pods with the same labels, service account and port in one namespace."""
    docs: list[Obj] = [_namespace("bare", {"kubernetes.io/metadata.name": "bare"})]
    for i in range(pods):
        doc = _meta("v1", "Pod", f"worker-{i}", "bare")
        doc["metadata"]["labels"] = {"app": "worker"}
        doc["spec"] = {"containers": [{"name": "main", "image": "registry.example.com/worker:v1",
                                       "ports": [{"name": "http", "containerPort": 8080}]}]}
        docs.append(doc)
    return docs, Stats(pods=pods, workloads=pods, namespaces=1, services=0, service_accounts=0, policies=0,
                       documents=len(docs))


def generate(pods: int, seed: int = 1, shape: Shape = Shape.DEFAULT,
             policies: int | None = None) -> tuple[list[Obj], Stats]:
    """The documents of a synthetic cluster with exactly `pods` pods, and their counts."""
    if pods < 1:
        raise ValueError("pods must be >= 1")
    if shape is Shape.BARE_PODS:
        return _bare_pods(pods)
    gen = _Generator(pods, seed, dense=shape is Shape.DENSE, policies=policies)
    docs = gen.cluster()
    made = {Shape.DEFAULT: gen.policies, Shape.DENSE: gen.dense_policies}.get(shape, list)()
    stats = Stats(
        pods=sum(w.replicas for w in gen.workloads),
        workloads=len(gen.workloads),
        namespaces=len(gen.namespaces) + 1,
        services=len(gen.workloads),
        service_accounts=gen.n_accounts,
        policies=len(made),
        documents=len(docs) + len(made),
    )
    return docs + made, stats


def write(docs: list[Obj], out: TextIO) -> None:
    yaml.dump_all(docs, out, Dumper=_Dumper, default_flow_style=False, sort_keys=False)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pods", type=int, required=True, help="total pods (sum of replicas)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="-", help="output file, or - for stdout (default)")
    ap.add_argument("--policies", type=int, default=None,
                    help="NetworkPolicies [default: one per Deployment; at least two per namespace]")
    ap.add_argument("--shape", choices=[s.value for s in Shape], default=Shape.DEFAULT.value,
                    help="default (sparse), dense (issue 13), no-policies (every workload open) or bare-pods "
                         "(alike bare Pods)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    docs, stats = generate(args.pods, args.seed, Shape(args.shape), args.policies)
    if args.out == "-":
        write(docs, sys.stdout)
    else:
        with open(args.out, "w", encoding="utf-8") as f:
            write(docs, f)
    took = time.perf_counter() - t0
    counts = " ".join(f"{k}={v}" for k, v in asdict(stats).items())
    print(f"generated {counts} in {took:.2f}s ({_BaseDumper.__name__})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
