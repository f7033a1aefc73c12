"""The CNI tier pipeline for one side of a connection (ANP-1 … ANP-6, NP-3 … NP-5).

``AdminNetworkPolicy → NetworkPolicy → BaselineAdminNetworkPolicy → default allow``; each tier
answers allow / deny / next for every port of the probe. The same function serves the
connectivity map (no trace, sets of ports) and ``explain`` (a trace, one port).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..ir import Action, Direction, NamedPort, Policy, PolicyRef, PortMatch, PortRange, Rule, Tier
from ..model import ContainerPort
from .portset import ALL, EMPTY, PortSet
from .trace import Reason, Step


@dataclass(frozen=True, slots=True)
class CalicoTierRules:
    """One Calico tier as it applies to one endpoint and direction (CAL-10, CAL-11)."""

    name: str
    order: float
    default_action: str                  # Deny | Pass
    rules: tuple[Rule, ...]              # the rules of its applicable policies, in policy order
    orders: tuple[float, ...] = ()       # each rule's policy order (inf: unset)
    policies: tuple[PolicyRef, ...] = ()  # the tier's policies that apply, in order


@dataclass(frozen=True, slots=True)
class SideRules:
    """Every rule that can decide one direction for one subject, in evaluation order."""

    direction: Direction
    admin: tuple[Rule, ...]
    isolating: tuple[Policy, ...]  # NetworkPolicy-tier policies that isolate the subject (NP-3, CIL-1)
    np_rules: tuple[Rule, ...]     # the allow rules of every NetworkPolicy-tier policy selecting it
    baseline: tuple[Rule, ...]
    host_network: bool = False
    deny: tuple[Rule, ...] = ()    # Cilium deny rules: they win over every allow (CIL-23)
    notes: tuple[str, ...] = ()    # facts the trace must state (e.g. an FQDN rule without DNS visibility)
    inert: str = ""                # the CNI enforces nothing: its name
    calico: tuple[CalicoTierRules, ...] = ()  # --cni calico: the tier pipeline instead of the above

    @property
    def all_rules(self) -> tuple[Rule, ...]:
        return (*self.deny, *self.admin, *self.np_rules, *self.baseline, *(r for t in self.calico for r in t.rules))

    @property
    def open(self) -> bool:
        """Nothing can restrict this side: everything is allowed."""
        return not self.admin and not self.isolating and not self.baseline and not self.deny and not self.calico


OPEN_INGRESS = SideRules(Direction.INGRESS, (), (), (), ())
OPEN_EGRESS = SideRules(Direction.EGRESS, (), (), (), ())

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


def evaluate_side(side: SideRules, matched: Callable[[Rule], bool], resolve: Resolver,
                  probe: PortSet = ALL, trace: list[Step] | None = None, subject: str = "",
                  peer: str = "") -> PortSet:
    """The part of ``probe`` this side allows."""
    d = side.direction
    if side.host_network:
        if trace is not None:
            trace.append(Step("cni", d, subject, "none", Reason.HOST_NETWORK, "allow",
                              f"{subject} runs with hostNetwork: policies never select it (NP-25)"))
        return probe
    if side.inert:
        if trace is not None:
            trace.append(Step("cni", d, subject, "none", Reason.CNI_INERT, "allow",
                              f"--cni {side.inert} enforces no network policy: allowed"))
        return probe
    if trace is not None:
        reason = Reason.POLICY_REJECTED if side.calico or "Calico" in "".join(side.notes) else Reason.FQDN_INEFFECTIVE
        trace.extend(Step("cni", d, subject, "networkpolicy", reason, "none", note) for note in side.notes)
    if side.open:
        if trace is not None:
            trace.append(Step("cni", d, subject, "default", Reason.NOT_ISOLATED, "allow",
                              f"no policy selects {subject} for {d.value}: allowed by default (NP-3)"))
        return probe
    if side.calico or side.notes and not (side.admin or side.isolating or side.baseline or side.deny):
        return _calico(side, matched, resolve, probe, trace, subject, peer)
    allowed = EMPTY
    remaining = probe
    passed = EMPTY
    if side.deny:
        # CIL-23: a matching deny rule wins over every allow, from any policy kind.
        state = _State(remaining, probe=probe)
        _first_match(side.deny, Tier.DENY, matched, resolve, trace, subject, peer, d, state)
        remaining = state.remaining
        if not remaining:
            return EMPTY
    # ANP-2: admin tier, policies by priority, rules top-down; first match decides.
    _first_match(side.admin, Tier.ADMIN, matched, resolve, trace, subject, peer, d,
                 state := _State(remaining, probe=probe))
    allowed |= state.allowed
    passed = state.passed
    remaining = state.remaining
    if passed and trace is not None:
        where = "NetworkPolicy" if side.isolating else "baseline"
        trace.append(Step("cni", d, subject, "admin", Reason.PASSED, "pass",
                          f"{passed} passed on to the {where} tier (ANP-3)"))
    # ANP-3: Pass goes to the NetworkPolicy tier, as does everything the admin tier left open.
    to_np = remaining | passed
    if not to_np:
        return allowed
    if side.isolating:
        # ANP-4 / NP-4: isolated ⇒ the NetworkPolicy tier decides: the union of its allow rules.
        if trace is not None:
            names = ", ".join(f"{p.ref.display} ({p.ref.where})" for p in side.isolating)
            first = side.isolating[0]
            trace.append(Step("cni", d, subject, "networkpolicy", Reason.ISOLATED, "none",
                              f"{subject} is isolated for {d.value} by {names}",
                              first.ref, None, "", first.ref.line))
        np_allowed = EMPTY
        for rule in side.np_rules:
            # NP-10: a rule matches when the peer AND the port match.
            if not matched(rule):
                if trace is not None:
                    trace.append(_rule_step(rule, d, subject, Reason.PEER_MISMATCH, "none",
                                            f"{peer} is not among its peers ({_peers_text(rule)})"))
                continue
            ports = resolve(rule.ports) & to_np
            if not ports:
                if trace is not None:
                    trace.append(_rule_step(rule, d, subject, Reason.PORT_MISMATCH, "none",
                                            f"peer matches, but its ports ({_ports_text(rule)}) do not "
                                            f"include {to_np}"))
                continue
            np_allowed |= ports
            if trace is not None:
                trace.append(_rule_step(rule, d, subject, Reason.ALLOWED_BY_RULE, "allow",
                                        f"allows {ports} ({_peers_text(rule)})"))
        allowed |= np_allowed
        denied = to_np - np_allowed
        if denied and trace is not None:
            first = side.isolating[0]
            more = len(side.isolating) - 1
            others = f" and {more} more polic{'y' if more == 1 else 'ies'}" if more else ""
            trace.append(Step("cni", d, subject, "networkpolicy", Reason.NO_RULE_MATCHED, "deny",
                              f"{subject} is isolated for {d.value} by {first.ref.display}{others}, and no "
                              f"{d.value} rule of them allows {denied} "
                              f"{'to' if d is Direction.EGRESS else 'from'} {peer}: denied (NP-3, NP-4)",
                              first.ref, None, "", first.ref.line))
        return allowed
    if trace is not None and (side.admin or side.baseline):
        trace.append(Step("cni", d, subject, "networkpolicy", Reason.NOT_ISOLATED, "none",
                          f"no NetworkPolicy selects {subject} for {d.value}: on to the baseline tier"))
    state = _State(to_np, probe=probe)
    _first_match(side.baseline, Tier.BASELINE, matched, resolve, trace, subject, peer, d, state)
    allowed |= state.allowed
    rest = state.remaining | state.passed
    if rest:
        allowed |= rest
        if trace is not None:
            trace.append(Step("cni", d, subject, "default", Reason.DEFAULT_ALLOW, "allow",
                              f"no tier decided {rest}: allowed by default (ANP-1)"))
    return allowed


@dataclass(slots=True)
class _State:
    remaining: PortSet
    allowed: PortSet = EMPTY
    passed: PortSet = EMPTY
    probe: PortSet = EMPTY  # what was asked (to tell a port mismatch from a shadowed rule)


def _first_match(rules: tuple[Rule, ...], tier: Tier, matched: Callable[[Rule], bool], resolve: Resolver,
                 trace: list[Step] | None, subject: str, peer: str, d: Direction, state: _State) -> None:
    for rule in rules:
        if not state.remaining:
            return
        if not matched(rule):
            if trace is not None:
                trace.append(_rule_step(rule, d, subject, Reason.PEER_MISMATCH, "none",
                                        f"{peer} is not among its peers ({_peers_text(rule)})", tier))
            continue
        ports = resolve(rule.ports)
        hit = ports & state.remaining
        if not hit:
            if trace is not None:
                reason = Reason.SHADOWED if ports & state.probe else Reason.PORT_MISMATCH
                trace.append(_rule_step(rule, d, subject, reason, "none",
                                        f"peer matches, but its ports ({_ports_text(rule)}) do not "
                                        f"include {state.remaining}", tier))
            continue
        state.remaining = state.remaining - hit
        if rule.action is Action.ALLOW:
            state.allowed = state.allowed | hit
        elif rule.action is Action.PASS:
            state.passed = state.passed | hit
        if trace is not None:
            what = {Action.ALLOW: "allows", Action.DENY: "denies", Action.PASS: "passes to the next tier"}
            trace.append(_rule_step(rule, d, subject, Reason.RULE_MATCHED, rule.action.value,
                                    f"first matching rule: {what[rule.action]} {hit} "
                                    f"({_peers_text(rule)})", tier))


def _rule_step(rule: Rule, d: Direction, subject: str, reason: Reason, effect: str, message: str,
               tier: Tier = Tier.NETWORK_POLICY) -> Step:
    return Step("cni", d, subject, tier.value, reason, effect, message, rule.policy, rule.index,
                rule.name, rule.line, rule.section)


def _peers_text(rule: Rule) -> str:
    word = "from" if rule.direction is Direction.INGRESS else "to"
    if not rule.peers:
        return f"{word} no peer"
    return f"{word} " + " or ".join(str(p) for p in rule.peers)


def _ports_text(rule: Rule) -> str:
    return "all ports" if rule.ports is None else ", ".join(str(p) for p in rule.ports) or "no port"


def _calico(side: SideRules, matched: Callable[[Rule], bool], resolve: Resolver, probe: PortSet,
            trace: list[Step] | None, subject: str, peer: str) -> PortSet:
    """CAL-8 … CAL-11, CAL-14: tiers by order; in a tier, policies by order and rules top-down:
    Allow and Deny are final, Log goes on, Pass leaves the tier; what no rule decides meets the
    tier's default action; what passes every tier meets the namespace profile, which allows."""
    d = side.direction
    remaining = probe
    allowed = EMPTY
    for tier in side.calico:
        if not remaining:
            break
        left = remaining
        passed = EMPTY
        for k, rule in enumerate(tier.rules):
            if not left:
                break
            policy_order = tier.orders[k] if k < len(tier.orders) else float("inf")
            where = (f"tier {tier.name} (order {_order(tier.order)}), policy order "
                     f"{_order(policy_order) if policy_order != float('inf') else 'unset'}")
            if not matched(rule):
                if trace is not None:
                    trace.append(_rule_step(rule, d, subject, Reason.PEER_MISMATCH, "none",
                                            f"{where}: {peer} is not among its peers ({_peers_text(rule)})", Tier.CALICO))
                continue
            hit = resolve(rule.ports) & left
            if not hit:
                if trace is not None:
                    trace.append(_rule_step(rule, d, subject, Reason.PORT_MISMATCH, "none",
                                            f"{where}: peer matches, but its ports ({_ports_text(rule)}) do not "
                                            f"include {left}", Tier.CALICO))
                continue
            if rule.action is Action.LOG:
                if trace is not None:
                    trace.append(_rule_step(rule, d, subject, Reason.RULE_MATCHED, "none",
                                            f"{where}: Log: logs {hit} and goes on with the next rule (CAL-8)", Tier.CALICO))
                continue
            left = left - hit
            if rule.action is Action.ALLOW:
                allowed = allowed | hit
            elif rule.action is Action.PASS:
                passed = passed | hit
            if trace is not None:
                what = {Action.ALLOW: "Allow", Action.DENY: "Deny", Action.PASS: "Pass: on to the next tier"}
                trace.append(_rule_step(rule, d, subject, Reason.RULE_MATCHED, rule.action.value,
                                        f"{where}: first matching rule: {what[rule.action]} {hit} "
                                        f"({_peers_text(rule)}) (CAL-8)", Tier.CALICO))
        if left:
            if tier.default_action == "Pass":
                passed = passed | left
                if trace is not None:
                    trace.append(Step("cni", d, subject, "calico", Reason.PASSED, "pass",
                                      f"end of tier {tier.name}: no rule decided {left}: defaultAction Pass (CAL-11)"))
            elif trace is not None:
                names = ", ".join(f"{p.display} ({p.where})" for p in tier.policies[:3]) + (
                    f" and {len(tier.policies) - 3} more" if len(tier.policies) > 3 else "")
                first = tier.policies[0] if tier.policies else None
                trace.append(Step("cni", d, subject, "calico", Reason.NO_RULE_MATCHED, "deny",
                                  f"end of tier {tier.name} (order {_order(tier.order)}): {names} appl"
                                  f"{'ies' if len(tier.policies) == 1 else 'y'} to {subject} and no rule decided {left} "
                                  f"{'to' if d is Direction.EGRESS else 'from'} {peer}: defaultAction Deny (CAL-11)",
                                  first, None, "", first.line if first else 0))
        remaining = passed
    if remaining:
        allowed = allowed | remaining
        if trace is not None:
            trace.append(Step("cni", d, subject, "profile", Reason.DEFAULT_ALLOW, "allow",
                              f"every tier passed {remaining}: the namespace profile allows it (CAL-14)"))
    return allowed


def _order(order: float) -> str:
    if order == float("inf"):
        return "unset"
    return str(int(order)) if order == int(order) else str(order)
