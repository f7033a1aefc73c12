"""The XDP layer on this machine's kernel (issue 15): `kubeward xdp` compiles the node-wide denies
into an XDP program and verifies it with BPF_PROG_TEST_RUN; `--xdp` on `explain` and `map` runs a
user's program on the flows' packets. Every verdict here is what the kernel returned.

Skipped, with the reason printed, when this machine cannot load BPF programs: not root, or clang
or bpftool missing (install them with `sh tools/install-system-packages`).
"""

from __future__ import annotations

import gc
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kubeward.cli import main
from kubeward.kernel.bpf_run import ProgramError, XdpAction, compile_c, missing_tools
from kubeward.kernel.xdp import XdpLayer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "xdp"

_MISSING = missing_tools()
pytestmark = pytest.mark.skipif(bool(_MISSING), reason="XDP tests need the kernel's BPF: missing "
                                + "; ".join(_MISSING) + " (sh tools/install-system-packages, run as root)")

CCNP_6379 = """\
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: no-redis}
spec:
  endpointSelector: {}
  ingressDeny:
  - toPorts:
    - ports: [{port: "6379", protocol: TCP}]
"""

CCNP_CIDR = """\
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: no-scanners}
spec:
  endpointSelector: {}
  ingressDeny:
  - fromCIDRSet:
    - {cidr: 203.0.113.0/24, except: [203.0.113.128/25]}
    - {cidr: "2001:db8:bad::/48"}
    toPorts:
    - ports: [{port: "5353", protocol: ANY}]
"""


def kubeward(*args: str) -> Result:
    was_enabled = gc.isenabled()
    try:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        if was_enabled:
            gc.enable()


def _xdp(tmp_path: Path, policies: str) -> tuple[Result, Path]:
    (tmp_path / "policies.yaml").write_text(policies)
    out = tmp_path / "out"
    return kubeward("xdp", str(tmp_path / "policies.yaml"), "--out", str(out), "--format", "json"), out


def _pins() -> set[str]:
    return {p.name for p in Path("/sys/fs/bpf").iterdir() if p.name.startswith(f"kubeward_{os.getpid()}_")}


@pytest.fixture
def lab_object(tmp_path: Path) -> Path:
    """The lab's xdp_drop_redis.c (examples/xdp, with the two includes it lacks) compiled."""
    obj = tmp_path / "xdp_drop_redis.o"
    compile_c(EXAMPLES / "xdp_drop_redis.c", obj)
    return obj


def test_a_cluster_wide_deny_of_6379_drops_6379_and_passes_6380_on_ipv4_and_ipv6(tmp_path: Path) -> None:
    result, out = _xdp(tmp_path, CCNP_6379)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["rules"] == [{"id": "CIL-33", "origin": "CiliumClusterwideNetworkPolicy no-redis ingressDeny[0]",
                             "file": str(tmp_path / "policies.yaml"), "line": 8, "scope": "every endpoint",
                             "ports": [{"protocol": "TCP", "first": 6379, "last": 6379}], "sources": None}]
    assert doc["failed"] == 0 and doc["passed"] == len(doc["checks"]) > 0
    assert (out / "kubeward_xdp.c").is_file() and (out / "kubeward_xdp.o").is_file()
    queries = [("10.1.2.3", "10.9.9.9", "TCP", 6379), ("10.1.2.3", "10.9.9.9", "TCP", 6380),
               ("fd00::1", "fd00::2", "TCP", 6379), ("fd00::1", "fd00::2", "TCP", 6380),
               ("10.1.2.3", "10.9.9.9", "UDP", 6379), ("fd00::1", "fd00::2", "UDP", 6379)]
    with XdpLayer.load(out / "kubeward_xdp.o", "xdp") as layer:
        got = {(s, p, n): v.action for (s, _, p, n), v in zip(queries, layer.verdicts(queries), strict=True)}
    assert got == {("10.1.2.3", "TCP", 6379): XdpAction.DROP, ("10.1.2.3", "TCP", 6380): XdpAction.PASS,
                   ("fd00::1", "TCP", 6379): XdpAction.DROP, ("fd00::1", "TCP", 6380): XdpAction.PASS,
                   # the rule says TCP: UDP to 6379 goes on to the CNI
                   ("10.1.2.3", "UDP", 6379): XdpAction.PASS, ("fd00::1", "UDP", 6379): XdpAction.PASS}
    assert not _pins()


