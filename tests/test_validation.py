"""Issue 11, item 2: objects the cluster rejects are reported and not enforced.

An invalid label key or value, or selector operator or values, makes the API server reject a
NetworkPolicy (NP-27, NP-28), Cilium reject its policies (CIL-26), and ANP implementations fail to
apply theirs (ANP-14); istiod's webhook refuses malformed AuthorizationPolicy and PeerAuthentication
(IST-23). Each such object gets an error at its file:line, is not enforced (as in the cluster,
where it never exists), and every trace through a side it would select says ``policy-rejected``.

Issue 12 (NP-29): a refused part inside an *allow* rule makes that rule allow nothing instead,
and the rest of the policy stays enforced: a malformed allow rule never allows more.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from kubeward import Analysis, Explanation, Options, Severity, analyse_text, explain
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
spec: {serviceAccountName: default, containers: [{name: c, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: app, labels: {app: server}}
spec: {containers: [{name: c, image: nginx, ports: [{containerPort: 80, name: http}]}]}
---
"""


def analyse(policy: str, cni: str = "generic", mesh: str = "auto") -> Analysis:
    return analyse_text(APP + policy, file=FILE, options=Options(cni=cni, mesh=mesh))


def line_of(text: str, marker: str) -> int:
    [line] = [i for i, row in enumerate((APP + text).splitlines(), 1) if marker in row]
    return line


def errors(a: Analysis) -> list[tuple[str, int, str]]:
    return [(d.code, d.line, d.message) for d in a.diagnostics.items if d.severity is Severity.ERROR]


def rejected_steps(exp: Explanation) -> list[str]:
    return [s.message for s in exp.verdict.steps if s.reason is Reason.POLICY_REJECTED]


def netpol(peer_selector: str) -> str:
    """app/server admits only the pods the given podSelector picks, on port 80."""
    return f"""\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: server-in, namespace: app}}
spec:
  podSelector: {{matchLabels: {{app: server}}}}
  ingress:
  - from:
    - podSelector: {peer_selector}
    ports: [{{port: 80}}]
"""


LONG = "v" * 64
INVALID_SELECTORS = [
    pytest.param("{matchLabels: {app@b: client}}", "app@b", "invalid-label-key",
                 "label key 'app@b' is not a valid name", id="key-app@b"),
    pytest.param('{matchLabels: {app: "$b"}}', "$b", "invalid-label-value",
                 "label value '$b' is not valid", id="value-$b"),
    pytest.param(f"{{matchLabels: {{app: {LONG}}}}}", LONG, "invalid-label-value",
                 f"label value '{LONG}' is 64 characters long (at most 63)", id="value-64-characters"),
    pytest.param("{matchLabels: {Example.com/app: client}}", "Example.com", "invalid-label-key",
                 "the prefix 'Example.com' of label key 'Example.com/app' is not a DNS subdomain", id="prefix-upper"),
    pytest.param("{matchLabels: {a/b/c: client}}", "a/b/c", "invalid-label-key",
                 "label key 'a/b/c' has more than one '/'", id="two-slashes"),
    pytest.param("{matchExpressions: [{key: app, operator: In}]}", "operator: In", "invalid-selector",
                 "operator In needs at least one value", id="in-without-values"),
    pytest.param("{matchExpressions: [{key: app, operator: Exists, values: [client]}]}", "operator: Exists",
                 "invalid-selector", "operator Exists takes no values", id="exists-with-values"),
    pytest.param("{matchExpressions: [{key: app, operator: Equals, values: [client]}]}", "operator: Equals",
                 "invalid-selector", "'Equals' is not one of In, NotIn, Exists, DoesNotExist", id="unknown-operator"),
    pytest.param("{matchExpressions: [{key: app, operator: In, values: [ok, 'a b']}]}", "'a b'",
                 "invalid-label-value", "label value 'a b' is not valid", id="expression-value"),
]


