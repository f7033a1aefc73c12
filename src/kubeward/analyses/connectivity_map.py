"""`map`: who can reach whom, on which ports — at workload granularity."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

import msgspec

from ..engine.connectivity import PairOrigins
from ..engine.evaluate import Attribution, Origin, SideRules, resolve_ports
from ..engine.grouping import MaskRule, grouped_connectivity
from ..engine.l7 import l7_constraints
from ..engine.mesh import NOT_CAPTURED, SERVER_FIRST_PORTS, applicable, evaluate_mesh, membership, named_tcp_ports
from ..engine.portset import ALL, EMPTY, PortSet
from ..engine.trace import Effect, Step
from ..engine.universe import Domain, Identity, Network, bits
from ..ir import Direction, L7Kind, PortMatch, Rule
from ..model import ContainerPort, ServiceType, Workload
from .egress import mesh_egress_edges
from .entry import EntryPoint, entry_points, service_index
from .map_groups import MapGroup, Namer
from .session import Analysis


class PeerType(StrEnum):
    """What a map peer is. Stable: part of the JSON contract."""

    WORKLOAD = "workload"
    NETWORK = "network"  # a piece of the address space outside the pods
    FQDN = "fqdn"        # a DNS name (FQDN policies)
    ENTRY = "entry"      # the outside world coming in through entry points


@dataclass(frozen=True, slots=True)
class MapPeer:
    id: str
    type: PeerType
    namespace: str = ""
    name: str = ""
    kind: str = ""
    cidrs: tuple[str, ...] = ()
    assumed: bool = False  # a stand-in not in the input (e.g. an ingress controller)

    def to_json(self) -> dict[str, object]:
        if self.type is PeerType.WORKLOAD:
            out: dict[str, object] = {"id": self.id, "type": self.type, "namespace": self.namespace,
                                      "name": self.name, "kind": self.kind}
            if self.assumed:
                out["assumed"] = True
            return out
        if self.type is PeerType.NETWORK:
            return {"id": self.id, "type": self.type, "cidrs": list(self.cidrs)}

        return {"id": self.id, "type": self.type}


@dataclass(slots=True)
class Connection:
    src: str
    dst: str
    ports: PortSet
    via: list[dict[str, object]] | None = None        # entry edges: how the outside gets in
    services: list[dict[str, object]] | None = None   # Service ports that front dst on these ports
    l7: list[dict[str, object]] | None = None         # HTTP filters on some of these ports (Cilium)
    mesh: dict[str, object] | None = None             # the destination's sidecar: mTLS and authorization
    # the part of ``services`` on this connection's path (the text map's VIA column; not in the JSON)
    services_on_path: list[dict[str, object]] | None = field(default=None, repr=False, compare=False)
    # for each entry of ``l7``, the origin of each of its HTTP rules (not part of the JSON)
    l7_origins: list[list[Origin]] | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"src": self.src, "dst": self.dst, "protocols": self.ports.to_json()}
        if self.via:
            out["via"] = self.via
        if self.services:
            out["services"] = self.services
        if self.l7:
            out["l7"] = self.l7
        if self.mesh:
            out["mesh"] = self.mesh
        return out


class DecidedBy:
    """Origins of map pairs: the engine's per-block attributions of every endpoint pair behind a
    pair of map peers, merged per origin, plus what the mesh decided on the map's edges."""

    def __init__(self, result: PairOrigins, endpoints_of: dict[str, list[int]]) -> None:
        self._result = result
        self._endpoints_of = endpoints_of
        # what decided the edges the engine does not compute: entry paths, the mesh layer
        self.extra: dict[tuple[str, str], list[tuple[Origin, PortSet]]] = {}

    def of(self, src: str, dst: str) -> Attribution:
        merged: dict[Origin, PortSet] = {}
        for s in self._endpoints_of.get(src, ()):
            for d in self._endpoints_of.get(dst, ()):
                for origin, ports in self._result.attribution(s, d):
                    merged[origin] = merged[origin] | ports if origin in merged else ports
        for origin, ports in self.extra.get((src, dst), ()):
            merged[origin] = merged[origin] | ports if origin in merged else ports
        return tuple(merged.items())


