"""The connectivity map as rules over groups of endpoints, computed without enumerating pairs.

``grouped_connectivity`` returns ``MaskRule``s: a set of sources × a set of destinations × the
ports allowed between every pair of them. Together they cover exactly what ``connectivity``
computes pair by pair (tests/test_map_grouped.py expands them and compares): each endpoint pair
is in at most one rule, and a pair no rule covers allows nothing.

How (ARCHITECTURE.md, "The grouped map"): a pair's answer is the source's egress side meeting
the destination's ingress side (NP-5). Destination identities are grouped into *classes* that
share their ingress side and port profile; each class splits the sources into the blocks of its
partition (``_Partitions``). A source whose egress side gives every identity the same ports — an
open side, or one whose identity part is one block, as "to: namespaceSelector: {}" makes it — is
*uniform*: for such sources a class needs one rule per block and per distinct egress answer,
whatever the number of sources. The other sources go through their egress blocks, which only
reach the identities they allow. Addresses outside the pods and DNS names get the egress answer
alone. Rules are then merged: the same destinations and ports → one source set; the same sources
and ports → one destination set.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter

from ..ir import Direction
from .connectivity import _Block, _Partitions
from .engine import Engine
from .evaluate import SideRules
from .portset import ALL, PortSet
from .universe import Domain, Identity, bits


@dataclass(frozen=True, slots=True)
class MaskRule:
    """Every source of ``src`` may open connections to every destination of ``dst`` on ``ports``
    (endpoint bitmasks of the engine's universe)."""

    src: int
    dst: int
    ports: PortSet


@dataclass(slots=True)
class _DestClass:
    """Destination identities with the same ingress side and port profile."""

    side: SideRules | None  # None: nothing isolates them for ingress
    mask: int
    rep: Identity
    blocks: list[tuple[int, PortSet]] | None = None  # (sources, ports) the ingress side allows
    accepted: int | None = None  # the union of those sources


@dataclass(slots=True)
class _Uniform:
    """Sources whose egress side gives every destination identity the same answer."""

    mask: int
    ports: PortSet | None           # the answer, when it does not depend on named ports
    side: SideRules | None = None   # else: the side and block to resolve per destination class
    block: _Block | None = None


def grouped_connectivity(engine: Engine, focus: int = 0) -> list[MaskRule]:
    """Exact rules over endpoint sets. ``focus`` (an identity mask): only the pairs with an end in it."""
    u = engine.universe
    parts = _Partitions(engine)
    ident_mask = u.identity_mask
    outside = u.all_mask & ~ident_mask          # network pieces and DNS names
    sources = ident_mask | u.network_mask       # a DNS name is only ever a destination

    classes: dict[tuple[int, int], _DestClass] = {}
    class_of: list[_DestClass] = []
    for ident in u.identities:
        side = engine.side(ident, Direction.INGRESS)
        key = (0 if side.open else id(side), ident.port_profile)
        found = classes.get(key)
        if found is None:
            found = classes[key] = _DestClass(None if side.open else side, 0, ident)
        found.mask |= 1 << ident.index
        class_of.append(found)

    interned: dict[int, int] = {dc.mask: dc.mask for dc in class_of}  # one object per mask: keys by id
    class_list = list({id(dc): dc for dc in class_of}.values())
    number_of = {id(dc): n for n, dc in enumerate(class_list)}
    class_number = [number_of[id(dc)] for dc in class_of]  # identity index -> class number

    def accepted(dc: _DestClass) -> int:
        """The sources the class's ingress allows anything from."""
        if dc.accepted is None:
            found = 0
            for src_part, _ in ingress_blocks(dc):
                found |= src_part
            dc.accepted = found
        return dc.accepted

    def ingress_blocks(dc: _DestClass) -> list[tuple[int, PortSet]]:
        if dc.blocks is None:
            if dc.side is None:
                dc.blocks = [(sources, ALL)]
            else:
                found_blocks: list[tuple[int, PortSet]] = []
                for block in parts.blocks(dc.side):
                    ports = parts.result(dc.side, block, dc.rep)
                    if ports and block.mask & sources:
                        found_blocks.append((block.mask & sources, ports))
                dc.blocks = found_blocks
        return dc.blocks

    # Egress classes: sources sharing their egress side.
    egress: dict[int, tuple[SideRules, int]] = {}
    for ep in u.endpoints:
        if isinstance(ep, Domain):
            continue
        side = engine.side(ep, Direction.EGRESS)
        side_mask = egress.get(id(side), (side, 0))[1]
        egress[id(side)] = (side, side_mask | 1 << ep.index)

    # (destinations, ports) -> [destinations, sources]. Keyed by the identity of the destination
    # mask (masks are shared objects here): hashing a 10,000-bit int for every fragment costs more
    # than the merge saves; equal masks of different objects are merged by the second pass anyway.
    by_dst: dict[tuple[int, PortSet], list[int]] = {}

    def add(src: int, dst: int, ports: PortSet) -> None:
        found = by_dst.get((id(dst), ports))
        if found is None:
            by_dst[(id(dst), ports)] = [dst, src]
        else:
            found[1] |= src

    uniform: dict[object, _Uniform] = {}
    rects: dict[tuple[int, object], tuple[SideRules, _Block, int]] = {}  # not uniform: (dsts, answer) -> sources
    for side, side_mask in egress.values():
        blocks = parts.blocks(side)
        ident_src = side_mask & ident_mask
        if ident_src:
            # Identity sources to addresses outside the pods and DNS names: the egress side alone.
            reach: dict[PortSet, int] = {}
            for block in blocks:
                out_part = block.mask & outside
                if out_part:
                    ports = parts.result(side, block, None)
                    if ports:
                        reach[ports] = reach.get(ports, 0) | out_part
            for ports, dst in reach.items():
                add(ident_src, interned.setdefault(dst, dst), ports)
        # To identities: uniform when one answer covers them all.
        touching = [b for b in blocks if b.mask & ident_mask]
        if len(touching) == 1 and touching[0].named:
            named_key = ("named", id(side), id(touching[0]))
            entry = uniform.get(named_key)
            if entry is None:
                entry = uniform[named_key] = _Uniform(0, None, side, touching[0])
            entry.mask |= side_mask
            continue
        answers = {b.result for b in touching if not b.named}
        if len(answers) == 1 and not any(b.named for b in touching):
            fixed = next(iter(answers))
            assert fixed is not None
            if fixed:
                entry = uniform.get(fixed)
                if entry is None:
                    entry = uniform[fixed] = _Uniform(0, fixed)
                entry.mask |= side_mask
            continue
        # Not uniform: through its blocks, to the identities each allows. Blocks of different
        # sides with the same identities and the same answer are taken together (their sources
        # are disjoint), so the destination classes are walked once for all of them.
        for block in touching:
            if block.result is not None and not block.result:
                continue
            key_ = (block.mask & ident_mask, block.result if block.result is not None else (id(side), id(block)))
            found_rect = rects.get(key_)
            rects[key_] = (side, block, side_mask | (found_rect[2] if found_rect else 0))

    # The destination classes a block's identities fall in (itemgetter and set work at C speed);
    # a class is skipped with one AND when its ingress accepts none of the block's sources (most
    # combinations, in a sparse cluster); else its part of the block is one AND, made once.
    accepts = [accepted(dc) for dc in class_list]
    # For a block with one source (most, in a sparse cluster: an egress side of its own), the
    # tests "does this class (or ingress block) accept it" read one byte of a bytes copy of the
    # mask: no wide-int AND, which allocates, for each of millions of (block, class) pairs.
    width = (u.size + 7) // 8
    accept_bytes = [a.to_bytes(width, "little") for a in accepts]
    blocks_bytes: dict[int, list[tuple[bytes, PortSet]]] = {}
    touched_by: dict[int, list[int]] = {}
    part_of: dict[tuple[int, int], int] = {}

    def part(dst_all: int, n: int) -> int:
        found_part = part_of.get((id(dst_all), n))
        if found_part is None:
            made = class_list[n].mask & dst_all
            found_part = part_of[(id(dst_all), n)] = interned.setdefault(made, made)
        return found_part

    for (dst_all, _), (side, block, src_all) in rects.items():
        touched = touched_by.get(dst_all)
        if touched is None:
            members = bits(dst_all)
            touched = touched_by[dst_all] = sorted({class_number[members[0]]} if len(members) == 1
                                                   else set(itemgetter(*members)(class_number)))
        single = not src_all & (src_all - 1)
        if single:
            s = src_all.bit_length() - 1
            byte, bit = s >> 3, 1 << (s & 7)
        for n in touched:
            if single:
                if not accept_bytes[n][byte] & bit:
                    continue
            elif not src_all & accepts[n]:
                continue
            dc = class_list[n]
            ports = block.result if block.result is not None else parts.result(side, block, dc.rep)
            if not ports:
                continue
            dst = part(dst_all, n)
            if single:
                found_bytes = blocks_bytes.get(n)
                if found_bytes is None:
                    found_bytes = blocks_bytes[n] = [(m.to_bytes(width, "little"), q) for m, q in ingress_blocks(dc)]
                for raw, in_ports in found_bytes:
                    if raw[byte] & bit and (both := ports & in_ports):
                        add(src_all, dst, both)
                continue
            for src_part, in_ports in ingress_blocks(dc):
                src = src_all & src_part
                if src and (both := ports & in_ports):
                    add(src, dst, both)

    # Uniform sources, one destination class at a time.
    for dc in {id(c): c for c in class_of}.values():
        for entry in uniform.values():
            if entry.ports is not None:
                answer = entry.ports
            else:
                assert entry.side is not None and entry.block is not None
                answer = parts.result(entry.side, entry.block, dc.rep)
                if not answer:
                    continue
            for src_part, in_ports in ingress_blocks(dc):
                src = entry.mask & src_part
                if src and (both := answer & in_ports):
                    add(src, dc.mask, both)

    by_src: dict[tuple[int, PortSet], int] = {}
    for (_, ports), (dst, src) in by_dst.items():
        by_src[(src, ports)] = by_src.get((src, ports), 0) | dst
    rules = [MaskRule(src, dst, ports) for (src, ports), dst in by_src.items()]
    if focus:
        rules = _focused(rules, focus)
    return rules


def mask_of(indexes: list[int]) -> int:
    """The bitmask of ``indexes`` (built at once: OR-ing one bit at a time into a wide int is
    quadratic)."""
    if len(indexes) <= 8:
        out = 0
        for i in indexes:
            out |= 1 << i
        return out
    raw = bytearray(max(indexes) // 8 + 1)
    for i in indexes:
        raw[i >> 3] |= 1 << (i & 7)
    return int.from_bytes(raw, "little")


def _focused(rules: list[MaskRule], focus: int) -> list[MaskRule]:
    """The part of each rule with an end in ``focus``: sources in it to every destination, and
    the other sources to the destinations in it."""
    out: list[MaskRule] = []
    for r in rules:
        inside = r.src & focus
        if inside:
            out.append(MaskRule(inside, r.dst, r.ports))
        rest, into = r.src & ~focus, r.dst & focus
        if rest and into:
            out.append(MaskRule(rest, into, r.ports))
    return out


__all__ = ["MaskRule", "grouped_connectivity"]