@pytest.mark.parametrize(("selector", "marker", "code", "problem"), INVALID_SELECTORS)
def test_item2_a_networkpolicy_with_an_invalid_selector_in_an_allow_rule_is_refused_and_the_rule_allows_nothing(
        selector: str, marker: str, code: str, problem: str) -> None:
    policy = netpol(selector)
    a = analyse(policy)
    [(got_code, line, message)] = errors(a)
    assert (got_code, line) == (code, line_of(policy, marker))
    assert problem in message
    assert message.endswith("the API server refuses the NetworkPolicy (NP-28), and kubeward reads spec.ingress[0] "
                            "as allowing nothing (a malformed allow rule never allows more, NP-29)")
    # issue 12: the policy isolates app/server, its one rule allows nothing, and the trace says why
    exp = explain(a, "app/client", "app/server", 80)
    assert not exp.allowed
    assert rejected_steps(exp) == []
    [mismatch] = [s.message for s in exp.verdict.steps if s.reason is Reason.PEER_MISMATCH]
    assert "spec.ingress[0] allows nothing: the API server refuses spec.ingress[0].from[0].podSelector" in mismatch
    assert not explain(a, "app/client", "app/server", 8080).allowed


def rejected_netpol(name: str = "server-in") -> str:
    """A NetworkPolicy whose subject selector the API server refuses (a value with a space), though
    it would select app/server: rejected (NP-28), it admits only app/client on port 80."""
    return netpol("{matchLabels: {app: client}}").replace(
        "name: server-in", f"name: {name}").replace(
        "podSelector: {matchLabels: {app: server}}",
        "podSelector: {matchLabels: {app: server}, matchExpressions: [{key: tier, operator: NotIn, values: ['a b']}]}")


@pytest.mark.parametrize("selector", [
    "{matchLabels: {app.kubernetes.io/name: client}}",
    f"{{matchLabels: {{app: {'v' * 63}}}}}",
    '{matchLabels: {app: ""}}',
    "{matchExpressions: [{key: example.com/tier, operator: NotIn, values: [a-b_c.d]}]}",
    "{matchExpressions: [{key: app, operator: DoesNotExist}]}",
])
def test_item2_valid_selectors_are_not_rejected(selector: str) -> None:
    a = analyse(netpol(selector))
    assert errors(a) == []
    assert not explain(a, "app/client", "app/server", 8080).allowed  # the policy isolates server


def test_item2_a_rejected_networkpolicy_is_said_under_every_profile() -> None:
    policy = rejected_netpol()
    for cni in ("generic", "calico", "cilium"):
        exp = explain(analyse(policy, cni=cni), "app/client", "app/server", 80)
        assert exp.allowed, cni
        assert len(rejected_steps(exp)) == 1, cni


def test_item2_a_rejected_policy_leaves_the_others_enforced() -> None:
    a = analyse(rejected_netpol() + "---\n" + netpol("{matchLabels: {app: client}}").replace(
        "server-in", "server-in-2"))
    exp = explain(a, "app/client", "app/server", 8080)
    assert not exp.allowed  # server-in-2 isolates server; only port 80 from client is allowed
    assert len(rejected_steps(exp)) == 1
    assert explain(a, "app/client", "app/server", 80).allowed


ANP = """\
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-client}
spec:
  priority: 10
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: server}}}}
  ingress:
  - action: Deny
    from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app@b: client}}}}]
"""


def test_item2_an_admin_network_policy_whose_selector_cannot_convert_is_not_applied() -> None:
    a = analyse(ANP)
    [(code, line, message)] = errors(a)
    assert (code, line) == ("invalid-label-key", line_of(ANP, "app@b"))
    assert message.endswith("the CRD accepts this AdminNetworkPolicy, but an implementation cannot turn the selector "
                            "into a label selector and does not apply the policy: it is not enforced (ANP-14)")
    exp = explain(a, "app/client", "app/server", 80)
    assert exp.allowed
    assert rejected_steps(exp) and "AdminNetworkPolicy deny-client" in rejected_steps(exp)[0]


@pytest.mark.parametrize(("peer", "severity"), [
    pytest.param("{networks: [10.0.0.0/8]}", Severity.WARNING, id="networks-standard-channel-accepts"),
    pytest.param("{nodes: {matchLabels: {role: db}}}", Severity.ERROR, id="nodes-experimental-only"),
])
def test_item2_anp_named_ports_with_networks_are_a_warning_of_the_experimental_channel(
        peer: str, severity: Severity) -> None:
    policy = f"""\
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {{name: out}}
spec:
  priority: 10
  subject: {{namespaces: {{}}}}
  egress:
  - action: Deny
    to: [{peer}]
    ports: [{{namedPort: http}}]
"""
    a = analyse(policy)
    [diag] = [d for d in a.diagnostics.items if d.code == "invalid-port"]
    assert (diag.severity, diag.line) == (severity, line_of(policy, "namedPort"))
    assert "experimental channel's CRD" in diag.message
    rejected = bool(rejected_steps(explain(a, "app/client", "app/server", 80)))
    assert rejected is (severity is Severity.ERROR)


