"""Specification tests for the Istio mesh layer: sidecars, PeerAuthentication and
AuthorizationPolicy (docs/semantics.md §6, IST-1 … IST-22, and CIL-19). Each test names the
rule it pins down and asserts real outcomes: the verdict, the mesh step that decided it (reason,
policy, rule index, line), diagnostics with code and line.

Everything goes through the public API (``analyse_text`` / ``analyse_paths`` / ``explain`` /
``connectivity_map`` / ``check`` with ``Options(cni="generic", mesh="istio")``) or the command line
(``CliRunner`` on ``kubeward.cli.main``). The Istio truth tables (tests/truthtables/istio) are run
here too, through both explain and the map.

Suspected kubeward bugs are kept as ``xfail(strict=True, reason="BUG: ...")`` with the upstream
source of the expected behaviour.

Not tested, with the reason:
* IST-1's "existing pods need a restart" and IST-21's consequence at runtime: not in a static input.
* IST-19 keys that need the live request or a JWT (request.auth.*, connection.sni, destination.ip,
  experimental.*) beyond "not decidable": kubeward cannot know them.
"""

from __future__ import annotations

import dataclasses
import gc
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import pytest
from click.testing import CliRunner, Result

from kubeward import (
    Analysis,
    Connection,
    Diagnostic,
    Explanation,
    Leans,
    Options,
    Severity,
    analyse_paths,
    analyse_text,
    check,
    connectivity_map,
    explain,
)
from kubeward.cli import main
from kubeward.engine.mesh import NOT_CAPTURED
from kubeward.engine.portset import PortSet
from kubeward.engine.trace import Reason, Step
from rules_helpers import namespace, to_yaml
from truthtable import Case, discover, mismatches

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "examples" / "shop"
SHOP_INJECTED = ROOT / "examples" / "shop-injected"
FILE = "spec.yaml"
INJECTED = {"istio-injection": "enabled"}
Obj = dict[str, Any]


# ============================================================================ builders


def pod(ref: str, labels: dict[str, str] | None = None, ports: Iterable[int] = (8080,), sa: str | None = None,
        ip: str | None = None) -> Obj:
    """A bare Pod ``ns/name`` with service account ``sa`` (default: its name)."""
    ns, _, name = ref.partition("/")
    obj: Obj = {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": ns, "labels": labels if labels is not None else {"app": name}},
                "spec": {"serviceAccountName": sa or name,
                         "containers": [{"name": "c", "image": "img",
                                         "ports": [{"containerPort": p} for p in ports]}]}}
    if ip:
        obj["status"] = {"podIP": ip}
    return obj


