"""Calico policies (projectcalico.org/v3, crd.projectcalico.org/v1) → IR. Rules CAL-1 … CAL-21.

NetworkPolicy and GlobalNetworkPolicy lower to IR policies in the Calico tier pipeline (tier
by order, policy by order, first Allow/Deny wins, Pass leaves the tier, end-of-tier default).
Input the Calico API server rejects (CAL-7) is an error, and the policy is not applied.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
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
    CompareOp,
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
from ..model import CalicoProfile, CalicoTier, Cluster, NetworkSet, Origin
from ._reader import Reader, describe, network_ranges
from .calico_selector import (
    NAMESPACE_LABEL,
    And,
    Compare,
    Expr,
    Global,
    Has,
    InSet,
    SelectorError,
    canonical,
    namespace_scope,
    parse_selector,
    prefix_keys,
    uses_global,
)

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


SERVICE_ACCOUNT_LABEL = "projectcalico.org/serviceaccount"
# CAL-17: the protocol names Calico accepts, and the numbers they stand for.
PROTOCOL_NUMBERS = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMPV6": 58, "SCTP": 132, "UDPLITE": 136}
# Names for the messages about protocols kubeward's flows do not carry (IANA protocol numbers).
PROTOCOL_NAMES = {1: "ICMP", 2: "IGMP", 4: "IPIP", 41: "IPv6", 47: "GRE", 50: "ESP", 51: "AH", 58: "ICMPv6",
                  89: "OSPF", 103: "PIM", 112: "VRRP", 136: "UDPLite"}
MODELLED_PROTOCOLS = {6: "TCP", 17: "UDP", 132: "SCTP"}
# The entity-rule fields that name endpoints or addresses (not ports).
ENTITY_FIELDS = ("selector", "notSelector", "namespaceSelector", "nets", "notNets", "serviceAccounts", "services")


@dataclass(frozen=True, slots=True)
class _Protocol:
    """A rule's ``protocol`` or ``notProtocol`` as Calico reads it: a name or a number 1-255."""

    number: int  # 0: invalid (the policy is rejected)

    @property
    def modelled(self) -> str | None:
        """TCP, UDP or SCTP, the protocols of kubeward's flows; None for every other one."""
        return MODELLED_PROTOCOLS.get(self.number)

    def __str__(self) -> str:
        name = MODELLED_PROTOCOLS.get(self.number) or PROTOCOL_NAMES.get(self.number)
        return f"{name} ({self.number})" if name else f"IP protocol {self.number}"


