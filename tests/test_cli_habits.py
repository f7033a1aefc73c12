"""Issue 17, the command line people expect: kubeward tried with kubectl habits.

`-o json|yaml`, workload names as kubectl takes them, named ports, `-n`, `-q`, colour only on a
terminal (NO_COLOR honoured), `map --denied`, the `kubectl-kubeward` plugin entry point, one name
(`world`) for the outside, and a DOT graph that graphviz renders readably."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from kubeward.analyses.map_groups import IpBlock
from kubeward.analyses.names import WorkloadName, parse_workload_name, resolve_workload
from kubeward.analyses.session import analyse_paths, analyse_text
from kubeward.cli import main
from kubeward.errors import UsageError
from kubeward.model import WorkloadKind

ROOT = Path(__file__).resolve().parent.parent
FIXED = "examples/shop-fixed"
SHOP = "examples/shop"
ARTEFACTS = ROOT / "tests" / "artefacts"


def kubeward(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)


def explain_flow(*args: str) -> tuple[int, dict[str, Any]]:
    result = kubeward("explain", FIXED, *args, "-o", "json")
    doc = json.loads(result.stdout)
    return result.exit_code, {"from": doc["flow"]["from"]["id"], "to": doc["flow"]["to"]["id"],
                              "port": doc["flow"].get("port"), "verdict": doc["verdict"]}


# --------------------------------------------------------------------------- -o json / -o yaml


@pytest.mark.parametrize("command", [["map", FIXED], ["check", FIXED],
                                     ["explain", FIXED, "--from", "shop/web", "--to", "shop/api", "--port", "8080"],
                                     ["lint", FIXED]])
def test_o_json_is_format_json_and_o_yaml_is_the_same_document(command: list[str]) -> None:
    by_format = kubeward(*command, "--format", "json")
    by_o = kubeward(*command, "-o", "json")
    by_output = kubeward(*command, "--output", "json")
    as_yaml = kubeward(*command, "-o", "yaml")
    assert by_format.stdout == by_o.stdout == by_output.stdout
    assert by_format.exit_code == by_o.exit_code == as_yaml.exit_code
    doc = yaml.safe_load(as_yaml.stdout)
    assert doc == json.loads(by_format.stdout)
    assert list(doc)[0] == "schema" and as_yaml.stdout.startswith("schema: ")


def test_an_unknown_output_format_is_a_usage_error_listing_yaml() -> None:
    result = kubeward("map", FIXED, "-o", "wide")
    assert result.exit_code == 2
    assert "'wide' is not one of 'text', 'json', 'yaml', 'csv', 'md', 'dot'" in result.stderr


# --------------------------------------------------------------------------- workload names


@pytest.mark.parametrize(("spec", "parsed"), [
    ("shop/web", WorkloadName(None, "shop", "web")),
    ("web", WorkloadName(None, None, "web")),
    ("deploy/web", WorkloadName(WorkloadKind.DEPLOYMENT, None, "web")),
    ("deployments/web", WorkloadName(WorkloadKind.DEPLOYMENT, None, "web")),
    ("deployment.apps/web", WorkloadName(WorkloadKind.DEPLOYMENT, None, "web")),
    ("deployment/shop/web", WorkloadName(WorkloadKind.DEPLOYMENT, "shop", "web")),
    ("sts/mysql", WorkloadName(WorkloadKind.STATEFUL_SET, None, "mysql")),
    ("ds/agent", WorkloadName(WorkloadKind.DAEMON_SET, None, "agent")),
    ("cj/backup", WorkloadName(WorkloadKind.CRON_JOB, None, "backup")),
    ("po/web-7d4b9c8f6d-x2x4q", WorkloadName(WorkloadKind.POD, None, "web-7d4b9c8f6d-x2x4q")),
])
def test_workload_names_parse_as_kubectl_takes_them(spec: str, parsed: WorkloadName) -> None:
    assert parse_workload_name(spec, {"shop"}) == parsed


def test_a_namespace_named_like_a_kind_is_a_namespace() -> None:
    assert parse_workload_name("deploy/web", {"deploy"}) == WorkloadName(None, "deploy", "web")


@pytest.mark.parametrize("names", [
    ("shop/web", "shop/api"), ("deploy/web", "deploy/api"), ("deployment/shop/web", "deployment/shop/api"),
    ("pod/web-7d4b9c8f6d-x2x4q", "svc/api"),
])
def test_every_form_of_a_workload_name_names_the_same_flow(names: tuple[str, str]) -> None:
    code, flow = explain_flow("-n", "shop", "--from", names[0], "--to", names[1], "--port", "8080")
    assert (code, flow) == (0, {"from": "shop/web", "to": "shop/api", "port": 8080, "verdict": "allow"})


def test_a_bare_name_with_n_and_a_kind_with_n() -> None:
    assert explain_flow("-n", "shop", "--from", "web", "--to", "deployment/api", "--port", "8080") == (
        0, {"from": "shop/web", "to": "shop/api", "port": 8080, "verdict": "allow"})
    assert explain_flow("--from", "web", "--to", "mysql", "--port", "3306") == (  # unique in the input: found
        1, {"from": "shop/web", "to": "shop/mysql", "port": 3306, "verdict": "deny"})


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "deploy/wbe", "--to", "shop/api"],
     "kubeward explain: --from deploy/wbe: no Deployment wbe in the input; did you mean shop/web?\n"),
    (["--from", "shop/web", "--to", "statefulset/mysql", "-n", "shop"],
     "kubeward explain: --to statefulset/mysql: shop/mysql is a Deployment, not a StatefulSet\n"),
    (["--from", "shop/wbe", "--to", "shop/api"],
     "kubeward explain: --from shop/wbe: no workload shop/wbe in the input; did you mean shop/web?\n"),
    (["-n", "nope", "--from", "web", "--to", "api"],
     "kubeward explain: --namespace nope: not in the input (namespaces: infra, ingress-nginx, kube-system, shop)\n"),
])
def test_an_unknown_name_exits_2_with_close_matches(args: list[str], message: str) -> None:
    result = kubeward("explain", FIXED, *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.endswith(message)


TWO_WEBS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: a}
spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}},
       spec: {containers: [{name: c, image: x}]}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: b}
spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}},
       spec: {containers: [{name: c, image: x}]}}}
"""


