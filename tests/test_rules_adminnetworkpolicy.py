"""Specification tests for AdminNetworkPolicy / BaselineAdminNetworkPolicy (v1alpha1) and
ClusterNetworkPolicy (v1alpha2), one rule of semantics.md §3 at a time (ANP-1 … ANP-13).
Each test names the rule it pins down; each would fail if that rule were implemented wrongly.

Not tested, with the reason:
* ANP-7, second half (related ICMP is accepted with the connection): ICMP is not a protocol
  kubeward evaluates (NP-8). The first half (replies) is tested through what kubeward models.
* ANP-13 (Calico's kube-admin / kube-baseline tier orders): Calico-specific; kubeward offers only
  the generic upstream semantics (--cni generic), which the other tests pin down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubeward import Analysis, Explanation, Severity, UsageError
from kubeward.engine.trace import Reason
from kubeward.ir import Direction
from rules_helpers import (
    EGRESS,
    EVERY_PORT,
    INGRESS,
    analyse,
    analyse_with_domains,
    anp,
    banp,
    cnp,
    codes,
    decisive,
    deployment,
    flow,
    labels,
    mapped,
    namespace,
    netpol,
    node,
    pod,
    side_steps,
)

Obj = dict[str, Any]

EVERYONE: Obj = {"namespaces": {}}                       # subject / peer: all pods
ALL_BUT_TCP_80 = {"TCP": [[1, 79], [81, 65535]], "UDP": [[1, 65535]], "SCTP": [[1, 65535]]}


def pods(ns: Obj | None = None, **pod_labels: str) -> Obj:
    """A `pods` subject or peer: namespaceSelector AND podSelector."""
    return {"pods": {"namespaceSelector": ns if ns is not None else {},
                     "podSelector": labels(**pod_labels) if pod_labels else {}}}


def in_ns(**ns_labels: str) -> Obj:
    """A `namespaces` subject or peer."""
    return {"namespaces": labels(**ns_labels)}


def ing(action: str, *peers: Obj, ports: list[Obj] | None = None, key: str = "ports") -> Obj:
    rule: Obj = {"action": action, "from": list(peers)}
    if ports is not None:
        rule[key] = ports
    return rule


def eg(action: str, *peers: Obj, ports: list[Obj] | None = None, key: str = "ports") -> Obj:
    rule: Obj = {"action": action, "to": list(peers)}
    if ports is not None:
        rule[key] = ports
    return rule


def networks(*cidrs: str) -> Obj:
    return {"networks": list(cidrs)}


def port(number: int, protocol: str | None = None) -> Obj:
    pn: Obj = {"port": number}
    if protocol:
        pn["protocol"] = protocol
    return {"portNumber": pn}


def cluster(*objects: Obj, **options: Any) -> Analysis:
    """Namespaces a (env=prod) and b (env=dev), each with a client and a web pod (80, http=8080)."""
    return analyse(namespace("a", env="prod"), namespace("b", env="dev"),
                   pod("a/client"), pod("a/web", ports=[80, ("http", 8080)]),
                   pod("b/client"), pod("b/web", ports=[80, ("http", 8080)]), *objects, **options)


def assert_rule(exp: Explanation, direction: Direction, kind: str, name: str, rule: int, effect: str,
                tier: str) -> None:
    """The step of ``direction`` with an effect (allow/deny/pass) came from that rule."""
    steps = [s for s in side_steps(exp, direction) if s.reason is Reason.RULE_MATCHED]
    assert steps, f"no rule matched on {direction.value}: {exp.verdict.steps}"
    s = steps[-1]
    assert s.policy is not None
    assert (s.policy.kind, s.policy.name, s.rule, s.effect, s.tier) == (kind, name, rule, effect, tier)


def assert_default_allow(exp: Explanation, direction: Direction) -> None:
    step = decisive(exp, direction)
    assert (step.reason, step.tier, step.effect) == (Reason.DEFAULT_ALLOW, "default", "allow")


def assert_np_decided(exp: Explanation, direction: Direction, policy: str, allowed: bool) -> None:
    step = decisive(exp, direction)
    assert step.tier == "networkpolicy"
    assert step.reason is (Reason.ALLOWED_BY_RULE if allowed else Reason.NO_RULE_MATCHED)
    assert step.policy is not None and f"{step.policy.namespace}/{step.policy.name}" == policy


def error_codes(analysis: Analysis) -> list[str]:
    return [d.code for d in analysis.diagnostics.items if d.severity is Severity.ERROR]


KNP_DENY_WEB = netpol("a/deny-web", podSelector=labels(app="web"), policyTypes=["Ingress"])
KNP_ALLOW_A_CLIENT = netpol("a/allow-client", podSelector=labels(app="web"),
                            ingress=[{"from": [{"podSelector": labels(app="client")}]}])


# ----------------------------------------------------------------------------- 3.1 tiers


def test_anp1_an_admin_allow_is_decided_before_a_networkpolicy_default_deny() -> None:
    """ANP-1/ANP-3: ANP Allow is final; the KNP tier never sees the flow."""
    a = cluster(KNP_DENY_WEB, anp("allow-client", 10, pods(app="web"), ingress=[ing("Allow", pods(app="client"))]))
    exp = flow(a, "a/client", "a/web", 80)
    assert exp.allowed
    assert_rule(exp, INGRESS, "AdminNetworkPolicy", "allow-client", 0, "allow", "admin")
    assert decisive(exp, INGRESS).reason is Reason.RULE_MATCHED
    assert mapped(a, "a/client", "a/web") == EVERY_PORT
    assert mapped(a, "0.0.0.0/0", "a/web") is None  # the KNP still denies the rest


def test_anp1_an_admin_deny_is_decided_before_a_networkpolicy_allow() -> None:
    """ANP-1/ANP-3: ANP Deny is final; a KNP allow cannot reopen it."""
    a = cluster(KNP_ALLOW_A_CLIENT, anp("deny-80", 10, pods(app="web"),
                                        ingress=[ing("Deny", EVERYONE, ports=[port(80)])]))
    exp = flow(a, "a/client", "a/web", 80)
    assert not exp.allowed
    assert_rule(exp, INGRESS, "AdminNetworkPolicy", "deny-80", 0, "deny", "admin")
    assert decisive(exp, INGRESS).effect == "deny"
    assert mapped(a, "a/client", "a/web") == ALL_BUT_TCP_80


def test_anp1_a_networkpolicy_is_decided_before_the_baseline_tier() -> None:
    """ANP-1/ANP-4: a KNP selecting the pod decides; the BANP is not consulted."""
    a = cluster(KNP_ALLOW_A_CLIENT,
                banp(EVERYONE, ingress=[ing("Deny", pods(app="client")), ing("Allow", EVERYONE)]))
    exp = flow(a, "a/client", "a/web", 80)
    assert exp.allowed
    assert_np_decided(exp, INGRESS, "a/allow-client", allowed=True)
    assert not [s for s in side_steps(exp, INGRESS) if s.tier == "baseline"]
    other = flow(a, "b/web", "a/web", 80)  # BANP would allow; the KNP denies
    assert not other.allowed
    assert_np_decided(other, INGRESS, "a/allow-client", allowed=False)


def test_anp1_the_baseline_tier_decides_for_pods_no_networkpolicy_selects() -> None:
    """ANP-1: admin (no match) → KNP (none) → baseline decides."""
    a = cluster(banp(in_ns(env="prod"), ingress=[ing("Deny", in_ns(env="dev"))]))
    exp = flow(a, "b/client", "a/web", 80)
    assert not exp.allowed
    assert_rule(exp, INGRESS, "BaselineAdminNetworkPolicy", "default", 0, "deny", "baseline")
    assert mapped(a, "b/client", "a/web") is None
    assert mapped(a, "a/client", "a/web") == EVERY_PORT


def test_anp1_when_no_tier_decides_the_flow_is_allowed_by_default() -> None:
    """ANP-1: the last step is the Kubernetes default allow."""
    a = cluster(anp("deny-dev", 10, pods(app="web"), ingress=[ing("Deny", in_ns(env="dev"))]),
                banp(EVERYONE, ingress=[ing("Deny", in_ns(env="dev"))]))
    exp = flow(a, "a/client", "a/web", 80)
    assert exp.allowed
    assert_default_allow(exp, INGRESS)


def test_anp1_cluster_network_policy_tiers_run_admin_then_networkpolicy_then_baseline() -> None:
    """ANP-1 (v1alpha2): tier order beats priority: Admin priority 1000 precedes Baseline 0."""
    admin_deny = cnp("admin-deny", "Admin", 1000, pods(app="web"),
                     ingress=[ing("Deny", pods(app="client"), ports=[{"tcp": {"destinationPort": {"number": 80}}}],
                                  key="protocols")])
    baseline_accept = cnp("baseline-accept", "Baseline", 0, EVERYONE, ingress=[ing("Accept", EVERYONE)])
    baseline_deny = cnp("baseline-deny", "Baseline", 1, EVERYONE, ingress=[ing("Deny", EVERYONE)])
    a = cluster(admin_deny, baseline_accept)
    exp = flow(a, "a/client", "a/web", 80)
    assert not exp.allowed
    assert_rule(exp, INGRESS, "ClusterNetworkPolicy", "admin-deny", 0, "deny", "admin")
    assert_rule(flow(a, "a/client", "a/web", 81), INGRESS, "ClusterNetworkPolicy", "baseline-accept", 0,
                "allow", "baseline")
    # the KNP tier sits between: it overrides a Baseline Deny
    b = cluster(KNP_ALLOW_A_CLIENT, baseline_deny)
    assert_np_decided(flow(b, "a/client", "a/web", 80), INGRESS, "a/allow-client", allowed=True)
    assert_rule(flow(b, "a/web", "b/web", 80), INGRESS, "ClusterNetworkPolicy", "baseline-deny", 0,
                "deny", "baseline")


# ----------------------------------------------------------------------------- ANP-2 priority


@pytest.mark.parametrize("deny_priority,allow_priority,allowed", [
    (10, 20, False),
    (20, 10, True),
    (10, 9, True),   # numeric, not lexicographic ("10" < "9")
    (0, 1000, False),
])
def test_anp2_the_lower_priority_number_is_evaluated_first(deny_priority: int, allow_priority: int,
                                                            allowed: bool) -> None:
    """ANP-2: priorities order the admin tier (names and document order do not)."""
    deny = anp("a-deny", deny_priority, pods(app="web"), ingress=[ing("Deny", EVERYONE)])
    allow = anp("z-allow", allow_priority, pods(app="web"), ingress=[ing("Allow", EVERYONE)])
    for objects in ((deny, allow), (allow, deny)):
        a = cluster(*objects)
        exp = flow(a, "a/client", "a/web", 80)
        assert exp.allowed is allowed
        winner = "z-allow" if allowed else "a-deny"
        assert_rule(exp, INGRESS, "AdminNetworkPolicy", winner, 0, "allow" if allowed else "deny", "admin")


def test_anp2_baseline_cluster_network_policies_are_ordered_by_priority_too() -> None:
    """ANP-2 (v1alpha2): the Baseline tier has priorities."""
    a = cluster(cnp("a-deny", "Baseline", 5, EVERYONE, ingress=[ing("Deny", EVERYONE)]),
                cnp("z-accept", "Baseline", 1, EVERYONE, ingress=[ing("Accept", pods(app="client"))]))
    assert_rule(flow(a, "a/client", "a/web", 80), INGRESS, "ClusterNetworkPolicy", "z-accept", 0,
                "allow", "baseline")
    assert_rule(flow(a, "a/web", "b/web", 80), INGRESS, "ClusterNetworkPolicy", "a-deny", 0,
                "deny", "baseline")


def test_anp2_inside_one_policy_the_first_matching_rule_decides_port_by_port() -> None:
    """ANP-2: rules top-down; a later rule only sees the ports earlier rules left undecided."""
    a = cluster(anp("p", 10, pods(app="web"),
                    ingress=[ing("Deny", EVERYONE, ports=[port(80)]), ing("Allow", EVERYONE),
                             ing("Deny", EVERYONE)]),
                KNP_DENY_WEB)
    assert_rule(flow(a, "a/client", "a/web", 80), INGRESS, "AdminNetworkPolicy", "p", 0, "deny", "admin")
    assert_rule(flow(a, "a/client", "a/web", 81), INGRESS, "AdminNetworkPolicy", "p", 1, "allow", "admin")
    assert mapped(a, "a/client", "a/web") == ALL_BUT_TCP_80


def test_anp2_a_rule_after_the_deciding_rule_is_not_consulted() -> None:
    """ANP-2: first match decides; a later contradicting rule for the same port never applies."""
    a = cluster(anp("p", 10, pods(app="web"), ingress=[ing("Allow", EVERYONE, ports=[port(80)]),
                                                       ing("Deny", EVERYONE, ports=[port(80)])]))
    exp = flow(a, "a/client", "a/web", 80)
    assert exp.allowed
    assert not [s for s in side_steps(exp, INGRESS) if s.rule == 1 and s.effect != "none"]


def test_anp2_a_rule_whose_ports_miss_the_flows_port_is_traced_as_a_port_mismatch_not_as_shadowed() -> None:
    """ANP-2 trace: SHADOWED is for ports an earlier rule decided; here no rule decided port 81."""
    a = cluster(anp("p", 10, pods(app="web"), ingress=[ing("Allow", EVERYONE, ports=[port(80)])]))
    exp = flow(a, "a/client", "a/web", 81)
    assert exp.allowed
    assert [(s.rule, s.reason) for s in side_steps(exp, INGRESS) if s.rule is not None] == \
        [(0, Reason.PORT_MISMATCH)]


def test_anp2_baseline_admin_network_policy_rules_are_evaluated_top_down() -> None:
    """ANP-2: BANP rules are ordered by position as well."""
    a = cluster(banp(EVERYONE, ingress=[ing("Allow", pods(app="client")), ing("Deny", EVERYONE)]))
    assert_rule(flow(a, "a/client", "a/web", 80), INGRESS, "BaselineAdminNetworkPolicy", "default", 0,
                "allow", "baseline")
    assert_rule(flow(a, "a/web", "b/web", 80), INGRESS, "BaselineAdminNetworkPolicy", "default", 1,
                "deny", "baseline")


def test_anp2_equal_priorities_over_the_same_pods_are_reported_as_ambiguous() -> None:
    """ANP-2: which of two equal-priority policies wins is undefined upstream."""
    overlap = cluster(anp("one", 7, pods(app="web"), ingress=[ing("Deny", EVERYONE)]),
                      anp("two", 7, in_ns(env="prod"), ingress=[ing("Allow", EVERYONE)]))
    assert "ambiguous-priority" in error_codes(overlap)
    disjoint = cluster(anp("one", 7, in_ns(env="dev"), ingress=[ing("Deny", EVERYONE)]),
                       anp("two", 7, in_ns(env="prod"), ingress=[ing("Allow", EVERYONE)]))
    assert "ambiguous-priority" not in codes(disjoint)


# ----------------------------------------------------------------------------- ANP-3 actions


def test_anp3_pass_skips_the_remaining_admin_rules_and_policies() -> None:
    """ANP-3: Pass jumps over every lower-precedence admin rule (here: a Deny)."""
    a = cluster(anp("pass", 1, pods(app="web"), ingress=[ing("Pass", pods(app="client")), ing("Deny", EVERYONE)]),
                anp("deny", 2, pods(app="web"), ingress=[ing("Deny", EVERYONE)]))
    exp = flow(a, "a/client", "a/web", 80)
    assert exp.allowed
    assert [(s.policy.name, s.effect) for s in side_steps(exp, INGRESS)
            if s.reason is Reason.RULE_MATCHED and s.policy] == [("pass", "pass")]
    assert_default_allow(exp, INGRESS)
    # a flow the Pass rule does not match meets the Deny right below it
    assert_rule(flow(a, "a/web", "b/web", 80), INGRESS, "AdminNetworkPolicy", "pass", 1, "deny", "admin")


@pytest.mark.parametrize("knp,allowed", [
    pytest.param(KNP_ALLOW_A_CLIENT, True, id="knp-allows"),
    pytest.param(KNP_DENY_WEB, False, id="knp-denies"),
])
def test_anp3_pass_hands_the_flow_to_the_networkpolicy_tier(knp: Obj, allowed: bool) -> None:
    """ANP-3: after Pass the KNPs selecting the pod decide, whichever way (BANP not consulted)."""
    a = cluster(anp("pass", 1, pods(app="web"), ingress=[ing("Pass", EVERYONE)]), knp,
                banp(EVERYONE, ingress=[ing("Allow" if not allowed else "Deny", EVERYONE)]))
    exp = flow(a, "a/client", "a/web", 80)
    assert exp.allowed is allowed
    assert_np_decided(exp, INGRESS, f"a/{knp['metadata']['name']}", allowed)


def test_anp3_pass_without_a_selecting_networkpolicy_goes_to_the_baseline_tier() -> None:
    """ANP-3: if no KNP selects the pod, the BANP decides a passed flow."""
    a = cluster(anp("pass", 1, pods(app="web"), ingress=[ing("Pass", EVERYONE)]),
                anp("allow", 2, pods(app="web"), ingress=[ing("Allow", EVERYONE)]),
                banp(EVERYONE, ingress=[ing("Deny", pods(app="client"))]))
    exp = flow(a, "a/client", "a/web", 80)
    assert not exp.allowed
    assert_rule(exp, INGRESS, "BaselineAdminNetworkPolicy", "default", 0, "deny", "baseline")


def test_anp3_an_admin_allow_cannot_be_blocked_by_a_networkpolicy_or_the_baseline() -> None:
    """ANP-3: v1alpha1 Allow is final in both directions' admin tier."""
    a = cluster(anp("allow", 1, EVERYONE, egress=[eg("Allow", pods(app="web"))]),
                netpol("a/deny-out", podSelector={}, policyTypes=["Egress"]),
                banp(EVERYONE, egress=[eg("Deny", EVERYONE)]))
    exp = flow(a, "a/client", "a/web", 80)
    assert exp.allowed
    assert_rule(exp, EGRESS, "AdminNetworkPolicy", "allow", 0, "allow", "admin")
    assert decisive(exp, EGRESS).reason is Reason.RULE_MATCHED


