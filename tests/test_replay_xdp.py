"""`kubeward replay --xdp OBJECT.o[:SECTION]` (issue 15): the user's XDP program attached in front
of every pod of the replay (on the pod side of its veth), characterised with BPF_PROG_TEST_RUN on
the engine's side; a probe it drops must go unanswered on the kernel's side.

Skipped, with the reason printed, unless this machine can replay (root, ip, nft) and load BPF
programs (clang, bpftool, /sys/fs/bpf)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from kubeward.analyses.session import analyse_paths, analyse_text
from kubeward.kernel import topology
from kubeward.kernel.bpf_run import XdpAction, compile_c, missing_tools
from kubeward.kernel.probe import Probe
from kubeward.kernel.replay import replay
from kubeward.kernel.replay_xdp import XdpReplay, attach
from kubeward.kernel.xdp import XdpLayer, XdpVerdict
from test_cli import kubeward

ROOT = Path(__file__).resolve().parents[1]
SHOP = ROOT / "examples" / "xdp" / "shop.yaml"


def _why_not() -> str | None:
    try:
        topology.check_available()
    except topology.KernelUnavailable as exc:
        return str(exc)
    missing = missing_tools()
    return "; ".join(missing) if missing else None


REASON = _why_not()
needs_kernel = pytest.mark.skipif(REASON is not None, reason=f"replay with XDP unavailable: {REASON}")

# The outside endpoint's label, as the engine names the whole IPv4 space.
WORLD = analyse_paths([str(SHOP)]).engine.universe.networks[0].id

PASS_ALL = """\
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp")
int pass_all(struct xdp_md *ctx) { return XDP_PASS; }
char _license[] SEC("license") = "GPL";
"""

WEB_ISOLATED = SHOP.read_text() + """\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-isolated, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
"""


# A program with a map pinned by name (libbpf's LIBBPF_PIN_BY_NAME): a loader pins it under its
# pin root (/sys/fs/bpf for libbpf, /sys/fs/bpf/tc/globals for ip), or reuses a map of that name there.
PINNED_MAP = """\
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} kubeward_test_seen SEC(".maps");
SEC("xdp")
int count_all(struct xdp_md *ctx) {
  __u32 k = 0;
  __u64 *v = bpf_map_lookup_elem(&kubeward_test_seen, &k);
  if (v) __sync_fetch_and_add(v, 1);
  return XDP_PASS;
}
char _license[] SEC("license") = "GPL";
"""


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("xdp")
    (tmp / "pass.c").write_text(PASS_ALL)
    (tmp / "pinned.c").write_text(PINNED_MAP)
    compile_c(tmp / "pinned.c", tmp / "pinned.o")
    compile_c(ROOT / "examples" / "xdp" / "xdp_drop_redis.c", tmp / "redis.o")
    compile_c(tmp / "pass.c", tmp / "pass.o")
    return {"redis": tmp / "redis.o", "pass": tmp / "pass.o", "pinned": tmp / "pinned.o"}


@needs_kernel
def test_the_labs_program_drops_tcp_6379_on_both_sides_and_nothing_else(objects: dict[str, Path]) -> None:
    result = kubeward("replay", str(SHOP), "--xdp", f"{objects['redis']}:xdp", "--format", "json")
    doc = json.loads(result.stdout)
    assert result.exit_code == 0, doc["disagreements"]
    assert doc["disagreements"] == [] and doc["agreements"] == doc["probes"]
    xdp = doc["xdp"]
    assert (xdp["object"], xdp["section"], xdp["interface"]) == (f"{objects['redis']}", "xdp", "eth0")
    assert xdp["mode"] in ("xdp", "xdpgeneric") and xdp["attached"] == 2
    # The ports the program is characterised on: the containers' (6379, 8080) and the next ones.
    assert {6379, 6380, 8080, 8081} <= set(doc["ports"]["TCP"])
    dropped = {(p["source"], p["destination"], p["protocol"], p["port"]) for p in xdp["dropped_probes"]}
    assert dropped == {("shop/web", "shop/redis", "TCP", 6379), (WORLD, "shop/redis", "TCP", 6379),
                       ("shop/redis", "shop/web", "TCP", 6379), (WORLD, "shop/web", "TCP", 6379)}
    assert all(p["action"] == "XDP_DROP" and p["kernel"] == "dropped" and p["agrees"] for p in xdp["dropped_probes"])
    assert doc["dropped"] == xdp["expected_dropped"] == 4
    # Everything else (TCP/6380 included) reaches the pod: no policy in shop.yaml.
    assert doc["allowed"] == doc["probes"] - 4 and doc["denied"] == 0
    text = kubeward("replay", str(SHOP), "--xdp", str(objects["redis"]))
    assert text.exit_code == 0
    assert f"xdp: {objects['redis']} (section xdp) attached" in text.stdout
    assert "4 dropped by XDP in both" in text.stdout


@needs_kernel
def test_a_port_the_cni_rejects_and_the_program_drops_goes_unanswered(objects: dict[str, Path]) -> None:
    """The NIC comes before the CNI: redis → web on 6379 is dropped silently, not rejected by nft."""
    engine = analyse_text(WEB_ISOLATED, "shop.yaml").engine
    with XdpLayer.load(objects["redis"]) as layer:
        report = replay(engine, timeout=0.5, xdp=layer)
    assert report.disagreements == []
    assert report.xdp is not None
    kernel = {(p["source"], p["destination"], p["port"]): p["kernel"] for p in report.xdp.probes}
    assert kernel[("shop/redis", "shop/web", 6379)] == "dropped"
    assert report.dropped == 4 and report.denied > 0  # the rest to web: rejected by the CNI's nft rules


@needs_kernel
def test_a_program_that_passes_everything_changes_nothing(objects: dict[str, Path]) -> None:
    engine = analyse_paths([str(ROOT / "examples" / "shop-fixed")]).engine
    without = replay(engine, timeout=0.5)
    with XdpLayer.load(objects["pass"]) as layer:
        with_pass = replay(engine, timeout=0.5, xdp=layer)
    assert with_pass.disagreements == [] and with_pass.dropped == 0
    assert with_pass.xdp is not None and with_pass.xdp.expected_dropped == 0
    assert with_pass.xdp.attached == with_pass.identities
    # The same verdicts on the ports both runs probe (--xdp adds the containers' ports and their neighbours).
    assert with_pass.probes >= without.probes and with_pass.agreements == with_pass.probes
    # (each count on its own: a tuple compares lexicographically, and more allowed would hide fewer denied)
    assert with_pass.allowed >= without.allowed and with_pass.denied >= without.denied


@needs_kernel
def test_a_program_characterised_otherwise_than_it_runs_is_a_disagreement(objects: dict[str, Path]) -> None:
    """The tamper hook swaps the characterisation of 6379 and 6380: the kernel still runs the lab's
    program, so 6379 goes unanswered where the engine expects it through, and 6380 is answered where
    the engine expects a silent drop."""
    def swapped(p: Probe, v: XdpVerdict) -> XdpVerdict:
        if p.protocol == "TCP" and p.port in (6379, 6380):
            return replace(v, action=XdpAction.PASS if p.port == 6379 else XdpAction.DROP)
        return v

    engine = analyse_text(SHOP.read_text(), "shop.yaml").engine
    with XdpLayer.load(objects["redis"]) as layer:
        report = replay(engine, timeout=0.3, xdp=layer, xdp_tamper=swapped)
    assert report.exit_code == 1
    got = {(d.source, d.destination, d.probe.port, d.engine, d.layer, d.kernel.outcome.value)
           for d in report.disagreements}
    pods = [("shop/web", "shop/redis"), (WORLD, "shop/redis"), ("shop/redis", "shop/web"),
            (WORLD, "shop/web")]
    assert got == {(s, d, 6379, "allow", "cni", "timeout") for s, d in pods} | {
        (s, d, 6380, "deny", "xdp", "allowed") for s, d in pods}
    first = next(d for d in report.disagreements if d.probe.port == 6380).to_json()
    assert first["engine_layer"] == "xdp" and first["xdp"] == "XDP_DROP"
    assert first["trace"][0]["layer"] == "xdp" and "XDP_DROP for TCP/6380" in first["trace"][0]["message"]


@needs_kernel
def test_an_object_that_is_not_there_is_exit_2(tmp_path: Path) -> None:
    result = kubeward("replay", str(SHOP), "--xdp", str(tmp_path / "missing.o"))
    assert result.exit_code == 2
    assert "missing.o" in result.stderr


class _Refusing:
    """A topology whose interfaces refuse native XDP (as some drivers do): records the commands."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, list[str]]] = []

    def name(self, n: int) -> str:
        return f"ns{n}"

    def run(self, namespace: str, argv: list[str], stdin: str | None = None) -> str:
        self.commands.append((namespace, argv))
        if argv[5] == "xdp":
            raise RuntimeError("Error: Underlying driver does not support XDP in native mode.")
        return ""


