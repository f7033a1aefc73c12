"""Kubernetes NetworkPolicy (networking.k8s.io/v1) → IR.

Rules NP-1 … NP-25 of semantics.md. A KNP lives in the NetworkPolicy tier, isolates the
directions of its ``policyTypes`` and contributes allow rules only.
"""

from __future__ import annotations

from typing import Any

from ..diagnostics import Diagnostics, Leans
from ..ir import (
    EVERYTHING,
    MAX_PORT,
    MIN_PORT,
    PROTOCOLS,
    Action,
    AnyPeer,
    Direction,
    NamedPort,
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
from .validation import API_SERVER

# A broken part of an allow-list policy is read as allowing nothing: the cluster (which rejects the
# policy, or prunes an unknown field) may allow more than shown, never less.
_LEANS = Leans.MAY_ALLOW_MORE


def parse_network_policy(obj: RawObject, diags: Diagnostics) -> Policy:
    r = Reader(obj, diags, admission=API_SERVER)  # NP-27: the API server validates its selectors
    ns = obj.namespace or "default"
    staged = obj.kind == "StagedKubernetesNetworkPolicy"  # CAL-23: the same spec, plus stagedAction
    ref = PolicyRef(obj.kind if staged else "NetworkPolicy", ns, obj.name, obj.file, obj.line, obj.api_version)
    spec = r.get_map(obj.data, "spec", "", _LEANS)
    if spec is None:
        r.warning("missing-field", "NetworkPolicy has no spec: it selects every pod of its namespace "
                  "and isolates them for ingress", obj.line)
        spec = LMap(obj.line)
    r.unknown_keys(spec, {"podSelector", "policyTypes", "ingress", "egress"} | ({"stagedAction"} if staged else set()),
                   "spec")
    # NP-1: omitted podSelector = empty = every pod of the namespace.
    pod_selector = r.selector(spec, "podSelector", "spec", Leans.EITHER) or EVERYTHING
    ingress = r.get_list(spec, "ingress", "spec", _LEANS)
    egress = r.get_list(spec, "egress", "spec", _LEANS)

    isolates: set[Direction] = set()
    types = spec.get("policyTypes")
    if types is None:
        # NP-2: Ingress always; Egress only when the egress section is non-empty.
        isolates.add(Direction.INGRESS)
        if egress:
            isolates.add(Direction.EGRESS)
    elif not isinstance(types, LList):
        r.error("invalid-type", "spec.policyTypes must be a list of Ingress/Egress; defaulted as if absent",
                spec.line_of("policyTypes"), Leans.EITHER)
        isolates.add(Direction.INGRESS)
        if egress:
            isolates.add(Direction.EGRESS)
    else:
        for i, t in enumerate(types):
            if t == "Ingress":
                isolates.add(Direction.INGRESS)
            elif t == "Egress":
                isolates.add(Direction.EGRESS)
            else:
                # Read without it; the API server rejects the policy: a valid type kept isolates where the
                # cluster does not; with none kept the reading is the most open one.
                r.error("invalid-value", f"spec.policyTypes[{i}] {t!r} is neither Ingress nor Egress",
                        types.line_of(i), Leans.MAY_ALLOW_MORE if any(v in ("Ingress", "Egress") for v in types)
                        else Leans.MAY_DENY_MORE)
    for direction, section in ((Direction.INGRESS, ingress), (Direction.EGRESS, egress)):
        if section and direction not in isolates:
            r.warning("rules-without-policy-type",
                      f"spec.{direction.value} has rules but policyTypes does not list "
                      f"{direction.value.capitalize()}: the rules have no effect",
                      spec.line_of(direction.value))

    rules: dict[Direction, list[Rule]] = {Direction.INGRESS: [], Direction.EGRESS: []}
    for direction, section in ((Direction.INGRESS, ingress), (Direction.EGRESS, egress)):
        if section is None or direction not in isolates:
            continue  # NP-12: no rules in an isolating direction = default deny there
        peer_key = "from" if direction is Direction.INGRESS else "to"
        for i, raw in enumerate(section):
            path = f"spec.{direction.value}[{i}]"
            line = section.line_of(i)
            if not isinstance(raw, LMap):
                r.error("invalid-type", f"{path} must be a mapping; this rule allows nothing", line, _LEANS)
                continue
            r.unknown_keys(raw, {peer_key, "ports"}, path)
            peers = _peers(r, raw, peer_key, path, ns)
            ports = _ports(r, raw, path)
            rules[direction].append(Rule(ref, direction, i, Action.ALLOW, peers, ports, line, path=path))
    return r.finish(Policy(ref, Tier.NETWORK_POLICY, Subject(pod_selector, namespace=ns), frozenset(isolates),
                           tuple(rules[Direction.INGRESS]), tuple(rules[Direction.EGRESS])))


def _peers(r: Reader, rule: LMap, key: str, path: str, ns: str) -> tuple[Peer, ...]:
    section = r.get_list(rule, key, path, _LEANS)
    if key in rule and rule[key] is not None and section is None:
        return (NoPeer(f"{key} is not a list"),)
    if not section:
        return (AnyPeer(),)  # NP-11: from/to missing or empty = every peer
    peers: list[Peer] = []
    for j, raw in enumerate(section):
        ppath = f"{path}.{key}[{j}]"
        line = section.line_of(j)
        if not isinstance(raw, LMap):
            r.error("invalid-type", f"{ppath} must be a mapping", line, _LEANS)
            peers.append(NoPeer("not a mapping"))
            continue
        r.unknown_keys(raw, {"podSelector", "namespaceSelector", "ipBlock"}, ppath)
        has_block = raw.get("ipBlock") is not None
        pod_sel = r.selector(raw, "podSelector", ppath, _LEANS)
        ns_sel = r.selector(raw, "namespaceSelector", ppath, _LEANS)
        if has_block:
            if pod_sel is not None or ns_sel is not None:
                # NP-17: ipBlock cannot be combined with selectors in one peer.
                r.error("invalid-peer", f"{ppath}: ipBlock cannot be combined with podSelector or "
                        "namespaceSelector in one peer (the API server rejects it); this peer "
                        "matches nothing here", line, _LEANS)
                peers.append(NoPeer("ipBlock combined with selectors"))
                continue
            block = r.get_map(raw, "ipBlock", ppath, _LEANS)
            if block is None:
                peers.append(NoPeer("ipBlock is not a mapping"))
                continue
            peers.append(r.network(block.get("cidr"), block.get("except"), block.line_of("cidr"),
                                   f"{ppath}.ipBlock", _LEANS))
            continue
        if pod_sel is None and ns_sel is None:
            r.error("invalid-peer", f"{ppath} names no podSelector, namespaceSelector or ipBlock "
                    "(the API server rejects it); this peer matches nothing here", line, _LEANS)
            peers.append(NoPeer("empty peer"))
            continue
        if ns_sel is None:
            # NP-14: podSelector alone = pods of the policy's own namespace.
            peers.append(PodPeer(pod_sel or EVERYTHING, namespace=ns))
        else:
            # NP-15: namespaceSelector alone = all pods of the selected namespaces;
            # NP-16: both in one peer = selected pods inside selected namespaces (AND).
            peers.append(PodPeer(pod_sel or EVERYTHING, namespace_selector=ns_sel))
    return tuple(peers)


def _ports(r: Reader, rule: LMap, path: str) -> tuple[PortMatch, ...] | None:
    section = r.get_list(rule, "ports", path, _LEANS)
    if "ports" in rule and rule["ports"] is not None and section is None:
        return ()
    if not section:
        return None  # NP-11: ports missing or empty = every port and protocol
    ports: list[PortMatch] = []
    for k, raw in enumerate(section):
        ppath = f"{path}.ports[{k}]"
        line = section.line_of(k)
        if not isinstance(raw, LMap):
            r.error("invalid-type", f"{ppath} must be a mapping; it matches no port here", line, _LEANS)
            continue
        r.unknown_keys(raw, {"protocol", "port", "endPort"}, ppath)
        match = _port(r, raw, ppath, line)
        if match is not None:
            ports.extend(match)
    return tuple(ports)


def _port(r: Reader, raw: LMap, path: str, line: int) -> list[PortMatch] | None:
    protocol: Any = raw.get("protocol", "TCP")  # NP-21: protocol defaults to TCP
    if protocol is None:
        protocol = "TCP"
    if protocol not in PROTOCOLS:  # NP-8: only TCP, UDP and SCTP are defined
        r.error("unknown-protocol", f"{path}.protocol {protocol!r} is not TCP, UDP or SCTP; this port "
                "matches nothing here", raw.line_of("protocol"), _LEANS)
        return None
    port = raw.get("port")
    end = raw.get("endPort")
    if end is not None and (isinstance(end, bool) or not isinstance(end, int)):
        r.error("invalid-type", f"{path}.endPort must be an integer", raw.line_of("endPort"), _LEANS)
        return None
    if port is None:
        if end is not None:
            r.error("invalid-port", f"{path}.endPort needs a numeric port", raw.line_of("endPort"), _LEANS)
            return None
        return [PortRange(protocol, MIN_PORT, MAX_PORT)]  # a protocol without port: all its ports
    if isinstance(port, bool) or not isinstance(port, (int, str)):
        r.error("invalid-type", f"{path}.port must be a number or a port name, not "
                f"{type(port).__name__ if not isinstance(port, LList) else 'a list'}; this port "
                "matches nothing here", raw.line_of("port"), _LEANS)
        return None
    if isinstance(port, str):
        if port.isdigit():
            port = int(port)  # an IntOrString written as a quoted number
        else:
            if end is not None:
                # NP-23: endPort requires a numeric port.
                r.error("invalid-port", f"{path}.endPort cannot be used with the named port {port!r}",
                        raw.line_of("endPort"), _LEANS)
                return None
            return [NamedPort(port, protocol)]  # NP-22: resolved per destination pod
    if not MIN_PORT <= port <= MAX_PORT:
        r.error("invalid-port", f"{path}.port {port} is outside 1-65535", raw.line_of("port"), _LEANS)
        return None
    last = port
    if end is not None:
        if end < port:
            r.error("invalid-port", f"{path}.endPort {end} is below port {port}", raw.line_of("endPort"), _LEANS)
            return None
        if end > MAX_PORT:
            r.error("invalid-port", f"{path}.endPort {end} is above 65535", raw.line_of("endPort"), _LEANS)
            return None
        last = end  # NP-23: inclusive range port..endPort
    return [PortRange(protocol, port, last)]
