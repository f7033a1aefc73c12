"""Issue 11, Calico items: protocol numbers (CAL-17), the rule's own side (CAL-18), global() and
all() inside namespaceSelector expressions (CAL-19), source ports (CAL-20) and Profile
labelsToApply (CAL-21). Each test states what Calico does and checks explain and the map agree."""

from __future__ import annotations

import textwrap

from click.testing import CliRunner

from kubeward import Analysis, Options, analyse_text, connectivity_map, explain
from kubeward.cli import main
from kubeward.engine.trace import Reason

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
kind: ServiceAccount
metadata: {name: web-sa, namespace: shop}
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
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: partners, labels: {role: partner}}
spec: {nets: [198.51.100.0/24]}
---
"""
LINES = CLUSTER.count("\n")


def cluster(policies: str, base: str = CLUSTER) -> Analysis:
    return analyse_text(base + textwrap.dedent(policies), "calico.yaml", Options(cni="calico", mesh="none"))


def policy(name: str, spec: str, namespace: str = "shop", kind: str = "NetworkPolicy") -> str:
    meta = f"{{name: {name}, namespace: {namespace}}}" if kind == "NetworkPolicy" else f"{{name: {name}}}"
    return f"apiVersion: projectcalico.org/v3\nkind: {kind}\nmetadata: {meta}\nspec:\n" + textwrap.indent(
        textwrap.dedent(spec), "  ") + "---\n"


def allowed(a: Analysis, src: str, dst: str, port: int = 8080, protocol: str = "TCP") -> bool:
    """explain's verdict, checked against the map for pod pairs."""
    verdict = explain(a, src, dst, port, protocol).allowed
    if "/" in src and "/" in dst:
        ports = {(c.src, c.dst): c.ports for c in connectivity_map(a).connections}.get((src, dst))
        assert bool(ports and ports.contains(protocol, port)) is verdict, f"map and explain disagree on {src}->{dst}"
    return verdict


def codes(a: Analysis, severity: str) -> list[str]:
    return [d.code for d in a.diagnostics.items if d.severity.value == severity]


# ---- item 3: protocol numbers (CAL-17) ------------------------------------------------------


def test_item3_calico_protocol_132_is_sctp_and_not_protocol_6_removes_tcp() -> None:
    a = cluster(policy("by-number", """\
        selector: app == 'api'
        ingress:
        - action: Allow
          protocol: 132
        - action: Allow
          notProtocol: 6
          source: {selector: app == 'web'}
        """))
    assert allowed(a, "other/client", "shop/api", 9000, "SCTP")  # protocol 132 = SCTP
    assert not allowed(a, "other/client", "shop/api", 9000, "UDP")
    assert allowed(a, "shop/web", "shop/api", 53, "UDP")  # notProtocol 6: everything but TCP
    assert not allowed(a, "shop/web", "shop/api", 8080, "TCP")
    assert "error" not in {d.severity.value for d in a.diagnostics.items}


def test_item3_calico_protocol_6_with_numeric_ports_is_tcp_and_accepted() -> None:
    a = cluster(policy("tcp-by-number", """\
        selector: app == 'api'
        ingress: [{action: Allow, protocol: 6, destination: {ports: [8080]}}]
        """))
    assert codes(a, "error") == []  # 6 supports ports, like TCP (CAL-7)
    assert allowed(a, "shop/web", "shop/api", 8080)
    assert not allowed(a, "shop/web", "shop/api", 8081)


def test_item3_another_ip_protocol_matches_no_flow_and_is_reported() -> None:
    a = cluster(policy("gre", """\
        selector: app == 'api'
        ingress:
        - action: Allow
          protocol: 47
        """))
    [note] = [d for d in a.diagnostics.items if "GRE" in d.message]
    assert note.severity.value == "info" and note.line == LINES + 8
    assert "protocol GRE (47): kubeward's flows are TCP, UDP and SCTP, none of which this rule matches" in note.message
    assert not allowed(a, "shop/web", "shop/api", 8080)  # never widened: the rule allows no TCP flow
    assert not allowed(a, "shop/web", "shop/api", 8080, "UDP")


def test_item3_invalid_protocols_and_ports_on_a_portless_protocol_are_rejected() -> None:
    for value in ("0", "256", "GRE"):
        a = cluster(policy("bad", f"""\
            selector: app == 'api'
            ingress: [{{action: Allow, protocol: {value}}}]
            """))
        assert codes(a, "error") == ["invalid-value"], value
        assert allowed(a, "shop/web", "shop/api")  # the policy is not applied
    icmp = cluster(policy("icmp-ports", """\
        selector: app == 'api'
        ingress: [{action: Allow, protocol: 1, destination: {ports: [80]}}]
        """))
    [error] = [d for d in icmp.diagnostics.items if d.severity.value == "error"]
    assert error.code == "calico-port-without-protocol" and "not ICMP (1)" in error.message


# ---- item 4: the rule's own side (CAL-18) ---------------------------------------------------


