"""`kubeward labels` (issue 17): the labels every selector of the input reads — per dialect, with
role, operator and file:line — and relabel simulations whose opened and closed flows are computed
by analysing the relabelled model again."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from kubeward import Options, analyse_text
from kubeward import analyse_paths as kubeward_analyse
from kubeward.analyses.labels import (
    ChangeTarget,
    LabelChange,
    LabelDependency,
    label_dependencies,
    labels_paths,
    parse_relabel,
)
from kubeward.cli import main
from kubeward.errors import UsageError
from kubeward.render.labels_text import labels_markdown, labels_text

SHOP = "examples/shop"


def uses(dep: LabelDependency) -> list[tuple[str, str, str, str, str, str]]:
    """(kind, ns/name, where, role, operator, file:line) of each use."""
    return [(u.ref.kind, f"{u.ref.namespace}/{u.ref.name}" if u.ref.namespace else u.ref.name, u.where, u.role,
             u.operator, f"{u.ref.file}:{u.line}") for u in dep.uses]


def dep(report_labels: list[LabelDependency], target: str, text: str) -> LabelDependency:
    found = [d for d in report_labels if d.target == target and d.text == text]
    assert len(found) == 1, [(d.target, d.text) for d in report_labels]
    return found[0]


# ------------------------------------------------------------------------------------ examples/shop


def test_shop_lists_app_web_with_the_policies_that_depend_on_it_and_what_removing_it_changes() -> None:
    report = labels_paths([SHOP])
    web = dep(report.labels, "pod", "app=web")
    assert web.carriers == ["shop/web"]
    assert uses(web) == [
        ("NetworkPolicy", "shop/allow-web-to-api", "ingress rule 0", "peer", "equals",
         "examples/shop/base/networkpolicies.yaml:22"),
        ("Service", "shop/web", "selector", "service-selector", "equals", "examples/shop/base/workloads.yaml:18"),
        ("CiliumNetworkPolicy", "shop/web-to-api-l7", "subject", "subject", "equals",
         "examples/shop/cni/cilium/policies.yaml:3"),
        ("CiliumNetworkPolicy", "shop/web-egress-payment", "subject", "subject", "equals",
         "examples/shop/cni/cilium/policies.yaml:21"),
    ]
    # The lab as written (generic profile): web's egress is default-denied, so nothing that is
    # allowed changes; the selectors that stop selecting shop/web are named, the Cilium ones as
    # not enforced under this profile.
    [sim] = [report.simulations[i] for i in web.simulations]
    assert [str(c) for c in sim.changes] == ["shop/web app-"]
    assert not sim.diff.changed
    assert [(s.ref.name, s.where, s.lost, s.gained, s.enforced) for s in sim.selections] == [
        ("allow-web-to-api", "ingress rule 0", ("shop/web",), (), True),
        ("web-to-api-l7", "subject", ("shop/web",), (), False),
        ("web-egress-payment", "subject", ("shop/web",), (), False),
        ("web", "selector", ("shop/web",), (), True),
    ]
    # Namespace labels: the kube-system name label the DNS rule reads; Kubernetes sets it, so no removal.
    ns = dep(report.labels, "namespace", "kubernetes.io/metadata.name=kube-system")
    assert ns.carriers == ["kube-system"] and ns.simulations == [] and ns.not_simulated == []
    assert not any(d.carried_by_none for d in report.labels)


def test_removing_the_dns_label_closes_dns_for_every_shop_workload_with_the_rule_before_and_after() -> None:
    report = labels_paths([SHOP])
    dns = dep(report.labels, "pod", "k8s-app=kube-dns")
    [sim] = [report.simulations[i] for i in dns.simulations]
    assert [(p.src, p.dst, str(p.opened or ""), str(p.closed or "")) for p in sim.diff.pairs] == [
        ("shop/api", "kube-system/coredns", "", "TCP/53 UDP/53"),
        ("shop/mysql", "kube-system/coredns", "", "TCP/53 UDP/53"),
        ("shop/web", "kube-system/coredns", "", "TCP/53 UDP/53"),
    ]
    assert sim.diff.pairs[0].responsible == [
        "denied by NetworkPolicy shop/default-deny (examples/shop/base/networkpolicies.yaml:3)",
        "was allowed by NetworkPolicy shop/allow-dns egress rule 0 (examples/shop/base/networkpolicies.yaml:50)",
    ]


def test_relabel_web_under_cilium_closes_its_flows_with_the_deciding_rules() -> None:
    report = labels_paths(["examples/shop-fixed"], relabel=[("shop/web", "app-")], simulations=0)
    assert report.relabel is not None and report.simulations == []
    pairs = {(p.src, p.dst): (str(p.opened or ""), str(p.closed or "")) for p in report.relabel.diff.pairs}
    assert pairs == {
        ("infra/edge-nginx", "shop/web"): ("", "TCP/8080"),
        ("ingress-nginx/ingress-nginx-controller", "shop/web"): ("", "TCP/8080"),
        ("shop/web", "api.payment.example.com"): ("", "TCP/443"),
        ("shop/web", "shop/api"): ("", "TCP/8080"),
        ("world", "shop/web"): ("", "TCP/8080"),
    }
    api = next(p for p in report.relabel.diff.pairs if p.dst == "shop/api")
    assert "was allowed by NetworkPolicy shop/allow-web-to-api ingress rule 0 " \
           "(examples/shop-fixed/base/networkpolicies.yaml:22)" in api.responsible
    assert sorted(e.change.value for e in report.relabel.diff.entries) == ["closed", "closed"]


def test_labels_of_the_stand_ins_kubeward_adds_are_carried_by_them_and_cannot_be_relabelled() -> None:
    a = kubeward_analyse(["examples/shop-fixed"])
    report = label_dependencies(a, simulations=0)
    nginx = dep(report.labels, "pod", "app.kubernetes.io/name=ingress-nginx")
    assert (nginx.carriers, nginx.stand_ins, nginx.carried_by_none) == (
        [], ["ingress-nginx/ingress-nginx-controller"], False)
    assert "on ingress-nginx/ingress-nginx-controller (a stand-in kubeward adds)" in labels_text(report)
    with pytest.raises(UsageError, match="a stand-in kubeward adds"):
        parse_relabel(a.cluster, [("ingress-nginx/ingress-nginx-controller", "x=y")])


def test_a_namespace_relabel_can_change_the_mesh() -> None:
    """istio-injection=enabled on shop: sidecars, so PeerAuthentication STRICT refuses the ingress
    controller's plaintext (IST-3) — computed by the simulation, though no selector reads the label."""
    a = kubeward_analyse(["examples/shop-fixed"])
    sim = label_dependencies(a, relabel=parse_relabel(a.cluster, [("ns/shop", "istio-injection=enabled")]),
                             simulations=0).relabel
    assert sim is not None
    closed = {(p.src, p.dst): str(p.closed or "") for p in sim.diff.pairs if p.closed}
    assert closed[("ingress-nginx/ingress-nginx-controller", "shop/web")] == "TCP/8080"
    web = next(p for p in sim.diff.pairs if (p.src, p.dst) == ("world", "shop/web"))
    assert web.responsible[0] == \
        "denied by PeerAuthentication shop/default (examples/shop-fixed/mesh/istio/istio.yaml:2)"


