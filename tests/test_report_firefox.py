"""`kubeward report` in a real Firefox (issue 17: the page works offline in Chromium *and* Firefox).

The system's Firefox ESR (Debian's ``firefox-esr``) runs headless and is driven over WebDriver
BiDi, the W3C protocol Firefox speaks itself (``--remote-debugging-port``): no geckodriver, no
patched browser build. The client is the npm package ``puppeteer-core`` (pinned with a lockfile in
``tools/firefox-driver``, installed by ``tools/install-system-packages``; it never downloads a
browser). One small Node script there opens the lab's report once and does what a reader does —
load, read the graph, click a workload, search — and prints what it saw as JSON; the tests here
judge it.

Firefox starts with an empty profile and every background service off (updates, telemetry,
remote settings, captive portal, push, safe browsing, plugin downloads …), and all its HTTP(S)
traffic goes to a proxy run by this test that answers nothing: the proxy must see no connection
at all, so neither the page nor Firefox itself reached the network.

Screenshots of the lab's report are kept (``KUBEWARD_ARTEFACTS``) and were looked at.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DRIVER = ROOT / "tools" / "firefox-driver"
FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox") or "/usr/bin/firefox-esr"
NODE = shutil.which("node")


def _skip_reason() -> str | None:
    if not Path(FIREFOX).is_file():
        return f"Firefox is not installed ({FIREFOX}; tools/install-system-packages installs firefox-esr)"
    if NODE is None:
        return "Node.js is not installed (node drives Firefox through puppeteer-core)"
    if not (DRIVER / "node_modules" / "puppeteer-core" / "package.json").is_file():
        return ("puppeteer-core is not installed (npm ci --prefix tools/firefox-driver; "
                "tools/install-system-packages runs it)")
    return None


@dataclass
class Sink:
    """A proxy that accepts connections, records their first line, and answers nothing."""

    port: int = 0
    seen: list[str] = field(default_factory=list)
    _server: socket.socket | None = None

    def start(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        assert self._server is not None
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    first = conn.recv(512).split(b"\r\n", 1)[0].decode("latin-1")
                except OSError:
                    first = "(nothing sent)"
                self.seen.append(first)

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()


def firefox_prefs(proxy_port: int) -> dict[str, Any]:
    """Preferences for a Firefox that makes no request of its own (on top of the ones Firefox's
    Remote Agent recommends for automation), and sends whatever it would make to ``proxy_port``."""
    return {
        # first run, default-browser check, welcome pages
        "browser.shell.checkDefaultBrowser": False,
        "browser.startup.homepage_override.mstone": "ignore",
        "browser.startup.page": 0,
        "browser.aboutwelcome.enabled": False,
        "startup.homepage_welcome_url": "about:blank",
        "browser.newtabpage.enabled": False,
        "browser.topsites.contile.enabled": False,
        # updates (browser, add-ons, system add-ons, search engines, region, plugins)
        "app.update.auto": False,
        "app.update.disabledForTesting": True,
        "app.normandy.enabled": False,
        "extensions.update.enabled": False,
        "extensions.getAddons.cache.enabled": False,
        "extensions.systemAddon.update.enabled": False,
        "extensions.blocklist.enabled": False,
        "browser.search.update": False,
        "browser.region.network.url": "",
        "browser.region.update.enabled": False,
        "media.gmp-manager.url": "",
        "media.gmp-gmpopenh264.enabled": False,
        "media.gmp-widevinecdm.enabled": False,
        # telemetry and studies
        "datareporting.policy.dataSubmissionEnabled": False,
        "datareporting.healthreport.uploadEnabled": False,
        "toolkit.telemetry.enabled": False,
        "toolkit.telemetry.unified": False,
        "toolkit.telemetry.server": "",
        "browser.ping-centre.telemetry": False,
        "browser.discovery.enabled": False,
        "app.shield.optoutstudies.enabled": False,
        # remote settings (a release build honours this only with MOZ_REMOTE_SETTINGS_DEVTOOLS=1 in
        # its environment, see FIREFOX_ENV), push, safe browsing, captive portal and connectivity checks
        "services.settings.server": "data:,#remote-settings-off/v1",
        "dom.push.connection.enabled": False,
        "dom.push.serverURL": "",
        "browser.safebrowsing.malware.enabled": False,
        "browser.safebrowsing.phishing.enabled": False,
        "browser.safebrowsing.downloads.enabled": False,
        "browser.safebrowsing.blockedURIs.enabled": False,
        "browser.safebrowsing.provider.google4.updateURL": "",
        "browser.safebrowsing.provider.mozilla.updateURL": "",
        "network.captive-portal-service.enabled": False,
        "captivedetect.canonicalURL": "",
        "network.connectivity-service.enabled": False,
        # speculative connections and DNS
        "network.dns.disablePrefetch": True,
        "network.prefetch-next": False,
        "network.predictor.enabled": False,
        "network.http.speculative-parallel-limit": 0,
        "network.trr.mode": 5,
        "browser.ml.enable": False,
        "browser.translations.enable": False,
        # whatever is left goes to the sink
        "network.proxy.type": 1,
        "network.proxy.http": "127.0.0.1",
        "network.proxy.http_port": proxy_port,
        "network.proxy.ssl": "127.0.0.1",
        "network.proxy.ssl_port": proxy_port,
        "network.proxy.share_proxy_settings": True,
        "network.proxy.no_proxies_on": "",
        "network.proxy.allow_hijacking_localhost": True,
    }


# lets a release build take services.settings.server from the preferences (else it asks
# firefox.settings.services.mozilla.com at start-up whatever the preference says)
FIREFOX_ENV = {"MOZ_REMOTE_SETTINGS_DEVTOOLS": "1"}


def _keep(path: Path) -> None:
    folder = os.environ.get("KUBEWARD_ARTEFACTS")
    if folder and path.is_file():
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(folder) / path.name)


@dataclass
class Seen:
    out: dict[str, Any]
    proxy: list[str]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seen]:
    reason = _skip_reason()
    if reason is not None:
        print(f"skipped: {reason}", file=sys.stderr)
        pytest.skip(reason)
    assert NODE is not None
    work = tmp_path_factory.mktemp("firefox")
    html = work / "shop.html"
    run = subprocess.run([sys.executable, "-m", "kubeward", "report", "examples/shop", "-o", str(html)], cwd=ROOT,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert run.returncode == 0, run.stderr
    (work / "profile").mkdir()
    sink = Sink()
    sink.start()
    scenario = {"firefox": FIREFOX, "profile": str(work / "profile"), "html": str(html), "shots": str(work),
                "prefs": firefox_prefs(sink.port), "env": FIREFOX_ENV,
                "click": "wl:shop/api", "searches": ["mysql", "kube-system", "app=web"]}
    (work / "scenario.json").write_text(json.dumps(scenario))
    try:
        drive = subprocess.run([NODE, str(DRIVER / "report-in-firefox.mjs"), str(work / "scenario.json")],
                               capture_output=True, text=True, timeout=90, env={**os.environ, "HOME": str(work)})
    finally:
        sink.stop()
    assert drive.returncode == 0, drive.stderr
    for shot in ("report-shop-firefox.png", "report-shop-api-firefox.png"):
        _keep(work / shot)
    yield Seen(json.loads(drive.stdout), sink.seen)


def test_it_is_firefox(shop: Seen) -> None:
    assert shop.out["version"].startswith("firefox/")


def test_the_page_loads_offline_with_no_console_error(shop: Seen) -> None:
    errors = [(kind, text) for kind, text in shop.out["console"] if kind in ("error", "pageerror", "warn", "warning")]
    assert errors == []
    # Firefox reports no request for the top-level file: URL itself; the only other request is
    # Firefox's own list-bullet font, a data: URL in its built-in html.css (-moz-bullet-font)
    others = [u for u in shop.out["requests"] if u != shop.out["url"] and not u.startswith("data:font/woff2;base64,")]
    assert others == []


def test_neither_the_page_nor_firefox_reaches_the_network(shop: Seen) -> None:
    assert sorted(set(shop.proxy)) == []  # the distinct first lines (CONNECT host:443 …) of what reached it


def test_the_graph_shows_the_labs_workloads_and_the_world(shop: Seen) -> None:
    assert shop.out["nodes"] == ["ns:infra", "ns:ingress-nginx", "ns:kube-system", "ns:shop",
                                 "wl:infra/edge-nginx", "wl:ingress-nginx/ingress-nginx-controller",
                                 "wl:kube-system/coredns", "wl:shop/api", "wl:shop/mysql", "wl:shop/web", "world"]


def test_the_layout_fits_a_laptop_screen(shop: Seen) -> None:
    """1440×900: graph and panel side by side, nothing wider than the window, the graph inside its box."""
    layout = shop.out["layout"]
    cy_left, cy_top, cy_width, cy_height = layout["cy"]
    panel_left, panel_top, _, _ = layout["panel"]
    assert panel_left >= cy_left + cy_width and panel_top == cy_top
    assert cy_width > 600 and cy_height > 400
    assert layout["scroll_width"] <= 1440
    gx, gy, gw, gh = layout["graph"]
    assert 0 <= gx and gx + gw <= cy_width and 0 <= gy and gy + gh <= cy_height


def test_clicking_a_workload_shows_whom_it_reaches_with_the_deciding_rule(shop: Seen) -> None:
    panel = shop.out["clicked_panel"]
    assert panel.startswith("shop/api")
    assert "ingress isolated by NetworkPolicy shop/default-deny examples/shop/base/networkpolicies.yaml:3" in panel
    whom = panel.split("Whom it can reach", 1)[1]
    assert "kube-system/coredns TCP/53 UDP/53" in whom
    assert ("TCP/53 UDP/53: allow by NetworkPolicy shop/allow-dns egress rule 0 "
            "examples/shop/base/networkpolicies.yaml:50") in whom
    assert ("api reaches mysql on 3306: expected allow, deny by NetworkPolicy shop/default-deny "
            "examples/shop/base/networkpolicies.yaml:3") in panel


def test_search_finds_a_workload_by_name_namespace_and_label(shop: Seen) -> None:
    assert shop.out["searches"] == {"mysql": "shop/mysql", "kube-system": "kube-system/coredns",
                                    "app=web": "shop/web app=web"}
    assert shop.out["search_click_panel"].startswith("shop/web\n")
