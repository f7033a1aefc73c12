"""The TLS of the Istio egress path (IST-42 … IST-46): what a DestinationRule's client TLS changes on
the way to the egress gateway and out of it, which DestinationRule a client applies, what a gateway
server takes, SNI routing, subsets that narrow the gateway's pods."""

from __future__ import annotations

import textwrap

from kubeward import Options, analyse_text
from kubeward.analyses.egress import client_tls
from kubeward.analyses.explain import explain
from kubeward.model import ClientTls, DestinationRule, ObjectRef, TlsPolicy

BASE = textwrap.dedent("""\
    apiVersion: v1
    kind: Namespace
    metadata: {name: app, labels: {istio-injection: enabled}}
    ---
    apiVersion: v1
    kind: Namespace
    metadata: {name: istio-system}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: client, namespace: app, labels: {app: client}}
    spec: {serviceAccountName: client, containers: [{name: c, image: x}]}
    status: {podIP: 10.0.1.1}
    ---
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: cnn, namespace: app}
    spec:
      hosts: [edition.cnn.com]
      ports: [{number: 80, name: http, protocol: HTTP}, {number: 443, name: tls, protocol: TLS}]
      resolution: DNS
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: egw-a, namespace: istio-system, labels: {istio: egressgateway, version: a}}
    spec: {containers: [{name: istio-proxy, image: proxyv2, ports: [{containerPort: 8443}]}]}
    status: {podIP: 10.0.0.20}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: istio-egressgateway, namespace: istio-system}
    spec:
      selector: {istio: egressgateway}
      ports: [{name: tls, port: 443, targetPort: 8443}]
    """)


def gateway(tls: str, hosts: str = "[edition.cnn.com]") -> str:
    return textwrap.dedent(f"""\
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {{name: egw, namespace: istio-system}}
        spec:
          selector: {{istio: egressgateway}}
          servers:
          - port: {{number: 443, name: tls, protocol: TLS}}
            hosts: {hosts}
            tls: {{mode: {tls}}}
        """)


def routes(gateway_kind: str = "tcp", sni: str = "[edition.cnn.com]", subset: str = "") -> str:
    """mesh → the gateway's Service (a tls route on the SNI), gateway → out (a ``gateway_kind`` route)."""
    sni_match = f", sniHosts: {sni}" if gateway_kind == "tls" else ""
    subset_field = f", subset: {subset}" if subset else ""
    lines = [
        "---",
        "apiVersion: networking.istio.io/v1",
        "kind: VirtualService",
        "metadata: {name: cnn, namespace: istio-system}",
        "spec:",
        "  hosts: [edition.cnn.com]",
        "  gateways: [mesh, egw]",
        "  tls:",
        "  - match: [{gateways: [mesh], port: 443, sniHosts: [edition.cnn.com]}]",
        "    route: [{destination: {host: istio-egressgateway.istio-system.svc.cluster.local"
        + subset_field + ", port: {number: 443}}}]",
    ] + ([] if gateway_kind == "tls" else [f"  {gateway_kind}:"]) + [
        "  - match: [{gateways: [istio-system/egw], port: 443" + sni_match + "}]",
        "    route: [{destination: {host: edition.cnn.com, port: {number: 443}}}]",
    ]
    return "\n".join(lines) + "\n"


def rule(body: str, namespace: str = "istio-system", name: str = "egw") -> str:
    return textwrap.dedent(f"""\
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {{name: {name}, namespace: {namespace}}}
        spec:
          host: istio-egressgateway.istio-system.svc.cluster.local
        """) + textwrap.indent(textwrap.dedent(body), "  ")


MUTUAL = """\
    trafficPolicy:
      tls: {mode: ISTIO_MUTUAL, sni: edition.cnn.com}
    """
PRINCIPAL_ONLY = textwrap.dedent("""\
    ---
    apiVersion: security.istio.io/v1
    kind: AuthorizationPolicy
    metadata: {name: egress-from-client, namespace: istio-system}
    spec:
      selector: {matchLabels: {istio: egressgateway}}
      rules: [{from: [{source: {principals: [cluster.local/ns/app/sa/client]}}]}]
    """)


def run(text: str, port: int = 443) -> tuple[str, list[tuple[str, str]], list[str]]:
    exp = explain(analyse_text(text, "x.yaml", Options(mesh="istio")), "app/client", "edition.cnn.com", port)
    mesh = [s for s in exp.verdict.steps if s.layer.value == "mesh"]
    return (exp.verdict.verdict, [(s.reason.value, s.effect.value) for s in mesh],
            [s.message for s in mesh if s.reason.value in ("mesh-tls", "mtls", "no-route", "mesh-egress-route")])


