"""The Istio mesh layer: sidecars, mTLS (PeerAuthentication) and AuthorizationPolicy (IST-1 … IST-22).

It is ANDed with the CNI layer: after the CNI allows a connection, the destination's proxy
decides. Policies act only where a proxy runs (IST-3).
"""

from __future__ import annotations

import ipaddress
import itertools
import math
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from ..diagnostics import Diagnostics, Leans
from ..ir import Direction, IPRange, LabelSelector, ObjectRef
from ..model import (
    NAMESPACE_NAME_LABEL,
    AuthorizationPolicy,
    Cluster,
    ContainerPort,
    MeshAction,
    MeshCondition,
    MeshOperation,
    MeshRule,
    MeshSource,
    MtlsMode,
    Namespace,
    Origin,
    PeerAuthentication,
    Workload,
    WorkloadKind,
)
from .l7 import HttpRequest
from .options import Options
from .trace import Effect, Layer, Reason, Step, StepTier

INJECTION = "istio-injection"
REVISION = "istio.io/rev"
TLS_MODE_LABEL = "security.istio.io/tlsMode"  # IST-42: the endpoints auto mTLS sends Istio mTLS to
POD_INJECT = "sidecar.istio.io/inject"
DATAPLANE = "istio.io/dataplane-mode"
SERVER_FIRST_PORTS = {3306, 25, 53, 27017}  # IST-22: treated as TCP, never HTTP
# Inbound ports the sidecar does not capture: its own and SSH (Istio's traffic-capture limits).
NOT_CAPTURED = {22, 15000, 15001, 15004, 15006, 15008, 15009, 15020, 15021, 15053, 15090}
TCP_PORT_NAMES = ("tcp", "mongo", "mysql", "redis", "tls", "grpc-web-none")


def membership(cluster: Cluster, w: Workload) -> tuple[str, str]:
    """("sidecar" | "ambient" | "gateway" | "", why) — IST-1, IST-2, IST-32."""
    if w.labels.get("istio") == "egressgateway":  # IST-32: the egress gateway is an Envoy proxy of the mesh
        return "gateway", "an Istio egress gateway proxy (label istio=egressgateway)"
    ns = cluster.namespaces.get(w.namespace)
    ns_labels = ns.labels if ns else {}
    mode = w.labels.get(DATAPLANE) or ns_labels.get(DATAPLANE)
    if mode == "ambient" and w.labels.get(DATAPLANE) != "none":
        return "ambient", f"{DATAPLANE}=ambient"
    pod = w.labels.get(POD_INJECT)
    if ns_labels.get(INJECTION) == "disabled" or pod == "false":
        return "", (f"namespace {w.namespace} has {INJECTION}=disabled" if ns_labels.get(INJECTION) == "disabled"
                    else f"pod label {POD_INJECT}=false")
    if ns_labels.get(INJECTION) == "enabled":
        return "sidecar", f"namespace {w.namespace} has {INJECTION}=enabled"
    if ns_labels.get(REVISION):
        return "sidecar", f"namespace {w.namespace} has {REVISION}={ns_labels[REVISION]}"
    if pod == "true":
        return "sidecar", f"pod label {POD_INJECT}=true"
    return "", f"no injection label on namespace {w.namespace} or its pods"


def principal(options: Options, w: Workload) -> str:
    return f"{options.trust_domain}/ns/{w.namespace}/sa/{w.service_account}"


def peer_authentication(cluster: Cluster, options: Options, w: Workload,
                        port: int) -> tuple[MtlsMode, PeerAuthentication | None, str]:
    """IST-4 … IST-6: workload > namespace > mesh-wide; UNSET inherits; default PERMISSIVE."""
    pas = cluster.mesh.peer_authentications
    workload = sorted((p for p in pas if p.ref.namespace == w.namespace and p.selector is not None
                       and p.ref.namespace != options.root_namespace and p.selector.matches(w.labels)),
                      key=lambda p: (p.created or "9999", p.ref.name))
    namespace = sorted((p for p in pas if p.ref.namespace == w.namespace and p.selector is None),
                       key=lambda p: (p.created or "9999", p.ref.name))
    mesh = sorted((p for p in pas if p.ref.namespace == options.root_namespace and p.selector is None),
                  key=lambda p: (p.created or "9999", p.ref.name))
    for level, found in (("workload", workload[:1]), ("namespace", namespace[:1]), ("mesh", mesh[:1])):
        for p in found:
            mode = p.mode
            if level == "workload" and p.port_modes.get(port, MtlsMode.UNSET) is not MtlsMode.UNSET:
                mode = p.port_modes[port]  # an UNSET port mode inherits the workload's (IST-6)
            if mode is not MtlsMode.UNSET:
                return mode, p, level
    return MtlsMode.PERMISSIVE, None, "default"


def istio_string(pattern: str, value: str | None) -> bool:
    """IST-12: exact, ``abc*`` prefix, ``*abc`` suffix, ``*`` = present."""
    if value is None:
        return False
    if pattern == "*":
        return value != ""
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


