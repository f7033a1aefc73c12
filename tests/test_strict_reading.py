"""Issue 12: every object read as strictly as the API server reads it, and a malformed part never
widens an allow-list (NP-29).

Each repro of the issue's "Fail-open" and "fail-closed misreadings" lists: the error (its code,
its line, the API server's words and "did you mean"), the verdict of a flow through ``explain``
— never more permissive than the same input without the broken rule — and what the trace says:
the rule that allows nothing, or ``policy-rejected``. Per dialect: NP-29, NP-30, SVC-8, ANP-16,
CIL-27, CIL-28, CAL-22, IST-27.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from kubeward import Analysis, Explanation, Options, Severity, analyse_text, explain
from kubeward.cli import main
from kubeward.diagnostics import Diagnostic, Leans
from kubeward.engine.trace import Reason

FILE = "in.yaml"
APP = """\
apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: app, labels: {app: client}}
spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: app, labels: {app: server}}
spec: {containers: [{name: c, image: nginx, ports: [{containerPort: 80, name: http}]}]}
---
"""


def analyse(text: str, cni: str = "generic", mesh: str = "auto") -> Analysis:
    return analyse_text(APP + text, file=FILE, options=Options(cni=cni, mesh=mesh))


def line_of(text: str, marker: str) -> int:
    [line] = [i for i, row in enumerate((APP + text).splitlines(), 1) if marker in row]
    return line


def the_error(a: Analysis, code: str) -> Diagnostic:
    [diag] = [d for d in a.diagnostics.items if d.severity is Severity.ERROR and d.code == code]
    return diag


def flow(a: Analysis, port: int = 80, method: str | None = None) -> Explanation:
    return explain(a, "app/client", "app/server", port, method=method)


def notes(exp: Explanation, reason: Reason) -> list[str]:
    return [s.message for s in exp.verdict.steps if s.reason is reason]


def assert_never_more_permissive(broken: Explanation, without: Explanation) -> None:
    """A malformed allow rule allows nothing: what passes with it passes without it too."""
    assert not broken.allowed or without.allowed


def assert_rule_allows_nothing(exp: Explanation, rule: str, why: str) -> None:
    """The trace names the rule read as allowing nothing, and why."""
    found = [m for m in notes(exp, Reason.PEER_MISMATCH) + notes(exp, Reason.MESH_RULE_MISMATCH)
             if f"{rule} allows nothing: " in m]
    assert found and why in found[0], exp.verdict.steps


def assert_rejected(exp: Explanation, policy: str, why: str) -> None:
    [note] = {m for m in notes(exp, Reason.POLICY_REJECTED)}
    assert policy in note and why in note, note


# ---------------------------------------------------------------------------- fail-open: NetworkPolicy

NP_EXEPT = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-in, namespace: app}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from:
    - ipBlock: {cidr: 0.0.0.0/0, exept: [10.0.0.0/8]}
"""


def test_fail_open_networkpolicy_ip_block_exept_is_an_unknown_field_and_its_rule_allows_nothing() -> None:
    a = analyse(NP_EXEPT)
    diag = the_error(a, "unknown-field")
    assert diag.line == line_of(NP_EXEPT, "exept:")
    assert diag.message.startswith('unknown field "spec.ingress[0].from[0].ipBlock.exept": kubectl\'s strict field '
                                   "validation rejects the object (other clients prune the field); did you mean "
                                   '"except"?; kubeward reads spec.ingress[0] as allowing nothing')
    assert diag.leans is Leans.MAY_ALLOW_MORE  # the cluster rejects the policy, or prunes except: it allows more
    exp = flow(a)
    assert not exp.allowed  # before: the ipBlock of every address let app/client in
    assert_rule_allows_nothing(exp, "spec.ingress[0]", 'unknown field "spec.ingress[0].from[0].ipBlock.exept" '
                                                       '(did you mean "except"?)')
    without_the_rule = NP_EXEPT.split("  ingress:")[0] + "  ingress: []\n"
    assert_never_more_permissive(exp, flow(analyse(without_the_rule)))
    assert not explain(a, "world", "app/server", 80).allowed