def test_ist42_auto_mtls_sends_plaintext_to_a_gateway_pod_so_a_principal_never_matches() -> None:
    verdict, steps, messages = run(BASE + gateway("PASSTHROUGH") + routes("tls") + PRINCIPAL_ONLY)
    assert verdict == "deny"
    assert ("mesh-not-allowed", "deny") in steps
    assert ("istio-system/egw-a has a gateway (an Istio egress gateway proxy (label istio=egressgateway)); mTLS "
            "mode PERMISSIVE (no PeerAuthentication: default): plaintext: identity-based rules cannot match "
            "(IST-16); auto mTLS sends plaintext: istio-system/egw-a has no security.istio.io/tlsMode=istio "
            "label (IST-42)") in messages


def test_ist42_istio_mutual_to_a_gateway_that_terminates_it_gives_the_gateway_the_principal() -> None:
    verdict, steps, messages = run(BASE + gateway("ISTIO_MUTUAL") + routes("tcp") + rule(MUTUAL) + PRINCIPAL_ONLY)
    assert verdict == "allow"
    assert ("mesh-allowed", "allow") in steps
    assert ("DestinationRule istio-system/egw sets the client TLS towards "
            "istio-egressgateway.istio-system.svc.cluster.local:443: ISTIO_MUTUAL, SNI edition.cnn.com (IST-42)") \
        in messages
    assert ("VirtualService istio-system/cnn on Gateway istio-system/egw (tcp route) routes edition.cnn.com out to "
            "edition.cnn.com:443 (IST-33)") in messages


def test_ist42_the_tls_mode_label_on_the_gateway_pod_turns_auto_mtls_on() -> None:
    labelled = BASE.replace("{istio: egressgateway, version: a}",
                            "{istio: egressgateway, version: a, security.istio.io/tlsMode: istio}")
    verdict, steps, _ = run(labelled + gateway("PASSTHROUGH") + routes("tls") + PRINCIPAL_ONLY)
    assert (verdict, ("mesh-allowed", "allow") in steps) == ("deny", True)  # identity known, then refused:
    # Istio mTLS passed through a PASSTHROUGH server reaches a host that cannot complete it (IST-44).
    # Auto mTLS picks its own SNI, which a server for edition.cnn.com does not take (IST-44).
    verdict, _, messages = run(labelled + gateway("ISTIO_MUTUAL") + routes("tcp") + PRINCIPAL_ONLY)
    assert verdict == "deny"
    assert messages[-1].startswith("the client's SNI outbound_.443_._.istio-egressgateway.istio-system.svc."
                                   "cluster.local is none of the server's hosts")


def test_ist44_a_server_that_terminates_istio_mtls_refuses_what_is_not_istio_mtls() -> None:
    verdict, steps, messages = run(BASE + gateway("ISTIO_MUTUAL") + routes("tcp"))
    assert (verdict, steps[-1]) == ("deny", ("mesh-tls", "deny"))
    assert messages[-1] == ("the server terminates Istio mTLS and the client proxy sends the application's own "
                            "TLS: the connection fails (IST-44)")


def test_ist44_istio_mutual_without_sni_matches_no_filter_chain_of_the_server() -> None:
    no_sni = MUTUAL.replace(", sni: edition.cnn.com", "")
    verdict, _, messages = run(BASE + gateway("ISTIO_MUTUAL") + routes("tcp") + rule(no_sni))
    assert verdict == "deny"
    assert messages[-1] == (
        "the client's SNI outbound_.443_._.istio-egressgateway.istio-system.svc.cluster.local is none of the "
        "server's hosts: no filter chain matches (set tls.sni in the DestinationRule): the connection fails "
        "(IST-44)")
    # A server for every host takes any SNI.
    assert run(BASE + gateway("ISTIO_MUTUAL", '["*"]') + routes("tcp") + rule(no_sni))[0] == "allow"


def test_ist44_istio_mtls_through_a_passthrough_server_fails_at_the_outside_host() -> None:
    verdict, _, messages = run(BASE + gateway("PASSTHROUGH") + routes("tls") + rule(MUTUAL))
    assert verdict == "deny"
    assert messages[-1].startswith("the client proxy sends Istio mTLS, which the server passes through unopened")


