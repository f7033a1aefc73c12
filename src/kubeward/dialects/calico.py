"""Calico policies (projectcalico.org/v3, crd.projectcalico.org/v1) → IR. Rules CAL-1 … CAL-16.

NetworkPolicy and GlobalNetworkPolicy lower to IR policies in the Calico tier pipeline (tier
by order, policy by order, first Allow/Deny wins, Pass leaves the tier, end-of-tier default).
Input the Calico API server rejects (CAL-7) is an error, and the policy is not applied.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ..diagnostics import Diagnostics, Leans
from ..ir import (
    EVERYTHING,
    MAX_PORT,
    MIN_PORT,
    PROTOCOLS,
    Action,
    AnyPeer,
    CalicoPeer,
    Direction,
    IPRange,
    NamedPort,
    NoPeer,
    Peer,
    Policy,
    PolicyRef,
    PortMatch,
    PortRange,
    Rule,
    ServicePeer,
    Subject,
    Tier,
    TierEnd,
    TierPlacement,
)
from ..loader import LList, LMap, RawObject
from ..model import CalicoTier, Cluster, NetworkSet, Origin
from ._reader import Reader, network_ranges
from .calico_selector import And, Expr, Global, SelectorError, parse_selector, prefix_keys

ACTIONS = {"Allow": Action.ALLOW, "Deny": Action.DENY, "Pass": Action.PASS, "Log": Action.LOG}
DEFAULT_TIER = "default"
DEFAULT_TIER_ORDER = 1_000_000.0  # ANP-13


def parse_tier(obj: RawObject, cluster: Cluster, diags: Diagnostics) -> None:
    r = Reader(obj, diags)
    spec = r.get_map(obj.data, "spec", "") or LMap(obj.line)
    order = spec.get("order")
    action = str(spec.get("defaultAction") or "Deny")
    if action not in ("Deny", "Pass"):
        r.error("invalid-value", f"spec.defaultAction {action!r} is neither Deny nor Pass",
                spec.line_of("defaultAction"))
        action = "Deny"
    if obj.name == DEFAULT_TIER and action != "Deny":
        r.error("invalid-value", "the default tier's defaultAction must be Deny (CAL-11)",
                spec.line_of("defaultAction"))
        action = "Deny"
    cluster.calico.tiers[obj.name] = CalicoTier(obj.name, float(order) if isinstance(order, (int, float)) else None,
                                                 TierEnd.PASS if action == "Pass" else TierEnd.DENY,
                                                 Origin(obj.file, obj.line))


def parse_network_set(obj: RawObject, cluster: Cluster, diags: Diagnostics, global_: bool) -> None:
    r = Reader(obj, diags)
    spec = r.get_map(obj.data, "spec", "") or LMap(obj.line)
    cidrs: list[str] = []
    for i, item in enumerate(r.get_list(spec, "nets", "spec") or []):
        try:
            cidrs.append(str(ipaddress.ip_network(str(item), strict=False)))
        except ValueError:
            r.error("invalid-cidr", f"spec.nets[{i}] {item!r} is not a CIDR", spec.line_of("nets"))
    cluster.calico.network_sets.append(NetworkSet(None if global_ else (obj.namespace or "default"), obj.name,
                                                  r.labels(obj.metadata, "labels", "metadata"), tuple(cidrs),
                                                  Origin(obj.file, obj.line)))


class _Lowering:
    def __init__(self, obj: RawObject, diags: Diagnostics, global_: bool) -> None:
        self.obj = obj
        self.r = Reader(obj, diags)
        self.global_ = global_
        self.ns = None if global_ else (obj.namespace or "default")
        self.ref = PolicyRef("GlobalNetworkPolicy" if global_ else "CalicoNetworkPolicy", self.ns or "", obj.name,
                             obj.file, obj.line, obj.api_version)
        self.rejected: list[str] = []

    def selector(self, raw: LMap, key: str, path: str) -> Expr | None:
        text = raw.get(key)
        if text is None:
            return None
        if not isinstance(text, str):
            self.r.error("invalid-type", f"{path}.{key} must be a selector string", raw.line_of(key), Leans.EITHER)
            self.rejected.append(f"{path}.{key} is not a string")
            return None
        try:
            return parse_selector(text)
        except SelectorError as exc:
            # The API server validates selectors: the policy would be refused.
            self.r.error("invalid-selector", f"{path}.{key} {text!r}: {exc}", raw.line_of(key), Leans.EITHER)
            self.rejected.append(f"{path}.{key} does not parse")
            return None

    def nets(self, raw: LMap, key: str, path: str) -> tuple[IPRange, ...] | None:
        items = raw.get(key)
        if items is None:
            return None
        ranges: list[IPRange] = []
        for i, item in enumerate(items if isinstance(items, LList) else []):
            try:
                ranges.extend(network_ranges(ipaddress.ip_network(str(item), strict=False), []))
            except ValueError:
                self.r.error("invalid-cidr", f"{path}.{key}[{i}] {item!r} is not a CIDR", raw.line_of(key),
                             Leans.EITHER)
                self.rejected.append(f"{path}.{key}[{i}] is not a CIDR")
        return tuple(ranges)

    def peer(self, entity: LMap | None, path: str, ip_version: int | None = None) -> Peer:
        if entity is None:
            return AnyPeer() if ip_version is None else CalicoPeer(ip_version=ip_version, text=f"IPv{ip_version}")
        selector = self.selector(entity, "selector", path)
        not_selector = self.selector(entity, "notSelector", path)
        ns_selector = self.selector(entity, "namespaceSelector", path)
        nets = self.nets(entity, "nets", path)
        not_nets = self.nets(entity, "notNets", path)
        sas = None
        sa_selector = None
        raw_sa = entity.get("serviceAccounts")
        if isinstance(raw_sa, LMap):
            if raw_sa.get("names") is not None:
                sas = tuple(str(n) for n in (raw_sa.get("names") or []))
            sa_selector = self.selector(raw_sa, "selector", f"{path}.serviceAccounts")
        services = entity.get("services")
        if isinstance(services, LMap) and isinstance(services.get("name"), str):
            # CAL-6: the Service's endpoints; not combinable with selectors, nets or accounts.
            return ServicePeer(str(services.get("namespace") or self.ns or "default"), services["name"])
        if services is not None:
            self.r.error("invalid-value", f"{path}.services needs a name", entity.line_of("services"), Leans.EITHER)
            self.rejected.append(f"{path}.services has no name")
            return NoPeer("services")
        if all(x is None for x in (selector, not_selector, ns_selector, nets, not_nets, sas, sa_selector)):
            return AnyPeer() if ip_version is None else CalicoPeer(ip_version=ip_version, text=f"IPv{ip_version}")
        scoped_ns = None if self.global_ or ns_selector is not None else self.ns  # CAL-4
        text = " and ".join(f"{k} {v}" for k, v in (("selector", entity.get("selector")),
                                                      ("notSelector", entity.get("notSelector")),
                                                      ("namespaceSelector", entity.get("namespaceSelector")),
                                                      ("nets", list(entity.get("nets") or []) or None),
                                                      ("notNets", list(entity.get("notNets") or []) or None),
                                                      ("serviceAccounts", list(sas) if sas else None)) if v)
        where = f" in namespace {scoped_ns}" if scoped_ns and (selector is not None or not_selector is not None) else ""
        return CalicoPeer(selector, not_selector, scoped_ns if (selector is not None or not_selector is not None
                                                                 or sas is not None or sa_selector is not None)
                          else None,
                          ns_selector, nets, not_nets, sas, sa_selector, ip_version, text + where)

    def ports(self, entity: LMap | None, protocol: str | None, path: str,
              not_protocol: str | None = None) -> tuple[PortMatch, ...] | None:
        protos = (protocol,) if protocol else tuple(p for p in PROTOCOLS if p != not_protocol)
        if entity is None or (entity.get("ports") is None and entity.get("notPorts") is None):
            if protocol is None and not_protocol is None:
                return None
            return tuple(PortRange(p, MIN_PORT, MAX_PORT) for p in protos)
        out: list[PortMatch] = []
        ports = entity.get("ports")
        not_ports = entity.get("notPorts")
        for key, items in (("ports", ports), ("notPorts", not_ports)):
            if items is None:
                continue
            for i, item in enumerate(items if isinstance(items, LList) else []):
                text = str(item)
                numeric = text.replace(":", "").isdigit()
                if numeric and protocol is None:
                    # CAL-7: numeric ports need a protocol; the API server rejects the policy.
                    self.r.error("calico-port-without-protocol",
                                 f"{path}.{key}[{i}] {text}: rules with numeric ports must set protocol to TCP, UDP "
                                 "or SCTP; the Calico API server rejects this policy, so it is not applied (CAL-7)",
                                 items.line_of(i), Leans.EITHER)
                    self.rejected.append(f"{path}.{key}: numeric port without protocol (CAL-7)")
        if protocol is None and ports is None and not_ports is None:
            return None
        matches: list[PortMatch] = []
        for item in ports if isinstance(ports, LList) else []:
            text = str(item)
            if text.replace(":", "").isdigit():
                lo, _, hi = text.partition(":")
                for p in protos:
                    matches.append(PortRange(p, int(lo), int(hi or lo)))
            else:
                matches.append(NamedPort(text, protocol))
        if ports is None:
            matches = [PortRange(p, MIN_PORT, MAX_PORT) for p in protos]
        if isinstance(not_ports, LList) and not_ports:
            excluded = [str(x) for x in not_ports]
            kept: list[PortMatch] = []
            for m in matches:
                if not isinstance(m, PortRange):
                    kept.append(m)
                    continue
                pieces = [(m.first, m.last)]
                for text in excluded:
                    if not text.replace(":", "").isdigit():
                        self.r.info("approximation", f"{path}.notPorts {text!r}: named notPorts are not modelled",
                                    entity.line_of("notPorts") if entity is not None else 0)
                        continue
                    lo_s, _, hi_s = text.partition(":")
                    x_lo, x_hi = int(lo_s), int(hi_s or lo_s)
                    pieces = [piece for a, b in pieces for piece in ((a, min(b, x_lo - 1)), (max(a, x_hi + 1), b))
                              if piece[0] <= piece[1]]
                kept.extend(PortRange(m.protocol, a, b) for a, b in pieces)
            matches = kept
        out.extend(matches)
        return tuple(out)

    def rules(self, spec: LMap, key: str, direction: Direction) -> list[Rule]:
        out: list[Rule] = []
        raw_section = spec.get(key)
        section: LList = raw_section if isinstance(raw_section, LList) else LList(spec.line)
        for i, raw in enumerate(section):
            path = f"spec.{key}[{i}]"
            line = section.line_of(i)
            if not isinstance(raw, LMap):
                self.r.error("invalid-type", f"{path} must be a mapping", line, Leans.EITHER)
                continue
            action = ACTIONS.get(str(raw.get("action")))
            if action is None:
                self.r.error("invalid-action", f"{path}.action {raw.get('action')!r} is not Allow, Deny, Pass or Log",
                             raw.line_of("action"), Leans.EITHER)
                self.rejected.append(f"{path}.action is invalid")
                continue
            protocol: Any = raw.get("protocol")
            if isinstance(protocol, str):
                protocol = protocol.upper()
            if protocol is not None and protocol not in PROTOCOLS:
                self.r.info("not-modelled", f"{path}.protocol {protocol}: only TCP, UDP and SCTP are modelled; this "
                            "rule matches nothing here", raw.line_of("protocol"))
                out.append(Rule(self.ref, direction, i, action, (), (), line))
                continue
            not_protocol = raw.get("notProtocol")
            not_protocol = str(not_protocol).upper() if not_protocol is not None else None
            ip_version = raw.get("ipVersion") if raw.get("ipVersion") in (4, 6) else None
            for unmodelled in ("icmp", "notICMP"):
                if raw.get(unmodelled) is not None:
                    self.r.info("approximation", f"{path}.{unmodelled} is not modelled (ignored)",
                                raw.line_of(unmodelled))
            if raw.get("http") is not None:
                # CAL-9: only with Calico's application layer policy, ingress Allow rules only.
                self.r.info("approximation", f"{path}.http needs Calico application layer policy; not modelled "
                            "(the rule is evaluated at L4)", raw.line_of("http"))
            source = raw.get("source") if isinstance(raw.get("source"), LMap) else None
            dest = raw.get("destination") if isinstance(raw.get("destination"), LMap) else None
            local, remote = (dest, source) if direction is Direction.INGRESS else (source, dest)
            if local is not None and any(local.get(k) is not None for k in ("selector", "notSelector", "nets",
                                                                              "notNets", "namespaceSelector")):
                self.r.info("approximation", f"{path}: selectors on the policy's own endpoint side of a rule are not "
                            "modelled (ignored)", local.line)
            if source is not None and source.get("ports") is not None:
                self.r.info("not-modelled", f"{path}.source.ports (source ports) are not modelled (ignored)",
                            source.line_of("ports"))
            ports = self.ports(dest, protocol, f"{path}.destination", not_protocol)
            peer = self.peer(remote, f"{path}.{'source' if direction is Direction.INGRESS else 'destination'}",
                             ip_version)
            out.append(Rule(self.ref, direction, i, action, (peer,), ports, line))
        return out


def parse_calico_policy(obj: RawObject, cluster: Cluster, diags: Diagnostics, global_: bool) -> Policy | None:
    low = _Lowering(obj, diags, global_)
    r = low.r
    spec = r.get_map(obj.data, "spec", "") or LMap(obj.line)
    selector = low.selector(spec, "selector", "spec")
    ns_selector = low.selector(spec, "namespaceSelector", "spec") if global_ else None
    if global_ and ns_selector is not None:
        # CAL-15: namespaces by their labels, which Calico gives endpoints as pcns.* (CAL-14).
        selector = _and(selector, prefix_keys(ns_selector, "pcns."))
    for flag in ("doNotTrack", "preDNAT", "applyOnForward"):
        if spec.get(flag):
            r.info("approximation", f"spec.{flag}: host-level evaluation is not modelled; the policy is evaluated "
                   "as a normal workload policy", spec.line_of(flag))
    sa_selector = low.selector(spec, "serviceAccountSelector", "spec")
    if sa_selector is not None:
        # CAL-15: the endpoints whose service account's labels match (Calico labels them pcsa.*).
        selector = _and(selector, prefix_keys(sa_selector, "pcsa."))
    ingress = low.rules(spec, "ingress", Direction.INGRESS)
    egress = low.rules(spec, "egress", Direction.EGRESS)
    types = spec.get("types")
    isolates: set[Direction] = set()
    if isinstance(types, LList) and types:
        for t in types:
            if t == "Ingress":
                isolates.add(Direction.INGRESS)
            elif t == "Egress":
                isolates.add(Direction.EGRESS)
    else:
        # CAL-12: Ingress unless only egress rules; both when both.
        if egress:
            isolates.add(Direction.EGRESS)
        if ingress or not egress:
            isolates.add(Direction.INGRESS)
    # The tier is resolved by the engine (Tier objects may come later in the input).
    order = spec.get("order")
    placement = TierPlacement(str(spec.get("tier") or DEFAULT_TIER),
                              float(order) if isinstance(order, (int, float)) else None)
    subject = Subject(EVERYTHING, namespace=low.ns)
    policy = Policy(low.ref, Tier.ORDERED, subject, frozenset(isolates), tuple(ingress), tuple(egress),
                    placement=placement,
                    selector_expr=selector if selector is not None else parse_selector(""),
                    rejected="; ".join(low.rejected))
    return policy


def _and(a: Expr | None, b: Expr) -> Expr:
    if a is None or isinstance(b, Global):
        return b if a is None else a
    return And((a, b))


__all__ = ["parse_calico_policy", "parse_tier", "parse_network_set", "Global"]
