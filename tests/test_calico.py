"""Calico policies under --cni calico (CAL-4 … CAL-16): tiers, orders, actions, end of tier,
types defaulting, entity rules, and the validation the Calico API server does (CAL-7)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from kubeward import Analysis, Options, analyse_text, explain
from kubeward.cli import main
from kubeward.engine.trace import Reason

ROOT = Path(__file__).resolve().parent.parent

CLUSTER = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {env: prod}}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web, role: frontend}}
spec: {serviceAccountName: web-sa, containers: [{name: c, ports: [{containerPort: 8080, name: http}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}}
spec: {containers: [{name: c, ports: [{containerPort: 8080, name: http}]}]}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: other, labels: {app: client}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.1.1}
"""


def cluster(policies: str) -> Analysis:
    return analyse_text(CLUSTER + "---\n" + textwrap.dedent(policies), "calico.yaml",
                        Options(cni="calico", mesh="none"))


def calico_np(name: str, spec: str, namespace: str = "shop", kind: str = "NetworkPolicy") -> str:
    meta = f"{{name: {name}, namespace: {namespace}}}" if kind == "NetworkPolicy" else f"{{name: {name}}}"
    return f"apiVersion: projectcalico.org/v3\nkind: {kind}\nmetadata: {meta}\nspec:\n" + textwrap.indent(
        textwrap.dedent(spec), "  ") + "---\n"


def test_cal8_the_first_allow_or_deny_in_order_decides_and_log_goes_on() -> None:
    a = cluster(calico_np("log-then-deny", """\
        order: 10
        selector: app == 'api'
        ingress:
        - action: Log
        - action: Deny
          source: {selector: app == 'web'}
        - action: Allow
        """) + calico_np("allow-later", """\
        order: 20
        selector: app == 'api'
        ingress: [{action: Allow}]
        """))
    exp = explain(a, "shop/web", "shop/api", 8080)
    assert not exp.allowed
    reasons = [(s.policy.name if s.policy else None, s.rule, s.effect) for s in exp.verdict.steps
               if s.reason is Reason.RULE_MATCHED]
    assert reasons == [("log-then-deny", 0, "none"), ("log-then-deny", 1, "deny")]
    assert explain(a, "other/client", "shop/api", 8080).allowed


def test_cal10_a_lower_order_decides_first_and_an_unset_order_comes_last() -> None:
    a = cluster(calico_np("unset-allows", """\
        selector: app == 'api'
        ingress: [{action: Allow}]
        """) + calico_np("ordered-denies", """\
        order: 500
        selector: app == 'api'
        ingress: [{action: Deny, source: {selector: app == 'web'}}]
        """))
    exp = explain(a, "shop/web", "shop/api", 8080)
    assert not exp.allowed
    deny = next(s for s in exp.verdict.steps if s.effect == "deny")
    assert deny.policy is not None and deny.policy.name == "ordered-denies" and "policy order 500" in deny.message


def test_cal8_pass_leaves_the_tier_and_the_next_tier_decides() -> None:
    a = cluster("""\
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
""" + calico_np("security.pass-web", """\
        tier: security
        selector: app == 'api'
        ingress: [{action: Pass, source: {selector: app == 'web'}}]
        """) + calico_np("default.allow-web", """\
        selector: app == 'api'
        ingress: [{action: Allow, source: {selector: app == 'web'}}]
        """))
    web = explain(a, "shop/web", "shop/api", 8080)
    assert web.allowed
    assert [s.effect for s in web.verdict.steps if s.reason is Reason.RULE_MATCHED] == ["pass", "allow"]
    # The security tier applies to api and no rule decides the client: its default action, Deny.
    client = explain(a, "other/client", "shop/api", 8080)
    assert not client.allowed
    end = next(s for s in client.verdict.steps if s.effect == "deny")
    assert end.reason is Reason.NO_RULE_MATCHED and "end of tier security (order 100)" in end.message


def test_cal11_a_tier_with_default_action_pass_is_transparent() -> None:
    a = cluster("""\
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: audit}
spec: {order: 50, defaultAction: Pass}
---
""" + calico_np("audit.only-logs", """\
        tier: audit
        selector: app == 'api'
        ingress: [{action: Log}]
        """))
    exp = explain(a, "other/client", "shop/api", 8080)
    assert exp.allowed
    assert exp.verdict.steps[-1].reason is Reason.DEFAULT_ALLOW  # the namespace profile (CAL-14)