def test_an_ambiguous_name_lists_the_candidates_and_a_kind_or_namespace_settles_it() -> None:
    cluster = analyse_text(TWO_WEBS).cluster
    with pytest.raises(UsageError) as refused:
        resolve_workload(cluster, "web")
    assert str(refused.value) == ("--workload web: ambiguous: deployment/a/web, statefulset/b/web "
                                  "(give NAMESPACE/NAME or -n NAMESPACE)")
    assert resolve_workload(cluster, "sts/web").workload.id == "b/web"
    assert resolve_workload(cluster, "web", "a").workload.id == "a/web"
    assert resolve_workload(cluster, "pod/web-0").workload.id == "b/web"  # a StatefulSet's pod name


def test_map_and_check_take_the_same_names() -> None:
    by_id = json.loads(kubeward("map", FIXED, "-w", "shop/web", "-o", "json").stdout)
    by_kind = json.loads(kubeward("map", FIXED, "-w", "deploy/web", "-o", "json").stdout)
    by_n = json.loads(kubeward("map", FIXED, "-n", "shop", "-w", "web", "-o", "json").stdout)
    assert by_id["connections"] == by_kind["connections"]
    assert sorted((c["src"], c["dst"]) for c in by_id["connections"]) == [  # not two empty maps
        ("group-1", "shop/web"), ("shop/web", "api.payment.example.com"), ("shop/web", "kube-system/coredns"),
        ("shop/web", "shop/api"), ("world", "shop/web")]
    assert {c["src"] for c in by_id["connections"]} < {c["src"] for c in by_n["connections"]}  # -n shop adds its own
    check = kubeward("check", FIXED, "-w", "deploy/web", "-o", "json")
    assert json.loads(check.stdout)["connectivity"]["focus"] == ["shop/web"]
    unknown = kubeward("map", FIXED, "-w", "deploy/nope")
    assert (unknown.exit_code, unknown.stderr.splitlines()[-1]) == (
        2, "kubeward map: --workload deploy/nope: no Deployment nope in the input; did you mean shop/web?")


# --------------------------------------------------------------------------- named ports


