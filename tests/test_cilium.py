"""Specification tests for the Cilium profile: CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy
and the CNI profiles (docs/semantics.md §4, CIL-1 … CIL-25, and NP-18). Each test names
the rule it pins down and asserts real outcomes: the verdict, the step that decided it (policy,
rule index, reason, tier), exact map port sets, diagnostics with code and line.

Every test goes through the public API (``analyse_text`` / ``explain`` / ``connectivity_map`` /
``check``) or the command line (``CliRunner`` on ``kubeward.cli.main``).

Not tested, with the reason:
* CIL-4 (statefulness): replies are implied; kubeward lists connections in the direction they
  are opened (as NP-6).
* CIL-5 (local host → local endpoints always allowed): which node a pod runs on is not in the
  static input (as NP-7's node half).
* CIL-19 (Cilium HTTP policy vs Istio mTLS): tested with the mesh layer, in tests/test_istio.py.
* CIL-22 (REFUSED answers, search-list expansion) is tested only through what kubeward models of
  it: a DNS rule whose patterns refuse a name leaves the toFQDNs selector for that name empty.

"""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cilium_helpers import (
    EGRESS,
    INGRESS,
    allowing,
    analyse,
    assert_allowed_by,
    assert_default_denied,
    assert_denied_by_deny_rule,
    assert_open,
    ccnp,
    cnp,
    codes,
    connection,
    decisive,
    diags,
    dns_rule,
    flow,
    http,
    in_ns,
    kube_dns,
    l7_steps,
    line_of,
    mapped,
    match,
    policy_of,
    side_steps,
    tcp,
)
from kubeward import Analysis, Explanation, Options, Severity, analyse_paths, check, connectivity_map, explain
from kubeward.cli import main
from kubeward.engine.trace import Reason
from kubeward.ir import Direction
from rules_helpers import Obj, anp, namespace, netpol, node, pod, service, to_yaml

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "examples" / "shop"
SHOP_CILIUM = "cni/cilium/policies.yaml"
ALL = [[1, 65535]]
EVERY_PORT = {"TCP": ALL, "UDP": ALL, "SCTP": ALL}
CNP = "CiliumNetworkPolicy"
CCNP = "CiliumClusterwideNetworkPolicy"
KNP = "NetworkPolicy"


def two_pods(*objects: Any, **options: Any) -> Analysis:
    """Namespace ``a`` with a client and a web pod (ports 80, 8080), plus ``objects``."""
    return analyse(namespace("a"), pod("a/client"), pod("a/web", ports=[80, 8080]), *objects, **options)


def with_sa(obj: dict[str, Any], account: str) -> dict[str, Any]:
    obj["spec"]["serviceAccountName"] = account
    return obj


def sa(ref: str) -> dict[str, Any]:
    ns, _, name = ref.partition("/")
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}}


def kubeward(*args: str) -> Result:
    """Run the command line in-process; a crash is an exception, not an exit code. ``main``
    switches the garbage collector off for its short-lived process: switch it back on."""
    was_enabled = gc.isenabled()
    try:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        if was_enabled:
            gc.enable()


# ============================================================================ CNI profiles


def test_auto_picks_the_cilium_profile_when_the_input_has_cilium_policies() -> None:
    a = two_pods(cnp("a/p", endpointSelector=match(app="web"), ingress=[{}]), cni="auto")
    assert a.options.cni == "cilium"
    assert "cni=cilium" in a.options.describe() and "ipblock-matches-pods=no" in a.options.describe()
    note = diags(a, "cni-auto")
    assert len(note) == 1 and note[0].severity is Severity.INFO
    assert_default_denied(flow(a, "a/client", "a/web", 80), INGRESS, CNP, "a/p")


def test_auto_picks_the_calico_profile_for_calico_resources_and_generic_without_either() -> None:
    calico = {"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy",
              "metadata": {"name": "c", "namespace": "a"}, "spec": {"selector": "all()"}}
    a = two_pods(calico, cni="auto")
    assert a.options.cni == "calico"
    assert [d.severity for d in diags(a, "cni-auto")] == [Severity.INFO]
    b = two_pods(netpol("a/p", podSelector={}, policyTypes=["Ingress"]), cni="auto")
    assert b.options.cni == "generic"
    assert not diags(b, "cni-auto")


def test_auto_with_both_cilium_and_calico_resources_warns_cni_ambiguous_and_analyses_generic() -> None:
    calico = {"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy",
              "metadata": {"name": "c", "namespace": "a"}, "spec": {"selector": "all()"}}
    policy = cnp("a/p", endpointSelector=match(app="web"), ingress=[{}])
    objects = [namespace("a"), pod("a/client"), pod("a/web", ports=[80]), policy, calico]
    a = analyse(*objects, cni="auto")
    assert a.options.cni == "generic"
    [warning] = diags(a, "cni-ambiguous")
    assert warning.severity is Severity.WARNING
    assert (warning.file, warning.line) == ("spec.yaml", line_of(objects, "kind: CiliumNetworkPolicy") - 1)
    assert "--cni cilium or --cni calico" in warning.message
    # generic: the Cilium policy is not enforced (an info says so), so web is not isolated
    assert any(d.message.startswith("CiliumNetworkPolicy: 1 object(s) not enforced") for d in diags(a, "not-enforced"))
    exp = flow(a, "a/client", "a/web", 80)
    assert exp.allowed
    assert_open(exp, INGRESS)


def test_admin_network_policies_are_not_enforced_under_cilium_and_an_info_says_so() -> None:
    deny_all = anp("deny", 10, {"namespaces": {}},
                   ingress=[{"name": "no", "action": "Deny", "from": [{"namespaces": {}}]}])
    cilium = two_pods(deny_all, cni="cilium")
    [note] = diags(cilium, "not-enforced")
    assert note.severity is Severity.INFO
    assert note.message.startswith("AdminNetworkPolicy: 1 object(s) not enforced under --cni cilium")
    exp = flow(cilium, "a/client", "a/web", 80)
    assert exp.allowed
    assert_open(exp, INGRESS)
    # the same input under generic: the ANP decides
    generic = two_pods(deny_all, cni="generic")
    exp = flow(generic, "a/client", "a/web", 80)
    assert not exp.allowed
    step = decisive(exp, INGRESS)
    assert (step.reason, step.effect, step.tier, policy_of(step)) == (
        Reason.RULE_MATCHED, "deny", "admin", ("AdminNetworkPolicy", "deny"))


@pytest.mark.parametrize("cni", ["flannel", "none"])
def test_a_cni_that_enforces_nothing_allows_every_flow_with_reason_cni_not_enforcing(cni: str) -> None:
    objects = [namespace("a"), pod("a/client"), pod("a/web", ports=[80]),
               netpol("a/deny", podSelector={}, policyTypes=["Ingress", "Egress"]),
               cnp("a/p", endpointSelector={}, egress=[{}], ingress=[{}])]
    a = analyse(*objects, cni=cni)
    exp = flow(a, "a/client", "a/web", 80)
    assert exp.allowed
    assert [(s.direction, s.reason, s.effect) for s in exp.verdict.steps] == [
        (EGRESS, Reason.CNI_INERT, "allow"), (INGRESS, Reason.CNI_INERT, "allow")]
    assert f"--cni {cni} enforces no network policy" in exp.verdict.steps[0].message
    [warning] = diags(a, "policies-inert")
    assert warning.severity is Severity.WARNING
    assert (warning.file, warning.line) == ("spec.yaml", line_of(objects, "kind: NetworkPolicy") - 1)
    assert "the 2 policies in the input are INERT" in warning.message
    assert mapped(a, "a/client", "a/web") == EVERY_PORT
    assert mapped(a, "a/web", "world") == EVERY_PORT


def test_check_exits_1_under_flannel_with_the_policies_inert_warning(tmp_path: Path) -> None:
    objects = [namespace("a"), pod("a/client"), pod("a/web", ports=[80]),
               netpol("a/deny", podSelector={}, policyTypes=["Ingress", "Egress"])]
    path = tmp_path / "in.yaml"
    path.write_text(to_yaml(objects))
    flannel = kubeward("check", str(path), "--cni", "flannel")
    assert flannel.exit_code == 1
    assert "warning: policies-inert: --cni flannel" in flannel.stdout
    generic = kubeward("check", str(path), "--cni", "generic")
    # Enforced, the deny-all egress cuts DNS off: that is the only finding left.
    assert generic.exit_code == 1, generic.stdout
    assert "policies-inert" not in generic.stdout
    assert "warning: egress-deny-without-dns: namespace a: egress is denied and client, web" in generic.stdout
    # the API agrees
    report = check(analyse_paths([str(path)], Options(cni="flannel")))
    assert report.exit_code == 1
    assert [d.code for d in report.diagnostics if d.severity is Severity.WARNING] == ["policies-inert"]


# ============================================================================ 4.1 default deny


@pytest.mark.parametrize("section,isolated,open_", [
    pytest.param("ingress", INGRESS, EGRESS, id="ingress-section"),
    pytest.param("egress", EGRESS, INGRESS, id="egress-section"),
])
def test_cil1_a_cnp_isolates_exactly_the_directions_it_has_a_section_for(section: str, isolated: Direction,
                                                                         open_: Direction) -> None:
    """CIL-1: default deny per direction, as soon as a selecting rule has that section."""
    a = two_pods(cnp("a/p", endpointSelector={}, **{section: [{"toPorts": tcp(9999)}]}))
    exp = flow(a, "a/client", "a/web", 80)
    assert_default_denied(exp, isolated, CNP, "a/p")
    assert_open(exp, open_)
    assert_allowed_by(flow(a, "a/client", "a/web", 9999), isolated, CNP, "a/p", 0)


def test_cil1_a_ccnp_isolates_selected_pods_in_every_namespace() -> None:
    """CIL-1 / CIL-8: a clusterwide policy's section isolates its subjects cluster-wide."""
    a = analyse(namespace("a"), namespace("b"), pod("a/client"), pod("a/web", ports=[80]),
                pod("b/web", labels={"app": "web"}, ports=[80]), pod("b/db", ports=[80]),
                ccnp("web-in", endpointSelector=match(app="web"), ingress=[{}]))
    for dst in ("a/web", "b/web"):
        assert_default_denied(flow(a, "a/client", dst, 80), INGRESS, CCNP, "web-in")
    assert_open(flow(a, "a/client", "b/db", 80), INGRESS)
    assert_open(flow(a, "a/web", "b/db", 80), EGRESS)


def test_cil1_ingress_with_one_empty_rule_isolates_and_allows_nothing() -> None:
    """CIL-1 / CIL-2: `ingress: [{}]` is the documented default-deny: a rule with no peer and no
    port matches nothing."""
    objects = [namespace("a"), pod("a/client"), pod("a/web", ports=[80]),
               cnp("a/p", endpointSelector=match(app="web"), ingress=[{}])]
    a = analyse(*objects)
    for src in ("a/client", "world"):
        exp = flow(a, src, "a/web", 80)
        step = assert_default_denied(exp, INGRESS, CNP, "a/p")
        assert step.line == line_of(objects, "kind: CiliumNetworkPolicy") - 1
        [rule] = [s for s in side_steps(exp, INGRESS) if s.rule is not None]
        assert (rule.rule, rule.reason) == (0, Reason.PEER_MISMATCH)
    assert mapped(a, "a/client", "a/web") is None
    assert mapped(a, "world", "a/web") is None
    assert mapped(a, "a/web", "a/client") == EVERY_PORT  # egress untouched