def cnp(selector: str) -> str:
    return f"""\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {{name: server-in, namespace: app}}
spec:
  endpointSelector: {{matchLabels: {{app: server}}}}
  ingress:
  - fromEndpoints: [{selector}]
    toPorts: [{{ports: [{{port: "80"}}]}}]
"""


@pytest.mark.parametrize(("selector", "code", "problem"), [
    pytest.param('{matchLabels: {app: "$b"}}', "invalid-label-value", "label value '$b' is not valid", id="value"),
    pytest.param("{matchLabels: {k8s:a:b: client}}", "invalid-label-key", "has more than one ':'", id="two-sources"),
    pytest.param("{matchLabels: {k-8s:app: client}}", "invalid-label-key", "the source 'k-8s'", id="bad-source"),
])
def test_item2_cilium_rejects_a_policy_with_an_invalid_selector(selector: str, code: str, problem: str) -> None:
    # in a deny rule: the whole policy is refused (CIL-26)
    denying = cnp("{matchLabels: {app: client}}") + f"  ingressDeny:\n  - fromEndpoints: [{selector}]\n"
    a = analyse(denying, cni="cilium")
    [(got, _, message)] = errors(a)
    assert got == code and problem in message and message.endswith("(CIL-26)")
    exp = explain(a, "app/client", "app/server", 8080)
    assert exp.allowed
    assert len(rejected_steps(exp)) == 1  # once, though the policy has an allow and a deny half
    # in an allow rule (issue 12, NP-29): that rule allows nothing, the policy isolates app/server
    a = analyse(cnp(selector), cni="cilium")
    [(got, _, message)] = errors(a)
    assert got == code and "kubeward reads spec.ingress[0] as allowing nothing" in message
    exp = explain(a, "app/client", "app/server", 80)
    assert not exp.allowed and rejected_steps(exp) == []


def test_item2_cilium_source_prefixed_keys_are_valid() -> None:
    a = analyse(cnp("{matchLabels: {k8s:app: client, any:io.kubernetes.pod.namespace: app}}"), cni="cilium")
    assert errors(a) == []
    assert explain(a, "app/client", "app/server", 80).allowed
    assert not explain(a, "app/client", "app/server", 8080).allowed


def authz(spec: str, kind: str = "AuthorizationPolicy") -> str:
    return f"""\
apiVersion: security.istio.io/v1
kind: {kind}
metadata: {{name: p, namespace: app}}
spec:
{spec}"""


DENY_ALL = "  selector: {matchLabels: {app: server}}\n  action: DENY\n  rules: [{}]\n"
REFUSED = [
    pytest.param("  action: DENY\n  rules:\n  - from: [{source: {}}]\n", "- from:",
                 "a source must set at least one field", id="deny-rule-with-empty-source"),
    pytest.param("  action: DENY\n", "action: DENY", "a DENY policy without rules never applies", id="deny-no-rules"),
    pytest.param("  action: deny\n  rules: [{}]\n", "action: deny", "'deny' is not one of ALLOW, DENY, AUDIT, CUSTOM",
                 id="action-case"),
    pytest.param("  action: CUSTOM\n  rules: [{}]\n", "action: CUSTOM", "a CUSTOM policy needs a provider name",
                 id="custom-without-provider"),
    pytest.param("  action: DENY\n  rules:\n  - from: [{source: {namespaces: [app], serviceAccounts: [x]}}]\n",
                 "- from:", "serviceAccounts cannot be combined", id="accounts-with-namespaces"),
    pytest.param("  action: DENY\n  rules:\n  - to: [{operation: {ports: [http]}}]\n", "- to:",
                 "'http' is not a port number", id="named-operation-port"),
    pytest.param("  action: DENY\n  rules:\n  - when: [{key: request.color, values: [red]}]\n", "request.color",
                 "request.color is not a condition key Istio knows", id="unknown-when-key"),
    pytest.param("  action: DENY\n  rules:\n  - from: [{source: {ipBlocks: [10.0.0.300]}}]\n", "- from:",
                 "'10.0.0.300' is not an IP address or CIDR", id="bad-ip-block"),
]


