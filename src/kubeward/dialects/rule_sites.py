"""Where a policy kind keeps its rules, which of them allow, and how a rule is read as allowing
nothing: the part of strict reading (:mod:`.strict`, NP-29) that the dialects' own admission
checks (:class:`._reader.Reader`) share.

A malformed part inside an *allow* rule (or inside a list of allow rules) makes that rule allow
nothing; a malformed part anywhere else in a policy makes the policy rejected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..ir import NoPeer, Policy, Rule
from ..loader import LList, LMap, RawObject
from ..model import AuthorizationPolicy

__all__ = ["RULE_LAYOUTS", "RuleSite", "allow_nothing", "mesh_rules_match_nothing", "rule_site", "value_at"]


@dataclass(frozen=True, slots=True)
class RuleSite:
    """The allow rule (``spec.ingress[0]``) or list of allow rules (``spec.ingress``) a problem lies in."""

    path: str

    def holds(self, rule_path: str) -> bool:
        return rule_path == self.path or rule_path.startswith(self.path + "[")


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where a policy kind keeps its rules, and which of them allow.

    ``sections``: the rule lists under a spec; ``allow_sections``: those whose every rule allows
    (a problem in the list itself then makes the whole list allow nothing); ``action``: the key
    of a rule's own action, or of the spec's action (``spec_action``), and the values that allow.
    """

    sections: tuple[str, ...]
    allow_sections: tuple[str, ...] = ()
    action: str = ""
    spec_action: str = ""
    allowing: frozenset[str] = frozenset()
    default_action: str = ""
    multi_spec: bool = False  # Cilium: ``specs[k]`` as well as ``spec``


_NP = _Layout(("ingress", "egress"), allow_sections=("ingress", "egress"))
# ANP-16: Allow (Accept in v1alpha2) rules allow; Deny and Pass rules decide against later rules.
_ANP = _Layout(("ingress", "egress"), action="action", allowing=frozenset({"Allow"}))
_CNP = _Layout(("ingress", "egress"), action="action", allowing=frozenset({"Accept"}))
# CIL-27: ingress/egress allow; ingressDeny/egressDeny deny.
_CILIUM = _Layout(("ingress", "egress", "ingressDeny", "egressDeny"), allow_sections=("ingress", "egress"),
                  multi_spec=True)
# CAL-22: Allow and Log rules never deny; Deny and Pass rules do.
_CALICO = _Layout(("ingress", "egress"), action="action", allowing=frozenset({"Allow", "Log"}))
# IST-27: the rules of an ALLOW (or AUDIT) policy allow; DENY and CUSTOM ones deny.
_ISTIO = _Layout(("rules",), spec_action="action", allowing=frozenset({"ALLOW", "AUDIT"}), default_action="ALLOW")

RULE_LAYOUTS: dict[tuple[str, str], _Layout] = {
    ("networking.k8s.io", "NetworkPolicy"): _NP,
    ("policy.networking.k8s.io", "AdminNetworkPolicy"): _ANP,
    ("policy.networking.k8s.io", "BaselineAdminNetworkPolicy"): _ANP,
    ("policy.networking.k8s.io", "ClusterNetworkPolicy"): _CNP,
    ("cilium.io", "CiliumNetworkPolicy"): _CILIUM,
    ("cilium.io", "CiliumClusterwideNetworkPolicy"): _CILIUM,
    ("projectcalico.org", "NetworkPolicy"): _CALICO,
    ("projectcalico.org", "GlobalNetworkPolicy"): _CALICO,
    ("crd.projectcalico.org", "NetworkPolicy"): _CALICO,
    ("crd.projectcalico.org", "GlobalNetworkPolicy"): _CALICO,
    **{(group, kind): _CALICO for group in ("projectcalico.org", "crd.projectcalico.org")
       for kind in ("StagedNetworkPolicy", "StagedGlobalNetworkPolicy")},
    **{(group, "StagedKubernetesNetworkPolicy"): _NP for group in ("projectcalico.org", "crd.projectcalico.org")},
    ("security.istio.io", "AuthorizationPolicy"): _ISTIO,
    ("security.istio.io", "PeerAuthentication"): _Layout(()),
}
"""The policy kinds: every problem of one of these decides between "this rule allows nothing"
and "the policy is rejected"; every other kind is an object the cluster has or has not."""

