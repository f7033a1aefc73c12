"""The grouped map (issue 13): connections between groups of peers that cover exactly the pairs
the engine computes one by one — no pair more, none less, the same ports — and the CLI around it
(`map` prints it by default, `--expand` one row per pair, `--namespace`/`--workload` focus it).

The reference is ``engine.connectivity.connectivity``, the per-pair computation the map used
before it was grouped: every grouped connection is expanded back to (workload | network piece |
DNS name) pairs and compared with it, on clusters of the benchmark generator (sparse and dense,
several seeds) and on clusters Hypothesis draws."""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from kubeward import Analysis, Options, analyse_text, connectivity_map
from kubeward.analyses.connectivity_map import ConnectivityMap, PeerType
from kubeward.analyses.map_groups import AddressSet, IpBlock, ip_blocks
from kubeward.engine.connectivity import connectivity
from kubeward.engine.portset import EMPTY, PortSet
from kubeward.engine.universe import Identity
from test_cli import kubeward, stdout_json, write
from test_map_agrees_with_explain import clusters

ROOT = Path(__file__).resolve().parents[1]
SHOP = str(ROOT / "examples" / "shop")
Pairs = dict[tuple[str, str], PortSet]


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "benchmarks" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


GENERATE = _generator()


def generated(pods: int, seed: int, shape: str) -> str:
    docs, _ = GENERATE.generate(pods, seed, GENERATE.Shape(shape))
    return str(yaml.dump_all(docs, Dumper=yaml.CSafeDumper, sort_keys=False))


def per_pair(analysis: Analysis) -> Pairs:
    """The engine's pairs, named as the map names peers (workloads, network pieces, DNS names)."""
    u = analysis.engine.universe
    single = {w.id for w in analysis.cluster.workloads if w.single_pod}

    def names(index: int) -> list[str]:
        ep = u.endpoints[index]
        return [w.id for w in ep.workloads] if isinstance(ep, Identity) else [ep.display]

    out: Pairs = {}
    for (s, d), ports in connectivity(analysis.engine).items():
        for a in names(s):
            for b in names(d):
                if not (a == b and a in single):
                    out[(a, b)] = out.get((a, b), EMPTY) | ports
    return out


def expanded(cmap: ConnectivityMap, analysis: Analysis) -> Pairs:
    """Every connection of ``cmap`` expanded to the pairs it covers (groups to their members,
    address ranges to the engine's pieces inside them)."""
    pieces = [(n.id, n.version, n.first, n.last) for n in analysis.engine.universe.networks]
    ranges = {p.id: p.cidrs for p in cmap.peers if p.type is PeerType.NETWORK}
    single = {w.id for w in analysis.cluster.workloads if w.single_pod}

    def inside(cidrs: tuple[str, ...]) -> list[str]:
        spans: list[tuple[int, int, int]] = []  # version, first, last: adjacent CIDRs joined
        for n in sorted((ipaddress.ip_network(c) for c in cidrs), key=lambda n: (n.version, n.network_address)):
            first, last = int(n.network_address), int(n.broadcast_address)
            if spans and spans[-1][0] == n.version and spans[-1][2] + 1 == first:
                spans[-1] = (n.version, spans[-1][1], last)
            else:
                spans.append((n.version, first, last))
        return [name for name, version, first, last in pieces
                if any(v == version and lo <= first and last <= hi for v, lo, hi in spans)]

    def in_blocks(blocks: tuple[IpBlock, ...]) -> list[str]:
        """The pieces inside the union of the blocks (each its CIDR minus its excepts)."""
        spans: list[tuple[int, int, int]] = []
        for b in blocks:
            cover = ipaddress.ip_network(b.cidr)
            at, end = int(cover.network_address), int(cover.broadcast_address)
            for hole in sorted((ipaddress.ip_network(h) for h in b.except_), key=lambda n: n.network_address):
                if int(hole.network_address) > at:
                    spans.append((cover.version, at, int(hole.network_address) - 1))
                at = int(hole.broadcast_address) + 1
            if at <= end:
                spans.append((cover.version, at, end))
        return [p for p in inside(tuple(str(c) for v, lo, hi in spans for c in ipaddress.summarize_address_range(
            ipaddress.ip_address(lo) if v == 4 else ipaddress.IPv6Address(lo),
            ipaddress.ip_address(hi) if v == 4 else ipaddress.IPv6Address(hi))))]

    def ends(peer: str) -> list[str]:
        group = cmap.group(peer)
        if group is not None:
            return [*cmap.members(peer), *in_blocks(group.ip_blocks), *group.fqdns]
        if peer in ranges:
            return inside(ranges[peer])
        return [peer]

    out: Pairs = {}
    for c in cmap.connections:
        for a in ends(c.src):
            for b in ends(c.dst):
                if a == b and a in single:
                    continue
                assert (a, b) not in out or not cmap.disjoint, f"{a} -> {b} is in two connections"
                out[(a, b)] = out.get((a, b), EMPTY) | c.ports
    return out