def test_anp3_baseline_admin_network_policy_has_no_pass_action() -> None:
    """ANP-3: BANP actions are Allow and Deny only; the CRD refuses a Pass rule, so the policy is
    rejected (issue 12, ANP-16): not enforced, and the trace says so."""
    a = cluster(banp(EVERYONE, ingress=[ing("Pass", EVERYONE), ing("Deny", pods(app="client"))]))
    assert "invalid-action" in error_codes(a)
    exp = flow(a, "a/client", "a/web", 80)
    assert exp.allowed
    assert [s.reason for s in side_steps(exp, INGRESS)][0] is Reason.POLICY_REJECTED


@pytest.mark.parametrize("kind,action", [
    pytest.param("anp", "Accept", id="v1alpha1-Accept"),
    pytest.param("cnp", "Allow", id="v1alpha2-Allow"),
])
def test_anp3_each_api_version_accepts_only_its_own_action_names(kind: str, action: str) -> None:
    """ANP-3: v1alpha1 says Allow, v1alpha2 says Accept; the other spelling is invalid."""
    rule = [ing(action, EVERYONE)]
    policy = anp("p", 1, EVERYONE, ingress=rule) if kind == "anp" else cnp("p", "Admin", 1, EVERYONE, ingress=rule)
    a = cluster(policy, KNP_DENY_WEB)
    assert "invalid-action" in error_codes(a)
    assert not flow(a, "a/client", "a/web", 80).allowed  # the rule is ignored, the KNP denies