def test_cal12_types_default_to_ingress_unless_there_are_only_egress_rules() -> None:
    only_egress = cluster(calico_np("egress-only", """\
        selector: app == 'web'
        egress: [{action: Deny, protocol: TCP, destination: {ports: [443]}}]
        """))
    assert explain(only_egress, "other/client", "shop/web", 8080).allowed
    assert not explain(only_egress, "shop/web", "203.0.113.9", 443).allowed
    no_rules = cluster(calico_np("isolate", "selector: app == 'web'\n"))
    assert not explain(no_rules, "other/client", "shop/web", 8080).allowed
    assert explain(no_rules, "shop/web", "203.0.113.9", 443).allowed


def test_cal7_numeric_ports_without_protocol_are_rejected_and_the_policy_is_not_applied() -> None:
    a = cluster(calico_np("no-protocol", """\
        selector: app == 'api'
        ingress:
        - action: Allow
          destination: {ports: [8080]}
        """))
    [error] = [d for d in a.diagnostics.items if d.severity.value == "error"]
    assert error.code == "calico-port-without-protocol"
    assert (error.file, error.line) == ("calico.yaml", CLUSTER.count("\n") + 9)  # the ports line
    exp = explain(a, "shop/web", "shop/api", 8080)
    assert exp.allowed  # the policy does not exist in the cluster: nothing isolates api
    assert any(s.reason is Reason.POLICY_REJECTED for s in exp.verdict.steps)


def test_cal4_a_global_network_policy_selects_through_its_namespace_selector() -> None:
    a = cluster(calico_np("prod-ingress", """\
        namespaceSelector: env == 'prod'
        selector: all()
        ingress: [{action: Allow, source: {namespaceSelector: projectcalico.org/name == 'shop'}}]
        """, kind="GlobalNetworkPolicy"))
    assert explain(a, "shop/web", "shop/api", 8080).allowed
    assert not explain(a, "other/client", "shop/api", 8080).allowed
    assert explain(a, "shop/web", "other/client", 8080).allowed  # other is not prod


def test_cal6_nets_match_pod_addresses_and_not_selector_matches_everything_else() -> None:
    a = cluster(calico_np("nets", """\
        selector: app == 'api'
        ingress:
        - action: Allow
          source: {nets: [10.0.0.0/24], notSelector: role == 'frontend'}
        """))
    assert not explain(a, "shop/web", "shop/api", 8080).allowed  # notSelector
    assert not explain(a, "other/client", "shop/api", 8080).allowed  # 10.0.1.1
    b = cluster(calico_np("nets", """\
        selector: app == 'api'
        ingress: [{action: Allow, source: {nets: [10.0.0.0/24]}}]
        """))
    assert explain(b, "shop/web", "shop/api", 8080).allowed  # NP-18: pod IPs


def test_cal6_a_network_set_selected_by_labels_is_a_peer() -> None:
    a = cluster("""\
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: partners, labels: {role: partner}}
spec: {nets: [198.51.100.0/24]}
---
""" + calico_np("partners-only", """\
        selector: app == 'web'
        types: [Egress]
        egress: [{action: Allow, destination: {selector: role == 'partner', namespaceSelector: global()}}]
        """))
    assert explain(a, "shop/web", "198.51.100.7", 443).allowed
    assert not explain(a, "shop/web", "203.0.113.9", 443).allowed


@pytest.mark.parametrize(("ports", "allowed"), [("[8080]", True), ("['8000:8100']", True), ("[http]", True),
                                                ("[9090]", False)])
def test_cal6_ports_numbers_ranges_and_names(ports: str, allowed: bool) -> None:
    a = cluster(calico_np("ports", f"""\
        selector: app == 'api'
        ingress: [{{action: Allow, protocol: TCP, destination: {{ports: {ports}}}}}]
        """))
    assert explain(a, "shop/web", "shop/api", 8080).allowed is allowed


def test_the_lab_under_calico_reports_its_calico_policy_as_rejected_with_file_and_line() -> None:
    result = CliRunner().invoke(main, ["check", str(ROOT / "examples/shop"), "--cni", "calico"])
    assert result.exit_code == 2
    line = next(x for x in result.stdout.splitlines() if "calico-port-without-protocol" in x)
    assert "examples/shop/cni/calico/policy.yaml:21: error:" in line and "(CAL-7)" in line


def test_the_fixed_calico_policy_is_evaluated_with_its_tier_and_order_in_the_trace() -> None:
    result = CliRunner().invoke(main, ["explain", str(ROOT / "examples/shop-calico"), "--from", "shop/api",
                                       "--to", "shop/mysql", "--port", "3306"])
    assert "cni=calico" in result.stdout
    assert "CalicoNetworkPolicy shop/app-db egress rule 0" in result.stdout
    assert "tier default (order 1000000), policy order 100: first matching rule: Allow TCP/3306" in result.stdout
    # mysql's own ingress is still closed by the lab's default-deny, inside the default tier.
    assert result.exit_code == 1