def test_item4_an_ingress_rule_destination_selector_narrows_the_rule_to_matching_endpoints() -> None:
    a = cluster(policy("per-destination", """\
        selector: all()
        ingress:
        - action: Allow
          source: {namespaceSelector: all()}
          destination: {selector: app == 'web'}
        """))
    assert allowed(a, "other/client", "shop/web")
    assert not allowed(a, "other/client", "shop/api")  # the destination is not web: the rule does not apply
    steps = explain(a, "other/client", "shop/api", 8080).verdict.steps
    note = next(s for s in steps if s.reason is Reason.PEER_MISMATCH and "CAL-18" in s.message)
    assert note.message == (f"CalicoNetworkPolicy shop/per-destination ingress rule 0 (calico.yaml:{LINES + 7}) does "
                            "not apply to this endpoint: the rule's destination (the endpoint itself) does not match "
                            "it (CAL-18)")


def test_item4_an_egress_rule_source_criteria_and_an_own_side_deny() -> None:
    a = cluster(policy("gnp", """\
        selector: all()
        types: [Ingress, Egress]
        ingress:
        - action: Deny
          destination: {nets: [10.0.0.2/32]}
        - action: Allow
        egress:
        - action: Allow
          source: {serviceAccounts: {names: [web-sa]}}
        """, kind="GlobalNetworkPolicy"))
    assert not allowed(a, "shop/web", "shop/api")  # the Deny's destination nets hold api's address
    assert allowed(a, "shop/web", "other/client")  # client's is 10.0.1.1: the Deny does not apply to it
    assert allowed(a, "shop/web", "203.0.113.9", 443)  # web runs as web-sa
    assert not allowed(a, "shop/api", "203.0.113.9", 443)  # api does not: its egress has no applicable rule
    assert not allowed(a, "other/client", "shop/web")


def test_item4_an_ingress_rule_to_destination_services_applies_to_the_backends_on_their_target_ports() -> None:
    a = cluster("""\
apiVersion: v1
kind: Service
metadata: {name: api-svc, namespace: shop}
spec: {selector: {app: api}, ports: [{port: 80, targetPort: 8080}]}
---
""" + policy("to-api-service", """\
        selector: all()
        ingress: [{action: Allow, destination: {services: {name: api-svc}}}]
        """))
    assert allowed(a, "other/client", "shop/api", 8080)
    assert not allowed(a, "other/client", "shop/api", 9090)  # not a port of the Service's endpoints
    assert not allowed(a, "other/client", "shop/web", 8080)  # web is not behind the Service


def test_item4_an_own_side_that_depends_on_an_unknown_address_fails_closed() -> None:
    no_ip = CLUSTER.replace("status: {podIP: 10.0.0.2}\n", "")
    allow = cluster(policy("nets-allow", """\
        selector: app == 'api'
        ingress: [{action: Allow, destination: {nets: [10.0.0.0/24]}}]
        """), no_ip)
    assert not allowed(allow, "shop/web", "shop/api")
    [warning] = [d for d in allow.diagnostics.items if d.code == "address-unknown"]
    assert "this Allow rule is taken not to apply (CAL-18)" in warning.message
    deny = cluster(policy("nets-deny", """\
        selector: app == 'api'
        ingress: [{action: Deny, destination: {notNets: [10.0.0.0/24]}}, {action: Allow}]
        """), no_ip)
    assert not allowed(deny, "shop/web", "shop/api")  # the Deny is taken to apply


# ---- item 5: global() and all() in namespaceSelector expressions (CAL-19) -----------------


def test_item5_not_global_selects_every_namespaced_endpoint_and_no_global_set() -> None:
    for expression in ("'!global()'", "'all() && !global()'"):
        a = cluster(policy("namespaced-only", f"""\
            selector: app == 'web'
            types: [Egress]
            egress: [{{action: Allow, destination: {{namespaceSelector: {expression}}}}}]
            """))
        assert allowed(a, "shop/web", "shop/api"), expression
        assert allowed(a, "shop/web", "other/client"), expression
        assert not allowed(a, "shop/web", "198.51.100.7", 443), expression  # a GlobalNetworkSet
        assert not allowed(a, "shop/web", "203.0.113.9", 443), expression  # no endpoint at all
        [warning] = [d for d in a.diagnostics.items if d.code == "calico-version-dependent"]
        assert "Calico v3.30 and later reject" in warning.message and "!has(projectcalico.org/namespace)" \
            in warning.message.replace("!!", "")


def test_item5_global_joined_by_or_is_rejected_by_every_release() -> None:
    a = cluster(policy("global-or-all", """\
        selector: app == 'web'
        types: [Egress]
        egress: [{action: Allow, destination: {namespaceSelector: 'global() || all()'}}]
        """))
    [error] = [d for d in a.diagnostics.items if d.severity.value == "error"]
    assert error.code == "invalid-selector" and "every Calico release rejects this policy" in error.message
    assert allowed(a, "shop/web", "203.0.113.9", 443)  # not applied: nothing isolates web


def test_item5_global_outside_a_rule_namespace_selector_is_rejected() -> None:
    a = cluster(policy("global-selector", """\
        selector: app == 'web'
        ingress: [{action: Allow, source: {selector: global()}}]
        """))
    [error] = [d for d in a.diagnostics.items if d.severity.value == "error"]
    assert "global() can only be used in a rule's namespaceSelector" in error.message
    assert allowed(a, "other/client", "shop/web")