_RULE_PATH = re.compile(r"(?P<spec>spec|specs\[\d+\])\.(?P<section>\w+)(?:\[(?P<index>\d+)\])?(?=$|[.\[])")


def rule_site(obj: RawObject, path: str) -> RuleSite | None:
    """The allow rule, or list of allow rules, of ``obj`` that ``path`` lies in; None when the
    path is elsewhere (or in a rule that denies, passes, or whose action cannot be read)."""
    layout = RULE_LAYOUTS.get((obj.group, obj.kind))
    found = _RULE_PATH.match(path)
    if layout is None or found is None or found["section"] not in layout.sections:
        return None
    if found["spec"] != "spec" and not layout.multi_spec:
        return None
    section = f"{found['spec']}.{found['section']}"
    if found["index"] is None:
        if found["section"] in layout.allow_sections:
            return RuleSite(section)
        if layout.spec_action and _spec_action(obj, layout) in layout.allowing:
            return RuleSite(section)
        return None
    rule = f"{section}[{found['index']}]"
    if found["section"] in layout.allow_sections:
        return RuleSite(rule)
    if layout.spec_action:
        return RuleSite(rule) if _spec_action(obj, layout) in layout.allowing else None
    if layout.action:
        item = value_at(obj.data, rule)
        action = item.get(layout.action) if isinstance(item, LMap) else None
        return RuleSite(rule) if isinstance(action, str) and action in layout.allowing else None
    return None


def _spec_action(obj: RawObject, layout: _Layout) -> object:
    spec = obj.data.get("spec")
    action = spec.get(layout.spec_action) if isinstance(spec, LMap) else None
    return layout.default_action if action is None else action


_STEP = re.compile(r"\.?([^.\[\]]+)|\[([^\]]*)\]")


def value_at(data: LMap, path: str) -> object:
    """The value at ``path`` (``spec.ingress[0]``) in ``data``, None when it has none."""
    node: object = data
    for name, index in _STEP.findall(path):
        if isinstance(node, LMap) and name and name in node:
            node = node[name]
        elif isinstance(node, LList) and index.isdigit() and int(index) < len(node):
            node = node[int(index)]
        elif isinstance(node, LMap) and index in node:
            node = node[index]
        else:
            return None
    return node


def allow_nothing(policy: Policy, broken: dict[str, str]) -> Policy:
    """``policy`` with each rule written at a path of ``broken`` (or inside it) matching nothing,
    its reason as its one peer: a malformed allow rule allows nothing (NP-29)."""
    if not broken:
        return policy
    sites = [(RuleSite(path), why) for path, why in broken.items()]

    def fixed(rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
        out: list[Rule] = []
        for rule in rules:
            why = next((w for site, w in sites if rule.path and site.holds(rule.path)), "")
            out.append(replace(rule, peers=(NoPeer(why),), ports=(), l7=None) if why else rule)
        return tuple(out)

    return replace(policy, ingress=fixed(policy.ingress), egress=fixed(policy.egress))


def mesh_rules_match_nothing(policy: AuthorizationPolicy, broken: dict[str, str]) -> AuthorizationPolicy:
    """``policy`` with each rule written at (or inside) a path of ``broken`` matching no request,
    its reason said by the trace (IST-27)."""
    if not broken or policy.rules is None:
        return policy
    sites = [(RuleSite(path), why) for path, why in broken.items()]
    rules = []
    for rule in policy.rules:
        path = f"spec.rules[{rule.index}]"
        why = next((w for site, w in sites if site.holds(path)), "")
        rules.append(replace(rule, unreadable=why) if why else rule)
    return replace(policy, rules=tuple(rules))