class _Layer:
    path = Path("/tmp/prog.o")
    pin = Path("/sys/fs/bpf/kubeward_1_0/redis")
    label = "prog.o"
    section = "xdp/redis"


def test_a_driver_refusing_native_xdp_gets_the_program_in_generic_mode_everywhere() -> None:
    fake = _Refusing()
    state = XdpReplay(_Layer())  # type: ignore[arg-type]
    attach(fake, _Layer(), [2, 5, 7], state, workers=1)  # type: ignore[arg-type]
    assert (state.mode, state.attached) == ("xdpgeneric", 3)
    assert "native mode" in state.native_refused
    assert fake.commands[0] == ("ns2", ["ip", "link", "set", "dev", "eth0", "xdp", "pinned",
                                        "/sys/fs/bpf/kubeward_1_0/redis"])
    assert [(ns, argv[5]) for ns, argv in fake.commands[1:]] == [("ns2", "xdpgeneric"), ("ns5", "xdpgeneric"),
                                                                 ("ns7", "xdpgeneric")]


@needs_kernel
def test_a_program_with_a_map_pinned_by_name_leaves_nothing_in_the_hosts_bpffs(objects: dict[str, Path]) -> None:
    """Neither the load (bpftool, libbpf's pin root /sys/fs/bpf) nor the attachment (ip's
    /sys/fs/bpf/tc/globals) may pin the object's map on the host, or pick up a live map of that name."""
    engine = analyse_paths([str(SHOP)]).engine
    with XdpLayer.load(objects["pinned"]) as layer:
        report = replay(engine, timeout=0.5, xdp=layer, max_probes=30)
    assert report.disagreements == [] and report.xdp is not None and report.xdp.attached > 0
    assert [str(p) for p in Path("/sys/fs/bpf").rglob("kubeward_test_seen")] == []
