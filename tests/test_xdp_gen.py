"""`kubeward xdp` without a kernel (issue 15): which deny rules qualify for the node's XDP program
(CIL-33, CIL-34, CAL-25) and why the others do not, the C it generates, the packets it checks,
the packets it crafts, and what it says when clang, bpftool or root are missing."""

from __future__ import annotations

import gc
import ipaddress
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kubeward import Options, analyse_text
from kubeward.cli import main
from kubeward.kernel.bpf_run import ProgramError, XdpAction, programs_of
from kubeward.kernel.packets import frame
from kubeward.kernel.xdp import parse_spec
from kubeward.kernel.xdp_gen import generate_c, matching_rule, plan_checks, refused_objects
from kubeward.kernel.xdp_rules import Skipped, XdpDeny, managed_addresses, node_denies

ROOT = Path(__file__).resolve().parent.parent


def kubeward(*args: str) -> Result:
    was_enabled = gc.isenabled()
    try:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        if was_enabled:
            gc.enable()


def _denies(text: str) -> tuple[list[XdpDeny], list[Skipped]]:
    analysis = analyse_text(text, options=Options())
    sets = [(dict(s.labels), s.cidrs) for s in analysis.cluster.calico.network_sets if s.namespace is None]
    return node_denies(analysis.objects, analysis.cluster.policies, sets, managed_addresses(analysis.cluster),
                       refused=refused_objects(analysis))


CCNP = """\
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {{name: {name}}}
spec:
{spec}
"""


PODS_IN_10_7 = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, image: i}]}
status: {phase: Running, podIP: 10.7.0.2}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {addresses: [{type: InternalIP, address: 10.7.0.128}]}
---
"""


def test_cil10_the_addresses_of_pods_and_nodes_are_not_sources_of_a_cilium_cidr_deny() -> None:
    """A CIDR peer never matches an endpoint Cilium manages: shop/web (10.7.0.2) and node n1
    (10.7.0.128) are not denied by fromCIDR 10.7.0.0/24, so the program must pass their packets."""
    rules, _ = _denies(PODS_IN_10_7 + CCNP.format(name="d", spec="""\
  endpointSelector: {}
  ingressDeny:
  - fromCIDR: [10.7.0.0/24]
    toPorts: [{ports: [{port: "6379", protocol: TCP}]}]
  - fromCIDR: [10.7.0.2/32]"""))
    assert [r.sources for r in rules] == [
        ("10.7.0.0/31", "10.7.0.3/32", "10.7.0.4/30", "10.7.0.8/29", "10.7.0.16/28", "10.7.0.32/27", "10.7.0.64/26",
         "10.7.0.129/32", "10.7.0.130/31", "10.7.0.132/30", "10.7.0.136/29", "10.7.0.144/28", "10.7.0.160/27",
         "10.7.0.192/26")]
    _, skipped = _denies(PODS_IN_10_7 + CCNP.format(name="d", spec="""\
  endpointSelector: {}
  ingressDeny:
  - fromCIDR: [10.7.0.2/32]"""))
    assert [s.reason for s in skipped] == [
        "its CIDR 10.7.0.2/32 holds only addresses of pods and nodes, which Cilium's CIDR rules never match (CIL-10)"]


def test_cil33_a_clusterwide_deny_for_every_endpoint_by_port_and_cidr_qualifies() -> None:
    rules, skipped = _denies(CCNP.format(name="d", spec="""\
  endpointSelector: {}
  ingressDeny:
  - fromCIDR: [10.0.0.0/8]
    toPorts: [{ports: [{port: "8000", endPort: 8080, protocol: TCP}]}]
  - fromEntities: [world]
  - fromEndpoints: [{matchLabels: {app: x}}]
  - toPorts: [{ports: [{port: http, protocol: TCP}]}]"""))
    assert [(r.rule_id, r.origin, r.ports, r.sources) for r in rules] == [
        ("CIL-33", "CiliumClusterwideNetworkPolicy d ingressDeny[0]", (("TCP", 8000, 8080),), ("10.0.0.0/8",))]
    assert [(s.origin, s.reason) for s in skipped] == [
        ("CiliumClusterwideNetworkPolicy d ingressDeny[1]",
         "entity world is an identity (only 'all' is every address)"),
        ("CiliumClusterwideNetworkPolicy d ingressDeny[2]",
         "its peer (pods {app=x} in all namespaces) is an identity, not addresses: only the CNI can tell it"),
        ("CiliumClusterwideNetworkPolicy d ingressDeny[3]", "port TCP/http is named: its number differs per pod"),
    ]


def test_cil33_a_deny_that_selects_some_endpoints_is_an_identity_and_left_out() -> None:
    rules, skipped = _denies(CCNP.format(name="d", spec="""\
  endpointSelector: {matchLabels: {app: redis}}
  ingressDeny: [{toPorts: [{ports: [{port: "6379"}]}]}]"""))
    assert rules == []
    assert [s.reason for s in skipped] == ["its endpointSelector (app=redis) selects some endpoints only: an identity"]


def test_cil34_a_host_policy_for_every_node_qualifies_one_for_some_nodes_does_not() -> None:
    rules, skipped = _denies(CCNP.format(name="h", spec="""\
  nodeSelector: {}
  ingressDeny: [{fromCIDR: ["2001:db8::/32"], toPorts: [{ports: [{port: "22", protocol: TCP}]}]}]""")
        + "---\n" + CCNP.format(name="some", spec="""\
  nodeSelector: {matchLabels: {role: edge}}
  ingressDeny: [{toPorts: [{ports: [{port: "22", protocol: TCP}]}]}]"""))
    assert [(r.rule_id, r.origin, r.sources, r.scope) for r in rules] == [
        ("CIL-34", "CiliumClusterwideNetworkPolicy h (host policy) ingressDeny[0]", ("2001:db8::/32",), "every node")]
    assert [(s.origin, s.reason) for s in skipped] == [
        ("CiliumClusterwideNetworkPolicy some ingressDeny",
         "its nodeSelector selects some nodes only (the program is for every node)")]



def test_np29_a_policy_the_api_server_rejects_is_left_out_of_the_program_saying_why() -> None:
    """A malformed part makes the whole CCNP rejected: none of its denies reaches a node, and the
    part that still reads as a peerless deny is not compiled either (it would drop every source)."""
    rules, skipped = _denies(CCNP.format(name="bad", spec="""\
  endpointSelector: {}
  ingressDeny:
  - {fromCIDR: 5, toPorts: [{ports: [{port: "6379", protocol: TCP}]}]}
  - {toPorts: [{ports: [{port: "22", protocol: TCP}]}]}""") + "---\n" + CCNP.format(name="host", spec="""\
  nodeSelector: {}
  ingressDeny: [{toPorts: 7}]"""))
    assert rules == []
    rejected = "the API server rejects the policy: it is not in the cluster"
    assert [(s.origin, s.reason) for s in skipped] == [("CiliumClusterwideNetworkPolicy bad ingressDeny", rejected),
                                                       ("CiliumClusterwideNetworkPolicy host ingressDeny", rejected)]


GNP = """\
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {{name: {name}}}
spec:
  selector: has(host)
{flags}  ingress:
  - action: Deny
    protocol: UDP
    source: {{nets: [192.168.0.0/16], notNets: [192.168.1.0/24]}}
    destination: {{ports: [53]}}
