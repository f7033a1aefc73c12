"""The pods that carry traffic from an entry point to its backends (ING-6, ROUTE-5), and the
checks of the entry objects themselves.

An ingress controller or a Gateway's data plane proxies to the backend pod's IP and target
port, so the backend's ingress policies must admit *those pods*. kubeward takes them from the
input when it can find them; otherwise it adds a documented stand-in workload (``assumed``)
that policies can select like any other.
"""

from __future__ import annotations

from ..diagnostics import Diagnostics, Leans
from ..model import (
    NAMESPACE_NAME_LABEL,
    Cluster,
    ContainerPort,
    Gateway,
    Ingress,
    Namespace,
    Origin,
    Service,
    ServicePort,
    Workload,
    WorkloadKind,
)
from .routing import (
    INGRESS_NGINX,
    SSL_REDIRECT,
    BackendReason,
    IngressConflict,
    attachments,
    backend_status,
    ingress_class_of,
    ingress_conflicts,
    reference_permitted,
    route_admissions,
)
from .services import find_service, service_port, translate

INGRESS_NGINX_NAMESPACE = "ingress-nginx"
INGRESS_NGINX_NAME = "ingress-nginx-controller"
INGRESS_NGINX_LABELS = {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/instance": "ingress-nginx",
                        "app.kubernetes.io/component": "controller"}
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
ASSUMED = Origin("<assumed>", 0)
# ROUTE-5: the OpenShift router of the default IngressController, as the ingress operator deploys it.
OPENSHIFT_ROUTER_NAMESPACE = "openshift-ingress"
OPENSHIFT_ROUTER_NAME = "router-default"
OPENSHIFT_ROUTER_LABEL = "ingresscontroller.operator.openshift.io/deployment-ingresscontroller"
OPENSHIFT_INGRESS_NAMESPACE_LABELS = {"name": OPENSHIFT_ROUTER_NAMESPACE,
                                      "network.openshift.io/policy-group": "ingress",
                                      "policy-group.network.openshift.io/ingress": ""}


def ingress_controller(cluster: Cluster, override: str | None = None) -> Workload | None:
    """The named workload, else one with the ingress-nginx chart's labels (the stand-in has them)."""
    named = cluster.workload(override) if override else None
    if named is not None:
        return named
    found = [w for w in cluster.workloads if w.labels.get("app.kubernetes.io/name") == "ingress-nginx"
             and w.labels.get("app.kubernetes.io/component", "controller") == "controller"]
    return found[0] if found else None


def openshift_router(cluster: Cluster) -> Workload | None:
    """ROUTE-5: the pods of the default IngressController (labelled
    ``ingresscontroller.operator.openshift.io/deployment-ingresscontroller=default``), preferably
    in openshift-ingress; the stand-in has the label."""
    found = [w for w in cluster.workloads if w.labels.get(OPENSHIFT_ROUTER_LABEL) == "default"]
    found.sort(key=lambda w: w.namespace != OPENSHIFT_ROUTER_NAMESPACE)
    return found[0] if found else None


def gateway_data_plane(cluster: Cluster, gw: Gateway) -> Workload | None:
    found = [w for w in cluster.workloads if w.namespace == gw.ref.namespace
             and w.labels.get(GATEWAY_NAME_LABEL) == gw.ref.name]
    return found[0] if found else None


def _assume_namespace(cluster: Cluster, name: str, labels: dict[str, str] | None = None) -> None:
    if name not in cluster.namespaces:
        cluster.namespaces[name] = Namespace(name, {NAMESPACE_NAME_LABEL: name, **(labels or {})}, None)


