"""`report` (issue 17): the data of the HTML report, computed once by the other analyses.

The page (``render/report_html.py``) shows what this module returns and computes nothing: the
grouped connectivity map (its groups say which namespaces and workloads each end stands for),
each workload's labels and isolation per direction with the policies behind it (file:line), the
deciding rules of the workload pairs of the map (up to ``ORIGIN_PAIRS`` pairs), every entry point
with its hops, the broken paths (a failing TestSuite case, an entry point that is blocked) with
the rule that breaks them, lint findings with fixes, TestSuite results, and with flows the
observed drops by reason and the disagreements. ``Report.to_json()`` is the document embedded in
the page, ``"schema": 1`` (docs/json.md).

Sections are data: ``Report.sections`` lists them in page order (id, title, data), and the page
renders each with the renderer registered for its id (a generic table for an id it does not
know). ``add_section`` is the slot for sections computed elsewhere (the labels analysis).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import __version__
from ..diagnostics import Diagnostic, Severity
from ..engine.evaluate import Origin
from ..engine.options import Options
from ..engine.portset import PortSet
from .check import CheckReport, check
from .commands import suites_in
from .connectivity_map import WORLD_ENTRY, ConnectivityMap, PeerType
from .session import Analysis, analyse_input
from .testsuite import run_suites

if TYPE_CHECKING:
    from ..live import LiveSnapshot
    from ..model import Workload
    from .flows import FlowsReport

REPORT_SCHEMA = 1
# The deciding rules of workload pairs are computed for this many pairs at most (each pair walks
# the engine's blocks); beyond, the page shows each side's isolating policies and says so.
ORIGIN_PAIRS = 4000
# Beyond this many workloads the graph opens with namespaces collapsed (a click expands one).
COLLAPSE_WORKLOADS = 300
# Flows with a disagreement kept in the page at most (their count is always there).
FLOW_DISAGREEMENTS = 2000


@dataclass(slots=True)
class Section:
    """One section of the page: ``id`` selects the page's renderer, ``data`` is its JSON."""

    id: str
    title: str
    data: object

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "title": self.title, "data": self.data}


@dataclass(slots=True)
class Report:
    """What the page shows: ``graph`` (peers, groups, connections, origins, broken paths) and
    ``sections`` in page order."""

    inputs: list[str]
    options: list[str]
    graph: dict[str, object]
    sections: list[Section] = field(default_factory=list)
    # the input's diagnostics (and the flows' read diagnostics): the CLI prints them on stderr
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.diagnostics)

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)

    def to_json(self) -> dict[str, object]:
        return {"schema": REPORT_SCHEMA, "kubeward": __version__, "inputs": self.inputs, "options": self.options,
                "graph": self.graph, "sections": [s.to_json() for s in self.sections]}


def add_section(report: Report, section_id: str, title: str, data: object, *, after: str | None = None) -> None:
    """Add a section (e.g. ``add_section(report, "labels", "Labels the policies depend on",
    labels_report.to_json())``): after the section ``after``, else last."""
    index = next((i + 1 for i, s in enumerate(report.sections) if s.id == after), len(report.sections))
    report.sections.insert(index, Section(section_id, title, data))


def report_paths(paths: Sequence[str], *, options: Options | None = None, cluster: LiveSnapshot | None = None,
                 flows: Sequence[str] = (), namespaces: Sequence[str] = ()) -> Report:
    """The report of ``paths`` (with ``cluster``: the live cluster with ``paths`` overlaid): the
    TestSuites found among them are run; ``flows`` (Hubble's records) are compared when given.
    ``namespaces`` (-n): the page focused on them (:func:`focused`); ``UsageError`` when one is
    not in the input."""
    options = options or Options()
    analysis = analyse_input(paths, options, cluster=cluster)
    suites = suites_in(analysis)
    tests = run_suites(paths, options, suites, analysis, cluster=cluster) if suites else None
    flows_report = None
    diagnostics = analysis.diagnostics.sorted()
    if flows:
        from .flows import flows_report as compare
        from .flows import read_placed

        read, placer = read_placed(analysis, list(flows))
        flows_report = compare(analysis, read, placer)
        diagnostics += read.diagnostics.sorted()
    inputs = list(paths) + (["(cluster)"] if cluster is not None else [])
    checked = check(analysis, tests, namespaces=namespaces)
    if namespaces:
        checked, flows_report = focused(checked, flows_report, namespaces)
    report = build_report(analysis, checked, inputs, flows_report)
    from .labels import label_dependencies

    # The labels every selector reads, with the removals the default budget simulates (issue 17).
    labels = label_dependencies(analysis, namespaces=namespaces)
    add_section(report, "labels", "Labels the policies depend on", labels.to_json(), after="findings")
    report.diagnostics = diagnostics
    return report


