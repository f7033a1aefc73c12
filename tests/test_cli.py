"""The command line as a user meets it: exit codes, what each command prints, and every way of
giving it input (files, folders, ``-`` for stdin, ``kubectl get -o yaml`` lists, JSON).

Everything runs in-process through click's ``CliRunner`` on ``kubeward.cli.main``, except one
subprocess test of ``python -m kubeward``. Paths are given relative to the repository root, as a
user in a checkout would type them.
"""

from __future__ import annotations

import gc
import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kubeward import __version__
from kubeward.cli import main
from manifests import APP

ROOT = Path(__file__).resolve().parent.parent
SHOP = "examples/shop"
SHOP_NP = "examples/shop/base/networkpolicies.yaml"

ALL_PORTS = {"TCP": [[1, 65535]], "UDP": [[1, 65535]], "SCTP": [[1, 65535]]}
DNS_PORTS = {"TCP": [[53, 53]], "UDP": [[53, 53]]}

# The Service ports that front kube-system/coredns (the kube-dns Service), as map connections name them.
DNS_SERVICE = [{"name": "kube-system/kube-dns", "port": 53, "targetPort": 53, "protocol": "UDP"},
               {"name": "kube-system/kube-dns", "port": 53, "targetPort": 53, "protocol": "TCP"}]
DNS_SERVICE_ALL = [*DNS_SERVICE, {"name": "kube-system/kube-dns", "port": 9153, "targetPort": 9153, "protocol": "TCP"}]

# What the lab's base and cluster folders allow, exactly, without its entry points (docs/json.md:
# sorted by src then dst, ranges merged; "services": the Service ports fronting dst on those ports).
SHOP_CORE_CONNECTIONS: list[dict[str, Any]] = [
    {"src": "world", "dst": "kube-system/coredns", "protocols": ALL_PORTS, "services": DNS_SERVICE_ALL},
    {"src": "kube-system/coredns", "dst": "world", "protocols": ALL_PORTS},
    {"src": "kube-system/coredns", "dst": "kube-system/coredns", "protocols": ALL_PORTS,
     "services": DNS_SERVICE_ALL},
    {"src": "shop/api", "dst": "kube-system/coredns", "protocols": DNS_PORTS, "services": DNS_SERVICE},
    {"src": "shop/mysql", "dst": "kube-system/coredns", "protocols": DNS_PORTS, "services": DNS_SERVICE},
    {"src": "shop/web", "dst": "kube-system/coredns", "protocols": DNS_PORTS, "services": DNS_SERVICE},
]

# The stand-ins for the pods that serve the lab's Ingress and Gateway (no controller is in the
# input): ingress-nginx's controller, and one data plane per Gateway named NS/<gateway>-<class>.
EDGE = "infra/edge-nginx"
INGRESS_NGINX = "ingress-nginx/ingress-nginx-controller"

# What examples/shop allows, exactly. Nothing isolates the stand-ins, so they reach, and are
# reached by, everything that is not isolated; no way in reaches a shop workload (no world edge).
SHOP_CONNECTIONS: list[dict[str, Any]] = [
    {"src": "world", "dst": EDGE, "protocols": ALL_PORTS},
    {"src": "world", "dst": INGRESS_NGINX, "protocols": ALL_PORTS},
    {"src": "world", "dst": "kube-system/coredns", "protocols": ALL_PORTS, "services": DNS_SERVICE_ALL},
    {"src": EDGE, "dst": "world", "protocols": ALL_PORTS},
    {"src": EDGE, "dst": EDGE, "protocols": ALL_PORTS},
    {"src": EDGE, "dst": INGRESS_NGINX, "protocols": ALL_PORTS},
    {"src": EDGE, "dst": "kube-system/coredns", "protocols": ALL_PORTS, "services": DNS_SERVICE_ALL},
    {"src": INGRESS_NGINX, "dst": "world", "protocols": ALL_PORTS},
    {"src": INGRESS_NGINX, "dst": EDGE, "protocols": ALL_PORTS},
    {"src": INGRESS_NGINX, "dst": INGRESS_NGINX, "protocols": ALL_PORTS},
    {"src": INGRESS_NGINX, "dst": "kube-system/coredns", "protocols": ALL_PORTS, "services": DNS_SERVICE_ALL},
    {"src": "kube-system/coredns", "dst": "world", "protocols": ALL_PORTS},
    {"src": "kube-system/coredns", "dst": EDGE, "protocols": ALL_PORTS},
    {"src": "kube-system/coredns", "dst": INGRESS_NGINX, "protocols": ALL_PORTS},
    {"src": "kube-system/coredns", "dst": "kube-system/coredns", "protocols": ALL_PORTS,
     "services": DNS_SERVICE_ALL},
    {"src": "shop/api", "dst": "kube-system/coredns", "protocols": DNS_PORTS, "services": DNS_SERVICE},
    {"src": "shop/mysql", "dst": "kube-system/coredns", "protocols": DNS_PORTS, "services": DNS_SERVICE},
    {"src": "shop/web", "dst": "kube-system/coredns", "protocols": DNS_PORTS, "services": DNS_SERVICE},
]
# json.md: sorted by src then dst — `world` (issue 17: the whole address space) sorts as a name
SHOP_CORE_CONNECTIONS.sort(key=lambda c: (c["src"], c["dst"]))
SHOP_CONNECTIONS.sort(key=lambda c: (c["src"], c["dst"]))
SHOP_WORKLOADS = [EDGE, INGRESS_NGINX, "kube-system/coredns", "shop/api", "shop/mysql", "shop/web"]