def add_entry_workloads(cluster: Cluster, diags: Diagnostics, ingress_controller_override: str | None = None) -> None:
    """Stand-ins for the controller pods the input does not contain."""
    if ingress_controller_override and cluster.workload(ingress_controller_override) is None:
        diags.error("no-such-workload", f"--ingress-controller {ingress_controller_override}: no such "
                    "workload in the input; the default stand-in is used")
    if cluster.entry.ingresses and ingress_controller(cluster, ingress_controller_override) is None:
        _assume_namespace(cluster, INGRESS_NGINX_NAMESPACE)
        cluster.workloads.append(Workload(
            WorkloadKind.DEPLOYMENT, INGRESS_NGINX_NAMESPACE, INGRESS_NGINX_NAME, dict(INGRESS_NGINX_LABELS),
            "ingress-nginx",
            (ContainerPort(80, "TCP", "http"), ContainerPort(443, "TCP", "https")), False, None, ASSUMED,
            assumed=True))
        diags.info("assumed-peer", f"no ingress controller pods in the input: the Ingresses are served by a "
                   f"stand-in {INGRESS_NGINX_NAMESPACE}/{INGRESS_NGINX_NAME} with the labels of the "
                   "ingress-nginx chart (use --ingress-controller NS/NAME to name yours)")
    if cluster.entry.openshift_routes and openshift_router(cluster) is None:
        _assume_namespace(cluster, OPENSHIFT_ROUTER_NAMESPACE, OPENSHIFT_INGRESS_NAMESPACE_LABELS)
        cluster.workloads.append(Workload(
            WorkloadKind.DEPLOYMENT, OPENSHIFT_ROUTER_NAMESPACE, OPENSHIFT_ROUTER_NAME,
            {OPENSHIFT_ROUTER_LABEL: "default"}, "router",
            (ContainerPort(80, "TCP", "http"), ContainerPort(443, "TCP", "https"), ContainerPort(1936, "TCP", "stats")),
            False, None, ASSUMED, assumed=True))
        diags.info("assumed-peer", "no OpenShift router pods in the input: the Routes are served by a stand-in "
                   f"{OPENSHIFT_ROUTER_NAMESPACE}/{OPENSHIFT_ROUTER_NAME} labelled {OPENSHIFT_ROUTER_LABEL}=default, "
                   "in a namespace labelled network.openshift.io/policy-group=ingress (ROUTE-5)")
    for gw in cluster.entry.gateways:
        if gateway_data_plane(cluster, gw) is not None:
            continue
        name = f"{gw.ref.name}-{gw.class_name or 'gateway'}"
        ports = tuple(sorted({ContainerPort(lst.port, "UDP" if lst.protocol == "UDP" else "TCP", "")
                              for lst in gw.listeners}, key=lambda p: (p.port, p.protocol)))
        cluster.workloads.append(Workload(
            WorkloadKind.DEPLOYMENT, gw.ref.namespace, name, {GATEWAY_NAME_LABEL: gw.ref.name}, "default", ports, False,
            None, ASSUMED, assumed=True))
        diags.info("assumed-peer", f"no data-plane pods for {gw.ref.display} in the input: a stand-in "
                   f"{gw.ref.namespace}/{name} labelled {GATEWAY_NAME_LABEL}={gw.ref.name} carries its traffic",
                   gw.ref.file, gw.ref.line)
    cluster.workloads.sort(key=lambda w: (w.namespace, w.name, w.kind))


def served_ingresses(cluster: Cluster, watch_without_class: bool) -> dict[str | None, list[Ingress]]:
    """The Ingresses each class's controller serves, by class (None: without a class, served only
    with ``watch_without_class``, ING-9), in input order."""
    by_class: dict[str | None, list[Ingress]] = {}
    for ing in cluster.entry.ingresses:
        cls = ingress_class_of(cluster, ing)
        if cls is not None or watch_without_class:
            by_class.setdefault(cls, []).append(ing)
    return by_class


def _conflict_message(c: IngressConflict) -> str:
    kept, lost = c.kept, c.rejected
    where = f"host {c.host}" if c.host else "every host (no host)"
    head = (f"{where} and path {c.path} are also defined by {kept.ref.display} ({kept.ref.file}:{c.kept_line}): "
            f"ingress-nginx serves the path of the older Ingress, and its admission webhook rejects the newer one "
            "(ING-8)")
    if kept.created and lost.created and kept.created != lost.created:
        return f"{head}; {kept.ref.display} was created at {kept.created}, this one at {lost.created}"
    if kept.created and lost.created:
        return (f"{head}; both were created at {kept.created}: the tie goes to the namespace/name that sorts last, "
                f"{kept.ref.namespace}/{kept.ref.name}")
    if kept.created:
        return f"{head}; this one has no creationTimestamp: taken as created after {kept.ref.display}"
    return (f"{head}; without creationTimestamps the winner depends on which is applied first: kubeward assumes "
            f"input order, so {kept.ref.display} serves it")