def test_cil1_an_empty_ingress_list_is_no_section_and_does_not_isolate() -> None:
    """CIL-1: Cilium tests len(ingress) > 0; `ingress: []` changes nothing."""
    a = two_pods(cnp("a/p", endpointSelector=match(app="web"), ingress=[]))
    exp = flow(a, "a/client", "a/web", 80)
    assert exp.allowed
    assert_open(exp, INGRESS)


def test_cil2_a_policy_with_neither_ingress_nor_egress_has_no_effect() -> None:
    a = two_pods(cnp("a/p", endpointSelector={}))
    assert mapped(a, "a/client", "a/web") == EVERY_PORT
    assert mapped(a, "a/web", "a/client") == EVERY_PORT
    assert_open(flow(a, "a/client", "a/web", 80), INGRESS)


def test_cil2_the_allows_of_several_rules_and_policies_add_up() -> None:
    a = two_pods(cnp("a/p1", endpointSelector=match(app="web"),
                     ingress=[{"fromEndpoints": [match(app="client")], "toPorts": tcp(80)}]),
                 cnp("a/p2", endpointSelector=match(app="web"),
                     ingress=[{"fromEndpoints": [match(app="client")], "toPorts": tcp(8080)}]))
    assert mapped(a, "a/client", "a/web") == {"TCP": [[80, 80], [8080, 8080]]}
    assert_allowed_by(flow(a, "a/client", "a/web", 80), INGRESS, CNP, "a/p1", 0)
    assert_allowed_by(flow(a, "a/client", "a/web", 8080), INGRESS, CNP, "a/p2", 0)


def test_cil3_enable_default_deny_false_keeps_a_direction_open() -> None:
    """CIL-3: a policy with egress rules but enableDefaultDeny.egress false does not isolate."""
    a = two_pods(cnp("a/p", endpointSelector=match(app="web"), enableDefaultDeny={"egress": False},
                     egress=[{"toEndpoints": [match(app="client")], "toPorts": tcp(80)}]))
    exp = flow(a, "a/web", "world", 443)
    assert exp.allowed
    assert_open(exp, EGRESS)
    assert mapped(a, "a/web", "world") == EVERY_PORT


def test_cil3_enable_default_deny_for_one_direction_leaves_the_other_defaulted() -> None:
    a = two_pods(cnp("a/p", endpointSelector=match(app="web"), enableDefaultDeny={"egress": False},
                     ingress=[{}], egress=[{"toPorts": tcp(53)}]))
    assert_default_denied(flow(a, "a/client", "a/web", 80), INGRESS, CNP, "a/p")
    assert_open(flow(a, "a/web", "world", 443), EGRESS)


def test_cil3_default_deny_is_on_if_any_selecting_policy_requests_it_and_all_allows_add_up() -> None:
    """CIL-3: a non-isolating policy's allows still count when another policy isolates."""
    a = two_pods(
        cnp("a/open", endpointSelector=match(app="web"), enableDefaultDeny={"ingress": False},
            ingress=[{"fromEndpoints": [match(app="client")], "toPorts": tcp(8080)}]),
        cnp("a/strict", endpointSelector=match(app="web"),
            ingress=[{"fromEndpoints": [match(app="client")], "toPorts": tcp(80)}]))
    assert mapped(a, "a/client", "a/web") == {"TCP": [[80, 80], [8080, 8080]]}
    assert_allowed_by(flow(a, "a/client", "a/web", 8080), INGRESS, CNP, "a/open", 0)
    exp = flow(a, "world", "a/web", 80)
    assert_default_denied(exp, INGRESS, CNP, "a/strict")
    isolated = [s for s in side_steps(exp, INGRESS) if s.reason is Reason.ISOLATED]
    assert "a/open" not in isolated[0].message  # only the isolating policy is named


# ============================================================================ 4.2 selectors


def test_cil6_a_cnp_endpoint_selector_selects_only_pods_of_its_own_namespace() -> None:
    a = analyse(namespace("a"), namespace("b"), pod("a/client"), pod("a/web", ports=[80]),
                pod("b/web", labels={"app": "web"}, ports=[80]),
                cnp("a/p", endpointSelector=match(app="web"), ingress=[{}]))
    assert_default_denied(flow(a, "a/client", "a/web", 80), INGRESS, CNP, "a/p")
    assert_open(flow(a, "a/client", "b/web", 80), INGRESS)


def test_cil6_an_empty_endpoint_selector_selects_every_pod_of_the_namespace_only() -> None:
    a = analyse(namespace("a"), namespace("b"), pod("a/client"), pod("a/web", ports=[80]),
                pod("b/web", labels={"app": "web"}, ports=[80]), cnp("a/p", endpointSelector={}, ingress=[{}]))
    assert_default_denied(flow(a, "b/web", "a/client", 80), INGRESS, CNP, "a/p")
    assert_default_denied(flow(a, "b/web", "a/web", 80), INGRESS, CNP, "a/p")
    assert_open(flow(a, "a/client", "b/web", 80), INGRESS)


def test_cil6_a_namespace_label_in_a_cnp_endpoint_selector_is_dropped_with_a_warning() -> None:
    objects = [namespace("a"), namespace("b"), pod("a/client"), pod("a/web", ports=[80]),
               pod("b/web", labels={"app": "web"}, ports=[80]),
               cnp("a/p", endpointSelector=in_ns("b", app="web"), ingress=[{}])]
    a = analyse(*objects)
    [warning] = diags(a, "invalid-selector")
    assert warning.severity is Severity.WARNING
    assert warning.line == line_of(objects, "endpointSelector:")
    assert "CIL-6" in warning.message
    # the policy still selects web of its own namespace, never b's
    assert_default_denied(flow(a, "a/client", "a/web", 80), INGRESS, CNP, "a/p")
    assert_open(flow(a, "a/client", "b/web", 80), INGRESS)


def test_cil7_from_endpoints_empty_selector_means_every_pod_of_the_same_namespace_only() -> None:
    a = analyse(namespace("a"), namespace("b"), pod("a/client"), pod("a/web", ports=[80]),
                pod("b/client", labels={"app": "client"}),
                cnp("a/p", endpointSelector=match(app="web"), ingress=[{"fromEndpoints": [{}]}]))
    assert_allowed_by(flow(a, "a/client", "a/web", 80), INGRESS, CNP, "a/p", 0)
    for src in ("b/client", "world"):
        assert_default_denied(flow(a, src, "a/web", 80), INGRESS, CNP, "a/p")
    assert mapped(a, "a/client", "a/web") == EVERY_PORT
    assert mapped(a, "b/client", "a/web") is None
    assert mapped(a, "world", "a/web") is None


def test_cil7_to_endpoints_empty_selector_reaches_neither_other_namespaces_nor_the_world() -> None:
    a = analyse(namespace("a"), namespace("b"), pod("a/client"), pod("a/web", ports=[80]),
                pod("b/web", labels={"app": "web"}, ports=[80]),
                cnp("a/p", endpointSelector=match(app="client"), egress=[{"toEndpoints": [{}]}]))
    assert_allowed_by(flow(a, "a/client", "a/web", 80), EGRESS, CNP, "a/p", 0)
    for dst in ("b/web", "world"):
        assert_default_denied(flow(a, "a/client", dst, 80), EGRESS, CNP, "a/p")


@pytest.mark.parametrize("selector", [
    pytest.param(in_ns("b", app="client"), id="k8s-prefixed-namespace-label"),
    pytest.param({"matchLabels": {"io.kubernetes.pod.namespace": "b", "app": "client"}}, id="plain-namespace-label"),
    pytest.param({"matchLabels": {"any:io.kubernetes.pod.namespace": "b", "any:app": "client"}}, id="any-prefix"),
    pytest.param({"matchExpressions": [{"key": "k8s:io.kubernetes.pod.namespace", "operator": "In", "values": ["b"]}],
                  "matchLabels": {"app": "client"}}, id="match-expression"),
])
def test_cil7_the_pod_namespace_label_in_a_peer_selector_crosses_namespaces(selector: Obj) -> None:
    a = analyse(namespace("a"), namespace("b"), pod("a/client"), pod("a/web", ports=[80]),
                pod("b/client", labels={"app": "client"}), pod("b/other", labels={"app": "other"}),
                cnp("a/p", endpointSelector=match(app="web"), ingress=[{"fromEndpoints": [selector]}]))
    assert_allowed_by(flow(a, "b/client", "a/web", 80), INGRESS, CNP, "a/p", 0)
    for src in ("a/client", "b/other"):
        assert_default_denied(flow(a, src, "a/web", 80), INGRESS, CNP, "a/p")


def test_cil7_a_namespace_exists_requirement_spans_every_namespace() -> None:
    a = analyse(namespace("a"), namespace("b"), pod("a/client"), pod("a/web", ports=[80]),
                pod("b/client", labels={"app": "client"}),
                cnp("a/p", endpointSelector=match(app="web"), ingress=[{"fromEndpoints": [
                    {"matchExpressions": [{"key": "k8s:io.kubernetes.pod.namespace", "operator": "Exists"}],
                     "matchLabels": {"app": "client"}}]}]))
    for src in ("a/client", "b/client"):
        assert_allowed_by(flow(a, src, "a/web", 80), INGRESS, CNP, "a/p", 0)
    assert_default_denied(flow(a, "world", "a/web", 80), INGRESS, CNP, "a/p")


@pytest.mark.parametrize("key", ["app", "k8s:app", "any:app"])
def test_cil7_k8s_and_any_label_prefixes_name_the_same_pod_labels(key: str) -> None:
    a = analyse(namespace("a"), pod("a/client"), pod("a/other", labels={"app": "other"}), pod("a/web", ports=[80]),
                cnp("a/p", endpointSelector={"matchLabels": {key: "web"}},
                    ingress=[{"fromEndpoints": [{"matchLabels": {key: "client"}}]}]))
    assert_allowed_by(flow(a, "a/client", "a/web", 80), INGRESS, CNP, "a/p", 0)
    assert_default_denied(flow(a, "a/other", "a/web", 80), INGRESS, CNP, "a/p")


def test_cil7_the_service_account_label_selects_pods_by_their_service_account() -> None:
    a = analyse(namespace("a"), sa("a/front"), sa("a/batch"),
                with_sa(pod("a/client", labels={"app": "x"}), "front"),
                with_sa(pod("a/job", labels={"app": "x"}), "batch"), pod("a/web", ports=[80]),
                cnp("a/p", endpointSelector=match(app="web"), ingress=[{"fromEndpoints": [
                    {"matchLabels": {"k8s:io.cilium.k8s.policy.serviceaccount": "front"}}]}]))
    assert_allowed_by(flow(a, "a/client", "a/web", 80), INGRESS, CNP, "a/p", 0)
    assert_default_denied(flow(a, "a/job", "a/web", 80), INGRESS, CNP, "a/p")


