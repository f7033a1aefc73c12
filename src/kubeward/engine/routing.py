"""Entry points: which Ingress rule, Gateway route or OpenShift Route a request takes, and which
routes their Gateways and the OpenShift router accept (ING-1 … ING-9, GW-1 … GW-5, ROUTE-1 …
ROUTE-6).

Pure functions over the model; no policy evaluation here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from ..model import (
    AllowedRoutesFrom,
    BackendRef,
    Cluster,
    Gateway,
    Ingress,
    IngressPath,
    IngressPathType,
    InsecureEdgePolicy,
    Listener,
    ObjectRef,
    OpenShiftRoute,
    ParentRef,
    Route,
    RouteKind,
    RouteMatch,
    RoutePathType,
    RouteRule,
    RouteTermination,
)

INGRESS_NGINX = "k8s.io/ingress-nginx"
SSL_REDIRECT = "nginx.ingress.kubernetes.io/ssl-redirect"
USE_REGEX = "nginx.ingress.kubernetes.io/use-regex"
REWRITE_TARGET = "nginx.ingress.kubernetes.io/rewrite-target"
CANARY = "nginx.ingress.kubernetes.io/canary"


@dataclass(frozen=True, slots=True)
class Request:
    scheme: str
    host: str
    port: int
    path: str
    query: str = ""
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def url(self) -> str:
        default = {"http": 80, "https": 443}.get(self.scheme)
        port = "" if self.port == default else f":{self.port}"
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address, as a URL writes it
        return f"{self.scheme}://{host}{port}{self.path}" + (f"?{self.query}" if self.query else "")


def parse_url(text: str, method: str = "GET", headers: tuple[tuple[str, str], ...] = ()) -> Request | None:
    try:
        parts = urlsplit(text)
        given = parts.port  # ValueError: not a number, or not in 0-65535
    except ValueError:
        return None
    if parts.scheme not in ("http", "https", "grpc", "tls", "tcp") or not parts.hostname or given == 0:
        return None
    port = given or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return Request(parts.scheme, parts.hostname.lower().rstrip("."), port, parts.path or "/", parts.query,
                   method.upper(), tuple((k.lower(), v) for k, v in headers))


# --------------------------------------------------------------------------- hostnames


def host_matches(pattern: str, host: str, one_label: bool) -> bool:
    """Exact, or ``*.`` wildcard: one label in front (Ingress, ING-2) or any number of labels
    (Gateway API suffix match). ``""`` matches every host."""
    if not pattern:
        return True
    if pattern.startswith("*."):
        suffix = pattern[1:]
        if not host.endswith(suffix) or len(host) <= len(suffix):
            return False
        return "." not in host[: -len(suffix)] if one_label else True
    return pattern == host


def hostnames_intersect(a: str, b: str) -> bool:
    """Two Gateway hostnames (either may be a wildcard, "" = any) share at least one host."""
    if not a or not b:
        return True
    if a.startswith("*.") and b.startswith("*."):
        return a.endswith(b[1:]) or b.endswith(a[1:])
    if a.startswith("*."):
        return host_matches(a, b, one_label=False)
    if b.startswith("*."):
        return host_matches(b, a, one_label=False)
    return a == b


# --------------------------------------------------------------------------- Ingress


@dataclass(frozen=True, slots=True)
class IngressChoice:
    ingress: Ingress
    rule: int | None           # None: the defaultBackend
    path: IngressPath | None
    backend: BackendRef
    line: int
    why: str


def path_matches(path_type: IngressPathType, pattern: str, path: str, regex: bool = False) -> bool:
    """ING-1 (Exact, Prefix element-wise) and ING-4 (ImplementationSpecific as ingress-nginx
    does it: a string prefix, or a case-insensitive regex anchored at the start)."""
    if path_type == IngressPathType.EXACT:
        return path == pattern
    if path_type == IngressPathType.PREFIX:
        if pattern == "/":
            return True
        want = [p for p in pattern.split("/") if p]
        have = [p for p in path.split("/") if p]
        return have[: len(want)] == want
    if regex:
        try:
            return re.match(pattern, path, re.IGNORECASE) is not None
        except re.error:
            return False
    return path.startswith(pattern)


def ingress_class_of(cluster: Cluster, ingress: Ingress) -> str | None:
    """``ingressClassName`` (or the legacy annotation), else the class the DefaultIngressClass
    admission plugin gives a class-less Ingress when it is created: the default IngressClass, the
    newest one when several are marked (ties: the first name) (ING-9). None: no class."""
    if ingress.class_name:
        return ingress.class_name
    default = sorted((c for c in cluster.entry.ingress_classes.values() if c.is_default),
                     key=lambda c: (_neg(c.created or "9999"), c.name))
    return default[0].name if default else None


def is_canary(ingress: Ingress) -> bool:
    return ingress.annotations.get(CANARY) == "true"


def controller_order(ingresses: Iterable[Ingress]) -> list[Ingress]:
    """ING-8: the order in which ingress-nginx builds its configuration, so the first Ingress to
    define a host and path keeps it: the oldest (creationTimestamp) first, equal times in
    descending namespace/name order. An Ingress without a timestamp counts as created after those
    with one, in input order (as ``kubectl apply`` of the input creates them). Canary Ingresses
    come last: the controller merges them into the primary's location instead of serving them."""
    def key(item: tuple[int, Ingress]) -> tuple[bool, int, str, tuple[int, ...], int]:
        index, ing = item
        if ing.created:
            return (is_canary(ing), 0, ing.created, _neg(f"{ing.ref.namespace}/{ing.ref.name}"), index)
        return (is_canary(ing), 1, "", (), index)
    return [ing for _, ing in sorted(enumerate(ingresses), key=key)]


