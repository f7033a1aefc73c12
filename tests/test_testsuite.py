"""`kubeward test`: the lab's verification scenarios as regression cases, JUnit for CI."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner, Result

from kubeward.cli import main

ROOT = Path(__file__).resolve().parent.parent
SHOP = str(ROOT / "examples" / "shop")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_the_labs_suite_runs_under_the_profile_it_asks_for_and_reports_the_two_failures(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    result = run("test", SHOP, "--junit", str(junit))
    assert result.exit_code == 1
    out = result.stdout
    assert out.startswith("options: cni=cilium,")
    verdicts = [(line[:4], line[6:].split("  (")[0]) for line in out.splitlines() if line[:4] in ("PASS", "FAIL")]
    assert verdicts == [
        ("PASS", "web reaches the api catalog (GET /v1/catalog)"),
        ("PASS", "web places an order (POST /v1/order)"),
        ("PASS", "web cannot reach /admin on api (403 from the proxy)"),
        ("FAIL", "api reaches mysql on 3306"),
        ("PASS", "web cannot reach mysql"),
        ("PASS", "web reaches the payment API"),
        ("FAIL", "web cannot reach www.google.com"),
        ("PASS", "web resolves names through the cluster DNS"),
    ]
    assert out.rstrip().endswith("6 passed, 2 failed")
    # Each failure says why, with the deciding policy and file:line.
    assert "expected allow, got deny — NetworkPolicy shop/default-deny" in out
    assert "expected deny, got allow — CiliumNetworkPolicy shop/web-egress-payment" in out


def test_the_junit_output_has_the_structure_ci_systems_read(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    run("test", SHOP, "--junit", str(junit))
    root = ElementTree.parse(junit).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "8" and root.get("failures") == "2"
    [suite] = list(root)
    assert suite.tag == "testsuite"
    assert {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "8", "failures": "2", "errors": "0", "skipped": "0"}
    cases = list(suite)
    assert [c.tag for c in cases] == ["testcase"] * 8
    assert all(c.get("name") and c.get("classname") for c in cases)
    failures = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failures] == ["api reaches mysql on 3306", "web cannot reach www.google.com"]
    failure = failures[0].find("failure")
    assert failure is not None and failure.get("type") == "VerdictMismatch"
    assert "expected allow, got deny" in (failure.get("message") or "")
    assert "default-deny" in (failure.text or "")


def test_json_output_lists_every_case_and_the_trace_of_failures() -> None:
    result = run("test", SHOP, "--format", "json")
    doc = json.loads(result.stdout)
    assert (doc["schema"], doc["passed"], doc["failed"]) == (1, 6, 2)
    google = next(c for c in doc["cases"] if c["name"] == "web cannot reach www.google.com")
    assert (google["expect"], google["verdict"], google["passed"]) == ("deny", "allow", False)
    assert google["decidedBy"]["name"] == "web-egress-payment" and google["trace"]


def test_a_case_can_require_the_deciding_policy(tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text(textwrap.dedent("""\
        apiVersion: kubeward.dev/v1
        kind: TestSuite
        metadata: {name: decided}
        spec:
          cni: generic
          mesh: none
          cases:
          - name: web egress is cut by default-deny
            from: shop/web
            to: shop/api
            port: 8080
            expect: deny
            decidedBy: {kind: NetworkPolicy, namespace: shop, name: default-deny}
          - name: right verdict, wrong reason
            from: shop/web
            to: shop/api
            port: 8080
            expect: deny
            decidedBy: {kind: NetworkPolicy, namespace: shop, name: allow-dns}
        """))
    result = run("test", SHOP, "--cases", str(cases))
    out = result.stdout
    assert "PASS  web egress is cut by default-deny" in out
    assert "FAIL  right verdict, wrong reason" in out
    assert "deny as expected, but decided by NetworkPolicy shop/default-deny, not NetworkPolicy shop/allow-dns" in out
    assert result.exit_code == 1


@pytest.mark.parametrize(("body", "message"), [
    ("cases: [{name: x, from: shop/web, to: shop/api}]", "case needs expect"),
    ("cases: [{name: x, from: shop/web, to: shop/api, expect: maybe}]", "expect must be allow or deny"),
])
def test_a_broken_case_is_an_input_error_with_its_line(tmp_path: Path, body: str, message: str) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text(f"apiVersion: kubeward.dev/v1\nkind: TestSuite\nmetadata: {{name: t}}\nspec:\n  {body}\n")
    result = run("test", SHOP, "--cases", str(cases))
    assert result.exit_code == 2
    assert f"{cases}:5: {message}" in result.stderr


def test_without_cases_the_command_says_where_to_put_them(tmp_path: Path) -> None:
    result = run("test", str(ROOT / "examples" / "shop-calico"))
    assert result.exit_code == 2
    assert "no test cases" in result.stderr
