"""Services as the map shows them and as explain names them (issue 11, items 15 and 19).

Item 15: the text map's VIA column names only the Services on the path of its row: from outside
the pods, a ClusterIP Service is no way in (SVC-3). Item 19: a Service's cluster DNS name
(``NAME.NS``, ``NAME.NS.svc``, ``NAME.NS.svc.cluster.local``) is that Service, and a headless
Service's pod name (``POD.NAME.NS.svc…``) is that pod's workload (SVC-7). docs/semantics.md §2.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from entry_helpers import FILE, deployment, docs, namespace, policy, service
from kubeward import analyse_paths, analyse_text, explain
from kubeward.cli import main
from kubeward.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent
SHOP = str(ROOT / "examples" / "shop")


def kubeward(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def rows(map_text: str) -> dict[tuple[str, str], tuple[str, ...]]:
    """(FROM, TO) → (ALLOWED, VIA) of each row of a text map (VIA "" when empty); a second row of
    the same pair (world directly, and world through an entry point: issue 17) is (FROM #2, TO)."""
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    for line in map_text.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) >= 3 and "/" in cells[1]:
            key = (cells[0], cells[1]) if (cells[0], cells[1]) not in found else (cells[0] + " #2", cells[1])
            found[key] = (cells[2], cells[3] if len(cells) > 3 else "")
    return found


# =========================================================================== item 15


# web is fronted by a ClusterIP Service and a NodePort Service; nothing isolates it.
EXPOSED = docs(
    namespace("app"),
    deployment("app", "client", {"app": "client"}),
    deployment("app", "web", {"app": "web"}, [(8080, "http")]),
    service("app", "web", {"app": "web"}, [{"name": "http", "port": 80, "targetPort": 8080}]),
    service("app", "web-np", {"app": "web"}, [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080}],
            type="NodePort"),
)


def test_item15_the_map_via_column_shows_no_cluster_ip_service_on_a_row_from_outside() -> None:
    result = kubeward("map", "--expand", "-", input=EXPOSED)
    table = rows(result.stdout)
    # From outside the pods: only the NodePort Service is a way to web.
    assert table[("world #2", "app/web")] == ("all ports", "Service app/web-np:80/TCP")
    # Through the entry point (the NodePort): that Service, named by the way in (listed first).
    assert table[("world", "app/web")] == ("TCP/8080", "Service app/web-np port 80 (NodePort), "
                                                       "Service app/web-np:80/TCP")
    # From a pod: both Services front web.
    assert table[("app/client", "app/web")] == ("all ports", "Service app/web:80/TCP, Service app/web-np:80/TCP")


def test_item15_the_json_services_field_still_lists_every_service_that_fronts_the_destination() -> None:
    doc = json.loads(kubeward("map", "--expand", "-", "--format", "json", input=EXPOSED).stdout)
    [outside] = [c for c in doc["connections"] if (c["src"], c["dst"]) == ("world", "app/web") and "via" not in c]
    assert [s["name"] for s in outside["services"]] == ["app/web", "app/web-np"]


def test_item15_the_lab_map_does_not_suggest_kube_dns_is_reachable_from_anywhere() -> None:
    table = rows(kubeward("map", "--expand", SHOP).stdout)
    assert table[("world", "kube-system/coredns")] == ("all ports", "")
    assert table[("shop/web", "kube-system/coredns")] == (
        "TCP/53 UDP/53", "Service kube-system/kube-dns:53/UDP, Service kube-system/kube-dns:53/TCP")


# =========================================================================== item 19


@pytest.mark.parametrize("name", ["kube-dns.kube-system.svc.cluster.local", "kube-dns.kube-system.svc",
                                  "kube-dns.kube-system", "KUBE-DNS.kube-system.svc.cluster.local."])
def test_item19_a_service_cluster_dns_name_is_that_service(name: str) -> None:
    a = analyse_paths([SHOP])
    by_name = explain(a, "shop/web", name, port=53, protocol="UDP")
    by_ref = explain(a, "shop/web", "service/kube-system/kube-dns", port=53, protocol="UDP")
    assert (by_name.verdict.verdict, by_ref.verdict.verdict) == ("allow", "allow")
    assert by_name.target is not None and by_name.target["id"] == "kube-system/kube-dns"
    assert by_name.target["peer"] == name
    assert [p.reached for p in by_name.paths] == [p.reached for p in by_ref.paths] == [
        [("kube-system/coredns", "UDP", 53)]]


