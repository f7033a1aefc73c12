"""CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy (cilium.io/v2) → IR. Rules CIL-1 … CIL-25.

A Cilium policy lowers to two IR policies: its allow rules in the NetworkPolicy tier (a union
with Kubernetes NetworkPolicies, CIL-24; isolating the directions it has rules for, CIL-1,
CIL-3), and its deny rules in the deny tier, which wins over every allow (CIL-23).
"""

from __future__ import annotations

from typing import Any

from ..diagnostics import Diagnostics, Leans
from ..ir import (
    CILIUM_KEY,
    CILIUM_NAMESPACE,
    CILIUM_NAMESPACE_LABELS,
    CILIUM_SERVICE_ACCOUNT,
    EVERYTHING,
    L7,
    MAX_PORT,
    MIN_PORT,
    PROTOCOLS,
    Action,
    AnyPeer,
    Direction,
    DomainPeer,
    EntityPeer,
    HttpRule,
    L7Kind,
    LabelSelector,
    NamedPort,
    NamePattern,
    NetworkPeer,
    NoPeer,
    Peer,
    PodPeer,
    Policy,
    PolicyRef,
    PortMatch,
    PortRange,
    Requirement,
    Rule,
    ServicePeer,
    Subject,
    Tier,
)
from ..loader import LList, LMap, RawObject
from ._reader import Reader
from .validation import CILIUM

ENTITIES = ("world", "cluster", "host", "remote-node", "all", "kube-apiserver", "init", "health",
            "unmanaged", "ingress", "none")
_ALLOW = Leans.MAY_DENY_MORE
_SPECIAL = (CILIUM_NAMESPACE, CILIUM_SERVICE_ACCOUNT)
# An http list none of whose rules could be read (an empty one would admit every request, CIL-15).
_UNREADABLE_HTTP = L7(L7Kind.HTTP, protocol="unreadable")


def _key(key: str) -> str:
    """Cilium label keys: ``k8s:``/``any:`` prefixes are the same labels; namespace, service
    account and namespace labels are identity labels kubeward indexes under ``CILIUM_KEY``."""
    for prefix in ("k8s:", "any:"):
        if key.startswith(prefix):
            key = key[len(prefix):]
            break
    if key in _SPECIAL or key.startswith(CILIUM_NAMESPACE_LABELS):
        return CILIUM_KEY + key
    return key


def cilium_selector(sel: LabelSelector) -> LabelSelector:
    if sel.nothing:
        return sel
    return LabelSelector(tuple(Requirement(_key(r.key), r.operator, r.values) for r in sel.requirements))


def _names_namespace(sel: LabelSelector) -> bool:
    return any(r.key == CILIUM_KEY + CILIUM_NAMESPACE for r in sel.requirements)


