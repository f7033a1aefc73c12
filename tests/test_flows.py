"""`kubeward flows` (issue 14): Hubble flow records read in both JSON spellings, placed among the
lab's workloads and compared with the lab's configuration (examples/shop, cilium profile)."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kubeward.analyses.flow_place import Placer
from kubeward.analyses.flows import FlowsReport, flows_report, read_placed
from kubeward.analyses.session import analyse_input, analyse_text
from kubeward.cli import main
from kubeward.engine.options import Cni, Options
from kubeward.flows import Endpoint, read_flows

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "tests" / "data" / "flows"
JSONPB, SNAKE = FLOWS / "lab-jsonpb.json", FLOWS / "lab-snake.json"
SHOP = str(ROOT / "examples" / "shop")


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def lab_json() -> Any:
    result = run("flows", str(FLOWS), SHOP, "--cni", "cilium", "--format", "json")
    assert result.exit_code == 1
    return json.loads(result.stdout)


def _flow(doc: Any, src: str, dst: str, port: int) -> Any:
    found = [f for f in doc["flows"]
             if f["source"]["peer"] == src and f["destination"]["peer"] == dst and f["port"] == port]
    assert len(found) == 1, found
    return found[0]


# ---- reading ---------------------------------------------------------------------------------

def test_the_two_json_spellings_of_one_flow_read_as_the_same_flow(tmp_path: Path) -> None:
    camel = ('{"flow":{"time":"t1","verdict":"DROPPED","dropReasonDesc":"POLICY_DENIED","IP":{"source":"10.0.0.1",'
             '"destination":"10.0.0.2"},"l4":{"TCP":{"destinationPort":3306}},"source":{"namespace":"shop",'
             '"podName":"api-1","labels":["k8s:app=api","k8s:io.kubernetes.pod.namespace=shop"]},'
             '"destination":{"namespace":"shop","podName":"mysql-1","labels":["k8s:app=mysql"]},"isReply":false}}')
    snake = ('{"time":"t2","verdict":"DROPPED","drop_reason_desc":"POLICY_DENIED","IP":{"source":"10.0.0.1",'
             '"destination":"10.0.0.2"},"l4":{"TCP":{"destination_port":3306}},"source":{"namespace":"shop",'
             '"pod_name":"api-1","labels":["k8s:app=api","k8s:io.cilium.k8s.policy.cluster=default"]},'
             '"destination":{"namespace":"shop","pod_name":"mysql-1","labels":["k8s:app=mysql"]},"is_reply":false}')
    (tmp_path / "f.json").write_text(camel + "\n" + snake + "\n")
    read = read_flows([str(tmp_path / "f.json")])
    assert read.lines == 2 and len(read.flows) == 1
    flow = read.flows[0]
    assert (flow.count, flow.first, flow.last) == (2, "t1", "t2")
    k = flow.key
    assert (k.source.pod, k.source.labels, k.destination.pod, k.protocol, k.port, k.verdict, k.drop_reason) == \
        ("api-1", ("app=api",), "mysql-1", "TCP", 3306, "DROPPED", "POLICY_DENIED")


def test_a_gzipped_file_is_read_by_its_magic_bytes_whatever_its_name(tmp_path: Path) -> None:
    packed = tmp_path / "flows.log"
    packed.write_bytes(gzip.compress(JSONPB.read_bytes()))
    assert [f.key for f in read_flows([str(packed)]).flows] == [f.key for f in read_flows([str(JSONPB)]).flows]


def test_a_bad_line_is_a_warning_with_file_and_line_and_the_rest_is_read(tmp_path: Path) -> None:
    read = read_flows([str(SNAKE)])
    assert (read.lines, read.bad_lines, read.other_records) == (5, 1, 1)
    [bad] = read.diagnostics.sorted()
    assert (bad.code, bad.file, bad.line) == ("flows-bad-line", str(SNAKE), 6)


def test_flows_from_standard_input() -> None:
    result = run("flows", "-", SHOP, "--cni", "cilium", "--format", "json", input=JSONPB.read_text())
    assert json.loads(result.stdout)["summary"]["records"] == 9


def test_a_missing_flows_file_is_an_input_error() -> None:
    result = run("flows", str(FLOWS / "nothing.json"), SHOP)
    assert result.exit_code == 2
    assert "no such file or folder" in result.stderr


# ---- placing ---------------------------------------------------------------------------------

_PODS = """
apiVersion: v1
kind: Pod
metadata:
  name: web-abc
  namespace: shop
  labels: {app: web}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d9f, uid: u1, controller: true}]
