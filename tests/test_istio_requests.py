"""Specification tests for issue 11's Istio items: method matching (IST-24) and AuthorizationPolicy
addresses in the connectivity map (IST-25) and rules no request can meet (IST-26).

Each test goes through the public API (``analyse_text`` + ``explain`` / ``connectivity_map``) or the
command line, and checks that the map and ``explain`` give the same answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest

from kubeward import Analysis, Connection, explain
from kubeward.engine.trace import Reason
from rules_helpers import to_yaml
from test_istio import AP, HTTPBIN, analyse, ap, assert_mesh, connected, flow, foo, kubeward, mapped, pod, sel

# ============================================================================ item 6: IST-24, methods


@pytest.mark.parametrize("method, allowed", [("GET", False), ("GETX", False), ("POST", True), ("PURGE", True)])
def test_item6_not_methods_with_a_prefix_wildcard_refuses_get(method: str, allowed: bool) -> None:
    """IST-24: ``notMethods: ["G*"]`` in an ALLOW rule refuses every method starting with G
    (case-sensitive, like Envoy's header match on ``:method``)."""
    a = analyse(foo(ap("foo/p", rules=[{"to": [{"operation": {"notMethods": ["G*"]}}]}])))
    exp = explain(a, "foo/sleep", HTTPBIN, 8080, "TCP", method=method)
    if allowed:
        assert_mesh(exp, "allow", Reason.MESH_ALLOWED, (AP, "foo/p"), rule=0)
    else:
        assert_mesh(exp, "deny", Reason.MESH_NOT_ALLOWED, (AP, "foo/p"))


@pytest.mark.parametrize("method, allowed", [("HEAD", True), ("DELETE", True), ("OPTIONS", True), ("TRACE", True),
                                             ("PATCH", True), ("GET", False), ("POST", False), ("PUT", False)])
def test_item6_methods_with_suffix_wildcards_match_like_every_istio_string(method: str, allowed: bool) -> None:
    """IST-24: the suffix patterns of network-config-analyzer's Istio test configuration."""
    a = analyse(foo(ap("foo/p", rules=[{"to": [{"operation": {"methods": ["*AD", "*E", "*S", "TRACE", "*CH"]}}]}])))
    assert flow(a, "foo/sleep", HTTPBIN, method=method).allowed is allowed


def test_item6_a_deny_rule_with_not_methods_g_star_spares_get_only() -> None:
    """IST-24: a DENY rule ``notMethods: ["G*"]`` matches every request whose method is not G…"""
    a = analyse(foo(ap("foo/no-g", action="DENY", rules=[{"to": [{"operation": {"notMethods": ["G*"]}}]}])))
    assert_mesh(flow(a, "foo/sleep", HTTPBIN, method="GET"), "allow", Reason.MESH_NO_ALLOW)
    assert_mesh(flow(a, "foo/sleep", HTTPBIN, method="POST"), "deny", Reason.MESH_DENIED, (AP, "foo/no-g"), rule=0)


@pytest.mark.parametrize("pattern", ["PURGE", "PUR*", "*RGE", "*"])
def test_item6_any_method_name_matches_not_only_the_nine_standard_ones(pattern: str) -> None:
    """IST-24: methods are not limited to GET … PATCH: an extension method such as PURGE matches."""
    a = analyse(foo(ap("foo/p", rules=[{"to": [{"operation": {"methods": [pattern]}}]}])))
    assert_mesh(flow(a, "foo/sleep", HTTPBIN, method="PURGE"), "allow", Reason.MESH_ALLOWED, (AP, "foo/p"), rule=0)
    assert flow(a, "foo/sleep", HTTPBIN, method="GET").allowed is (pattern == "*")


def test_item6_the_command_line_explains_a_method_wildcard(tmp_path: Path) -> None:
    spec = tmp_path / "mesh.yaml"
    deny = ap("foo/no-g", action="DENY", rules=[{"to": [{"operation": {"notMethods": ["G*"]}}]}])
    spec.write_text(to_yaml(foo(deny)))
    args = ("explain", str(spec), "--mesh", "istio", "--cni", "generic", "--from", "foo/sleep", "--to", "foo/httpbin",
            "--port", "8080", "--format", "json")
    get, post = kubeward(*args, "--method", "GET"), kubeward(*args, "--method", "POST")
    assert (get.exit_code, json.loads(get.stdout)["verdict"]) == (0, "allow")
    assert (post.exit_code, json.loads(post.stdout)["verdict"]) == (1, "deny")


# ============================================================================ item 7: IST-25, ipBlocks in the map


def _edge_from(analysis: Analysis, address: str, dst: str) -> Connection | None:
    """The map's edge from the network piece that holds ``address`` to ``dst`` (mesh-governed ports)."""
    atom = analysis.engine.universe.atom_of(address)
    assert atom is not None
    return mapped(analysis, atom.id, dst)


@pytest.mark.parametrize("source, inside, outside", [
    ({"ipBlocks": ["203.0.113.0/24"]}, ["203.0.113.5", "203.0.113.0", "203.0.113.255"],
     ["203.0.112.255", "203.0.114.0", "8.8.8.8"]),
    ({"remoteIpBlocks": ["203.0.113.0/24"]}, ["203.0.113.5"], ["203.0.114.0", "203.0.112.255"]),
    ({"notIpBlocks": ["203.0.113.0/24"]}, ["203.0.114.0", "203.0.112.255"], ["203.0.113.5"]),
    ({"notRemoteIpBlocks": ["203.0.113.5"]}, ["203.0.113.4", "203.0.113.6"], ["203.0.113.5"]),
    ({"ipBlocks": ["2001:db8::/32"]}, ["2001:db8::5"], ["2001:db9::", "2001:db7:ffff::1"]),
], ids=["ipBlocks", "remoteIpBlocks", "notIpBlocks", "notRemoteIpBlocks", "ipv6"])
def test_item7_istio_ip_blocks_split_the_maps_outside_address_space(
        source: dict[str, list[str]], inside: list[str], outside: list[str]) -> None:
    """IST-25: an ALLOW rule's address fields cut the map's network pieces, so the edge from the
    piece holding an address has explain's verdict for that address, and the address just outside
    the block gets the other verdict — in the map and in explain."""
    a = analyse(foo(ap("foo/partner", rules=[{"from": [{"source": source}]}])))
    for address in inside:
        assert_mesh(flow(a, address, HTTPBIN), "allow", Reason.MESH_ALLOWED, (AP, "foo/partner"), rule=0)
        edge = _edge_from(a, address, HTTPBIN)
        assert edge is not None and edge.ports.contains("TCP", 8080), address
        assert edge.mesh is not None and "requires" not in edge.mesh
    for address in outside:
        assert_mesh(flow(a, address, HTTPBIN), "deny", Reason.MESH_NOT_ALLOWED, (AP, "foo/partner"))
        assert _edge_from(a, address, HTTPBIN) is None, address


def test_item7_a_deny_rule_on_a_source_ip_condition_splits_the_map_too() -> None:
    """IST-25: ``when: source.ip`` in a DENY rule: the denied block has no edge, its neighbours do."""
    a = analyse(foo(ap("foo/block", action="DENY",
                       rules=[{"when": [{"key": "source.ip", "values": ["198.51.100.0/25"]}]}])))
    assert_mesh(flow(a, "198.51.100.7", HTTPBIN), "deny", Reason.MESH_DENIED, (AP, "foo/block"), rule=0)
    assert _edge_from(a, "198.51.100.7", HTTPBIN) is None
    for address in ("198.51.100.128", "198.51.99.255"):
        assert_mesh(flow(a, address, HTTPBIN), "allow", Reason.MESH_NO_ALLOW)
        edge = _edge_from(a, address, HTTPBIN)
        assert edge is not None and edge.ports.contains("TCP", 8080)


def test_item7_the_command_line_map_and_explain_agree_on_an_ip_block(tmp_path: Path) -> None:
    spec = tmp_path / "mesh.yaml"
    spec.write_text(to_yaml(foo(ap("foo/partner", rules=[{"from": [{"source": {"ipBlocks": ["203.0.113.0/24"]}}]}]))))
    profile = ("--mesh", "istio", "--cni", "generic")
    doc = json.loads(kubeward("map", str(spec), *profile, "--format", "json").stdout)
    networks = {p["id"]: p["cidrs"] for p in doc["peers"] if p["type"] == "network"}
    assert networks["203.0.113.0/24"] == ["203.0.113.0/24"]
    into = {c["src"]: c["protocols"]["TCP"] for c in doc["connections"] if c["dst"] == HTTPBIN}
    assert into["203.0.113.0/24"] == [[1, 65535]]
    for outside in ("0.0.0.0-203.0.112.255", "203.0.114.0-255.255.255.255"):
        assert not any(lo <= 8080 <= hi for lo, hi in into[outside])  # only the ports the sidecar leaves alone
    for address, code in (("203.0.113.5", 0), ("203.0.114.0", 1)):
        r = kubeward("explain", str(spec), *profile, "--from", address, "--to", HTTPBIN, "--port", "8080")
        assert r.exit_code == code, r.output


# ============================================================================ item 8: IST-26, impossible requests


IMPOSSIBLE = [
    ({"methods": ["GET"], "notMethods": ["GET"]}, "methods ['GET'] with notMethods ['GET']"),
    ({"methods": ["GET", "POST"], "notMethods": ["G*", "*T"]}, "methods ['GET', 'POST'] with notMethods ['G*', '*T']"),
    ({"paths": ["/admin/*"], "notPaths": ["/admin*"]}, "paths ['/admin/*'] with notPaths ['/admin*']"),
    ({"notPaths": ["*"]}, "notPaths ['*']"),
    ({"hosts": ["API.example.com"], "notHosts": ["*.EXAMPLE.com"]},
     "hosts ['API.example.com'] with notHosts ['*.EXAMPLE.com']"),
]


@pytest.mark.parametrize("operation, why", IMPOSSIBLE, ids=["methods", "method-wildcards", "paths", "no-path",
                                                            "hosts"])
def test_item8_an_allow_rule_no_request_can_meet_denies_in_the_map_and_in_explain(
        operation: dict[str, list[str]], why: str) -> None:
    """IST-26: the rule cannot match any request, so the ALLOW policy allows nothing: explain with
    and without a request, and the map, all deny (the map used to keep every TCP port "allowed if")."""
    a = analyse(foo(ap("foo/impossible", selector=sel(app="httpbin"), rules=[{"to": [{"operation": operation}]}])))
    exp = flow(a, "foo/sleep", HTTPBIN)
    assert_mesh(exp, "deny", Reason.MESH_NOT_ALLOWED, (AP, "foo/impossible"))
    mismatch = [s for s in exp.verdict.steps if s.reason is Reason.MESH_RULE_MISMATCH]
    assert [m.message for m in mismatch] == [f"AuthorizationPolicy foo/impossible rule 0: no request can meet {why} "
                                             "(IST-26)"]
    for method, path, host in (("GET", "/admin/x", "API.example.com"), ("POST", "/", "api.example.com")):
        assert not flow(a, "foo/sleep", HTTPBIN, method=method, path=path, host=host).allowed
    assert mapped(a, "foo/sleep", HTTPBIN) is None


def test_item8_a_rule_some_request_can_meet_stays_conditional() -> None:
    """IST-26 only removes rules no request meets: ``methods: [G*]`` without ``GET`` leaves GETX."""
    a = analyse(foo(ap("foo/p", selector=sel(app="httpbin"),
                       rules=[{"to": [{"operation": {"methods": ["G*"], "notMethods": ["GET"]}}]}])))
    assert_mesh(flow(a, "foo/sleep", HTTPBIN), "allow", Reason.MESH_CONDITIONAL)
    assert flow(a, "foo/sleep", HTTPBIN, method="GETX").allowed
    mesh = cast("dict[str, Any]", connected(a, "foo/sleep", HTTPBIN).mesh)
    assert mesh["requires"] == ["allowed if depends on the HTTP request: methods G*; not methods GET "
                                "(AuthorizationPolicy foo/p rule 0)"]


def test_item8_an_impossible_deny_rule_denies_nothing_and_leaves_no_condition() -> None:
    """IST-26: a DENY rule no request meets never matches: no "denied if" note, every port passes."""
    a = analyse(foo(ap("foo/never", action="DENY", rules=[{"to": [{"operation": {"methods": ["GET"],
                                                                                  "notMethods": ["*"]}}]}])))
    assert_mesh(flow(a, "foo/sleep", HTTPBIN), "allow", Reason.MESH_NO_ALLOW)
    assert flow(a, "foo/sleep", HTTPBIN, method="GET").allowed
    assert connected(a, "foo/sleep", HTTPBIN).mesh == {"mtls": True}


def test_item8_header_conditions_no_request_can_meet_together_deny() -> None:
    """IST-26: all ``when`` conditions must hold; two that want different values of one header cannot."""
    when = [{"key": "request.headers[X-Tenant]", "values": ["a"]},
            {"key": "request.headers[x-tenant]", "values": ["b"]}]
    a = analyse(foo(ap("foo/p", selector=sel(app="httpbin"), rules=[{"when": when}])))
    exp = flow(a, "foo/sleep", HTTPBIN)
    assert_mesh(exp, "deny", Reason.MESH_NOT_ALLOWED, (AP, "foo/p"))
    assert any("request.headers[x-tenant] together (IST-26)" in s.message for s in exp.verdict.steps)
    assert mapped(a, "foo/sleep", HTTPBIN) is None
    only_not = analyse(foo(ap("foo/p", selector=sel(app="httpbin"),
                              rules=[{"when": [{"key": "request.headers[x-tenant]", "notValues": ["*"]}]}])))
    assert_mesh(flow(only_not, "foo/sleep", HTTPBIN), "allow", Reason.MESH_CONDITIONAL)  # a request without it


def test_item8_the_command_line_map_and_explain_agree_on_an_impossible_rule(tmp_path: Path) -> None:
    spec = tmp_path / "mesh.yaml"
    spec.write_text(to_yaml(foo(ap("foo/impossible", selector=sel(app="httpbin"),
                                   rules=[{"to": [{"operation": {"methods": ["GET"], "notMethods": ["GET"]}}]}]))))
    profile = ("--mesh", "istio", "--cni", "generic")
    doc = json.loads(kubeward("map", str(spec), *profile, "--format", "json").stdout)
    edge = [c for c in doc["connections"] if (c["src"], c["dst"]) == ("foo/sleep", HTTPBIN)]
    assert [c["protocols"]["TCP"] for c in edge] == [[[22, 22], [15000, 15001], [15004, 15004], [15006, 15006],
                                                      [15008, 15009], [15020, 15021], [15053, 15053], [15090, 15090]]]
    assert "requires" not in edge[0]["mesh"]
    r = kubeward("explain", str(spec), *profile, "--from", "foo/sleep", "--to", HTTPBIN, "--port", "8080")
    assert r.exit_code == 1 and "no request can meet methods ['GET'] with notMethods ['GET'] (IST-26)" in r.stdout


def test_item8_an_allow_rule_whose_every_request_meets_a_deny_rule_denies_in_the_map_and_in_explain() -> None:
    """IST-26 across policies: every request ``methods: [GET]`` lets in also meets ``methods: [G*]``
    of a DENY policy, so nothing passes — found by the map-agrees-with-explain property."""
    a = analyse(foo(ap("foo/p", rules=[{"to": [{"operation": {"methods": ["GET"]}}]}]),
                    ap("foo/d", action="DENY", rules=[{"to": [{"operation": {"methods": ["G*"]}}]}])))
    step = assert_mesh(flow(a, "foo/sleep", HTTPBIN), "deny", Reason.MESH_DENIED, (AP, "foo/d"), rule=0)
    assert step.message == ("every request that AuthorizationPolicy foo/p rule 0 allows also meets the DENY rules "
                            "(AuthorizationPolicy foo/d rule 0): denied whatever the request (IST-26)")
    assert not flow(a, "foo/sleep", HTTPBIN, method="GET").allowed
    assert mapped(a, "foo/sleep", HTTPBIN) is None
    narrower = analyse(foo(ap("foo/p", rules=[{"to": [{"operation": {"methods": ["G*"]}}]}]),
                           ap("foo/d", action="DENY", rules=[{"to": [{"operation": {"methods": ["GET"]}}]}])))
    assert_mesh(flow(narrower, "foo/sleep", HTTPBIN), "allow", Reason.MESH_CONDITIONAL)  # GETX passes
    assert flow(narrower, "foo/sleep", HTTPBIN, method="GETX").allowed
    assert connected(narrower, "foo/sleep", HTTPBIN).ports.contains("TCP", 8080)


def test_item8_deny_rules_that_every_request_meets_deny_without_allow_policies() -> None:
    """IST-26: two DENY operations ``methods: [G*]`` and ``notMethods: [G*]`` cover every request."""
    a = analyse(foo(ap("foo/d", action="DENY", rules=[{"to": [{"operation": {"methods": ["G*"]}},
                                                              {"operation": {"notMethods": ["G*"]}}]}])))
    step = assert_mesh(flow(a, "foo/sleep", HTTPBIN), "deny", Reason.MESH_DENIED, (AP, "foo/d"), rule=0)
    assert step.message.startswith("every request also meets the DENY rules (AuthorizationPolicy foo/d rule 0)")
    assert mapped(a, "foo/sleep", HTTPBIN) is None


def test_item8_a_request_to_a_server_first_port_is_still_tcp_traffic() -> None:
    """IST-14, IST-22: on MySQL's port the mesh sees TCP whatever request explain is given, so an ALLOW
    rule with ``methods`` never matches there — as the map says (explain used to evaluate it as HTTP)."""
    objects = foo(pod("foo/db", ports=(3306,)),
                  ap("foo/p", selector=sel(app="db"), rules=[{"to": [{"operation": {"methods": ["GET"]}}]}]))
    a = analyse(objects)
    assert_mesh(flow(a, "foo/sleep", "foo/db", 3306, method="GET"), "deny", Reason.MESH_NOT_ALLOWED, (AP, "foo/p"))
    assert not connected(a, "foo/sleep", "foo/db").ports.contains("TCP", 3306)


def test_item8_explain_takes_the_address_of_the_workload_it_is_given() -> None:
    """IST-25: two workloads with the same labels, account and ports share an identity; explain
    used the identity's first address (the other workload's) for ``ipBlocks``, the map each one's own."""
    objects = foo(pod("foo/c1", labels={"app": "client"}, sa="client", ip="10.1.0.8"),
                  pod("foo/c2", labels={"app": "client"}, sa="client", ip="10.1.0.9"),
                  ap("foo/p", selector=sel(app="httpbin"), rules=[{"from": [{"source": {"ipBlocks": ["10.1.0.9"]}}]}]))
    a = analyse(objects)
    assert_mesh(flow(a, "foo/c2", HTTPBIN), "allow", Reason.MESH_ALLOWED, (AP, "foo/p"), rule=0)
    assert_mesh(flow(a, "foo/c1", HTTPBIN), "deny", Reason.MESH_NOT_ALLOWED, (AP, "foo/p"))
    assert connected(a, "foo/c2", HTTPBIN).ports.contains("TCP", 8080)
    assert mapped(a, "foo/c1", HTTPBIN) is None


def test_item8_the_map_treats_a_pod_port_a_tcp_named_service_port_reaches_as_tcp() -> None:
    """IST-14 with Istio's protocol selection: Service port ``tcp-pg`` → pod port 5432, which the pod
    does not declare. A DENY rule with only ``methods`` denies all TCP there; the map probed that port
    as HTTP ("denied if methods POST") and kept it."""
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "pg", "namespace": "foo"},
           "spec": {"selector": {"app": "httpbin"}, "ports": [{"name": "tcp-pg", "port": 5432}]}}
    a = analyse(foo(svc, ap("foo/d", action="DENY", rules=[{"to": [{"operation": {"methods": ["POST"]}}]}])))
    assert_mesh(flow(a, "foo/sleep", HTTPBIN, 5432), "deny", Reason.MESH_DENIED, (AP, "foo/d"), rule=0)
    assert not connected(a, "foo/sleep", HTTPBIN).ports.contains("TCP", 5432)
    assert connected(a, "foo/sleep", HTTPBIN).ports.contains("TCP", 8080)  # HTTP: denied if POST


def test_item8_the_map_lists_only_the_conditions_of_the_ports_it_keeps() -> None:
    """A DENY rule scoped to port 8080 makes 8080 "denied if …" while the ALLOW policy keeps only
    9090, unconditionally: the edge carries no condition (it listed the dropped port's)."""
    a = analyse(foo(ap("foo/p", rules=[{"to": [{"operation": {"ports": ["9090"]}}]}]),
                    ap("foo/d", action="DENY",
                       rules=[{"to": [{"operation": {"ports": ["8080"], "methods": ["POST"]}}]}])))
    c = connected(a, "foo/sleep", HTTPBIN)
    assert c.ports.to_json()["TCP"] == [[9090, 9090]] and c.mesh == {"mtls": True}
    assert flow(a, "foo/sleep", HTTPBIN, 9090, method="POST").allowed
