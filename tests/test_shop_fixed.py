"""examples/shop-fixed: the lab of examples/shop with its real mistakes fixed. Its own verification
scenarios all pass, kubeward finds no input error in it, and against the seed it opens exactly
api -> mysql and the two ways in to web, and closes web's egress to anything but the payment API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from kubeward.cli import main

ROOT = Path(__file__).resolve().parent.parent
SHOP = str(ROOT / "examples/shop")
FIXED = str(ROOT / "examples/shop-fixed")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def cilium_diff_pairs() -> dict[tuple[str, str], dict[str, Any]]:
    result = run("diff", SHOP, FIXED, "--cni", "cilium", "--format", "json")
    assert result.exit_code == 0, result.output
    return {(p["src"], p["dst"]): {"opened": p["opened"], "closed": p["closed"]}
            for p in json.loads(result.stdout)["pairs"]}


def test_all_eight_verification_scenarios_of_the_lab_pass() -> None:
    result = run("test", FIXED)
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.stdout
    assert result.stdout.count("PASS  ") == 8
    assert result.stdout.rstrip().endswith("8 passed, 0 failed")


def check_json(path: str, *options: str) -> list[dict[str, Any]]:
    """Every diagnostic and lint finding `check --format json` reports."""
    report = json.loads(run("check", path, *options, "--format", "json").stdout)
    found: list[dict[str, Any]] = report["diagnostics"] + report.get("findings", [])
    return found


def test_check_reports_no_error() -> None:
    assert [d for d in check_json(FIXED) if d["severity"] == "error"] == []


def test_check_no_longer_reports_the_seeds_mistakes() -> None:
    fixed = {"service-account-missing", "fqdn-without-dns-visibility", "route-not-accepted",
             "undefined-namespace", "ingress-class-missing", "spiffe-principal", "cni-ambiguous",
             "calico-port-without-protocol"}
    seed = {d["code"] for d in check_json(SHOP)} | {d["code"] for d in check_json(SHOP, "--cni", "cilium")}
    assert fixed <= seed
    assert {d["code"] for d in check_json(FIXED)} & fixed == set()


def test_the_warnings_left_are_the_tls_secrets_and_the_optional_mesh() -> None:
    # The TLS secrets are never committed, and the mesh stays optional (no sidecar injection), as
    # in the seed: examples/shop-injected is the lab with injection on.
    left = {(d["code"], Path(d["file"]).name) for d in check_json(FIXED) if d["severity"] == "warning"}
    assert {("tls-secret-missing", "gateway.yaml"), ("tls-secret-missing", "ingress.yaml"),
            ("mesh-policy-inert", "istio.yaml")} <= left


def test_without_the_calico_alternative_auto_picks_cilium_so_both_diffs_agree() -> None:
    auto = run("diff", SHOP, FIXED, "--format", "json")
    cilium = run("diff", SHOP, FIXED, "--cni", "cilium", "--format", "json")
    assert "cni=cilium" in json.loads(auto.stdout)["options"]
    assert json.loads(auto.stdout)["pairs"] == json.loads(cilium.stdout)["pairs"]


def test_the_fix_opens_api_to_mysql_on_tcp_3306() -> None:
    assert cilium_diff_pairs()[("shop/api", "shop/mysql")] == {"opened": {"TCP": [[3306, 3306]]}, "closed": {}}


def test_the_fix_closes_web_egress_on_443_to_everything_but_the_payment_api() -> None:
    pairs = cilium_diff_pairs()
    assert pairs[("shop/web", "world")] == {"opened": {}, "closed": {"TCP": [[443, 443]]}}
    # the toPorts-only rule also reached every pod whose ingress is not isolated
    for dst in ("infra/edge-nginx", "ingress-nginx/ingress-nginx-controller", "kube-system/coredns"):
        assert pairs[("shop/web", dst)] == {"opened": {}, "closed": {"TCP": [[443, 443]]}}
    assert not any(change["opened"] for (src, _), change in pairs.items() if src == "shop/web")
    assert run("explain", FIXED, "--from", "shop/web", "--to", "www.google.com", "--port", "443").exit_code == 1
    assert run("explain", FIXED, "--from", "shop/web", "--to", "api.payment.example.com",
               "--port", "443").exit_code == 0


def test_the_diff_is_exactly_the_intended_changes() -> None:
    assert cilium_diff_pairs() == {
        ("shop/api", "shop/mysql"): {"opened": {"TCP": [[3306, 3306]]}, "closed": {}},
        # the two ways in now reach web: the proxies' hop, and the entry flow from outside
        ("infra/edge-nginx", "shop/web"): {"opened": {"TCP": [[8080, 8080]]}, "closed": {}},
        ("ingress-nginx/ingress-nginx-controller", "shop/web"): {"opened": {"TCP": [[8080, 8080]]}, "closed": {}},
        ("world", "shop/web"): {"opened": {"TCP": [[8080, 8080]]}, "closed": {}},
        ("shop/web", "world"): {"opened": {}, "closed": {"TCP": [[443, 443]]}},
        ("shop/web", "infra/edge-nginx"): {"opened": {}, "closed": {"TCP": [[443, 443]]}},
        ("shop/web", "ingress-nginx/ingress-nginx-controller"): {"opened": {}, "closed": {"TCP": [[443, 443]]}},
        ("shop/web", "kube-system/coredns"): {"opened": {}, "closed": {"TCP": [[443, 443]]}},
    }