# ------------------------------------------------------------------------------------ fixtures

BASE = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: blue}}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec: {containers: [{name: c, image: i, ports: [{containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: c, image: i, ports: [{containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: client, namespace: other}
spec:
  selector: {matchLabels: {app: client}}
  template:
    metadata: {labels: {app: client}}
    spec: {containers: [{name: c, image: i}]}
---
"""


def analyse(extra: str, cni: str = "generic") -> list[LabelDependency]:
    a = analyse_text(BASE + textwrap.dedent(extra), "t.yaml", Options(cni=cni))
    return label_dependencies(a, simulations=0).labels


def line(extra: str, text: str) -> int:
    whole = BASE + textwrap.dedent(extra)
    return next(i for i, ln in enumerate(whole.splitlines(), 1) if text in ln)


NP = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-in, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from:
    - podSelector:
        matchExpressions:
        - {key: tier, operator: NotIn, values: [batch, db]}
        - {key: legacy, operator: DoesNotExist}
      namespaceSelector: {matchLabels: {team: blue}}
"""


def test_networkpolicy_subject_peer_and_namespace_selectors_with_their_operators() -> None:
    labels = analyse(NP)
    head, rule = line(NP, "kind: NetworkPolicy") - 1, line(NP, "- from:")
    assert uses(dep(labels, "pod", "app=api"))[0] == ("NetworkPolicy", "shop/api-in", "subject", "subject", "equals",
                                                      f"t.yaml:{head}")
    assert uses(dep(labels, "pod", "tier=batch")) == [("NetworkPolicy", "shop/api-in", "ingress rule 0", "peer",
                                                       "not-in", f"t.yaml:{rule}")]
    assert dep(labels, "pod", "tier=db").uses[0].operator == "not-in"
    legacy = dep(labels, "pod", "legacy")
    # A negative term needs no carrier: not flagged.
    assert legacy.uses[0].operator == "does-not-exist" and not legacy.carried_by_none
    team = dep(labels, "namespace", "team=blue")
    assert team.carriers == ["shop"] and team.uses[0].role == "peer"


def test_a_selector_on_a_label_nothing_carries_is_flagged() -> None:
    typo = NP.replace("{app: api}", "{app: apii}").replace("team: blue", "team: bleu")
    labels = analyse(typo)
    assert dep(labels, "pod", "app=apii").carried_by_none
    assert dep(labels, "namespace", "team=bleu").carried_by_none
    assert not dep(labels, "pod", "tier=batch").carried_by_none


ANP = """\
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: guard}
spec:
  priority: 10
  subject:
    pods:
      namespaceSelector: {matchLabels: {team: blue}}
      podSelector: {matchExpressions: [{key: app, operator: In, values: [web, api]}]}
  ingress:
  - name: from-clients
    action: Allow
    from:
    - pods:
        namespaceSelector: {matchExpressions: [{key: team, operator: Exists}]}
        podSelector: {matchLabels: {app: client}}
"""


def test_admin_network_policy_subject_and_peers() -> None:
    labels = analyse(ANP)
    head = line(ANP, "kind: AdminNetworkPolicy") - 1
    assert uses(dep(labels, "pod", "app=web")) == [("AdminNetworkPolicy", "guard", "subject", "subject", "in",
                                                    f"t.yaml:{head}")]
    assert dep(labels, "namespace", "team=blue").uses[0].role == "subject"
    team = dep(labels, "namespace", "team")
    assert (team.uses[0].role, team.uses[0].operator, team.carriers) == ("peer", "exists", ["shop"])
    client = dep(labels, "pod", "app=client")
    assert client.uses[0].where == "ingress rule 0 (from-clients)"
    assert client.uses[0].line == line(ANP, "- name: from-clients")


CILIUM = """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api-l4, namespace: shop}
spec:
  endpointSelector: {matchLabels: {"k8s:app": api}}
  ingress:
  - fromEndpoints:
    - matchLabels:
        k8s:io.kubernetes.pod.namespace: other
        k8s:io.cilium.k8s.namespace.labels.team: red
        app: client
"""


def test_cilium_namespace_label_keys_are_namespace_labels_and_the_namespace_name_is_no_label() -> None:
    labels = analyse(CILIUM, cni="cilium")
    assert uses(dep(labels, "pod", "app=api"))[0][:5] == ("CiliumNetworkPolicy", "shop/api-l4", "subject", "subject",
                                                          "equals")
    red = dep(labels, "namespace", "team=red")
    assert (red.uses[0].role, red.carried_by_none) == ("peer", True)  # no namespace has team=red
    assert dep(labels, "pod", "app=client").uses[0].line == line(CILIUM, "- fromEndpoints:")
    assert not [d for d in labels if "io.kubernetes.pod.namespace" in d.key]


CALICO = """\
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: api-in, namespace: shop}
spec:
  selector: app == 'api' && !has(legacy)
  ingress:
  - action: Allow
    source:
      selector: tier in {'front', 'edge'} && app starts with 'we'
      namespaceSelector: team == 'blue'
      notSelector: app == 'bad'
"""


def test_calico_selector_expressions_with_negation_and_namespace_selectors() -> None:
    labels = analyse(CALICO, cni="calico")
    assert dep(labels, "pod", "app=api").uses[0].role == "subject"
    assert dep(labels, "pod", "legacy").uses[0].operator == "does-not-exist"  # !has(legacy)
    assert dep(labels, "pod", "tier=front").uses[0].operator == "in"
    starts = dep(labels, "pod", "app")
    assert [(u.operator, u.values) for u in starts.uses] == [("starts-with", ("we",))]
    assert dep(labels, "pod", "app=bad").uses[0].operator == "not-equals"  # notSelector
    blue = dep(labels, "namespace", "team=blue")  # pcns.team
    assert (blue.uses[0].role, blue.carriers) == ("peer", ["shop"])
    assert not [d for d in labels if d.key.startswith(("projectcalico.org/", "pcns."))]


ISTIO = """\
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: api-allow, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  action: ALLOW
  rules: [{from: [{source: {namespaces: [shop]}}]}]
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: web-strict, namespace: shop}
spec:
  selector: {matchLabels: {tier: front}}
  mtls: {mode: STRICT}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports: [{port: 80, targetPort: 8080}]
"""


def test_istio_selectors_and_service_selectors() -> None:
    labels = analyse(ISTIO)
    assert uses(dep(labels, "pod", "app=api")) == [
        ("AuthorizationPolicy", "shop/api-allow", "selector", "subject", "equals",
         f"t.yaml:{line(ISTIO, 'kind: AuthorizationPolicy') - 1}"),
        ("Service", "shop/api", "selector", "service-selector", "equals",
         f"t.yaml:{line(ISTIO, 'kind: Service') - 1}"),
    ]
    assert uses(dep(labels, "pod", "tier=front"))[0][:5] == ("PeerAuthentication", "shop/web-strict", "selector",
                                                             "subject", "equals")


# ------------------------------------------------------------------------------------ simulation

OPEN = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-from-front, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{podSelector: {matchLabels: {tier: front}}, namespaceSelector: {}}]
    ports: [{port: 8080}]
"""


def test_relabel_simulation_opens_and_closes_exactly_the_pairs_the_label_decides() -> None:
    a = analyse_text(BASE + OPEN, "t.yaml", Options(cni="generic"))
    report = label_dependencies(a, simulations=5)
    front = dep(report.labels, "pod", "tier=front")
    [sim] = [report.simulations[i] for i in front.simulations]
    assert [(p.src, p.dst, str(p.opened or ""), str(p.closed or "")) for p in sim.diff.pairs] == [
        ("shop/web", "shop/api", "", "TCP/8080")]
    assert sim.diff.pairs[0].responsible == [
        f"denied by NetworkPolicy shop/deny-all (t.yaml:{line(OPEN, 'kind: NetworkPolicy') - 1})",
        f"was allowed by NetworkPolicy shop/api-from-front ingress rule 0 (t.yaml:{line(OPEN, '- from:')})"]
    # Adding it to another workload (with a label and a namespace label nothing reads) opens that one.
    changes = parse_relabel(a.cluster, [("other/client", "tier=front,extra=1"), ("ns/other", "team=x")])
    assert changes == (LabelChange(ChangeTarget.WORKLOAD, "other/client", "tier", "front"),
                       LabelChange(ChangeTarget.WORKLOAD, "other/client", "extra", "1"),
                       LabelChange(ChangeTarget.NAMESPACE, "other", "team", "x"))
    relabel = label_dependencies(a, relabel=changes, simulations=0).relabel
    assert relabel is not None
    assert [(p.src, p.dst, str(p.opened or ""), str(p.closed or "")) for p in relabel.diff.pairs] == [
        ("other/client", "shop/api", "TCP/8080", "")]
    assert relabel.diff.pairs[0].responsible == [
        f"allowed by NetworkPolicy shop/api-from-front ingress rule 0 (t.yaml:{line(OPEN, '- from:')})",
        f"was denied by NetworkPolicy shop/deny-all (t.yaml:{line(OPEN, 'kind: NetworkPolicy') - 1})"]
    assert [(s.ref.name, s.where, s.gained) for s in relabel.selections] == [
        ("api-from-front", "ingress rule 0", ("other/client",))]


def test_a_namespace_relabel_changes_a_namespace_selector() -> None:
    peer_ns = OPEN.replace("- from: [{podSelector: {matchLabels: {tier: front}}, namespaceSelector: {}}]",
                           "- from: [{namespaceSelector: {matchLabels: {team: blue}}}]")
    a = analyse_text(BASE + peer_ns, "t.yaml", Options(cni="generic"))
    relabel = label_dependencies(a, relabel=parse_relabel(a.cluster, [("ns/other", "team=blue")]),
                                 simulations=0).relabel
    assert relabel is not None
    assert [(p.src, p.dst, str(p.opened or "")) for p in relabel.diff.pairs] == [
        ("other/client", "shop/api", "TCP/8080")]
    report = label_dependencies(a, simulations=5)
    removal = report.simulations[dep(report.labels, "namespace", "team=blue").simulations[0]]
    assert [str(c) for c in removal.changes] == ["namespace shop team-"]
    assert [(p.src, p.dst, str(p.closed or "")) for p in removal.diff.pairs] == [
        ("shop/web", "shop/api", "TCP/8080")]


def test_the_simulation_limit_names_what_was_not_simulated() -> None:
    report = labels_paths([SHOP], simulations=1)
    assert (len(report.simulations), report.skipped) == (1, 3)
    assert dep(report.labels, "pod", "app=web").not_simulated == ["shop/web"]
    assert "removing app from shop/web: not simulated (limit 1): use --relabel shop/web app-" in labels_text(report)


# ------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(("spec", "changes", "message"), [
    ("shop/wbe", "app-", "no workload shop/wbe in the input; did you mean shop/web"),
    ("nothere", "app-", "no workload nothere in the input"),
    ("a/b/c/d", "app-", "expected a workload as NAMESPACE/NAME"),
    ("ns/shpo", "a=b", "no namespace shpo defined in the input; did you mean ns/shop"),
    ("shop/web", "app", "expected key=value (set) or key- (remove)"),
    ("shop/web", "-bad=x", "-bad"),
    ("shop/web", "app=not ok", "not ok"),
    ("ns/shop", "kubernetes.io/metadata.name-", "kubernetes.io/metadata.name on every namespace to its name (shop): "
                                                 "it cannot be removed or changed"),
    ("ns/shop", "team=red,kubernetes.io/metadata.name=other", "it cannot be removed or changed"),
])
def test_bad_relabel_is_a_usage_error_naming_close_matches(spec: str, changes: str, message: str) -> None:
    a = analyse_text(BASE, "t.yaml")
    with pytest.raises(UsageError, match=re.escape(message)):
        parse_relabel(a.cluster, [(spec, changes)])


def test_a_namespace_keeps_its_name_label() -> None:
    a = analyse_text(BASE, "t.yaml")
    assert [str(c) for c in parse_relabel(a.cluster, [("ns/shop", "kubernetes.io/metadata.name=shop")])] == [
        "namespace shop kubernetes.io/metadata.name=shop"]  # what Kubernetes keeps it at: nothing changes


def test_cli_text_json_markdown_and_exit_codes() -> None:
    runner = CliRunner()
    text = runner.invoke(main, ["labels", SHOP])
    assert text.exit_code == 0
    assert "pod label app=web — on shop/web" in text.stdout
    assert "  NetworkPolicy shop/allow-web-to-api ingress rule 0: peer, equals [pods {app=web} in namespace shop] " \
           "examples/shop/base/networkpolicies.yaml:22" in text.stdout
    assert "  removing app from shop/web:\n    no change in what is allowed\n" in text.stdout
    doc = json.loads(runner.invoke(main, ["labels", SHOP, "--format", "json", "--relabel", "shop/web", "app-",
                                          "--cni", "cilium"]).stdout)
    assert doc["schema"] == 1 and doc["relabel"]["changes"] == [
        {"target": "workload", "name": "shop/web", "key": "app", "value": None}]
    assert {p["dst"] for p in doc["relabel"]["diff"]["pairs"] if p["src"] == "shop/web"} >= {"shop/api"}
    web = next(d for d in doc["labels"] if (d["target"], d["key"], d["value"]) == ("pod", "app", "web"))
    assert web["carriers"] == ["shop/web"] and web["uses"][0]["file"] == "examples/shop/base/networkpolicies.yaml"
    bad = runner.invoke(main, ["labels", SHOP, "--relabel", "shop/wbe", "app-"])
    assert bad.exit_code == 2 and "did you mean shop/web" in bad.stderr
    md = runner.invoke(main, ["labels", SHOP, "--format", "md"]).stdout
    assert md.startswith("# Label dependencies\n")
    assert ("| `app=web` | `shop/web` | NetworkPolicy shop/allow-web-to-api | ingress rule 0 | peer | equals "
            "| `examples/shop/base/networkpolicies.yaml:22` |") in md
    assert "### `app` removed from `shop/web`\n\nNo change in what is allowed.\n" in md


def test_markdown_lists_labels_nothing_carries() -> None:
    a = analyse_text(BASE + NP.replace("team: blue", "team: bleu"), "t.yaml", Options(cni="generic"))
    md = labels_markdown(label_dependencies(a, simulations=0))
    assert "## Labels nothing carries\n\n- namespace label `team=bleu`: selected on by NetworkPolicy shop/api-in " \
           f"(`t.yaml:{line(NP, '- from:')}`)\n" in md


def test_markdown_of_the_shop_lab_matches_its_golden_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regenerate with `kubeward labels examples/shop --format md > tests/golden/labels-shop.md`
    when an intended change alters it, and review the diff."""
    root = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(root)
    result = CliRunner().invoke(main, ["labels", "examples/shop", "--format", "md"])
    assert result.exit_code == 0
    assert result.stdout == (root / "tests" / "golden" / "labels-shop.md").read_text()


GATEWAY = """\
apiVersion: v1
kind: Namespace
metadata: {name: infra}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: infra}
spec:
  gatewayClassName: nginx
  listeners:
  - name: http
    protocol: HTTP
    port: 80
    allowedRoutes:
      namespaces:
        from: Selector
        selector: {matchLabels: {routes: allowed}}
"""


def test_gateway_listener_namespace_selectors_and_a_namespace_relabel_that_admits_routes() -> None:
    a = analyse_text(BASE + GATEWAY, "t.yaml", Options(cni="generic"))
    report = label_dependencies(a, simulations=0)
    routes = dep(report.labels, "namespace", "routes=allowed")
    assert uses(routes) == [("Gateway", "infra/edge", "listener http", "route-namespaces", "equals",
                             f"t.yaml:{line(GATEWAY, '- name: http')}")]
    assert routes.carried_by_none  # no namespace has it yet: the listener admits no route
    sim = label_dependencies(a, relabel=parse_relabel(a.cluster, [("ns/shop", "routes=allowed")]),
                             simulations=0).relabel
    assert sim is not None
    assert [(s.ref.name, s.where, s.role, s.gained) for s in sim.selections] == [
        ("edge", "listener http", "route-namespaces", ("shop",))]


NODES_AND_REQUIRES = """\
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: to-nodes}
spec:
  priority: 20
  subject: {namespaces: {}}
  egress:
  - name: control-plane
    action: Deny
    to:
    - nodes: {matchLabels: {node-role.kubernetes.io/control-plane: ""}}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: prod-only, namespace: shop}
spec:
  endpointSelector: {}
  ingress:
  - fromRequires: [{matchLabels: {env: prod}}]
  - fromEndpoints: [{}]
"""


def test_anp_node_peers_and_cilium_requires() -> None:
    labels = analyse(NODES_AND_REQUIRES, cni="cilium")
    node = dep(labels, "node", "node-role.kubernetes.io/control-plane=")
    assert (node.uses[0].role, node.uses[0].where) == ("peer", "egress rule 0 (control-plane)")
    prod = dep(labels, "pod", "env=prod")
    assert (prod.uses[0].where, prod.uses[0].role, prod.carried_by_none) == ("ingress rule 0 (requires)", "peer", True)