def test_anp3_cluster_network_policy_accept_in_the_admin_tier_is_final() -> None:
    """ANP-3 (v1alpha2): Accept; KNPs and the Baseline tier cannot block it."""
    a = cluster(cnp("accept", "Admin", 5, pods(app="web"), ingress=[ing("Accept", pods(app="client"))]),
                KNP_DENY_WEB, cnp("base-deny", "Baseline", 0, EVERYONE, ingress=[ing("Deny", EVERYONE)]))
    exp = flow(a, "a/client", "a/web", 80)
    assert exp.allowed
    assert_rule(exp, INGRESS, "ClusterNetworkPolicy", "accept", 0, "allow", "admin")
    assert mapped(a, "a/client", "a/web") == EVERY_PORT
    assert mapped(a, "b/client", "a/web") == EVERY_PORT  # pods(app=client) spans namespaces
    assert mapped(a, "b/web", "a/web") is None


def test_anp3_cluster_network_policy_pass_from_the_admin_tier_goes_to_networkpolicies() -> None:
    """ANP-3 (v1alpha2): Admin Pass skips later Admin policies; the KNP tier decides."""
    a = cluster(cnp("pass", "Admin", 1, pods(app="web"), ingress=[ing("Pass", pods(app="client"))]),
                cnp("deny", "Admin", 2, pods(app="web"), ingress=[ing("Deny", EVERYONE)]),
                KNP_ALLOW_A_CLIENT)
    exp = flow(a, "a/client", "a/web", 80)
    assert exp.allowed
    assert_np_decided(exp, INGRESS, "a/allow-client", allowed=True)
    assert_rule(flow(a, "b/web", "a/web", 80), INGRESS, "ClusterNetworkPolicy", "deny", 0, "deny", "admin")


