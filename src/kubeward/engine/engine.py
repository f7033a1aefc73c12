"""The engine: identities, every policy bound once, and the rules that decide each side."""

from __future__ import annotations

from collections.abc import Iterable

from ..diagnostics import Diagnostics, Leans
from ..ir import Direction, Policy, Rule, Tier
from ..model import Cluster
from .evaluate import OPEN_EGRESS, OPEN_INGRESS, SideRules
from .options import Options
from .universe import Endpoint, Identity, Universe, bits


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
        order = {Tier.ADMIN: 0, Tier.NETWORK_POLICY: 1, Tier.BASELINE: 2}
        policies = sorted(self.cluster.policies, key=lambda p: (
            order[p.tier], p.priority if p.priority is not None else 0, p.ref.kind, p.ref.namespace, p.ref.name))
        per_identity: dict[int, list[Policy]] = {}
        for policy in policies:
            mask = u.subject_mask(policy.subject)
            self.subject_masks[id(policy)] = mask
            for i in bits(mask):
                per_identity.setdefault(i, []).append(policy)
        self._check_priorities(policies)
        for ident in u.identities:
            for direction in (Direction.INGRESS, Direction.EGRESS):
                self._sides[(ident.index, direction)] = self._side_for(ident, direction,
                                                                       per_identity.get(ident.index, []))

    def _side_for(self, ident: Identity, direction: Direction, policies: list[Policy]) -> SideRules:
        if ident.host_network:
            # NP-25 / ANP-8: hostNetwork pods are never selected as subjects.
            return SideRules(direction, (), (), (), (), host_network=True)
        admin: list[Rule] = []
        baseline: list[Rule] = []
        isolating: list[Policy] = []
        np_rules: list[Rule] = []
        for p in policies:
            rules = p.rules(direction)
            if p.tier is Tier.ADMIN:
                admin.extend(rules)
            elif p.tier is Tier.BASELINE:
                baseline.extend(rules)
            elif direction in p.isolates:
                isolating.append(p)
                np_rules.extend(rules)
        # Pure isolation policies (no rule in this direction: default deny) are named first.
        isolating.sort(key=lambda p: (bool(p.rules(direction)), p.ref.name))
        side = SideRules(direction, tuple(admin), tuple(isolating), tuple(np_rules), tuple(baseline))
        if side.open:
            return OPEN_INGRESS if direction is Direction.INGRESS else OPEN_EGRESS
        return self._interned.setdefault(side, side)

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
                            a.ref.file, a.priority_line or a.ref.line, a.ref.display, Leans.EITHER)

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
