"""Specification tests for issue 11's Istio items: method matching (IST-23).

Each test goes through the public API (``analyse_text`` + ``explain`` / ``connectivity_map``) or the
command line, and checks that the map and ``explain`` give the same answer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubeward import explain
from kubeward.engine.trace import Reason
from rules_helpers import to_yaml
from test_istio import AP, HTTPBIN, analyse, ap, assert_mesh, flow, foo, kubeward

# ============================================================================ item 6: IST-23, methods


@pytest.mark.parametrize("method, allowed", [("GET", False), ("GETX", False), ("POST", True), ("PURGE", True)])
def test_item6_not_methods_with_a_prefix_wildcard_refuses_get(method: str, allowed: bool) -> None:
    """IST-23: ``notMethods: ["G*"]`` in an ALLOW rule refuses every method starting with G
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
    """IST-23: the suffix patterns of network-config-analyzer's Istio test configuration."""
    a = analyse(foo(ap("foo/p", rules=[{"to": [{"operation": {"methods": ["*AD", "*E", "*S", "TRACE", "*CH"]}}]}])))
    assert flow(a, "foo/sleep", HTTPBIN, method=method).allowed is allowed


def test_item6_a_deny_rule_with_not_methods_g_star_spares_get_only() -> None:
    """IST-23: a DENY rule ``notMethods: ["G*"]`` matches every request whose method is not G…"""
    a = analyse(foo(ap("foo/no-g", action="DENY", rules=[{"to": [{"operation": {"notMethods": ["G*"]}}]}])))
    assert_mesh(flow(a, "foo/sleep", HTTPBIN, method="GET"), "allow", Reason.MESH_NO_ALLOW)
    assert_mesh(flow(a, "foo/sleep", HTTPBIN, method="POST"), "deny", Reason.MESH_DENIED, (AP, "foo/no-g"), rule=0)


@pytest.mark.parametrize("pattern", ["PURGE", "PUR*", "*RGE", "*"])
def test_item6_any_method_name_matches_not_only_the_nine_standard_ones(pattern: str) -> None:
    """IST-23: methods are not limited to GET … PATCH: an extension method such as PURGE matches."""
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
