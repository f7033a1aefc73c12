"""Flows through entry points and Services, hop by hop: entry point → Service → backend pod
port → CNI policy from the proxy (or the outside world) to the pod (ING-6, ROUTE-5, SVC-1, NP-24)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..engine.entrypeers import (
    gateway_data_plane,
    ingress_controller,
    openshift_router,
    route_ports,
    served_ingresses,
)
from ..engine.flow import FlowEnd, FlowVerdict, decide
from ..engine.l7 import HttpRequest
from ..engine.portset import EMPTY, PortSet
from ..engine.routing import (
    SSL_REDIRECT,
    IngressChoice,
    Request,
    attachments,
    host_matches,
    ingress_class_of,
    ingress_conflicts,
    reference_permitted,
    route_admissions,
    route_gateway,
    route_host,
    route_ingress,
    route_openshift,
    uses_regex,
)
from ..engine.services import Translation, find_service, service_port, translate
from ..engine.trace import Effect, Layer, Reason, Step, StepTier
from ..ir import Direction, PolicyRef
from ..model import (
    BackendRef,
    ObjectRef,
    OpenShiftRoute,
    RoutePathType,
    RouteTermination,
    Service,
    ServiceType,
    Workload,
)
from .session import Analysis, resolve_peer


@dataclass(slots=True)
class EntryPath:
    """One way the flow can go (one entry point), with its hops."""

    via: dict[str, object]
    steps: list[Step] = field(default_factory=list)
    allowed_ports: PortSet = EMPTY
    reached: list[tuple[str, str, int]] = field(default_factory=list)  # (workload, protocol, pod port)

    @property
    def allowed(self) -> bool:
        return bool(self.allowed_ports)

    def to_json(self) -> dict[str, object]:
        return {"via": self.via, "verdict": "allow" if self.allowed else "deny",
                "allowedPorts": self.allowed_ports.to_json(), "trace": [s.to_json() for s in self.steps]}


def _ref(o: ObjectRef, line: int = 0) -> PolicyRef:
    return PolicyRef(o.kind, o.namespace, o.name, o.file, line or o.line)


def _hop(path: EntryPath, layer: Layer, tier: StepTier, reason: Reason, effect: Effect, message: str,
         ref: ObjectRef | None = None, line: int = 0, subject: str = "") -> None:
    path.steps.append(Step(layer, Direction.INGRESS, subject or str(path.via.get("name", "")), tier, reason,
                           effect, message, _ref(ref, line) if ref else None, None, "",
                           line or (ref.line if ref else 0)))


def _workload_end(analysis: Analysis, w: Workload) -> FlowEnd:
    return FlowEnd(analysis.engine.universe.identities_of[w.id][0], w.id, w)


def to_backends(analysis: Analysis, path: EntryPath, source: FlowEnd, service: Service, port: int | str,
                protocol: str = "TCP", http: HttpRequest | None = None, pod_port: int | None = None,
                client_tls: str | None = None) -> None:
    """Service hop, then the CNI verdict from ``source`` to every backend on its pod port
    (``pod_port``: only the backends whose pod port it is, ROUTE-4)."""
    sport = service_port(service, port, protocol if isinstance(port, int) else None)
    ref = ObjectRef("Service", service.namespace, service.name, service.origin.file, service.origin.line)
    if sport is None:
        _hop(path, Layer.SERVICE, StepTier.SERVICE, Reason.BACKEND_INVALID, Effect.DENY,
             f"Service {service.namespace}/{service.name} has no port {port}", ref)
        return
    t: Translation = translate(analysis.cluster, service, sport)
    if pod_port is not None:
        t = Translation(t.service, t.port, tuple(b for b in t.backends if b.pod_port == pod_port))
    live = [b for b in t.backends if b.pod_port is not None]
    if service.type == ServiceType.EXTERNAL_NAME or not live:
        why = ("an ExternalName Service has no pods" if service.type == ServiceType.EXTERNAL_NAME else
               "its selector matches no pod in the input" if not t.backends else
               "; ".join(b.how for b in t.backends))
        _hop(path, Layer.SERVICE, StepTier.SERVICE, Reason.NO_ENDPOINTS, Effect.DENY,
             f"Service {t.id} port {sport.port} has no endpoints: {why}", ref)
        return
    for b in t.backends:
        _hop(path, Layer.SERVICE, StepTier.SERVICE, Reason.TRANSLATED,
             Effect.ALLOW if b.pod_port is not None else Effect.DENY,
             f"Service {t.id} port {sport.port}/{sport.protocol} → {b.workload.id}: {b.how} (SVC-1, NP-24)"
             + (" — headless: clients reach the pods directly" if service.cluster_ip == "None" else ""), ref)
    for b in live:
        assert b.pod_port is not None
        verdict = decide(analysis.engine, source, _workload_end(analysis, b.workload), sport.protocol, b.pod_port, http,
                         client_tls)
        path.steps.extend(verdict.steps)
        path.allowed_ports = path.allowed_ports | verdict.allowed_ports
        if verdict.allowed:
            path.reached.append((b.workload.id, sport.protocol, b.pod_port))


def _http_of(request: Request) -> HttpRequest | None:
    if request.scheme not in ("http", "https"):
        return None
    path = request.path + (f"?{request.query}" if request.query else "")  # CIL-16: :path has the query
    return HttpRequest(request.method, path, request.host, request.headers)


def _reach(analysis: Analysis, path: EntryPath, source: FlowEnd, proxy: Workload, port: int) -> bool:
    """The outside world to the proxy's own pods, on its listening port."""
    verdict = decide(analysis.engine, source, _workload_end(analysis, proxy), "TCP", port)
    path.steps.extend(verdict.steps)
    return verdict.allowed


