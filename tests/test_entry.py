"""Services, Ingress and Gateway API entry points (issue 3), as specifications.

Each test builds a small cluster (tests/entry_helpers.py), asks the public API (or the command
line) one question, and asserts the outcome that decides it: the verdict, the hop that decides
(its reason, policy and file:line), and the exact ports. Rules: docs/semantics.md §2 (SVC-1 … 6)
and §7 (GW-1 … 5, ING-1 … 7), and the "Services and entry points" section of the project's
docs/semantics.md.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

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
from kubeward import Analysis, Options, analyse_paths, analyse_text, check, connectivity_map, explain
from kubeward.analyses.entry import EntryPath
from kubeward.cli import main

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "examples" / "shop"
INGRESS_NGINX = "ingress-nginx/ingress-nginx-controller"
GW_GROUP = "gateway.networking.k8s.io"

# A client and a namespace every cluster below starts from.
APP = docs(namespace("app"), deployment("app", "client", {"app": "client"}))


def analyse(*objects: str, options: Options | None = None) -> tuple[Analysis, str]:
    text = docs(APP, *objects)
    return analyse_text(text, FILE, options), text


def reached(path_: EntryPath) -> list[tuple[str, str, int]]:
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

    def fronts(dst: str) -> list[tuple[object, object]]:
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


def test_svc1_a_headless_service_is_no_translation_the_client_reaches_the_pods_on_the_port_it_dials() -> None:
    headless = service("app", "db", {"app": "db"}, [{"port": 80, "targetPort": "http"}]).replace(
        "spec:\n", "spec:\n  clusterIP: None\n")
    a, _ = analyse(deployment("app", "db", {"app": "db"}, [(8080, "http")]), headless)
    assert explain(a, "app/client", "service/app/db", 80).paths[0].reached == [("app/db", "TCP", 80)]


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


def _route_to_edge(listener: dict[str, Any], route_ns: str = "team", *extra: str) -> tuple[Analysis, str]:
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
def test_gw1_a_route_in_another_namespace_is_accepted_when_allowed_routes_admit_its_namespace(
        allowed: dict[str, Any]) -> None:
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
        *WEB, ingress("app", "ing", [("a.example.com", [path("/bad", "Prefix", "web", 81),
                                                         path("/", "Prefix", "web", 80),
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
    for wrong in (reference_grant("team", "here", grant, [{"group": "", "kind": "Service"}]),  # wrong namespace
                  reference_grant("app", "other", grant,
                                  [{"group": "", "kind": "Service", "name": "api"}]),  # other name
                  reference_grant("app", "other-ns", [{"group": GW_GROUP, "kind": "HTTPRoute", "namespace": "x"}],
                                  [{"group": "", "kind": "Service"}])):  # other source
        still, _ = analyse(TEAM, *WEB, edge, CROSS_ROUTE, wrong)
        assert len(codes_at(still, "ref-not-permitted")) == 1


def test_gw2_a_listener_certificate_in_another_namespace_needs_a_reference_grant() -> None:
    listener = {"name": "https", "protocol": "HTTPS", "port": 443,
                "tls": {"certificateRefs": [{"name": "wild", "namespace": "certs"}]}}
    a, text = analyse(gateway("infra", "edge", [listener]), secret("certs", "wild"))
    assert codes_at(a, "ref-not-permitted") == [
        (FILE, line_of(text, "certificateRefs: [{name: wild, namespace: certs}]"))]
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
                      ingress("app", "off", rules, tls=tls,
                              annotations={"nginx.ingress.kubernetes.io/ssl-redirect": "false"}))
    [note] = [d for d in a.diagnostics.items if d.code == "redundant-annotation"]
    assert (note.file, note.line, note.severity.value) == (FILE, obj_line(text, "with-tls"), "info")


def test_listener_without_certificate_is_warned_for_an_https_listener_that_terminates_without_certificate_refs(
) -> None:
    a, text = analyse(gateway("infra", "edge", [{"name": "bare", "protocol": "HTTPS", "port": 443},
                                                {"name": "empty", "protocol": "HTTPS", "port": 8443,
                                                 "tls": {"mode": "Terminate"}},
                                                {"name": "pass", "protocol": "TLS", "port": 9443,
                                                 "tls": {"mode": "Passthrough"}}]))
    assert codes_at(a, "listener-without-certificate") == [(FILE, line_of(text, "name: bare")),
                                                           (FILE, line_of(text, "name: empty"))]


# =========================================================================== 3. from outside


def _exposed(type_: str, etp: str | None = None, *extra: str) -> tuple[Analysis, str]:
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
    doc: dict[str, Any] = exp.to_json()
    assert doc["flow"]["to"] == {"peer": "service/app/web", "type": "service", "id": "app/web",
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
    assert deny.policy is not None and (deny.policy.name, where(deny)) == (
        "default-deny", (FILE, obj_line(text, "default-deny")))
    assert "TCP/8080" in deny.message


def test_an_exposed_service_is_allowed_from_world_by_an_ip_block_rule_for_every_address() -> None:
    a, text = _exposed("LoadBalancer", "Local", DEFAULT_DENY, FROM_ANYWHERE)
    exp = explain(a, "world", "service/app/web", 80)
    assert exp.verdict.verdict == "allow"
    [allow] = [s for s in exp.paths[0].steps if s.reason.value == "allowed-by-rule"]
    assert allow.policy is not None
    assert (allow.policy.name, where(allow)) == ("web-from-anywhere", (FILE, line_of(text, "ipBlock")))
    assert exp.verdict.allowed_ports.to_json() == {"TCP": [[8080, 8080]]}


@pytest.mark.parametrize("headless", [False, True], ids=["ClusterIP", "headless"])
def test_svc3_a_cluster_ip_service_is_not_exposed_to_world(headless: bool) -> None:
    svc = service("app", "web", {"app": "web"}, [{"port": 80, "targetPort": "http"}])
    if headless:
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
    [edge] = [c for c in cmap.connections if c.src == "world" and c.via]  # issue 17: via an entry
    assert (edge.dst, edge.ports.to_json()) == ("app/web", {"TCP": [[8080, 8080]]})
    assert edge.via == [{"kind": "Service", "namespace": "app", "name": "web", "port": 80, "type": "NodePort"}]
    assert [(e.to_json()["verdict"], e.to_json()["reached"]) for e in cmap.entries] == [
        ("allow", [{"workload": "app/web", "protocol": "TCP", "port": 8080}])]
    # issue 17: the whole address space and the entry points' outside are one peer, world
    assert {"id": "world", "type": "network", "cidrs": ["0.0.0.0/0"]} in [p.to_json() for p in cmap.peers]
    denied, _ = _exposed("NodePort", None, DEFAULT_DENY)
    dmap = connectivity_map(denied)
    assert [c for c in dmap.connections if c.src == "world" and c.via] == []  # issue 17: via
    entry: dict[str, Any] = dmap.entries[0].to_json()
    assert entry["blockedBy"]["policy"]["name"] == "default-deny"


# =========================================================================== 4. Ingress

# Five backends: Service app/X port 80 → pod port 8080 ("http") of Deployment app/X.
BACKENDS = [obj for name in "abcde" for obj in (
    deployment("app", name, {"app": name}, [(8080, "http")]),
    service("app", name, {"app": name}, [{"port": 80, "targetPort": "http"}]))]


def ingress_way_or_none(analysis: Analysis, url: str) -> EntryPath | None:
    """The one way in through the ingress controller for ``url``, or None when no Ingress serves it."""
    ways = [w for w in explain(analysis, "world", url).paths if w.via.get("kind") in ("Ingress", "IngressClass")]
    assert len(ways) <= 1
    return ways[0] if ways else None


def ingress_way(analysis: Analysis, url: str) -> EntryPath:
    """The one way in through the ingress controller for ``url``; the test fails when there is none."""
    way = ingress_way_or_none(analysis, url)
    assert way is not None, f"no Ingress serves {url}"
    return way


def served_by(analysis: Analysis, url: str) -> str | None:
    """The Service an Ingress sends ``url`` to; "404" when the controller has no rule for it;
    None when no Ingress serves the host at all."""
    way = ingress_way_or_none(analysis, url)
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
    assert served_by(a, "http://example.com/") is None           # ... and never zero labels
    denied = explain(a, "world", "http://a.b.example.com/")
    assert (denied.verdict.verdict, [hop(s) for s in denied.verdict.steps]) == (
        "deny", [("entry", "entry", "no-route", "deny")])


def test_ing2_rules_without_host_serve_every_host_that_no_host_rule_names() -> None:
    a, _ = analyse(*BACKENDS, ingress("app", "hosts", [("foo.example.com", [path("/", "Prefix", "a")]),
                                                       ("", [path("/", "Prefix", "c")])]))
    assert served_by(a, "http://foo.example.com/") == "app/a"
    assert served_by(a, "http://a.b.example.com/") == "app/c"
    assert served_by(a, "http://10.0.0.1/") == "app/c"


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
    a, _ = analyse(*BACKENDS, ingress("app", "r", [("x.example.com",
                                                    [path("/api/v[0-9]+", "ImplementationSpecific", "a"),
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
    assert [hop(s) for s in way.steps][:2] == [("entry", "ingress", "routed", "allow"),
                                               ("entry", "tls", "tls", "allow")]
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
    assert (hop(deny), deny.subject, where(deny)) == (("cni", "networkpolicy", "no-rule-matched", "deny"),
                                                      INGRESS_NGINX, (FILE, obj_line(text, "https-only")))
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
    assert (hop(terminated), where(terminated)) == (("entry", "tls", "tls", "allow"),
                                                    (FILE, line_of(text, "secretName: x-tls")))


# ING-6: the controller proxies to the pod IP and target port, from its own pods.
WEB_ISOLATED = [deployment("app", "web", {"app": "web"}, [(8080, "http")]),
                service("app", "web", {"app": "web"}, [{"port": 80, "targetPort": "http"}]),
                policy("app", "default-deny", {}, []),
                ingress("app", "web", [("x.example.com", [path("/", "Prefix", "web")])])]


def _from_namespace(ns: str, port: int | str) -> dict[str, Any]:
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
    assert allow.policy is not None
    assert (allow.subject, allow.policy.name, where(allow)) == (
        "app/web", "web-from-nginx", (FILE, line_of(text, "ports: [{port: 8080}]")))


def test_ing6_the_controller_egress_policies_take_part_in_the_backend_hop() -> None:
    a, text = analyse(*WEB_ISOLATED[:2], WEB_ISOLATED[3],
                      policy("ingress-nginx", "nginx-egress-dns-only", {},
                             egress=[{"ports": [{"port": 53, "protocol": "UDP"}]}], types=("Egress",)))
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
        (("mesh", "mesh", "mesh-inert", "allow"), INGRESS_NGINX, None),                # no sidecar: Istio inert
        (("service", "service", "service-translated", "allow"), "web-ing", (svc, 18)),  # web:80 → pod port 8080
        (("cni", "default", "not-isolated", "allow"), INGRESS_NGINX, None),            # controller egress
        (("cni", "networkpolicy", "isolated", "none"), "shop/web", (np, 3)),           # web ingress: isolated ...
        (("cni", "networkpolicy", "allowed-by-rule", "allow"), "shop/web", (fix, 9)),  # ... and admitted on 8080
        (("mesh", "mesh", "mesh-inert", "allow"), "shop/web", None),                   # the lab has no sidecars
    ]
    assert ingress_way_.reached == [("shop/web", "TCP", 8080)]
    assert exp.verdict.allowed_ports.to_json() == {"TCP": [[8080, 8080]]}
    # The Gateway is still no way in (its route is not accepted).
    assert not gateway_way.allowed
    # The map: world reaches shop/web on 8080 through the Ingress, and says so.
    cmap = connectivity_map(a)
    [edge] = [c for c in cmap.connections if c.src == "world" and c.via]  # issue 17: via an entry
    assert (edge.dst, edge.ports.to_json(), [v["name"] for v in edge.via or []]) == (
        "shop/web", {"TCP": [[8080, 8080]]}, ["web-ing"])
    assert [(e.via.get("name"), e.to_json()["verdict"]) for e in cmap.entries] == [
        ("web-ing", "allow"), ("shop-route", "deny")]


def test_the_world_edge_through_an_ingress_names_the_service_port_that_fronts_the_backend(fixed_shop: Path) -> None:
    [edge] = [c for c in connectivity_map(analyse_paths([str(fixed_shop)])).connections if c.src == "world" and c.via]
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
    assert {s.subject for s in way.steps
            if s.layer == "cni" and s.direction.value == "egress"} >= {"ingress-system/ctl"}
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
    doc = json.loads(result.stdout)
    assert doc["paths"][0]["via"]["controller"] == "kube-system/coredns"
    assert "ingress-controller=kube-system/coredns" in doc["options"]


# =========================================================================== 5. Gateway API


def gateway_way_or_none(analysis: Analysis, url: str, method: str = "GET",
                        headers: tuple[tuple[str, str], ...] = ()) -> EntryPath | None:
    """The one way in through a Gateway for ``url``, or None when no listener takes it."""
    ways = [w for w in explain(analysis, "world", url, method=method, headers=headers).paths
            if w.via.get("kind") == "Gateway"]
    assert len(ways) <= 1
    return ways[0] if ways else None


def gateway_way(analysis: Analysis, url: str) -> EntryPath:
    """The one way in through a Gateway for ``url``; the test fails when there is none."""
    way = gateway_way_or_none(analysis, url)
    assert way is not None, f"no Gateway listener takes {url}"
    return way


def gw_served(analysis: Analysis, url: str, method: str = "GET",
              headers: tuple[tuple[str, str], ...] = ()) -> str | list[str] | None:
    """The workloads a Gateway sends ``url`` to; "404" when no route takes it; None when no
    listener does."""
    way = gateway_way_or_none(analysis, url, method, headers)
    if way is None:
        return None
    if any(s.reason.value == "no-route" for s in way.steps):
        return "404"
    return [w for w, _, _ in sorted(way.reached)]


def rule(*backends: str, matches: list[dict[str, Any]] | None = None,
         weights: dict[str, int] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"backendRefs": [
        {"name": b, "port": 80, **({"weight": weights[b]} if weights and b in weights else {})} for b in backends]}
    if matches is not None:
        out["matches"] = matches
    return out


def prefix(value: str, **extra: object) -> dict[str, Any]:
    return {"path": {"type": "PathPrefix", "value": value}, **extra}


EDGE_HTTP = {"name": "http", "protocol": "HTTP", "port": 80}


def test_gw_the_map_checks_each_route_rule_with_a_request_built_from_its_own_host_path_and_method() -> None:
    a, _ = analyse(*BACKENDS, gateway("app", "gw", [EDGE_HTTP]), http_route(
        "app", "r", [{"name": "gw"}], [rule("a", matches=[prefix("/shop", method="POST")])],
        hostnames=["x.example.com"]))
    cmap = connectivity_map(a)
    via = {"kind": "Gateway", "namespace": "app", "name": "gw", "listener": "http", "route": "HTTPRoute app/r",
           "rule": 0, "dataPlane": "app/gw-nginx"}
    [entry] = cmap.entries
    assert entry.to_json() == {"via": via, "request": "http://x.example.com/shop", "verdict": "allow",
                               "reached": [{"workload": "app/a", "protocol": "TCP", "port": 8080}]}
    [edge] = [c for c in cmap.connections if c.src == "world" and c.via]  # issue 17: via an entry
    assert (edge.dst, edge.ports.to_json(), edge.via) == ("app/a", {"TCP": [[8080, 8080]]}, [via])
    # The same URL with GET matches no rule: explain and map agree that it takes POST.
    assert gw_served(a, "http://x.example.com/shop") == "404"
    assert gw_served(a, "http://x.example.com/shop", "POST") == ["app/a"]


@pytest.mark.parametrize(("allowed", "expected"), [
    (None, "404"),                                                                  # default: Same
    ({"namespaces": {"from": "Same"}}, "404"),
    ({"namespaces": {"from": "All"}}, ["app/a"]),
    ({"namespaces": {"from": "Selector", "selector": {"matchLabels": {"kubernetes.io/metadata.name": "app"}}}},
     ["app/a"]),
    ({"namespaces": {"from": "Selector", "selector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}}}},
     "404"),
], ids=["default", "Same", "All", "Selector-matching", "Selector-not-matching"])
def test_gw1_which_namespaces_a_listener_takes_routes_from_decides_whether_their_requests_are_routed(
        allowed: dict[str, Any] | None, expected: object) -> None:
    listener = {**EDGE_HTTP, **({"allowedRoutes": allowed} if allowed else {})}
    a, text = analyse(*BACKENDS, gateway("infra", "edge", [listener]),
                      http_route("app", "r", [{"name": "edge", "namespace": "infra"}], [rule("a")]))
    assert gw_served(a, "http://x.example.com/") == expected
    if expected == "404":
        way = gateway_way(a, "http://x.example.com/")
        assert [hop(s) for s in way.steps] == [("entry", "gateway", "routed", "allow"),
                                               ("entry", "route", "route-not-accepted", "none"),
                                               ("entry", "route", "no-route", "deny")]
        assert where(way.steps[1]) == (FILE, line_of(text, "- {name: edge, namespace: infra}"))
        assert "NotAllowedByListeners" in way.steps[1].message


def test_gw1_a_route_in_the_gateway_namespace_is_accepted_by_default() -> None:
    a, text = analyse(*BACKENDS, gateway("app", "gw", [EDGE_HTTP]),
                      http_route("app", "r", [{"name": "gw"}], [rule("a")]))
    way = gateway_way(a, "http://x.example.com/")
    assert [hop(s) for s in way.steps][:2] == [("entry", "gateway", "routed", "allow"),
                                               ("entry", "route", "routed", "allow")]
    assert where(way.steps[0]) == (FILE, line_of(text, "name: http, protocol: HTTP"))
    assert where(way.steps[1]) == (FILE, line_of(text, "- matches:"))
    assert way.via == {"kind": "Gateway", "namespace": "app", "name": "gw", "listener": "http",
                       "route": "HTTPRoute app/r", "rule": 0, "dataPlane": "app/gw-nginx"}
    assert way.reached == [("app/a", "TCP", 8080)]


TWO_LISTENERS = gateway("app", "gw", [EDGE_HTTP, {"name": "https", "protocol": "HTTPS", "port": 443,
                                                  "tls": {"certificateRefs": [{"name": "gw-cert"}]}}])


@pytest.mark.parametrize(("parent", "http", "https"), [
    ({"name": "gw"}, ["app/a"], ["app/a"]),
    ({"name": "gw", "sectionName": "http"}, ["app/a"], "404"),
    ({"name": "gw", "sectionName": "https"}, "404", ["app/a"]),
    ({"name": "gw", "port": 443}, "404", ["app/a"]),
], ids=["both-listeners", "sectionName-http", "sectionName-https", "port-443"])
def test_gw_a_parent_ref_section_name_or_port_attaches_the_route_to_those_listeners_only(
        parent: dict[str, Any], http: object, https: object) -> None:
    a, _ = analyse(*BACKENDS, secret("app", "gw-cert"), TWO_LISTENERS, http_route("app", "r", [parent], [rule("a")]))
    assert gw_served(a, "http://x.example.com/") == http
    assert gw_served(a, "https://x.example.com/") == https


def test_gw_a_parent_ref_to_a_listener_that_does_not_exist_is_not_accepted() -> None:
    a, text = analyse(*BACKENDS, TWO_LISTENERS,
                      http_route("app", "r", [{"name": "gw", "sectionName": "grpc"}], [rule("a")]))
    [diag] = [d for d in a.diagnostics.items if d.code == "route-not-accepted"]
    assert (diag.line, "NoMatchingParent" in diag.message) == (line_of(text, "sectionName: grpc"), True)


HOSTNAMED = gateway("app", "gw", [{**EDGE_HTTP, "hostname": "*.example.com"}])


def test_gw4_a_route_whose_hostnames_do_not_intersect_the_listener_hostname_is_not_accepted() -> None:
    a, text = analyse(*BACKENDS, HOSTNAMED,
                      http_route("app", "r", [{"name": "gw"}], [rule("a")], hostnames=["foo.other.com"]))
    [diag] = [d for d in a.diagnostics.items if d.code == "route-not-accepted"]
    assert (diag.line, "NoMatchingListenerHostname" in diag.message) == (line_of(text, "- {name: gw}"), True)
    assert gw_served(a, "http://foo.example.com/") == "404"
    assert gw_served(a, "http://foo.other.com/") is None  # no listener for that host at all


def test_gw4_listener_and_route_hostnames_intersect_and_a_request_must_match_both() -> None:
    a, _ = analyse(*BACKENDS, HOSTNAMED, http_route("app", "r", [{"name": "gw"}], [rule("a")],
                                                    hostnames=["a.example.com", "foo.other.com"]))
    assert codes_at(a, "route-not-accepted") == []
    assert gw_served(a, "http://a.example.com/") == ["app/a"]
    assert gw_served(a, "http://b.example.com/") == "404"   # the listener takes it; the route does not
    assert gw_served(a, "http://foo.other.com/") is None    # the route names it; no listener takes it


def test_gw4_a_gateway_wildcard_matches_any_number_of_labels_but_not_the_bare_domain() -> None:
    a, _ = analyse(*BACKENDS, HOSTNAMED, http_route("app", "r", [{"name": "gw"}], [rule("a")]))
    assert gw_served(a, "http://a.b.example.com/") == ["app/a"]
    assert gw_served(a, "http://example.com/") is None


def test_gw4_a_request_goes_to_the_listener_with_the_most_specific_hostname() -> None:
    a, _ = analyse(*BACKENDS, gateway("app", "gw", [{**EDGE_HTTP, "name": "wild", "hostname": "*.example.com"},
                                                    {**EDGE_HTTP, "name": "foo", "hostname": "foo.example.com"}]),
                   http_route("app", "to-wild", [{"name": "gw", "sectionName": "wild"}], [rule("a")]),
                   http_route("app", "to-foo", [{"name": "gw", "sectionName": "foo"}], [rule("b")]))
    assert gw_served(a, "http://foo.example.com/") == ["app/b"]
    assert gw_served(a, "http://bar.example.com/") == ["app/a"]
    assert gateway_way(a, "http://foo.example.com/").via["listener"] == "foo"


PATHS_ROUTE = http_route("app", "paths", [{"name": "gw"}], [
    rule("a", matches=[{"path": {"type": "Exact", "value": "/exact"}}]),
    rule("b", matches=[prefix("/prefix")]),
    rule("c", matches=[{"path": {"type": "RegularExpression", "value": "/re/[0-9]+"}}]),
])


@pytest.mark.parametrize(("request_path", "expected"), [
    ("/exact", ["app/a"]), ("/exact/", "404"), ("/Exact", "404"),
    ("/prefix", ["app/b"]), ("/prefix/", ["app/b"]), ("/prefix/x", ["app/b"]), ("/prefixx", "404"),
    ("/re/123", ["app/c"]), ("/re/12a", "404"), ("/re/", "404"),
])
def test_gw5_path_matches_exact_path_prefix_and_regular_expression(request_path: str, expected: object) -> None:
    a, _ = analyse(*BACKENDS, gateway("app", "gw", [EDGE_HTTP]), PATHS_ROUTE)
    assert gw_served(a, f"http://x.example.com{request_path}") == expected


def test_gw5_a_rule_without_matches_takes_every_path() -> None:
    a, _ = analyse(*BACKENDS, gateway("app", "gw", [EDGE_HTTP]), http_route("app", "r", [{"name": "gw"}], [rule("a")]))
    assert gw_served(a, "http://x.example.com/any/thing") == ["app/a"]


PRECEDENCE_ROUTE = http_route("app", "prec", [{"name": "gw"}], [
    rule("a", matches=[prefix("/")]),
    rule("b", matches=[prefix("/", method="POST")]),
    rule("c", matches=[prefix("/", headers=[{"name": "Version", "value": "v2"}])]),
    rule("d", matches=[prefix("/api")]),
    rule("e", matches=[{"path": {"type": "Exact", "value": "/api"}}]),
])


@pytest.mark.parametrize(("method", "request_path", "headers", "expected"), [
    ("GET", "/", (), "app/a"),
    ("POST", "/", (), "app/b"),                        # a method match beats none
    ("GET", "/", (("version", "v2"),), "app/c"),       # a header match beats none (names are case-insensitive)
    ("GET", "/", (("version", "v3"),), "app/a"),
    ("POST", "/", (("version", "v2"),), "app/b"),      # a method match beats a header match
    ("POST", "/api/x", (("version", "v2"),), "app/d"),  # a longer prefix beats method and headers
    ("POST", "/api", (), "app/e"),                     # an Exact path beats everything
])
def test_gw5_among_matching_rules_exact_then_longest_prefix_then_method_then_headers_win(
        method: str, request_path: str, headers: tuple[tuple[str, str], ...], expected: str) -> None:
    a, _ = analyse(*BACKENDS, gateway("app", "gw", [EDGE_HTTP]), PRECEDENCE_ROUTE)
    assert gw_served(a, f"http://x.example.com{request_path}", method, headers) == [expected]


def test_gw5_ties_go_to_the_oldest_route_then_to_the_first_by_namespace_and_name_then_to_the_first_rule() -> None:
    gw = gateway("app", "gw", [EDGE_HTTP])
    old_zeta = http_route("app", "zeta", [{"name": "gw"}], [rule("a")], created="2024-01-01T00:00:00Z")
    new_alpha = http_route("app", "alpha", [{"name": "gw"}], [rule("b")], created="2024-06-01T00:00:00Z")
    a, _ = analyse(*BACKENDS, gw, old_zeta, new_alpha)
    assert gw_served(a, "http://x.example.com/") == ["app/a"]
    same_age = [r.replace("2024-06-01", "2024-01-01") for r in (old_zeta, new_alpha)]
    b, _ = analyse(*BACKENDS, gw, *same_age)
    assert gw_served(b, "http://x.example.com/") == ["app/b"]  # app/alpha before app/zeta
    c, _ = analyse(*BACKENDS, gw, http_route("app", "r", [{"name": "gw"}], [rule("c"), rule("d")]))
    assert gw_served(c, "http://x.example.com/") == ["app/c"]
    assert gateway_way(c, "http://x.example.com/").via["rule"] == 0


def test_gw_the_route_with_the_more_specific_hostname_takes_precedence_over_a_better_path_match() -> None:
    a, _ = analyse(*BACKENDS, gateway("app", "gw", [EDGE_HTTP]),
                   http_route("app", "wild", [{"name": "gw"}],
                              [rule("a", matches=[{"path": {"type": "Exact", "value": "/login"}}])],
                              hostnames=["*.example.com"]),
                   http_route("app", "exact", [{"name": "gw"}], [rule("b")], hostnames=["foo.example.com"]))
    assert gw_served(a, "http://bar.example.com/login") == ["app/a"]
    assert gw_served(a, "http://foo.example.com/login") == ["app/b"]


def test_gw_a_backend_with_weight_0_never_receives_traffic() -> None:
    a, _ = analyse(*BACKENDS, gateway("app", "gw", [EDGE_HTTP]),
                   http_route("app", "r", [{"name": "gw"}], [rule("a", "b", "c", weights={"a": 0, "b": 1, "c": 3})]))
    assert gw_served(a, "http://x.example.com/") == ["app/b", "app/c"]


def test_gw_a_rule_whose_backends_all_have_weight_0_fails_every_request() -> None:
    a, text = analyse(*BACKENDS, gateway("app", "gw", [EDGE_HTTP]),
                      http_route("app", "r", [{"name": "gw"}], [rule("a", weights={"a": 0})]))
    way = gateway_way(a, "http://x.example.com/")
    deny = first_deny(way.steps)
    assert (hop(deny), where(deny)) == (("entry", "route", "no-endpoints", "deny"), (FILE, line_of(text, "- matches:")))
    assert not way.allowed and way.reached == []


TEAM_BACKEND = [namespace("team"), deployment("team", "svc", {"app": "svc"}, [(9000, "grpc")]),
                service("team", "svc", {"app": "svc"}, [{"port": 80, "targetPort": "grpc"}])]
TO_TEAM = http_route("app", "r", [{"name": "gw"}],
                     [{"backendRefs": [{"name": "svc", "namespace": "team", "port": 80}]}])


def test_gw2_a_backend_in_another_namespace_without_a_reference_grant_fails_its_requests() -> None:
    a, text = analyse(*TEAM_BACKEND, gateway("app", "gw", [EDGE_HTTP]), TO_TEAM)
    way = gateway_way(a, "http://x.example.com/")
    deny = first_deny(way.steps)
    assert (hop(deny), where(deny)) == (("entry", "route", "backend-invalid", "deny"),
                                        (FILE, line_of(text, "{name: svc, namespace: team, port: 80}")))
    assert "RefNotPermitted" in deny.message
    assert not way.allowed and way.reached == []


def test_gw2_a_reference_grant_in_the_backend_namespace_lets_the_route_reach_it_on_its_pod_port() -> None:
    grant = reference_grant("team", "let-app", [{"group": GW_GROUP, "kind": "HTTPRoute", "namespace": "app"}],
                            [{"group": "", "kind": "Service"}])
    a, _ = analyse(*TEAM_BACKEND, gateway("app", "gw", [EDGE_HTTP]), TO_TEAM, grant)
    way = gateway_way(a, "http://x.example.com/")
    assert way.allowed and way.reached == [("team/svc", "TCP", 9000)]
    assert [s for s in way.steps if s.effect == "deny"] == []


def test_gw2_a_listener_certificate_in_another_namespace_without_a_grant_fails_the_https_listener() -> None:
    listener = {"name": "https", "protocol": "HTTPS", "port": 443,
                "tls": {"certificateRefs": [{"name": "wild", "namespace": "certs"}]}}
    a, text = analyse(*BACKENDS, secret("certs", "wild"), gateway("app", "gw", [listener]),
                      http_route("app", "r", [{"name": "gw"}], [rule("a")]))
    way = gateway_way(a, "https://x.example.com/")
    deny = first_deny(way.steps)
    assert (hop(deny), where(deny)) == (("entry", "tls", "tls", "deny"),
                                        (FILE, line_of(text, "certificateRefs: [{name: wild, namespace: certs}]")))
    assert not way.allowed and way.reached == []


GW_WEB = [deployment("app", "web", {"app": "web"}, [(8080, "http")]),
          service("app", "web", {"app": "web"}, [{"port": 80, "targetPort": "http"}]),
          policy("app", "default-deny", {}, []),
          gateway("infra", "edge", [{**EDGE_HTTP, "allowedRoutes": {"namespaces": {"from": "All"}}}]),
          http_route("app", "r", [{"name": "edge", "namespace": "infra"}], [rule("web")])]
FROM_EDGE_DATA_PLANE = {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "infra"}},
                                  "podSelector": {"matchLabels": {"gateway.networking.k8s.io/gateway-name": "edge"}}}],
                        "ports": [{"port": 8080}]}


def test_gw_the_backend_hop_is_judged_from_the_gateway_data_plane_pods_on_the_pod_port() -> None:
    a, text = analyse(*GW_WEB, policy("app", "web-from-edge", {"app": "web"}, [FROM_EDGE_DATA_PLANE]))
    way = gateway_way(a, "http://x.example.com/")
    assert way.via["dataPlane"] == "infra/edge-nginx"
    assert way.allowed and way.reached == [("app/web", "TCP", 8080)]
    [allow] = [s for s in way.steps if s.reason.value == "allowed-by-rule"]
    assert (allow.subject, where(allow)) == (
        "app/web", (FILE, line_of(text, "gateway.networking.k8s.io/gateway-name: edge")))
    # A policy that admits the ingress controller instead does not admit the Gateway's pods.
    b, text = analyse(*GW_WEB, policy("app", "web-from-nginx", {"app": "web"},
                                      [_from_namespace("ingress-nginx", 8080)]))
    deny = first_deny(gateway_way(b, "http://x.example.com/").steps)
    assert (hop(deny), where(deny)) == (("cni", "networkpolicy", "no-rule-matched", "deny"),
                                        (FILE, obj_line(text, "default-deny")))
    assert "TCP/8080 from infra/edge-nginx" in deny.message


def test_gw_a_data_plane_in_the_input_labelled_with_the_gateway_name_replaces_the_stand_in() -> None:
    envoy = deployment("infra", "envoy-edge", {"gateway.networking.k8s.io/gateway-name": "edge", "app": "envoy"},
                       [(80, "http")])
    a, _ = analyse(namespace("infra"), envoy, *GW_WEB,
                   policy("app", "web-from-edge", {"app": "web"}, [FROM_EDGE_DATA_PLANE]))
    assert a.cluster.workload("infra/edge-nginx") is None
    assert [d.message for d in a.diagnostics.items if d.code == "assumed-peer" and "Gateway" in d.message] == []
    way = gateway_way(a, "http://x.example.com/")
    assert way.via["dataPlane"] == "infra/envoy-edge" and way.allowed


# =========================================================================== 6. the lab, end to end

SHOP_NP = "examples/shop/base/networkpolicies.yaml"
SHOP_GW = "examples/shop/entry/gateway.yaml"
SHOP_ING = "examples/shop/entry/ingress.yaml"
SHOP_URL = "https://shop.example.com/"


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def kubeward(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_the_lab_denies_shop_example_com_by_both_ways_in(at_root: None) -> None:
    exp = explain(analyse_paths(["examples/shop"]), "world", SHOP_URL)
    assert exp.verdict.verdict == "deny" and exp.verdict.allowed_ports.to_json() == {}
    ing, gw = exp.paths
    # Way 1, the Ingress: routed, then stopped by default-deny on web's pod port, from the controller.
    assert ing.via["kind"] == "Ingress" and ing.via["controller"] == INGRESS_NGINX
    deny = first_deny(ing.steps)
    assert (hop(deny), deny.direction.value, deny.subject, where(deny)) == (
        ("cni", "networkpolicy", "no-rule-matched", "deny"), "ingress", "shop/web", (SHOP_NP, 3))
    assert deny.policy is not None and deny.policy.display == "NetworkPolicy shop/default-deny"
    assert f"TCP/8080 from {INGRESS_NGINX}" in deny.message
    # Way 2, the Gateway: its listener takes the request, the route is not accepted (GW-1), 404.
    assert gw.via == {"kind": "Gateway", "namespace": "infra", "name": "edge", "listener": "https"}
    assert [(hop(s), where(s)) for s in gw.steps] == [
        (("entry", "gateway", "routed", "allow"), (SHOP_GW, 8)),
        (("entry", "tls", "tls", "warn"), (SHOP_GW, 14)),              # edge-cert is not in the input
        (("entry", "route", "route-not-accepted", "none"), (SHOP_GW, 21)),
        (("entry", "route", "no-route", "deny"), (SHOP_GW, 8)),
    ]
    assert "NotAllowedByListeners" in gw.steps[2].message


def test_explain_of_the_lab_url_prints_each_way_in_with_its_first_failing_hop(at_root: None) -> None:
    result = kubeward("explain", "examples/shop", "--from", "world", "--to", SHOP_URL)
    assert result.exit_code == 1
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert lines[0].startswith("DENY  world (") and lines[0].endswith(f"-> {SHOP_URL}  TCP/443")
    assert [line for line in lines if line.startswith("way ")] == [
        "way 1 of 2: via Ingress shop/web-ing host shop.example.com path / → Service shop/web:80 — DENY",
        "way 2 of 2: via Gateway infra/edge listener https — DENY",
    ]
    assert [line for line in lines if line.startswith("first failing hop:")] == [
        f"first failing hop: ingress of shop/web: NetworkPolicy shop/default-deny ({SHOP_NP}:3): shop/web is "
        "isolated for ingress by NetworkPolicy shop/default-deny, and no ingress rule of them allows TCP/8080 from "
        f"{INGRESS_NGINX}: denied (NP-3, NP-4)",
        f"first failing hop: entry: Gateway infra/edge ({SHOP_GW}:8): no route attached to Gateway infra/edge "
        f"listener https matches {SHOP_URL} (404)",
    ]
    assert lines[-1] == "verdict: deny — no way in reaches the destination"


def test_explain_json_of_the_lab_url_has_a_url_target_and_one_path_per_way_in(at_root: None) -> None:
    result = kubeward("explain", "examples/shop", "--from", "world", "--to", SHOP_URL, "--format", "json")
    doc = json.loads(result.stdout)
    assert doc["verdict"] == "deny"
    assert doc["flow"]["to"] == {"peer": SHOP_URL, "type": "url", "url": SHOP_URL, "host": "shop.example.com",
                                 "port": 443, "path": "/", "method": "GET"}
    assert [(p["via"]["kind"], p["verdict"], p["allowedPorts"]) for p in doc["paths"]] == [
        ("Ingress", "deny", {}), ("Gateway", "deny", {})]
    assert doc["trace"] == doc["paths"][0]["trace"]  # no way allows: the first way's trace
    service_to = json.loads(kubeward("explain", "examples/shop", "--from", "shop/web", "--to", "service/shop/api",
                                     "--port", "8080", "--format", "json").stdout)["flow"]["to"]
    assert service_to == {"peer": "service/shop/api", "type": "service", "id": "shop/api", "namespace": "shop",
                          "name": "api", "serviceType": "ClusterIP", "port": 8080}


def test_the_map_of_the_lab_lists_both_entry_points_as_blocked(at_root: None) -> None:
    cmap = connectivity_map(analyse_paths(["examples/shop"]))
    entries: list[dict[str, Any]] = [e.to_json() for e in cmap.entries]
    assert [(e["via"]["kind"], e["via"]["name"], e["verdict"], e["reached"]) for e in entries] == [
        ("Ingress", "web-ing", "deny", []), ("HTTPRoute", "shop-route", "deny", [])]
    assert [(e["blockedBy"]["reason"], e["blockedBy"]["file"], e["blockedBy"]["line"]) for e in entries] == [
        ("no-rule-matched", SHOP_NP, 3), ("route-not-accepted", SHOP_GW, 21)]
    assert [c for c in cmap.connections if c.src == "world" and c.via] == []  # issue 17: via
    text = kubeward("map", "examples/shop").stdout
    blocked = [line.strip() for line in text.splitlines() if line.strip().startswith("✗ ")]
    assert [line.split(" — blocked: ")[0] for line in blocked] == [
        f"✗ Ingress shop/web-ing host shop.example.com path / → Service shop/web:80 [{SHOP_URL}]",
        "✗ HTTPRoute shop/shop-route"]


def test_check_of_the_lab_reports_the_entry_findings_with_file_and_line(at_root: None) -> None:
    report = check(analyse_paths(["examples/shop"]))
    assert report.exit_code == 1
    found = {(d.code, d.file, d.line) for d in report.diagnostics if d.severity.value == "warning"}
    assert {("tls-secret-missing", SHOP_ING, 12), ("tls-secret-missing", SHOP_GW, 14),
            ("route-not-accepted", SHOP_GW, 21), ("ingress-class-missing", SHOP_ING, 2)} <= found
    [note] = [d for d in report.diagnostics if d.code == "redundant-annotation"]
    assert (note.file, note.line, note.severity.value) == (SHOP_ING, 2, "info")


# =========================================================================== output contracts


def test_the_map_json_marks_the_stand_in_controllers_as_assumed(at_root: None) -> None:
    doc: dict[str, Any] = connectivity_map(analyse_paths(["examples/shop"])).to_json()
    peers = {p["id"]: p for p in doc["peers"]}
    assert peers[INGRESS_NGINX].get("assumed") is True
    assert peers["infra/edge-nginx"].get("assumed") is True
    assert "assumed" not in peers["shop/web"]


def test_check_text_names_each_entry_point_request_as_map_does(at_root: None) -> None:
    out = kubeward("check", "examples/shop").stdout
    assert f"✗ Ingress shop/web-ing host shop.example.com path / → Service shop/web:80 [{SHOP_URL}]" in out


REGEX_PATH = ingress("app", "odd", [("x.example.com", [path("/x[/y]", "ImplementationSpecific", "a")])])


@pytest.mark.parametrize("command", ["map", "check"])
def test_text_output_prints_ingress_paths_with_square_brackets_verbatim(command: str, tmp_path: Path) -> None:
    f = tmp_path / "odd.yaml"
    f.write_text(docs(APP, *BACKENDS[:2], REGEX_PATH), encoding="utf-8")  # small: check prints the map
    result = CliRunner().invoke(main, [command, str(f)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "path /x[/y]" in result.stdout


def test_the_map_checks_a_regex_ingress_path_with_a_request_its_own_rule_matches() -> None:
    a, _ = analyse(*BACKENDS, ingress("app", "re",
                                      [("x.example.com", [path("/api/[a-z]+", "ImplementationSpecific", "a")])],
                                      annotations={"nginx.ingress.kubernetes.io/use-regex": "true"}))
    assert served_by(a, "http://x.example.com/api/items") == "app/a"
    [entry] = connectivity_map(a).entries
    assert entry.to_json()["verdict"] == "allow"
