"""Compact cluster builders for the rule-by-rule specification tests
(test_rules_networkpolicy.py, test_rules_adminnetworkpolicy.py).

A cluster is a list of plain dicts (Kubernetes objects); :func:`analyse` dumps them to one
multi-document YAML text and runs kubeward on it, so every test goes through the public API.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from kubeward import Analysis, Explanation, Options, analyse_paths, analyse_text, connectivity_map, explain
from kubeward.analyses.connectivity_map import PeerType
from kubeward.engine.trace import Step
from kubeward.ir import Direction
from kubeward.loader import go_scalar

ALL_PORTS = [[1, 65535]]
EVERY_PORT = {"TCP": ALL_PORTS, "UDP": ALL_PORTS, "SCTP": ALL_PORTS}
INGRESS = Direction.INGRESS
EGRESS = Direction.EGRESS

Obj = dict[str, Any]


# ----------------------------------------------------------------------------- objects


def namespace(name: str, **labels: str) -> Obj:
    meta: Obj = {"name": name}
    if labels:
        meta["labels"] = dict(labels)
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def _container_ports(ports: Iterable[Any]) -> list[Obj]:
    """``80`` → TCP 80; ``("http", 8080)`` → named TCP port; ``("dns", 53, "UDP")``."""
    out: list[Obj] = []
    for p in ports:
        if isinstance(p, int):
            out.append({"containerPort": p})
        else:
            name, number, *proto = p
            item: Obj = {"name": name, "containerPort": number}
            if proto:
                item["protocol"] = proto[0]
            out.append(item)
    return out


def _split(ref: str) -> tuple[str, str]:
    ns, _, name = ref.partition("/")
    return ns, name


def pod(ref: str, labels: dict[str, str] | None = None, ports: Iterable[Any] = (), ip: str | None = None,
        host_network: bool = False) -> Obj:
    """A bare Pod ``ns/name``; labels default to ``{app: name}``."""
    ns, name = _split(ref)
    spec: Obj = {"containers": [{"name": "c", "image": "img", "ports": _container_ports(ports)}]}
    if host_network:
        spec["hostNetwork"] = True
    obj: Obj = {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": ns,
                             "labels": labels if labels is not None else {"app": name}},
                "spec": spec}
    if ip:
        obj["status"] = {"podIP": ip}
    return obj


def deployment(ref: str, labels: dict[str, str] | None = None, replicas: int = 2,
               ports: Iterable[Any] = ()) -> Obj:
    ns, name = _split(ref)
    labels = labels if labels is not None else {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "img",
                                                           "ports": _container_ports(ports)}]}}}}


def service(ref: str, selector: dict[str, str], port: int, target_port: int | str) -> Obj:
    ns, name = _split(ref)
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": selector, "ports": [{"port": port, "targetPort": target_port}]}}


def node(name: str, labels: dict[str, str], *addresses: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
            "status": {"addresses": [{"type": "InternalIP", "address": a} for a in addresses]}}


def netpol(ref: str, **spec: Any) -> Obj:
    """A NetworkPolicy ``ns/name``; keyword arguments are its spec verbatim
    (``podSelector``, ``policyTypes``, ``ingress``, ``egress``). Nothing is defaulted."""
    ns, name = _split(ref)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def anp(name: str, priority: int | None, subject: Obj, ingress: list[Obj] | None = None,
        egress: list[Obj] | None = None) -> Obj:
    spec: Obj = {"subject": subject}
    if priority is not None:
        spec["priority"] = priority
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
            "metadata": {"name": name}, "spec": spec}


def banp(subject: Obj, ingress: list[Obj] | None = None, egress: list[Obj] | None = None,
         name: str = "default") -> Obj:
    spec: Obj = {"subject": subject}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "BaselineAdminNetworkPolicy",
            "metadata": {"name": name}, "spec": spec}


def cnp(name: str, tier: str, priority: int, subject: Obj, ingress: list[Obj] | None = None,
        egress: list[Obj] | None = None) -> Obj:
    spec: Obj = {"tier": tier, "priority": priority, "subject": subject}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {"apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
            "metadata": {"name": name}, "spec": spec}


def labels(**kv: str) -> Obj:
    """A label selector ``{matchLabels: ...}``."""
    return {"matchLabels": dict(kv)}


def ns_name(name: str) -> Obj:
    """A namespace selector by name (NP-20)."""
    return {"matchLabels": {"kubernetes.io/metadata.name": name}}


# ----------------------------------------------------------------------------- analysis


class _KubectlDumper(yaml.SafeDumper):
    """PyYAML's dumper, quoting the strings kubectl's YAML reader (go-yaml) would not read back as
    strings (``y``, ``n``, ``0o17``, ``1e3``: NP-26), which PyYAML's YAML 1.1 resolver leaves plain."""

    def represent_str(self, data: str) -> yaml.ScalarNode:
        if data and not isinstance(go_scalar(data), str):
            return self.represent_scalar("tag:yaml.org,2002:str", data, style='"')
        return super().represent_str(data)