@dataclass(slots=True)
class ConnectivityMap:
    """Who can reach whom, on which ports: the peers, one ``Connection`` per pair that allows
    something, and every way in from outside."""

    peers: list[MapPeer]
    connections: list[Connection]
    options: list[str] = field(default_factory=list)
    entries: list[EntryPoint] = field(default_factory=list)  # every way in, working or not
    decided: DecidedBy | None = field(default=None, repr=False, compare=False)  # origins, on demand
    groups: list[MapGroup] = field(default_factory=list)  # the sets a grouped map's connections name
    grouped: bool = False
    single: frozenset[str] = frozenset()  # single-pod workloads (NP-7: never in a connection to themselves)
    disjoint: bool = True  # no workload pair is in two connections (false when a workload has several identities)

    _group_by_id: dict[str, MapGroup] = field(init=False, repr=False, compare=False)
    _workload_ids: set[str] = field(init=False, repr=False, compare=False)
    _by_namespace: dict[str, list[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._group_by_id = {g.id: g for g in self.groups}
        self._workload_ids = set()
        self._by_namespace = {}
        for p in self.peers:
            if p.type is PeerType.WORKLOAD:
                self._workload_ids.add(p.id)
                self._by_namespace.setdefault(p.namespace, []).append(p.id)

    def group(self, peer: str) -> MapGroup | None:
        return self._group_by_id.get(peer)

    def members(self, peer: str) -> list[str]:
        """The workloads a connection end stands for: a group's, or the workload itself."""
        group = self._group_by_id.get(peer)
        if group is None:
            return [peer] if peer in self._workload_ids else []
        return [*(w for ns in group.namespaces for w in self._by_namespace.get(ns, ())), *group.workloads]

    def workload_pairs(self) -> int:
        """How many workload pairs allow something: the connections between workloads expanded
        (a pair of one workload's pods counts once; NP-7 self-traffic of a single pod only when listed)."""
        if not self.disjoint:
            return len({(s, d) for c in self.connections for s in self.members(c.src) for d in self.members(c.dst)
                        if s != d or s not in self.single or c.src == c.dst == s})
        total = 0
        for c in self.connections:
            sources, destinations = self.members(c.src), self.members(c.dst)
            total += len(sources) * len(destinations)
            if not (c.src == c.dst and c.src in self.single):
                total -= len(self.single.intersection(sources).intersection(destinations))
        return total

    def outside(self, peer: str) -> bool:
        """Whether a connection end holds more than workloads (addresses, DNS names, ``world``)."""
        group = self._group_by_id.get(peer)
        return bool(group.ip_blocks or group.fqdns) if group is not None else peer not in self._workload_ids

    def origins(self, src: str, dst: str, entry: bool = False) -> Attribution:
        """The rules that decided each part of ``src`` → ``dst`` (allowed and refused), whether or
        not the pair is connected: CNI tiers of both sides, then the mesh. ``entry``: of the way in
        from ``world`` through entry points (issue 17: the direct ``world`` pair is another)."""
        if self.decided is None:
            return ()
        return self.decided.of(ENTRY_ORIGINS, dst) if entry else self.decided.of(src, dst)

    def to_json(self) -> dict[str, object]:
        doc: dict[str, object] = {"schema": MAP_SCHEMA, "form": "grouped" if self.grouped else "expanded",
                                  "options": self.options, "peers": [p.to_json() for p in self.peers]}
        if self.grouped:
            doc["groups"] = [g.to_json() for g in self.groups]
        doc["connections"] = [_ConnectionJSON(c.src, c.dst, c.ports.to_json(), c.via, c.services, c.l7, c.mesh)
                              for c in self.connections]
        doc["entries"] = [e.to_json() for e in self.entries]
        return doc


MAP_SCHEMA = 3  # docs/json.md: 2 = grouped form by default, network peers merged per connection; 3 = `world` (issue 17)


class _ConnectionJSON(msgspec.Struct, omit_defaults=True):
    """The JSON shape of a connection (docs/json.md); a Struct encodes fast."""

    src: str
    dst: str
    protocols: dict[str, list[list[int]]]
    via: list[dict[str, object]] | None = None
    services: list[dict[str, object]] | None = None
    l7: list[dict[str, object]] | None = None
    mesh: dict[str, object] | None = None


def connectivity_map(analysis: Analysis, namespaces: Iterable[str] = (), *, workloads: Iterable[str] = (),
                     grouped: bool = False) -> ConnectivityMap:
    """Every workload and network peer, and every connection that allows something.

    ``grouped``: connections between sets of peers (``MapGroup``s: whole namespaces, workloads,
    address ranges, DNS names) that cover exactly the pairs; else one connection per pair of
    peers, a workload's addresses with the same ports merged into one network peer.
    ``namespaces``/``workloads`` (``ns/name``): only what has an end in them.

    A workload's connection to itself means between two of its pods (policy applies); a
    single-pod workload's traffic to itself is always allowed (NP-7), never part of a rule, and
    listed only with the include-self option."""
    engine = analysis.engine
    u = engine.universe
    cluster = analysis.cluster
    wanted, focused = set(namespaces), set(workloads)
    focus = 0
    if wanted or focused:
        for ident in u.identities:
            if ident.namespace in wanted or any(w.id in focused for w in ident.workloads):
                focus |= 1 << ident.index
    rules = grouped_connectivity(engine, focus) if focus or not (wanted or focused) else []
    single = {w.id for w in cluster.workloads if w.single_pod}
    namer = Namer(u, cluster.workloads)
    pair_src, pair_dst = _pairwise_ends(analysis)
    pairs: dict[tuple[int, int], PortSet] = {}  # endpoint pairs that layers above the CNI decide one by one
    kept: list[MaskRule] = []
    for r in rules:
        src_pairwise, dst_pairwise = r.src & pair_src, r.dst & pair_dst
        if src_pairwise or dst_pairwise:
            rest = r.src & ~src_pairwise
            for s, d in [(s, d) for s in bits(src_pairwise) for d in bits(r.dst)] + \
                    [(s, d) for s in bits(rest) for d in bits(dst_pairwise)]:
                pairs[(s, d)] = r.ports
            r = MaskRule(rest, r.dst & ~dst_pairwise, r.ports)
            if not r.src or not r.dst:
                continue
        kept.append(r)
    connections: list[Connection] = []
    if grouped:
        for r in kept:
            src, dst = namer.name(r.src), namer.name(r.dst)
            if src == dst and src in single:
                continue  # NP-7: the rule is a single pod to itself
            connections.append(Connection(src, dst, r.ports))
        renamed = namer.renumber()
        for c in connections:
            c.src, c.dst = renamed.get(c.src, c.src), renamed.get(c.dst, c.dst)
    else:
        merged: dict[tuple[str, str], PortSet] = {}
        for r in kept:
            dsts = list(namer.expand(r.dst))
            for s_id in namer.expand(r.src):
                for d_id in dsts:
                    if s_id == d_id and s_id in single:
                        continue  # NP-7
                    key = (s_id, d_id)
                    prev = merged.get(key)
                    merged[key] = r.ports if prev is None else prev | r.ports
        connections = [Connection(s, d, ports) for (s, d), ports in merged.items()]
    connections.extend(_pair_connections(analysis, pairs, single))
    if analysis.options.include_self:
        connections.extend(Connection(w, w, ALL) for w in sorted(single) if not focus or _focuses(w, wanted, focused))
    connections.sort(key=lambda c: (c.src, c.dst))
    endpoints_of: dict[str, list[int]] = {}
    for ep in u.endpoints:
        for name in ([w.id for w in ep.workloads] if isinstance(ep, Identity) else [ep.display]):
            endpoints_of.setdefault(name, []).append(ep.index)
    for mask, address in namer.address_sets():
        endpoints_of.setdefault(address.id, bits(mask))
    decided = DecidedBy(PairOrigins(engine), endpoints_of)
    points = entry_points(analysis)
    connections = _entry_connections(points) + connections
    _entry_origins(points, decided)
    connections = _apply_mesh(analysis, connections, decided)
    connections = mesh_egress_edges(analysis, connections)  # IST-28 … IST-36
    _annotate_services(analysis, connections, namer)
    _annotate_l7(analysis, connections)
    if wanted or focused:
        connections = [c for c in connections if c.src != WORLD_ENTRY or _focuses(c.dst, wanted, focused)]
        points = [e for e in points if e.via.get("namespace") in wanted
                  or any(_focuses(w, wanted, focused) for w, _, _ in e.path.reached)]
    used = {c.src for c in connections} | {c.dst for c in connections}
    peers = [MapPeer(w.id, PeerType.WORKLOAD, w.namespace, w.name, w.kind, assumed=w.assumed)
             for w in cluster.workloads
             if not (wanted or focused) or _focuses(w.id, wanted, focused) or w.id in used]
    peers.extend(MapPeer(address.id, PeerType.NETWORK, cidrs=address.cidrs) for _, address in namer.address_sets()
                 if address.id in used)
    pieces = {n.id: n for n in u.networks}
    peers.extend(MapPeer(n, PeerType.NETWORK, cidrs=pieces[n].cidrs) for n in sorted(used)
                 if n in pieces and n not in {p.id for p in peers})
    peers.extend(MapPeer(d.name, PeerType.FQDN) for d in u.domains if not (wanted or focused) or d.name in used)
    # One name for the outside (issue 17): when the whole address space is one piece, it is `world`,
    # the same peer as the entry points' world (a network peer, its CIDRs listed).
    if points and (WORLD_ENTRY in used or not (wanted or focused)) and WORLD_ENTRY not in {p.id for p in peers}:
        peers.append(MapPeer(WORLD_ENTRY, PeerType.ENTRY))
    groups = [g for g in namer.groups.values() if g.id in used]
    disjoint = all(len(found) == 1 for found in u.identities_of.values())
    return ConnectivityMap(peers, connections, analysis.options.describe(), points, decided, groups, grouped,
                           frozenset(single), disjoint)


def _focuses(peer: str, namespaces: set[str], workloads: set[str]) -> bool:
    return peer in workloads or peer.split("/", 1)[0] in namespaces


def _pairwise_ends(analysis: Analysis) -> tuple[int, int]:
    """Identities whose connections a layer above the CNI decides pair by pair (so the map lists
    them one pair at a time): sources whose egress, and destinations whose ingress, has Cilium
    HTTP rules (CIL-15); destinations with an Istio sidecar (IST-3)."""
    engine = analysis.engine
    u = engine.universe
    src = dst = 0
    enforced = analysis.options.enforced_kinds
    if any(r.l7 is not None and r.l7.kind is L7Kind.HTTP for p in analysis.cluster.policies
           if p.ref.kind in enforced for r in (*p.ingress, *p.egress)):
        for ident in u.identities:
            for direction in (Direction.EGRESS, Direction.INGRESS):
                side = engine.side(ident, direction)
                if any(r.l7 is not None and r.l7.kind is L7Kind.HTTP for r in side.all_rules):
                    if direction is Direction.EGRESS:
                        src |= 1 << ident.index
                    else:
                        dst |= 1 << ident.index
    if analysis.options.mesh == "istio":
        meshed = {w.id for w in analysis.cluster.workloads if membership(analysis.cluster, w)[0]}
        for ident in u.identities:
            if any(w.id in meshed for w in ident.workloads):
                dst |= 1 << ident.index
    return src, dst


def _pair_connections(analysis: Analysis, pairs: dict[tuple[int, int], PortSet], single: set[str]) -> list[Connection]:
    """Endpoint pairs as connections between peers (network pieces kept apart: the mesh answers
    per piece, IST-25)."""
    endpoints = analysis.engine.universe.endpoints
    merged: dict[tuple[str, str], PortSet] = {}
    for (s, d), ports in pairs.items():
        src, dst = endpoints[s], endpoints[d]
        for sid in [w.id for w in src.workloads] if isinstance(src, Identity) else [src.display]:
            for did in [w.id for w in dst.workloads] if isinstance(dst, Identity) else [dst.display]:
                if sid == did and sid in single:
                    continue  # NP-7
                prev = merged.get((sid, did))
                merged[(sid, did)] = ports if prev is None else prev | ports
    return [Connection(s, d, ports) for (s, d), ports in merged.items()]


__all__ = ["PeerType", "connectivity_map", "ConnectivityMap", "Connection", "MapPeer", "Network", "Domain"]


WORLD_ENTRY = "world"
ENTRY_ORIGINS = "world (entry points)"  # the key of the entry paths' origins: `world` itself is a network peer too


def _entry_connections(points: list[EntryPoint]) -> list[Connection]:
    """``world`` → workload, one connection per destination, with every way in (``via``)."""
    by_dst: dict[str, tuple[PortSet, list[dict[str, object]]]] = {}
    for point in points:
        for dst, protocol, port in point.path.reached:
            ports, vias = by_dst.get(dst, (EMPTY, []))
            if point.via not in vias:
                vias.append(point.via)
            by_dst[dst] = (ports | PortSet.of(protocol, port, port), vias)
    return [Connection(WORLD_ENTRY, dst, ports, vias) for dst, (ports, vias) in sorted(by_dst.items())]


def _entry_origins(points: list[EntryPoint], decided: DecidedBy) -> None:
    """``world`` → workload edges are decided by the hops of each way in: the entry rule, the
    Service, the CNI tiers between the proxy and that backend."""
    for point in points:
        targets: dict[str, PortSet] = {}
        for dst, protocol, port in point.path.reached:
            targets[dst] = targets.get(dst, EMPTY) | PortSet.of(protocol, port, port)
        for step in point.path.steps:
            if step.layer == "cni" and step.direction is Direction.INGRESS and step.subject not in targets:
                targets[step.subject] = ALL  # a backend the way in does not reach: its request's verdict
        for dst, ports in targets.items():
            steps = [s for s in point.path.steps
                     if not (s.layer == "cni" and s.direction is Direction.INGRESS and s.subject != dst)]
            _step_origins(steps, ports, decided.extra.setdefault((ENTRY_ORIGINS, dst), []))


def _annotate_services(analysis: Analysis, connections: list[Connection], namer: Namer) -> None:
    """Name the Service ports that front a destination on the ports a connection allows
    (``services``), and those of them on the path of that connection (``services_on_path``, the
    text map's VIA column): from a workload, every one; from outside the pods (a network piece or
    an FQDN), only NodePort and LoadBalancer Services (SVC-3: a ClusterIP is not reachable from
    there); through an entry point (``world``), the Services its ways in name."""
    index = service_index(analysis)
    if not index:
        return
    exposed = frozenset(f"{s.namespace}/{s.name}" for s in analysis.cluster.services
                        if s.type in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER))
    cache: dict[tuple[str, int], list[dict[str, object]] | None] = {}
    for c in connections:
        fronts = index.get(c.dst)
        if not fronts:
            continue
        key = (c.dst, id(c.ports))
        if key not in cache:
            found: list[dict[str, object]] = [
                {"name": svc, "port": port, "targetPort": pod_port, "protocol": proto}
                for svc, port, pod_port, proto in fronts if c.ports.contains(proto, pod_port)]
            cache[key] = found or None
        c.services = c.services_on_path = cache[key]
        if c.services is None or analysis.cluster.workload(c.src) is not None or namer.has_workloads(c.src):
            continue  # from a workload (or a group with workloads): every Service is on the path
        on_path = frozenset(_via_services(c.via or [])) if c.src == WORLD_ENTRY and c.via else exposed
        c.services_on_path = [s for s in c.services if s["name"] in on_path] or None


def _via_services(vias: list[dict[str, object]]) -> list[str]:
    """The Services (``ns/name``) the ways in of a ``world`` edge go through."""
    found: list[str] = []
    for via in vias:
        if via.get("kind") == "Service":
            found.append(f"{via.get('namespace')}/{via.get('name')}")
        if isinstance(via.get("service"), str):
            found.append(str(via["service"]))
        services = via.get("services")
        if isinstance(services, list):
            found.extend(str(s) for s in services)
    return found


def _annotate_l7(analysis: Analysis, connections: list[Connection]) -> None:
    """CIL-15 … CIL-18: the HTTP requests that pass, on the ports where a proxy filters them."""
    engine = analysis.engine
    enforced = analysis.options.enforced_kinds
    if not any(r.l7 is not None and r.l7.kind is L7Kind.HTTP for p in analysis.cluster.policies
               if p.ref.kind in enforced for r in (*p.ingress, *p.egress)):
        return
    u = engine.universe
    idents = u.identities_of
    others = {n.display: n.index for n in u.networks} | {d.display: d.index for d in u.domains}

    def index_of(peer_id: str) -> int | None:
        found_ident = idents.get(peer_id)
        return found_ident[0].index if found_ident else others.get(peer_id)

    for c in connections:
        src = idents.get(c.src)
        dst = idents.get(c.dst)
        src_index, dst_index = index_of(c.src), index_of(c.dst)
        found: list[dict[str, object]] = []
        origins: list[list[Origin]] = []
        sides: list[tuple[SideRules, int, tuple[ContainerPort, ...], str]] = []
        dst_ports = dst[0].ports if dst else ()
        if src and dst_index is not None:
            sides.append((engine.side(src[0], Direction.EGRESS), dst_index, dst_ports, "egress"))
        if dst and src_index is not None:
            sides.append((engine.side(dst[0], Direction.INGRESS), src_index, dst_ports, "ingress"))
        for side, peer_index, ports, direction in sides:
            bit = 1 << peer_index

            def matched(r: Rule, bit: int = bit) -> bool:
                return bool(engine.rule_mask(r) & bit)

            def resolve(p: tuple[PortMatch, ...] | None, ports: tuple[ContainerPort, ...] = ports) -> PortSet:
                return resolve_ports(p, ports)

            owners = {h: r for r in side.np_rules if r.l7 is not None for h in r.l7.http}
            for portset, rules in l7_constraints(side, matched, resolve, c.ports):
                found.append({"direction": direction, "protocols": portset.to_json(),
                              "http": [{k: v for k, v in (("method", r.method), ("path", r.path), ("host", r.host),
                                                          ("headers", list(r.headers))) if v} for r in rules]})
                origins.append([Origin(Effect.ALLOW, owners[h].policy, owners[h].direction, owners[h].index,
                                       owners[h].section, h.line or owners[h].line) for h in rules])
        c.l7 = found or None
        c.l7_origins = origins or None


def _step_origins(steps: list[Step], ports: PortSet, into: list[tuple[Origin, PortSet]]) -> None:
    """The steps (mesh or entry hops) that decided ``ports``: a rule that allowed or denied them."""
    for step in steps:
        if step.policy is not None and step.effect in (Effect.ALLOW, Effect.DENY):
            into.append((Origin(Effect(step.effect), step.policy, step.direction, step.rule, step.section,
                                step.line), ports))


def _apply_mesh(analysis: Analysis, connections: list[Connection], decided: DecidedBy) -> list[Connection]:
    """The mesh layer on every edge into a workload with a sidecar: ports the destination's proxy
    refuses (STRICT plaintext, DENY, no matching ALLOW) are removed; the rest carry what the
    proxy requires (IST-3 … IST-17)."""
    options = analysis.options
    if options.mesh != "istio":
        return connections
    cluster = analysis.cluster
    workloads = {w.id: w for w in cluster.workloads}
    meshed = {w.id for w in cluster.workloads if membership(cluster, w)[0]}
    if not meshed:
        return connections
    networks = {n.display: n for n in analysis.engine.universe.networks}
    kept: list[Connection] = []
    for c in connections:
        dst = workloads.get(c.dst)
        if dst is None or dst.id not in meshed:
            kept.append(c)
            continue
        src = workloads.get(c.src)
        net = networks.get(c.src)
        # IST-25: every address of a network piece gets the same answer (AuthorizationPolicy
        # addresses cut the pieces), so its first address speaks for it, in either IP version.
        address = (src.pod_ips[0][0] if src is not None and src.pod_ips and src.pod_ips[0] else None) if src else (
            str(ipaddress.ip_address(net.first)) if net is not None else None)
        mentioned = _mesh_ports(analysis, dst)
        allowed = EMPTY
        info: dict[str, object] = {}
        conditions: list[str] = []
        for proto, ranges in c.ports.items():
            if proto != "TCP":
                allowed = allowed | PortSet({proto: ranges})  # sidecars proxy TCP only
                continue
            for lo, hi in ranges:
                unmentioned = next((p for p in range(lo, min(hi, lo + 64) + 1) if p not in mentioned), lo)
                probes = sorted({p for p in mentioned if lo <= p <= hi} | {unmentioned})
                for port in probes:
                    verdict = evaluate_mesh(cluster, options, src, address, dst, port, None, dst.id)
                    info.setdefault("mtls", verdict.mtls)
                    if verdict.allowed:  # the notes of ports the map keeps, not of those it drops
                        conditions.extend(x for x in verdict.conditional if x not in conditions)
                    if port in mentioned:
                        decides = PortSet.of(proto, port, port)
                    else:
                        decides = PortSet.of(proto, lo, hi)
                        for m in mentioned:
                            if lo <= m <= hi:
                                decides = decides - PortSet.of(proto, m, m)
                    _step_origins(verdict.steps, decides, decided.extra.setdefault((c.src, c.dst), []))
                    if verdict.allowed:
                        allowed = allowed | decides
        if not allowed:
            continue
        c.ports = allowed
        if conditions:
            info["requires"] = conditions
        c.mesh = info
        kept.append(c)
    return kept


def _mesh_ports(analysis: Analysis, dst: Workload) -> set[int]:
    """Ports the destination's mesh policies single out (operation ports, portLevelMtls)."""
    ports: set[int] = set()
    for p in applicable(analysis.cluster, analysis.options, dst):
        for rule in p.rules or ():
            for op in rule.operations or ():
                ports.update(int(x) for x in (*(op.ports or ()), *(op.not_ports or ())) if x.isdigit())
            for c in rule.conditions:
                if c.key == "destination.port":
                    ports.update(int(x) for x in (*(c.values or ()), *(c.not_values or ())) if x.isdigit())
    for pa in analysis.cluster.mesh.peer_authentications:
        ports.update(pa.port_modes)
    ports.update(SERVER_FIRST_PORTS | NOT_CAPTURED)  # ports the mesh treats apart (IST-22)
    ports.update(named_tcp_ports(analysis.cluster, dst))  # TCP by a Service port's name (IST-14)
    ports.update(cp.port for cp in dst.ports)
    return ports
