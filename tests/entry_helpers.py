"""Small YAML builders for the entry-point specifications (tests/test_entry.py).

Every builder returns one YAML document. List items that a diagnostic or a hop points at (a
Service port, an Ingress path or tls entry, a listener, a parentRef, a backendRef, a policy
rule) are written one per line in flow style, so that ``line_of(text, marker)`` finds the exact
line kubeward must report.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kubeward import Analysis
from kubeward.engine.trace import Step

FILE = "cluster.yaml"  # the file name the tests give analyse_text

_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def flow(value: Any) -> str:
    """A value in YAML flow style, quoting only what needs it."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_scalar(str(k))}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return _scalar(str(value))


def _scalar(text: str) -> str:
    return text if _PLAIN.match(text) and text.lower() not in _RESERVED else json.dumps(text)


def _items(values: Iterable[Any], indent: str) -> str:
    return "".join(f"{indent}- {flow(v)}\n" for v in values)


def docs(*objects: str) -> str:
    return "---\n".join(objects)


def line_of(text: str, marker: str) -> int:
    """The 1-based line of the only line of ``text`` that contains ``marker``."""
    found = [i for i, line in enumerate(text.splitlines(), 1) if marker in line]
    assert len(found) == 1, f"{marker!r} is on lines {found}"
    return found[0]


# --------------------------------------------------------------------------- core objects


def namespace(name: str, **labels: str) -> str:
    meta = {"name": name, "labels": labels} if labels else {"name": name}
    return f"apiVersion: v1\nkind: Namespace\nmetadata: {flow(meta)}\n"


def deployment(ns: str, name: str, labels: Mapping[str, str],
               ports: Sequence[tuple[int, str] | tuple[int, str, str]] = (),
               sa: str | None = None, replicas: int = 2) -> str:
    """``ports``: (containerPort, name) or (containerPort, name, protocol)."""
    container: dict[str, Any] = {"name": "c", "image": "x"}
    if ports:
        container["ports"] = [{"containerPort": p[0], **({"name": p[1]} if p[1] else {}),
                               **({"protocol": p[2]} if len(p) > 2 else {})} for p in ports]
    spec = {"containers": [container], **({"serviceAccountName": sa} if sa else {})}
    return (f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {flow({'name': name, 'namespace': ns})}\nspec:\n"
            f"  replicas: {replicas}\n  selector: {flow({'matchLabels': labels})}\n"
            f"  template:\n    metadata: {flow({'labels': labels})}\n    spec: {flow(spec)}\n")


def service(ns: str, name: str, selector: Mapping[str, str] | None, ports: Sequence[Mapping[str, Any]],
            type: str | None = None, external_traffic_policy: str | None = None) -> str:
    """One line per port: ``line_of(text, "port: 80,")`` style markers find them."""
    out = f"apiVersion: v1\nkind: Service\nmetadata: {flow({'name': name, 'namespace': ns})}\nspec:\n"
    if type:
        out += f"  type: {type}\n"
    if external_traffic_policy:
        out += f"  externalTrafficPolicy: {external_traffic_policy}\n"
    if selector is not None:
        out += f"  selector: {flow(selector)}\n"
    return out + "  ports:\n" + _items(ports, "  ")


def service_account(ns: str, name: str) -> str:
    return f"apiVersion: v1\nkind: ServiceAccount\nmetadata: {flow({'name': name, 'namespace': ns})}\n"


def secret(ns: str, name: str) -> str:
    return (f"apiVersion: v1\nkind: Secret\nmetadata: {flow({'name': name, 'namespace': ns})}\n"
            "type: kubernetes.io/tls\n")


def policy(ns: str, name: str, selector: Mapping[str, str], ingress: Sequence[Mapping[str, Any]] | None = None,
           egress: Sequence[Mapping[str, Any]] | None = None, types: Sequence[str] = ("Ingress",)) -> str:
    """A NetworkPolicy; each rule on its own line (``ingress: []`` when the list is empty)."""
    out = (f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {flow({'name': name, 'namespace': ns})}\n"
           f"spec:\n  podSelector: {flow({'matchLabels': selector} if selector else {})}\n"
           f"  policyTypes: {flow(list(types))}\n")
    for key, rules in (("ingress", ingress), ("egress", egress)):
        if rules is not None:
            out += f"  {key}:\n" + _items(rules, "  ") if rules else f"  {key}: []\n"
    return out


