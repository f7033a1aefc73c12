"""`kubeward diff OLD NEW --flows FLOWS` (issue 14): the lab's observed flows (tests/data/flows)
against both sides of a change — which the change would break, which it newly allows, with the
deciding rule before and after, and the flows it cannot compare counted apart."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kubeward.cli import main

ROOT = Path(__file__).resolve().parent.parent
FLOWS = str(ROOT / "tests" / "data" / "flows")
SHOP, FIXED = ROOT / "examples" / "shop", ROOT / "examples" / "shop-fixed"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--cni", "cilium"], catch_exceptions=False)


def _without(path: Path, name: str) -> None:
    """Drop the YAML documents of ``path`` that define ``name``; the documents before keep their lines."""
    docs = path.read_text().split("\n---\n")
    kept = [d for d in docs if f"name: {name}\n" not in d and f"name: {name}," not in d]
    assert len(kept) < len(docs)
    path.write_text("\n---\n".join(kept))


def _shop_copy(tmp_path: Path, drop: tuple[str, str]) -> Path:
    new = tmp_path / "new"
    shutil.copytree(SHOP, new)
    _without(new / drop[0], drop[1])
    return new


def _flows_doc(*args: str) -> Any:
    result = run("diff", *args, "--flows", FLOWS, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["flows"]


def _row(change: Any) -> tuple[str, str, int | None, str | None, int, str, str]:
    http = change.get("http")
    return (change["source"]["peer"], change["destination"]["peer"], change["port"],
            f"{http['method']} {http['path']}" if http else None, change["count"],
            change["before"]["decidedBy"]["phrase"], change["after"]["decidedBy"]["phrase"])


def test_removing_the_web_to_api_allow_breaks_the_observed_web_to_api_flows(tmp_path: Path) -> None:
    new = _shop_copy(tmp_path, ("base/networkpolicies.yaml", "allow-web-to-api"))
    result = run("diff", str(SHOP), str(new), "--flows", FLOWS)
    assert result.exit_code == 0, result.output
    section = result.stdout[result.stdout.index("\nobserved flows"):].splitlines()
    old_np, new_np = SHOP / "base/networkpolicies.yaml", new / "base/networkpolicies.yaml"
    cnp = SHOP / "cni/cilium/policies.yaml"
    assert section[1:] == [
        f"observed flows ({FLOWS}): 14 records, 12 distinct; compared on both sides 7: 2 would be broken, "
        "0 newly allowed, 5 unchanged; 0 only in OLD, 0 only in NEW; apart: 3 replies, 1 non-policy drops, "
        "1 unplaced, 0 not modelled",
        "would be broken (allowed before, denied after):",
        f"  shop/web → shop/api TCP/8080  ×1  observed forwarded; first seen {FLOWS}/lab-jsonpb.json:1",
        f"      before: CiliumNetworkPolicy shop/web-to-api-l7 egress rule 0 ({cnp}:12)",
        f"      after:  default deny of NetworkPolicy shop/default-deny ({new_np}:3)",
        f"  shop/web → shop/api TCP/8080 GET /v1/catalog  ×2  observed forwarded; first seen {FLOWS}/lab-jsonpb.json:2",
        f"      before: CiliumNetworkPolicy shop/web-to-api-l7 egress rule 0 ({cnp}:15)",
        f"      after:  default deny of NetworkPolicy shop/default-deny ({new_np}:3)",
        "not compared:",
        f"  not-a-policy-drop: shop/web → shop/api TCP/8080 DROPPED CT_MAP_INSERTION_FAILED  ×1 "
        f"({FLOWS}/lab-jsonpb.json:8)",
        "  unplaced: shop/web → batch/reporter-0 TCP/9000 FORWARDED  ×1 — pod batch/reporter-0: not in the input, "
        f"and no workload of namespace batch has its labels {{app=reporter}} ({FLOWS}/lab-jsonpb.json:9)",
    ]
    assert old_np != new_np
    doc = _flows_doc(str(SHOP), str(new))
    after = doc["wouldBreak"][0]["after"]["decidedBy"]
    assert (after["kind"], after["namespace"], after["name"], after["rule"], after["direction"], after["file"],
            after["line"]) == ("NetworkPolicy", "shop", "default-deny", None, "ingress", str(new_np), 3)


def test_the_fixed_lab_newly_allows_what_the_lab_denied_and_breaks_the_google_egress() -> None:
    doc = _flows_doc(str(SHOP), str(FIXED))
    assert [_row(c) for c in doc["newlyAllowed"]] == [
        ("shop/api", "shop/mysql", 3306, None, 2, "default deny of NetworkPolicy shop/default-deny",
         "NetworkPolicy shop/allow-api-to-mysql ingress rule 0")]
    assert [_row(c) for c in doc["wouldBreak"]] == [
        ("shop/web", "www.google.com", 443, None, 1, "CiliumNetworkPolicy shop/web-egress-payment egress rule 1",
         "default deny of NetworkPolicy shop/default-deny")]
    # the google egress was already dropped by the cluster: the flip is of the configuration's verdict
    assert (doc["wouldBreak"][0]["verdict"], doc["wouldBreak"][0]["observed"]) == ("DROPPED", "deny")
    assert doc["newlyAllowed"][0]["before"]["computed"] == "deny"
    assert doc["newlyAllowed"][0]["after"]["computed"] == "allow"


def test_the_json_flows_object_counts_everything_once() -> None:
    doc = _flows_doc(str(SHOP), str(FIXED))
    assert set(doc) == {"summary", "wouldBreak", "newlyAllowed", "oneSide", "apart", "diagnostics"}
    assert doc["summary"] == {
        "records": 14, "distinct": 12, "badLines": 1, "compared": 7,
        "wouldBreak": 1, "wouldBreakRecords": 1, "newlyAllowed": 1, "newlyAllowedRecords": 2,
        "unchanged": 5, "unchangedRecords": 6, "oldOnly": 0, "newOnly": 0,
        "replies": 3, "nonPolicyDrops": 1, "unplaced": 1, "notModelled": 0,
    }
    assert [(a["reason"], a["destination"], a["count"]) for a in doc["apart"] if a["reason"] != "reply"] == [
        ("not-a-policy-drop", "shop/api", 1), ("unplaced", "batch/reporter-0", 1)]
    assert [(d["code"], d["line"]) for d in doc["diagnostics"]] == [("flows-bad-line", 6)]
    change = doc["wouldBreak"][0]
    assert change["source"] == {"observed": "shop/web", "peer": "shop/web", "peerBefore": "shop/web"}
    assert change["before"]["decidedBy"]["file"] == str(SHOP / "cni/cilium/policies.yaml")


def test_without_flows_the_diff_json_has_no_flows_object() -> None:
    result = run("diff", str(SHOP), str(FIXED), "--format", "json")
    assert "flows" not in json.loads(result.stdout)


def test_a_workload_on_one_side_only_is_said_so(tmp_path: Path) -> None:
    new = _shop_copy(tmp_path, ("base/workloads.yaml", "api"))
    doc = _flows_doc(str(SHOP), str(new))
    assert [(o["side"], o["source"], o["destination"], o["port"], o["count"], o["verdict"]["computed"])
            for o in doc["oneSide"]] == [("old", "shop/web", "shop/api", 8080, 1, "allow"),
                                         ("old", "shop/web", "shop/api", 8080, 2, "allow"),
                                         ("old", "shop/api", "shop/mysql", 3306, 2, "deny")]
    assert all("no workload of namespace shop has its labels {app=api}" in o["otherSide"] for o in doc["oneSide"])
    assert (doc["summary"]["oldOnly"], doc["summary"]["newOnly"], doc["summary"]["compared"]) == (3, 0, 4)
    text = run("diff", str(SHOP), str(new), "--flows", FLOWS).stdout
    assert "  shop/api → shop/mysql TCP/3306  ×2  only in OLD: deny there — default deny of NetworkPolicy " \
           "shop/default-deny" in text


def test_exit_code_is_1_when_an_observed_flow_would_break(tmp_path: Path) -> None:
    broken = _shop_copy(tmp_path, ("base/networkpolicies.yaml", "allow-web-to-api"))
    assert run("diff", str(SHOP), str(broken), "--flows", FLOWS, "--exit-code").exit_code == 1
    assert run("diff", str(SHOP), str(broken), "--flows", FLOWS).exit_code == 0
    same = tmp_path / "same"
    shutil.copytree(SHOP, same)
    assert run("diff", str(SHOP), str(same), "--flows", FLOWS, "--exit-code").exit_code == 0


def test_an_unreadable_flows_file_is_an_input_error() -> None:
    result = run("diff", str(SHOP), str(FIXED), "--flows", str(ROOT / "nothing.json"))
    assert result.exit_code == 2
    assert "no such file or folder" in result.stderr


def test_markdown_has_one_row_per_flipped_flow() -> None:
    result = run("diff", str(SHOP), str(FIXED), "--flows", FLOWS, "--format", "md")
    rows = [line for line in result.stdout.splitlines() if line.startswith("| would be") or
            line.startswith("| newly")]
    assert rows == [
        f"| would be broken | shop/web → www.google.com TCP/443 | 1 | DROPPED | CiliumNetworkPolicy "
        f"shop/web-egress-payment egress rule 1 ({SHOP}/cni/cilium/policies.yaml:30) | default deny of NetworkPolicy "
        f"shop/default-deny ({FIXED}/base/networkpolicies.yaml:3) |",
        f"| newly allowed | shop/api → shop/mysql TCP/3306 | 2 | DROPPED | default deny of NetworkPolicy "
        f"shop/default-deny ({SHOP}/base/networkpolicies.yaml:3) | NetworkPolicy shop/allow-api-to-mysql ingress "
        f"rule 0 ({FIXED}/base/networkpolicies.yaml:50) |",
    ]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_revisions_name_the_rules_by_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    monkeypatch.chdir(tmp_path)
    git("init", "-q")
    shutil.copytree(SHOP, tmp_path / "shop")
    git("add", ".")
    git("commit", "-q", "-m", "one")
    _without(tmp_path / "shop/base/networkpolicies.yaml", "allow-web-to-api")
    git("commit", "-q", "-am", "two")
    doc = _flows_doc("--git", "HEAD~1..HEAD", "shop")
    assert [(c["before"]["decidedBy"]["file"], c["after"]["decidedBy"]["file"], c["after"]["decidedBy"]["line"])
            for c in doc["wouldBreak"]] == [("shop@HEAD~1/cni/cilium/policies.yaml",
                                             "shop@HEAD/base/networkpolicies.yaml", 3)] * 2


def test_the_live_cluster_against_the_fix_flips_the_same_flows_as_the_files(tmp_path: Path) -> None:
    from fake_apiserver import objects_of, serving

    with serving(objects_of(str(SHOP))) as server:
        config = str(server.kubeconfig(tmp_path / "kubeconfig"))
        doc = _flows_doc("--cluster", "--kubeconfig", config, str(FIXED))
    files = _flows_doc(str(SHOP), str(FIXED))
    assert [_row(c) for c in doc["newlyAllowed"]] == [_row(c) for c in files["newlyAllowed"]]
    assert [_row(c) for c in doc["wouldBreak"]] == [_row(c) for c in files["wouldBreak"]]
    assert doc["newlyAllowed"][0]["before"]["decidedBy"]["file"] == "cluster:fake/NetworkPolicy/shop/default-deny"