"""


def test_cal25_an_untracked_deny_qualifies_with_notnets_taken_out() -> None:
    rules, skipped = _denies(GNP.format(name="dos", flags="  doNotTrack: true\n  applyOnForward: true\n"))
    assert skipped == []
    assert [(r.rule_id, r.ports, r.sources) for r in rules] == [
        ("CAL-25", (("UDP", 53, 53),), ("192.168.0.0/24", "192.168.2.0/23", "192.168.4.0/22", "192.168.8.0/21",
                                        "192.168.16.0/20", "192.168.32.0/19", "192.168.64.0/18",
                                        "192.168.128.0/17"))]


def test_cal25_a_tracked_policy_is_left_out_saying_why() -> None:
    rules, skipped = _denies(GNP.format(name="tracked", flags=""))
    assert rules == []
    assert [s.reason for s in skipped] == [
        "not an untracked host-endpoint policy (doNotTrack and applyOnForward both true): Calico enforces it "
        "after connection tracking (CAL-25)"]


def test_the_generated_c_names_each_rule_and_matches_ports_and_prefixes() -> None:
    rules = [XdpDeny("CIL-33", "CiliumClusterwideNetworkPolicy d ingressDeny[0]", "p.yaml", 9,
                     (("TCP", 6379, 6379), ("UDP", 7000, 7005)), ("10.0.0.0/8", "2001:db8::/33"))]
    c = generate_c(rules, "p.yaml", "kubeward_xdp.o")
    assert "  /* CIL-33: CiliumClusterwideNetworkPolicy d ingressDeny[0] (p.yaml:9) */\n" \
           "  if ((dport(&f, 6, 6379, 6379) ||\n       dport(&f, 17, 7000, 7005)) &&\n" \
           "      (src4(&f, 0x0a000000u, 0xff000000u) ||\n" \
           "       src6(&f, 0x20010db8u, 0x00000000u, 0x00000000u, 0x00000000u, " \
           "0xffffffffu, 0x80000000u, 0x00000000u, 0x00000000u)))\n    return XDP_DROP;\n" in c
    assert c.count("return XDP_DROP;") == 1
    assert '#include <bpf/bpf_helpers.h>' in c and 'SEC("xdp")' in c
    assert "if ((void *)(ports + 2) > end)" in c  # every access bounds-checked
    assert c.endswith('  return XDP_PASS;\n}\n\nchar _license[] SEC("license") = "GPL";\n')


def test_a_comment_cannot_close_itself_in_the_generated_c() -> None:
    c = generate_c([XdpDeny("CIL-33", "x */ int evil;", "a*/b.yaml", 1, None, None)], "in", "o.o")
    assert "/* CIL-33: x * / int evil; (a* /b.yaml:1) */" in c


def test_the_checks_cover_each_denied_edge_and_its_neighbours() -> None:
    rule = XdpDeny("CIL-33", "r", "p.yaml", 1, (("TCP", 80, 81),), ("192.0.2.0/31",))
    checks = {(c.source, c.protocol, c.port): c.expected for c in plan_checks([rule])}
    drop, keep = XdpAction.DROP, XdpAction.PASS
    assert checks == {
        ("192.0.2.0", "TCP", 80): drop, ("192.0.2.0", "TCP", 81): drop, ("192.0.2.0", "TCP", 79): keep,
        ("192.0.2.0", "TCP", 82): keep, ("192.0.2.0", "UDP", 80): keep,
        ("192.0.2.1", "TCP", 80): drop, ("192.0.2.1", "TCP", 81): drop, ("192.0.2.1", "TCP", 79): keep,
        ("192.0.2.1", "TCP", 82): keep, ("192.0.2.1", "UDP", 80): keep,
        ("192.0.1.255", "TCP", 80): keep, ("192.0.1.255", "TCP", 81): keep,
        ("192.0.2.2", "TCP", 80): keep, ("192.0.2.2", "TCP", 81): keep}


def test_a_neighbour_another_rule_denies_is_expected_to_drop() -> None:
    a = XdpDeny("CIL-33", "a", "p.yaml", 1, (("TCP", 80, 80),), None)
    b = XdpDeny("CIL-33", "b", "p.yaml", 2, (("TCP", 81, 81),), None)
    assert matching_rule([a, b], "198.51.100.7", "TCP", 81) is b
    expected = {(c.source, c.protocol, c.port): c.expected for c in plan_checks([a, b])}
    assert expected[("198.51.100.7", "TCP", 81)] is XdpAction.DROP  # a's neighbour, b's port
    assert expected[("198.51.100.7", "TCP", 82)] is XdpAction.PASS


def test_crafted_frames_are_well_formed_ipv4_and_ipv6() -> None:
    v4 = frame("10.0.0.1", "10.0.0.2", "TCP", 6379)
    assert v4[12:14] == b"\x08\x00" and len(v4) == 14 + 20 + 20
    header = v4[14:34]
    assert sum(struct.unpack("!10H", header)) % 0xFFFF == 0  # the checksum checks
    assert struct.unpack("!H", v4[36:38])[0] == 6379 and v4[47] == 0x02  # SYN
    v6 = frame("fd00::1", "fd00::2", "UDP", 53)
    assert v6[12:14] == b"\x86\xdd" and v6[20] == 17 and v6[22:38] == ipaddress.ip_address("fd00::1").packed
    assert struct.unpack("!H", v6[56:58])[0] == 53
    with pytest.raises(ValueError):
        frame("10.0.0.1", "fd00::2", "TCP", 1)


def test_object_and_section_are_parsed_from_the_xdp_option() -> None:
    assert parse_spec("prog.o") == (Path("prog.o"), None)
    assert parse_spec("prog.o:xdp/redis") == (Path("prog.o"), "xdp/redis")
    assert parse_spec("dir/prog.o:xdp") == (Path("dir/prog.o"), "xdp")


def test_a_file_that_is_not_a_bpf_object_is_refused_before_the_kernel(tmp_path: Path) -> None:
    (tmp_path / "x.o").write_bytes(b"\x7fELF\x02\x01" + bytes(12) + struct.pack("<H", 62) + bytes(44))
    with pytest.raises(ProgramError, match="an ELF object for machine 62, not BPF"):
        programs_of(tmp_path / "x.o")
    (tmp_path / "y.o").write_text("hello")
    with pytest.raises(ProgramError, match="not an ELF object file"):
        programs_of(tmp_path / "y.o")


def test_missing_tools_are_named_with_how_to_install_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kubeward.kernel.bpf_run.shutil.which", lambda name: None)
    result = kubeward("xdp", str(ROOT / "examples" / "xdp" / "calico"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert result.stderr.startswith("kubeward xdp: missing: clang (package clang); bpftool (package bpftool)")
    assert "sh tools/install-system-packages" in result.stderr
    assert not (tmp_path / "out").exists()


def test_nothing_qualifies_no_program_exit_0(tmp_path: Path) -> None:
    result = kubeward("xdp", str(ROOT / "examples" / "xdp" / "shop.yaml"), "--out", str(tmp_path / "out"),
                      "--format", "json")
    assert result.exit_code == 0
    assert result.stdout.startswith('{"schema":1,"inputs":')
    assert '"program":null,"rules":[],"skipped":[],"checks":[],"passed":0,"failed":0' in result.stdout
    assert not (tmp_path / "out").exists()