def focused(checked: CheckReport, flows: FlowsReport | None,
            namespaces: Sequence[str]) -> tuple[CheckReport, FlowsReport | None]:
    """``report -n`` (issue 17): the page of the namespaces and their direct peers. The graph is
    ``check``'s map cut to the connections with an end in them (so it holds their workloads and
    every peer they reach or are reached by, as groups too); the other sections keep what has
    an end in them: entry points, findings about their objects, test cases, observed flows, their
    policies (cluster-scoped ones too, which can select them)."""
    from .focus import entry_peers, focus_flows, focus_suite, in_focus

    ns = set(namespaces)
    cmap = dataclasses.replace(checked.map, entries=[e for e in checked.map.entries
                                                     if in_focus(entry_peers(e.via), ns)])
    tests = checked.tests
    if tests is not None:
        tests = dataclasses.replace(tests, result=focus_suite(tests.result, ns))
    checked = dataclasses.replace(checked, map=cmap, tests=tests,
                                  findings=[f for f in checked.findings if f.namespace in ns])
    return checked, focus_flows(flows, ns) if flows is not None else None


def build_report(analysis: Analysis, checked: CheckReport, inputs: list[str],
                 flows: FlowsReport | None = None) -> Report:
    cmap = checked.map
    graph = _graph(analysis, checked, cmap)
    report = Report(inputs, checked.options, graph)
    report.sections = [
        Section("graph", "Connectivity", {"collapsed": graph["collapsed"]}),
        Section("entries", "Entry points", [_entry_json(e) for e in cmap.entries]),
        Section("broken", "Broken paths", graph["broken"]),
        Section("findings", "Findings", [f.to_json() for f in checked.findings]),
    ]
    if checked.tests is not None:
        run = checked.tests
        report.sections.append(Section("tests", "Tests", {
            "options": run.analysis.options.describe(), "problems": run.problems,
            **{k: v for k, v in run.result.to_json().items() if k != "schema"}}))
    if flows is not None:
        report.sections.append(Section("flows", "Observed flows", _flows_json(flows)))
    report.sections.append(Section("policies", "Policies", graph["policies"]))
    report.sections.append(Section("diagnostics", "Input notes", [d.to_json() for d in checked.input_problems]))
    return report


def _graph(analysis: Analysis, checked: CheckReport, cmap: ConnectivityMap) -> dict[str, object]:
    cluster = analysis.cluster
    policies = {p.ref.display: p.ref for p in cluster.policies}
    protection = {p.workload: p for p in checked.protection}

    def located(names: tuple[str, ...]) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for name in names:
            ref = policies.get(name)
            out.append({"policy": name, "where": f"{ref.file}:{ref.line}" if ref is not None else ""})
        return out

    workloads: list[dict[str, object]] = []
    shown = _shown(cmap, checked.focus, cluster.workloads)
    for w in cluster.workloads:
        if shown is not None and w.id not in shown:
            continue
        prot = protection.get(w.id)
        item: dict[str, object] = {"id": w.id, "namespace": w.namespace, "name": w.name, "kind": str(w.kind),
                                   "labels": dict(w.labels), "where": str(w.origin)}
        if w.assumed:
            item["assumed"] = True
        if prot is not None:
            item["ingressIsolatedBy"] = located(prot.ingress_isolated_by)
            item["egressIsolatedBy"] = located(prot.egress_isolated_by)
            item["clusterPolicies"] = located(prot.admin_policies)
            item["hostNetwork"] = prot.host_network
        workloads.append(item)
    namespaces = [{"name": n, "defined": d, "labels": dict(cluster.namespaces[n].labels)
                   if n in cluster.namespaces else {}} for n, d in checked.namespaces
                  if shown is None or any(w["namespace"] == n for w in workloads)]
    outside = [p.to_json() for p in cmap.peers if p.type is not PeerType.WORKLOAD]
    connections = []
    for c in cmap.connections:
        item = {"src": c.src, "dst": c.dst, "protocols": c.ports.to_json(), "ports": _ports(c.ports)}
        for key, value in (("via", c.via), ("services", c.services), ("l7", c.l7), ("mesh", c.mesh)):
            if value:
                item[key] = value
        connections.append(item)
    origins, complete = _pair_origins(cmap)
    return {
        "namespaces": namespaces, "workloads": workloads, "outside": outside,
        "groups": [g.to_json() for g in cmap.groups], "connections": connections,
        "origins": origins, "originsComplete": complete,
        "collapsed": len(workloads) > COLLAPSE_WORKLOADS,
        "broken": _broken(checked),
        "policies": [{"id": ref.display, "kind": ref.kind, "namespace": ref.namespace, "name": ref.name,
                      "where": f"{ref.file}:{ref.line}"} for ref in policies.values()
                     if shown is None or not ref.namespace or ref.namespace in checked.focus],
        **({"focus": list(checked.focus)} if shown is not None else {}),
    }


