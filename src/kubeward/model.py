"""The typed snapshot of a cluster: namespaces, workloads, services, nodes and policies.

Filled in by the dialects from raw objects, then only read; its objects are frozen dataclasses.
Policies are already in the IR (:mod:`kubeward.ir`); their meaning is the engine's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from .diagnostics import Diagnostics
from .ir import LabelSelector, Policy, TierEnd
from .ir import ObjectRef as ObjectRef  # re-exported: entry objects are located like policies

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # NP-20


class WorkloadKind(StrEnum):
    """The kinds that run pods: a workload is one top controller, or a bare Pod."""

    DEPLOYMENT = "Deployment"
    REPLICA_SET = "ReplicaSet"
    STATEFUL_SET = "StatefulSet"
    DAEMON_SET = "DaemonSet"
    REPLICATION_CONTROLLER = "ReplicationController"
    JOB = "Job"
    CRON_JOB = "CronJob"
    POD = "Pod"


class ServiceType(StrEnum):
    CLUSTER_IP = "ClusterIP"
    NODE_PORT = "NodePort"
    LOAD_BALANCER = "LoadBalancer"
    EXTERNAL_NAME = "ExternalName"


class IngressPathType(StrEnum):
    """An Ingress path's pathType (ING-1, ING-4)."""

    EXACT = "Exact"
    PREFIX = "Prefix"
    IMPLEMENTATION_SPECIFIC = "ImplementationSpecific"


class RouteKind(StrEnum):
    """The Gateway API route kinds kubeward reads."""

    HTTP = "HTTPRoute"
    GRPC = "GRPCRoute"
    TLS = "TLSRoute"
    TCP = "TCPRoute"
    UDP = "UDPRoute"


class RoutePathType(StrEnum):
    """An HTTPRoute path match type (GW-5)."""

    EXACT = "Exact"
    PATH_PREFIX = "PathPrefix"
    REGULAR_EXPRESSION = "RegularExpression"


class RouteTermination(StrEnum):
    """An OpenShift Route's ``spec.tls.termination`` (ROUTE-3)."""

    EDGE = "edge"
    PASSTHROUGH = "passthrough"
    REENCRYPT = "reencrypt"


class InsecureEdgePolicy(StrEnum):
    """An OpenShift Route's ``spec.tls.insecureEdgeTerminationPolicy``: plain HTTP (ROUTE-3)."""

    NONE = "None"
    ALLOW = "Allow"
    REDIRECT = "Redirect"


class AllowedRoutesFrom(StrEnum):
    """Which namespaces a listener accepts routes from (GW-1)."""

    SAME = "Same"
    ALL = "All"
    SELECTOR = "Selector"


class MtlsMode(StrEnum):
    """A PeerAuthentication mTLS mode (IST-4 … IST-6)."""

    UNSET = "UNSET"
    DISABLE = "DISABLE"
    PERMISSIVE = "PERMISSIVE"
    STRICT = "STRICT"


class MeshAction(StrEnum):
    """An AuthorizationPolicy action (IST-8)."""

    ALLOW = "ALLOW"
    DENY = "DENY"
    AUDIT = "AUDIT"
    CUSTOM = "CUSTOM"


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
class PodFacts:
    """What one pod shows that policies read, where pods of a workload differ from it (a
    rollout's two ReplicaSets, a StatefulSet's per-pod labels, an injected sidecar's ports):
    ``labels`` sorted by key, so that equal pods are equal and hashable."""

    labels: tuple[tuple[str, str], ...]
    service_account: str
    ports: tuple[ContainerPort, ...]
    host_network: bool

    @classmethod
    def of(cls, labels: Mapping[str, str], service_account: str, ports: tuple[ContainerPort, ...],
           host_network: bool) -> PodFacts:
        return cls(tuple(sorted(labels.items())), service_account, ports, host_network)