def check_entry(cluster: Cluster, diags: Diagnostics, watch_ingress_without_class: bool = False) -> None:
    """The entry-point traps: TLS, classes, overlapping Ingresses, backends, route acceptance,
    ReferenceGrants."""
    e = cluster.entry
    for ingresses in served_ingresses(cluster, watch_ingress_without_class).values():
        for conflict in ingress_conflicts(ingresses):
            kept, lost = conflict.kept, conflict.rejected
            diags.warning("ingress-conflict", _conflict_message(conflict), lost.ref.file, conflict.line, lost.ref,
                          None if kept.created and lost.created else Leans.EITHER, related=(kept.ref,))
    for ing in e.ingresses:
        ref = ing.ref
        cls = ingress_class_of(cluster, ing)
        if cls is None and watch_ingress_without_class:
            diags.info("ingress-class-missing", "no ingressClassName, no kubernetes.io/ingress.class annotation and "
                       "no default IngressClass: served by the ingress controller because of "
                       "--watch-ingress-without-class (ING-9)", ref.file, ref.line, ref)
        elif cls is None:
            diags.warning("ingress-class-missing", "no ingressClassName, no kubernetes.io/ingress.class annotation and "
                          "no default IngressClass: ingress-nginx ignores an Ingress without a class unless it runs "
                          "with --watch-ingress-without-class, so no controller serves it (ING-9); set "
                          "spec.ingressClassName (or pass --watch-ingress-without-class if your controller runs "
                          "with it)", ref.file, ref.line, ref, Leans.MAY_ALLOW_MORE)
        elif cls not in e.ingress_classes:
            diags.warning("ingress-class-missing", f"IngressClass {cls} is not in the input; assumed to be "
                          f"served by {INGRESS_NGINX} (ING-3)", ref.file, ref.line, ref)
        if not ing.tls:
            diags.warning("ingress-without-tls", "no tls section: served over plain HTTP only (checklist: TLS on "
                          "every entry point)", ref.file, ref.line, ref)
        for t in ing.tls:
            if t.secret and (ref.namespace, t.secret) not in e.secrets:
                diags.warning("tls-secret-missing", f"TLS secret {ref.namespace}/{t.secret} is not in the input: "
                              "if it is missing in the cluster, ingress-nginx serves its self-signed default "
                              "certificate (ING-5)", ref.file, t.line, ref)
            elif not t.secret:
                diags.warning("tls-secret-missing", "a tls entry without secretName: ingress-nginx serves its "
                              "default certificate (ING-5)", ref.file, t.line, ref)
        if ing.tls and ing.annotations.get(SSL_REDIRECT) == "true":
            diags.info("redundant-annotation", f"{SSL_REDIRECT}: \"true\" repeats the default when the Ingress "
                       "has a tls section (ING-5)", ref.file, ref.line, ref)
        backends = [p.backend for r in ing.rules for p in r.paths if p.backend] + (
            [ing.default_backend] if ing.default_backend else [])
        for b in backends:
            svc = find_service(cluster, b.namespace, b.name)
            if svc is None:
                diags.warning("backend-not-found", f"backend Service {b.namespace}/{b.name} is not in the input",
                              ref.file, b.line, ref)
            elif b.port is not None and service_port(svc, b.port) is None:
                diags.warning("backend-port-not-found", f"Service {b.namespace}/{b.name} has no port {b.port}",
                              ref.file, b.line, ref)
    for gw in e.gateways:
        for lst in gw.listeners:
            if lst.tls_mode == "Terminate" and not lst.certificate_refs:
                diags.warning("listener-without-certificate", f"listener {lst.name} terminates TLS but has no "
                              "certificateRefs (GW-3: InvalidCertificateRef)", gw.ref.file, lst.line, gw.ref)
            for c in lst.certificate_refs:
                if not reference_permitted(cluster, "Gateway", gw.ref.namespace, "Secret", c.namespace, c.name):
                    diags.warning("ref-not-permitted", f"listener {lst.name} uses Secret {c.namespace}/{c.name} "
                                  f"from another namespace without a ReferenceGrant there (GW-2: RefNotPermitted)",
                                  gw.ref.file, c.line or lst.line, gw.ref, Leans.MAY_ALLOW_MORE)
                elif (c.namespace, c.name) not in e.secrets:
                    diags.warning("tls-secret-missing", f"listener {lst.name}: certificate Secret "
                                  f"{c.namespace}/{c.name} is not in the input (GW-3: if it is missing, the listener "
                                  "has ResolvedRefs=False, InvalidCertificateRef)", gw.ref.file, c.line or lst.line,
                                  gw.ref)
    _check_openshift_routes(cluster, diags)
    for att in attachments(cluster):
        r = att.route.ref
        if not att.accepted:
            diags.warning("route-not-accepted", f"not accepted by {att.parent.namespace}/{att.parent.name}: "
                          f"{att.reason}: {att.message}", r.file, att.parent.line or r.line, r,
                          Leans.MAY_ALLOW_MORE)
    for route in e.routes:
        for rule in route.rules:
            for b in rule.backends:
                status = backend_status(cluster, route.ref, b)
                if not status.ok:
                    code = {BackendReason.REF_NOT_PERMITTED: "ref-not-permitted",
                            BackendReason.BACKEND_NOT_FOUND: "backend-not-found"}.get(status.reason, "invalid-backend")
                    diags.warning(code, f"rule {rule.index}: {status.reason}: {status.message}", route.ref.file,
                                  b.line or rule.line, route.ref)
                    continue
                svc = find_service(cluster, b.namespace, b.name)
                if svc is not None and b.port is not None and service_port(svc, b.port) is None:
                    diags.warning("backend-port-not-found", f"rule {rule.index}: Service {b.namespace}/{b.name} "
                                  f"has no port {b.port}", route.ref.file, b.line or rule.line, route.ref)