def ap(ref: str, **spec: Any) -> Obj:
    """An AuthorizationPolicy ``ns/name``; keyword arguments are its spec verbatim."""
    ns, _, name = ref.partition("/")
    return {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def pa(ref: str, mode: str | None = None, selector: dict[str, str] | None = None,
       ports: dict[int, str] | None = None, created: str | None = None) -> Obj:
    """A PeerAuthentication ``ns/name``."""
    ns, _, name = ref.partition("/")
    spec: Obj = {}
    if selector:
        spec["selector"] = {"matchLabels": selector}
    if mode:
        spec["mtls"] = {"mode": mode}
    if ports:
        spec["portLevelMtls"] = {p: {"mode": m} for p, m in ports.items()}
    meta: Obj = {"name": name, "namespace": ns}
    if created:
        meta["creationTimestamp"] = created
    return {"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication", "metadata": meta, "spec": spec}


def sel(**labels: str) -> Obj:
    return {"matchLabels": dict(labels)}


def netpol(ref: str, **spec: Any) -> Obj:
    ns, _, name = ref.partition("/")
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def foo(*objects: Obj) -> list[Obj]:
    """Namespace foo with sidecars (sleep, other, httpbin on 8080/9090), bar with sidecars
    (sleep), legacy without (sleep), plus ``objects``."""
    return [namespace("foo", **INJECTED), namespace("bar", **INJECTED), namespace("legacy"),
            pod("foo/sleep", ip="10.1.0.2"), pod("foo/other", ip="10.1.0.3"),
            pod("foo/httpbin", ports=(8080, 9090), ip="10.1.0.1"),
            pod("bar/sleep", ip="10.2.0.1"), pod("legacy/sleep", ip="10.3.0.1"), *objects]


def analyse(objects: list[Obj], **options: Any) -> Analysis:
    opts: dict[str, Any] = {"cni": "generic", "mesh": "istio"}
    opts.update(options)
    return analyse_text(to_yaml(objects), file=FILE, options=Options(**opts))


# ============================================================================ reading results


def flow(analysis: Analysis, src: str, dst: str, port: int | None = 8080, **http: Any) -> Explanation:
    return explain(analysis, src, dst, port, "TCP", **http)


def mesh_steps(exp: Explanation) -> list[Step]:
    return [s for s in exp.verdict.steps if s.layer == "mesh"]


def deciding(exp: Explanation) -> Step:
    """The mesh step that decided: the last mesh step with an effect."""
    steps = [s for s in mesh_steps(exp) if s.effect in ("allow", "deny")]
    assert steps, exp.verdict.steps
    return steps[-1]


def reasons(exp: Explanation) -> list[Reason]:
    return [s.reason for s in mesh_steps(exp)]


def policy_of(step: Step) -> tuple[str, str] | None:
    return None if step.policy is None else (step.policy.kind, f"{step.policy.namespace}/{step.policy.name}")


def doc_line(objects: list[Obj], index: int) -> int:
    """The first line of the ``index``-th document of ``to_yaml(objects)``."""
    return 1 if index == 0 else len(to_yaml(objects[:index]).splitlines()) + 2


def line_of(objects: list[Obj], needle: str, nth: int = 0) -> int:
    hits = [i + 1 for i, line in enumerate(to_yaml(objects).splitlines()) if needle in line]
    assert len(hits) > nth, f"{needle!r} not found {nth + 1} time(s)"
    return hits[nth]


def diags(analysis: Analysis, code: str) -> list[Diagnostic]:
    return [d for d in analysis.diagnostics.items if d.code == code]


def mapped(analysis: Analysis, src: str, dst: str) -> Connection | None:
    """The map's edge, restricted to the ports the sidecar governs: TCP, less the ports it does
    not capture (UDP, SCTP, port 22 and the proxy's own ports pass the mesh untouched)."""
    uncaptured = PortSet.from_ranges([("TCP", p, p) for p in NOT_CAPTURED])
    for c in connectivity_map(analysis).connections:
        if c.src == src and c.dst == dst:
            governed = PortSet({"TCP": c.ports.ranges("TCP")}) - uncaptured
            return dataclasses.replace(c, ports=governed) if governed else None
    return None


def connected(analysis: Analysis, src: str, dst: str) -> Connection:
    """As :func:`mapped`, for an edge the test expects: fails the test when there is none."""
    c = mapped(analysis, src, dst)
    assert c is not None, f"no edge {src} -> {dst} in the map"
    return c


def assert_mesh(exp: Explanation, verdict: str, reason: Reason, policy: tuple[str, str] | None = None,
                rule: int | None = None, line: int | None = None) -> Step:
    assert exp.verdict.verdict == verdict, exp.verdict.steps
    step = deciding(exp)
    assert step.reason is reason, step
    assert step.effect == verdict, step
    if policy is not None:
        assert policy_of(step) == policy, step
    if rule is not None:
        assert step.rule == rule, step
    if line is not None:
        assert step.line == line, step
    return step


def kubeward(*args: str) -> Result:
    """Run the command line in-process; ``main`` switches the garbage collector off: back on."""
    was_enabled = gc.isenabled()
    try:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        if was_enabled:
            gc.enable()


AP = "AuthorizationPolicy"
PA = "PeerAuthentication"
HTTPBIN = "foo/httpbin"


# ============================================================================ IST-1, IST-2: membership


@pytest.mark.parametrize("ns_labels, pod_labels, sidecar", [
    ({"istio-injection": "enabled"}, {}, True),
    ({"istio-injection": "disabled"}, {"sidecar.istio.io/inject": "true"}, False),
    ({"istio-injection": "enabled"}, {"sidecar.istio.io/inject": "false"}, False),
    ({"istio.io/rev": "canary"}, {}, True),
    ({"istio-injection": "disabled", "istio.io/rev": "canary"}, {}, False),
    ({}, {"sidecar.istio.io/inject": "true"}, True),
    ({}, {}, False),
], ids=["namespace-enabled", "namespace-disabled-beats-pod-true", "pod-false-beats-namespace-enabled",
        "revision-label", "istio-injection-beats-revision", "pod-true-alone", "no-label"])
def test_sidecar_injection_follows_namespace_and_pod_labels_and_disabled_wins(
        ns_labels: dict[str, str], pod_labels: dict[str, str], sidecar: bool) -> None:
    """IST-1: either label disabled ⇒ no sidecar; else either enabled ⇒ sidecar; else none."""
    objects = [namespace("legacy"), pod("legacy/sleep"), namespace("n", **ns_labels),
               pod("n/web", labels={"app": "web", **pod_labels}), pa("n/default", "STRICT")]
    a = analyse(objects)
    exp = flow(a, "legacy/sleep", "n/web")
    if sidecar:
        assert_mesh(exp, "deny", Reason.MTLS_REQUIRED, (PA, "n/default"), line=doc_line(objects, 4))
    else:
        step = assert_mesh(exp, "allow", Reason.MESH_INERT)
        assert "IST-3" in step.message and "PeerAuthentication n/default" in step.message


def test_an_ambient_namespace_puts_its_pods_in_the_mesh_unless_a_pod_opts_out() -> None:
    """IST-2: istio.io/dataplane-mode=ambient on the namespace; a pod label ``none`` opts out."""
    objects = [namespace("legacy"), pod("legacy/sleep"), namespace("amb", **{"istio.io/dataplane-mode": "ambient"}),
               pod("amb/web"), pod("amb/out", labels={"app": "out", "istio.io/dataplane-mode": "none"}),
               pa("amb/default", "STRICT")]
    a = analyse(objects)
    step = assert_mesh(flow(a, "legacy/sleep", "amb/web"), "deny", Reason.MTLS_REQUIRED, (PA, "amb/default"))
    assert "IST-7" in step.message
    assert_mesh(flow(a, "legacy/sleep", "amb/out"), "allow", Reason.MESH_INERT)
    ok = flow(a, "amb/out", "amb/web")
    assert ok.verdict.verdict == "deny"  # the opted-out pod is plaintext too
    first = mesh_steps(flow(analyse(objects[:4] + [pod("amb/client")]), "amb/client", "amb/web"))[0]
    assert first.reason is Reason.MTLS and "ambient" in first.message and "mutual TLS" in first.message


AMBIENT = [namespace("amb", **{"istio.io/dataplane-mode": "ambient"}), pod("amb/sleep"), pod("amb/httpbin")]
AMBIENT_L4 = ap("amb/allow-sleep", selector=sel(app="httpbin"),
                rules=[{"from": [{"source": {"principals": ["cluster.local/ns/amb/sa/sleep"]}}]}])


def test_an_ambient_layer_4_policy_allows_its_principal_only() -> None:
    """IST-2: L4 attributes are enforced by ztunnel as in sidecar mode."""
    objects = [*AMBIENT, pod("amb/other"), AMBIENT_L4]
    a = analyse(objects)
    assert_mesh(flow(a, "amb/sleep", "amb/httpbin"), "allow", Reason.MESH_ALLOWED, (AP, "amb/allow-sleep"), rule=0,
                line=line_of(objects, "- from:"))
    assert_mesh(flow(a, "amb/other", "amb/httpbin"), "deny", Reason.MESH_NOT_ALLOWED, (AP, "amb/allow-sleep"))


def test_an_ambient_policy_with_http_attributes_and_no_waypoint_denies_everything() -> None:
    rule = {"from": [{"source": {"principals": ["cluster.local/ns/amb/sa/sleep"]}}],
            "to": [{"operation": {"methods": ["GET"]}}]}
    a = analyse([*AMBIENT, ap("amb/allow-sleep", selector=sel(app="httpbin"), rules=[rule])])
    assert flow(a, "amb/sleep", "amb/httpbin", method="GET", path="/").verdict.verdict == "deny"


def test_peer_authentication_disable_is_ignored_in_ambient_mode() -> None:
    a = analyse([*AMBIENT, AMBIENT_L4, pa("amb/default", "DISABLE")])
    assert flow(a, "amb/sleep", "amb/httpbin").verdict.verdict == "allow"


# ============================================================================ IST-3: no proxy, no policy


def test_a_destination_without_a_sidecar_ignores_every_istio_policy_and_says_so() -> None:
    """IST-3: the mesh hop is MESH_INERT (allow) and names the inert policies; check warns
    mesh-policy-inert for each, at its line."""
    objects = [namespace("plain"), pod("plain/web"), pod("plain/sleep"), pa("plain/default", "STRICT"),
               ap("plain/allow-nothing")]
    a = analyse(objects)
    exp = flow(a, "plain/sleep", "plain/web", method="GET", path="/")
    step = assert_mesh(exp, "allow", Reason.MESH_INERT)
    assert exp.allowed
    assert ("AuthorizationPolicy plain/allow-nothing" in step.message
            and "PeerAuthentication plain/default" in step.message)
    inert = sorted((d.line, d.severity, d.leans) for d in diags(a, "mesh-policy-inert"))
    assert [(line, sev) for line, sev, _ in inert] == [(doc_line(objects, 3), Severity.WARNING),
                                                       (doc_line(objects, 4), Severity.WARNING)]
    assert all("IST-3" in d.message and "istio-injection=enabled" in d.message for d in diags(a, "mesh-policy-inert"))


def test_a_policy_that_selects_no_workload_is_reported_inert_and_one_with_a_sidecar_is_not() -> None:
    objects = foo(ap("foo/ghost", selector=sel(app="nothing")), ap("foo/real", selector=sel(app="httpbin")))
    a = analyse(objects)
    ghost = diags(a, "mesh-policy-inert")
    assert [(d.line, "selects no workload" in d.message) for d in ghost] == [(doc_line(objects, 8), True)]


def test_a_meshed_client_calling_a_workload_without_a_sidecar_is_not_filtered_by_the_mesh() -> None:
    objects = foo(namespace("plain"), pod("plain/web"), ap("plain/allow-nothing"))
    a = analyse(objects)
    assert_mesh(flow(a, "foo/sleep", "plain/web"), "allow", Reason.MESH_INERT)


# ============================================================================ IST-4 … IST-7: PeerAuthentication


def test_a_root_namespace_peer_authentication_without_selector_is_mesh_wide() -> None:
    """IST-4: istio-system, no selector ⇒ every namespace; STRICT refuses the legacy client (IST-7)."""
    objects = foo(namespace("istio-system"), pa("istio-system/default", "STRICT"))
    a = analyse(objects)
    step = assert_mesh(flow(a, "legacy/sleep", "foo/httpbin"), "deny", Reason.MTLS_REQUIRED,
                       (PA, "istio-system/default"), line=doc_line(objects, 9))
    assert "mesh-wide" in step.message and "legacy/sleep has no sidecar" in step.message
    ok = flow(a, "bar/sleep", "foo/httpbin")
    assert ok.allowed and mesh_steps(ok)[0].reason is Reason.MTLS and "STRICT" in mesh_steps(ok)[0].message


def test_a_selector_policy_in_the_root_namespace_is_ignored() -> None:
    """IST-4: "Selector policies in the root namespace are ignored"."""
    a = analyse(foo(namespace("istio-system"),
                    pa("istio-system/strict-httpbin", "STRICT", selector={"app": "httpbin"})))
    exp = flow(a, "legacy/sleep", "foo/httpbin")
    assert exp.allowed
    assert "no PeerAuthentication: default" in mesh_steps(exp)[0].message and "PERMISSIVE" in mesh_steps(exp)[0].message


def test_the_root_namespace_option_moves_mesh_wide_policies() -> None:
    objects = foo(namespace("mesh-root"), pa("mesh-root/default", "STRICT"))
    assert flow(analyse(objects), "legacy/sleep", "foo/httpbin").allowed  # mesh-root is an ordinary namespace
    assert_mesh(flow(analyse(objects, root_namespace="mesh-root"), "legacy/sleep", "foo/httpbin"), "deny",
                Reason.MTLS_REQUIRED, (PA, "mesh-root/default"))


def test_workload_beats_namespace_beats_mesh_wide_peer_authentication() -> None:
    """IST-5: the most specific policy decides; the deciding step names it."""
    objects = [namespace("istio-system"), namespace("foo", **INJECTED), namespace("bar", **INJECTED),
               namespace("legacy"), pod("legacy/sleep"), pod("foo/finance"), pod("foo/web"), pod("bar/web"),
               pa("istio-system/default", "STRICT"), pa("foo/default", "PERMISSIVE"),
               pa("foo/finance", "STRICT", selector={"app": "finance"})]
    a = analyse(objects)
    assert_mesh(flow(a, "legacy/sleep", "bar/web"), "deny", Reason.MTLS_REQUIRED, (PA, "istio-system/default"))
    step = mesh_steps(flow(a, "legacy/sleep", "foo/web"))[0]
    assert (step.reason, step.effect, policy_of(step)) == (Reason.MTLS, "allow", (PA, "foo/default"))
    assert "namespace-wide" in step.message and "plaintext" in step.message
    step = assert_mesh(flow(a, "legacy/sleep", "foo/finance"), "deny", Reason.MTLS_REQUIRED, (PA, "foo/finance"),
                       line=doc_line(objects, 10))
    assert "workload-wide" in step.message


def test_the_oldest_of_two_namespace_wide_peer_authentications_wins() -> None:
    """IST-5: "Only one mesh-wide and one namespace-wide policy count; newer duplicates are ignored"."""
    objects = foo(pa("foo/b-older", "STRICT", created="2024-01-01T00:00:00Z"),
                  pa("foo/a-newer", "PERMISSIVE", created="2024-06-01T00:00:00Z"))
    assert_mesh(flow(analyse(objects), "legacy/sleep", HTTPBIN), "deny", Reason.MTLS_REQUIRED, (PA, "foo/b-older"))


def test_unset_inherits_from_the_level_above_and_the_default_is_permissive() -> None:
    """IST-6: UNSET at the workload level inherits the namespace's STRICT; nothing at all ⇒ PERMISSIVE."""
    objects = foo(pa("foo/default", "STRICT"), pa("foo/httpbin", "UNSET", selector={"app": "httpbin"}))
    assert_mesh(flow(analyse(objects), "legacy/sleep", HTTPBIN), "deny", Reason.MTLS_REQUIRED, (PA, "foo/default"))
    exp = flow(analyse(foo()), "legacy/sleep", HTTPBIN)
    assert exp.allowed and "no PeerAuthentication: default" in mesh_steps(exp)[0].message


def test_port_level_mtls_applies_to_the_workload_port() -> None:
    """IST-6: portLevelMtls keys are container ports; other ports keep the policy's mode."""
    objects = foo(pa("foo/httpbin", "STRICT", selector={"app": "httpbin"}, ports={8080: "DISABLE"}))
    a = analyse(objects)
    exp = flow(a, "legacy/sleep", HTTPBIN, 8080)
    assert exp.allowed and "mTLS mode DISABLE" in mesh_steps(exp)[0].message
    assert_mesh(flow(a, "legacy/sleep", HTTPBIN, 9090), "deny", Reason.MTLS_REQUIRED, (PA, "foo/httpbin"))
    assert connected(a, "legacy/sleep", HTTPBIN).ports.to_json()["TCP"] == [[8080, 8080]]


def test_port_level_mtls_without_a_selector_is_rejected_by_istiod() -> None:
    """IST-6, IST-23 (issue 11 item 2): istiod's webhook refuses a namespace-wide PeerAuthentication with
    portLevelMtls, so the STRICT it sets does not exist either."""
    objects = foo(pa("foo/default", "STRICT", ports={8080: "DISABLE"}))
    a = analyse(objects)
    errs = diags(a, "istio-rejected")
    assert [(d.severity, d.line) for d in errs] == [(Severity.ERROR, line_of(objects, "portLevelMtls:"))]
    exp = flow(a, "legacy/sleep", HTTPBIN, 9090)
    assert exp.allowed
    assert [s.policy.display for s in mesh_steps(exp) if s.reason is Reason.POLICY_REJECTED and s.policy] == [
        "PeerAuthentication foo/default"]


def test_an_unset_port_level_mode_inherits_the_workload_mode() -> None:
    objects = foo(pa("foo/default", "PERMISSIVE"),
                  pa("foo/httpbin", "STRICT", selector={"app": "httpbin"}, ports={8080: "UNSET"}))
    assert not flow(analyse(objects), "legacy/sleep", HTTPBIN, 8080).allowed


def test_strict_refuses_a_client_outside_the_mesh_and_permissive_accepts_it_as_plaintext() -> None:
    """IST-7: STRICT ⇒ MTLS_REQUIRED; PERMISSIVE ⇒ MTLS step "plaintext"; DISABLE ⇒ plaintext even
    from a client with a sidecar (IST-16: identity rules cannot match)."""
    strict = analyse(foo(pa("foo/default", "STRICT")))
    step = assert_mesh(flow(strict, "legacy/sleep", HTTPBIN), "deny", Reason.MTLS_REQUIRED)
    assert "plaintext connection is refused" in step.message
    assert mapped(strict, "legacy/sleep", HTTPBIN) is None
    assert connected(strict, "foo/sleep", HTTPBIN).mesh == {"mtls": True}
    permissive = analyse(foo(pa("foo/default", "PERMISSIVE")))
    assert flow(permissive, "legacy/sleep", HTTPBIN).allowed
    assert connected(permissive, "legacy/sleep", HTTPBIN).mesh == {"mtls": False}
    disabled = analyse(foo(pa("foo/default", "DISABLE"),
                           ap("foo/from-sleep",
                              rules=[{"from": [{"source": {"principals": ["cluster.local/ns/foo/sa/sleep"]}}]}])))
    exp = flow(disabled, "foo/sleep", HTTPBIN)
    assert "plaintext" in mesh_steps(exp)[0].message
    assert_mesh(exp, "deny", Reason.MESH_NOT_ALLOWED, (AP, "foo/from-sleep"))


def test_an_external_client_is_refused_by_strict_mtls() -> None:
    a = analyse(foo(pa("foo/default", "STRICT")))
    step = assert_mesh(flow(a, "world", HTTPBIN), "deny", Reason.MTLS_REQUIRED)
    assert "outside the mesh" in step.message


# ============================================================================ IST-8 … IST-11: evaluation


def test_a_matching_deny_beats_a_matching_allow_and_names_its_rule() -> None:
    """IST-8: CUSTOM → DENY → ALLOW."""
    objects = foo(ap("foo/allow-get", selector=sel(app="httpbin"),
                     rules=[{"to": [{"operation": {"methods": ["GET"]}}]}]),
                  ap("foo/deny-admin", selector=sel(app="httpbin"), action="DENY",
                     rules=[{"to": [{"operation": {"paths": ["/public"]}}]},
                            {"to": [{"operation": {"paths": ["/admin*"]}}]}]))
    a = analyse(objects)
    step = assert_mesh(flow(a, "foo/sleep", HTTPBIN, method="GET", path="/admin/users"), "deny", Reason.MESH_DENIED,
                       (AP, "foo/deny-admin"), rule=1, line=line_of(objects, "- to:", 2))
    assert "IST-8" in step.message
    assert_mesh(flow(a, "foo/sleep", HTTPBIN, method="GET", path="/"), "allow", Reason.MESH_ALLOWED,
                (AP, "foo/allow-get"), rule=0, line=line_of(objects, "- to:", 0))
    step = assert_mesh(flow(a, "foo/sleep", HTTPBIN, method="POST", path="/"), "deny", Reason.MESH_NOT_ALLOWED,
                       (AP, "foo/allow-get"), line=doc_line(objects, 8))
    assert "403" in step.message
    mismatch = [s for s in mesh_steps(flow(a, "foo/sleep", HTTPBIN, method="POST", path="/"))
                if s.reason is Reason.MESH_RULE_MISMATCH]
    assert [(policy_of(s), s.rule) for s in mismatch] == [((AP, "foo/allow-get"), 0)]
    assert "methods ['GET'] do not match POST /" in mismatch[0].message


def test_without_an_allow_policy_a_request_no_deny_matches_is_allowed() -> None:
    objects = foo(ap("foo/deny-admin", action="DENY", rules=[{"to": [{"operation": {"paths": ["/admin*"]}}]}]))
    step = assert_mesh(flow(analyse(objects), "foo/sleep", HTTPBIN, method="GET", path="/"), "allow",
                       Reason.MESH_NO_ALLOW)
    assert step.policy is None and "IST-8" in step.message


def test_audit_policies_never_decide() -> None:
    objects = foo(ap("foo/audit", action="AUDIT", rules=[{}]))
    assert_mesh(flow(analyse(objects), "foo/sleep", HTTPBIN), "allow", Reason.MESH_NO_ALLOW)


def test_a_custom_policy_is_shown_as_undecidable_and_cannot_bypass_allow_and_deny() -> None:
    objects = foo(ap("foo/ext-authz", action="CUSTOM", provider={"name": "my-custom-authz"},
                     rules=[{"to": [{"operation": {"paths": ["/admin/*"]}}]}]),
                  ap("foo/allow-get", rules=[{"to": [{"operation": {"methods": ["GET"]}}]}]))
    a = analyse(objects)
    exp = flow(a, "foo/sleep", HTTPBIN, method="POST", path="/admin/x")
    custom = [s for s in mesh_steps(exp) if s.reason is Reason.MESH_CUSTOM]
    assert [(policy_of(s), s.effect) for s in custom] == [((AP, "foo/ext-authz"), "none")]
    assert "my-custom-authz" in custom[0].message
    assert_mesh(exp, "deny", Reason.MESH_NOT_ALLOWED, (AP, "foo/allow-get"))


def test_an_allow_policy_without_rules_denies_everything_and_an_empty_rule_allows_everything() -> None:
    """IST-10: spec {} ⇒ deny all; rules [{}] ⇒ allow all; a DENY without rules matches nothing."""
    objects = foo(ap("foo/allow-nothing"))
    exp = flow(analyse(objects), "foo/sleep", HTTPBIN)
    mismatch = [s for s in mesh_steps(exp) if s.reason is Reason.MESH_RULE_MISMATCH]
    assert len(mismatch) == 1 and "has no rules" in mismatch[0].message and "IST-10" in mismatch[0].message
    assert_mesh(exp, "deny", Reason.MESH_NOT_ALLOWED, (AP, "foo/allow-nothing"))
    objects = foo(ap("foo/allow-nothing"), ap("foo/allow-all", rules=[{}]))
    assert_mesh(flow(analyse(objects), "legacy/sleep", HTTPBIN, 9090), "allow", Reason.MESH_ALLOWED,
                (AP, "foo/allow-all"), rule=0, line=line_of(objects, "- {}"))
    assert_mesh(flow(analyse(foo(ap("foo/deny-nothing", action="DENY"))), "foo/sleep", HTTPBIN), "allow",
                Reason.MESH_NO_ALLOW)
    assert_mesh(flow(analyse(foo(ap("foo/deny-all", action="DENY", rules=[{}]))), "foo/sleep", HTTPBIN), "deny",
                Reason.MESH_DENIED, (AP, "foo/deny-all"), rule=0)


def test_a_root_namespace_authorization_policy_applies_in_every_namespace_and_its_selector_everywhere() -> None:
    """IST-9."""
    objects = foo(namespace("istio-system"), ap("istio-system/v1-nothing", selector=sel(version="v1")),
                  pod("bar/api", labels={"app": "api", "version": "v1"}),
                  pod("bar/api2", labels={"app": "api", "version": "v2"}))
    a = analyse(objects)
    assert_mesh(flow(a, "foo/sleep", "bar/api"), "deny", Reason.MESH_NOT_ALLOWED, (AP, "istio-system/v1-nothing"))
    assert_mesh(flow(a, "foo/sleep", "bar/api2"), "allow", Reason.MESH_NO_ALLOW)
    objects = foo(namespace("istio-system"), ap("istio-system/nothing"))
    assert_mesh(flow(analyse(objects), "foo/sleep", "bar/sleep"), "deny", Reason.MESH_NOT_ALLOWED,
                (AP, "istio-system/nothing"))


def test_a_policy_in_another_namespace_does_not_apply_and_target_refs_do_not_select_pods() -> None:
    objects = foo(ap("bar/nothing"),
                  ap("foo/gateway-only",
                     targetRefs=[{"kind": "Gateway", "group": "gateway.networking.k8s.io", "name": "edge"}]))
    assert_mesh(flow(analyse(objects), "foo/sleep", HTTPBIN), "allow", Reason.MESH_NO_ALLOW)


@pytest.mark.parametrize("src, method, port, verdict", [
    ("foo/sleep", "GET", 8080, "allow"),    # first source (both fields), first operation
    ("foo/other", "GET", 8080, "deny"),     # namespaces AND principals in one source
    ("bar/sleep", "POST", 9090, "allow"),   # second source, second operation (OR)
    ("bar/sleep", "GET", 9090, "deny"),     # methods AND ports in one operation
    ("legacy/sleep", "GET", 8080, "deny"),  # plaintext: no namespace
])
def test_sources_and_operations_are_ored_and_their_fields_anded(src: str, method: str, port: int, verdict: str) -> None:
    """IST-11."""
    rule = {"from": [{"source": {"namespaces": ["foo"], "principals": ["cluster.local/ns/foo/sa/sleep"]}},
                     {"source": {"namespaces": ["bar"]}}],
            "to": [{"operation": {"methods": ["GET"], "ports": ["8080"]}},
                   {"operation": {"methods": ["POST"], "ports": ["9090"]}}]}
    exp = flow(analyse(foo(ap("foo/p", rules=[rule]))), src, HTTPBIN, port, method=method, path="/")
    assert_mesh(exp, verdict, Reason.MESH_ALLOWED if verdict == "allow" else Reason.MESH_NOT_ALLOWED, (AP, "foo/p"))


def test_every_when_condition_must_hold() -> None:
    rule = {"when": [{"key": "source.namespace", "values": ["foo"]}, {"key": "destination.port", "values": ["8080"]},
                     {"key": "request.headers[x-env]", "notValues": ["dev"]}]}
    a = analyse(foo(ap("foo/p", rules=[rule])))
    assert flow(a, "foo/sleep", HTTPBIN, method="GET", path="/", headers=(("x-env", "prod"),)).allowed
    assert not flow(a, "foo/sleep", HTTPBIN, method="GET", path="/", headers=(("x-env", "dev"),)).allowed
    assert not flow(a, "foo/sleep", HTTPBIN, 9090, method="GET", path="/").allowed
    assert not flow(a, "bar/sleep", HTTPBIN, method="GET", path="/").allowed


# ============================================================================ IST-12, IST-13: strings, paths, hosts


@pytest.mark.parametrize("pattern, path, match", [
    ("/exact", "/exact", True), ("/exact", "/exact/", False), ("/exact", "/exact?x=1", True),
    ("/v1/*", "/v1/a/b", True), ("/v1/*", "/v1", False), ("*.html", "/a/index.html", True),
    ("*", "/anything", True), ("/users/{*}/profile", "/users/42/profile", True),
    ("/users/{*}/profile", "/users/4/2/profile", False), ("/files/{**}", "/files/a/b/c", True),
    ("/files/{**}", "/other/a", False), ("/v1/catalog", "/v1/catalog#frag", True),
])
def test_paths_match_exact_prefix_suffix_presence_and_templates_without_the_query(pattern: str, path: str,
                                                                                   match: bool) -> None:
    """IST-12, IST-13."""
    a = analyse(foo(ap("foo/p", rules=[{"to": [{"operation": {"paths": [pattern]}}]}])))
    exp = flow(a, "foo/sleep", HTTPBIN, method="GET", path=path)
    assert_mesh(exp, "allow" if match else "deny", Reason.MESH_ALLOWED if match else Reason.MESH_NOT_ALLOWED)


@pytest.mark.parametrize("pattern, host, match", [
    ("httpbin.foo", "httpbin.foo", True), ("httpbin.foo", "HTTPBIN.Foo", True),
    ("httpbin.foo", "httpbin.foo:8000", False), ("httpbin.foo:*", "httpbin.foo:8000", True),
    ("*.example.com", "api.example.com", True), ("*.example.com", "example.org", False), ("*", "x", True),
])
def test_hosts_match_case_insensitively_and_an_exact_host_does_not_match_host_colon_port(
        pattern: str, host: str, match: bool) -> None:
    a = analyse(foo(ap("foo/p", rules=[{"to": [{"operation": {"hosts": [pattern]}}]}])))
    assert flow(a, "foo/sleep", HTTPBIN, method="GET", path="/", host=host).allowed is match


def test_methods_and_not_paths_and_not_methods() -> None:
    rule = {"to": [{"operation": {"methods": ["GET", "HEAD"], "notPaths": ["/admin*"]}}]}
    a = analyse(foo(ap("foo/p", rules=[rule]),
                    ap("foo/deny", action="DENY",
                       rules=[{"to": [{"operation": {"notMethods": ["GET", "HEAD", "POST"]}}]}])))
    assert flow(a, "foo/sleep", HTTPBIN, method="HEAD", path="/x").allowed
    assert not flow(a, "foo/sleep", HTTPBIN, method="GET", path="/admin/x").allowed
    assert not flow(a, "foo/sleep", HTTPBIN, method="POST", path="/x").allowed
    assert_mesh(flow(a, "foo/sleep", HTTPBIN, method="DELETE", path="/x"), "deny", Reason.MESH_DENIED, (AP, "foo/deny"))


def test_an_http_rule_without_a_request_makes_the_verdict_conditional() -> None:
    """No HTTP request given: the ALLOW rule's HTTP fields decide per request (MESH_CONDITIONAL)."""
    objects = foo(ap("foo/p", rules=[{"to": [{"operation": {"methods": ["GET"], "paths": ["/v1/*"]}}]}]))
    a = analyse(objects)
    exp = flow(a, "foo/sleep", HTTPBIN)
    step = assert_mesh(exp, "allow", Reason.MESH_CONDITIONAL)
    assert "methods GET" in step.message and "paths /v1/*" in step.message
    c = connected(a, "foo/sleep", HTTPBIN)
    mesh = cast("dict[str, Any]", c.mesh)  # the map's JSON-shaped mesh entry
    assert mesh["mtls"] is True and any("methods GET" in r for r in mesh["requires"])


# ============================================================================ IST-14, IST-22: HTTP fields on TCP


DB = pod("foo/db", ports=(3306, 27017))


def test_http_only_fields_on_a_tcp_port_drop_an_allow_rule() -> None:
    """IST-14 (ALLOW: the rule never matches) on MySQL's port, which Istio treats as TCP (IST-22)."""
    objects = foo(DB, ap("foo/tcp", selector=sel(app="db"),
                         rules=[{"to": [{"operation": {"methods": ["GET"], "ports": ["3306"]}}]}]))
    a = analyse(objects)
    exp = flow(a, "foo/sleep", "foo/db", 3306)
    mismatch = [s for s in mesh_steps(exp) if s.reason is Reason.MESH_RULE_MISMATCH]
    assert [(s.rule, "IST-14" in s.message) for s in mismatch] == [(0, True)]
    assert_mesh(exp, "deny", Reason.MESH_NOT_ALLOWED, (AP, "foo/tcp"))
    assert mapped(a, "foo/sleep", "foo/db") is None


def test_http_only_fields_on_a_tcp_port_are_ignored_in_a_deny_rule() -> None:
    """IST-14 (DENY: the field is ignored, the rule widens): scoped by ports, only 3306 is denied."""
    objects = foo(DB, ap("foo/tcp", selector=sel(app="db"), action="DENY",
                         rules=[{"to": [{"operation": {"methods": ["GET"], "ports": ["3306"]}}]}]))
    a = analyse(objects)
    assert_mesh(flow(a, "foo/sleep", "foo/db", 3306), "deny", Reason.MESH_DENIED, (AP, "foo/tcp"), rule=0)
    assert_mesh(flow(a, "foo/sleep", "foo/db", 27017), "allow", Reason.MESH_NO_ALLOW)
    unscoped = analyse(foo(DB, ap("foo/tcp", selector=sel(app="db"), action="DENY",
                                  rules=[{"to": [{"operation": {"methods": ["GET"]}}]}])))
    assert_mesh(flow(unscoped, "foo/sleep", "foo/db", 27017), "deny", Reason.MESH_DENIED, (AP, "foo/tcp"))


def test_the_same_http_fields_on_an_http_port_depend_on_the_request() -> None:
    """IST-22: only server-first ports are TCP; elsewhere HTTP is auto-detected."""
    objects = foo(ap("foo/p", rules=[{"to": [{"operation": {"methods": ["GET"]}}]}]))
    assert_mesh(flow(analyse(objects), "foo/sleep", HTTPBIN, 8080), "allow", Reason.MESH_CONDITIONAL)


def test_an_allow_rule_with_an_http_field_in_any_operation_is_dropped_on_tcp() -> None:
    rule = {"to": [{"operation": {"ports": ["3306"]}}, {"operation": {"methods": ["GET"]}}]}
    a = analyse(foo(DB, ap("foo/tcp", selector=sel(app="db"), rules=[rule])))
    assert not flow(a, "foo/sleep", "foo/db", 3306).allowed


def test_a_request_header_condition_on_a_tcp_port_follows_the_http_only_rule() -> None:
    when = [{"key": "request.headers[x-token]", "values": ["admin"]}]
    allow = analyse(foo(DB, ap("foo/tcp", selector=sel(app="db"), rules=[{"when": when}])))
    deny = analyse(foo(DB, ap("foo/tcp", selector=sel(app="db"), action="DENY", rules=[{"when": when}])))
    assert (flow(allow, "foo/sleep", "foo/db", 3306).allowed,
            flow(deny, "foo/sleep", "foo/db", 3306).allowed) == (False, False)


def test_the_map_agrees_with_explain_on_a_tcp_port_under_an_http_only_deny_rule() -> None:
    a = analyse(foo(DB, ap("foo/tcp", selector=sel(app="db"), action="DENY",
                           rules=[{"to": [{"operation": {"methods": ["GET"]}}]}])))
    assert not flow(a, "foo/sleep", "foo/db", 3306).allowed
    c = mapped(a, "foo/sleep", "foo/db")
    assert c is None or not c.ports.contains("TCP", 3306)


def test_a_service_port_named_tcp_makes_http_only_allow_rules_invalid() -> None:
    echo = pod("foo/tcp-echo", ports=(9000, 9001, 9002))
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "tcp-echo", "namespace": "foo"},
           "spec": {"selector": {"app": "tcp-echo"},
                    "ports": [{"name": "tcp", "port": 9000}, {"name": "tcp-other", "port": 9001}]}}
    a = analyse(foo(echo, svc, ap("foo/tcp-policy", selector=sel(app="tcp-echo"),
                                  rules=[{"to": [{"operation": {"methods": ["GET"], "ports": ["9000"]}}]}])))
    assert not flow(a, "foo/sleep", "foo/tcp-echo", 9000).allowed