def test_anp3_cluster_network_policy_pass_from_the_baseline_tier_means_default_allow() -> None:
    """ANP-3 (v1alpha2): Baseline Pass skips the rest of the Baseline tier: default allow."""
    a = cluster(cnp("pass", "Baseline", 1, pods(app="web"), ingress=[ing("Pass", pods(app="client"))]),
                cnp("deny", "Baseline", 2, pods(app="web"), ingress=[ing("Deny", EVERYONE)]))
    exp = flow(a, "a/client", "a/web", 80)
    assert exp.allowed
    assert_rule(exp, INGRESS, "ClusterNetworkPolicy", "pass", 0, "pass", "baseline")
    assert_default_allow(exp, INGRESS)
    assert mapped(a, "a/client", "a/web") == EVERY_PORT
    assert mapped(a, "b/web", "a/web") is None


# ----------------------------------------------------------------------------- ANP-4 … ANP-7


def test_anp4_a_networkpolicy_for_one_direction_leaves_the_other_direction_to_the_baseline() -> None:
    """ANP-4: the KNP tier decides only directions a KNP isolates."""
    a = cluster(netpol("a/web-egress", podSelector=labels(app="web"), policyTypes=["Egress"]),
                banp(EVERYONE, ingress=[ing("Deny", pods(app="client"))]))
    exp = flow(a, "a/client", "a/web", 80)
    assert not exp.allowed
    assert_rule(exp, INGRESS, "BaselineAdminNetworkPolicy", "default", 0, "deny", "baseline")


def test_anp4_a_selecting_networkpolicy_decides_finally_even_where_the_baseline_would_allow() -> None:
    """ANP-4: isolated and no KNP rule matches ⇒ denied; the BANP Allow is never reached."""
    a = cluster(KNP_ALLOW_A_CLIENT, banp(EVERYONE, ingress=[ing("Allow", in_ns(env="dev"))]))
    exp = flow(a, "b/client", "a/web", 80)
    assert not exp.allowed
    assert_np_decided(exp, INGRESS, "a/allow-client", allowed=False)


def test_anp5_admin_and_baseline_policies_do_not_isolate_their_subjects() -> None:
    """ANP-5: a policy whose rules do not match the flow leaves it to the default allow."""
    for policy in (anp("allow-dev", 1, pods(app="web"), ingress=[ing("Allow", in_ns(env="dev"))]),
                   banp(pods(app="web"), ingress=[ing("Allow", in_ns(env="dev"))]),
                   cnp("accept-dev", "Admin", 1, pods(app="web"), ingress=[ing("Accept", in_ns(env="dev"))])):
        a = cluster(policy)
        exp = flow(a, "a/client", "a/web", 80)
        assert exp.allowed
        assert_default_allow(exp, INGRESS)
        assert mapped(a, "a/client", "a/web") == EVERY_PORT
        assert mapped(a, "0.0.0.0/0", "a/web") == EVERY_PORT


def test_anp6_an_admin_egress_allow_does_not_override_the_destinations_ingress_side() -> None:
    """ANP-6: both ends apply; the destination's KNP (or ANP) ingress still counts."""
    egress_allow = anp("out", 1, pods(app="client"), egress=[eg("Allow", pods(app="web"))])
    a = cluster(egress_allow, KNP_DENY_WEB)
    exp = flow(a, "a/client", "a/web", 80)
    assert not exp.allowed
    assert_rule(exp, EGRESS, "AdminNetworkPolicy", "out", 0, "allow", "admin")
    assert_np_decided(exp, INGRESS, "a/deny-web", allowed=False)
    b = cluster(egress_allow, anp("in", 2, pods(app="web"), ingress=[ing("Deny", in_ns(env="prod"))]))
    exp = flow(b, "a/client", "a/web", 80)
    assert not exp.allowed
    assert_rule(exp, EGRESS, "AdminNetworkPolicy", "out", 0, "allow", "admin")
    assert_rule(exp, INGRESS, "AdminNetworkPolicy", "in", 0, "deny", "admin")
    assert mapped(b, "a/client", "a/web") is None


def test_anp7_an_accepted_connection_needs_nothing_for_its_replies() -> None:
    """ANP-7: replies are accepted; the destination's egress Deny back to the source is not consulted."""
    a = cluster(anp("web-out", 1, pods(app="web"), egress=[eg("Deny", EVERYONE)]),
                anp("web-in", 2, pods(app="web"), ingress=[ing("Allow", pods(app="client"))]))
    exp = flow(a, "a/client", "a/web", 80)
    assert exp.allowed
    assert not [s for s in exp.verdict.steps if s.subject == "a/web" and s.direction is EGRESS]
    assert mapped(a, "a/web", "a/client") is None


# ----------------------------------------------------------------------------- 3.2 subjects


def test_anp8_a_namespaces_subject_selects_every_pod_of_the_selected_namespaces() -> None:
    """ANP-8: `subject.namespaces`."""
    a = cluster(anp("p", 1, in_ns(env="prod"), ingress=[ing("Deny", EVERYONE)]))
    for dst in ("a/web", "a/client"):
        assert_rule(flow(a, "b/client", dst, 80), INGRESS, "AdminNetworkPolicy", "p", 0, "deny", "admin")
    outside = flow(a, "a/client", "b/web", 80)
    assert outside.allowed
    assert not [s for s in side_steps(outside, INGRESS) if s.policy is not None]