def ingress_paths(analysis: Analysis, source: FlowEnd, request: Request,
                  forced: IngressChoice | None = None) -> list[EntryPath]:
    """Every ingress class's controller that serves the request. ``forced``: check that one
    Ingress path instead of routing (a regex path has no literal request to route)."""
    cluster = analysis.cluster
    if request.scheme not in ("http", "https") or request.port not in (80, 443):
        return []
    by_class = {cls: [ing for ing in ingresses if forced is None or ing is forced.ingress]
                for cls, ingresses in served_ingresses(cluster, analysis.options.watch_ingress_without_class).items()}
    by_class = {cls: ingresses for cls, ingresses in by_class.items() if ingresses}
    controller = ingress_controller(cluster, analysis.options.ingress_controller)
    paths: list[EntryPath] = []
    for cls, ingresses in sorted(by_class.items(), key=lambda kv: kv[0] or ""):
        choice = forced or route_ingress(cluster, ingresses, request)
        via: dict[str, object] = {"kind": "IngressClass", "name": cls or "<none>"}
        path = EntryPath(via)
        if choice is None:
            if not any(host_matches(r.host, request.host, True) and r.host for i in ingresses for r in i.rules):
                continue  # this controller has nothing for the host: not a candidate
            _hop(path, Layer.ENTRY, StepTier.INGRESS, Reason.NO_ROUTE, Effect.DENY,
                 f"ingress class {cls}: no rule matches {request.url} and no defaultBackend: the controller "
                 "answers 404 (ING-2)")
            paths.append(path)
            continue
        ing = choice.ingress
        path.via = {"kind": "Ingress", "namespace": ing.ref.namespace, "name": ing.ref.name,
                    "host": request.host, "path": choice.path.path if choice.path else None,
                    "pathType": choice.path.path_type if choice.path else None,
                    "service": f"{choice.backend.namespace}/{choice.backend.name}", "servicePort": choice.backend.port}
        _hop(path, Layer.ENTRY, StepTier.INGRESS, Reason.ROUTED, Effect.ALLOW,
             f"{request.url} matches {ing.ref.display} " + (f"rule {choice.rule}: " if choice.rule is not None else "")
             + f"{choice.why} → Service {choice.backend.namespace}/{choice.backend.name}:{choice.backend.port} "
             "(ING-1, ING-2)", ing.ref, choice.line)
        tls = next((t for t in ing.tls if any(host_matches(h, request.host, True) for h in t.hosts)), None)
        port = request.port
        if request.scheme == "http" and tls is not None and ing.annotations.get(SSL_REDIRECT, "true") != "false":
            _hop(path, Layer.ENTRY, StepTier.TLS, Reason.TLS, Effect.ALLOW,
                 "plain HTTP is redirected to HTTPS (308; ssl-redirect "
                 "defaults to true with a tls section, ING-5); following it", ing.ref, tls.line)
            port = 443
        elif request.scheme == "https":
            if tls is None:
                _hop(path, Layer.ENTRY, StepTier.TLS, Reason.TLS, Effect.WARN,
                     f"no tls entry of {ing.ref.display} covers "
                     f"{request.host}: ingress-nginx serves its self-signed default certificate (ING-5)", ing.ref)
            elif (ing.ref.namespace, tls.secret) not in cluster.entry.secrets:
                _hop(path, Layer.ENTRY, StepTier.TLS, Reason.TLS, Effect.WARN,
                     f"TLS secret {ing.ref.namespace}/{tls.secret} is "
                     "not in the input: if it is missing, clients get the self-signed default certificate (ING-5)",
                     ing.ref, tls.line)
            else:
                _hop(path, Layer.ENTRY, StepTier.TLS, Reason.TLS, Effect.ALLOW,
                     f"TLS terminated with {ing.ref.namespace}/{tls.secret}",
                     ing.ref, tls.line)
        if controller is None:
            continue
        path.via["controller"] = controller.id
        world_ok = _reach(analysis, path, source, controller, port)
        svc = find_service(cluster, choice.backend.namespace, choice.backend.name)
        if svc is None:
            _hop(path, Layer.SERVICE, StepTier.SERVICE, Reason.BACKEND_INVALID, Effect.DENY,
                 f"backend Service {choice.backend.namespace}/{choice.backend.name} is not in the input", ing.ref,
                 choice.backend.line)
        elif choice.backend.port is not None:
            # ING-6: the controller proxies to the pod IP and target port, from its own pods.
            to_backends(analysis, path, _workload_end(analysis, controller), svc, choice.backend.port,
                        http=_http_of(request))
        if not world_ok:
            path.allowed_ports = EMPTY
            path.reached.clear()
        paths.append(path)
    return paths


