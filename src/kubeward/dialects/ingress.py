"""Ingress and IngressClass (networking.k8s.io/v1) → model. Rules ING-1 … ING-7."""

from __future__ import annotations

import datetime
from typing import Any

from ..diagnostics import Diagnostics, Leans
from ..loader import LMap, RawObject
from ..model import (
    BackendRef,
    Cluster,
    Ingress,
    IngressClass,
    IngressPath,
    IngressPathType,
    IngressRule,
    IngressTLS,
    ObjectRef,
    Origin,
)
from ._reader import Reader

PATH_TYPES = tuple(IngressPathType)
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"


def creation_timestamp(r: Reader, obj: RawObject) -> str:
    """``metadata.creationTimestamp`` as UTC RFC 3339 (``2024-05-01T10:00:00Z``), comparable as a
    string; "" when absent or unreadable (the object is then taken as not yet created)."""
    raw = obj.metadata.get("creationTimestamp")
    if raw is None:
        return ""
    when: datetime.datetime | None = raw if isinstance(raw, datetime.datetime) else None
    if isinstance(raw, str):
        try:
            when = datetime.datetime.fromisoformat(raw)
        except ValueError:
            when = None
    if when is None:
        r.warning("invalid-value", f"metadata.creationTimestamp {raw!r} is not an RFC 3339 time; ignored",
                  obj.metadata.line_of("creationTimestamp"))
        return ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ingress_class(obj: RawObject, cluster: Cluster, diags: Diagnostics) -> None:
    r = Reader(obj, diags)
    spec = r.get_map(obj.data, "spec", "") or LMap(obj.line)
    annotations = r.labels(obj.metadata, "annotations", "metadata")
    cluster.entry.ingress_classes[obj.name] = IngressClass(
        obj.name, r.get_str(spec, "controller", "spec") or "",
        annotations.get(DEFAULT_CLASS_ANNOTATION) == "true", Origin(obj.file, obj.line), creation_timestamp(r, obj))


def _backend(r: Reader, raw: Any, path: str, ns: str, line: int) -> BackendRef | None:
    if not isinstance(raw, LMap):
        r.error("invalid-type", f"{path} must be a mapping", line)
        return None
    service = r.get_map(raw, "service", path)
    if service is None:
        if raw.get("resource") is not None:
            r.info("not-modelled", f"{path}.resource backends are not modelled", raw.line_of("resource"))
        else:
            r.error("missing-field", f"{path}.service is required", raw.line)
        return None
    name = r.get_str(service, "name", f"{path}.service")
    port_raw = r.get_map(service, "port", f"{path}.service")
    port: int | str | None = None
    if port_raw is not None:
        number = r.get_int(port_raw, "number", f"{path}.service.port")
        port = number if number is not None else r.get_str(port_raw, "name", f"{path}.service.port")
    if not name or port is None:
        r.error("missing-field", f"{path}.service needs a name and a port (number or name)", service.line)
        return None
    return BackendRef(name, ns, port, line=service.line)


def parse_ingress(obj: RawObject, cluster: Cluster, diags: Diagnostics) -> None:
    r = Reader(obj, diags)
    ns = obj.namespace or "default"
    spec = r.get_map(obj.data, "spec", "") or LMap(obj.line)
    annotations = r.labels(obj.metadata, "annotations", "metadata")
    class_name = r.get_str(spec, "ingressClassName", "spec") or annotations.get(LEGACY_CLASS_ANNOTATION)
    rules: list[IngressRule] = []
    for i, raw in enumerate(r.get_list(spec, "rules", "spec") or []):
        path = f"spec.rules[{i}]"
        if not isinstance(raw, LMap):
            r.error("invalid-type", f"{path} must be a mapping", spec.line_of("rules"))
            continue
        host = r.get_str(raw, "host", path) or ""
        if host.startswith("*") and not host.startswith("*."):
            r.error("invalid-value", f"{path}.host {host!r}: a wildcard must be '*.' followed by a "
                    "domain (ING-2)", raw.line_of("host"))
        paths: list[IngressPath] = []
        http = r.get_map(raw, "http", path)
        for j, p in enumerate(r.get_list(http, "paths", f"{path}.http") or [] if http else []):
            pp = f"{path}.http.paths[{j}]"
            if not isinstance(p, LMap):
                r.error("invalid-type", f"{pp} must be a mapping", raw.line)
                continue
            written = r.get_str(p, "pathType", pp)
            path_type = IngressPathType.IMPLEMENTATION_SPECIFIC
            if written in PATH_TYPES:
                path_type = IngressPathType(written)
            else:  # read as ImplementationSpecific
                r.error("invalid-value", f"{pp}.pathType {written!r} must be one of "
                        f"{', '.join(PATH_TYPES)} (required in networking.k8s.io/v1)", p.line_of("pathType"))
            value = r.get_str(p, "path", pp) or ""
            if path_type in (IngressPathType.EXACT, IngressPathType.PREFIX) and not value.startswith("/"):
                r.error("invalid-value", f"{pp}.path {value!r} must start with '/'", p.line_of("path"))
            paths.append(IngressPath(value or "/", path_type, _backend(r, p.get("backend"), f"{pp}.backend", ns,
                                                                      p.line_of("backend")), p.line))
        rules.append(IngressRule(host.lower(), tuple(paths), raw.line))
    default = spec.get("defaultBackend")
    default_backend = _backend(r, default, "spec.defaultBackend", ns, spec.line_of("defaultBackend")) \
        if default is not None else None
    tls: list[IngressTLS] = []
    for i, raw in enumerate(r.get_list(spec, "tls", "spec") or []):
        if not isinstance(raw, LMap):
            r.error("invalid-type", f"spec.tls[{i}] must be a mapping; ignored", spec.line_of("tls"),
                    Leans.MAY_DENY_MORE)
            continue
        hosts = r.string_list(raw, "hosts", f"spec.tls[{i}]", Leans.MAY_DENY_MORE)
        if hosts is None:  # unreadable: this entry terminates TLS for no host (fails closed)
            continue
        tls.append(IngressTLS(tuple(h.lower() for h in hosts), r.get_str(raw, "secretName", f"spec.tls[{i}]") or "",
                              raw.line))
    cluster.entry.ingresses.append(Ingress(ObjectRef("Ingress", ns, obj.name, obj.file, obj.line), class_name,
                                           tuple(rules), default_backend, tuple(tls), annotations,
                                           creation_timestamp(r, obj)))
