"""OpenShift Routes as entry points (issue 11, item 10), as specifications.

A Route (route.openshift.io/v1) exposes a host and path through the OpenShift router: the router
admits it (ROUTE-1, ROUTE-6), picks it for a request by host, path and TLS (ROUTE-2, ROUTE-3),
and proxies to the endpoints of its Services by weight on the port ``spec.port.targetPort``
names (ROUTE-4), from the router's own pods (ROUTE-5) — so the backend's policies must admit the
router. A Route the API server refuses is not created (ROUTE-7). docs/semantics.md §7.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from entry_helpers import FILE, codes_at, deployment, docs, flow, hop, line_of, namespace, policy, service
from kubeward import Analysis, analyse_text, check, connectivity_map, explain
from kubeward.analyses.entry import EntryPath
from kubeward.cli import main

ROUTER = "openshift-ingress/router-default"
ROUTER_NAMESPACE = {"network.openshift.io/policy-group": "ingress"}
SHOP = docs(
    namespace("shop"),
    deployment("shop", "web", {"app": "web"}, [(8080, "http"), (8443, "https")]),
    deployment("shop", "canary", {"app": "canary"}, [(8080, "http")]),
    service("shop", "web", {"app": "web"}, [{"name": "http", "port": 80, "targetPort": 8080},
                                            {"name": "https", "port": 443, "targetPort": 8443}]),
    service("shop", "canary", {"app": "canary"}, [{"name": "http", "port": 80, "targetPort": 8080}]),
)
DENY_ALL = policy("shop", "default-deny", {}, [])
FROM_ROUTER = policy("shop", "from-router", {}, [{"from": [{"namespaceSelector": {"matchLabels": ROUTER_NAMESPACE}}]}])


def route(name: str, host: str = "shop.apps.example.com", to: str = "web", ns: str = "shop", *,
          path: str | None = None, tls: dict[str, Any] | None = None, target_port: int | str | None = None,
          weight: int | None = None, alternates: list[dict[str, Any]] | None = None, created: str | None = None,
          extra: str = "") -> str:
    """A Route; each field on its own line, so that ``line_of`` finds it."""
    meta: dict[str, Any] = {"name": name, "namespace": ns, **({"creationTimestamp": created} if created else {})}
    out = f"apiVersion: route.openshift.io/v1\nkind: Route\nmetadata: {flow(meta)}\nspec:\n"
    out += f"  host: {host}\n" if host else ""
    out += f"  path: {path}\n" if path is not None else ""
    target = {"kind": "Service", "name": to, **({"weight": weight} if weight is not None else {})}
    out += f"  to: {flow(target)}\n"
    if alternates:
        out += "  alternateBackends:\n" + "".join(f"  - {flow(a)}\n" for a in alternates)
    out += f"  port: {flow({'targetPort': target_port})}\n" if target_port is not None else ""
    out += f"  tls: {flow(tls)}\n" if tls is not None else ""
    return out + extra


def analyse(*objects: str) -> tuple[Analysis, str]:
    text = docs(SHOP, *objects)
    return analyse_text(text, FILE), text


def way(a: Analysis, url: str) -> EntryPath:
    [found] = [p for p in explain(a, "world", url).paths if p.via.get("kind") in ("Route", "Router")]
    return found


def reached(a: Analysis, url: str) -> list[tuple[str, str, int]]:
    return sorted(way(a, url).reached)


EDGE = {"termination": "edge"}


# =========================================================================== the way in


def test_item10_a_route_exposes_its_service_through_the_router_in_explain_map_and_check() -> None:
    a, text = analyse(route("web", tls=EDGE), DENY_ALL, FROM_ROUTER)
    exp = explain(a, "world", "https://shop.apps.example.com/cart")
    assert exp.verdict.verdict == "allow"
    [p] = exp.paths
    assert p.via == {"kind": "Route", "namespace": "shop", "name": "web", "host": "shop.apps.example.com",
                     "path": "/", "termination": "edge", "services": ["shop/web"], "router": ROUTER}
    assert sorted(p.reached) == [("shop/web", "TCP", 8080), ("shop/web", "TCP", 8443)]  # no targetPort: every port
    assert [hop(s) for s in p.steps if s.layer == "entry"] == [
        ("entry", "route", "routed", "allow"), ("entry", "tls", "tls", "warn")]  # the router's default certificate
    routed = p.steps[0]
    assert routed.message == ("https://shop.apps.example.com/cart matches Route shop/web (host shop.apps.example.com, "
                              "path /, edge TLS) → Service shop/web (weight 100) (ROUTE-1, ROUTE-2)")
    assert (routed.policy is not None and routed.policy.file, routed.line) == (FILE, line_of(text, "kind: Route") - 1)
    # map: world reaches web through the Route; the router is an assumed peer.
    cmap = connectivity_map(a)
    [edge] = [c for c in cmap.connections if c.src == "world" and c.via]  # issue 17: via an entry
    assert (edge.dst, [v["kind"] for v in edge.via or []]) == ("shop/web", ["Route"])
    assert [e.request for e in cmap.entries] == ["https://shop.apps.example.com/"]
    assert {"id": ROUTER, "type": "workload", "namespace": "openshift-ingress", "name": "router-default",
            "kind": "Deployment", "assumed": True} in [peer.to_json() for peer in cmap.peers]
    # check lists the Route under its entry points, working.
    [entry] = check(a).map.entries
    assert entry.via["kind"] == "Route" and entry.path.allowed


def test_item10_the_backend_policies_must_admit_the_router_pods() -> None:
    a, text = analyse(route("web", tls=EDGE), DENY_ALL)
    p = way(a, "https://shop.apps.example.com/")
    assert not p.allowed and p.reached == []
    [deny] = [s for s in p.steps if s.effect == "deny"][:1]
    assert deny.subject == "shop/web" and deny.policy is not None and deny.policy.name == "default-deny"
    assert "from openshift-ingress/router-default" in deny.message
    [entry] = connectivity_map(a).entries
    assert not entry.path.allowed and entry.first_failure() == deny


def test_item10_the_stand_in_router_sits_in_openshift_ingress_with_the_operator_labels() -> None:
    a, _ = analyse(route("web"))
    router = a.cluster.workload(ROUTER)
    assert router is not None and router.assumed
    assert dict(router.labels) == {"ingresscontroller.operator.openshift.io/deployment-ingresscontroller": "default"}
    assert dict(a.cluster.namespaces["openshift-ingress"].labels) == {
        "kubernetes.io/metadata.name": "openshift-ingress", "name": "openshift-ingress",
        "network.openshift.io/policy-group": "ingress", "policy-group.network.openshift.io/ingress": ""}
    [note] = [d for d in a.diagnostics.items if d.code == "assumed-peer"]
    assert "(ROUTE-5)" in note.message


def test_item10_router_pods_in_the_input_replace_the_stand_in() -> None:
    router = deployment("openshift-ingress", "router-internal", {
        "ingresscontroller.operator.openshift.io/deployment-ingresscontroller": "default"}, [(80, "http"), (443, "")])
    from_it = policy("shop", "from-router", {}, [{"from": [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "openshift-ingress"}}}]}])
    a, _ = analyse(namespace("openshift-ingress"), router, route("web"), DENY_ALL, from_it)
    assert a.cluster.workload(ROUTER) is None
    p = way(a, "http://shop.apps.example.com/")
    assert p.via["router"] == "openshift-ingress/router-internal" and p.allowed


def test_item10_explain_of_a_route_url_on_the_command_line() -> None:
    text = docs(SHOP, route("web", tls=EDGE, target_port="http"), DENY_ALL, FROM_ROUTER)
    result = CliRunner().invoke(main, ["explain", "-", "--from", "world", "--to", "https://shop.apps.example.com/",
                                       "--format", "json"], input=text, catch_exceptions=False)
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["verdict"] == "allow" and doc["allowedPorts"] == {"TCP": [[8080, 8080]]}
    assert [p["via"]["kind"] for p in doc["paths"]] == ["Route"]


# =========================================================================== TLS (ROUTE-3)


@pytest.mark.parametrize(("tls", "url", "expected"), [
    (None, "http://shop.apps.example.com/", "allow"),
    (None, "https://shop.apps.example.com/", "503"),                       # no TLS Route for the host
    (EDGE, "http://shop.apps.example.com/", "503"),                        # insecure policy None (default)
    ({"termination": "edge", "insecureEdgeTerminationPolicy": "Allow"}, "http://shop.apps.example.com/", "allow"),
    ({"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}, "http://shop.apps.example.com/", "redirect"),
    ({"termination": "passthrough"}, "https://shop.apps.example.com/anything", "allow"),
    ({"termination": "passthrough", "insecureEdgeTerminationPolicy": "Redirect"}, "http://shop.apps.example.com/",
     "redirect"),
    ({"termination": "reencrypt"}, "https://shop.apps.example.com/", "allow"),
], ids=["plain-http", "plain-https", "edge-http", "edge-allow", "edge-redirect", "passthrough", "passthrough-redirect",
        "reencrypt"])
def test_item10_tls_termination_and_the_insecure_edge_policy_decide_which_scheme_is_served(
        tls: dict[str, str] | None, url: str, expected: str) -> None:
    a, _ = analyse(route("web", tls=tls, target_port=8080))
    p = way(a, url)
    entry = [(s.tier, s.reason.value, s.effect) for s in p.steps if s.layer == "entry"]
    if expected == "503":
        assert not p.allowed and entry == [("route", "no-route", "deny")]
        assert p.via == {"kind": "Router", "name": ROUTER, "host": "shop.apps.example.com"}
        assert p.steps[0].message.endswith("the router answers 503 (ROUTE-3)")
        return
    assert p.allowed and p.reached == [("shop/web", "TCP", 8080)]
    if expected == "redirect":  # followed: the request reaches the router on 443
        assert entry[0] == ("tls", "tls", "allow") and "302" in p.steps[0].message
        assert hop(p.steps[1]) == ("entry", "route", "routed", "allow")


def test_item10_an_edge_route_with_its_own_certificate_has_no_default_certificate_warning() -> None:
    a, _ = analyse(route("web", tls={"termination": "edge", "certificate": "PEM", "key": "PEM"}))
    tls = [s for s in way(a, "https://shop.apps.example.com/").steps if s.tier == "tls"]
    assert [(s.effect, s.message) for s in tls] == [
        ("allow", "TLS terminated by the router (edge) with the Route's certificate (ROUTE-3)")]


def test_item10_passthrough_hides_the_http_request_from_cilium_http_rules() -> None:
    a, _ = analyse(route("web", tls={"termination": "passthrough"}, target_port="https"))
    p = way(a, "https://shop.apps.example.com/admin")
    assert p.reached == [("shop/web", "TCP", 8443)]
    assert "sends the TLS stream to the pod unopened" in [s for s in p.steps if s.tier == "tls"][0].message


# =========================================================================== paths (ROUTE-2)


@pytest.mark.parametrize(("request_path", "expected"), [
    ("/api", "api"), ("/api/v1", "api"), ("/apix", "root"), ("/", "root"), ("/api/v1/x", "api-v1-slash"),
    ("/api/v1/", "api-v1-slash"),
])
def test_item10_a_route_path_is_a_prefix_of_whole_segments_and_the_longest_wins(request_path: str,
                                                                                expected: str) -> None:
    a, _ = analyse(route("root", to="canary"), route("api", path="/api"), route("api-v1-slash", path="/api/v1/"))
    assert way(a, f"http://shop.apps.example.com{request_path}").via["name"] == expected


# =========================================================================== backends (ROUTE-4)


def test_item10_alternate_backends_share_the_requests_and_weight_0_gets_none() -> None:
    a, _ = analyse(route("web", target_port=8080, weight=3,
                         alternates=[{"kind": "Service", "name": "canary", "weight": 1},
                                     {"kind": "Service", "name": "gone", "weight": 0}]))
    p = way(a, "http://shop.apps.example.com/")
    assert p.via["services"] == ["shop/web", "shop/canary"]
    assert sorted(p.reached) == [("shop/canary", "TCP", 8080), ("shop/web", "TCP", 8080)]
    assert "→ Service shop/web (weight 3), Service shop/canary (weight 1) (ROUTE-1, ROUTE-2)" in p.steps[0].message


def test_item10_a_route_whose_backends_all_have_weight_0_answers_503() -> None:
    a, _ = analyse(route("web", weight=0))
    p = way(a, "http://shop.apps.example.com/")
    assert not p.allowed
    assert [(s.reason.value, s.message) for s in p.steps if s.effect == "deny"] == [
        ("no-endpoints", "every backend has weight 0: the router answers 503 (ROUTE-4)")]


@pytest.mark.parametrize(("target_port", "expected"), [
    (8443, [("shop/web", "TCP", 8443)]),   # a number: the endpoint (pod) port
    ("http", [("shop/web", "TCP", 8080)]),  # a name: the Service port's name
    ("80", []),                            # the Service port number is not an endpoint port
])
def test_item10_target_port_names_an_endpoint_port(target_port: int | str,
                                                   expected: list[tuple[str, str, int]]) -> None:
    a, text = analyse(route("web", target_port=target_port))
    assert reached(a, "http://shop.apps.example.com/") == expected
    assert codes_at(a, "backend-port-not-found") == ([] if expected else [(FILE, line_of(text, "port: {targetPort"))])


def test_item10_a_backend_service_not_in_the_input_fails_its_share_only() -> None:
    a, text = analyse(route("web", to="gone", target_port=8080, alternates=[{"kind": "Service", "name": "web"}]))
    p = way(a, "http://shop.apps.example.com/")
    assert p.reached == [("shop/web", "TCP", 8080)]
    assert codes_at(a, "backend-not-found") == [(FILE, line_of(text, "to: {kind: Service, name: gone}"))]


# =========================================================================== admission (ROUTE-1, ROUTE-6)


def test_item10_the_oldest_route_claims_its_host_for_its_namespace() -> None:
    other = namespace("other")
    a, text = analyse(other, route("late", ns="shop", created="2024-06-01T00:00:00Z", to="canary"),
                      route("early", ns="other", created="2024-01-01T00:00:00Z"))
    [refused] = [d for d in a.diagnostics.items if d.code == "route-not-admitted"]
    assert (refused.ref is not None and refused.ref.name, [r.name for r in refused.related]) == ("late", ["early"])
    assert refused.message == ("the OpenShift router does not admit it: HostAlreadyClaimed: a route in another "
                               "namespace holds shop.apps.example.com and is older than late (Route other/early, "
                               "ROUTE-6)")
    assert way(a, "http://shop.apps.example.com/").via["name"] == "early"
    entries = {e.via["name"]: e for e in connectivity_map(a).entries}
    assert not entries["late"].path.allowed
    assert entries["late"].first_failure() is not None


def test_item10_a_newer_route_with_the_same_host_and_path_is_refused_and_other_paths_share_the_host() -> None:
    a, _ = analyse(route("first", to="canary"), route("second"), route("api", path="/api"))
    refused = [(d.ref.name if d.ref else "", d.message) for d in a.diagnostics.items if d.code == "route-not-admitted"]
    assert refused == [("second", "the OpenShift router does not admit it: HostAlreadyClaimed: route first already "
                                  "exposes shop.apps.example.com and is older (ROUTE-6)")]
    assert way(a, "http://shop.apps.example.com/api/x").via["name"] == "api"


def test_item10_a_wildcard_route_is_not_admitted_by_default() -> None:
    a, _ = analyse(route("wild", host="www.apps.example.com", extra="  wildcardPolicy: Subdomain\n"))
    [refused] = [d for d in a.diagnostics.items if d.code == "route-not-admitted"]
    assert "RouteNotAdmitted: wildcard routes are not allowed" in refused.message
    assert explain(a, "world", "http://www.apps.example.com/").paths == []


def test_item10_a_route_without_host_gets_a_generated_one() -> None:
    a, _ = analyse(route("web", host=""))
    assert way(a, "http://web-shop.apps.mycluster.example.org/").via["host"] == "web-shop.apps.mycluster.example.org"
    assert [e.request for e in connectivity_map(a).entries] == ["http://web-shop.apps.example.com/"]


# =========================================================================== validation (ROUTE-7)


@pytest.mark.parametrize(("kwargs", "marker", "message"), [
    ({"path": "/api", "tls": {"termination": "passthrough"}}, "path: /api",
     "spec.path: passthrough termination does not support paths"),
    ({"tls": {"termination": "passthrough", "insecureEdgeTerminationPolicy": "Allow"}}, "tls:",
     "cannot have both spec.tls.termination: passthrough and spec.tls.insecureEdgeTerminationPolicy: Allow"),
    ({"weight": 300}, "to:", "spec.to.weight 300: weight must be an integer between 0 and 256"),
    ({"path": "api"}, "path: api", "spec.path 'api': path must begin with /"),
    ({"tls": {"termination": "tls"}}, "tls:",
     "spec.tls.termination 'tls': must be one of edge, passthrough, reencrypt"),
    ({"host": "Shop.apps.example.com"}, "host:", "spec.host 'Shop.apps.example.com': host must conform to DNS 952 "
                                                  "subdomain conventions"),
])
def test_item10_a_route_the_api_server_refuses_is_an_error_and_exposes_nothing(kwargs: dict[str, Any], marker: str,
                                                                               message: str) -> None:
    a, text = analyse(route("web", **kwargs))
    [err] = [d for d in a.diagnostics.items if d.severity.value == "error"]
    assert (err.code, err.line) == ("invalid-value", line_of(text, marker))
    assert err.message == f"{message}: the API server refuses this Route, so it exposes nothing (ROUTE-7)"
    assert a.cluster.entry.openshift_routes == [] and connectivity_map(a).entries == []