def test_udp_traffic_is_not_intercepted_by_the_sidecar() -> None:
    a = analyse(foo(pod("foo/dns", ports=(5353,)), pa("foo/default", "STRICT"), ap("foo/allow-nothing")))
    assert explain(a, "legacy/sleep", "foo/dns", 5353, "UDP").allowed


def test_port_22_is_not_captured_by_the_sidecar() -> None:
    a = analyse(foo(pod("foo/ssh", ports=(22,)), pa("foo/default", "STRICT")))
    assert flow(a, "legacy/sleep", "foo/ssh", 22).allowed


# ============================================================================ IST-15, IST-16: ports, identity


def test_operation_ports_are_workload_ports_not_service_ports() -> None:
    """IST-15: through a Service (port 80 → targetPort 8080) the policy sees 8080."""
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "httpbin", "namespace": "foo"},
           "spec": {"selector": {"app": "httpbin"}, "ports": [{"port": 80, "targetPort": 8080}]}}
    workload_port = analyse(foo(svc, ap("foo/p", rules=[{"to": [{"operation": {"ports": ["8080"]}}]}])))
    service_port = analyse(foo(svc, ap("foo/p", rules=[{"to": [{"operation": {"ports": ["80"]}}]}])))
    assert explain(workload_port, "foo/sleep", "service/foo/httpbin", 80).allowed
    assert not explain(service_port, "foo/sleep", "service/foo/httpbin", 80).allowed