def test_cil7_namespace_labels_select_by_label_but_a_cnp_still_adds_its_own_namespace() -> None:
    """`io.cilium.k8s.namespace.labels.X` matches the pod's namespace labels; in a CNP without an
    explicit `io.kubernetes.pod.namespace` the policy's namespace is still added (CIL-7)."""
    objects = [namespace("a", team="blue"), namespace("b", team="red"), pod("a/client"),
               pod("b/client", labels={"app": "client"}), pod("a/web", ports=[80])]
    by_label = {"matchLabels": {"k8s:io.cilium.k8s.namespace.labels.team": "red"}}
    own = analyse(*objects, cnp("a/p", endpointSelector=match(app="web"), ingress=[{"fromEndpoints": [
        {"matchLabels": {"k8s:io.cilium.k8s.namespace.labels.team": "blue"}}]}]))
    assert_allowed_by(flow(own, "a/client", "a/web", 80), INGRESS, CNP, "a/p", 0)
    scoped = analyse(*objects, cnp("a/p", endpointSelector=match(app="web"), ingress=[{"fromEndpoints": [by_label]}]))
    assert_default_denied(flow(scoped, "b/client", "a/web", 80), INGRESS, CNP, "a/p")
    anywhere = {"matchLabels": dict(by_label["matchLabels"]),
                "matchExpressions": [{"key": "k8s:io.kubernetes.pod.namespace", "operator": "Exists"}]}
    crossing = analyse(*objects, cnp("a/p", endpointSelector=match(app="web"), ingress=[{"fromEndpoints": [anywhere]}]))
    assert_allowed_by(flow(crossing, "b/client", "a/web", 80), INGRESS, CNP, "a/p", 0)
    assert_default_denied(flow(crossing, "a/client", "a/web", 80), INGRESS, CNP, "a/p")
    clusterwide = analyse(*objects, ccnp("c", endpointSelector=match(app="web"),
                                         ingress=[{"fromEndpoints": [by_label]}]))
    assert_allowed_by(flow(clusterwide, "b/client", "a/web", 80), INGRESS, CCNP, "c", 0)
    assert_default_denied(flow(clusterwide, "a/client", "a/web", 80), INGRESS, CCNP, "c")


def test_cil7_cilium_identity_labels_are_not_pod_labels_for_kubernetes_selectors() -> None:
    """The namespace label Cilium adds is invisible to a NetworkPolicy podSelector."""
    a = analyse(namespace("a"), pod("a/client"), pod("a/web", ports=[80]),
                netpol("a/np", podSelector={"matchLabels": {"io.kubernetes.pod.namespace": "a"}},
                       policyTypes=["Ingress"]))
    assert_open(flow(a, "a/client", "a/web", 80), INGRESS)


def test_cil8_a_ccnp_empty_peer_selector_means_every_pod_of_every_namespace_but_not_the_world() -> None:
    a = analyse(namespace("a"), namespace("b"), pod("a/client"), pod("a/web", ports=[80]),
                pod("b/client", labels={"app": "client"}),
                pod("a/hn", labels={"app": "hn"}, host_network=True, ip="192.168.1.10"),
                ccnp("c", endpointSelector=match(app="web"), ingress=[{"fromEndpoints": [{}]}]))
    for src in ("a/client", "b/client"):
        assert_allowed_by(flow(a, src, "a/web", 80), INGRESS, CCNP, "c", 0)
    for src in ("world", "a/hn"):
        assert_default_denied(flow(a, src, "a/web", 80), INGRESS, CCNP, "c")
    assert mapped(a, "b/client", "a/web") == EVERY_PORT
    assert mapped(a, "world", "a/web") is None


def test_cil8_a_ccnp_selects_subjects_in_every_namespace() -> None:
    a = analyse(namespace("a"), namespace("b"), pod("a/client"), pod("a/web", ports=[80]),
                pod("b/client", labels={"app": "client"}),
                ccnp("c", endpointSelector={}, egress=[{"toEndpoints": [match(app="web")]}]))
    assert_allowed_by(flow(a, "b/client", "a/web", 80), EGRESS, CCNP, "c", 0)
    assert_default_denied(flow(a, "b/client", "world", 80), EGRESS, CCNP, "c")
    assert_default_denied(flow(a, "a/web", "b/client", 80), EGRESS, CCNP, "c")


HOST_NETWORK_POD = pod("a/hn", labels={"app": "hn"}, host_network=True, ip="192.168.1.10")


@pytest.mark.parametrize("entity,expected", [
    pytest.param("world", {"8.8.8.8": True, "example.org": True, "a/db": False, "b/db": False, "a/hn": False},
                 id="world"),
    pytest.param("cluster", {"8.8.8.8": False, "example.org": False, "a/db": True, "b/db": True, "a/hn": True},
                 id="cluster"),
    pytest.param("host", {"8.8.8.8": False, "example.org": False, "a/db": False, "b/db": False, "a/hn": True},
                 id="host"),
    pytest.param("remote-node", {"8.8.8.8": False, "example.org": False, "a/db": False, "b/db": False, "a/hn": True},
                 id="remote-node"),
    pytest.param("all", {"8.8.8.8": True, "example.org": True, "a/db": True, "b/db": True, "a/hn": True}, id="all"),
    pytest.param("kube-apiserver",
                 {"8.8.8.8": False, "example.org": False, "a/db": False, "b/db": False, "a/hn": False},
                 id="kube-apiserver"),
])
def test_cil9_to_entities_selects_the_entity_s_endpoints(entity: str, expected: dict[str, bool]) -> None:
    a = analyse(namespace("a"), namespace("b"), pod("a/web"), pod("a/db", ports=[80]),
                pod("b/db", labels={"app": "db"}, ports=[80]), HOST_NETWORK_POD,
                cnp("a/p", endpointSelector=match(app="web"), egress=[{"toEntities": [entity]}]))
    got = {dst: flow(a, "a/web", dst, 80).allowed for dst in expected}
    assert got == expected
    for dst, allowed in expected.items():
        if allowed:
            assert_allowed_by(flow(a, "a/web", dst, 80), EGRESS, CNP, "a/p", 0)


def test_cil9_from_entities_world_admits_the_outside_and_no_pod() -> None:
    a = two_pods(cnp("a/p", endpointSelector=match(app="web"), ingress=[{"fromEntities": ["world"]}]))
    assert_allowed_by(flow(a, "world", "a/web", 80), INGRESS, CNP, "a/p", 0)
    assert_default_denied(flow(a, "a/client", "a/web", 80), INGRESS, CNP, "a/p")
    assert mapped(a, "world", "a/web") == EVERY_PORT
    assert mapped(a, "a/client", "a/web") is None


def test_cil9_an_unknown_entity_is_an_error_at_its_line() -> None:
    objects = [namespace("a"), pod("a/web"), cnp("a/p", endpointSelector={}, egress=[{"toEntities": ["everything"]}])]
    a = analyse(*objects)
    [error] = diags(a, "invalid-value")
    assert error.severity is Severity.ERROR
    assert error.line == line_of(objects, "toEntities:")
    assert "'everything' is not a Cilium entity" in error.message


CIDR_SET = [{"cidr": "10.0.0.0/8", "except": ["10.96.0.0/12"]}]


@pytest.mark.parametrize("ipblock_matches_pods", [None, True])
def test_cil10_to_cidr_set_with_except_matches_external_addresses_and_never_pods(
        ipblock_matches_pods: bool | None) -> None:
    """CIL-10: CIDR rules never select Cilium-managed pods — not even a pod whose IP is inside,
    whatever the ipBlock option says."""
    a = analyse(namespace("a"), pod("a/web", ip="10.0.0.5"), pod("a/db", ports=[80], ip="10.1.2.3"),
                cnp("a/p", endpointSelector=match(app="web"), egress=[{"toCIDRSet": CIDR_SET}]),
                ipblock_matches_pods=ipblock_matches_pods)
    assert_allowed_by(flow(a, "a/web", "10.1.2.4", 443), EGRESS, CNP, "a/p", 0)
    for dst in ("10.96.0.7", "8.8.8.8", "a/db", "10.1.2.3"):
        assert_default_denied(flow(a, "a/web", dst, 80), EGRESS, CNP, "a/p")
    reached = {c.dst: c.ports.to_json() for c in connectivity_map(a).connections if c.src == "a/web"}
    assert reached == {"10.0.0.0-10.95.255.255": EVERY_PORT, "10.112.0.0-10.255.255.255": EVERY_PORT}


def test_cil10_to_cidr_lists_plain_prefixes() -> None:
    a = analyse(namespace("a"), pod("a/web", ip="10.0.0.5"), pod("a/db", ports=[80], ip="20.1.1.9"),
                cnp("a/p", endpointSelector=match(app="web"), egress=[{"toCIDR": ["20.1.1.1/32", "20.1.1.0/24"]}]))
    assert_allowed_by(flow(a, "a/web", "20.1.1.1", 443), EGRESS, CNP, "a/p", 0)
    assert_default_denied(flow(a, "a/web", "20.1.2.1", 443), EGRESS, CNP, "a/p")
    assert_default_denied(flow(a, "a/web", "a/db", 80), EGRESS, CNP, "a/p")


def test_cil10_from_cidr_admits_external_sources_only() -> None:
    a = analyse(namespace("a"), pod("a/client", ip="10.0.0.9"), pod("a/web", ports=[80], ip="10.0.0.5"),
                cnp("a/p", endpointSelector=match(app="web"), ingress=[{"fromCIDR": ["10.0.0.0/8"]}]))
    assert_allowed_by(flow(a, "10.9.9.9", "a/web", 80), INGRESS, CNP, "a/p", 0)
    assert_default_denied(flow(a, "a/client", "a/web", 80), INGRESS, CNP, "a/p")
    assert_default_denied(flow(a, "11.0.0.1", "a/web", 80), INGRESS, CNP, "a/p")


# ============================================================================ 4.3 L4


def test_cil11_a_rule_with_only_to_ports_allows_that_port_to_any_destination_world_and_pods() -> None:
    """CIL-11: an L3 wildcard — the documented l4.yaml example: 'to any layer 3 destination'."""
    a = analyse(namespace("a"), namespace("b"), pod("a/web"), pod("a/db", ports=[443]),
                pod("b/db", labels={"app": "db"}, ports=[443]),
                cnp("a/p", endpointSelector=match(app="web"), egress=[{"toPorts": tcp(443)}]))
    for dst in ("world", "8.8.8.8", "example.org", "a/db", "b/db"):
        step = assert_allowed_by(flow(a, "a/web", dst, 443), EGRESS, CNP, "a/p", 0)
        assert "any peer" in step.message
    for dst in ("world", "a/db"):
        exp = flow(a, "a/web", dst, 80)
        assert_default_denied(exp, EGRESS, CNP, "a/p")
        assert [s.reason for s in side_steps(exp, EGRESS) if s.rule == 0] == [Reason.PORT_MISMATCH]
    assert mapped(a, "a/web", "world") == {"TCP": [[443, 443]]}
    assert mapped(a, "a/web", "a/db") == {"TCP": [[443, 443]]}
    assert mapped(a, "a/web", "b/db") == {"TCP": [[443, 443]]}


