"""The CNI tier pipeline for one side of a connection, as data, and the one evaluator that walks it.

A side (one subject, one direction) is an ordered list of :class:`PolicyTier` objects that the
engine builds from the IR: Cilium's deny rules, the admin tier, the NetworkPolicy tier, the
baseline tier and the default (ANP-1, CIL-23, NP-3 … NP-5), or an ordered list of named tiers
ending in the namespace profile (CAL-8 … CAL-14). Each tier says how its rules match (first match
decides, or a union of allows under isolation) and what it does with what none of its rules
decided (go on, pass, deny, allow). :func:`evaluate_side` walks any such list on port *sets*: the
connectivity map calls it without a trace, ``explain`` with a trace and a one-port probe, ``diff``
with an origin list. The kernel replay compiles the same list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from ..ir import Action, Direction, NamedPort, PolicyRef, PortMatch, PortRange, Rule, TierEnd
from ..model import ContainerPort
from .portset import ALL, EMPTY, PortSet
from .trace import Effect, Layer, Reason, Step, StepTier


class Matching(StrEnum):
    """How the rules of a tier decide."""

    FIRST_MATCH = "first-match"  # rules in order; the first that matches a port decides it (ANP-2, CAL-8)
    UNION = "union"              # isolation: every matching allow rule adds up, the rest is denied (NP-4)


@dataclass(frozen=True, slots=True)
class PolicyTier:
    """One tier of a side's pipeline: its rules in evaluation order and what happens at its end.

    ``policies``: for a union tier, the policies that isolate the subject (none: the tier does not
    isolate and decides nothing); for a named tier, the policies of the tier that apply. A named
    tier (``name`` set) sits in an ordered list of tiers (CAL-10): its trace says where each rule
    sits (tier order, policy order) and speaks in the policies' own action names."""

    kind: StepTier
    matching: Matching
    end: TierEnd
    rules: tuple[Rule, ...] = ()
    policies: tuple[PolicyRef, ...] = ()
    title: str = ""                      # how a trace names the tier ("NetworkPolicy", "baseline")
    name: str = ""                       # a named tier's name
    order: float = float("inf")          # a named tier's order among the tiers (inf: unset)
    rule_orders: tuple[float, ...] = ()  # each rule's policy order in a named tier (inf: unset)
    cite_rule: str = ""                  # the rule ids a matching rule's step cites
    cite_end: str = ""                   # the rule ids the tier's end step cites


@dataclass(frozen=True, slots=True)
class SideNote:
    """A fact about a side that every trace through it states (e.g. a policy the API server
    rejects, an FQDN rule without DNS visibility)."""

    reason: Reason
    message: str


@dataclass(frozen=True, slots=True)
class SideRules:
    """Everything that decides one direction for one subject: its tiers in evaluation order.
    No tier: nothing restricts the side, everything is allowed (NP-3)."""

    direction: Direction
    tiers: tuple[PolicyTier, ...] = ()
    notes: tuple[SideNote, ...] = ()
    host_network: bool = False
    inert: str = ""  # the CNI enforces nothing: its name
    audit: bool = False  # CIL-31: Cilium's policy audit mode: what the policies deny is allowed (and logged)

    @property
    def all_rules(self) -> tuple[Rule, ...]:
        return tuple(r for t in self.tiers for r in t.rules)

    @property
    def open(self) -> bool:
        """Nothing can restrict this side: everything is allowed."""
        return not self.tiers

    @property
    def isolating(self) -> tuple[PolicyRef, ...]:
        """The policies that isolate the subject (NP-3, CIL-1)."""
        return tuple(p for t in self.tiers if t.matching is Matching.UNION for p in t.policies)

    @property
    def np_rules(self) -> tuple[Rule, ...]:
        """The allow rules of every union-tier policy selecting the subject (NP-4, CIL-24)."""
        return tuple(r for t in self.tiers if t.matching is Matching.UNION for r in t.rules)

    @property
    def named_tiers(self) -> tuple[PolicyTier, ...]:
        return tuple(t for t in self.tiers if t.name)

    def rules_in(self, kind: StepTier) -> tuple[Rule, ...]:
        return tuple(r for t in self.tiers if t.kind is kind for r in t.rules)


OPEN_INGRESS = SideRules(Direction.INGRESS)
OPEN_EGRESS = SideRules(Direction.EGRESS)


@dataclass(frozen=True, slots=True)
class Origin:
    """What decided some ports of a side: a rule, or (at a tier's end) the first policy of the
    tier. ``effect`` is ALLOW or DENY."""

    effect: Effect
    policy: PolicyRef
    direction: Direction
    rule: int | None = None
    section: str = ""
    line: int = 0

    @property
    def where(self) -> str:
        return f"{self.policy.file}:{self.line or self.policy.line}"

    def describe(self) -> str:
        """``allowed by NetworkPolicy shop/x ingress rule 0 (file:line)``."""
        rule = f" {self.section or self.direction.value} rule {self.rule}" if self.rule is not None else ""
        verb = "allowed" if self.effect is Effect.ALLOW else "denied"
        return f"{verb} by {self.policy.display}{rule} ({self.where})"


