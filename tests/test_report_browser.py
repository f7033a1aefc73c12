"""`kubeward report` in a real browser (issue 17): the system Chromium driven by Playwright.

The lab's report (examples/shop) must load with no console error and no request but the file
itself, show the lab's workloads, show a workload's reachability with the deciding rule
(file:line) when it is clicked, find a workload by name and by label, draw the broken paths red
and list the findings. Screenshots of the lab's report are kept (``KUBEWARD_ARTEFACTS``: a folder
to copy them to, as CI does) and were looked at.

Chromium is never downloaded (no ``playwright install``): the system package's binary is
launched, with every background network feature off and an empty profile.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kubeward.analyses.report import report_paths
from kubeward.render.report_html import report_html

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BROKEN_RED = "rgb(198,40,40)"  # #c62828, report.js

try:
    from playwright.sync_api import Page, sync_playwright

    HAVE_PLAYWRIGHT = True
except ImportError:  # pragma: no cover - the test extra installs it
    HAVE_PLAYWRIGHT = False


def _skip_reason() -> str | None:
    if not HAVE_PLAYWRIGHT:
        return "playwright is not installed (pip install -e '.[test]')"
    if not Path(CHROMIUM).is_file():
        return f"Chromium is not installed ({CHROMIUM}; tools/install-system-packages installs it)"
    return None


@dataclass
class Loaded:
    page: Page
    url: str
    console: list[tuple[str, str]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = _skip_reason()
    if reason is not None:
        print(f"skipped: {reason}", file=sys.stderr)
        pytest.skip(reason)
    profile = tempfile.mkdtemp(prefix="kubeward-chromium-")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=ARGS, headless=True,
                                                       viewport={"width": 1440, "height": 900})
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


def _open(browser: Any, html_file: Path) -> Loaded:
    page = browser.new_page()
    loaded = Loaded(page, html_file.as_uri())
    page.on("console", lambda m: loaded.console.append((m.type, m.text)))
    page.on("pageerror", lambda e: loaded.console.append(("pageerror", str(e))))
    page.on("request", lambda r: loaded.requests.append(r.url))
    page.goto(loaded.url)
    page.wait_for_selector("body[data-graph-ready='1']", timeout=60_000)
    return loaded


def _keep(path: Path) -> None:
    folder = os.environ.get("KUBEWARD_ARTEFACTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(folder) / path.name)


@pytest.fixture(scope="module")
def shop(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    out = tmp_path_factory.mktemp("report") / "shop.html"
    run = subprocess.run([sys.executable, "-m", "kubeward", "report", "examples/shop", "-o", str(out)], cwd=ROOT,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert run.returncode == 0, run.stderr
    loaded = _open(browser, out)
    shot = out.with_name("report-shop.png")
    loaded.page.screenshot(path=str(shot))
    _keep(shot)
    yield loaded
    loaded.page.close()


def _click_node(page: Page, node_id: str) -> None:
    """A real mouse click on the node's place in the canvas."""
    at = page.evaluate("""id => {
        const cy = window.kubewardReport.graph(), n = cy.getElementById(id);
        cy.center(n);
        const p = n.renderedPosition(), box = cy.container().getBoundingClientRect();
        return {x: box.left + p.x, y: box.top + p.y};
    }""", node_id)
    page.mouse.click(at["x"], at["y"])


def test_the_page_loads_offline_with_no_console_error(shop: Loaded) -> None:
    errors = [(kind, text) for kind, text in shop.console if kind in ("error", "pageerror", "warning")]
    assert errors == []
    assert shop.requests == [shop.url]  # the file itself, nothing else


def test_the_graph_shows_the_labs_workloads_and_the_world(shop: Loaded) -> None:
    nodes = shop.page.evaluate("() => window.kubewardReport.graph().nodes().map(n => n.id()).sort()")
    assert nodes == ["ns:infra", "ns:ingress-nginx", "ns:kube-system", "ns:shop",
                     "wl:infra/edge-nginx", "wl:ingress-nginx/ingress-nginx-controller", "wl:kube-system/coredns",
                     "wl:shop/api", "wl:shop/mysql", "wl:shop/web", "world"]