def test_cil11_an_ingress_rule_with_only_to_ports_admits_that_port_from_any_source() -> None:
    a = analyse(namespace("a"), namespace("b"), pod("a/web", ports=[80]), pod("b/client", labels={"app": "client"}),
                cnp("a/p", endpointSelector=match(app="web"), ingress=[{"toPorts": tcp(80)}]))
    for src in ("world", "b/client"):
        assert_allowed_by(flow(a, src, "a/web", 80), INGRESS, CNP, "a/p", 0)
        assert_default_denied(flow(a, src, "a/web", 81), INGRESS, CNP, "a/p")
    assert mapped(a, "world", "a/web") == {"TCP": [[80, 80]]}
    assert mapped(a, "b/client", "a/web") == {"TCP": [[80, 80]]}


def test_cil12_ports_are_the_backend_pod_port_after_service_translation() -> None:
    objects = [namespace("a"), pod("a/web"), pod("a/api", ports=[("http", 8080)]),
               service("a/api", {"app": "api"}, 80, "http")]
    pod_port = analyse(*objects, cnp("a/p", endpointSelector=match(app="web"),
                                     egress=[{"toEndpoints": [match(app="api")], "toPorts": tcp(8080)}]))
    assert explain(pod_port, "a/web", "service/a/api", 80).allowed
    service_port = analyse(*objects, cnp("a/p", endpointSelector=match(app="web"),
                                         egress=[{"toEndpoints": [match(app="api")], "toPorts": tcp(80)}]))
    assert not explain(service_port, "a/web", "service/a/api", 80).allowed
    assert mapped(service_port, "a/web", "a/api") == {"TCP": [[80, 80]]}


def test_cil13_a_named_port_resolves_against_the_destination_pod_and_any_protocol_takes_its_protocol() -> None:
    a = analyse(namespace("a"), pod("a/web"), *kube_dns(),
                pod("a/other", ports=[("metrics", 9090)]),
                cnp("a/p", endpointSelector=match(app="web"),
                    egress=[{"toPorts": [{"ports": [{"port": "dns"}, {"port": "metrics", "protocol": "TCP"}]}]}]))
    assert mapped(a, "a/web", "kube-system/coredns") == {"UDP": [[53, 53]]}
    assert mapped(a, "a/web", "a/other") == {"TCP": [[9090, 9090]]}
    assert_allowed_by(flow(a, "a/web", "kube-system/coredns", 53, "UDP"), EGRESS, CNP, "a/p", 0)
    assert_default_denied(flow(a, "a/web", "kube-system/coredns", 53, "TCP"), EGRESS, CNP, "a/p")
    # nothing outside the pods has named ports
    assert_default_denied(flow(a, "a/web", "world", 53, "UDP"), EGRESS, CNP, "a/p")
    assert mapped(a, "a/web", "world") is None


@pytest.mark.parametrize("protocol", [None, "ANY"])
def test_cil13_an_omitted_or_any_protocol_covers_tcp_udp_and_sctp(protocol: str | None) -> None:
    port: dict[str, Any] = {"port": "5000"}
    if protocol is not None:
        port["protocol"] = protocol
    a = two_pods(cnp("a/p", endpointSelector=match(app="client"), egress=[{"toPorts": [{"ports": [port]}]}]))
    assert mapped(a, "a/client", "a/web") == {"TCP": [[5000, 5000]], "UDP": [[5000, 5000]], "SCTP": [[5000, 5000]]}


def test_cil13_end_port_makes_an_inclusive_range() -> None:
    a = two_pods(cnp("a/p", endpointSelector=match(app="client"),
                     egress=[{"toPorts": [{"ports": [{"port": "8000", "endPort": 8100, "protocol": "TCP"}]}]}]))
    assert mapped(a, "a/client", "a/web") == {"TCP": [[8000, 8100]]}
    assert_allowed_by(flow(a, "a/client", "a/web", 8100), EGRESS, CNP, "a/p", 0)
    assert_default_denied(flow(a, "a/client", "a/web", 8101), EGRESS, CNP, "a/p")


def test_cil13_end_port_with_a_named_port_is_ignored_with_a_warning_at_its_line() -> None:
    objects = [namespace("a"), pod("a/client"), pod("a/web", ports=[("http", 8080)]),
               cnp("a/p", endpointSelector=match(app="client"),
                   egress=[{"toPorts": [{"ports": [{"port": "http", "endPort": 9000, "protocol": "TCP"}]}]}])]
    a = analyse(*objects)
    [warning] = diags(a, "invalid-port")
    assert (warning.severity, warning.line) == (Severity.WARNING, line_of(objects, "endPort:"))
    assert mapped(a, "a/client", "a/web") == {"TCP": [[8080, 8080]]}


def test_cil13_port_zero_or_a_to_ports_entry_without_ports_means_every_port() -> None:
    a = two_pods(cnp("a/p", endpointSelector=match(app="client"),
                     egress=[{"toEndpoints": [match(app="web")],
                              "toPorts": [{"ports": [{"port": "0", "protocol": "UDP"}]}]}]))
    assert mapped(a, "a/client", "a/web") == {"UDP": ALL}


def test_cil14_within_one_rule_the_l3_selector_and_to_ports_must_both_match() -> None:
    a = analyse(namespace("a"), pod("a/web"), pod("a/api", ports=[8080, 9090]), pod("a/db", ports=[8080]),
                cnp("a/p", endpointSelector=match(app="web"),
                    egress=[{"toEndpoints": [match(app="api")], "toPorts": tcp(8080)}]))
    assert_allowed_by(flow(a, "a/web", "a/api", 8080), EGRESS, CNP, "a/p", 0)
    exp = flow(a, "a/web", "a/api", 9090)
    assert_default_denied(exp, EGRESS, CNP, "a/p")
    assert [s.reason for s in side_steps(exp, EGRESS) if s.rule == 0] == [Reason.PORT_MISMATCH]
    exp = flow(a, "a/web", "a/db", 8080)
    assert_default_denied(exp, EGRESS, CNP, "a/p")
    assert [s.reason for s in side_steps(exp, EGRESS) if s.rule == 0] == [Reason.PEER_MISMATCH]
    assert mapped(a, "a/web", "a/api") == {"TCP": [[8080, 8080]]}
    assert mapped(a, "a/web", "a/db") is None


def test_cil14_separate_rules_combine_additively() -> None:
    a = analyse(namespace("a"), pod("a/web"), pod("a/api", ports=[8080]), pod("a/db", ports=[3306]),
                cnp("a/p", endpointSelector=match(app="web"),
                    egress=[{"toEndpoints": [match(app="api")], "toPorts": tcp(8080)},
                            {"toEndpoints": [match(app="db")], "toPorts": tcp(3306)}]))
    assert mapped(a, "a/web", "a/api") == {"TCP": [[8080, 8080]]}
    assert mapped(a, "a/web", "a/db") == {"TCP": [[3306, 3306]]}
    assert_allowed_by(flow(a, "a/web", "a/db", 3306), EGRESS, CNP, "a/p", 1)


# ============================================================================ 4.4 L7 HTTP


CATALOG = {"method": "GET", "path": "^/v1/catalog"}
ORDER = {"method": "POST", "path": "^/v1/order"}


def l7_objects(*rules: dict[str, Any], extra: tuple[dict[str, Any], ...] = ()) -> list[dict[str, Any]]:
    """web → api:8080 under an api ingress CNP carrying HTTP ``rules``."""
    return [namespace("a"), pod("a/web"), pod("a/other"), pod("a/api", ports=[8080, 9090]),
            cnp("a/api-in", endpointSelector=match(app="api"),
                ingress=[{"fromEndpoints": [match(app="web")], "toPorts": http(8080, *rules)}]), *extra]


def request(a: Analysis, method: str, path: str, **kw: Any) -> Explanation:
    return flow(a, "a/web", "a/api", 8080, method=method, path=path, **kw)


@pytest.mark.parametrize("method,path,allowed", [
    ("GET", "/v1/catalog", True),
    ("POST", "/v1/order", True),
    ("GET", "/v1/catalog/1", False),     # full match: ^/v1/catalog is not a prefix
    ("GET", "/v1/catalogue", False),
    ("GET", "/api/v1/catalog", False),
    ("DELETE", "/v1/catalog", False),    # method is a full match too
    ("GET", "/v1/order", False),         # method and path of one rule together
    ("get", "/v1/catalog", True),        # explain upper-cases the method
])
def test_cil15_cil16_a_request_passes_if_any_http_rule_fully_matches_method_and_path(method: str, path: str,
                                                                                    allowed: bool) -> None:
    objects = l7_objects(CATALOG, ORDER)
    a = analyse(*objects)
    exp = request(a, method, path)
    assert exp.allowed is allowed
    [step] = l7_steps(exp)
    assert (step.direction, policy_of(step), step.rule) == (INGRESS, (CNP, "a/api-in"), 0)
    if allowed:
        assert (step.reason, step.effect) == (Reason.L7_ALLOWED, "allow")
        # the step points at the HTTP rule that admitted the request
        assert step.line == line_of(objects, "method: POST" if path == "/v1/order" else "method: GET")
    else:
        assert (step.reason, step.effect) == (Reason.L7_DENIED, "deny")


def test_cil16_a_path_regex_that_allows_sub_paths_must_say_so() -> None:
    a = analyse(*l7_objects({"method": "GET", "path": "/v1/catalog(/.*)?"}))
    assert request(a, "GET", "/v1/catalog/1").allowed
    assert request(a, "GET", "/v1/catalog").allowed
    assert not request(a, "GET", "/v1/catalogue").allowed


def test_cil16_the_query_string_is_part_of_the_matched_path() -> None:
    """kubeward's documented choice for CIL-16 (UNCERTAIN upstream, semantics.md §10.1): the
    regex is matched against :path, query included."""
    a = analyse(*l7_objects(CATALOG))
    assert not request(a, "GET", "/v1/catalog?x=1").allowed
    with_query = analyse(*l7_objects({"method": "GET", "path": "/v1/catalog(\\?.*)?"}))
    assert request(with_query, "GET", "/v1/catalog?x=1").allowed


def test_cil16_an_http_rule_without_method_or_path_matches_any_method_and_path() -> None:
    a = analyse(*l7_objects({"path": "/health"}, {"method": "HEAD"}))
    assert request(a, "DELETE", "/health").allowed
    assert request(a, "HEAD", "/anything").allowed
    assert not request(a, "GET", "/anything").allowed


def test_cil16_the_host_regex_fully_matches_the_authority() -> None:
    a = analyse(*l7_objects({"method": "GET", "host": "api\\.example\\.com"}))
    assert request(a, "GET", "/", host="api.example.com").allowed
    assert not request(a, "GET", "/", host="api.example.com.evil").allowed
    assert not request(a, "GET", "/", host="other.example.com").allowed
    assert not request(a, "GET", "/").allowed  # no Host at all