class _Lowering:
    def __init__(self, obj: RawObject, diags: Diagnostics, clusterwide: bool) -> None:
        self.obj = obj
        self.r = Reader(obj, diags, admission=CILIUM)  # CIL-26: Cilium validates every selector
        self.clusterwide = clusterwide
        self.ns = "" if clusterwide else (obj.namespace or "default")
        kind = "CiliumClusterwideNetworkPolicy" if clusterwide else "CiliumNetworkPolicy"
        self.ref = PolicyRef(kind, self.ns, obj.name, obj.file, obj.line, obj.api_version)

    # ---- peers -----------------------------------------------------------------------

    def _endpoints(self, raw: LMap, key: str, path: str, requires: LabelSelector | None) -> list[Peer]:
        out: list[Peer] = []
        for j, item in enumerate(self.r.get_list(raw, key, path, _ALLOW) or []):
            if not isinstance(item, LMap):
                self.r.error("invalid-type", f"{path}.{key}[{j}] must be a label selector", raw.line_of(key), _ALLOW)
                continue
            sel = cilium_selector(self.r.selector_value(item, f"{path}.{key}[{j}]", _ALLOW))
            if requires is not None and not sel.nothing:
                sel = LabelSelector(sel.requirements + requires.requirements)
            if self.clusterwide or _names_namespace(sel):
                out.append(PodPeer(sel))  # CIL-8: CCNP peers span every namespace
            else:
                out.append(PodPeer(sel, namespace=self.ns))  # CIL-7: the policy's namespace is added
        return out

    def _cidrs(self, raw: LMap, key: str, path: str) -> list[Peer]:
        out: list[Peer] = []
        for j, item in enumerate(self.r.get_list(raw, key, path, _ALLOW) or []):
            line = raw.line_of(key)
            if key.endswith("Set"):
                if not isinstance(item, LMap):
                    continue
                if item.get("cidrGroupRef") is not None or item.get("cidrGroupSelector") is not None:
                    self.r.info("not-modelled", f"{path}.{key}[{j}]: CiliumCIDRGroup references are not "
                                "modelled (they match nothing here)", item.line)
                    continue
                peer = self.r.network(item.get("cidr"), item.get("except"), item.line, f"{path}.{key}[{j}]", _ALLOW)
            else:
                peer = self.r.network(item, None, line, f"{path}.{key}[{j}]", _ALLOW)
            if isinstance(peer, NetworkPeer):
                # CIL-10: CIDR rules never select Cilium-managed pods.
                peer = NetworkPeer(peer.cidr, peer.excepts, peer.ranges, False, True)
            out.append(peer)
        return out

    def _entities(self, raw: LMap, key: str, path: str) -> list[Peer]:
        out: list[Peer] = []
        for j, item in enumerate(self.r.get_list(raw, key, path, _ALLOW) or []):
            if item not in ENTITIES:
                self.r.error("invalid-value", f"{path}.{key}[{j}] {item!r} is not a Cilium entity "
                             f"({', '.join(ENTITIES)})", raw.line_of(key), _ALLOW)
                continue
            out.append(EntityPeer(str(item)))
        return out

    def _services(self, raw: LMap, path: str) -> list[Peer]:
        out: list[Peer] = []
        for j, item in enumerate(self.r.get_list(raw, "toServices", path, _ALLOW) or []):
            svc = item.get("k8sService") if isinstance(item, LMap) else None
            by_labels = item.get("k8sServiceSelector") if isinstance(item, LMap) else None
            if isinstance(svc, LMap) and isinstance(svc.get("serviceName"), str):
                out.append(ServicePeer(str(svc.get("namespace") or self.ns or "default"), svc["serviceName"]))
            elif isinstance(by_labels, LMap) and isinstance(by_labels.get("selector"), LMap):
                sel = self.r.selector_value(by_labels["selector"],
                                            f"{path}.toServices[{j}].k8sServiceSelector.selector", _ALLOW)
                out.append(ServicePeer(str(by_labels.get("namespace") or self.ns), selector=sel))
            else:
                self.r.error("invalid-value", f"{path}.toServices[{j}] needs k8sService or k8sServiceSelector",
                             raw.line_of("toServices"), _ALLOW)
        return out

    def _fqdns(self, raw: LMap, path: str) -> list[Peer]:
        out: list[Peer] = []
        for j, item in enumerate(self.r.get_list(raw, "toFQDNs", path, _ALLOW) or []):
            if isinstance(item, LMap) and isinstance(item.get("matchName"), str):
                out.append(DomainPeer(item["matchName"].lower().rstrip("."), NamePattern.CILIUM))
            elif isinstance(item, LMap) and isinstance(item.get("matchPattern"), str):
                out.append(DomainPeer(item["matchPattern"].lower().rstrip("."), NamePattern.CILIUM))
            else:
                self.r.error("invalid-value", f"{path}.toFQDNs[{j}] needs matchName or matchPattern",
                             raw.line_of("toFQDNs"), _ALLOW)
        return out

    # ---- ports -----------------------------------------------------------------------

    def _ports(self, entry: LMap, path: str) -> tuple[PortMatch, ...] | None:
        items = self.r.get_list(entry, "ports", path, _ALLOW)
        if not items:
            return None
        out: list[PortMatch] = []
        for k, p in enumerate(items):
            pp = f"{path}.ports[{k}]"
            if not isinstance(p, LMap):
                self.r.error("invalid-type", f"{pp} must be a mapping", entry.line_of("ports"), _ALLOW)
                continue
            proto = str(p.get("protocol") or "ANY").upper()
            protocols = PROTOCOLS if proto == "ANY" else (proto,)  # CIL-13
            if proto != "ANY" and proto not in PROTOCOLS:
                if proto == "ICMP" or proto == "ICMPV6":
                    self.r.info("not-modelled", f"{pp}.protocol {proto}: ICMP is not modelled", p.line_of("protocol"))
                else:
                    self.r.error("unknown-protocol", f"{pp}.protocol {proto!r} is not TCP, UDP, SCTP or ANY",
                                 p.line_of("protocol"), _ALLOW)
                continue
            port: Any = p.get("port")
            end = p.get("endPort")
            text = str(port) if port is not None else "0"
            if not text.isdigit():
                if end is not None:
                    self.r.warning("invalid-port", f"{pp}: endPort is ignored with the named port {text!r} (CIL-13)",
                                   p.line_of("endPort"))
                out.extend(NamedPort(text, None if proto == "ANY" else proto) for _ in (0,))
                continue
            first = int(text)
            if first == 0:
                out.extend(PortRange(pr, MIN_PORT, MAX_PORT) for pr in protocols)
                continue
            last = first
            if isinstance(end, int) and not isinstance(end, bool) and end:
                if end < first:
                    self.r.error("invalid-port", f"{pp}.endPort {end} is below port {first}", p.line_of("endPort"),
                                 _ALLOW)
                    continue
                last = end
            if not MIN_PORT <= first <= MAX_PORT or last > MAX_PORT:
                self.r.error("invalid-port", f"{pp}: port {first} is outside 1-65535", p.line_of("port"), _ALLOW)
                continue
            out.extend(PortRange(pr, first, last) for pr in protocols)
        return tuple(out)

    def _l7(self, entry: LMap, path: str, deny: bool) -> L7 | None:
        rules = self.r.get_map(entry, "rules", path, _ALLOW)
        if not rules:
            return None
        if deny:
            self.r.error("invalid-rule", f"{path}.rules: deny rules do not support L7 rules (CIL-23); ignored",
                         entry.line_of("rules"), Leans.MAY_ALLOW_MORE)
            return None
        if isinstance(rules.get("http"), LList):
            http: list[HttpRule] = []
            written = rules["http"]
            for n, h in enumerate(written):
                hp = f"{path}.rules.http[{n}]"
                if not isinstance(h, LMap):
                    self.r.error("invalid-type", f"{hp} must be a mapping; it admits no request", written.line_of(n),
                                 _ALLOW)
                    continue
                headers = self.r.string_list(h, "headers", hp, _ALLOW)
                header_matches = self.r.get_list(h, "headerMatches", hp, _ALLOW)
                if headers is None or (header_matches is None and h.get("headerMatches") is not None):
                    continue  # unreadable: this HTTP rule admits no request (fails closed)
                for hm in header_matches or ():
                    if isinstance(hm, LMap) and hm.get("name"):
                        headers += (f"{hm['name']}: {hm.get('value', '')}" if hm.get("value") else str(hm["name"]),)
                http.append(HttpRule(str(h.get("method") or ""), str(h.get("path") or ""), str(h.get("host") or ""),
                                     headers, h.line))
            if written and not http:
                return _UNREADABLE_HTTP
            return L7(L7Kind.HTTP, tuple(http))
        if isinstance(rules.get("dns"), LList):
            patterns: list[str] = []
            for d in rules["dns"]:
                if isinstance(d, LMap):
                    value = d.get("matchName") or d.get("matchPattern")
                    if isinstance(value, str):
                        patterns.append(value.lower().rstrip("."))
            return L7(L7Kind.DNS, dns=tuple(patterns))
        kinds = [k for k in rules if rules[k] is not None]
        self.r.info("not-modelled", f"{path}.rules: L7 {', '.join(kinds)} rules are not modelled; the port is "
                    "treated as allowed at L7 (may allow more than shown)", entry.line_of("rules"))
        return L7(L7Kind.OTHER, protocol=str(kinds[0]) if kinds else "unknown")

    # ---- rules -----------------------------------------------------------------------

    def rules(self, spec: LMap, key: str, direction: Direction, action: Action, start: int, path: str) -> list[Rule]:
        section = self.r.get_list(spec, key, path, _ALLOW)
        out: list[Rule] = []
        if not section:
            return out
        ingress = direction is Direction.INGRESS
        deny = action is Action.DENY
        for i, raw in enumerate(section):
            rp = f"{path}.{key}[{i}]"
            line = section.line_of(i)
            if not isinstance(raw, LMap):
                self.r.error("invalid-type", f"{rp} must be a mapping", line, _ALLOW)
                continue
            prefix = "from" if ingress else "to"
            requires_raw = raw.get(f"{prefix}Requires")
            requires = None
            if isinstance(requires_raw, LList) and requires_raw:
                reqs: list[Requirement] = []
                for item in requires_raw:
                    if isinstance(item, LMap):
                        value = self.r.selector_value(item, f"{rp}.{prefix}Requires", _ALLOW)
                        reqs.extend(cilium_selector(value).requirements)
                requires = LabelSelector(tuple(reqs))
            peers: list[Peer] = []
            peers += self._endpoints(raw, f"{prefix}Endpoints", rp, None)
            peers += self._entities(raw, f"{prefix}Entities", rp)
            peers += self._cidrs(raw, f"{prefix}CIDR", rp)
            peers += self._cidrs(raw, f"{prefix}CIDRSet", rp)
            if not ingress:
                peers += self._services(raw, rp)
                fqdns = self._fqdns(raw, rp)
                if fqdns and deny:
                    self.r.error("invalid-rule", f"{rp}: deny rules do not support toFQDNs (CIL-23); ignored",
                                 raw.line_of("toFQDNs"), Leans.MAY_ALLOW_MORE)
                else:
                    peers += fqdns
            for unmodelled in (f"{prefix}Nodes", f"{prefix}Groups", "icmps", "authentication"):
                if raw.get(unmodelled) is not None:
                    self.r.info("not-modelled", f"{rp}.{unmodelled} is not modelled", raw.line_of(unmodelled))
            has_l3 = any(raw.get(k) is not None for k in (f"{prefix}Endpoints", f"{prefix}Entities", f"{prefix}CIDR",
                                                         f"{prefix}CIDRSet", "toServices", "toFQDNs",
                                                         f"{prefix}Nodes", f"{prefix}Groups"))
            to_ports = self.r.get_list(raw, "toPorts", rp, _ALLOW)
            if not has_l3:
                # CIL-11: only toPorts = an L3 wildcard; nothing at all = matches nothing.
                peers = [AnyPeer()] if to_ports else []
            extra = requires.requirements if requires is not None else ()
            listed_in = key if deny else ""
            if not to_ports:
                out.append(Rule(self.ref, direction, i, action, tuple(peers), None, line,
                                requires=extra, section=listed_in, path=rp))
                continue
            for k, entry in enumerate(to_ports):
                if not isinstance(entry, LMap):
                    continue
                ports = self._ports(entry, f"{rp}.toPorts[{k}]")
                l7 = self._l7(entry, f"{rp}.toPorts[{k}]", deny)
                if l7 is _UNREADABLE_HTTP:  # no HTTP rule could be read: the entry allows no port
                    ports, l7 = (), None
                name = f"toPorts[{k}]" if len(to_ports) > 1 else ""
                out.append(Rule(self.ref, direction, i, action, tuple(peers), ports,
                                to_ports.line_of(k), name, l7, section=listed_in, requires=extra, path=rp))
        return out