NP_QUOTED_PORT = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-in, namespace: app}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: "8080"}]
"""


def test_fail_open_a_quoted_port_number_is_a_port_name_the_api_server_refuses_and_its_rule_allows_nothing() -> None:
    """NP-30: "8080" is a port name to the API server, and no valid one (before: port 8080)."""
    a = analyse(NP_QUOTED_PORT)
    diag = the_error(a, "schema-invalid")
    assert diag.line == line_of(NP_QUOTED_PORT, 'port: "8080"')
    assert diag.message.startswith('spec.ingress[0].ports[0].port: Invalid value: "8080": must contain at least one '
                                   "letter (a-z); kubeward reads spec.ingress[0] as allowing nothing")
    exp = flow(a, 8080)
    assert not exp.allowed
    assert_rule_allows_nothing(exp, "spec.ingress[0]", "must contain at least one letter (a-z)")
    assert flow(analyse(NP_QUOTED_PORT.replace('"8080"', "8080")), 8080).allowed  # written as a number, it is 8080


def test_fail_open_a_quoted_target_port_number_makes_the_api_server_refuse_the_service() -> None:
    """SVC-8: the Service never exists; kubeward leaves it out."""
    service = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: app}
spec:
  selector: {app: server}
  ports: [{port: 80, targetPort: "8080"}]
"""
    a = analyse(service)
    diag = the_error(a, "schema-invalid")
    assert diag.line == line_of(service, "targetPort")
    assert diag.message == ('spec.ports[0].targetPort: Invalid value: "8080": must contain at least one letter (a-z); '
                            "the API server rejects this Service: it never exists in the cluster, so kubeward leaves "
                            "it out")
    assert a.cluster.services == []
    assert [s.name for s in analyse(service.replace('"8080"', "8080")).cluster.services] == ["web"]


ZERO_WIDTH = "\u200b"


def test_fail_open_a_zero_width_space_in_a_label_value_is_an_invalid_label_value() -> None:
    """NP-27: a pod with it is refused (left out); a selector of an allow rule with it makes the
    rule allow nothing (NP-29)."""
    pod = f"""\
apiVersion: v1
kind: Pod
metadata: {{name: sneaky, namespace: app, labels: {{app: "client{ZERO_WIDTH}"}}}}
spec: {{containers: [{{name: c, image: busybox}}]}}
---
"""
    policy = NP_QUOTED_PORT.replace('"8080"', "80").replace("app: client}", f'app: "client{ZERO_WIDTH}"}}')
    a = analyse(pod + policy)
    errors = sorted((d.code, d.line) for d in a.diagnostics.items if d.severity is Severity.ERROR)
    assert errors == [("invalid-label-value", line_of(pod, "sneaky")),
                      ("invalid-label-value", line_of(pod + policy, "ports: [{port: 80}]") - 1)]
    assert "app/sneaky" not in [w.id for w in a.cluster.workloads]
    exp = flow(a)
    assert not exp.allowed
    assert_rule_allows_nothing(exp, "spec.ingress[0]", "label value 'client\\u200b' is not valid")


# ---------------------------------------------------------------------------- fail-open: Cilium

def cnp(body: str) -> str:
    return f"""\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {{name: server-in, namespace: app}}
spec:
  endpointSelector: {{matchLabels: {{app: server}}}}
{body}"""


FROM_CLIENT = "  - fromEndpoints: [{matchLabels: {app: client}}]\n"
WITHOUT_THE_RULE = cnp("  ingress:\n  - fromEndpoints: [{matchLabels: {app: nobody}}]\n")


def test_fail_open_cilium_ingres_deny_is_an_unknown_field_and_the_policy_is_rejected() -> None:
    policy = cnp("  ingresDeny:\n" + FROM_CLIENT)
    a = analyse(policy, cni="cilium")
    diag = the_error(a, "unknown-field")
    assert diag.line == line_of(policy, "ingresDeny:")
    assert 'unknown field "spec.ingresDeny"' in diag.message and 'did you mean "ingressDeny"?' in diag.message
    assert diag.message.endswith("kubeward reads as rejected the CiliumNetworkPolicy: it is not enforced")
    exp = flow(a)
    assert exp.allowed == flow(analyse("", cni="cilium")).allowed  # as without the policy: it does not exist
    assert_rejected(exp, "CiliumNetworkPolicy app/server-in", 'the unknown field "spec.ingresDeny" (did you mean '
                                                              '"ingressDeny"?)')


