"""Issue 12, item "checks that say when they stopped": lint's size limits are reported as a
``check-limited`` note in every format, and repeated per-workload findings of a large namespace
are summed up into one finding per namespace (docs/lint.md, "Size limits and large inputs")."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kubeward import Options, analyse_text, check, lint
from kubeward.analyses import lint as lint_module
from kubeward.analyses import lint_reach
from kubeward.cli import main


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def deployment(ns: str, name: str, port: int = 8080) -> str:
    return textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: {name}, namespace: {ns}}}
        spec:
          selector: {{matchLabels: {{app: {name}}}}}
          template:
            metadata: {{labels: {{app: {name}}}}}
            spec: {{containers: [{{name: c, image: x, ports: [{{containerPort: {port}}}]}}]}}
        """)


def namespace(name: str, injected: bool = False) -> str:
    labels = "{istio-injection: enabled}" if injected else "{}"
    return f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {labels}}}\n"


def netpol(name: str, app: str, peer: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {{name: {name}, namespace: app}}
        spec:
          podSelector: {{matchLabels: {{app: {app}}}}}
          policyTypes: [Ingress]
          ingress: [{{from: [{{podSelector: {{matchLabels: {{app: {peer}}}}}}}], ports: [{{port: 8080}}]}}]
        """)


def write(tmp_path: Path, *docs: str) -> str:
    path = tmp_path / "in.yaml"
    path.write_text("---\n".join(docs), encoding="utf-8")
    return str(path)


def notes(doc: dict[str, object]) -> list[str]:
    findings = doc["findings"]
    assert isinstance(findings, list)
    return [f["message"] for f in findings if f["code"] == "check-limited"]


# ---------------------------------------------------------------------------- policy-redundant


def test_item3_policy_redundant_above_40_policies_says_it_did_not_run_in_text_json_and_sarif(tmp_path: Path) -> None:
    """41 enforced policies: policy-redundant is skipped, and every format says so."""
    path = write(tmp_path, namespace("app"), deployment("app", "web"),
                 *(netpol(f"p{i}", "web", f"client{i}") for i in range(41)))
    message = ("policy-redundant: not checked: 41 enforced policies, more than 40 (the check analyses the input "
               "again without each policy)")
    doc = json.loads(run("lint", path, "--format", "json").stdout)
    assert notes(doc) == [message]
    [note] = [f for f in doc["findings"] if f["code"] == "check-limited"]
    assert (note["severity"], note["file"], note["line"]) == ("info", "", 0)
    text = run("lint", path).stdout
    assert f"<input>: info: check-limited: {message}\n" in text
    sarif = json.loads(run("lint", path, "--format", "sarif").stdout)
    [result] = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "check-limited"]
    assert (result["level"], result["message"]["text"].split(". Fix:")[0]) == ("note", message)
    assert run("lint", path, "--format", "json", "--fail-on", "info").exit_code == 1  # an info finding counts
    assert notes(json.loads(run("lint", path, "--format", "json", "--disable", "policy-redundant").stdout)) == []


def test_item3_policy_redundant_note_follows_its_checks_severity(tmp_path: Path) -> None:
    """policy-redundant is an info check: with --severity warning its note goes too."""
    path = write(tmp_path, namespace("app"), deployment("app", "web"),
                 *(netpol(f"p{i}", "web", f"client{i}") for i in range(41)))
    assert notes(json.loads(run("lint", path, "--format", "json", "--severity", "warning").stdout)) == []


# ---------------------------------------------------------------------------- mtls-strict-plaintext-client

MESH = [namespace("mesh", injected=True), namespace("plain"), deployment("mesh", "a"), deployment("mesh", "b"),
        deployment("plain", "x"), deployment("plain", "y")]


def test_item3_mtls_strict_plaintext_client_says_where_it_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two meshed workloads × two plain clients = 4 pairs; with a budget of 3 the second meshed
    workload is checked in part, and the note says so (at --severity warning too: it is a
    warning check)."""
    monkeypatch.setattr(lint_module, "MESH_PAIRS", 3)
    a = analyse_text("---\n".join(MESH), "in.yaml", Options(cni="generic", mesh="istio"))
    message = ("mtls-strict-plaintext-client: stopped after 3 (client, meshed workload) pairs of 4: 1 meshed "
               "workload(s) not checked or checked in part, from Deployment mesh/b on")
    assert notes(lint(a, severity="warning").to_json()) == [message]
    monkeypatch.setattr(lint_module, "MESH_PAIRS", 4)
    assert notes(lint(a).to_json()) == []  # exactly enough: complete, no note


# ---------------------------------------------------------------------------- one-sided-allow


def test_item3_one_sided_allow_says_where_it_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two ingress rules of one pair each: a budget of 1 checks the first and stops at the second."""
    docs = [namespace("app"), deployment("app", "web"), deployment("app", "api"), deployment("app", "db"),
            netpol("web-from-api", "web", "api"), netpol("db-from-api", "db", "api"),
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: api-out, namespace: app}\n"
            "spec: {podSelector: {matchLabels: {app: api}}, policyTypes: [Egress]}\n"]
    a = analyse_text("---\n".join(docs), "in.yaml", Options(cni="generic"))
    both = [f.message for f in lint(a).findings if f.code == "one-sided-allow"]
    assert len(both) == 2  # api's egress refuses both: two one-sided allows
    monkeypatch.setattr(lint_reach, "ONE_SIDED_PAIRS", 1)
    report = lint(a)
    assert notes(report.to_json()) == [
        "one-sided-allow: stopped after 1 (subject, peer) pairs: 1 of 2 allow rules not checked or checked in part, "
        "from NetworkPolicy app/db-from-api ingress rule 0 on"]
    assert len([f for f in report.findings if f.code == "one-sided-allow"]) == 1


# ---------------------------------------------------------------------------- aggregation


def unprotected(tmp_path: Path, count: int) -> dict[str, object]:
    path = write(tmp_path, namespace("big"), *(deployment("big", f"w{i}") for i in range(count)))
    doc: dict[str, object] = json.loads(run("lint", path, "--format", "json").stdout)
    return doc


def test_item3_many_unprotected_workloads_of_a_namespace_are_one_finding_with_the_list(tmp_path: Path) -> None:
    """Six in one namespace (more than 5): one finding about the namespace, at the first
    workload's line, naming all six."""
    doc = unprotected(tmp_path, 6)
    found = [f for f in doc["findings"] if f["code"] == "unprotected-workload"]  # type: ignore[attr-defined]
    assert [(f["resource"], f["line"], f["message"]) for f in found] == [
        ({"kind": "Namespace", "namespace": "", "name": "big"}, 5,
         "namespace big: 6 workloads no policy selects, in either direction: Deployment w0, Deployment w1, "
         "Deployment w2, Deployment w3, Deployment w4, Deployment w5")]


def test_item3_a_few_unprotected_workloads_stay_one_finding_each(tmp_path: Path) -> None:
    doc = unprotected(tmp_path, 5)
    found = [f for f in doc["findings"] if f["code"] == "unprotected-workload"]  # type: ignore[attr-defined]
    assert [f["resource"]["name"] for f in found] == ["w0", "w1", "w2", "w3", "w4"]


def test_item3_aggregation_counts_only_what_is_not_suppressed(tmp_path: Path) -> None:
    """A suppression names a workload: it is suppressed on its own, and the rest (5) stay apart."""
    (tmp_path / "config.yaml").write_text("lint:\n  ignore:\n  - {code: unprotected-workload, resource: big/w0, "
                                          "reason: a batch job}\n", encoding="utf-8")
    path = write(tmp_path, namespace("big"), *(deployment("big", f"w{i}") for i in range(6)))
    doc = json.loads(run("lint", path, "--format", "json", "--config", str(tmp_path / "config.yaml")).stdout)
    assert [f["resource"]["name"] for f in doc["findings"] if f["code"] == "unprotected-workload"] == [
        "w1", "w2", "w3", "w4", "w5"]
    assert [f["resource"]["name"] for f in doc["suppressed"]] == ["w0"]


def test_item3_check_reports_the_aggregated_finding_too() -> None:
    a = analyse_text("---\n".join([namespace("big"), *(deployment("big", f"w{i}") for i in range(7))]), "in.yaml",
                     Options(cni="generic"))
    found = [f for f in check(a).findings if f.code == "unprotected-workload"]
    assert [(f.resource, f.message.split(":")[1]) for f in found] == [
        ("Namespace big", " 7 workloads no policy selects, in either direction")]
