"""Core and apps objects: Namespace, Pod and its controllers, ServiceAccount, Service, Node.

Pods and controllers are read here into raw records; :mod:`.grouping` then groups pods into the
workload of their top controller (NP-32), whether or not the controllers are in the input, and
leaves terminated pods out (NP-31).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ..diagnostics import Diagnostics, Leans
from ..loader import LList, LMap, RawObject
from ..model import (
    NAMESPACE_NAME_LABEL,
    Cluster,
    ContainerPort,
    Namespace,
    Node,
    Origin,
    Secret,
    Service,
    ServiceAccount,
    ServicePort,
    ServiceType,
    Workload,
    WorkloadKind,
)
from ._reader import Reader
from .grouping import PodSpecFacts, RawWorkload, group_workloads
from .validation import API_SERVER_OBJECT

PROTOCOLS = ("TCP", "UDP", "SCTP")

# kind -> path from the object to its pod template
TEMPLATE_PATHS: dict[WorkloadKind, tuple[str, ...]] = {
    WorkloadKind.DEPLOYMENT: ("spec", "template"),
    WorkloadKind.REPLICA_SET: ("spec", "template"),
    WorkloadKind.STATEFUL_SET: ("spec", "template"),
    WorkloadKind.DAEMON_SET: ("spec", "template"),
    WorkloadKind.REPLICATION_CONTROLLER: ("spec", "template"),
    WorkloadKind.JOB: ("spec", "template"),
    WorkloadKind.CRON_JOB: ("spec", "jobTemplate", "spec", "template"),
}
WORKLOAD_GROUPS: dict[WorkloadKind, str] = {
    WorkloadKind.DEPLOYMENT: "apps", WorkloadKind.REPLICA_SET: "apps", WorkloadKind.STATEFUL_SET: "apps",
    WorkloadKind.DAEMON_SET: "apps", WorkloadKind.REPLICATION_CONTROLLER: "", WorkloadKind.JOB: "batch",
    WorkloadKind.CRON_JOB: "batch", WorkloadKind.POD: ""}
SERVICE_TYPES = tuple(ServiceType)


def namespace_of(obj: RawObject) -> str:
    return obj.namespace or "default"


class CoreBuilder:
    """Collects core objects, then builds namespaces and collapsed workloads into a Cluster."""

    def __init__(self, cluster: Cluster, diags: Diagnostics) -> None:
        self.cluster = cluster
        self.diags = diags
        self.raw_workloads: list[RawWorkload] = []

    # ---- per kind -------------------------------------------------------------------

    def namespace(self, obj: RawObject) -> None:
        r = Reader(obj, self.diags, admission=API_SERVER_OBJECT)
        labels = r.labels(obj.metadata, "labels", "metadata")
        if r.rejections:
            return  # NP-28: not in the cluster
        labels[NAMESPACE_NAME_LABEL] = obj.name  # NP-20: set by the control plane, immutable
        if obj.name in self.cluster.namespaces:
            r.warning("duplicate-object", f"Namespace {obj.name} is defined twice; the last one is used",
                      obj.line)
        self.cluster.namespaces[obj.name] = Namespace(obj.name, labels, Origin(obj.file, obj.line))

    def service_account(self, obj: RawObject) -> None:
        ns = namespace_of(obj)
        r = Reader(obj, self.diags, admission=API_SERVER_OBJECT)
        labels = r.labels(obj.metadata, "labels", "metadata")
        if r.rejections:
            return  # NP-28: not in the cluster
        self.cluster.service_accounts[(ns, obj.name)] = ServiceAccount(ns, obj.name, Origin(obj.file, obj.line), labels)

    def secret(self, obj: RawObject) -> None:
        """Only that it exists and its type: kubeward never reads secret data."""
        ns = namespace_of(obj)
        kind = obj.data.get("type")
        self.cluster.entry.secrets[(ns, obj.name)] = Secret(ns, obj.name, kind if isinstance(kind, str) else "",
                                                            Origin(obj.file, obj.line))

    def node(self, obj: RawObject) -> None:
        r = Reader(obj, self.diags, admission=API_SERVER_OBJECT)
        labels = r.labels(obj.metadata, "labels", "metadata")
        if r.rejections:
            return  # NP-28: not in the cluster
        addresses: list[str] = []
        status = r.get_map(obj.data, "status", "")
        if status is not None:
            for i, item in enumerate(r.get_list(status, "addresses", "status") or []):
                if isinstance(item, LMap) and item.get("type") in ("InternalIP", "ExternalIP"):
                    ip = _valid_ip(r, item.get("address"), item.line_of("address"),
                                   f"status.addresses[{i}].address")
                    if ip:
                        addresses.append(ip)
        self.cluster.nodes.append(Node(obj.name, labels, tuple(addresses), Origin(obj.file, obj.line)))

    def service(self, obj: RawObject) -> None:
        r = Reader(obj, self.diags, admission=API_SERVER_OBJECT)
        spec = r.get_map(obj.data, "spec", "") or LMap(obj.line)
        ports: list[ServicePort] = []
        for i, p in enumerate(r.get_list(spec, "ports", "spec") or []):
            path = f"spec.ports[{i}]"
            if not isinstance(p, LMap):
                r.error("invalid-type", f"{path} must be a mapping", spec.line)
                continue
            port = r.get_int(p, "port", path)
            if port is None:
                r.error("missing-field", f"{path}.port is required", p.line)
                continue
            protocol = r.get_str(p, "protocol", path) or "TCP"
            if protocol not in PROTOCOLS:
                r.error("unknown-protocol", f"{path}.protocol {protocol!r} is not TCP, UDP or SCTP",
                        p.line_of("protocol"))
            target = p.get("targetPort")
            if target is not None and (isinstance(target, bool) or not isinstance(target, (int, str))):
                r.error("invalid-type", f"{path}.targetPort must be a number or a port name",
                        p.line_of("targetPort"))
                target = None
            ports.append(ServicePort(port, protocol, str(p.get("name") or ""), target,
                                     r.get_int(p, "nodePort", path)))
        selector = r.labels(spec, "selector", "spec") if spec.get("selector") is not None else None
        written = r.get_str(spec, "type", "spec") or ServiceType.CLUSTER_IP
        service_type = ServiceType.CLUSTER_IP
        if written in SERVICE_TYPES:
            service_type = ServiceType(written)
        else:
            # The API server refuses any other type; analysed as ClusterIP (not exposed).
            r.error("invalid-value", f"spec.type {written!r} is not one of {', '.join(SERVICE_TYPES)}; "
                    "read as ClusterIP", spec.line_of("type"), Leans.MAY_DENY_MORE)
        labels = r.labels(obj.metadata, "labels", "metadata")
        if r.rejections:
            return  # NP-28: an invalid selector or label: the Service is not in the cluster
        self.cluster.services.append(Service(
            namespace_of(obj), obj.name, service_type, selector,
            tuple(ports), r.get_str(spec, "clusterIP", "spec"), r.get_str(spec, "externalName", "spec"),
            r.get_str(spec, "externalTrafficPolicy", "spec"), Origin(obj.file, obj.line), labels))

    def workload(self, obj: RawObject) -> None:
        r = Reader(obj, self.diags, admission=API_SERVER_OBJECT)
        kind = WorkloadKind(obj.kind)  # the registry sends only these kinds here
        ns = namespace_of(obj)
        if kind is WorkloadKind.POD:
            template: LMap | None = obj.data
        else:
            template = obj.data
            for step in TEMPLATE_PATHS[kind]:
                template = r.get_map(template, step, "") if template is not None else None
        if template is None:
            r.error("missing-field", f"{kind} has no pod template ({'.'.join(TEMPLATE_PATHS[kind])})",
                    obj.line, Leans.EITHER)
            return
        facts = self._pod_facts(r, template, "spec.template" if kind is not WorkloadKind.POD else "")
        if kind is not WorkloadKind.POD:  # NP-27: the controller's own labels and selector
            r.labels(obj.metadata, "labels", "metadata")
            if isinstance(obj.data.get("spec"), LMap):
                r.selector(obj.data["spec"], "selector", "spec", Leans.EITHER)
        if r.rejections:
            return  # NP-28: not in the cluster, and it runs no pod
        replicas: int | None
        raw_spec = obj.data.get("spec")
        spec: LMap = raw_spec if isinstance(raw_spec, LMap) else LMap(obj.line)
        if kind is WorkloadKind.POD:
            replicas = 1
        elif kind is WorkloadKind.DAEMON_SET:
            replicas = None
        elif kind in (WorkloadKind.JOB, WorkloadKind.CRON_JOB):
            job = spec if kind is WorkloadKind.JOB else _dig(spec, "jobTemplate", "spec")
            par = job.get("parallelism") if isinstance(job, LMap) else None
            replicas = par if isinstance(par, int) and not isinstance(par, bool) else 1
        else:
            rep = r.get_int(spec, "replicas", "spec")
            if rep is not None and rep < 0:
                r.error("invalid-value", f"spec.replicas {rep} is negative", spec.line_of("replicas"))
                rep = None
            replicas = 1 if rep is None else rep
        owner = None
        for ref in r.get_items(obj.metadata, "ownerReferences", "metadata"):
            if isinstance(ref, LMap) and ref.get("controller") is True and isinstance(ref.get("kind"), str):
                owner = (str(ref["kind"]), str(ref.get("name", "")))  # NP-32: the one controller reference
        raw = RawWorkload(kind, ns, obj.name, facts, replicas, Origin(obj.file, obj.line), owner)
        status = obj.data.get("status")
        raw.running = isinstance(status, LMap) and _shows_running(status)
        if kind is WorkloadKind.POD and isinstance(status, LMap):
            raw.ips = _pod_ips(r, status)
            phase = status.get("phase")
            raw.phase = phase if isinstance(phase, str) else ""
        self.raw_workloads.append(raw)

    def _pod_facts(self, r: Reader, template: LMap, path: str) -> PodSpecFacts:
        meta = r.get_map(template, "metadata", path) or LMap(template.line)
        labels = r.labels(meta, "labels", f"{path}.metadata".lstrip("."))
        spec = r.get_map(template, "spec", path) or LMap(template.line)
        sp = f"{path}.spec".lstrip(".")
        sa = r.get_str(spec, "serviceAccountName", sp) or r.get_str(spec, "serviceAccount", sp) or "default"
        host_network = spec.get("hostNetwork") is True
        ports: list[ContainerPort] = []
        for key in ("initContainers", "containers"):
            for ci, c in enumerate(r.get_list(spec, key, sp) or []):
                if not isinstance(c, LMap):
                    continue
                for pi, p in enumerate(r.get_list(c, "ports", f"{sp}.{key}[{ci}]") or []):
                    pp = f"{sp}.{key}[{ci}].ports[{pi}]"
                    if not isinstance(p, LMap):
                        r.error("invalid-type", f"{pp} must be a mapping", c.line_of("ports"))
                        continue
                    number = r.get_int(p, "containerPort", pp)
                    if number is None:
                        r.error("missing-field", f"{pp}.containerPort is required", p.line)
                        continue
                    proto = r.get_str(p, "protocol", pp) or "TCP"
                    if proto not in PROTOCOLS:
                        r.error("unknown-protocol", f"{pp}.protocol {proto!r} is not TCP, UDP or SCTP",
                                p.line_of("protocol"))
                        continue
                    ports.append(ContainerPort(number, proto, r.get_str(p, "name", pp) or ""))
        return PodSpecFacts(labels, sa, tuple(ports), host_network)

    # ---- assembly -------------------------------------------------------------------

    def finish(self) -> None:
        self.cluster.workloads.extend(group_workloads(self.raw_workloads, self.diags))
        seen: dict[str, Workload] = {}
        for wl in self.cluster.workloads:
            other = seen.get(wl.id)
            if other is not None:
                self.diags.warning("duplicate-name", f"{wl.kind} {wl.id} has the same namespace/name as "
                                   f"{other.kind} at {other.origin}; their peer ids collide",
                                   wl.origin.file, wl.origin.line)
            seen[wl.id] = wl


# Status counts of a live export that mean pods of the object run.
_RUNNING_COUNTS = ("readyReplicas", "availableReplicas", "numberReady", "numberAvailable", "active", "ready")


def _shows_running(status: LMap) -> bool:
    """SVC-6: a live object's status shows that its pods run (so they were admitted): a Pod in
    phase Running or with container statuses, a controller with ready or available replicas."""
    if status.get("phase") == "Running" or status.get("containerStatuses"):
        return True
    return any(isinstance(n := status.get(key), int) and not isinstance(n, bool) and n > 0
               for key in _RUNNING_COUNTS)


def _dig(m: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(m, LMap):
            return None
        m = m.get(k)
    return m


def _valid_ip(r: Reader, value: object, line: int, path: str) -> str | None:
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        r.error("invalid-ip", f"{path} {value!r} is not an IP address; ignored", line, Leans.EITHER)
        return None


def _pod_ips(r: Reader, status: LMap) -> tuple[str, ...]:
    ips: list[str] = []
    listed = status.get("podIPs")
    for i, item in enumerate(listed if isinstance(listed, LList) else []):
        if isinstance(item, LMap) and item.get("ip") is not None:
            ip = _valid_ip(r, item["ip"], item.line_of("ip"), f"status.podIPs[{i}].ip")
            if ip and ip not in ips:
                ips.append(ip)
    single = status.get("podIP")
    if single is not None:
        ip = _valid_ip(r, single, status.line_of("podIP"), "status.podIP")
        if ip and ip not in ips:
            ips.insert(0, ip)
    return tuple(ips)


__all__ = ["CoreBuilder", "TEMPLATE_PATHS", "WORKLOAD_GROUPS", "LList"]
