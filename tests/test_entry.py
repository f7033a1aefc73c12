"""Services, Ingress and Gateway API entry points (issue 3), as specifications.

Each test builds a small cluster (tests/entry_helpers.py), asks the public API (or the command
line) one question, and asserts the outcome that decides it: the verdict, the hop that decides
(its reason, policy and file:line), and the exact ports. Rules: docs/semantics.md §2 (SVC-1 … 6)
and §7 (GW-1 … 5, ING-1 … 7), and the "Services and entry points" section of the project's
docs/semantics.md.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from entry_helpers import (
    FILE,
    backend,
    codes_at,
    deployment,
    docs,
    first_deny,
    gateway,
    hop,
    http_route,
    ingress,
    ingress_class,
    line_of,
    namespace,
    path,
    policy,
    reference_grant,
    secret,
    service,
    service_account,
    where,
)
from kubeward import Options, analyse_paths, analyse_text, check, connectivity_map, explain
from kubeward.cli import main

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "examples" / "shop"
INGRESS_NGINX = "ingress-nginx/ingress-nginx-controller"
GW_GROUP = "gateway.networking.k8s.io"

# A client and a namespace every cluster below starts from.
APP = docs(namespace("app"), deployment("app", "client", {"app": "client"}))


def analyse(*objects: str, options: Options | None = None):  # type: ignore[no-untyped-def]
    text = docs(APP, *objects)
    return analyse_text(text, FILE, options), text


def reached(path_) -> list[tuple[str, str, int]]:  # type: ignore[no-untyped-def]
    return sorted(path_.reached)


# =========================================================================== 1. Service ports

# One Service selects three Deployments; its named targetPort "http" is 8080 on blue, 9090 on
# green, and undeclared on gray. Port 81 has a numeric targetPort, port 82 none.
SHOP_SVC = [
    deployment("app", "blue", {"app": "shop", "tier": "blue"}, [(8080, "http")]),
    deployment("app", "green", {"app": "shop", "tier": "green"}, [(9090, "http")]),
    deployment("app", "gray", {"app": "shop", "tier": "gray"}, [(7070, "metrics")]),
    service("app", "shop", {"app": "shop"}, [
        {"name": "web", "port": 80, "targetPort": "http"},
        {"name": "alt", "port": 81, "targetPort": 8443},
        {"name": "same", "port": 82},
    ]),
]


@pytest.mark.parametrize(("port", "expected"), [
    (80, [("app/blue", "TCP", 8080), ("app/green", "TCP", 9090)]),                        # named: per backend
    (81, [("app/blue", "TCP", 8443), ("app/gray", "TCP", 8443), ("app/green", "TCP", 8443)]),  # numeric
    (82, [("app/blue", "TCP", 82), ("app/gray", "TCP", 82), ("app/green", "TCP", 82)]),        # omitted = port
], ids=["named-targetPort", "numeric-targetPort", "omitted-targetPort"])
def test_a_service_port_reaches_each_backend_on_the_pod_port_its_target_port_resolves_to(
        port: int, expected: list[tuple[str, str, int]]) -> None:
    a, _ = analyse(*SHOP_SVC)
    exp = explain(a, "app/client", "service/app/shop", port)
    assert exp.verdict.verdict == "allow"
    [way] = exp.paths
    assert reached(way) == expected
    assert way.allowed_ports.to_json() == {"TCP": [[p, p] for p in sorted({p for _, _, p in expected})]}


def test_a_named_target_port_resolves_separately_in_each_backend_and_one_without_it_is_no_endpoint() -> None:
    a, text = analyse(*SHOP_SVC)
    way = explain(a, "app/client", "service/app/shop", 80).paths[0]
    translated = [s for s in way.steps if s.reason.value == "service-translated"]
    assert [(s.effect, s.message.split(" → ")[1].split(":")[0]) for s in translated] == [
        ("allow", "app/blue"), ("deny", "app/gray"), ("allow", "app/green")]
    assert "container port 8080 of app/blue" in translated[0].message
    assert "app/gray declares no TCP container port of that name" in translated[1].message
    assert "container port 9090 of app/green" in translated[2].message
    svc_line = line_of(text, "metadata: {name: shop, namespace: app}") - 2
    assert all(where(s) == (FILE, svc_line) for s in translated)
    # The diagnostic, at the Service's line, names the backend without the port.
    [diag] = [d for d in a.diagnostics.items if d.code == "target-port-not-declared"]
    assert (diag.file, diag.line, diag.severity.value) == (FILE, svc_line, "warning")
    assert "app/gray" in diag.message and "Service port 80" in diag.message


def test_the_map_names_the_service_ports_that_front_each_destination_on_its_pod_ports() -> None:
    a, _ = analyse(*SHOP_SVC)
    conns = {(c.src, c.dst): c for c in connectivity_map(a).connections}

    def fronts(dst: str) -> list[tuple[int, int]]:
        return [(s["port"], s["targetPort"]) for s in conns[("app/client", dst)].services or []]

    assert fronts("app/blue") == [(80, 8080), (81, 8443), (82, 82)]
    assert fronts("app/green") == [(80, 9090), (81, 8443), (82, 82)]
    assert fronts("app/gray") == [(81, 8443), (82, 82)]  # no endpoint of port 80


SERVICE_ONLY_80 = {"from": [{"podSelector": {"matchLabels": {"app": "client"}}}], "ports": [{"port": 80}]}
SERVICE_POD_PORT = {"from": [{"podSelector": {"matchLabels": {"app": "client"}}}], "ports": [{"port": "http"}]}


def test_np24_a_policy_that_allows_only_the_service_port_does_not_allow_the_flow_to_a_different_pod_port() -> None:
    a, text = analyse(
        deployment("app", "blue", {"app": "blue"}, [(8080, "http")]),
        service("app", "blue", {"app": "blue"}, [{"port": 80, "targetPort": "http"}]),
        policy("app", "blue-from-client", {"app": "blue"}, [SERVICE_ONLY_80]))
    exp = explain(a, "app/client", "service/app/blue", 80)
    assert exp.verdict.verdict == "deny"
    [way] = exp.paths
    assert [hop(s) for s in way.steps][:1] == [("service", "service", "service-translated", "allow")]
    deny = first_deny(way.steps)
    assert (deny.layer, deny.reason.value, deny.subject) == ("cni", "no-rule-matched", "app/blue")
    assert deny.policy is not None and deny.policy.name == "blue-from-client"
    assert where(deny) == (FILE, line_of(text, "name: blue-from-client") - 2)
    assert "TCP/8080" in deny.message  # judged on the pod port, not on 80
    mismatch = [s for s in way.steps if s.reason.value == "port-mismatch"]
    assert [where(s) for s in mismatch] == [(FILE, line_of(text, "ports: [{port: 80}]"))]
    assert way.reached == [] and exp.verdict.allowed_ports.to_json() == {}


def test_np24_a_policy_that_allows_the_pod_port_by_name_allows_the_service_flow() -> None:
    a, text = analyse(
        deployment("app", "blue", {"app": "blue"}, [(8080, "http")]),
        service("app", "blue", {"app": "blue"}, [{"port": 80, "targetPort": "http"}]),
        policy("app", "blue-from-client", {"app": "blue"}, [SERVICE_POD_PORT]))
    exp = explain(a, "app/client", "service/app/blue", 80)
    assert exp.verdict.verdict == "allow"
    assert exp.paths[0].reached == [("app/blue", "TCP", 8080)]
    allow = [s for s in exp.paths[0].steps if s.reason.value == "allowed-by-rule"]
    assert [where(s) for s in allow] == [(FILE, line_of(text, 'ports: [{port: http}]'))]
    assert exp.verdict.allowed_ports.to_json() == {"TCP": [[8080, 8080]]}


# =========================================================================== 2. diagnostics


def obj_line(text: str, name: str) -> int:
    """The line an object starts at (its apiVersion): two above its ``metadata: {name: …`` line."""
    return line_of(text, f"metadata: {{name: {name},") - 2


WEB = [deployment("app", "web", {"app": "web"}, [(8080, "http")]),
       service("app", "web", {"app": "web"}, [{"name": "http", "port": 80, "targetPort": "http"}])]
TEAM = namespace("team", expose="yes")
HTTP_ALL = {"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": {"namespaces": {"from": "All"}}}


def test_service_selects_nothing_is_warned_at_the_service_and_its_flows_have_no_endpoints() -> None:
    a, text = analyse(service("app", "ghost", {"app": "nope"}, [{"port": 80}]),
                      service("app", "manual", None, [{"port": 80}]))  # no selector: endpoints kubeward cannot see
    assert codes_at(a, "service-selects-nothing") == [(FILE, obj_line(text, "ghost"))]
    way = explain(a, "app/client", "service/app/ghost", 80).paths[0]
    deny = first_deny(way.steps)
    assert (hop(deny), where(deny)) == (("service", "service", "no-endpoints", "deny"), (FILE, obj_line(text, "ghost")))


def test_target_port_not_declared_is_warned_at_the_service_for_a_backend_without_the_named_port() -> None:
    a, text = analyse(*SHOP_SVC)
    assert codes_at(a, "target-port-not-declared") == [(FILE, obj_line(text, "shop"))]
    fixed, _ = analyse(*SHOP_SVC[:2], service("app", "shop", {"app": "shop"}, [{"port": 80, "targetPort": "http"}]))
    assert codes_at(fixed, "target-port-not-declared") == []


def test_svc6_service_account_missing_is_warned_for_a_named_account_not_in_the_input_only() -> None:
    a, text = analyse(
        deployment("app", "robot", {"app": "robot"}, sa="robot-sa"),            # missing: warned
        deployment("app", "plain", {"app": "plain"}, sa="default"),             # default: always exists
        deployment("app", "known", {"app": "known"}, sa="known-sa"), service_account("app", "known-sa"),
        deployment("app", "elsewhere", {"app": "elsewhere"}, sa="other-sa"),    # in another namespace only
        service_account("other", "other-sa"))
    assert sorted(codes_at(a, "service-account-missing")) == sorted(
        [(FILE, obj_line(text, "robot")), (FILE, obj_line(text, "elsewhere"))])
    [robot] = [d for d in a.diagnostics.items if d.line == obj_line(text, "robot")]
    assert "robot-sa" in robot.message and robot.severity.value == "warning"


def _route_to_edge(listener: dict, route_ns: str = "team", *extra: str):  # type: ignore[no-untyped-def]
    return analyse(TEAM, gateway("infra", "edge", [listener]),
                   http_route(route_ns, "r", [{"name": "edge", "namespace": "infra"}],
                              [{"backendRefs": [{"name": "web", "namespace": "app", "port": 80}]}]), *extra)


def test_gw1_a_route_in_another_namespace_is_not_accepted_by_a_listener_that_allows_routes_from_same() -> None:
    a, text = _route_to_edge({"name": "http", "protocol": "HTTP", "port": 80})
    [diag] = [d for d in a.diagnostics.items if d.code == "route-not-accepted"]
    assert (diag.file, diag.line) == (FILE, line_of(text, "- {name: edge, namespace: infra}"))
    assert "NotAllowedByListeners" in diag.message and diag.resource == "HTTPRoute team/r"
    # GW-2: attachment is governed by allowedRoutes, not by a ReferenceGrant.
    granted, _ = _route_to_edge({"name": "http", "protocol": "HTTP", "port": 80}, "team", reference_grant(
        "infra", "let-team", [{"group": GW_GROUP, "kind": "HTTPRoute", "namespace": "team"}],
        [{"group": GW_GROUP, "kind": "Gateway"}]))
    assert [d.code for d in granted.diagnostics.items if d.code == "route-not-accepted"] == ["route-not-accepted"]


@pytest.mark.parametrize("allowed", [
    {"namespaces": {"from": "All"}},
    {"namespaces": {"from": "Selector", "selector": {"matchLabels": {"expose": "yes"}}}},
    {"namespaces": {"from": "Selector", "selector": {"matchLabels": {"kubernetes.io/metadata.name": "team"}}}},
], ids=["from-All", "from-Selector-on-a-namespace-label", "from-Selector-on-the-name-label"])
def test_gw1_a_route_in_another_namespace_is_accepted_when_allowed_routes_admit_its_namespace(allowed: dict) -> None:
    a, _ = _route_to_edge({"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": allowed})
    assert codes_at(a, "route-not-accepted") == []


def test_gw1_a_selector_that_does_not_match_the_route_namespace_labels_rejects_it() -> None:
    a, text = _route_to_edge({"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": {
        "namespaces": {"from": "Selector", "selector": {"matchLabels": {"expose": "no"}}}}})
    assert codes_at(a, "route-not-accepted") == [(FILE, line_of(text, "- {name: edge, namespace: infra}"))]


def test_tls_secret_missing_is_warned_at_the_ingress_tls_entry_unless_the_secret_is_in_the_input() -> None:
    ing = ingress("app", "web", [("a.example.com", [path("/", "Prefix", "web")])],
                  tls=[{"hosts": ["a.example.com"], "secretName": "web-tls"}])
    a, text = analyse(*WEB, ing)
    assert codes_at(a, "tls-secret-missing") == [(FILE, line_of(text, "secretName: web-tls"))]
    ok, _ = analyse(*WEB, ing, secret("app", "web-tls"))
    assert codes_at(ok, "tls-secret-missing") == []
    elsewhere, _ = analyse(*WEB, ing, secret("other", "web-tls"))  # a Secret of another namespace does not count
    assert len(codes_at(elsewhere, "tls-secret-missing")) == 1


def test_tls_secret_missing_is_warned_at_the_gateway_certificate_ref_unless_the_secret_is_in_the_input() -> None:
    listener = {"name": "https", "protocol": "HTTPS", "port": 443, "tls": {"certificateRefs": [{"name": "edge-cert"}]}}
    a, text = analyse(gateway("infra", "edge", [listener]))
    assert codes_at(a, "tls-secret-missing") == [(FILE, line_of(text, "name: edge-cert"))]
    ok, _ = analyse(gateway("infra", "edge", [listener]), secret("infra", "edge-cert"))
    assert codes_at(ok, "tls-secret-missing") == []


def test_ingress_without_tls_is_warned_at_the_ingress() -> None:
    a, text = analyse(*WEB, ingress("app", "plain", [("a.example.com", [path("/", "Prefix", "web")])]))
    assert codes_at(a, "ingress-without-tls") == [(FILE, obj_line(text, "plain"))]
    ok, _ = analyse(*WEB, secret("app", "t"), ingress("app", "plain", [("a.example.com", [path("/", "Prefix", "web")])],
                                                   tls=[{"hosts": ["a.example.com"], "secretName": "t"}]))
    assert codes_at(ok, "ingress-without-tls") == []


def test_backend_not_found_is_warned_at_the_ingress_path_and_at_the_route_backend_ref() -> None:
    a, text = analyse(
        *WEB, ingress("app", "ing", [("a.example.com", [path("/gone", "Prefix", "gone"), path("/", "Prefix", "web")])]),
        gateway("app", "gw", [{"name": "http", "protocol": "HTTP", "port": 80}]),
        http_route("app", "r", [{"name": "gw"}], [{"backendRefs": [{"name": "vanished", "port": 80}]}]))
    assert codes_at(a, "backend-not-found") == [(FILE, line_of(text, "path: /gone,")),
                                                (FILE, line_of(text, "name: vanished"))]


def test_backend_port_not_found_is_warned_for_a_port_the_service_does_not_have() -> None:
    a, text = analyse(
        *WEB, ingress("app", "ing", [("a.example.com", [path("/bad", "Prefix", "web", 81), path("/", "Prefix", "web", 80),
                                                         path("/named", "Prefix", "web", "http")])]),
        gateway("app", "gw", [{"name": "http", "protocol": "HTTP", "port": 80}]),
        http_route("app", "r", [{"name": "gw"}], [{"backendRefs": [{"name": "web", "port": 8080}]}]))
    assert codes_at(a, "backend-port-not-found") == [(FILE, line_of(text, "path: /bad,")),
                                                     (FILE, line_of(text, "{name: web, port: 8080}"))]


CROSS_ROUTE = http_route("team", "r", [{"name": "edge", "namespace": "infra"}],
                         [{"backendRefs": [{"name": "web", "namespace": "app", "port": 80}]}])


def test_gw2_a_route_backend_in_another_namespace_needs_a_reference_grant_in_that_namespace() -> None:
    edge = gateway("infra", "edge", [HTTP_ALL])
    a, text = analyse(TEAM, *WEB, edge, CROSS_ROUTE)
    [diag] = [d for d in a.diagnostics.items if d.code == "ref-not-permitted"]
    assert (diag.file, diag.line) == (FILE, line_of(text, "{name: web, namespace: app, port: 80}"))
    assert "RefNotPermitted" in diag.message
    grant = [{"group": GW_GROUP, "kind": "HTTPRoute", "namespace": "team"}]
    fixed, _ = analyse(TEAM, *WEB, edge, CROSS_ROUTE,
                       reference_grant("app", "let-team", grant, [{"group": "", "kind": "Service"}]))
    assert codes_at(fixed, "ref-not-permitted") == []
    named, _ = analyse(TEAM, *WEB, edge, CROSS_ROUTE,
                       reference_grant("app", "let-team", grant, [{"group": "", "kind": "Service", "name": "web"}]))
    assert codes_at(named, "ref-not-permitted") == []
    for wrong in (reference_grant("team", "here", grant, [{"group": "", "kind": "Service"}]),          # wrong namespace
                  reference_grant("app", "other", grant, [{"group": "", "kind": "Service", "name": "api"}]),  # other name
                  reference_grant("app", "other-ns", [{"group": GW_GROUP, "kind": "HTTPRoute", "namespace": "x"}],
                                  [{"group": "", "kind": "Service"}])):                              # other source
        still, _ = analyse(TEAM, *WEB, edge, CROSS_ROUTE, wrong)
        assert len(codes_at(still, "ref-not-permitted")) == 1


def test_gw2_a_listener_certificate_in_another_namespace_needs_a_reference_grant() -> None:
    listener = {"name": "https", "protocol": "HTTPS", "port": 443,
                "tls": {"certificateRefs": [{"name": "wild", "namespace": "certs"}]}}
    a, text = analyse(gateway("infra", "edge", [listener]), secret("certs", "wild"))
    assert codes_at(a, "ref-not-permitted") == [(FILE, line_of(text, "certificateRefs: [{name: wild, namespace: certs}]"))]
    fixed, _ = analyse(gateway("infra", "edge", [listener]), secret("certs", "wild"), reference_grant(
        "certs", "let-infra", [{"group": GW_GROUP, "kind": "Gateway", "namespace": "infra"}],
        [{"group": "", "kind": "Secret"}]))
    assert codes_at(fixed, "ref-not-permitted") == [] and codes_at(fixed, "tls-secret-missing") == []


def test_ingress_class_missing_is_warned_when_no_ingress_class_serves_the_ingress() -> None:
    rules = [("a.example.com", [path("/", "Prefix", "web")])]
    a, text = analyse(*WEB, ingress("app", "named", rules), ingress("app", "unnamed", rules, class_name=None))
    assert sorted(codes_at(a, "ingress-class-missing")) == [(FILE, obj_line(text, "named")),
                                                            (FILE, obj_line(text, "unnamed"))]
    ok, _ = analyse(*WEB, ingress_class("nginx", default=True), ingress("app", "named", rules),
                    ingress("app", "unnamed", rules, class_name=None))
    assert codes_at(ok, "ingress-class-missing") == []


def test_redundant_annotation_notes_ssl_redirect_true_on_an_ingress_with_tls_only() -> None:
    rules = [("a.example.com", [path("/", "Prefix", "web")])]
    tls = [{"hosts": ["a.example.com"], "secretName": "t"}]
    redirect = {"nginx.ingress.kubernetes.io/ssl-redirect": "true"}
    a, text = analyse(*WEB, secret("app", "t"), ingress("app", "with-tls", rules, tls=tls, annotations=redirect),
                      ingress("app", "no-tls", rules, annotations=redirect),
                      ingress("app", "off", rules, tls=tls, annotations={"nginx.ingress.kubernetes.io/ssl-redirect": "false"}))
    [note] = [d for d in a.diagnostics.items if d.code == "redundant-annotation"]
    assert (note.file, note.line, note.severity.value) == (FILE, obj_line(text, "with-tls"), "info")


def test_listener_without_certificate_is_warned_for_an_https_listener_that_terminates_without_certificate_refs() -> None:
    a, text = analyse(gateway("infra", "edge", [{"name": "bare", "protocol": "HTTPS", "port": 443},
                                                {"name": "empty", "protocol": "HTTPS", "port": 8443,
                                                 "tls": {"mode": "Terminate"}},
                                                {"name": "pass", "protocol": "TLS", "port": 9443,
                                                 "tls": {"mode": "Passthrough"}}]))
    assert codes_at(a, "listener-without-certificate") == [(FILE, line_of(text, "name: bare")),
                                                           (FILE, line_of(text, "name: empty"))]


# =========================================================================== 3. from outside


def _exposed(type_: str, etp: str | None = None, *extra: str):  # type: ignore[no-untyped-def]
    return analyse(deployment("app", "web", {"app": "web"}, [(8080, "http")]),
                   service("app", "web", {"app": "web"}, [{"port": 80, "targetPort": "http", "nodePort": 30080}],
                           type=type_, external_traffic_policy=etp), *extra)


DEFAULT_DENY = policy("app", "default-deny", {}, [])
FROM_ANYWHERE = policy("app", "web-from-anywhere", {"app": "web"},
                       [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 8080}]}])


@pytest.mark.parametrize("type_", ["NodePort", "LoadBalancer"])
def test_svc3_a_node_port_or_load_balancer_service_is_reachable_from_world_when_the_backend_is_not_isolated(
        type_: str) -> None:
    a, text = _exposed(type_)
    exp = explain(a, "world", "service/app/web", 80)
    assert exp.verdict.verdict == "allow"
    [way] = exp.paths
    assert [hop(s) for s in way.steps] == [
        ("service", "exposure", "exposed", "allow"),
        ("service", "exposure", "source-nat", "warn"),       # externalTrafficPolicy defaults to Cluster
        ("service", "service", "service-translated", "allow"),
        ("cni", "none", "not-a-pod", "allow"),
        ("cni", "default", "not-isolated", "allow"),
    ]
    assert "nodePort 30080" in way.steps[0].message
    assert way.reached == [("app/web", "TCP", 8080)]
    assert exp.to_json()["flow"]["to"] == {"peer": "service/app/web", "type": "service", "id": "app/web",
                                           "namespace": "app", "name": "web", "serviceType": type_, "port": 80}


def test_svc4_external_traffic_policy_local_has_no_source_nat_hop() -> None:
    a, _ = _exposed("LoadBalancer", "Local")
    way = explain(a, "world", "service/app/web", 80).paths[0]
    assert [s.reason.value for s in way.steps if s.layer == "service"] == ["exposed", "service-translated"]
    assert way.allowed


def test_an_exposed_service_is_denied_from_world_by_the_policy_that_isolates_its_backend() -> None:
    a, text = _exposed("NodePort", None, DEFAULT_DENY)
    exp = explain(a, "world", "service/app/web", 80)
    assert exp.verdict.verdict == "deny"
    deny = first_deny(exp.paths[0].steps)
    assert (hop(deny), deny.subject) == (("cni", "networkpolicy", "no-rule-matched", "deny"), "app/web")
    assert deny.policy is not None and (deny.policy.name, where(deny)) == ("default-deny", (FILE, obj_line(text, "default-deny")))
    assert "TCP/8080" in deny.message


def test_an_exposed_service_is_allowed_from_world_by_an_ip_block_rule_for_every_address() -> None:
    a, text = _exposed("LoadBalancer", "Local", DEFAULT_DENY, FROM_ANYWHERE)
    exp = explain(a, "world", "service/app/web", 80)
    assert exp.verdict.verdict == "allow"
    [allow] = [s for s in exp.paths[0].steps if s.reason.value == "allowed-by-rule"]
    assert (allow.policy.name, where(allow)) == ("web-from-anywhere", (FILE, line_of(text, "ipBlock")))  # type: ignore[union-attr]
    assert exp.verdict.allowed_ports.to_json() == {"TCP": [[8080, 8080]]}


@pytest.mark.parametrize("spec", [{"type_": "ClusterIP"}, {"type_": "ClusterIP", "headless": True}])
def test_svc3_a_cluster_ip_service_is_not_exposed_to_world(spec: dict) -> None:
    svc = service("app", "web", {"app": "web"}, [{"port": 80, "targetPort": "http"}])
    if spec.get("headless"):
        svc = svc.replace("spec:\n", "spec:\n  clusterIP: None\n")
    a, text = analyse(deployment("app", "web", {"app": "web"}, [(8080, "http")]), svc)
    exp = explain(a, "world", "service/app/web", 80)
    assert exp.verdict.verdict == "deny"
    [step] = exp.paths[0].steps
    assert (hop(step), where(step)) == (("service", "exposure", "not-exposed", "deny"),
                                        (FILE, line_of(text, "kind: Service") - 1))
    assert exp.paths[0].reached == []


def test_the_map_has_a_world_edge_through_an_exposed_service_and_lists_it_as_an_entry_point() -> None:
    a, _ = _exposed("NodePort")
    cmap = connectivity_map(a)
    [edge] = [c for c in cmap.connections if c.src == "world"]
    assert (edge.dst, edge.ports.to_json()) == ("app/web", {"TCP": [[8080, 8080]]})
    assert edge.via == [{"kind": "Service", "namespace": "app", "name": "web", "port": 80, "type": "NodePort"}]
    assert [(e.to_json()["verdict"], e.to_json()["reached"]) for e in cmap.entries] == [
        ("allow", [{"workload": "app/web", "protocol": "TCP", "port": 8080}])]
    assert {"id": "world", "type": "entry"} in [p.to_json() for p in cmap.peers]
    denied, _ = _exposed("NodePort", None, DEFAULT_DENY)
    dmap = connectivity_map(denied)
    assert [c for c in dmap.connections if c.src == "world"] == []
    assert dmap.entries[0].to_json()["blockedBy"]["policy"]["name"] == "default-deny"


# =========================================================================== 4. Ingress

# Five backends: Service app/X port 80 → pod port 8080 ("http") of Deployment app/X.
BACKENDS = [obj for name in "abcde" for obj in (
    deployment("app", name, {"app": name}, [(8080, "http")]),
    service("app", name, {"app": name}, [{"port": 80, "targetPort": "http"}]))]


def ingress_way(analysis, url: str):  # type: ignore[no-untyped-def]
    """The one way in through the ingress controller for ``url``, or None when no Ingress serves it."""
    ways = [w for w in explain(analysis, "world", url).paths if w.via.get("kind") in ("Ingress", "IngressClass")]
    assert len(ways) <= 1
    return ways[0] if ways else None


def served_by(analysis, url: str) -> str | None:  # type: ignore[no-untyped-def]
    """The Service an Ingress sends ``url`` to; "404" when the controller has no rule for it;
    None when no Ingress serves the host at all."""
    way = ingress_way(analysis, url)
    if way is None:
        return None
    return str(way.via["service"]) if way.via.get("kind") == "Ingress" else "404"


def test_ing2_an_exact_host_wins_over_a_wildcard_which_covers_exactly_one_label() -> None:
    a, _ = analyse(*BACKENDS, ingress("app", "hosts", [("foo.example.com", [path("/", "Prefix", "a")]),
                                                       ("*.example.com", [path("/", "Prefix", "b")])]))
    assert served_by(a, "http://foo.example.com/") == "app/a"
    assert served_by(a, "http://bar.example.com/") == "app/b"
    assert served_by(a, "http://FOO.example.com/x") == "app/a"  # host names are case-insensitive
    assert served_by(a, "http://a.b.example.com/") is None       # a wildcard covers one label only
    assert served_by(a, "http://example.com/") is None           # ... and never none
    denied = explain(a, "world", "http://a.b.example.com/")
    assert (denied.verdict.verdict, [hop(s) for s in denied.verdict.steps]) == (
        "deny", [("entry", "entry", "no-route", "deny")])


def test_ing2_rules_without_host_serve_every_host_that_no_host_rule_names() -> None:
    a, _ = analyse(*BACKENDS, ingress("app", "hosts", [("foo.example.com", [path("/", "Prefix", "a")]),
                                                       ("", [path("/", "Prefix", "c")])]))
    assert served_by(a, "http://foo.example.com/") == "app/a"
    assert served_by(a, "http://a.b.example.com/") == "app/c"
    assert served_by(a, "http://10.0.0.1/") == "app/c"


@pytest.mark.xfail(strict=True, reason="BUG: a request whose host matches an exact host rule but none of its paths "
                   "falls through to the wildcard and host-less rules; the Ingress API evaluates the host first "
                   "(IngressRule: 'Incoming requests are first evaluated for a host match, then routed to the backend "
                   "associated with the matching IngressRuleValue') and ingress-nginx serves each host from its own "
                   "server block: the answer is the default backend (404)")
def test_ing2_a_request_for_a_named_host_is_not_routed_by_the_rules_of_other_hosts() -> None:
    a, _ = analyse(*BACKENDS, ingress("app", "hosts", [("x.example.com", [path("/foo", "Prefix", "a")]),
                                                       ("*.example.com", [path("/bar", "Prefix", "b")]),
                                                       ("", [path("/", "Prefix", "c")])]))
    assert served_by(a, "http://y.example.com/bar") == "app/b"  # the wildcard's own host
    assert served_by(a, "http://x.example.com/bar") == "404"
    assert served_by(a, "http://x.example.com/other") == "404"


@pytest.mark.parametrize(("request_path", "expected"), [
    ("/foo", "app/a"), ("/foo/", "app/a"), ("/foo/bar", "app/a"),   # element-wise prefix
    ("/foobar", "app/b"), ("/fo", "app/b"), ("/FOO", "app/b"),      # not a prefix of elements; case-sensitive
])
def test_ing1_prefix_matches_whole_path_elements(request_path: str, expected: str) -> None:
    a, _ = analyse(*BACKENDS, ingress("app", "p", [("x.example.com", [path("/foo", "Prefix", "a"),
                                                                      path("/", "Prefix", "b")])]))
    assert served_by(a, f"http://x.example.com{request_path}") == expected


def test_ing1_a_prefix_with_a_trailing_slash_matches_the_path_without_it() -> None:
    a, _ = analyse(*BACKENDS, ingress("app", "p", [("x.example.com", [path("/aaa/bbb/", "Prefix", "a")])]))
    assert served_by(a, "http://x.example.com/aaa/bbb") == "app/a"
    assert served_by(a, "http://x.example.com/aaa/bbb/ccc") == "app/a"
    assert served_by(a, "http://x.example.com/aaa/bbbccc") == "404"


@pytest.mark.parametrize(("request_path", "expected"), [
    ("/foo", "app/a"), ("/foo/", "404"), ("/FOO", "404"), ("/foo/bar", "404")])
def test_ing1_exact_matches_the_whole_path_case_sensitively(request_path: str, expected: str) -> None:
    a, _ = analyse(*BACKENDS, ingress("app", "e", [("x.example.com", [path("/foo", "Exact", "a")])]))
    assert served_by(a, f"http://x.example.com{request_path}") == expected


def test_ing4_implementation_specific_is_an_ingress_nginx_string_prefix() -> None:
    a, _ = analyse(*BACKENDS, ingress("app", "i", [("x.example.com", [path("/foo", "ImplementationSpecific", "a"),
                                                                      path("/", "Prefix", "b")])]))
    assert served_by(a, "http://x.example.com/foobar") == "app/a"  # a Prefix /foo would not match this
    assert served_by(a, "http://x.example.com/foo/x") == "app/a"
    assert served_by(a, "http://x.example.com/fo") == "app/b"


def test_ing4_with_use_regex_implementation_specific_is_a_case_insensitive_regex_anchored_at_the_start() -> None:
    a, _ = analyse(*BACKENDS, ingress("app", "r", [("x.example.com", [path("/api/v[0-9]+", "ImplementationSpecific", "a"),
                                                                      path("/", "Prefix", "b")])],
                                      annotations={"nginx.ingress.kubernetes.io/use-regex": "true"}))
    assert served_by(a, "http://x.example.com/API/V2/items") == "app/a"
    assert served_by(a, "http://x.example.com/api/vx") == "app/b"
    assert served_by(a, "http://x.example.com/x/api/v1") == "app/b"


def test_ing1_the_longest_matching_path_wins_and_exact_beats_prefix_at_equal_length() -> None:
    a, text = analyse(*BACKENDS, ingress("app", "l", [("x.example.com", [
        path("/foo", "Prefix", "a"), path("/foo/bar", "Prefix", "b"), path("/", "Prefix", "c"),
        path("/foo", "Exact", "d")])]))
    assert served_by(a, "http://x.example.com/foo/bar/baz") == "app/b"
    assert served_by(a, "http://x.example.com/foo/barbaz") == "app/a"
    assert served_by(a, "http://x.example.com/foo/baz") == "app/a"
    assert served_by(a, "http://x.example.com/zzz") == "app/c"
    assert served_by(a, "http://x.example.com/foo") == "app/d"
    # The routed hop points at the path that won.
    routed = ingress_way(a, "http://x.example.com/foo/bar/baz").steps[0]
    assert (hop(routed), where(routed)) == (("entry", "ingress", "routed", "allow"),
                                            (FILE, line_of(text, "path: /foo/bar,")))


def test_ing2_a_request_no_rule_matches_goes_to_the_default_backend() -> None:
    a, text = analyse(*BACKENDS, ingress("app", "fallback", [("x.example.com", [path("/api", "Prefix", "a")])],
                                         default_backend=backend("e", 80)))
    assert served_by(a, "http://x.example.com/api") == "app/a"
    assert served_by(a, "http://other.example.com/") == "app/e"
    routed = ingress_way(a, "http://other.example.com/").steps[0]
    assert (hop(routed), where(routed)) == (("entry", "ingress", "routed", "allow"), (FILE, obj_line(text, "fallback")))
    assert "defaultBackend" in routed.message


def test_ing2_without_a_default_backend_the_controller_answers_404_for_a_named_host() -> None:
    a, _ = analyse(*BACKENDS, ingress("app", "d", [("x.example.com", [path("/api", "Prefix", "a")])]))
    exp = explain(a, "world", "http://x.example.com/other")
    assert exp.verdict.verdict == "deny"
    [way] = exp.paths
    assert [hop(s) for s in way.steps] == [("entry", "ingress", "no-route", "deny")]


TLS_X = [{"hosts": ["x.example.com"], "secretName": "x-tls"}]


# A policy on the (stand-in) controller that admits HTTPS only: it tells which port the outside
# world's hop to the controller is judged on.
CONTROLLER_HTTPS_ONLY = policy("ingress-nginx", "https-only", {"app.kubernetes.io/name": "ingress-nginx"},
                               [{"ports": [{"port": 443}]}])


def test_ing5_plain_http_to_a_host_with_tls_is_redirected_to_https_and_followed() -> None:
    a, text = analyse(*BACKENDS, secret("app", "x-tls"), CONTROLLER_HTTPS_ONLY,
                      ingress("app", "t", [("x.example.com", [path("/", "Prefix", "a")])], tls=TLS_X))
    way = ingress_way(a, "http://x.example.com/")
    assert [hop(s) for s in way.steps][:2] == [("entry", "ingress", "routed", "allow"), ("entry", "tls", "tls", "allow")]
    redirect = way.steps[1]
    assert where(redirect) == (FILE, line_of(text, "secretName: x-tls"))
    assert "redirected to HTTPS" in redirect.message
    # The trace follows the redirect: the outside world reaches the controller on 443, which its
    # policy admits.
    assert way.allowed and way.reached == [("app/a", "TCP", 8080)]
    allowed = [s for s in way.steps if s.reason.value == "allowed-by-rule"]
    assert [(s.subject, where(s)) for s in allowed] == [(INGRESS_NGINX, (FILE, line_of(text, "ports: [{port: 443}]")))]


def test_ing5_without_tls_plain_http_stays_on_port_80() -> None:
    a, text = analyse(*BACKENDS, CONTROLLER_HTTPS_ONLY,
                      ingress("app", "t", [("x.example.com", [path("/", "Prefix", "a")])]))
    way = ingress_way(a, "http://x.example.com/")
    deny = first_deny(way.steps)
    assert (hop(deny), deny.subject, where(deny)) == (("cni", "networkpolicy", "no-rule-matched", "deny"), INGRESS_NGINX,
                                                      (FILE, obj_line(text, "https-only")))
    assert "TCP/80 from world" in deny.message
    assert not way.allowed and way.reached == []


def test_ing5_no_redirect_without_tls_or_with_ssl_redirect_false() -> None:
    rules = [("x.example.com", [path("/", "Prefix", "a")])]
    plain, _ = analyse(*BACKENDS, ingress("app", "t", rules))
    off, _ = analyse(*BACKENDS, secret("app", "x-tls"), ingress("app", "t", rules, tls=TLS_X, annotations={
        "nginx.ingress.kubernetes.io/ssl-redirect": "false"}))
    for a in (plain, off):
        way = ingress_way(a, "http://x.example.com/")
        assert [s.tier for s in way.steps if s.layer == "entry"] == ["ingress"]
        assert way.reached == [("app/a", "TCP", 8080)]


def test_ing5_https_to_a_host_no_tls_entry_covers_warns_of_the_default_certificate_but_is_served() -> None:
    a, text = analyse(*BACKENDS, secret("app", "x-tls"),
                      ingress("app", "t", [("x.example.com", [path("/", "Prefix", "a")]),
                                           ("y.example.com", [path("/", "Prefix", "b")])], tls=TLS_X))
    way = ingress_way(a, "https://y.example.com/")
    assert [hop(s) for s in way.steps][:2] == [("entry", "ingress", "routed", "allow"), ("entry", "tls", "tls", "warn")]
    assert "default certificate" in way.steps[1].message
    assert way.reached == [("app/b", "TCP", 8080)]
    terminated = ingress_way(a, "https://x.example.com/").steps[1]
    assert (hop(terminated), where(terminated)) == (("entry", "tls", "tls", "allow"), (FILE, line_of(text, "secretName: x-tls")))


# ING-6: the controller proxies to the pod IP and target port, from its own pods.
WEB_ISOLATED = [deployment("app", "web", {"app": "web"}, [(8080, "http")]),
                service("app", "web", {"app": "web"}, [{"port": 80, "targetPort": "http"}]),
                policy("app", "default-deny", {}, []),
                ingress("app", "web", [("x.example.com", [path("/", "Prefix", "web")])])]


def _from_namespace(ns: str, port: int | str) -> dict:
    return {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}],
            "ports": [{"port": port}]}


def test_ing6_the_backend_hop_is_judged_from_the_controller_pods_on_the_pod_port() -> None:
    on_service_port, text = analyse(*WEB_ISOLATED, policy("app", "web-from-nginx", {"app": "web"},
                                                          [_from_namespace("ingress-nginx", 80)]))
    way = ingress_way(on_service_port, "http://x.example.com/")
    deny = first_deny(way.steps)
    assert (hop(deny), deny.subject) == (("cni", "networkpolicy", "no-rule-matched", "deny"), "app/web")
    assert f"TCP/8080 from {INGRESS_NGINX}" in deny.message and where(deny) == (FILE, obj_line(text, "default-deny"))
    on_pod_port, text = analyse(*WEB_ISOLATED, policy("app", "web-from-nginx", {"app": "web"},
                                                      [_from_namespace("ingress-nginx", 8080)]))
    way = ingress_way(on_pod_port, "http://x.example.com/")
    assert way.allowed and way.reached == [("app/web", "TCP", 8080)]
    [allow] = [s for s in way.steps if s.reason.value == "allowed-by-rule"]
    assert (allow.subject, allow.policy.name, where(allow)) == (  # type: ignore[union-attr]
        "app/web", "web-from-nginx", (FILE, line_of(text, "ports: [{port: 8080}]")))


def test_ing6_the_controller_egress_policies_take_part_in_the_backend_hop() -> None:
    a, text = analyse(*WEB_ISOLATED[:2], WEB_ISOLATED[3],
                      policy("ingress-nginx", "nginx-egress-dns-only", {}, egress=[{"ports": [{"port": 53, "protocol": "UDP"}]}],
                             types=("Egress",)))
    way = ingress_way(a, "http://x.example.com/")
    deny = first_deny(way.steps)
    assert (hop(deny), deny.direction.value, deny.subject) == (
        ("cni", "networkpolicy", "no-rule-matched", "deny"), "egress", INGRESS_NGINX)
    assert where(deny) == (FILE, obj_line(text, "nginx-egress-dns-only")) and "TCP/8080" in deny.message


SHOP_FIX = """\
# The fix of the lab: admit the ingress controller's pods to web's pod port.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-ingress-nginx, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}
    ports: [{protocol: TCP, port: 8080}]
"""


@pytest.fixture
def fixed_shop(tmp_path: Path) -> Path:
    """A copy of examples/shop with the policy that admits ingress-nginx to web on 8080."""
    copy = tmp_path / "shop"
    shutil.copytree(SHOP, copy)
    (copy / "base" / "web-from-ingress-nginx.yaml").write_text(SHOP_FIX, encoding="utf-8")
    return copy


def test_ing6_the_fixed_lab_serves_shop_example_com_through_the_ingress_hop_by_hop(fixed_shop: Path) -> None:
    a = analyse_paths([str(fixed_shop)])
    exp = explain(a, "world", "https://shop.example.com/")
    assert exp.verdict.verdict == "allow"
    ingress_way_, gateway_way = exp.paths
    assert ingress_way_.via["kind"] == "Ingress" and ingress_way_.allowed
    ing, svc, fix, np = (str(fixed_shop / f) for f in ("entry/ingress.yaml", "base/workloads.yaml",
                                                       "base/web-from-ingress-nginx.yaml", "base/networkpolicies.yaml"))
    assert [(hop(s), s.subject, where(s)) for s in ingress_way_.steps] == [
        (("entry", "ingress", "routed", "allow"), "web-ing", (ing, 18)),
        (("entry", "tls", "tls", "warn"), "web-ing", (ing, 12)),                       # shop-tls is not in the input
        (("cni", "none", "not-a-pod", "allow"), exp.verdict.source.label, None),        # world: no egress policy
        (("cni", "default", "not-isolated", "allow"), INGRESS_NGINX, None),            # world → controller :443
        (("service", "service", "service-translated", "allow"), "web-ing", (svc, 18)),  # web:80 → pod port 8080
        (("cni", "default", "not-isolated", "allow"), INGRESS_NGINX, None),            # controller egress
        (("cni", "networkpolicy", "isolated", "none"), "shop/web", (np, 3)),           # web ingress: isolated ...
        (("cni", "networkpolicy", "allowed-by-rule", "allow"), "shop/web", (fix, 9)),  # ... and admitted on 8080
    ]
    assert ingress_way_.reached == [("shop/web", "TCP", 8080)]
    assert exp.verdict.allowed_ports.to_json() == {"TCP": [[8080, 8080]]}
    # The Gateway is still no way in (its route is not accepted).
    assert not gateway_way.allowed
    # The map: world reaches shop/web on 8080 through the Ingress, and says so.
    cmap = connectivity_map(a)
    [edge] = [c for c in cmap.connections if c.src == "world"]
    assert (edge.dst, edge.ports.to_json(), [v["name"] for v in edge.via or []]) == (
        "shop/web", {"TCP": [[8080, 8080]]}, ["web-ing"])
    assert edge.services == [{"name": "shop/web", "port": 80, "targetPort": 8080, "protocol": "TCP"}]


CHART_CONTROLLER = deployment("ingress-system", "ctl", {"app.kubernetes.io/name": "ingress-nginx",
                                                       "app.kubernetes.io/component": "controller"},
                              [(80, "http"), (443, "https")])


def test_ing6_a_controller_in_the_input_with_the_ingress_nginx_chart_labels_replaces_the_stand_in() -> None:
    admit = policy("app", "web-from-ctl", {"app": "web"}, [_from_namespace("ingress-system", 8080)])
    a, _ = analyse(namespace("ingress-system"), CHART_CONTROLLER, *WEB_ISOLATED, admit)
    assert a.cluster.workload(INGRESS_NGINX) is None
    assert [d for d in a.diagnostics.items if d.code == "assumed-peer"] == []
    way = ingress_way(a, "http://x.example.com/")
    assert way.via["controller"] == "ingress-system/ctl"
    assert way.allowed and way.reached == [("app/web", "TCP", 8080)]
    assert {s.subject for s in way.steps if s.layer == "cni" and s.direction.value == "egress"} >= {"ingress-system/ctl"}
    # The same policy does not admit the stand-in: without the controller in the input, it is denied.
    b, _ = analyse(*WEB_ISOLATED, admit)
    assert [w.id for w in b.cluster.workloads if w.assumed] == [INGRESS_NGINX]
    assert not ingress_way(b, "http://x.example.com/").allowed


def test_ing6_the_ingress_controller_option_names_the_controller_workload() -> None:
    proxy = deployment("edge", "proxy", {"app": "proxy"}, [(80, "http")])
    admit = policy("app", "web-from-edge", {"app": "web"}, [_from_namespace("edge", 8080)])
    a, _ = analyse(namespace("edge"), proxy, *WEB_ISOLATED, admit, options=Options(ingress_controller="edge/proxy"))
    way = ingress_way(a, "http://x.example.com/")
    assert way.via["controller"] == "edge/proxy" and way.allowed
    assert a.cluster.workload(INGRESS_NGINX) is None
    assert "ingress-controller=edge/proxy" in explain(a, "world", "http://x.example.com/").options
    default, _ = analyse(namespace("edge"), proxy, *WEB_ISOLATED, admit)
    assert ingress_way(default, "http://x.example.com/").via["controller"] == INGRESS_NGINX
    assert not ingress_way(default, "http://x.example.com/").allowed


def test_ing6_an_ingress_controller_option_naming_no_workload_is_an_error_and_the_stand_in_is_used() -> None:
    a, _ = analyse(*WEB_ISOLATED, options=Options(ingress_controller="edge/nope"))
    [err] = [d for d in a.diagnostics.items if d.code == "no-such-workload"]
    assert err.severity.value == "error" and "edge/nope" in err.message
    assert ingress_way(a, "http://x.example.com/").via["controller"] == INGRESS_NGINX


def test_ing6_the_ingress_controller_option_on_the_command_line(fixed_shop: Path) -> None:
    result = CliRunner().invoke(main, ["explain", str(fixed_shop), "--from", "world", "--to", "https://shop.example.com/",
                                       "--ingress-controller", "kube-system/coredns", "--format", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 1  # coredns is not in ingress-nginx: the fix does not admit it
    doc = __import__("json").loads(result.stdout)
    assert doc["paths"][0]["via"]["controller"] == "kube-system/coredns"
    assert "ingress-controller=kube-system/coredns" in doc["options"]