def test_cil16_headers_are_presence_or_exact_value_and_all_must_hold() -> None:
    a = analyse(*l7_objects({"method": "GET", "headers": ["X-Token: abc", "X-Debug"]}))
    assert request(a, "GET", "/", headers=(("X-Token", "abc"), ("X-Debug", "1"))).allowed
    assert request(a, "GET", "/", headers=(("x-token", "abc"), ("x-debug", ""))).allowed  # names: any case
    assert not request(a, "GET", "/", headers=(("X-Token", "abcd"), ("X-Debug", "1"))).allowed
    assert not request(a, "GET", "/", headers=(("X-Token", "abc"),)).allowed
    assert not request(a, "GET", "/").allowed


def test_cil16_header_matches_with_a_value_require_that_value() -> None:
    a = analyse(*l7_objects({"method": "GET", "headerMatches": [{"name": "X-Env", "value": "prod"}]}))
    assert request(a, "GET", "/", headers=(("X-Env", "prod"),)).allowed
    assert not request(a, "GET", "/", headers=(("X-Env", "dev"),)).allowed


def test_cil17_a_denied_request_is_answered_403_by_the_proxy() -> None:
    objects = l7_objects(CATALOG, ORDER)
    a = analyse(*objects)
    exp = request(a, "GET", "/admin")
    assert not exp.allowed
    assert exp.verdict.verdict == "deny"
    [step] = l7_steps(exp)
    assert (step.reason, step.effect, step.tier) == (Reason.L7_DENIED, "deny", "l7")
    assert "403" in step.message and "GET /admin" in step.message
    assert (policy_of(step), step.rule, step.line) == ((CNP, "a/api-in"), 0, line_of(objects, "- ports:"))
    # L3/L4 allowed the flow: only the proxy denies it
    l4 = decisive(exp, INGRESS)
    assert (l4.reason, l4.effect, policy_of(l4), l4.rule) == (Reason.ALLOWED_BY_RULE, "allow", (CNP, "a/api-in"), 0)
    assert exp.verdict.allowed_ports.to_json() == {}


def test_cil17_without_a_request_the_trace_lists_the_requests_that_pass() -> None:
    a = analyse(*l7_objects(CATALOG, ORDER))
    exp = flow(a, "a/web", "a/api", 8080)
    assert exp.allowed
    [step] = l7_steps(exp)
    assert (step.reason, step.effect) == (Reason.L7_ALLOWED, "allow")
    assert "GET ^/v1/catalog; POST ^/v1/order" in step.message and "403" in step.message


def test_cil15_l7_rules_govern_only_their_port() -> None:
    a = analyse(*l7_objects(CATALOG, extra=(cnp("a/more", endpointSelector=match(app="api"),
                                                   ingress=[{"fromEndpoints": [match(app="web")],
                                                             "toPorts": tcp(9090)}]),)))
    exp = flow(a, "a/web", "a/api", 9090, method="GET", path="/admin")
    assert exp.allowed
    assert [s.reason for s in l7_steps(exp) if s.effect != "allow"] == []
    assert not request(a, "GET", "/admin").allowed
    assert connection(a, "a/web", "a/api").l7 == [
        {"direction": "ingress", "protocols": {"TCP": [[8080, 8080]]},
         "http": [{"method": "GET", "path": "^/v1/catalog"}]}]


def test_cil18_no_l7_step_is_given_for_a_port_without_http_rules() -> None:
    a = analyse(*l7_objects(CATALOG, extra=(cnp("a/more", endpointSelector=match(app="api"),
                                                   ingress=[{"fromEndpoints": [match(app="web")],
                                                             "toPorts": tcp(9090)}]),)))
    assert l7_steps(flow(a, "a/web", "a/api", 9090, method="GET", path="/admin")) == []


def test_cil15_l7_rules_on_the_source_egress_side_filter_too() -> None:
    a = analyse(namespace("a"), pod("a/web"), pod("a/api", ports=[8080]),
                cnp("a/out", endpointSelector=match(app="web"),
                    egress=[{"toEndpoints": [match(app="api")], "toPorts": http(8080, CATALOG)}]))
    assert request(a, "GET", "/v1/catalog").allowed
    exp = request(a, "GET", "/admin")
    [step] = l7_steps(exp)
    assert (step.direction, step.reason, policy_of(step)) == (EGRESS, Reason.L7_DENIED, (CNP, "a/out"))


