"""`kubeward flows`: every distinct observed flow against the configuration (issue 14) — the
verdict Hubble saw, kubeward's verdict with the rule that decides it, and whether they agree;
drops by reason and rule, disagreements with the possible causes, and how many flows each rule
of the input decided."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ..engine.engine import Engine
from ..engine.trace import Effect, Layer, Reason, Step
from ..errors import UsageError
from ..flows.read import DistinctFlow, Endpoint, FlowRead, read_flows
from ..ir import PROTOCOLS
from .explain import Explanation, explain
from .flow_place import Placement, Placer
from .session import Analysis

# flow.proto DropReason values that are policy verdicts (CIL-30); any other drop reason is not.
POLICY_DROP_REASONS = frozenset({"POLICY_DENIED", "POLICY_DENY", "AUTH_REQUIRED"})
_OBSERVED_ALLOW = frozenset({"FORWARDED", "REDIRECTED"})

RuleKey = tuple[str, str, str, str, int | None]  # kind, namespace, name, direction, rule (None: the tier's end)


@dataclass(frozen=True, slots=True)
class Decider:
    """The rule behind a verdict: a policy's rule, the default deny of an isolating policy (rule
    None), or no policy at all (Kubernetes' default allow, not a pod)."""

    step: Step

    @property
    def key(self) -> RuleKey | None:
        p = self.step.policy
        if p is None:
            return None
        return (p.kind, p.namespace, p.name, self.step.direction.value, self.step.rule)

    @property
    def phrase(self) -> str:
        s, p = self.step, self.step.policy
        if p is None:
            return {Reason.DEFAULT_ALLOW: "default allow (no policy isolates)", Reason.NOT_ISOLATED: "not isolated",
                    Reason.NOT_A_POD: "no policy applies (not a pod)"}.get(s.reason, f"{s.tier} ({s.reason})")
        name = f"{p.kind} {p.namespace + '/' if p.namespace else ''}{p.name}"
        if s.reason is Reason.NO_RULE_MATCHED:
            return f"default deny of {name}"
        if s.reason is Reason.L7_DENIED:
            return f"HTTP rules of {name} (403 from the proxy)"
        rule = f" {s.direction.value} rule {s.rule}" if s.rule is not None else ""
        return f"{name}{rule}"

    def to_json(self) -> dict[str, object]:
        s, p = self.step, self.step.policy
        out: dict[str, object] = {"phrase": self.phrase, "layer": str(s.layer), "reason": s.reason.value,
                                  "direction": s.direction.value}
        if p is not None:
            out.update(kind=p.kind, namespace=p.namespace, name=p.name, rule=s.rule, file=p.file,
                       line=s.line or p.line)
        return out


@dataclass(slots=True)
class FlowResult:
    flow: DistinctFlow
    source: Placement
    destination: Placement
    observed: str                 # allow / deny
    computed: str                 # allow / deny
    decided: Decider | None
    steps: list[Step]
    hits: tuple[RuleKey, ...]     # the rules that decided it (both sides of an allow)
    causes: tuple[str, ...] = ()  # for a disagreement: what it could be

    @property
    def agree(self) -> bool:
        return self.observed == self.computed

    def to_json(self, trace: bool) -> dict[str, object]:
        k = self.flow.key
        out: dict[str, object] = {
            "source": {"observed": k.source.display, "peer": self.source.peer, "placedBy": self.source.how},
            "destination": {"observed": k.destination.display, "peer": self.destination.peer,
                            "placedBy": self.destination.how},
            "protocol": k.protocol, "port": k.port,
            "count": self.flow.count, "first": self.flow.first, "last": self.flow.last, "where": self.flow.where,
            "verdict": k.verdict, "dropReason": k.drop_reason or None,
            "observed": self.observed, "computed": self.computed, "agree": self.agree,
            "decidedBy": self.decided.to_json() if self.decided else None,
        }
        if k.method:
            out["http"] = {"method": k.method, "path": k.path, "host": k.host}
        if k.dns:
            out["dns"] = k.dns
        if k.names:
            out["destinationNames"] = list(k.names)
        if k.policies:
            out["hubblePolicies"] = list(k.policies)
        if not self.agree:
            out["causes"] = list(self.causes)
        if trace:
            out["trace"] = [s.to_json() for s in self.steps]
        return out


@dataclass(slots=True)
class Apart:
    """Observed flows not compared with the configuration, and why."""

    reason: str
    flow: DistinctFlow
    detail: str = ""

    def to_json(self) -> dict[str, object]:
        k = self.flow.key
        return {"reason": self.reason, "detail": self.detail, "source": k.source.display,
                "destination": k.destination.display, "protocol": k.protocol, "port": k.port,
                "verdict": k.verdict, "dropReason": k.drop_reason or None, "count": self.flow.count,
                "where": self.flow.where}


@dataclass(slots=True)
class FlowsReport:
    read: FlowRead
    options: list[str]
    results: list[FlowResult] = field(default_factory=list)
    apart: list[Apart] = field(default_factory=list)
    rules: dict[RuleKey, tuple[str, int]] = field(default_factory=dict)  # every rule: (file:line, index)
    hits: Counter[RuleKey] = field(default_factory=Counter)               # flows (records) per rule
    distinct_hits: Counter[RuleKey] = field(default_factory=Counter)
    tier_ends: dict[RuleKey, str] = field(default_factory=dict)           # default denies that decided: file:line
    namespaces: list[str] = field(default_factory=list)  # -n: cut to the flows with an end in these (focus.py)

    @property
    def disagreements(self) -> list[FlowResult]:
        return [r for r in self.results if not r.agree]

    @property
    def unused_rules(self) -> list[RuleKey]:
        return [k for k in self.rules if not self.hits[k]]

    def drops(self) -> list[tuple[str, str, str, int, int]]:
        """Observed drops: (namespace, drop reason, deciding rule, distinct flows, records), most first."""
        rows: Counter[tuple[str, str, str]] = Counter()
        distinct: Counter[tuple[str, str, str]] = Counter()
        for r in self.results:
            if r.observed == "deny":
                k = r.flow.key
                ns = k.destination.namespace or k.source.namespace or "-"
                row = (ns, k.drop_reason or k.verdict, r.decided.phrase if r.decided else "-")
                rows[row] += r.flow.count
                distinct[row] += 1
        for a in self.apart:
            if a.reason == "not-a-policy-drop":
                k = a.flow.key
                row = (k.destination.namespace or k.source.namespace or "-", k.drop_reason or k.verdict,
                       "(not a policy verdict)")
                rows[row] += a.flow.count
                distinct[row] += 1
        return sorted(((*row, distinct[row], n) for row, n in rows.items()), key=lambda t: (t[0], -t[4], t[1], t[2]))

    def summary(self) -> dict[str, object]:
        apart = Counter(a.reason for a in self.apart)
        return {
            "records": self.read.lines, "distinct": len(self.read.flows), "badLines": self.read.bad_lines,
            "otherRecords": self.read.other_records, "compared": len(self.results),
            "agree": sum(1 for r in self.results if r.agree), "disagree": len(self.disagreements),
            "observedAllowedConfigDenies": sum(1 for r in self.disagreements if r.observed == "allow"),
            "observedDroppedConfigAllows": sum(1 for r in self.disagreements if r.observed == "deny"),
            "replies": apart["reply"], "nonPolicyDrops": apart["not-a-policy-drop"],
            "unplaced": apart["unplaced"], "notModelled": apart["not-modelled"],
            "rules": len(self.rules), "rulesUnused": len(self.unused_rules),
            **({"namespaces": self.namespaces} if self.namespaces else {}),
        }

    @property
    def exit_code(self) -> int:
        return 1 if self.disagreements else 0

    def rule_json(self, key: RuleKey) -> dict[str, object]:
        where = self.rules[key][0] if key in self.rules else self.tier_ends.get(key, "")
        return {"kind": key[0], "namespace": key[1], "name": key[2], "direction": key[3], "rule": key[4],
                "where": where, "flows": self.hits[key], "distinct": self.distinct_hits[key]}

    def to_json(self) -> dict[str, object]:
        used = sorted(set(self.hits) | set(self.rules), key=_rule_order)
        return {
            "schema": 1,
            "options": self.options,
            "summary": self.summary(),
            "flows": [r.to_json(trace=not r.agree) for r in self.results],
            "drops": [{"namespace": ns, "dropReason": reason, "decidedBy": rule, "distinct": d, "flows": n}
                      for ns, reason, rule, d, n in self.drops()],
            "rules": [self.rule_json(k) for k in used],
            "unusedRules": [self.rule_json(k) for k in self.unused_rules],
            "apart": [a.to_json() for a in self.apart],
            "diagnostics": [d.to_json() for d in self.read.diagnostics.sorted()],
        }


def _rule_order(key: RuleKey) -> tuple[str, str, str, str, int]:
    return (key[1], key[0], key[2], key[3], -1 if key[4] is None else key[4])


def observed_domains(read: FlowRead) -> list[str]:
    """The DNS names the flows' destinations answered for: to place in the universe as it is built."""
    return sorted({n for f in read.flows for n in f.key.names})


def observed_verdict(flow: DistinctFlow) -> tuple[str, str]:
    """allow / deny, or "" and why the record is not a policy verdict (CIL-30)."""
    k = flow.key
    if k.reply:
        return "", "reply"
    if k.verdict in _OBSERVED_ALLOW:
        return "allow", ""
    if k.verdict == "AUDIT":  # policy audit mode: forwarded, but the policy would have dropped it
        return "deny", ""
    if k.verdict == "DROPPED":
        if k.drop_reason in POLICY_DROP_REASONS or (not k.drop_reason and k.method):
            return "deny", ""  # no reason on an HTTP record: Cilium's proxy refused the request
        return "", "not-a-policy-drop"
    return "", "not-modelled"


def drift_causes(result_steps: list[Step], decided: Decider | None, observed: str, dst_how: str) -> tuple[str, ...]:
    """What can make Hubble and the configuration disagree, most likely first."""
    layer = decided.step.layer if decided else None
    if observed == "allow":
        causes = []
        if layer is Layer.MESH:
            causes.append("the mesh decides above the network: Hubble sees the connection forwarded, the sidecar "
                          "then refuses the request (Istio's verdict is not in Hubble's flows)")
        if decided is not None and decided.step.reason is Reason.L7_DENIED:
            causes.append("an L4 record of a connection whose requests the HTTP proxy refuses: look for the L7 "
                          "records (403) of the same flow")
        causes += ["the cluster runs other policies than the input (compare with --cluster, or kubeward diff)",
                   "policy enforcement is off or in audit mode on the node (Cilium policy-audit-mode, "
                   "enable-policy=never)",
                   "the endpoint's labels or identity differed when the flow was seen"]
        return tuple(causes)
    causes = ["the cluster runs policies the input does not have (a CiliumClusterwideNetworkPolicy, a "
              "policy of another namespace)",
              "the profile differs from the cluster's CNI (--cni)"]
    if dst_how == "dns" or any(s.reason is Reason.FQDN_INEFFECTIVE for s in result_steps):
        causes.insert(0, "toFQDNs: the address was not (yet) learnt from a DNS answer through Cilium's DNS proxy "
                         "(CIL-21)")
    causes.append("the endpoint's labels or identity differed when the flow was seen")
    return tuple(causes)


def _decider(ex: Explanation) -> tuple[Decider | None, tuple[RuleKey, ...]]:
    steps = ex.verdict.steps
    if not ex.allowed:
        deny = next((s for s in steps if s.effect is Effect.DENY), None)
        decided = Decider(deny) if deny is not None else None
        return decided, (decided.key,) if decided and decided.key else ()
    allows = [s for s in steps if s.effect is Effect.ALLOW]
    with_policy = [s for s in allows if s.policy is not None]
    shown = with_policy[-1] if with_policy else (allows[-1] if allows else None)
    hits = tuple(k for s in with_policy if (k := Decider(s).key) is not None)
    return (Decider(shown) if shown else None), hits


def with_domains(analysis: Analysis, read: FlowRead) -> Analysis:
    """``analysis`` with the DNS names the flows reached in its universe (bound once, not per flow)."""
    names = sorted({*observed_domains(read), *(f.key.destination.peer for f in read.flows
                                               if f.key.destination.placed_by == "dns")})
    if all(analysis.engine.universe.domain(n) is not None for n in names):
        return analysis
    return Analysis(analysis.objects, analysis.cluster, Engine(analysis.cluster, analysis.options, names))


def read_placed(analysis: Analysis, paths: Iterable[str], progress: Callable[[int], None] | None = None,
                ) -> tuple[FlowRead, Placer]:
    """The flows of ``paths`` deduplicated by the peers of ``analysis`` as they are read: what
    ``flows``, and the commands after it, start from."""
    placer = Placer(analysis)
    return read_flows(paths, progress, placer.endpoint), placer


def read_placed_sides(old: Analysis, new: Analysis, paths: Iterable[str],
                      progress: Callable[[int], None] | None = None) -> tuple[FlowRead, Placer, Placer]:
    """The flows of ``paths`` for comparing two analyses (``diff --flows``): an end both place at
    the same peer is collapsed to it as it is read; an end they place differently (a workload on
    one side only, a pod regrouped) stays as Hubble named it, for each side to place."""
    old_placer, new_placer = Placer(old), Placer(new)

    def place(end: Endpoint, names: tuple[str, ...] = ()) -> Endpoint:
        before = old_placer.place(end, names)
        if before.peer and before == new_placer.place(end, names):
            return old_placer.endpoint(end, names)
        return end

    return read_flows(paths, progress, place), old_placer, new_placer


def compare_flows(analysis: Analysis, read: FlowRead, placer: Placer | None = None,
                  ) -> Iterator[FlowResult | Apart]:
    """Every distinct flow of ``read`` (in its order) against ``analysis`` (with the flows' DNS
    names, ``with_domains``): its ``FlowResult``, or ``Apart`` and why it was not compared.
    Questions are explained once, whatever the number of flows asking them."""
    placer = placer or Placer(analysis)
    cache: dict[tuple[str, str, str, int | None, str, str, str], tuple[Explanation | None, str]] = {}
    for flow in read.flows:
        observed, apart = observed_verdict(flow)
        if apart:
            yield Apart(apart, flow)
            continue
        k = flow.key
        if k.protocol not in PROTOCOLS or k.port is None:
            yield Apart("not-modelled", flow, f"{k.protocol or 'no L4'}: kubeward models TCP, UDP and SCTP ports")
            continue
        src, dst = placer.place(k.source), placer.place(k.destination, k.names)
        if not src.peer or not dst.peer:
            yield Apart("unplaced", flow, src.reason or dst.reason)
            continue
        ckey = (src.peer, dst.peer, k.protocol, k.port, k.method, k.path, k.host)
        cached = cache.get(ckey)
        if cached is None:
            try:
                cached = (explain(analysis, src.peer, dst.peer, k.port, k.protocol, method=k.method or None,
                                  path=k.path or None, host=k.host or None), "")
            except UsageError as exc:
                cached = (None, str(exc))
            cache[ckey] = cached
        ex, problem = cached
        if ex is None:
            yield Apart("unplaced", flow, problem)
            continue
        decided, hits = _decider(ex)
        result = FlowResult(flow, src, dst, observed, "allow" if ex.allowed else "deny", decided,
                            ex.verdict.steps, hits)
        if not result.agree:
            result.causes = drift_causes(ex.verdict.steps, decided, observed, dst.how)
        yield result


def flows_report(analysis: Analysis, read: FlowRead, placer: Placer | None = None) -> FlowsReport:
    """Compare every distinct flow of ``read`` with ``analysis``."""
    analysis = with_domains(analysis, read)
    report = FlowsReport(read, analysis.options.describe())
    enforced = analysis.options.enforced_kinds
    for policy in analysis.cluster.policies:
        p = policy.ref
        if p.kind not in enforced or policy.rejected:  # not in force under this profile: no flow can use it
            continue
        for rule in (*policy.ingress, *policy.egress):
            key = (p.kind, p.namespace, p.name, rule.direction.value, rule.index)
            report.rules[key] = (f"{p.file}:{rule.line or p.line}", rule.index)
    for result in compare_flows(analysis, read, placer):
        if isinstance(result, Apart):
            report.apart.append(result)
            continue
        decided = result.decided
        if decided is not None and decided.key is not None and decided.key[4] is None:
            report.tier_ends.setdefault(decided.key, decided.step.where)
        for h in result.hits:
            report.hits[h] += result.flow.count
            report.distinct_hits[h] += 1
        report.results.append(result)
    return report
