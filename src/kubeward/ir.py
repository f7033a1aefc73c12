"""The one rule representation every policy dialect lowers to.

A :class:`Policy` applies to a :class:`Subject` (the pods it protects) and holds ordered
:class:`Rule` s per :class:`Direction`. Rules name their *peers* (the other end of the
connection) and the destination *ports*. Names follow the roles: ``subject`` is what a policy
applies to, ``peer`` is the other end; never "src"/"dst" for policy roles.

Precedence lives in :class:`Tier` (evaluated in declaration order) and, inside the admin and
baseline tiers, in ``Policy.priority`` (lower first) and rule order (first match decides).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from .refs import ObjectRef as ObjectRef  # re-exported: policies are located like every object


class Direction(StrEnum):
    INGRESS = "ingress"
    EGRESS = "egress"


class Action(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    PASS = "pass"
    LOG = "log"  # Calico: log and go on with the next rule (CAL-8)


class Tier(StrEnum):
    """Where a policy sits among the CNI's tiers, in evaluation order (ANP-1; Cilium's deny rules
    come first, CIL-23). ``ORDERED``: a policy placed by its :class:`TierPlacement` in an ordered
    list of named tiers (CAL-10)."""

    DENY = "deny"
    ADMIN = "admin"
    NETWORK_POLICY = "networkpolicy"
    BASELINE = "baseline"
    ORDERED = "ordered"


TIER_ORDER = (Tier.DENY, Tier.ADMIN, Tier.NETWORK_POLICY, Tier.BASELINE)


class StagedAction(StrEnum):
    """A Calico staged policy's ``stagedAction`` (CAL-23): what enforcing it would do to the enforced
    policy of the same name."""

    SET = "Set"        # create it, or replace the enforced policy of that name
    DELETE = "Delete"  # remove the enforced policy of that name


class TierEnd(StrEnum):
    """What a tier does with the ports none of its rules decided."""

    NEXT = "next"    # they go on to the next tier, silently (ANP-3: the admin tier's rest)
    PASS = "pass"    # they go on to the next tier, as the tier's stated default (CAL-11 defaultAction Pass)
    DENY = "deny"    # they are denied (NP-3 isolation; CAL-11 defaultAction Deny)
    ALLOW = "allow"  # they are allowed: the end of the pipeline (ANP-1 default allow; CAL-14 profiles)


@dataclass(frozen=True, slots=True)
class TierPlacement:
    """A policy's place in an ordered list of named tiers (CAL-10): the tier's name, and the
    policy's order inside it (None: unset, after every ordered policy). The tier's own order and
    end action are properties of the tier object, resolved by the engine (a Tier object may come
    later in the input than its policies)."""

    tier: str
    policy_order: float | None = None

PROTOCOLS = ("TCP", "UDP", "SCTP")
MIN_PORT, MAX_PORT = 1, 65535


# Cilium's identity labels that are not pod labels (namespace, service account, namespace labels)
# are indexed under keys no Kubernetes label can have; shown without the marker.
CILIUM_KEY = "\x00cilium:"


class Operator(StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator is Operator.IN:
            return labels.get(self.key) in self.values
        if self.operator is Operator.NOT_IN:
            # An absent label satisfies NotIn (apimachinery labels.Selector).
            return self.key not in labels or labels[self.key] not in self.values
        if self.operator is Operator.EXISTS:
            return self.key in labels
        return self.key not in labels

    def __str__(self) -> str:
        key = "k8s:" + self.key[len(CILIUM_KEY):] if self.key.startswith(CILIUM_KEY) else self.key
        if self.operator is Operator.IN and len(self.values) == 1:
            return f"{key}={self.values[0]}"
        if self.operator is Operator.NOT_IN and len(self.values) == 1:
            return f"{key}!={self.values[0]}"
        if self.operator is Operator.EXISTS:
            return key
        if self.operator is Operator.DOES_NOT_EXIST:
            return f"!{key}"
        word = "in" if self.operator is Operator.IN else "notin"
        return f"{key} {word} ({','.join(self.values)})"


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A Kubernetes label selector: all requirements must hold (matchLabels are ``In`` with one
    value). No requirement selects everything. ``nothing`` is a selector that could not be
    understood: it selects nothing (fail closed) and its policy carries a diagnostic."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    @property
    def is_everything(self) -> bool:
        return not self.requirements and not self.nothing

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.nothing:
            return False
        return all(r.matches(labels) for r in self.requirements)

    def __str__(self) -> str:
        if self.nothing:
            return "<invalid: matches nothing>"
        if not self.requirements:
            return "{}"
        return ",".join(str(r) for r in self.requirements)


EVERYTHING = LabelSelector()
NOTHING = LabelSelector(nothing=True)


# --------------------------------------------------------------------------- selector expressions


class CompareOp(StrEnum):
    EQ = "=="
    NE = "!="
    CONTAINS = "contains"
    STARTS = "starts with"
    ENDS = "ends with"


class SelectorExpr:
    """A label selector written as an expression (Calico's selector language, CAL-1 … CAL-3):
    ``matches(labels)`` answers for one label set."""

    __slots__ = ()

    def matches(self, labels: Mapping[str, str]) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class AllExpr(SelectorExpr):
    """``all()``, or an empty selector: every endpoint."""

    def matches(self, labels: Mapping[str, str]) -> bool:
        return True

    def __str__(self) -> str:
        return "all()"


@dataclass(frozen=True, slots=True)
class GlobalExpr(SelectorExpr):
    """``global()``: in a namespaceSelector, the resources that have no namespace."""

    def matches(self, labels: Mapping[str, str]) -> bool:
        return True

    def __str__(self) -> str:
        return "global()"


@dataclass(frozen=True, slots=True)
class CompareExpr(SelectorExpr):
    op: CompareOp
    key: str
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        have = labels.get(self.key)
        if self.op is CompareOp.NE:
            return have != self.value  # CAL-1: true when the label is absent
        if have is None:
            return False  # CAL-3: the other operators need the label
        if self.op is CompareOp.EQ:
            return have == self.value
        if self.op is CompareOp.CONTAINS:
            return self.value in have
        if self.op is CompareOp.STARTS:
            return have.startswith(self.value)
        return have.endswith(self.value)

    def __str__(self) -> str:
        return f"{self.key} {self.op.value} '{self.value}'"


@dataclass(frozen=True, slots=True)
class InSetExpr(SelectorExpr):
    key: str
    values: tuple[str, ...]
    negated: bool = False

    def matches(self, labels: Mapping[str, str]) -> bool:
        have = labels.get(self.key)
        if self.negated:
            return have is None or have not in self.values  # CAL-1: true when absent
        return have is not None and have in self.values

    def __str__(self) -> str:
        values = ", ".join(f"'{v}'" for v in self.values)
        return f"{self.key} {'not in' if self.negated else 'in'} {{{values}}}"


@dataclass(frozen=True, slots=True)
class HasExpr(SelectorExpr):
    key: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        return self.key in labels

    def __str__(self) -> str:
        return f"has({self.key})"


@dataclass(frozen=True, slots=True)
class NotExpr(SelectorExpr):
    inner: SelectorExpr

    def matches(self, labels: Mapping[str, str]) -> bool:
        return not self.inner.matches(labels)

    def __str__(self) -> str:
        simple = isinstance(self.inner, (HasExpr, AllExpr, GlobalExpr))
        return f"!{self.inner}" if simple else f"!({self.inner})"


@dataclass(frozen=True, slots=True)
class AndExpr(SelectorExpr):
    parts: tuple[SelectorExpr, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(p.matches(labels) for p in self.parts)

    def __str__(self) -> str:
        return " && ".join(f"({p})" if isinstance(p, OrExpr) else str(p) for p in self.parts)


@dataclass(frozen=True, slots=True)
class OrExpr(SelectorExpr):
    parts: tuple[SelectorExpr, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        return any(p.matches(labels) for p in self.parts)

    def __str__(self) -> str:
        return " || ".join(str(p) for p in self.parts)


# --------------------------------------------------------------------------- peers


@dataclass(frozen=True, slots=True)
class PodPeer:
    """Pods selected by labels, in the namespace ``namespace`` (when set) or in every namespace
    that ``namespace_selector`` selects."""

    pod_selector: LabelSelector = EVERYTHING
    namespace: str | None = None
    namespace_selector: LabelSelector | None = None

    def __str__(self) -> str:
        where = f"namespace {self.namespace}" if self.namespace is not None else (
            "all namespaces" if self.namespace_selector is None or self.namespace_selector.is_everything
            else f"namespaces {{{self.namespace_selector}}}")
        pods = "all pods" if self.pod_selector.is_everything else f"pods {{{self.pod_selector}}}"
        return f"{pods} in {where}"


@dataclass(frozen=True, slots=True)
class IPRange:
    """An inclusive range of addresses of one IP version."""

    version: int
    first: int
    last: int


@dataclass(frozen=True, slots=True)
class NetworkPeer:
    """Addresses: ``cidr`` minus ``excepts`` (a KNP ipBlock, an ANP network, a Cilium CIDR)."""

    cidr: str
    excepts: tuple[str, ...] = ()
    ranges: tuple[IPRange, ...] = ()
    # True: matches pod addresses whatever the CNI option (ANP networks, ANP-9); False: as the
    # NP-18 option says (KNP ipBlock).
    matches_pods: bool = False
    # True: never matches pods (Cilium CIDR rules, CIL-10).
    never_pods: bool = False

    @property
    def covers_a_whole_family(self) -> bool:
        return any(r.first == 0 and r.last == (1 << (32 if r.version == 4 else 128)) - 1 for r in self.ranges)

    def __str__(self) -> str:
        return self.cidr + (f" except {', '.join(self.excepts)}" if self.excepts else "")


@dataclass(frozen=True, slots=True)
class AnyPeer:
    """Every peer: all pods in all namespaces and every address outside the cluster (NP-11)."""

    def __str__(self) -> str:
        return "any peer"


@dataclass(frozen=True, slots=True)
class NodePeer:
    """The IP addresses of the nodes a selector picks (ANP ``nodes``)."""

    selector: LabelSelector

    def __str__(self) -> str:
        return f"nodes {{{self.selector}}}"


class NamePattern(StrEnum):
    """How a DNS name pattern's wildcards read."""

    ANP = "anp"        # ANP domainNames: a leading ``*.`` stands for one or more labels (ANP-10)
    CILIUM = "cilium"  # Cilium toFQDNs: ``*`` within a label, ``**.`` any depth (CIL-20)


@dataclass(frozen=True, slots=True)
class DomainPeer:
    """A DNS name or pattern: ANP ``domainNames`` or Cilium ``toFQDNs``; ``syntax`` says how its
    wildcards read."""

    pattern: str
    syntax: NamePattern = NamePattern.ANP
    # Cilium: the DNS rule patterns through which the endpoint's lookups pass (CIL-21); None:
    # not restricted (ANP, or not yet bound to an endpoint).
    dns_visible: tuple[str, ...] | None = None

    def __str__(self) -> str:
        return f"fqdn {self.pattern}"


@dataclass(frozen=True, slots=True)
class EntityPeer:
    """A Cilium entity (CIL-9): world, cluster, host, remote-node, all, kube-apiserver, …"""

    entity: str

    def __str__(self) -> str:
        return f"entity {self.entity}"


@dataclass(frozen=True, slots=True)
class NoPeer:
    """A peer that could not be understood; matches nothing (its diagnostic says why)."""

    reason: str

    def __str__(self) -> str:
        return f"<invalid peer: {self.reason}>"


@dataclass(frozen=True, slots=True)
class ServicePeer:
    """The backends of a Service (Cilium ``toServices``)."""

    namespace: str  # "" = every namespace
    name: str = ""  # "" = the Services ``selector`` picks by their labels
    selector: LabelSelector | None = None

    def __str__(self) -> str:
        if self.selector is not None:
            return f"services {{{self.selector}}}" + (f" in namespace {self.namespace}" if self.namespace else "")
        return f"service {self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class CalicoPeer:
    """A Calico EntityRule's peer criteria, all ANDed (CAL-6). ``selector`` is the one endpoint
    selector Calico builds from the entity rule (CAL-4, CAL-19): the rule's ``selector``, its
    ``serviceAccounts`` (as ``projectcalico.org/serviceaccount`` and ``pcsa.*`` labels) and its
    namespace scope (the policy's namespace, or ``namespaceSelector`` over ``pcns.*`` labels),
    evaluated over the labels Calico gives endpoints and network sets; None: no selector
    criterion. ``not_selector`` is the rule's notSelector as written."""

    selector: SelectorExpr | None = None
    not_selector: SelectorExpr | None = None
    nets: tuple[IPRange, ...] | None = None
    not_nets: tuple[IPRange, ...] | None = None
    ip_version: int | None = None                    # a rule's ipVersion: only that address family
    text: str = ""

    def __str__(self) -> str:
        return self.text or "any peer"


Peer = PodPeer | NetworkPeer | AnyPeer | NodePeer | DomainPeer | EntityPeer | ServicePeer | CalicoPeer | NoPeer

# Cilium's identity labels that are not pod labels, as kubeward indexes them: namespace, service
# account and namespace labels, under keys no Kubernetes label can have.
CILIUM_NAMESPACE = "io.kubernetes.pod.namespace"
CILIUM_SERVICE_ACCOUNT = "io.cilium.k8s.policy.serviceaccount"
CILIUM_NAMESPACE_LABELS = "io.cilium.k8s.namespace.labels."


# --------------------------------------------------------------------------- ports


@dataclass(frozen=True, slots=True)
class PortRange:
    protocol: str
    first: int
    last: int

    def __str__(self) -> str:
        ports = str(self.first) if self.first == self.last else f"{self.first}-{self.last}"
        if self.first == MIN_PORT and self.last == MAX_PORT:
            ports = "all ports"
        return f"{self.protocol}/{ports}"


@dataclass(frozen=True, slots=True)
class NamedPort:
    """A container port name, resolved against the destination pod (NP-22). ``protocol`` None:
    the protocol of the container port of that name (ANP namedPort)."""

    name: str
    protocol: str | None = None

    def __str__(self) -> str:
        return f"{self.protocol}/{self.name}" if self.protocol else self.name


PortMatch = PortRange | NamedPort


# --------------------------------------------------------------------------- L7


@dataclass(frozen=True, slots=True)
class HttpRule:
    """One Cilium HTTP rule (CIL-16): regexes matched against the whole value."""

    method: str = ""
    path: str = ""
    host: str = ""
    headers: tuple[str, ...] = ()  # "Name" = present, "Name: value" = exact value
    line: int = 0

    def __str__(self) -> str:
        parts = [self.method or "*", self.path or "*"]
        if self.host:
            parts.append(f"host {self.host}")
        parts.extend(f"header {h}" for h in self.headers)
        return " ".join(parts)


class L7Kind(StrEnum):
    HTTP = "http"
    DNS = "dns"
    OTHER = "other"  # a protocol kubeward does not model (kafka, …): named in ``L7.protocol``


@dataclass(frozen=True, slots=True)
class L7:
    """L7 rules of one toPorts entry: ``http``, ``dns`` (patterns) or another kind not modelled."""

    kind: L7Kind
    http: tuple[HttpRule, ...] = ()
    dns: tuple[str, ...] = ()  # Cilium DNS patterns: matchName values and matchPattern values
    protocol: str = ""         # OTHER: the rules' key as written (kafka, …)


# --------------------------------------------------------------------------- policies


PolicyRef = ObjectRef  # the name the policy layers use


@dataclass(frozen=True, slots=True)
class Subject:
    """The pods a policy applies to: ``pod_selector`` within ``namespace`` (namespaced policy)
    or within the namespaces ``namespace_selector`` selects (cluster-scoped policy)."""

    pod_selector: LabelSelector = EVERYTHING
    namespace: str | None = None
    namespace_selector: LabelSelector | None = None

    def as_peer(self) -> PodPeer:
        return PodPeer(self.pod_selector, self.namespace, self.namespace_selector)


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: if the peer matches one of ``peers`` and the port one of ``ports`` (None:
    every port), ``action`` applies. ``index`` counts from 0 within its direction."""

    policy: PolicyRef
    direction: Direction
    index: int
    action: Action
    peers: tuple[Peer, ...]
    ports: tuple[PortMatch, ...] | None
    line: int
    name: str = ""
    l7: L7 | None = None  # Cilium toPorts[].rules
    section: str = ""     # the YAML list the rule is in, when not "ingress"/"egress" (e.g. egressDeny)
    # Cilium fromRequires/toRequires: requirements added to every endpoint selector of every
    # rule that selects the same endpoint.
    requires: tuple[Requirement, ...] = ()
    # The rule applies only to the subjects this peer matches (None: to every subject of its
    # policy): Calico's criteria on the policy's own side of a rule (CAL-18). The engine drops
    # the rule from the sides of the other subjects.
    subject_only: Peer | None = None
    # The connection's source ports the rule requires (None: any source port). Flows carry no
    # source port: the engine lets such an Allow (or Pass) rule match nothing and such a Deny
    # rule deny whatever the source port (CAL-20).
    source_ports: tuple[PortMatch, ...] | None = None
    # Where the rule is written in its object (``spec.ingress[0]``, ``specs[1].egressDeny[2]``): strict
    # reading finds by it the rule a malformed part lies in.
    path: str = ""

    @property
    def label(self) -> str:
        label = f"{self.section or self.direction.value} rule {self.index}"
        return f"{label} ({self.name})" if self.name else label


@dataclass(frozen=True, slots=True)
class Policy:
    ref: PolicyRef
    tier: Tier
    subject: Subject
    isolates: frozenset[Direction]
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()
    priority: int | None = None
    notes: tuple[str, ...] = field(default=())
    priority_line: int = 0
    placement: TierPlacement | None = None  # Tier.ORDERED: its named tier and order there (CAL-10)
    selector_expr: SelectorExpr | None = None  # the subject as an expression (None: use ``subject``)
    rejected: str = ""                     # why the API server would refuse it (CAL-7): not applied
    # A Calico staged policy (CAL-23): never enforced, unless the profile says --enforce-staged.
    staged: StagedAction | None = None

    def rules(self, direction: Direction) -> tuple[Rule, ...]:
        return self.ingress if direction is Direction.INGRESS else self.egress
