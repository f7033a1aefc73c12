"""Issue 12: every ``leans`` label is right.

``leans`` says which way kubeward's *result* may differ from what the cluster does because of a
diagnostic: "may allow more than shown" — the cluster may let through flows the result refuses;
"may deny more than shown" — flows the result allows may not pass (or not exist) in the cluster.
It is never about the author's intent. Each test shows the result the label qualifies (the flow
kubeward allows or refuses) and says, in its docstring, why the cluster can only differ that way.
"""

from __future__ import annotations

import textwrap

from kubeward import Analysis, Leans, Options, analyse_text, connectivity_map, explain
from kubeward.diagnostics import Diagnostic
from manifests import APP

ALLOW_MORE, DENY_MORE = Leans.MAY_ALLOW_MORE, Leans.MAY_DENY_MORE


def analyse(text: str, **options: str) -> Analysis:
    return analyse_text(textwrap.dedent(text), "in.yaml", Options(cni="generic", **options))  # type: ignore[arg-type]


def only(analysis: Analysis, code: str) -> Diagnostic:
    [found] = [d for d in analysis.diagnostics.items if d.code == code]
    return found


def allowed(analysis: Analysis, src: str, dst: str, port: int = 80) -> bool:
    return explain(analysis, src, dst, port, "TCP").allowed


# ---------------------------------------------------------------------------- service-account-missing


def test_item2_leans_service_account_missing_may_deny_more() -> None:
    """SVC-6: kubeward shows the Deployment and its flows; if the account does not exist the
    admission plugin refuses its pods, so those flows do not exist: the cluster may deny more than
    shown, never allow more (pods that do not exist open nothing)."""
    a = analyse(APP.replace("spec: {containers: [{name: c, image: x}]}",
                            "spec: {serviceAccountName: robot, containers: [{name: c, image: x}]}", 1))
    d = only(a, "service-account-missing")
    assert (d.resource, d.leans) == ("Deployment app/client", DENY_MORE)
    assert ("app/client", "app/server") in {(c.src, c.dst) for c in connectivity_map(a).connections}


# ---------------------------------------------------------------------------- mesh-policy-inert

INERT = """\
    apiVersion: v1
    kind: Namespace
    metadata: {name: plain}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: web, namespace: plain, labels: {app: web}}
    spec: {containers: [{name: c, image: x, ports: [{containerPort: 80}]}]}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: sleep, namespace: plain, labels: {app: sleep}}
    spec: {containers: [{name: c, image: x}]}
    ---
    apiVersion: security.istio.io/v1
    kind: AuthorizationPolicy
    metadata: {name: allow-nothing, namespace: plain}
    spec: {}
    """


def test_item2_leans_mesh_policy_inert_may_deny_more() -> None:
    """IST-3: without a sidecar the policy is ignored and the flow is shown allowed. If the pods
    have sidecars after all (injected by something the input does not show), the policy applies:
    AuthorizationPolicies and PeerAuthentication only ever refuse what the network lets through,
    so the cluster may deny more than shown, never allow more."""
    a = analyse(INERT, mesh="istio")
    d = only(a, "mesh-policy-inert")
    assert (d.resource, d.leans) == ("AuthorizationPolicy plain/allow-nothing", DENY_MORE)
    assert allowed(a, "plain/sleep", "plain/web")


# ---------------------------------------------------------------------------- spiffe-principal

MESHED = """\
    apiVersion: v1
    kind: Namespace
    metadata: {name: foo, labels: {istio-injection: enabled}}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: web, namespace: foo, labels: {app: web}}
    spec: {containers: [{name: c, image: x, ports: [{containerPort: 80}]}]}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: sleep, namespace: foo, labels: {app: sleep}}
    spec: {serviceAccountName: sleep, containers: [{name: c, image: x}]}
    ---
    apiVersion: v1
    kind: ServiceAccount
    metadata: {name: sleep, namespace: foo}
    ---
    apiVersion: security.istio.io/v1
    kind: AuthorizationPolicy
    metadata: {name: p, namespace: foo}
    spec:
      selector: {matchLabels: {app: web}}
      action: ACTION
      rules: [{from: [{source: {FIELD: ["spiffe://cluster.local/ns/foo/sa/sleep"]}}]}]
    """


def spiffe(action: str, field: str) -> tuple[Leans | None, bool]:
    a = analyse(MESHED.replace("ACTION", action).replace("FIELD", field), mesh="istio")
    return only(a, "spiffe-principal").leans, allowed(a, "foo/sleep", "foo/web")


def test_item2_leans_spiffe_principal_in_an_allow_rule_may_allow_more() -> None:
    """IST-17: kubeward, like Istio, never matches the spiffe:// form, so the ALLOW rule admits
    nobody and sleep is refused. The only way the cluster can differ is by matching it after all,
    which admits sleep: it may allow more than shown."""
    assert spiffe("ALLOW", "principals") == (ALLOW_MORE, False)


