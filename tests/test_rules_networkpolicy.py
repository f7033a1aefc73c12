"""Specification tests for Kubernetes NetworkPolicy, one rule of semantics.md §1 at a time
(NP-1 … NP-25). Each test names the rule it pins down; each would fail if that rule were
implemented wrongly.

Not tested, with the reason:
* NP-7, second half (pod ↔ its own node always allowed): which node a pod runs on is not in
  the static input, and kubeward does not model node-local traffic. The first half (a pod
  reaching itself) is tested.
* NP-9 (policy/label changes vs established connections, start-up races): timing, not
  decidable from a snapshot.
* NP-19 (SNAT/DNAT before or after policy, LB and node IPs as sources): depends on the
  data path at run time; kubeward evaluates the addresses it is given.
NP-6 (statefulness) is tested through what kubeward models of it: connections are judged in
the direction they are opened, and the replies need nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from kubeward import Analysis, Explanation, Severity, UsageError
from kubeward.engine.trace import Reason
from kubeward.ir import Direction
from rules_helpers import (
    EGRESS,
    EVERY_PORT,
    INGRESS,
    Obj,
    all_mapped,
    analyse,
    codes,
    decisive,
    deployment,
    flow,
    labels,
    mapped,
    namespace,
    netpol,
    ns_name,
    pod,
    service,
    side_steps,
)

DENY_ALL_INGRESS = {"podSelector": {}, "policyTypes": ["Ingress"]}
DENY_ALL_EGRESS = {"podSelector": {}, "policyTypes": ["Egress"]}


def client_web(*objects: Obj, **options: Any) -> Analysis:
    """Namespace ``a`` with a client and a web pod (port 80), plus ``objects``."""
    return analyse(namespace("a"), pod("a/client"), pod("a/web", ports=[80]), *objects, **options)


def assert_denied_by_isolation(exp: Explanation, direction: Direction, policy: str) -> None:
    assert not exp.allowed
    step = decisive(exp, direction)
    assert (step.reason, step.effect, step.tier) == (Reason.NO_RULE_MATCHED, "deny", "networkpolicy")
    assert step.policy is not None and f"{step.policy.namespace}/{step.policy.name}" == policy


def assert_allowed_by(exp: Explanation, direction: Direction, policy: str, rule: int) -> None:
    assert exp.allowed
    step = decisive(exp, direction)
    assert (step.reason, step.effect) == (Reason.ALLOWED_BY_RULE, "allow")
    assert step.policy is not None and f"{step.policy.namespace}/{step.policy.name}" == policy
    assert step.rule == rule


def assert_not_isolated(exp: Explanation, direction: Direction) -> None:
    step = decisive(exp, direction)
    assert (step.reason, step.effect, step.tier) == (Reason.NOT_ISOLATED, "allow", "default")
    assert step.policy is None


# ----------------------------------------------------------------------------- 1.1 selection


def test_np1_a_policy_selects_only_matching_pods_of_its_own_namespace() -> None:
    """NP-1: podSelector picks pods in the policy's namespace only."""
    a = analyse(namespace("a"), namespace("b"), pod("a/client"), pod("a/web"), pod("a/db"),
                pod("b/web", labels={"app": "web"}),
                netpol("a/deny-web", podSelector=labels(app="web"), policyTypes=["Ingress"]))
    assert_denied_by_isolation(flow(a, "a/client", "a/web", 80), INGRESS, "a/deny-web")
    # same labels, other namespace: not selected
    exp = flow(a, "a/client", "b/web", 80)
    assert exp.allowed
    assert_not_isolated(exp, INGRESS)
    # same namespace, other labels: not selected
    assert_not_isolated(flow(a, "a/client", "a/db", 80), INGRESS)


@pytest.mark.parametrize("spec", [
    pytest.param({"podSelector": {}, "policyTypes": ["Ingress"]}, id="empty-selector"),
    pytest.param({"policyTypes": ["Ingress"]}, id="omitted-selector"),
])
def test_np1_an_empty_or_omitted_pod_selector_selects_every_pod_of_the_namespace(spec: Obj) -> None:
    """NP-1: `podSelector: {}` and an omitted podSelector both select the whole namespace."""
    a = analyse(namespace("a"), namespace("b"), pod("a/client"), pod("a/web"), pod("a/db", labels={}),
                pod("b/web"), netpol("a/deny", **spec))
    for dst in ("a/web", "a/db"):
        assert_denied_by_isolation(flow(a, "a/client", dst, 80), INGRESS, "a/deny")
    assert flow(a, "a/client", "b/web", 80).allowed


def test_np2_a_policy_without_policy_types_and_without_egress_rules_does_not_isolate_egress() -> None:
    """NP-2: defaulted policyTypes = [Ingress] when there is no egress section."""
    a = client_web(netpol("a/p", podSelector={}, ingress=[]))
    exp = flow(a, "a/web", "world", 443)
    assert exp.allowed
    assert_not_isolated(exp, EGRESS)
    # …but ingress is always included
    assert_denied_by_isolation(flow(a, "a/client", "a/web", 80), INGRESS, "a/p")