# The lab's real findings (warnings), as (file, line, code): the service accounts web-sa and
# api-sa are not created (SVC-6), the Gateway's namespace infra is not defined, neither TLS
# secret is in the input, the HTTPRoute in shop may not attach to the Gateway in infra (GW-1:
# NotAllowedByListeners), and no IngressClass nginx is defined (ING-3).
SHOP_ENTRY = "examples/shop/entry"
SHOP_WARNINGS = [
    ("examples/shop/base/workloads.yaml", 3, "service-account-missing"),
    ("examples/shop/base/workloads.yaml", 27, "service-account-missing"),
    ("examples/shop/cni/cilium/policies.yaml", 3, "cni-ambiguous"),
    (f"{SHOP_ENTRY}/gateway.yaml", 2, "undefined-namespace"),
    (f"{SHOP_ENTRY}/gateway.yaml", 14, "tls-secret-missing"),
    (f"{SHOP_ENTRY}/gateway.yaml", 21, "route-not-accepted"),
    (f"{SHOP_ENTRY}/ingress.yaml", 2, "ingress-class-missing"),
    (f"{SHOP_ENTRY}/ingress.yaml", 12, "tls-secret-missing"),
    ("examples/shop/mesh/istio/istio.yaml", 2, "mesh-policy-inert"),
    ("examples/shop/mesh/istio/istio.yaml", 8, "mesh-policy-inert"),
    ("examples/shop/mesh/istio/istio.yaml", 14, "spiffe-principal"),
]
# What each of those warnings names (same order).
SHOP_WARNING_SUBJECTS = ["web-sa", "api-sa", "--cni cilium or --cni calico", "namespace infra", "infra/edge-cert",
                         "NotAllowedByListeners", "IngressClass nginx", "shop/shop-tls",
                         "PeerAuthentication shop/default", "AuthorizationPolicy shop/api-allow", "IST-17"]
_DIAGNOSTIC_LINE = re.compile(r"^(\S+?):(\d+): (error|warning|info): ([a-z-]+): ")


def warnings_of(text: str) -> list[tuple[str, int, str]]:
    """(file, line, code) of every warning line of a stderr or a check report, in order."""
    found = []
    for line in text.splitlines():
        m = _DIAGNOSTIC_LINE.match(line.strip())
        if m and m.group(3) == "warning":
            found.append((m.group(1), int(m.group(2)), m.group(4)))
    return found


# Lets app/client reach app/server on a scatter of ports that merge into few ranges.
SCATTERED_PORTS = textwrap.dedent("""\
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: scattered, namespace: app}
    spec:
      podSelector: {matchLabels: {app: server}}
      policyTypes: [Ingress]
      ingress:
      - from: [{podSelector: {matchLabels: {app: client}}}]
        ports:
        - {port: 9000, protocol: SCTP}
        - {port: 443}
        - {port: 53, protocol: UDP}
        - {port: 80}
        - {port: 81, endPort: 85}
        - {port: 84, endPort: 90}
    """)