def test_a_cidr_limited_deny_drops_inside_the_cidr_and_passes_just_outside_and_in_the_except(tmp_path: Path) -> None:
    result, out = _xdp(tmp_path, CCNP_CIDR)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["rules"][0]["sources"] == ["203.0.113.0/25", "2001:db8:bad::/48"]
    assert {p["protocol"] for p in doc["rules"][0]["ports"]} == {"TCP", "UDP", "SCTP"}  # ANY
    with XdpLayer.load(out / "kubeward_xdp.o") as layer:
        cases = {("203.0.113.0", "UDP"): XdpAction.DROP, ("203.0.113.127", "TCP"): XdpAction.DROP,
                 ("203.0.112.255", "UDP"): XdpAction.PASS,   # just below the CIDR
                 ("203.0.113.128", "UDP"): XdpAction.PASS,   # the except
                 ("2001:db8:bad:ffff::1", "UDP"): XdpAction.DROP, ("2001:db8:bae::", "UDP"): XdpAction.PASS,
                 ("2001:db8:bac:ffff:ffff:ffff:ffff:ffff", "TCP"): XdpAction.PASS}
        dst = {4: "192.0.2.10", 6: "2001:db8:ffff::10"}
        got = {(s, p): layer.verdict(s, dst[6 if ":" in s else 4], p, 5353).action for s, p in cases}
        assert layer.verdict("203.0.113.5", "192.0.2.10", "UDP", 5354).action is XdpAction.PASS
    assert got == cases


