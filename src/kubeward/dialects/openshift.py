"""OpenShift Route (route.openshift.io/v1) → model. Rules ROUTE-1 … ROUTE-7.

A Route the API server refuses (ROUTE-7) is reported as an error at its field and not created:
it exposes nothing, as in the cluster, where it never exists.
"""

from __future__ import annotations

import re
from typing import Any

from ..diagnostics import Diagnostics
from ..loader import LMap, RawObject
from ..model import BackendRef, Cluster, InsecureEdgePolicy, ObjectRef, OpenShiftRoute, RouteTermination, RouteTLS
from ._reader import Reader
from .ingress import creation_timestamp

GROUP = "route.openshift.io"
DEFAULT_WEIGHT = 100   # ROUTE-4
MAX_WEIGHT = 256
MAX_ALTERNATE_BACKENDS = 3
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def _dns_subdomain(host: str) -> bool:
    return len(host) <= 253 and all(_DNS_LABEL.match(label) for label in host.split("."))


class _Invalid(Exception):
    """A field the API server refuses (ROUTE-7): the Route is not created."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def _target(r: Reader, raw: Any, path: str, ns: str, line: int) -> BackendRef:
    """``spec.to`` or one ``spec.alternateBackends`` entry: a Service and its weight."""
    if not isinstance(raw, LMap):
        raise _Invalid(f"{path} must be a mapping", line)
    kind = r.get_str(raw, "kind", path) or "Service"  # defaulted to Service
    if kind != "Service":
        raise _Invalid(f"{path}.kind {kind!r}: must reference a Service", raw.line_of("kind"))
    name = r.get_str(raw, "name", path) or ""
    if not name:
        raise _Invalid(f"{path}.name is required", raw.line)
    weight_raw = raw.get("weight")
    weight = DEFAULT_WEIGHT if weight_raw is None else r.get_int(raw, "weight", path)
    if weight is None or not 0 <= weight <= MAX_WEIGHT:
        raise _Invalid(f"{path}.weight {weight_raw!r}: weight must be an integer between 0 and {MAX_WEIGHT}",
                       raw.line_of("weight"))
    return BackendRef(name, ns, None, weight=weight, line=raw.line)


def _tls(r: Reader, spec: LMap, has_path: bool) -> RouteTLS | None:
    raw = r.get_map(spec, "tls", "spec")
    if raw is None:
        return None
    termination = r.get_str(raw, "termination", "spec.tls") or ""
    if termination not in tuple(RouteTermination):
        raise _Invalid(f"spec.tls.termination {termination!r}: must be one of "
                       f"{', '.join(RouteTermination)}", raw.line_of("termination") or raw.line)
    kind = RouteTermination(termination)
    insecure_raw = r.get_str(raw, "insecureEdgeTerminationPolicy", "spec.tls") or "None"
    if insecure_raw not in tuple(InsecureEdgePolicy):
        raise _Invalid(f"spec.tls.insecureEdgeTerminationPolicy {insecure_raw!r}: must be one of "
                       f"{', '.join(InsecureEdgePolicy)}", raw.line_of("insecureEdgeTerminationPolicy"))
    insecure = InsecureEdgePolicy(insecure_raw)
    if kind is RouteTermination.PASSTHROUGH:
        if insecure is InsecureEdgePolicy.ALLOW:
            raise _Invalid("cannot have both spec.tls.termination: passthrough and spec.tls."
                           "insecureEdgeTerminationPolicy: Allow", raw.line_of("insecureEdgeTerminationPolicy"))
        if has_path:
            raise _Invalid("spec.path: passthrough termination does not support paths", spec.line_of("path"))
        for key in ("certificate", "key", "caCertificate", "destinationCACertificate", "externalCertificate"):
            if raw.get(key):
                raise _Invalid(f"spec.tls.{key}: passthrough termination does not support certificates",
                               raw.line_of(key))
    own = bool(raw.get("certificate")) or bool(raw.get("externalCertificate"))
    return RouteTLS(kind, insecure, own, raw.line)


def _route(r: Reader, obj: RawObject, ns: str) -> OpenShiftRoute:
    spec = r.get_map(obj.data, "spec", "")
    if spec is None:
        raise _Invalid("spec is required", obj.line)
    host = r.get_str(spec, "host", "spec") or ""
    if host and not _dns_subdomain(host):
        raise _Invalid(f"spec.host {host!r}: host must conform to DNS 952 subdomain conventions",
                       spec.line_of("host"))
    path = r.get_str(spec, "path", "spec") or ""
    if path and not path.startswith("/"):
        raise _Invalid(f"spec.path {path!r}: path must begin with /", spec.line_of("path"))
    if any(c in path for c in "# "):
        raise _Invalid(f"spec.path {path!r}: cannot contain # or spaces", spec.line_of("path"))
    if spec.get("to") is None:
        raise _Invalid("spec.to is required", spec.line)
    backends = [_target(r, spec.get("to"), "spec.to", ns, spec.line_of("to"))]
    alternates = r.get_list(spec, "alternateBackends", "spec")
    if alternates is not None and len(alternates) > MAX_ALTERNATE_BACKENDS:
        raise _Invalid(f"spec.alternateBackends: cannot specify more than {MAX_ALTERNATE_BACKENDS} alternate "
                       "backends", spec.line_of("alternateBackends"))
    for i, raw in enumerate(alternates or []):
        assert alternates is not None
        backends.append(_target(r, raw, f"spec.alternateBackends[{i}]", ns, alternates.line_of(i)))
    target_port: int | str | None = None
    port_line = spec.line_of("port")
    port = r.get_map(spec, "port", "spec")
    if port is not None:
        raw_target = port.get("targetPort")
        if isinstance(raw_target, bool) or not isinstance(raw_target, (int, str)) or raw_target in (0, ""):
            raise _Invalid(f"spec.port.targetPort {raw_target!r}: required, a port number or name", port.line)
        target_port = raw_target
        port_line = port.line_of("targetPort") or port.line
    wildcard = (r.get_str(spec, "wildcardPolicy", "spec") or "None") == "Subdomain"
    return OpenShiftRoute(ObjectRef("Route", ns, obj.name, obj.file, obj.line), host, path, tuple(backends),
                          target_port, _tls(r, spec, bool(path)), wildcard, creation_timestamp(r, obj), port_line)


def parse_route(obj: RawObject, cluster: Cluster, diags: Diagnostics) -> None:
    """ROUTE-7: a Route the API server would refuse is an error and is not created."""
    r = Reader(obj, diags)
    ns = obj.namespace or "default"
    try:
        route = _route(r, obj, ns)
    except _Invalid as invalid:
        r.error("invalid-value", f"{invalid}: the API server refuses this Route, so it exposes nothing (ROUTE-7)",
                invalid.line or obj.line)
        return
    if r.failed:  # a field of the wrong type: refused as well (the error is already reported)
        return
    cluster.entry.openshift_routes.append(route)


__all__ = ["GROUP", "parse_route"]
