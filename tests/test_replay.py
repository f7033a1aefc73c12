"""kubeward replay on the real kernel: network namespaces, veth pairs and nftables compiled from
the engine's tier pipelines must agree with the engine on every probe.

Every test here needs root, ``ip`` and ``nft``; without them each is skipped with the reason
printed (``-rs``). Each run names its namespaces after its pid and a counter, so the tests run
under pytest-xdist."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kubeward import Options
from kubeward.analyses.session import analyse_paths, analyse_text
from kubeward.engine.portset import EMPTY
from kubeward.kernel import runlock, topology
from kubeward.kernel.replay import replay
from lock_holder import dead_pid, hold
from replay_clusters import cluster
from test_cli import kubeward
from test_map_grouped import generated
from truthtable import build, discover

ROOT = Path(__file__).resolve().parents[1]
FIXED = str(ROOT / "examples" / "shop-fixed")


def _why_not() -> str | None:
    try:
        topology.check_available()
    except topology.KernelUnavailable as exc:
        return str(exc)
    return None


REASON = _why_not()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"kernel replay unavailable: {REASON}")


def test_shop_fixed_replays_with_hundreds_of_probes_and_no_disagreement() -> None:
    result = kubeward("replay", FIXED, "--format", "json")
    doc = json.loads(result.stdout)
    assert result.exit_code == 0, doc["disagreements"][:3]
    assert doc["schema"] == 1
    assert doc["probes"] >= 300 and doc["agreements"] == doc["probes"]
    assert doc["disagreements"] == []
    assert doc["allowed"] > 50 and doc["denied"] > 50
    assert any("Istio mesh layer" in n for n in doc["not_replayed"])
    assert any("FQDN" in n for n in doc["not_replayed"])


def test_the_text_report_says_what_was_probed_and_what_was_not() -> None:
    result = kubeward("replay", FIXED)
    assert result.exit_code == 0
    assert "disagreements: 0" in result.stdout
    assert "not replayed:" in result.stdout


# Every sixth case of each upstream corpus (the others are the same kinds of rules; replaying all
# of them takes minutes): the kernel must agree with the engine on each.
CASES = [c for folder in ("k8s-e2e", "npa-conformance", "calico", "cilium") for c in discover(folder)[::6]]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.file.parent.name}/{c.id}" for c in CASES])
def test_an_upstream_truth_table_case_replays_in_agreement(case) -> None:  # type: ignore[no-untyped-def]
    report = replay(build(case).engine, max_probes=200, timeout=0.5)
    assert report.probes > 0
    assert not report.disagreements, [(d.source, d.destination, d.probe, d.engine, d.kernel, d.moved)
                                      for d in report.disagreements[:5]]


@pytest.mark.parametrize("cni", ["generic", "calico", "cilium"])
@pytest.mark.parametrize("seed", [0, 3, 4])
def test_random_clusters_with_every_policy_kind_of_the_profile_replay_in_agreement(seed: int, cni: str) -> None:
    """generic: NetworkPolicy, ANP, BANP; calico: those and Calico policies in tiers (Allow, Deny,
    Pass, Log, defaultAction Pass); cilium: NetworkPolicy and CiliumNetworkPolicy allow and deny
    sections. Named ports, ranges, UDP, ipBlock/CIDR except."""
    analysis = analyse_text(cluster(seed, cni), "random.yaml", Options(cni=cni))
    assert not [d for d in analysis.diagnostics.items if d.severity.value == "error"]
    report = replay(analysis.engine, max_probes=2000, timeout=0.5)
    assert report.probes >= 500
    assert report.agreements == report.probes, [(d.source, d.destination, d.probe, d.engine, d.kernel, d.moved)
                                                for d in report.disagreements[:5]]


def test_a_random_dense_benchmark_cluster_replays_in_agreement_on_a_sample() -> None:
    analysis = analyse_text(generated(60, 2, "dense"), "dense.yaml")
    report = replay(analysis.engine, max_probes=1500, timeout=0.5)
    assert report.probes == 1500 and report.sampled
    assert report.agreements == 1500, [(d.source, d.destination, d.probe, d.engine, d.kernel, d.moved)
                                       for d in report.disagreements[:5]]


def test_a_tampered_ruleset_is_a_disagreement_with_the_trace_and_the_moved_rule() -> None:
    """The test hook loads a wrong ruleset: shop/mysql's ingress admits everyone first. Every probe
    the engine denies into shop/mysql now connects: exit 1, each with the engine's trace and the
    nft rule whose counter moved."""
    analysis = analyse_paths([FIXED])

    def tamper(ident, text):  # type: ignore[no-untyped-def]
        if ident.display != "shop/mysql":
            return text
        return text.replace("ct state established,related accept\n",
                            "ct state established,related accept\n    counter accept comment \"tampered\"\n", 1)

    report = replay(analysis.engine, tamper=tamper, timeout=0.5)
    assert report.exit_code == 1
    wrong = report.disagreements
    assert wrong and all(d.destination == "shop/mysql" and d.engine == "deny" and d.kernel.outcome == "allowed"
                         for d in wrong)
    first = wrong[0]
    assert any(s["effect"] == "deny" for s in first.trace)
    tampered = [m for m in first.moved if m["rule"] == 'counter accept comment "tampered"']
    assert [(m["namespace"], m["chain"]) for m in tampered] == [("destination", "input")]
    assert tampered[0]["packets"] >= 1  # the SYN (a retransmitted SYN under load counts twice)
    doc = report.to_json()["disagreements"][0]
    assert doc["engine"] == "deny" and doc["kernel"] == "allowed" and doc["moved_rules"]


def test_a_probe_that_goes_unanswered_never_agrees_with_a_denial() -> None:
    """The compiled rulesets reject (an immediate answer): a silently dropped probe is a fault of
    the replay, not the engine's "deny". shop/mysql's tampered ingress drops TCP without a word."""
    analysis = analyse_paths([FIXED])

    def tamper(ident, text):  # type: ignore[no-untyped-def]
        if ident.display != "shop/mysql":
            return text
        return text.replace("ct state established,related accept\n",
                            "ct state established,related accept\n    meta l4proto tcp drop\n", 1)

    report = replay(analysis.engine, tamper=tamper, timeout=0.2)
    silent = [d for d in report.disagreements if d.kernel.outcome == "timeout"]
    assert silent and all(d.destination == "shop/mysql" and d.probe.protocol == "TCP" for d in silent)
    assert {d.engine for d in silent} == {"allow", "deny"}  # the engine's denials too
    assert report.agreements + len(report.disagreements) == report.probes


def test_a_wrong_engine_verdict_is_a_disagreement() -> None:
    analysis = analyse_paths([FIXED])
    report = replay(analysis.engine, verdicts=lambda v: EMPTY, timeout=0.5, max_probes=40)
    assert report.exit_code == 1
    assert report.disagreements and all(d.engine == "deny" and d.kernel.outcome == "allowed"
                                        for d in report.disagreements)


def _identities(n: int) -> str:
    pods = [f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: a, labels: {{app: x{i}}}}}\n"
            "spec: {containers: [{name: c, image: i}]}" for i in range(n)]
    return "\n---\n".join(["apiVersion: v1\nkind: Namespace\nmetadata: {name: a}", *pods])


def test_more_namespaces_than_the_soft_limit_of_open_files_replay() -> None:
    """Debian's soft limit is 1024 files: a namespace is a file here and in each ``ip -batch``
    that names it; the replay raises the soft limit (up to the hard one) before it builds."""
    import resource

    analysis = analyse_text(_identities(150), "many.yaml")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, hard))
    try:
        report = replay(analysis.engine, max_probes=20, timeout=0.3)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert (report.identities, report.probes, report.agreements) == (150, 20, 20)


def test_a_hard_limit_of_open_files_too_low_for_the_namespaces_is_a_clear_error() -> None:
    script = ("import resource, sys\nresource.setrlimit(resource.RLIMIT_NOFILE, (100, 100))\n"
              "from kubeward.cli import main\nmain(['replay', sys.argv[1]])\n")
    many = Path(os.environ.get("TMPDIR", "/tmp")) / f"kw-many-{os.getpid()}.yaml"
    many.write_text(_identities(150))
    try:
        done = subprocess.run([sys.executable, "-c", script, str(many)], capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, check=False, timeout=60)
    finally:
        many.unlink()
    assert done.returncode == 2, done.stderr[-500:]
    assert "kubeward replay: replay needs 558 open files here and the hard limit is 100" in done.stderr


def _host_state() -> tuple[str, str, str, str, str]:
    def out(*argv: str) -> str:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout

    links = "\n".join(sorted(line.split("link/")[0] for line in out("ip", "-o", "link", "show").splitlines()
                             if "veth" not in line or "kw" not in line))
    # The sysctls a replay sets in its namespaces (the router's forwarding, each endpoint's ICMP rate mask).
    sysctls = " ".join(Path(f"/proc/sys/net/ipv4/{k}").read_text().strip() for k in ("icmp_ratemask", "ip_forward"))
    return (out("nft", "list", "ruleset"), links, out("ip", "route", "show"), out("ip", "-6", "route", "show"),
            sysctls)


def test_the_hosts_nftables_links_and_routes_are_untouched() -> None:
    before = _host_state()
    report = replay(analyse_paths([FIXED]).engine, max_probes=200, timeout=0.5)
    assert report.exit_code == 0
    assert _host_state() == before


def test_every_namespace_is_removed_after_a_run() -> None:
    mine = f"kw{os.getpid()}x"
    replay(analyse_paths([FIXED]).engine, max_probes=50, timeout=0.5)
    assert [n for n in os.listdir(topology.NETNS_DIR) if n.startswith(mine)] == []


_KILLED = """
import os, sys, time
sys.path.insert(0, {src!r})
from kubeward.kernel.topology import Topology
t = Topology(["10.250.0.1", "10.250.0.2"])
t.build()
print(t.prefix, flush=True)
time.sleep(60)
"""


def test_the_namespaces_of_a_killed_run_are_removed_by_the_next_run() -> None:
    child = subprocess.Popen([sys.executable, "-c", _KILLED.format(src=str(ROOT / "src"))],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    prefix = child.stdout.readline().strip()
    assert prefix.startswith(f"kw{child.pid}x")
    assert len(topology.run_namespaces(prefix)) == 3  # the router and two endpoints
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    report = replay(analyse_paths([FIXED]).engine, max_probes=20, timeout=0.5)
    assert report.exit_code == 0
    assert topology.run_namespaces(prefix) == []


def test_a_run_whose_pid_is_dead_here_but_whose_lock_is_held_is_not_removed() -> None:
    """A run in another PID namespace (a container sharing /var/run/netns): its pid is no process
    here, but it holds its lock, so it is alive; once it dies, the next cleanup removes it."""
    prefix = f"kw{dead_pid()}x0-"
    child = hold(prefix)
    try:
        subprocess.run(["ip", "netns", "add", f"{prefix}r"], check=True)
        assert f"{prefix}r" not in topology.remove_stale()
        assert topology.run_namespaces(prefix) == [f"{prefix}r"]
        child.kill()
        child.wait()
        assert f"{prefix}r" in topology.remove_stale()
        assert topology.run_namespaces(prefix) == []
        assert not (runlock.LOCK_DIR / f"{prefix}.lock").exists()
    finally:
        child.kill()
        child.wait()
        topology.delete_namespaces(topology.run_namespaces(prefix))


@pytest.mark.parametrize("alone", [False, True])
def test_a_namespace_without_a_lock_file_goes_on_the_pid_test_only_where_that_test_is_sound(
        alone: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A namespace of kubeward before locks: its dead pid is ours to judge only when no other PID
    namespace exists (we are in the initial one and see no process elsewhere); else it stays."""
    monkeypatch.setattr(runlock, "_pid_namespace_alone", lambda: alone)
    prefix = f"kw{dead_pid()}x1-"
    subprocess.run(["ip", "netns", "add", f"{prefix}r"], check=True)
    try:
        assert (f"{prefix}r" in topology.remove_stale()) is alone
        assert topology.run_namespaces(prefix) == ([] if alone else [f"{prefix}r"])
    finally:
        topology.delete_namespaces(topology.run_namespaces(prefix))