@dataclass(frozen=True, slots=True)
class Workload:
    """Pods of one top controller (or one bare pod), named after it (NP-32).

    ``labels``, ``service_account``, ``ports`` and ``host_network`` are the controller's pod
    template (when the controller is not in the input: the labels all its pods share, and what
    most of its pods have); Service selectors, the mesh and entry points read these.
    ``replicas`` is None when the input does not say (a DaemonSet: one per node).
    ``pods`` names the pods of the input (a live export, a dump); ``pod_ips`` holds, per pod
    (aligned with ``pods``), its addresses, or is empty when no pod has one; ``pod_facts``, per pod
    (aligned with ``pods``), what it shows when some pod differs from the workload's own facts
    (empty when every pod is as the workload says): the engine builds identities from these."""

    kind: WorkloadKind
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
    assumed: bool = False  # not in the input: a documented stand-in (e.g. an ingress controller)
    running: bool = False  # a live export's status shows pods of it running (so they were admitted)
    pod_facts: tuple[PodFacts, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def ref(self) -> ObjectRef:
        """The workload's top controller (or bare Pod) as an object of the input."""
        return ObjectRef(self.kind, self.namespace, self.name, self.origin.file, self.origin.line)

    @property
    def single_pod(self) -> bool:
        return self.replicas == 1


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    namespace: str
    name: str
    origin: Origin
    labels: Mapping[str, str] = field(default_factory=dict)


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
    type: ServiceType
    selector: Mapping[str, str] | None
    ports: tuple[ServicePort, ...]
    cluster_ip: str | None
    external_name: str | None
    external_traffic_policy: str | None
    origin: Origin
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("Service", self.namespace, self.name, self.origin.file, self.origin.line)


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    labels: Mapping[str, str]
    addresses: tuple[str, ...]
    origin: Origin


@dataclass(frozen=True, slots=True)
class NotModelled:
    """Objects of one kind kubeward does not (yet) model: all of them, in input order."""

    kind: str
    api_version: str
    objects: tuple[ObjectRef, ...]

    @property
    def count(self) -> int:
        return len(self.objects)

    @property
    def first(self) -> ObjectRef:
        return self.objects[0]


@dataclass(slots=True)
class Cluster:
    """Everything the input says, typed."""

    namespaces: dict[str, Namespace] = field(default_factory=dict)
    workloads: list[Workload] = field(default_factory=list)
    service_accounts: dict[tuple[str, str], ServiceAccount] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    # CAL-23: Calico staged policies, set aside (not enforced) unless --enforce-staged
    staged: list[Policy] = field(default_factory=list)
    not_modelled: list[NotModelled] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)
    diagnostics: Diagnostics = field(default_factory=Diagnostics)
    entry: EntryObjects = field(default_factory=lambda: EntryObjects())
    mesh: MeshObjects = field(default_factory=lambda: MeshObjects())
    calico: CalicoObjects = field(default_factory=lambda: CalicoObjects())
    test_suites: list[object] = field(default_factory=list)  # kubeward TestSuite documents (raw)
    _index: tuple[int, dict[str, Workload], dict[str, list[Workload]]] | None = None

    def _indexed(self) -> tuple[dict[str, Workload], dict[str, list[Workload]]]:
        if self._index is None or self._index[0] != len(self.workloads):
            by_id: dict[str, Workload] = {}
            by_ns: dict[str, list[Workload]] = {}
            for w in self.workloads:
                by_id.setdefault(w.id, w)
                by_ns.setdefault(w.namespace, []).append(w)
            self._index = (len(self.workloads), by_id, by_ns)
        return self._index[1], self._index[2]

    def workload(self, ident: str) -> Workload | None:
        return self._indexed()[0].get(ident)

    def workloads_in(self, namespace: str) -> list[Workload]:
        return self._indexed()[1].get(namespace, [])


# --------------------------------------------------------------------------- entry points


