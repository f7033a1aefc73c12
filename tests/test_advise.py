"""`kubeward advise` (issue 14): least-privilege policies written from the fixed lab's observed
traffic (tests/data/flows-fixed: web → api HTTP 8080, api → mysql 3306, every pod → coredns DNS 53,
web → api.payment.example.com 443), proved by the engine, and checked here against the lab's own
test suite (examples/shop-fixed/tests.yaml) on the workloads of the input plus the written set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from kubeward.analyses import testsuite
from kubeward.analyses.advise import advise, read_for_advice
from kubeward.analyses.advise_proof import Proof, prove, write_advice
from kubeward.analyses.explain import explain
from kubeward.analyses.session import analyse_paths
from kubeward.analyses.testsuite import is_suite, read_cases, run_suite
from kubeward.cli import main
from kubeward.diagnostics import Diagnostics
from kubeward.loader import load_paths

ROOT = Path(__file__).resolve().parent.parent
FIXED = str(ROOT / "examples" / "shop-fixed")
SHOP = str(ROOT / "examples" / "shop")
TRAFFIC = str(ROOT / "tests" / "data" / "flows-fixed" / "shop-fixed.json")
LAB_FLOWS = str(ROOT / "tests" / "data" / "flows")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def advised(out: Path, dialect: str, paths: tuple[str, ...] = (FIXED,), traffic: str = TRAFFIC,
            namespaces: tuple[str, ...] = ("shop",)) -> Proof:
    analysis = analyse_paths(paths)
    read = read_for_advice(analysis, [traffic])
    advice = advise(analysis, read, dialect, namespaces)
    return prove(analysis, advice, write_advice(advice, str(out)))


def suite_cases() -> list[testsuite.TestCase]:
    [suite] = [o for o in load_paths([str(Path(FIXED) / "tests.yaml")], Diagnostics()) if is_suite(o)]
    cases, _, problems = read_cases(suite)
    assert not problems
    return cases


def covered(case: testsuite.TestCase, proof: Proof) -> bool:
    """Whether the observed traffic says what the case should be: an allow case some observed
    flow made (same ends, port and, if the case names one, request); a deny case of a port no
    observed flow used — or, when the dialect writes HTTP rules, of a request never seen."""
    cilium = proof.advice.dialect == "cilium"

    def same_l4(o: Any) -> bool:
        # the networkpolicy dialect writes the addresses seen, never the names they answered for
        dst = (o.dst == case.destination or case.destination in o.names) if cilium else \
            (o.dst_ip or o.dst) == case.destination
        return o.src == case.source and dst and o.port == case.port and o.protocol == (case.protocol or "TCP")

    l4 = [o for o in proof.advice.observed if same_l4(o)]
    requests = [o for o in l4 if case.method is None or (o.method, o.path) == (case.method, case.path)]
    if case.expect == "allow":
        return bool(requests)
    return not l4 or (cilium and case.method is not None and not requests)


@pytest.fixture(scope="module", params=["networkpolicy", "cilium"])
def proof(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Proof:
    return advised(tmp_path_factory.mktemp(request.param), request.param)


# ---- the proof -----------------------------------------------------------------------------------

def test_every_observed_allowed_flow_is_allowed_by_the_written_set(proof: Proof) -> None:
    assert proof.exit_code == 0 and not proof.failures
    assert len(proof.checked) == len(proof.advice.observed) == 10
    assert all(c.allowed for c in proof.checked)
    assert proof.summary()["apart"] == 1  # the HTTP response: a reply, not traffic to allow


def test_web_to_mysql_is_denied_by_the_written_set(proof: Proof) -> None:
    assert proof.analysis is not None
    ex = explain(proof.analysis, "shop/web", "shop/mysql", 3306, "TCP")
    assert not ex.allowed
    deny = next(s for s in ex.verdict.steps if s.effect.value == "deny")
    assert deny.reason.value == "no-rule-matched"  # isolated by the written set, and no rule of it allows
    assert deny.policy is not None and deny.policy.file == proof.files["shop"]


def test_the_lab_cases_the_traffic_covers_pass_on_the_written_set(proof: Proof) -> None:
    cases = [c for c in suite_cases() if covered(c, proof)]
    names = {c.name for c in cases}
    assert {"web reaches the api catalog (GET /v1/catalog)", "web places an order (POST /v1/order)",
            "api reaches mysql on 3306", "web cannot reach mysql", "web cannot reach www.google.com",
            "web resolves names through the cluster DNS"} <= names
    if proof.advice.dialect == "cilium":  # names and requests are written only by the cilium dialect
        assert {"web reaches the payment API", "web cannot reach /admin on api (403 from the proxy)"} <= names
    assert proof.analysis is not None
    result = run_suite(proof.analysis, cases)
    assert [r.message for r in result.results if not r.passed] == []


def test_the_networkpolicy_dialect_allows_the_payment_api_by_the_addresses_seen(tmp_path: Path) -> None:
    proof = advised(tmp_path, "networkpolicy")
    assert proof.analysis is not None
    for address, allowed in (("203.0.113.10", True), ("203.0.113.11", True), ("203.0.113.12", False),
                             ("142.250.74.36", False)):
        assert explain(proof.analysis, "shop/web", address, 443, "TCP").allowed is allowed, address
    shop = yaml.safe_load_all(Path(proof.files["shop"]).read_text())
    web = next(d for d in shop if d["metadata"]["name"] == "allow-web")
    assert {"to": [{"ipBlock": {"cidr": "203.0.113.10/31"}}], "ports": [{"protocol": "TCP", "port": 443}]} \
        in web["spec"]["egress"]  # the two addresses seen, /32 each, merged


def test_beyond_the_observed_the_set_allows_only_dns_over_tcp(proof: Proof) -> None:
    assert sorted((b.src, b.dst, str(b.ports)) for b in proof.beyond) == [
        ("shop/api", "kube-system/coredns", "TCP/53"), ("shop/mysql", "kube-system/coredns", "TCP/53"),
        ("shop/web", "kube-system/coredns", "TCP/53")]


# ---- the YAML written ----------------------------------------------------------------------------

def test_one_file_per_namespace_that_parses_with_each_rule_commented(proof: Proof) -> None:
    assert list(proof.files) == ["shop"]
    text = Path(proof.files["shop"]).read_text()
    docs = list(yaml.safe_load_all(text))
    assert [d["metadata"]["name"] for d in docs] == ["default-deny", "allow-dns", "allow-api", "allow-mysql",
                                                      "allow-web"]
    assert "  # shop/api → shop/mysql TCP/3306 ×2 (first seen " + TRAFFIC + ":9)\n" in text
    assert "# shop/web → shop/api TCP/8080 GET /v1/catalog ×3 (first seen " in text
    # every rule is preceded by a comment naming a flow it covers
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(("  - to", "  - from")):
            assert lines[i - 1].startswith("  # "), (i, line)


def test_networkpolicy_dialect_selectors_and_namespaces(tmp_path: Path) -> None:
    proof = advised(tmp_path, "networkpolicy")
    docs = {d["metadata"]["name"]: d for d in yaml.safe_load_all(Path(proof.files["shop"]).read_text())}
    assert docs["default-deny"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert docs["allow-dns"]["spec"]["egress"] == [{
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]
    assert docs["allow-api"]["spec"] == {
        "podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                     "ports": [{"protocol": "TCP", "port": 8080}]}],
        "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "mysql"}}}],
                    "ports": [{"protocol": "TCP", "port": 3306}]}]}


def test_cilium_dialect_writes_fqdns_the_dns_rule_and_http_rules(tmp_path: Path) -> None:
    proof = advised(tmp_path, "cilium")
    docs = {d["metadata"]["name"]: d for d in yaml.safe_load_all(Path(proof.files["shop"]).read_text())}
    assert all(d["kind"] == "CiliumNetworkPolicy" for d in docs.values())
    assert docs["default-deny"]["spec"] == {"endpointSelector": {}, "ingress": [{}], "egress": [{}]}
    [dns] = docs["allow-dns"]["spec"]["egress"]
    assert dns["toPorts"][0]["rules"] == {"dns": [{"matchPattern": "*"}]}
    egress = docs["allow-web"]["spec"]["egress"]
    assert {"toFQDNs": [{"matchName": "api.payment.example.com"}],
            "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]} in egress
    api = next(r for r in egress if "toEndpoints" in r)
    assert api["toPorts"] == [{"ports": [{"port": "8080", "protocol": "TCP"}], "rules": {"http": [
        {"method": "GET", "path": "/v1/catalog"}, {"method": "POST", "path": "/v1/order"}]}}]


def test_selectors_leave_out_the_labels_of_one_pod_or_revision(tmp_path: Path) -> None:
    workloads = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front, pod-template-hash: 7d4b9c6f5, app.kubernetes.io/version: "1.2"}}
    spec: {containers: [{name: web, image: web}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db, controller-revision-hash: db-5c7d, statefulset.kubernetes.io/pod-name: db-0}}
    spec: {containers: [{name: db, image: db, ports: [{containerPort: 5432}]}]}
"""
    (tmp_path / "in.yaml").write_text(workloads)
    flow = {"flow": {"time": "t", "verdict": "FORWARDED", "IP": {"source": "10.0.0.1", "destination": "10.0.0.2"},
                     "l4": {"TCP": {"destinationPort": 5432}},
                     "source": {"namespace": "shop", "podName": "web-7d4b9c6f5-abcde",
                                "labels": ["k8s:app=web", "k8s:tier=front", "k8s:pod-template-hash=7d4b9c6f5",
                                           "k8s:app.kubernetes.io/version=1.2"]},
                     "destination": {"namespace": "shop", "podName": "db-0",
                                     "labels": ["k8s:app=db", "k8s:controller-revision-hash=db-5c7d",
                                                "k8s:statefulset.kubernetes.io/pod-name=db-0"]}}}
    (tmp_path / "flows.json").write_text(json.dumps(flow) + "\n")
    proof = advised(tmp_path / "out", "networkpolicy", (str(tmp_path / "in.yaml"),), str(tmp_path / "flows.json"))
    assert proof.exit_code == 0 and [c.allowed for c in proof.checked] == [True]
    docs = {d["metadata"]["name"]: d for d in yaml.safe_load_all(Path(proof.files["shop"]).read_text())}
    assert docs["allow-web"]["spec"]["podSelector"] == {"matchLabels": {"app": "web", "tier": "front"}}
    assert docs["allow-db"]["spec"]["podSelector"] == {"matchLabels": {"app": "db"}}
    assert docs["allow-db"]["spec"]["ingress"][0]["from"] == [
        {"podSelector": {"matchLabels": {"app": "web", "tier": "front"}}}]
    assert "pod-template-hash" not in Path(proof.files["shop"]).read_text()