@dataclass(frozen=True, slots=True)
class IngressConflict:
    """Two Ingresses of one class define the same host and path (ING-8): ``kept`` serves it."""

    kept: Ingress
    rejected: Ingress
    host: str   # "" = every host
    path: str
    line: int   # the path of ``rejected``
    kept_line: int


def ingress_conflicts(ingresses: Iterable[Ingress]) -> list[IngressConflict]:
    """ING-8: the paths (host and path, as the admission webhook compares them) that an older
    Ingress of the same class already defines. A canary Ingress beside a primary is no conflict."""
    first: dict[tuple[str, str], tuple[Ingress, int]] = {}
    found: list[IngressConflict] = []
    for ing in controller_order(ingresses):
        seen_here: set[tuple[str, str]] = set()
        for rule in ing.rules:
            for p in rule.paths:
                if p.backend is None:
                    continue
                key = (rule.host, p.path or "/")
                if key in seen_here:
                    continue
                seen_here.add(key)
                kept = first.setdefault(key, (ing, p.line))
                if kept[0] is not ing and is_canary(kept[0]) == is_canary(ing):
                    found.append(IngressConflict(kept[0], ing, rule.host, key[1], p.line, kept[1]))
    return found


def uses_regex(ingress: Ingress) -> bool:
    return ingress.annotations.get(USE_REGEX) == "true" or REWRITE_TARGET in ingress.annotations


def _regex_matches(p: IngressPath, path: str) -> bool:
    """ING-4: in regex mode ingress-nginx writes ``location ~* ^PATH``: case-insensitive,
    anchored only at the start (a Prefix path keeps its element boundary)."""
    specific = p.path_type == IngressPathType.IMPLEMENTATION_SPECIFIC
    pattern = p.path if specific else re.escape(p.path.rstrip("/")) + "(/|$)"
    try:
        return re.match(pattern, path, re.IGNORECASE) is not None
    except re.error:
        return False


