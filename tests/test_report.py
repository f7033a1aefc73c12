"""`kubeward report` (issue 17): the data the page shows, and the page as a file (the browser
tests are in test_report_browser.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from kubeward.analyses.report import add_section, report_paths
from kubeward.cli import main
from kubeward.render.report_html import LIBRARIES, report_html, script_json

ROOT = Path(__file__).resolve().parent.parent


def _embedded(page: bytes) -> dict[str, object]:
    found = re.search(rb'<script type="application/json" id="kubeward-data">(.*?)</script>', page, re.S)
    assert found is not None
    doc = json.loads(found.group(1))
    assert isinstance(doc, dict)
    return doc


def test_the_labs_broken_paths_carry_the_rule_that_breaks_them() -> None:
    report = report_paths([str(ROOT / "examples/shop")])
    broken = report.graph["broken"]
    assert isinstance(broken, list)
    by_name = {b["name"]: b for b in broken}
    mysql = by_name["api reaches mysql on 3306"]
    assert (mysql["src"], mysql["dst"], mysql["rule"]) == ("shop/api", "shop/mysql", "NetworkPolicy shop/default-deny")
    assert mysql["where"].endswith("examples/shop/base/networkpolicies.yaml:3")
    ingress = by_name["Ingress shop/web-ing"]
    assert (ingress["what"], ingress["src"], ingress["dst"]) == ("entry", "world", "shop/web")
    assert ingress["rule"] == "NetworkPolicy shop/default-deny"


def test_the_deciding_rules_of_each_pair_are_in_the_data() -> None:
    report = report_paths([str(ROOT / "examples/shop")])
    origins = report.graph["origins"]
    assert isinstance(origins, list) and report.graph["originsComplete"] is True
    api_dns = next(o for o in origins if (o["src"], o["dst"]) == ("shop/api", "kube-system/coredns"))
    allow = api_dns["rules"][0]
    assert (allow["effect"], allow["policy"], allow["direction"], allow["rule"], allow["ports"]) == \
        ("allow", "NetworkPolicy shop/allow-dns", "egress", 0, "TCP/53 UDP/53")
    assert allow["where"].endswith("examples/shop/base/networkpolicies.yaml:50")


def test_sections_are_data_and_a_section_can_be_added() -> None:
    report = report_paths([str(ROOT / "examples/shop")])
    assert [s.id for s in report.sections] == ["graph", "entries", "broken", "findings", "labels", "tests",
                                               "policies", "diagnostics"]
    add_section(report, "extra", "Something more", [{"row": 1}], after="findings")
    doc = report.to_json()
    assert doc["schema"] == 1
    sections = doc["sections"]
    assert isinstance(sections, list)
    assert [s["id"] for s in sections][3:6] == ["findings", "extra", "labels"]


def test_the_json_cannot_end_the_script_element() -> None:
    raw = script_json({"name": "</script><script>alert(1)</script>", "note": "<!-- & -->"})
    assert b"<" not in raw and b">" not in raw and b"&" not in raw
    assert json.loads(raw) == {"name": "</script><script>alert(1)</script>", "note": "<!-- & -->"}


def test_the_cli_writes_one_self_contained_page(tmp_path: Path) -> None:
    out = tmp_path / "shop.html"
    result = CliRunner().invoke(main, ["report", str(ROOT / "examples/shop"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_bytes()
    assert page.startswith(b"<!DOCTYPE html>")
    assert b"Content-Security-Policy" in page and b"default-src 'none'" in page
    assert not re.search(rb"<(link|iframe|img[^>]+src=\"http)", page)  # no stylesheet, frame or image from elsewhere
    assert page.count(b"<script>") == len(LIBRARIES) + 1  # the libraries and our glue, inlined
    doc = _embedded(page)
    graph = doc["graph"]
    assert isinstance(graph, dict)
    assert sorted(w["id"] for w in graph["workloads"]) == [
        "infra/edge-nginx", "ingress-nginx/ingress-nginx-controller", "kube-system/coredns",
        "shop/api", "shop/mysql", "shop/web"]


def test_the_page_is_written_with_flows(tmp_path: Path) -> None:
    out = tmp_path / "flows.html"
    result = CliRunner().invoke(main, ["report", str(ROOT / "examples/shop"), "--cni", "cilium", "--flows",
                                       str(ROOT / "tests/data/flows/lab-snake.json"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    sections = {s["id"]: s["data"] for s in _embedded(out.read_bytes())["sections"]}  # type: ignore[attr-defined]
    flows = sections["flows"]
    assert set(flows) == {"summary", "drops", "disagreements", "disagreementsShown", "unusedRules"}
    assert flows["summary"]["distinct"] > 0


def test_an_unwritable_output_is_an_input_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["report", str(ROOT / "examples/shop"), "-o", str(tmp_path / "no" / "x.html")])
    assert result.exit_code == 2
    assert "kubeward report:" in result.output


def test_report_html_is_bytes_of_one_page() -> None:
    page = report_html(report_paths([str(ROOT / "examples/shop")]))
    assert page.count(b"<html") == 1 and page.rstrip().endswith(b"</html>")


def test_the_page_can_go_to_standard_output() -> None:
    result = CliRunner().invoke(main, ["report", str(ROOT / "examples/shop"), "-o", "-"])
    assert result.exit_code == 0
    assert result.stdout_bytes.startswith(b"<!DOCTYPE html>")
    assert _embedded(result.stdout_bytes)["schema"] == 1