_INTERRUPTED = """
import sys, time
sys.path.insert(0, {src!r})
import kubeward.kernel.replay as replay
from kubeward.cli import main

def stalled(topology, *args, **kwargs):  # the namespaces are up: say so, then wait for Ctrl-C
    print(topology.prefix, flush=True)
    time.sleep(60)

replay.run_probes = stalled
main(['replay', sys.argv[1]])
"""


def test_ctrl_c_removes_the_namespaces() -> None:
    child = subprocess.Popen([sys.executable, "-c", _INTERRUPTED.format(src=str(ROOT / "src")), FIXED],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    prefix = child.stdout.readline().strip()  # printed while the probes would run
    assert prefix.startswith(f"kw{child.pid}x")
    assert len(topology.run_namespaces(prefix)) == 8  # the router, 6 identities, 1 outside piece
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=20)
    assert (child.returncode, err.splitlines()[-1]) == (1, "Aborted!")  # click's answer to Ctrl-C
    assert topology.run_namespaces(prefix) == []


def test_without_root_replay_says_so_and_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = kubeward("replay", FIXED)
    assert result.exit_code == 2
    assert "replay needs root" in result.stderr


def test_without_nft_replay_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda tool: None if tool == "nft" else real(tool))
    result = kubeward("replay", FIXED)
    assert result.exit_code == 2
    assert "replay needs nft (Debian: apt-get install nftables)" in result.stderr


