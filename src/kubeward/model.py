"""The typed snapshot of a cluster: namespaces, workloads, services, nodes and policies.

Built by the dialects from raw objects; frozen once built. Policies are already in the IR
(:mod:`kubeward.ir`); their meaning is the engine's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .diagnostics import Diagnostics
from .ir import Policy

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # NP-20


@dataclass(frozen=True, slots=True)
class Origin:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    labels: Mapping[str, str]
    origin: Origin | None  # None: referenced but not defined in the input


@dataclass(frozen=True, slots=True)
class ContainerPort:
    port: int
    protocol: str = "TCP"
    name: str = ""


@dataclass(frozen=True, slots=True)
class Workload:
    """Pods of one top controller (or one bare pod): they share labels and ports.

    ``replicas`` is None when the input does not say (a DaemonSet: one per node).
    ``pod_ips`` holds, per known pod, its addresses (exports of live clusters carry them)."""

    kind: str
    namespace: str
    name: str
    labels: Mapping[str, str]
    service_account: str
    ports: tuple[ContainerPort, ...]
    host_network: bool
    replicas: int | None
    origin: Origin
    pod_ips: tuple[tuple[str, ...], ...] = ()
    pods: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def single_pod(self) -> bool:
        return self.replicas == 1


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    namespace: str
    name: str
    origin: Origin


@dataclass(frozen=True, slots=True)
class ServicePort:
    port: int
    protocol: str = "TCP"
    name: str = ""
    target_port: int | str | None = None
    node_port: int | None = None


@dataclass(frozen=True, slots=True)
class Service:
    namespace: str
    name: str
    type: str
    selector: Mapping[str, str] | None
    ports: tuple[ServicePort, ...]
    cluster_ip: str | None
    external_name: str | None
    external_traffic_policy: str | None
    origin: Origin


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    labels: Mapping[str, str]
    addresses: tuple[str, ...]
    origin: Origin


@dataclass(frozen=True, slots=True)
class NotModelled:
    """Objects of one kind kubeward does not (yet) model."""

    kind: str
    api_version: str
    count: int
    first: Origin


@dataclass(slots=True)
class Cluster:
    """Everything the input says, typed."""

    namespaces: dict[str, Namespace] = field(default_factory=dict)
    workloads: list[Workload] = field(default_factory=list)
    service_accounts: dict[tuple[str, str], ServiceAccount] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    not_modelled: list[NotModelled] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)
    diagnostics: Diagnostics = field(default_factory=Diagnostics)

    def workload(self, ident: str) -> Workload | None:
        for w in self.workloads:
            if w.id == ident:
                return w
        return None
