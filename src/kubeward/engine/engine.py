"""The engine: identities, every policy bound once, and the rules that decide each side."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from ..diagnostics import Diagnostics, Leans
from ..ir import (
    Action,
    Direction,
    DomainPeer,
    L7Kind,
    LabelSelector,
    NamePattern,
    PodPeer,
    Policy,
    Requirement,
    Rule,
    Tier,
    TierEnd,
)
from ..model import Cluster
from .evaluate import OPEN_EGRESS, OPEN_INGRESS, Matching, PolicyTier, SideNote, SideRules
from .options import Options
from .trace import Reason, StepTier
from .universe import Endpoint, Identity, Universe, bits, dns_pattern_matches


class Engine:
    def __init__(self, cluster: Cluster, options: Options | None = None,
                 extra_domains: Iterable[str] = ()) -> None:
        self.cluster = cluster
        self.options = options or Options()
        self.universe = Universe(cluster, self.options, extra_domains)
        self.diagnostics: Diagnostics = cluster.diagnostics
        self._rule_masks: dict[int, int] = {}
        self._sides: dict[tuple[int, Direction], SideRules] = {}
        self._interned: dict[SideRules, SideRules] = {}
        self.subject_masks: dict[int, int] = {}
        self._bind_policies()

    # ---- binding ---------------------------------------------------------------------

    def _bind_policies(self) -> None:
        u = self.universe
        order = {Tier.DENY: -1, Tier.ADMIN: 0, Tier.NETWORK_POLICY: 1, Tier.ORDERED: 1, Tier.BASELINE: 2}
        enforced = self.options.enforced_kinds
        policies = sorted((p for p in self.cluster.policies if p.ref.kind in enforced), key=lambda p: (
            order[p.tier], p.priority if p.priority is not None else 0, p.ref.kind, p.ref.namespace, p.ref.name))
        per_identity: dict[int, list[Policy]] = {}
        self._rejected: dict[int, list[str]] = {}
        for policy in policies:
            mask = (u.calico_subject_mask(policy.selector_expr, policy.subject.namespace)
                    if policy.selector_expr is not None else u.subject_mask(policy.subject))
            if policy.rejected:
                # NP-28, CAL-7: the cluster refused it, so it does not exist: not applied. Every
                # side it would have selected says so.
                note = (f"{policy.ref.display} ({policy.ref.where}) would select this endpoint, but it is rejected "
                        f"({policy.rejected}): it is not applied")
                for i in bits(mask):
                    notes = self._rejected.setdefault(i, [])
                    if note not in notes:  # a Cilium policy's allow and deny halves say it once
                        notes.append(note)
                continue
            self.subject_masks[id(policy)] = mask
            for i in bits(mask):
                per_identity.setdefault(i, []).append(policy)
        self._check_priorities([p for p in policies if not p.rejected])
        for ident in u.identities:
            for direction in (Direction.INGRESS, Direction.EGRESS):
                self._sides[(ident.index, direction)] = self._side_for(ident, direction,
                                                                       per_identity.get(ident.index, []))

    def _side_for(self, ident: Identity, direction: Direction, policies: list[Policy]) -> SideRules:
        if self.options.cni in ("flannel", "none"):
            return SideRules(direction, inert=self.options.cni)
        if ident.host_network:
            # NP-25 / ANP-8: hostNetwork pods are never selected as subjects.
            return SideRules(direction, host_network=True)
        rejected = tuple(SideNote(Reason.POLICY_REJECTED, m) for m in self._rejected.get(ident.index, ()))
        if self.options.cni == "calico":
            named, calico_notes = self._named_tiers(direction, policies, ident)
            if not named:  # no tier applies: open, with the policies the API server rejected said
                return self._intern(SideRules(direction, (), rejected)) if rejected else (
                    OPEN_INGRESS if direction is Direction.INGRESS else OPEN_EGRESS)
            # CAL-14: what passes every tier meets the namespace profile, which allows.
            profile = PolicyTier(StepTier.PROFILE, Matching.FIRST_MATCH, TierEnd.ALLOW, title="profile",
                                 cite_end="CAL-14")
            return self._intern(SideRules(direction, (*named, profile), rejected + calico_notes))
        admin: list[Rule] = []
        baseline: list[Rule] = []
        deny: list[Rule] = []
        isolating: list[Policy] = []
        np_rules: list[Rule] = []
        for p in policies:
            rules = p.rules(direction)
            if p.tier is Tier.ADMIN:
                admin.extend(rules)
            elif p.tier is Tier.BASELINE:
                baseline.extend(rules)
            elif p.tier is Tier.DENY:
                deny.extend(rules)
            else:
                # NP-4 / CIL-24: the allows of every selecting policy add up, isolating or not.
                np_rules.extend(rules)
                if direction in p.isolates:
                    isolating.append(p)
        # Pure isolation policies (no rule in this direction: default deny) are named first.
        isolating.sort(key=lambda p: (bool(p.rules(direction)), p.ref.name))
        requires = tuple(q for r in (*np_rules, *deny) for q in r.requires)
        if requires:
            np_rules = [_require(r, requires) for r in np_rules]
            deny = [_require(r, requires) for r in deny]
        notes: tuple[SideNote, ...] = rejected
        if direction is Direction.EGRESS:
            np_rules, found = _fqdn_visibility(np_rules, ident)
            notes += tuple(SideNote(Reason.FQDN_INEFFECTIVE, message) for _, message in found)
            for rule, message in found:
                self.diagnostics.warning("fqdn-without-dns-visibility", message,
                                         rule.policy.file, rule.line, rule.policy, Leans.MAY_ALLOW_MORE)
        if not (admin or isolating or baseline or deny):
            if rejected:  # open, with the policies the cluster rejected said
                return self._intern(SideRules(direction, (), rejected))
            return OPEN_INGRESS if direction is Direction.INGRESS else OPEN_EGRESS
        tiers: list[PolicyTier] = []
        if deny:
            # CIL-23: a matching deny rule wins over every allow, from any policy kind.
            tiers.append(PolicyTier(StepTier.DENY, Matching.FIRST_MATCH, TierEnd.NEXT, tuple(deny), title="deny"))
        if admin:
            # ANP-2, ANP-3: by priority, first match; Pass and the rest go on to the NetworkPolicy tier.
            tiers.append(PolicyTier(StepTier.ADMIN, Matching.FIRST_MATCH, TierEnd.NEXT, tuple(admin), title="admin",
                                    cite_end="ANP-3"))
        # NP-3, NP-4: isolated ⇒ the union of the allow rules decides, the rest is denied.
        tiers.append(PolicyTier(StepTier.NETWORK_POLICY, Matching.UNION, TierEnd.DENY, tuple(np_rules),
                                tuple(p.ref for p in isolating), title="NetworkPolicy", cite_end="NP-3, NP-4"))
        if baseline:
            tiers.append(PolicyTier(StepTier.BASELINE, Matching.FIRST_MATCH, TierEnd.NEXT, tuple(baseline),
                                    title="baseline"))
        # ANP-1: what no tier decided is allowed.
        tiers.append(PolicyTier(StepTier.DEFAULT, Matching.FIRST_MATCH, TierEnd.ALLOW, title="default",
                                cite_end="ANP-1"))
        # CIL-31: with policy audit mode, Cilium only logs what its policies would drop.
        audit = self.options.cni == "cilium" and self.options.cilium_audit
        return self._intern(SideRules(direction, tuple(tiers), notes, audit=audit))

    def _intern(self, side: SideRules) -> SideRules:
        return self._interned.setdefault(side, side)

    def _named_tiers(self, direction: Direction, policies: list[Policy],
                     ident: Identity) -> tuple[tuple[PolicyTier, ...], tuple[SideNote, ...]]:
        """CAL-10, CAL-13, CAL-16 / ANP-13: kube-admin (ANPs, order 1000, Pass), the named tiers by
        order, default (order 1e6: the policies of the default tier and the Kubernetes
        NetworkPolicies at order 1000), kube-baseline (BANPs, 1e7, Pass). A tier is in the list
        only when one of its policies applies to the endpoint in this direction. Rules that do
        not apply to this endpoint (CAL-18, CAL-20) are left out, and the side's notes say so."""
        tiers: dict[str, tuple[float, TierEnd, list[tuple[float, str, Policy]]]] = {}
        known = self.cluster.calico.tiers
        for p in policies:
            if p.tier is Tier.ORDERED and p.placement is not None:
                name = p.placement.tier
                t = known.get(name)
                order = 1_000_000.0 if name == "default" else (t.order if t and t.order is not None else float("inf"))
                action = t.default_action if t else TierEnd.DENY
                if direction not in p.isolates:
                    continue
                policy_order = p.placement.policy_order if p.placement.policy_order is not None else float("inf")
            elif p.tier in (Tier.ADMIN, Tier.BASELINE):
                name, order, action = ("kube-admin", 1000.0, TierEnd.PASS) if p.tier is Tier.ADMIN else (
                    "kube-baseline", 10_000_000.0, TierEnd.PASS)
                if not p.rules(direction):
                    continue
                policy_order = float(p.priority or 0)
            elif p.tier is Tier.NETWORK_POLICY:
                name, order, action = "default", 1_000_000.0, TierEnd.DENY
                if direction not in p.isolates:
                    continue
                policy_order = 1000.0  # CAL-13
            else:
                continue
            tiers.setdefault(name, (order, action, []))[2].append((policy_order, p.ref.name, p))
        out: list[PolicyTier] = []
        unmatched: list[Rule] = []
        notes: list[SideNote] = []
        for name, (order, action, members) in sorted(tiers.items(), key=lambda kv: (kv[1][0], kv[0])):
            members.sort(key=lambda m: (m[0], m[1]))
            kept = [(o, r) for o, _, p in members for r in p.rules(direction)
                    if self._applies_to(r, ident, unmatched, notes)]
            out.append(PolicyTier(StepTier.CALICO, Matching.FIRST_MATCH, action, tuple(r for _, r in kept),
                                  tuple(p.ref for _, _, p in members), title=f"tier {name}", name=name, order=order,
                                  rule_orders=tuple(o for o, _ in kept), cite_rule="CAL-8", cite_end="CAL-11"))
        if unmatched:
            side = "destination" if direction is Direction.INGRESS else "source"
            names = ", ".join(f"{r.policy.display} {r.label} ({r.policy.file}:{r.line})" for r in unmatched[:5])
            more = f" and {len(unmatched) - 5} more" if len(unmatched) > 5 else ""
            verb = "does" if len(unmatched) == 1 else "do"
            notes.insert(0, SideNote(Reason.PEER_MISMATCH, f"{names}{more} {verb} not apply to this endpoint: "
                                     f"the rule's {side} (the endpoint itself) does not match it (CAL-18)"))
        return tuple(out), tuple(notes)

    def _applies_to(self, rule: Rule, ident: Identity, unmatched: list[Rule], notes: list[SideNote]) -> bool:
        """Whether a rule of a policy that selects ``ident`` applies to it. CAL-18: the rule's
        criteria on the endpoint's own side must match the endpoint; where they depend on an
        address the input does not give, an Allow or Pass rule is taken not to apply and a Deny
        rule to apply. CAL-20: a flow has no known source port: a rule restricted to source ports
        matches nothing, unless it denies (then it denies every source port)."""
        bit = 1 << ident.index
        if rule.subject_only is not None:
            certain, possible = self.universe.own_side_masks(rule.subject_only)
            if (certain ^ possible) & bit:
                taken = "to apply" if rule.action is Action.DENY else "not to apply"
                self.diagnostics.warning(
                    "address-unknown", f"{rule.policy.display} {rule.label}: whether it applies to "
                    f"{ident.display} depends on its address, which the input does not give (status.podIP): this "
                    f"{rule.action.value.capitalize()} rule is taken {taken} (CAL-18)", rule.policy.file,
                    rule.line, rule.policy, Leans.EITHER if rule.action is Action.PASS else Leans.MAY_ALLOW_MORE)
            if not ((possible if rule.action is Action.DENY else certain) & bit):
                unmatched.append(rule)
                return False
        if rule.source_ports is not None:
            ports = ", ".join(str(p) for p in rule.source_ports) or "none"
            where = f"{rule.policy.display} {rule.label} ({rule.policy.file}:{rule.line})"
            if rule.action is Action.DENY:
                notes.append(SideNote(Reason.PEER_MISMATCH, f"{where} denies only connections from source ports "
                                      f"{ports}; flows carry no known source port, so it is taken to deny every "
                                      "source port (CAL-20)"))
                return True
            notes.append(SideNote(Reason.PEER_MISMATCH, f"{where} matches only connections from source ports {ports}; "
                                  f"flows carry no known source port, so this {rule.action.value.capitalize()} rule "
                                  "is taken to match nothing (CAL-20)"))
            return False
        return True

    def _check_priorities(self, policies: list[Policy]) -> None:
        seen: dict[tuple[Tier, int], list[Policy]] = {}
        for p in policies:
            if p.tier is not Tier.NETWORK_POLICY and p.priority is not None:
                seen.setdefault((p.tier, p.priority), []).append(p)
        for (tier, priority), group in seen.items():
            for i, a in enumerate(group):
                for b in group[i + 1:]:
                    if self.subject_masks[id(a)] & self.subject_masks[id(b)]:
                        # ANP-2: equal priorities that both match ⇒ undefined which wins.
                        self.diagnostics.error(
                            "ambiguous-priority",
                            f"{a.ref.display} and {b.ref.display} ({b.ref.where}) share priority "
                            f"{priority} in the {tier.value} tier and select the same pods: which one "
                            "wins is undefined upstream; kubeward evaluates them by name",
                            a.ref.file, a.priority_line or a.ref.line, a.ref, Leans.EITHER)

    # ---- queries ---------------------------------------------------------------------

    def side(self, endpoint: Endpoint, direction: Direction) -> SideRules:
        if isinstance(endpoint, Identity):
            return self._sides[(endpoint.index, direction)]
        return OPEN_INGRESS if direction is Direction.INGRESS else OPEN_EGRESS

    def rule_mask(self, rule: Rule) -> int:
        key = id(rule)
        mask = self._rule_masks.get(key)
        if mask is None:
            mask = self.universe.peers_mask(rule.peers)
            self._rule_masks[key] = mask
        return mask

    def distinct_sides(self) -> list[SideRules]:
        return list(self._interned.values())


