"""The connectivity map: every (source, destination) endpoint pair and the ports allowed.

Computed on identities, not pods. For each distinct set of rules that decides a side, the
universe of peers is split once into blocks that the same rules match (set operations on
bitmasks); the tier pipeline runs once per block, and only blocks that allow something are
expanded into pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import Direction, Rule
from ..model import ContainerPort
from .engine import Engine
from .evaluate import SideRules, evaluate_side, resolve_ports, uses_named_ports
from .portset import ALL, EMPTY, PortSet
from .universe import Identity, bits


@dataclass(slots=True)
class _Block:
    mask: int
    matched: frozenset[int]          # ids of the rules that match peers in this block
    named: bool                      # its result depends on the destination's named ports
    result: PortSet | None = None    # when not named
    members: list[int] | None = None


class _Partitions:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._blocks: dict[int, list[_Block]] = {}
        self._named_results: dict[tuple[int, int, tuple[ContainerPort, ...]], PortSet] = {}

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
                block.result = evaluate_side(side, lambda r, ids=ids: id(r) in ids,  # type: ignore[misc]
                                             lambda ports: resolve_ports(ports, None))
            blocks.append(block)
        self._blocks[key] = blocks
        return blocks

    def result(self, side: SideRules, index: int, block: _Block, dest_ports: tuple[ContainerPort, ...] | None) -> PortSet:
        if block.result is not None:
            return block.result
        ports = dest_ports or ()
        key = (id(side), index, ports)
        found = self._named_results.get(key)
        if found is None:
            ids = block.matched
            found = evaluate_side(side, lambda r: id(r) in ids, lambda p: resolve_ports(p, ports))
            self._named_results[key] = found
        return found


def connectivity(engine: Engine) -> dict[tuple[int, int], PortSet]:
    """Allowed ports for every ordered endpoint pair that allows something. Pairs between two
    non-pod endpoints are not computed (no policy speaks about them)."""
    u = engine.universe
    parts = _Partitions(engine)
    out: dict[tuple[int, int], PortSet] = {}
    identity_count = len(u.identities)
    for src in u.endpoints:
        src_is_pod = isinstance(src, Identity)
        e_side = engine.side(src, Direction.EGRESS)
        src_bit = src.index
        for bi, block in enumerate(parts.blocks(e_side)):
            if block.result is not None and not block.result:
                continue
            mask = block.mask if src_is_pod else block.mask & u.identity_mask
            if block.members is None or not src_is_pod:
                members = list(bits(mask))
                if src_is_pod:
                    block.members = members
            else:
                members = block.members
            for d in members:
                dst = u.endpoints[d]
                dst_ports = dst.ports if d < identity_count else None  # type: ignore[union-attr]
                egress = parts.result(e_side, bi, block, dst_ports)
                if not egress:
                    continue
                if d >= identity_count:
                    out[(src.index, d)] = egress
                    continue
                i_side = engine.side(dst, Direction.INGRESS)
                if i_side.open:
                    ingress = ALL
                else:
                    ingress = EMPTY
                    for bj, iblock in enumerate(parts.blocks(i_side)):
                        if (iblock.mask >> src_bit) & 1:
                            ingress = parts.result(i_side, bj, iblock, dst_ports)
                            break
                conn = egress & ingress
                if conn:
                    out[(src.index, d)] = conn
    return out