def test_np2_a_policy_without_policy_types_and_with_an_empty_egress_list_does_not_isolate_egress() -> None:
    """NP-2: `egress: []` counts as no egress section (defaulting tests len(egress) != 0)."""
    a = client_web(netpol("a/p", podSelector={}, ingress=[], egress=[]))
    exp = flow(a, "a/web", "world", 443)
    assert exp.allowed
    assert_not_isolated(exp, EGRESS)


def test_np2_a_policy_without_policy_types_but_with_egress_rules_isolates_egress() -> None:
    """NP-2: egress rules present ⇒ Egress is defaulted in; traffic outside them is denied."""
    a = client_web(netpol("a/p", podSelector=labels(app="client"),
                          egress=[{"to": [{"podSelector": labels(app="web")}]}]))
    assert_allowed_by(flow(a, "a/client", "a/web", 80), EGRESS, "a/p", 0)
    assert_denied_by_isolation(flow(a, "a/client", "world", 443), EGRESS, "a/p")
    # and Ingress is still included: the client is ingress-isolated with no ingress rule
    assert_denied_by_isolation(flow(a, "a/web", "a/client", 80), INGRESS, "a/p")


def test_np2_an_explicit_egress_only_policy_type_does_not_isolate_ingress() -> None:
    """NP-2: an explicit policyTypes is taken as written; Ingress is not added."""
    a = client_web(netpol("a/p", **DENY_ALL_EGRESS))
    exp = flow(a, "a/client", "a/web", 80)
    assert not exp.allowed
    assert_not_isolated(exp, INGRESS)
    assert_denied_by_isolation(exp, EGRESS, "a/p")


def test_np2_rules_of_a_direction_missing_from_policy_types_are_ignored_with_a_warning() -> None:
    """NP-2/NP-3: ingress rules in a policy whose policyTypes lacks Ingress add no allows."""
    a = client_web(netpol("a/deny", podSelector={}, policyTypes=["Ingress"]),
                   netpol("a/egress-only", podSelector={}, policyTypes=["Egress"],
                          ingress=[{}], egress=[{}]))
    assert_denied_by_isolation(flow(a, "a/client", "a/web", 80), INGRESS, "a/deny")
    assert "rules-without-policy-type" in codes(a)


def test_np3_isolation_is_per_direction_and_a_non_isolated_direction_allows_everything() -> None:
    """NP-3: an egress-isolated pod is not ingress-isolated, and vice versa."""
    a = client_web(netpol("a/web-egress", podSelector=labels(app="web"), **{"policyTypes": ["Egress"]}))
    into_web = flow(a, "a/client", "a/web", 80)
    assert into_web.allowed
    assert_not_isolated(into_web, INGRESS)
    assert_denied_by_isolation(flow(a, "a/web", "a/client", 80), EGRESS, "a/web-egress")
    assert mapped(a, "a/client", "a/web") == EVERY_PORT
    assert mapped(a, "a/web", "a/client") is None


def test_np4_allowed_connections_are_the_union_of_the_rules_of_all_selecting_policies() -> None:
    """NP-4: two policies selecting one pod add up; a pure default-deny policy takes nothing away."""
    p80 = netpol("a/allow-80", podSelector=labels(app="web"),
                 ingress=[{"from": [{"podSelector": labels(app="client")}], "ports": [{"port": 80}]}])
    p81 = netpol("a/allow-81", podSelector={},
                 ingress=[{"from": [{"podSelector": labels(app="client")}], "ports": [{"port": 81}]}])
    deny = netpol("a/deny", podSelector={}, policyTypes=["Ingress"])
    a = client_web(p80, p81, deny)
    assert mapped(a, "a/client", "a/web") == {"TCP": [[80, 81]]}
    assert_allowed_by(flow(a, "a/client", "a/web", 80), INGRESS, "a/allow-80", 0)
    assert_allowed_by(flow(a, "a/client", "a/web", 81), INGRESS, "a/allow-81", 0)
    assert not flow(a, "a/client", "a/web", 82).allowed


def test_np4_the_order_of_the_policies_does_not_matter() -> None:
    """NP-4: there are no deny rules and no order."""
    p1 = netpol("a/one", podSelector={}, ingress=[{"ports": [{"port": 80}]}])
    p2 = netpol("a/two", podSelector=labels(app="web"), ingress=[{"ports": [{"port": 443}]}])
    pods = (namespace("a"), pod("a/client"), pod("a/web"))
    forward = all_mapped(analyse(*pods, p1, p2))
    backward = all_mapped(analyse(p2, p1, *reversed(pods)))
    assert forward == backward
    assert forward[("a/client", "a/web")] == {"TCP": [[80, 80], [443, 443]]}