def gateway_paths(analysis: Analysis, source: FlowEnd, request: Request) -> list[EntryPath]:
    cluster = analysis.cluster
    paths: list[EntryPath] = []
    for gw in cluster.entry.gateways:
        outcome = route_gateway(cluster, gw, request)
        if outcome.listener is None:
            continue
        lst = outcome.listener
        path = EntryPath({"kind": "Gateway", "namespace": gw.ref.namespace, "name": gw.ref.name, "listener": lst.name})
        _hop(path, Layer.ENTRY, StepTier.GATEWAY, Reason.ROUTED, Effect.ALLOW,
             f"{gw.ref.display} listener {lst.name} ({lst.protocol} {lst.port}"
             + (f", hostname {lst.hostname}" if lst.hostname else "") + f") takes {request.url}", gw.ref, lst.line)
        if lst.tls_mode == "Terminate":
            for c in lst.certificate_refs or ():
                if not reference_permitted(cluster, "Gateway", gw.ref.namespace, "Secret", c.namespace, c.name):
                    _hop(path, Layer.ENTRY, StepTier.TLS, Reason.TLS, Effect.DENY,
                         f"certificate Secret {c.namespace}/{c.name} is in "
                         "another namespace without a ReferenceGrant (GW-2: RefNotPermitted)", gw.ref, c.line)
                elif (c.namespace, c.name) not in cluster.entry.secrets:
                    _hop(path, Layer.ENTRY, StepTier.TLS, Reason.TLS, Effect.WARN,
                         f"certificate Secret {c.namespace}/{c.name} is not "
                         "in the input (GW-3: if missing, InvalidCertificateRef)", gw.ref, c.line)
            if not lst.certificate_refs:
                _hop(path, Layer.ENTRY, StepTier.TLS, Reason.TLS, Effect.DENY,
                     "the listener terminates TLS without certificateRefs "
                     "(GW-3: InvalidCertificateRef)", gw.ref, lst.line)
        choice = outcome.choice
        if choice is None:
            for att in outcome.rejected:
                _hop(path, Layer.ENTRY, StepTier.ROUTE, Reason.NOT_ACCEPTED, Effect.NONE,
                     f"{att.route.ref.display} is not accepted: {att.reason}: {att.message}", att.route.ref,
                     att.parent.line)
            _hop(path, Layer.ENTRY, StepTier.ROUTE, Reason.NO_ROUTE, Effect.DENY,
                 outcome.message + " (404)", gw.ref, lst.line)
            paths.append(path)
            continue
        route = choice.route
        path.via.update(route=f"{route.ref.kind} {route.ref.namespace}/{route.ref.name}", rule=choice.rule.index)
        _hop(path, Layer.ENTRY, StepTier.ROUTE, Reason.ROUTED, Effect.ALLOW,
             f"{route.ref.display} rule {choice.rule.index} ({choice.why}) matches {request.url} (GW-5)",
             route.ref, choice.rule.line)
        bad = [b for b in choice.backends if not b.ok]
        for b in bad:
            _hop(path, Layer.ENTRY, StepTier.ROUTE, Reason.BACKEND_INVALID, Effect.DENY,
                 f"backend {b.reason}: {b.message} — "
                 "requests routed to it get 500", route.ref, b.ref.line)
        if not choice.backends:
            _hop(path, Layer.ENTRY, StepTier.ROUTE, Reason.NO_ENDPOINTS, Effect.DENY,
                 "the rule has no backend with weight > 0: 500",
                 route.ref, choice.rule.line)
        proxy = gateway_data_plane(cluster, gw)
        if proxy is None:
            paths.append(path)
            continue
        path.via["dataPlane"] = proxy.id
        world_ok = _reach(analysis, path, source, proxy, lst.port)
        for b in choice.backends:
            svc = find_service(cluster, b.ref.namespace, b.ref.name) if b.ok else None
            if svc is not None and b.ref.port is not None:
                to_backends(analysis, path, _workload_end(analysis, proxy), svc, b.ref.port, http=_http_of(request))
        # A backend that does not resolve fails only its share of the requests; a TLS or
        # reachability failure fails them all.
        if not world_ok or any(s.effect == Effect.DENY and s.layer == Layer.ENTRY
                               and s.reason is not Reason.BACKEND_INVALID for s in path.steps):
            path.allowed_ports = EMPTY
            path.reached.clear()
        paths.append(path)
    return paths


