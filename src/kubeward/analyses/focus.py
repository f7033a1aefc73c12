"""``-n/--namespace`` on the commands that print workloads (issue 17): each command's result cut
to what has an end in the namespaces (``test``, ``diff``, ``flows``; ``labels`` and ``report``
take the namespaces themselves). The cut results say their focus (``namespaces``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping

from .diff import ConfigDiff
from .flows import FlowsReport
from .testsuite import SuiteResult


def peer_namespace(peer: str) -> str:
    """The namespace of a peer as the results name it: ``ns/name``, ``service/ns/name``,
    ``KIND/ns/name``; "" for ``world``, addresses, DNS names and namespace groups' outsides."""
    parts = peer.split("/")
    if len(parts) == 2 and ":" not in peer and "." not in parts[0]:
        return parts[0]
    if len(parts) == 3:
        return parts[1]
    return ""


def in_focus(peers: Collection[str], namespaces: Collection[str]) -> bool:
    """Whether one of ``peers`` is in one of ``namespaces``."""
    return any(peer_namespace(p) in namespaces for p in peers if p)


def focus_suite(result: SuiteResult, namespaces: Collection[str]) -> SuiteResult:
    """The cases with an end in ``namespaces``: the ends as explain resolved them (a workload's
    namespace; a Service's for ``service/NS/NAME``), else as the case names them."""
    def ends(r: object) -> list[str]:
        case = r.case  # type: ignore[attr-defined]
        names = [case.source, case.destination]
        exp = r.explanation  # type: ignore[attr-defined]
        if exp is not None:
            for end in (exp.verdict.source, exp.verdict.destination):
                if end.workload is not None:
                    names.append(end.workload.id)
        return names

    return SuiteResult([r for r in result.results if in_focus(ends(r), namespaces)], list(result.errors))


def entry_peers(via: Mapping[str, object]) -> list[str]:
    """The peers an entry point's ``via`` names: the route's namespace, its Service, its
    controller, its Gateway and its data plane."""
    out = [f"{via.get('namespace', '')}/{via.get('name', '')}"]
    out += [str(via[k]) for k in ("service", "controller", "gateway", "dataPlane") if via.get(k)]
    return out


def focus_diff(result: ConfigDiff, namespaces: Collection[str]) -> ConfigDiff:
    """The pairs (on both sides: a pair is one change) and entry points with an end in ``namespaces``."""
    ns = sorted(namespaces)
    return dataclasses.replace(
        result,
        pairs=[p for p in result.pairs if in_focus((p.src, p.dst), ns)],
        entries=[e for e in result.entries if in_focus(entry_peers(e.via), ns)],
        peers_added=[w for w in result.peers_added if in_focus((w,), ns)],
        peers_removed=[w for w in result.peers_removed if in_focus((w,), ns)],
        namespaces=ns)


def focus_flows(report: FlowsReport, namespaces: Collection[str]) -> FlowsReport:
    """The observed flows with an end in ``namespaces`` (Hubble's namespace of either end), and the
    rules of their policies or that one of those flows used; the summary counts only these."""
    ns = set(namespaces)
    results = [r for r in report.results
               if r.flow.key.source.namespace in ns or r.flow.key.destination.namespace in ns]
    apart = [a for a in report.apart
             if a.flow.key.source.namespace in ns or a.flow.key.destination.namespace in ns]
    kept = {id(r.flow) for r in results} | {id(a.flow) for a in apart}
    read = dataclasses.replace(report.read, flows=[f for f in report.read.flows if id(f) in kept],
                               lines=sum(f.count for f in report.read.flows if id(f) in kept))
    out = dataclasses.replace(report, read=read, results=results, apart=apart, namespaces=sorted(ns))
    out.hits, out.distinct_hits = type(report.hits)(), type(report.distinct_hits)()
    for r in results:
        for h in r.hits:
            out.hits[h] += r.flow.count
            out.distinct_hits[h] += 1
    out.rules = {k: v for k, v in report.rules.items() if k[1] in ns or out.hits[k]}
    out.tier_ends = {k: v for k, v in report.tier_ends.items() if k[1] in ns or out.hits[k]}
    return out


__all__ = ["peer_namespace", "in_focus", "entry_peers", "focus_suite", "focus_diff", "focus_flows"]
