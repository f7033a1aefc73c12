"""The endpoints the engine reasons about, and every selector bound to them once.

Endpoints are numbered in one universe so that any set of them is a Python int used as a
bitmask:

* **identities** — all pods with the same namespace, labels, service account, container ports,
  hostNetwork flag and (when ipBlocks may match pods) the same ipBlock memberships of their IPs.
  Selectors bind to identities, never to pods: this is what keeps large clusters cheap.
* **networks** — the address space outside the pods, split by every CIDR the policies mention
  into atoms that each CIDR either contains whole or not at all.
* **domains** — DNS names the policies mention (ANP ``domainNames``).
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from itertools import compress
from typing import assert_never

from ..diagnostics import Leans
from ..ir import (
    CILIUM_KEY,
    CILIUM_NAMESPACE,
    CILIUM_NAMESPACE_LABELS,
    CILIUM_SERVICE_ACCOUNT,
    AnyPeer,
    CalicoPeer,
    DomainPeer,
    EntityPeer,
    IPRange,
    LabelSelector,
    NamePattern,
    NetworkPeer,
    NodePeer,
    NoPeer,
    ObjectRef,
    Operator,
    Peer,
    PodPeer,
    Policy,
    Requirement,
    SelectorExpr,
    ServicePeer,
    Subject,
)
from ..model import Cluster, ContainerPort, NetworkSet, PodFacts, Workload
from .mesh import address_ranges
from .options import Options

_SPACE = {4: (0, (1 << 32) - 1), 6: (0, (1 << 128) - 1)}


@dataclass(slots=True)
class Identity:
    index: int
    namespace: str
    labels: Mapping[str, str]
    service_account: str
    ports: tuple[ContainerPort, ...]
    host_network: bool
    ips: tuple[str, ...]
    workloads: list[Workload] = field(default_factory=list)
    port_profile: int = 0  # identities with equal container ports share a profile number

    @property
    def kind(self) -> str:
        return "identity"

    @property
    def display(self) -> str:
        names = ", ".join(w.id for w in self.workloads[:3])
        more = f" +{len(self.workloads) - 3}" if len(self.workloads) > 3 else ""
        return names + more


WORLD = "world"  # Cilium's entity name: every address outside the cluster (issue 17)
WORLD_IPV6 = "world-ipv6"


def world_name(cidr: str) -> str:
    """The name of a whole address space (``0.0.0.0/0``: ``world``; ``::/0``: ``world-ipv6``, as
    Cilium's entities), else the CIDR itself: one name for the outside world in every output."""
    return WORLD if cidr == "0.0.0.0/0" else WORLD_IPV6 if cidr == "::/0" else cidr


def range_name(version: int, first: int, last: int, cidrs: tuple[str, ...]) -> str:
    """A network piece's name: its CIDR (``world`` for the whole IPv4 space), else first-last."""
    if len(cidrs) == 1:
        return world_name(cidrs[0])
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    return f"{cls(first)}-{cls(last)}"


@dataclass(frozen=True)
class Network:
    index: int
    version: int
    first: int
    last: int

    @property
    def kind(self) -> str:
        return "network"

    @cached_property
    def cidrs(self) -> tuple[str, ...]:
        cls = ipaddress.IPv4Address if self.version == 4 else ipaddress.IPv6Address
        return tuple(str(n) for n in ipaddress.summarize_address_range(cls(self.first), cls(self.last)))

    @property
    def id(self) -> str:
        return range_name(self.version, self.first, self.last, self.cidrs)

    @property
    def display(self) -> str:
        return self.id

    def contains(self, address: int) -> bool:
        return self.first <= address <= self.last


@dataclass(frozen=True, slots=True)
class Domain:
    index: int
    name: str

    @property
    def kind(self) -> str:
        return "fqdn"

    @property
    def display(self) -> str:
        return self.name


Endpoint = Identity | Network | Domain


def domain_matches(pattern: str, name: str) -> bool:
    """ANP domainNames: exact, or ``*.`` matching one or more labels in front (never the apex)."""
    if pattern.startswith("*."):
        base = pattern[1:]  # ".example.com"
        if name.startswith("*."):
            return name.endswith(base)
        return name.endswith(base) and len(name) > len(base)
    return pattern == name


def dns_pattern_matches(pattern: str, name: str) -> bool:
    """Cilium DNS/FQDN patterns (CIL-20): ``*`` is any characters but ``.``; a ``**.`` prefix is
    any depth of subdomains; ``*`` alone is every name."""
    if pattern in ("*", name):
        return True
    prefix = ""
    if pattern.startswith("**."):
        prefix, pattern = r"(?:[^.]+\.)+", pattern[3:]
    regex = "^" + prefix + re.escape(pattern).replace(r"\*", "[^.]*") + "$"
    return re.match(regex, name) is not None


def bits(mask: int) -> list[int]:
    """Indices of the set bits of ``mask``, ascending."""
    if mask.bit_count() < 24:
        out: list[int] = []
        while mask:
            low = mask & -mask
            out.append(low.bit_length() - 1)
            mask ^= low
        return out
    # The mask's bytes; ``compress`` skips the zero ones at C speed, and a table gives the set
    # bits of each other byte (10x faster than scanning bin(mask) for a sparse 10,000-bit mask).
    raw = mask.to_bytes((mask.bit_length() + 7) // 8, "little")
    return [j * 8 + k for j in compress(range(len(raw)), raw) for k in _BYTE_BITS[raw[j]]]


_BYTE_BITS = tuple(tuple(k for k in range(8) if value >> k & 1) for value in range(256))


class Universe:
    """Endpoints plus the masks of every selector and peer, computed once and cached."""

    def __init__(self, cluster: Cluster, options: Options, extra_domains: Iterable[str] = ()) -> None:
        self.cluster = cluster
        self.options = options
        self.namespaces = cluster.namespaces
        networks = self._policy_networks([p for p in cluster.policies if p.ref.kind in options.enforced_kinds])
        self.node_addresses: dict[str, tuple[str, ...]] = {n.name: n.addresses for n in cluster.nodes}
        # Distinct ipBlock address sets, which pod IPs may fall into (generic: they match pods).
        self._ip_sets: list[tuple[IPRange, ...]] = sorted({n.ranges for n in networks},
                                                          key=lambda r: [(x.version, x.first, x.last) for x in r])
        self._pods_matched_by_address = options.ipblocks_match_pods or any(n.matches_pods for n in networks)
        self._ip_set_cache: dict[int, tuple[int, ...]] = {}
        self.identities: list[Identity] = []
        self.identities_of: dict[str, list[Identity]] = {}
        self._build_identities(cluster.workloads)
        # IST-25: the addresses of AuthorizationPolicies split the outside space too (no pod matching).
        mesh_cuts = [NetworkPeer("istio", (), (r,), never_pods=True) for r in address_ranges(cluster, options)]
        self.networks: list[Network] = self._build_atoms(networks + mesh_cuts)
        offset = len(self.identities)
        self._atom_starts = {v: [a.first for a in self.networks if a.version == v] for v in (4, 6)}
        self._atoms_by_version = {v: [a for a in self.networks if a.version == v] for v in (4, 6)}
        enforced = options.enforced_kinds
        domains = sorted({p.pattern for pol in cluster.policies if pol.ref.kind in enforced
                          for r in (*pol.ingress, *pol.egress) for p in r.peers if isinstance(p, DomainPeer)}
                         | {d.lower().rstrip(".") for d in extra_domains}
                         # IST-28: the outside hosts the mesh registers are peers of the map too
                         | ({h for se in cluster.mesh.service_entries for h in se.hosts if "*" not in h
                             and se.location != "MESH_INTERNAL"} if options.mesh == "istio" else set()))
        base = offset + len(self.networks)
        self.domains = [Domain(base + i, d) for i, d in enumerate(domains)]
        self.endpoints: list[Endpoint] = [*self.identities, *self.networks, *self.domains]
        self.size = len(self.endpoints)
        self.all_mask = (1 << self.size) - 1
        self.identity_mask = (1 << len(self.identities)) - 1
        self.pod_mask = 0  # identities selectors can pick (NP-25: never hostNetwork pods)
        self._ns_mask: dict[str, int] = {}
        self._label_mask: dict[tuple[str, str], int] = {}
        self._key_mask: dict[str, int] = {}
        self.host_mask = 0  # hostNetwork identities: the node's own traffic (NP-25, CIL-9 host)
        for ident in self.identities:
            bit = 1 << ident.index
            if ident.host_network:
                self.host_mask |= bit
                continue
            self.pod_mask |= bit
            self._ns_mask[ident.namespace] = self._ns_mask.get(ident.namespace, 0) | bit
            for k, v in self._selectable_labels(ident):
                self._label_mask[(k, v)] = self._label_mask.get((k, v), 0) | bit
                self._key_mask[k] = self._key_mask.get(k, 0) | bit
        first_atom = len(self.identities)
        self.network_mask = ((1 << len(self.networks)) - 1) << first_atom
        self.node_mask = 0  # the pieces that are exactly a node's address
        for addresses in self.node_addresses.values():
            for text in addresses:
                atom = self.atom_of(text)
                if atom is not None and atom.first == atom.last:
                    self.node_mask |= 1 << atom.index
        self.domain_mask = ((1 << len(self.domains)) - 1) << (first_atom + len(self.networks))
        self._selector_cache: dict[LabelSelector, int] = {}
        self._ns_selector_cache: dict[LabelSelector, int] = {}
        self._peer_cache: dict[Peer, int] = {}
        self._calico_cache: dict[tuple[str, int, str | None], int] = {}
        self._calico_label_cache: dict[int, Mapping[str, str]] = {}
        self._calico_selected_cache: dict[SelectorExpr, int] = {}
        self._own_side_cache: dict[Peer, tuple[int, int]] = {}

    # ---- construction ----------------------------------------------------------------

    def _selectable_labels(self, ident: Identity) -> list[tuple[str, str]]:
        """Pod labels, plus Cilium's identity labels (namespace, service account, namespace
        labels) under keys no Kubernetes label can have (CIL-7)."""
        labels = list(ident.labels.items())
        labels.append((CILIUM_KEY + CILIUM_NAMESPACE, ident.namespace))
        labels.append((CILIUM_KEY + CILIUM_SERVICE_ACCOUNT, ident.service_account))
        ns = self.namespaces.get(ident.namespace)
        for k, v in (ns.labels.items() if ns else ()):
            labels.append((CILIUM_KEY + CILIUM_NAMESPACE_LABELS + k, v))
        return labels

    def _policy_networks(self, policies: list[Policy]) -> list[NetworkPeer]:
        """Every address set the policies name: ipBlocks, CIDRs, Calico nets and network sets."""
        found = [p for pol in policies for r in (*pol.ingress, *pol.egress) for p in r.peers
                 if isinstance(p, NetworkPeer)]
        for pol in policies:
            for r in (*pol.ingress, *pol.egress):
                for p in r.peers:
                    if isinstance(p, CalicoPeer):
                        for ranges in (p.nets, p.not_nets):
                            if ranges:
                                found.append(NetworkPeer("calico", (), ranges, never_pods=True))
        for ns_set in self.cluster.calico.network_sets:
            for c in ns_set.cidrs:
                net = ipaddress.ip_network(c, strict=False)
                found.append(NetworkPeer(c, (), (IPRange(net.version, int(net.network_address),
                                                         int(net.broadcast_address)),), never_pods=True))
        return found

    def _ip_sets_of(self, ident: Identity) -> tuple[int, ...]:
        found = self._ip_set_cache.get(ident.index)
        if found is None:
            found = self._ip_signature(ident.ips, True)
            self._ip_set_cache[ident.index] = found
        return found

    def _ip_signature(self, ips: tuple[str, ...], host_network: bool) -> tuple[int, ...]:
        """Which ipBlock address sets contain one of these pod IPs: part of a pod's identity
        when some policy may match pods by address (NP-18 option, ANP networks) and for
        hostNetwork pods, whose address is their node's (NP-25)."""
        if not ips or not (host_network or self._pods_matched_by_address):
            return ()
        values: list[tuple[int, int]] = []
        for ip in ips:
            try:
                a = ipaddress.ip_address(ip)
            except ValueError:
                continue
            values.append((a.version, int(a)))
        return tuple(i for i, ranges in enumerate(self._ip_sets)
                     if any(r.version == v and r.first <= x <= r.last for r in ranges for v, x in values))

    def _build_identities(self, workloads: list[Workload]) -> None:
        by_key: dict[tuple[object, ...], Identity] = {}
        addresses: dict[int, set[str]] = {}  # per identity, gathered first: a sorted union per workload is quadratic
        for w in workloads:
            # Per pod: what it shows (NP-32: pods of a workload may differ from it) and its addresses.
            own = PodFacts.of(w.labels, w.service_account, w.ports, w.host_network)
            groups: dict[tuple[PodFacts, tuple[int, ...]], list[str]] = {}
            for i in range(max(len(w.pod_ips), len(w.pod_facts), 1)):
                facts = w.pod_facts[i] if i < len(w.pod_facts) else own
                pod_ips = w.pod_ips[i] if i < len(w.pod_ips) else ()
                groups.setdefault((facts, self._ip_signature(pod_ips, facts.host_network)), []).extend(pod_ips)
            idents: list[Identity] = []
            for (facts, sig), ips in groups.items():
                key = (w.namespace, facts.labels, facts.service_account, facts.ports, facts.host_network, sig)
                ident = by_key.get(key)
                if ident is None:
                    labels = w.labels if facts is own else dict(facts.labels)
                    ident = Identity(len(self.identities), w.namespace, labels, facts.service_account,
                                     facts.ports, facts.host_network, ())
                    by_key[key] = ident
                    self.identities.append(ident)
                ident.workloads.append(w)
                if ips:
                    addresses.setdefault(ident.index, set()).update(ips)
                idents.append(ident)
            self.identities_of[w.id] = idents
        for index, ips_of in addresses.items():
            self.identities[index].ips = tuple(sorted(ips_of))
        profiles: dict[tuple[ContainerPort, ...], int] = {}
        for ident in self.identities:
            ident.port_profile = profiles.setdefault(ident.ports, len(profiles))

    def _build_atoms(self, networks: list[NetworkPeer]) -> list[Network]:
        cuts: dict[int, set[int]] = {4: {0}, 6: {0}}
        for net in networks:
            for r in net.ranges:
                cuts[r.version].add(r.first)
                if r.last < _SPACE[r.version][1]:
                    cuts[r.version].add(r.last + 1)
        for addresses in self.node_addresses.values():
            for text in addresses:
                try:
                    a = ipaddress.ip_address(text)
                except ValueError:
                    continue
                cuts[a.version].update({int(a), int(a) + 1} if int(a) < _SPACE[a.version][1] else {int(a)})
        use_v6 = len(cuts[6]) > 1 or any(":" in ip for i in self.identities for ip in i.ips)
        atoms: list[Network] = []
        index = len(self.identities)
        for version in (4, 6):
            if version == 6 and not use_v6:
                continue
            points = sorted(cuts[version])
            for i, start in enumerate(points):
                end = points[i + 1] - 1 if i + 1 < len(points) else _SPACE[version][1]
                atoms.append(Network(index, version, start, end))
                index += 1
        return atoms

    # ---- lookups ---------------------------------------------------------------------

    def atom_of(self, address: str) -> Network | None:
        try:
            a = ipaddress.ip_address(address)
        except ValueError:
            return None
        starts = self._atom_starts.get(a.version) or []
        if not starts:
            return None
        i = bisect.bisect_right(starts, int(a)) - 1
        return self._atoms_by_version[a.version][i]

    def identity_of_ip(self, address: str) -> Identity | None:
        for ident in self.identities:
            if address in ident.ips:
                return ident
        return None

    def domain(self, name: str) -> Domain | None:
        name = name.lower().rstrip(".")
        for d in self.domains:
            if d.name == name:
                return d
        return None

    # ---- binding ---------------------------------------------------------------------

    def selector_mask(self, selector: LabelSelector) -> int:
        """Identities (never hostNetwork ones) whose labels the selector matches."""
        cached = self._selector_cache.get(selector)
        if cached is not None:
            return cached
        if selector.nothing:
            mask = 0
        else:
            mask = self.pod_mask
            for req in selector.requirements:
                if req.operator is Operator.IN:
                    m = 0
                    for v in req.values:
                        m |= self._label_mask.get((req.key, v), 0)
                    mask &= m
                elif req.operator is Operator.NOT_IN:
                    m = 0
                    for v in req.values:
                        m |= self._label_mask.get((req.key, v), 0)
                    mask &= ~m
                elif req.operator is Operator.EXISTS:
                    mask &= self._key_mask.get(req.key, 0)
                else:
                    mask &= ~self._key_mask.get(req.key, 0)
                if not mask:
                    break
        self._selector_cache[selector] = mask
        return mask

    def namespaces_matching(self, selector: LabelSelector) -> list[str]:
        return sorted(n.name for n in self.namespaces.values() if selector.matches(n.labels))

    def namespace_selector_mask(self, selector: LabelSelector) -> int:
        cached = self._ns_selector_cache.get(selector)
        if cached is None:
            cached = 0
            for name in self.namespaces_matching(selector):
                cached |= self._ns_mask.get(name, 0)
            self._ns_selector_cache[selector] = cached
        return cached

    def pods_mask(self, pod_selector: LabelSelector, namespace: str | None,
                  namespace_selector: LabelSelector | None) -> int:
        if namespace is not None:
            ns = self._ns_mask.get(namespace, 0)
        elif namespace_selector is None or namespace_selector.is_everything:
            ns = self.pod_mask
        else:
            ns = self.namespace_selector_mask(namespace_selector)
        return ns & self.selector_mask(pod_selector) if ns else 0

    def subject_mask(self, subject: Subject) -> int:
        return self.pods_mask(subject.pod_selector, subject.namespace, subject.namespace_selector)

    def peer_mask(self, peer: Peer) -> int:
        cached = self._peer_cache.get(peer)
        if cached is not None:
            return cached
        mask = 0
        if isinstance(peer, PodPeer):
            mask = self.pods_mask(peer.pod_selector, peer.namespace, peer.namespace_selector)
        elif isinstance(peer, AnyPeer):
            mask = self.all_mask
        elif isinstance(peer, NetworkPeer):
            mask = self._ranges_mask(peer.ranges)
            cilium = peer.never_pods or self.options.cni == "cilium"
            if cilium:
                # CIL-10: by default CIDR rules select no in-cluster entity: no pod, no node.
                mask &= ~self.node_mask
            # NP-18 (generic: ipBlocks match pods whose IP is known); ANP-9: ANP networks
            # always match pod addresses; NP-25: hostNetwork pods are node traffic, which
            # ipBlocks always match.
            pods_too = (peer.matches_pods or self.options.ipblocks_match_pods) and not peer.never_pods
            if pods_too and peer.covers_a_whole_family:
                mask |= self.identity_mask  # every pod has an address in it, known or not
            else:
                k = self._ip_sets.index(peer.ranges) if peer.ranges in self._ip_sets else -1
                for ident in self.identities:
                    if ident.ips and (pods_too or (ident.host_network and not cilium)) \
                            and k in self._ip_sets_of(ident):
                        mask |= 1 << ident.index
            # A domain resolves to some address: only a peer covering a whole IP space
            # certainly contains it.
            if peer.covers_a_whole_family:
                for d in self.domains:
                    mask |= 1 << d.index
        elif isinstance(peer, NodePeer):
            addresses: set[str] = set()
            for node in self.cluster.nodes:
                if peer.selector.matches(node.labels):
                    addresses.update(node.addresses)
            for text in addresses:
                atom = self.atom_of(text)
                if atom is not None:
                    mask |= 1 << atom.index
            # A hostNetwork pod's address is its node's address (NP-25).
            for ident in self.identities:
                if ident.host_network and addresses.intersection(ident.ips):
                    mask |= 1 << ident.index
        elif isinstance(peer, DomainPeer):
            match = dns_pattern_matches if peer.syntax is NamePattern.CILIUM else domain_matches
            visible = peer.dns_visible
            for d in self.domains:
                # CIL-21: a name is learnt only if the endpoint's DNS rules let its lookup through.
                if match(peer.pattern, d.name) and (visible is None or any(dns_pattern_matches(v, d.name)
                                                                             for v in visible)):
                    mask |= 1 << d.index
        elif isinstance(peer, EntityPeer):
            mask = self._entity_mask(peer.entity)
        elif isinstance(peer, CalicoPeer):
            mask = self._calico_peer_mask(peer)
        elif isinstance(peer, ServicePeer):
            for svc in self.cluster.services:
                if peer.namespace and svc.namespace != peer.namespace:
                    continue
                if (peer.selector.matches(svc.labels) if peer.selector is not None else svc.name == peer.name) \
                        and svc.selector:
                    selector = LabelSelector(tuple(Requirement(k, Operator.IN, (v,))
                                                   for k, v in sorted(svc.selector.items())))
                    mask |= self.pods_mask(selector, svc.namespace, None)
        elif isinstance(peer, NoPeer):
            mask = 0  # a peer that could not be read matches nothing (fail closed)
        else:
            assert_never(peer)  # every peer type of the IR is bound above: mypy checks it
        self._peer_cache[peer] = mask
        return mask

    # ---- Calico ----------------------------------------------------------------------

    def _calico_labels(self, ident: Identity) -> Mapping[str, str]:
        """The labels Calico's selectors see on a pod's endpoint (CAL-21): the endpoint's own
        (the pod's labels and Calico's projectcalico.org/* labels) first, then those of its
        profiles in order, kns.<namespace> (pcns.*) and ksa.<namespace>.<account> (pcsa.*)."""
        found = self._calico_label_cache.get(ident.index)
        if found is not None:
            return found
        sa = self.cluster.service_accounts.get((ident.namespace, ident.service_account))
        account = {f"pcsa.{k}": v for k, v in (sa.labels.items() if sa is not None else ())}
        account["pcsa.projectcalico.org/name"] = ident.service_account  # Calico names the account too
        labels = dict(self._profile_labels(f"ksa.{ident.namespace}.{ident.service_account}", account, sa is not None,
                                           f"ServiceAccount {ident.namespace}/{ident.service_account}"))
        labels.update(self._namespace_profile(ident.namespace))
        labels.update(ident.labels)
        labels.update({"projectcalico.org/namespace": ident.namespace, "projectcalico.org/orchestrator": "k8s",
                       "projectcalico.org/serviceaccount": ident.service_account})
        self._calico_label_cache[ident.index] = labels
        return labels

    def _namespace_profile(self, name: str) -> Mapping[str, str]:
        """The labels of the profile kns.<name>: the namespace's labels as pcns.* (CAL-14)."""
        ns = self.namespaces.get(name)
        derived = {f"pcns.{k}": v for k, v in (ns.labels.items() if ns else ())}
        derived["pcns.projectcalico.org/name"] = name
        return self._profile_labels(f"kns.{name}", derived, ns is not None and ns.origin is not None,
                                    f"Namespace {name}")

    def _profile_labels(self, profile: str, derived: dict[str, str], from_object: bool,
                        owner: str) -> Mapping[str, str]:
        """CAL-21: a profile's labels. Calico derives kns.* and ksa.* profiles from their Namespace
        and ServiceAccount; a Profile object of the input adds its labelsToApply, and where the
        object of the input says otherwise, the object wins (with a warning)."""
        given = self.cluster.calico.profiles.get(profile)
        if given is None:
            return derived
        if not from_object:
            return {**derived, **given.labels_to_apply}
        for k, v in given.labels_to_apply.items():
            if k in derived and derived[k] != v:
                self.cluster.diagnostics.warning(
                    "calico-profile-conflict", f"Profile {profile} applies {k}={v}, but {owner} gives {k}="
                    f"{derived[k]}: Calico derives the profile from the {owner.split()[0]}, so kubeward uses "
                    f"{derived[k]} (CAL-21)", given.origin.file, given.origin.line,
                    ObjectRef("Profile", "", profile, given.origin.file, given.origin.line), Leans.EITHER)
        return {**given.labels_to_apply, **derived}

    def _network_set_labels(self, ns_set: NetworkSet) -> Mapping[str, str]:
        """A network set's labels as Calico's selectors see them: its own, with a namespaced set's
        projectcalico.org/namespace and the labels of its namespace's profile (CAL-21)."""
        if ns_set.namespace is None:
            return ns_set.labels
        return {**self._namespace_profile(ns_set.namespace), **ns_set.labels,
                "projectcalico.org/namespace": ns_set.namespace}

    def calico_subject_mask(self, expr: SelectorExpr, namespace: str | None) -> int:
        """Endpoints a Calico policy selector picks (CAL-4): in its namespace, or everywhere."""
        key = ("subject", id(expr), namespace)
        found = self._calico_cache.get(key)
        if found is None:
            found = 0
            for ident in self.identities:
                if ident.host_network or (namespace is not None and ident.namespace != namespace):
                    continue
                if expr.matches(self._calico_labels(ident)):
                    found |= 1 << ident.index
            self._calico_cache[key] = found
        return found

    def _calico_selected(self, expr: SelectorExpr) -> int:
        """Endpoints and network sets (their addresses) whose Calico labels the selector matches."""
        found = self._calico_selected_cache.get(expr)
        if found is None:
            found = 0
            for ident in self.identities:
                if not ident.host_network and expr.matches(self._calico_labels(ident)):
                    found |= 1 << ident.index
            for ns_set in self.cluster.calico.network_sets:
                if expr.matches(self._network_set_labels(ns_set)):
                    found |= self._cidrs_mask(ns_set.cidrs)
            self._calico_selected_cache[expr] = found
        return found

    def _calico_peer_mask(self, peer: CalicoPeer, unknown_in_nets: bool = False,
                          unknown_in_not_nets: bool = False) -> int:
        """CAL-6: every present criterion ANDed; the selector (namespace scope, service accounts
        and selector in one, CAL-19) matches endpoints and network sets. ``unknown_in_*``: whether
        a pod whose address the input does not give counts as inside nets / notNets."""
        mask = self.all_mask
        if peer.selector is not None:
            mask &= self._calico_selected(peer.selector)
        if peer.not_selector is not None:
            mask &= ~self._calico_selected(peer.not_selector)
        if peer.nets is not None:
            mask &= self._ranges_mask(peer.nets) | self._pods_in(peer.nets, unknown_in_nets)
        if peer.not_nets is not None:
            mask &= ~(self._ranges_mask(peer.not_nets) | self._pods_in(peer.not_nets, unknown_in_not_nets))
        if peer.ip_version is not None:
            family = 0
            for atom in self.networks:
                if atom.version == peer.ip_version:
                    family |= 1 << atom.index
            for ident in self.identities:
                versions = {ipaddress.ip_address(ip).version for ip in ident.ips} or {4}
                if peer.ip_version in versions:
                    family |= 1 << ident.index
            mask &= family | (self.domain_mask if peer.ip_version == 4 else 0)
        return mask & self.all_mask

    def own_side_masks(self, peer: Peer) -> tuple[int, int]:
        """CAL-18: the subjects a rule's own-side criteria certainly match, and those they may
        match (they differ for pods whose address the input does not give, when the criteria
        name addresses)."""
        found = self._own_side_cache.get(peer)
        if found is None:
            if isinstance(peer, CalicoPeer) and (peer.nets is not None or peer.not_nets is not None):
                found = (self._calico_peer_mask(peer, False, True), self._calico_peer_mask(peer, True, False))
            else:
                mask = self.peer_mask(peer)
                found = (mask, mask)
            self._own_side_cache[peer] = found
        return found

    def _cidrs_mask(self, cidrs: tuple[str, ...]) -> int:
        ranges: list[IPRange] = []
        for c in cidrs:
            net = ipaddress.ip_network(c, strict=False)
            ranges.append(IPRange(net.version, int(net.network_address), int(net.broadcast_address)))
        return self._ranges_mask(tuple(ranges))

    def _pods_in(self, ranges: tuple[IPRange, ...], unknown: bool = False) -> int:
        """NP-18 under Calico: nets match any packet address, pod IPs included. ``unknown``: pods
        whose address is not known count as inside."""
        mask = 0
        for ident in self.identities:
            if unknown and not ident.ips:
                mask |= 1 << ident.index
            for ip in ident.ips:
                a = ipaddress.ip_address(ip)
                if any(r.version == a.version and r.first <= int(a) <= r.last for r in ranges):
                    mask |= 1 << ident.index
                    break
        return mask

    def _entity_mask(self, entity: str) -> int:
        """CIL-9: entities as sets of endpoints kubeward knows."""
        if entity == "all":
            return self.all_mask
        if entity == "world":
            # Outside the cluster (≡ 0.0.0.0/0, ::/0): not the nodes, which are host/remote-node.
            return (self.network_mask & ~self.node_mask) | self.domain_mask
        if entity == "cluster":
            return self.identity_mask | self.node_mask
        if entity in ("host", "remote-node"):
            return self.host_mask | self.node_mask
        return 0  # kube-apiserver, init, health, unmanaged, ingress: nothing in the input

    def _ranges_mask(self, ranges: tuple[IPRange, ...]) -> int:
        mask = 0
        for r in ranges:
            starts = self._atom_starts.get(r.version) or []
            atoms = self._atoms_by_version.get(r.version) or []
            i = bisect.bisect_left(starts, r.first)
            while i < len(atoms) and atoms[i].first <= r.last:
                mask |= 1 << atoms[i].index
                i += 1
        return mask

    def peers_mask(self, peers: tuple[Peer, ...]) -> int:
        mask = 0  # NP-13: the peers of one rule are ORed
        for p in peers:
            mask |= self.peer_mask(p)
        return mask
