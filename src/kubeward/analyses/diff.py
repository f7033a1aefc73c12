"""`diff`: the semantic difference between two versions of the configuration — per pair of
peers, what is newly allowed and what no longer is, with the policies responsible, and the
entry points that appeared, vanished or changed."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ..engine.portset import EMPTY, PortSet
from ..engine.trace import Effect
from ..errors import UsageError
from .connectivity_map import ConnectivityMap, connectivity_map
from .explain import explain
from .session import Analysis

EXPLAINED_CHANGES = 200  # beyond this many changed pairs, responsibility is not looked up


@dataclass(slots=True)
class PairChange:
    src: str
    dst: str
    opened: PortSet
    closed: PortSet
    l7_before: list[dict[str, object]] | None = None
    l7_after: list[dict[str, object]] | None = None
    responsible: list[str] = field(default_factory=list)
    # "changed" when both ends exist on both sides; "added"/"removed" when an end is a
    # workload that only exists in NEW/OLD (its connections come and go with it).
    cause: str = "changed"

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
    change: str  # appeared | vanished | opened | closed
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

    @property
    def changed(self) -> bool:
        return bool(self.pairs or self.entries or self.peers_added or self.peers_removed)

    def to_json(self) -> dict[str, object]:
        return {"schema": 1, "old": self.old, "new": self.new, "options": self.options,
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


_REGEX_META = set("\\.*+?[](){}|^$")


def _literal_request(l7: list[dict[str, object]], wanted: str) -> tuple[str, str] | None:
    """The (method, path) of the HTTP rule behind ``wanted``, when both are plain text."""
    for f in l7:
        rules = f.get("http")
        for rule in rules if isinstance(rules, list) else []:
            if wanted in http_requests([{**f, "http": [rule]}]):
                method, path = str(rule.get("method") or "GET"), str(rule.get("path") or "/")
                path = path.removeprefix("^").removesuffix("$")  # no-ops under a full match (CIL-16)
                if not set(method + path) & (_REGEX_META - {"/", "."}):
                    return method, path
    return None


def _first_port(ports: PortSet) -> tuple[str, int] | None:
    for proto, ranges in ports.items():
        if ranges:
            return proto, ranges[0][0]
    return None


def _peer_spec(peer_id: str) -> str:
    """How explain names a map peer: workloads as they are, networks by their first address."""
    if "/" in peer_id and not peer_id[0].isdigit() and ":" not in peer_id:
        return peer_id
    first = peer_id.split("-")[0].split("/")[0]
    try:
        ipaddress.ip_address(first)
    except ValueError:
        return peer_id
    return first


def _responsible(analysis: Analysis, src: str, dst: str, ports: PortSet, opened: bool,
                 request: tuple[str, str] | None = None) -> list[str]:
    probe = _first_port(ports)
    if probe is None:
        return []
    try:
        exp = explain(analysis, _peer_spec(src), _peer_spec(dst), probe[1], probe[0],
                      method=request[0] if request else None, path=request[1] if request else None)
    except UsageError:
        return []
    found: list[str] = []
    for s in exp.verdict.steps:
        wanted = s.effect == (Effect.ALLOW if opened else Effect.DENY)
        if wanted and s.policy is not None:
            rule = f" {s.section or s.direction.value} rule {s.rule}" if s.rule is not None else ""
            verb = "allowed" if s.effect == Effect.ALLOW else "denied"
            text = f"{verb} by {s.policy.display}{rule} ({s.where})"
            if text not in found:
                found.append(text)
    return found


def diff(old: Analysis, new: Analysis, old_label: str, new_label: str) -> ConfigDiff:
    before: ConnectivityMap = connectivity_map(old)
    after: ConnectivityMap = connectivity_map(new)
    old_peers = {p.id for p in before.peers if p.type == "workload"}
    new_peers = {p.id for p in after.peers if p.type == "workload"}
    added, removed = new_peers - old_peers, old_peers - new_peers
    b = {(c.src, c.dst): c for c in before.connections}
    a = {(c.src, c.dst): c for c in after.connections}
    pairs: list[PairChange] = []
    for key in sorted(set(a) | set(b)):
        was, now = b.get(key), a.get(key)
        old_ports = was.ports if was else EMPTY
        new_ports = now.ports if now else EMPTY
        opened, closed = new_ports - old_ports, old_ports - new_ports
        l7_b, l7_a = (was.l7 if was else None), (now.l7 if now else None)
        if not opened and not closed and l7_b == l7_a:
            continue
        cause = "added" if added & set(key) else "removed" if removed & set(key) else "changed"
        pairs.append(PairChange(key[0], key[1], opened, closed, l7_b, l7_a, cause=cause))
    # Responsibility is looked up for real policy changes, not for workloads that came or went.
    for change in [p for p in pairs if p.cause == "changed"][:EXPLAINED_CHANGES]:
        for ports, is_open in ((change.opened, True), (change.closed, False)):
            if not ports:
                continue
            # What decides in NEW, and what decided the other way in OLD (a rule removed or narrowed).
            found = _responsible(new, change.src, change.dst, ports, is_open) + \
                ["was " + r for r in _responsible(old, change.src, change.dst, ports, not is_open)]
            change.responsible += [r for r in found if r not in change.responsible]
        new_requests = change.requests_added
        if new_requests and change.l7_after:
            request = _literal_request(change.l7_after, new_requests[0])
            if request:
                change.responsible += [r for r in _responsible(new, change.src, change.dst, change.l7_ports(), True,
                                                               request) if r not in change.responsible]
    entries: list[EntryChange] = []

    def key_of(via: dict[str, object], request: str) -> str:
        return repr(sorted((k, str(v)) for k, v in via.items() if k not in ("controller", "dataPlane"))) + request

    old_e = {key_of(e.via, e.request): e for e in before.entries}
    new_e = {key_of(e.via, e.request): e for e in after.entries}
    for k in sorted(set(old_e) | set(new_e)):
        o, n = old_e.get(k), new_e.get(k)
        if o is None and n is not None:
            entries.append(EntryChange("appeared", n.via, n.request))
        elif n is None and o is not None:
            entries.append(EntryChange("vanished", o.via, o.request))
        elif o is not None and n is not None and o.path.allowed != n.path.allowed:
            entries.append(EntryChange("opened" if n.path.allowed else "closed", n.via, n.request))
    return ConfigDiff(old_label, new_label, pairs, entries, new.options.describe(),
                      sorted(added), sorted(removed))
