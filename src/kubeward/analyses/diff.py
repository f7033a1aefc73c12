"""`diff`: the semantic difference between two versions of the configuration — per pair of
peers, what is newly allowed and what no longer is, with the policies responsible, and the
entry points that appeared, vanished or changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ..engine.evaluate import Attribution, Origin
from ..engine.portset import EMPTY, PortSet
from ..engine.trace import Effect
from .connectivity_map import Connection, ConnectivityMap, PeerType, connectivity_map
from .session import Analysis


class PairCause(StrEnum):
    """Why a pair changed. Stable: part of the JSON contract."""

    CHANGED = "changed"  # both ends exist on both sides: the policies changed
    ADDED = "added"      # an end is a workload that only exists in NEW
    REMOVED = "removed"  # an end is a workload that only exists in OLD


class EntryChangeKind(StrEnum):
    APPEARED = "appeared"
    VANISHED = "vanished"
    OPENED = "opened"
    CLOSED = "closed"


@dataclass(slots=True)
class PairChange:
    src: str
    dst: str
    opened: PortSet
    closed: PortSet
    l7_before: list[dict[str, object]] | None = None
    l7_after: list[dict[str, object]] | None = None
    responsible: list[str] = field(default_factory=list)
    cause: PairCause = PairCause.CHANGED

    def l7_ports(self) -> PortSet:
        """The ports the NEW side's HTTP filters sit on."""
        ports = EMPTY
        for f in self.l7_after or []:
            protocols = f.get("protocols")
            if isinstance(protocols, dict):
                ports = ports | PortSet.from_ranges([(str(p), int(lo), int(hi)) for p, ranges in protocols.items()
                                                     for lo, hi in ranges])
        return ports

    @property
    def requests_added(self) -> list[str]:
        """HTTP requests a filter now lets through that it did not (both sides filtered)."""
        if not self.l7_before or not self.l7_after:
            return []
        before = set(http_requests(self.l7_before))
        return [r for r in http_requests(self.l7_after) if r not in before]

    @property
    def requests_removed(self) -> list[str]:
        if not self.l7_before or not self.l7_after:
            return []
        after = set(http_requests(self.l7_after))
        return [r for r in http_requests(self.l7_before) if r not in after]

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"src": self.src, "dst": self.dst, "cause": self.cause,
                                  "opened": self.opened.to_json(), "closed": self.closed.to_json()}
        if self.l7_before != self.l7_after:
            out["l7"] = {"before": self.l7_before, "after": self.l7_after,
                         "requestsAdded": self.requests_added, "requestsRemoved": self.requests_removed}
        if self.responsible:
            out["responsible"] = self.responsible
        return out


@dataclass(slots=True)
class EntryChange:
    change: EntryChangeKind
    via: dict[str, object]
    request: str

    def to_json(self) -> dict[str, object]:
        return {"change": self.change, "via": self.via, "request": self.request}


@dataclass(slots=True)
class ConfigDiff:
    old: str
    new: str
    pairs: list[PairChange]
    entries: list[EntryChange]
    options: list[str]
    peers_added: list[str] = field(default_factory=list)
    peers_removed: list[str] = field(default_factory=list)
    old_options: list[str] | None = None  # OLD's options, only when they differ from NEW's (``diff --staged``)
    namespaces: list[str] = field(default_factory=list)  # -n: cut to what has an end in these (focus.py)

    @property
    def changed(self) -> bool:
        return bool(self.pairs or self.entries or self.peers_added or self.peers_removed)

    def to_json(self) -> dict[str, object]:
        # schema 2: the whole IPv4 space is `world` (issue 17)
        return {"schema": 2, "old": self.old, "new": self.new, "options": self.options,
                **({"oldOptions": self.old_options} if self.old_options is not None else {}),
                **({"namespaces": self.namespaces} if self.namespaces else {}),
                "peers": {"added": self.peers_added, "removed": self.peers_removed},
                "pairs": [p.to_json() for p in self.pairs], "entries": [e.to_json() for e in self.entries]}


def http_requests(l7: list[dict[str, object]]) -> list[str]:
    """One line per HTTP rule of a connection's L7 filters: "TCP 8080 GET /v1/catalog (ingress)"."""
    out: list[str] = []
    for f in l7:
        protocols = f.get("protocols")
        ports = " ".join(f"{p} " + ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in r)
                         for p, r in (protocols.items() if isinstance(protocols, dict) else []))
        rules = f.get("http")
        for rule in rules if isinstance(rules, list) else []:
            what = " ".join(str(rule[k]) for k in ("method", "path", "host") if rule.get(k)) or "any request"
            extra = " ".join(f"{k}={v}" for k, v in rule.items() if k not in ("method", "path", "host"))
            out.append(f"{ports} {what}{' ' + extra if extra else ''} ({f.get('direction')})")
    return out


def _decided(attribution: Attribution, effect: Effect, ports: PortSet) -> list[str]:
    """The origins with ``effect`` that decided some of ``ports``, in evaluation order."""
    return [origin.describe() for origin, decided in attribution if origin.effect is effect and decided & ports]