@dataclass(frozen=True, slots=True)
class Secret:
    namespace: str
    name: str
    type: str
    origin: Origin


@dataclass(frozen=True, slots=True)
class BackendRef:
    """A Service (or other kind) and port an Ingress or route sends traffic to."""

    name: str
    namespace: str
    port: int | str | None  # Ingress: number or Service port name; routes: number
    kind: str = "Service"
    group: str = ""
    weight: int = 1
    line: int = 0


@dataclass(frozen=True, slots=True)
class IngressPath:
    path: str
    path_type: IngressPathType
    backend: BackendRef | None
    line: int


@dataclass(frozen=True, slots=True)
class IngressRule:
    host: str  # "" = every host
    paths: tuple[IngressPath, ...]
    line: int


@dataclass(frozen=True, slots=True)
class IngressTLS:
    hosts: tuple[str, ...]
    secret: str
    line: int


@dataclass(frozen=True, slots=True)
class Ingress:
    ref: ObjectRef
    class_name: str | None
    rules: tuple[IngressRule, ...]
    default_backend: BackendRef | None
    tls: tuple[IngressTLS, ...]
    annotations: Mapping[str, str]
    created: str = ""  # metadata.creationTimestamp (UTC, RFC 3339), for ingress-nginx's order (ING-8)


@dataclass(frozen=True, slots=True)
class IngressClass:
    name: str
    controller: str
    is_default: bool
    origin: Origin
    created: str = ""  # metadata.creationTimestamp: the newest default class wins (ING-9)


@dataclass(frozen=True, slots=True)
class Listener:
    name: str
    protocol: str  # HTTP | HTTPS | TLS | TCP | UDP
    port: int
    hostname: str  # "" = every hostname (GW-4)
    tls_mode: str  # "" | Terminate | Passthrough
    certificate_refs: tuple[BackendRef, ...]
    allowed_from: AllowedRoutesFrom
    allowed_selector: LabelSelector | None  # when from == Selector
    allowed_kinds: tuple[str, ...]  # () = the kinds the protocol allows
    line: int


@dataclass(frozen=True, slots=True)
class Gateway:
    ref: ObjectRef
    class_name: str
    listeners: tuple[Listener, ...]


@dataclass(frozen=True, slots=True)
class ParentRef:
    name: str
    namespace: str
    section_name: str
    port: int | None
    kind: str = "Gateway"
    group: str = "gateway.networking.k8s.io"
    line: int = 0


@dataclass(frozen=True, slots=True)
class HeaderMatch:
    name: str
    value: str
    type: str = "Exact"  # Exact | RegularExpression


@dataclass(frozen=True, slots=True)
class RouteMatch:
    path_type: RoutePathType = RoutePathType.PATH_PREFIX  # GW-5
    path: str = "/"
    method: str | None = None
    headers: tuple[HeaderMatch, ...] = ()
    query: tuple[HeaderMatch, ...] = ()
    grpc_service: str | None = None
    grpc_method: str | None = None


@dataclass(frozen=True, slots=True)
class RouteRule:
    matches: tuple[RouteMatch, ...]
    backends: tuple[BackendRef, ...]
    index: int
    line: int


@dataclass(frozen=True, slots=True)
class Route:
    """HTTPRoute, GRPCRoute, TLSRoute, TCPRoute or UDPRoute."""

    ref: ObjectRef
    parents: tuple[ParentRef, ...]
    hostnames: tuple[str, ...]
    rules: tuple[RouteRule, ...]
    created: str = ""  # metadata.creationTimestamp, for precedence ties


@dataclass(frozen=True, slots=True)
class ReferenceGrant:
    ref: ObjectRef
    sources: tuple[tuple[str, str, str], ...]  # (group, kind, namespace)
    targets: tuple[tuple[str, str, str], ...]  # (group, kind, name or "")

    def permits(self, group: str, kind: str, namespace: str, to_group: str, to_kind: str, to_name: str) -> bool:
        return any(g == group and k == kind and n == namespace for g, k, n in self.sources) and any(
            g == to_group and k == to_kind and (not n or n == to_name) for g, k, n in self.targets)