def test_ist45_a_passthrough_server_routes_on_the_sni_of_its_tls_routes() -> None:
    assert run(BASE + gateway("PASSTHROUGH") + routes("tls", '["*.cnn.com"]'))[0] == "allow"
    verdict, _, messages = run(BASE + gateway("PASSTHROUGH") + routes("tls", "[api.example.com]"))
    assert verdict == "deny"
    assert messages[-1].startswith("no VirtualService bound to Gateway istio-system/egw has a tls route for "
                                   "edition.cnn.com:443 (SNI edition.cnn.com)")
    # A tcp route does not serve a PASSTHROUGH server.
    assert run(BASE + gateway("PASSTHROUGH") + routes("tcp"))[0] == "deny"


def test_ist42_a_subset_or_port_level_tls_replaces_the_rule_wide_one() -> None:
    ref = ObjectRef("DestinationRule", "ns", "dr", "x.yaml", 1)

    def tls(mode: str) -> ClientTls:
        return ClientTls(mode, "", 1)

    top = TlsPolicy(tls("DISABLE"), {443: tls("ISTIO_MUTUAL"), 80: None})
    dr = DestinationRule(ref, "h", {"a": {}, "b": {}, "c": {}}, "DISABLE", (), top,
                         {"a": TlsPolicy(tls("SIMPLE"), {}), "b": TlsPolicy(None, {}),
                          "c": TlsPolicy(None, {443: None})})
    assert [client_tls(dr, "", p) for p in (443, 80, 8080)] == [tls("ISTIO_MUTUAL"), None, tls("DISABLE")]
    assert client_tls(dr, "a", 443) == tls("SIMPLE")          # the subset sets tls: it wins
    assert client_tls(dr, "b", 443) == tls("ISTIO_MUTUAL")    # the subset sets no tls: the rule's port level
    assert client_tls(dr, "c", 443) is None                   # the subset's port-level entry without tls


def test_ist34_a_subset_narrows_the_gateway_pods_to_its_labels() -> None:
    second = textwrap.dedent("""\
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: egw-b, namespace: istio-system, labels: {istio: egressgateway, version: b}}
        spec: {containers: [{name: istio-proxy, image: proxyv2, ports: [{containerPort: 8443}]}]}
        status: {podIP: 10.0.0.21}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: a-closed, namespace: istio-system}
        spec:
          podSelector: {matchLabels: {version: a}}
          policyTypes: [Ingress]
        """)
    subset = """\
        subsets:
        - name: only-a
          labels: {version: a}
        - name: only-b
          labels: {version: b}
        """
    text = BASE + second + gateway("PASSTHROUGH") + rule(subset)
    assert run(text + routes("tls", subset="only-b"))[0] == "allow"
    verdict, _, messages = run(text + routes("tls", subset="only-a"))
    assert verdict == "deny"  # egw-a, the one pod of the subset, admits nobody
    assert ("istio-system/egw-b is not in subset only-a (version=a): the route does not send to it (IST-34)"
            in messages)


def test_ist43_a_destination_rule_the_client_namespace_cannot_see_defines_no_subset() -> None:
    subset = """\
        exportTo: ["."]
        subsets: [{name: cnn}]
        """
    text = BASE + gateway("PASSTHROUGH") + routes("tls", subset="cnn")
    verdict, _, messages = run(text + rule(subset))
    assert verdict == "deny"
    assert messages[-1] == ("subset cnn of istio-egressgateway.istio-system is defined by no DestinationRule that "
                            "applies to the client (IST-43): the route has no upstream, 503 (IST-34)")
    # One in the client's own namespace wins over the gateway namespace's.
    assert run(text + rule(subset) + rule("subsets: [{name: cnn}]\n", "app", "mine"))[0] == "allow"