status: {podIP: 10.0.1.11, phase: Running}
---
apiVersion: v1
kind: Pod
metadata: {name: a-1, namespace: shop, labels: {tier: x}}
---
apiVersion: v1
kind: Pod
metadata: {name: b-1, namespace: shop, labels: {tier: x}}
"""


def test_an_endpoint_is_placed_by_pod_name_then_address_and_ambiguity_is_said() -> None:
    placer = Placer(analyse_text(_PODS))
    assert placer.place(Endpoint("shop", "web-abc")).peer == "shop/web-5d9f"
    assert placer.place(Endpoint(ip="10.0.1.11")).peer == "shop/web-5d9f"
    assert placer.place(Endpoint(reserved=("world",), ip="8.8.8.8"), ("dns.google",)).peer == "dns.google"
    ambiguous = placer.place(Endpoint("shop", "", ("tier=x",)))
    assert ambiguous.peer == "" and "ambiguous" in ambiguous.reason
    unknown = placer.place(Endpoint("shop", "ghost-1", ("app=ghost",)))
    assert unknown.peer == "" and "ghost-1: not in the input" in unknown.reason


# ---- the lab ---------------------------------------------------------------------------------

def test_the_api_to_mysql_drop_is_named_the_default_deny_hubble_does_not_name() -> None:
    flow = _flow(lab_json(), "shop/api", "shop/mysql", 3306)
    assert (flow["verdict"], flow["dropReason"], flow["observed"], flow["computed"], flow["agree"]) == \
        ("DROPPED", "POLICY_DENIED", "deny", "deny", True)
    assert flow["count"] == 2
    assert flow["decidedBy"] == {
        "phrase": "default deny of NetworkPolicy shop/default-deny", "layer": "cni", "reason": "no-rule-matched",
        "direction": "ingress", "kind": "NetworkPolicy", "namespace": "shop", "name": "default-deny", "rule": None,
        "file": str(ROOT / "examples/shop/base/networkpolicies.yaml"), "line": 3}


def test_a_forwarded_flow_the_configuration_denies_is_flagged_as_drift_with_its_trace() -> None:
    doc = lab_json()
    flow = _flow(doc, "shop/web", "shop/mysql", 3306)
    assert (flow["observed"], flow["computed"], flow["agree"]) == ("allow", "deny", False)
    assert flow["decidedBy"]["phrase"] == "default deny of NetworkPolicy shop/default-deny"
    assert any(s["effect"] == "deny" for s in flow["trace"])
    assert "the cluster runs other policies" in flow["causes"][0]
    google = _flow(doc, "shop/web", "www.google.com", 443)
    assert (google["observed"], google["computed"], google["agree"]) == ("deny", "allow", False)
    assert doc["summary"]["observedAllowedConfigDenies"] == 1
    assert doc["summary"]["observedDroppedConfigAllows"] == 1


def test_the_lab_traffic_that_agrees() -> None:
    doc = lab_json()
    catalog = [f for f in doc["flows"] if f.get("http") == {"method": "GET", "path": "/v1/catalog",
                                                              "host": "api.shop.svc"}]
    assert [(f["count"], f["agree"], f["decidedBy"]["name"]) for f in catalog] == [(2, True, "web-to-api-l7")]
    dns = _flow(doc, "shop/web", "kube-system/coredns", 53)
    assert (dns["protocol"], dns["dns"], dns["agree"], dns["decidedBy"]["name"]) == \
        ("UDP", "api.payment.example.com", True, "allow-dns")
    assert _flow(doc, "shop/web", "api.payment.example.com", 443)["agree"] is True


def test_replies_non_policy_drops_and_unplaced_ends_are_counted_apart() -> None:
    doc = lab_json()
    s = doc["summary"]
    assert (s["records"], s["distinct"], s["compared"], s["replies"], s["nonPolicyDrops"], s["unplaced"]) == \
        (14, 12, 7, 3, 1, 1)
    apart = {a["reason"]: a for a in doc["apart"]}
    assert apart["not-a-policy-drop"]["dropReason"] == "CT_MAP_INSERTION_FAILED"
    assert "batch/reporter-0: not in the input" in apart["unplaced"]["detail"]


def test_the_rules_no_observed_flow_used_are_listed() -> None:
    result = run("flows", str(FLOWS), SHOP, "--cni", "cilium")
    assert result.exit_code == 1
    # The Calico policy of the lab is not enforced under --cni cilium: not a rule flows could use.
    unused = result.stdout.split("rules no observed flow used (2): candidates to remove or tighten\n")[1]
    assert unused.splitlines()[:3] == [
        f"  NetworkPolicy shop/allow-api-egress-mysql egress rule 0 ({SHOP}/base/networkpolicies.yaml:36)",
        f"  CiliumNetworkPolicy shop/web-egress-payment egress rule 0 ({SHOP}/cni/cilium/policies.yaml:27)",
        "",
    ]
    assert f"       2 / 1     default deny of NetworkPolicy shop/default-deny (ingress) " \
        f"({SHOP}/base/networkpolicies.yaml:3)\n" in result.stdout
    assert "  shop  POLICY_DENIED  default deny of NetworkPolicy shop/default-deny  1 / 2\n" in result.stdout
    assert "  DIFF shop/web → shop/mysql TCP/3306  ×1  forwarded / deny — default deny of NetworkPolicy " \
        f"shop/default-deny ({SHOP}/base/networkpolicies.yaml:3)\n" in result.stdout


def test_flows_that_all_agree_exit_0_and_markdown_lists_them(tmp_path: Path) -> None:
    lines = [line for line in JSONPB.read_text().splitlines() if not ("FORWARDED" in line and "mysql" in line)]
    (tmp_path / "ok.json").write_text("\n".join(lines) + "\n")
    result = run("flows", str(tmp_path / "ok.json"), SHOP, "--cni", "cilium", "--format", "md")
    assert result.exit_code == 0, result.stdout
    assert "| shop/api → shop/mysql TCP/3306 | 2 | DROPPED | deny | default deny of NetworkPolicy " \
        "shop/default-deny" in result.stdout


@pytest.mark.parametrize("fmt", ["text", "json", "md"])
def test_every_format_of_a_folder_of_flows(fmt: str, tmp_path: Path) -> None:
    shutil.copytree(FLOWS, tmp_path / "f")
    assert run("flows", str(tmp_path / "f"), SHOP, "--cni", "cilium", "--format", fmt).exit_code == 1


def test_flows_read_without_an_analysis_are_placed_by_the_report_with_the_same_verdicts() -> None:
    analysis = analyse_input([SHOP], Options(cni=Cni.CILIUM))
    raw = flows_report(analysis, read_flows([str(JSONPB)]))
    placed, placer = read_placed(analysis, [str(JSONPB)])
    collapsed = flows_report(analysis, placed, placer)
    assert len(read_flows([str(JSONPB)]).flows) > len(placed.flows)  # pods of one workload are one flow
    def verdicts(report: FlowsReport) -> set[tuple[str, str, int | None, str, str, str]]:
        return {(r.source.peer, r.destination.peer, r.flow.key.port, r.flow.key.path, r.observed, r.computed)
                for r in report.results}
    assert verdicts(raw) == verdicts(collapsed)
    assert ("shop/api", "shop/mysql", 3306, "", "deny", "deny") in verdicts(raw)


def test_a_record_of_the_wrong_shape_is_a_bad_line_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "f.json").write_text('{"flow": {"verdict": ["FORWARDED"]}}\n[1, 2]\n' + JSONPB.read_text())
    read = read_flows([str(tmp_path / "f.json")])
    assert (read.bad_lines, read.lines) == (2, 9)
    assert [(d.code, d.line) for d in read.diagnostics.sorted()] == [("flows-bad-line", 1), ("flows-bad-line", 2)]


def test_an_audit_verdict_is_a_policy_denial_the_audit_mode_let_through(tmp_path: Path) -> None:
    line = next(line for line in JSONPB.read_text().splitlines() if "POLICY_DENIED" in line)
    (tmp_path / "audit.json").write_text(line.replace('"verdict":"DROPPED"', '"verdict":"AUDIT"') + "\n")
    result = run("flows", str(tmp_path / "audit.json"), SHOP, "--cni", "cilium", "--format", "json")
    [flow] = json.loads(result.stdout)["flows"]
    assert (flow["verdict"], flow["observed"], flow["computed"], flow["agree"]) == ("AUDIT", "deny", "deny", True)
    assert result.exit_code == 0


def test_a_flows_file_without_one_flow_record_is_an_input_error_not_a_clean_report(tmp_path: Path) -> None:
    """Every rule would read as unused and nothing as a disagreement: the user must act (exit 2)."""
    bad = tmp_path / "flows.json"
    bad.write_text('{"flow": 5}\nnot json\n{"flow": {"verdict": 7, "source": []}}\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["flows", str(bad), SHOP], catch_exceptions=False)
    assert result.exit_code == 2
    assert f"{bad}: error: flows-empty: no Hubble flow record in" in result.stderr
    assert "(3 lines that are not flow records, 0 other records): nothing to compare" in result.stderr