def test_item19_explain_on_the_command_line_resolves_the_service_dns_name() -> None:
    result = kubeward("explain", SHOP, "--from", "shop/web", "--to", "kube-dns.kube-system.svc.cluster.local",
                      "--port", "53", "--protocol", "UDP")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "ALLOW  shop/web -> kube-dns.kube-system.svc.cluster.local  UDP/53"
    assert "  way 1 of 1: via Service kube-system/kube-dns port 53 (ClusterIP) — ALLOW" in result.stdout


def test_item19_a_service_dns_name_without_port_takes_its_only_port_or_asks_for_one() -> None:
    one = docs(EXPOSED, policy("app", "web-80", {"app": "web"}, [{"ports": [{"port": 8080}]}]))
    a = analyse_text(one, FILE)
    exp = explain(a, "app/client", "web.app.svc.cluster.local")
    assert (exp.verdict.verdict, exp.verdict.port, exp.verdict.protocol) == ("allow", 80, "TCP")
    with pytest.raises(UsageError, match=r"is Service kube-system/kube-dns: it needs --port \(one of 53/UDP, "
                                         r"53/TCP, 9153/TCP\)"):
        explain(analyse_paths([SHOP]), "shop/web", "kube-dns.kube-system.svc.cluster.local")


def test_item19_a_name_that_is_no_service_of_the_input_stays_an_outside_host() -> None:
    exp = explain(analyse_paths([SHOP]), "shop/web", "example.com", port=443)
    assert exp.target is None and exp.verdict.destination.label == "example.com"


def test_item19_a_service_is_no_source() -> None:
    with pytest.raises(UsageError, match="the cluster DNS name of Service kube-system/kube-dns, which sends no "
                                         r"traffic of its own: name a workload \(namespace/name\) \(SVC-7\)"):
        explain(analyse_paths([SHOP]), "kube-dns.kube-system.svc.cluster.local", "shop/web", port=80)


STATEFUL = docs(
    namespace("app"),
    deployment("app", "client", {"app": "client"}),
    """apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: app}
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: x, ports: [{containerPort: 5432}]}]}
""",
    service("app", "db", {"app": "db"}, [{"name": "pg", "port": 5432}]).replace("spec:\n",
                                                                                "spec:\n  clusterIP: None\n"),
    service("app", "db-vip", {"app": "db"}, [{"name": "pg", "port": 5432}]),
    policy("app", "db-from-client", {"app": "db"}, [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}],
                                                     "ports": [{"port": 5432}]}]),
)


def test_item19_a_headless_service_pod_name_is_that_pod_workload() -> None:
    a = analyse_text(STATEFUL, FILE)
    exp = explain(a, "app/client", "db-1.db.app.svc.cluster.local", port=5432)
    assert exp.verdict.verdict == "allow"
    assert exp.verdict.destination.workload is not None and exp.verdict.destination.workload.id == "app/db"
    assert exp.verdict.destination.label == "app/db (db-1.db.app.svc.cluster.local)"
    assert explain(a, "app/client", "db-1.db.app.svc.cluster.local", port=22).verdict.verdict == "deny"
    # Its Service name is the (headless) Service.
    assert explain(a, "app/client", "db.app.svc", port=5432).target == {
        "peer": "db.app.svc", "type": "service", "id": "app/db", "namespace": "app", "name": "db",
        "serviceType": "ClusterIP", "port": 5432}


@pytest.mark.parametrize(("name", "message"), [
    ("db-3.db.app.svc.cluster.local", "no pod db-3 behind headless Service app/db in the input"),
    ("db-0.db-vip.app.svc.cluster.local", "Service app/db-vip is not headless: the cluster DNS has no per-pod names"),
])
def test_item19_a_pod_name_the_cluster_dns_does_not_have_is_refused(name: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        explain(analyse_text(STATEFUL, FILE), "app/client", name, port=5432)