def test_clicking_a_workload_shows_whom_it_reaches_with_the_deciding_rule(shop: Loaded, tmp_path: Path) -> None:
    _click_node(shop.page, "wl:shop/api")
    panel = shop.page.inner_text("#panel")
    assert panel.startswith("shop/api")
    assert "ingress isolated by NetworkPolicy shop/default-deny examples/shop/base/networkpolicies.yaml:3" in panel
    whom = panel.split("Whom it can reach", 1)[1]
    assert "kube-system/coredns TCP/53 UDP/53" in whom
    assert ("TCP/53 UDP/53: allow by NetworkPolicy shop/allow-dns egress rule 0 "
            "examples/shop/base/networkpolicies.yaml:50") in whom
    # its broken path, with the rule that breaks it
    assert ("api reaches mysql on 3306: expected allow, deny by NetworkPolicy shop/default-deny "
            "examples/shop/base/networkpolicies.yaml:3") in panel
    shot = tmp_path / "report-shop-api.png"
    shop.page.screenshot(path=str(shot))
    _keep(shot)


def test_search_finds_a_workload_by_name_and_by_label(shop: Loaded) -> None:
    page = shop.page
    page.fill("#search", "mysql")
    assert page.inner_text("#search-results") == "shop/mysql"
    page.fill("#search", "kube-system")
    assert page.inner_text("#search-results") == "kube-system/coredns"
    page.fill("#search", "app=web")
    assert page.inner_text("#search-results").split("\n") == ["shop/web app=web"]
    page.click("#search-results li >> nth=0")
    assert page.inner_text("#panel").startswith("shop/web")
    page.fill("#search", "")


def test_broken_paths_are_red_with_the_rule_that_breaks_them(shop: Loaded) -> None:
    edges = shop.page.evaluate("""() => window.kubewardReport.graph().edges('.broken').map(e =>
        [e.source().id(), e.target().id(), e.data('labels').join(' | '), e.style('line-color')])""")
    assert sorted(edges) == [
        ["wl:shop/api", "wl:shop/mysql", "✗ 3306: NetworkPolicy shop/default-deny", BROKEN_RED],
        ["wl:shop/web", "world", "✗ 443: CiliumNetworkPolicy shop/web-egress-payment", BROKEN_RED],
        ["world", "wl:shop/web", "✗ NetworkPolicy shop/default-deny", BROKEN_RED],
    ]
    rows = shop.page.inner_text("#section-broken tbody").split("\n")
    assert any("examples/shop/base/networkpolicies.yaml:3" in r for r in rows)


def test_the_findings_are_listed_with_their_fixes(shop: Loaded) -> None:
    expected = report_paths(["examples/shop"]).section("findings")
    assert expected is not None and isinstance(expected.data, list)
    rows = shop.page.locator("#section-findings tbody tr")
    assert rows.count() == len(expected.data) > 0
    codes = shop.page.locator("#section-findings tbody tr td:nth-child(2)").all_inner_texts()
    assert "one-sided-allow" in codes
    assert "add the missing half on their side" in shop.page.inner_text("#section-findings")


def test_a_name_that_closes_the_script_element_stays_data(browser: Any, tmp_path: Path) -> None:
    """A file path holding ``</script>`` (a folder named ``<``, a file ``script>.yaml``) is shown
    as text; it neither ends the data element nor runs."""
    folder = tmp_path / "<"
    folder.mkdir()
    (folder / "script><img src=x onerror=alert(1)>.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app, namespace: demo}\n"
        "spec:\n  selector: {matchLabels: {app: a}}\n  template:\n    metadata: {labels: {app: a}}\n"
        "    spec: {containers: [{name: c, image: i}]}\n")
    out = tmp_path / "odd.html"
    out.write_bytes(report_html(report_paths([str(tmp_path)])))
    assert b"</script><img" not in out.read_bytes()
    loaded = _open(browser, out)
    try:
        assert [e for e in loaded.console if e[0] in ("error", "pageerror")] == []
        _click_node(loaded.page, "wl:demo/app")
        assert "</script><img src=x onerror=alert(1)>.yaml:1" in loaded.page.inner_text("#panel")
        assert loaded.requests == [loaded.url]
    finally:
        loaded.page.close()