def test_np5_a_connection_needs_the_egress_side_of_the_source_and_the_ingress_side_of_the_destination() -> None:
    """NP-5: each side can deny on its own."""
    allow_egress = netpol("a/client-out", podSelector=labels(app="client"), policyTypes=["Egress"],
                          egress=[{"to": [{"podSelector": labels(app="web")}]}])
    deny_ingress = netpol("a/web-in", podSelector=labels(app="web"), policyTypes=["Ingress"])
    a = client_web(allow_egress, deny_ingress)
    exp = flow(a, "a/client", "a/web", 80)
    assert decisive(exp, EGRESS).effect == "allow"
    assert_denied_by_isolation(exp, INGRESS, "a/web-in")
    assert mapped(a, "a/client", "a/web") is None

    allow_ingress = netpol("a/web-in", podSelector=labels(app="web"),
                           ingress=[{"from": [{"podSelector": labels(app="client")}]}])
    deny_egress = netpol("a/client-out", podSelector=labels(app="client"), policyTypes=["Egress"])
    b = client_web(allow_ingress, deny_egress)
    exp = flow(b, "a/client", "a/web", 80)
    assert_denied_by_isolation(exp, EGRESS, "a/client-out")
    assert decisive(exp, INGRESS).effect == "allow"
    assert mapped(b, "a/client", "a/web") is None


def test_np6_replies_need_nothing_so_a_destination_that_may_not_open_connections_still_accepts_them() -> None:
    """NP-6: stateful; kubeward judges a connection in the direction it is opened."""
    a = client_web(netpol("a/web-no-egress", podSelector=labels(app="web"), policyTypes=["Egress"]))
    exp = flow(a, "a/client", "a/web", 80)
    assert exp.allowed
    assert not [s for s in exp.verdict.steps if s.subject == "a/web" and s.direction is EGRESS]
    assert mapped(a, "a/client", "a/web") == EVERY_PORT
    assert mapped(a, "a/web", "a/client") is None


def test_np7_a_single_pod_can_always_reach_itself_even_when_isolated_both_ways() -> None:
    """NP-7: loopback / own IP is never subject to policy."""
    a = client_web(netpol("a/deny", podSelector={}, policyTypes=["Ingress", "Egress"]))
    exp = flow(a, "a/web", "a/web", 80)
    assert exp.allowed
    assert [(s.reason, s.tier, s.effect) for s in exp.verdict.steps] == [(Reason.SELF, "self", "allow")]
    assert mapped(a, "a/web", "a/web") is None  # not listed by default …
    listed = client_web(netpol("a/deny", podSelector={}, policyTypes=["Ingress", "Egress"]),
                        include_self=True)
    assert mapped(listed, "a/web", "a/web") == EVERY_PORT  # … but always allowed


def test_np7_two_pods_of_one_workload_are_subject_to_policy_between_them() -> None:
    """NP-7 covers one pod reaching itself, not a replica reaching another replica."""
    deny = netpol("a/deny", podSelector={}, policyTypes=["Ingress"])
    a = analyse(namespace("a"), deployment("a/web", replicas=3), deny)
    assert_denied_by_isolation(flow(a, "a/web", "a/web", 80), INGRESS, "a/deny")
    assert mapped(a, "a/web", "a/web") is None
    allow = netpol("a/peers", podSelector={},
                   ingress=[{"from": [{"podSelector": labels(app="web")}], "ports": [{"port": 80}]}])
    b = analyse(namespace("a"), deployment("a/web", replicas=3), deny, allow)
    assert mapped(b, "a/web", "a/web") == {"TCP": [[80, 80]]}


def test_np8_only_tcp_udp_and_sctp_can_be_asked_about() -> None:
    """NP-8: other protocols are undefined under isolation; kubeward refuses to answer."""
    a = client_web()
    with pytest.raises(UsageError):
        flow(a, "a/client", "a/web", 80, "ICMP")
    assert flow(a, "a/client", "a/web", 80, "SCTP").allowed


def test_np8_a_policy_port_with_another_protocol_is_reported_and_allows_nothing() -> None:
    """NP-8: `protocol: ICMP` is not a NetworkPolicy protocol; that port entry matches nothing."""
    a = client_web(netpol("a/p", podSelector=labels(app="web"),
                          ingress=[{"ports": [{"protocol": "ICMP", "port": 80}]}]))
    d = [d for d in a.diagnostics.items if d.code == "unknown-protocol"]
    assert d and d[0].severity is Severity.ERROR
    assert mapped(a, "a/client", "a/web") is None
    assert_denied_by_isolation(flow(a, "a/client", "a/web", 80), INGRESS, "a/p")


# ----------------------------------------------------------------------------- 1.2 rules