def test_the_verification_table_names_each_packet_and_its_rule(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(CCNP_6379)
    result = kubeward("xdp", str(tmp_path / "p.yaml"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    out = tmp_path / "out"
    assert lines[0] == f"XDP program: {out}/kubeward_xdp.c → {out}/kubeward_xdp.o (section xdp), 1 rule(s)"
    assert lines[1] == ("  drop  TCP/6379, any source  ← CIL-33 CiliumClusterwideNetworkPolicy no-redis "
                        f"ingressDeny[0] ({tmp_path}/p.yaml:8); holds for every endpoint")
    assert "  ok   IPv4 TCP  198.51.100.7     → 192.0.2.10:6379  expected XDP_DROP got XDP_DROP  " \
           "(CiliumClusterwideNetworkPolicy no-redis ingressDeny[0])" in lines
    assert "  ok   IPv6 TCP  2001:db8:eeee::7 → 2001:db8:ffff::10:6380  expected XDP_PASS got XDP_PASS" in lines
    assert lines[-1] == "verdict: 8/8 packets as the rules say"


def test_a_program_that_does_not_do_what_the_rules_say_fails_the_verification(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kubeward.kernel.xdp_gen as gen

    real = gen.generate_c
    monkeypatch.setattr(gen, "generate_c", lambda *a: real(*a).replace("return XDP_DROP;", "return XDP_PASS;"))
    (tmp_path / "p.yaml").write_text(CCNP_6379)
    result = kubeward("xdp", str(tmp_path / "p.yaml"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "  FAIL IPv4 TCP  198.51.100.7     → 192.0.2.10:6379  expected XDP_DROP got XDP_PASS  " \
           "(CiliumClusterwideNetworkPolicy no-redis ingressDeny[0])" in result.output.splitlines()
    assert result.output.splitlines()[-1] == "verdict: 6/8 packets as the rules say; 2 FAILED"


def test_calicos_untracked_host_endpoint_denies_become_the_program(tmp_path: Path) -> None:
    result = kubeward("xdp", str(EXAMPLES / "calico"), "--out", str(tmp_path / "out"), "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert {r["scope"] for r in doc["rules"]} == {"the host endpoints selected by apply-dos-mitigation == 'true'"}
    assert [(r["id"], r["origin"], r["ports"], r["sources"]) for r in doc["rules"]] == [
        ("CAL-25", "GlobalNetworkPolicy dos-mitigation ingress[0]", None, ["1.2.3.4/32", "5.6.0.0/16"]),
        ("CAL-25", "GlobalNetworkPolicy dos-mitigation ingress[1]",
         [{"protocol": "TCP", "first": 6379, "last": 6379}, {"protocol": "TCP", "first": 7000, "last": 7005}], None)]
    assert doc["failed"] == 0
    with XdpLayer.load(tmp_path / "out" / "kubeward_xdp.o") as layer:
        assert layer.verdict("5.6.255.255", "10.0.0.1", "UDP", 53).action is XdpAction.DROP
        assert layer.verdict("5.7.0.0", "10.0.0.1", "UDP", 53).action is XdpAction.PASS
        assert layer.verdict("5.7.0.0", "10.0.0.1", "TCP", 7005).action is XdpAction.DROP
        assert layer.verdict("5.7.0.0", "10.0.0.1", "TCP", 7006).action is XdpAction.PASS


def test_the_labs_program_given_with_xdp_drops_the_flow_at_the_nic_in_explain(lab_object: Path) -> None:
    result = kubeward("explain", str(EXAMPLES / "shop.yaml"), "--from", "shop/web", "--to", "shop/redis",
                      "--port", "6379", "--xdp", str(lab_object))
    assert result.exit_code == 1
    where = "10.255.35.18 → 10.255.245.169 (addresses assumed: not in the input)"
    drop = f"dropped at the node's NIC by XDP program {lab_object} (section xdp): XDP_DROP for TCP/6379, {where}"
    assert result.stdout.splitlines() == [
        "DENY  shop/web -> shop/redis  TCP/6379",
        "  options: cni=generic, ipblock-matches-pods=yes, self-traffic=omitted",
        "  xdp at the node's NIC (before the CNI)",
        f"    ✗ [xdp] {drop} <xdp-dropped>",
        "  egress of shop/web (source side)",
        "    ✓ [default] no policy selects shop/web for egress: allowed by default (NP-3) <not-isolated>",
        "  ingress of shop/redis (destination side)",
        "    ✓ [default] no policy selects shop/redis for ingress: allowed by default (NP-3) <not-isolated>",
        f"  verdict: deny — xdp: {drop}",
    ]
    passed = kubeward("explain", str(EXAMPLES / "shop.yaml"), "--from", "shop/web", "--to", "shop/redis",
                      "--port", "6380", "--xdp", f"{lab_object}:xdp", "--format", "json")
    assert passed.exit_code == 0
    doc = json.loads(passed.stdout)
    assert doc["verdict"] == "allow"
    assert doc["trace"][0] == {
        "layer": "xdp", "direction": "ingress", "subject": "shop/redis", "tier": "xdp", "reason": "xdp-passed",
        "effect": "none", "xdp": {"object": str(lab_object), "section": "xdp", "action": "XDP_PASS"},
        "message": f"XDP program {lab_object} (section xdp) passes it: XDP_PASS for the 1 packet(s) run, {where}"}
    assert not _pins()


def test_map_with_xdp_takes_the_dropped_ports_out_of_the_connections(lab_object: Path) -> None:
    result = kubeward("map", str(EXAMPLES / "shop.yaml"), "--xdp", str(lab_object), "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    conn = next(c for c in doc["connections"] if (c["src"], c["dst"]) == ("shop/web", "shop/redis"))
    assert conn["protocols"]["TCP"] == [[1, 6378], [6380, 65535]]
    assert conn["protocols"]["UDP"] == [[1, 65535]]
    drop = next(d for d in doc["xdp"]["dropped"] if (d["src"], d["dst"]) == ("shop/web", "shop/redis"))
    assert drop == {"src": "shop/web", "dst": "shop/redis", "source": "10.255.35.18", "destination": "10.255.245.169",
                    "protocols": {"TCP": [[6379, 6379]]}, "action": "XDP_DROP", "removed": False}
    assert doc["xdp"]["object"] == str(lab_object) and doc["xdp"]["packets"] > 0
    text = kubeward("map", str(EXAMPLES / "shop.yaml"), "--xdp", str(lab_object))
    assert "shop/web    shop/redis  TCP/1-6378,6380-65535 UDP/all SCTP/all" in text.stdout.splitlines()
    assert "  shop/web -> shop/redis: XDP_DROP on TCP/6379" in text.stdout.splitlines()


@pytest.mark.skipif(shutil.which("clang") is None, reason="needs clang")
def test_a_bad_object_a_missing_section_or_a_program_of_another_kind_is_a_clear_error(
        tmp_path: Path, lab_object: Path) -> None:
    shop = str(EXAMPLES / "shop.yaml")
    args = ["explain", shop, "--from", "shop/web", "--to", "shop/redis", "--port", "6379", "--xdp"]
    (tmp_path / "junk.o").write_text("not an object\n")
    result = kubeward(*args, str(tmp_path / "junk.o"))
    assert result.exit_code == 2
    assert f"kubeward explain: --xdp {tmp_path}/junk.o: {tmp_path}/junk.o: not an ELF object file" in result.stderr
    result = kubeward(*args, f"{lab_object}:xdp/other")
    assert result.exit_code == 2
    assert f"{lab_object}: no section 'xdp/other' (sections with programs: xdp)" in result.stderr
    (tmp_path / "tc.c").write_text('#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n'
                                   'SEC("tc") int cls(struct __sk_buff *skb) { return 0; }\n'
                                   'char _license[] SEC("license") = "GPL";\n')
    compile_c(tmp_path / "tc.c", tmp_path / "tc.o")
    result = kubeward("map", shop, "--xdp", str(tmp_path / "tc.o"))
    assert result.exit_code == 2
    assert f"{tmp_path}/tc.o: section 'tc' is not an XDP program" in result.stderr
    result = kubeward(*args, str(tmp_path / "absent.o"))
    assert result.exit_code == 2 and f"{tmp_path}/absent.o: no such file" in result.stderr
    assert not _pins()


def test_the_lab_program_as_printed_does_not_compile_and_the_shipped_one_does(tmp_path: Path) -> None:
    shipped = (EXAMPLES / "xdp_drop_redis.c").read_text()
    as_printed = "\n".join(line for line in shipped.splitlines() if "/* added:" not in line)
    (tmp_path / "lab.c").write_text(as_printed)
    with pytest.raises(ProgramError, match=r"(?s)lab.c: clang failed: .*SEC"):
        compile_c(tmp_path / "lab.c", tmp_path / "lab.o")
    compile_c(EXAMPLES / "xdp_drop_redis.c", tmp_path / "shipped.o")
    assert (tmp_path / "shipped.o").stat().st_size > 0


_KILLED_LOADER = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, {src!r})
from kubeward.kernel.bpf_run import LoadedProgram
program = LoadedProgram(Path(sys.argv[1]))
print(program.pin_dir, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no close(), no atexit: its pin (and program) stays in the kernel
"""


def test_the_pin_of_a_killed_process_is_removed_by_the_next_load(lab_object: Path) -> None:
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", _KILLED_LOADER.format(src=str(ROOT / "src")), str(lab_object)],
                           capture_output=True, text=True, check=False)
    assert child.returncode == -9
    left = Path(child.stdout.strip())
    assert left.name.startswith("kubeward_") and (left / "xdp_prog").exists()
    with XdpLayer.load(lab_object):
        assert not left.exists()
    assert not _pins()


def test_a_pin_whose_pid_is_dead_here_but_whose_lock_is_held_is_not_removed() -> None:
    """A loader in another PID namespace (a container sharing /sys/fs/bpf): its pid is no process
    here, but it holds its lock, so its pin stays; once it dies, the next cleanup removes it."""
    from kubeward.kernel import runlock
    from kubeward.kernel.bpf_run import BPFFS, remove_stale_pins
    from lock_holder import dead_pid, hold

    name = f"kubeward_{dead_pid()}_0"
    child = hold(name)
    pin = BPFFS / name
    try:
        pin.mkdir()
        assert pin not in remove_stale_pins()
        assert pin.is_dir()
        child.kill()
        child.wait()
        assert pin in remove_stale_pins()
        assert not pin.exists() and not (runlock.LOCK_DIR / f"{name}.lock").exists()
    finally:
        child.kill()
        child.wait()
        if pin.exists():
            pin.rmdir()