def _shown(cmap: ConnectivityMap, focus: Sequence[str], every: Sequence[Workload]) -> set[str] | None:
    """The workloads of a focused page: of the focus namespaces, and every workload a connection of
    the (focused) map names, alone or in a group; None: all."""
    if not focus:
        return None
    groups = {g.id: g for g in cmap.groups}
    shown = {p.id for p in cmap.peers if p.type is PeerType.WORKLOAD and p.id.partition("/")[0] in focus}
    for c in cmap.connections:
        for end in (c.src, c.dst):
            group = groups.get(end)
            if group is None:
                shown.add(end)
            else:  # a group: its workloads, and every workload of its whole namespaces
                shown.update(group.workloads)
                shown.update(w.id for w in every if w.namespace in group.namespaces)
    return shown


def _ports(ports: PortSet) -> str:
    return "all ports" if ports.is_all else str(ports)


def _pair_origins(cmap: ConnectivityMap) -> tuple[list[dict[str, object]], bool]:
    """The rules that decide each workload pair of the map's connections (``src``, ``dst`` a
    workload, a network peer or ``world``), while there are at most ``ORIGIN_PAIRS`` pairs."""
    pairs: list[tuple[str, str]] = []
    for c in cmap.connections:
        sources = cmap.members(c.src) or ([] if cmap.group(c.src) else [c.src])
        destinations = cmap.members(c.dst) or ([] if cmap.group(c.dst) else [c.dst])
        group = cmap.group(c.src)
        if group is not None and (group.ip_blocks or group.fqdns):
            sources = [*sources, *(str(b) for b in group.ip_blocks), *group.fqdns]
        group = cmap.group(c.dst)
        if group is not None and (group.ip_blocks or group.fqdns):
            destinations = [*destinations, *(str(b) for b in group.ip_blocks), *group.fqdns]
        pairs.extend((s, d) for s in sources for d in destinations)
        if len(pairs) > ORIGIN_PAIRS:
            return [], False
    out: list[dict[str, object]] = []
    for s, d in dict.fromkeys(pairs):
        rules = [_origin_json(o, ports) for o, ports in cmap.origins(s, d)]
        if rules:
            out.append({"src": s, "dst": d, "rules": rules})
    return out, True


def _origin_json(origin: Origin, ports: PortSet) -> dict[str, object]:
    return {"effect": str(origin.effect), "policy": origin.policy.display, "direction": origin.direction.value,
            "rule": origin.rule, "where": origin.where, "text": origin.describe(), "ports": _ports(ports)}


def _entry_json(entry: object) -> dict[str, object]:
    from .entry import EntryPoint

    assert isinstance(entry, EntryPoint)
    out = entry.to_json()
    out["hops"] = [s.to_json() for s in entry.path.steps]
    return out


def _broken(checked: CheckReport) -> list[dict[str, object]]:
    """Broken paths: a TestSuite case that expects allow and is denied (or the reverse), an entry
    point that is blocked; each with the rule that breaks it (file:line)."""
    out: list[dict[str, object]] = []
    if checked.tests is not None:
        for r in checked.tests.result.results:
            if r.passed:
                continue
            step = r.decided_by
            out.append({"what": "test", "name": r.case.name, "src": r.case.source, "dst": r.case.destination,
                        "port": r.case.port, "expect": r.case.expect, "verdict": r.verdict,
                        "rule": step.policy.display if step is not None and step.policy is not None else "",
                        "where": step.where if step is not None else "", "message": r.message,
                        "caseWhere": f"{r.case.file}:{r.case.line}"})
    workloads = {w.id for w in checked.map.peers if w.type is PeerType.WORKLOAD}
    for e in checked.map.entries:
        step = e.first_failure()
        if step is None:
            continue
        service = str(e.via.get("service", ""))
        dst = step.subject if step.subject in workloads else ""
        out.append({"what": "entry", "name": f"{e.via.get('kind', '')} {e.via.get('namespace', '')}/"
                                                f"{e.via.get('name', '')}", "src": WORLD_ENTRY, "dst": dst,
                    "service": service, "request": e.request, "expect": "allow", "verdict": "deny",
                    "rule": step.policy.display if step.policy is not None else "", "where": step.where,
                    "message": step.message})
    return out


def _flows_json(flows: FlowsReport) -> dict[str, object]:
    doc = flows.to_json()
    disagreements = [r.to_json(trace=False) for r in flows.disagreements[:FLOW_DISAGREEMENTS]]
    return {"summary": doc["summary"], "drops": doc["drops"], "disagreements": disagreements,
            "disagreementsShown": len(disagreements), "unusedRules": doc["unusedRules"]}