_KubectlDumper.add_representer(str, _KubectlDumper.represent_str)


def to_yaml(objects: Iterable[Obj]) -> str:
    return yaml.dump_all(list(objects), Dumper=_KubectlDumper, sort_keys=False)


def analyse(*objects: Obj, **options: Any) -> Analysis:
    return analyse_text(to_yaml(objects), file="spec.yaml", options=Options(**options))


def analyse_with_domains(tmp_path: Path, domains: Iterable[str], *objects: Obj, **options: Any) -> Analysis:
    """As :func:`analyse`, but with DNS names the policies do not spell out (what the CLI
    does for a DNS name given as --from/--to)."""
    path = tmp_path / "spec.yaml"
    path.write_text(to_yaml(objects))
    return analyse_paths([str(path)], Options(**options), extra_domains=list(domains))


def flow(analysis: Analysis, src: str, dst: str, port: int, protocol: str = "TCP") -> Explanation:
    return explain(analysis, src, dst, port, protocol)


def side_steps(exp: Explanation, direction: Direction) -> list[Step]:
    return [s for s in exp.verdict.steps if s.direction is direction]


def decisive(exp: Explanation, direction: Direction) -> Step:
    """The last step of one side that has an effect (allow / deny): what decided that side."""
    steps = [s for s in side_steps(exp, direction) if s.effect in ("allow", "deny")]
    assert steps, f"no deciding {direction.value} step in {exp.verdict.steps}"
    return steps[-1]


def codes(analysis: Analysis) -> list[str]:
    return [d.code for d in analysis.diagnostics.items]


def mapped(analysis: Analysis, src: str, dst: str) -> dict[str, list[list[int]]] | None:
    """The ports the connectivity map lists from ``src`` to ``dst`` (None: no connection). An
    address range (``192.168.0.2/32``) names the map's network peer that holds it: the map merges
    adjacent pieces with the same answer."""
    cmap = connectivity_map(analysis)
    ranges = {p.id: p.cidrs for p in cmap.peers if p.type is PeerType.NETWORK}

    def holds(peer: str, wanted: str) -> bool:
        if peer == wanted:
            return True
        if peer not in ranges or "/" not in wanted or wanted.count("/") != 1 or not wanted[0].isdigit():
            return False
        net = ipaddress.ip_network(wanted)
        return any(net.version == (o := ipaddress.ip_network(c)).version and net.subnet_of(o)  # type: ignore[arg-type]
                   for c in ranges[peer])

    for c in cmap.connections:
        if holds(c.src, src) and holds(c.dst, dst):
            return c.ports.to_json()
    return None


def all_mapped(analysis: Analysis) -> dict[tuple[str, str], dict[str, list[list[int]]]]:
    return {(c.src, c.dst): c.ports.to_json() for c in connectivity_map(analysis).connections}