def test_identity_fields_never_match_plaintext() -> None:
    """IST-16: principals and namespaces come from the peer certificate."""
    objects = foo(ap("foo/p", rules=[{"from": [{"source": {"principals": ["*"]}}]}]))
    a = analyse(objects)
    assert flow(a, "foo/sleep", HTTPBIN).allowed  # "*": any mTLS peer
    exp = flow(a, "legacy/sleep", HTTPBIN)
    mismatch = [s for s in mesh_steps(exp) if s.reason is Reason.MESH_RULE_MISMATCH]
    assert "(plaintext: no peer identity, IST-16)" in mismatch[0].message
    assert_mesh(exp, "deny", Reason.MESH_NOT_ALLOWED, (AP, "foo/p"))


def test_ip_blocks_match_the_client_address() -> None:
    objects = foo(ap("foo/p", rules=[{"from": [{"source": {"ipBlocks": ["1.2.3.4", "10.2.0.0/16"]}}]}]))
    a = analyse(objects)
    assert flow(a, "1.2.3.4", HTTPBIN).allowed
    assert flow(a, "bar/sleep", HTTPBIN).allowed
    assert_mesh(flow(a, "8.8.8.8", HTTPBIN), "deny", Reason.MESH_NOT_ALLOWED)
    assert_mesh(flow(a, "foo/sleep", HTTPBIN), "deny", Reason.MESH_NOT_ALLOWED)