def route_ingress(cluster: Cluster, ingresses: list[Ingress], request: Request) -> IngressChoice | None:
    """What one controller does with a request: host first (exact, then wildcard, then rules
    without host), then the path (ING-1, ING-4), then a defaultBackend (ING-2).

    Paths: an Exact path equal to the request wins; otherwise the longest matching path. When any
    Ingress of the host uses regular expressions (use-regex or rewrite-target), ingress-nginx
    turns every path of that host into a case-insensitive regex and takes the first match in
    order of descending path length."""

    def tier_of(host: str) -> int:
        if host == request.host:
            return 0
        if host.startswith("*.") and host_matches(host, request.host, one_label=True):
            return 1
        return 2 if host == "" else -1

    ingresses = controller_order(ingresses)  # ING-8: the oldest Ingress's path wins a tie
    for tier in (0, 1, 2):
        if not any(tier_of(rule.host) == tier for ing in ingresses for rule in ing.rules):
            continue
        # ING-2: the host decides first; a host that has rules is served by them alone (its own
        # nginx server block): no path there means the defaultBackend, not another host's rules.
        candidates = [(ing, i, rule, p) for ing in ingresses for i, rule in enumerate(ing.rules)
                      if tier_of(rule.host) == tier for p in rule.paths if p.backend is not None]
        regex = any(uses_regex(ing) for ing, _, _, _ in candidates)
        chosen = next((c for c in candidates if c[3].path_type == IngressPathType.EXACT
                       and c[3].path == request.path), None)
        if chosen is None and regex:
            ordered = sorted(candidates, key=lambda c: -len(c[3].path))  # stable: written order on ties
            chosen = next((c for c in ordered if c[3].path_type != IngressPathType.EXACT
                           and _regex_matches(c[3], request.path)), None)
        elif chosen is None:
            matching = [c for c in candidates if path_matches(c[3].path_type, c[3].path, request.path)]
            if matching:
                chosen = max(matching, key=lambda c: len(c[3].path))
        if chosen is not None:
            ing, i, rule, p = chosen
            assert p.backend is not None
            mode = " as a case-insensitive regex (ING-4)" if regex and p.path_type != IngressPathType.EXACT else ""
            return IngressChoice(ing, i, p, p.backend, p.line,
                                 f"host {rule.host or '*'} and path {p.path} ({p.path_type}{mode})")
        break
    for ing in ingresses:
        if ing.default_backend is not None:
            return IngressChoice(ing, None, None, ing.default_backend, ing.ref.line,
                                 "no rule matches: its defaultBackend (ING-2)")
    return None


# --------------------------------------------------------------------------- Gateway API


class AttachmentReason(StrEnum):
    """Why a Gateway accepts a route or not: the reasons of the route's Accepted condition (GW-1)."""

    ACCEPTED = "Accepted"
    NOT_ALLOWED_BY_LISTENERS = "NotAllowedByListeners"
    NO_MATCHING_LISTENER_HOSTNAME = "NoMatchingListenerHostname"
    NO_MATCHING_PARENT = "NoMatchingParent"


class BackendReason(StrEnum):
    """Whether a route's backend resolves: the reasons of the ResolvedRefs condition (GW-2)."""

    RESOLVED_REFS = "ResolvedRefs"
    BACKEND_NOT_FOUND = "BackendNotFound"
    REF_NOT_PERMITTED = "RefNotPermitted"
    INVALID_KIND = "InvalidKind"


@dataclass(frozen=True, slots=True)
class Attachment:
    """Whether a route attaches to a Gateway, and to which listeners (GW-1, GW-2)."""

    route: Route
    parent: ParentRef
    gateway: Gateway | None
    listeners: tuple[Listener, ...]
    accepted: bool
    reason: AttachmentReason
    message: str


_KINDS_FOR: dict[str, tuple[RouteKind, ...]] = {
    "HTTP": (RouteKind.HTTP, RouteKind.GRPC), "HTTPS": (RouteKind.HTTP, RouteKind.GRPC), "TLS": (RouteKind.TLS,),
    "TCP": (RouteKind.TCP,), "UDP": (RouteKind.UDP,)}


def _namespace_allowed(cluster: Cluster, listener: Listener, gateway: Gateway, route_ns: str) -> bool:
    if listener.allowed_from == AllowedRoutesFrom.ALL:
        return True
    if listener.allowed_from == AllowedRoutesFrom.SELECTOR:
        ns = cluster.namespaces.get(route_ns)
        selector = listener.allowed_selector
        return ns is not None and selector is not None and selector.matches(ns.labels)
    return route_ns == gateway.ref.namespace  # GW-1: Same by default