def test_cil15_an_empty_http_list_allows_every_request() -> None:
    a = analyse(namespace("a"), pod("a/web"), pod("a/api", ports=[8080]),
                cnp("a/api-in", endpointSelector=match(app="api"),
                    ingress=[{"fromEndpoints": [match(app="web")],
                              "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}], "rules": {"http": []}}]}]))
    assert request(a, "DELETE", "/admin").allowed
    assert connection(a, "a/web", "a/api").l7 is None


@pytest.mark.parametrize("lifting", [
    pytest.param(cnp("a/l4", endpointSelector=match(app="api"),
                     ingress=[{"fromEndpoints": [match(app="web")], "toPorts": tcp(8080)}]),
                 id="cnp-same-port-same-peer"),
    pytest.param(cnp("a/l4", endpointSelector=match(app="api"), ingress=[{"fromEndpoints": [match(app="web")]}]),
                 id="cnp-all-ports-same-peer"),
    pytest.param(netpol("a/l4", podSelector={"matchLabels": {"app": "api"}}, policyTypes=["Ingress"],
                        ingress=[{"ports": [{"port": 8080}]}]), id="knp-same-port-any-peer"),
])
def test_cil18_an_l4_only_allow_of_the_same_port_and_peer_lifts_the_http_rules(lifting: Obj) -> None:
    a = analyse(*l7_objects(CATALOG, extra=(lifting,)))
    exp = request(a, "GET", "/admin")
    assert exp.allowed
    [step] = l7_steps(exp)
    assert (step.reason, step.effect, step.direction) == (Reason.L7_UNRESTRICTED, "allow", INGRESS)
    kind = lifting["kind"]
    assert policy_of(step) == (kind, "a/l4")
    assert connection(a, "a/web", "a/api").l7 is None  # the map shows no filter


@pytest.mark.parametrize("other", [
    pytest.param(cnp("a/l4", endpointSelector=match(app="api"),
                     ingress=[{"fromEndpoints": [match(app="other")], "toPorts": tcp(8080)}]),
                 id="same-port-other-peer"),
    pytest.param(cnp("a/l4", endpointSelector=match(app="api"),
                     ingress=[{"fromEndpoints": [match(app="web")], "toPorts": tcp(9090)}]), id="other-port-same-peer"),
])
def test_cil18_an_l4_only_allow_of_another_port_or_peer_does_not_lift_them(other: Obj) -> None:
    a = analyse(*l7_objects(CATALOG, extra=(other,)))
    exp = request(a, "GET", "/admin")
    assert not exp.allowed
    assert [s.reason for s in l7_steps(exp)] == [Reason.L7_DENIED]
    assert connection(a, "a/web", "a/api").l7 == [
        {"direction": "ingress", "protocols": {"TCP": [[8080, 8080]]},
         "http": [{"method": "GET", "path": "^/v1/catalog"}]}]


def test_cil15_the_map_lists_the_http_rules_of_a_filtered_edge_with_their_fields() -> None:
    a = analyse(*l7_objects(CATALOG, {"method": "PUT", "path": "/v1/x", "host": "api", "headers": ["X-A: 1"]},
                            extra=(cnp("a/more", endpointSelector=match(app="api"),
                                       ingress=[{"fromEndpoints": [match(app="web")], "toPorts": tcp(9090)}]),)))
    c = connection(a, "a/web", "a/api")
    assert c.ports.to_json() == {"TCP": [[8080, 8080], [9090, 9090]]}
    assert c.l7 == [{"direction": "ingress", "protocols": {"TCP": [[8080, 8080]]},
                     "http": [{"method": "GET", "path": "^/v1/catalog"},
                              {"method": "PUT", "path": "/v1/x", "host": "api", "headers": ["X-A: 1"]}]}]
    # only web's edge is filtered: other is not allowed at all
    assert mapped(a, "a/other", "a/api") is None


# ============================================================================ 4.5 DNS / FQDN


def fqdn_objects(*egress: dict[str, Any]) -> list[dict[str, Any]]:
    return [namespace("a"), pod("a/web"), *kube_dns(),
            cnp("a/p", endpointSelector=match(app="web"), egress=list(egress))]


def test_cil20_cil21_to_fqdns_match_name_with_a_dns_rule_allows_that_name() -> None:
    a = analyse(*fqdn_objects(dns_rule("*"), {"toFQDNs": [{"matchName": "api.x.io"}], "toPorts": tcp(443)}))
    assert_allowed_by(flow(a, "a/web", "api.x.io", 443), EGRESS, CNP, "a/p", 1)
    assert_allowed_by(flow(a, "a/web", "API.X.IO.", 443), EGRESS, CNP, "a/p", 1)  # DNS names: any case, trailing dot
    for dst in ("www.x.io", "x.io", "world"):
        assert_default_denied(flow(a, "a/web", dst, 443), EGRESS, CNP, "a/p")
    assert_default_denied(flow(a, "a/web", "api.x.io", 80), EGRESS, CNP, "a/p")
    assert not diags(a, "fqdn-without-dns-visibility")
    fqdn = [p for p in connectivity_map(a).peers if p.type == "fqdn"]
    assert [p.id for p in fqdn] == ["api.x.io"]
    assert mapped(a, "a/web", "api.x.io") == {"TCP": [[443, 443]]}
    assert mapped(a, "a/web", "kube-system/coredns") == {"TCP": [[53, 53]], "UDP": [[53, 53]], "SCTP": [[53, 53]]}


def test_cil21_to_fqdns_without_a_dns_rule_allows_nothing_says_why_and_warns_at_the_rule() -> None:
    objects = fqdn_objects({"toEndpoints": [in_ns("kube-system", **{"k8s-app": "kube-dns"})], "toPorts": tcp(53)},
                           {"toFQDNs": [{"matchName": "api.x.io"}]})
    a = analyse(*objects)
    exp = flow(a, "a/web", "api.x.io", 443)
    assert_default_denied(exp, EGRESS, CNP, "a/p")
    [note] = [s for s in side_steps(exp, EGRESS) if s.reason is Reason.FQDN_INEFFECTIVE]
    assert (note.effect, note.tier) == ("none", "networkpolicy")
    assert "CiliumNetworkPolicy a/p egress rule 1" in note.message and "api.x.io" in note.message
    [warning] = diags(a, "fqdn-without-dns-visibility")
    assert warning.severity is Severity.WARNING
    assert (warning.file, warning.line) == ("spec.yaml", line_of(objects, "- toFQDNs:"))
    assert warning.resource == "CiliumNetworkPolicy a/p"
    assert mapped(a, "a/web", "api.x.io") is None


@pytest.mark.parametrize("pattern,name,allowed", [
    ("*.x.io", "a.x.io", True),
    ("*.x.io", "x.io", False),
    ("*.x.io", "a.b.x.io", False),
    ("**.x.io", "a.x.io", True),
    ("**.x.io", "a.b.x.io", True),
    ("**.x.io", "x.io", False),
    ("part*ial.com", "partial.com", True),
    ("part*ial.com", "part-extra-ial.com", True),
    ("*", "anything.example", True),
])
def test_cil20_match_pattern_wildcards(pattern: str, name: str, allowed: bool) -> None:
    a = analyse(*fqdn_objects(dns_rule("*"), {"toFQDNs": [{"matchPattern": pattern}]}))
    exp = flow(a, "a/web", name, 443)
    if allowed:
        assert_allowed_by(exp, EGRESS, CNP, "a/p", 1)
    else:
        assert_default_denied(exp, EGRESS, CNP, "a/p")


def test_cil21_cil22_dns_patterns_that_refuse_the_name_leave_the_fqdn_rule_empty() -> None:
    objects = fqdn_objects(dns_rule("*.other.io"), {"toFQDNs": [{"matchName": "api.x.io"}]})
    a = analyse(*objects)
    exp = flow(a, "a/web", "api.x.io", 443)
    assert_default_denied(exp, EGRESS, CNP, "a/p")
    [note] = [s for s in side_steps(exp, EGRESS) if s.reason is Reason.FQDN_INEFFECTIVE]
    assert "*.other.io" in note.message
    [warning] = diags(a, "fqdn-without-dns-visibility")
    assert warning.line == line_of(objects, "- toFQDNs:")


def test_cil21_dns_patterns_that_cover_the_name_give_visibility() -> None:
    a = analyse(*fqdn_objects(dns_rule("*.x.io"), {"toFQDNs": [{"matchName": "api.x.io"}]}))
    assert_allowed_by(flow(a, "a/web", "api.x.io", 443), EGRESS, CNP, "a/p", 1)
    assert not diags(a, "fqdn-without-dns-visibility")


def test_cil21_a_dns_rule_in_another_policy_selecting_the_endpoint_gives_visibility() -> None:
    a = analyse(namespace("a"), pod("a/web"), *kube_dns(),
                ccnp("dns", endpointSelector={}, egress=[dns_rule("*")]),
                cnp("a/p", endpointSelector=match(app="web"), egress=[{"toFQDNs": [{"matchName": "api.x.io"}]}]))
    assert_allowed_by(flow(a, "a/web", "api.x.io", 443), EGRESS, CNP, "a/p", 0)


def test_cil21_a_dns_match_name_gives_visibility_to_a_to_fqdns_pattern_covering_it() -> None:
    a = analyse(*fqdn_objects(dns_rule(names=["a.x.io"]), {"toFQDNs": [{"matchPattern": "*.x.io"}]}))
    assert_allowed_by(flow(a, "a/web", "a.x.io", 443), EGRESS, CNP, "a/p", 1)
    assert_default_denied(flow(a, "a/web", "b.x.io", 443), EGRESS, CNP, "a/p")


def test_cil22_a_name_the_dns_rule_refuses_is_not_reachable_through_a_wider_fqdn_pattern() -> None:
    a = analyse(*fqdn_objects(dns_rule("*.x.io"), {"toFQDNs": [{"matchPattern": "**.x.io"}]}))
    assert_allowed_by(flow(a, "a/web", "a.x.io", 443), EGRESS, CNP, "a/p", 1)
    assert_default_denied(flow(a, "a/web", "a.b.x.io", 443), EGRESS, CNP, "a/p")


def test_cil20_a_to_cidr_covering_everything_or_the_world_entity_also_reaches_dns_names() -> None:
    a = analyse(*fqdn_objects({"toCIDR": ["0.0.0.0/0"]}))
    assert_allowed_by(flow(a, "a/web", "api.x.io", 443), EGRESS, CNP, "a/p", 0)
    b = analyse(*fqdn_objects({"toCIDR": ["1.2.3.0/24"]}))
    assert_default_denied(flow(b, "a/web", "api.x.io", 443), EGRESS, CNP, "a/p")


# ============================================================================ 4.6 deny, KNP


def test_cil23_an_egress_deny_beats_the_allows_of_every_policy_kind() -> None:
    a = analyse(namespace("a"), pod("a/web"), pod("a/api", ports=[8080]),
                netpol("a/knp", podSelector={}, policyTypes=["Egress"], egress=[{}]),
                cnp("a/allow", endpointSelector=match(app="web"), egress=[{"toEntities": ["all"]}]),
                cnp("a/deny", endpointSelector=match(app="web"), egressDeny=[{"toEntities": ["world"]}]))
    exp = flow(a, "a/web", "world", 443)
    assert_denied_by_deny_rule(exp, EGRESS, CNP, "a/deny", 0)
    assert exp.verdict.steps[0].tier == "deny"
    assert [s for s in side_steps(exp, EGRESS) if s.reason is Reason.ALLOWED_BY_RULE] == []
    exp = flow(a, "a/web", "a/api", 8080)
    assert exp.allowed
    assert allowing(exp, EGRESS) == {(CNP, "a/allow"), (KNP, "a/knp")}
    assert mapped(a, "a/web", "world") is None
    assert mapped(a, "a/web", "a/api") == EVERY_PORT


def test_cil23_an_egress_deny_beats_an_allow_of_the_same_policy() -> None:
    a = analyse(namespace("a"), pod("a/web"), pod("a/api", ports=[8080]), pod("a/db", ports=[8080]),
                cnp("a/p", endpointSelector=match(app="web"), egress=[{"toEndpoints": [{}]}],
                    egressDeny=[{"toEndpoints": [match(app="db")], "toPorts": tcp(8080)}]))
    assert_denied_by_deny_rule(flow(a, "a/web", "a/db", 8080), EGRESS, CNP, "a/p", None)
    assert_allowed_by(flow(a, "a/web", "a/api", 8080), EGRESS, CNP, "a/p", 0)
    assert mapped(a, "a/web", "a/db") == {"TCP": [[1, 8079], [8081, 65535]], "UDP": ALL, "SCTP": ALL}


def test_cil23_an_ingress_deny_beats_a_kubernetes_network_policy_allow_on_its_ports_only() -> None:
    a = two_pods(netpol("a/allow-all", podSelector={}, policyTypes=["Ingress"], ingress=[{}]),
                 cnp("a/deny", endpointSelector=match(app="web"),
                     ingressDeny=[{"fromEndpoints": [match(app="client")], "toPorts": tcp(8080)}]))
    assert_denied_by_deny_rule(flow(a, "a/client", "a/web", 8080), INGRESS, CNP, "a/deny", 0)
    assert_allowed_by(flow(a, "a/client", "a/web", 80), INGRESS, KNP, "a/allow-all", 0)
    assert mapped(a, "a/client", "a/web") == {"TCP": [[1, 8079], [8081, 65535]], "UDP": ALL, "SCTP": ALL}


def test_cil23_a_deny_only_policy_isolates_like_an_allow_policy() -> None:
    a = two_pods(cnp("a/deny", endpointSelector=match(app="web"),
                     ingressDeny=[{"fromEndpoints": [match(app="client")], "toPorts": tcp(8080)}]))
    assert_denied_by_deny_rule(flow(a, "a/client", "a/web", 8080), INGRESS, CNP, "a/deny", 0)
    assert_default_denied(flow(a, "a/client", "a/web", 80), INGRESS, CNP, "a/deny")
    assert_default_denied(flow(a, "world", "a/web", 80), INGRESS, CNP, "a/deny")
    assert mapped(a, "a/client", "a/web") is None


def test_cil3_cil23_a_deny_only_policy_with_default_deny_off_denies_its_ports_and_isolates_nothing() -> None:
    a = two_pods(cnp("a/deny", endpointSelector=match(app="web"), enableDefaultDeny={"ingress": False},
                     ingressDeny=[{"fromEndpoints": [match(app="client")], "toPorts": tcp(8080)}]))
    assert_denied_by_deny_rule(flow(a, "a/client", "a/web", 8080), INGRESS, CNP, "a/deny", 0)
    exp = flow(a, "a/client", "a/web", 80)
    assert exp.allowed
    assert mapped(a, "a/client", "a/web") == {"TCP": [[1, 8079], [8081, 65535]], "UDP": ALL, "SCTP": ALL}


def test_cil23_a_ccnp_egress_deny_beats_a_to_ports_wildcard() -> None:
    a = analyse(namespace("a"), pod("a/web"), pod("a/db", ports=[443]),
                cnp("a/p", endpointSelector=match(app="web"), egress=[{"toPorts": tcp(443)}]),
                ccnp("no-world", endpointSelector={}, egressDeny=[{"toEntities": ["world"]}]))
    assert_denied_by_deny_rule(flow(a, "a/web", "world", 443), EGRESS, CCNP, "no-world", 0)
    assert_allowed_by(flow(a, "a/web", "a/db", 443), EGRESS, CNP, "a/p", 0)


def test_cil23_deny_rules_with_l7_or_to_fqdns_are_errors_at_their_line() -> None:
    """The CRD has neither field in a deny rule: read strictly (issue 12, CIL-27), each is an
    unknown field kubectl's strict field validation refuses, and the policy is rejected."""
    objects = [namespace("a"), pod("a/web"), pod("a/api", ports=[80]),
               cnp("a/d", endpointSelector=match(app="web"),
                   egressDeny=[{"toFQDNs": [{"matchName": "x.io"}]},
                               {"toEndpoints": [match(app="api")], "toPorts": http(80, CATALOG)}])]
    a = analyse(*objects)
    errors = diags(a, "unknown-field")
    assert [(d.severity, d.line) for d in errors] == [
        (Severity.ERROR, line_of(objects, "toFQDNs:")), (Severity.ERROR, line_of(objects, "rules:"))]
    assert all(d.message.endswith("kubeward reads as rejected the CiliumNetworkPolicy: it is not enforced")
               for d in errors)


def test_cil23_the_command_line_explains_a_flow_a_deny_rule_denies(tmp_path: Path) -> None:
    path = tmp_path / "deny.yaml"
    path.write_text(to_yaml([namespace("a"), pod("a/web"),
                             cnp("a/no-world", endpointSelector={}, egressDeny=[{"toEntities": ["world"]}])]))
    result = kubeward("explain", str(path), "--cni", "cilium", "--from", "a/web", "--to", "world", "--port", "443")
    assert result.exit_code == 1
    assert result.stdout.startswith("DENY")
    assert "<rule-matched>" in result.stdout and "a/no-world" in result.stdout


def test_cil24_knp_cnp_and_ccnp_allows_are_one_union() -> None:
    a = two_pods(netpol("a/knp", podSelector={"matchLabels": {"app": "web"}}, policyTypes=["Ingress"],
                        ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}],
                                  "ports": [{"port": 80}]}]),
                 cnp("a/cnp", endpointSelector=match(app="web"),
                     ingress=[{"fromEndpoints": [match(app="client")], "toPorts": tcp(8080)}]),
                 ccnp("ccnp", endpointSelector=match(app="web"),
                      ingress=[{"fromEndpoints": [match(app="client")], "toPorts": tcp(9090)}]))
    assert mapped(a, "a/client", "a/web") == {"TCP": [[80, 80], [8080, 8080], [9090, 9090]]}
    assert_allowed_by(flow(a, "a/client", "a/web", 80), INGRESS, KNP, "a/knp", 0)
    assert_allowed_by(flow(a, "a/client", "a/web", 8080), INGRESS, CNP, "a/cnp", 0)
    assert_allowed_by(flow(a, "a/client", "a/web", 9090), INGRESS, CCNP, "ccnp", 0)
    exp = flow(a, "a/client", "a/web", 7070)
    assert not exp.allowed
    assert decisive(exp, INGRESS).reason is Reason.NO_RULE_MATCHED
    [isolated] = [s for s in side_steps(exp, INGRESS) if s.reason is Reason.ISOLATED]
    assert all(name in isolated.message for name in ("NetworkPolicy a/knp", "CiliumNetworkPolicy a/cnp",
                                                     "CiliumClusterwideNetworkPolicy ccnp"))


