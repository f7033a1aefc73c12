"""Staged, dry-run and audited policies (CAL-23, IST-40, CIL-31): never enforced, so today's answers
stay; ``--enforce-staged`` analyses them as enforced and ``diff --staged`` lists what that changes."""

from __future__ import annotations

import json
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
    notes = [d for d in today.diagnostics.items if d.code == "staged-policy" and "CAL-23" in d.message]
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
        "diff examples/staged (enforced today) → examples/staged (staged enforced) (OLD: cni=calico, "
        "ipblock-matches-pods=yes, self-traffic=omitted; NEW: cni=calico, ipblock-matches-pods=yes, "
        "self-traffic=omitted, staged=enforced)\n"
        "shop/web -> shop/mysql: - no longer allowed TCP/3306\n"
        "    denied by StagedKubernetesNetworkPolicy shop/mysql-ingress (examples/staged/staged.yaml:3)\n"
        "    was allowed by NetworkPolicy shop/mysql-ingress ingress rule 0 (examples/staged/policies.yaml:9)\n"
        "1 pair(s) changed, 0 entry point(s) changed, 0 workload(s) added, 0 removed\n")


def test_diff_staged_json_keeps_both_sides_options() -> None:
    result = CliRunner().invoke(main, ["diff", "--staged", "examples/staged", "--format", "json"],
                                catch_exceptions=False)
    data = json.loads(result.stdout)
    assert data["options"] == ["cni=calico", "ipblock-matches-pods=yes", "self-traffic=omitted", "staged=enforced"]
    assert data["oldOptions"] == ["cni=calico", "ipblock-matches-pods=yes", "self-traffic=omitted"]


def test_diff_staged_takes_one_path() -> None:
    result = CliRunner().invoke(main, ["diff", "--staged", "examples/staged", "examples/shop"])
    assert result.exit_code == 2
    assert "--staged takes exactly one PATH" in result.output


def test_explain_names_the_staged_policy_that_would_change_the_answer() -> None:
    a = analyse(KNP_DB + staged_knp(None))
    steps = explain(a, "shop/web", "shop/db", 5432).verdict.steps
    assert [(str(s.reason), str(s.effect), s.message) for s in steps][-1] == (
        "not-enforced", "none", "staged, not enforced: would make this deny once enforced (--enforce-staged shows "
        "it; CAL-23)")
    assert steps[-1].policy is not None and steps[-1].policy.kind == "StagedKubernetesNetworkPolicy"
    # a flow the staged policy does not change: no such step
    assert all(str(s.reason) != "not-enforced" for s in explain(a, "shop/api", "shop/db", 5432).verdict.steps)


MESH = """\
apiVersion: v1
kind: Namespace
metadata: {name: mesh, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: mesh, labels: {app: client}}
spec: {serviceAccountName: client, containers: [{name: c}]}
status: {podIP: 10.1.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: httpbin, namespace: mesh, labels: {app: httpbin}}
spec: {containers: [{name: c, ports: [{containerPort: 8000}]}]}
status: {podIP: 10.1.0.2}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-path-headers
  namespace: mesh
  annotations: {"istio.io/dry-run": "%s"}
spec:
  selector: {matchLabels: {app: httpbin}}
  action: DENY
  rules: [{to: [{operation: {paths: ["/headers"]}}]}]
"""


@pytest.mark.parametrize(("value", "enforce", "expected"), [
    ("true", False, "allow"), ("true", True, "deny"), ("false", False, "deny"), ("TRUE", False, "allow"),
    ("1", False, "allow"), ("False", True, "deny")])