def attach(cluster: Cluster, route: Route, parent: ParentRef) -> Attachment:
    gw = next((g for g in cluster.entry.gateways if g.ref.namespace == parent.namespace
               and g.ref.name == parent.name), None) if parent.kind == "Gateway" else None
    if gw is None:
        return Attachment(route, parent, None, (), False, AttachmentReason.NO_MATCHING_PARENT,
                          f"no Gateway {parent.namespace}/{parent.name} in the input")
    candidates = [lst for lst in gw.listeners
                  if (not parent.section_name or lst.name == parent.section_name)
                  and (parent.port is None or lst.port == parent.port)]
    if not candidates:
        return Attachment(route, parent, gw, (), False, AttachmentReason.NO_MATCHING_PARENT,
                          f"{gw.ref.display} has no listener "
                          + (f"named {parent.section_name}" if parent.section_name else f"on port {parent.port}"))
    allowed = [lst for lst in candidates if _namespace_allowed(cluster, lst, gw, route.ref.namespace)
               and route.ref.kind in (lst.allowed_kinds or _KINDS_FOR.get(lst.protocol, ()))]
    if not allowed:
        froms = sorted({lst.allowed_from for lst in candidates})
        kinds = sorted({k for lst in candidates for k in (lst.allowed_kinds or _KINDS_FOR.get(lst.protocol, ()))})
        return Attachment(route, parent, gw, (), False, AttachmentReason.NOT_ALLOWED_BY_LISTENERS,
                          f"the listeners of {gw.ref.display} allow routes from {'/'.join(froms)} namespaces "
                          f"(default Same) and kinds {', '.join(kinds)}; "
                          f"{route.ref.display} is a {route.ref.kind} in namespace {route.ref.namespace} (GW-1)")
    matching = [lst for lst in allowed if not route.hostnames
                or any(hostnames_intersect(lst.hostname, h) for h in route.hostnames)]
    if not matching:
        return Attachment(route, parent, gw, (), False, AttachmentReason.NO_MATCHING_LISTENER_HOSTNAME,
                          f"none of the route's hostnames {', '.join(route.hostnames)} intersects the "
                          f"listener hostnames of {gw.ref.display}")
    return Attachment(route, parent, gw, tuple(matching), True, AttachmentReason.ACCEPTED,
                      f"attached to {gw.ref.display} listener(s) {', '.join(lst.name for lst in matching)}")


def attachments(cluster: Cluster) -> list[Attachment]:
    return [attach(cluster, route, parent) for route in cluster.entry.routes for parent in route.parents]


@dataclass(frozen=True, slots=True)
class BackendStatus:
    ref: BackendRef
    ok: bool
    reason: BackendReason
    message: str


def reference_permitted(cluster: Cluster, from_kind: str, from_ns: str, to_kind: str, to_ns: str,
                        to_name: str, from_group: str = "gateway.networking.k8s.io", to_group: str = "") -> bool:
    """GW-2: a reference into another namespace needs a ReferenceGrant there."""
    if from_ns == to_ns:
        return True
    return any(g.ref.namespace == to_ns and g.permits(from_group, from_kind, from_ns, to_group, to_kind, to_name)
               for g in cluster.entry.reference_grants)


def backend_status(cluster: Cluster, route_ref: ObjectRef, ref: BackendRef) -> BackendStatus:
    if ref.kind != "Service" or ref.group not in ("", "core"):
        return BackendStatus(ref, False, BackendReason.INVALID_KIND,
                             f"backend kind {ref.group or 'core'}/{ref.kind} is not a Service")
    if not reference_permitted(cluster, route_ref.kind, route_ref.namespace, "Service", ref.namespace, ref.name):
        return BackendStatus(ref, False, BackendReason.REF_NOT_PERMITTED,
                             f"{route_ref.display} refers to Service {ref.namespace}/{ref.name} in another "
                             f"namespace and no ReferenceGrant in {ref.namespace} permits it (GW-2)")
    if not any(s.namespace == ref.namespace and s.name == ref.name for s in cluster.services):
        return BackendStatus(ref, False, BackendReason.BACKEND_NOT_FOUND,
                             f"no Service {ref.namespace}/{ref.name} in the input")
    return BackendStatus(ref, True, BackendReason.RESOLVED_REFS, f"Service {ref.namespace}/{ref.name}:{ref.port}")