def test_fail_open_a_cilium_deny_rule_with_from_endpoint_makes_the_policy_rejected() -> None:
    policy = cnp("  ingressDeny:\n  - fromEndpoint: [{matchLabels: {app: client}}]\n")
    a = analyse(policy, cni="cilium")
    diag = the_error(a, "unknown-field")
    assert diag.line == line_of(policy, "fromEndpoint:")
    assert 'unknown field "spec.ingressDeny[0].fromEndpoint"' in diag.message
    assert 'did you mean "fromEndpoints"?' in diag.message
    assert_rejected(flow(a), "CiliumNetworkPolicy app/server-in", "spec.ingressDeny[0].fromEndpoint")


def test_fail_open_a_cilium_allow_rule_with_to_port_allows_nothing_not_every_port() -> None:
    policy = cnp("  ingress:\n" + FROM_CLIENT + "    toPort: [{ports: [{port: \"9999\"}]}]\n")
    a = analyse(policy, cni="cilium")
    diag = the_error(a, "unknown-field")
    assert diag.line == line_of(policy, "toPort:")
    assert 'did you mean "toPorts"?' in diag.message
    for port in (80, 9999):
        exp = flow(a, port)
        assert not exp.allowed  # before: every port
        assert_rule_allows_nothing(exp, "spec.ingress[0]", 'unknown field "spec.ingress[0].toPort"')
        assert_never_more_permissive(exp, flow(analyse(WITHOUT_THE_RULE, cni="cilium"), port))


def test_fail_open_cilium_to_ports_written_as_a_string_allows_nothing() -> None:
    policy = cnp("  ingress:\n" + FROM_CLIENT + '    toPorts: "9999"\n')
    a = analyse(policy, cni="cilium")
    diag = the_error(a, "invalid-type")
    assert diag.line == line_of(policy, "toPorts")
    assert diag.message.startswith('spec.ingress[0].toPorts: Invalid value: "string": spec.ingress[0].toPorts in '
                                   'body must be of type array: "string"; kubeward reads spec.ingress[0] as allowing '
                                   "nothing")
    for port in (80, 9999):
        exp = flow(a, port)
        assert not exp.allowed  # before: the error was printed, yet the rule allowed every port
        assert_rule_allows_nothing(exp, "spec.ingress[0]", "spec.ingress[0].toPorts: Invalid value")


def test_fail_open_a_cilium_http_header_written_as_a_map_allows_nothing() -> None:
    policy = cnp("  ingress:\n" + FROM_CLIENT + """\
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http:
        - method: GET
          headers: [{X-My-Header: "true"}]
""")
    a = analyse(policy, cni="cilium")
    # The typed reader finds the broken header list too (it drops that HTTP rule): one error at the
    # line, in the schema's words, with the reader's code.
    [diag] = [d for d in a.diagnostics.items if d.severity is Severity.ERROR]
    assert (diag.code, diag.line) == ("invalid-type", line_of(policy, "headers:"))
    assert diag.message.startswith("spec.ingress[0].toPorts[0].rules.http[0].headers[0]: Invalid value: \"object\"")
    exp = flow(a, 80, method="GET")
    assert not exp.allowed
    assert_rule_allows_nothing(exp, "spec.ingress[0]", "headers[0] in body must be of type string")


