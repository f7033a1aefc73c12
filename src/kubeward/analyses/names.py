"""Workload names as kubectl users type them (issue 17): ``deploy/web``, ``deployment/shop/web``,
``-n shop web``, ``shop/web``, ``statefulset/mysql -n shop``, ``pod/web-7d4b9c8f6d-x2x4q`` (its
workload), ``deployment.apps/web`` — one parser for every option that names a workload, and the
named ports of ``--port http``."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from ..errors import UsageError
from ..model import Cluster, Workload, WorkloadKind
from .session import Analysis, is_domain, is_ip, network_spec, resolve_peer

# kubectl's names of the kinds that run pods: singular, plural and short name (`kubectl api-resources`).
KIND_ALIASES: dict[str, WorkloadKind] = {}
for _kind, _names in (
    (WorkloadKind.DEPLOYMENT, ("deploy", "deployment", "deployments")),
    (WorkloadKind.REPLICA_SET, ("rs", "replicaset", "replicasets")),
    (WorkloadKind.STATEFUL_SET, ("sts", "statefulset", "statefulsets")),
    (WorkloadKind.DAEMON_SET, ("ds", "daemonset", "daemonsets")),
    (WorkloadKind.REPLICATION_CONTROLLER, ("rc", "replicationcontroller", "replicationcontrollers")),
    (WorkloadKind.JOB, ("job", "jobs")),
    (WorkloadKind.CRON_JOB, ("cj", "cronjob", "cronjobs")),
    (WorkloadKind.POD, ("po", "pod", "pods")),
):
    for _name in _names:
        KIND_ALIASES[_name] = _kind
# kubectl prints KIND.GROUP/NAME (`kubectl get deploy -o name`): the group is dropped.
_GROUPS = (".apps", ".batch", ".extensions")
SERVICE_ALIASES = ("service", "services", "svc")


@dataclass(frozen=True, slots=True)
class WorkloadName:
    """A workload name as typed, parsed: the kind (None: any), namespace (None: the -n default,
    else any) and name."""

    kind: WorkloadKind | None
    namespace: str | None
    name: str


def _kind_of(word: str) -> WorkloadKind | None:
    word = word.lower()
    for group in _GROUPS:
        word = word.removesuffix(group)
    return KIND_ALIASES.get(word)


def parse_workload_name(spec: str, namespaces: frozenset[str] | set[str] = frozenset()) -> WorkloadName:
    """``spec`` split into kind, namespace and name. ``X/Y`` is ``NAMESPACE/NAME`` unless X is a
    kind (kubectl's ``TYPE/NAME``) and not a namespace of the input (``namespaces``)."""
    parts = spec.split("/")
    if len(parts) == 1 and parts[0]:
        return WorkloadName(None, None, parts[0])
    if len(parts) == 2 and all(parts):
        kind = _kind_of(parts[0])
        if kind is not None and parts[0] not in namespaces:
            return WorkloadName(kind, None, parts[1])
        return WorkloadName(None, parts[0], parts[1])
    if len(parts) == 3 and all(parts) and _kind_of(parts[0]) is not None:
        return WorkloadName(_kind_of(parts[0]), parts[1], parts[2])
    raise UsageError(f"{spec!r}: expected a workload as NAMESPACE/NAME, KIND/NAME, KIND/NAMESPACE/NAME or NAME "
                     "(with -n NAMESPACE)")


_POD_OF = {  # the names a controller gives its pods
    WorkloadKind.DEPLOYMENT: r"-[a-z0-9]{1,10}-[a-z0-9]{5}",
    WorkloadKind.REPLICA_SET: r"-[a-z0-9]{5}",
    WorkloadKind.STATEFUL_SET: r"-\d+",
    WorkloadKind.DAEMON_SET: r"-[a-z0-9]{5}",
    WorkloadKind.REPLICATION_CONTROLLER: r"-[a-z0-9]{5}",
    WorkloadKind.JOB: r"-[a-z0-9]{5}",
    WorkloadKind.CRON_JOB: r"-\d+-[a-z0-9]{5}",
}


def _owns_pod(w: Workload, pod: str) -> bool:
    if pod in w.pods or (w.kind is WorkloadKind.POD and w.name == pod):
        return True
    suffix = _POD_OF.get(w.kind)
    return suffix is not None and not w.pods and re.fullmatch(re.escape(w.name) + suffix, pod) is not None


@dataclass(frozen=True, slots=True)
class ResolvedWorkload:
    workload: Workload
    pod: str = ""  # pod/NAME of a pod the input lists: that pod (explain answers for it alone)

    @property
    def peer(self) -> str:
        """The name ``explain`` takes: NS/POD for a pod the input lists, else NS/WORKLOAD."""
        return f"{self.workload.namespace}/{self.pod}" if self.pod else self.workload.id


def resolve_workload(cluster: Cluster, spec: str, namespace: str | None = None,
                     option: str = "--workload") -> ResolvedWorkload:
    """The workload ``spec`` names (``namespace``: the -n default for names without one).
    Raises UsageError (exit code 2) for an unknown or ambiguous name, with the close matches."""
    try:
        parsed = parse_workload_name(spec, set(cluster.namespaces))
    except UsageError as exc:
        raise UsageError(f"{option} {exc}") from None
    ns = parsed.namespace or namespace
    candidates = [w for w in cluster.workloads if ns is None or w.namespace == ns]
    if parsed.kind is WorkloadKind.POD:
        found = [w for w in candidates if _owns_pod(w, parsed.name)]
        if len(found) == 1:
            w = found[0]
            return ResolvedWorkload(w, parsed.name if parsed.name in w.pods else "")
    else:
        found = [w for w in candidates if w.name == parsed.name and parsed.kind in (None, w.kind)]
        if len(found) == 1:
            return ResolvedWorkload(found[0])
        other = [w for w in candidates if w.name == parsed.name]
        if not found and other and parsed.kind is not None:
            raise UsageError(f"{option} {spec}: {', '.join(f'{w.id} is a {w.kind}' for w in other)}, "
                             f"not a {parsed.kind}")
    if len(found) > 1:
        raise UsageError(f"{option} {spec}: ambiguous: {', '.join(f'{w.kind.lower()}/{w.id}' for w in found)} "
                         "(give NAMESPACE/NAME or -n NAMESPACE)")
    known = sorted({w.id for w in candidates} | {w.name for w in candidates})
    near = difflib.get_close_matches(parsed.name, known, n=5, cutoff=0.5)
    near += [w.id for w in candidates if w.name == parsed.name and w.id not in near]
    ids = sorted({next((w.id for w in candidates if n in (w.id, w.name)), n) for n in near})
    hint = f"; did you mean {', '.join(ids)}?" if ids else (
        f"; namespaces: {', '.join(sorted(cluster.namespaces))}" if ns and ns not in cluster.namespaces else "")
    what = "pod" if parsed.kind is WorkloadKind.POD else parsed.kind or "workload"
    raise UsageError(f"{option} {spec}: no {what} {ns + '/' if ns else ''}{parsed.name} in the input{hint}")


def peer_spec(analysis: Analysis, spec: str, namespace: str | None, option: str) -> str:
    """An explain peer as ``resolve_peer`` takes it: ``world``, addresses, DNS names, URLs and
    Service names pass as they are (``svc/NAME`` gets the -n namespace); a workload name of any
    form above becomes NS/NAME (NS/POD for a pod the input lists)."""
    u = analysis.engine.universe
    if spec == "world" or is_ip(spec) or "://" in spec or is_domain(spec) or network_spec(spec, option) is not None:
        return spec  # network_spec: world-ipv6, CIDRs, `… except …` as the outputs print them (issue 17)
    head, _, rest = spec.partition("/")
    if head.lower() in SERVICE_ALIASES and rest:
        return f"service/{rest}" if "/" in rest or namespace is None else f"service/{namespace}/{rest}"
    if spec in u.identities_of:
        return spec
    if spec.count("/") == 1 and head in analysis.cluster.namespaces and _kind_of(head) is None:
        try:  # NS/POD: resolve_peer finds a pod of a workload by its name
            resolve_peer(analysis, spec, option.lstrip("-"))
            return spec
        except UsageError:
            pass
    return resolve_workload(analysis.cluster, spec, namespace, option).peer


def resolve_named_port(analysis: Analysis, destination: str, name: str) -> tuple[int, str]:
    """NP-22: the port number and protocol a named port has on the destination's pods (a
    workload, or one of its pods); for ``service/NS/NAME``, the Service port of that name."""
    if destination.startswith("service/"):
        from ..engine.services import find_service

        ns, _, svc_name = destination.removeprefix("service/").partition("/")
        svc = find_service(analysis.cluster, ns, svc_name)
        service_ports = svc.ports if svc is not None else ()
        for sp in service_ports:
            if sp.name == name:
                return sp.port, sp.protocol
        names = ", ".join(p.name for p in service_ports if p.name) or "none"
        raise UsageError(f"--port {name}: Service {ns}/{svc_name} has no port named {name} (named ports: {names})")
    end = resolve_peer(analysis, destination, "to")
    ports = getattr(end.endpoint, "ports", None)
    if ports is None:
        raise UsageError(f"--port {name}: a named port needs a workload as destination (--to {destination} is not "
                         "one): give the number")
    found = sorted({(p.port, p.protocol) for p in ports if p.name == name})
    if len(found) == 1:
        return found[0]
    if found:
        raise UsageError(f"--port {name}: {destination} has several ports named {name}: "
                         f"{', '.join(f'{pr}/{n}' for n, pr in found)}; give the number and --protocol")
    names = ", ".join(sorted({p.name for p in ports if p.name})) or "none"
    raise UsageError(f"--port {name}: {destination} has no container port named {name} (named ports: {names})")


__all__ = ["KIND_ALIASES", "WorkloadName", "ResolvedWorkload", "parse_workload_name", "resolve_workload",
           "peer_spec", "resolve_named_port"]
