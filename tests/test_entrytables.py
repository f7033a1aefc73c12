"""Entry points as truth tables (tests/entrytables/README.md): the Gateway API conformance
scenarios and the Ingress path-matching examples — which backend each request reaches, and
which routes their Gateways accept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeward import analyse_text
from kubeward.engine.routing import attach, backend_status, ingress_class_of, parse_url, route_gateway, route_ingress
from kubeward.engine.services import find_service, service_port
from kubeward.model import Cluster

TABLES = Path(__file__).resolve().parent / "entrytables"


def _cases() -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for file in sorted(TABLES.glob("*/*.yaml")):
        for i, doc in enumerate(yaml.safe_load_all(file.read_text())):
            if doc:
                out.append((f"{file.parent.name}/{file.stem}#{i}", doc))
    return out


CASES = _cases()


def _route_key(text: str) -> tuple[str, str, str]:
    kind, _, rest = text.partition(" ")
    ns, _, name = rest.partition("/")
    return kind, ns, name


def _attachment_mismatches(cluster: Cluster, doc: dict[str, Any]) -> list[str]:
    bad: list[str] = []
    for want in doc.get("attachments") or []:
        kind, ns, name = _route_key(want["route"])
        route = next((r for r in cluster.entry.routes if (r.ref.kind, r.ref.namespace, r.ref.name) == (kind, ns, name)),
                     None)
        if route is None:
            bad.append(f"{want['route']}: not in the input")
            continue
        pns, _, pname = want["parent"].partition("/")
        parent = next((p for p in route.parents if (p.namespace, p.name) == (pns, pname)), None)
        if parent is None:
            bad.append(f"{want['route']}: no parentRef {want['parent']}")
            continue
        got = attach(cluster, route, parent)
        if got.accepted != want["accepted"]:
            bad.append(f"{want['route']} → {want['parent']}: accepted {got.accepted} ({got.reason}: {got.message}), "
                       f"upstream {want['accepted']}")
        elif (not want["accepted"] and "resolved_refs" not in want and want.get("reason")
              and got.reason != want["reason"]):
            bad.append(f"{want['route']} → {want['parent']}: reason {got.reason}, upstream {want['reason']}")
        if "resolved_refs" in want:
            statuses = [backend_status(cluster, route.ref, b) for rule in route.rules for b in rule.backends]
            resolved = all(s.ok for s in statuses)
            reasons = {s.reason for s in statuses if not s.ok}
            if resolved != want["resolved_refs"]:
                bad.append(f"{want['route']}: ResolvedRefs {resolved} {sorted(reasons)}, "
                           f"upstream {want['resolved_refs']}")
            elif not resolved and want.get("reason") and want["reason"] not in reasons:
                bad.append(f"{want['route']}: ResolvedRefs reasons {sorted(reasons)}, upstream {want['reason']}")
    return bad


def _reached(cluster: Cluster, request: dict[str, Any]) -> set[str] | str:
    req = parse_url(request["url"], request.get("method", "GET"),
                    tuple((k.lower(), str(v)) for k, v in (request.get("headers") or {}).items()))
    if req is None:
        return f"bad url {request['url']}"
    if request.get("gateway"):
        ns, _, name = request["gateway"].partition("/")
        gw = next((g for g in cluster.entry.gateways if (g.ref.namespace, g.ref.name) == (ns, name)), None)
        if gw is None:
            return f"no Gateway {request['gateway']}"
        outcome = route_gateway(cluster, gw, req)
        if outcome.choice is None:
            return set()
        return {f"{b.ref.namespace}/{b.ref.name}:{b.ref.port}" for b in outcome.choice.backends if b.ok}
    by_class: dict[str | None, list[Any]] = {}
    for ing in cluster.entry.ingresses:
        by_class.setdefault(ingress_class_of(cluster, ing), []).append(ing)
    reached: set[str] = set()
    for ingresses in by_class.values():
        choice = route_ingress(cluster, ingresses, req)
        if choice is None:
            continue
        b = choice.backend
        port = b.port
        svc = find_service(cluster, b.namespace, b.name)
        if isinstance(port, str) and svc is not None:
            sp = service_port(svc, port)
            port = sp.port if sp else port
        reached.add(f"{b.namespace}/{b.name}:{port}")
    return reached


def test_the_entry_corpora_are_not_empty() -> None:
    assert len([c for c, _ in CASES if c.startswith("gateway-api/")]) >= 10
    assert len([c for c, _ in CASES if c.startswith("ingress/")]) >= 3


@pytest.mark.parametrize(("case_id", "doc"), CASES, ids=[c for c, _ in CASES])
def test_entry_scenario(case_id: str, doc: dict[str, Any]) -> None:
    analysis = analyse_text(doc["objects"], f"{case_id}.yaml")
    cluster = analysis.cluster
    bad = _attachment_mismatches(cluster, doc)
    for request in doc.get("requests") or []:
        got = _reached(cluster, request)
        want = set(request.get("backends") or [])
        if got != want:
            bad.append(f"{request.get('method', 'GET')} {request['url']} "
                       f"{request.get('headers') or ''} via {request.get('gateway') or 'ingress'}: "
                       f"reached {sorted(got) if isinstance(got, set) else got}, upstream {sorted(want)}")
    assert not bad, f"{doc.get('name')}:\n" + "\n".join(bad)