@dataclass(frozen=True, slots=True)
class RouteChoice:
    attachment: Attachment
    listener: Listener
    rule: RouteRule
    match: RouteMatch
    backends: tuple[BackendStatus, ...]
    why: str

    @property
    def route(self) -> Route:
        return self.attachment.route


@dataclass(slots=True)
class GatewayOutcome:
    gateway: Gateway
    listener: Listener | None = None
    choice: RouteChoice | None = None
    rejected: list[Attachment] = field(default_factory=list)
    message: str = ""


def _listener_for(gw: Gateway, request: Request) -> Listener | None:
    protocols = {"http": ("HTTP",), "https": ("HTTPS", "TLS"), "grpc": ("HTTP", "HTTPS"), "tls": ("TLS",),
                 "tcp": ("TCP",)}.get(request.scheme, ())
    found = [lst for lst in gw.listeners if lst.port == request.port and lst.protocol in protocols
             and host_matches(lst.hostname, request.host, one_label=False)]
    # The most specific hostname wins: exact, then the longest wildcard, then none.
    found.sort(key=lambda lst: (0 if lst.hostname and not lst.hostname.startswith("*") else 1,
                                -len(lst.hostname)))
    return found[0] if found else None


def _match_rank(m: RouteMatch) -> tuple[int, int, int, int, int]:
    # HTTPRouteRule precedence: Exact path, longest prefix, method, most headers, most query params.
    return (1 if m.path_type == RoutePathType.EXACT else 0,
            len(m.path) if m.path_type != RoutePathType.REGULAR_EXPRESSION else -1,
            1 if m.method else 0, len(m.headers), len(m.query))


def _request_matches(m: RouteMatch, request: Request, kind: str) -> bool:
    headers = dict(request.headers)
    for h in m.headers:
        value = headers.get(h.name)
        if value is None:
            return False
        if h.type == "RegularExpression":
            if re.fullmatch(h.value, value) is None:
                return False
        elif value != h.value:
            return False
    if kind == RouteKind.GRPC:
        service, _, method = request.path.strip("/").partition("/")
        return (m.grpc_service is None or m.grpc_service == service) and \
            (m.grpc_method is None or m.grpc_method == method)
    if kind in (RouteKind.TLS, RouteKind.TCP, RouteKind.UDP):
        return True
    if m.method and m.method != request.method:
        return False
    if m.query:
        params = dict(p.partition("=")[::2] for p in request.query.split("&") if p)
        if any(params.get(q.name) != q.value for q in m.query):
            return False
    if m.path_type == RoutePathType.REGULAR_EXPRESSION:
        try:
            return re.fullmatch(m.path, request.path) is not None
        except re.error:
            return False
    return path_matches(IngressPathType.EXACT if m.path_type == RoutePathType.EXACT else IngressPathType.PREFIX,
                        m.path, request.path)


def route_gateway(cluster: Cluster, gw: Gateway, request: Request) -> GatewayOutcome:
    outcome = GatewayOutcome(gw)
    listener = _listener_for(gw, request)
    if listener is None:
        outcome.message = (f"{gw.ref.display} has no listener for {request.scheme} on port {request.port} "
                           f"and host {request.host}")
        return outcome
    outcome.listener = listener
    best: tuple[tuple[object, ...], RouteChoice] | None = None
    for att in attachments(cluster):
        if att.gateway is not gw:
            continue
        if not att.accepted:
            outcome.rejected.append(att)
            continue
        if listener not in att.listeners:
            continue
        route = att.route
        if route.hostnames and not any(host_matches(h, request.host, one_label=False) for h in route.hostnames):
            continue
        for rule in route.rules:
            for m in rule.matches:
                if not _request_matches(m, request, route.ref.kind):
                    continue
                # Intersecting hostnames first: the longest matching non-wildcard hostname, then the
                # longest matching hostname; then the match; ties: the oldest route (one without a
                # timestamp counts as newest), then namespace/name, then rule order (Gateway API).
                rank = (_host_rank(route.hostnames, request.host), _match_rank(m),
                        _neg(route.created or "9999"), _neg(route.ref.namespace + "/" + route.ref.name), -rule.index)
                statuses = tuple(backend_status(cluster, route.ref, b) for b in rule.backends if b.weight > 0)
                choice = RouteChoice(att, listener, rule, m, statuses,
                                     f"{m.path_type} {m.path}" + (f", method {m.method}" if m.method else "")
                                     + (f", {len(m.headers)} header match(es)" if m.headers else ""))
                if best is None or rank > best[0]:
                    best = (rank, choice)
    if best is not None:
        outcome.choice = best[1]
    else:
        outcome.message = f"no route attached to {gw.ref.display} listener {listener.name} matches {request.url}"
    return outcome