@dataclass(frozen=True, slots=True)
class RouteTLS:
    """``spec.tls`` of an OpenShift Route (ROUTE-3)."""

    termination: RouteTermination
    insecure: InsecureEdgePolicy
    certificate: bool  # the Route names its own certificate (tls.certificate or tls.externalCertificate)
    line: int


@dataclass(frozen=True, slots=True)
class OpenShiftRoute:
    """An OpenShift Route (route.openshift.io/v1): a host and path the router exposes (ROUTE-1)."""

    ref: ObjectRef
    host: str                          # "" = generated by the router: NAME-NAMESPACE.<apps domain>
    path: str                          # "" = every path (ROUTE-2)
    backends: tuple[BackendRef, ...]   # spec.to, then spec.alternateBackends, with their weights (ROUTE-4)
    target_port: int | str | None      # spec.port.targetPort: an endpoint port number or name; None = all
    tls: RouteTLS | None
    wildcard: bool = False             # wildcardPolicy: Subdomain
    created: str = ""                  # metadata.creationTimestamp: the oldest Route holds a host (ROUTE-6)
    port_line: int = 0


@dataclass(slots=True)
class EntryObjects:
    """The entry points of the input."""

    secrets: dict[tuple[str, str], Secret] = field(default_factory=dict)
    ingress_classes: dict[str, IngressClass] = field(default_factory=dict)
    ingresses: list[Ingress] = field(default_factory=list)
    gateway_classes: dict[str, Origin] = field(default_factory=dict)
    gateways: list[Gateway] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    reference_grants: list[ReferenceGrant] = field(default_factory=list)
    openshift_routes: list[OpenShiftRoute] = field(default_factory=list)


# --------------------------------------------------------------------------- service mesh


@dataclass(frozen=True, slots=True)
class PeerAuthentication:
    ref: ObjectRef
    selector: LabelSelector | None  # None: namespace-wide (or mesh-wide in the root namespace)
    mode: MtlsMode
    port_modes: Mapping[int, MtlsMode]  # portLevelMtls: workload port → mode
    created: str = ""
    rejected: str = ""  # why istiod's webhook refuses it (IST-23): it is not in the cluster


@dataclass(frozen=True, slots=True)
class MeshSource:
    principals: tuple[str, ...] | None = None
    not_principals: tuple[str, ...] | None = None
    namespaces: tuple[str, ...] | None = None
    not_namespaces: tuple[str, ...] | None = None
    service_accounts: tuple[str, ...] | None = None
    not_service_accounts: tuple[str, ...] | None = None
    ip_blocks: tuple[str, ...] | None = None
    not_ip_blocks: tuple[str, ...] | None = None
    request_principals: tuple[str, ...] | None = None   # JWT: not decidable statically
    not_request_principals: tuple[str, ...] | None = None
    remote_ip_blocks: tuple[str, ...] | None = None
    not_remote_ip_blocks: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class MeshOperation:
    hosts: tuple[str, ...] | None = None
    not_hosts: tuple[str, ...] | None = None
    ports: tuple[str, ...] | None = None
    not_ports: tuple[str, ...] | None = None
    methods: tuple[str, ...] | None = None
    not_methods: tuple[str, ...] | None = None
    paths: tuple[str, ...] | None = None
    not_paths: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class MeshCondition:
    key: str
    values: tuple[str, ...] | None = None
    not_values: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class MeshRule:
    sources: tuple[MeshSource, ...] | None      # None: from absent = any source
    operations: tuple[MeshOperation, ...] | None
    conditions: tuple[MeshCondition, ...]
    index: int
    line: int
    unreadable: str = ""  # why a malformed ALLOW rule is read as matching nothing (strict reading); "" if readable