# ---------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run every command from the repository root; give the garbage collector back afterwards
    (``main`` switches it off for its short-lived process)."""
    monkeypatch.chdir(ROOT)
    was_enabled = gc.isenabled()
    yield
    if was_enabled:
        gc.enable()


def kubeward(*args: str, input: str | None = None) -> Result:
    """Run the command line in-process; a crash is an exception, not an exit code."""
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def stdout_json(result: Result) -> Any:
    return json.loads(result.stdout)


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def connection(doc: dict[str, Any], src: str, dst: str) -> dict[str, Any] | None:
    found = [c for c in doc["connections"] if c["src"] == src and c["dst"] == dst]
    assert len(found) <= 1, found
    return found[0]["protocols"] if found else None


def section(text: str, start: str, end: str | None = None) -> list[str]:
    """The lines of ``text`` after the line starting (after indent) with ``start``, up to ``end``."""
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.strip().startswith(start))
    out: list[str] = []
    for line in lines[first + 1:]:
        if end is not None and line.strip().startswith(end):
            break
        out.append(line)
    return out


# A small DOT reader, enough to check that `map --format dot` is a well-formed digraph.
_DOT_TOKEN = re.compile(r'\s*(?:(->)|([{}\[\];,=])|"((?:[^"\\]|\\.)*)"|([A-Za-z0-9_.]+))')


def _dot_tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _DOT_TOKEN.match(text, pos)
        assert m is not None and m.end() > pos, f"not DOT at {text[pos:pos + 40]!r}"
        arrow, punct, quoted, word = m.groups()
        if arrow:
            tokens.append(("->", "->"))
        elif punct:
            tokens.append((punct, punct))
        elif quoted is not None:
            tokens.append(("id", re.sub(r"\\(.)", r"\1", quoted)))
        else:
            tokens.append(("id", word))
        pos = m.end()
    return tokens


def parse_dot(text: str) -> tuple[str, set[str], list[tuple[str, str, dict[str, str]]]]:
    """(graph kind, node ids, edges as (src, dst, attributes)); asserts on any syntax error."""
    toks = _dot_tokens(text)
    i = 0

    def peek(k: int = 0) -> tuple[str, str]:
        return toks[i + k] if i + k < len(toks) else ("eof", "")

    def take(kind: str) -> str:
        nonlocal i
        tok = peek()
        assert tok[0] == kind, f"expected {kind}, found {tok}"
        i += 1
        return tok[1]

    def attrs() -> dict[str, str]:
        out: dict[str, str] = {}
        if peek()[0] != "[":
            return out
        take("[")
        while peek()[0] != "]":
            key = take("id")
            take("=")
            out[key] = take("id")
            if peek()[0] == ",":
                take(",")
        take("]")
        return out

    nodes: set[str] = set()
    edges: list[tuple[str, str, dict[str, str]]] = []

    def statements() -> None:
        take("{")
        while peek()[0] != "}":
            if peek() == ("id", "subgraph"):
                take("id")
                if peek()[0] == "id":
                    take("id")
                statements()
            elif peek()[0] == "id" and peek()[1] in ("node", "edge", "graph") and peek(1)[0] == "[":
                take("id")
                attrs()
            elif peek()[0] == "id" and peek(1)[0] == "=":
                take("id")
                take("=")
                take("id")
            else:
                src = take("id")
                if peek()[0] == "->":
                    take("->")
                    dst = take("id")
                    edges.append((src, dst, attrs()))
                    nodes.update((src, dst))
                else:
                    attrs()
                    nodes.add(src)
            if peek()[0] == ";":
                take(";")
        take("}")

    kind = take("id")
    assert kind in ("digraph", "graph")
    if peek()[0] == "id":
        take("id")
    statements()
    assert peek()[0] == "eof", f"text after the graph: {toks[i:]}"
    return kind, nodes, edges


# ---------------------------------------------------------------------------- version, help


def test_python_dash_m_kubeward_prints_the_version_and_exits_0() -> None:
    proc = subprocess.run([sys.executable, "-m", "kubeward", "--version"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"kubeward, version {__version__}"


def test_help_lists_the_three_commands() -> None:
    result = kubeward("--help")
    assert result.exit_code == 0
    for command in ("check", "map", "explain"):
        assert re.search(rf"^\s+{command}\b", result.stdout, re.M), command


# ---------------------------------------------------------------------------- explain


def test_explain_of_a_denied_flow_says_deny_and_exits_1() -> None:
    result = kubeward("explain", SHOP, "--from", "shop/web", "--to", "shop/api", "--port", "8080")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].split() == ["DENY", "shop/web", "->", "shop/api", "TCP/8080"]
    # stderr carries the example's warnings, in order, and nothing else: its informational notes
    # (not-modelled kinds, assumed stand-ins, the redundant annotation) are only shown with -v.
    assert warnings_of(result.stderr) == SHOP_WARNINGS
    assert len(result.stderr.splitlines()) == len(SHOP_WARNINGS)
    assert ": info: " not in result.stderr
    verbose = kubeward("explain", SHOP, "--from", "shop/web", "--to", "shop/api", "--port", "8080", "-v")
    assert warnings_of(verbose.stderr) == SHOP_WARNINGS
    assert ": info: not-enforced: " in verbose.stderr and ": info: assumed-peer: " in verbose.stderr


def test_explain_names_default_deny_with_its_file_and_line_as_what_isolates_web_egress() -> None:
    out = kubeward("explain", SHOP, "--from", "shop/web", "--to", "shop/api", "--port", "8080").stdout
    where = f"NetworkPolicy shop/default-deny ({SHOP_NP}:3)"
    egress = section(out, "egress of shop/web (source side)", "ingress of shop/api")
    deciding = [line for line in egress if line.strip().startswith("✗")]
    assert len(deciding) == 1
    assert where in deciding[0]
    assert "isolated for egress" in deciding[0]
    assert "no egress rule of them allows TCP/8080 to shop/api" in deciding[0]
    verdict = out.splitlines()[-1].strip()
    assert verdict.startswith(f"verdict: deny — egress of shop/web: {where}")
    # The ingress side is shown too: api's ingress does allow web (the lab wrote that half).
    ingress = section(out, "ingress of shop/api (destination side)", "verdict:")
    assert any(line.strip().startswith("✓") and f"shop/allow-web-to-api ingress rule 0 ({SHOP_NP}:22)" in line
               for line in ingress)


def test_explain_json_gives_schema_verdict_flow_and_a_trace_naming_default_deny() -> None:
    result = kubeward("explain", SHOP, "--from", "shop/web", "--to", "shop/api", "--port", "8080",
                      "--format", "json")
    assert result.exit_code == 1
    doc = stdout_json(result)
    assert list(doc)[:3] == ["schema", "verdict", "flow"]
    assert doc["schema"] == 2  # issue 17: the whole address space is `world`
    assert doc["verdict"] == "deny"
    assert doc["flow"] == {
        "from": {"peer": "shop/web", "type": "workload", "id": "shop/web", "namespace": "shop",
                 "name": "web", "kind": "Deployment"},
        "to": {"peer": "shop/api", "type": "workload", "id": "shop/api", "namespace": "shop",
               "name": "api", "kind": "Deployment"},
        "protocol": "TCP",
        "port": 8080,
    }
    assert doc["options"] == ["cni=generic", "ipblock-matches-pods=yes", "self-traffic=omitted", "mesh=istio"]
    trace = doc["trace"]
    for step in trace:
        assert {"layer", "direction", "subject", "tier", "reason", "effect", "message"} <= set(step)
    # Egress side first (the source's), then ingress (the destination's).
    directions = [s["direction"] for s in trace]
    assert directions == sorted(directions, key=lambda d: d != "egress")
    denies = [s for s in trace if s["effect"] == "deny"]
    assert len(denies) == 1
    deny = denies[0]
    assert {k: deny[k] for k in ("layer", "direction", "subject", "tier", "reason", "policy", "rule",
                                 "file", "line")} == {
        "layer": "cni", "direction": "egress", "subject": "shop/web", "tier": "networkpolicy",
        "reason": "no-rule-matched",
        "policy": {"kind": "NetworkPolicy", "namespace": "shop", "name": "default-deny"},
        "rule": None, "file": SHOP_NP, "line": 3,
    }
    allow = [s for s in trace if s["direction"] == "ingress" and s["effect"] == "allow" and s["layer"] == "cni"]
    assert len(allow) == 1
    assert (allow[0]["reason"], allow[0]["policy"]["name"], allow[0]["rule"], allow[0]["line"]) == (
        "allowed-by-rule", "allow-web-to-api", 0, 22)
    assert [(d["file"], d["line"], d["code"]) for d in doc["diagnostics"] if d["severity"] == "warning"] \
        == SHOP_WARNINGS
    assert {d["code"] for d in doc["diagnostics"] if d["severity"] == "info"} == {
        "calico-port-without-protocol", "assumed-peer", "redundant-annotation", "not-enforced", "mesh-auto"}


def test_explain_of_an_allowed_flow_says_allow_and_exits_0() -> None:
    result = kubeward("explain", SHOP, "--from", "shop/web", "--to", "kube-system/coredns",
                      "--port", "53", "--protocol", "UDP")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].split() == ["ALLOW", "shop/web", "->", "kube-system/coredns",
                                                     "UDP/53"]
    assert result.stdout.splitlines()[-1].strip() == "verdict: allow"
    assert f"shop/allow-dns egress rule 0 ({SHOP_NP}:50)" in result.stdout


def test_explain_json_of_an_allowed_flow_has_verdict_allow() -> None:
    result = kubeward("explain", SHOP, "--from", "shop/web", "--to", "kube-system/coredns",
                      "--port", "53", "--protocol", "udp", "--format", "json")
    assert result.exit_code == 0
    doc = stdout_json(result)
    assert doc["verdict"] == "allow"
    assert doc["flow"]["protocol"] == "UDP"  # the protocol is case-insensitive on the command line
    egress_allow = [s for s in doc["trace"] if s["direction"] == "egress" and s["effect"] == "allow"]
    assert [(s["reason"], s["policy"]["name"], s["line"]) for s in egress_allow] == [
        ("allowed-by-rule", "allow-dns", 50)]


def test_explain_from_world_uses_a_public_address_and_follows_the_destination_policies() -> None:
    open_ = kubeward("explain", SHOP, "--from", "world", "--to", "kube-system/coredns", "--port", "53",
                     "--format", "json")
    assert open_.exit_code == 0
    doc = stdout_json(open_)
    assert doc["verdict"] == "allow"
    src = doc["flow"]["from"]
    assert src["type"] == "network"
    assert src["peer"].startswith("world (")
    assert not src["address"].startswith(("10.", "192.168.", "127."))
    isolated = kubeward("explain", SHOP, "--from", "world", "--to", "shop/web", "--port", "8080")
    assert isolated.exit_code == 1
    assert f"shop/default-deny ({SHOP_NP}:3)" in isolated.stdout.splitlines()[-1]


def test_explain_to_an_ip_address_places_it_in_the_network_outside_the_pods() -> None:
    denied = kubeward("explain", SHOP, "--from", "shop/web", "--to", "8.8.8.8", "--port", "443",
                      "--format", "json")
    assert denied.exit_code == 1
    dst = stdout_json(denied)["flow"]["to"]
    assert (dst["type"], dst["id"], dst["address"]) == ("network", "world", "8.8.8.8")
    allowed = kubeward("explain", SHOP, "--from", "kube-system/coredns", "--to", "8.8.8.8", "--port", "443")
    assert allowed.exit_code == 0
    assert allowed.stdout.startswith("ALLOW  kube-system/coredns -> 8.8.8.8")


def test_explain_without_a_port_answers_which_ports_are_allowed() -> None:
    result = kubeward("explain", SHOP, "--from", "shop/web", "--to", "kube-system/coredns", "--format", "json")
    assert result.exit_code == 0
    doc = stdout_json(result)
    assert doc["verdict"] == "allow"
    assert (doc["flow"]["protocol"], doc["flow"]["port"]) == (None, None)
    assert doc["allowedPorts"] == DNS_PORTS
    denied = kubeward("explain", SHOP, "--from", "shop/web", "--to", "shop/api", "--format", "json")
    assert denied.exit_code == 1
    assert stdout_json(denied)["allowedPorts"] == {}


def test_explain_of_an_unknown_workload_exits_2_naming_it() -> None:
    result = kubeward("explain", SHOP, "--from", "shop/nope", "--to", "shop/api", "--port", "8080")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "--from shop/nope: no workload shop/nope in the input" in result.stderr
    assert "shop/web" in result.stderr  # the hint lists the workloads that are there
    result = kubeward("explain", SHOP, "--from", "shop/web", "--to", "other/api", "--port", "8080")
    assert result.exit_code == 2
    assert "--to other/api" in result.stderr


@pytest.mark.parametrize("peer", ["nope", "999.1.1.1", "shop/web/extra"])  # `web` is shop/web (issue 17)
def test_explain_of_a_peer_that_is_no_namespace_name_ip_world_or_dns_name_exits_2(peer: str) -> None:
    result = kubeward("explain", SHOP, "--from", "shop/web", "--to", peer, "--port", "80")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert peer in result.stderr


def test_explain_rejects_an_unknown_protocol_with_exit_2() -> None:
    result = kubeward("explain", SHOP, "--from", "shop/web", "--to", "shop/api", "--port", "8080",
                      "--protocol", "ICMP")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "--protocol ICMP: expected one of TCP, UDP, SCTP" in result.stderr


@pytest.mark.parametrize("port", ["0", "65536"])
def test_explain_rejects_a_port_outside_1_65535_with_exit_2(port: str) -> None:
    result = kubeward("explain", SHOP, "--from", "shop/web", "--to", "shop/api", "--port", port)
    assert result.exit_code == 2
    assert f"--port {port}" in result.stderr


@pytest.mark.parametrize("args", [
    ["--from", "shop/web", "--port", "80"],  # no --to
    ["--from", "shop/web", "--to", "shop/api", "--port", "80", "--format", "xml"],
    ["--from", "shop/web", "--to", "shop/api", "--port", "80", "-o", "wide"],
])
def test_explain_usage_errors_exit_2(args: list[str]) -> None:
    result = kubeward("explain", SHOP, *args)
    assert result.exit_code == 2
    assert "Usage:" in result.stderr


def test_explain_without_a_path_is_a_usage_error() -> None:
    result = kubeward("explain", "--from", "shop/web", "--to", "shop/api", "--port", "80")
    assert result.exit_code == 2
    assert "Error: give PATH... (files, folders, - for standard input), or --cluster" in result.stderr


# ---------------------------------------------------------------------------- map


def test_map_json_of_the_shop_example_is_exactly_its_connections_and_entry_points() -> None:
    result = kubeward("map", "--expand", SHOP, "--format", "json")
    assert result.exit_code == 0
    doc = stdout_json(result)
    assert list(doc) == ["schema", "form", "options", "peers", "connections", "entries", "diagnostics"]
    assert (doc["schema"], doc["form"]) == (3, "expanded")
    assert doc["connections"] == SHOP_CONNECTIONS
    # The input has entry points: a peer "world" stands for where their requests come from.
    # issue 17: the whole address space is that same peer, `world` (a network peer with its CIDR)
    assert [p["id"] for p in doc["peers"]] == [*SHOP_WORKLOADS, "world"]
    assert doc["peers"][-1] == {"id": "world", "type": "network", "cidrs": ["0.0.0.0/0"]}
    assert {"id": "shop/web", "type": "workload", "namespace": "shop", "name": "web",
            "kind": "Deployment"} in doc["peers"]
    # Every entry point, working or not: both of the lab's are blocked, each by its first failing hop.
    entries = [(e["via"]["kind"], e["via"]["namespace"], e["via"]["name"], e["request"], e["verdict"],
                e["reached"], e["blockedBy"]["reason"], e["blockedBy"]["policy"]["name"], e["blockedBy"]["file"],
                e["blockedBy"]["line"]) for e in doc["entries"]]
    assert entries == [
        ("Ingress", "shop", "web-ing", "https://shop.example.com/", "deny", [], "no-rule-matched", "default-deny",
         SHOP_NP, 3),
        ("HTTPRoute", "shop", "shop-route", "", "deny", [], "route-not-accepted", "shop-route",
         f"{SHOP_ENTRY}/gateway.yaml", 21),
    ]
    assert doc["entries"][0]["via"]["controller"] == INGRESS_NGINX
    assert doc["entries"][1]["via"]["gateway"] == "infra/edge"
    assert [(d["file"], d["line"], d["code"]) for d in doc["diagnostics"] if d["severity"] == "warning"] \
        == SHOP_WARNINGS
    assert {d["severity"] for d in doc["diagnostics"]} == {"warning", "info"}


def test_map_json_of_an_input_without_entry_points_has_no_world_peer_and_no_entries() -> None:
    doc = stdout_json(kubeward("map", "--expand", f"{SHOP}/base", f"{SHOP}/cluster", "--format", "json"))
    assert doc["connections"] == SHOP_CORE_CONNECTIONS
    assert [p["id"] for p in doc["peers"]] == ["kube-system/coredns", "shop/api", "shop/mysql", "shop/web",
                                              "world"]
    assert doc["entries"] == []


def test_map_json_merges_and_sorts_port_ranges_per_protocol(tmp_path: Path) -> None:
    result = kubeward("map", "--expand", write(tmp_path / "app.yaml", APP),
                      write(tmp_path / "np.yaml", SCATTERED_PORTS), "--format", "json")
    assert result.exit_code == 0
    ports = connection(stdout_json(result), "app/client", "app/server")
    assert ports == {"TCP": [[80, 90], [443, 443]], "UDP": [[53, 53]], "SCTP": [[9000, 9000]]}
    assert list(ports) == ["TCP", "UDP", "SCTP"]


def test_map_csv_has_a_header_and_one_row_per_protocol(tmp_path: Path) -> None:
    result = kubeward("map", "--expand", SHOP, "--format", "csv")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "src,dst,protocol,ports"
    expected = []
    for c in SHOP_CONNECTIONS:
        for proto, ranges in c["protocols"].items():
            ports = ";".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges)
            expected.append(f"{c['src']},{c['dst']},{proto},{ports}")
    assert lines[1:] == expected
    assert "shop/web,kube-system/coredns,UDP,53" in lines
    scattered = kubeward("map", "--expand", write(tmp_path / "app.yaml", APP),
                         write(tmp_path / "np.yaml", SCATTERED_PORTS), "--format", "csv").stdout.splitlines()
    assert [r for r in scattered if r.startswith("app/client,app/server,")] == [
        "app/client,app/server,TCP,80-90;443",
        "app/client,app/server,UDP,53",
        "app/client,app/server,SCTP,9000",
    ]


def test_map_md_is_a_markdown_table_of_the_connections() -> None:
    result = kubeward("map", "--expand", SHOP, "--format", "md")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[:2] == ["| from | to | allowed |", "| --- | --- | --- |"]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
    assert [(r[0], r[1]) for r in rows] == [(f"`{c['src']}`", f"`{c['dst']}`") for c in SHOP_CONNECTIONS]
    assert ["`shop/web`", "`kube-system/coredns`", "TCP/53 UDP/53"] in rows
    assert ["`world`", "`kube-system/coredns`", "all ports"] in rows


def test_map_dot_is_a_digraph_with_one_edge_per_pair_of_nodes() -> None:
    result = kubeward("map", "--expand", SHOP, "--format", "dot")
    assert result.exit_code == 0
    kind, nodes, edges = parse_dot(result.stdout)
    assert kind == "digraph"
    # issue 17: parallel edges merged; two opposite edges with the same ports drawn once, both ways
    drawn = {(s, d) for s, d, _ in edges} | {(d, s) for s, d, a in edges if a.get("dir") == "both"}
    assert drawn == {(c["src"], c["dst"]) for c in SHOP_CONNECTIONS}
    assert len(edges) == len({(s, d) for s, d, _ in edges})
    assert ("shop/web", "kube-system/coredns", {"label": "TCP/53 UDP/53"}) in edges
    assert set(SHOP_WORKLOADS) | {"world"} <= nodes


def _table_rows(lines: list[str], header: str) -> list[list[str]]:
    """The rows of a text table whose header line is ``header``: cells cut at the header's column
    starts; a cell wrapped onto continuation lines is joined back with spaces."""
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    rows: list[list[str]] = []
    for line in lines:
        if not line.strip():
            break
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        if line.startswith(" "):  # a continuation line
            rows[-1] = [f"{old} {new}".strip() for old, new in zip(rows[-1], cells, strict=True)]
        else:
            rows.append(cells)
    return rows


def test_map_text_is_a_table_for_a_person() -> None:
    result = kubeward("map", "--expand", SHOP)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("18 connections among 6 workloads and 1 network peer (")
    # A VIA column, because connections name the Service ports that front their destination.
    assert lines[1].split() == ["FROM", "TO", "ALLOWED", "VIA"]
    rows = _table_rows(lines[2:], lines[1])
    assert [(r[0], r[1]) for r in rows] == [(c["src"], c["dst"]) for c in SHOP_CONNECTIONS]
    assert ["shop/web", "kube-system/coredns", "TCP/53 UDP/53",
            "Service kube-system/kube-dns:53/UDP, Service kube-system/kube-dns:53/TCP"] in rows
    assert [EDGE, INGRESS_NGINX, "all ports", ""] in rows
    # Then every entry point, with what blocks it.
    entries = section(result.stdout, "Entry points (2):")
    assert [line.strip()[:1] for line in entries] == ["✗", "✗"]
    assert entries[0].strip().startswith(
        "✗ Ingress shop/web-ing host shop.example.com path / → Service shop/web:80 [https://shop.example.com/]"
        f" — blocked: ingress of shop/web: NetworkPolicy shop/default-deny ({SHOP_NP}:3): ")
    assert "no ingress rule of them allows TCP/8080 from ingress-nginx/ingress-nginx-controller" in entries[0]
    assert entries[1].strip().startswith(
        f"✗ HTTPRoute shop/shop-route — blocked: entry: HTTPRoute shop/shop-route ({SHOP_ENTRY}/gateway.yaml:21): "
        "HTTPRoute shop/shop-route is not accepted by infra/edge: NotAllowedByListeners: ")


def test_map_text_of_an_input_without_services_or_entry_points_has_no_via_column(tmp_path: Path) -> None:
    result = kubeward("map", "--expand", write(tmp_path / "app.yaml", APP))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["FROM", "TO", "ALLOWED"]
    assert "Entry points" not in result.stdout


def test_map_namespace_keeps_connections_with_an_end_in_that_namespace() -> None:
    def with_an_end_in(*namespaces: str) -> list[dict[str, Any]]:
        return [c for c in SHOP_CONNECTIONS if c["src"].split("/")[0] in namespaces
                or c["dst"].split("/")[0] in namespaces]

    shop = stdout_json(kubeward("map", "--expand", SHOP, "--namespace", "shop", "--format", "json"))
    assert shop["connections"] == [c for c in SHOP_CONNECTIONS if c["src"].startswith("shop/")]
    assert shop["connections"] == with_an_end_in("shop")
    # The namespace's workloads plus every peer a kept connection names.
    assert [p["id"] for p in shop["peers"]] == ["kube-system/coredns", "shop/api", "shop/mysql", "shop/web"]
    # Both entry points lead into shop.
    assert [e["via"]["name"] for e in shop["entries"]] == ["web-ing", "shop-route"]
    system = stdout_json(kubeward("map", "--expand", SHOP, "-n", "kube-system", "--format", "json"))
    assert system["connections"] == with_an_end_in("kube-system")
    assert len(system["connections"]) == 10  # those with coredns as an end; the stand-ins' own pairs are not kept
    both = stdout_json(kubeward("map", "--expand", SHOP, "-n", "shop", "-n", "kube-system", "--format", "json"))
    assert both["connections"] == with_an_end_in("shop", "kube-system")
    assert both["connections"] == system["connections"]  # every shop connection ends at coredns
    csv_rows = kubeward("map", "--expand", SHOP, "-n", "shop", "--format", "csv").stdout.splitlines()[1:]
    assert all(row.startswith("shop/") for row in csv_rows) and len(csv_rows) == 6


def test_map_still_prints_the_map_and_exits_2_on_input_errors(tmp_path: Path) -> None:
    broken = write(tmp_path / "broken.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: name: x\n")
    result = kubeward("map", "--expand", SHOP, broken, "--format", "json")
    assert result.exit_code == 2
    doc = stdout_json(result)
    assert doc["connections"] == SHOP_CONNECTIONS
    assert f"{broken}:3: error: yaml-syntax:" in result.stderr


def test_map_rejects_an_unknown_format_with_exit_2() -> None:
    result = kubeward("map", "--expand", SHOP, "--format", "xml")
    assert result.exit_code == 2
    assert "Usage:" in result.stderr


# ---------------------------------------------------------------------------- input forms


def _shop_as_one_stream() -> str:
    parts = ["base/namespace.yaml", "base/networkpolicies.yaml", "base/workloads.yaml",
             "cluster/kube-dns.yaml"]
    return "---\n".join((ROOT / SHOP / p).read_text(encoding="utf-8") for p in parts)


def test_stdin_given_as_dash_is_read_and_located_as_stdin() -> None:
    result = kubeward("map", "--expand", "-", "--format", "json", input=_shop_as_one_stream())
    assert result.exit_code == 0
    assert stdout_json(result)["connections"] == SHOP_CORE_CONNECTIONS
    explained = kubeward("explain", "-", "--from", "shop/web", "--to", "shop/api", "--port", "8080",
                         "--format", "json", input=_shop_as_one_stream())
    assert explained.exit_code == 1
    deny = next(s for s in stdout_json(explained)["trace"] if s["effect"] == "deny")
    # namespace.yaml is 4 lines, then "---", then two comment lines: default-deny starts at 8.
    assert (deny["policy"]["name"], deny["file"], deny["line"]) == ("default-deny", "<stdin>", 8)


def test_stdin_combines_with_files() -> None:
    base = "---\n".join((ROOT / SHOP / "base" / p).read_text(encoding="utf-8")
                        for p in ("namespace.yaml", "networkpolicies.yaml", "workloads.yaml"))
    result = kubeward("map", "--expand", "-", f"{SHOP}/cluster", "--format", "json", input=base)
    assert result.exit_code == 0
    assert stdout_json(result)["connections"] == SHOP_CORE_CONNECTIONS


def test_stdin_errors_are_located_in_stdin() -> None:
    result = kubeward("check", "-", "--format", "json", input="# nothing yet\nkind: Namespace\n")
    assert result.exit_code == 2
    diags = stdout_json(result)["diagnostics"]
    assert [(d["code"], d["file"], d["line"]) for d in diags] == [("missing-api-version", "<stdin>", 2)]


@pytest.mark.parametrize("paths", [
    [SHOP, SHOP],
    [f"{SHOP}/base/workloads.yaml", SHOP],
    [f"{SHOP}/base", SHOP],
], ids=["folder-twice", "file-plus-folder", "subfolder-plus-folder"])
def test_map_of_a_file_given_twice_is_the_map_of_it_given_once(paths: list[str]) -> None:
    once = kubeward("map", "--expand", SHOP, "--format", "json")
    twice = kubeward("map", "--expand", *paths, "--format", "json")
    assert twice.exit_code == once.exit_code == 0
    assert stdout_json(twice)["connections"] == stdout_json(once)["connections"]
    assert stdout_json(twice)["peers"] == stdout_json(once)["peers"]


@pytest.mark.parametrize("paths", [
    [SHOP, SHOP],
    [f"{SHOP}/base/workloads.yaml", SHOP],
], ids=["folder-twice", "file-plus-folder"])
def test_check_of_a_file_given_twice_is_the_check_of_it_given_once(paths: list[str]) -> None:
    once = kubeward("check", SHOP, "--format", "json")
    twice = kubeward("check", *paths, "--format", "json")
    assert twice.exit_code == once.exit_code == 1  # the lab's warnings (SHOP_WARNINGS), once each
    assert stdout_json(twice)["inventory"] == stdout_json(once)["inventory"]
    assert stdout_json(twice)["diagnostics"] == stdout_json(once)["diagnostics"]


def test_explain_of_a_folder_given_twice_names_each_policy_once() -> None:
    args = ["--from", "shop/web", "--to", "shop/api", "--port", "8080", "--format", "json"]
    once = stdout_json(kubeward("explain", SHOP, *args))
    twice = stdout_json(kubeward("explain", SHOP, SHOP, *args))
    assert twice["trace"] == once["trace"]


KUBECTL_LIST = textwrap.dedent("""\
    apiVersion: v1
    items:
    - apiVersion: v1
      kind: Namespace
      metadata:
        name: app
    - apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: client
        namespace: app
      spec:
        selector: {matchLabels: {app: client}}
        template:
          metadata:
            labels: {app: client}
          spec:
            containers: [{name: c, image: x}]
    - apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata:
        name: server-from-client
        namespace: app
      spec:
        podSelector: {matchLabels: {app: server}}
        policyTypes: [Ingress]
        ingress:
        - from: [{podSelector: {matchLabels: {app: client}}}]
          ports: [{port: 80}]
    kind: List
    metadata:
      resourceVersion: ""
    """)

DEPLOYMENT_LIST = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: DeploymentList
    metadata:
      resourceVersion: "4711"
    items:
    - apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: server
        namespace: app
      spec:
        selector: {matchLabels: {app: server}}
        template:
          metadata:
            labels: {app: server}
          spec:
            containers: [{name: c, image: x, ports: [{containerPort: 80}]}]
    """)