def test_cilium_from_requires_removed_in_1_19_is_a_warning_and_read_as_1_18_does() -> None:
    """CIL-28: the 1.19 CRD refuses any entry; 1.18 and earlier enforce it."""
    policy = cnp("  ingress:\n" + FROM_CLIENT + "    fromRequires: [{matchLabels: {app: client}}]\n")
    a = analyse(policy, cni="cilium")
    assert [d for d in a.diagnostics.items if d.severity is Severity.ERROR] == []
    [diag] = [d for d in a.diagnostics.items if d.code == "removed-field"]
    assert (diag.severity, diag.line) == (Severity.WARNING, line_of(policy, "fromRequires"))
    assert diag.message.startswith("spec.ingress[0].fromRequires: removed in Cilium 1.19")
    assert flow(a).allowed


# ---------------------------------------------------------------------------- fail-open: Istio

def authz(spec: str, kind: str = "AuthorizationPolicy") -> str:
    return f"""\
apiVersion: security.istio.io/v1
kind: {kind}
metadata: {{name: p, namespace: app}}
spec:
  selector: {{matchLabels: {{app: server}}}}
{spec}"""


@pytest.mark.parametrize(("rules", "marker", "code", "words"), [
    pytest.param("  rule:\n  - from: [{source: {namespaces: [app]}}]\n", "rule:", "unknown-field",
                 'did you mean "rules"?', id="rule"),
    pytest.param("  rules: true\n", "rules: true", "schema-invalid", "spec.rules in body must be of type array",
                 id="rules-true"),
])
def test_fail_open_an_istio_deny_policy_whose_rules_cannot_be_read_is_rejected(
        rules: str, marker: str, code: str, words: str) -> None:
    policy = authz("  action: DENY\n" + rules)
    a = analyse(policy, mesh="istio")
    diag = the_error(a, code)
    assert diag.line == line_of(policy, marker) and words in diag.message
    exp = flow(a)
    assert exp.allowed  # as without the policy: it does not exist
    [step] = [s for s in exp.verdict.steps if s.reason is Reason.POLICY_REJECTED]
    assert step.policy is not None and step.policy.display == "AuthorizationPolicy app/p"


# ---------------------------------------------------------------------------- fail-open: Calico

def calico(rules: str, name: str = "server-in") -> str:
    return f"""\
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {{name: {name}, namespace: app}}
spec:
  selector: app == 'server'
  ingress:
{rules}"""


CALICO_WITHOUT_THE_RULE = calico("  - action: Allow\n    source: {selector: app == 'nobody'}\n")


@pytest.mark.parametrize(("rule", "marker", "code", "words"), [
    pytest.param("  - action: Allow\n    protocol: TCP\n    destination: \"app == 'web'\"\n", "destination:",
                 "schema-invalid", "spec.ingress[0].destination in body must be of type object", id="destination"),
    pytest.param("  - action: Allow\n    sorce: {selector: app == 'client'}\n", "sorce:", "unknown-field",
                 'unknown field "spec.ingress[0].sorce" (did you mean "source"?)', id="sorce"),
    pytest.param("  - action: Allow\n    source: {selectr: app == 'client'}\n", "selectr:", "unknown-field",
                 'unknown field "spec.ingress[0].source.selectr" (did you mean "selector"?)', id="selectr"),
])
def test_calico_an_allow_rule_that_cannot_be_read_allows_nothing(rule: str, marker: str, code: str,
                                                                 words: str) -> None:
    """CAL-22: the fail-open `destination` string and the fail-closed misreadings `sorce`, `selectr`."""
    policy = calico(rule)
    a = analyse(policy, cni="calico")
    diag = the_error(a, code)
    assert diag.line == line_of(policy, marker)
    assert diag.message.endswith("kubeward reads spec.ingress[0] as allowing nothing (a malformed allow rule never "
                                 "allows more)")
    exp = flow(a)
    assert not exp.allowed
    assert_rule_allows_nothing(exp, "spec.ingress[0]", words)
    assert_never_more_permissive(exp, flow(analyse(CALICO_WITHOUT_THE_RULE, cni="calico")))


def test_misreading_calico_action_deny_in_lower_case_makes_the_policy_rejected() -> None:
    policy = calico("  - action: deny\n    source: {selector: app == 'client'}\n")
    a = analyse(policy, cni="calico")
    diag = the_error(a, "invalid-action")
    assert diag.line == line_of(policy, "action: deny")
    assert diag.message.startswith("spec.ingress[0].action 'deny' is not Allow, Deny, Pass or Log; did you mean "
                                   '"Deny"?')
    assert_rejected(flow(a), "app/server-in", "spec.ingress[0].action is invalid")