def parse_cilium_policy(obj: RawObject, diags: Diagnostics, clusterwide: bool) -> list[Policy]:
    low = _Lowering(obj, diags, clusterwide)
    r = low.r
    specs: list[tuple[LMap, str]] = []
    spec = r.get_map(obj.data, "spec", "", _ALLOW)
    if spec is not None:
        specs.append((spec, "spec"))
    for i, s in enumerate(r.get_list(obj.data, "specs", "", _ALLOW) or []):
        if isinstance(s, LMap):
            specs.append((s, f"specs[{i}]"))
    if not specs:
        r.error("missing-field", "a Cilium policy needs spec or specs; ignored", obj.line, _ALLOW)
    policies: list[Policy] = []
    for spec, path in specs:
        if spec.get("nodeSelector") is not None:
            r.info("not-modelled", f"{path}.nodeSelector: host policies are not modelled (their ingressDeny rules for "
                   "every node feed `kubeward xdp`, CIL-34)", spec.line_of("nodeSelector"))
            continue
        raw_sel = r.selector(spec, "endpointSelector", path, Leans.EITHER)
        if raw_sel is None:
            r.error("missing-field", f"{path}.endpointSelector is required", spec.line, Leans.EITHER)
            continue
        sel = cilium_selector(raw_sel)
        if not clusterwide and _names_namespace(sel):
            # CIL-6: a namespace label in a CNP's endpointSelector is removed.
            r.warning("invalid-selector", f"{path}.endpointSelector names a namespace; a CiliumNetworkPolicy "
                      "only ever selects pods of its own namespace (CIL-6)", spec.line_of("endpointSelector"))
            sel = LabelSelector(tuple(q for q in sel.requirements if q.key != CILIUM_KEY + CILIUM_NAMESPACE))
        subject = Subject(sel) if clusterwide else Subject(sel, namespace=low.ns)
        allow: dict[Direction, list[Rule]] = {}
        deny: dict[Direction, list[Rule]] = {}
        for d, key, dkey in ((Direction.INGRESS, "ingress", "ingressDeny"), (Direction.EGRESS, "egress", "egressDeny")):
            allow[d] = low.rules(spec, key, d, Action.ALLOW, 0, path)
            deny[d] = low.rules(spec, dkey, d, Action.DENY, len(allow[d]), path)
        isolates: set[Direction] = set()
        enable = r.get_map(spec, "enableDefaultDeny", path) or LMap(spec.line)
        for d, key, dkey in ((Direction.INGRESS, "ingress", "ingressDeny"), (Direction.EGRESS, "egress", "egressDeny")):
            has_section = bool(spec.get(key)) or bool(spec.get(dkey))
            # CIL-1 / CIL-3: rules for a direction make it default-deny, unless switched off.
            if has_section and enable.get(d.value) is not False:
                isolates.add(d)
        policies.append(Policy(low.ref, Tier.NETWORK_POLICY, subject, frozenset(isolates),
                               tuple(allow[Direction.INGRESS]), tuple(allow[Direction.EGRESS])))
        if deny[Direction.INGRESS] or deny[Direction.EGRESS]:
            policies.append(Policy(low.ref, Tier.DENY, subject, frozenset(), tuple(deny[Direction.INGRESS]),
                                   tuple(deny[Direction.EGRESS])))
    # CIL-26: one invalid selector and the whole policy is refused, every spec of it (NP-29: in an
    # allow rule, that rule allows nothing instead)
    return [r.finish(p) for p in policies]


def host_policy_denies(obj: RawObject) -> list[tuple[LMap, list[Rule]]]:
    """CIL-34: the ``ingressDeny`` rules of each spec of a host policy (one with ``nodeSelector``),
    with that nodeSelector. The engine leaves host policies out (they select nodes, not pods);
    ``kubeward xdp`` reads their denies here, as the XDP layer at the nodes' NICs."""
    low = _Lowering(obj, Diagnostics(), True)
    specs: list[tuple[LMap, str]] = []
    spec = obj.data.get("spec")
    if isinstance(spec, LMap):
        specs.append((spec, "spec"))
    many = obj.data.get("specs")
    for i, s in enumerate(many if isinstance(many, LList) else []):
        if isinstance(s, LMap):
            specs.append((s, f"specs[{i}]"))
    out: list[tuple[LMap, list[Rule]]] = []
    for s, path in specs:
        node_selector = s.get("nodeSelector")
        if isinstance(node_selector, LMap):
            out.append((node_selector, low.rules(s, "ingressDeny", Direction.INGRESS, Action.DENY, 0, path)))
    return out


__all__ = ["parse_cilium_policy", "host_policy_denies", "cilium_selector", "EVERYTHING", "NoPeer"]
