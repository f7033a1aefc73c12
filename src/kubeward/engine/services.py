"""Services: which pods back a Service port, on which pod port (SVC-1 … SVC-6, NP-24)."""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import Diagnostics, Leans
from ..model import Cluster, Service, ServicePort, ServiceType, Workload


@dataclass(frozen=True, slots=True)
class ServiceBackend:
    """One backend workload of a Service port and the pod port traffic is translated to."""

    workload: Workload
    pod_port: int | None  # None: this workload has no container port of that name (no endpoint)
    how: str              # how the target port was resolved, for traces


@dataclass(frozen=True, slots=True)
class Translation:
    service: Service
    port: ServicePort
    backends: tuple[ServiceBackend, ...]

    @property
    def id(self) -> str:
        return f"{self.service.namespace}/{self.service.name}"


def find_service(cluster: Cluster, namespace: str, name: str) -> Service | None:
    for s in cluster.services:
        if s.namespace == namespace and s.name == name:
            return s
    return None


def service_port(service: Service, port: int | str, protocol: str | None = None) -> ServicePort | None:
    """The Service port named by number or by name (an Ingress backend may use either)."""
    for p in service.ports:
        named = p.port == port or (isinstance(port, str) and p.name == port)
        if named and (protocol is None or p.protocol == protocol):
            return p
    return None


def selected_workloads(cluster: Cluster, service: Service) -> list[Workload]:
    """Workloads in the Service's namespace whose pod labels its selector matches. A Service
    without a selector has manually managed endpoints: none kubeward can see."""
    if not service.selector:
        return []
    selector = service.selector.items()
    return [w for w in cluster.workloads_in(service.namespace) if all(w.labels.get(k) == v for k, v in selector)]


def translate(cluster: Cluster, service: Service, port: ServicePort) -> Translation:
    """SVC-1: targetPort by number, by name (looked up per backend pod), or omitted (= port)."""
    backends: list[ServiceBackend] = []
    headless = service.cluster_ip == "None"
    for w in selected_workloads(cluster, service):
        target = port.target_port
        if headless:
            # SVC-1 / SVC-3: no virtual IP, no DNAT: clients dial the pod on the port they ask for.
            backends.append(ServiceBackend(w, port.port, f"headless: no translation, pod port {port.port} (SVC-1)"))
        elif target is None:
            backends.append(ServiceBackend(w, port.port, f"port {port.port} (no targetPort: the same number)"))
        elif isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
            backends.append(ServiceBackend(w, int(target), f"targetPort {target}"))
        else:
            found = next((cp.port for cp in w.ports if cp.name == target and cp.protocol == port.protocol), None)
            how = (f"targetPort {target!r} = container port {found} of {w.id}" if found is not None
                   else f"targetPort {target!r}: {w.id} declares no {port.protocol} container port of that name")
            backends.append(ServiceBackend(w, found, how))
    return Translation(service, port, tuple(backends))


def check_services(cluster: Cluster, diags: Diagnostics) -> None:
    """The Service traps of the issue: selectors that match no pod, target port names a backend
    does not declare, ports nothing backs, and workloads whose service account is missing."""
    for s in cluster.services:
        where = (s.origin.file, s.origin.line)
        if s.type == ServiceType.EXTERNAL_NAME or s.selector is None:
            continue
        workloads = selected_workloads(cluster, s)
        if not workloads:
            diags.warning("service-selects-nothing", f"the selector {dict(s.selector)} of Service "
                          f"{s.namespace}/{s.name} matches no pod in the input: it has no endpoints",
                          *where, s.ref)
            continue
        for p in s.ports:
            t = translate(cluster, s, p)
            for b in t.backends:
                if b.pod_port is None:
                    diags.warning("target-port-not-declared", f"Service port {p.port}: {b.how}; its pods "
                                  "are not endpoints of this port (SVC-1)", *where, s.ref, Leans.MAY_ALLOW_MORE)
                elif b.workload.ports and not any(cp.port == b.pod_port and cp.protocol == p.protocol
                                                  for cp in b.workload.ports):
                    # SVC-2: declared ports are informational, so this is only a note.
                    diags.info("port-not-declared", f"Service port {p.port} → pod port {b.pod_port}/"
                               f"{p.protocol}, which {b.workload.id} does not declare (SVC-2: it may still "
                               "listen there)", *where, s.ref)
    known = set(cluster.service_accounts)
    for w in cluster.workloads:
        if w.assumed or w.running or w.service_account == "default" or (w.namespace, w.service_account) in known:
            continue  # SVC-6: pods a live export shows running were admitted, so their account exists
        # SVC-6: the ServiceAccount admission plugin rejects pods naming a missing account.
        diags.warning("service-account-missing", f"{w.kind} {w.id} runs as service account "
                      f"{w.service_account}, which is not in the input: if it does not exist in the "
                      "cluster, its pods are never created (SVC-6)", w.origin.file, w.origin.line,
                      w.ref, Leans.MAY_DENY_MORE)  # shown with its pods: without them its flows do not exist