# ---------------------------------------------------------------------------- fail-closed misreadings

def test_misreading_anp_pod_selectr_makes_the_policy_rejected() -> None:
    """ANP-16: before, the subject without podSelector meant every pod (fail closed, but wrong)."""
    policy = """\
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-all}
spec:
  priority: 10
  subject: {pods: {namespaceSelector: {}, podSelectr: {matchLabels: {app: server}}}}
  ingress:
  - action: Deny
    from: [{namespaces: {}}]
"""
    a = analyse(policy)
    diag = the_error(a, "unknown-field")
    assert diag.line == line_of(policy, "podSelectr")
    assert 'unknown field "spec.subject.pods.podSelectr"' in diag.message
    assert 'did you mean "podSelector"?' in diag.message
    exp = flow(a)
    assert exp.allowed  # as without the policy: it does not exist
    assert_rejected(exp, "AdminNetworkPolicy deny-all", 'did you mean "podSelector"?')


@pytest.mark.parametrize(("rule", "marker", "words"), [
    pytest.param("  - from: [{source: {principal: [cluster.local/ns/app/sa/default]}}]\n", "principal:",
                 'unknown field "spec.rules[0].from[0].source.principal" (did you mean "principals"?)', id="principal"),
    pytest.param("  - from: [{sources: {namespaces: [app]}}]\n", "sources:",
                 'unknown field "spec.rules[0].from[0].sources" (did you mean "source"?)', id="sources"),
    pytest.param("  - form: [{source: {namespaces: [app]}}]\n", "form:",
                 'unknown field "spec.rules[0].form" (did you mean "from"?)', id="form"),
])
def test_misreading_an_istio_allow_rule_that_cannot_be_read_matches_nothing(rule: str, marker: str,
                                                                           words: str) -> None:
    """IST-27: the ALLOW policy still applies; its malformed rule matches no request."""
    policy = authz("  action: ALLOW\n  rules:\n" + rule)
    a = analyse(policy, mesh="istio")
    diag = the_error(a, "unknown-field")
    assert diag.line == line_of(policy, marker)
    assert words.split(" (")[0] in diag.message and words.split(" (")[1].rstrip(")") in diag.message
    exp = flow(a)
    assert not exp.allowed
    assert_rule_allows_nothing(exp, "spec.rules[0]", words)
    without = analyse(authz("  action: ALLOW\n  rules: []\n"), mesh="istio")
    assert_never_more_permissive(exp, flow(without))


def test_misreading_istio_action_deny_in_lower_case_says_did_you_mean() -> None:
    policy = authz("  action: deny\n  rules: [{}]\n")
    a = analyse(policy, mesh="istio")
    diag = the_error(a, "istio-rejected")
    assert diag.line == line_of(policy, "action: deny")
    assert diag.message.startswith("spec.action: 'deny' is not one of ALLOW, DENY, AUDIT, CUSTOM; did you mean "
                                   '"DENY"?')
    assert [s for s in flow(a).verdict.steps if s.reason is Reason.POLICY_REJECTED]


def test_misreading_peer_authentication_mtls_in_another_case_makes_it_rejected() -> None:
    policy = authz("  Mtls: {mode: STRICT}\n", kind="PeerAuthentication")
    a = analyse(policy, mesh="istio")
    diag = the_error(a, "unknown-field")
    assert diag.line == line_of(policy, "Mtls")
    assert 'unknown field "spec.Mtls"' in diag.message and 'did you mean "mtls"?' in diag.message
    assert [s.policy.display for s in flow(a).verdict.steps
            if s.reason is Reason.POLICY_REJECTED and s.policy] == ["PeerAuthentication app/p"]


def test_misreading_ingress_hosts_is_an_unknown_field_and_the_ingress_is_read_without_it() -> None:
    """Not a policy: the Ingress exists as a client that does not ask for strict field validation
    would store it, without the field (so it serves every host: what it exposes is not hidden)."""
    ingress = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: app}