def assert_exact(analysis: Analysis) -> ConnectivityMap:
    reference = per_pair(analysis)
    grouped = connectivity_map(analysis, grouped=True)
    assert expanded(grouped, analysis) == reference
    assert expanded(connectivity_map(analysis), analysis) == reference
    return grouped


@pytest.mark.parametrize("shape", ["default", "dense"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_grouped_map_covers_exactly_the_pairs_of_generated_clusters(shape: str, seed: int) -> None:
    analysis = analyse_text(generated(300, seed, shape), file="gen.yaml", options=Options(mesh="none"))
    grouped = assert_exact(analysis)
    assert len(grouped.connections) < len(per_pair(analysis)) / 5  # and it is much smaller


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(clusters())
def test_grouped_map_covers_exactly_the_pairs_of_drawn_clusters(objects: list[dict[str, Any]]) -> None:
    text = yaml.safe_dump_all([o for o in objects if o["kind"] not in ("AuthorizationPolicy", "PeerAuthentication")])
    assert_exact(analyse_text(text, file="drawn.yaml", options=Options(mesh="none")))


def test_a_focused_map_is_exactly_the_pairs_with_an_end_in_the_focus() -> None:
    analysis = analyse_text(generated(300, 4, "dense"), file="gen.yaml", options=Options(mesh="none"))
    reference = per_pair(analysis)
    namespace = analysis.cluster.workloads[0].namespace
    workload = analysis.cluster.workloads[-1].id
    in_ns = {k: v for k, v in reference.items() if namespace in (k[0].split("/")[0], k[1].split("/")[0])}
    assert expanded(connectivity_map(analysis, [namespace], grouped=True), analysis) == in_ns
    assert expanded(connectivity_map(analysis, [namespace]), analysis) == in_ns
    of_workload = {k: v for k, v in reference.items() if workload in k}
    assert expanded(connectivity_map(analysis, workloads=[workload], grouped=True), analysis) == of_workload


def test_a_workload_reaching_the_internet_gets_one_row_per_address_range_not_per_piece(tmp_path: Path) -> None:
    """Pieces the other policies cut (10.1.0.0/16 …) get the same answer for web: merged."""
    policies = "\n---\n".join(
        f"""apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: p{i}, namespace: a}}
spec:
  podSelector: {{matchLabels: {{app: other}}}}
  policyTypes: [Egress]
  egress: [{{to: [{{ipBlock: {{cidr: 10.{i}.0.0/16}}}}]}}]""" for i in range(1, 20))
    app = """apiVersion: v1
kind: Pod
metadata: {name: web, namespace: a, labels: {app: web}}
spec: {containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Pod
metadata: {name: other, namespace: a, labels: {app: other}}
spec: {containers: [{name: c, image: i}]}
"""
    doc = stdout_json(kubeward("map", "--expand", write(tmp_path / "in.yaml", app + "---\n" + policies),
                               "--format", "json"))
    rows = [c["dst"] for c in doc["connections"] if c["src"] == "a/web"]
    assert rows == ["a/other", "world"]  # not 40 pieces of the address space
    other = [c["dst"] for c in doc["connections"] if c["src"] == "a/other"]
    assert other == ["10.1.0.0-10.19.255.255"]  # 19 adjacent /16s, one range


def test_a_group_of_nearly_every_address_is_written_as_everything_except_the_holes() -> None:
    analysis = analyse_text(generated(300, 1, "dense"), file="gen.yaml", options=Options(mesh="none"))
    grouped = connectivity_map(analysis, grouped=True)
    holed = [b for g in grouped.groups for b in g.ip_blocks if b.except_]
    assert holed
    for block in holed:  # the holes lie inside the block's CIDR
        cover = ipaddress.ip_network(block.cidr)
        assert all(ipaddress.ip_network(h).subnet_of(cover) for h in block.except_)  # type: ignore[arg-type]
    assert any(b.cidr == "0.0.0.0/0" and len(b.except_) < 5 for b in holed)  # not dozens of CIDRs
    assert str(holed[0]) == f"{holed[0].cidr} except {', '.join(holed[0].except_)}"
    assert holed[0].to_json() == {"cidr": holed[0].cidr, "except": list(holed[0].except_)}


def test_ip_blocks_take_adjacent_ranges_together_only_when_that_is_shorter() -> None:
    def ranges(*spans: str) -> list[AddressSet]:
        out = []
        for span in spans:
            lo, hi = (int(ipaddress.ip_address(x)) for x in span.split("-"))
            cidrs = ipaddress.summarize_address_range(ipaddress.ip_address(lo), ipaddress.ip_address(hi))
            out.append(AddressSet(span, tuple(str(c) for c in cidrs), 4, lo, hi))
        return out

    # Two /16s, each with one /24 hole, far apart: two blocks with an except each.
    two = ip_blocks(ranges("16.201.0.0-16.201.69.255", "16.201.71.0-16.201.255.255",
                           "48.16.0.0-48.16.252.255", "48.16.254.0-48.16.255.255"))
    assert [str(b) for b in two] == ["16.201.0.0/16 except 16.201.70.0/24", "48.16.0.0/16 except 48.16.253.0/24"]
    # Everything but 10.0.0.0/8.
    rest = ip_blocks(ranges("0.0.0.0-9.255.255.255", "11.0.0.0-255.255.255.255"))
    assert [str(b) for b in rest] == ["world except 10.0.0.0/8"]
    # Two CIDRs that nothing joins stay as they are.
    assert [str(b) for b in ip_blocks(ranges("10.0.0.0-10.0.0.255", "192.168.1.0-192.168.1.255"))] == [
        "10.0.0.0/24", "192.168.1.0/24"]


def test_map_prints_the_grouped_form_by_default_and_every_group_it_names() -> None:
    result = kubeward("map", SHOP, "--format", "json")
    assert result.exit_code == 0
    doc = stdout_json(result)
    assert list(doc) == ["schema", "form", "options", "peers", "groups", "connections", "entries", "diagnostics"]
    assert (doc["schema"], doc["form"]) == (3, "grouped")
    groups = {g["id"]: g for g in doc["groups"]}
    peers = {p["id"] for p in doc["peers"]}
    for c in doc["connections"]:
        assert c["src"] in groups or c["src"] in peers
        assert c["dst"] in groups or c["dst"] in peers
    to_dns = [c for c in doc["connections"] if c["dst"] == "kube-system/coredns" and c["src"] in groups]
    # Every workload of shop reaches DNS: the group is the namespace, not three rows.
    assert [(groups[c["src"]], c["protocols"]) for c in to_dns] == [
        ({"id": to_dns[0]["src"], "namespaces": ["shop"]}, {"TCP": [[53, 53]], "UDP": [[53, 53]]})]


def test_map_text_names_a_large_group_by_its_id_and_lists_it_below() -> None:
    analysis = analyse_text(generated(200, 1, "dense"), file="gen.yaml", options=Options(mesh="none"))
    from kubeward.render.map_text import connectivity_table

    text = connectivity_table(connectivity_map(analysis, grouped=True))
    head, _, groups = text.partition("\nGroups (")
    assert "--expand for one row per pair" in head.splitlines()[0]
    named = re.findall(r"(group-\d+) \(", head)
    assert named and all(f"\n  {g}: " in "\n" + groups for g in named)


def test_map_workload_focus_and_its_errors() -> None:
    focused = stdout_json(kubeward("map", SHOP, "--workload", "shop/api", "--expand", "--format", "json"))
    assert focused["connections"] and all("shop/api" in (c["src"], c["dst"]) for c in focused["connections"])
    missing = kubeward("map", SHOP, "--workload", "shop/nope")
    assert missing.exit_code == 2
    assert "--workload shop/nope: no workload shop/nope in the input; did you mean shop/web?" in missing.stderr


def test_check_counts_workload_pairs_from_the_grouped_map_it_builds() -> None:
    analysis = analyse_text(generated(300, 2, "dense"), file="gen.yaml", options=Options(mesh="none"))
    from kubeward import check

    report = check(analysis)
    assert report.map.grouped
    workloads = {w.id for w in analysis.cluster.workloads}
    reference = per_pair(analysis)
    assert report.workload_connections == sum(1 for a, b in reference if a in workloads and b in workloads)
    doc = json.loads(json.dumps(report.to_json(), default=str))
    assert doc["connectivity"]["workloadConnections"] == report.workload_connections


def test_check_focuses_its_connectivity_summary_and_refuses_an_unknown_focus() -> None:
    whole = stdout_json(kubeward("check", SHOP, "--format", "json"))["connectivity"]
    focused = stdout_json(kubeward("check", SHOP, "--namespace", "shop", "--format", "json"))["connectivity"]
    assert "focus" not in whole and focused["focus"] == ["shop"]
    # the shop workloads reach coredns only: three pairs with an end in shop, of the twelve in all
    assert (whole["workloadConnections"], focused["workloadConnections"]) == (12, 3)
    one = stdout_json(kubeward("check", SHOP, "-w", "shop/web", "--format", "json"))["connectivity"]
    assert one["workloadConnections"] == 1
    text = kubeward("check", SHOP, "-n", "shop").stdout
    assert "Connectivity: 3 workload-to-workload connections with an end in shop allow traffic" in text
    refused = kubeward("check", SHOP, "-n", "nope")
    assert refused.exit_code == 2 and "--namespace nope: not in the input (namespaces: " in refused.stderr
