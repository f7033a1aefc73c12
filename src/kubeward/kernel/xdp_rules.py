"""Which deny rules hold for every pod of a node regardless of identity: what an XDP program at
the node's NIC can enforce (issue 15, ``kubeward xdp``).

- CIL-33: a CiliumClusterwideNetworkPolicy selecting every endpoint (``endpointSelector: {}``):
  its ``ingressDeny`` rules whose peers are addresses (``fromCIDR``/``fromCIDRSet``, with except)
  or every source (no peer, ``fromEntities: [all]``).
- CIL-34: a Cilium host policy (``nodeSelector: {}``, every node): its ``ingressDeny`` rules, alike.
- CAL-25: a Calico GlobalNetworkPolicy with ``doNotTrack: true`` and ``applyOnForward: true`` (it
  applies to the host endpoints it selects, before connection tracking, and to forwarded traffic):
  its ingress ``Deny`` rules whose source is nets (minus notNets), GlobalNetworkSets (by a source
  selector) or anything.

Cilium's CIDR peers never match the endpoints Cilium manages (CIL-10): the addresses of the
input's pods and nodes are taken out of their sources (``managed``), so the program passes what
the policy does not deny. A rule is left out, with the reason, when its peer is an identity (pods, namespaces, entities
other than ``all``), its ports are named, it has destination-side criteria or source ports.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ..dialects.cilium import host_policy_denies
from ..ir import Action, AnyPeer, CalicoPeer, Direction, EntityPeer, IPRange, NetworkPeer, Peer, Policy, PortRange, Rule
from ..loader import LMap, RawObject
from ..model import Cluster

CCNP, GNP = "CiliumClusterwideNetworkPolicy", "GlobalNetworkPolicy"
Ports = tuple[tuple[str, int, int], ...]  # (protocol, first, last)


@dataclass(frozen=True, slots=True)
class XdpDeny:
    """One deny rule the XDP program enforces. ``ports`` None: every protocol and port;
    ``sources`` None: every source address."""

    rule_id: str       # the semantics catalogue entry: CIL-33, CIL-34, CAL-25
    origin: str        # Kind name section[i]
    file: str
    line: int
    ports: Ports | None
    sources: tuple[str, ...] | None  # CIDR prefixes, IPv4 and IPv6
    scope: str = "every endpoint"    # where the policy holds: what the program's NICs must be

    def to_json(self) -> dict[str, object]:
        return {"id": self.rule_id, "origin": self.origin, "file": self.file, "line": self.line, "scope": self.scope,
                "ports": None if self.ports is None else [{"protocol": p, "first": a, "last": b}
                                                          for p, a, b in self.ports],
                "sources": None if self.sources is None else list(self.sources)}


@dataclass(frozen=True, slots=True)
class Skipped:
    origin: str
    file: str
    line: int
    reason: str

    def to_json(self) -> dict[str, object]:
        return {"origin": self.origin, "file": self.file, "line": self.line, "reason": self.reason}


class _Unfit(Exception):
    pass


def _prefixes(ranges: tuple[IPRange, ...] | list[IPRange]) -> list[str]:
    out: list[str] = []
    for r in ranges:
        cls = ipaddress.IPv4Address if r.version == 4 else ipaddress.IPv6Address
        out.extend(str(n) for n in ipaddress.summarize_address_range(cls(r.first), cls(r.last)))
    return out


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _cidr_ranges(cidrs: list[str]) -> list[IPRange]:
    out = []
    for c in cidrs:
        n = ipaddress.ip_network(c, strict=False)
        out.append(IPRange(n.version, int(n.network_address), int(n.broadcast_address)))
    return out


def _minus(ranges: list[IPRange], holes: list[IPRange]) -> list[IPRange]:
    for h in holes:
        nxt = []
        for r in ranges:
            if r.version != h.version or h.last < r.first or h.first > r.last:
                nxt.append(r)
                continue
            if r.first < h.first:
                nxt.append(IPRange(r.version, r.first, h.first - 1))
            if h.last < r.last:
                nxt.append(IPRange(r.version, h.last + 1, r.last))
        ranges = nxt
    return ranges


def _sources(peer: Peer, network_sets: list[tuple[dict[str, str], tuple[str, ...]]],
             managed: list[IPRange]) -> list[str] | None:
    if isinstance(peer, AnyPeer) or (isinstance(peer, EntityPeer) and peer.entity == "all"):
        return None
    if isinstance(peer, NetworkPeer):
        # CIL-10: a CIDR peer never matches a managed pod or node, whatever its address.
        left = _minus(list(peer.ranges) or _cidr_ranges([peer.cidr]), managed)
        if not left:
            raise _Unfit(f"its CIDR {peer.cidr} holds only addresses of pods and nodes, which Cilium's CIDR "
                         "rules never match (CIL-10)")
        return _prefixes(left)
    if isinstance(peer, CalicoPeer):
        if peer.not_selector is not None:
            raise _Unfit("a source notSelector names endpoints by identity")
        ranges: list[IPRange] | None = list(peer.nets) if peer.nets is not None else None
        if peer.selector is not None:
            sets = [c for labels, cidrs in network_sets if peer.selector.matches(labels) for c in cidrs]
            if not sets:
                raise _Unfit(f"the source selector {peer.text or peer.selector} matches no GlobalNetworkSet of "
                             "the input (endpoints are identities, not addresses)")
            from_sets = _cidr_ranges(sets)
            ranges = from_sets if ranges is None else [
                IPRange(a.version, max(a.first, b.first), min(a.last, b.last)) for a in ranges for b in from_sets
                if a.version == b.version and max(a.first, b.first) <= min(a.last, b.last)]
        if ranges is not None and peer.not_nets:
            ranges = _minus(ranges, list(peer.not_nets))
        if peer.ip_version is not None and ranges is None:
            ranges = _cidr_ranges(["0.0.0.0/0" if peer.ip_version == 4 else "::/0"])
        if ranges is not None and peer.ip_version is not None:
            ranges = [r for r in ranges if r.version == peer.ip_version]
        if ranges is None:
            if peer.not_nets:
                return _prefixes(_minus(_cidr_ranges(["0.0.0.0/0", "::/0"]), list(peer.not_nets)))
            return None
        if not ranges:
            raise _Unfit("its source addresses are empty")
        return _prefixes(ranges)
    if isinstance(peer, EntityPeer):
        raise _Unfit(f"entity {peer.entity} is an identity (only 'all' is every address)")
    raise _Unfit(f"its peer ({peer}) is an identity, not addresses: only the CNI can tell it")


def _ports(rule: Rule) -> Ports | None:
    if rule.ports is None:
        return None
    out = []
    for p in rule.ports:
        if not isinstance(p, PortRange):
            raise _Unfit(f"port {p} is named: its number differs per pod")
        if p.protocol not in ("TCP", "UDP", "SCTP"):
            raise _Unfit(f"protocol {p.protocol} has no ports")
        out.append((p.protocol, p.first, p.last))
    return tuple(out)


def _convert(rule_id: str, origin: str, file: str, rule: Rule,
             network_sets: list[tuple[dict[str, str], tuple[str, ...]]], scope: str,
             managed: list[IPRange]) -> XdpDeny:
    if rule.subject_only is not None:
        raise _Unfit("it has destination criteria (which host endpoints): not every address of the node")
    if rule.source_ports is not None:
        raise _Unfit("it matches source ports")
    if rule.l7 is not None:
        raise _Unfit("it has L7 rules")
    sources: list[str] = []
    for peer in rule.peers:
        found = _sources(peer, network_sets, managed)
        if found is None:
            return XdpDeny(rule_id, origin, file, rule.line, _ports(rule), None, scope)
        sources.extend(found)
    if not sources:
        raise _Unfit("it names no peer: it denies nothing")
    return XdpDeny(rule_id, origin, file, rule.line, _ports(rule), tuple(dict.fromkeys(sources)), scope)


def managed_addresses(cluster: Cluster) -> tuple[str, ...]:
    """The addresses of the input's pods and nodes: the endpoints Cilium manages (CIL-10)."""
    return (*(ip for w in cluster.workloads for ips in w.pod_ips for ip in ips),
            *(a for n in cluster.nodes for a in n.addresses))