@dataclass(frozen=True, slots=True)
class AuthorizationPolicy:
    ref: ObjectRef
    selector: LabelSelector | None
    target_refs: tuple[str, ...]
    action: MeshAction
    rules: tuple[MeshRule, ...] | None  # None: no rules field (IST-10)
    provider: str = ""
    rejected: str = ""  # why istiod's webhook refuses it (IST-23): it is not in the cluster
    dry_run: bool = False  # IST-40: annotated istio.io/dry-run "true": evaluated in the shadow, never enforced


@dataclass(slots=True)
class MeshObjects:
    peer_authentications: list[PeerAuthentication] = field(default_factory=list)
    authorization_policies: list[AuthorizationPolicy] = field(default_factory=list)
    # IST-40: the dry-run ones, set aside (not enforced) unless --enforce-staged
    dry_run: list[AuthorizationPolicy] = field(default_factory=list)
    # IST-23: the ones istiod's webhook refuses: not in the cluster, named in the traces they would touch
    rejected: list[PeerAuthentication | AuthorizationPolicy] = field(default_factory=list)
    # Istio egress (IST-28 … IST-36): networking.istio.io objects and the mesh-wide outbound policy
    service_entries: list[ServiceEntry] = field(default_factory=list)
    sidecars: list[SidecarConfig] = field(default_factory=list)
    gateways: list[IstioGateway] = field(default_factory=list)
    virtual_services: list[VirtualService] = field(default_factory=list)
    destination_rules: list[DestinationRule] = field(default_factory=list)
    # IST-30, IST-50: the `istio` (or `istio-<revision>`) ConfigMap's meshConfig.outboundTrafficPolicy,
    # per (namespace it was found in, revision: "" for the default one)
    outbound: dict[tuple[str, str], tuple[OutboundPolicy, ObjectRef]] = field(default_factory=dict)


class OutboundPolicy(StrEnum):
    """IST-30: what a sidecar does with traffic to a host it does not know."""

    ALLOW_ANY = "ALLOW_ANY"          # PassthroughCluster: sent on as addressed
    REGISTRY_ONLY = "REGISTRY_ONLY"  # BlackHoleCluster: refused (502 for HTTP, reset for TCP)


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    """IST-28: a host added to the mesh's service registry."""

    ref: ObjectRef
    hosts: tuple[str, ...]
    addresses: tuple[str, ...]
    ports: tuple[tuple[int, str, str], ...]  # (number, protocol, name)
    location: str                            # MESH_EXTERNAL (default) | MESH_INTERNAL
    resolution: str                          # NONE | STATIC | DNS | DNS_ROUND_ROBIN
    export_to: tuple[str, ...]               # () or ("*",): every namespace; ".": its own
    endpoints: tuple[EntryEndpoint, ...] = ()  # IST-47: where STATIC / DNS resolution sends the traffic


@dataclass(frozen=True, slots=True)
class EntryEndpoint:
    """A ServiceEntry's ``endpoints[]``: an address (an IP, or a DNS name under DNS resolution) and
    the port numbers it listens on, by the ServiceEntry port's name."""

    address: str
    ports: Mapping[str, int]
    line: int


@dataclass(frozen=True, slots=True)
class SidecarEgress:
    port: int | None              # None: every port
    hosts: tuple[str, ...]        # "namespace/dnsName": "*/", "./" and "~/" allowed


@dataclass(frozen=True, slots=True)
class SidecarConfig:
    """IST-29: which hosts a sidecar knows; its own outbound policy overrides the mesh's."""

    ref: ObjectRef
    selector: LabelSelector | None  # workloadSelector.labels; None: the namespace's default Sidecar
    egress: tuple[SidecarEgress, ...]
    outbound: OutboundPolicy | None


