"""Cilium's HTTP proxy: which requests pass on a port that L7 rules govern (CIL-15 … CIL-18)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..ir import HttpRule, L7Kind, Rule
from .evaluate import Resolver, SideRules
from .portset import PortSet


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str = "GET"
    path: str = "/"
    host: str = ""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class L7Policy:
    """What one side's proxy admits on one port: ``rules`` None = every request (no L7 rule, or
    an L4-only allow covers the port, CIL-18)."""

    rules: tuple[HttpRule, ...] | None
    sources: tuple[Rule, ...]  # the rules that decide it, for traces


def l7_policy(side: SideRules, matched: Callable[[Rule], bool], resolve: Resolver, probe: PortSet) -> L7Policy:
    """CIL-18: per (port, peer) the allow-set is a wildcard if any L4-only rule covers it,
    else the union of the HTTP rules of the rules that do."""
    covering = [r for r in side.np_rules if matched(r) and resolve(r.ports) & probe]
    http = [r for r in covering if r.l7 is not None and r.l7.kind is L7Kind.HTTP]
    if not http or len(http) != len(covering):
        plain = [r for r in covering if r not in http]
        return L7Policy(None, tuple(plain))
    rules: list[HttpRule] = []
    for r in http:
        assert r.l7 is not None
        if not r.l7.http:
            return L7Policy(None, (r,))  # CIL-15: an empty http list allows every request
        rules.extend(r.l7.http)
    return L7Policy(tuple(rules), tuple(http))


def _full(pattern: str, value: str) -> bool:
    """CIL-16: Envoy's safe_regex matches the whole value."""
    if not pattern:
        return True
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return False


def http_rule_admits(rule: HttpRule, request: HttpRequest) -> bool:
    if not _full(rule.method, request.method) or not _full(rule.path, request.path):
        return False
    if rule.host and not _full(rule.host, request.host):
        return False
    headers = {k.lower(): v for k, v in request.headers}
    for h in rule.headers:
        name, sep, value = h.partition(":")
        have = headers.get(name.strip().lower())
        if have is None or (sep and have != value.strip()):
            return False
    return True


def admitting_rule(policy: L7Policy, request: HttpRequest) -> HttpRule | None:
    assert policy.rules is not None
    return next((r for r in policy.rules if http_rule_admits(r, request)), None)


def l7_constraints(side: SideRules, matched: Callable[[Rule], bool], resolve: Resolver,
                   ports: PortSet) -> list[tuple[PortSet, tuple[HttpRule, ...]]]:
    """The parts of ``ports`` on which this side's proxy filters HTTP, with the rules that pass
    (CIL-15: union; CIL-18: an L4-only allow of the same port lifts the filter)."""
    if side.open or side.inert or side.host_network:
        return []
    http = [r for r in side.np_rules if r.l7 is not None and r.l7.kind is L7Kind.HTTP and matched(r)]
    if not http:
        return []
    plain = PortSet()
    for r in side.np_rules:
        if (r.l7 is None or r.l7.kind is not L7Kind.HTTP or not r.l7.http) and matched(r):
            plain = plain | resolve(r.ports)
    by_ports: dict[PortSet, list[HttpRule]] = {}
    for r in http:
        assert r.l7 is not None
        covered = (resolve(r.ports) & ports) - plain
        if covered:
            by_ports.setdefault(covered, []).extend(x for x in r.l7.http if x not in by_ports.get(covered, []))
    return [(p, tuple(rules)) for p, rules in by_ports.items()]