def test_ip_blocks_of_a_pod_without_a_known_address_make_the_verdict_conditional() -> None:
    objects = [namespace("foo", **INJECTED), pod("foo/sleep"), pod("foo/httpbin"),
               ap("foo/p", rules=[{"from": [{"source": {"ipBlocks": ["10.0.0.0/8"]}}]}])]
    step = assert_mesh(flow(analyse(objects), "foo/sleep", HTTPBIN), "allow", Reason.MESH_CONDITIONAL)
    assert "address is not known" in step.message


# ============================================================================ IST-17, IST-18: principals


def test_a_principal_written_with_spiffe_never_matches_and_is_reported() -> None:
    """IST-17: the rule-mismatch step says why; the dialect warns spiffe-principal at the rule."""
    objects = foo(ap("foo/p", rules=[{"from": [{"source": {"principals": ["spiffe://cluster.local/ns/foo/sa/sleep"]}}]}]))
    a = analyse(objects)
    exp = flow(a, "foo/sleep", HTTPBIN)
    mismatch = [s for s in mesh_steps(exp) if s.reason is Reason.MESH_RULE_MISMATCH]
    assert [(policy_of(s), s.rule, s.line) for s in mismatch] == [((AP, "foo/p"), 0, line_of(objects, "- from:"))]
    assert "IST-17" in mismatch[0].message
    assert_mesh(exp, "deny", Reason.MESH_NOT_ALLOWED, (AP, "foo/p"), line=doc_line(objects, 8))
    warn = diags(a, "spiffe-principal")
    assert [(d.severity, d.line) for d in warn] == [(Severity.WARNING, line_of(objects, "- from:"))]
    assert "'cluster.local/ns/foo/sa/sleep'" in warn[0].message