def istio_principal(pattern: str, principal_value: str | None, trust_domain: str = "cluster.local") -> bool:
    """IST-17: Istio prepends ``spiffe://`` to exact and prefix patterns itself, so a pattern
    written with it becomes ``spiffe://spiffe://…`` and never matches. ``cluster.local/`` in a
    pattern stands for the local trust domain."""
    if principal_value is None:
        return False
    if pattern.startswith("cluster.local/"):
        pattern = trust_domain + pattern[len("cluster.local"):]
    full = "spiffe://" + principal_value
    if pattern == "*":
        return True
    if pattern.startswith("*"):
        return full.endswith(pattern[1:])
    if pattern.endswith("*"):
        return full.startswith("spiffe://" + pattern[:-1])
    return full == "spiffe://" + pattern


def istio_path(pattern: str, path: str) -> bool:
    """IST-13: on the path without query; ``{*}`` one segment, ``{**}`` any; else IST-12."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    if "{*}" in pattern or "{**}" in pattern:
        regex = re.escape(pattern).replace(r"\{\*\*\}", ".*").replace(r"\{\*\}", "[^/]+")
        return re.fullmatch(regex, path) is not None
    return istio_string(pattern, path)


# Characters a witness request may use between a prefix and a suffix: the first one that appears in
# no pattern of the field separates them from every pattern (IST-26).
_FILLERS = string.ascii_lowercase + string.ascii_uppercase + string.digits


class RequestField(StrEnum):
    """The parts of an HTTP request an AuthorizationPolicy compares, each with its own matching."""

    METHOD = "method"  # IST-24: case-sensitive Istio string
    PATH = "path"      # IST-13: path templates, query removed
    HOST = "host"      # IST-13: case-insensitive
    HEADER = "header"  # IST-19: request.headers[…]


def _field_match(kind: RequestField, pattern: str, value: str) -> bool:
    if kind is RequestField.PATH:
        return istio_path(pattern, value)
    if kind is RequestField.HOST:
        return istio_string(pattern.lower(), value.lower())
    return istio_string(pattern, value)


@lru_cache(maxsize=4096)
def representatives(kind: RequestField, patterns: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    """IST-26: values of a request field, one for every way of matching and missing ``patterns``,
    and whether that is certain (False: path templates, or no fresh character left).

    A value that no pattern names exactly has, among the patterns it matches, a longest prefix P
    and a longest suffix S; P + c + S, with a character c that no pattern contains, matches
    exactly the same patterns. So the patterns' own texts and every P + c + S are enough."""
    if kind is RequestField.HOST:
        patterns = tuple(p.lower() for p in patterns)
    used = set("".join(patterns))
    filler = next((c for c in _FILLERS if c not in used), None)
    templates = any("{*}" in p or "{**}" in p for p in patterns)
    if filler is None:
        return tuple(sorted({*patterns, "GET" if kind is RequestField.METHOD else "/"} - {""})), False
    prefixes = {""} | {p[:-1] for p in patterns if p.endswith("*") and not p.startswith("*")}
    suffixes = {""} | {p[1:] for p in patterns if p.startswith("*") and p != "*"}
    found = {*patterns, *(p.strip("*") for p in patterns), *(a + filler + b for a in prefixes for b in suffixes),
             *(p.replace("{**}", filler).replace("{*}", filler) for p in patterns if templates)}
    return tuple(sorted(found - {""})), not templates


def satisfiable(kind: RequestField, required: tuple[tuple[str, ...], ...], excluded: tuple[str, ...]) -> bool | None:
    """IST-26: whether some value of a request field matches a pattern of every ``required`` group
    and none of ``excluded``: True, False, or None when kubeward cannot tell."""
    values, certain = representatives(kind, tuple(sorted({p for g in required for p in g} | set(excluded))))
    for value in values:
        if all(any(_field_match(kind, p, value) for p in group) for group in required) and \
                not any(_field_match(kind, p, value) for p in excluded):
            return True
    return False if certain else None


def _impossible_operation(o: MeshOperation) -> str | None:
    """IST-26: why no HTTP request can meet this operation's fields, or None if some may."""
    for kind, values, not_values, what in ((RequestField.METHOD, o.methods, o.not_methods, "methods"),
                                           (RequestField.PATH, o.paths, o.not_paths, "paths"),
                                           (RequestField.HOST, o.hosts, o.not_hosts, "hosts")):
        if values is None and not not_values:
            continue
        if satisfiable(kind, () if values is None else (values,), not_values or ()) is False:
            written = [f"{what} {list(values)}"] if values is not None else []
            written += [f"not{what[0].upper()}{what[1:]} {list(not_values)}"] if not_values else []
            return f"no request can meet {' with '.join(written)} (IST-26)"
    return None


