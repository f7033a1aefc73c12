"""examples/shop-egress: the fixed lab with its external egress through the Istio egress gateway only
(seed 000: "외부 egress는 Egress Gateway 경유만 허용 — api.payment.example.com만"), and the mesh hop
of a flow to an outside name (IST-28 … IST-36) on small inputs."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from kubeward import Options, analyse_paths, analyse_text
from kubeward.analyses.explain import explain
from kubeward.cli import main

ROOT = Path(__file__).resolve().parent.parent
EGRESS = str(ROOT / "examples/shop-egress")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def trace(*args: str) -> tuple[str, list[tuple[str, str, str, str]]]:
    result = run("explain", EGRESS, "--format", "json", *args)
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc["verdict"], [(s["layer"], s["subject"], s["reason"], s["effect"]) for s in doc["trace"]]


def test_the_suite_passes_payment_allowed_and_google_refused() -> None:
    result = run("test", EGRESS)
    assert result.exit_code == 0, result.output
    assert "PASS  web reaches the payment API" in result.stdout
    assert "PASS  web cannot reach www.google.com" in result.stdout
    assert result.stdout.rstrip().endswith("8 passed, 0 failed")


def _hops(steps: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str, str]]:
    """The decisive steps: everything but the CNI rules that did not match."""
    return [s for s in steps if s[2] not in ("peer-mismatch", "port-mismatch", "isolated")]


def test_explain_payment_walks_sidecar_gateway_and_out() -> None:
    verdict, steps = trace("--from", "shop/web", "--to", "https://api.payment.example.com/")
    assert verdict == "allow"
    gw = "istio-system/istio-egressgateway"
    assert _hops(steps) == [
        ("mesh", "shop/web", "mesh-outbound", "allow"),        # ServiceEntry istio-system/payment
        ("mesh", "shop/web", "mesh-egress-route", "allow"),    # the mesh route to the gateway's Service
        ("mesh", "shop/web", "mesh-egress-route", "allow"),    # the DestinationRule's subset
        ("mesh", "shop/web", "mesh-tls", "allow"),             # its subset's ISTIO_MUTUAL on 443 (IST-42)
        ("service", "istio-egressgateway", "service-translated", "allow"),
        ("cni", "shop/web", "allowed-by-rule", "allow"),       # web's egress to the gateway pods, 8443
        ("cni", gw, "allowed-by-rule", "allow"),               # the gateway's ingress from shop
        ("mesh", gw, "mtls", "allow"),
        ("mesh", gw, "mesh-allowed", "allow"),                 # its AuthorizationPolicy
        ("mesh", gw, "routed", "allow"),                       # the Gateway's server for the host
        ("mesh", gw, "mesh-egress-route", "allow"),            # the gateway route out
        ("cni", gw, "not-isolated", "allow"),                  # the gateway pod's egress
        ("cni", "api.payment.example.com", "not-a-pod", "allow"),
    ]
    # The same flow named by host and port.
    assert trace("--from", "shop/web", "--to", "api.payment.example.com", "--port", "443") == (verdict, steps)


def test_explain_google_is_refused_by_the_sidecar_blackhole() -> None:
    result = run("explain", EGRESS, "--from", "shop/web", "--to", "www.google.com", "--port", "443")
    assert result.exit_code == 1
    assert "REGISTRY_ONLY (ConfigMap istio-system/istio (meshConfig)) sends it to the BlackHoleCluster" in result.stdout
    assert trace("--from", "shop/web", "--to", "https://www.google.com/") == (
        "deny", [("mesh", "shop/web", "mesh-blackhole", "deny")])


BASE = textwrap.dedent("""\
    apiVersion: v1
    kind: Namespace
    metadata: {name: app, labels: {istio-injection: enabled}}
    ---
    apiVersion: v1
    kind: Namespace
    metadata: {name: plain}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: client, namespace: app, labels: {app: client}}
    spec: {containers: [{name: c, image: x}]}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: client, namespace: plain, labels: {app: client}}
    spec: {containers: [{name: c, image: x}]}
    ---
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: cnn, namespace: app}
    spec:
      hosts: [edition.cnn.com]
      ports: [{number: 443, name: tls, protocol: TLS}]
      resolution: DNS
    """)
REGISTRY_ONLY = textwrap.dedent("""\
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: istio, namespace: istio-system}
    data:
      mesh: |
        outboundTrafficPolicy:
          mode: REGISTRY_ONLY
    """)


def reasons(text: str, source: str, host: str, options: Options | None = None) -> tuple[str, list[str]]:
    exp = explain(analyse_text(text, "x.yaml", options), source, host, 443)
    return exp.verdict.verdict, [s.reason.value for s in exp.verdict.steps if s.layer.value == "mesh"]


def test_ist30_allow_any_is_the_default_and_passes_unknown_hosts_through() -> None:
    assert reasons(BASE, "app/client", "www.google.com") == ("allow", ["mesh-outbound"])


def test_ist30_registry_only_from_the_configmap_or_the_option_refuses_unknown_hosts() -> None:
    assert reasons(BASE + REGISTRY_ONLY, "app/client", "www.google.com") == ("deny", ["mesh-blackhole"])
    assert reasons(BASE, "app/client", "www.google.com", Options(mesh_outbound="registry-only")) == (
        "deny", ["mesh-blackhole"])
    # The option overrides the ConfigMap.
    assert reasons(BASE + REGISTRY_ONLY, "app/client", "www.google.com", Options(mesh_outbound="allow-any"))[0] == \
        "allow"
    # The ServiceEntry's host is known: sent straight out (no VirtualService).
    assert reasons(BASE + REGISTRY_ONLY, "app/client", "edition.cnn.com") == (
        "allow", ["mesh-outbound", "mesh-egress-route"])


OPERATOR = textwrap.dedent("""\
    ---
    apiVersion: install.istio.io/v1alpha1
    kind: IstioOperator
    metadata: {name: installed, namespace: istio-system}
    spec:
      meshConfig:
        outboundTrafficPolicy: {mode: REGISTRY_ONLY}
    """)


def test_ist30_an_istio_operator_sets_the_outbound_policy_and_a_rendered_configmap_wins_over_it() -> None:
    assert reasons(BASE + OPERATOR, "app/client", "www.google.com") == ("deny", ["mesh-blackhole"])
    exp = explain(analyse_text(BASE + OPERATOR, "x.yaml"), "app/client", "www.google.com", 443)
    assert any("IstioOperator istio-system/installed (meshConfig)" in s.message for s in exp.verdict.steps)
    allow_any = REGISTRY_ONLY.replace("REGISTRY_ONLY", "ALLOW_ANY")
    for order in (BASE + OPERATOR + allow_any, BASE + allow_any + OPERATOR):  # whatever the order read
        assert reasons(order, "app/client", "www.google.com") == ("allow", ["mesh-outbound"])
    bad = OPERATOR.replace("REGISTRY_ONLY", "REGISTRY")
    analysis = analyse_text(BASE + bad, "x.yaml")
    assert [d.code for d in analysis.diagnostics.sorted() if d.code == "invalid-mesh-config"] == ["invalid-mesh-config"]
    assert reasons(BASE + bad, "app/client", "www.google.com")[0] == "allow"  # taken as ALLOW_ANY, said so


def test_ist29_a_sidecar_whose_egress_hosts_leave_the_host_out_refuses_it() -> None:
    sidecar = textwrap.dedent("""\
        ---
        apiVersion: networking.istio.io/v1
        kind: Sidecar
        metadata: {name: default, namespace: app}
        spec:
          egress: [{hosts: ["./*.svc.cluster.local", "istio-system/*"]}]
        """)
    verdict, steps = reasons(BASE + REGISTRY_ONLY + sidecar, "app/client", "edition.cnn.com")
    assert (verdict, steps) == ("deny", ["mesh-blackhole"])
    exp = explain(analyse_text(BASE + REGISTRY_ONLY + sidecar, "x.yaml"), "app/client", "edition.cnn.com", 443)
    assert "Sidecar app/default does not import it" in exp.verdict.steps[0].message
    # The Sidecar's own outboundTrafficPolicy overrides the mesh's: ALLOW_ANY passes it through.
    own = sidecar + "  outboundTrafficPolicy: {mode: ALLOW_ANY}\n"
    assert reasons(BASE + REGISTRY_ONLY + own, "app/client", "edition.cnn.com")[0] == "allow"


def test_ist36_a_pod_without_a_sidecar_bypasses_the_mesh() -> None:
    exp = explain(analyse_text(BASE + REGISTRY_ONLY, "x.yaml"), "plain/client", "www.google.com", 443)
    assert exp.verdict.verdict == "allow"
    bypass = exp.verdict.steps[0]
    assert bypass.reason.value == "mesh-bypass"
    assert "plain/client has no sidecar" in bypass.message and "the CNI alone decides (IST-36)" in bypass.message


def test_ist30_the_mesh_config_is_read_from_the_istio_configmaps_only() -> None:
    other = REGISTRY_ONLY.replace("name: istio,", "name: mesh-settings,")
    assert analyse_text(BASE + other, "x.yaml").cluster.mesh.outbound == {}
    cluster = analyse_text(BASE + REGISTRY_ONLY, "x.yaml").cluster
    assert [(key, str(p)) for key, (p, _) in cluster.mesh.outbound.items()] == [
        (("istio-system", ""), "REGISTRY_ONLY")]
    # IST-50: istio-<revision> is that revision's.
    canary = REGISTRY_ONLY.replace("name: istio,", "name: istio-canary,")
    assert list(analyse_text(BASE + canary, "x.yaml").cluster.mesh.outbound) == [("istio-system", "canary")]


def test_ist30_a_mesh_config_that_is_not_yaml_is_an_error_at_its_line() -> None:
    bad = REGISTRY_ONLY.replace("mode: REGISTRY_ONLY", "mode: [REGISTRY_ONLY")
    [d] = [d for d in analyse_text(BASE + bad, "x.yaml").diagnostics.items if d.code == "invalid-mesh-config"]
    assert (d.severity, d.line) == ("error", 31)


def test_the_example_reads_without_input_errors() -> None:
    analysis = analyse_paths([EGRESS])
    assert [d for d in analysis.diagnostics.items if d.severity == "error"] == []
    mesh = analysis.cluster.mesh
    assert ([s.ref.name for s in mesh.service_entries], [g.ref.name for g in mesh.gateways],
            [v.ref.name for v in mesh.virtual_services], [r.ref.name for r in mesh.destination_rules]) == (
        ["payment"], ["istio-egressgateway"], ["payment-through-egress-gateway"], ["egressgateway-for-payment"])


def test_ist30_registry_only_says_flows_to_addresses_are_answered_by_the_cni_alone() -> None:
    [d] = [d for d in analyse_text(BASE + REGISTRY_ONLY, "x.yaml").diagnostics.items
           if d.code == "mesh-egress-addresses"]
    assert (d.severity, d.leans is not None and d.leans.value) == ("warning", "may deny more than shown")
    assert "app/client" in d.message and "the map answers" in d.message and "IST-49" in d.message
    assert not [d for d in analyse_text(BASE, "x.yaml").diagnostics.items if d.code == "mesh-egress-addresses"]


SPLIT = textwrap.dedent("""\
    ---
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata: {name: cnn-split, namespace: app}
    spec:
      hosts: [edition.cnn.com]
      tls:
      - match: [{port: 443, sniHosts: [edition.cnn.com]}]
        route:
        - {destination: {host: edition.cnn.com, port: {number: 443}}, weight: 80}
        - {destination: {host: nowhere.app.svc.cluster.local, port: {number: 443}}, weight: 20}
    """)


def test_ist33_a_weighted_split_with_a_dead_destination_is_allowed_with_a_warning() -> None:
    exp = explain(analyse_text(BASE + SPLIT, "x.yaml"), "app/client", "edition.cnn.com", 443)
    assert exp.verdict.verdict == "allow"
    [warn] = [s for s in exp.verdict.steps if s.effect.value == "warn"]
    assert "only some let it out (weight 80 of 100)" in warn.message