def _host_rank(hostnames: tuple[str, ...], host: str) -> tuple[int, int]:
    matching = [h for h in hostnames if host_matches(h, host, one_label=False)]
    exact = max((len(h) for h in matching if not h.startswith("*.")), default=0)
    return exact, max((len(h) for h in matching), default=0)


def _neg(text: str) -> tuple[int, ...]:
    """Sort key that makes a smaller string rank higher (in an ascending sort: the larger string
    first)."""
    return tuple(-ord(c) for c in text) + (0,)


# --------------------------------------------------------------------------- OpenShift Routes

GENERATED_HOST_DOMAIN = "apps.example.com"  # a stand-in for the cluster's apps domain (ROUTE-1)


class RouteAdmissionReason(StrEnum):
    """Whether the router admits a Route: the reasons of its ``Admitted`` condition (ROUTE-1, ROUTE-6)."""

    ADMITTED = "Admitted"
    HOST_ALREADY_CLAIMED = "HostAlreadyClaimed"
    ROUTE_NOT_ADMITTED = "RouteNotAdmitted"


@dataclass(frozen=True, slots=True)
class RouteAdmission:
    route: OpenShiftRoute
    reason: RouteAdmissionReason
    message: str
    holder: OpenShiftRoute | None = None  # the older Route that holds the host (and path)

    @property
    def admitted(self) -> bool:
        return self.reason is RouteAdmissionReason.ADMITTED


def route_host(route: OpenShiftRoute) -> str:
    """The host a Route exposes; without ``spec.host`` the router generates NAME-NAMESPACE.<apps
    domain> (ROUTE-1), shown with a stand-in domain."""
    return route.host or f"{route.ref.name}-{route.ref.namespace}.{GENERATED_HOST_DOMAIN}"


def route_serves_host(route: OpenShiftRoute, host: str) -> bool:
    """ROUTE-1: the exact host; a generated host is NAME-NAMESPACE. under any apps domain."""
    if route.host:
        return route.host == host
    return host.startswith(f"{route.ref.name}-{route.ref.namespace}.")


def route_path_matches(pattern: str, path: str) -> bool:
    """ROUTE-2: the router's regexp: ``""`` or ``/`` match every path; a path ending in ``/``
    matches any continuation; otherwise the path itself or it followed by ``/``. Case-sensitive."""
    if not pattern.rstrip("/"):
        return True
    if pattern.endswith("/"):
        return path.startswith(pattern)
    return path == pattern or path.startswith(pattern + "/")


def _route_order(routes: Iterable[OpenShiftRoute]) -> list[OpenShiftRoute]:
    """Oldest first (creationTimestamp; ties and Routes without one: input order, standing in for
    the UID order the router uses)."""
    indexed = sorted(enumerate(routes), key=lambda ir: ((0, ir[1].created) if ir[1].created else (1, ""), ir[0]))
    return [route for _, route in indexed]