def test_anp8_a_pods_subject_ands_its_namespace_and_pod_selectors() -> None:
    """ANP-8: `subject.pods` = podSelector inside namespaceSelector."""
    a = cluster(anp("p", 1, pods(labels(env="prod"), app="web"), ingress=[ing("Deny", EVERYONE)]))
    assert_rule(flow(a, "b/client", "a/web", 80), INGRESS, "AdminNetworkPolicy", "p", 0, "deny", "admin")
    assert flow(a, "b/client", "a/client", 80).allowed   # right namespace, wrong labels
    assert flow(a, "a/client", "b/web", 80).allowed      # right labels, wrong namespace


def test_anp8_a_cluster_network_policy_pods_subject_without_namespace_selector_spans_all_namespaces() -> None:
    """ANP-8 (v1alpha2): namespaceSelector is optional; absent = all namespaces."""
    a = cluster(cnp("p", "Admin", 1, {"pods": {"podSelector": labels(app="web")}},
                    ingress=[ing("Deny", EVERYONE)]))
    for dst in ("a/web", "b/web"):
        assert_rule(flow(a, "a/client", dst, 80), INGRESS, "ClusterNetworkPolicy", "p", 0, "deny", "admin")
    assert flow(a, "a/web", "b/client", 80).allowed


def test_anp8_host_network_pods_are_never_subjects() -> None:
    """ANP-8: hostNetwork pods are not selected, not even by `namespaces: {}`."""
    a = cluster(pod("a/agent", ip="192.168.1.10", host_network=True),
                anp("p", 1, EVERYONE, ingress=[ing("Deny", EVERYONE)], egress=[eg("Deny", EVERYONE)]))
    exp = flow(a, "world", "a/agent", 80)
    assert exp.allowed
    assert decisive(exp, INGRESS).reason is Reason.HOST_NETWORK
    assert decisive(flow(a, "a/agent", "world", 80), EGRESS).reason is Reason.HOST_NETWORK


@pytest.mark.parametrize("subject", [
    pytest.param({"namespaces": {}, "pods": {"namespaceSelector": {}, "podSelector": {}}}, id="both"),
    pytest.param({}, id="neither"),
])
def test_anp8_a_subject_must_set_exactly_one_of_namespaces_and_pods(subject: Obj) -> None:
    """ANP-8: an invalid subject is reported; the policy applies to no pod."""
    a = cluster(anp("p", 1, subject, ingress=[ing("Deny", EVERYONE)]))
    assert {"invalid-subject", "missing-field"} & set(error_codes(a))
    exp = flow(a, "a/client", "a/web", 80)
    assert exp.allowed
    assert not [s for s in exp.verdict.steps if s.policy is not None]


# ----------------------------------------------------------------------------- ANP-9 peers


def test_anp9_a_pods_peer_ands_its_namespace_and_pod_selectors() -> None:
    """ANP-9: `pods` peer = podSelector inside namespaceSelector."""
    a = cluster(anp("p", 1, pods(app="web"), ingress=[ing("Deny", pods(labels(env="dev"), app="client"))]))
    assert_rule(flow(a, "b/client", "a/web", 80), INGRESS, "AdminNetworkPolicy", "p", 0, "deny", "admin")
    assert flow(a, "b/web", "a/web", 80).allowed
    assert flow(a, "a/client", "a/web", 80).allowed


def test_anp9_host_network_pods_are_never_matched_by_namespaces_or_pods_peers() -> None:
    """ANP-9 (with ANP-8): hostNetwork pods are excluded from namespaces/pods peers."""
    a = cluster(pod("a/agent", ip="192.168.1.10", host_network=True),
                anp("p", 1, pods(app="web"), ingress=[ing("Deny", EVERYONE), ing("Deny", pods(app="agent"))]))
    exp = flow(a, "a/agent", "a/web", 80)
    assert exp.allowed
    assert_default_allow(exp, INGRESS)


def test_anp9_a_networks_peer_matches_in_cluster_pods_by_their_ip() -> None:
    """ANP-9: networks apply to in-cluster traffic too."""
    a = analyse(namespace("a"), pod("a/client", ip="10.2.0.4"), pod("a/web", ip="10.1.0.6"),
                pod("a/other", ip="10.2.0.7"),
                anp("p", 1, pods(app="client"), egress=[eg("Deny", networks("10.1.0.0/16"))]))
    assert_rule(flow(a, "a/client", "a/web", 80), EGRESS, "AdminNetworkPolicy", "p", 0, "deny", "admin")
    assert_rule(flow(a, "a/client", "10.1.200.1", 80), EGRESS, "AdminNetworkPolicy", "p", 0, "deny", "admin")
    assert flow(a, "a/client", "a/other", 80).allowed
    assert mapped(a, "a/client", "a/web") is None
    assert mapped(a, "a/client", "a/other") == EVERY_PORT


def test_anp9_a_networks_peer_covering_all_addresses_matches_pods_whose_ip_is_unknown() -> None:
    """ANP-9: `networks: [0.0.0.0/0, ::/0]` matches pod-to-pod traffic, whatever the pod IPs are."""
    a = cluster(anp("p", 1, pods(app="client"), egress=[eg("Deny", networks("0.0.0.0/0", "::/0"))]))
    exp = flow(a, "a/client", "a/web", 80)
    assert not exp.allowed
    assert_rule(exp, EGRESS, "AdminNetworkPolicy", "p", 0, "deny", "admin")


def test_anp9_a_networks_peer_matches_pod_ips_whatever_the_networkpolicy_ip_block_choice() -> None:
    """ANP-9 vs NP-18: ipblock_matches_pods is a KNP (NP-18) choice; ANP networks match pods upstream."""
    a = analyse(namespace("a"), pod("a/client", ip="10.2.0.4"), pod("a/web", ip="10.1.0.6"),
                anp("p", 1, pods(app="client"), egress=[eg("Deny", networks("10.1.0.0/16"))]),
                ipblock_matches_pods=False)
    exp = flow(a, "a/client", "a/web", 80)
    assert not exp.allowed
    assert_rule(exp, EGRESS, "AdminNetworkPolicy", "p", 0, "deny", "admin")


def test_anp9_a_nodes_peer_matches_the_addresses_of_the_selected_nodes() -> None:
    """ANP-9: `nodes` selects Node objects; their status.addresses are the peer."""
    objects = (node("cp-1", {"role": "control"}, "192.168.0.1"), node("w-1", {"role": "worker"}, "192.168.0.2"),
               pod("a/agent", ip="192.168.0.1", host_network=True))
    a = cluster(*objects, anp("p", 1, EVERYONE, egress=[eg("Deny", {"nodes": labels(role="control")})]))
    assert_rule(flow(a, "a/client", "192.168.0.1", 6443), EGRESS, "AdminNetworkPolicy", "p", 0, "deny", "admin")
    assert_rule(flow(a, "a/client", "a/agent", 80), EGRESS, "AdminNetworkPolicy", "p", 0, "deny", "admin")
    assert flow(a, "a/client", "192.168.0.2", 6443).allowed
    assert flow(a, "a/client", "192.168.0.3", 6443).allowed
    assert mapped(a, "a/client", "192.168.0.1/32") is None
    assert mapped(a, "a/client", "192.168.0.2/32") == EVERY_PORT
    every = cluster(*objects, anp("p", 1, EVERYONE, egress=[eg("Deny", {"nodes": {}})]))
    assert not flow(every, "a/client", "192.168.0.2", 6443).allowed
    assert flow(every, "a/client", "192.168.0.3", 6443).allowed


