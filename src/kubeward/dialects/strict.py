"""Strict reading: what the analysis does with the problems the upstream schema
(:mod:`.schema`) and the API server's format rules find in an object.

Every problem is an error at its file:line, in the API server's words (an unknown field: kubectl's
strict field validation rejects the object, other clients prune the field, with "did you mean").
Then, so that a malformed part never widens an allow-list and never narrows a deny
(docs/semantics.md, NP-29):

- a problem inside an *allow* rule of a policy (or inside a list of allow rules) makes that rule
  allow nothing; the rest of the policy stays enforced, its isolation included;
- any other problem in a policy — inside a deny (or pass) rule, the subject, the spec, metadata,
  an action — makes the whole policy rejected: not enforced, and every trace it would have
  touched says so;
- a fatal problem in any other object (workload, Service, Ingress, route …) leaves the object
  out of the model, as the API server never creates it (NP-28); an unknown field in one is read
  as pruned (the object without the field), as the API server stores it for a client that does
  not ask for strict field validation.

Which parts of a kind are allow rules is :data:`.rule_sites.RULE_LAYOUTS`. ``build_cluster``
(``dialects/__init__.py``) reads every modelled object with :func:`read_strictly` before its
dialect builds it, leaves out what the API server never creates, and applies the reading to the
policies the dialect built (:func:`apply_to_policies`, :func:`apply_to_mesh`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum

from ..diagnostics import Diagnostics, Leans, Severity
from ..ir import Policy
from ..loader import LList, LMap, RawObject
from ..model import AuthorizationPolicy, PeerAuthentication
from ._reader import ref_of
from .rule_sites import RULE_LAYOUTS, RuleSite, allow_nothing, mesh_rules_match_nothing, rule_site, value_at
from .schema import Problem, SchemaProblem, check_object
from .validation import port_name_problem

__all__ = ["Outcome", "RuleSite", "StrictReading", "read_strictly"]


class Outcome(StrEnum):
    """What the analysis does with one problem."""

    RULE_ALLOWS_NOTHING = "rule-allows-nothing"  # inside an allow rule: the rule allows nothing (NP-29)
    POLICY_REJECTED = "policy-rejected"          # elsewhere in a policy: the policy is not enforced (NP-29)
    LEFT_OUT = "left-out"                        # a fatal problem of another object: not created (NP-28)
    PRUNED = "pruned"                            # an unknown field of another object: read without it


# --- format rules the schema cannot say --------------------------------------------------------

_POD_SPECS = {"Pod": "spec", "Deployment": "spec.template.spec", "ReplicaSet": "spec.template.spec",
              "StatefulSet": "spec.template.spec", "DaemonSet": "spec.template.spec",
              "ReplicationController": "spec.template.spec", "Job": "spec.template.spec",
              "CronJob": "spec.jobTemplate.spec.template.spec"}


def _items(data: LMap, path: str) -> Iterator[tuple[str, LMap]]:
    items = value_at(data, path)
    if isinstance(items, LList):
        for i, item in enumerate(items):
            if isinstance(item, LMap):
                yield f"{path}[{i}]", item


def _port_names(obj: RawObject) -> Iterator[tuple[str, LMap, str]]:
    """Every (path, parent, key) of ``obj`` where a string must be a port name (IANA_SVC_NAME)."""
    if obj.group == "networking.k8s.io" and obj.kind == "NetworkPolicy":
        for section in ("spec.ingress", "spec.egress"):
            for rule_path, _ in _items(obj.data, section):
                for port_path, port in _items(obj.data, f"{rule_path}.ports"):
                    yield port_path, port, "port"  # NP-30: a quoted number is a port name
    elif obj.group == "" and obj.kind == "Service":
        for port_path, port in _items(obj.data, "spec.ports"):
            yield port_path, port, "targetPort"  # SVC-8: likewise a Service's targetPort
    elif obj.kind in _POD_SPECS and obj.group in ("", "apps", "batch"):
        for key in ("initContainers", "containers"):
            for container_path, _ in _items(obj.data, f"{_POD_SPECS[obj.kind]}.{key}"):
                for port_path, port in _items(obj.data, f"{container_path}.ports"):
                    yield port_path, port, "name"


def format_problems(obj: RawObject) -> list[SchemaProblem]:
    """What the API server's validation code refuses and the schema cannot say: port names."""
    found: list[SchemaProblem] = []
    for path, parent, key in _port_names(obj):
        value = parent.get(key)
        if not isinstance(value, str) or value == "":
            continue
        problem = port_name_problem(value)
        if problem is not None:
            where = f"{path}.{key}"
            found.append(SchemaProblem(where, parent.line_of(key), Problem.FORMAT,
                                       f"{where}: Invalid value: {_quoted(value)}: {problem}", True))
    return found


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- fields a newer release removed ------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Removed:
    """A field the schema's release refuses but older releases, still served, read."""

    group: str
    path: re.Pattern[str]
    note: str