def test_a_kubectl_list_and_a_typed_list_are_unpacked_into_their_items(tmp_path: Path) -> None:
    paths = [write(tmp_path / "list.yaml", KUBECTL_LIST), write(tmp_path / "deployments.yaml", DEPLOYMENT_LIST)]
    result = kubeward("map", "--expand", *paths, "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = stdout_json(result)
    assert [p["id"] for p in doc["peers"] if p["type"] == "workload"] == ["app/client", "app/server"]
    assert connection(doc, "app/client", "app/server") == {"TCP": [[80, 80]]}  # the listed policy applies
    assert connection(doc, "world", "app/server") is None
    inventory = stdout_json(kubeward("check", *paths, "--format", "json"))["inventory"]
    assert inventory["kinds"] == {"Deployment": 2, "Namespace": 1, "NetworkPolicy": 1}
    assert inventory["policies"] == {"NetworkPolicy": 1}


def test_items_of_a_list_are_located_at_their_own_lines(tmp_path: Path) -> None:
    broken = KUBECTL_LIST.replace("ports: [{port: 80}]", "ports: [{port: 0}]")
    path = write(tmp_path / "list.yaml", broken)
    result = kubeward("check", path, "--format", "json")
    assert result.exit_code == 2
    [diag] = [d for d in stdout_json(result)["diagnostics"] if d["severity"] == "error"]
    assert (diag["code"], diag["file"]) == ("invalid-port", path)
    assert diag["line"] == broken.splitlines().index("      ports: [{port: 0}]") + 1


def test_items_of_a_typed_list_without_their_own_kind_take_the_kind_of_the_list(tmp_path: Path) -> None:
    api_list = DEPLOYMENT_LIST.replace("- apiVersion: apps/v1\n  kind: Deployment\n  metadata:", "- metadata:")
    assert "kind: Deployment\n" not in api_list
    result = kubeward("map", "--expand", write(tmp_path / "app.yaml", APP.split("---")[0]),
                      write(tmp_path / "deployments.yaml", api_list), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert [p["id"] for p in stdout_json(result)["peers"] if p["type"] == "workload"] == ["app/server"]


def test_json_files_are_read_like_yaml_with_their_lines(tmp_path: Path) -> None:
    policy: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "np", "namespace": "app"},
        "spec": {"podSelector": {"matchLabels": {"app": "server"}}, "policyTypes": ["Ingress"],
                 "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}],
                              "ports": [{"protocol": "TCP", "port": 80}]}]},
    }
    app = write(tmp_path / "app.yaml", APP)
    good = write(tmp_path / "np.json", json.dumps(policy, indent=2))
    result = kubeward("map", "--expand", app, good, "--format", "json")
    assert result.exit_code == 0
    assert connection(stdout_json(result), "app/client", "app/server") == {"TCP": [[80, 80]]}

    policy["spec"]["ingress"][0]["ports"][0]["protocol"] = "ICMP"
    text = json.dumps(policy, indent=2)
    bad = write(tmp_path / "bad.json", text)
    result = kubeward("map", "--expand", app, bad, "--format", "json")
    assert result.exit_code == 2
    [diag] = stdout_json(result)["diagnostics"]
    assert (diag["code"], diag["file"]) == ("unknown-protocol", bad)
    assert diag["line"] == next(i for i, line in enumerate(text.splitlines(), 1) if '"ICMP"' in line)