def test_anp9_domain_names_match_exactly_and_star_dot_matches_one_or_more_labels_but_not_the_apex(
        tmp_path: Path) -> None:
    """ANP-9: `*.example.com` matches www.example.com and a.b.example.com, not example.com."""
    names = ["api.example.com", "a.b.example.com", "example.com", "badexample.com", "db.internal.org",
             "x.db.internal.org"]
    a = analyse_with_domains(
        tmp_path, names,
        namespace("a"), pod("a/client"),
        anp("names", 1, EVERYONE, egress=[eg("Allow", {"domainNames": ["*.example.com", "db.internal.org"]})]),
        anp("deny-rest", 2, EVERYONE, egress=[eg("Deny", networks("0.0.0.0/0", "::/0"))]))
    for allowed in ("api.example.com", "a.b.example.com", "db.internal.org"):
        exp = flow(a, "a/client", allowed, 443)
        assert exp.allowed, allowed
        assert_rule(exp, EGRESS, "AdminNetworkPolicy", "names", 0, "allow", "admin")
        assert mapped(a, "a/client", allowed) == EVERY_PORT
    for denied in ("example.com", "badexample.com", "x.db.internal.org"):
        exp = flow(a, "a/client", denied, 443)
        assert not exp.allowed, denied
        assert_rule(exp, EGRESS, "AdminNetworkPolicy", "deny-rest", 0, "deny", "admin")
        assert mapped(a, "a/client", denied) is None


def test_anp9_an_exactly_named_domain_can_be_explained_from_text_input() -> None:
    """ANP-9: a DNS name spelled out in a policy is a domain peer of the analysis."""
    a = cluster(anp("names", 1, EVERYONE, egress=[eg("Allow", {"domainNames": ["api.example.com"]})]),
                banp(EVERYONE, egress=[eg("Deny", networks("0.0.0.0/0", "::/0"))]))
    exp = flow(a, "a/client", "api.example.com", 443)
    assert exp.allowed
    assert_rule(exp, EGRESS, "AdminNetworkPolicy", "names", 0, "allow", "admin")
    assert exp.verdict.destination.endpoint.kind == "fqdn"


def test_anp9_a_dns_name_matched_only_by_a_wildcard_can_be_explained_from_text_input() -> None:
    """ANP-9: `explain(..., "api.example.com")` is a domain peer even if only `*.example.com` names it."""
    a = cluster(anp("names", 1, EVERYONE, egress=[eg("Allow", {"domainNames": ["*.example.com"]})]),
                banp(EVERYONE, egress=[eg("Deny", networks("0.0.0.0/0", "::/0"))]))
    exp = flow(a, "a/client", "api.example.com", 443)
    assert exp.allowed
    assert_rule(exp, EGRESS, "AdminNetworkPolicy", "names", 0, "allow", "admin")


def test_anp9_baseline_admin_network_policy_egress_peers_have_no_domain_names() -> None:
    """ANP-9: BANPEgressPeer is namespaces | pods | nodes | networks; a domainNames peer is unusable
    there, so an Allow with it fails closed (matches nothing) and the next rule decides."""
    a = cluster(banp(EVERYONE, egress=[eg("Allow", {"domainNames": ["api.example.com"]}),
                                       eg("Deny", networks("0.0.0.0/0", "::/0"))]))
    assert error_codes(a)
    exp = flow(a, "a/client", "api.example.com", 443)
    assert not exp.allowed
    assert_rule(exp, EGRESS, "BaselineAdminNetworkPolicy", "default", 1, "deny", "baseline")


def test_anp9_domain_names_in_a_deny_rule_are_reported() -> None:
    """ANP-9: domainNames are only for Allow/Accept rules."""
    a = cluster(anp("p", 1, EVERYONE, egress=[eg("Deny", {"domainNames": ["api.example.com"]})]))
    assert "invalid-peer" in error_codes(a)


# Fail closed (ANP-9): an empty or unusable peer makes an Allow match nothing and a Deny/Pass
# match everything. The peers below the CRD's schema refuses (read strictly, issue 12: an Allow
# with one allows nothing, a Deny or Pass with one makes the policy rejected); an invalid CIDR
# only its CEL rule does, which kubeward does not run, so ANP-9 decides.
BAD_EGRESS_PEERS = [
    pytest.param([{}], id="empty-peer"),
    pytest.param([{"futurePeer": {"x": "y"}}], id="unknown-field"),
    pytest.param([{"namespaces": {}, "pods": {"namespaceSelector": {}, "podSelector": {}}}], id="two-fields"),
    pytest.param([], id="no-peers"),
    pytest.param([{"networks": []}], id="empty-networks"),
]
INVALID_CIDR = [{"networks": ["not-a-cidr"]}]


@pytest.mark.parametrize("peers", [*BAD_EGRESS_PEERS, pytest.param(INVALID_CIDR, id="invalid-cidr")])
def test_anp9_an_allow_rule_with_an_invalid_peer_matches_nothing(peers: list[Obj]) -> None:
    """ANP-9 fail closed: Allow ⇒ matches nothing (here the BANP Deny then decides)."""
    a = cluster(anp("p", 1, EVERYONE, egress=[{"action": "Allow", "to": peers}]),
                banp(EVERYONE, egress=[eg("Deny", EVERYONE)]))
    assert error_codes(a)
    exp = flow(a, "a/client", "a/web", 80)
    assert not exp.allowed
    assert_rule(exp, EGRESS, "BaselineAdminNetworkPolicy", "default", 0, "deny", "baseline")
    assert mapped(a, "a/client", "a/web") is None


@pytest.mark.parametrize("action", ["Deny", "Pass"])
@pytest.mark.parametrize("peers", BAD_EGRESS_PEERS)
def test_anp9_a_deny_or_pass_rule_whose_peer_the_crd_refuses_rejects_the_policy(peers: list[Obj], action: str) -> None:
    """ANP-16 (issue 12): the CRD refuses these peers; a malformed part of a rule that is not an
    Allow makes the whole policy rejected, and every trace it would touch says so."""
    a = cluster(anp("p", 1, pods(app="client"), egress=[{"action": action, "to": peers}]))
    assert error_codes(a)
    exp = flow(a, "a/client", "a/web", 80)
    assert exp.allowed
    [note] = [s.message for s in exp.verdict.steps if s.reason is Reason.POLICY_REJECTED]
    assert note.startswith("AdminNetworkPolicy p (") and "but it is rejected (" in note