# --------------------------------------------------------------------------- Ingress


def backend(name: str, port: int | str) -> dict[str, Any]:
    return {"service": {"name": name, "port": {"number": port} if isinstance(port, int) else {"name": port}}}


def path(value: str, path_type: str, service_name: str, port: int | str = 80) -> dict[str, Any]:
    return {"path": value, "pathType": path_type, "backend": backend(service_name, port)}


def ingress(ns: str, name: str, rules: Sequence[tuple[str, Sequence[Mapping[str, Any]]]] = (),
            tls: Sequence[Mapping[str, Any]] = (), class_name: str | None = "nginx",
            annotations: Mapping[str, str] | None = None, default_backend: Mapping[str, Any] | None = None) -> str:
    """``rules``: (host or "", [path(...), ...]); each path and each tls entry on its own line."""
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if annotations:
        meta["annotations"] = dict(annotations)
    out = f"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {flow(meta)}\nspec:\n"
    if class_name:
        out += f"  ingressClassName: {class_name}\n"
    if default_backend is not None:
        out += f"  defaultBackend: {flow(default_backend)}\n"
    if tls:
        out += "  tls:\n" + _items(tls, "  ")
    if rules:
        out += "  rules:\n"
        for host, paths in rules:
            out += (f"  - host: {flow(host)}\n    http:\n" if host else "  - http:\n")
            out += "      paths:\n" + _items(paths, "      ")
    return out


def ingress_class(name: str, default: bool = False) -> str:
    meta: dict[str, Any] = {"name": name}
    if default:
        meta["annotations"] = {"ingressclass.kubernetes.io/is-default-class": "true"}
    return (f"apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata: {flow(meta)}\n"
            "spec: {controller: k8s.io/ingress-nginx}\n")


# --------------------------------------------------------------------------- Gateway API

GW = "gateway.networking.k8s.io/v1"


def gateway(ns: str, name: str, listeners: Sequence[Mapping[str, Any]], class_name: str = "nginx") -> str:
    """Each listener on its own line."""
    return (f"apiVersion: {GW}\nkind: Gateway\nmetadata: {flow({'name': name, 'namespace': ns})}\nspec:\n"
            f"  gatewayClassName: {class_name}\n  listeners:\n" + _items(listeners, "  "))


def http_route(ns: str, name: str, parents: Sequence[Mapping[str, Any]], rules: Sequence[Mapping[str, Any]],
               hostnames: Sequence[str] = (), created: str | None = None) -> str:
    """Each parentRef on its own line; each rule starts with its matches line, then one line per
    backendRef."""
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if created:
        meta["creationTimestamp"] = created
    out = f"apiVersion: {GW}\nkind: HTTPRoute\nmetadata: {flow(meta)}\nspec:\n  parentRefs:\n" + _items(parents, "  ")
    if hostnames:
        out += f"  hostnames: {flow(list(hostnames))}\n"
    out += "  rules:\n"
    for rule in rules:
        out += f"  - matches: {flow(rule.get('matches', [{'path': {'type': 'PathPrefix', 'value': '/'}}]))}\n"
        out += "    backendRefs:\n" + _items(rule.get("backendRefs", []), "    ")
    return out


def reference_grant(ns: str, name: str, from_: Sequence[Mapping[str, str]], to: Sequence[Mapping[str, str]]) -> str:
    return (f"apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\n"
            f"metadata: {flow({'name': name, 'namespace': ns})}\nspec:\n  from: {flow(list(from_))}\n"
            f"  to: {flow(list(to))}\n")


# --------------------------------------------------------------------------- reading results


def hop(step: Step) -> tuple[str, str, str, str]:
    """(layer, tier, reason, effect) of a trace step."""
    return (step.layer, step.tier, step.reason.value, step.effect)


def where(step: Step) -> tuple[str, int] | None:
    """(file, line) a step points at, or None."""
    if step.policy is None:
        return None
    return (step.policy.file, step.line or step.policy.line)


def first_deny(steps: Sequence[Step]) -> Step:
    found = [s for s in steps if s.effect == "deny"]
    assert found, [hop(s) for s in steps]
    return found[0]


def codes_at(analysis: Analysis, code: str) -> list[tuple[str, int]]:
    """(file, line) of every diagnostic with this code."""
    return [(d.file, d.line) for d in analysis.diagnostics.items if d.code == code]