def _require(rule: Rule, requires: tuple[Requirement, ...]) -> Rule:
    """Cilium fromRequires/toRequires: every endpoint peer must also meet these requirements."""
    peers = tuple(PodPeer(LabelSelector(p.pod_selector.requirements + requires, p.pod_selector.nothing), p.namespace,
                          p.namespace_selector) if isinstance(p, PodPeer) else p for p in rule.peers)
    return replace(rule, peers=peers) if peers != rule.peers else rule


def _fqdn_visibility(rules: list[Rule], ident: Identity) -> tuple[list[Rule], list[tuple[Rule, str]]]:
    """CIL-21: a toFQDNs rule learns addresses only from DNS answers the DNS proxy sees, which
    takes an egress DNS rule (toPorts 53 with rules.dns) selecting the same endpoint. Without
    one, its FQDN peers match nothing; with one, only the names its patterns let through."""
    fqdn = [r for r in rules if any(isinstance(p, DomainPeer) and p.syntax is NamePattern.CILIUM for p in r.peers)]
    if not fqdn:
        return rules, []
    patterns = tuple(pat for r in rules if r.l7 is not None and r.l7.kind is L7Kind.DNS for pat in r.l7.dns)
    kept: list[Rule] = []
    notes: list[tuple[Rule, str]] = []
    for r in rules:
        if r not in fqdn:
            kept.append(r)
            continue
        names = ", ".join(str(p) for p in r.peers if isinstance(p, DomainPeer))
        if patterns:
            peers = tuple(replace(p, dns_visible=patterns)
                          if isinstance(p, DomainPeer) and p.syntax is NamePattern.CILIUM
                          else p for p in r.peers)
            hidden = [p for p in r.peers if isinstance(p, DomainPeer) and p.syntax is NamePattern.CILIUM
                      and not any(dns_pattern_matches(pat, p.pattern) for pat in patterns)]
            if hidden:
                notes.append((r, f"{r.policy.display} {r.label} ({r.policy.file}:{r.line}) allows "
                              f"{', '.join(str(p) for p in hidden)}, but this endpoint's DNS rules "
                              f"({', '.join(patterns)}) let only some of those names resolve: the others match "
                              "nothing (CIL-21, CIL-22)"))
        else:
            peers = tuple(p for p in r.peers if not (isinstance(p, DomainPeer) and p.syntax is NamePattern.CILIUM))
            notes.append((r, f"{r.policy.display} {r.label} ({r.policy.file}:{r.line}) allows {names}, but no egress "
                          "DNS rule (toPorts 53 with rules.dns) gives the DNS proxy visibility of this endpoint's "
                          "lookups: Cilium learns no address for those names and the rule allows nothing (CIL-21)"))
        kept.append(replace(r, peers=peers))
    return kept, notes