@dataclass(frozen=True, slots=True)
class IstioServer:
    port: int
    protocol: str
    hosts: tuple[str, ...]  # "[namespace/]dnsName"
    tls_mode: str           # "" | PASSTHROUGH | SIMPLE | MUTUAL | ISTIO_MUTUAL | AUTO_PASSTHROUGH …
    line: int


@dataclass(frozen=True, slots=True)
class IstioGateway:
    """IST-32: an Istio Gateway: servers on the proxies its selector picks (in any namespace)."""

    ref: ObjectRef
    selector: Mapping[str, str]
    servers: tuple[IstioServer, ...]


@dataclass(frozen=True, slots=True)
class RouteDestination:
    host: str
    subset: str
    port: int | None
    weight: int


@dataclass(frozen=True, slots=True)
class VirtualRoute:
    """One match of one http/tls/tcp route of a VirtualService (a route without match: one, empty)."""

    protocol: str                    # http | tls | tcp
    gateways: tuple[str, ...] | None  # the match's gateways; None: the VirtualService's
    port: int | None
    sni_hosts: tuple[str, ...]
    authorities: tuple[str, ...]     # http authority exact/prefix values, as "exact:x" / "prefix:x"
    destinations: tuple[RouteDestination, ...]
    line: int


@dataclass(frozen=True, slots=True)
class VirtualService:
    """IST-33: routes for hosts, in the mesh (the sidecars) and/or on Gateways."""

    ref: ObjectRef
    hosts: tuple[str, ...]
    gateways: tuple[str, ...]  # () = ("mesh",)
    routes: tuple[VirtualRoute, ...]
    export_to: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DestinationRule:
    """IST-34: subsets of a host and the client TLS the proxies use towards it (IST-42)."""

    ref: ObjectRef
    host: str
    subsets: Mapping[str, Mapping[str, str]]
    tls_mode: str  # trafficPolicy.tls.mode: "" | DISABLE | SIMPLE | MUTUAL | ISTIO_MUTUAL
    export_to: tuple[str, ...]
    policy: TlsPolicy | None = None                       # spec.trafficPolicy (its TLS parts)
    subset_policies: Mapping[str, TlsPolicy | None] = field(default_factory=dict)  # subsets[].trafficPolicy


@dataclass(frozen=True, slots=True)
class ClientTls:
    """A DestinationRule's ``tls``: the TLS a client proxy opens towards the host (IST-42)."""

    mode: str  # DISABLE | SIMPLE | MUTUAL | ISTIO_MUTUAL
    sni: str
    line: int


@dataclass(frozen=True, slots=True)
class TlsPolicy:
    """The TLS parts of a trafficPolicy: its ``tls`` and its ``portLevelSettings`` (port → the
    entry's ``tls``, None when the entry has none: a port-level entry replaces the whole policy)."""

    tls: ClientTls | None
    ports: Mapping[int, ClientTls | None]


# --------------------------------------------------------------------------- Calico


@dataclass(frozen=True, slots=True)
class CalicoTier:
    name: str
    order: float | None
    default_action: TierEnd  # DENY or PASS (CAL-11)
    origin: Origin | None


@dataclass(frozen=True, slots=True)
class NetworkSet:
    """A Calico NetworkSet (namespace set) or GlobalNetworkSet (namespace None)."""

    namespace: str | None
    name: str
    labels: Mapping[str, str]
    cidrs: tuple[str, ...]
    origin: Origin


@dataclass(frozen=True, slots=True)
class CalicoProfile:
    """A Calico Profile: ``labels_to_apply`` are inherited by the endpoints that carry it (CAL-21)."""

    name: str
    labels_to_apply: Mapping[str, str]
    origin: Origin


@dataclass(slots=True)
class CalicoObjects:
    tiers: dict[str, CalicoTier] = field(default_factory=dict)
    network_sets: list[NetworkSet] = field(default_factory=list)
    profiles: dict[str, CalicoProfile] = field(default_factory=dict)