def test_item2_leans_spiffe_principal_in_a_deny_rule_may_deny_more() -> None:
    """The DENY rule never matches, so sleep is shown allowed; were the principal to match, sleep
    would be denied: the cluster may deny more than shown."""
    assert spiffe("DENY", "principals") == (DENY_MORE, True)


def test_item2_leans_spiffe_not_principal_turns_the_lean_round() -> None:
    """``notPrincipals`` excludes nobody, so the rule matches every client: an ALLOW rule admits
    sleep (matching would exclude it: may deny more); a DENY rule refuses it (may allow more)."""
    assert spiffe("ALLOW", "notPrincipals") == (DENY_MORE, True)
    assert spiffe("DENY", "notPrincipals") == (ALLOW_MORE, False)


# ---------------------------------------------------------------------------- policyTypes

POLICY = APP + textwrap.dedent("""\
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: server-in, namespace: app}
    spec:
      podSelector: {matchLabels: {app: server}}
      policyTypes: TYPES
      ingress: []
    """)


def test_item2_leans_lower_case_policy_type_alone_may_deny_more() -> None:
    """``policyTypes: [ingress]``: kubeward keeps no type, so the policy isolates nothing and the
    server is shown open — the most open reading there is. The API server rejects the policy
    (NP-28), which leaves the server just as open; the cluster can only differ by enforcing an
    isolation, so it may deny more than shown, never allow more."""
    a = analyse(POLICY.replace("TYPES", "[ingress]"))
    assert only(a, "invalid-value").leans is DENY_MORE
    assert allowed(a, "app/client", "app/server")


def test_item2_leans_lower_case_policy_type_next_to_a_valid_one_may_allow_more() -> None:
    """``[Ingress, egress]``: kubeward keeps Ingress and isolates the server; the API server
    rejects the whole policy, so in the cluster nothing isolates it: it may allow more."""
    a = analyse(POLICY.replace("TYPES", "[Ingress, egress]"))
    assert only(a, "invalid-value").leans is ALLOW_MORE
    assert not allowed(a, "app/client", "app/server")


# ---------------------------------------------------------------------------- the other call sites


def test_item2_leans_broken_allow_part_may_allow_more() -> None:
    """A broken part of a NetworkPolicy allow rule allows nothing here (fail closed): the cluster
    rejects the policy (the server is then open) or prunes the field (the rule allows more), so
    it may allow more than shown, never deny more."""
    a = analyse(POLICY.replace("TYPES", "[Ingress]").replace("ingress: []", "ingress: [{ports: [{port: [80]}]}]"))
    assert only(a, "invalid-type").leans is ALLOW_MORE
    assert not allowed(a, "app/client", "app/server")


NO_EGRESS_FOR_WEB = """\
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: no-egress, namespace: foo}
    spec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Egress]}
    """


def test_item2_leans_sidecar_cut_off_may_deny_more() -> None:
    """IST-21: a sidecar that cannot reach istiod never gets its listeners, and the traffic the
    pod's iptables rules redirect to them fails; kubeward still shows the flows of a configured
    proxy, so the cluster may deny more than shown."""
    a = analyse(MESHED.replace("ACTION", "AUDIT").replace("FIELD", "principals").rstrip(" ")
                + NO_EGRESS_FOR_WEB, mesh="istio")
    d = only(a, "sidecar-cut-off")
    assert (d.resource, d.leans) == ("Pod foo/web", DENY_MORE)
    assert allowed(a, "foo/sleep", "foo/web")


def test_item2_leans_gateway_selector_missing_may_allow_more() -> None:
    """``from: Selector`` without a selector admits no route here (fail closed): the cluster admits
    at most as many, and more if the Gateway is read otherwise: it may allow more than shown."""
    a = analyse("""\
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: gw, namespace: infra}
        spec:
          gatewayClassName: x
          listeners:
          - {name: http, protocol: HTTP, port: 80, allowedRoutes: {namespaces: {from: Selector}}}
        """)
    assert only(a, "missing-field").leans is ALLOW_MORE


def test_item2_leans_address_unknown_allow_may_allow_more_and_pass_either_way() -> None:
    """CAL-18: an own side that depends on an address the input lacks. An Allow rule is taken not
    to apply (fail closed: the cluster may allow more); a Pass rule taken not to apply leaves the
    flow to the tier's next policy instead of the next tier — either may decide more or less."""
    from test_calico_issue11 import CLUSTER, cluster, policy

    no_ip = CLUSTER.replace("status: {podIP: 10.0.0.2}\n", "")
    for action, leans in (("Allow", ALLOW_MORE), ("Pass", Leans.EITHER)):
        a = cluster(policy("nets", f"""\
            selector: app == 'api'
            ingress: [{{action: {action}, destination: {{nets: [10.0.0.0/24]}}}}]
            """), no_ip)
        assert [d.leans for d in a.diagnostics.items if d.code == "address-unknown"] == [leans], action
