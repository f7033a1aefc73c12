"""Formats for tools: JSON (the versioned contract in docs/json.md), CSV, Markdown and DOT."""

from __future__ import annotations

import csv
import io

import msgspec

from ..analyses.connectivity_map import ConnectivityMap, PeerType

_ENCODER = msgspec.json.Encoder()  # insertion order: "schema" first, as documented


def to_json(data: object) -> str:
    return msgspec.json.format(_ENCODER.encode(data), indent=2).decode() + "\n"


def to_compact_json(data: object) -> str:
    return _ENCODER.encode(data).decode() + "\n"


def map_csv(cmap: ConnectivityMap) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["src", "dst", "protocol", "ports"])
    for c in cmap.connections:
        for proto, ranges in c.ports.items():
            writer.writerow([c.src, c.dst, proto,
                             ";".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges)])
    return buf.getvalue()


def map_markdown(cmap: ConnectivityMap) -> str:
    lines = ["| from | to | allowed |", "| --- | --- | --- |"]
    for c in cmap.connections:
        lines.append(f"| `{c.src}` | `{c.dst}` | {c.ports} |")
    return "\n".join(lines) + "\n"


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
    for c in cmap.connections:
        lines.append(f"  {_dot_id(c.src)} -> {_dot_id(c.dst)} [label={_dot_id(str(c.ports))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