def test_np10_a_rule_needs_both_its_peers_and_its_ports_to_match() -> None:
    """NP-10: from AND ports."""
    a = analyse(namespace("a"), pod("a/client"), pod("a/other"), pod("a/web"),
                netpol("a/p", podSelector=labels(app="web"),
                       ingress=[{"from": [{"podSelector": labels(app="client")}], "ports": [{"port": 80}]}]))
    assert_allowed_by(flow(a, "a/client", "a/web", 80), INGRESS, "a/p", 0)
    wrong_port = flow(a, "a/client", "a/web", 81)
    assert_denied_by_isolation(wrong_port, INGRESS, "a/p")
    assert [(s.reason, s.rule) for s in side_steps(wrong_port, INGRESS) if s.rule is not None] == \
        [(Reason.PORT_MISMATCH, 0)]
    wrong_peer = flow(a, "a/other", "a/web", 80)
    assert_denied_by_isolation(wrong_peer, INGRESS, "a/p")
    assert [(s.reason, s.rule) for s in side_steps(wrong_peer, INGRESS) if s.rule is not None] == \
        [(Reason.PEER_MISMATCH, 0)]
    assert mapped(a, "a/client", "a/web") == {"TCP": [[80, 80]]}
    assert mapped(a, "a/other", "a/web") is None


@pytest.mark.parametrize("rule", [
    pytest.param({"ports": [{"port": 80}]}, id="from-missing"),
    pytest.param({"from": [], "ports": [{"port": 80}]}, id="from-empty"),
])
def test_np11_a_rule_without_from_admits_every_source_including_external_ones(rule: Obj) -> None:
    """NP-11: from missing or empty ⇒ every peer, in-cluster or not."""
    a = analyse(namespace("a"), namespace("b"), pod("a/web"), pod("b/client"),
                netpol("a/p", podSelector=labels(app="web"), ingress=[rule]))
    assert_allowed_by(flow(a, "b/client", "a/web", 80), INGRESS, "a/p", 0)
    assert_allowed_by(flow(a, "world", "a/web", 80), INGRESS, "a/p", 0)
    assert mapped(a, "b/client", "a/web") == {"TCP": [[80, 80]]}
    assert mapped(a, "0.0.0.0/0", "a/web") == {"TCP": [[80, 80]]}


@pytest.mark.parametrize("rule", [
    pytest.param({"to": [{"podSelector": labels(app="web")}]}, id="ports-missing"),
    pytest.param({"to": [{"podSelector": labels(app="web")}], "ports": []}, id="ports-empty"),
])
def test_np11_a_rule_without_ports_allows_every_port_of_every_protocol(rule: Obj) -> None:
    """NP-11: ports missing or empty ⇒ any port and protocol."""
    a = client_web(netpol("a/p", podSelector=labels(app="client"), policyTypes=["Egress"], egress=[rule]))
    assert mapped(a, "a/client", "a/web") == EVERY_PORT
    assert_allowed_by(flow(a, "a/client", "a/web", 5353, "UDP"), EGRESS, "a/p", 0)
    assert_allowed_by(flow(a, "a/client", "a/web", 9999, "SCTP"), EGRESS, "a/p", 0)
    assert mapped(a, "a/client", "0.0.0.0/0") is None


def test_np12_an_isolating_policy_with_an_empty_rule_list_is_a_default_deny() -> None:
    """NP-12: `ingress: []` in an isolating policy contributes no allows."""
    a = client_web(netpol("a/p", podSelector={}, policyTypes=["Ingress"], ingress=[]))
    assert_denied_by_isolation(flow(a, "a/client", "a/web", 80), INGRESS, "a/p")
    assert not flow(a, "world", "a/web", 80).allowed
    assert mapped(a, "a/client", "a/web") is None


def test_np12_a_single_empty_rule_allows_everything_in_its_direction() -> None:
    """NP-12: `- {}` allows every peer on every port."""
    a = client_web(netpol("a/p", podSelector={}, policyTypes=["Ingress", "Egress"],
                          ingress=[{}], egress=[{}]))
    assert_allowed_by(flow(a, "a/client", "a/web", 80), INGRESS, "a/p", 0)
    assert_allowed_by(flow(a, "a/client", "a/web", 80), EGRESS, "a/p", 0)
    assert mapped(a, "a/client", "a/web") == EVERY_PORT
    assert mapped(a, "0.0.0.0/0", "a/web") == EVERY_PORT
    assert mapped(a, "a/web", "0.0.0.0/0") == EVERY_PORT


def test_np13_peers_in_one_from_list_are_ored() -> None:
    """NP-13: any one peer of the list is enough."""
    a = analyse(namespace("a"), pod("a/one"), pod("a/two"), pod("a/three"), pod("a/web"),
                netpol("a/p", podSelector=labels(app="web"),
                       ingress=[{"from": [{"podSelector": labels(app="one")},
                                          {"podSelector": labels(app="two")}]}]))
    assert_allowed_by(flow(a, "a/one", "a/web", 80), INGRESS, "a/p", 0)
    assert_allowed_by(flow(a, "a/two", "a/web", 80), INGRESS, "a/p", 0)
    assert_denied_by_isolation(flow(a, "a/three", "a/web", 80), INGRESS, "a/p")


