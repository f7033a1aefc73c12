"""`explain`: the verdict for one flow and the trace that produced it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..diagnostics import Diagnostics
from ..engine.engine import Engine
from ..engine.flow import FlowEnd, FlowVerdict, decide
from ..engine.l7 import HttpRequest
from ..engine.options import Mesh
from ..engine.portset import EMPTY
from ..engine.routing import parse_url
from ..engine.trace import Effect, Layer, Reason, Step, StepTier
from ..engine.universe import Domain
from ..errors import UsageError
from ..ir import PROTOCOLS, Direction, ObjectRef
from .egress import endpoint_names, mesh_egress, mesh_egress_address
from .entry import EntryPath, gateway_paths, ingress_paths, openshift_paths, parse_service_spec, service_paths
from .session import Analysis, analyse_objects, cluster_dns_name, is_domain, is_ip, resolve_peer


@dataclass(slots=True)
class Explanation:
    """The verdict for one flow (``verdict.steps``: the trace) and, through entry points or a
    Service, one path per way in."""

    verdict: FlowVerdict
    options: list[str]
    paths: list[EntryPath] = field(default_factory=list)  # entry and Service flows: one per way in
    target: dict[str, object] | None = None               # the "to" of a URL or Service flow

    @property
    def allowed(self) -> bool:
        return self.verdict.allowed

    def to_json(self) -> dict[str, object]:
        v = self.verdict
        return {
            "schema": 2,  # docs/json.md: 2 = the whole IPv4 space is named `world` (issue 17)
            "verdict": v.verdict,
            "flow": {
                "from": _end_json(v.source),
                "to": self.target if self.target is not None else _end_json(v.destination),
                "protocol": v.protocol,
                "port": v.port,
            },
            "allowedPorts": v.allowed_ports.to_json(),
            "options": self.options,
            "trace": [s.to_json() for s in v.steps],
            **({"paths": [p.to_json() for p in self.paths]} if self.target is not None else {}),
        }


def _end_json(end: FlowEnd) -> dict[str, object]:
    kind = end.endpoint.kind
    out: dict[str, object] = {"peer": end.label, "type": "workload" if kind == "identity" else kind}
    if end.workload is not None:
        out.update(id=end.workload.id, namespace=end.workload.namespace, name=end.workload.name,
                   kind=end.workload.kind)
    else:
        out["id"] = end.endpoint.display
    if end.address:
        out["address"] = end.address
    return out


def explain(analysis: Analysis, source: str, destination: str, port: int | None = None,
            protocol: str | None = None, method: str | None = None,
            headers: tuple[tuple[str, str], ...] = (), path: str | None = None,
            host: str | None = None) -> Explanation:
    """The verdict for one flow. ``port`` None: which ports are allowed (of ``protocol``, or of
    every protocol); ``protocol`` None with a port: TCP. ``destination`` may also be a URL
    (through Ingresses and Gateways) or ``service/NS/NAME`` (a Service port). A staged or dry-run
    policy that would change the answer once enforced is named in a last step (CAL-23, IST-40)."""
    found = _explain(analysis, source, destination, port, protocol, method, headers, path, host)
    cluster = analysis.cluster
    if analysis.options.enforce_staged or not (cluster.staged or cluster.mesh.dry_run):
        return found
    enforced = _explain(enforced_analysis(analysis), source, destination, port, protocol, method, headers, path, host)
    if enforced.verdict.allowed_ports != found.verdict.allowed_ports:
        found.verdict.steps.append(_not_enforced_step(analysis, found, enforced))
    return found


_ENFORCED: dict[int, tuple[Analysis, Analysis]] = {}


def enforced_analysis(analysis: Analysis) -> Analysis:
    """The same input with its staged and dry-run policies enforced (one per analysis, kept)."""
    kept = _ENFORCED.get(id(analysis))
    if kept is None or kept[0] is not analysis:
        if len(_ENFORCED) > 8:
            _ENFORCED.clear()
        enforced = analyse_objects(analysis.objects, Diagnostics(), replace(analysis.options, enforce_staged=True))
        kept = _ENFORCED[id(analysis)] = (analysis, enforced)
    return kept[1]


def _not_enforced_step(analysis: Analysis, found: Explanation, enforced: Explanation) -> Step:
    """CAL-23, IST-40: the staged or dry-run policies that would change the answer once enforced."""
    cluster = analysis.cluster
    candidates = {(p.ref.kind, p.ref.namespace, p.ref.name): p.ref for p in cluster.staged}
    candidates.update({(p.ref.kind, p.ref.namespace, p.ref.name): p.ref for p in cluster.mesh.dry_run})
    named = {(s.policy.kind, s.policy.namespace, s.policy.name) for s in enforced.verdict.steps if s.policy}
    refs = [r for k, r in candidates.items() if k in named] or list(candidates.values())
    mesh_only = all(r.kind == "AuthorizationPolicy" for r in refs)
    v = enforced.verdict
    now = f"{v.verdict} ({v.allowed_ports})" if v.allowed_ports else str(v.verdict)
    what = "dry-run" if mesh_only else "staged"
    names = f"{what}, not enforced" if len(refs) == 1 else \
        f"not enforced: {', '.join(f'{r.display} ({r.where})' for r in refs)}"
    return Step(Layer.MESH if mesh_only else Layer.CNI, Direction.INGRESS, found.verdict.destination.label,
                StepTier.NONE, Reason.NOT_ENFORCED, Effect.NONE,
                f"{names}: would make this {now} once enforced (--enforce-staged shows it; "
                f"{_cites(refs)})", refs[0] if len(refs) == 1 else None)


def _cites(refs: list[ObjectRef]) -> str:
    kinds = {r.kind == "AuthorizationPolicy" for r in refs}
    return ", ".join(rule for dry_run, rule in ((False, "CAL-23"), (True, "IST-40")) if dry_run in kinds)


def _explain(analysis: Analysis, source: str, destination: str, port: int | None, protocol: str | None,
             method: str | None, headers: tuple[tuple[str, str], ...], path: str | None,
             host: str | None) -> Explanation:
    if protocol is not None:
        protocol = protocol.upper()
        if protocol not in PROTOCOLS:
            raise UsageError(f"--protocol {protocol}: expected one of {', '.join(PROTOCOLS)}")
    if port is not None and not 1 <= port <= 65535:
        raise UsageError(f"--port {port}: expected 1-65535")
    http = (HttpRequest(method.upper() if method else "GET", path or "/", host or "", headers)
            if (method or path or host or headers) else None)
    if "://" in destination:
        return _explain_url(analysis, source, destination, method or "GET", headers)
    if destination.startswith(("service/", "svc/")):
        return _explain_service(analysis, source, destination, port, protocol or "TCP")
    dns = cluster_dns_name(analysis.cluster, destination) if is_domain(destination) else None
    if dns is not None and not dns.pod:  # SVC-7: the Service's cluster DNS name is the Service
        svc = dns.service
        if port is None:
            ports = [p for p in svc.ports if protocol is None or p.protocol == protocol]
            if len(ports) != 1:
                raise UsageError(f"--to {destination} is Service {svc.namespace}/{svc.name}: it needs --port (one "
                                 f"of {', '.join(f'{p.port}/{p.protocol}' for p in svc.ports) or 'none'})")
            port, protocol = ports[0].port, ports[0].protocol
        return _explain_service(analysis, source, f"service/{svc.namespace}/{svc.name}", port, protocol or "TCP",
                                destination)
    wanted = [p.lower().rstrip(".") for p in (source, destination)
              if is_domain(p) and cluster_dns_name(analysis.cluster, p) is None]
    if destination.lower().rstrip(".") in wanted and analysis.options.mesh == Mesh.ISTIO:
        wanted += endpoint_names(analysis, destination.lower().rstrip("."))  # IST-47: the proxy connects to them
    if any(analysis.engine.universe.domain(name) is None for name in wanted):
        # A DNS name no policy names: bind the policies again with it in the universe.
        engine = Engine(analysis.cluster, analysis.options, wanted)
        analysis = Analysis(analysis.objects, analysis.cluster, engine)
    src = resolve_peer(analysis, source, "from")
    dst = resolve_peer(analysis, destination, "to")
    egress = None
    if port is not None and protocol in (None, "TCP") and isinstance(dst.endpoint, Domain):
        egress = mesh_egress(analysis, src, dst, dst.endpoint.name, port, http)  # IST-28 … IST-36
    elif port is not None and protocol in (None, "TCP") and is_ip(destination) and dst.workload is None:
        egress = mesh_egress_address(analysis, src, dst, destination, port)  # IST-49
    verdict = egress or decide(analysis.engine, src, dst, protocol, port, http)
    verdict.steps.extend(_other_pods(analysis, src, dst, protocol, port, verdict))
    return Explanation(verdict, analysis.options.describe())


def _other_pods(analysis: Analysis, src: FlowEnd, dst: FlowEnd, protocol: str | None, port: int | None,
                verdict: FlowVerdict) -> list[Step]:
    """Pods of one workload whose IPs fall into different ipBlocks, or whose labels or ports
    differ (NP-32: a rollout, a StatefulSet's per-pod labels), can get different answers: say so,
    with the union (as the map shows it), rather than pick one pod silently. An end named by a
    pod (or an address) is that pod alone."""
    u = analysis.engine.universe
    ends = []
    for end in (src, dst):
        whole = end.workload is not None and not end.address and end.label == end.workload.id
        idents = u.identities_of.get(end.workload.id, []) if end.workload and whole else []
        ends.append([FlowEnd(i, end.label, end.workload) for i in idents] or [end])
    if len(ends[0]) * len(ends[1]) == 1:
        return []
    differing = 0
    for s in ends[0]:
        for d in ends[1]:
            other = decide(analysis.engine, s, d, protocol, port)
            if other.allowed_ports != verdict.allowed_ports:
                differing += 1
                verdict.allowed_ports = verdict.allowed_ports | other.allowed_ports
    if not differing:
        return []
    return [Step(Layer.CNI, Direction.EGRESS, src.label, StepTier.NONE, Reason.PODS_DIFFER, Effect.NONE,
                 "the pods of these workloads differ (their labels or ports, or the ipBlocks their addresses "
                 f"fall in) and do not all get the same answer; shown: the union ({verdict.allowed_ports}). "
                 "Name a pod (namespace/pod) or a pod IP with --from/--to for one pod's answer")]


def _combine(source: FlowEnd, target: FlowEnd, protocol: str | None, port: int | None,
             paths: list[EntryPath]) -> FlowVerdict:
    """Allowed if any way in allows; the trace shown is that way's, else the first way's."""
    allowed = EMPTY
    for p in paths:
        allowed = allowed | p.allowed_ports
    shown = next((p for p in paths if p.allowed), paths[0] if paths else None)
    return FlowVerdict(source, target, protocol, port, allowed, list(shown.steps) if shown else [])


def _explain_url(analysis: Analysis, source: str, url: str, method: str,
                 headers: tuple[tuple[str, str], ...]) -> Explanation:
    request = parse_url(url, method, headers)
    if request is None:
        raise UsageError(f"--to {url}: expected a URL like https://host[:port]/path")
    src = resolve_peer(analysis, source, "from")
    paths = (ingress_paths(analysis, src, request) + gateway_paths(analysis, src, request)
             + openshift_paths(analysis, src, request))
    unserved = all(any(s.reason is Reason.NO_ROUTE for s in p.steps) for p in paths)
    if unserved and src.workload is not None and is_domain(request.host) and \
            cluster_dns_name(analysis.cluster, request.host) is None:
        # IST-31: from a pod, to a name no entry point routes: the flow leaves for the outside.
        http = HttpRequest(request.method, request.path, request.host, headers) if request.scheme == "http" else None
        return _explain(analysis, source, request.host, request.port, "TCP", http.method if http else None, headers,
                       http.path if http else None, http.host if http else None)
    target = FlowEnd(Domain(-1, request.host), request.url)
    verdict = _combine(src, target, "TCP", request.port, paths)
    if not paths:
        verdict.steps.append(Step(Layer.ENTRY, Direction.INGRESS, request.url, StepTier.ENTRY, Reason.NO_ROUTE,
                                  Effect.DENY,
                                  f"no Ingress, Gateway listener or OpenShift Route in the input serves "
                                  f"{request.url}"))
    return Explanation(verdict, analysis.options.describe(), paths,
                       {"peer": request.url, "type": "url", "url": request.url, "host": request.host,
                        "port": request.port, "path": request.path, "method": request.method})


def _explain_service(analysis: Analysis, source: str, spec: str, port: int | None, protocol: str,
                     label: str | None = None) -> Explanation:
    """A flow to a Service port; ``label``: how the command line named the Service (default ``spec``)."""
    service = parse_service_spec(analysis, spec)
    if service is None:
        raise UsageError(f"--to {spec}: no Service {spec.split('/', 1)[-1]} in the input (expected service/NS/NAME)")
    if port is None:
        raise UsageError(f"--to {spec} needs --port: the Service port")
    protocol = protocol.upper()
    src = resolve_peer(analysis, source, "from")
    paths = service_paths(analysis, src, service, port, protocol)
    target = FlowEnd(Domain(-1, f"{service.name}.{service.namespace}.svc"), label or spec)
    verdict = _combine(src, target, protocol, port, paths)
    return Explanation(verdict, analysis.options.describe(), paths,
                       {"peer": label or spec, "type": "service", "id": f"{service.namespace}/{service.name}",
                        "namespace": service.namespace, "name": service.name, "serviceType": service.type,
                        "port": port})