def test_a_named_port_is_resolved_on_the_destination() -> None:
    assert explain_flow("--from", "shop/web", "--to", "shop/api", "--port", "http") == (
        0, {"from": "shop/web", "to": "shop/api", "port": 8080, "verdict": "allow"})
    assert explain_flow("--from", "shop/api", "--to", "shop/mysql", "--port", "mysql") == (
        0, {"from": "shop/api", "to": "shop/mysql", "port": 3306, "verdict": "allow"})
    missing = kubeward("explain", FIXED, "--from", "shop/web", "--to", "shop/api", "--port", "https")
    assert missing.exit_code == 2
    assert missing.stderr.endswith("kubeward explain: --port https: shop/api has no container port named https "
                                   "(named ports: http)\n")
    service = kubeward("explain", FIXED, "-n", "shop", "--from", "web", "--to", "svc/api", "--port", "http")
    assert service.exit_code == 2 and service.stderr.endswith(  # a Service port is named by the Service's names
        "kubeward explain: --port http: Service shop/api has no port named http (named ports: none)\n")
    udp = kubeward("explain", FIXED, "--from", "shop/web", "--to", "shop/api", "--port", "http", "--protocol", "UDP")
    assert udp.exit_code == 2 and udp.stderr.endswith("--port http is TCP/8080, not UDP\n")


def test_lint_n_keeps_the_findings_about_that_namespace() -> None:
    doc = json.loads(kubeward("lint", SHOP, "-n", "infra", "-o", "json").stdout)
    assert [(f["code"], f["resource"]) for f in doc["findings"]] == [
        ("tls-secret-missing", {"kind": "Gateway", "namespace": "infra", "name": "edge"})]
    every = json.loads(kubeward("lint", SHOP, "-o", "json").stdout)["findings"]
    shop = json.loads(kubeward("lint", SHOP, "-n", "shop", "-o", "json").stdout)["findings"]
    assert 0 < len(shop) < len(every) and {f["resource"]["namespace"] for f in shop} == {"shop"}
    unknown = kubeward("lint", SHOP, "-n", "nope")
    assert unknown.exit_code == 2 and unknown.stderr.endswith(
        "kubeward lint: --namespace nope: not in the input (namespaces: infra, ingress-nginx, kube-system, shop)\n")


# --------------------------------------------------------------------------- -q


@pytest.mark.parametrize(("args", "code"), [
    (["explain", FIXED, "--from", "shop/web", "--to", "shop/api", "--port", "8080"], 0),
    (["explain", FIXED, "--from", "shop/web", "--to", "shop/mysql", "--port", "3306"], 1),
    (["map", FIXED], 0), (["check", FIXED], 1), (["lint", FIXED, "-o", "json"], 1), (["lint", SHOP, "-n", "infra"], 1),
    (["diff", SHOP, FIXED, "--exit-code"], 1), (["test", FIXED], 0),
    (["explain", FIXED, "--from", "deploy/nope", "--to", "shop/api"], 2),
])
def test_quiet_prints_nothing_on_stdout_and_keeps_the_exit_code(args: list[str], code: int) -> None:
    result = kubeward(*args, "-q")
    assert (result.exit_code, result.stdout) == (code, "")
    assert "warning:" not in result.stderr  # only errors


# --------------------------------------------------------------------------- colour


def _on_a_terminal(env: dict[str, str]) -> str:
    """explain's text as a terminal receives it."""
    leader, follower = pty.openpty()
    proc = subprocess.run([sys.executable, "-m", "kubeward", "explain", FIXED, "--from", "shop/web", "--to",
                           "shop/mysql", "--port", "3306"], stdout=follower, stderr=subprocess.DEVNULL, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **env}, timeout=120, check=False)
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    assert proc.returncode == 1
    return out.decode()


def test_colour_only_on_a_terminal_and_never_with_no_color() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    painted = _on_a_terminal({"TERM": "xterm"})
    assert "\x1b[31m✗\x1b[0m" in painted and "\x1b[32m✓\x1b[0m" in painted
    plain = _on_a_terminal({"TERM": "xterm", "NO_COLOR": "1"})
    assert "\x1b[" not in plain and "✗" in plain
    piped = subprocess.run([sys.executable, "-m", "kubeward", "explain", FIXED, "--from", "shop/web", "--to",
                            "shop/mysql", "--port", "3306"], capture_output=True, text=True, cwd=ROOT,
                           env={**env, "PYTHONPATH": str(ROOT / "src"), "TERM": "xterm"}, timeout=120, check=False)
    assert "\x1b[" not in piped.stdout and "✗" in piped.stdout


# --------------------------------------------------------------------------- map --denied


