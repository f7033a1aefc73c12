"""Exact sets of (protocol, port): the unit of every answer the engine gives.

A :class:`PortSet` maps each protocol to sorted, merged, inclusive port ranges. It is immutable
and hashable, so results can be cached and compared. (A general interval library would do,
but these sets sit on the hottest path of the engine: small tuples of ints are the fastest
representation CPython offers.)
"""

from __future__ import annotations

from functools import lru_cache

from ..ir import MAX_PORT, MIN_PORT, PROTOCOLS

Ranges = tuple[tuple[int, int], ...]


def _merge(ranges: list[tuple[int, int]]) -> Ranges:
    if not ranges:
        return ()
    ranges.sort()
    out: list[tuple[int, int]] = [ranges[0]]
    for lo, hi in ranges[1:]:
        plo, phi = out[-1]
        if lo <= phi + 1:
            if hi > phi:
                out[-1] = (plo, hi)
        else:
            out.append((lo, hi))
    return tuple(out)


def _intersect(a: Ranges, b: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _subtract(a: Ranges, b: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    for lo, hi in a:
        cur = lo
        for blo, bhi in b:
            if bhi < cur or blo > hi:
                continue
            if blo > cur:
                out.append((cur, blo - 1))
            cur = max(cur, bhi + 1)
            if cur > hi:
                break
        if cur <= hi:
            out.append((cur, hi))
    return tuple(out)


class PortSet:
    __slots__ = ("_items", "_hash", "_json")

    def __init__(self, items: dict[str, Ranges] | None = None) -> None:
        self._items: tuple[tuple[str, Ranges], ...] = tuple(
            (p, items[p]) for p in PROTOCOLS if items and items.get(p)) if items else ()
        self._hash = hash(self._items)
        self._json: dict[str, list[list[int]]] | None = None

    @classmethod
    def of(cls, protocol: str, first: int, last: int) -> PortSet:
        return cls({protocol: ((first, last),)})

    @classmethod
    def from_ranges(cls, items: list[tuple[str, int, int]]) -> PortSet:
        by: dict[str, list[tuple[int, int]]] = {}
        for proto, lo, hi in items:
            by.setdefault(proto, []).append((lo, hi))
        return cls({p: _merge(r) for p, r in by.items()})

    def ranges(self, protocol: str) -> Ranges:
        for p, r in self._items:
            if p == protocol:
                return r
        return ()

    def items(self) -> tuple[tuple[str, Ranges], ...]:
        return self._items

    def __bool__(self) -> bool:
        return bool(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PortSet) and self._items == other._items

    def __hash__(self) -> int:
        return self._hash

    def __or__(self, other: PortSet) -> PortSet:
        if not other._items or self is other:
            return self
        if not self._items:
            return other
        return _union(self, other)

    def __and__(self, other: PortSet) -> PortSet:
        if not self._items or not other._items:
            return EMPTY
        if self is other or self is ALL:
            return other
        if other is ALL:
            return self
        return _intersection(self, other)

    def __sub__(self, other: PortSet) -> PortSet:
        if not self._items or not other._items:
            return self
        if other is ALL or self is other:
            return EMPTY
        return _difference(self, other)

    def contains(self, protocol: str, port: int) -> bool:
        return any(lo <= port <= hi for lo, hi in self.ranges(protocol))

    @property
    def is_all(self) -> bool:
        return self == ALL

    def to_json(self) -> dict[str, list[list[int]]]:
        """``{"TCP": [[80, 81]], ...}``; computed once per set (callers must not mutate it)."""
        if self._json is None:
            self._json = {p: [[lo, hi] for lo, hi in r] for p, r in self._items}
        return self._json

    def __str__(self) -> str:
        if not self._items:
            return "nothing"
        if self.is_all:
            return "all ports"
        parts = []
        for p, r in self._items:
            if r == ((MIN_PORT, MAX_PORT),):
                parts.append(f"{p}/all")
            else:
                parts.append(f"{p}/" + ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in r))
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"PortSet({self})"


# The engine combines the same few sets over and over: remember the answers.
@lru_cache(maxsize=1 << 16)
def _union(a: PortSet, b: PortSet) -> PortSet:
    return PortSet({p: _merge(list(a.ranges(p)) + list(b.ranges(p))) for p in PROTOCOLS})


@lru_cache(maxsize=1 << 16)
def _intersection(a: PortSet, b: PortSet) -> PortSet:
    result = PortSet({p: _intersect(a.ranges(p), b.ranges(p)) for p in PROTOCOLS})
    return result if result else EMPTY


@lru_cache(maxsize=1 << 16)
def _difference(a: PortSet, b: PortSet) -> PortSet:
    result = PortSet({p: _subtract(a.ranges(p), b.ranges(p)) for p in PROTOCOLS})
    return result if result else EMPTY


EMPTY = PortSet()
ALL = PortSet({p: ((MIN_PORT, MAX_PORT),) for p in PROTOCOLS})