class _Lowering:
    def __init__(self, obj: RawObject, diags: Diagnostics, global_: bool) -> None:
        self.obj = obj
        self.r = Reader(obj, diags)
        self.global_ = global_
        self.ns = None if global_ else (obj.namespace or "default")
        # CAL-23: a staged policy keeps its own kind (never enforced unless --enforce-staged).
        kind = obj.kind if obj.kind.startswith("Staged") else (
            "GlobalNetworkPolicy" if global_ else "CalicoNetworkPolicy")
        self.ref = PolicyRef(kind, self.ns or "", obj.name,
                             obj.file, obj.line, obj.api_version)
        self.rejected: list[str] = []

    def reject(self, code: str, message: str, line: int, why: str) -> None:
        """Input the Calico API server refuses: an error, and the policy is not applied (CAL-7)."""
        self.r.error(code, message, line, Leans.EITHER)
        self.rejected.append(why)

    def selector(self, raw: LMap, key: str, path: str) -> Expr | None:
        """A selector field; None when absent or empty (Calico treats ``""`` as not set)."""
        text = raw.get(key)
        if text is None:
            return None
        if not isinstance(text, str):
            self.reject("invalid-type", f"{path}.{key} must be a selector string", raw.line_of(key),
                        f"{path}.{key} is not a string")
            return None
        if not text.strip():
            return None
        try:
            return parse_selector(text)
        except SelectorError as exc:
            # The API server validates selectors: the policy would be refused.
            self.reject("invalid-selector", f"{path}.{key} {text!r}: {exc}", raw.line_of(key),
                        f"{path}.{key} does not parse")
            return None

    def no_global(self, expr: Expr | None, raw: LMap, key: str, path: str) -> Expr | None:
        """CAL-19: ``global()`` is valid only in an entity rule's namespaceSelector."""
        if expr is not None and uses_global(expr):
            self.reject("invalid-selector", f"{path}.{key} {raw.get(key)!r}: global() can only be used in a rule's "
                        "namespaceSelector; the Calico API server rejects this policy, so it is not applied (CAL-19)",
                        raw.line_of(key), f"{path}.{key} uses global()")
        return expr

    def namespace_selector(self, raw: LMap, path: str) -> Expr | None:
        """A rule's namespaceSelector, checked as Calico's validator does (CAL-19)."""
        expr = self.selector(raw, "namespaceSelector", path)
        if expr is None or isinstance(expr, Global) or not uses_global(expr):
            return expr
        text = raw.get("namespaceSelector")
        line = raw.line_of("namespaceSelector")
        where = f"{path}.namespaceSelector {text!r}"
        if _GLOBAL_JOINED.search(canonical(expr)):
            self.reject("invalid-selector", f"{where}: global() cannot be combined with other selectors by && or "
                        "||; every Calico release rejects this policy, so it is not applied (CAL-19)", line,
                        f"{path}.namespaceSelector combines global()")
        else:
            self.r.warning("calico-version-dependent", f"{where}: Calico v3.30 and later reject a namespaceSelector "
                           "that combines global() with anything else; earlier releases accept it and evaluate "
                           f"it as {namespace_scope(expr)}, which kubeward does (CAL-19)", line, Leans.EITHER)
        return expr

    def nets(self, raw: LMap, key: str, path: str) -> tuple[IPRange, ...] | None:
        items = raw.get(key)
        if items is None:
            return None
        ranges: list[IPRange] = []
        if not isinstance(items, LList):
            self.reject("invalid-type", f"{path}.{key} must be a list of CIDRs, not {describe(items)}; the Calico API "
                        "server rejects this policy, so it is not applied (CAL-7)", raw.line_of(key),
                        f"{path}.{key} is not a list")
            return ()
        for i, item in enumerate(items):
            try:
                ranges.extend(network_ranges(ipaddress.ip_network(str(item), strict=False), []))
            except ValueError:
                self.reject("invalid-cidr", f"{path}.{key}[{i}] {item!r} is not a CIDR", raw.line_of(key),
                            f"{path}.{key}[{i}] is not a CIDR")
        return tuple(ranges)

    def peer(self, entity: LMap | None, path: str, ip_version: int | None = None) -> Peer:
        """An entity rule's endpoints and addresses (CAL-4, CAL-6), with one endpoint selector built
        as Calico builds it (CAL-19)."""
        if entity is None:
            return AnyPeer() if ip_version is None else CalicoPeer(ip_version=ip_version, text=f"IPv{ip_version}")
        selector = self.no_global(self.selector(entity, "selector", path), entity, "selector", path)
        not_selector = self.selector(entity, "notSelector", path)
        ns_selector = self.namespace_selector(entity, path)
        nets = self.nets(entity, "nets", path)
        not_nets = self.nets(entity, "notNets", path)
        accounts: list[Expr] = []
        raw_sa = entity.get("serviceAccounts")
        names: list[str] = []
        if isinstance(raw_sa, LMap):
            sa_selector = self.selector(raw_sa, "selector", f"{path}.serviceAccounts")
            if sa_selector is not None:
                # The ServiceAccount's labels, which Calico gives its endpoints as pcsa.* (CAL-15).
                accounts.append(prefix_keys(sa_selector, "pcsa."))
            raw_names = raw_sa.get("names")
            if raw_names is not None and not isinstance(raw_names, LList):
                self.reject("invalid-type", f"{path}.serviceAccounts.names must be a list of names, not "
                            f"{describe(raw_names)}; the Calico API server rejects this policy, so it is not applied "
                            "(CAL-7)", raw_sa.line_of("names"), f"{path}.serviceAccounts.names is not a list")
                return NoPeer("serviceAccounts.names")
            names = [str(n) for n in raw_names or ()]
            if names:
                accounts.append(InSet(SERVICE_ACCOUNT_LABEL, tuple(names)))
        services = entity.get("services")
        if isinstance(services, LMap) and isinstance(services.get("name"), str):
            # CAL-6: the Service's endpoints; not combinable with selectors, nets or accounts.
            return ServicePeer(str(services.get("namespace") or self.ns or "default"), services["name"])
        if services is not None:
            self.reject("invalid-value", f"{path}.services needs a name", entity.line_of("services"),
                        f"{path}.services has no name")
            return NoPeer("services")
        parts = [*accounts, *([selector] if selector is not None else [])]
        positive: Expr | None = _all_of(parts)
        if ns_selector is not None:
            scope: Expr | None = namespace_scope(ns_selector)  # CAL-19
        else:
            scope = Compare(CompareOp.EQ, NAMESPACE_LABEL, self.ns) if self.ns else None  # CAL-4
        if scope is not None and (positive is not None or not_selector is not None or ns_selector is not None):
            # CAL-4: any selector field keeps the rule in the policy's namespace, or in the
            # namespaces the namespaceSelector picks.
            positive = _all_of([scope, positive] if positive is not None else [scope])
        if all(x is None for x in (positive, not_selector, nets, not_nets)):
            return AnyPeer() if ip_version is None else CalicoPeer(ip_version=ip_version, text=f"IPv{ip_version}")
        text = " and ".join(f"{k} {v}" for k, v in (("selector", entity.get("selector")),
                                                      ("notSelector", entity.get("notSelector")),
                                                      ("namespaceSelector", entity.get("namespaceSelector")),
                                                      ("nets", _written(entity, "nets")),
                                                      ("notNets", _written(entity, "notNets")),
                                                      ("serviceAccounts", names or None)) if v)
        scoped = self.ns and ns_selector is None and (selector is not None or not_selector is not None)
        where = f" in namespace {self.ns}" if scoped else ""
        return CalicoPeer(positive, not_selector, nets, not_nets, ip_version, text + where)

    def protocol(self, raw: LMap, key: str, path: str) -> _Protocol | None:
        """CAL-17: a protocol name (TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite) or a number 1-255."""
        value = raw.get(key)
        if value is None:
            return None
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, int) and not isinstance(value, bool):
            if 1 <= value <= 255:
                return _Protocol(value)
        elif isinstance(value, str) and value.upper() in PROTOCOL_NUMBERS:
            return _Protocol(PROTOCOL_NUMBERS[value.upper()])
        self.reject("invalid-value", f"{path}.{key} {value!r} is neither a protocol name (TCP, UDP, ICMP, ICMPv6, "
                    "SCTP, UDPLite) nor a number from 1 to 255; the Calico API server rejects this policy, so it is "
                    "not applied (CAL-17)", raw.line_of(key), f"{path}.{key} is invalid")
        return _Protocol(0)

    def ports(self, entity: LMap | None, protocol: str | None, path: str,
              not_protocol: str | None = None) -> tuple[PortMatch, ...] | None:
        protos = tuple(p for p in ((protocol,) if protocol else PROTOCOLS) if p != not_protocol)
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
            if not isinstance(items, LList):
                self.reject("invalid-type", f"{path}.{key} must be a list of ports, not {describe(items)}; the Calico "
                            "API server rejects this policy, so it is not applied (CAL-7)", entity.line_of(key),
                            f"{path}.{key} is not a list")
                continue
            for i, item in enumerate(items):
                text = str(item)
                numeric = text.replace(":", "").isdigit()
                if numeric and protocol is None:
                    # CAL-7: numeric ports need a protocol; the API server rejects the policy.
                    self.reject("calico-port-without-protocol",
                                f"{path}.{key}[{i}] {text}: rules with numeric ports must set protocol to TCP, UDP "
                                "or SCTP; the Calico API server rejects this policy, so it is not applied (CAL-7)",
                                items.line_of(i), f"{path}.{key}: numeric port without protocol (CAL-7)")
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
                self.reject("invalid-action", f"{path}.action {raw.get('action')!r} is not Allow, Deny, Pass or Log",
                            raw.line_of("action"), f"{path}.action is invalid")
                continue
            source = raw.get("source") if isinstance(raw.get("source"), LMap) else None
            dest = raw.get("destination") if isinstance(raw.get("destination"), LMap) else None
            proto = self.protocol(raw, "protocol", path)
            not_proto = self.protocol(raw, "notProtocol", path)
            with_ports = [f"{path}.{side}.{k}" for side, e in (("source", source), ("destination", dest))
                          if e is not None for k in ("ports", "notPorts") if e.get(k) is not None]
            if proto is not None and proto.modelled is None:
                if with_ports and proto.number:
                    # CAL-17: only TCP, UDP and SCTP (by name or number) have ports.
                    self.reject("calico-port-without-protocol",
                                f"{with_ports[0]}: rules that specify ports must set protocol to TCP, UDP or SCTP, "
                                f"not {proto}; the Calico API server rejects this policy, so it is not applied "
                                "(CAL-17)", raw.line_of("protocol"), f"{path}: ports with protocol {proto}")
                elif proto.number:
                    self.r.info("not-modelled", f"{path}.protocol {proto}: kubeward's flows are TCP, UDP and SCTP, "
                                f"none of which this rule matches; what it does to {proto} traffic is not shown "
                                "(CAL-17)", raw.line_of("protocol"))
                out.append(Rule(self.ref, direction, i, action, (), (), line, path=path))
                continue
            protocol = proto.modelled if proto is not None else None
            # CAL-17: another protocol removes nothing from TCP, UDP and SCTP flows.
            not_protocol = not_proto.modelled if not_proto is not None else None
            ip_version = raw.get("ipVersion") if raw.get("ipVersion") in (4, 6) else None
            for unmodelled in ("icmp", "notICMP"):
                if raw.get(unmodelled) is not None:
                    self.r.info("approximation", f"{path}.{unmodelled} is not modelled (ignored)",
                                raw.line_of(unmodelled))
            if raw.get("http") is not None:
                # CAL-9: only with Calico's application layer policy, ingress Allow rules only.
                self.r.info("approximation", f"{path}.http needs Calico application layer policy; not modelled "
                            "(the rule is evaluated at L4)", raw.line_of("http"))
            local, remote = (dest, source) if direction is Direction.INGRESS else (source, dest)
            own_side = "destination" if direction is Direction.INGRESS else "source"
            subject_only: Peer | None = None
            if local is not None and any(local.get(k) is not None for k in ENTITY_FIELDS):
                # CAL-18: the own side's criteria must match the policy's endpoint itself.
                own = self.peer(local, f"{path}.{own_side}")
                subject_only = None if isinstance(own, AnyPeer) else own
            source_ports = None
            if source is not None and (source.get("ports") is not None or source.get("notPorts") is not None):
                # CAL-20: the connection's source ports; flows carry none (the engine fails closed).
                source_ports = self.ports(source, protocol, f"{path}.source", not_protocol)
                self.r.warning("calico-source-ports", f"{path}.source ports restrict the rule to connections from "
                               "some source ports, which kubeward's flows do not carry: "
                               + ("this Deny rule is taken to deny every source port" if action is Action.DENY
                                  else f"this {action.value.capitalize()} rule is taken to match nothing")
                               + " (CAL-20)", source.line_of("ports" if source.get("ports") is not None
                                                              else "notPorts"),
                               Leans.EITHER if action is Action.PASS else Leans.MAY_ALLOW_MORE)
            ports = self.ports(dest, protocol, f"{path}.destination", not_protocol)
            peer = self.peer(remote, f"{path}.{'source' if direction is Direction.INGRESS else 'destination'}",
                             ip_version)
            out.append(Rule(self.ref, direction, i, action, (peer,), ports, line, subject_only=subject_only,
                            source_ports=source_ports, path=path))
        return out


