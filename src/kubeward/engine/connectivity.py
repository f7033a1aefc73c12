"""The connectivity map: every (source, destination) endpoint pair and the ports allowed.

A pair is listed in the direction the connection is opened; its replies are implied (NP-6,
ANP-7). Ports are the destination pod's ports (NP-24).

Computed on identities, not pods. For each distinct set of rules that decides a side, the
universe of peers is split once into blocks that the same rules match (set operations on
bitmasks); the tier pipeline runs once per block, and only blocks that allow something are
expanded into pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..ir import Direction, Rule
from .engine import Engine
from .evaluate import Attribution, Origin, SideRules, evaluate_side, resolve_ports, uses_named_ports
from .portset import ALL, EMPTY, PortSet
from .universe import Domain, Identity, bits


@dataclass(slots=True)
class _Block:
    mask: int
    matched: frozenset[int]          # ids of the rules that match peers in this block
    named: bool                      # its result depends on the destination's named ports
    result: PortSet | None = None    # when not named
    members: list[int] | None = None
    by_profile: dict[int, PortSet] = field(default_factory=dict)  # when named
    origins: dict[int, Attribution] = field(default_factory=dict)  # by destination port profile (-1: any)


class _Partitions:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._blocks: dict[int, list[_Block]] = {}
        self._index: dict[int, list[int]] = {}
        self._interned: dict[Attribution, Attribution] = {}

    def blocks(self, side: SideRules) -> list[_Block]:
        key = id(side)
        found = self._blocks.get(key)
        if found is not None:
            return found
        u = self.engine.universe
        parts: list[tuple[int, tuple[Rule, ...]]] = [(u.all_mask, ())]
        seen: set[int] = set()
        for rule in side.all_rules:
            if id(rule) in seen:
                continue
            seen.add(id(rule))
            m = self.engine.rule_mask(rule)
            if not m:
                continue
            nxt: list[tuple[int, tuple[Rule, ...]]] = []
            for bm, matched in parts:
                inside = bm & m
                if inside:
                    nxt.append((inside, (*matched, rule)))
                    outside = bm & ~m
                    if outside:
                        nxt.append((outside, matched))
                else:
                    nxt.append((bm, matched))
            parts = nxt
        blocks: list[_Block] = []
        for bm, matched in parts:
            ids = frozenset(id(r) for r in matched)
            named = uses_named_ports(matched)
            block = _Block(bm, ids, named)
            if not named:
                block.result = evaluate_side(side, _member_of(ids), lambda ports: resolve_ports(ports, None))
            blocks.append(block)
        self._blocks[key] = blocks
        return blocks

    def origins(self, side: SideRules, block: _Block, dest: Identity | None) -> Attribution:
        """The rules that decided each part of the block's result (for ``dest``'s named ports)."""
        profile = dest.port_profile if dest is not None and block.named else -1
        found = block.origins.get(profile)
        if found is None:
            ports = dest.ports if dest is not None else ()
            collected: list[tuple[Origin, PortSet]] = []
            evaluate_side(side, _member_of(block.matched), lambda p: resolve_ports(p, ports), origins=collected)
            fresh = tuple(collected)
            found = block.origins[profile] = self._interned.setdefault(fresh, fresh)
        return found

    def block_of(self, side: SideRules, endpoint: int) -> _Block:
        """The block of ``side``'s partition that holds ``endpoint`` (an index built on first use)."""
        index = self._index.get(id(side))
        if index is None:
            blocks = self.blocks(side)
            index = [0] * self.engine.universe.size
            for bi, block in enumerate(blocks):
                for i in bits(block.mask):
                    index[i] = bi
            self._index[id(side)] = index
        return self.blocks(side)[index[endpoint]]

    def result(self, side: SideRules, block: _Block, dest: Identity | None) -> PortSet:
        if block.result is not None:
            return block.result
        profile = dest.port_profile if dest is not None else -1
        found = block.by_profile.get(profile)
        if found is None:
            ports = dest.ports if dest is not None else ()
            ids = block.matched
            found = evaluate_side(side, lambda r: id(r) in ids, lambda p: resolve_ports(p, ports))
            block.by_profile[profile] = found
        return found