def test_ist40_a_dry_run_authorization_policy_is_enforced_only_under_enforce_staged(
        value: str, enforce: bool, expected: str) -> None:
    """The dry-run task of the Istio documentation: deny-path-headers, dry-run, lets GET /headers through."""
    a = analyse_text(MESH % value, "mesh.yaml", Options(mesh="istio", enforce_staged=enforce))
    exp = explain(a, "mesh/client", "mesh/httpbin", 8000, path="/headers")
    assert str(exp.verdict.verdict) == expected
    assert str(explain(a, "mesh/client", "mesh/httpbin", 8000, path="/ip").verdict.verdict) == "allow"
    if value == "true" and not enforce:
        assert [s.message for s in exp.verdict.steps if str(s.reason) == "not-enforced"] == [
            "dry-run, not enforced: would make this deny once enforced (--enforce-staged shows it; IST-40)"]


@pytest.mark.parametrize(("value", "action"), [("yes", "DENY"), ("true", "AUDIT")])
def test_ist40_istiod_refuses_a_dry_run_value_that_is_no_boolean_or_on_another_action(value: str,
                                                                                      action: str) -> None:
    a = analyse_text((MESH % value).replace("action: DENY", f"action: {action}"), "mesh.yaml", Options(mesh="istio"))
    assert str(explain(a, "mesh/client", "mesh/httpbin", 8000, path="/headers").verdict.verdict) == "allow"
    assert [(d.code, d.line) for d in a.diagnostics.items if "IST-40" in d.message] == [("istio-rejected", 22)]
    assert [p.ref.name for p in a.cluster.mesh.rejected] == ["deny-path-headers"]


CILIUM = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {containers: [{name: c, ports: [{containerPort: 5432}]}]}
status: {podIP: 10.0.0.3}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: db}}
  ingress: [{fromEndpoints: [{matchLabels: {app: api}}]}]
"""


def test_cil31_policy_audit_mode_forwards_what_the_policies_would_drop_and_says_which_would() -> None:
    enforced = analyse_text(CILIUM, "cilium.yaml", Options(cni="cilium"))
    assert str(explain(enforced, "shop/web", "shop/db", 5432).verdict.verdict) == "deny"
    audited = analyse_text(CILIUM, "cilium.yaml", Options(cni="cilium", cilium_audit=True))
    steps = explain(audited, "shop/web", "shop/db", 5432).verdict.steps
    assert str(explain(audited, "shop/web", "shop/db", 5432).verdict.verdict) == "allow"
    assert [(str(s.reason), str(s.effect)) for s in steps if str(s.effect) in ("deny", "warn")] == [
        ("no-rule-matched", "warn")]
    assert (str(steps[-1].reason), str(steps[-1].effect)) == ("policy-audit", "allow")
    assert "CIL-31" in steps[-1].message
    # the map agrees
    from kubeward import connectivity_map
    pairs = {(c.src, c.dst) for c in connectivity_map(audited).connections}
    assert ("shop/web", "shop/db") in pairs
    assert ("shop/web", "shop/db") not in {(c.src, c.dst) for c in connectivity_map(enforced).connections}


def test_cil31_audit_mode_is_cilium_only() -> None:
    a = analyse(KNP_DB.replace("podSelector: {}", "podSelector: {matchLabels: {app: api}}"), cilium_audit=True)
    assert verdict(a, "shop/web", "shop/db", 5432) == "deny"


def lint_codes(a: Analysis, code: str) -> list[tuple[str, str, int, str]]:
    from kubeward.analyses.lint import lint
    return [(f.severity.value, f.resource, f.line, f.message) for f in lint(a).findings if f.code == code]


TIER = """\
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100}
---
apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: security.db}
spec:
  tier: security
  selector: app == 'db'
  types: [Ingress]
  ingress: [{action: Allow, source: {selector: app == 'api'}}]
