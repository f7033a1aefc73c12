"""`labels` (issue 17): which labels and namespace labels the policies and Services of the input
select on, in which role and with which operator — and what removing or adding a label would
change, computed by a relabel simulation: the label changed in the model, the input analysed
again under the same profile, and the two connectivity maps compared (`diff`).

Read from the IR and the model after the dialects: NetworkPolicy, ANP/BANP, Cilium (its
``k8s:io.cilium.k8s.namespace.labels.*`` keys are namespace labels), Calico selector
expressions (``pcns.*`` keys are namespace labels), Istio AuthorizationPolicy and
PeerAuthentication selectors, Gateway listeners' namespace selectors and Service selectors.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from ..diagnostics import Diagnostics
from ..dialects.validation import label_key_problem, label_value_problem
from ..engine.options import Options
from ..errors import UsageError
from ..ir import (
    CILIUM_KEY,
    CILIUM_NAMESPACE_LABELS,
    AllExpr,
    AndExpr,
    CalicoPeer,
    CompareExpr,
    CompareOp,
    GlobalExpr,
    HasExpr,
    InSetExpr,
    LabelSelector,
    NodePeer,
    NotExpr,
    ObjectRef,
    Operator,
    OrExpr,
    Peer,
    PodPeer,
    Policy,
    Requirement,
    SelectorExpr,
    ServicePeer,
)
from ..model import AuthorizationPolicy, Cluster, Namespace, PeerAuthentication
from .connectivity_map import ConnectivityMap, connectivity_map
from .diff import ConfigDiff, diff
from .label_selection import SelectionChange, selection_changes
from .session import Analysis, analyse_objects

# Kubernetes sets it on every namespace and keeps it equal to the name: it cannot be removed.
NAME_LABEL = "kubernetes.io/metadata.name"
# Without --relabel, at most this many removals are simulated by default, and at most
# SIMULATION_BUDGET // workloads: each one analyses the input again and builds and compares its map,
# which costs about linearly in the workloads (measured, 2 shared cores: ~20 ms on examples/shop
# (7 workloads), 0.7–1.3 s on the 1,000-pod benchmark cluster (200), ~50 s on the 10,000-pod one (2,000)).
DEFAULT_SIMULATIONS = 20
SIMULATION_BUDGET = 1000


def default_simulations(cluster: Cluster) -> int:
    """How many removals ``labels`` simulates unless told: 20 on a small input, fewer on a large
    one, none from 1,000 workloads on (5 on the 1,000-pod benchmark cluster: 4–7 s)."""
    return min(DEFAULT_SIMULATIONS, SIMULATION_BUDGET // max(1, len(cluster.workloads)))


class Target(StrEnum):
    """What carries the label a selector reads. Stable: part of the JSON contract."""

    POD = "pod"
    NAMESPACE = "namespace"
    SERVICE = "service"  # Cilium toServices with a selector: Services by their own labels
    NODE = "node"        # ANP nodes peers


class Role(StrEnum):
    SUBJECT = "subject"                  # the pods (or namespaces) a policy applies to
    PEER = "peer"                        # the other end of a rule
    SERVICE_SELECTOR = "service-selector"  # a Service's backends
    ROUTE_NAMESPACES = "route-namespaces"  # a Gateway listener's allowedRoutes namespaces


class LabelOp(StrEnum):
    EQUALS = "equals"
    NOT_EQUALS = "not-equals"
    IN = "in"
    NOT_IN = "not-in"
    EXISTS = "exists"
    DOES_NOT_EXIST = "does-not-exist"
    CONTAINS = "contains"
    NOT_CONTAINS = "not-contains"
    STARTS_WITH = "starts-with"
    NOT_STARTS_WITH = "not-starts-with"
    ENDS_WITH = "ends-with"
    NOT_ENDS_WITH = "not-ends-with"


_NEGATION = {LabelOp.EQUALS: LabelOp.NOT_EQUALS, LabelOp.IN: LabelOp.NOT_IN, LabelOp.EXISTS: LabelOp.DOES_NOT_EXIST,
             LabelOp.CONTAINS: LabelOp.NOT_CONTAINS, LabelOp.STARTS_WITH: LabelOp.NOT_STARTS_WITH,
             LabelOp.ENDS_WITH: LabelOp.NOT_ENDS_WITH}
_NEGATION.update({v: k for k, v in list(_NEGATION.items())})
# Operators a selector needs a carrier for: with no carrier, the selector picks nothing by this label.
_POSITIVE = frozenset({LabelOp.EQUALS, LabelOp.IN, LabelOp.EXISTS, LabelOp.CONTAINS, LabelOp.STARTS_WITH,
                       LabelOp.ENDS_WITH})
_EXACT = frozenset({LabelOp.EQUALS, LabelOp.IN, LabelOp.NOT_EQUALS, LabelOp.NOT_IN})


@dataclass(frozen=True, slots=True)
class LabelUse:
    """One selector term of one object that reads a label."""

    ref: ObjectRef
    role: Role
    operator: LabelOp
    values: tuple[str, ...]
    where: str   # "subject", "ingress rule 0", "selector", "listener http"
    line: int    # the line of the rule (or of the object, for its subject)
    selector: str  # the whole selector, as kubeward prints it

    def to_json(self) -> dict[str, object]:
        return {"kind": self.ref.kind, "namespace": self.ref.namespace, "name": self.ref.name,
                "file": self.ref.file, "line": self.line, "role": self.role, "operator": self.operator,
                "values": list(self.values), "where": self.where, "selector": self.selector}


@dataclass(slots=True)
class LabelDependency:
    """A label key (``value`` None: whatever its value) or key=value that selectors read."""

    target: Target
    key: str
    value: str | None
    uses: list[LabelUse] = field(default_factory=list)
    carriers: list[str] = field(default_factory=list)  # workloads (ns/name) or namespaces that carry it
    # stand-ins kubeward adds for what the input does not hold (an ingress controller, istiod) that carry it
    stand_ins: list[str] = field(default_factory=list)
    simulations: list[int] = field(default_factory=list)  # indexes into LabelsReport.simulations
    not_simulated: list[str] = field(default_factory=list)  # carriers whose removal was not simulated

    @property
    def text(self) -> str:
        return self.key if self.value is None else f"{self.key}={self.value}"

    @property
    def carried_by_none(self) -> bool:
        """A positive selector term that no carrier of the input satisfies (a typo, or a label not yet set)."""
        return not self.carriers and not self.stand_ins and self.target in (Target.POD, Target.NAMESPACE) \
            and any(u.operator in _POSITIVE for u in self.uses)

    def to_json(self) -> dict[str, object]:
        return {"target": self.target, "key": self.key, "value": self.value, "carriers": self.carriers,
                "standIns": self.stand_ins, "carriedByNone": self.carried_by_none,
                "uses": [u.to_json() for u in self.uses],
                "simulations": self.simulations, "notSimulated": self.not_simulated}


class ChangeTarget(StrEnum):
    WORKLOAD = "workload"
    NAMESPACE = "namespace"


@dataclass(frozen=True, slots=True)
class LabelChange:
    """``key=value`` (set) or ``key-`` (remove, ``value`` None) on one workload or namespace."""

    target: ChangeTarget
    name: str  # ns/name of a workload, or a namespace's name
    key: str
    value: str | None

    def __str__(self) -> str:
        what = "namespace " if self.target is ChangeTarget.NAMESPACE else ""
        return f"{what}{self.name} {self.key}-" if self.value is None else f"{what}{self.name} {self.key}={self.value}"

    def to_json(self) -> dict[str, object]:
        return {"target": self.target, "name": self.name, "key": self.key, "value": self.value}


@dataclass(slots=True)
class Simulation:
    """One relabel simulated: what it changes in what is allowed (``diff``) and in what the
    selectors that read the changed labels select (``selections``)."""

    changes: tuple[LabelChange, ...]
    diff: ConfigDiff
    selections: list[SelectionChange] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"changes": [c.to_json() for c in self.changes], "changed": self.diff.changed,
                "diff": self.diff.to_json(), "selections": [s.to_json() for s in self.selections]}


@dataclass(slots=True)
class LabelsReport:
    options: list[str]
    labels: list[LabelDependency]
    simulations: list[Simulation]
    limit: int
    skipped: int = 0   # removals not simulated because of the limit
    relabel: Simulation | None = None  # the --relabel simulation
    seconds: float = 0.0  # time spent in simulations
    namespaces: list[str] = field(default_factory=list)  # -n: the focus (label_dependencies)

    def to_json(self) -> dict[str, object]:
        return {"schema": 1, "options": self.options, "labels": [d.to_json() for d in self.labels],
                "simulations": [s.to_json() for s in self.simulations],
                "simulationLimit": self.limit, "simulationsSkipped": self.skipped,
                "relabel": self.relabel.to_json() if self.relabel is not None else None,
                **({"namespaces": self.namespaces} if self.namespaces else {})}


# --------------------------------------------------------------------------- reading selectors


_Term = tuple[Target, str, LabelOp, tuple[str, ...]]


def _label_key(key: str, target: Target) -> tuple[Target, str] | None:
    """The label a key of the IR reads, or None for identity keys that are no label (a Cilium
    namespace name or service account, Calico's ``projectcalico.org/*`` and ``pcsa.*``)."""
    if key.startswith(CILIUM_KEY):
        rest = key[len(CILIUM_KEY):]
        if rest.startswith(CILIUM_NAMESPACE_LABELS):
            return Target.NAMESPACE, rest[len(CILIUM_NAMESPACE_LABELS):]
        return None
    return target, key


def _requirement_terms(req: Requirement, target: Target) -> Iterator[_Term]:
    found = _label_key(req.key, target)
    if found is None:
        return
    op = {Operator.IN: LabelOp.EQUALS if len(req.values) == 1 else LabelOp.IN,
          Operator.NOT_IN: LabelOp.NOT_EQUALS if len(req.values) == 1 else LabelOp.NOT_IN,
          Operator.EXISTS: LabelOp.EXISTS, Operator.DOES_NOT_EXIST: LabelOp.DOES_NOT_EXIST}[req.operator]
    yield found[0], found[1], op, req.values


def _selector_terms(sel: LabelSelector | None, target: Target) -> Iterator[_Term]:
    if sel is None or sel.nothing:
        return
    for req in sel.requirements:
        yield from _requirement_terms(req, target)


def _calico_key(key: str) -> tuple[Target, str] | None:
    if key.startswith("pcns."):
        rest = key[len("pcns."):]
        return None if rest.startswith("projectcalico.org/") else (Target.NAMESPACE, rest)
    if key.startswith(("projectcalico.org/", "pcsa.")):
        return None
    return Target.POD, key


_COMPARE = {CompareOp.EQ: LabelOp.EQUALS, CompareOp.NE: LabelOp.NOT_EQUALS, CompareOp.CONTAINS: LabelOp.CONTAINS,
            CompareOp.STARTS: LabelOp.STARTS_WITH, CompareOp.ENDS: LabelOp.ENDS_WITH}


def _expr_terms(expr: SelectorExpr | None, negated: bool = False) -> Iterator[_Term]:
    """The label terms of a Calico selector expression (CAL-1 … CAL-3); under ``!`` an operator
    reads as its negation."""
    if expr is None or isinstance(expr, (AllExpr, GlobalExpr)):
        return
    if isinstance(expr, NotExpr):
        yield from _expr_terms(expr.inner, not negated)
        return
    if isinstance(expr, (AndExpr, OrExpr)):
        for part in expr.parts:
            yield from _expr_terms(part, negated)
        return
    values: tuple[str, ...]
    if isinstance(expr, CompareExpr):
        key, op, values = expr.key, _COMPARE[expr.op], (expr.value,)
    elif isinstance(expr, InSetExpr):
        key, values = expr.key, expr.values
        op = (LabelOp.NOT_EQUALS if len(values) == 1 else LabelOp.NOT_IN) if expr.negated else \
            (LabelOp.EQUALS if len(values) == 1 else LabelOp.IN)
    elif isinstance(expr, HasExpr):
        key, op, values = expr.key, LabelOp.EXISTS, ()
    else:  # pragma: no cover - every SelectorExpr is handled above
        return
    found = _calico_key(key)
    if found is not None:
        yield found[0], found[1], (_NEGATION[op] if negated else op), values


def _peer_terms(peer: Peer) -> Iterator[_Term]:
    if isinstance(peer, PodPeer):
        yield from _selector_terms(peer.pod_selector, Target.POD)
        yield from _selector_terms(peer.namespace_selector, Target.NAMESPACE)
    elif isinstance(peer, CalicoPeer):
        yield from _expr_terms(peer.selector)
        yield from _expr_terms(peer.not_selector, negated=True)
    elif isinstance(peer, ServicePeer):
        yield from _selector_terms(peer.selector, Target.SERVICE)
    elif isinstance(peer, NodePeer):
        yield from _selector_terms(peer.selector, Target.NODE)


_Found = tuple[Target, str, LabelUse]


def _policy_uses(p: Policy) -> Iterator[_Found]:
    subject = str(p.selector_expr) if p.selector_expr is not None else str(p.subject.as_peer())
    terms = list(_expr_terms(p.selector_expr)) if p.selector_expr is not None else [
        *_selector_terms(p.subject.pod_selector, Target.POD),
        *_selector_terms(p.subject.namespace_selector, Target.NAMESPACE)]
    for target, key, op, values in terms:
        yield target, key, LabelUse(p.ref, Role.SUBJECT, op, values, "subject", p.ref.line, subject)
    for rule in (*p.ingress, *p.egress):
        line = rule.line or p.ref.line
        if rule.subject_only is not None:
            for target, key, op, values in _peer_terms(rule.subject_only):
                yield target, key, LabelUse(p.ref, Role.SUBJECT, op, values, rule.label, line, str(rule.subject_only))
        for peer in rule.peers:
            for target, key, op, values in _peer_terms(peer):
                yield target, key, LabelUse(p.ref, Role.PEER, op, values, rule.label, line, str(peer))
        for req in rule.requires:
            for target, key, op, values in _requirement_terms(req, Target.POD):
                yield target, key, LabelUse(p.ref, Role.PEER, op, values, rule.label + " (requires)", line, str(req))


def label_uses(cluster: Cluster) -> Iterator[_Found]:
    """Every selector term of the model that reads a label: (what carries it, key, the use)."""
    for p in cluster.policies:
        if not p.rejected:  # CAL-7: the API server refuses it: nothing depends on it
            yield from _policy_uses(p)
    meshes: list[AuthorizationPolicy | PeerAuthentication] = [*cluster.mesh.authorization_policies,
                                                              *cluster.mesh.peer_authentications]
    for mesh in meshes:
        for target, key, op, values in _selector_terms(mesh.selector, Target.POD):
            yield target, key, LabelUse(mesh.ref, Role.SUBJECT, op, values, "selector", mesh.ref.line,
                                        str(mesh.selector))
    for svc in cluster.services:
        if svc.selector:
            ref = ObjectRef("Service", svc.namespace, svc.name, svc.origin.file, svc.origin.line)
            text = ",".join(f"{k}={v}" for k, v in svc.selector.items())
            for key, value in svc.selector.items():
                yield Target.POD, key, LabelUse(ref, Role.SERVICE_SELECTOR, LabelOp.EQUALS, (value,), "selector",
                                                ref.line, text)
    for gw in cluster.entry.gateways:
        for listener in gw.listeners:
            for target, key, op, values in _selector_terms(listener.allowed_selector, Target.NAMESPACE):
                yield target, key, LabelUse(gw.ref, Role.ROUTE_NAMESPACES, op, values, f"listener {listener.name}",
                                            listener.line or gw.ref.line, str(listener.allowed_selector))


# --------------------------------------------------------------------------- the listing


_TARGET_ORDER = {t: i for i, t in enumerate(Target)}


class _Carriers:
    """Who carries which label, indexed once: (target, key, value) and (target, key, None) → names,
    and the stand-ins kubeward adds (ING-6) apart."""

    def __init__(self, cluster: Cluster) -> None:
        self.index: dict[tuple[Target, str, str | None], set[str]] = {}
        self.stand_ins: dict[tuple[str, str | None], set[str]] = {}
        for w in cluster.workloads:
            for labels in (w.labels, *(dict(f.labels) for f in w.pod_facts)):
                for k, v in labels.items():
                    if w.assumed:
                        self.stand_ins.setdefault((k, v), set()).add(w.id)
                        self.stand_ins.setdefault((k, None), set()).add(w.id)
                    else:
                        self._add(Target.POD, k, v, w.id)
        for ns in cluster.namespaces.values():
            for k, v in ns.labels.items():
                self._add(Target.NAMESPACE, k, v, ns.name)
        for svc in cluster.services:
            for k, v in svc.labels.items():
                self._add(Target.SERVICE, k, v, f"{svc.namespace}/{svc.name}")
        for node in cluster.nodes:
            for k, v in node.labels.items():
                self._add(Target.NODE, k, v, node.name)

    def _add(self, target: Target, key: str, value: str, name: str) -> None:
        self.index.setdefault((target, key, value), set()).add(name)
        self.index.setdefault((target, key, None), set()).add(name)

    def of(self, dep: LabelDependency) -> tuple[list[str], list[str]]:
        stand_ins = self.stand_ins.get((dep.key, dep.value), set()) if dep.target is Target.POD else set()
        return sorted(self.index.get((dep.target, dep.key, dep.value), ())), sorted(stand_ins)


def dependencies(cluster: Cluster) -> list[LabelDependency]:
    """Every label (key, or key=value) a selector of the input reads, with its uses and carriers,
    sorted by target, key and value."""
    found: dict[tuple[Target, str, str | None], LabelDependency] = {}
    seen: set[tuple[Target, str, str | None, LabelUse]] = set()
    for target, key, use in label_uses(cluster):
        values: Sequence[str | None] = use.values if use.operator in _EXACT else (None,)
        for value in values:
            dep = found.get((target, key, value))
            if dep is None:
                dep = found[(target, key, value)] = LabelDependency(target, key, value)
            if (target, key, value, use) not in seen:  # a selector may repeat a term
                seen.add((target, key, value, use))
                dep.uses.append(use)
    deps = sorted(found.values(), key=lambda d: (_TARGET_ORDER[d.target], d.key, d.value or ""))
    carriers = _Carriers(cluster)
    for dep in deps:
        dep.carriers, dep.stand_ins = carriers.of(dep)
        dep.uses.sort(key=lambda u: (u.ref.file, u.line, u.ref.kind, u.ref.name, u.where))
    return deps


# --------------------------------------------------------------------------- relabelling


def find_target(cluster: Cluster, spec: str, namespace: str | None = None) -> tuple[ChangeTarget, str]:
    """A workload named as every option names one (``NS/NAME``, ``deploy/web`` with ``namespace``
    as -n gives it, ``deployment/NS/NAME``: names.py) or a namespace ``ns/NAME`` (or
    ``namespace/NAME``); a workload of that id wins. Raises UsageError naming close matches."""
    from .names import resolve_workload

    ns, _, name = spec.partition("/")
    workload = cluster.workload(spec)
    if workload is None and ns not in ("ns", "namespace", "namespaces"):
        try:
            workload = resolve_workload(cluster, spec, namespace, "--relabel").workload
        except UsageError as exc:
            raise UsageError(str(exc).removeprefix("--relabel ")) from None
    if workload is not None and workload.assumed:
        raise UsageError(f"{spec}: a stand-in kubeward adds for a workload the input does not hold: it has no "
                         "labels of the input to change")
    if workload is not None:
        return ChangeTarget.WORKLOAD, workload.id
    if name in cluster.namespaces and cluster.namespaces[name].origin is not None:
        return ChangeTarget.NAMESPACE, name
    near = difflib.get_close_matches(name, sorted(cluster.namespaces), n=3)
    hint = f"; did you mean {', '.join('ns/' + n for n in near)}?" if near else ""
    raise UsageError(f"{spec}: no namespace {name} defined in the input{hint}")


def parse_changes(target: tuple[ChangeTarget, str], text: str) -> list[LabelChange]:
    """``key=value`` and ``key-`` items, comma-separated (a label value has no comma)."""
    out: list[LabelChange] = []
    for item in (t.strip() for t in text.split(",")):
        if item.endswith("-") and "=" not in item:
            key, value = item[:-1], None
        elif "=" in item:
            key, _, value = item.partition("=")
        else:
            raise UsageError(f"{item!r}: expected key=value (set) or key- (remove)")
        problem = label_key_problem(key) or (label_value_problem(value) if value is not None else None)
        if problem:
            raise UsageError(f"{item!r}: {problem}")
        if target[0] is ChangeTarget.NAMESPACE and key == NAME_LABEL and value != target[1]:
            raise UsageError(f"{item!r}: Kubernetes sets {NAME_LABEL} on every namespace to its name "
                             f"({target[1]}): it cannot be removed or changed")
        out.append(LabelChange(target[0], target[1], key, value))
    return out


def parse_relabel(cluster: Cluster, pairs: Sequence[tuple[str, str]],
                  namespace: str | None = None) -> tuple[LabelChange, ...]:
    """The changes of ``--relabel TARGET CHANGES`` options (``namespace``: -n, for workload names
    without one). Raises UsageError."""
    return tuple(c for spec, text in pairs for c in parse_changes(find_target(cluster, spec, namespace), text))


def _relabelled(labels: dict[str, str], changes: Sequence[LabelChange]) -> dict[str, str]:
    for c in changes:
        if c.value is None:
            labels.pop(c.key, None)
        else:
            labels[c.key] = c.value
    return labels


def apply_changes(cluster: Cluster, changes: Sequence[LabelChange]) -> None:
    """The label changes made in the model, before the analysis (pods of a workload whose labels
    differ are changed alike)."""
    for i, w in enumerate(cluster.workloads):
        mine = [c for c in changes if c.target is ChangeTarget.WORKLOAD and c.name == w.id]
        if mine:
            facts = tuple(replace(f, labels=tuple(sorted(_relabelled(dict(f.labels), mine).items())))
                          for f in w.pod_facts)
            cluster.workloads[i] = replace(w, labels=_relabelled(dict(w.labels), mine), pod_facts=facts)
    cluster._index = None  # the workloads changed: rebuild the index by id
    for name, ns in list(cluster.namespaces.items()):
        mine = [c for c in changes if c.target is ChangeTarget.NAMESPACE and c.name == name]
        if mine:
            cluster.namespaces[name] = Namespace(ns.name, _relabelled(dict(ns.labels), mine), ns.origin)


def simulate(analysis: Analysis, changes: Sequence[LabelChange], *,
             before: ConnectivityMap | None = None) -> Simulation:
    """What ``changes`` would change in what is allowed: the input analysed again with the labels
    changed in its model, under the same (resolved) profile, and compared with ``analysis``; and
    what the selectors that read the changed labels select before and after."""
    new = analyse_objects(list(analysis.objects), Diagnostics(), analysis.options,
                          adjust=lambda cluster: apply_changes(cluster, changes))
    result = diff(analysis, new, "as is", "; ".join(str(c) for c in changes), before=before)
    keys = {(Target.POD if c.target is ChangeTarget.WORKLOAD else Target.NAMESPACE, c.key) for c in changes}
    readers = {(u.ref.kind, u.ref.namespace, u.ref.name) for t, k, u in label_uses(analysis.cluster) if (t, k) in keys}
    selections = selection_changes(analysis, new, lambda ref: (ref.kind, ref.namespace, ref.name) in readers)
    return Simulation(tuple(changes), result, selections)


def _carrier_namespace(dep: LabelDependency, carrier: str) -> str:
    return carrier if dep.target is Target.NAMESPACE else carrier.partition("/")[0]


def label_dependencies(analysis: Analysis, *, relabel: Sequence[LabelChange] = (),
                       simulations: int | None = None, namespaces: Sequence[str] = ()) -> LabelsReport:
    """The labels the input's selectors read, and what removing each from each of its carriers
    would change (at most ``simulations`` removals, None: :func:`default_simulations`; the rest
    are named as not simulated), and with ``relabel`` what those changes together would change.
    ``namespaces`` (-n): only the labels an object of theirs reads or one of theirs (a workload, or
    the namespace itself) carries, and only the removals from their workloads and themselves."""
    deps = dependencies(analysis.cluster)
    focus = set(namespaces)
    if focus:
        deps = [d for d in deps if any(u.ref.namespace in focus for u in d.uses)
                or any(_carrier_namespace(d, c) in focus for c in d.carriers)]
    if simulations is None:
        simulations = default_simulations(analysis.cluster)
    report = LabelsReport(analysis.options.describe(), deps, [], simulations, namespaces=sorted(focus))
    started = time.perf_counter()
    before = connectivity_map(analysis) if (relabel or simulations > 0) else None
    index: dict[LabelChange, int] = {}
    for dep in deps:
        if dep.target not in (Target.POD, Target.NAMESPACE) or dep.key == NAME_LABEL:
            continue
        kind = ChangeTarget.WORKLOAD if dep.target is Target.POD else ChangeTarget.NAMESPACE
        for carrier in dep.carriers:
            if focus and _carrier_namespace(dep, carrier) not in focus:
                continue  # -n: a removal outside the focus is not asked
            change = LabelChange(kind, carrier, dep.key, None)
            if change not in index:
                if len(report.simulations) >= simulations:
                    dep.not_simulated.append(carrier)
                    report.skipped += 1
                    continue
                index[change] = len(report.simulations)
                report.simulations.append(simulate(analysis, (change,), before=before))
            dep.simulations.append(index[change])
    if relabel:
        report.relabel = simulate(analysis, relabel, before=before)
    report.seconds = time.perf_counter() - started
    return report


def labels_paths(paths: Sequence[str], *, options: Options | None = None, relabel: Sequence[tuple[str, str]] = (),
                 simulations: int | None = None) -> LabelsReport:
    """``kubeward labels PATH...`` as one call: ``relabel`` holds (TARGET, CHANGES) pairs as the
    command line gives them. Raises UsageError on a bad --relabel."""
    from .session import analyse_paths

    analysis = analyse_paths(paths, options)
    changes = parse_relabel(analysis.cluster, relabel)
    return label_dependencies(analysis, relabel=changes, simulations=simulations)
