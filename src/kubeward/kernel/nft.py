"""Compile the engine's tier pipeline of one identity into an nftables table (pure: no kernel).

Each identity's namespace gets one ``inet`` table: an ``input`` chain (its ingress side) and an
``output`` chain (its egress side). Each chain accepts established and related packets first
(replies: NP-6), then jumps into one chain per tier of the engine's ``SideRules.tiers``, in
order. A tier chain has one nft rule per IR rule (per protocol, and per destination port profile
where named ports resolve differently), with a ``counter`` and a comment naming the rule's origin,
and ends with the tier's end. Peers are the engine's own peer bitmasks, bound by the universe, as
address sets: an identity is its pod address, an address piece its range minus every pod
address, so the kernel matches exactly the endpoints the engine matches. Denials are
``reject with icmpx admin-prohibited``: a probe learns its verdict at once (EHOSTUNREACH) instead
of waiting for a timeout.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ..engine.engine import Engine
from ..engine.evaluate import Matching, PolicyTier, SideRules, resolve_ports, uses_named_ports
from ..engine.portset import ALL, PortSet
from ..engine.universe import Identity, bits
from ..ir import MAX_PORT, MIN_PORT, Action, Direction, Rule, TierEnd

TABLE = "kubeward"
REJECT = "reject with icmpx admin-prohibited"
_V4_LAST = (1 << 32) - 1
_VERDICTS = {Action.ALLOW: "accept", Action.DENY: REJECT, Action.PASS: "return", Action.LOG: ""}
_ENDS = {TierEnd.ALLOW: "accept", TierEnd.DENY: REJECT, TierEnd.NEXT: "return", TierEnd.PASS: "return"}


@dataclass(frozen=True, slots=True)
class Addressing:
    """The IPv4 address of each endpoint namespace: identities by index, address pieces by index."""

    pods: dict[int, int]
    outside: dict[int, int]

    def address(self, index: int) -> str:
        value = self.pods.get(index)
        if value is None:
            value = self.outside[index]
        return str(ipaddress.IPv4Address(value))


def comment(rule: Rule) -> str:
    """``kind/ns/name/ingress rule N``: the origin of a compiled rule (nft allows 128 bytes)."""
    ref = rule.policy
    text = f"{ref.kind}/{ref.namespace or '-'}/{ref.name}/{rule.section or rule.direction.value} rule {rule.index}"
    return text.replace('"', "'")[:127]


@dataclass(slots=True)
class _Table:
    """One namespace's table as it is written: its named address sets, deduplicated."""

    sets: dict[tuple[tuple[int, int], ...], str] = field(default_factory=dict)
    chains: list[tuple[str, list[str]]] = field(default_factory=list)

    def set_name(self, ranges: tuple[tuple[int, int], ...]) -> str:
        name = self.sets.get(ranges)
        if name is None:
            name = self.sets[ranges] = f"peers{len(self.sets)}"
        return name

    def text(self) -> str:
        lines = [f"table inet {TABLE} {{"]
        for ranges, name in self.sets.items():
            elements = ", ".join(_element(lo, hi) for lo, hi in ranges)
            lines += [f"  set {name} {{", "    type ipv4_addr; flags interval;",
                      f"    elements = {{ {elements} }}", "  }"]
        for name, body in self.chains:
            lines.append(f"  chain {name} {{")
            lines += [f"    {line}" for line in body]
            lines.append("  }")
        lines.append("}")
        return "\n".join(lines) + "\n"


def _element(lo: int, hi: int) -> str:
    a = ipaddress.IPv4Address(lo)
    return str(a) if lo == hi else f"{a}-{ipaddress.IPv4Address(hi)}"


