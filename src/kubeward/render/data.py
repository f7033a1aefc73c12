"""Formats for tools: JSON (the versioned contract in docs/json.md), CSV, Markdown and DOT."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import msgspec

from ..analyses.connectivity_map import ConnectivityMap, PeerType

_ENCODER = msgspec.json.Encoder()  # insertion order: "schema" first, as documented


def to_json(data: object) -> str:
    return msgspec.json.format(_ENCODER.encode(data), indent=2).decode() + "\n"


def to_compact_json(data: object) -> str:
    return _ENCODER.encode(data).decode() + "\n"


def json_bytes(data: object) -> bytearray:
    """Compact JSON encoded once, as bytes to write (a map of a million rows is never copied as text)."""
    buf = bytearray()
    _ENCODER.encode_into(data, buf)
    buf += b"\n"
    return buf


def _label(cmap: ConnectivityMap, peer: str) -> str:
    group = cmap.group(peer)
    return peer if group is None else ", ".join(group.items)


def map_csv(cmap: ConnectivityMap) -> Iterator[str]:
    """One row per connection and protocol; a group is written as its members, ``, ``-separated."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["src", "dst", "protocol", "ports"])
    for i, c in enumerate(cmap.connections):
        src, dst = _label(cmap, c.src), _label(cmap, c.dst)
        for proto, ranges in c.ports.items():
            writer.writerow([src, dst, proto, ";".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges)])
        if i % 2000 == 1999:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def map_markdown(cmap: ConnectivityMap) -> Iterator[str]:
    yield "| from | to | allowed |\n| --- | --- | --- |\n"
    for c in cmap.connections:
        yield f"| `{_label(cmap, c.src)}` | `{_label(cmap, c.dst)}` | {c.ports} |\n"


def _dot_id(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def map_dot(cmap: ConnectivityMap) -> str:
    lines = ["digraph kubeward {", "  rankdir=LR;", "  node [shape=box, fontname=\"Helvetica\"];"]
    by_ns: dict[str, list[str]] = {}
    for p in cmap.peers:
        if p.type is PeerType.WORKLOAD:
            by_ns.setdefault(p.namespace, []).append(p.id)
    for i, (ns, ids) in enumerate(sorted(by_ns.items())):
        lines.append(f"  subgraph cluster_{i} {{")
        lines.append(f"    label={_dot_id(ns)};")
        lines.extend(f"    {_dot_id(x)} [label={_dot_id(x.split('/', 1)[1])}];" for x in ids)
        lines.append("  }")
    for p in cmap.peers:
        if p.type is not PeerType.WORKLOAD:
            lines.append(f"  {_dot_id(p.id)} [shape=ellipse];")
    for g in cmap.groups:  # a group: a note listing its members
        lines.append(f"  {_dot_id(g.id)} [shape=note, label={_dot_id(g.id + chr(10) + chr(10).join(g.items))}];")
    for c in cmap.connections:
        lines.append(f"  {_dot_id(c.src)} -> {_dot_id(c.dst)} [label={_dot_id(str(c.ports))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