def test_the_principal_without_spiffe_matches_and_draws_no_warning() -> None:
    objects = foo(ap("foo/p", rules=[{"from": [{"source": {"principals": ["cluster.local/ns/foo/sa/sleep"]}}]}]))
    a = analyse(objects)
    assert_mesh(flow(a, "foo/sleep", HTTPBIN), "allow", Reason.MESH_ALLOWED, (AP, "foo/p"), rule=0)
    assert_mesh(flow(a, "foo/other", HTTPBIN), "deny", Reason.MESH_NOT_ALLOWED)
    assert not diags(a, "spiffe-principal")


def test_a_spiffe_principal_in_a_deny_rule_is_reported_as_allowing_more() -> None:
    objects = foo(ap("foo/d", action="DENY", rules=[{"from": [{"source": {"notPrincipals": ["spiffe://cluster.local/ns/foo/sa/sleep"]}}]}]))
    a = analyse(objects)
    warn = diags(a, "spiffe-principal")
    assert len(warn) == 1 and warn[0].leans is Leans.MAY_ALLOW_MORE
    # notPrincipals with the spiffe:// form excludes nobody: every mTLS client is denied, sleep included
    assert_mesh(flow(a, "foo/sleep", HTTPBIN), "deny", Reason.MESH_DENIED, (AP, "foo/d"))


@pytest.mark.parametrize("pattern, match", [
    ("cluster.local/ns/foo/*", True), ("*/sa/sleep", True), ("cluster.local/ns/bar/*", False),
])
def test_principal_prefix_and_suffix_patterns(pattern: str, match: bool) -> None:
    a = analyse(foo(ap("foo/p", rules=[{"from": [{"source": {"principals": [pattern]}}]}])))
    assert flow(a, "foo/sleep", HTTPBIN).allowed is match


def test_namespaces_and_service_accounts_match_the_peer_identity() -> None:
    """IST-18."""
    a = analyse(foo(ap("foo/p", rules=[{"from": [{"source": {"namespaces": ["bar"]}},
                                                 {"source": {"serviceAccounts": ["foo/sleep"]}}]}])))
    assert flow(a, "bar/sleep", HTTPBIN).allowed and flow(a, "foo/sleep", HTTPBIN).allowed
    assert not flow(a, "foo/other", HTTPBIN).allowed


def test_a_service_account_without_namespace_means_the_policy_namespace() -> None:
    a = analyse(foo(ap("foo/p", rules=[{"from": [{"source": {"serviceAccounts": ["sleep"]}}]}])))
    assert flow(a, "foo/sleep", HTTPBIN).allowed


def test_a_source_principal_condition_takes_the_principal_without_spiffe() -> None:
    a = analyse(foo(ap("foo/p", rules=[{"when": [{"key": "source.principal",
                                                  "values": ["cluster.local/ns/foo/sa/sleep"]}]}])))
    assert flow(a, "foo/sleep", HTTPBIN).allowed


# ============================================================================ IST-19: conditions


def test_conditions_kubeward_cannot_know_make_the_verdict_conditional() -> None:
    objects = foo(ap("foo/jwt", rules=[{"when": [{"key": "request.auth.claims[iss]",
                                                  "values": ["https://accounts.google.com"]}]}]))
    step = assert_mesh(flow(analyse(objects), "foo/sleep", HTTPBIN, method="GET", path="/"), "allow",
                       Reason.MESH_CONDITIONAL)
    assert "request.auth.claims[iss]" in step.message