Attribution = tuple[tuple[Origin, PortSet], ...]  # in evaluation order

Resolver = Callable[[tuple[PortMatch, ...] | None], PortSet]


def resolve_ports(ports: tuple[PortMatch, ...] | None, dest_ports: tuple[ContainerPort, ...] | None) -> PortSet:
    """The ports a rule names, for one destination. Named ports are looked up in the
    destination pod's container ports (NP-22); a destination that is not a pod has none."""
    if ports is None:
        return ALL
    items: list[tuple[str, int, int]] = []
    for p in ports:
        if isinstance(p, PortRange):
            items.append((p.protocol, p.first, p.last))
        elif isinstance(p, NamedPort) and dest_ports:
            for cp in dest_ports:
                if cp.name == p.name and (p.protocol is None or cp.protocol == p.protocol):
                    items.append((cp.protocol, cp.port, cp.port))
    return PortSet.from_ranges(items) if items else EMPTY


def uses_named_ports(rules: tuple[Rule, ...]) -> bool:
    return any(r.ports and any(isinstance(p, NamedPort) for p in r.ports) for r in rules)


def rule_origin(rule: Rule, effect: Effect, line: int = 0) -> Origin:
    return Origin(effect, rule.policy, rule.direction, rule.index, rule.section, line or rule.line)


def evaluate_side(side: SideRules, matched: Callable[[Rule], bool], resolve: Resolver,
                  probe: PortSet = ALL, trace: list[Step] | None = None, subject: str = "",
                  peer: str = "", origins: list[tuple[Origin, PortSet]] | None = None) -> PortSet:
    """The part of ``probe`` this side allows. With ``trace``, every step is recorded; with
    ``origins``, the rules that allowed or denied each part."""
    d = side.direction
    if side.host_network:
        if trace is not None:
            trace.append(Step(Layer.CNI, d, subject, StepTier.NONE, Reason.HOST_NETWORK, Effect.ALLOW,
                              f"{subject} runs with hostNetwork: policies never select it (NP-25)"))
        return probe
    if side.inert:
        if trace is not None:
            trace.append(Step(Layer.CNI, d, subject, StepTier.NONE, Reason.CNI_INERT, Effect.ALLOW,
                              f"--cni {side.inert} enforces no network policy: allowed"))
        return probe
    if trace is not None:
        trace.extend(Step(Layer.CNI, d, subject, StepTier.NETWORK_POLICY, n.reason, Effect.NONE, n.message)
                     for n in side.notes)
    if side.open:
        if trace is not None:
            trace.append(Step(Layer.CNI, d, subject, StepTier.DEFAULT, Reason.NOT_ISOLATED, Effect.ALLOW,
                              f"no policy selects {subject} for {d.value}: allowed by default (NP-3)"))
        return probe
    first = len(trace) if trace is not None else 0
    walk = _Walk(side, matched, resolve, probe, trace, subject, peer, origins)
    allowed = EMPTY
    onward = probe
    for i, tier in enumerate(side.tiers):
        if not onward:
            break
        if tier.matching is Matching.UNION:
            got, onward = walk.union(i, tier, onward)
        else:
            got, onward = walk.first_match(i, tier, onward)
        allowed |= got
    if side.audit and probe - allowed:
        return _audited(probe, allowed, trace, first, d, subject)
    return allowed


def _audited(probe: PortSet, allowed: PortSet, trace: list[Step] | None, first: int, d: Direction,
             subject: str) -> PortSet:
    """CIL-31: policy audit mode: what the policies deny at L3/L4 is forwarded, and logged as AUDIT."""
    if trace is not None:
        for k in range(first, len(trace)):
            step = trace[k]
            if step.effect is Effect.DENY:
                trace[k] = replace(step, effect=Effect.WARN,
                                   message=f"would deny (policy audit mode only logs it): {step.message}")
        trace.append(Step(Layer.CNI, d, subject, StepTier.DEFAULT, Reason.POLICY_AUDIT, Effect.ALLOW,
                          f"policy audit mode (--cilium-audit): the policies would deny {probe - allowed}; "
                          "Cilium forwards it and logs the flow as AUDIT (CIL-31)"))
    return probe


_VERBS = {Action.ALLOW: "allows", Action.DENY: "denies", Action.PASS: "passes to the next tier"}
_NAMED_VERBS = {Action.ALLOW: "Allow", Action.DENY: "Deny", Action.PASS: "Pass: on to the next tier"}
_EFFECTS = {Action.ALLOW: Effect.ALLOW, Action.DENY: Effect.DENY, Action.PASS: Effect.PASS}