_GLOBAL_JOINED = re.compile(r"(&&|\|\|) global\(\)|global\(\) (&&|\|\|)")  # CAL-19: before v3.30


def _written(entity: LMap, key: str) -> list[Any] | None:
    """A list field as written, for a peer's text (None when absent, empty or not a list)."""
    value = entity.get(key)
    return list(value) if isinstance(value, LList) and value else None


def _all_of(parts: list[Expr]) -> Expr | None:
    return None if not parts else parts[0] if len(parts) == 1 else And(tuple(parts))


def parse_calico_policy(obj: RawObject, cluster: Cluster, diags: Diagnostics, global_: bool) -> Policy | None:
    low = _Lowering(obj, diags, global_)
    r = low.r
    spec = r.get_map(obj.data, "spec", "") or LMap(obj.line)
    selector = low.no_global(low.selector(spec, "selector", "spec"), spec, "selector", "spec")
    ns_selector = (low.no_global(low.selector(spec, "namespaceSelector", "spec"), spec, "namespaceSelector", "spec")
                   if global_ else None)
    if ns_selector is not None:
        # CAL-15: namespaces by their labels, which Calico gives endpoints as pcns.* (CAL-14);
        # all() there means "in a namespace".
        selector = _and(selector, prefix_keys(ns_selector, "pcns.", all_means=Has(NAMESPACE_LABEL)))
    for flag in ("doNotTrack", "preDNAT", "applyOnForward"):
        if spec.get(flag):
            # CAL-25: read; the untracked Deny rules are what `kubeward xdp` compiles for the NIC.
            r.info("approximation", f"spec.{flag}: host-level evaluation is not modelled; the policy is evaluated "
                   "as a normal workload policy (CAL-25: `kubeward xdp` reads its untracked Deny rules)",
                   spec.line_of(flag))
    sa_selector = low.no_global(low.selector(spec, "serviceAccountSelector", "spec"), spec,
                                "serviceAccountSelector", "spec")
    if sa_selector is not None:
        # CAL-15: the endpoints whose service account's labels match (Calico labels them pcsa.*).
        selector = _and(selector, prefix_keys(sa_selector, "pcsa.", all_means=Has(SERVICE_ACCOUNT_LABEL)))
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
    return b if a is None else And((a, b))


