"""`map`: who can reach whom, on which ports — at workload granularity."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec

from ..engine.connectivity import connectivity
from ..engine.portset import ALL, PortSet
from ..engine.universe import Domain, Identity, Network
from .session import Analysis


@dataclass(frozen=True, slots=True)
class MapPeer:
    id: str
    type: str  # "workload" | "network" | "domain"
    namespace: str = ""
    name: str = ""
    kind: str = ""
    cidrs: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        if self.type == "workload":
            return {"id": self.id, "type": self.type, "namespace": self.namespace, "name": self.name,
                    "kind": self.kind}
        if self.type == "network":
            return {"id": self.id, "type": self.type, "cidrs": list(self.cidrs)}
        return {"id": self.id, "type": self.type}


@dataclass(slots=True)
class Connection:
    src: str
    dst: str
    ports: PortSet

    def to_json(self) -> dict[str, object]:
        return {"src": self.src, "dst": self.dst, "protocols": self.ports.to_json()}


@dataclass(slots=True)
class ConnectivityMap:
    peers: list[MapPeer]
    connections: list[Connection]
    options: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"schema": 1, "options": self.options, "peers": [p.to_json() for p in self.peers],
                "connections": [_ConnectionJSON(c.src, c.dst, c.ports.to_json()) for c in self.connections]}


class _ConnectionJSON(msgspec.Struct):
    """The JSON shape of a connection (docs/json.md); a Struct encodes fast."""

    src: str
    dst: str
    protocols: dict[str, list[list[int]]]


def connectivity_map(analysis: Analysis, namespaces: Iterable[str] = ()) -> ConnectivityMap:
    """Every workload and network peer, and every connection that allows something.

    A workload's connection to itself means between two of its pods (policy applies); a
    single-pod workload's traffic to itself is always allowed (NP-7) and listed only with the
    include-self option."""
    engine = analysis.engine
    u = engine.universe
    wanted = set(namespaces)
    pairs = connectivity(engine)

    names = sorted({w.id for w in analysis.cluster.workloads} | {n.id for n in u.networks}
                   | {d.name for d in u.domains})
    rank = {name: i for i, name in enumerate(names)}
    ids: list[list[int]] = [[rank[w.id] for w in ep.workloads] if isinstance(ep, Identity)
                            else [rank[ep.display]] for ep in u.endpoints]
    single = {rank[w.id] for w in analysis.cluster.workloads if w.single_pod}
    flat = [i for group in ids for i in group]
    merged: dict[tuple[int, int], PortSet]
    if len(flat) == len(ids) and len(set(flat)) == len(flat):
        # One peer per endpoint and back: nothing to merge.
        one = flat
        merged = {(one[s], one[d]): ports for (s, d), ports in pairs.items()
                  if not (s == d and one[s] in single)}
    else:
        merged = {}
        for (s, d), ports in pairs.items():
            for sid in ids[s]:
                for did in ids[d]:
                    if sid == did and sid in single:
                        continue  # a pod reaching itself is not policy-governed (NP-7)
                    key = (sid, did)
                    prev = merged.get(key)
                    merged[key] = ports if prev is None else prev | ports
    if analysis.options.include_self:
        for wid in single:
            merged[(wid, wid)] = ALL
    peers: list[MapPeer] = []
    ns_of: dict[str, str] = {}
    for w in analysis.cluster.workloads:
        ns_of[w.id] = w.namespace
        peers.append(MapPeer(w.id, "workload", w.namespace, w.name, w.kind))
    for ep in u.networks:
        peers.append(MapPeer(ep.id, "network", cidrs=ep.cidrs))
    for dom in u.domains:
        peers.append(MapPeer(dom.name, "domain"))
    connections = [Connection(names[s], names[d], merged[(s, d)]) for s, d in sorted(merged)]
    if wanted:
        connections = [c for c in connections if ns_of.get(c.src) in wanted or ns_of.get(c.dst) in wanted]
        used = {c.src for c in connections} | {c.dst for c in connections}
        peers = [p for p in peers if (p.type == "workload" and p.namespace in wanted) or p.id in used]
    return ConnectivityMap(peers, connections, analysis.options.describe())


__all__ = ["connectivity_map", "ConnectivityMap", "Connection", "MapPeer", "Network", "Domain"]