@dataclass(slots=True)
class _Walk:
    side: SideRules
    matched: Callable[[Rule], bool]
    resolve: Resolver
    probe: PortSet
    trace: list[Step] | None
    subject: str
    peer: str
    origins: list[tuple[Origin, PortSet]] | None

    def first_match(self, i: int, tier: PolicyTier, ports: PortSet) -> tuple[PortSet, PortSet]:
        """Rules top-down; the first that matches a port decides it: Allow and Deny are final, Pass
        leaves the tier, Log goes on (ANP-2, CAL-8). Returns (allowed, what goes on)."""
        left, allowed, passed = ports, EMPTY, EMPTY
        trace = self.trace
        for k, rule in enumerate(tier.rules):
            if not left:
                break
            where = _where(tier, k)
            if not self.matched(rule):
                if trace is not None:
                    trace.append(_rule_step(rule, tier, self.subject, Reason.PEER_MISMATCH, Effect.NONE,
                                            f"{where}{self.peer} is not among its peers ({_peers_text(rule)})"))
                continue
            named = self.resolve(rule.ports)
            hit = named & left
            if not hit:
                if trace is not None:
                    reason = Reason.SHADOWED if named & self.probe else Reason.PORT_MISMATCH
                    trace.append(_rule_step(rule, tier, self.subject, reason, Effect.NONE,
                                            f"{where}peer matches, but its ports ({_ports_text(rule)}) do not "
                                            f"include {left}"))
                continue
            if rule.action is Action.LOG:
                if trace is not None:
                    trace.append(_rule_step(rule, tier, self.subject, Reason.RULE_MATCHED, Effect.NONE,
                                            f"{where}Log: logs {hit} and goes on with the next rule"
                                            f"{_cite(tier.cite_rule)}"))
                continue
            left = left - hit
            if rule.action is Action.ALLOW:
                allowed = allowed | hit
            elif rule.action is Action.PASS:
                passed = passed | hit
            if self.origins is not None and rule.action is not Action.PASS:
                self.origins.append((rule_origin(rule, _EFFECTS[rule.action]), hit))
            if trace is not None:
                verb = (_NAMED_VERBS if tier.name else _VERBS)[rule.action]
                trace.append(_rule_step(rule, tier, self.subject, Reason.RULE_MATCHED, _EFFECTS[rule.action],
                                        f"{where}first matching rule: {verb} {hit} ({_peers_text(rule)})"
                                        f"{_cite(tier.cite_rule)}"))
        return self._end(i, tier, left, allowed, passed)

    def _end(self, i: int, tier: PolicyTier, left: PortSet, allowed: PortSet,
             passed: PortSet) -> tuple[PortSet, PortSet]:
        trace, d, subject = self.trace, self.side.direction, self.subject
        if tier.end is TierEnd.ALLOW:
            if left and trace is not None:
                message = (f"every tier passed {left}: the namespace profile allows it" if tier.kind is StepTier.PROFILE
                           else f"no tier decided {left}: allowed by default")
                trace.append(Step(Layer.CNI, d, subject, tier.kind, Reason.DEFAULT_ALLOW, Effect.ALLOW,
                                  message + _cite(tier.cite_end)))
            return allowed | left, EMPTY
        if tier.end is TierEnd.NEXT:
            if passed and trace is not None:
                trace.append(Step(Layer.CNI, d, subject, tier.kind, Reason.PASSED, Effect.PASS,
                                  f"{passed} passed on to the {self._next_title(i)} tier{_cite(tier.cite_end)}"))
            return allowed, left | passed
        if left and tier.end is TierEnd.PASS:
            if trace is not None:
                trace.append(Step(Layer.CNI, d, subject, tier.kind, Reason.PASSED, Effect.PASS,
                                  f"end of tier {tier.name}: no rule decided {left}: defaultAction Pass"
                                  f"{_cite(tier.cite_end)}"))
            return allowed, passed | left
        if left:  # TierEnd.DENY
            first = tier.policies[0] if tier.policies else None
            if self.origins is not None and first is not None:
                self.origins.append((Origin(Effect.DENY, first, d, line=first.line), left))
            if trace is not None:
                names = ", ".join(f"{p.display} ({p.where})" for p in tier.policies[:3]) + (
                    f" and {len(tier.policies) - 3} more" if len(tier.policies) > 3 else "")
                verb = "applies" if len(tier.policies) == 1 else "apply"
                trace.append(Step(Layer.CNI, d, subject, tier.kind, Reason.NO_RULE_MATCHED, Effect.DENY,
                                  f"end of tier {tier.name} (order {_order(tier.order)}): {names} {verb} to "
                                  f"{subject} and no rule decided {left} {_toward(d)} {self.peer}: "
                                  f"defaultAction Deny{_cite(tier.cite_end)}",
                                  first, None, "", first.line if first else 0))
        return allowed, passed

    def union(self, i: int, tier: PolicyTier, ports: PortSet) -> tuple[PortSet, PortSet]:
        """NP-4: isolated ⇒ this tier decides: the union of its allow rules; the rest is denied
        (NP-3). Not isolated: it decides nothing and every port goes on."""
        trace, d, subject, peer = self.trace, self.side.direction, self.subject, self.peer
        if not tier.policies:
            if trace is not None and any(t.rules for t in self.side.tiers if t is not tier):
                trace.append(Step(Layer.CNI, d, subject, tier.kind, Reason.NOT_ISOLATED, Effect.NONE,
                                  f"no {tier.title} selects {subject} for {d.value}: on to the "
                                  f"{self._next_title(i)} tier"))
            return EMPTY, ports
        first = tier.policies[0]
        if trace is not None:
            names = ", ".join(f"{p.display} ({p.where})" for p in tier.policies)
            trace.append(Step(Layer.CNI, d, subject, tier.kind, Reason.ISOLATED, Effect.NONE,
                              f"{subject} is isolated for {d.value} by {names}", first, None, "", first.line))
        allowed = EMPTY
        for rule in tier.rules:
            # NP-10: a rule matches when the peer AND the port match.
            if not self.matched(rule):
                if trace is not None:
                    trace.append(_rule_step(rule, tier, subject, Reason.PEER_MISMATCH, Effect.NONE,
                                            f"{peer} is not among its peers ({_peers_text(rule)})"))
                continue
            hit = self.resolve(rule.ports) & ports
            if not hit:
                if trace is not None:
                    trace.append(_rule_step(rule, tier, subject, Reason.PORT_MISMATCH, Effect.NONE,
                                            f"peer matches, but its ports ({_ports_text(rule)}) do not "
                                            f"include {ports}"))
                continue
            allowed |= hit
            if self.origins is not None:
                self.origins.append((rule_origin(rule, Effect.ALLOW), hit))
            if trace is not None:
                trace.append(_rule_step(rule, tier, subject, Reason.ALLOWED_BY_RULE, Effect.ALLOW,
                                        f"allows {hit} ({_peers_text(rule)})"))
        denied = ports - allowed
        if denied:
            if self.origins is not None:
                self.origins.append((Origin(Effect.DENY, first, d, line=first.line), denied))
            if trace is not None:
                more = len(tier.policies) - 1
                others = f" and {more} more polic{'y' if more == 1 else 'ies'}" if more else ""
                trace.append(Step(Layer.CNI, d, subject, tier.kind, Reason.NO_RULE_MATCHED, Effect.DENY,
                                  f"{subject} is isolated for {d.value} by {first.display}{others}, and no "
                                  f"{d.value} rule of them allows {denied} {_toward(d)} {peer}: denied"
                                  f"{_cite(tier.cite_end)}", first, None, "", first.line))
        return allowed, EMPTY

    def _next_title(self, i: int) -> str:
        """The tier that decides next: a union tier that does not isolate decides nothing."""
        for t in self.side.tiers[i + 1:]:
            if t.matching is Matching.UNION and not t.policies:
                continue
            return t.title
        return "default"


