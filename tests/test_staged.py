"""Staged, dry-run and audited policies (CAL-23, IST-40, CIL-31): never enforced, so today's answers
stay; ``--enforce-staged`` analyses them as enforced and ``diff --staged`` lists what that changes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from kubeward import Analysis, Options, analyse_text, explain
from kubeward.cli import main

ROOT = Path(__file__).resolve().parent.parent

CLUSTER = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, ports: [{containerPort: 8080}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}}
spec: {containers: [{name: c, ports: [{containerPort: 8080}]}]}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {containers: [{name: c, ports: [{containerPort: 5432}]}]}
status: {podIP: 10.0.0.3}
---
"""

KNP_DB = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {}}], ports: [{port: 5432}]}]
---
"""


def staged_knp(action: str | None, allowed: str = "api") -> str:
    line = f"  stagedAction: {action}\n" if action else ""
    return ("apiVersion: projectcalico.org/v3\nkind: StagedKubernetesNetworkPolicy\n"
            "metadata: {name: db, namespace: shop}\nspec:\n" + line +
            "  podSelector: {matchLabels: {app: db}}\n"
            f"  ingress: [{{from: [{{podSelector: {{matchLabels: {{app: {allowed}}}}}}}]}}]\n---\n")


def analyse(objects: str, **options: object) -> Analysis:
    return analyse_text(CLUSTER + textwrap.dedent(objects), "staged.yaml",
                        Options(cni="calico", mesh="none", **options))  # type: ignore[arg-type]


def verdict(a: Analysis, src: str, dst: str, port: int) -> str:
    return str(explain(a, src, dst, port).verdict.verdict)


@pytest.mark.parametrize("action", [None, "Set"])
def test_cal23_a_staged_set_is_not_enforced_until_enforce_staged_replaces_the_policy_of_its_name(
        action: str | None) -> None:
    objects = KNP_DB + staged_knp(action)
    today = analyse(objects)
    assert verdict(today, "shop/web", "shop/db", 5432) == "allow"
    notes = [d for d in today.diagnostics.items if d.code == "not-enforced" and "CAL-23" in d.message]
    assert [(d.line, d.severity.value) for d in notes] == [(30, "info")]
    staged = analyse(objects, enforce_staged=True)
    assert verdict(staged, "shop/web", "shop/db", 5432) == "deny"
    assert verdict(staged, "shop/api", "shop/db", 5432) == "allow"
    deciding = [s.message for s in explain(staged, "shop/web", "shop/db", 5432).verdict.steps if s.effect == "deny"]
    assert "StagedKubernetesNetworkPolicy shop/db" in deciding[0]
    # the enforced NetworkPolicy of that name is replaced, not added to
    assert [p.ref.kind for p in staged.cluster.policies] == ["StagedKubernetesNetworkPolicy"]


def test_cal23_a_staged_delete_removes_the_enforced_policy_of_its_name() -> None:
    objects = KNP_DB.replace("podSelector: {}", "podSelector: {matchLabels: {app: api}}") + staged_knp("Delete")
    assert verdict(analyse(objects), "shop/web", "shop/db", 5432) == "deny"
    staged = analyse(objects, enforce_staged=True)
    assert verdict(staged, "shop/web", "shop/db", 5432) == "allow"
    assert staged.cluster.policies == []


def test_cal23_a_staged_policy_replaces_only_its_own_kind_family() -> None:
    """StagedNetworkPolicy stands for a Calico NetworkPolicy: the Kubernetes NetworkPolicy of the
    same name stays."""
    calico = """\
        apiVersion: projectcalico.org/v3
        kind: StagedNetworkPolicy
        metadata: {name: db, namespace: shop}
        spec:
          order: 100
          selector: app == 'db'
          ingress: [{action: Deny, source: {selector: app == 'web'}}]
        """
    staged = analyse(KNP_DB + calico, enforce_staged=True)
    assert sorted(p.ref.kind for p in staged.cluster.policies) == ["NetworkPolicy", "StagedNetworkPolicy"]
    assert verdict(staged, "shop/web", "shop/db", 5432) == "deny"
    assert verdict(staged, "shop/api", "shop/db", 5432) == "allow"


def test_cal23_a_staged_global_policy_replaces_the_global_policy_of_its_name() -> None:
    objects = """\
        apiVersion: projectcalico.org/v3
        kind: GlobalNetworkPolicy
        metadata: {name: db}
        spec:
          selector: app == 'db'
          ingress: [{action: Deny, source: {selector: app == 'web'}}]
        ---
        apiVersion: projectcalico.org/v3
        kind: StagedGlobalNetworkPolicy
        metadata: {name: db}
        spec:
          selector: app == 'db'
          ingress: [{action: Deny, source: {selector: app == 'api'}}]
        """
    today, staged = analyse(objects), analyse(objects, enforce_staged=True)
    assert (verdict(today, "shop/web", "shop/db", 5432), verdict(today, "shop/api", "shop/db", 5432)) == \
        ("deny", "deny")  # no Allow in the tier: its end denies everything the policy selects
    staged_calico = analyse(objects.replace("Deny, source: {selector: app == 'api'}",
                                            "Allow, source: {selector: app == 'api'}"), enforce_staged=True)
    assert verdict(staged_calico, "shop/api", "shop/db", 5432) == "allow"
    assert verdict(staged_calico, "shop/web", "shop/db", 5432) == "deny"
    assert [p.ref.kind for p in staged.cluster.policies] == ["StagedGlobalNetworkPolicy"]


@pytest.mark.parametrize(("action", "code", "severity"), [("Learn", "not-modelled", "info"),
                                                           ("Ignore", "not-modelled", "info"),
                                                           ("Sett", "invalid-value", "error")])
def test_cal23_a_staged_action_other_than_set_or_delete_is_left_out(action: str, code: str, severity: str) -> None:
    a = analyse(KNP_DB + staged_knp(action), enforce_staged=True)
    assert verdict(a, "shop/web", "shop/db", 5432) == "allow"
    assert [(d.code, d.severity.value, d.line) for d in a.diagnostics.items if d.line == 34 and d.code == code] \
        == [(code, severity, 34)]


def test_cal23_staged_policies_alone_pick_the_calico_profile() -> None:
    a = analyse_text(CLUSTER + staged_knp(None), "staged.yaml", Options(enforce_staged=True))
    assert a.options.cni.value == "calico"
    assert verdict(a, "shop/web", "shop/db", 5432) == "deny"


def test_cal23_diff_staged_lists_exactly_the_flows_the_staged_policy_changes() -> None:
    result = CliRunner().invoke(main, ["diff", "--staged", "examples/staged"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "diff examples/staged (enforced today) → examples/staged (staged enforced) (cni=calico, "
        "ipblock-matches-pods=yes, self-traffic=omitted, staged=enforced)\n"
        "shop/web -> shop/mysql: - no longer allowed TCP/3306\n"
        "    denied by StagedKubernetesNetworkPolicy shop/mysql-ingress (examples/staged/staged.yaml:3)\n"
        "    was allowed by NetworkPolicy shop/mysql-ingress ingress rule 0 (examples/staged/policies.yaml:9)\n"
        "1 pair(s) changed, 0 entry point(s) changed, 0 workload(s) added, 0 removed\n")


def test_diff_staged_takes_one_path() -> None:
    result = CliRunner().invoke(main, ["diff", "--staged", "examples/staged", "examples/shop"])
    assert result.exit_code == 2
    assert "--staged takes exactly one PATH" in result.output