def test_a_kubectl_get_o_json_list_is_unpacked(tmp_path: Path) -> None:
    listed = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "solo", "namespace": "app",
                                                        "labels": {"app": "solo"}},
         "spec": {"containers": [{"name": "c", "image": "x"}]}, "status": {"podIP": "10.1.2.3"}},
    ]}
    path = write(tmp_path / "pods.json", json.dumps(listed))
    result = kubeward("explain", path, "--from", "10.1.2.3", "--to", "world", "--port", "443", "--format", "json")
    assert result.exit_code == 0, result.stderr
    src = stdout_json(result)["flow"]["from"]
    assert (src["type"], src["id"], src["address"]) == ("workload", "app/solo", "10.1.2.3")


# ---------------------------------------------------------------------------- check


def test_check_of_the_shop_example_reports_its_real_findings_and_exits_1() -> None:
    result = kubeward("check", SHOP)
    assert result.exit_code == 1
    # The traps (as `lint` reports them, each with a fix) and the input problems, each said once.
    # (issue 11, items 17 and 18: the Ingress that reaches no backend, and allow-web-to-api, one-sided on
    # ingress, are warnings; neither one-sided policy is "redundant" any more)
    assert "Findings: 0 error(s), 13 warning(s), 4 info" in result.stdout
    assert "Diagnostics: 0 error(s), 1 warning(s), 4 note(s)" in result.stdout
    findings = section(result.stdout, "Findings:", "Tests:")
    problems = section(result.stdout, "Diagnostics:")
    warned = sorted(warnings_of("\n".join(findings)) + warnings_of("\n".join(problems)))
    traps = [w for w in SHOP_WARNINGS if w[2] != "cni-ambiguous"]
    assert warned == sorted(SHOP_WARNINGS + [("examples/shop/base/networkpolicies.yaml", 22, "one-sided-allow"),
                                             ("examples/shop/base/networkpolicies.yaml", 36, "one-sided-allow"),
                                             (f"{SHOP_ENTRY}/ingress.yaml", 2, "entry-point-blocked")])
    assert warnings_of("\n".join(problems)) == [w for w in SHOP_WARNINGS if w[2] == "cni-ambiguous"]
    lines = [line for line in findings if ": warning: " in line]
    for trap, subject in zip(SHOP_WARNINGS, SHOP_WARNING_SUBJECTS, strict=True):
        if trap in traps:
            [line] = [x for x in lines if x.strip().startswith(f"{trap[0]}:{trap[1]}: warning: {trap[2]}")]
            assert subject in line
    assert all(findings[i + 1].strip().startswith("fix: ") for i, line in enumerate(findings) if ": warning: " in line)
    # The lab's TestSuite runs too, under the Cilium profile it asks for.
    assert "Tests: 6 passed, 2 failed (cni=cilium," in result.stdout
    assert "Namespaces: kube-system, shop (assumed: infra, ingress-nginx)" in result.stdout