def _rule_step(rule: Rule, tier: PolicyTier, subject: str, reason: Reason, effect: Effect, message: str) -> Step:
    return Step(Layer.CNI, rule.direction, subject, tier.kind, reason, effect, message, rule.policy, rule.index,
                rule.name, rule.line, rule.section)


def _where(tier: PolicyTier, k: int) -> str:
    """A named tier's rules say where they sit (CAL-10)."""
    if not tier.name:
        return ""
    policy_order = tier.rule_orders[k] if k < len(tier.rule_orders) else float("inf")
    return f"tier {tier.name} (order {_order(tier.order)}), policy order {_order(policy_order)}: "


def _cite(ids: str) -> str:
    return f" ({ids})" if ids else ""


def _toward(d: Direction) -> str:
    return "to" if d is Direction.EGRESS else "from"


def _peers_text(rule: Rule) -> str:
    word = "from" if rule.direction is Direction.INGRESS else "to"
    if not rule.peers:
        return f"{word} no peer"
    return f"{word} " + " or ".join(str(p) for p in rule.peers)


def _ports_text(rule: Rule) -> str:
    return "all ports" if rule.ports is None else ", ".join(str(p) for p in rule.ports) or "no port"


def _order(order: float) -> str:
    if order == float("inf"):
        return "unset"
    return str(int(order)) if order == int(order) else str(order)