def test_np14_a_pod_selector_alone_means_pods_of_the_policys_own_namespace() -> None:
    """NP-14: podSelector without namespaceSelector does not reach into other namespaces."""
    a = analyse(namespace("a"), namespace("b"), pod("a/client"), pod("b/client"), pod("a/web"),
                netpol("a/p", podSelector=labels(app="web"),
                       ingress=[{"from": [{"podSelector": labels(app="client")}]}]))
    assert_allowed_by(flow(a, "a/client", "a/web", 80), INGRESS, "a/p", 0)
    assert_denied_by_isolation(flow(a, "b/client", "a/web", 80), INGRESS, "a/p")


def test_np15_a_namespace_selector_alone_means_every_pod_of_the_selected_namespaces() -> None:
    """NP-15: namespaceSelector alone ⇒ all pods there, whatever their labels."""
    a = analyse(namespace("a"), namespace("b", team="x"), namespace("c", team="y"), pod("a/web"),
                pod("b/one"), pod("b/two", labels={}), pod("c/one"), pod("a/one"),
                netpol("a/p", podSelector=labels(app="web"),
                       ingress=[{"from": [{"namespaceSelector": labels(team="x")}]}]))
    assert_allowed_by(flow(a, "b/one", "a/web", 80), INGRESS, "a/p", 0)
    assert_allowed_by(flow(a, "b/two", "a/web", 80), INGRESS, "a/p", 0)
    assert_denied_by_isolation(flow(a, "c/one", "a/web", 80), INGRESS, "a/p")
    assert_denied_by_isolation(flow(a, "a/one", "a/web", 80), INGRESS, "a/p")  # not even its own


def test_np15_an_empty_namespace_selector_means_all_pods_but_not_external_addresses() -> None:
    """NP-15: `namespaceSelector: {}` is every pod of every namespace, not "any IP"."""
    a = analyse(namespace("a"), namespace("b"), pod("a/web"), pod("b/client"),
                netpol("a/p", podSelector=labels(app="web"), ingress=[{"from": [{"namespaceSelector": {}}]}]))
    assert_allowed_by(flow(a, "b/client", "a/web", 80), INGRESS, "a/p", 0)
    assert_denied_by_isolation(flow(a, "world", "a/web", 80), INGRESS, "a/p")
    assert mapped(a, "0.0.0.0/0", "a/web") is None


def _np16(peers: list[Obj]) -> Analysis:
    return analyse(namespace("a"), namespace("b", team="x"), pod("a/web"), pod("a/client"),
                   pod("b/client"), pod("b/other"),
                   netpol("a/p", podSelector=labels(app="web"), ingress=[{"from": peers}]))


def test_np16_namespace_and_pod_selector_in_one_peer_are_anded() -> None:
    """NP-16: one list element with both selectors = those pods inside those namespaces."""
    a = _np16([{"namespaceSelector": labels(team="x"), "podSelector": labels(app="client")}])
    assert_allowed_by(flow(a, "b/client", "a/web", 80), INGRESS, "a/p", 0)
    assert_denied_by_isolation(flow(a, "b/other", "a/web", 80), INGRESS, "a/p")
    assert_denied_by_isolation(flow(a, "a/client", "a/web", 80), INGRESS, "a/p")


def test_np16_namespace_and_pod_selector_in_separate_peers_are_ored() -> None:
    """NP-16: two list elements = either one."""
    a = _np16([{"namespaceSelector": labels(team="x")}, {"podSelector": labels(app="client")}])
    assert_allowed_by(flow(a, "b/other", "a/web", 80), INGRESS, "a/p", 0)
    assert_allowed_by(flow(a, "a/client", "a/web", 80), INGRESS, "a/p", 0)
    assert_allowed_by(flow(a, "b/client", "a/web", 80), INGRESS, "a/p", 0)


def test_np17_an_ip_block_matches_its_cidr_minus_its_excepts() -> None:
    """NP-17: matched set = cidr minus except."""
    a = analyse(namespace("a"), pod("a/client"),
                netpol("a/p", podSelector=labels(app="client"), policyTypes=["Egress"],
                       egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
                                "ports": [{"port": 443}]}]))
    assert_allowed_by(flow(a, "a/client", "10.0.0.1", 443), EGRESS, "a/p", 0)
    assert_allowed_by(flow(a, "a/client", "10.255.255.255", 443), EGRESS, "a/p", 0)
    assert_denied_by_isolation(flow(a, "a/client", "10.1.2.3", 443), EGRESS, "a/p")
    assert_denied_by_isolation(flow(a, "a/client", "11.0.0.0", 443), EGRESS, "a/p")
    assert_denied_by_isolation(flow(a, "a/client", "9.255.255.255", 443), EGRESS, "a/p")
    out = {dst: ports for (src, dst), ports in all_mapped(a).items() if src == "a/client"}
    assert out == {"10.0.0.0/16": {"TCP": [[443, 443]]},
                   "10.2.0.0-10.255.255.255": {"TCP": [[443, 443]]}}