def test_item5_an_empty_namespace_selector_keeps_the_policy_namespace() -> None:
    a = cluster(policy("empty-ns-selector", """\
        selector: app == 'api'
        ingress: [{action: Allow, source: {selector: all(), namespaceSelector: ''}}]
        """))
    assert allowed(a, "shop/web", "shop/api")
    assert not allowed(a, "other/client", "shop/api")  # "" is no namespaceSelector: the policy's namespace


# ---- item 11: source ports (CAL-20) and Profile labelsToApply (CAL-21) ---------------------


def test_item11_source_ports_an_allow_matches_nothing_and_a_deny_denies_every_source_port() -> None:
    a = cluster(policy("from-high-ports", """\
        selector: app == 'api'
        ingress:
        - action: Allow
          protocol: TCP
          source: {ports: ['1024:65535']}
        """) + policy("deny-from-ports", """\
        selector: app == 'web'
        ingress:
        - action: Deny
          protocol: TCP
          source: {ports: [53]}
        - action: Allow
        """))
    assert not allowed(a, "other/client", "shop/api")
    steps = explain(a, "other/client", "shop/api", 8080).verdict.steps
    assert any("matches only connections from source ports TCP/1024-65535; flows carry no known source port, so "
               "this Allow rule is taken to match nothing (CAL-20)" in s.message for s in steps)
    assert not allowed(a, "other/client", "shop/web")  # the Deny is not narrowed
    assert allowed(a, "other/client", "shop/web", 53, "UDP")
    warnings = [d for d in a.diagnostics.items if d.code == "calico-source-ports"]
    assert [d.leans.value if d.leans else "" for d in warnings] == ["may allow more than shown"] * 2


def test_item11_egress_source_ports_are_the_subject_own_source_ports() -> None:
    a = cluster(policy("egress-from-port", """\
        selector: app == 'web'
        types: [Egress]
        egress: [{action: Allow, protocol: UDP, source: {ports: [5353]}}]
        """))
    assert not allowed(a, "shop/web", "203.0.113.9", 53, "UDP")


PROFILES = """\
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: kns.other}
spec:
  labelsToApply: {pcns.team: blue, pcns.projectcalico.org/name: other, zone: dmz}
---
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: ksa.shop.web-sa}
spec:
  labelsToApply: {pcsa.tier: gold, pcsa.projectcalico.org/name: web-sa}
---
"""


def test_item11_profile_labels_to_apply_are_inherited_by_the_namespace_and_account_endpoints() -> None:
    a = cluster(PROFILES + policy("team-blue", """\
        selector: app == 'api'
        ingress:
        - action: Allow
          source: {namespaceSelector: team == 'blue'}
        """) + policy("gold-accounts", """\
        selector: app == 'web'
        types: [Egress]
        egress:
        - action: Allow
          destination: {selector: zone == 'dmz', namespaceSelector: all()}
        """) + policy("dmz-from-gold", """\
        selector: zone == 'dmz'
        ingress:
        - action: Allow
          source: {serviceAccounts: {selector: tier == 'gold'}, namespaceSelector: all()}
        """, namespace="other"))
    assert allowed(a, "other/client", "shop/api")  # other's profile gives pcns.team=blue
    assert not allowed(a, "shop/web", "shop/api")
    assert allowed(a, "shop/web", "other/client")  # client inherits zone=dmz; web's account profile gives gold
    assert not allowed(a, "shop/api", "other/client")
    assert [d.code for d in a.diagnostics.items if d.code.startswith("calico-profile")] == []


def test_item11_a_profile_that_contradicts_its_namespace_loses_with_a_warning() -> None:
    a = cluster("""\
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: kns.shop}
spec: {labelsToApply: {pcns.env: dev}}
---
""" + policy("from-prod", """\
        selector: app == 'api'
        ingress: [{action: Allow, source: {namespaceSelector: env == 'prod'}}]
        """))
    assert allowed(a, "shop/web", "shop/api")
    [warning] = [d for d in a.diagnostics.items if d.code == "calico-profile-conflict"]
    assert warning.message == ("Profile kns.shop applies pcns.env=dev, but Namespace shop gives pcns.env=prod: Calico "
                               "derives the profile from the Namespace, so kubeward uses prod (CAL-21)")


def test_item11_profiles_reach_the_cli_map() -> None:
    runner = CliRunner()
    with runner.isolated_filesystem():
        with open("in.yaml", "w") as f:
            f.write(CLUSTER + PROFILES + policy("team-blue", """\
                selector: app == 'api'
                ingress: [{action: Allow, source: {namespaceSelector: team == 'blue'}}]
                """))
        result = runner.invoke(main, ["map", "in.yaml", "--cni", "calico"])
    into_api = [line.split() for line in result.stdout.splitlines() if line.split()[1:2] == ["shop/api"]]
    assert into_api == [["other/client", "shop/api", "all", "ports"]]