class Compiler:
    """Compiles each identity's two sides against one addressing of the universe."""

    def __init__(self, engine: Engine, addressing: Addressing) -> None:
        self.engine = engine
        self.addressing = addressing
        u = engine.universe
        pod_values = sorted(addressing.pods.values())
        # Each v4 address piece: its range minus the pods' addresses (they are the identities).
        self._piece: dict[int, tuple[tuple[int, int], ...]] = {}
        for net in u.networks:
            if net.version != 4:
                continue
            parts: list[tuple[int, int]] = []
            cur = net.first
            for a in pod_values:
                if a < cur or a > net.last:
                    continue
                if a > cur:
                    parts.append((cur, a - 1))
                cur = a + 1
            if cur <= net.last:
                parts.append((cur, net.last))
            self._piece[net.index] = tuple(parts)
        self._ranges: dict[int, tuple[tuple[int, int], ...]] = {}

    def ranges(self, mask: int) -> tuple[tuple[int, int], ...]:
        """The IPv4 addresses of the endpoints of ``mask``, as merged inclusive ranges."""
        found = self._ranges.get(mask)
        if found is not None:
            return found
        items: list[tuple[int, int]] = []
        for i in bits(mask):
            pod = self.addressing.pods.get(i)
            if pod is not None:
                items.append((pod, pod))
            else:
                items.extend(self._piece.get(i, ()))
        items.sort()
        merged: list[tuple[int, int]] = []
        for lo, hi in items:
            if merged and lo <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        found = self._ranges[mask] = tuple(merged)
        return found

    def table(self, ident: Identity) -> str:
        """The nft script of ``ident``'s namespace (``nft -f``)."""
        table = _Table()
        for direction, chain, hook in ((Direction.INGRESS, "input", "input"), (Direction.EGRESS, "output", "output")):
            side = self.engine.side(ident, direction)
            self._side(table, ident, side, chain, hook)
        return table.text()

    def _side(self, table: _Table, ident: Identity, side: SideRules, chain: str, hook: str) -> None:
        body = [f"type filter hook {hook} priority filter; policy accept;",
                "ct state established,related accept"]
        # NP-25, CIL-31 and --cni flannel/none: the side allows everything.
        if side.open or side.host_network or side.inert:
            body.append("counter accept")
            table.chains.append((chain, body))
            return
        tier_chains: list[tuple[str, list[str]]] = []
        for k, tier in enumerate(side.tiers):
            name = f"{chain}_{k}_{_slug(tier)}"
            body.append(f"jump {name}")
            tier_chains.append((name, self._tier(table, ident, side, tier)))
        # What no tier decided is denied (the evaluator's walk allows only what a tier allowed).
        body.append(f"counter {self._deny(side)}")
        table.chains.append((chain, body))
        table.chains.extend(tier_chains)

    @staticmethod
    def _deny(side: SideRules) -> str:
        return "accept" if side.audit else REJECT  # CIL-31: audit mode forwards what policies deny

    def _tier(self, table: _Table, ident: Identity, side: SideRules, tier: PolicyTier) -> list[str]:
        out: list[str] = []
        if tier.matching is Matching.UNION:
            if not tier.policies:  # NP-3: not isolated: this tier decides nothing
                return ["return"]
            for rule in tier.rules:
                out += self._rule(table, ident, side, rule, "accept")
            out.append(f"counter {self._deny(side)}")
            return out
        for rule in tier.rules:
            verdict = _VERDICTS[rule.action]
            if rule.action is Action.DENY:
                verdict = self._deny(side)
            out += self._rule(table, ident, side, rule, verdict)
        end = _ENDS[tier.end]
        out.append(f"counter {self._deny(side) if tier.end is TierEnd.DENY else end}")
        return out

    def _rule(self, table: _Table, ident: Identity, side: SideRules, rule: Rule, verdict: str) -> list[str]:
        mask = self.engine.rule_mask(rule)
        egress = side.direction is Direction.EGRESS
        groups: list[tuple[int, PortSet]]
        if egress and uses_named_ports((rule,)):
            # NP-22: named ports resolve in the destination's container ports: one rule per profile.
            by_profile: dict[int, int] = {}
            rest = 0
            u = self.engine.universe
            n_ident = len(u.identities)
            for i in bits(mask):
                if i < n_ident:
                    by_profile[u.identities[i].port_profile] = by_profile.get(u.identities[i].port_profile, 0) | 1 << i
                else:
                    rest |= 1 << i
            groups = [(m, resolve_ports(rule.ports, u.identities[next(iter(bits(m)))].ports))
                      for _, m in sorted(by_profile.items())]
            if rest:
                groups.append((rest, resolve_ports(rule.ports, None)))
        else:
            groups = [(mask, resolve_ports(rule.ports, None if egress else ident.ports))]
        lines: list[str] = []
        note = f'comment "{comment(rule)}"'
        word = "daddr" if egress else "saddr"
        for m, ports in groups:
            ranges = self.ranges(m)
            if not ranges or not ports:
                continue  # matches nothing the kernel can see
            peer = "" if ranges == ((0, _V4_LAST),) else f"ip {word} @{table.set_name(ranges)} "
            for match in _port_matches(ports):
                lines.append(f"{peer}{match}counter {verdict} {note}".replace("  ", " "))
        return lines


def _port_matches(ports: PortSet) -> list[str]:
    if ports == ALL:
        return [""]
    out: list[str] = []
    for protocol, ranges in ports.items():
        proto = protocol.lower()
        if ranges == ((MIN_PORT, MAX_PORT),):
            out.append(f"meta l4proto {proto} ")
            continue
        items = ", ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges)
        out.append(f"meta l4proto {proto} th dport {{ {items} }} ")
    return out


def _slug(tier: PolicyTier) -> str:
    text = "".join(c if c.isalnum() else "_" for c in (tier.name or tier.title or tier.kind.value).lower())
    return text[:24] or "tier"