"""


def test_cal24_lint_a_staged_policy_alone_in_its_tier_switches_on_the_end_of_tier_deny() -> None:
    a = analyse(KNP_DB + TIER)
    assert lint_codes(a, "staged-policy-ends-tier") == [(
        "warning", "StagedGlobalNetworkPolicy security.db", 35,
        "StagedGlobalNetworkPolicy security.db is the only policy of tier security that selects shop/db for "
        "ingress: today the tier is skipped for them (no enforced policy there, so its end-of-tier Deny does not "
        "run); once the staged policy is enforced, everything it does not allow from them is denied at the end "
        "of the tier (CAL-24)")]
    # what that means: web -> db, allowed by the default tier today, is denied at the end of tier security
    assert verdict(a, "shop/web", "shop/db", 5432) == "allow"
    assert verdict(analyse(KNP_DB + TIER, enforce_staged=True), "shop/web", "shop/db", 5432) == "deny"
    # an enforced policy of the tier already selects db: the tier applies today, no finding
    enforced_too = TIER + "---\n" + TIER.split("---\n")[1].replace("StagedGlobalNetworkPolicy", "GlobalNetworkPolicy") \
        .replace("security.db", "security.db-old")
    assert lint_codes(analyse(KNP_DB + enforced_too), "staged-policy-ends-tier") == []


def test_ist41_lint_a_dry_run_policy_protects_nothing() -> None:
    a = analyse_text(MESH % "true", "mesh.yaml", Options(mesh="istio"))
    assert lint_codes(a, "dry-run-policy") == [(
        "warning", "AuthorizationPolicy mesh/deny-path-headers", 17,
        "AuthorizationPolicy mesh/deny-path-headers has istio.io/dry-run: \"true\": istiod only logs what it would "
        "decide; its DENY rules are not enforced (IST-40, IST-41); the requests it names are allowed")]
    assert lint_codes(analyse_text(MESH % "false", "mesh.yaml", Options(mesh="istio")), "dry-run-policy") == []


def test_cil32_lint_audit_mode_left_on_where_policies_are() -> None:
    a = analyse_text(CILIUM, "cilium.yaml", Options(cni="cilium", cilium_audit=True))
    assert lint_codes(a, "cilium-audit-mode") == [(
        "warning", "CiliumNetworkPolicy shop/db", 13,
        "policy audit mode is on (--cilium-audit) and 1 policy selects workloads in namespace shop "
        "(CiliumNetworkPolicy shop/db): what they deny is only logged (AUDIT), never dropped (CIL-31, CIL-32)")]
    assert lint_codes(analyse_text(CILIUM, "cilium.yaml", Options(cni="cilium")), "cilium-audit-mode") == []


def test_diff_staged_with_flows_lists_the_observed_flows_enforcing_would_break() -> None:
    result = CliRunner().invoke(main, ["diff", "--staged", "examples/staged", "--flows", "tests/data/staged-flows.json",
                                       "--exit-code"], catch_exceptions=False)
    assert result.exit_code == 1, result.output  # --exit-code: an observed flow would break
    section = result.stdout[result.stdout.index("\nobserved flows"):]
    assert section == (
        "\nobserved flows (tests/data/staged-flows.json): 4 records, 3 distinct; compared on both sides 3: 1 would "
        "be broken, 0 newly allowed, 2 unchanged; 0 only in OLD, 0 only in NEW; apart: 0 replies, 0 non-policy "
        "drops, 0 unplaced, 0 not modelled\n"
        "would be broken (allowed before, denied after):\n"
        "  shop/web → shop/mysql TCP/3306  ×2  observed forwarded; first seen tests/data/staged-flows.json:1\n"
        "      before: NetworkPolicy shop/mysql-ingress ingress rule 0 (examples/staged/policies.yaml:9)\n"
        "      after:  default deny of StagedKubernetesNetworkPolicy shop/mysql-ingress "
        "(examples/staged/staged.yaml:3)\n")


def test_every_command_keeps_todays_answers_the_map_of_the_example_lists_web_to_mysql() -> None:
    from kubeward import analyse_paths, connectivity_map
    today = {(c.src, c.dst) for c in connectivity_map(analyse_paths(["examples/staged"])).connections}
    staged = {(c.src, c.dst) for c in connectivity_map(
        analyse_paths(["examples/staged"], Options(enforce_staged=True))).connections}
    assert ("shop/web", "shop/mysql") in today
    assert today - staged == {("shop/web", "shop/mysql")}
    assert staged - today == set()