_REMOVED = (
    # CIL-28: Cilium 1.19 keeps fromRequires/toRequires in its CRD only to refuse them.
    _Removed("cilium.io", re.compile(r"(spec|specs\[\d+\])\.(ingress|ingressDeny)\[\d+\]\.fromRequires(?=$|\[)"
                                     r"|(spec|specs\[\d+\])\.(egress|egressDeny)\[\d+\]\.toRequires(?=$|\[)"),
             "removed in Cilium 1.19, whose CRD refuses any entry; Cilium 1.18 and earlier enforce it, and "
             "kubeward reads it as they do (CIL-28)"),
)


def _removed(obj: RawObject, problem: SchemaProblem) -> tuple[str, str] | None:
    """(the removed field's path, the note) when ``problem`` is only that a newer release removed it."""
    for removed in _REMOVED:
        found = removed.path.match(problem.path)
        if obj.group == removed.group and found is not None:
            return found.group(0), removed.note
    return None


# --- the reading of one object ------------------------------------------------------------------

@dataclass(slots=True)
class StrictReading:
    """The problems of one object and what the analysis does with them."""

    obj: RawObject
    problems: list[SchemaProblem]
    policy: bool  # a policy kind (RULE_LAYOUTS)
    sites: dict[int, RuleSite] = field(default_factory=dict)  # index into problems → the allow rule it is in
    removed: dict[str, tuple[int, str]] = field(default_factory=dict)  # a field newer releases refuse: line, note

    @property
    def left_out(self) -> bool:
        """A fatal problem of an object that is not a policy: the API server never creates it."""
        return not self.policy and any(p.fatal for p in self.problems)

    def outcome(self, index: int) -> Outcome:
        problem = self.problems[index]
        if not self.policy:
            return Outcome.LEFT_OUT if self.left_out or problem.fatal else Outcome.PRUNED
        return Outcome.RULE_ALLOWS_NOTHING if index in self.sites else Outcome.POLICY_REJECTED

    @property
    def broken_rules(self) -> dict[str, str]:
        """Each allow rule (or list of allow rules) read as allowing nothing, and why."""
        out: dict[str, list[str]] = {}
        for index, site in self.sites.items():
            out.setdefault(site.path, []).append(_summary(self.problems[index]))
        return {path: f"{path} allows nothing: {'; '.join(why)}" for path, why in out.items()}

    @property
    def rejected(self) -> str:
        """Why the policy is read as rejected ('' when it is not)."""
        if not self.policy:
            return ""
        reasons = [_rejection(p) for i, p in enumerate(self.problems) if i not in self.sites]
        return "; ".join(dict.fromkeys(reasons))

    def report(self, diags: Diagnostics, rejected_anyway: bool = False, first: int | None = None) -> None:
        """One error per problem, with what the analysis does with it. ``rejected_anyway``: the
        dialect's own checks reject the policy (then no rule is said to allow nothing). ``first``:
        where the dialect's diagnostics of this object begin in ``diags``: one problem is said
        once, so at a line both found a problem on, the dialect's rejection (which names its rule)
        stands if it rejected the policy; otherwise this reading's error replaces the dialect's,
        keeping its code (``invalid-type``, ``invalid-cidr`` …; else ``schema-invalid``)."""
        for path, (line, note) in self.removed.items():
            diags.warning("removed-field", f"{path}: {note}", self.obj.file, line, ref_of(self.obj), Leans.EITHER)
        said, codes = self._settle(diags, first, rejected_anyway)
        rejected = rejected_anyway or bool(self.rejected)
        for index, problem in enumerate(self.problems):
            if problem.line in said:
                continue
            then, leans = self._consequence(index, rejected)
            code = ("unknown-field" if problem.problem is Problem.UNKNOWN_FIELD
                    else codes.get(problem.line, "schema-invalid"))
            diags.error(code, problem.message + _hint(problem) + then, self.obj.file, problem.line, ref_of(self.obj),
                        leans)

    def _consequence(self, index: int, rejected: bool) -> tuple[str, Leans | None]:
        """What the analysis does with problem ``index``, in words, and which way the cluster may differ."""
        problem, kind = self.problems[index], self.obj.kind
        outcome = self.outcome(index)
        if outcome is Outcome.RULE_ALLOWS_NOTHING and not rejected:
            # NP-29: whether the cluster rejects the object or prunes the field, it allows more.
            return (f"; kubeward reads {self.sites[index].path} as allowing nothing (a malformed allow rule never "
                    "allows more)"), Leans.MAY_ALLOW_MORE
        if outcome in (Outcome.RULE_ALLOWS_NOTHING, Outcome.POLICY_REJECTED):
            if problem.fatal:
                return f"; the API server rejects this {kind}: it is not enforced", None
            return f"; kubeward reads as rejected the {kind}: it is not enforced", Leans.EITHER
        if outcome is Outcome.LEFT_OUT:
            return (f"; the API server rejects this {kind}: it never exists in the cluster, so kubeward leaves it "
                    "out"), None
        return "; kubeward reads the object without it", Leans.EITHER

    def _settle(self, diags: Diagnostics, first: int | None, rejected_anyway: bool) -> tuple[set[int], dict[int, str]]:
        """The lines the dialect's diagnostics keep (when it rejected the policy); otherwise drop
        the dialect's errors and unknown-field warnings at the lines this reading reports, and
        say the code of the dialect's first error at each."""
        if first is None or not self.problems:
            return set(), {}
        lines = {p.line for p in self.problems}
        mine = [(i, d) for i, d in enumerate(diags.items[first:], first) if d.file == self.obj.file and
                d.line in lines and (d.severity is Severity.ERROR or d.code == "unknown-field")]
        if rejected_anyway:
            for i, d in mine:  # the dialect's words stand, with the schema's "did you mean" after the problem
                hints = "".join(dict.fromkeys(_hint(p) for p in self.problems if p.line == d.line))
                if hints and d.severity is Severity.ERROR:
                    problem, sep, then = d.message.partition("; ")
                    diags.items[i] = replace(d, message=problem + hints + sep + then)
            return {d.line for _, d in mine if d.severity is Severity.ERROR}, {}
        codes: dict[int, str] = {}
        for _, d in mine:
            if d.severity is Severity.ERROR and d.code != "unknown-field":
                codes.setdefault(d.line, d.code)
        for i, _ in reversed(mine):
            del diags.items[i]
        return set(), codes