def test_an_nft_that_refuses_the_ruleset_is_a_clear_error_and_the_namespaces_go(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel without a feature the ruleset uses (nft_reject_inet, say): nft says so, and so does
    the replay (exit 2), instead of an internal error."""
    fake = tmp_path / "nft"
    fake.write_text("#!/bin/sh\necho 'Error: Could not process rule: No such file or directory' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    before = set(os.listdir(topology.NETNS_DIR))
    result = kubeward("replay", FIXED)
    assert result.exit_code == 2
    assert "kubeward replay: nft could not load a compiled ruleset (nft -f - in kw" in result.stderr
    assert "Could not process rule: No such file or directory" in result.stderr
    assert "internal error" not in result.stderr
    assert {n for n in os.listdir(topology.NETNS_DIR) if n.startswith(f"kw{os.getpid()}x")} <= before


def test_an_ip_that_cannot_build_the_namespaces_is_a_clear_error(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel without veth: ip says so, and so does the replay (exit 2), with what was built removed."""
    real = shutil.which("ip")
    fake = tmp_path / "ip"
    fake.write_text('#!/bin/sh\ninput=$(cat)\ncase "$input" in *"type veth"*)\n'
                    '  echo "Error: Unknown device type." >&2; exit 2;;\nesac\n'
                    f'printf "%s\\n" "$input" | exec {real} "$@"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    before = set(os.listdir(topology.NETNS_DIR))
    result = kubeward("replay", FIXED)
    assert result.exit_code == 2
    assert "kubeward replay: could not build the replay's network namespaces (ip -n kw" in result.stderr
    assert "Unknown device type" in result.stderr and "internal error" not in result.stderr
    assert {n for n in os.listdir(topology.NETNS_DIR) if n.startswith(f"kw{os.getpid()}x")} <= before