def test_np17_an_except_outside_the_cidr_is_an_error_and_the_block_matches_nothing() -> None:
    """NP-17: except entries must lie inside cidr (the API server rejects the policy)."""
    a = analyse(namespace("a"), pod("a/client"),
                netpol("a/p", podSelector=labels(app="client"), policyTypes=["Egress"],
                       egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.1.0.0/24"]}}]}]))
    d = [d for d in a.diagnostics.items if d.code == "except-outside-cidr"]
    assert d and d[0].severity is Severity.ERROR
    assert_denied_by_isolation(flow(a, "a/client", "10.0.0.1", 443), EGRESS, "a/p")


def test_np17_an_ip_block_combined_with_a_selector_in_one_peer_is_an_error_and_matches_nothing() -> None:
    """NP-17: ipBlock cannot be combined with podSelector/namespaceSelector in one peer."""
    a = analyse(namespace("a"), pod("a/client", ip="10.0.0.5"), pod("a/web"),
                netpol("a/p", podSelector=labels(app="web"),
                       ingress=[{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"},
                                           "podSelector": labels(app="client")}]}]))
    d = [d for d in a.diagnostics.items if d.code == "invalid-peer"]
    assert d and d[0].severity is Severity.ERROR
    assert_denied_by_isolation(flow(a, "a/client", "a/web", 80), INGRESS, "a/p")
    assert_denied_by_isolation(flow(a, "10.0.0.9", "a/web", 80), INGRESS, "a/p")


def _np18(**options: Any) -> Analysis:
    return analyse(namespace("a"), pod("a/client", ip="10.1.0.5"), pod("a/web", ip="10.1.0.6"),
                   netpol("a/p", podSelector=labels(app="web"),
                          ingress=[{"from": [{"ipBlock": {"cidr": "10.1.0.0/16"}}]}]), **options)


def test_np18_generic_an_ip_block_matches_a_pod_whose_ip_is_inside_it() -> None:
    """NP-18 (generic, ipblock_matches_pods=True): a pod IP inside the cidr matches."""
    a = _np18()
    assert_allowed_by(flow(a, "a/client", "a/web", 80), INGRESS, "a/p", 0)
    # the pod's IP resolves to the pod, with the same answer
    exp = flow(a, "10.1.0.5", "a/web", 80)
    assert exp.verdict.source.workload is not None and exp.verdict.source.workload.id == "a/client"
    assert_allowed_by(exp, INGRESS, "a/p", 0)
    assert mapped(a, "a/client", "a/web") == EVERY_PORT


def test_np18_when_ip_blocks_do_not_match_pods_a_pod_inside_the_cidr_is_not_admitted() -> None:
    """NP-18 (Cilium-like, ipblock_matches_pods=False): ipBlock is for external addresses only."""
    a = _np18(ipblock_matches_pods=False)
    assert_denied_by_isolation(flow(a, "a/client", "a/web", 80), INGRESS, "a/p")
    assert_denied_by_isolation(flow(a, "10.1.0.5", "a/web", 80), INGRESS, "a/p")
    assert_allowed_by(flow(a, "10.1.0.99", "a/web", 80), INGRESS, "a/p", 0)  # not a pod
    assert mapped(a, "a/client", "a/web") is None


def test_np20_a_namespace_is_selectable_by_name_through_its_metadata_name_label() -> None:
    """NP-20: `kubernetes.io/metadata.name` is set by the control plane on every namespace,
    even when the Namespace object does not carry it, or is not in the input."""
    a = analyse(namespace("a"), namespace("b"), pod("a/web"), pod("b/client"), pod("c/client"),
                pod("d/client"),
                netpol("a/p", podSelector=labels(app="web"),
                       ingress=[{"from": [{"namespaceSelector": ns_name("b")},
                                          {"namespaceSelector": ns_name("c")}]}]))
    assert_allowed_by(flow(a, "b/client", "a/web", 80), INGRESS, "a/p", 0)
    assert_allowed_by(flow(a, "c/client", "a/web", 80), INGRESS, "a/p", 0)  # c: not defined
    assert_denied_by_isolation(flow(a, "d/client", "a/web", 80), INGRESS, "a/p")
    assert "undefined-namespace" in codes(a)


def test_np20_the_metadata_name_label_cannot_be_overridden_by_the_namespace_object() -> None:
    """NP-20: the label is immutable and always equals the namespace's name."""
    a = analyse(namespace("a"), namespace("b", **{"kubernetes.io/metadata.name": "a"}),
                pod("a/web"), pod("b/client"),
                netpol("a/p", podSelector=labels(app="web"),
                       ingress=[{"from": [{"namespaceSelector": ns_name("a")}]}]))
    assert_denied_by_isolation(flow(a, "b/client", "a/web", 80), INGRESS, "a/p")