spec:
  rules:
  - hosts: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
"""
    a = analyse(ingress)
    diag = the_error(a, "unknown-field")
    assert diag.line == line_of(ingress, "hosts:")
    assert diag.message.startswith('unknown field "spec.rules[0].hosts": kubectl\'s strict field validation rejects '
                                   'the object (other clients prune the field); did you mean "host"?')
    assert diag.message.endswith("kubeward reads the object without it")
    [served] = a.cluster.entry.ingresses
    assert [rule.host for rule in served.rules] == [""]


def test_misreading_metadata_namespace_as_a_number_is_refused() -> None:
    """A policy: rejected (before: read in namespace default). Another object: left out."""
    objects = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: 5}
spec: {podSelector: {}}
---
apiVersion: v1
kind: Pod
metadata: {name: odd, namespace: 5}
spec: {containers: [{name: c, image: busybox}]}
"""
    a = analyse(objects)
    found = [(d.line, d.message) for d in a.diagnostics.items if d.code == "schema-invalid"]
    assert [line for line, _ in found] == [line_of(objects, "deny-all"), line_of(objects, "name: odd")]
    assert all(m.startswith("json: cannot unmarshal number into Go struct field ObjectMeta.metadata.namespace of "
                            "type string") for _, m in found)
    assert [p.rejected != "" for p in a.cluster.policies] == [True]
    assert "default/odd" not in [w.id for w in a.cluster.workloads]


# ---------------------------------------------------------------------------- TestSuite

SUITE = """\
apiVersion: kubeward.dev/v1
kind: TestSuite
metadata: {name: t}
spec:
  cni: cilum
  cases:
  - name: client reaches server
    from: app/client
    to: app/server
    port: 80
    protocl: UDP
    expect: allow
"""


def test_misreading_a_test_suite_is_read_strictly_with_did_you_mean(tmp_path: Path) -> None:
    """kubeward's own kind, by its own schema (docs/tests.md): a misspelt cni and an unknown case
    field are input errors; the case is not run as written-but-misread."""
    manifests = tmp_path / "app.yaml"
    manifests.write_text(APP.removesuffix("---\n"))
    cases = tmp_path / "tests.yaml"
    cases.write_text(SUITE)
    result = CliRunner().invoke(main, ["test", str(manifests), "--cases", str(cases)])
    assert result.exit_code == 2
    assert (f"{cases}:5: spec.cni: expected one of auto, generic, cilium, calico, flannel, none, not 'cilum'; "
            "did you mean 'cilium'?") in result.stderr
    assert f'{cases}:11: unknown field "spec.cases[0].protocl"; did you mean "protocol"?' in result.stderr


def test_a_null_label_value_in_an_allow_rule_makes_the_whole_rule_allow_nothing() -> None:
    """NP-29, found by the fuzz test: one peer of a rule with `matchLabels: {app: null}` used to
    select nothing while the rule's other peers kept allowing; the rule now allows nothing."""
    from kubeward import analyse_text, explain

    text = textwrap.dedent("""\
        apiVersion: v1
        kind: Namespace
        metadata: {name: app}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: client, namespace: app, labels: {app: client}}
        spec: {containers: [{name: c, image: x}]}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: server, namespace: app, labels: {app: server}}
        spec: {containers: [{name: c, image: x, ports: [{containerPort: 80}]}]}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: in, namespace: app}
        spec:
          podSelector: {matchLabels: {app: server}}
          policyTypes: [Ingress]
          ingress:
          - from:
            - podSelector: {matchLabels: {app: null}}
            - podSelector: {matchLabels: {app: client}}
        """)
    analysis = analyse_text(text, "np.yaml")
    [error] = [d for d in analysis.diagnostics.items if d.code == "invalid-type"]
    assert (error.file, error.line) == ("np.yaml", 23)
    assert "spec.ingress[0] as allowing nothing" in error.message
    assert explain(analysis, "app/client", "app/server", 80).verdict.verdict == "deny"