def _impossible_conditions(conditions: tuple[MeshCondition, ...]) -> str | None:
    """IST-26: why no request can meet the rule's ``request.headers[…]`` conditions together (all of
    a rule's conditions must hold; a header the request lacks meets only ``notValues``)."""
    by_header: dict[str, tuple[list[tuple[str, ...]], list[str]]] = {}
    for c in conditions:
        if c.key.startswith("request.headers[") and c.key.endswith("]"):
            required, excluded = by_header.setdefault(c.key[len("request.headers["):-1].lower(), ([], []))
            if c.values is not None:
                required.append(c.values)
            excluded.extend(c.not_values or ())
    for name, (required, excluded) in sorted(by_header.items()):
        if required and satisfiable(RequestField.HEADER, tuple(required), tuple(excluded)) is False:
            return f"no request can meet the conditions on request.headers[{name}] together (IST-26)"
    return None


@dataclass(frozen=True, slots=True)
class MeshPeer:
    """What the destination's proxy knows of the client."""

    workload: Workload | None
    address: str | None
    mtls: bool
    principal: str | None


@dataclass(slots=True)
class Match:
    """True, False, or None (depends on something kubeward cannot know), with why."""

    value: bool | None
    why: list[str] = field(default_factory=list)


def _source_matches(s: MeshSource, peer: MeshPeer, policy_ns: str = "") -> Match:
    m = Match(True)
    ns = peer.workload.namespace if peer.workload and peer.mtls else None
    sa = f"{peer.workload.namespace}/{peer.workload.service_account}" if peer.workload and peer.mtls else None

    def check(values: tuple[str, ...] | None, negate: bool, ok: bool, what: str) -> None:
        if values is None or m.value is False:
            return
        hit = ok if not negate else not ok
        if not hit:
            m.value = False
            m.why.append(f"{'not' if negate else ''}{what} {list(values)} does not match")

    td = peer.principal.split("/", 1)[0] if peer.principal else "cluster.local"
    check(s.principals, False, any(istio_principal(p, peer.principal, td) for p in s.principals or ()), "principals")
    if m.value is False and any(p.startswith("spiffe://") for p in s.principals or ()):
        m.why.append("(a principal written with spiffe:// never matches: Istio adds the prefix itself, IST-17)")
    if m.value is False and s.principals is not None and not peer.mtls:
        m.why.append("(plaintext: no peer identity, IST-16)")
    check(s.not_principals, True, any(istio_principal(p, peer.principal, td) for p in s.not_principals or ()),
          "Principals")
    check(s.namespaces, False, any(istio_string(p, ns) for p in s.namespaces or ()), "namespaces")
    check(s.not_namespaces, True, any(istio_string(p, ns) for p in s.not_namespaces or ()), "Namespaces")
    def qualified(values: tuple[str, ...] | None) -> tuple[str, ...]:
        # A bare service account name is one of the policy's namespace.
        return tuple(v if "/" in v else f"{policy_ns}/{v}" for v in values or ())

    check(s.service_accounts, False, sa in qualified(s.service_accounts), "serviceAccounts")
    check(s.not_service_accounts, True, sa in qualified(s.not_service_accounts), "ServiceAccounts")
    for values, negate, what in ((s.ip_blocks, False, "ipBlocks"), (s.not_ip_blocks, True, "notIpBlocks"),
                                 (s.remote_ip_blocks, False, "remoteIpBlocks"),
                                 (s.not_remote_ip_blocks, True, "notRemoteIpBlocks")):
        if values is None or m.value is False:
            continue
        if peer.address is None:
            m.value = None
            m.why.append(f"{what}: the client's address is not known")
            continue
        inside = any(_in_cidr(peer.address, v) for v in values)
        if inside == negate:
            m.value = False
            m.why.append(f"{what} {list(values)} does not match {peer.address}")
    if (s.request_principals is not None or s.not_request_principals is not None) and m.value is not False:
        m.value = None
        m.why.append("requestPrincipals depend on the request's JWT")
    return m


_ADDRESS_FIELDS = ("ip_blocks", "not_ip_blocks", "remote_ip_blocks", "not_remote_ip_blocks")
_ADDRESS_KEYS = ("source.ip", "remote.ip")


def address_ranges(cluster: Cluster, options: Options) -> list[IPRange]:
    """IST-25: every address range an AuthorizationPolicy names (``ipBlocks``, ``remoteIpBlocks``,
    their ``not`` forms, ``source.ip``/``remote.ip`` conditions), so that the map's outside
    address space is split at their bounds like at any other CIDR. Unreadable values are skipped."""
    if options.mesh != "istio":
        return []
    written: list[str] = []
    for p in cluster.mesh.authorization_policies:
        for rule in p.rules or ():
            for s in rule.sources or ():
                for f in _ADDRESS_FIELDS:
                    written.extend(getattr(s, f) or ())
            for c in rule.conditions:
                if c.key in _ADDRESS_KEYS:
                    written.extend((*(c.values or ()), *(c.not_values or ())))
    found: list[IPRange] = []
    for text in written:
        try:
            net = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            continue
        found.append(IPRange(net.version, int(net.network_address), int(net.broadcast_address)))
    return found