def test_source_ip_and_request_header_conditions() -> None:
    objects = foo(ap("foo/p", rules=[{"when": [{"key": "source.ip", "values": ["10.2.0.0/16"]},
                                               {"key": "request.headers[User-Agent]", "values": ["curl/*"]}]}]))
    a = analyse(objects)
    assert flow(a, "bar/sleep", HTTPBIN, method="GET", path="/", headers=(("user-agent", "curl/8.0"),)).allowed
    assert not flow(a, "bar/sleep", HTTPBIN, method="GET", path="/", headers=(("user-agent", "wget"),)).allowed
    assert not flow(a, "foo/sleep", HTTPBIN, method="GET", path="/", headers=(("user-agent", "curl/8.0"),)).allowed


# ============================================================================ IST-20, IST-21: egress, istiod


def test_authorization_policies_do_not_restrict_egress_and_an_info_note_says_so() -> None:
    """IST-20: no mesh hop on a flow to an address outside the pods; mesh-egress info."""
    a = analyse(foo(ap("foo/nothing-out", selector=sel(app="sleep"))))
    exp = flow(a, "foo/sleep", "world", 443)
    assert exp.allowed and not mesh_steps(exp)
    note = diags(a, "mesh-egress")
    assert len(note) == 1 and note[0].severity is Severity.INFO and "IST-20" in note[0].message
    assert not diags(analyse([namespace("plain"), pod("plain/web"), ap("plain/x")]), "mesh-egress")


def test_a_sidecar_cut_off_from_istiod_by_a_default_deny_egress_is_reported_at_its_workload() -> None:
    """IST-21: one sidecar-cut-off per injected workload, naming the denying policy; none once
    egress to istiod:15012 is allowed; the stand-in istiod is announced."""
    objects = foo(netpol("foo/deny-egress", podSelector={}, policyTypes=["Egress"]))
    a = analyse(objects)
    cut = sorted((d.line, d.severity) for d in diags(a, "sidecar-cut-off"))
    assert cut == [(doc_line(objects, n), Severity.WARNING) for n in (3, 4, 5)]
    assert all("NetworkPolicy foo/deny-egress" in d.message and "15012" in d.message
               for d in diags(a, "sidecar-cut-off"))
    assert any("istio-system/istiod" in d.message for d in diags(a, "assumed-peer"))
    allow_istiod = netpol("foo/allow-istiod", podSelector={}, policyTypes=["Egress"],
                          egress=[{"to": [{"namespaceSelector": {"matchLabels": {
                                               "kubernetes.io/metadata.name": "istio-system"}},
                                           "podSelector": {"matchLabels": {"app": "istiod"}}}],
                                   "ports": [{"protocol": "TCP", "port": 15012}]}])
    b = analyse(foo(namespace("istio-system"), netpol("foo/deny-egress", podSelector={}, policyTypes=["Egress"]),
                    allow_istiod))
    assert not diags(b, "sidecar-cut-off")


def test_a_real_istiod_in_the_input_replaces_the_stand_in() -> None:
    istiod = pod("istio-system/istiod-abc", labels={"app": "istiod", "istio": "pilot"}, ports=(15010, 15012, 15017))
    objects = foo(namespace("istio-system"), istiod, netpol("foo/deny-egress", podSelector={}, policyTypes=["Egress"]))
    a = analyse(objects)
    assert not [d for d in diags(a, "assumed-peer") if "istiod" in d.message]
    assert all("istio-system/istiod-abc:15012" in d.message for d in diags(a, "sidecar-cut-off"))
    assert len(diags(a, "sidecar-cut-off")) == 3


# ============================================================================ the layers together


def test_the_mesh_hop_is_shown_even_when_the_cni_already_denies() -> None:
    objects = foo(netpol("foo/deny-in", podSelector={}, policyTypes=["Ingress"]), pa("foo/default", "STRICT"),
                  ap("foo/allow-nothing"))
    a = analyse(objects)
    exp = flow(a, "legacy/sleep", HTTPBIN)
    cni_deny = [s for s in exp.verdict.steps if s.layer == "cni" and s.effect == "deny"]
    assert cni_deny and policy_of(cni_deny[0]) == ("NetworkPolicy", "foo/deny-in")
    assert_mesh(exp, "deny", Reason.MTLS_REQUIRED, (PA, "foo/default"))
    exp = flow(a, "foo/sleep", HTTPBIN)
    assert_mesh(exp, "deny", Reason.MESH_NOT_ALLOWED, (AP, "foo/allow-nothing"))


def test_mesh_none_switches_the_layer_off_and_auto_follows_the_input() -> None:
    objects = foo(pa("foo/default", "STRICT"), ap("foo/allow-nothing"))
    off = analyse(objects, mesh="none")
    exp = flow(off, "legacy/sleep", HTTPBIN)
    assert exp.allowed and not mesh_steps(exp)
    assert "mesh=istio" not in off.options.describe()
    assert not diags(off, "mesh-egress") and not diags(off, "mesh-policy-inert")
    auto = analyse(objects, mesh="auto")
    assert auto.options.mesh == "istio" and [d.severity for d in diags(auto, "mesh-auto")] == [Severity.INFO]
    assert not flow(auto, "legacy/sleep", HTTPBIN).allowed
    assert analyse(foo(), mesh="auto").options.mesh == "none"


def test_the_trust_domain_option_changes_the_principal_of_every_workload() -> None:
    objects = foo(ap("foo/p", rules=[{"from": [{"source": {"principals": ["example.org/ns/foo/sa/sleep"]}}]}]))
    assert not flow(analyse(objects), "foo/sleep", HTTPBIN).allowed
    assert flow(analyse(objects, trust_domain="example.org"), "foo/sleep", HTTPBIN).allowed


def test_cluster_local_principals_follow_the_local_trust_domain() -> None:
    objects = foo(ap("foo/p", rules=[{"from": [{"source": {"principals": ["cluster.local/ns/foo/sa/sleep"]}}]}]))
    assert flow(analyse(objects, trust_domain="example.org"), "foo/sleep", HTTPBIN).allowed


def test_the_map_drops_edges_the_mesh_refuses_and_annotates_the_rest() -> None:
    objects = foo(pa("foo/default", "STRICT"),
                  ap("foo/p", selector=sel(app="httpbin"), rules=[{"to": [{"operation": {"ports": ["9090"]}}]}]))
    a = analyse(objects)
    assert mapped(a, "legacy/sleep", HTTPBIN) is None
    c = connected(a, "foo/sleep", HTTPBIN)
    assert c.ports.to_json()["TCP"] == [[9090, 9090]] and c.mesh == {"mtls": True}
    assert mapped(a, "legacy/sleep", "foo/sleep") is None  # STRICT for the whole namespace


# ============================================================================ CIL-19


CNP_L7 = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "l7", "namespace": "foo"},
          "spec": {"endpointSelector": {"matchLabels": {"app": "httpbin"}},
                   "ingress": [{"fromEndpoints": [{"matchLabels": {"app": "sleep"}}],
                                "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}],
                                             "rules": {"http": [{"method": "GET", "path": "/ip"}]}}]}]}}


def test_cilium_http_rules_on_a_workload_with_istio_mtls_are_reported() -> None:
    """CIL-19: under --cni cilium, an HTTP rule selecting a sidecar workload whose mode is not DISABLE."""
    objects = foo(CNP_L7)
    a = analyse(objects, cni="cilium")
    warn = diags(a, "cilium-l7-under-mtls")
    assert [(d.severity, d.line) for d in warn] == [(Severity.WARNING, line_of(objects, "- ports:"))]
    assert "CIL-19" in warn[0].message and "DISABLE" in warn[0].message
    assert not diags(analyse(foo(CNP_L7, pa("foo/default", "DISABLE")), cni="cilium"), "cilium-l7-under-mtls")
    assert not diags(analyse(objects, cni="generic"), "cilium-l7-under-mtls")
    assert not diags(analyse(objects, cni="cilium", mesh="none"), "cilium-l7-under-mtls")


# ============================================================================ examples/shop and examples/shop-injected


SHOP_MESH = "examples/shop-injected/mesh/istio/istio.yaml"