def _route_via(route: OpenShiftRoute, host: str) -> dict[str, object]:
    return {"kind": "Route", "namespace": route.ref.namespace, "name": route.ref.name, "host": host,
            "path": route.path or "/", "termination": route.tls.termination if route.tls else "none",
            "services": [f"{b.namespace}/{b.name}" for b in route.backends if b.weight > 0]}


def openshift_paths(analysis: Analysis, source: FlowEnd, request: Request) -> list[EntryPath]:
    """The OpenShift router's way in (ROUTE-1 … ROUTE-5): which admitted Route serves the request,
    TLS, the outside world to the router's pods, then the router's pods to each backend's pods
    (weight > 0) on the port ``spec.port.targetPort`` names."""
    cluster = analysis.cluster
    if request.scheme not in ("http", "https") or request.port not in (80, 443):
        return []
    admitted = [a.route for a in route_admissions(cluster) if a.admitted]
    outcome = route_openshift(admitted, request)
    if outcome is None:
        return []  # the router has no Route for this host: not a way in
    router = openshift_router(cluster)
    route = outcome.route or outcome.redirected_by
    path = EntryPath(_route_via(route, request.host) if route else
                     {"kind": "Router", "name": router.id if router else "", "host": request.host})
    port = request.port
    if outcome.redirected_by is not None:
        r = outcome.redirected_by
        _hop(path, Layer.ENTRY, StepTier.TLS, Reason.TLS, Effect.ALLOW,
             f"plain HTTP is redirected to HTTPS by {r.ref.display} (302; insecureEdgeTerminationPolicy Redirect, "
             "ROUTE-3); following it", r.ref, r.tls.line if r.tls else 0)
        port = 443
    if outcome.route is None:
        _hop(path, Layer.ENTRY, StepTier.ROUTE, Reason.NO_ROUTE, Effect.DENY, outcome.message)
        return [path]
    route = outcome.route
    backends = [b for b in route.backends if b.weight > 0]
    _hop(path, Layer.ENTRY, StepTier.ROUTE, Reason.ROUTED, Effect.ALLOW,
         f"{request.url} matches {route.ref.display} (host {route_host(route)}, path {route.path or '/'}"
         + (f", {route.tls.termination} TLS" if route.tls else ", no TLS") + ") → "
         + (", ".join(f"Service {b.namespace}/{b.name} (weight {b.weight})" for b in backends) or "no backend")
         + " (ROUTE-1, ROUTE-2)", route.ref)
    if port == 443 and route.tls is not None:
        if route.tls.termination is RouteTermination.PASSTHROUGH:
            _hop(path, Layer.ENTRY, StepTier.TLS, Reason.TLS, Effect.ALLOW,
                 "passthrough: the router picks the Route by SNI and sends the TLS stream to the pod unopened; "
                 "the pod's certificate is served (ROUTE-3)", route.ref, route.tls.line)
        elif route.tls.certificate:
            _hop(path, Layer.ENTRY, StepTier.TLS, Reason.TLS, Effect.ALLOW,
                 f"TLS terminated by the router ({route.tls.termination}) with the Route's certificate (ROUTE-3)",
                 route.ref, route.tls.line)
        else:
            _hop(path, Layer.ENTRY, StepTier.TLS, Reason.TLS, Effect.WARN,
                 f"TLS terminated by the router ({route.tls.termination}) with its default certificate, a wildcard "
                 "for the cluster's apps domain: clients of another host get a name mismatch (ROUTE-3)",
                 route.ref, route.tls.line)
    if not backends:
        _hop(path, Layer.ENTRY, StepTier.ROUTE, Reason.NO_ENDPOINTS, Effect.DENY,
             "every backend has weight 0: the router answers 503 (ROUTE-4)", route.ref)
    if router is None:
        return [path]
    path.via["router"] = router.id
    world_ok = _reach(analysis, path, source, router, port)
    # Edge termination sends plain HTTP to the pods; passthrough and reencrypt send TLS.
    http = _http_of(request) if route.tls is None or route.tls.termination is RouteTermination.EDGE else None
    for b in backends:
        svc = find_service(cluster, b.namespace, b.name)
        if svc is None:
            _hop(path, Layer.SERVICE, StepTier.SERVICE, Reason.BACKEND_INVALID, Effect.DENY,
                 f"backend Service {b.namespace}/{b.name} is not in the input: its share of the requests gets 503",
                 route.ref, b.line)
            continue
        ports = route_ports(cluster, svc, route.target_port)
        if not ports:
            _hop(path, Layer.SERVICE, StepTier.SERVICE, Reason.BACKEND_INVALID, Effect.DENY,
                 f"Service {svc.namespace}/{svc.name} has no endpoint port that spec.port.targetPort "
                 f"{route.target_port} names (ROUTE-4)", route.ref, route.port_line or b.line)
        for sport, pod_port in ports:
            # ROUTE-5: the router proxies to the endpoints (pod address and port), from its own pods.
            to_backends(analysis, path, _workload_end(analysis, router), svc, sport.port, http=http, pod_port=pod_port)
    if not world_ok or any(s.effect == Effect.DENY and s.layer == Layer.ENTRY for s in path.steps):
        path.allowed_ports = EMPTY
        path.reached.clear()
    return [path]