def _flag(obj: RawObject | None, key: str) -> bool:
    spec = obj.data.get("spec") if obj is not None else None
    return isinstance(spec, LMap) and spec.get(key) is True


def node_denies(objects: list[RawObject], policies: list[Policy],
                network_sets: list[tuple[dict[str, str], tuple[str, ...]]],
                managed: tuple[str, ...] = (), *,
                refused: frozenset[tuple[str, int]] = frozenset()) -> tuple[list[XdpDeny], list[Skipped]]:
    """The deny rules an XDP program can enforce for every pod of a node, and those left out.
    ``managed``: the addresses of the input's pods and nodes (Cilium's CIDR peers skip them);
    ``refused``: the (file, line) of objects the API server rejects (a host policy has no IR
    policy to carry ``rejected``)."""
    own = _cidr_ranges([a for a in managed if _is_address(a)])
    raw = {(o.file, o.line): o for o in objects}
    denies: list[XdpDeny] = []
    skipped: list[Skipped] = []

    def take(rule_id: str, kind_name: str, file: str, rules: list[Rule] | tuple[Rule, ...], section: str,
             scope: str) -> None:
        for i, rule in enumerate(rules):
            origin = f"{kind_name} {rule.section or section}[{i}]"
            if rule.action is not Action.DENY:
                continue
            try:
                denies.append(_convert(rule_id, origin, file, rule, network_sets, scope,
                                       own if rule_id != "CAL-25" else []))  # Calico nets match pods
            except _Unfit as why:
                skipped.append(Skipped(origin, file, rule.line, str(why)))

    rejected = {(p.ref.file, p.ref.line) for p in policies if p.rejected} | set(refused)
    for p in policies:
        name = f"{p.ref.kind} {p.ref.name}"
        if p.rejected:  # NP-29: the API server refuses it, so no node enforces any of its rules
            if any(r.action is Action.DENY for r in p.ingress):
                skipped.append(Skipped(f"{name} {'ingressDeny' if p.ref.kind == CCNP else 'ingress'}", p.ref.file,
                                       p.ref.line, "the API server rejects the policy: it is not in the cluster"))
            continue
        if p.ref.kind == CCNP and p.tier.value == "deny":
            if p.subject.pod_selector.is_everything and p.subject.namespace_selector is None:
                take("CIL-33", name, p.ref.file, p.ingress, "ingressDeny", "every endpoint")  # CIL-33
            elif p.ingress:
                skipped.append(Skipped(f"{name} ingressDeny", p.ref.file, p.ref.line,
                                       f"its endpointSelector ({p.subject.pod_selector}) selects some endpoints "
                                       "only: an identity"))
        elif p.ref.kind == GNP and p.staged is None:
            obj = raw.get((p.ref.file, p.ref.line))
            untracked, forward = _flag(obj, "doNotTrack"), _flag(obj, "applyOnForward")
            deny_rules = [r for r in p.rules(Direction.INGRESS) if r.action is Action.DENY]
            if not deny_rules:
                continue
            if untracked and forward:
                spec = obj.data.get("spec") if obj is not None else None
                selector = spec.get("selector") if isinstance(spec, LMap) else None
                take("CAL-25", name, p.ref.file, p.ingress, "ingress",  # CAL-25
                     f"the host endpoints selected by {selector or 'all()'}")
            else:
                skipped.append(Skipped(f"{name} ingress", p.ref.file, p.ref.line,
                                       "not an untracked host-endpoint policy (doNotTrack and applyOnForward "
                                       "both true): Calico enforces it after connection tracking (CAL-25)"))
    for obj in objects:
        if obj.kind != CCNP:
            continue
        if (obj.file, obj.line) in rejected:  # NP-29: a rejected CCNP is no host policy either
            if any(rules for _, rules in host_policy_denies(obj)) and not any(
                    s.file == obj.file and s.line == obj.line for s in skipped):
                meta = obj.data.get("metadata")
                skipped.append(Skipped(f"{CCNP} {meta.get('name') if isinstance(meta, LMap) else '?'} ingressDeny",
                                       obj.file, obj.line,
                                       "the API server rejects the policy: it is not in the cluster"))
            continue
        meta = obj.data.get("metadata")
        name = f"{CCNP} {meta.get('name') if isinstance(meta, LMap) else '?'}"
        for node_selector, rules in host_policy_denies(obj):  # CIL-34
            if node_selector:
                if rules:
                    skipped.append(Skipped(f"{name} ingressDeny", obj.file, node_selector.line,
                                           "its nodeSelector selects some nodes only (the program is for every node)"))
                continue
            take("CIL-34", name + " (host policy)", obj.file, rules, "ingressDeny", "every node")
    denies.sort(key=lambda d: (d.file, d.line, d.origin))
    return denies, skipped
