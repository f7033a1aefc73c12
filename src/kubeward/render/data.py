"""Formats for tools: JSON (the versioned contract in docs/json.md), CSV, Markdown and DOT."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterator

import msgspec

from ..analyses.connectivity_map import ConnectivityMap, PeerType
from ..analyses.denied_map import DeniedMap

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


_DOT_EXPAND = 6  # a group of at most this many members is drawn as its members; a larger one as one node


def map_dot(cmap: ConnectivityMap, denied: DeniedMap | None = None) -> str:
    """The map as a Graphviz digraph (issue 17): one cluster per namespace holding its workloads,
    one edge per pair of nodes with every port on it (parallel edges merged), small groups drawn as
    their members, larger ones as one note node; only nodes that have an edge (no orphans).
    ``denied``: the denied ports as red dashed edges."""
    groups = {g.id: g for g in cmap.groups}
    workload_ns = {p.id: p.namespace for p in cmap.peers if p.type is PeerType.WORKLOAD}

    def ends(peer: str) -> list[str]:
        g = groups.get(peer)
        if g is None or len(g.items) > _DOT_EXPAND:
            return [peer]
        return g.items

    edges: dict[tuple[str, str], list[str]] = {}
    for c in cmap.connections:
        for src in ends(c.src):
            for dst in ends(c.dst):
                labels = edges.setdefault((src, dst), [])
                if str(c.ports) not in labels:
                    labels.append(str(c.ports))
    refused: dict[tuple[str, str], list[str]] = {}
    for row in denied.rows if denied is not None else ():
        workload_ns[row.dst] = row.dst.split("/", 1)[0]  # denied rows name workloads (and world)
        workload_ns.update((src, src.split("/", 1)[0]) for src in row.sources if src != "world")
        for src in row.sources:
            labels = refused.setdefault((src, row.dst), [])
            labels.append(f"{row.protocol}/{row.port}")
    used = {n for pair in (*edges, *refused) for n in pair}
    lines = ["digraph kubeward {", "  rankdir=LR;", "  compound=true;", "  nodesep=0.3;", "  ranksep=1.0;",
             '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=9, color="#4a6fa5"];']
    by_ns: dict[str, list[str]] = {}
    for n in sorted(used):
        ns = workload_ns.get(n) or (n[:-2] if n.endswith("/*") else "")
        if ns:
            by_ns.setdefault(ns, []).append(n)
    for ns, ids in sorted(by_ns.items()):
        lines.append(f"  subgraph {_dot_id('cluster_' + ns)} {{")
        lines.append(f'    label={_dot_id(ns)}; style="rounded"; color="#9aa5b1"; fontname="Helvetica";')
        for x in ids:
            label = "every workload" if x.endswith("/*") else x.split("/", 1)[1]
            lines.append(f"    {_dot_id(x)} [label={_dot_id(label)}];")
        lines.append("  }")
    for n in sorted(used - {x for ids in by_ns.values() for x in ids}):
        if n in groups:
            label = n + "\n" + "\n".join(x.replace('"', '\\"') for x in groups[n].items)
            lines.append(f'  {_dot_id(n)} [shape=note, fillcolor="#fff8e1", label="{label}"];')
        else:
            lines.append(f'  {_dot_id(n)} [shape=ellipse, fillcolor="#f4f4f4"];')
    for (src, dst), labels in sorted(edges.items()):
        no = refused.get((src, dst))
        if no is not None:  # allowed and denied ports on one pair: one edge, two colours (labels would overlap)
            label = (f'{html.escape(" ".join(labels))}<br/>'
                     f'<font color="#c62828">denied {html.escape(" ".join(no))}</font>')
            lines.append(f'  {_dot_id(src)} -> {_dot_id(dst)} [label=<{label}>, color="#4a6fa5:#c62828"];')
            continue
        back = edges.get((dst, src)) if (dst, src) not in refused else None
        if back == labels and dst < src and src != dst:
            continue  # drawn once, both ways
        both = ", dir=both" if back == labels and src != dst else ""
        lines.append(f"  {_dot_id(src)} -> {_dot_id(dst)} [label={_dot_id(' '.join(labels))}{both}];")
    for (src, dst), labels in sorted(refused.items()):
        if (src, dst) in edges:
            continue  # drawn with the allowed ports above
        lines.append(f"  {_dot_id(src)} -> {_dot_id(dst)} [label={_dot_id('denied ' + ' '.join(labels))}, "
                     'color="#c62828", fontcolor="#c62828", style=dashed];')
    lines.append("}")
    return "\n".join(lines) + "\n"