def route_admissions(cluster: Cluster) -> list[RouteAdmission]:
    """Which Routes the default router admits, in input order (ROUTE-1, ROUTE-6): wildcard Routes
    are refused; the oldest Route of a host claims it for its namespace; within that namespace a
    newer Route with the same path, or a TLS Route beside a passthrough one, is refused."""
    found: dict[int, RouteAdmission] = {}
    holders: dict[str, list[OpenShiftRoute]] = {}
    for route in _route_order(cluster.entry.openshift_routes):
        host = route_host(route)
        if route.wildcard:
            found[id(route)] = RouteAdmission(route, RouteAdmissionReason.ROUTE_NOT_ADMITTED,
                                              "wildcard routes are not allowed: the default IngressController's "
                                              "wildcardPolicy is WildcardsDisallowed (ROUTE-1)")
            continue
        held = holders.setdefault(host, [])
        if held and held[0].ref.namespace != route.ref.namespace:
            found[id(route)] = RouteAdmission(
                route, RouteAdmissionReason.HOST_ALREADY_CLAIMED,
                f"a route in another namespace holds {host} and is older than {route.ref.name} "
                f"({held[0].ref.display}, ROUTE-6)", held[0])
            continue
        clash = next((h for h in held if h.path == route.path or (
            h.tls is not None and route.tls is not None
            and RouteTermination.PASSTHROUGH in (h.tls.termination, route.tls.termination))), None)
        if clash is not None:
            found[id(route)] = RouteAdmission(
                route, RouteAdmissionReason.HOST_ALREADY_CLAIMED,
                f"route {clash.ref.name} already exposes {host}" + (f" path {clash.path}" if clash.path else "")
                + " and is older (ROUTE-6)", clash)
            continue
        held.append(route)
        found[id(route)] = RouteAdmission(route, RouteAdmissionReason.ADMITTED, f"admitted for host {host}")
    return [found[id(route)] for route in cluster.entry.openshift_routes]


@dataclass(frozen=True, slots=True)
class RouteOutcome:
    """What the router does with a request for a host it has Routes for (ROUTE-2, ROUTE-3)."""

    route: OpenShiftRoute | None   # the Route that serves the request (after any redirect)
    redirected_by: OpenShiftRoute | None = None  # plain HTTP redirected to HTTPS by this Route
    message: str = ""              # why nothing serves it (the router answers 503)


def _longest(routes: list[OpenShiftRoute], path: str) -> OpenShiftRoute | None:
    matching = [r for r in routes if route_path_matches(r.path, path)]
    return max(matching, key=lambda r: len(r.path)) if matching else None


def route_openshift(admitted: list[OpenShiftRoute], request: Request) -> RouteOutcome | None:
    """ROUTE-2, ROUTE-3: the Route the router picks, or None when it has no Route for the host.

    HTTPS: a passthrough Route takes the host by SNI (paths play no part); else the edge or
    reencrypt Route with the longest matching path. HTTP: a Route with insecureEdgeTermination
    Redirect redirects (302) to HTTPS; else a Route without TLS, or an edge/reencrypt one with
    Allow, with the longest matching path. Nothing else serves plain HTTP (None: 503)."""
    for_host = [r for r in admitted if route_serves_host(r, request.host)]
    if not for_host:
        return None
    secure = [r for r in for_host if r.tls is not None]
    if request.scheme == "https":
        passthrough = [r for r in secure if r.tls is not None and r.tls.termination is RouteTermination.PASSTHROUGH]
        if passthrough:
            return RouteOutcome(passthrough[0])
        chosen = _longest(secure, request.path)
        return RouteOutcome(chosen) if chosen is not None else RouteOutcome(
            None, message=f"no edge, reencrypt or passthrough Route for {request.host} matches {request.path}: "
                          "the router answers 503 (ROUTE-3)")
    redirect = _longest([r for r in secure if r.tls is not None and r.tls.insecure is InsecureEdgePolicy.REDIRECT],
                        request.path)
    if redirect is not None:
        secure_request = Request("https", request.host, 443, request.path, request.query, request.method,
                                 request.headers)
        outcome = route_openshift(admitted, secure_request)
        return RouteOutcome(outcome.route if outcome else None, redirect, outcome.message if outcome else "")
    plain = _longest([r for r in for_host if r.tls is None or (
        r.tls.insecure is InsecureEdgePolicy.ALLOW and r.tls.termination is not RouteTermination.PASSTHROUGH)],
        request.path)
    return RouteOutcome(plain) if plain is not None else RouteOutcome(
        None, message=f"no Route for {request.host} serves plain HTTP on {request.path} "
                      "(insecureEdgeTerminationPolicy None, the default, refuses it): the router answers 503 (ROUTE-3)")
