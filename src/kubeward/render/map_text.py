"""The map as text, written as it is produced: a header, one line per connection (columns as wide
as their longest cell, found in a first pass), the groups the lines name, the entry points.

No rich Table: one holding 250,000 rows takes minutes and gigabytes."""

from __future__ import annotations

from collections.abc import Iterator

from rich.cells import cell_len

from ..analyses.connectivity_map import Connection, ConnectivityMap, PeerType
from ..analyses.denied_map import DeniedMap
from ..diagnostics import escape
from ..engine.portset import PortSet
from .text import _count, _l7_text, _mesh_text, _via, entry_points

_CHUNK = 2000  # lines written at once
_WIDEST = 80  # a FROM or TO column is padded to at most this; a longer cell pushes the rest of its line


def _annotation(c: Connection) -> str:
    return escape(", ".join([_via(v) for v in c.via or []]
                            + [f"Service {s['name']}:{s['port']}/{s['protocol']}" for s in c.services_on_path or []]
                            + [_l7_text(x) for x in c.l7 or []]
                            + ([_mesh_text(c.mesh)] if c.mesh else [])))


def connectivity_lines(cmap: ConnectivityMap) -> Iterator[str]:
    """The map's text, in chunks of lines."""
    labels = {g.id: g.label for g in cmap.groups}
    ports_text: dict[int, str] = {}

    def cell(peer: str) -> str:
        return escape(labels.get(peer, peer))

    def ports(p: PortSet) -> str:
        found = ports_text.get(id(p))
        if found is None:
            found = ports_text[id(p)] = str(p)
        return found

    annotated = any(c.via or c.services_on_path or c.l7 or c.mesh for c in cmap.connections)
    headers = ["FROM", "TO", "ALLOWED"] + (["VIA"] if annotated else [])
    widths = [cell_len(h) for h in headers[:3]]
    width_of: dict[str, int] = {}
    for c in cmap.connections:
        for i, text in enumerate((c.src, c.dst)):
            w = width_of.get(text)
            if w is None:
                w = width_of[text] = cell_len(cell(text))
            if widths[i] < w <= _WIDEST:
                widths[i] = w
        w = len(ports(c.ports))
        if w > widths[2]:
            widths[2] = w
    workloads = sum(1 for p in cmap.peers if p.type is PeerType.WORKLOAD)
    networks = sum(1 for p in cmap.peers if p.type is PeerType.NETWORK)
    form = f"; {_count(len(cmap.groups), 'group')}, --expand for one row per pair" if cmap.grouped else ""
    yield escape(f"{_count(len(cmap.connections), 'connection')} among {_count(workloads, 'workload')} "
                 f"and {_count(networks, 'network peer')} ({', '.join(cmap.options)}{form})") + "\n"

    def row(cells: list[str]) -> str:
        last = len(cells) - 1
        return "  ".join(text if i == last else text + " " * max(0, widths[i] - cell_len(text))
                         for i, text in enumerate(cells)).rstrip() + "\n"

    if cmap.connections:
        yield row(headers)
        batch: list[str] = []
        for c in cmap.connections:
            cells = [cell(c.src), cell(c.dst), ports(c.ports)]
            if annotated:
                cells.append(_annotation(c))
            batch.append(row(cells))
            if len(batch) >= _CHUNK:
                yield "".join(batch)
                batch = []
        yield "".join(batch)
    named = [g for g in cmap.groups if labels[g.id] != ", ".join(g.items)]
    if named:
        yield f"\nGroups ({len(named)}):\n"
        for g in named:
            yield escape(f"  {g.id}: {', '.join(g.items)}") + "\n"
    if cmap.entries:
        yield "\n"
        yield entry_points(cmap)


def connectivity_table(cmap: ConnectivityMap) -> str:
    """The map's text as one string (small maps: check, tests)."""
    return "".join(connectivity_lines(cmap))


__all__ = ["connectivity_lines", "connectivity_table", "denied_lines"]


def denied_lines(denied: DeniedMap) -> Iterator[str]:
    """``map --denied``: one line per destination port and deciding rule, its sources listed."""
    more = f", {denied.skipped:,} not asked (past the limit: narrow with -n/--workload)" if denied.skipped else ""
    yield (f"\nDenied ({denied.pairs:,} of {denied.asked:,} source → declared destination port questions"
           f"{more}):\n")
    for row in denied.rows:
        name = f" ({row.port_name})" if row.port_name else ""
        yield escape(f"  ✗ {', '.join(row.sources)} → {row.dst} {row.protocol}/{row.port}{name}: "
                     f"{row.phrase}") + "\n"