def service_paths(analysis: Analysis, source: FlowEnd, service: Service, port: int, protocol: str) -> list[EntryPath]:
    """A flow to a Service port: exposure (from outside), translation, then the CNI verdict."""
    path = EntryPath({"kind": "Service", "namespace": service.namespace, "name": service.name, "port": port,
                      "type": service.type})
    ref = ObjectRef("Service", service.namespace, service.name, service.origin.file, service.origin.line)
    if source.workload is None:  # from outside the cluster's pods
        sport = service_port(service, port, protocol)
        if service.type not in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER):
            _hop(path, Layer.SERVICE, StepTier.EXPOSURE, Reason.NOT_EXPOSED, Effect.DENY,
                 f"Service {service.namespace}/{service.name} is {service.type}"
                 + (" (headless)" if service.cluster_ip == "None" else "")
                 + ": not reachable from outside the cluster (SVC-3)", ref)
            return [path]
        node_port = f", nodePort {sport.node_port}" if sport and sport.node_port else ""
        _hop(path, Layer.SERVICE, StepTier.EXPOSURE, Reason.EXPOSED, Effect.ALLOW,
             f"{service.type} Service: port {port}{node_port} on every node"
             + (" and the load balancer" if service.type == ServiceType.LOAD_BALANCER else "") + " (SVC-3)", ref)
        if (service.external_traffic_policy or "Cluster") == "Cluster":
            _hop(path, Layer.SERVICE, StepTier.EXPOSURE, Reason.SOURCE_NAT, Effect.WARN,
                 "externalTrafficPolicy: Cluster — traffic may be SNATed to a node address before the pod's "
                 "policies see it, so ipBlock rules on the client's address are unreliable (SVC-4, NP-19)", ref)
    to_backends(analysis, path, source, service, port, protocol)
    return [path]