def _member_of(ids: frozenset[int]) -> Callable[[Rule], bool]:
    def matched(rule: Rule) -> bool:
        return id(rule) in ids
    return matched


@dataclass(slots=True)
class PairOrigins:
    """The rules that decided each part of any endpoint pair, allowed or refused: computed on
    demand from the same partitions the map uses (every pair of a block shares them, interned).
    Built apart from the map's loop, so a large map holds no block once it is built."""

    engine: Engine
    _parts: _Partitions | None = None

    def attribution(self, src: int, dst: int) -> Attribution:
        """What decided each part of ``src`` → ``dst``: the source's egress side, then the
        destination's ingress side, each in evaluation order (allowed and refused parts)."""
        if self._parts is None:
            self._parts = _Partitions(self.engine)
        parts = self._parts
        u = self.engine.universe
        source, destination = u.endpoints[src], u.endpoints[dst]
        dest = destination if isinstance(destination, Identity) else None
        out: Attribution = ()
        if isinstance(source, Identity):
            side = self.engine.side(source, Direction.EGRESS)
            if not side.open:
                out = parts.origins(side, parts.block_of(side, dst), dest)
        if dest is not None:
            side = self.engine.side(dest, Direction.INGRESS)
            if not side.open:
                out = out + parts.origins(side, parts.block_of(side, src), dest)
        return out


def connectivity(engine: Engine) -> dict[tuple[int, int], PortSet]:
    """Allowed ports for every ordered endpoint pair that allows something. Pairs between two
    non-pod endpoints are not computed (no policy speaks about them)."""
    u = engine.universe
    parts = _Partitions(engine)
    out: dict[tuple[int, int], PortSet] = {}
    identity_count = len(u.identities)
    # For each distinct (ingress side, destination port profile): the result for every possible
    # source, as a list indexed by endpoint; EMPTY where nothing is allowed.
    ingress_tables: dict[tuple[int, int], list[PortSet]] = {}
    table_of: list[list[PortSet] | None] = []
    for ident in u.identities:
        side = engine.side(ident, Direction.INGRESS)
        if side.open:
            table_of.append(None)
            continue
        blocks = parts.blocks(side)
        named = any(b.named for b in blocks)
        key = (id(side), ident.port_profile if named else -1)
        table = ingress_tables.get(key)
        if table is None:
            table = [EMPTY] * u.size
            for block in blocks:
                result = parts.result(side, block, ident)
                if result:
                    for i in bits(block.mask):
                        table[i] = result
            ingress_tables[key] = table
        table_of.append(table)
    identities = u.identities
    for src in u.endpoints:
        if isinstance(src, Domain):
            continue  # a DNS name is only ever a destination
        s = src.index
        src_is_pod = s < identity_count
        e_side = engine.side(src, Direction.EGRESS)
        for block in parts.blocks(e_side):
            fixed = block.result
            if fixed is not None and not fixed:
                continue
            if block.members is None:
                block.members = bits(block.mask)
            members = block.members
            if fixed is None:
                for d in members:
                    if d >= identity_count:
                        if src_is_pod:
                            egress = parts.result(e_side, block, None)
                            if egress:
                                out[(s, d)] = egress
                        continue
                    egress = parts.result(e_side, block, identities[d])
                    if not egress:
                        continue
                    table = table_of[d]
                    conn = egress if table is None else egress & table[s]
                    if conn:
                        out[(s, d)] = conn
                continue
            meet: dict[int, PortSet] = {}
            for d in members:
                if d >= identity_count:
                    if src_is_pod:
                        out[(s, d)] = fixed
                    continue
                table = table_of[d]
                if table is None:
                    out[(s, d)] = fixed
                    continue
                ingress = table[s]
                if ingress is EMPTY:
                    continue
                if ingress is ALL:
                    out[(s, d)] = fixed
                    continue
                found = meet.get(id(ingress))
                if found is None:
                    found = meet[id(ingress)] = fixed & ingress
                conn = found
                if conn:
                    out[(s, d)] = conn
    return out