# ----------------------------------------------------------------------------- 1.3 ports


def test_np21_a_port_without_protocol_means_tcp() -> None:
    """NP-21: protocol defaults to TCP."""
    a = client_web(netpol("a/p", podSelector=labels(app="web"), ingress=[{"ports": [{"port": 53}]}]))
    assert_allowed_by(flow(a, "a/client", "a/web", 53, "TCP"), INGRESS, "a/p", 0)
    assert_denied_by_isolation(flow(a, "a/client", "a/web", 53, "UDP"), INGRESS, "a/p")
    assert mapped(a, "a/client", "a/web") == {"TCP": [[53, 53]]}


def test_np22_an_ingress_named_port_is_resolved_in_each_selected_pod() -> None:
    """NP-22: the name is looked up per destination pod; pods without it never match."""
    a = analyse(namespace("a"), pod("a/client"),
                pod("a/web1", labels={"tier": "web"}, ports=[("http", 8080)]),
                pod("a/web2", labels={"tier": "web"}, ports=[("http", 9090)]),
                pod("a/plain", labels={"tier": "web"}, ports=[80]),
                netpol("a/p", podSelector=labels(tier="web"), ingress=[{"ports": [{"port": "http"}]}]))
    assert mapped(a, "a/client", "a/web1") == {"TCP": [[8080, 8080]]}
    assert mapped(a, "a/client", "a/web2") == {"TCP": [[9090, 9090]]}
    assert mapped(a, "a/client", "a/plain") is None
    assert_allowed_by(flow(a, "a/client", "a/web1", 8080), INGRESS, "a/p", 0)
    assert_denied_by_isolation(flow(a, "a/client", "a/web1", 9090), INGRESS, "a/p")
    assert_denied_by_isolation(flow(a, "a/client", "a/plain", 80), INGRESS, "a/p")


def test_np22_an_egress_named_port_is_resolved_in_each_peer_pod_and_never_matches_outside_addresses() -> None:
    """NP-22: on egress the name belongs to the destination (peer) pod, with its protocol."""
    a = analyse(namespace("a"), namespace("kube-system"), pod("a/client"),
                pod("kube-system/dns", ports=[("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")]),
                pod("kube-system/alt-dns", ports=[("dns", 5353, "UDP")]),
                pod("kube-system/other", ports=[("web", 80)]),
                netpol("a/p", podSelector=labels(app="client"), policyTypes=["Egress"],
                       egress=[{"ports": [{"port": "dns", "protocol": "UDP"}]}]))
    assert mapped(a, "a/client", "kube-system/dns") == {"UDP": [[53, 53]]}
    assert mapped(a, "a/client", "kube-system/alt-dns") == {"UDP": [[5353, 5353]]}
    assert mapped(a, "a/client", "kube-system/other") is None
    assert mapped(a, "a/client", "0.0.0.0/0") is None
    assert_allowed_by(flow(a, "a/client", "kube-system/dns", 53, "UDP"), EGRESS, "a/p", 0)
    assert_denied_by_isolation(flow(a, "a/client", "kube-system/dns", 53, "TCP"), EGRESS, "a/p")
    assert_denied_by_isolation(flow(a, "a/client", "world", 53, "UDP"), EGRESS, "a/p")


def test_np22_a_named_port_must_match_the_protocol_of_the_container_port() -> None:
    """NP-22 with NP-21: `port: dns` (TCP by default) does not match a UDP port named dns."""
    a = analyse(namespace("a"), pod("a/client"), pod("a/dns", ports=[("dns", 53, "UDP")]),
                netpol("a/p", podSelector=labels(app="dns"), ingress=[{"ports": [{"port": "dns"}]}]))
    assert mapped(a, "a/client", "a/dns") is None
    assert_denied_by_isolation(flow(a, "a/client", "a/dns", 53, "UDP"), INGRESS, "a/p")


def test_np23_end_port_makes_an_inclusive_range() -> None:
    """NP-23: port..endPort, both ends included."""
    a = client_web(netpol("a/p", podSelector=labels(app="web"),
                          ingress=[{"ports": [{"port": 8000, "endPort": 8010}]}]))
    assert mapped(a, "a/client", "a/web") == {"TCP": [[8000, 8010]]}
    for port in (8000, 8010):
        assert_allowed_by(flow(a, "a/client", "a/web", port), INGRESS, "a/p", 0)
    for port in (7999, 8011):
        assert_denied_by_isolation(flow(a, "a/client", "a/web", port), INGRESS, "a/p")