def test_printing_prints_a_picture_of_the_graph(shop: Loaded, tmp_path: Path) -> None:
    pdf = tmp_path / "shop.pdf"
    shop.page.pdf(path=str(pdf))  # fires beforeprint: the canvas is replaced by a PNG of the whole graph
    assert pdf.read_bytes().startswith(b"%PDF")
    assert shop.page.evaluate("() => document.getElementById('cy-print').src").startswith("data:image/png;base64,")
    shop.page.emulate_media(media="print")
    try:
        assert shop.page.evaluate("() => getComputedStyle(document.getElementById('cy')).display") == "none"
        assert shop.page.evaluate("() => getComputedStyle(document.getElementById('cy-print')).display") == "block"
    finally:
        shop.page.emulate_media(media="screen")


def test_a_large_cluster_opens_collapsed_and_a_click_opens_a_namespace(browser: Any, tmp_path: Path) -> None:
    """Beyond 300 workloads the graph shows namespaces; a click on one shows its workloads."""
    cluster = tmp_path / "cluster.yaml"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "--pods", "1600", "--seed", "1",
                    "--out", str(cluster)], check=True, capture_output=True)
    out = tmp_path / "large.html"
    out.write_bytes(report_html(report_paths([str(cluster)])))
    loaded = _open(browser, out)
    try:
        page = loaded.page
        ids = "() => window.kubewardReport.graph().nodes().map(n => n.id())"
        before = page.evaluate(ids)
        assert not [n for n in before if n.startswith("wl:")]
        namespaces = [n for n in before if n.startswith("ns:")]
        assert len(namespaces) == 17
        opened = namespaces[0].removeprefix("ns:")
        _click_node(page, namespaces[0])
        page.wait_for_function("n => window.kubewardReport.graph().nodes('[parent = \"' + n + '\"]').length > 0",
                               arg=namespaces[0])
        after = page.evaluate(ids)
        workloads = [n for n in after if n.startswith("wl:")]
        data = loaded.page.evaluate("() => window.kubewardReport.data.graph.workloads.map(w => w.id)")
        assert sorted(workloads) == sorted(f"wl:{w}" for w in data if w.startswith(opened + "/"))
        assert page.inner_text("#panel").startswith(f"namespace {opened}")
        assert [e for e in loaded.console if e[0] in ("error", "pageerror")] == []
        assert loaded.requests == [loaded.url]
        shot = tmp_path / "report-large-opened.png"
        page.screenshot(path=str(shot))
        _keep(shot)
    finally:
        loaded.page.close()


def test_the_labels_section_lists_app_web_with_its_policies_and_what_removing_it_changes(shop: Loaded) -> None:
    rows = shop.page.locator("#section-labels tbody tr")
    web = [r for r in rows.all_inner_texts() if r.startswith("app=web")]
    assert len(web) == 1
    assert ("NetworkPolicy shop/allow-web-to-api ingress rule 0 (peer, equals) "
            "examples/shop/base/networkpolicies.yaml:22") in web[0]
    assert "Service shop/web selector (service-selector, equals)" in web[0]
    assert "shop/web: no change in what is allowed" in web[0]  # the broken lab: web's traffic is cut already


def test_report_n_shop_is_the_page_of_shop_and_its_direct_peers(browser: Any, tmp_path: Path) -> None:
    """Issue 17: `report -n shop` draws shop's workloads and the peers they exchange traffic
    with, and says the focus in its header; no console error, no request."""
    out = tmp_path / "shop-n.html"
    run = subprocess.run([sys.executable, "-m", "kubeward", "report", "examples/shop", "-n", "shop", "-q",
                          "-o", str(out)], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    loaded = _open(browser, out)
    try:
        assert [(k, t) for k, t in loaded.console if k in ("error", "pageerror", "warning")] == []
        assert loaded.requests == [loaded.url]
        nodes = loaded.page.evaluate("() => window.kubewardReport.graph().nodes().map(n => n.id()).sort()")
        assert nodes == ["ns:kube-system", "ns:shop", "wl:kube-system/coredns", "wl:shop/api", "wl:shop/mysql",
                         "wl:shop/web", "world"]
        assert "examples/shop — namespace(s) shop and their direct peers — " in loaded.page.inner_text("#meta")
        assert loaded.page.title() == "kubeward report: examples/shop (namespaces shop)"
        shot = tmp_path / "report-shop-n.png"
        loaded.page.screenshot(path=str(shot))
        _keep(shot)
    finally:
        loaded.page.close()