def parse_service_spec(analysis: Analysis, spec: str) -> Service | None:
    parts = spec.split("/")
    if len(parts) == 3 and parts[0] in ("service", "svc"):
        return find_service(analysis.cluster, parts[1], parts[2])
    return None


__all__ = ["EntryPath", "ingress_paths", "gateway_paths", "openshift_paths", "service_paths", "parse_service_spec",
           "BackendRef", "resolve_peer", "FlowVerdict"]


@dataclass(slots=True)
class EntryPoint:
    """One way in, checked end to end with a representative request, as ``explain`` does."""

    via: dict[str, object]
    request: str
    path: EntryPath

    def first_failure(self) -> Step | None:
        return next((s for s in self.path.steps if s.effect == Effect.DENY), None)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"via": self.via, "request": self.request,
                                  "verdict": "allow" if self.path.allowed else "deny",
                                  "reached": [{"workload": w, "protocol": p, "port": n}
                                              for w, p, n in self.path.reached]}
        failure = self.first_failure()
        if failure is not None:
            out["blockedBy"] = failure.to_json()
        return out


def _sample_host(pattern: str) -> str:
    if not pattern:
        return "any-host.example"
    return "x" + pattern[1:] if pattern.startswith("*.") else pattern


def entry_points(analysis: Analysis) -> list[EntryPoint]:
    """Every Ingress rule, every Gateway route rule, every NodePort/LoadBalancer Service port."""
    cluster = analysis.cluster
    world = resolve_peer(analysis, "world", "from")
    points: list[EntryPoint] = []
    watch_without_class = analysis.options.watch_ingress_without_class
    lost = {(id(c.rejected), c.line): c for ingresses in served_ingresses(cluster, watch_without_class).values()
            for c in ingress_conflicts(ingresses)}
    for ing in cluster.entry.ingresses:
        if ingress_class_of(cluster, ing) is None and not watch_without_class:
            ignored = EntryPath({"kind": "Ingress", "namespace": ing.ref.namespace, "name": ing.ref.name})
            _hop(ignored, Layer.ENTRY, StepTier.INGRESS, Reason.NOT_ACCEPTED, Effect.DENY,
                 f"{ing.ref.display} has no class and there is no default IngressClass: ingress-nginx ignores it "
                 "unless it runs with --watch-ingress-without-class (ING-9)", ing.ref)
            points.append(EntryPoint(ignored.via, "", ignored))
            continue
        scheme = "https" if ing.tls else "http"
        port = 443 if scheme == "https" else 80
        regex = uses_regex(ing)
        for i, rule in enumerate(ing.rules):
            for ipath in rule.paths:
                if ipath.backend is None:
                    continue
                request = Request(scheme, _sample_host(rule.host), port, ipath.path)
                conflict = lost.get((id(ing), ipath.line))
                if conflict is not None:  # ING-8: an older Ingress of the class keeps this host and path
                    shadowed = EntryPath({"kind": "Ingress", "namespace": ing.ref.namespace, "name": ing.ref.name,
                                          "host": request.host, "path": ipath.path})
                    _hop(shadowed, Layer.ENTRY, StepTier.INGRESS, Reason.NOT_ACCEPTED, Effect.DENY,
                         f"host {rule.host or '*'} and path {conflict.path} are served by the older "
                         f"{conflict.kept.ref.display}: ingress-nginx keeps the oldest Ingress's path and its "
                         "admission webhook rejects this one (ING-8)", ing.ref, ipath.line)
                    points.append(EntryPoint(shadowed.via, request.url, shadowed))
                    continue
                forced = None
                if regex and ipath.path_type == "ImplementationSpecific" and re.escape(ipath.path) != ipath.path:
                    # A regex path: check the rule itself rather than a request that may not match it.
                    forced = IngressChoice(ing, i, ipath, ipath.backend, ipath.line,
                                           f"host {rule.host or '*'} and regex path {ipath.path} (ING-4)")
                for p in ingress_paths(analysis, world, request, forced):
                    if (p.via.get("namespace"), p.via.get("name")) == (ing.ref.namespace, ing.ref.name):
                        points.append(EntryPoint(p.via, request.url, p))
                        break
        if ing.default_backend is None:
            continue
        request = Request(scheme, "any-host.example", port, "/.kubeward-default")
        default = IngressChoice(ing, None, None, ing.default_backend, ing.ref.line, "its defaultBackend (ING-2)")
        for p in ingress_paths(analysis, world, request, default):
            points.append(EntryPoint(p.via, request.url, p))
    for att in attachments(cluster):
        route = att.route
        if not att.accepted:
            rejected = EntryPath({"kind": route.ref.kind, "namespace": route.ref.namespace, "name": route.ref.name,
                                  "gateway": f"{att.parent.namespace}/{att.parent.name}"})
            _hop(rejected, Layer.ENTRY, StepTier.ROUTE, Reason.NOT_ACCEPTED, Effect.DENY,
                 f"{route.ref.display} is not accepted by {att.parent.namespace}/{att.parent.name}: "
                 f"{att.reason}: {att.message}", route.ref, att.parent.line)
            points.append(EntryPoint(rejected.via, "", rejected))
            continue
        assert att.gateway is not None
        for lst in att.listeners:
            listener_scheme = {"HTTP": "http", "HTTPS": "https", "TLS": "tls", "TCP": "tcp"}.get(lst.protocol)
            if listener_scheme is None:
                continue
            host = _sample_host(route.hostnames[0] if route.hostnames else lst.hostname)
            for route_rule in route.rules:
                if not route_rule.matches:
                    continue  # every match of the rule unreadable: it matches no request (GW-5 defaults an absent one)
                m = route_rule.matches[0]
                path_value = m.path if m.path_type != RoutePathType.REGULAR_EXPRESSION else "/"
                request = Request(listener_scheme, host, lst.port, path_value, "", m.method or "GET",
                                  tuple((h.name, h.value) for h in m.headers if h.type == "Exact"))
                for p in gateway_paths(analysis, world, request):
                    gw = att.gateway.ref
                    if p.via.get("namespace") == gw.namespace and p.via.get("name") == gw.name:
                        p.via.setdefault("route", f"{route.ref.kind} {route.ref.namespace}/{route.ref.name}")
                        points.append(EntryPoint(p.via, request.url, p))
    for adm in route_admissions(cluster):
        os_route = adm.route
        if not adm.admitted:
            refused = EntryPath({"kind": "Route", "namespace": os_route.ref.namespace, "name": os_route.ref.name,
                                 "host": route_host(os_route)})
            _hop(refused, Layer.ENTRY, StepTier.ROUTE, Reason.NOT_ACCEPTED, Effect.DENY,
                 f"{os_route.ref.display} is not admitted by the OpenShift router: {adm.reason}: {adm.message}",
                 os_route.ref)
            points.append(EntryPoint(refused.via, "", refused))
            continue
        request = Request("https" if os_route.tls else "http", route_host(os_route), 443 if os_route.tls else 80,
                          os_route.path or "/")
        for p in openshift_paths(analysis, world, request):
            if (p.via.get("namespace"), p.via.get("name")) == (os_route.ref.namespace, os_route.ref.name):
                points.append(EntryPoint(p.via, request.url, p))
    for svc in cluster.services:
        if svc.type in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER):
            for sport in svc.ports:
                for p in service_paths(analysis, world, svc, sport.port, sport.protocol):
                    points.append(EntryPoint(p.via, f"{svc.type} {svc.namespace}/{svc.name} port {sport.port}", p))
    return points


def service_index(analysis: Analysis) -> dict[str, list[tuple[str, int, int, str]]]:
    """For each workload: the Service ports that front it, as (service, port, pod port, protocol)."""
    index: dict[str, list[tuple[str, int, int, str]]] = {}
    for svc in analysis.cluster.services:
        if not svc.selector:
            continue
        for sport in svc.ports:
            for b in translate(analysis.cluster, svc, sport).backends:
                if b.pod_port is not None:
                    index.setdefault(b.workload.id, []).append(
                        (f"{svc.namespace}/{svc.name}", sport.port, b.pod_port, sport.protocol))
    return index