def parse_profile(obj: RawObject, cluster: Cluster, diags: Diagnostics) -> None:
    """CAL-21: a Profile's ``labelsToApply``, inherited by the endpoints that carry the profile:
    for Kubernetes pods, ``kns.<namespace>`` and ``ksa.<namespace>.<service account>``."""
    r = Reader(obj, diags)
    spec = r.get_map(obj.data, "spec", "") or LMap(obj.line)
    labels = r.labels(spec, "labelsToApply", "spec")
    if not obj.name.startswith(("kns.", "ksa.")):
        r.info("not-modelled", f"Profile {obj.name}: Calico gives Kubernetes pods only the profiles kns.<namespace> "
               "and ksa.<namespace>.<service account>, so no workload inherits its labels (CAL-21)", obj.line)
    for key in ("ingress", "egress"):
        rules = spec.get(key)
        if isinstance(rules, LList) and [dict(x) if isinstance(x, LMap) else x for x in rules] != [{"action": "Allow"}]:
            r.info("not-modelled", f"Profile {obj.name}: spec.{key} rules of profiles are not modelled (deprecated "
                   "upstream); the namespace profile allows, as Calico's generated profiles do (CAL-14)",
                   spec.line_of(key))
    cluster.calico.profiles[obj.name] = CalicoProfile(obj.name, labels, Origin(obj.file, obj.line))


__all__ = ["parse_calico_policy", "parse_tier", "parse_network_set", "parse_profile", "Global"]
