# ruff: noqa: E501
"""The nft compiler, without a kernel: the engine's tier pipeline of each identity becomes one
nftables table, exactly (tests/data/replay/small.yaml: web may reach db's named port sql; db
admits an ipBlock with an except on a UDP port range)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from kubeward.analyses.session import analyse_paths
from kubeward.kernel.nft import Addressing, Compiler

SMALL = str(Path(__file__).resolve().parent / "data" / "replay" / "small.yaml")

DB = """table inet kubeward {
  set peers0 {
    type ipv4_addr; flags interval;
    elements = { 10.0.0.1 }
  }
  set peers1 {
    type ipv4_addr; flags interval;
    elements = { 192.168.0.0-192.168.0.255, 192.168.2.0-192.168.255.255 }
  }
  chain input {
    type filter hook input priority filter; policy accept;
    ct state established,related accept
    jump input_0_networkpolicy
    jump input_1_default
    counter reject with icmpx admin-prohibited
  }
  chain input_0_networkpolicy {
    ip saddr @peers0 meta l4proto tcp th dport { 5432 } counter accept comment "NetworkPolicy/shop/db-in/ingress rule 0"
    ip saddr @peers1 meta l4proto udp th dport { 53-60 } counter accept comment "NetworkPolicy/shop/db-in/ingress rule 1"
    counter reject with icmpx admin-prohibited
  }
  chain input_1_default {
    counter accept
  }
  chain output {
    type filter hook output priority filter; policy accept;
    ct state established,related accept
    counter accept
  }
}
"""

WEB = """table inet kubeward {
  set peers0 {
    type ipv4_addr; flags interval;
    elements = { 10.0.0.2 }
  }
  chain input {
    type filter hook input priority filter; policy accept;
    ct state established,related accept
    counter accept
  }
  chain output {
    type filter hook output priority filter; policy accept;
    ct state established,related accept
    jump output_0_networkpolicy
    jump output_1_default
    counter reject with icmpx admin-prohibited
  }
  chain output_0_networkpolicy {
    ip daddr @peers0 meta l4proto tcp th dport { 5432 } counter accept comment "NetworkPolicy/shop/web-out/egress rule 0"
    counter reject with icmpx admin-prohibited
  }
  chain output_1_default {
    counter accept
  }
}
"""


def _compiler() -> tuple[Compiler, list[str]]:
    analysis = analyse_paths([SMALL])
    db, web = (int(ipaddress.IPv4Address(a)) for a in ("10.0.0.2", "10.0.0.1"))
    compiler = Compiler(analysis.engine, Addressing({0: db, 1: web}, {}))
    return compiler, [compiler.table(i) for i in analysis.engine.universe.identities]


def test_an_isolated_ingress_side_is_its_tier_chains_with_named_ports_and_ipblock_except_resolved() -> None:
    _, (db, _) = _compiler()
    assert db == DB


def test_an_isolated_egress_side_resolves_named_ports_in_the_destinations_container_ports() -> None:
    _, (_, web) = _compiler()
    assert web == WEB