@pytest.mark.parametrize("peers", [pytest.param(INVALID_CIDR, id="invalid-cidr")])
def test_anp9_a_deny_rule_with_an_invalid_peer_denies_everything(peers: list[Obj]) -> None:
    """ANP-9 fail closed: Deny ⇒ matches every peer, pods and external alike."""
    a = cluster(anp("p", 1, pods(app="client"), egress=[{"action": "Deny", "to": peers}]))
    assert error_codes(a)
    for dst in ("a/web", "b/web", "world"):
        exp = flow(a, "a/client", dst, 80)
        assert not exp.allowed, dst
        assert_rule(exp, EGRESS, "AdminNetworkPolicy", "p", 0, "deny", "admin")
    assert mapped(a, "a/client", "a/web") is None
    assert mapped(a, "a/client", "0.0.0.0/0") is None


@pytest.mark.parametrize("peers", [pytest.param(INVALID_CIDR, id="invalid-cidr")])
def test_anp9_a_pass_rule_with_an_invalid_peer_passes_everything(peers: list[Obj]) -> None:
    """ANP-9 fail closed: Pass ⇒ matches everything, so a later admin Allow is skipped."""
    a = cluster(anp("p", 1, pods(app="client"), egress=[{"action": "Pass", "to": peers}]),
                anp("allow", 2, pods(app="client"), egress=[eg("Allow", EVERYONE)]),
                banp(EVERYONE, egress=[eg("Deny", EVERYONE)]))
    exp = flow(a, "a/client", "a/web", 80)
    assert not exp.allowed
    assert_rule(exp, EGRESS, "BaselineAdminNetworkPolicy", "default", 0, "deny", "baseline")
    assert [s.policy.name for s in side_steps(exp, EGRESS)
            if s.reason is Reason.RULE_MATCHED and s.policy and s.tier == "admin"] == ["p"]


@pytest.mark.parametrize("action", ["Allow", "Deny"])
def test_anp9_an_egress_only_peer_kind_in_an_ingress_rule_fails_closed(action: str) -> None:
    """ANP-9: ingress peers are namespaces | pods only; `networks` there is an unknown field. Read
    strictly (issue 12, ANP-16): the Allow rule allows nothing; a Deny rule makes the policy rejected."""
    a = cluster(anp("p", 1, pods(app="web"), ingress=[ing(action, networks("0.0.0.0/0"))]),
                banp(EVERYONE, ingress=[ing("Deny", EVERYONE)]))
    assert "unknown-field" in error_codes(a)
    exp = flow(a, "a/client", "a/web", 80)
    assert not exp.allowed  # Allow matched nothing / the rejected policy decides nothing: the BANP denies
    assert_rule(exp, INGRESS, "BaselineAdminNetworkPolicy", "default", 0, "deny", "baseline")
    rejected = [s for s in exp.verdict.steps if s.reason is Reason.POLICY_REJECTED]
    assert bool(rejected) is (action == "Deny")


def test_anp9_a_cluster_network_policy_accept_with_an_empty_peer_matches_nothing() -> None:
    """ANP-9 (v1alpha2): fail closed applies to Accept like Allow."""
    a = cluster(cnp("p", "Admin", 1, EVERYONE, egress=[{"action": "Accept", "to": [{}]}]),
                cnp("deny", "Baseline", 1, EVERYONE, egress=[eg("Deny", EVERYONE)]))
    exp = flow(a, "a/client", "a/web", 80)
    assert not exp.allowed
    assert_rule(exp, EGRESS, "ClusterNetworkPolicy", "deny", 0, "deny", "baseline")


# ----------------------------------------------------------------------------- ANP-10 ports


def test_anp10_v1alpha1_port_number_defaults_to_tcp_and_port_range_is_inclusive() -> None:
    """ANP-10: portNumber{protocol default TCP, port}; portRange{protocol, start, end} inclusive."""
    a = cluster(anp("p", 1, pods(app="web"), ingress=[ing("Allow", EVERYONE, ports=[
                    port(80), port(53, "UDP"), {"portRange": {"protocol": "SCTP", "start": 9000, "end": 9010}},
                    {"portRange": {"start": 7000, "end": 7001}}])]),
                banp(EVERYONE, ingress=[ing("Deny", EVERYONE)]))
    assert mapped(a, "a/client", "a/web") == {"TCP": [[80, 80], [7000, 7001]], "UDP": [[53, 53]],
                                              "SCTP": [[9000, 9010]]}
    assert_rule(flow(a, "a/client", "a/web", 9010, "SCTP"), INGRESS, "AdminNetworkPolicy", "p", 0, "allow", "admin")
    assert_rule(flow(a, "a/client", "a/web", 53, "TCP"), INGRESS, "BaselineAdminNetworkPolicy", "default", 0,
                "deny", "baseline")


def test_anp10_v1alpha1_named_port_is_resolved_on_each_destination_pod() -> None:
    """ANP-10: namedPort = the container port of that name on the destination, its protocol too."""
    a = analyse(namespace("a"), pod("a/client"), pod("a/web1", {"tier": "web"}, ports=[("http", 8080)]),
                pod("a/web2", {"tier": "web"}, ports=[("http", 9090)]),
                pod("a/dns", {"tier": "web"}, ports=[("http", 53, "UDP")]),
                pod("a/plain", {"tier": "web"}, ports=[80]),
                anp("p", 1, pods(tier="web"), ingress=[ing("Allow", EVERYONE, ports=[{"namedPort": "http"}])]),
                banp(EVERYONE, ingress=[ing("Deny", EVERYONE)]))
    assert mapped(a, "a/client", "a/web1") == {"TCP": [[8080, 8080]]}
    assert mapped(a, "a/client", "a/web2") == {"TCP": [[9090, 9090]]}
    assert mapped(a, "a/client", "a/dns") == {"UDP": [[53, 53]]}
    assert mapped(a, "a/client", "a/plain") is None
    assert_rule(flow(a, "a/client", "a/web2", 9090), INGRESS, "AdminNetworkPolicy", "p", 0, "allow", "admin")
    exp = flow(a, "a/client", "a/web2", 8080)
    assert not exp.allowed
    assert_rule(exp, INGRESS, "BaselineAdminNetworkPolicy", "default", 0, "deny", "baseline")