def test_cil24_a_knp_default_deny_and_a_cnp_allow_add_up() -> None:
    a = two_pods(netpol("a/deny", podSelector={}, policyTypes=["Ingress", "Egress"]),
                 cnp("a/out", endpointSelector=match(app="client"), egress=[{"toEndpoints": [match(app="web")]}]),
                 cnp("a/in", endpointSelector=match(app="web"), ingress=[{"fromEndpoints": [match(app="client")],
                                                                          "toPorts": tcp(80)}]))
    exp = flow(a, "a/client", "a/web", 80)
    assert_allowed_by(exp, EGRESS, CNP, "a/out", 0)
    assert_allowed_by(exp, INGRESS, CNP, "a/in", 0)
    assert_default_denied(flow(a, "a/client", "a/web", 8080), INGRESS, KNP, "a/deny")
    assert mapped(a, "a/client", "a/web") == {"TCP": [[80, 80]]}


@pytest.mark.parametrize("cni,options,pod_allowed", [
    pytest.param("cilium", {}, False, id="cilium"),
    pytest.param("generic", {}, True, id="generic"),
    pytest.param("cilium", {"ipblock_matches_pods": True}, True, id="cilium-with-the-option"),
])
def test_np18_cil25_a_knp_ip_block_matches_pod_ips_under_generic_but_not_under_cilium(cni: str, options: dict[str, Any],
                                                                                 pod_allowed: bool) -> None:
    a = analyse(namespace("a"), pod("a/web", ip="10.0.0.5"), pod("a/db", ports=[80], ip="10.1.2.3"),
                netpol("a/out", podSelector={"matchLabels": {"app": "web"}}, policyTypes=["Egress"],
                       egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]), cni=cni, **options)
    assert_allowed_by(flow(a, "a/web", "10.9.9.9", 80), EGRESS, KNP, "a/out", 0)  # an external address: always
    exp = flow(a, "a/web", "a/db", 80)
    if pod_allowed:
        assert_allowed_by(exp, EGRESS, KNP, "a/out", 0)
        assert mapped(a, "a/web", "a/db") == EVERY_PORT
    else:
        assert_default_denied(exp, EGRESS, KNP, "a/out")
        assert mapped(a, "a/web", "a/db") is None
    assert ("ipblock-matches-pods=yes" if pod_allowed else "ipblock-matches-pods=no") in a.options.describe()


def test_to_services_selects_the_backends_of_the_named_service() -> None:
    objects = [namespace("a"), namespace("b"), pod("a/web"), pod("b/api", ports=[("http", 8080)]),
               pod("b/other", ports=[8080]), service("b/api", {"app": "api"}, 80, "http")]
    a = analyse(*objects, cnp("a/p", endpointSelector=match(app="web"),
                              egress=[{"toServices": [{"k8sService": {"serviceName": "api", "namespace": "b"}}],
                                       "toPorts": tcp(8080)}]))
    assert_allowed_by(flow(a, "a/web", "b/api", 8080), EGRESS, CNP, "a/p", 0)
    assert explain(a, "a/web", "service/b/api", 80).allowed
    for dst in ("b/other", "world"):
        assert_default_denied(flow(a, "a/web", dst, 8080), EGRESS, CNP, "a/p")
    assert mapped(a, "a/web", "b/api") == {"TCP": [[8080, 8080]]}
    assert mapped(a, "a/web", "b/other") is None


def test_to_services_without_a_namespace_means_the_policy_namespace() -> None:
    a = analyse(namespace("a"), namespace("b"), pod("a/web"), pod("a/api", ports=[8080]),
                pod("b/api", labels={"app": "api"}, ports=[8080]), service("a/api", {"app": "api"}, 80, 8080),
                service("b/api", {"app": "api"}, 80, 8080),
                cnp("a/p", endpointSelector=match(app="web"),
                    egress=[{"toServices": [{"k8sService": {"serviceName": "api"}}]}]))
    assert_allowed_by(flow(a, "a/web", "a/api", 8080), EGRESS, CNP, "a/p", 0)
    assert_default_denied(flow(a, "a/web", "b/api", 8080), EGRESS, CNP, "a/p")


def test_to_services_by_label_selector_selects_the_backends_of_every_matching_service() -> None:
    objects = [namespace("a"), pod("a/web"), pod("a/api", ports=[8080]), pod("a/db", ports=[5432]),
               service("a/api", {"app": "api"}, 80, 8080), service("a/db", {"app": "db"}, 5432, 5432)]
    objects[4]["metadata"]["labels"] = {"tier": "front"}
    a = analyse(*objects, cnp("a/p", endpointSelector=match(app="web"),
                              egress=[{"toServices": [
                                  {"k8sServiceSelector": {"selector": {"matchLabels": {"tier": "front"}}}}]}]))
    assert_allowed_by(flow(a, "a/web", "a/api", 8080), EGRESS, CNP, "a/p", 0)
    assert_default_denied(flow(a, "a/web", "a/db", 5432), EGRESS, CNP, "a/p")


def test_to_services_needs_k8s_service_or_k8s_service_selector() -> None:
    objects = [namespace("a"), pod("a/web"), pod("a/api", ports=[8080]), service("a/api", {"app": "api"}, 80, 8080),
               cnp("a/p", endpointSelector=match(app="web"), egress=[{"toServices": [{"other": {}}]}])]
    a = analyse(*objects)
    [error] = [d for d in diags(a, "invalid-value") if "toServices" in d.message]
    assert (error.severity, error.line) == (Severity.ERROR, line_of(objects, "toServices:"))
    assert_default_denied(flow(a, "a/web", "a/api", 8080), EGRESS, CNP, "a/p")


def test_from_requires_constrains_the_endpoint_peers_of_every_rule_selecting_the_endpoint() -> None:
    """Cilium fromRequires (deprecated upstream): the requirement is added to the fromEndpoints of
    every rule that selects the same endpoint, and grants nothing by itself."""
    a = analyse(namespace("a"), pod("a/client", labels={"app": "client", "env": "prod"}),
                pod("a/dev", labels={"app": "client", "env": "dev"}), pod("a/web", ports=[80]),
                cnp("a/req", endpointSelector=match(app="web"), ingress=[{"fromRequires": [match(env="prod")]}]),
                cnp("a/allow", endpointSelector=match(app="web"), ingress=[{"fromEndpoints": [match(app="client")]}]))
    assert_allowed_by(flow(a, "a/client", "a/web", 80), INGRESS, CNP, "a/allow", 0)
    assert_default_denied(flow(a, "a/dev", "a/web", 80), INGRESS, CNP, "a/allow")


# ============================================================================ suspected bugs


@pytest.mark.parametrize("entity,allowed", [("world", False), ("host", True), ("remote-node", True), ("cluster", True)])
def test_cil9_a_node_address_is_host_or_remote_node_not_world(entity: str, allowed: bool) -> None:
    a = analyse(namespace("a"), pod("a/web"), node("n1", {}, "192.168.1.10"),
                cnp("a/p", endpointSelector=match(app="web"), egress=[{"toEntities": [entity]}]))
    assert flow(a, "a/web", "192.168.1.10", 10250).allowed is allowed


@pytest.mark.parametrize("kind", ["cnp-to-cidr", "knp-ip-block"])
@pytest.mark.parametrize("dst", ["192.168.1.10", "a/hn"])
def test_cil10_np18_an_address_rule_does_not_match_a_node_or_a_host_network_pod_by_default(kind: str, dst: str) -> None:
    if kind == "cnp-to-cidr":
        policy = cnp("a/p", endpointSelector=match(app="web"), egress=[{"toCIDR": ["192.168.0.0/16"]}])
        policy_kind = CNP
    else:
        policy = netpol("a/p", podSelector={"matchLabels": {"app": "web"}}, policyTypes=["Egress"],
                        egress=[{"to": [{"ipBlock": {"cidr": "192.168.0.0/16"}}]}])
        policy_kind = KNP
    hn = pod("a/hn", labels={"app": "hn"}, host_network=True, ip="192.168.1.10") if dst == "a/hn" else node(
        "n1", {}, "192.168.1.10")
    a = analyse(namespace("a"), pod("a/web"), hn, policy)
    assert_allowed_by(flow(a, "a/web", "192.168.7.7", 443), EGRESS, policy_kind, "a/p", 0)
    assert_default_denied(flow(a, "a/web", dst, 10250), EGRESS, policy_kind, "a/p")


def test_cil15_the_map_shows_the_http_filter_on_an_edge_from_the_world() -> None:
    a = analyse(namespace("a"), pod("a/web", ports=[80]),
                cnp("a/p", endpointSelector=match(app="web"),
                    ingress=[{"fromEntities": ["world"], "toPorts": http(80, {"method": "GET", "path": "/x"})}]))
    assert not flow(a, "world", "a/web", 80, method="POST", path="/x").allowed
    c = connection(a, "world", "a/web")
    assert c.ports.to_json() == {"TCP": [[80, 80]]}
    assert c.l7 == [{"direction": "ingress", "protocols": {"TCP": [[80, 80]]},
                     "http": [{"method": "GET", "path": "/x"}]}]


def test_a_trace_rule_index_is_the_rule_s_position_in_its_yaml_list() -> None:
    a = two_pods(cnp("a/p", endpointSelector=match(app="web"),
                     ingress=[{"fromEndpoints": [match(app="client")], "toPorts": [{"ports": [{"port": "80"}]},
                                                                                 {"ports": [{"port": "81"}]}]},
                              {"fromEndpoints": [match(app="client")], "toPorts": tcp(8080)}]))
    assert_allowed_by(flow(a, "a/client", "a/web", 80), INGRESS, CNP, "a/p", 0)
    assert_allowed_by(flow(a, "a/client", "a/web", 8080), INGRESS, CNP, "a/p", 1)


