"""Targeted kernel replays of what the random clusters do not generate: Calico's negated matches
(notProtocol, notNets, notSelector, notPorts with named ports), protocol numbers and ICMP rules
(compiled to nothing the probes see: the TCP/UDP verdicts must not change), Log and Pass; Cilium
deny over allow with endPort and ``protocol: ANY``, CIDR sets with except on both sides; and
pods the replay must readdress: a hostNetwork pod, a duplicate IP, an IPv6-only pod and a pod at
the replay's own gateway address (169.254.1.1). The kernel must agree with the engine on every
probe, and the counts pin that both verdicts were exercised.

Needs root, ``ip`` and ``nft``; skipped with the reason printed otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeward import Options
from kubeward.analyses.session import analyse_paths
from kubeward.kernel import topology
from kubeward.kernel.replay import replay

DATA = Path(__file__).resolve().parent / "data" / "replay"


def _why_not() -> str | None:
    try:
        topology.check_available()
    except topology.KernelUnavailable as exc:
        return str(exc)
    return None


REASON = _why_not()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"kernel replay unavailable: {REASON}")


@pytest.mark.parametrize(("case", "cni", "counts"), [
    ("calnot", "calico", (330, 278, 52)),
    ("cil", "cilium", (468, 330, 138)),
    ("hostdup", "generic", (720, 170, 550)),
])
def test_a_targeted_case_replays_in_agreement(case: str, cni: str, counts: tuple[int, int, int]) -> None:
    analysis = analyse_paths([str(DATA / "case-base.yaml"), str(DATA / f"case-{case}.yaml")], Options(cni=cni))
    assert not analysis.diagnostics.has_errors
    report = replay(analysis.engine, timeout=0.3)
    assert report.disagreements == [], [(d.source, d.destination, d.probe, d.engine, d.kernel)
                                        for d in report.disagreements[:5]]
    assert (report.probes, report.allowed, report.denied) == counts


def test_pods_without_a_usable_unique_ipv4_address_are_readdressed() -> None:
    """hostNetwork a/hn shares a/web's 10.1.0.1, a/six has only fd00::5, a/ll has 169.254.1.1 (the
    gateway every replay namespace routes through): each gets an address of its own."""
    import ipaddress

    from kubeward.kernel.replay import ReplayReport, _endpoints

    analysis = analyse_paths([str(DATA / "case-base.yaml"), str(DATA / "case-hostdup.yaml")])
    report = ReplayReport()
    address = {e.label: e.address for e in _endpoints(analysis.engine, report) if e.identity is not None}
    assert (address["a/db"], address["a/cli"]) == ("10.1.0.2", "10.1.0.3")
    assert sorted([address["a/web"], address["a/hn"]]).count("10.1.0.1") == 1  # one keeps it
    fresh = [address[k] for k in ("a/web", "a/hn", "a/six", "a/ll")]
    assert len(set(address.values())) == 6
    assert all(ipaddress.IPv4Address(a) not in ipaddress.IPv4Network("169.254.0.0/16") for a in fresh)
    assert any("hostNetwork pods" in n for n in report.not_replayed)