def test_anp10_an_egress_named_port_is_resolved_on_the_peer_pod() -> None:
    """ANP-10: on egress the destination is the peer."""
    a = analyse(namespace("a"), namespace("kube-system"), pod("a/client"),
                pod("kube-system/dns", ports=[("dns", 53, "UDP")]), pod("kube-system/web", ports=[80]),
                anp("p", 1, pods(app="client"), egress=[eg("Allow", EVERYONE, ports=[{"namedPort": "dns"}])]),
                banp(EVERYONE, egress=[eg("Deny", EVERYONE)]))
    assert mapped(a, "a/client", "kube-system/dns") == {"UDP": [[53, 53]]}
    assert mapped(a, "a/client", "kube-system/web") is None
    assert_rule(flow(a, "a/client", "kube-system/dns", 53, "UDP"), EGRESS, "AdminNetworkPolicy", "p", 0,
                "allow", "admin")


def test_anp10_v1alpha2_protocols_with_destination_port_number_and_range() -> None:
    """ANP-10 (v1alpha2): protocols[] tcp/udp/sctp with destinationPort {number | range}."""
    protocols: list[Obj] = [{"tcp": {"destinationPort": {"number": 80}}},
                 {"udp": {"destinationPort": {"range": {"start": 5000, "end": 5010}}}},
                 {"sctp": {"destinationPort": {"number": 9}}}]
    a = cluster(cnp("p", "Admin", 1, pods(app="web"), ingress=[ing("Accept", EVERYONE, ports=protocols,
                                                                     key="protocols")]),
                cnp("deny", "Baseline", 1, EVERYONE, ingress=[ing("Deny", EVERYONE)]))
    assert mapped(a, "a/client", "a/web") == {"TCP": [[80, 80]], "UDP": [[5000, 5010]], "SCTP": [[9, 9]]}
    for proto, number in (("TCP", 80), ("UDP", 5000), ("UDP", 5010), ("SCTP", 9)):
        assert_rule(flow(a, "a/client", "a/web", number, proto), INGRESS, "ClusterNetworkPolicy", "p", 0,
                    "allow", "admin")
    for proto, number in (("UDP", 80), ("UDP", 4999), ("UDP", 5011), ("TCP", 5000)):
        assert_rule(flow(a, "a/client", "a/web", number, proto), INGRESS, "ClusterNetworkPolicy", "deny", 0,
                    "deny", "baseline")


def test_anp10_v1alpha2_destination_named_port() -> None:
    """ANP-10 (v1alpha2): destinationNamedPort resolves on the destination pod."""
    a = cluster(cnp("p", "Admin", 1, pods(app="web"),
                    ingress=[ing("Deny", EVERYONE, ports=[{"destinationNamedPort": "http"}], key="protocols")]))
    assert mapped(a, "a/client", "a/web") == {"TCP": [[1, 8079], [8081, 65535]], "UDP": [[1, 65535]],
                                              "SCTP": [[1, 65535]]}
    assert_rule(flow(a, "a/client", "a/web", 8080), INGRESS, "ClusterNetworkPolicy", "p", 0, "deny", "admin")


def test_anp10_omitted_ports_mean_every_port() -> None:
    """ANP-10: no ports / protocols ⇒ all ports of all protocols."""
    a = cluster(anp("p", 1, pods(app="web"), ingress=[ing("Deny", pods(app="client"))]),
                cnp("q", "Admin", 2, pods(app="web"), ingress=[ing("Deny", in_ns(env="dev"))]))
    assert mapped(a, "a/client", "a/web") is None
    assert mapped(a, "b/web", "a/web") is None
    assert mapped(a, "a/web", "b/web") == EVERY_PORT


@pytest.mark.parametrize("peer", [
    pytest.param({"nodes": {}}, id="nodes"),
    pytest.param({"domainNames": ["api.example.com"]}, id="domainNames"),
])
def test_anp10_named_ports_with_nodes_or_domain_names_peers_are_reported(peer: Obj) -> None:
    """ANP-10: there are no named ports outside pods (ANP-15: an error, the experimental CRD rejects it)."""
    a = cluster(anp("p", 1, EVERYONE, egress=[eg("Allow", peer, ports=[{"namedPort": "http"}])]))
    assert "invalid-port" in error_codes(a)


def test_anp10_named_ports_with_a_networks_peer_are_a_warning_of_the_experimental_channel() -> None:
    """ANP-10, ANP-15 (issue 11 item 2): only the experimental channel's CRD rejects it: a warning."""
    a = cluster(anp("p", 1, EVERYONE, egress=[eg("Allow", networks("10.0.0.0/8"), ports=[{"namedPort": "http"}])]))
    assert "invalid-port" not in error_codes(a)
    [warning] = [d for d in a.diagnostics.items if d.code == "invalid-port"]
    assert warning.severity is Severity.WARNING and "only the experimental channel's CRD" in warning.message


# ----------------------------------------------------------------------------- ANP-11, ANP-12


def test_anp11_a_baseline_admin_network_policy_must_be_named_default() -> None:
    """ANP-11: BANP is a singleton named `default` (CEL rule)."""
    assert "invalid-name" in error_codes(cluster(banp(EVERYONE, ingress=[ing("Deny", EVERYONE)], name="other")))
    assert "invalid-name" not in codes(cluster(banp(EVERYONE, ingress=[ing("Deny", EVERYONE)])))


def test_anp11_a_baseline_admin_network_policy_has_no_priority() -> None:
    """ANP-11: `priority` is not a BANP field."""
    obj = banp(EVERYONE, ingress=[ing("Deny", EVERYONE)])
    obj["spec"]["priority"] = 5
    assert "unknown-field" in codes(cluster(obj))


def test_anp12_a_pod_reaching_its_own_ip_is_not_subject_to_admin_policies() -> None:
    """ANP-12: hairpin to itself is exempt, even from an admin Deny of everything."""
    a = cluster(anp("p", 1, EVERYONE, ingress=[ing("Deny", EVERYONE)], egress=[eg("Deny", EVERYONE)]))
    exp = flow(a, "a/web", "a/web", 80)
    assert exp.allowed
    assert [(s.reason, s.tier) for s in exp.verdict.steps] == [(Reason.SELF, "self")]


def test_anp12_two_pods_of_one_workload_are_subject_to_admin_policies() -> None:
    """ANP-12: only a pod reaching itself is exempt; replicas reaching each other are not."""
    a = analyse(namespace("a"), deployment("a/web", replicas=2),
                anp("p", 1, EVERYONE, ingress=[ing("Deny", EVERYONE)]))
    exp = flow(a, "a/web", "a/web", 80)
    assert not exp.allowed
    assert_rule(exp, INGRESS, "AdminNetworkPolicy", "p", 0, "deny", "admin")
    assert mapped(a, "a/web", "a/web") is None


def test_anp_usage_protocols_outside_tcp_udp_sctp_are_refused() -> None:
    """ANP-10 / NP-8: ports are only TCP, UDP and SCTP."""
    with pytest.raises(UsageError):
        flow(cluster(), "a/client", "a/web", 80, "ICMP")