def test_map_denied_lists_the_declared_ports_others_cannot_reach_with_the_deciding_rule() -> None:
    result = kubeward("map", FIXED, "-n", "shop", "--denied")
    assert result.exit_code == 0
    tail = result.stdout.split("\nDenied ", 1)[1].splitlines()
    rule = "default deny of NetworkPolicy shop/default-deny, {} (examples/shop-fixed/base/networkpolicies.yaml:3)"
    assert tail[0] == "(28 of 38 source → declared destination port questions):"
    assert f"  ✗ shop/web → shop/mysql TCP/3306 (mysql): {rule.format('egress')}" in tail
    assert ("  ✗ world, infra/edge-nginx, ingress-nginx/ingress-nginx-controller, kube-system/coredns → "
            f"shop/mysql TCP/3306 (mysql): {rule.format('ingress')}") in tail
    doc = json.loads(kubeward("map", FIXED, "-n", "shop", "--denied", "-o", "json").stdout)
    row = next(r for r in doc["denied"]["rows"] if r["dst"] == "shop/mysql" and r["sources"] == ["shop/web"])
    assert row["decidedBy"] == {"phrase": "default deny of NetworkPolicy shop/default-deny", "layer": "cni",
                                "reason": "no-rule-matched", "direction": "egress", "kind": "NetworkPolicy",
                                "namespace": "shop", "name": "default-deny", "rule": None,
                                "file": "examples/shop-fixed/base/networkpolicies.yaml", "line": 3}
    assert (doc["denied"]["pairs"], doc["denied"]["asked"], doc["denied"]["notAsked"]) == (28, 38, 0)
    # api runs 2 pods: one cannot reach the other (explain says so too); mysql runs 1: never asked of itself
    api = next(r for r in doc["denied"]["rows"] if r["dst"] == "shop/api" and "shop/mysql" in r["sources"])
    assert api["sources"] == ["shop/api", "shop/mysql"]
    assert explain_flow("--from", "shop/api", "--to", "shop/api", "--port", "8080")[1]["verdict"] == "deny"
    assert not [r for r in doc["denied"]["rows"] if r["dst"] == "shop/mysql" and "shop/mysql" in r["sources"]]
    # every denied question agrees with explain
    assert explain_flow("--from", "shop/web", "--to", "shop/mysql", "--port", "3306")[1]["verdict"] == "deny"
    refused = kubeward("map", FIXED, "--denied", "-o", "csv")
    assert refused.exit_code == 2 and "--denied is shown in text, json, yaml and dot, not csv" in refused.stderr


# --------------------------------------------------------------------------- kubectl plugin


def _plugin(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The console script pip writes for the kubectl-kubeward entry point, run as kubectl runs a plugin:
    argv[0] the script, then the words after `kubectl kubeward`."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, func = scripts["kubectl-kubeward"].partition(":")
    code = f"import sys; sys.argv[0] = 'kubectl-kubeward'; from {module} import {func}; sys.exit({func}())"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}, timeout=120,
                          check=False)


def test_kubectl_kubeward_runs_the_commands_and_reads_kubectls_cluster_without_a_path(tmp_path: Path) -> None:
    plugin = _plugin("map", "-n", "shop", FIXED)
    assert plugin.returncode == 0
    assert plugin.stdout == kubeward("map", "-n", "shop", FIXED).stdout
    assert "Usage: kubectl kubeward map" in _plugin("map", "--help").stdout
    nowhere = _plugin("map", "-n", "shop", env={"KUBECONFIG": str(tmp_path / "none")})
    assert nowhere.returncode == 2
    assert nowhere.stderr.startswith("kubeward map: ") and "kubeconfig" in nowhere.stderr
    assert kubeward("map", "-n", "shop").exit_code == 2  # kubeward itself still asks for PATH or --cluster


# --------------------------------------------------------------------------- world


def test_the_outside_is_world_everywhere() -> None:
    text = kubeward("map", FIXED).stdout
    assert "0.0.0.0/0" not in text and "world, api.payment.example.com" in text
    doc = json.loads(kubeward("map", FIXED, "-o", "json").stdout)
    assert doc["schema"] == 3
    assert [p for p in doc["peers"] if p["id"] == "world"] == [
        {"id": "world", "type": "network", "cidrs": ["0.0.0.0/0"]}]
    explained = json.loads(kubeward("explain", FIXED, "--from", "shop/web", "--to", "8.8.8.8", "--port", "443",
                                    "-o", "json").stdout)
    assert explained["schema"] == 2
    assert explained["flow"]["to"] == {"peer": "8.8.8.8 (in world)", "type": "network", "id": "world",
                                       "address": "8.8.8.8"}
    assert str(IpBlock("0.0.0.0/0", ("10.0.0.0/8",))) == "world except 10.0.0.0/8"
    assert str(IpBlock("::/0")) == "world-ipv6" and str(IpBlock("10.0.0.0/8")) == "10.0.0.0/8"
    dot = kubeward("map", FIXED, "-o", "dot").stdout
    assert '"world" -> "shop/web" [label="TCP/8080"];' in dot and "0.0.0.0/0" not in dot