def test_a_deny_rule_index_is_its_position_in_the_deny_list() -> None:
    a = analyse(namespace("a"), pod("a/web"), pod("a/db", ports=[80]),
                cnp("a/p", endpointSelector=match(app="web"),
                    egress=[{"toEndpoints": [{}], "toPorts": tcp(80)}, {"toEntities": ["world"]}],
                    egressDeny=[{"toEndpoints": [match(app="db")], "toPorts": tcp(80)}]))
    assert_denied_by_deny_rule(flow(a, "a/web", "a/db", 80), EGRESS, CNP, "a/p", 0)


# ============================================================================ end to end: examples/shop


@pytest.fixture(scope="module")
def shop_cilium() -> Analysis:
    return analyse_paths([str(SHOP)], Options(cni="cilium", mesh="none"))


@pytest.fixture(scope="module")
def shop_flannel() -> Analysis:
    return analyse_paths([str(SHOP)], Options(cni="flannel", mesh="none"))


def test_shop_cilium_web_reaches_any_https_site_through_the_to_ports_only_rule(shop_cilium: Analysis) -> None:
    """The lab's leak: web-egress-payment's second egress rule is an L3 wildcard (CIL-11)."""
    exp = explain(shop_cilium, "shop/web", "www.google.com", 443, "TCP")
    step = assert_allowed_by(exp, EGRESS, CNP, "shop/web-egress-payment", 1)
    assert step.policy is not None and step.policy.file.endswith(SHOP_CILIUM) and step.line == 30
    assert "any peer" in step.message
    assert_allowed_by(explain(shop_cilium, "shop/web", "world", 443, "TCP"), EGRESS, CNP, "shop/web-egress-payment", 1)
    assert not explain(shop_cilium, "shop/web", "www.google.com", 80, "TCP").allowed


def test_shop_cilium_the_payment_api_is_reached_by_the_wildcard_while_the_fqdn_rule_is_ineffective(
        shop_cilium: Analysis) -> None:
    exp = explain(shop_cilium, "shop/web", "api.payment.example.com", 443, "TCP")
    assert_allowed_by(exp, EGRESS, CNP, "shop/web-egress-payment", 1)
    [note] = [s for s in side_steps(exp, EGRESS) if s.reason is Reason.FQDN_INEFFECTIVE]
    assert "CiliumNetworkPolicy shop/web-egress-payment egress rule 0" in note.message
    assert f"{SHOP_CILIUM}:27" in note.message and "CIL-21" in note.message
    [rule0] = [s for s in side_steps(exp, EGRESS) if s.rule == 0 and policy_of(s) == (CNP, "shop/web-egress-payment")]
    assert rule0.reason is Reason.PEER_MISMATCH
    [warning] = diags(shop_cilium, "fqdn-without-dns-visibility")
    assert warning.file.endswith(SHOP_CILIUM) and warning.line == 27
    assert warning.severity is Severity.WARNING


@pytest.mark.parametrize("method,path,allowed,rule_line", [
    ("GET", "/v1/catalog", True, 15),
    ("POST", "/v1/order", True, 17),
    ("GET", "/admin", False, 12),
    ("GET", "/v1/catalog/1", False, 12),
    ("POST", "/v1/catalog", False, 12),
])
def test_shop_cilium_web_to_api_is_filtered_by_the_http_rules(shop_cilium: Analysis, method: str, path: str,
                                                            allowed: bool, rule_line: int) -> None:
    exp = explain(shop_cilium, "shop/web", "shop/api", 8080, "TCP", method=method, path=path)
    assert exp.allowed is allowed
    assert_allowed_by_l4 = [s for s in side_steps(exp, EGRESS) if s.reason is Reason.ALLOWED_BY_RULE]
    assert [policy_of(s) for s in assert_allowed_by_l4] == [(CNP, "shop/web-to-api-l7")]
    assert [policy_of(s) for s in side_steps(exp, INGRESS) if s.reason is Reason.ALLOWED_BY_RULE] == [
        (KNP, "shop/allow-web-to-api")]
    [step] = l7_steps(exp)
    assert (step.direction, policy_of(step), step.rule, step.line) == (
        EGRESS, (CNP, "shop/web-to-api-l7"), 0, rule_line)
    if allowed:
        assert (step.reason, step.effect) == (Reason.L7_ALLOWED, "allow")
    else:
        assert (step.reason, step.effect) == (Reason.L7_DENIED, "deny")
        assert "403" in step.message


def test_shop_cilium_api_to_mysql_is_still_denied_by_mysql_ingress(shop_cilium: Analysis) -> None:
    exp = explain(shop_cilium, "shop/api", "shop/mysql", 3306, "TCP")
    assert_allowed_by(exp, EGRESS, KNP, "shop/allow-api-egress-mysql", 0, whole_flow=False)
    assert_default_denied(exp, INGRESS, KNP, "shop/default-deny")


def test_shop_cilium_map_edges(shop_cilium: Analysis) -> None:
    m = connectivity_map(shop_cilium)
    edges = {(c.src, c.dst): c for c in m.connections}
    api = edges[("shop/web", "shop/api")]
    assert api.ports.to_json() == {"TCP": [[8080, 8080]]}
    assert api.l7 == [{"direction": "egress", "protocols": {"TCP": [[8080, 8080]]},
                       "http": [{"method": "GET", "path": "^/v1/catalog"}, {"method": "POST", "path": "^/v1/order"}]}]
    assert edges[("shop/web", "world")].ports.to_json() == {"TCP": [[443, 443]]}
    assert edges[("shop/web", "api.payment.example.com")].ports.to_json() == {"TCP": [[443, 443]]}
    assert [p.id for p in m.peers if p.type == "fqdn"] == ["api.payment.example.com"]
    assert ("shop/api", "shop/mysql") not in edges
    assert ("shop/web", "shop/mysql") not in edges


@pytest.mark.parametrize("src,dst,port,request_", [
    ("shop/web", "www.google.com", 443, {}),
    ("shop/web", "www.google.com", 80, {}),
    ("shop/web", "shop/api", 8080, {"method": "GET", "path": "/admin"}),
    ("shop/api", "shop/mysql", 3306, {}),
    ("shop/mysql", "shop/web", 8080, {}),
])
def test_shop_flannel_every_flow_is_allowed(shop_flannel: Analysis, src: str, dst: str, port: int,
                                          request_: dict[str, Any]) -> None:
    exp = explain(shop_flannel, src, dst, port, "TCP", **request_)
    assert exp.allowed
    assert {s.reason for s in exp.verdict.steps if s.reason is not Reason.NOT_A_POD} == {Reason.CNI_INERT}
    assert "policies-inert" in codes(shop_flannel)


# ---------------------------------------------------------------------------- through the CLI


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths as a user in a checkout types them."""
    monkeypatch.chdir(ROOT)


def trace_of(result: Result) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    doc = json.loads(result.stdout)
    return doc, doc["trace"]


def test_cli_shop_cilium_web_to_google_is_allowed_by_rule_1_of_web_egress_payment(at_root: None) -> None:
    result = kubeward("explain", "examples/shop", "--cni", "cilium", "--from", "shop/web", "--to", "www.google.com",
                      "--port", "443", "--format", "json")
    assert result.exit_code == 0
    doc, trace = trace_of(result)
    assert doc["verdict"] == "allow"
    assert "cni=cilium" in doc["options"]
    allowing = [s for s in trace if s["reason"] == "allowed-by-rule"]
    assert [(s["policy"], s["rule"], s["file"], s["line"]) for s in allowing] == [
        ({"kind": CNP, "namespace": "shop", "name": "web-egress-payment"}, 1, f"examples/shop/{SHOP_CILIUM}", 30)]
    assert "fqdn-without-dns-visibility" in {d["code"] for d in doc["diagnostics"]}


def test_cli_shop_cilium_text_trace_names_the_fqdn_rule_as_ineffective(at_root: None) -> None:
    result = kubeward("explain", "examples/shop", "--cni", "cilium", "--from", "shop/web", "--to",
                      "api.payment.example.com", "--port", "443")
    assert result.exit_code == 0
    assert result.stdout.startswith("ALLOW  shop/web -> api.payment.example.com  TCP/443")
    assert "<fqdn-without-dns-visibility>" in result.stdout
    assert "web-egress-payment egress rule 1 (examples/shop/cni/cilium/policies.yaml:30)" in result.stdout


@pytest.mark.parametrize("path,exit_code,reason", [
    ("/v1/catalog", 0, "l7-allowed"),
    ("/admin", 1, "l7-denied"),
])
def test_cli_shop_cilium_http_requests_to_api(at_root: None, path: str, exit_code: int, reason: str) -> None:
    result = kubeward("explain", "examples/shop", "--cni", "cilium", "--from", "shop/web", "--to", "shop/api",
                      "--port", "8080", "--method", "GET", "--path", path, "--format", "json")
    assert result.exit_code == exit_code
    _, trace = trace_of(result)
    [l7] = [s for s in trace if s["tier"] == "l7"]
    assert (l7["reason"], l7["direction"], l7["policy"]["name"], l7["rule"]) == (reason, "egress", "web-to-api-l7", 0)


def test_cli_shop_cilium_map_json_carries_the_l7_entry(at_root: None) -> None:
    result = kubeward("map", "examples/shop", "--cni", "cilium", "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    [edge] = [c for c in doc["connections"] if (c["src"], c["dst"]) == ("shop/web", "shop/api")]
    assert edge["protocols"] == {"TCP": [[8080, 8080]]}
    assert edge["l7"] == [{"direction": "egress", "protocols": {"TCP": [[8080, 8080]]},
                           "http": [{"method": "GET", "path": "^/v1/catalog"},
                                    {"method": "POST", "path": "^/v1/order"}]}]
    assert {"id": "api.payment.example.com", "type": "fqdn"} in doc["peers"]


def test_cli_shop_flannel_allows_what_cilium_denies_and_check_warns(at_root: None) -> None:
    cilium = kubeward("explain", "examples/shop", "--cni", "cilium", "--from", "shop/api", "--to", "shop/mysql",
                      "--port", "3306")
    assert cilium.exit_code == 1 and cilium.stdout.startswith("DENY")
    flannel = kubeward("explain", "examples/shop", "--cni", "flannel", "--from", "shop/api", "--to", "shop/mysql",
                       "--port", "3306")
    assert flannel.exit_code == 0 and flannel.stdout.startswith("ALLOW")
    assert "<cni-not-enforcing>" in flannel.stdout
    report = kubeward("check", "examples/shop", "--cni", "flannel")
    assert report.exit_code == 1
    assert "warning: policies-inert: --cni flannel" in report.stdout


def test_a_trace_names_cilium_identity_labels_without_internal_characters() -> None:
    a = analyse(namespace("a"), pod("a/web"), *kube_dns(), pod("a/api", ports=[80]),
                cnp("a/p", endpointSelector=match(app="web"),
                    egress=[{"toEndpoints": [in_ns("kube-system", **{"k8s-app": "kube-dns"})]}]))
    exp = flow(a, "a/web", "a/api", 80)
    [step] = [s for s in side_steps(exp, EGRESS) if s.reason is Reason.PEER_MISMATCH]
    assert "\x00" not in step.message
    assert "io.kubernetes.pod.namespace=kube-system" in step.message