@pytest.mark.parametrize(("spec", "marker", "problem"), REFUSED)
def test_item2_istiod_refuses_a_malformed_authorization_policy_and_it_is_not_enforced(
        spec: str, marker: str, problem: str) -> None:
    policy = authz(spec)
    a = analyse(policy, mesh="istio")
    found = [(line, message) for code, line, message in errors(a) if code == "istio-rejected"]
    assert found and found[0][0] == line_of(policy, marker)
    assert problem in found[0][1]
    assert found[0][1].endswith("istiod's validating webhook rejects this AuthorizationPolicy: it never exists in "
                                "the cluster, so it is not enforced (IST-23)")
    exp = explain(a, "app/client", "app/server", 80)
    assert exp.allowed
    [step] = [s for s in exp.verdict.steps if s.reason is Reason.POLICY_REJECTED]
    assert step.policy is not None
    start = line_of(policy, "apiVersion: security")
    assert (step.policy.display, step.where) == ("AuthorizationPolicy app/p", f"{FILE}:{start}")
    assert step.message.startswith("would apply to app/server, but it is rejected (istiod's webhook refuses spec.")


@pytest.mark.parametrize(("labels", "problem"), [
    pytest.param("{app: 'serv*'}", "app=serv*: a selector takes no wildcard", id="wildcard"),
    pytest.param(f"{{app: {LONG}}}", "is 64 characters long (at most 63)", id="long-value"),
    pytest.param("{'': server}", "a label key is empty", id="empty-key"),
])
def test_item2_istiod_refuses_a_workload_selector_with_wildcards_long_values_or_empty_keys(
        labels: str, problem: str) -> None:
    policy = authz(f"  selector: {{matchLabels: {labels}}}\n  action: DENY\n  rules: [{{}}]\n")
    [(code, line, message)] = errors(analyse(policy, mesh="istio"))
    assert (code, line) == ("istio-rejected", line_of(policy, "matchLabels"))
    assert problem in message


def test_item2_istiod_accepts_contradictions_and_a_deny_all_is_enforced() -> None:
    contradiction = authz("  action: ALLOW\n  rules:\n  - to: [{operation: {methods: [GET], notMethods: [GET]}}]\n")
    a = analyse(contradiction, mesh="istio")
    assert errors(a) == []  # istiod does not refuse methods with notMethods (IST-23): analysed as written
    assert not explain(a, "app/client", "app/server", 80, method="GET").allowed
    denied = analyse(authz(DENY_ALL), mesh="istio")
    assert errors(denied) == [] and not explain(denied, "app/client", "app/server", 80).allowed


def test_item2_istiod_refuses_port_level_mtls_without_a_selector() -> None:
    policy = authz("  mtls: {mode: STRICT}\n  portLevelMtls: {80: {mode: DISABLE}}\n", kind="PeerAuthentication")
    a = analyse(policy, mesh="istio")
    [(code, line, message)] = errors(a)
    assert (code, line) == ("istio-rejected", line_of(policy, "portLevelMtls"))
    assert "cannot set port-level mTLS" in message
    assert [s.policy.display for s in explain(a, "app/client", "app/server", 80).verdict.steps
            if s.reason is Reason.POLICY_REJECTED and s.policy] == ["PeerAuthentication app/p"]


def codes(diags: Iterable[tuple[str, int, str]]) -> list[str]:
    return [c for c, _, _ in diags]


def test_item2_a_rejected_object_makes_the_analysis_exit_with_errors() -> None:
    a = analyse(netpol("{matchLabels: {app@b: client}}"))
    assert codes(errors(a)) == ["invalid-label-key"]
    assert a.diagnostics.has_errors


def test_item2_a_deployment_or_service_with_an_invalid_label_is_not_in_the_cluster() -> None:
    objects = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: "front end"}}
    spec: {containers: [{name: c, image: nginx}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: app}
spec: {selector: {app@b: server}, ports: [{port: 80}]}
"""
    a = analyse(objects)
    assert [(c, line) for c, line, _ in errors(a)] == [("invalid-label-value", line_of(objects, "front end")),
                                                      ("invalid-label-key", line_of(objects, "app@b"))]
    assert errors(a)[0][2].endswith("the API server rejects this Deployment: it never exists in the cluster, so "
                                    "kubeward leaves it out (NP-28)")
    assert [w.id for w in a.cluster.workloads] == ["app/client", "app/server"]
    assert [s.name for s in a.cluster.services] == []
