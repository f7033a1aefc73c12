"""`kubeward diff OLD NEW --flows FLOWS` (issue 14): the observed flows whose verdict the change
flips — *would be broken* (OLD allows, NEW denies) and *newly allowed* (OLD denies, NEW allows) —
each with the rule that decides it on either side, as `kubeward flows` names it. Every distinct
flow is compared against both analyses with the one per-flow comparison `flows` uses
(``compare_flows``); a flow placed on one side only (its workload exists in OLD or NEW alone) is
listed apart, never guessed onto the other side."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from ..flows.read import DistinctFlow, FlowRead
from .flow_place import Placer
from .flows import Apart, FlowResult, compare_flows, read_placed_sides, with_domains
from .session import Analysis

T = TypeVar("T")


@dataclass(slots=True)
class FlowChange:
    """One distinct observed flow under both sides: ``before`` (OLD) and ``after`` (NEW)."""

    before: FlowResult
    after: FlowResult

    @property
    def flow(self) -> DistinctFlow:
        return self.after.flow

    @property
    def kind(self) -> str:
        """would-break, newly-allowed, or unchanged."""
        if self.before.computed == self.after.computed:
            return "unchanged"
        return "would-break" if self.before.computed == "allow" else "newly-allowed"

    def to_json(self) -> dict[str, object]:
        out = _flow_json(self.flow)
        out["source"] = {"observed": self.flow.key.source.display, "peer": self.after.source.peer,
                         "peerBefore": self.before.source.peer}
        out["destination"] = {"observed": self.flow.key.destination.display, "peer": self.after.destination.peer,
                              "peerBefore": self.before.destination.peer}
        out["observed"] = self.after.observed
        out["before"] = _side_json(self.before)
        out["after"] = _side_json(self.after)
        return out


@dataclass(slots=True)
class OneSide:
    """A flow placed on one side only: the verdict there, and why the other side cannot place it."""

    side: str             # old / new: where it is placed
    result: FlowResult
    missing: str          # why the other side cannot place it

    def to_json(self) -> dict[str, object]:
        out = _flow_json(self.result.flow)
        out.update(side=self.side, source=self.result.source.peer, destination=self.result.destination.peer,
                   observed=self.result.observed, verdict=_side_json(self.result), otherSide=self.missing)
        return out


@dataclass(slots=True)
class FlowsDiff:
    read: FlowRead
    changes: list[FlowChange] = field(default_factory=list)
    one_side: list[OneSide] = field(default_factory=list)
    apart: list[Apart] = field(default_factory=list)

    @property
    def would_break(self) -> list[FlowChange]:
        return [c for c in self.changes if c.kind == "would-break"]

    @property
    def newly_allowed(self) -> list[FlowChange]:
        return [c for c in self.changes if c.kind == "newly-allowed"]

    def summary(self) -> dict[str, object]:
        apart = Counter(a.reason for a in self.apart)
        unchanged = [c for c in self.changes if c.kind == "unchanged"]
        return {
            "records": self.read.lines, "distinct": len(self.read.flows), "badLines": self.read.bad_lines,
            "compared": len(self.changes),
            "wouldBreak": len(self.would_break), "wouldBreakRecords": sum(c.flow.count for c in self.would_break),
            "newlyAllowed": len(self.newly_allowed),
            "newlyAllowedRecords": sum(c.flow.count for c in self.newly_allowed),
            "unchanged": len(unchanged), "unchangedRecords": sum(c.flow.count for c in unchanged),
            "oldOnly": sum(1 for o in self.one_side if o.side == "old"),
            "newOnly": sum(1 for o in self.one_side if o.side == "new"),
            "replies": apart["reply"], "nonPolicyDrops": apart["not-a-policy-drop"],
            "unplaced": apart["unplaced"], "notModelled": apart["not-modelled"],
        }

    def to_json(self) -> dict[str, object]:
        return {
            "summary": self.summary(),
            "wouldBreak": [c.to_json() for c in self.would_break],
            "newlyAllowed": [c.to_json() for c in self.newly_allowed],
            "oneSide": [o.to_json() for o in self.one_side],
            "apart": [a.to_json() for a in self.apart],
            "diagnostics": [d.to_json() for d in self.read.diagnostics.sorted()],
        }


def _flow_json(flow: DistinctFlow) -> dict[str, object]:
    k = flow.key
    out: dict[str, object] = {"protocol": k.protocol, "port": k.port, "count": flow.count, "first": flow.first,
                              "last": flow.last, "where": flow.where, "verdict": k.verdict,
                              "dropReason": k.drop_reason or None}
    if k.method:
        out["http"] = {"method": k.method, "path": k.path, "host": k.host}
    if k.dns:
        out["dns"] = k.dns
    return out


def _side_json(r: FlowResult) -> dict[str, object]:
    return {"computed": r.computed, "decidedBy": r.decided.to_json() if r.decided else None}


def flows_diff(old: Analysis, new: Analysis, read: FlowRead, old_placer: Placer | None = None,
               new_placer: Placer | None = None) -> FlowsDiff:
    """Compare every distinct flow of ``read`` against ``old`` and ``new`` (placers from
    ``read_placed_sides``; built here when not given)."""
    before = compare_flows(with_domains(old, read), read, old_placer)
    after = compare_flows(with_domains(new, read), read, new_placer)
    out = FlowsDiff(read)
    for b, a in zip(before, after, strict=True):
        if isinstance(b, FlowResult) and isinstance(a, FlowResult):
            out.changes.append(FlowChange(b, a))
        elif isinstance(b, FlowResult) and isinstance(a, Apart) and a.reason == "unplaced":
            out.one_side.append(OneSide("old", b, a.detail))
        elif isinstance(a, FlowResult) and isinstance(b, Apart) and b.reason == "unplaced":
            out.one_side.append(OneSide("new", a, b.detail))
        elif isinstance(a, Apart):  # apart on both sides, or for a reason of the record itself
            out.apart.append(a)
    out.changes = _merged(out.changes, lambda c: (c.before, c.after), lambda c, f: FlowChange(
        replace(c.before, flow=f), replace(c.after, flow=f)))
    out.one_side = _merged(out.one_side, lambda o: (o.result,),
                           lambda o, f: replace(o, result=replace(o.result, flow=f)))
    return out


def _merged(items: list[T], results: Callable[[T], tuple[FlowResult, ...]],
            rebuild: Callable[[T, DistinctFlow], T]) -> list[T]:
    """Items whose flows are one question on both sides, taken together: an end placed differently
    by the two sides is read as Hubble names it (a pod), so one workload's pods are several flows
    until here."""
    groups: dict[tuple[object, ...], list[T]] = {}
    for item in items:
        rs = results(item)
        k = rs[0].flow.key
        key = (*((r.source.peer, r.destination.peer, r.computed) for r in rs), k.protocol, k.port, k.method, k.path,
               k.host, k.dns, k.verdict, k.drop_reason)
        groups.setdefault(key, []).append(item)
    out = []
    for group in groups.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        flows = [results(i)[0].flow for i in group]
        times = [t for f in flows for t in (f.first, f.last) if t]
        merged = DistinctFlow(flows[0].key, sum(f.count for f in flows), min(times, default=""),
                              max(times, default=""), flows[0].where)
        out.append(rebuild(group[0], merged))
    return out


def read_flows_diff(old: Analysis, new: Analysis, paths: Iterable[str],
                    progress: Callable[[int], None] | None = None) -> FlowsDiff:
    """Read the flows of ``paths`` and compare them against both sides of a diff."""
    read, old_placer, new_placer = read_placed_sides(old, new, paths, progress)
    return flows_diff(old, new, read, old_placer, new_placer)