def _hint(problem: SchemaProblem) -> str:
    """'; did you mean "DENY"?' for a value outside an enum with a close choice ('' otherwise: an
    unknown field's message says it already)."""
    if problem.problem is Problem.ENUM and problem.suggestion:
        return f'; did you mean "{problem.suggestion}"?'
    return ""


def _summary(problem: SchemaProblem) -> str:
    if problem.problem is Problem.UNKNOWN_FIELD:
        hint = f' (did you mean "{problem.suggestion}"?)' if problem.suggestion else ""
        return f'unknown field "{problem.path}"{hint}'
    return problem.message


def _rejection(problem: SchemaProblem) -> str:
    if problem.problem is Problem.UNKNOWN_FIELD:
        return f"kubectl's strict field validation refuses the {_summary(problem)}"
    return f"the API server refuses {problem.message}"


def read_strictly(obj: RawObject) -> StrictReading:
    """The problems of ``obj`` — its schema's and the format rules' — and where each lies.
    ``status`` is left out: it is what the cluster reports, never what a client creates."""
    problems: list[SchemaProblem] = []
    removed: dict[str, tuple[int, str]] = {}
    for problem in (*check_object(obj), *format_problems(obj)):
        if problem.path == "status" or problem.path.startswith(("status.", "status[")):
            continue
        if (gone := _removed(obj, problem)) is not None:
            path, note = gone
            removed.setdefault(path, (problem.line, note))
            continue
        problems.append(problem)
    problems.sort(key=lambda p: (p.line, p.path))
    policy = (obj.group, obj.kind) in RULE_LAYOUTS
    reading = StrictReading(obj, problems, policy, removed=removed)
    if policy:
        for index, problem in enumerate(problems):
            site = rule_site(obj, problem.path)
            if site is not None:
                reading.sites[index] = site
    return reading


# --- applying it to what a dialect built ------------------------------------------------------

def apply_to_policies(policies: Iterable[Policy], reading: StrictReading) -> list[Policy]:
    """The policies a dialect built from ``reading.obj``, read strictly."""
    out: list[Policy] = []
    rejected = reading.rejected
    broken = reading.broken_rules
    for policy in policies:
        if rejected:
            policy = replace(policy, rejected="; ".join(r for r in (policy.rejected, rejected) if r))
        elif not policy.rejected:
            policy = allow_nothing(policy, broken)
        out.append(policy)
    return out


def apply_to_mesh(policy: AuthorizationPolicy | PeerAuthentication,
                  reading: StrictReading) -> AuthorizationPolicy | PeerAuthentication:
    """An Istio policy read strictly: rejected, or its malformed ALLOW rules matching nothing (IST-27)."""
    rejected = reading.rejected
    if rejected:
        return replace(policy, rejected="; ".join(r for r in (policy.rejected, rejected) if r))
    if policy.rejected or not isinstance(policy, AuthorizationPolicy):
        return policy
    return mesh_rules_match_nothing(policy, reading.broken_rules)