def _request_origins(l7: list[dict[str, object]] | None, origins: list[list[Origin]] | None,
                     wanted: str) -> tuple[PortSet, list[Origin]]:
    """The ports of the HTTP filter behind ``wanted`` (a line of :func:`http_requests`) and the
    origins of the HTTP rules that let it through."""
    ports, found = EMPTY, []
    for k, f in enumerate(l7 or []):
        rules = f.get("http")
        for j, rule in enumerate(rules if isinstance(rules, list) else []):
            if wanted in http_requests([{**f, "http": [rule]}]):
                protocols = f.get("protocols")
                if isinstance(protocols, dict):
                    ports = ports | PortSet.from_ranges([(str(p), int(lo), int(hi)) for p, ranges in
                                                         protocols.items() for lo, hi in ranges])
                if origins is not None and k < len(origins) and j < len(origins[k]):
                    found.append(origins[k][j])
    return ports, found


def _attribute(change: PairChange, before: ConnectivityMap, after: ConnectivityMap,
               was: Connection | None, now: Connection | None, entry: bool = False) -> None:
    """Every changed port and HTTP request of a pair, attributed to the rules that decide it now
    and to those that decided it before (read from the maps' origins: no re-analysis)."""
    old = before.origins(change.src, change.dst, entry)
    new = after.origins(change.src, change.dst, entry)
    found: list[str] = []
    if change.opened:
        found += _decided(new, Effect.ALLOW, change.opened)
        found += ["was " + r for r in _decided(old, Effect.DENY, change.opened)]
    if change.closed:
        found += _decided(new, Effect.DENY, change.closed)
        found += ["was " + r for r in _decided(old, Effect.ALLOW, change.closed)]
    for request in change.requests_added:
        ports, http = _request_origins(change.l7_after, now.l7_origins if now else None, request)
        found += _decided(new, Effect.ALLOW, ports) + [o.describe() for o in http]
    for request in change.requests_removed:
        ports, http = _request_origins(change.l7_before, was.l7_origins if was else None, request)
        found += ["was " + o.describe() for o in http]
    change.responsible += [r for r in dict.fromkeys(found) if r not in change.responsible]


def diff(old: Analysis, new: Analysis, old_label: str, new_label: str, *,
         before: ConnectivityMap | None = None) -> ConfigDiff:
    """What changed in what is allowed from ``old`` to ``new``, analysed as given (``diff_paths``
    and ``diff_revisions`` analyse both sides under one profile first). ``before``: ``old``'s map,
    when already built (``labels`` compares one map with many)."""
    before = before if before is not None else connectivity_map(old)
    after: ConnectivityMap = connectivity_map(new)
    old_peers = {p.id for p in before.peers if p.type is PeerType.WORKLOAD}
    new_peers = {p.id for p in after.peers if p.type is PeerType.WORKLOAD}
    added, removed = new_peers - old_peers, old_peers - new_peers
    # (src, dst, through entry points): `world` reaches a workload directly and through entry points (issue 17)
    b = {(c.src, c.dst, bool(c.via)): c for c in before.connections}
    a = {(c.src, c.dst, bool(c.via)): c for c in after.connections}
    pairs: list[PairChange] = []
    keys: list[tuple[str, str, bool]] = []
    for key in sorted(set(a) | set(b)):
        was, now = b.get(key), a.get(key)
        old_ports = was.ports if was else EMPTY
        new_ports = now.ports if now else EMPTY
        opened, closed = new_ports - old_ports, old_ports - new_ports
        l7_b, l7_a = (was.l7 if was else None), (now.l7 if now else None)
        if not opened and not closed and l7_b == l7_a:
            continue
        ends = {key[0], key[1]}
        cause = PairCause.ADDED if added & ends else PairCause.REMOVED if removed & ends else PairCause.CHANGED
        pairs.append(PairChange(key[0], key[1], opened, closed, l7_b, l7_a, cause=cause))
        keys.append(key)
    # Responsibility is looked up for real policy changes, not for workloads that came or went.
    for change, key in zip(pairs, keys, strict=True):
        if change.cause is PairCause.CHANGED:
            _attribute(change, before, after, b.get(key), a.get(key), entry=key[2])
    entries: list[EntryChange] = []

    def key_of(via: dict[str, object], request: str) -> str:
        return repr(sorted((k, str(v)) for k, v in via.items() if k not in ("controller", "dataPlane"))) + request

    old_e = {key_of(e.via, e.request): e for e in before.entries}
    new_e = {key_of(e.via, e.request): e for e in after.entries}
    for k in sorted(set(old_e) | set(new_e)):
        o, n = old_e.get(k), new_e.get(k)
        if o is None and n is not None:
            entries.append(EntryChange(EntryChangeKind.APPEARED, n.via, n.request))
        elif n is None and o is not None:
            entries.append(EntryChange(EntryChangeKind.VANISHED, o.via, o.request))
        elif o is not None and n is not None and o.path.allowed != n.path.allowed:
            kind = EntryChangeKind.OPENED if n.path.allowed else EntryChangeKind.CLOSED
            entries.append(EntryChange(kind, n.via, n.request))
    old_options = old.options.describe()
    return ConfigDiff(old_label, new_label, pairs, entries, new.options.describe(),
                      sorted(added), sorted(removed), old_options if old_options != new.options.describe() else None)