def test_ist46_origination_of_tls_around_tls_and_plain_http_to_443_are_warned() -> None:
    origination = textwrap.dedent("""\
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: originate, namespace: app}
        spec:
          host: edition.cnn.com
          trafficPolicy: {tls: {mode: SIMPLE}}
        """)
    _, steps, messages = run(BASE + origination)
    assert ("mesh-tls", "warn") not in steps  # no route: the sidecar sends it straight out, nothing originated
    direct = textwrap.dedent("""\
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: cnn, namespace: app}
        spec:
          hosts: [edition.cnn.com]
          tls:
          - match: [{port: 443, sniHosts: [edition.cnn.com]}]
            route: [{destination: {host: edition.cnn.com, port: {number: 443}}}]
          http:
          - match: [{port: 80}]
            route: [{destination: {host: edition.cnn.com, port: {number: 443}}}]
        """)
    verdict, steps, messages = run(BASE + direct + origination)
    assert (verdict, ("mesh-tls", "warn") in steps) == ("allow", True)
    assert messages[-1] == ("DestinationRule app/originate originates TLS (SIMPLE) to edition.cnn.com:443, but the "
                            "application already speaks TLS: TLS inside TLS, the server cannot read it (IST-46)")
    verdict, steps, messages = run(BASE + direct + origination, port=80)
    assert messages[-1] == ("DestinationRule app/originate originates TLS (SIMPLE) to edition.cnn.com:443: the "
                            "outside sees TLS on port 443 (IST-46)")
    verdict, steps, messages = run(BASE + direct, port=80)
    assert messages[-1] == ("plain HTTP leaves for edition.cnn.com:443 and no DestinationRule originates TLS "
                            "(tls.mode SIMPLE): an HTTPS server refuses it (IST-46)")


STATIC = textwrap.dedent("""\
    apiVersion: v1
    kind: Namespace
    metadata: {name: app, labels: {istio-injection: enabled}}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: client, namespace: app, labels: {app: client}}
    spec: {containers: [{name: c, image: x}]}
    status: {podIP: 10.0.1.1}
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: out-to-the-partner-only, namespace: app}
    spec:
      podSelector: {}
      policyTypes: [Egress]
      egress:
      - to: [{ipBlock: {cidr: 203.0.113.0/24}}]
        ports: [{port: 8443}]
    ---
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: partner, namespace: app}
    spec:
      hosts: [api.partner.example]
      ports: [{number: 443, name: tls, protocol: TLS}]
      resolution: STATIC
      endpoints:
    """)


def test_ist47_static_endpoints_are_where_the_sidecar_connects_so_ip_blocks_decide_on_them() -> None:
    inside = STATIC + "  - {address: 203.0.113.10, ports: {tls: 8443}}\n"
    exp = explain(analyse_text(inside, "x.yaml", Options(mesh="istio")), "app/client", "api.partner.example", 443)
    assert exp.verdict.verdict == "allow"
    assert [s.message for s in exp.verdict.steps if s.reason.value == "mesh-egress-route"][-1] == (
        "ServiceEntry app/partner (resolution STATIC) sends api.partner.example:443 to its endpoint "
        "203.0.113.10:8443, not to the addresses api.partner.example resolves to (IST-47)")
    outside = STATIC + "  - {address: 198.51.100.7, ports: {tls: 8443}}\n"
    assert explain(analyse_text(outside, "x.yaml", Options(mesh="istio")), "app/client", "api.partner.example",
                   443).verdict.verdict == "deny"
    both = STATIC + "  - {address: 203.0.113.10, ports: {tls: 8443}}\n  - {address: 198.51.100.7}\n"
    exp = explain(analyse_text(both, "x.yaml", Options(mesh="istio")), "app/client", "api.partner.example", 443)
    assert exp.verdict.verdict == "allow"
    assert exp.verdict.steps[-1].message == (
        "only 1 of the 2 endpoints of ServiceEntry app/partner let app/client out: shown as allowed, but the "
        "connections the proxy sends to the others fail (IST-47)")
    # Resolution NONE: the sidecar forwards to what the application resolved — the name, which no ipBlock names.
    none = inside.replace("resolution: STATIC", "resolution: NONE")
    assert explain(analyse_text(none, "x.yaml", Options(mesh="istio")), "app/client", "api.partner.example",
                   443).verdict.verdict == "deny"


def test_ist48_export_to_hides_a_virtual_service_from_the_gateway_proxy_namespace() -> None:
    text = BASE + gateway("PASSTHROUGH") + routes("tls")
    elsewhere = text.replace("metadata: {name: cnn, namespace: istio-system}", "metadata: {name: cnn, namespace: app}")
    assert run(elsewhere)[0] == "allow"  # exported everywhere: both the sidecars and the gateway use it
    private = elsewhere.replace("  hosts: [edition.cnn.com]\n  gateways: [mesh, egw]",
                                "  hosts: [edition.cnn.com]\n  exportTo: [\".\"]\n  gateways: [mesh, egw]")
    verdict, _, messages = run(private)
    assert verdict == "deny"
    assert messages[-1].startswith("no VirtualService bound to Gateway istio-system/egw has a tls route for "
                                   "edition.cnn.com:443")


