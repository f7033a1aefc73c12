"""AdminNetworkPolicy and BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1) and
ClusterNetworkPolicy (v1alpha2) → IR.

Rules ANP-1 … ANP-13 of semantics.md. These policies never isolate (ANP-5): their rules are
evaluated top-down, first match decides, in the admin or baseline tier.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..diagnostics import Diagnostics, Leans
from ..ir import (
    EVERYTHING,
    MAX_PORT,
    MIN_PORT,
    NOTHING,
    Action,
    AnyPeer,
    Direction,
    DomainPeer,
    NamedPort,
    NetworkPeer,
    NodePeer,
    NoPeer,
    Peer,
    PodPeer,
    Policy,
    PolicyRef,
    PortMatch,
    PortRange,
    Rule,
    Subject,
    Tier,
)
from ..loader import LList, LMap, RawObject
from ._reader import Reader
from .validation import ANP_IMPLEMENTATIONS, CRD_EXPERIMENTAL

_ACTIONS_V1ALPHA1 = {"Allow": Action.ALLOW, "Deny": Action.DENY, "Pass": Action.PASS}
_ACTIONS_BANP = {"Allow": Action.ALLOW, "Deny": Action.DENY}
_ACTIONS_V1ALPHA2 = {"Accept": Action.ALLOW, "Deny": Action.DENY, "Pass": Action.PASS}
_DOMAIN = re.compile(r"^(\*\.)?([a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.)+[a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.?$")
_MAX_PRIORITY = 1000


def parse_admin_network_policy(obj: RawObject, diags: Diagnostics) -> Policy | None:
    return _parse(obj, diags, "AdminNetworkPolicy")


def parse_baseline_admin_network_policy(obj: RawObject, diags: Diagnostics) -> Policy | None:
    return _parse(obj, diags, "BaselineAdminNetworkPolicy")


def parse_cluster_network_policy(obj: RawObject, diags: Diagnostics) -> Policy | None:
    return _parse(obj, diags, "ClusterNetworkPolicy")


def _parse(obj: RawObject, diags: Diagnostics, kind: str) -> Policy | None:
    r = Reader(obj, diags, admission=ANP_IMPLEMENTATIONS)  # ANP-14: selectors must convert
    ref = PolicyRef(kind, "", obj.name, obj.file, obj.line, obj.api_version)
    spec = r.get_map(obj.data, "spec", "", Leans.EITHER)
    if spec is None:
        r.error("missing-field", f"{kind} has no spec; it is ignored", obj.line, Leans.EITHER)
        return None
    v2 = kind == "ClusterNetworkPolicy"
    priority: int | None = None
    if kind == "BaselineAdminNetworkPolicy":
        tier = Tier.BASELINE
        actions = _ACTIONS_BANP
        if obj.name != "default":
            # ANP-11: BANP is a singleton named "default" (CEL rule).
            r.error("invalid-name", "a BaselineAdminNetworkPolicy must be named 'default' "
                    "(the API server rejects any other name)", obj.metadata.line_of("name"), Leans.EITHER)
        r.unknown_keys(spec, {"subject", "ingress", "egress"}, "spec")
    else:
        actions = _ACTIONS_V1ALPHA2 if v2 else _ACTIONS_V1ALPHA1
        priority = r.get_int(spec, "priority", "spec", Leans.EITHER)
        if priority is None:
            r.error("missing-field", "spec.priority is required (0-1000); analysed as 1000",
                    spec.line, Leans.EITHER)
            priority = _MAX_PRIORITY
        elif not 0 <= priority <= _MAX_PRIORITY:
            r.error("invalid-value", f"spec.priority {priority} is outside 0-1000", spec.line_of("priority"),
                    Leans.EITHER)
        if v2:
            tier_name = r.get_str(spec, "tier", "spec", Leans.EITHER)
            if tier_name == "Baseline":
                tier = Tier.BASELINE
            else:
                if tier_name != "Admin":
                    r.error("invalid-value", f"spec.tier {tier_name!r} is neither Admin nor Baseline; "
                            "analysed as Admin", spec.line_of("tier"), Leans.EITHER)
                tier = Tier.ADMIN
            r.unknown_keys(spec, {"tier", "priority", "subject", "ingress", "egress"}, "spec")
        else:
            tier = Tier.ADMIN
            r.unknown_keys(spec, {"priority", "subject", "ingress", "egress"}, "spec")
    subject = _subject(r, spec)
    ingress = _rules(r, spec, Direction.INGRESS, ref, actions, v2)
    egress = _rules(r, spec, Direction.EGRESS, ref, actions, v2)
    # ANP-5: no implicit isolation.
    return r.finish(Policy(ref, tier, subject, frozenset(), ingress, egress, priority,
                           priority_line=spec.line_of("priority") if "priority" in spec else obj.line))


def _subject(r: Reader, spec: LMap) -> Subject:
    raw = r.get_map(spec, "subject", "spec", Leans.EITHER)
    if raw is None:
        r.error("missing-field", "spec.subject is required; this policy applies to no pod here",
                spec.line, Leans.EITHER)
        return Subject(NOTHING, namespace_selector=NOTHING)
    fields = [k for k in ("namespaces", "pods") if raw.get(k) is not None]
    if len(fields) != 1:
        # ANP-8: exactly one of namespaces | pods.
        r.error("invalid-subject", "spec.subject must set exactly one of namespaces, pods; this "
                "policy applies to no pod here", raw.line, Leans.EITHER)
        return Subject(NOTHING, namespace_selector=NOTHING)
    if fields[0] == "namespaces":
        sel = r.selector(raw, "namespaces", "spec.subject", Leans.EITHER) or EVERYTHING
        return Subject(EVERYTHING, namespace_selector=sel)
    pods = r.get_map(raw, "pods", "spec.subject", Leans.EITHER)
    if pods is None:
        return Subject(NOTHING, namespace_selector=NOTHING)
    ns_sel = r.selector(pods, "namespaceSelector", "spec.subject.pods", Leans.EITHER) or EVERYTHING
    pod_sel = r.selector(pods, "podSelector", "spec.subject.pods", Leans.EITHER) or EVERYTHING
    return Subject(pod_sel, namespace_selector=ns_sel)


def _rules(r: Reader, spec: LMap, direction: Direction, ref: PolicyRef,
           actions: dict[str, Action], v2: bool) -> tuple[Rule, ...]:
    section = r.get_list(spec, direction.value, "spec", Leans.EITHER)
    if not section:
        return ()
    peer_key = "from" if direction is Direction.INGRESS else "to"
    rules: list[Rule] = []
    for i, raw in enumerate(section):
        path = f"spec.{direction.value}[{i}]"
        line = section.line_of(i)
        if not isinstance(raw, LMap):
            r.error("invalid-type", f"{path} must be a mapping; rule ignored", line, Leans.EITHER)
            continue
        ports_key = "protocols" if v2 else "ports"
        r.unknown_keys(raw, {"name", "action", peer_key, ports_key}, path)
        raw_name = raw.get("name")
        name = raw_name if isinstance(raw_name, str) else ""
        action_text = raw.get("action")
        action = actions.get(action_text) if isinstance(action_text, str) else None
        if action is None:
            r.error("invalid-action", f"{path}.action {action_text!r} is not one of "
                    f"{', '.join(actions)}; rule ignored", raw.line_of("action"), Leans.EITHER)
            continue
        baseline = not v2 and ref.kind == "BaselineAdminNetworkPolicy"
        peers = _peers(r, raw, peer_key, path, direction, action, baseline=baseline)
        if action is not Action.ALLOW and any(isinstance(p, DomainPeer) for p in peers):
            r.error("invalid-peer", f"{path}: domainNames peers are only allowed in "
                    f"{'Accept' if v2 else 'Allow'} rules", raw.line_of(peer_key), Leans.EITHER)
        ports = _ports_v2(r, raw, path) if v2 else _ports_v1(r, raw, path)
        if ports and any(isinstance(p, NamedPort) for p in ports):
            _named_port_peers(r, raw, peers, path, ports_key)
        rules.append(Rule(ref, direction, i, action, peers, ports, line, name, path=path))
    return tuple(rules)


def _named_port_peers(r: Reader, raw: LMap, peers: tuple[Peer, ...], path: str, ports_key: str) -> None:
    """ANP-10, ANP-15: named ports with networks, nodes or domainNames peers. Only the experimental
    channel's CRD refuses them (a CEL rule); nodes and domainNames exist only in that channel, so
    with them the policy is rejected, while with networks alone the standard channel accepts it."""
    line = raw.line_of(ports_key)
    problem = "named ports cannot be used with networks, nodes or domainNames peers (ANP-10)"
    if any(isinstance(p, (NodePeer, DomainPeer)) for p in peers):
        r.reject("invalid-port", path, problem, line, CRD_EXPERIMENTAL)
    elif any(isinstance(p, NetworkPeer) for p in peers):
        r.warning("invalid-port", f"{path}: {problem}; only the experimental channel's CRD rejects this (ANP-15): "
                  "under the standard channel the policy is accepted and the named port matches no address of "
                  "the networks peers", line, Leans.EITHER)


def _fail_closed(action: Action, why: str) -> Peer:
    # ANP-9: an unusable peer fails closed: Allow matches nothing; Deny/Pass deny everything.
    return NoPeer(why) if action is Action.ALLOW else AnyPeer()


def _peers(r: Reader, rule: LMap, key: str, path: str, direction: Direction,
           action: Action, baseline: bool = False) -> tuple[Peer, ...]:
    section = r.get_list(rule, key, path, Leans.EITHER)
    if not section:
        r.error("missing-field", f"{path}.{key} must list at least one peer; the rule "
                + ("matches nothing" if action is Action.ALLOW else "denies everything") + " (fail closed)",
                rule.line, Leans.EITHER)
        return (_fail_closed(action, f"no {key}"),)
    peers: list[Peer] = []
    allowed = {"namespaces", "pods"} if direction is Direction.INGRESS else {
        "namespaces", "pods", "networks", "nodes", "domainNames"}
    if baseline:
        allowed.discard("domainNames")  # v1alpha1 BANP egress peers have no domainNames
    for j, raw in enumerate(section):
        ppath = f"{path}.{key}[{j}]"
        line = section.line_of(j)
        if not isinstance(raw, LMap):
            r.error("invalid-type", f"{ppath} must be a mapping", line, Leans.EITHER)
            peers.append(_fail_closed(action, "not a mapping"))
            continue
        present = [k for k in raw if raw[k] is not None]
        known = [k for k in present if k in allowed]
        if len(present) != 1 or len(known) != 1:
            r.error("invalid-peer", f"{ppath} must set exactly one of {', '.join(sorted(allowed))} "
                    f"(found: {', '.join(present) or 'nothing'}); fail closed: the peer "
                    + ("matches nothing" if action is Action.ALLOW else "matches everything"),
                    line, Leans.EITHER)
            peers.append(_fail_closed(action, "unusable peer"))
            continue
        peers.extend(_peer(r, raw, known[0], ppath, action))
    return tuple(peers)


def _peer(r: Reader, raw: LMap, field: str, path: str, action: Action) -> list[Peer]:
    if field == "namespaces":
        sel = r.selector(raw, "namespaces", path, Leans.EITHER) or EVERYTHING
        return [PodPeer(EVERYTHING, namespace_selector=sel)]
    if field == "pods":
        pods = r.get_map(raw, "pods", path, Leans.EITHER)
        if pods is None:
            return [_fail_closed(action, "pods is not a mapping")]
        ns_sel = r.selector(pods, "namespaceSelector", f"{path}.pods", Leans.EITHER) or EVERYTHING
        pod_sel = r.selector(pods, "podSelector", f"{path}.pods", Leans.EITHER) or EVERYTHING
        return [PodPeer(pod_sel, namespace_selector=ns_sel)]
    if field == "nodes":
        return [NodePeer(r.selector(raw, "nodes", path, Leans.EITHER) or EVERYTHING)]
    items = r.get_list(raw, field, path, Leans.EITHER)
    if not items:
        r.error("invalid-peer", f"{path}.{field} must list at least one entry", raw.line_of(field), Leans.EITHER)
        return [_fail_closed(action, f"empty {field}")]
    out: list[Peer] = []
    for k, item in enumerate(items):
        line = items.line_of(k)
        if field == "networks":
            # ANP-9: networks match cluster-internal traffic too.
            peer = r.network(item, None, line, f"{path}.networks[{k}]", Leans.EITHER, matches_pods=True)
            out.append(_fail_closed(action, peer.reason) if isinstance(peer, NoPeer) else peer)
        else:
            if not isinstance(item, str) or not _DOMAIN.match(item):
                r.error("invalid-domain", f"{path}.domainNames[{k}] {item!r} is not a domain name "
                        "or a '*.' pattern", line, Leans.EITHER)
                continue
            out.append(DomainPeer(item.rstrip(".").lower()))
    return out or [_fail_closed(action, f"no valid {field}")]


def _port_number(r: Reader, value: object, line: int, path: str) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_PORT <= value <= MAX_PORT:
        r.error("invalid-port", f"{path} must be a port number 1-65535, not {value!r}", line, Leans.EITHER)
        return None
    return value


def _ports_v1(r: Reader, rule: LMap, path: str) -> tuple[PortMatch, ...] | None:
    section = r.get_list(rule, "ports", path, Leans.EITHER)
    if section is None:
        return None if rule.get("ports") is None else ()
    out: list[PortMatch] = []
    for k, raw in enumerate(section):
        ppath = f"{path}.ports[{k}]"
        line = section.line_of(k)
        if not isinstance(raw, LMap) or len([x for x in raw if raw[x] is not None]) != 1:
            r.error("invalid-port", f"{ppath} must set exactly one of portNumber, portRange, namedPort",
                    line, Leans.EITHER)
            continue
        if isinstance(raw.get("namedPort"), str):
            out.append(NamedPort(raw["namedPort"]))
        elif isinstance(raw.get("portNumber"), LMap):
            pn = raw["portNumber"]
            proto = _protocol(r, pn, ppath + ".portNumber")
            num = _port_number(r, pn.get("port"), pn.line_of("port"), ppath + ".portNumber.port")
            if proto and num is not None:
                out.append(PortRange(proto, num, num))
        elif isinstance(raw.get("portRange"), LMap):
            pr = raw["portRange"]
            proto = _protocol(r, pr, ppath + ".portRange")
            lo = _port_number(r, pr.get("start"), pr.line_of("start"), ppath + ".portRange.start")
            hi = _port_number(r, pr.get("end"), pr.line_of("end"), ppath + ".portRange.end")
            out.extend(_range(r, proto, lo, hi, pr.line, ppath))
        else:
            r.error("invalid-port", f"{ppath} must set exactly one of portNumber, portRange, namedPort",
                    line, Leans.EITHER)
    return tuple(out)


def _ports_v2(r: Reader, rule: LMap, path: str) -> tuple[PortMatch, ...] | None:
    section = r.get_list(rule, "protocols", path, Leans.EITHER)
    if section is None:
        return None if rule.get("protocols") is None else ()
    out: list[PortMatch] = []
    for k, raw in enumerate(section):
        ppath = f"{path}.protocols[{k}]"
        line = section.line_of(k)
        keys = [x for x in raw if raw[x] is not None] if isinstance(raw, LMap) else []
        if not isinstance(raw, LMap) or len(keys) != 1:
            r.error("invalid-port", f"{ppath} must set exactly one of tcp, udp, sctp, destinationNamedPort",
                    line, Leans.EITHER)
            continue
        key = keys[0]
        if key == "destinationNamedPort" and isinstance(raw[key], str):
            out.append(NamedPort(raw[key]))
            continue
        proto = {"tcp": "TCP", "udp": "UDP", "sctp": "SCTP"}.get(key)
        body = raw.get(key)
        if proto is None or not isinstance(body, LMap):
            r.error("invalid-port", f"{ppath}.{key} is not a protocol match", line, Leans.EITHER)
            continue
        dest = body.get("destinationPort")
        if dest is None:
            out.append(PortRange(proto, MIN_PORT, MAX_PORT))
            continue
        if not isinstance(dest, LMap):
            r.error("invalid-port", f"{ppath}.{key}.destinationPort must be a mapping", body.line, Leans.EITHER)
            continue
        if dest.get("number") is not None:
            num = _port_number(r, dest.get("number"), dest.line_of("number"), f"{ppath}.{key}.destinationPort.number")
            if num is not None:
                out.append(PortRange(proto, num, num))
        elif isinstance(dest.get("range"), LMap):
            rg = dest["range"]
            lo = _port_number(r, rg.get("start"), rg.line_of("start"), f"{ppath}.{key}.destinationPort.range.start")
            hi = _port_number(r, rg.get("end"), rg.line_of("end"), f"{ppath}.{key}.destinationPort.range.end")
            out.extend(_range(r, proto, lo, hi, rg.line, ppath))
        else:
            r.error("invalid-port", f"{ppath}.{key}.destinationPort needs number or range", dest.line, Leans.EITHER)
    return tuple(out)


def _range(r: Reader, proto: str | None, lo: int | None, hi: int | None, line: int,
           path: str) -> list[PortMatch]:
    if proto is None or lo is None or hi is None:
        return []
    if hi < lo:
        r.error("invalid-port", f"{path}: range end {hi} is below start {lo}", line, Leans.EITHER)
        return []
    return [PortRange(proto, lo, hi)]


def _protocol(r: Reader, m: LMap, path: str) -> str | None:
    proto = m.get("protocol", "TCP")
    if proto not in ("TCP", "UDP", "SCTP"):
        r.error("unknown-protocol", f"{path}.protocol {proto!r} is not TCP, UDP or SCTP", m.line_of("protocol"),
                Leans.EITHER)
        return None
    return str(proto)


PARSERS: dict[str, Callable[[RawObject, Diagnostics], Policy | None]] = {
    "AdminNetworkPolicy": parse_admin_network_policy,
    "BaselineAdminNetworkPolicy": parse_baseline_admin_network_policy,
    "ClusterNetworkPolicy": parse_cluster_network_policy,
}
__all__ = ["PARSERS", "LList"]