@pytest.mark.parametrize("port", [
    pytest.param({"port": 8010, "endPort": 8000}, id="end-below-start"),
    pytest.param({"port": "http", "endPort": 8000}, id="named-port"),
])
def test_np23_an_invalid_end_port_is_an_error_and_matches_nothing(port: Obj) -> None:
    """NP-23: endPort needs a numeric port and endPort ≥ port."""
    a = analyse(namespace("a"), pod("a/client"), pod("a/web", ports=[("http", 8005)]),
                netpol("a/p", podSelector=labels(app="web"), ingress=[{"ports": [port]}]))
    d = [d for d in a.diagnostics.items if d.code == "invalid-port"]
    assert d and d[0].severity is Severity.ERROR
    assert mapped(a, "a/client", "a/web") is None


def test_np24_policy_ports_are_pod_ports_not_service_ports() -> None:
    """NP-24: a Service port 80 → targetPort 8080 does not make `port: 80` admit 8080."""
    a = analyse(namespace("a"), pod("a/client"), pod("a/web", ports=[8080]),
                service("a/web", {"app": "web"}, 80, 8080),
                netpol("a/p", podSelector=labels(app="web"), ingress=[{"ports": [{"port": 80}]}]))
    assert mapped(a, "a/client", "a/web") == {"TCP": [[80, 80]]}
    assert_denied_by_isolation(flow(a, "a/client", "a/web", 8080), INGRESS, "a/p")


# ----------------------------------------------------------------------------- 1.4 hostNetwork


def test_np25_a_host_network_pod_is_never_selected_as_a_policy_subject() -> None:
    """NP-25: `podSelector: {}` does not isolate a hostNetwork pod."""
    a = analyse(namespace("a"), pod("a/client"), pod("a/agent", ip="192.168.1.10", host_network=True),
                netpol("a/deny", podSelector={}, policyTypes=["Ingress", "Egress"]))
    exp = flow(a, "world", "a/agent", 80)
    assert exp.allowed
    assert decisive(exp, INGRESS).reason is Reason.HOST_NETWORK
    out = flow(a, "a/agent", "world", 80)
    assert out.allowed
    assert decisive(out, EGRESS).reason is Reason.HOST_NETWORK


@pytest.mark.parametrize("ipblock_matches_pods", [True, False])
def test_np25_a_host_network_pod_is_not_matched_by_selectors_but_by_an_ip_block_of_its_node_address(
        ipblock_matches_pods: bool) -> None:
    """NP-25: as a peer, a hostNetwork pod is node traffic: selectors miss it, ipBlocks match it
    (whatever the NP-18 choice for pod IPs)."""
    by_label = analyse(namespace("a"), pod("a/web"), pod("a/agent", ip="192.168.1.10", host_network=True),
                       netpol("a/p", podSelector=labels(app="web"),
                              ingress=[{"from": [{"podSelector": labels(app="agent")},
                                                 {"namespaceSelector": {}}]}]),
                       ipblock_matches_pods=ipblock_matches_pods)
    assert_denied_by_isolation(flow(by_label, "a/agent", "a/web", 80), INGRESS, "a/p")
    by_ip = analyse(namespace("a"), pod("a/web"), pod("a/agent", ip="192.168.1.10", host_network=True),
                    netpol("a/p", podSelector=labels(app="web"),
                           ingress=[{"from": [{"ipBlock": {"cidr": "192.168.1.0/24"}}]}]),
                    ipblock_matches_pods=ipblock_matches_pods)
    assert_allowed_by(flow(by_ip, "a/agent", "a/web", 80), INGRESS, "a/p", 0)
    assert mapped(by_ip, "a/agent", "a/web") == EVERY_PORT


def test_np18_pods_of_one_workload_in_different_ip_blocks_are_explained_as_their_union() -> None:
    """NP-18 with known pod IPs: two pods of one Deployment, only one inside the allowed ipBlock.
    explain neither picks a pod silently nor hides the difference: it says the pods differ."""
    from kubeward import analyse_text, explain
    from kubeward.engine.trace import Reason
    analysis = analyse_text("""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: "n"}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c}]}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-1
  namespace: "n"
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: u-web, controller: true}]
spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c}]}}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1-a, namespace: "n", labels: {app: web},
           ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-1, uid: u-rs, controller: true}]}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1-b, namespace: "n", labels: {app: web},
           ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-1, uid: u-rs, controller: true}]}
spec: {containers: [{name: c}]}
status: {podIP: 192.168.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: "n", labels: {app: db}}
spec: {containers: [{name: c, ports: [{containerPort: 5432}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-10, namespace: "n"}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}]}]
""")
    assert len(analysis.engine.universe.identities_of["n/web"]) == 2
    assert explain(analysis, "10.0.0.1", "n/db", 5432).allowed
    assert not explain(analysis, "192.168.0.1", "n/db", 5432).allowed
    both = explain(analysis, "n/web", "n/db", 5432)
    assert both.allowed
    assert [s.reason for s in both.verdict.steps][-1] is Reason.PODS_DIFFER
