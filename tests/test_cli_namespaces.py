"""Issue 17 (review): `-n/--namespace` on every command that prints workloads, `report -q` and its
`-o FILE` (not a format), `--relabel` with kubectl's workload names, and the outside world named on
the command line as the outputs print it (`world`, `0.0.0.0/0`, `world-ipv6`, CIDRs, `… except …`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kubeward.cli import main

ROOT = Path(__file__).resolve().parent.parent
SHOP, FIXED = "examples/shop", "examples/shop-fixed"
FLOWS = str(ROOT / "tests" / "data" / "flows" / "lab-jsonpb.json")
KNOWN = "(namespaces: infra, ingress-nginx, kube-system, shop)"


def kubeward(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def as_json(*args: str) -> tuple[int, Any]:
    result = kubeward(*args, "-o", "json")
    return result.exit_code, json.loads(result.stdout)


# --------------------------------------------------------------------------- -n everywhere


@pytest.mark.parametrize("command", [
    ["test", SHOP], ["diff", SHOP, FIXED], ["flows", FLOWS, SHOP], ["labels", SHOP],
    ["report", SHOP, "-o", "-"], ["map", SHOP], ["lint", SHOP], ["check", SHOP],
])
def test_an_unknown_namespace_is_exit_2_naming_the_known_ones(command: list[str]) -> None:
    result = kubeward(*command, "-n", "shpo")
    assert result.exit_code == 2
    assert f"--namespace shpo: not in the input {KNOWN}" in result.stderr
    assert result.stdout == ""


def test_test_n_runs_only_the_cases_with_an_end_in_the_namespace() -> None:
    code, doc = as_json("test", SHOP)
    assert (code, doc["passed"], doc["failed"]) == (1, 6, 2)  # api → mysql and web → www.google.com fail
    code, doc = as_json("test", SHOP, "-n", "kube-system")
    assert code == 0
    assert [c["name"] for c in doc["cases"]] == ["web resolves names through the cluster DNS"]
    code, doc = as_json("test", SHOP, "--namespace", "kube-system", "--namespace", "shop")
    assert (code, doc["passed"], doc["failed"]) == (1, 6, 2)


def test_test_n_writes_the_same_cases_to_junit(tmp_path: Path) -> None:
    junit = tmp_path / "j.xml"
    result = kubeward("test", SHOP, "-n", "kube-system", "--junit", str(junit))
    assert result.exit_code == 0
    assert 'tests="1" failures="0"' in junit.read_text()
    assert "1 passed, 0 failed" in result.stdout


def test_diff_n_keeps_the_changes_with_an_end_in_the_namespace_and_says_so() -> None:
    code, doc = as_json("diff", SHOP, FIXED, "-n", "infra")
    assert code == 0
    assert doc["namespaces"] == ["infra"]
    assert [(p["src"], p["dst"]) for p in doc["pairs"]] == [("infra/edge-nginx", "shop/web"),
                                                            ("shop/web", "infra/edge-nginx")]
    # the HTTPRoute of shop that vanished is attached to Gateway infra/edge; the Gateway's entry appeared
    assert [(e["change"], e["via"]["kind"]) for e in doc["entries"]] == [("vanished", "HTTPRoute"),
                                                                         ("appeared", "Gateway")]
    _, whole = as_json("diff", SHOP, FIXED)
    assert "namespaces" not in whole and len(whole["pairs"]) == 8
    text = kubeward("diff", SHOP, FIXED, "-n", "infra").stdout
    assert text.splitlines()[0].endswith("; namespaces infra only)")
    assert "2 pair(s) changed, 2 entry point(s) changed" in text


def test_diff_n_kube_system_has_the_one_change_of_dns() -> None:
    result = kubeward("diff", SHOP, FIXED, "--exit-code", "-n", "kube-system", "-o", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert [(p["src"], p["dst"]) for p in doc["pairs"]] == [("shop/web", "kube-system/coredns")]
    assert doc["entries"] == []


def test_flows_n_counts_only_the_flows_with_an_end_in_the_namespace() -> None:
    code, doc = as_json("flows", FLOWS, SHOP, "-n", "shop")
    assert code == 1
    s = doc["summary"]
    assert (s["records"], s["distinct"], s["compared"], s["disagree"], s["namespaces"]) == (9, 7, 4, 3, ["shop"])
    code, doc = as_json("flows", FLOWS, SHOP, "-n", "kube-system")
    assert code == 0  # no flow of kube-system disagrees: there is none
    s = doc["summary"]
    assert (s["records"], s["distinct"], s["compared"], s["rules"], s["namespaces"]) == (0, 0, 0, 0, ["kube-system"])
    assert doc["flows"] == doc["apart"] == []
    text = kubeward("flows", FLOWS, SHOP, "-n", "kube-system").stdout
    assert "only the flows with an end in namespace(s) kube-system\n0 flow records, 0 distinct" in text


def test_labels_n_keeps_the_labels_of_the_namespace_and_simulates_only_its_removals() -> None:
    code, doc = as_json("labels", SHOP, "-n", "kube-system")
    assert code == 0
    assert doc["namespaces"] == ["kube-system"]
    assert [(d["target"], d["key"], d["value"]) for d in doc["labels"]] == [
        ("pod", "k8s-app", "kube-dns"), ("namespace", "kubernetes.io/metadata.name", "kube-system")]
    assert [[(c["name"], c["key"]) for c in s["changes"]] for s in doc["simulations"]] == [
        [("kube-system/coredns", "k8s-app")]]
    _, whole = as_json("labels", SHOP)
    assert len(whole["labels"]) > 2 and "namespaces" not in whole
    text = kubeward("labels", SHOP, "-n", "kube-system").stdout
    assert text.splitlines()[1].startswith("only the labels of namespace(s) kube-system")


def test_report_n_is_the_page_of_the_namespace_and_its_direct_peers(tmp_path: Path) -> None:
    from kubeward.analyses.report import report_paths

    whole = report_paths([SHOP])
    page = report_paths([SHOP], namespaces=["shop"])
    g: Any = page.graph
    assert g["focus"] == ["shop"] and "focus" not in whole.graph
    # shop's workloads and the one peer outside it they reach (DNS): not infra's nor ingress-nginx's
    assert [w["id"] for w in g["workloads"]] == ["kube-system/coredns", "shop/api", "shop/mysql", "shop/web"]
    assert [n["name"] for n in g["namespaces"]] == ["kube-system", "shop"]
    assert len(whole.graph["workloads"]) == 6  # type: ignore[arg-type]
    policies: Any = g["policies"]
    assert {p["namespace"] for p in policies} == {"shop"}
    dns = report_paths([SHOP], namespaces=["kube-system"])
    tests = dns.section("tests")
    assert tests is not None and tests.data["passed"] == 1 and tests.data["failed"] == 0  # type: ignore[index]
    findings = dns.section("findings")
    assert findings is not None and findings.data == []
    out = tmp_path / "r.html"
    assert kubeward("report", SHOP, "-n", "shop", "-o", str(out)).exit_code == 0
    assert out.read_bytes().startswith(b"<!DOCTYPE html>")


# --------------------------------------------------------------------------- report -q / -o


@pytest.mark.parametrize("fmt", ["json", "yaml", "md"])
def test_report_o_format_is_refused_pointing_at_the_file_it_wants(fmt: str, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["report", str(ROOT / SHOP), "-o", fmt], catch_exceptions=False)
    assert result.exit_code == 2
    assert f"kubeward report: -o {fmt}: report writes one HTML page, and -o names its file (-o report.html" \
        in result.stderr
    assert list(tmp_path.iterdir()) == []  # no file called json


def test_report_q_prints_nothing_and_still_writes_the_page(tmp_path: Path) -> None:
    loud = kubeward("report", SHOP, "-o", str(tmp_path / "a.html"))
    assert "warning: " in loud.stderr
    out = tmp_path / "r.html"
    quiet = kubeward("report", SHOP, "-q", "-o", str(out))
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")
    assert out.stat().st_size > 10_000
    to_stdout = kubeward("report", SHOP, "--quiet", "-o", "-")
    assert (to_stdout.exit_code, to_stdout.stdout) == (0, "")


# --------------------------------------------------------------------------- labels --relabel names


@pytest.mark.parametrize("target", [["shop/web"], ["deploy/web", "-n", "shop"], ["deployment/shop/web"],
                                    ["web", "-n", "shop"], ["deployments.apps/web"]])
def test_relabel_takes_a_workload_named_as_every_option_names_one(target: list[str]) -> None:
    code, doc = as_json("labels", SHOP, "--simulate", "0", "--relabel", target[0], "app-", *target[1:])
    assert code == 0
    assert doc["relabel"]["changes"] == [{"target": "workload", "name": "shop/web", "key": "app", "value": None}]


def test_relabel_keeps_the_namespace_form_and_names_close_matches() -> None:
    code, doc = as_json("labels", SHOP, "--simulate", "0", "--relabel", "ns/shop", "team=a")
    assert doc["relabel"]["changes"] == [{"target": "namespace", "name": "shop", "key": "team", "value": "a"}]
    result = kubeward("labels", SHOP, "--relabel", "deploy/wbe", "app-")
    assert result.exit_code == 2
    assert "kubeward labels: --relabel deploy/wbe: no Deployment wbe in the input; did you mean shop/web?" \
        in result.stderr
    result = kubeward("labels", SHOP, "--relabel", "sts/web", "app-")
    assert result.exit_code == 2 and "shop/web is a Deployment, not a StatefulSet" in result.stderr


# --------------------------------------------------------------------------- the outside world by its names

V6 = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: x, ports: [{containerPort: 8080}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: "::/0", except: ["fd00::/8"]}}]
    ports: [{port: 443}]
  - to: [{ipBlock: {cidr: "0.0.0.0/0", except: ["10.0.0.0/8"]}}]
    ports: [{port: 80}]
"""