def test_check_text_names_each_not_modelled_kind_once_with_its_count(tmp_path: Path) -> None:
    extra = write(tmp_path / "extra.yaml", """\
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b, namespace: shop}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: t, namespace: shop}
""")
    out = kubeward("check", SHOP, extra).stdout
    assert out.count("not modelled: ConfigMap (v1), 2 objects") == 1
    assert out.count("Not modelled: ConfigMap (v1), 2 objects") == 1
    assert out.count("not modelled: Telemetry (telemetry.istio.io/v1), 1 object\n") == 1
    # Once per kind, never once per object.
    assert out.count("ConfigMap (v1)") == 2  # the inventory line and the note
    assert "did you mean" not in out  # a ConfigMap is not a misspelling of a modelled kind


def test_check_json_has_schema_1_and_an_inventory() -> None:
    result = kubeward("check", SHOP, "--format", "json")
    assert result.exit_code == 1
    doc = stdout_json(result)
    assert list(doc)[0] == "schema" and doc["schema"] == 1
    inventory = doc["inventory"]
    assert inventory["kinds"] == {
        "AuthorizationPolicy": 1, "CiliumNetworkPolicy": 2, "Deployment": 4, "Gateway": 1, "HTTPRoute": 1,
        "Ingress": 1, "Namespace": 2, "NetworkPolicy": 5, "PeerAuthentication": 1, "Service": 4, "TestSuite": 1,
        "ServiceAccount": 1,
    }
    assert inventory["policies"] == {"NetworkPolicy": 4}
    # The lab's four Deployments and the two stand-ins that serve its Ingress and its Gateway.
    assert inventory["workloads"] == 4
    assert inventory["assumedWorkloads"] == ["infra/edge-nginx", "ingress-nginx/ingress-nginx-controller"]
    # infra: named by the Gateway; ingress-nginx: the stand-in controller's. Neither is defined.
    assert inventory["namespaces"] == [{"name": "infra", "defined": False}, {"name": "ingress-nginx", "defined": False},
                                       {"name": "kube-system", "defined": True}, {"name": "shop", "defined": True}]
    # Every kind of the lab is modelled now (Ingress, Gateway API, Cilium, Istio, Calico).
    assert inventory["notModelled"] == []
    # The Cilium policies are parsed but not enforced: the input also has Calico's (cni-ambiguous).
    assert any(d["code"] == "not-enforced" and "CiliumNetworkPolicy" in d["message"] for d in doc["diagnostics"])
    web = next(p for p in doc["protection"] if p["workload"] == "shop/web")
    assert web["egressIsolatedBy"] == ["NetworkPolicy shop/default-deny", "NetworkPolicy shop/allow-dns"]
    assert next(p for p in doc["protection"] if p["workload"] == INGRESS_NGINX)["ingressIsolatedBy"] == []
    # The 4 of the lab (each shop workload to coredns, coredns to itself) and the 8 pairs in which
    # a stand-in is an end (nothing isolates them).
    assert doc["connectivity"]["workloadConnections"] == 12
    assert [(d["file"], d["line"], d["code"]) for d in doc["diagnostics"] if d["severity"] == "warning"] \
        == SHOP_WARNINGS
    assert doc["exitCode"] == 1


def test_check_exits_1_on_warnings(tmp_path: Path) -> None:
    # A workload in a namespace the input does not define: a warning, not an error.
    path = write(tmp_path / "app.yaml", APP.split("---", 1)[1])
    result = kubeward("check", path, "--format", "json")
    assert result.exit_code == 1
    doc = stdout_json(result)
    assert doc["exitCode"] == 1
    assert [(d["code"], d["severity"]) for d in doc["diagnostics"]] == [("undefined-namespace", "warning")]
    assert kubeward("check", path).exit_code == 1


def test_check_exits_2_on_errors_and_still_reports_the_rest(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {labels: {a: b}}\n")
    result = kubeward("check", write(tmp_path / "app.yaml", APP), bad, "--format", "json")
    assert result.exit_code == 2
    doc = stdout_json(result)
    assert doc["exitCode"] == 2
    assert [(d["code"], d["file"], d["line"]) for d in doc["diagnostics"]] == [("missing-name", bad, 1)]
    assert doc["inventory"]["workloads"] == 2