def _check_openshift_routes(cluster: Cluster, diags: Diagnostics) -> None:
    """Routes the router refuses (ROUTE-1, ROUTE-6), and backends that do not resolve (ROUTE-4)."""
    for adm in route_admissions(cluster):
        route = adm.route
        if not adm.admitted:
            diags.warning("route-not-admitted", f"the OpenShift router does not admit it: {adm.reason}: {adm.message}",
                          route.ref.file, route.ref.line, route.ref, Leans.MAY_ALLOW_MORE,
                          related=(adm.holder.ref,) if adm.holder else ())
        if route.tls is None:
            diags.warning("route-without-tls", "no spec.tls: served over plain HTTP only (checklist: TLS on every "
                          "entry point)", route.ref.file, route.ref.line, route.ref)
        for b in route.backends:
            svc = find_service(cluster, b.namespace, b.name)
            if svc is None:
                diags.warning("backend-not-found", f"backend Service {b.namespace}/{b.name} is not in the input",
                              route.ref.file, b.line, route.ref)
            elif route.target_port is not None and not route_ports(cluster, svc, route.target_port):
                diags.warning("backend-port-not-found", f"Service {b.namespace}/{b.name} has no port that "
                              f"spec.port.targetPort {route.target_port} names (an endpoint port number or a Service "
                              "port name, ROUTE-4)", route.ref.file, route.port_line or b.line, route.ref)


def route_ports(cluster: Cluster, service: Service,
                target_port: int | str | None) -> list[tuple[ServicePort, int | None]]:
    """ROUTE-4: the Service ports a Route sends to, each with the pod port its endpoints must have
    (None: every endpoint of that port). ``spec.port.targetPort`` names an endpoint port: by
    number (the pod port), or by name (the Service port's name)."""
    tcp = [p for p in service.ports if p.protocol == "TCP"]
    if target_port is None:
        return [(p, None) for p in tcp]
    if isinstance(target_port, str) and not target_port.isdigit():
        return [(p, None) for p in tcp if p.name == target_port]
    number = int(target_port)
    return [(p, number) for p in tcp if any(b.pod_port == number for b in translate(cluster, service, p).backends)]


__all__ = ["add_entry_workloads", "check_entry", "ingress_controller", "gateway_data_plane", "served_ingresses",
           "openshift_router", "route_ports", "Gateway"]