def explain_to(path: str, peer: str, *, source: str = "shop/web", to: bool = True) -> tuple[int, dict[str, Any]]:
    ends = ["--from", source, "--to", peer] if to else ["--from", peer, "--to", source]
    result = kubeward("explain", path, *ends, "-o", "json")
    assert result.exit_code in (0, 1), result.stderr
    doc = json.loads(result.stdout)
    end = doc["flow"]["to" if to else "from"]
    return result.exit_code, {"peer": end["peer"], "id": end["id"], "allowed": doc["allowedPorts"]}


def test_zero_slash_zero_is_world_in_explain(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(V6)
    assert explain_to(str(tmp_path), "0.0.0.0/0") == explain_to(str(tmp_path), "world") == (
        0, {"peer": "world (32.0.0.1 in 11.0.0.0-255.255.255.255)", "id": "11.0.0.0-255.255.255.255",
            "allowed": {"TCP": [[80, 80]]}})
    assert explain_to(FIXED, "0.0.0.0/0", to=False, source="shop/web")[1]["id"] == "world"


@pytest.mark.parametrize(("peer", "expected"), [
    ("world-ipv6", (0, "world-ipv6 (2000::1 in ::-fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff)", {"TCP": [[443, 443]]})),
    ("::/0", (0, "world-ipv6 (2000::1 in ::-fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff)", {"TCP": [[443, 443]]})),
    ("fd00::/8", (1, "fd00::/8 (fd00::1)", {})),
    ("10.0.0.0/8", (1, "10.0.0.0/8 (10.0.0.1)", {})),
    ("world except 10.0.0.0/8", (0, "world except 10.0.0.0/8 (32.0.0.1 in 11.0.0.0-255.255.255.255)",
                                 {"TCP": [[80, 80]]})),
    ("world-ipv6 except fd00::/8", (0, "world-ipv6 except fd00::/8 (2000::1 in "
                                       "::-fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff)", {"TCP": [[443, 443]]})),
])
def test_explain_takes_the_names_the_outputs_print_for_the_outside(tmp_path: Path, peer: str,
                                                                   expected: tuple[int, str, object]) -> None:
    (tmp_path / "a.yaml").write_text(V6)
    code, end = explain_to(str(tmp_path), peer)
    assert (code, end["peer"], end["allowed"]) == expected


def test_from_world_ipv6_reaches_the_workload(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(V6)
    result = kubeward("explain", str(tmp_path), "--from", "world-ipv6", "--to", "shop/web", "--port", "8080")
    assert result.exit_code == 0
    assert result.stdout.startswith("ALLOW  world-ipv6 (2000::1 in ::-fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff) -> "
                                    "shop/web  TCP/8080")


def test_the_map_prints_names_explain_takes(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(V6)
    doc = json.loads(kubeward("map", str(tmp_path), "--expand", "-o", "json").stdout)
    outside = sorted({c[k] for c in doc["connections"] for k in ("src", "dst")} - {"shop/web"})
    assert "world-ipv6" in outside
    for name in outside:
        assert kubeward("explain", str(tmp_path), "--from", "shop/web", "--to", name).exit_code in (0, 1), name


def test_ipv6_names_without_ipv6_in_the_input_say_why_not_a_workload() -> None:
    result = kubeward("explain", FIXED, "--from", "shop/web", "--to", "world-ipv6")
    assert result.exit_code == 2
    assert "kubeward explain: --to world-ipv6: no IPv6 address is modelled (the input names none)" in result.stderr
    bad = kubeward("explain", FIXED, "--from", "shop/web", "--to", "world except 10.0.0.0/33")
    assert bad.exit_code == 2 and "--to 'world except 10.0.0.0/33'" in bad.stderr