# --------------------------------------------------------------------------- DOT


def _dot_graph(dot: str) -> tuple[set[str], set[tuple[str, str]], list[str]]:
    nodes = set(re.findall(r'^\s+"([^"]+)" \[', dot, re.M))
    edges = re.findall(r'^\s+"([^"]+)" -> "([^"]+)"', dot, re.M)
    clusters = re.findall(r'^\s+subgraph "cluster_([^"]+)"', dot, re.M)
    return nodes, set(edges), clusters


def test_dot_of_the_fixed_lab_clusters_namespaces_merges_edges_and_has_no_orphans() -> None:
    dot = kubeward("map", FIXED, "-o", "dot").stdout
    nodes, edges, clusters = _dot_graph(dot)
    assert clusters == ["infra", "ingress-nginx", "kube-system", "shop"]
    assert len(edges) == len(re.findall(r" -> ", dot))  # one edge per pair of nodes
    assert nodes == {n for e in edges for n in e}  # every node has an edge
    assert '"shop/web" -> "kube-system/coredns" [label="TCP/53 UDP/53"];' in dot
    assert '"shop/web" -> "shop/api" [label="TCP/8080"];' in dot
    assert '"infra/edge-nginx" -> "ingress-nginx/ingress-nginx-controller" [label="all ports", dir=both];' in dot


def test_dot_with_denied_draws_one_edge_per_pair_with_both_its_allowed_and_denied_ports() -> None:
    dot = kubeward("map", FIXED, "-n", "shop", "--denied", "-o", "dot").stdout
    edges = re.findall(r'^\s+"([^"]+)" -> "([^"]+)"', dot, re.M)
    assert edges and len(edges) == len(set(edges))  # two edges on one pair: Graphviz lays their labels over each other
    assert ('  "shop/web" -> "kube-system/coredns" [label=<TCP/53 UDP/53<br/><font color="#c62828">denied TCP/9153'
            '</font>>, color="#4a6fa5:#c62828"];') in dot.splitlines()
    assert ('  "kube-system/coredns" -> "shop/web" [label="denied TCP/8080", color="#c62828", fontcolor="#c62828", '
            'style=dashed];') in dot.splitlines()


def test_dot_renders_with_graphviz() -> None:
    if shutil.which("dot") is None:
        pytest.skip("graphviz's dot is not installed (tools/install-system-packages installs it)")
    ARTEFACTS.mkdir(exist_ok=True)
    for name, args in (("shop-fixed-map", ()), ("shop-fixed-map-denied", ("-n", "shop", "--denied"))):
        dot = kubeward("map", FIXED, "-o", "dot", *args).stdout
        png = ARTEFACTS / f"{name}.png"
        rendered = subprocess.run(["dot", "-Tpng", "-o", str(png)], input=dot, capture_output=True, text=True,
                                  timeout=60, check=False)
        assert rendered.returncode == 0 and rendered.stderr == ""
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_shop_and_fixed_lab_still_analyse() -> None:  # the names module over the real labs
    for path in (SHOP, FIXED):
        cluster = analyse_paths([path]).cluster
        assert resolve_workload(cluster, "deploy/web").workload.id == "shop/web"


# --------------------------------------------------------------------------- URLs


@pytest.mark.parametrize("url", ["https://api.payment.example.com:99999/", "https://api.payment.example.com:0/",
                                 "https://api.payment.example.com:https/"])
def test_a_url_with_a_port_out_of_range_is_a_usage_error_not_an_internal_error(url: str) -> None:
    result = kubeward("explain", FIXED, "--from", "shop/web", "--to", url)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.endswith(f"kubeward explain: --to {url}: expected a URL like https://host[:port]/path\n")


def test_an_ipv6_url_is_written_with_brackets() -> None:
    result = kubeward("explain", FIXED, "--from", "shop/web", "--to", "http://[fd00::1]:8080/x")
    assert result.stdout.startswith("DENY  shop/web -> http://[fd00::1]:8080/x  TCP/8080\n")
