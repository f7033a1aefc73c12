"""Reading truth-table cases (tests/truthtables/README.md) and checking kubeward against them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kubeward import Options, analyse_objects, connectivity_map, explain
from kubeward.analyses.session import Analysis
from kubeward.diagnostics import Diagnostics
from kubeward.loader import LMap, RawObject, load_text

TABLES = Path(__file__).resolve().parent / "truthtables"


@dataclass
class Probe:
    source: str
    destination: str
    protocol: str
    port: int
    expect: bool  # True = allowed
    http: dict[str, Any] | None = None  # method, path, host, headers


@dataclass
class Case:
    id: str
    name: str
    doc: dict[str, Any]
    file: Path

    def probes(self) -> list[Probe]:
        out: list[Probe] = []
        for p in self.doc.get("probes") or []:
            proto = str(p.get("protocol", "TCP"))
            port = int(p["port"])
            if "table" in p:
                rows = [line.split() for line in p["table"].strip().splitlines()]
                header = rows[0][1:]
                for row in rows[1:]:
                    for dst, cell in zip(header, row[1:], strict=True):
                        assert cell in (".", "X"), f"bad cell {cell!r} in {self.id}"
                        out.append(Probe(row[0], dst, proto, port, cell == "."))
            else:
                http = {k: p[k] for k in ("method", "path", "host", "headers") if k in p} or None
                out.append(Probe(str(p["from"]), str(p["to"]), proto, port, p["expect"] == "allow", http))
        return out


def discover(folder: str) -> list[Case]:
    cases: list[Case] = []
    for file in sorted((TABLES / folder).glob("*.yaml")):
        for i, doc in enumerate(yaml.safe_load_all(file.read_text())):
            if not doc:
                continue
            cases.append(Case(f"{file.stem}#{i}", str(doc.get("name", file.stem)), doc, file))
    return cases


def _relabel(obj: RawObject, labels: dict[str, str]) -> None:
    meta = obj.data["metadata"]
    new = LMap(meta.line)
    for k, v in labels.items():
        new[k] = str(v)
    meta["labels"] = new


def build(case: Case, options: Options | None = None) -> Analysis:
    diags = Diagnostics()
    fixture = case.doc.get("fixture")
    objects: list[RawObject] = []
    if fixture:
        path = TABLES / "fixtures" / f"{fixture}.yaml"
        objects.extend(load_text(path.read_text(), str(path.relative_to(TABLES.parent.parent)), diags))
    ns_labels = case.doc.get("namespace_labels") or {}
    pod_labels = case.doc.get("pod_labels") or {}
    for obj in objects:
        if obj.kind == "Namespace" and obj.name in ns_labels:
            _relabel(obj, ns_labels[obj.name])
        if obj.kind == "Pod" and f"{obj.namespace}/{obj.name}" in pod_labels:
            _relabel(obj, pod_labels[f"{obj.namespace}/{obj.name}"])
    if case.doc.get("objects"):
        objects.extend(load_text(case.doc["objects"], f"{case.file.name}#objects", diags))
    if options is None:
        options = Options(cni=case.doc.get("cni", "generic"), mesh=case.doc.get("mesh", "auto"),
                          enforce_staged=bool(case.doc.get("enforce_staged", False)),
                          cilium_audit=bool(case.doc.get("cilium_audit", False)))
    return analyse_objects(objects, diags, options)


def mismatches(case: Case, options: Options | None = None) -> list[str]:
    """Every probe where explain or map disagree with upstream, as readable lines."""
    analysis = build(case, options)
    expected = set(case.doc.get("expect_errors") or [])
    errors = [d for d in analysis.diagnostics.items if d.severity.value == "error"]
    assert {d.code for d in errors} == expected, "case input errors:\n" + "\n".join(str(d) for d in errors)
    cmap = connectivity_map(analysis)
    conns = {(c.src, c.dst): c.ports for c in cmap.connections}
    single = {w.id for w in analysis.cluster.workloads if w.single_pod}
    domains = {d.name for d in analysis.engine.universe.domains}  # the map's fqdn peers
    bad: list[str] = []
    for p in case.probes():
        h = p.http or {}
        exp = explain(analysis, p.source, p.destination, p.port, p.protocol, h.get("method"),
                      tuple((str(k), str(v)) for k, v in (h.get("headers") or {}).items()),
                      h.get("path"), h.get("host"))
        want = "allow" if p.expect else "deny"
        if exp.allowed != p.expect:
            deciding = [s.message for s in exp.verdict.steps if s.effect == "deny"][:1]
            bad.append(f"explain {p.source} -> {p.destination} {p.protocol}/{p.port}: got "
                       f"{exp.verdict.verdict}, upstream {want} {deciding}")
        if p.source == p.destination and p.source in single:
            continue  # self traffic of a single pod is not listed in the map (NP-7)
        if p.http or "/" not in p.source or ("/" not in p.destination and p.destination not in domains):
            continue  # the map is compared on workload pairs, and pairs to the DNS names it shows, at L4
        ports = conns.get((p.source, p.destination))
        in_map = bool(ports and ports.contains(p.protocol, p.port))
        if in_map != p.expect:
            bad.append(f"map {p.source} -> {p.destination} {p.protocol}/{p.port}: got "
                       f"{'allow' if in_map else 'deny'}, upstream {want}")
    return bad
