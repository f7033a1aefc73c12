"""Naming the endpoint sets of the grouped map: workloads (whole namespaces where they can),
address ranges (adjacent pieces merged) and DNS names.

A set that is one workload, one DNS name, or only addresses is a peer of its own (its id is the
workload's ``ns/name``, the name, or the address ranges); any other set is a ``MapGroup`` with an
id ``group-N`` that the map lists with its members.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cache

from ..engine.universe import Domain, Network, Universe, bits, range_name, world_name
from ..model import Workload


@dataclass(frozen=True, slots=True)
class IpBlock:
    """Addresses as an ipBlock writes them: a CIDR, minus the CIDRs of ``except_``."""

    cidr: str
    except_: tuple[str, ...] = ()

    def __str__(self) -> str:
        name = world_name(self.cidr)  # issue 17: world except 10.0.0.0/8
        return f"{name} except {', '.join(self.except_)}" if self.except_ else name

    def to_json(self) -> dict[str, object]:
        return {"cidr": self.cidr, "except": list(self.except_)} if self.except_ else {"cidr": self.cidr}


@dataclass(frozen=True, slots=True)
class MapGroup:
    """A set of map peers: every workload of ``namespaces``, the ``workloads`` listed, the
    addresses of ``ip_blocks`` and the DNS names of ``fqdns``."""

    id: str
    namespaces: tuple[str, ...] = ()
    workloads: tuple[str, ...] = ()
    ip_blocks: tuple[IpBlock, ...] = ()
    fqdns: tuple[str, ...] = ()
    namespace_sizes: tuple[int, ...] = ()  # workloads in each of ``namespaces`` (for counts; not in the JSON)

    @property
    def items(self) -> list[str]:
        """Its members as text: ``ns/*`` for a whole namespace, then workloads, address ranges, DNS names."""
        addresses = [str(b) for b in self.ip_blocks]
        return [f"{ns}/*" for ns in self.namespaces] + list(self.workloads) + addresses + list(self.fqdns)

    @property
    def label(self) -> str:
        """A short description: its members when few, else its id and what it holds."""
        items = self.items
        if len(items) <= 3:
            return ", ".join(items)
        parts = []
        for n, noun in ((len(self.namespaces), "namespace"), (len(self.workloads), "workload"),
                        (len(self.ip_blocks), "address block"),
                        (len(self.fqdns), "DNS name")):
            if n:
                parts.append(f"{n:,} {noun}{'' if n == 1 else 's'}")
        return f"{self.id} ({', '.join(parts)})"

    @property
    def workload_count(self) -> int:
        return sum(self.namespace_sizes) + len(self.workloads)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"id": self.id}
        for key, value in (("namespaces", self.namespaces), ("workloads", self.workloads)):
            if value:
                out[key] = list(value)
        if self.ip_blocks:
            out["ipBlocks"] = [b.to_json() for b in self.ip_blocks]
        if self.fqdns:
            out["fqdns"] = list(self.fqdns)
        return out


@dataclass(frozen=True, slots=True)
class AddressSet:
    """Adjacent network pieces merged into one range: a map peer of its own."""

    id: str
    cidrs: tuple[str, ...]
    version: int = 4
    first: int = 0
    last: int = 0


class Namer:
    """Names endpoint masks of one universe as map peers or groups (cached per mask)."""

    def __init__(self, universe: Universe, workloads: list[Workload]) -> None:
        self.universe = universe
        self.groups: dict[str, MapGroup] = {}
        self._by_mask: dict[int, str] = {}
        self._addresses: dict[int, list[AddressSet]] = {}
        self._ranges: dict[str, tuple[int, AddressSet]] = {}
        self._ns_workloads: dict[str, int] = {}
        self._ident_workloads: list[list[str]] = []
        for w in workloads:
            self._ns_workloads[w.namespace] = self._ns_workloads.get(w.namespace, 0) + 1

    def workload_ids(self, mask: int) -> list[str]:
        """The workloads of the identities in ``mask``, sorted."""
        of = self._ident_workloads
        if not of:
            for ep in self.universe.identities:
                of.append([w.id for w in ep.workloads])
        ids = [w for i in bits(mask & self.universe.identity_mask) for w in of[i]]
        return sorted(set(ids)) if len(ids) > 1 else ids

    def addresses(self, mask: int) -> list[AddressSet]:
        """The network pieces of ``mask`` as address ranges, adjacent pieces merged: one peer each."""
        mask &= self.universe.network_mask
        if not mask:
            return []
        found = self._addresses.get(mask)
        if found is None:
            # The pieces are numbered in address order and cover each IP version without a gap,
            # so a run of consecutive set bits is one address range (split where the version changes).
            endpoints = self.universe.endpoints
            ranges: list[tuple[int, int, int, int]] = []  # version, first, last, mask
            rest = mask
            while rest:
                low = rest & -rest
                start = low.bit_length() - 1
                run = rest & ~(rest + low)  # the run of set bits from ``start``
                end = run.bit_length() - 1
                rest ^= run
                first, last = endpoints[start], endpoints[end]
                assert isinstance(first, Network) and isinstance(last, Network)
                if first.version != last.version:  # the run crosses from IPv4 to IPv6
                    split = next(i for i in range(start, end + 1) if getattr(endpoints[i], "version", 4) == 6)
                    v4_end = endpoints[split - 1]
                    assert isinstance(v4_end, Network)
                    ranges.append((4, first.first, v4_end.last, run & ((1 << split) - 1)))
                    v6 = endpoints[split]
                    assert isinstance(v6, Network)
                    ranges.append((6, v6.first, last.last, run & ~((1 << split) - 1)))
                else:
                    ranges.append((first.version, first.first, last.last, run))
            found = []
            for version, lo, hi, piece_mask in ranges:
                cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
                nets = tuple(str(n) for n in ipaddress.summarize_address_range(cls(lo), cls(hi)))
                address = AddressSet(range_name(version, lo, hi, nets), nets, version, lo, hi)
                self._ranges[address.id] = (piece_mask, address)
                found.append(address)
            self._addresses[mask] = found
        return found

    def domains(self, mask: int) -> list[str]:
        return sorted(ep.name for i in bits(mask & self.universe.domain_mask)
                      if isinstance(ep := self.universe.endpoints[i], Domain))

    def name(self, mask: int) -> str:
        """The peer id (one workload, one DNS name, addresses only) or group id of ``mask``."""
        found = self._by_mask.get(mask)
        if found is not None:
            return found
        workloads = self.workload_ids(mask)
        domains = self.domains(mask)
        addresses = self.addresses(mask)
        if not domains and not addresses and len(workloads) == 1:
            found = workloads[0]
        elif not workloads and not addresses and len(domains) == 1:
            found = domains[0]
        elif not workloads and not domains and len(addresses) == 1:
            found = addresses[0].id
        else:
            per_ns: dict[str, list[str]] = {}
            for w in workloads:
                per_ns.setdefault(w.split("/", 1)[0], []).append(w)
            whole = sorted(ns for ns, ws in per_ns.items() if len(ws) == self._ns_workloads.get(ns, -1) and len(ws) > 1)
            rest = tuple(w for ns, ws in sorted(per_ns.items()) if ns not in whole for w in ws)
            group = MapGroup(f"group-{len(self.groups) + 1}", tuple(whole), rest, ip_blocks=ip_blocks(addresses),
                             fqdns=tuple(domains), namespace_sizes=tuple(self._ns_workloads[ns] for ns in whole))
            self.groups[group.id] = group
            found = group.id
        self._by_mask[mask] = found
        return found

    def renumber(self) -> dict[str, str]:
        """Number the groups in the order of their members (stable output whatever the order they
        were named in); returns old id → new id."""
        order = sorted(self.groups.values(),
                       key=lambda g: (g.namespaces, g.workloads, [str(b) for b in g.ip_blocks], g.fqdns))
        renamed = {g.id: f"group-{i}" for i, g in enumerate(order, 1)}
        self.groups = {renamed[g.id]: replace(g, id=renamed[g.id]) for g in order}
        self._by_mask = {m: renamed.get(n, n) for m, n in self._by_mask.items()}
        return renamed

    def address_sets(self) -> list[tuple[int, AddressSet]]:
        """Every address range made so far, with the mask of its pieces."""
        return list(self._ranges.values())

    def has_workloads(self, name: str) -> bool:
        """Whether the group (or peer) ``name`` holds workloads."""
        group = self.groups.get(name)
        return group is not None and bool(group.namespaces or group.workloads)

    def expand(self, mask: int) -> Iterator[str]:
        """The peer ids of ``mask`` one by one: its workloads, its addresses as one peer, its DNS names."""
        yield from self.workload_ids(mask)
        for address in self.addresses(mask):
            yield address.id
        yield from self.domains(mask)


def ip_blocks(addresses: list[AddressSet]) -> tuple[IpBlock, ...]:
    """Address ranges written as few ipBlocks as a person would: adjacent ranges are taken into
    one block (its smallest covering CIDR, ``except`` the gaps) while that is no longer than
    writing them apart — ``0.0.0.0/0 except 10.0.0.0/8`` rather than thirty CIDRs."""
    out: list[IpBlock] = []
    for version in (4, 6):
        ranges = sorted((a.first, a.last, len(a.cidrs)) for a in addresses if a.version == version)
        if not ranges:
            continue
        whole = _cost(ranges, version)  # one covering CIDR except its gaps (or the ranges as they are)
        # Neighbours taken together while that is no longer; a block's CIDR never reaches into
        # the ranges of another block (the blocks stay apart).
        clusters: list[list[tuple[int, int, int]]] = []
        for i, r in enumerate(ranges):
            after = ranges[i + 1][0] if i + 1 < len(ranges) else None
            if clusters:
                before = clusters[-2][-1][1] if len(clusters) > 1 else None
                joined = _cost([*clusters[-1], r], version, before, after)[0]
                if joined <= _cost(clusters[-1], version, before, r[0])[0] + _cost([r], version, None, after)[0]:
                    clusters[-1].append(r)
                    continue
            clusters.append([r])
        greedy: list[IpBlock] = []
        for k, cluster in enumerate(clusters):
            before = clusters[k - 1][-1][1] if k else None
            after = clusters[k + 1][0][0] if k + 1 < len(clusters) else None
            greedy.extend(_cost(cluster, version, before, after)[1])
        out.extend(whole[1] if whole[0] <= sum(1 + len(b.except_) for b in greedy) else greedy)
    return tuple(out)


def _cost(ranges: list[tuple[int, int, int]], version: int, before: int | None = None,
          after: int | None = None) -> tuple[int, list[IpBlock]]:
    """How many CIDRs it takes to write ``ranges`` (first, last, CIDRs of the range), and how:
    as they are, or as their covering CIDR except the gaps — only if that CIDR stays after
    ``before`` and before ``after`` (the last and first addresses of the neighbouring blocks)."""
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    width = 32 if version == 4 else 128
    listed = sum(n for _, _, n in ranges)
    span = (ranges[0][0] ^ ranges[-1][1]).bit_length()
    start = ranges[0][0] >> span << span
    end = start | ((1 << span) - 1)
    gaps = [(a[1] + 1, b[0] - 1) for a, b in zip(ranges, ranges[1:], strict=False) if b[0] > a[1] + 1]
    if ranges[0][0] > start:
        gaps.insert(0, (start, ranges[0][0] - 1))
    if ranges[-1][1] < end:
        gaps.append((ranges[-1][1] + 1, end))
    if len(gaps) + 1 < listed and (before is None or before < start) and (after is None or end < after):
        holes = [h for lo, hi in gaps for h in _summarize(cls, lo, hi)]
        if len(holes) + 1 < listed:
            return len(holes) + 1, [IpBlock(f"{cls(start)}/{width - span}", tuple(holes))]
    return listed, [IpBlock(n) for lo, hi, _ in ranges for n in _summarize(cls, lo, hi)]


@cache
def _summarize(cls: type[ipaddress.IPv4Address] | type[ipaddress.IPv6Address], lo: int, hi: int) -> tuple[str, ...]:
    """The CIDRs of the range ``lo``…``hi``, as text (cached: the cost of a block is asked often)."""
    return tuple(str(n) for n in ipaddress.summarize_address_range(cls(lo), cls(hi)))


__all__ = ["AddressSet", "IpBlock", "MapGroup", "Namer", "ip_blocks"]