# ---- the command ---------------------------------------------------------------------------------

def test_advise_command_text_and_exit_code(tmp_path: Path) -> None:
    result = run("advise", TRAFFIC, FIXED, "--out", str(tmp_path), "-n", "shop")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"  {tmp_path / 'shop.yaml'}: default-deny, allow-dns, allow-api, allow-mysql, allow-web\n" in out
    assert "the proof holds: 10 of 10 flows allowed\n" in out
    assert "  shop/web → kube-system/coredns TCP/53\n" in out
    assert "diff current → advised" in out
    assert "shop/web -> 203.0.113.10/31: + now allowed TCP/443" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.yaml"]


def test_advise_json(tmp_path: Path) -> None:
    result = run("advise", TRAFFIC, FIXED, "--out", str(tmp_path), "-n", "shop", "--dialect", "cilium",
                 "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["schema"] == 1 and doc["dialect"] == "cilium"
    assert doc["summary"] == {"observedAllowed": 10, "observedDenied": 0, "apart": 1, "skipped": 0, "policies": 5,
                              "files": 1, "proven": 10, "notAllowed": 0, "deniedAbove": 0, "beyondObserved": 3}
    assert doc["failures"] == [] and doc["diff"]["schema"] == 2
    first = doc["flows"][0]
    assert (first["source"], first["destination"], first["port"], first["allowed"]) == ("shop/web", "shop/api",
                                                                                        8080, True)
    assert first["decidedBy"]["file"] == str(tmp_path / "shop.yaml")


def test_every_namespace_of_the_observed_workloads_by_default(tmp_path: Path) -> None:
    result = run("advise", LAB_FLOWS, SHOP, "--cni", "cilium", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kube-system.yaml", "shop.yaml"]
    # the lab's flows: the api → mysql drops are not advised; the flow to an unknown pod is not written
    assert "not written: shop/web → batch/reporter-0 TCP/9000" in result.stdout
    assert "shop/api → shop/mysql" not in Path(tmp_path / "shop.yaml").read_text()


def test_a_flow_the_written_set_does_not_allow_is_exit_1(tmp_path: Path) -> None:
    # The proof reads the files on disk: a written file edited by hand (mysql's port changed) no
    # longer allows the observed api → mysql flow, and the proof says which flow.
    analysis = analyse_paths([FIXED])
    read = read_for_advice(analysis, [TRAFFIC])
    advice = advise(analysis, read, "networkpolicy", ("shop",))
    files = write_advice(advice, str(tmp_path))
    text = Path(files["shop"]).read_text().replace("port: 3306", "port: 3307")
    Path(files["shop"]).write_text(text)
    proof = prove(analysis, advice, files)
    assert proof.exit_code == 1
    assert [c.observed.label for c in proof.failures] == ["shop/api → shop/mysql TCP/3306"]


def test_bad_input_is_exit_2(tmp_path: Path) -> None:
    result = run("advise", str(tmp_path / "missing.json"), FIXED, "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "no such file or folder" in result.stderr
    result = run("advise", TRAFFIC, FIXED, "--out", str(tmp_path / "out"), "-n", "nowhere")
    assert result.exit_code == 2 and "--namespace nowhere: not in the input" in result.stderr


def test_addresses_are_merged_per_family() -> None:
    from kubeward.analyses.advise import _cidrs

    assert _cidrs(["10.0.0.1", "10.0.0.0", "2001:db8::1", "10.0.0.3"]) == ["10.0.0.0/31", "10.0.0.3/32",
                                                                          "2001:db8::1/128"]
