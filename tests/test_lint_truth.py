"""Diagnostics that tell the truth (issue 11, items 12, 16, 17 and 18): a finding says what is
really wrong, names the hop or rule that refuses, and its fix — applied as written — makes the
finding go away."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kubeward import Options, analyse_paths, analyse_text
from kubeward.analyses.lint import Finding, lint
from kubeward.cli import main
from kubeward.diagnostics import Leans
from kubeward.dialects.unmodelled import OPENS_TRAFFIC

ROOT = Path(__file__).resolve().parent.parent
SHOP, SHOP_FIXED = "examples/shop", "examples/shop-fixed"
SHOP_NP = "examples/shop/base/networkpolicies.yaml"


@pytest.fixture(autouse=True)
def at_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(ROOT)
    yield


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def findings(paths: list[str], code: str, cni: str = "auto") -> list[Finding]:
    return [f for f in lint(analyse_paths(paths, Options(cni=cni))).findings if f.code == code]


def policy_from_fix(fix: str, name: str = "the-fix") -> str:
    """The NetworkPolicy a fix spells out (``in namespace NS, a NetworkPolicy with `podSelector: …`,
    `policyTypes: […]`, `ingress|egress: […]` …``), as a manifest."""
    namespace = re.search(r"in namespace ([a-z0-9-]+),", fix)
    fields = re.findall(r"`([a-zA-Z]+: .*?)`(?:,| \()", fix)
    assert namespace is not None and len(fields) == 3, fix
    return (f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: "
            f"{namespace.group(1)}}}\nspec:\n" + "".join(f"  {f}\n" for f in fields))


def with_fix(tmp_path: Path, fix: str) -> str:
    path = tmp_path / "the-fix.yaml"
    path.write_text(policy_from_fix(fix), encoding="utf-8")
    return str(path)


# ================================================================= item 12: hostNetwork-only selectors

HOST_ONLY = textwrap.dedent("""\
    apiVersion: v1
    kind: Namespace
    metadata: {name: app}
    ---
    apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: node-exporter, namespace: app}
    spec:
      selector: {matchLabels: {app: node-exporter}}
      template:
        metadata: {labels: {app: node-exporter}}
        spec:
          hostNetwork: true
          containers: [{name: c, image: x, ports: [{containerPort: 9100}]}]
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: exporter-in, namespace: app}
    spec:
      podSelector: {matchLabels: {app: node-exporter}}
      policyTypes: [Ingress]
    """)


def test_item12_a_policy_selecting_only_hostnetwork_pods_says_so_not_fix_the_labels() -> None:
    report = lint(analyse_text(HOST_ONLY, "x.yaml"))
    about = [f for f in report.findings if f.name == "exporter-in"]
    # One finding, that names the real reason and its rule; no "fix the selector's labels", no "delete it".
    assert [(f.code, f.line) for f in about] == [("policy-selects-host-network", 16)]
    assert about[0].message == ("NetworkPolicy app/exporter-in: its selector (app=node-exporter) selects only "
                                "hostNetwork pods (app/node-exporter), which policies do not govern (NP-25): it "
                                "changes nothing")
    assert "labels" not in about[0].fix and "hostNetwork" in about[0].fix
    # The workload itself: no policy can select it, so "select it with a default-deny" would mislead.
    [unprotected] = [f for f in report.findings if f.code == "unprotected-workload"]
    assert "runs with hostNetwork" in unprotected.message and "(NP-25)" in unprotected.message
    assert "default-deny" not in unprotected.fix


def test_item12_a_selector_matching_no_pod_at_all_still_says_fix_the_labels() -> None:
    typo = HOST_ONLY.replace("podSelector: {matchLabels: {app: node-exporter}}",
                             "podSelector: {matchLabels: {app: nde}}")
    [f] = [f for f in lint(analyse_text(typo, "x.yaml")).findings if f.name == "exporter-in"
           and f.code.startswith("policy-selects")]
    assert f.code == "policy-selects-nothing" and "fix the selector's labels" in f.fix


def test_item12_map_carries_the_hostnetwork_note_on_stderr_and_in_json(tmp_path: Path) -> None:
    path = tmp_path / "in.yaml"
    path.write_text(HOST_ONLY, encoding="utf-8")
    text = run("map", str(path))
    assert text.exit_code == 0
    assert (f"{path}:16: warning: policy-selects-host-network: NetworkPolicy app/exporter-in: its selector "
            "(app=node-exporter) selects only hostNetwork pods (app/node-exporter), which policies do not govern "
            "(NP-25)") in text.stderr
    doc: dict[str, Any] = json.loads(run("map", str(path), "--format", "json").stdout)
    [note] = [d for d in doc["diagnostics"] if d["code"] == "policy-selects-host-network"]
    assert (note["severity"], note["line"], note["resource"]) == ("warning", 16, "NetworkPolicy app/exporter-in")


# ================================================================= item 17: entry points that reach no backend


def test_item17_lint_reports_the_shop_ingress_that_default_deny_keeps_from_web() -> None:
    [f] = findings([SHOP], "entry-point-blocked")
    assert (f.severity, f.resource, f.file, f.line) == ("warning", "Ingress shop/web-ing",
                                                       "examples/shop/entry/ingress.yaml", 2)
    assert f.message.startswith("Ingress shop/web-ing: no request reaches a backend through it: every way in is "
                                "blocked; first failing hop of https://shop.example.com/: ingress of shop/web: "
                                f"NetworkPolicy shop/default-deny ({SHOP_NP}:3): ")
    # The fix: on the side that refuses (web's ingress), admit the controller's pods on web's pod port.
    assert f.fix.startswith("add the rule on the side that refuses (ingress of shop/web): in namespace shop, a "
                            "NetworkPolicy with `podSelector: {matchLabels: {app: web}}`, `policyTypes: [Ingress]`")
    assert ("podSelector: {matchLabels: {app.kubernetes.io/component: controller, app.kubernetes.io/name: "
            "ingress-nginx}}}], ports: [{protocol: TCP, port: 8080}]") in f.fix


def test_item17_the_suggested_rule_applied_as_written_lets_the_ingress_reach_web(tmp_path: Path) -> None:
    [f] = findings([SHOP], "entry-point-blocked")
    assert not findings([SHOP, with_fix(tmp_path, f.fix)], "entry-point-blocked")


def test_item17_the_fixed_lab_is_silent_under_every_profile() -> None:
    for cni in ("auto", "generic", "cilium"):
        assert not findings([SHOP_FIXED], "entry-point-blocked", cni), cni


def test_item17_a_route_not_accepted_is_said_once_by_route_not_accepted() -> None:
    report = lint(analyse_paths([SHOP]))
    route = [f.code for f in report.findings if f.resource == "HTTPRoute shop/shop-route"]
    assert route == ["route-not-accepted"]


def test_item17_sarif_carries_the_finding_with_its_rule(tmp_path: Path) -> None:
    doc: dict[str, Any] = json.loads(run("lint", SHOP, "--format", "sarif").stdout)
    [result] = [r for r in doc["runs"][0]["results"] if r["ruleId"] == "entry-point-blocked"]
    assert result["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "examples/shop/entry/ingress.yaml"}, "region": {"startLine": 2}}
    [rule] = [r for r in doc["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "entry-point-blocked"]
    assert rule["properties"] == {"source": "ING-6"}


# ================================================================= item 18: one-sided allows, both directions


def test_item18_an_ingress_allow_whose_source_egress_refuses_is_one_sided_not_redundant() -> None:
    report = lint(analyse_paths([SHOP]))
    web_to_api = [f for f in report.findings if f.resource == "NetworkPolicy shop/allow-web-to-api"]
    assert [(f.code, f.line) for f in web_to_api] == [("one-sided-allow", 22)]
    [f] = web_to_api
    assert f.message == (
        "NetworkPolicy shop/allow-web-to-api ingress rule 0: allows ingress from pods {app=web} in namespace shop on "
        "TCP/8080, but their egress refuses every flow to these pods: denied by NetworkPolicy shop/default-deny "
        f"({SHOP_NP}:3); the rule has no effect until their side allows it; as it stands the policy changes nothing: "
        "it lacks its other half")
    # The missing half, on web's side — not "delete it".
    assert f.fix == (
        "add the missing half on their side (do not delete this rule): in namespace shop, a NetworkPolicy with "
        "`podSelector: {matchLabels: {app: web}}`, `policyTypes: [Egress]`, `egress: [{to: [{podSelector: "
        "{matchLabels: {app: api}}}], ports: [{protocol: TCP, port: 8080}]}]` (or that rule in a policy that already "
        "selects those pods)")
    # Neither half-policy of the lab is called redundant any more.
    assert not [f for f in report.findings if f.code == "policy-redundant"]


def test_item18_the_missing_half_applied_as_written_opens_web_to_api(tmp_path: Path) -> None:
    [f] = [f for f in findings([SHOP], "one-sided-allow", "generic") if f.name == "allow-web-to-api"]
    fixed = analyse_paths([SHOP, with_fix(tmp_path, f.fix)], Options(cni="generic"))
    assert not [g for g in lint(fixed).findings if g.code == "one-sided-allow" and g.name == "allow-web-to-api"]
    from kubeward import explain

    assert explain(fixed, "shop/web", "shop/api", 8080).verdict.allowed


def test_item18_the_egress_half_is_reported_with_its_missing_ingress_half(tmp_path: Path) -> None:
    [f] = [f for f in findings([SHOP], "one-sided-allow") if f.name == "allow-api-egress-mysql"]
    assert "their ingress refuses every flow from these pods" in f.message
    assert "`policyTypes: [Ingress]`" in f.fix and "{podSelector: {matchLabels: {app: api}}}" in f.fix
    assert not [g for g in findings([SHOP, with_fix(tmp_path, f.fix)], "one-sided-allow")
                if g.name == "allow-api-egress-mysql"]


def test_item18_a_redundant_policy_whose_other_side_allows_it_is_still_redundant() -> None:
    """policy-redundant stays for a policy whose allows other policies already make."""
    text = textwrap.dedent("""\
        apiVersion: v1
        kind: Namespace
        metadata: {name: app}
        """)
    for name, port in (("web", 80), ("db", 3306)):
        text += textwrap.dedent(f"""\
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {{name: {name}, namespace: app}}
            spec:
              selector: {{matchLabels: {{app: {name}}}}}
              template:
                metadata: {{labels: {{app: {name}}}}}
                spec: {{containers: [{{name: c, image: x, ports: [{{containerPort: {port}}}]}}]}}
            """)
    for name, peer in (("db-from-all", "{}"), ("db-from-web", "{matchLabels: {app: web}}")):
        text += textwrap.dedent(f"""\
            ---
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {{name: {name}, namespace: app}}
            spec:
              podSelector: {{matchLabels: {{app: db}}}}
              ingress: [{{from: [{{podSelector: {peer}}}], ports: [{{port: 3306}}]}}]
            """)
    codes = {(f.code, f.name) for f in lint(analyse_text(text, "x.yaml")).findings if f.name.startswith("db-from")}
    assert ("policy-redundant", "db-from-web") in codes
    assert not {c for c in codes if c[0] == "one-sided-allow"}


# ================================================================= item 16: unmodelled kinds that open traffic

UNMODELLED = textwrap.dedent("""\
    apiVersion: v1
    kind: Namespace
    metadata: {name: app}
    ---
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata: {name: web, namespace: app}
    spec:
      hosts: [shop.example.com]
      gateways: [public]
      http: [{route: [{destination: {host: web}}]}]
    ---
    apiVersion: projectcontour.io/v1
    kind: HTTPProxy
    metadata: {name: web, namespace: app}
    spec: {virtualhost: {fqdn: shop.example.com}, routes: [{services: [{name: web, port: 80}]}]}
    ---
    apiVersion: networking.istio.io/v1
    kind: Sidecar
    metadata: {name: default, namespace: app}
    spec: {egress: [{hosts: ["./*"]}]}
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: c, namespace: app}
    """)


def test_item16_an_unmodelled_entry_point_kind_is_a_warning_that_may_allow_more() -> None:
    notes = {d.message.split(" (")[0].removeprefix("not modelled: "): d
             for d in analyse_text(UNMODELLED, "x.yaml").diagnostics.items if d.code == "not-modelled"}
    for kind, line in (("VirtualService", 5), ("HTTPProxy", 13)):
        d = notes[kind]
        assert (d.severity, d.leans, d.line) == ("warning", Leans.MAY_ALLOW_MORE, line), kind
        assert "entry point: it lets traffic in from outside through a proxy" in d.message
    assert str(notes["VirtualService"]) == (
        "x.yaml:5: warning: not-modelled: not modelled: VirtualService (networking.istio.io/v1), 1 object — Istio "
        "entry point: it lets traffic in from outside through a proxy; what it lets through is not in this analysis "
        "(may allow more than shown)")
    # Kinds that carry no traffic decision stay notes; a Sidecar is modelled (IST-29): no note at all.
    assert (notes["ConfigMap"].severity, notes["ConfigMap"].leans) == ("info", None)
    assert "Sidecar" not in notes


def test_item16_the_text_map_shows_the_warning_without_verbose(tmp_path: Path) -> None:
    path = tmp_path / "in.yaml"
    path.write_text(UNMODELLED, encoding="utf-8")
    result = run("map", str(path))
    assert result.exit_code == 0
    shown = [line for line in result.stderr.splitlines() if ": not-modelled: " in line]
    assert [k for line in shown for k in re.findall(r"not modelled: (\w+) \(", line)] == ["VirtualService",
                                                                                          "HTTPProxy"]
    assert all(line.endswith("(may allow more than shown)") for line in shown)
    doc: dict[str, Any] = json.loads(run("map", str(path), "--format", "json").stdout)
    leaning = [d for d in doc["diagnostics"] if d.get("leans") == "may allow more than shown"]
    assert [d["line"] for d in leaning] == [5, 13]


def test_item16_a_knative_service_is_an_entry_point_not_a_service_in_the_wrong_group() -> None:
    text = "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: hello, namespace: app}\n"
    [d] = [d for d in analyse_text(text, "x.yaml").diagnostics.items if d.code in ("not-modelled", "unknown-group")]
    assert (d.code, d.severity, d.leans) == ("not-modelled", "warning", Leans.MAY_ALLOW_MORE)


def test_item16_every_kind_of_the_table_is_documented_in_lint_md() -> None:
    doc = (ROOT / "docs" / "lint.md").read_text()
    section = doc[doc.index("## Kinds known but not modelled"):]
    missing = [f"{g} {k}" for (g, k) in OPENS_TRAFFIC if f"`{k}`" not in section or f"`{g}`" not in section]
    assert missing == []


def test_item18_an_allow_the_other_side_denies_explicitly_names_that_rule_not_a_missing_half() -> None:
    """An AdminNetworkPolicy Deny wins over any NetworkPolicy allow: adding "the missing half" would not help."""
    text = textwrap.dedent("""\
        apiVersion: v1
        kind: Namespace
        metadata: {name: app}
        """)
    for name, port in (("web", 80), ("db", 3306)):
        text += textwrap.dedent(f"""\
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {{name: {name}, namespace: app}}
            spec:
              selector: {{matchLabels: {{app: {name}}}}}
              template:
                metadata: {{labels: {{app: {name}}}}}
                spec: {{containers: [{{name: c, image: x, ports: [{{containerPort: {port}}}]}}]}}
            """)
    text += textwrap.dedent("""\
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: web-egress, namespace: app}
        spec:
          podSelector: {matchLabels: {app: web}}
          policyTypes: [Egress]
          egress: [{to: [{podSelector: {matchLabels: {app: db}}}], ports: [{port: 3306}]}]
        ---
        apiVersion: policy.networking.k8s.io/v1alpha1
        kind: AdminNetworkPolicy
        metadata: {name: no-db}
        spec:
          priority: 10
          subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: db}}}}
          ingress: [{action: Deny, from: [{namespaces: {}}]}]
        """)
    [f] = [f for f in lint(analyse_text(text, "x.yaml")).findings if f.code == "one-sided-allow"]
    assert f.message.endswith("but their ingress denies every flow from these pods: denied by AdminNetworkPolicy "
                              "no-db ingress rule 0 (x.yaml:37)")
    assert f.fix.startswith("their side denies this flow with an explicit rule") and "missing half" not in f.fix