def test_ist49_a_service_entry_address_makes_an_ip_known_to_the_sidecar() -> None:
    registry_only = textwrap.dedent("""\
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: istio, namespace: istio-system}
        data: {mesh: "outboundTrafficPolicy: {mode: REGISTRY_ONLY}"}
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: {name: legacy-db, namespace: app}
        spec:
          hosts: [db.legacy.example]
          addresses: [192.0.2.0/28]
          ports: [{number: 5432, name: tcp-pg, protocol: TCP}]
          location: MESH_EXTERNAL
          resolution: NONE
        """)
    a = analyse_text(BASE + registry_only, "x.yaml", Options(mesh="istio"))

    def steps(ip: str, port: int) -> tuple[str, list[tuple[str, str]]]:
        exp = explain(a, "app/client", ip, port)
        return exp.verdict.verdict, [(s.reason.value, s.effect.value) for s in exp.verdict.steps
                                     if s.layer.value == "mesh"]

    assert steps("192.0.2.5", 5432) == ("allow", [("mesh-outbound", "allow")])
    assert explain(a, "app/client", "192.0.2.5", 5432).verdict.steps[0].message == (
        "ServiceEntry app/legacy-db lists 192.0.2.5 in its addresses (192.0.2.0/28) with port 5432: the sidecar "
        "knows it (IST-49); outboundTrafficPolicy REGISTRY_ONLY (ConfigMap istio-system/istio (meshConfig))")
    assert steps("192.0.2.5", 443) == ("deny", [("mesh-blackhole", "deny")])    # not a port of the entry
    assert steps("192.0.2.77", 5432) == ("deny", [("mesh-blackhole", "deny")])  # outside its addresses
    # ALLOW_ANY passes an address no entry lists.
    allow_any = analyse_text(BASE, "x.yaml", Options(mesh="istio"))
    assert explain(allow_any, "app/client", "192.0.2.77", 5432).verdict.verdict == "allow"


def test_ist50_a_revision_reads_its_own_istio_revision_configmap() -> None:
    canary_ns = textwrap.dedent("""\
        ---
        apiVersion: v1
        kind: Namespace
        metadata: {name: canary, labels: {istio.io/rev: canary}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: client, namespace: canary, labels: {app: client}}
        spec: {containers: [{name: c, image: x}]}
        """)
    configmaps = textwrap.dedent("""\
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: istio, namespace: istio-system}
        data: {mesh: "outboundTrafficPolicy: {mode: ALLOW_ANY}"}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: istio-canary, namespace: istio-system}
        data: {mesh: "outboundTrafficPolicy: {mode: REGISTRY_ONLY}"}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: istio-sidecar-injector, namespace: istio-system}
        data: {config: "policy: enabled"}
        """)
    a = analyse_text(BASE + canary_ns + configmaps, "x.yaml", Options(mesh="istio"))
    assert explain(a, "app/client", "www.google.com", 443).verdict.verdict == "allow"  # the default revision
    exp = explain(a, "canary/client", "www.google.com", 443)
    assert exp.verdict.verdict == "deny"
    assert "outboundTrafficPolicy REGISTRY_ONLY (ConfigMap istio-system/istio-canary (meshConfig))" in \
        exp.verdict.steps[0].message
    # A revision whose ConfigMap the input lacks gets Istio's default, and says so.
    alone = analyse_text(BASE + canary_ns, "x.yaml", Options(mesh="istio"))
    message = explain(alone, "canary/client", "www.google.com", 443).verdict.steps[0].message
    assert message.endswith("outboundTrafficPolicy ALLOW_ANY (Istio's default: revision canary's ConfigMap "
                            "istio-system/istio-canary is not in the input (IST-50)) passes it through as addressed "
                            "(PassthroughCluster, IST-30)")


def test_ist44_strict_peer_authentication_does_not_refuse_plaintext_at_a_gateway_server() -> None:
    strict = textwrap.dedent("""\
        ---
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: default, namespace: istio-system}
        spec: {mtls: {mode: STRICT}}
        """)
    # The sidecar sends the application's TLS in plaintext (auto mTLS, IST-42); the PASSTHROUGH server takes it.
    assert run(BASE + gateway("PASSTHROUGH") + routes("tls") + strict)[0] == "allow"