def test_in_examples_shop_the_mesh_is_inert_and_the_step_says_so() -> None:
    a = analyse_paths([str(SHOP)], Options(cni="generic", mesh="istio"))
    exp = explain(a, "shop/web", "shop/api", 8080, method="GET", path="/v1/catalog")
    assert not exp.allowed  # the CNI denies web's egress
    step = deciding(exp)
    assert (step.reason, step.effect, step.policy) == (Reason.MESH_INERT, "allow", None)
    assert "AuthorizationPolicy shop/api-allow" in step.message and "PeerAuthentication shop/default" in step.message
    inert = sorted((d.file.endswith("istio.yaml"), d.line) for d in diags(a, "mesh-policy-inert"))
    assert inert == [(True, 2), (True, 8)]
    assert not diags(a, "sidecar-cut-off")


def test_in_examples_shop_injected_web_to_api_is_refused_by_the_spiffe_principal_and_by_the_cni() -> None:
    a = analyse_paths([str(SHOP_INJECTED)], Options(cni="generic", mesh="istio"))
    exp = explain(a, "shop/web", "shop/api", 8080, method="GET", path="/v1/catalog")
    assert exp.verdict.verdict == "deny"
    egress = [s for s in exp.verdict.steps if s.layer == "cni" and s.effect == "deny"]
    assert [(policy_of(s), s.direction.value) for s in egress] == [(("NetworkPolicy", "shop/default-deny"), "egress")]
    mtls = mesh_steps(exp)[0]
    assert (mtls.reason, policy_of(mtls), mtls.line) == (Reason.MTLS, (PA, "shop/default"), 2)
    mismatch = [s for s in mesh_steps(exp) if s.reason is Reason.MESH_RULE_MISMATCH]
    assert [(policy_of(s), s.rule, s.line) for s in mismatch] == [((AP, "shop/api-allow"), 0, 14)]
    assert "IST-17" in mismatch[0].message
    step = assert_mesh(exp, "deny", Reason.MESH_NOT_ALLOWED, (AP, "shop/api-allow"), line=8)
    assert step.policy is not None and step.policy.file.endswith(SHOP_MESH.split("/", 1)[1])
    spiffe = diags(a, "spiffe-principal")
    assert [(d.file.endswith("istio.yaml"), d.line) for d in spiffe] == [(True, 14)]


def test_in_examples_shop_injected_the_ingress_controller_is_refused_by_strict_mtls() -> None:
    a = analyse_paths([str(SHOP_INJECTED)], Options(cni="generic", mesh="istio"))
    exp = explain(a, "ingress-nginx/ingress-nginx-controller", "shop/web", 8080)
    assert_mesh(exp, "deny", Reason.MTLS_REQUIRED, (PA, "shop/default"), line=2)
    url = explain(a, "world", "https://shop.example.com/")
    assert not url.allowed and len(url.paths) == 1
    mesh = [s for s in url.paths[0].steps if s.layer == "mesh" and s.effect == "deny"]
    assert [(s.reason, policy_of(s)) for s in mesh] == [(Reason.MTLS_REQUIRED, (PA, "shop/default"))]


def test_check_on_examples_shop_injected_reports_every_sidecar_cut_off_from_istiod() -> None:
    report = check(analyse_paths([str(SHOP_INJECTED)], Options(cni="generic", mesh="istio")))
    cut = sorted(d.resource for d in report.diagnostics if d.code == "sidecar-cut-off")
    assert cut == ["Deployment shop/api", "Deployment shop/mysql", "Deployment shop/web"]
    assert report.exit_code == 1


def test_the_command_line_explains_the_injected_lab() -> None:
    r = kubeward("explain", "examples/shop-injected", "--from", "shop/web", "--to", "shop/api", "--port", "8080",
                 "--method", "GET", "--path", "/v1/catalog", "--format", "json")
    assert r.exit_code == 1, r.output
    doc = json.loads(r.stdout)
    assert doc["verdict"] == "deny" and "mesh=istio" in doc["options"]
    mesh = [(t["reason"], t["effect"], t.get("policy", {}).get("name"), t.get("rule"), t.get("line"))
            for t in doc["trace"] if t["layer"] == "mesh"]
    assert mesh == [("mtls", "allow", "default", None, 2), ("mesh-rule-mismatch", "none", "api-allow", 0, 14),
                    ("mesh-not-allowed", "deny", "api-allow", None, 8)]
    text = kubeward("explain", "examples/shop-injected", "--from", "shop/web", "--to", "shop/api", "--port", "8080",
                    "--method", "GET", "--path", "/v1/catalog")
    assert "<mesh-not-allowed>" in text.stdout and "IST-17" in text.stdout


def test_the_command_line_mesh_none_and_trust_domain_options() -> None:
    r = kubeward("explain", "examples/shop-injected", "--from", "ingress-nginx/ingress-nginx-controller",
                 "--to", "shop/web", "--port", "8080", "--mesh", "none", "--format", "json")
    doc = json.loads(r.stdout)
    assert not [t for t in doc["trace"] if t["layer"] == "mesh"] and "mesh=istio" not in doc["options"]
    r = kubeward("explain", "examples/shop-injected", "--from", "ingress-nginx/ingress-nginx-controller",
                 "--to", "shop/web", "--port", "8080", "--format", "json")
    assert [t["reason"] for t in json.loads(r.stdout)["trace"] if t["layer"] == "mesh"] == ["mtls-required"]
    r = kubeward("explain", "examples/shop-injected", "--from", "world", "--to", "https://shop.example.com/",
                 "--format", "json")
    assert r.exit_code == 1
    paths = json.loads(r.stdout)["paths"]
    assert [t["reason"] for t in paths[0]["trace"]
            if t["layer"] == "mesh" and t["effect"] == "deny"] == ["mtls-required"]


def test_the_command_line_trust_domain_option(tmp_path: Path) -> None:
    spec = tmp_path / "mesh.yaml"
    spec.write_text(to_yaml(foo(ap("foo/p",
                                   rules=[{"from": [{"source": {"principals": ["example.org/ns/foo/sa/sleep"]}}]}]))))
    args = ("explain", str(spec), "--from", "foo/sleep", "--to", "foo/httpbin", "--port", "8080", "--format", "json")
    default = kubeward(*args)
    other = kubeward(*args, "--trust-domain", "example.org")
    assert (default.exit_code, json.loads(default.stdout)["verdict"]) == (1, "deny")
    assert (other.exit_code, json.loads(other.stdout)["verdict"]) == (0, "allow")
    assert [t["reason"] for t in json.loads(other.stdout)["trace"] if t["layer"] == "mesh"][-1] == "mesh-allowed"


def test_the_command_line_check_lists_the_mesh_findings() -> None:
    r = kubeward("check", "examples/shop-injected", "--format", "json")
    assert r.exit_code == 1
    found = sorted((d["code"], d["file"].rsplit("/", 1)[-1], d["line"]) for d in json.loads(r.stdout)["diagnostics"]
                   if d["code"] in ("sidecar-cut-off", "spiffe-principal", "mesh-egress"))
    assert found == [("mesh-egress", "", 0), ("sidecar-cut-off", "workloads.yaml", 3),
                     ("sidecar-cut-off", "workloads.yaml", 27), ("sidecar-cut-off", "workloads.yaml", 52),
                     ("spiffe-principal", "istio.yaml", 14)]


# ============================================================================ truth tables


ISTIO = discover("istio")
KNOWN_BUGS: dict[str, str] = {}  # none left: the four documented gaps were fixed


def test_the_istio_corpus_is_not_empty() -> None:
    assert len(ISTIO) >= 40
    assert sum(len(c.probes()) for c in ISTIO) >= 150


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[c.id]))
                                  if c.id in KNOWN_BUGS else c for c in ISTIO], ids=[c.id for c in ISTIO])
def test_istio_documentation_scenario(case: Case) -> None:
    bad = mismatches(case)
    assert not bad, f"{case.name}:\n" + "\n".join(bad[:20])