def _in_cidr(address: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


_HTTP_FIELDS = ("hosts", "not_hosts", "methods", "not_methods", "paths", "not_paths")


def _operation_matches(o: MeshOperation, port: int, http: HttpRequest | None, tcp: bool,
                       action: MeshAction) -> Match:
    m = Match(True)
    if o.ports is not None and str(port) not in o.ports:
        return Match(False, [f"ports {list(o.ports)} do not include {port}"])
    if o.not_ports is not None and str(port) in o.not_ports:
        return Match(False, [f"notPorts {list(o.not_ports)} include {port}"])
    uses_http = any(getattr(o, f) is not None for f in _HTTP_FIELDS)
    if uses_http and tcp:
        # IST-14: HTTP-only fields on TCP traffic: an ALLOW rule is dropped, a DENY field ignored.
        if action is MeshAction.ALLOW:
            return Match(False, ["HTTP-only fields on TCP traffic: this ALLOW rule never matches (IST-14)"])
        return Match(True, ["HTTP-only fields ignored on TCP traffic (IST-14)"])
    if not uses_http:
        return m
    if http is None:
        impossible = _impossible_operation(o)
        if impossible is not None:
            return Match(False, [impossible])
        return Match(None, ["depends on the HTTP request: " + _describe_operation(o)])
    # IST-24: methods match like any Istio string (exact, prefix, suffix, "*"), case-sensitive, any name.
    tests: tuple[tuple[tuple[str, ...] | None, bool, Callable[[str], bool], str], ...] = (
        (o.methods, False, lambda v: istio_string(v, http.method), "methods"),
        (o.not_methods, True, lambda v: istio_string(v, http.method), "notMethods"),
        (o.paths, False, lambda v: istio_path(v, http.path), "paths"),
        (o.not_paths, True, lambda v: istio_path(v, http.path), "notPaths"),
        (o.hosts, False, lambda v: istio_string(v.lower(), http.host.lower()), "hosts"),
        (o.not_hosts, True, lambda v: istio_string(v.lower(), http.host.lower()), "notHosts"))
    for values, negate, test, what in tests:
        if values is None:
            continue
        hit = any(test(v) for v in values)
        if hit == negate:
            return Match(False, [f"{what} {list(values)} {'match' if negate else 'do not match'} "
                                 f"{http.method} {http.path}" + (f" host {http.host}" if http.host else "")])
    return m


def _describe_operation(o: MeshOperation) -> str:
    parts = []
    for f in ("methods", "paths", "hosts", "not_methods", "not_paths", "not_hosts", "ports"):
        v = getattr(o, f)
        if v is not None:
            parts.append(f"{f.replace('not_', 'not ')} {', '.join(v)}")
    return "; ".join(parts)


DECIDABLE = ("source.namespace", "source.principal", "source.serviceAccount", "destination.port", "source.ip",
             "remote.ip")


def _condition_matches(key: str, values: tuple[str, ...] | None, not_values: tuple[str, ...] | None,
                       peer: MeshPeer, port: int, http: HttpRequest | None) -> Match:
    value: str | None
    if key == "source.namespace":
        value = peer.workload.namespace if peer.workload and peer.mtls else None
    elif key == "source.principal":
        value = peer.principal  # written without spiffe://, which Istio adds itself (IST-17)
    elif key == "source.serviceAccount":
        value = f"{peer.workload.namespace}/{peer.workload.service_account}" if peer.workload and peer.mtls else None
    elif key == "destination.port":
        value = str(port)
    elif key in ("source.ip", "remote.ip"):
        if peer.address is None:
            return Match(None, [f"when {key}: the client's address is not known"])
        ok = any(_in_cidr(peer.address, v) for v in values or ()) if values is not None else True
        bad = any(_in_cidr(peer.address, v) for v in not_values or ())
        return Match(ok and not bad, [f"when {key}"])
    elif key.startswith("request.headers[") and http is not None:
        name = key[len("request.headers["):-1].lower()
        value = dict((k.lower(), v) for k, v in http.headers).get(name)
    else:
        return Match(None, [f"when {key}: not decidable without the live request"])
    ok = any(istio_string(v, value) for v in values) if values is not None else True
    bad = any(istio_string(v, value) for v in not_values) if not_values is not None else False
    return Match(ok and not bad, [f"when {key}={value!r}"])


def rule_matches(rule: MeshRule, peer: MeshPeer, port: int, http: HttpRequest | None, tcp: bool,
                 action: MeshAction, policy_ns: str = "") -> Match:
    """IST-11: some source AND some operation AND every condition."""
    if rule.unreadable:  # IST-27: a malformed ALLOW rule matches nothing
        return Match(False, [rule.unreadable])
    result = Match(True)
    http_only = any(getattr(o, f) is not None for o in rule.operations or () for f in _HTTP_FIELDS) or any(
        c.key.startswith("request.") for c in rule.conditions)
    if tcp and http_only and action is MeshAction.ALLOW:
        # IST-14: an HTTP-only attribute anywhere makes the whole ALLOW rule invalid on TCP.
        return Match(False, ["HTTP-only attributes on TCP traffic: Istio ignores this ALLOW rule (IST-14)"])
    if http is None and not tcp:
        impossible = _impossible_conditions(rule.conditions)
        if impossible is not None:
            return Match(False, [impossible])
    parts: list[tuple[str, list[Match] | None]] = [
        ("from", None if rule.sources is None else [_source_matches(s, peer, policy_ns) for s in rule.sources]),
        ("to", None if rule.operations is None else [_operation_matches(o, port, http, tcp, action)
                                                    for o in rule.operations])]
    for part, results in parts:
        if results is None:
            continue
        if any(r.value is True for r in results):
            continue
        if any(r.value is None for r in results):
            result.value = None if result.value is not False else False
            result.why.extend(w for r in results if r.value is None for w in r.why)
            continue
        return Match(False, [w for r in results for w in r.why] or [f"no {part} entry matches"])
    for c in rule.conditions:
        if tcp and c.key.startswith("request."):
            continue  # IST-14: a DENY rule's HTTP-only condition is ignored on TCP
        cm = _condition_matches(c.key, c.values, c.not_values, peer, port, http)
        if cm.value is False:
            return Match(False, cm.why)
        if cm.value is None:
            result.value = None if result.value is not False else False
            result.why.extend(cm.why)
    return result


@dataclass(frozen=True, slots=True)
class Pending:
    """An AuthorizationPolicy rule whose answer depends on the HTTP request, none being given."""

    policy: AuthorizationPolicy
    rule: MeshRule


_MAX_REQUESTS = 4096  # beyond this many kinds of request, the answer stays conditional


def _requests_to_try(rules: list[MeshRule]) -> tuple[list[HttpRequest], bool]:
    """IST-26: one request of every kind the rules' patterns tell apart (methods, paths, hosts,
    ``request.headers[…]`` values or the header's absence), and whether that covers every request."""
    patterns: dict[RequestField, set[str]] = {f: set() for f in RequestField}
    headers: dict[str, set[str]] = {}
    for rule in rules:
        for o in rule.operations or ():
            for f, fields in ((RequestField.METHOD, (o.methods, o.not_methods)),
                              (RequestField.PATH, (o.paths, o.not_paths)),
                              (RequestField.HOST, (o.hosts, o.not_hosts))):
                for values in fields:
                    patterns[f].update(values or ())
        for c in rule.conditions:
            if c.key.startswith("request.headers[") and c.key.endswith("]"):
                headers.setdefault(c.key[len("request.headers["):-1].lower(), set()).update(
                    (*(c.values or ()), *(c.not_values or ())))
    certain = True
    choices: list[tuple[str | None, ...]] = []
    for f, default in ((RequestField.METHOD, "GET"), (RequestField.PATH, "/"), (RequestField.HOST, "")):
        values, sure = representatives(f, tuple(sorted(patterns[f]))) if patterns[f] else ((default,), True)
        certain = certain and sure
        choices.append(values)
    for name in sorted(headers):
        values, sure = representatives(RequestField.HEADER, tuple(sorted(headers[name])))
        certain = certain and sure
        choices.append((None, *values))  # None: the request does not carry the header
    if math.prod(len(c) for c in choices) > _MAX_REQUESTS:
        return [], False
    names = sorted(headers)
    return [HttpRequest(str(m), str(p), str(h),
                        tuple((n, v) for n, v in zip(names, rest, strict=True) if v is not None))
            for m, p, h, *rest in itertools.product(*choices)], certain


def _some_request_passes(pending: list[Pending], allow_policies: bool, peer: MeshPeer, port: int) -> bool | None:
    """IST-26: whether some HTTP request passes the rules that depend on the request — no pending
    DENY rule matches it and (when ALLOW policies apply) some pending ALLOW rule may — trying one
    request of every kind their patterns tell apart. None: kubeward cannot tell."""
    requests, certain = _requests_to_try([x.rule for x in pending])
    for http in requests:
        if any(rule_matches(x.rule, peer, port, http, False, MeshAction.DENY, x.policy.ref.namespace).value is True
               for x in pending if x.policy.action is MeshAction.DENY):
            continue
        if not allow_policies or any(
                rule_matches(x.rule, peer, port, http, False, MeshAction.ALLOW, x.policy.ref.namespace).value
                is not False for x in pending if x.policy.action is MeshAction.ALLOW):
            return True
    return False if certain else None


def _every_request_denied(pending: list[Pending], steps: list[Step], mtls: bool,
                          hop: Callable[..., None]) -> MeshVerdict:
    """IST-26: every request that an ALLOW rule lets in (every request, without ALLOW policies)
    meets a DENY rule: the connection is denied whatever is sent."""
    denies = [x for x in pending if x.policy.action is MeshAction.DENY]
    allows = [x for x in pending if x.policy.action is MeshAction.ALLOW]
    named = ", ".join(f"{x.policy.ref.display} rule {x.rule.index}" for x in denies)
    what = ("every request that " + ", ".join(f"{x.policy.ref.display} rule {x.rule.index}" for x in allows)
            + " allows") if allows else "every request"
    first = denies[0]
    hop(Reason.MESH_DENIED, Effect.DENY, f"{what} also meets the DENY rules ({named}): denied whatever the "
        "request (IST-26)", first.policy.ref, first.rule.index, first.rule.line)
    return MeshVerdict(False, steps, mtls)


def tcp_port(cluster: Cluster, w: Workload, port: int) -> bool:
    """IST-22 and Istio's protocol selection: server-first ports, and Service ports named
    ``tcp``/``mysql``/``mongo``/``redis``/``tls`` (``<protocol>[-<suffix>]``) that reach this pod port."""
    return port in SERVER_FIRST_PORTS or port in named_tcp_ports(cluster, w)


def named_tcp_ports(cluster: Cluster, w: Workload) -> set[int]:
    """The pod ports of ``w`` that a Service port named for a TCP protocol reaches."""
    found: set[int] = set()
    for svc in cluster.services:
        if svc.namespace != w.namespace or not svc.selector or \
                any(w.labels.get(k) != v for k, v in svc.selector.items()):
            continue
        for sp in svc.ports:
            target = sp.target_port if sp.target_port is not None else sp.port
            pod_port = target if isinstance(target, int) else next(
                (cp.port for cp in w.ports if cp.name == target), None)
            if pod_port is not None and sp.name.split("-", 1)[0].lower() in TCP_PORT_NAMES:
                found.add(pod_port)
    return found


def applicable(cluster: Cluster, options: Options, w: Workload) -> list[AuthorizationPolicy]:
    """IST-9: the workload's namespace or the root namespace, and the selector if any."""
    out = []
    for p in cluster.mesh.authorization_policies:
        if p.ref.namespace not in (w.namespace, options.root_namespace) or p.target_refs:
            continue
        if p.selector is None or p.selector.matches(w.labels):
            out.append(p)
    return out


@dataclass(slots=True)
class MeshVerdict:
    allowed: bool
    steps: list[Step]
    mtls: bool
    conditional: list[str] = field(default_factory=list)  # requests that pass only if … (no request given)


def evaluate_mesh(cluster: Cluster, options: Options, source: Workload | None, source_address: str | None,
                  destination: Workload, port: int, http: HttpRequest | None, label: str,
                  client_tls: str | None = None) -> MeshVerdict:
    """``client_tls``: the TLS the client proxy opens, as a DestinationRule sets it (IST-42);
    None: auto mTLS."""
    steps: list[Step] = []

    def hop(reason: Reason, effect: Effect, message: str, ref: ObjectRef | None = None, rule: int | None = None,
            line: int = 0, tier: StepTier = StepTier.MESH) -> None:
        steps.append(Step(Layer.MESH, Direction.INGRESS, label, tier, reason, effect, message, ref, rule, "",
                          line or (ref.line if ref else 0)))

    for rejected in cluster.mesh.rejected:  # IST-23: refused by istiod's webhook: not applied, but said
        targeted = isinstance(rejected, AuthorizationPolicy) and bool(rejected.target_refs)
        if rejected.ref.namespace in (destination.namespace, options.root_namespace) and not targeted and (
                rejected.selector is None or rejected.selector.matches(destination.labels)):
            hop(Reason.POLICY_REJECTED, Effect.NONE, f"would apply to {destination.id}, but it is rejected "
                f"({rejected.rejected}): it is not applied", rejected.ref)
    dst_kind, dst_why = membership(cluster, destination)
    if dst_kind and port in NOT_CAPTURED:
        hop(Reason.MESH_INERT, Effect.ALLOW, f"port {port} is not captured by the sidecar (Istio leaves it alone): the "
            "mesh does not act on it")
        return MeshVerdict(True, steps, False)
    if not dst_kind:
        policies = applicable(cluster, options, destination)
        pas = [p for p in cluster.mesh.peer_authentications if p.ref.namespace == destination.namespace]
        names = ", ".join([p.ref.display for p in policies] + [p.ref.display for p in pas]) or "none apply"
        hop(Reason.MESH_INERT, Effect.ALLOW, f"{destination.id} has no sidecar ({dst_why}): Istio policies are inert "
            f"for it ({names}) (IST-3)")
        return MeshVerdict(True, steps, False)
    src_kind = membership(cluster, source)[0] if source is not None else ""
    mode, pa, level = peer_authentication(cluster, options, destination, port)
    if dst_kind == "ambient" and mode is MtlsMode.DISABLE:
        mode = MtlsMode.PERMISSIVE  # IST-2: DISABLE is not supported in ambient: HBONE is always mTLS
    mtls = bool(src_kind) and mode is not MtlsMode.DISABLE
    tls_why = ""
    if dst_kind == "gateway" and client_tls is None:
        # IST-42: auto mTLS sends Istio mTLS only to endpoints labelled security.istio.io/tlsMode=istio;
        # the sidecar injector adds the label, the gateway injection template does not.
        mtls = bool(src_kind) and destination.labels.get(TLS_MODE_LABEL) == "istio"
        tls_why = (f"; auto mTLS: {destination.id} has {TLS_MODE_LABEL}=istio" if mtls else
                   f"; auto mTLS sends plaintext: {destination.id} has no {TLS_MODE_LABEL}=istio label (IST-42)")
    elif client_tls is not None:
        mtls = bool(src_kind) and client_tls == "ISTIO_MUTUAL"
        tls_why = f"; the client's DestinationRule sets TLS {client_tls} (IST-42)"
    where = f"{pa.ref.display}, {level}-wide" if pa is not None else "no PeerAuthentication: default"
    if mode is MtlsMode.STRICT and not mtls and dst_kind != "gateway":  # IST-44: a gateway's servers decide its TLS
        # IST-7: STRICT refuses plaintext.
        who = (f"{source.id} has no sidecar" if source is not None and not src_kind else
               f"the client does not send Istio mTLS{tls_why}" if source is not None else
               "the client is outside the mesh")
        hop(Reason.MTLS_REQUIRED, Effect.DENY, f"mTLS {mode} on {destination.id}:{port} ({where}) and {who}: the "
            "plaintext connection is refused (IST-7)", pa.ref if pa else None)
        return MeshVerdict(False, steps, False)
    hop(Reason.MTLS, Effect.ALLOW, f"{destination.id} has a {dst_kind} ({dst_why}); mTLS mode {mode} ({where}): "
        + ("mutual TLS, the client's identity is known" if mtls
           else ("plaintext" if client_tls in (None, "DISABLE") else f"TLS {client_tls}, not the mesh's mTLS")
           + ": identity-based rules cannot match (IST-16)") + tls_why,
        pa.ref if pa else None)
    principal_value = principal(options, source) if source is not None and mtls else None
    peer = MeshPeer(source, source_address, mtls, principal_value)
    tcp = tcp_port(cluster, destination, port)
    policies = applicable(cluster, options, destination)
    if dst_kind == "ambient":
        for p in policies:
            if any(getattr(o, f) is not None for r in p.rules or () for o in r.operations or () for f in _HTTP_FIELDS):
                # IST-2: ztunnel cannot enforce L7 attributes: without a waypoint the policy fails
                # safe into denying everything.
                hop(Reason.MESH_DENIED, Effect.DENY,
                    f"{p.ref.display} has L7 attributes and {destination.id} is an ambient "
                    "workload without a waypoint: ztunnel enforces it as DENY (IST-2)", p.ref)
                return MeshVerdict(False, steps, mtls)
    conditional: list[str] = []
    pending: list[Pending] = []  # rules whose answer depends on the request (none given)
    # IST-8: CUSTOM → DENY → ALLOW; AUDIT never decides.
    for p in policies:
        if p.action is MeshAction.CUSTOM:
            hop(Reason.MESH_CUSTOM, Effect.NONE,
                f"{p.ref.display}: CUSTOM action — the outcome depends on the external "
                f"authorizer {p.provider or '(unnamed provider)'}: not decidable statically (IST-8)", p.ref)
    for p in policies:
        if p.action is not MeshAction.DENY:
            continue
        for rule in p.rules or ():
            m = rule_matches(rule, peer, port, http, tcp, MeshAction.DENY, p.ref.namespace)
            if m.value is True:
                hop(Reason.MESH_DENIED, Effect.DENY, f"{p.ref.display} rule {rule.index} matches: DENY (IST-8)", p.ref,
                    rule.index, rule.line)
                return MeshVerdict(False, steps, mtls)
            if m.value is None:
                conditional.append(f"denied if {'; '.join(m.why)} ({p.ref.display} rule {rule.index})")
                pending.append(Pending(p, rule))
    allows = [p for p in policies if p.action is MeshAction.ALLOW]
    if not allows:
        if pending and http is None and not tcp and _some_request_passes(pending, False, peer, port) is False:
            return _every_request_denied(pending, steps, mtls, hop)
        hop(Reason.MESH_NO_ALLOW, Effect.ALLOW,
            f"no ALLOW AuthorizationPolicy applies to {destination.id}: allowed (IST-8)")
        return MeshVerdict(True, steps, mtls, conditional)
    for p in allows:
        if p.rules is None or not p.rules:
            hop(Reason.MESH_RULE_MISMATCH, Effect.NONE,
                f"{p.ref.display} has no rules: it matches nothing (IST-10)", p.ref)
            continue
        for rule in p.rules:
            m = rule_matches(rule, peer, port, http, tcp, MeshAction.ALLOW, p.ref.namespace)
            if m.value is True:
                hop(Reason.MESH_ALLOWED, Effect.ALLOW,
                    f"{p.ref.display} rule {rule.index} matches: ALLOW (IST-8, IST-11)",
                    p.ref, rule.index, rule.line)
                return MeshVerdict(True, steps, mtls, conditional)
            if m.value is None:
                conditional.append(f"allowed if {'; '.join(m.why)} ({p.ref.display} rule {rule.index})")
                pending.append(Pending(p, rule))
                hop(Reason.MESH_CONDITIONAL, Effect.NONE, f"{p.ref.display} rule {rule.index} " + "; ".join(m.why),
                    p.ref, rule.index, rule.line)
            else:
                hop(Reason.MESH_RULE_MISMATCH, Effect.NONE, f"{p.ref.display} rule {rule.index}: " + "; ".join(m.why),
                    p.ref, rule.index, rule.line)
    if any(c.startswith("allowed if") for c in conditional):
        if any(x.policy.action is MeshAction.DENY for x in pending) and http is None and not tcp and \
                _some_request_passes(pending, True, peer, port) is False:
            return _every_request_denied(pending, steps, mtls, hop)
        hop(Reason.MESH_CONDITIONAL, Effect.ALLOW, "only requests that meet these ALLOW rules pass; others get 403 "
            "RBAC: access denied: " + " | ".join(c for c in conditional if c.startswith("allowed if")))
        return MeshVerdict(True, steps, mtls, conditional)
    first = allows[0]
    hop(Reason.MESH_NOT_ALLOWED, Effect.DENY,
        f"ALLOW policies apply to {destination.id} and none of their rules matches: "
        "denied (403 RBAC: access denied) (IST-8)", first.ref)
    return MeshVerdict(False, steps, mtls, conditional)


__all__ = ["membership", "evaluate_mesh", "peer_authentication", "principal", "MeshVerdict"]


ISTIOD_LABELS = {"app": "istiod", "istio": "pilot"}


def istiod(cluster: Cluster, options: Options) -> Workload | None:
    return next((w for w in cluster.workloads if w.namespace == options.root_namespace
                 and w.labels.get("app") == "istiod"), None)


def add_mesh_workloads(cluster: Cluster, options: Options, diags: Diagnostics) -> None:
    """A stand-in istiod when the mesh is on and the input has none (IST-21 needs a peer)."""
    if options.mesh != "istio" or istiod(cluster, options) is not None:
        return
    if not any(membership(cluster, w)[0] == "sidecar" for w in cluster.workloads):
        return  # no sidecar needs a control plane
    if options.root_namespace not in cluster.namespaces:
        cluster.namespaces[options.root_namespace] = Namespace(
            options.root_namespace, {NAMESPACE_NAME_LABEL: options.root_namespace}, None)
    cluster.workloads.append(Workload(
        WorkloadKind.DEPLOYMENT, options.root_namespace, "istiod", dict(ISTIOD_LABELS), "istiod",
        (ContainerPort(15010, "TCP", "grpc-xds"), ContainerPort(15012, "TCP", "https-dns"),
         ContainerPort(15017, "TCP", "https-webhook")), False, None, Origin("<assumed>", 0), assumed=True))
    cluster.workloads.sort(key=lambda w: (w.namespace, w.name, w.kind))
    diags.info("assumed-peer", f"no istiod in the input: a stand-in {options.root_namespace}/istiod (app=istiod, "
               "ports 15010/15012/15017) is the control plane sidecars must reach (IST-21)")


def check_mesh(cluster: Cluster, options: Options, diags: Diagnostics) -> None:
    """Istio policies without proxies (IST-3) and principals Istio rewrites (IST-17, in the
    dialect). The checks that need the CNI layer (IST-21, CIL-19) are in mesh_cni_checks."""
    if options.mesh != "istio":
        return
    members = {w.id for w in cluster.workloads if membership(cluster, w)[0]}
    scoped: list[tuple[ObjectRef, LabelSelector | None]] = [
        (p.ref, p.selector) for p in cluster.mesh.peer_authentications] + [
        (p.ref, p.selector) for p in cluster.mesh.authorization_policies if not p.target_refs]
    for ref, selector in scoped:
        if ref.namespace == options.root_namespace:
            selected = [w for w in cluster.workloads if selector is None or selector.matches(w.labels)]
        else:
            selected = [w for w in cluster.workloads_in(ref.namespace)
                        if selector is None or selector.matches(w.labels)]
        if not any(w.id in members for w in selected):
            why = (f"none of the {len(selected)} workload(s) it selects has a sidecar" if selected
                   else "it selects no workload in the input")
            diags.warning("mesh-policy-inert", f"{ref.display}: {why}: it has no effect (IST-3); label the "
                          f"namespace {INJECTION}=enabled to inject sidecars", ref.file, ref.line, ref,
                          Leans.MAY_DENY_MORE)  # ignored; with sidecars after all, the mesh can only refuse more
