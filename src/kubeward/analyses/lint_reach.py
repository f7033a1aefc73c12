"""Findings about flows that never happen, each with the rule to add on the side that refuses:

- ``one-sided-allow`` (NP-1): a NetworkPolicy rule, ingress or egress, naming pods and ports,
  whose flows the other side refuses — the source's egress or the destination's ingress. When the
  other side refuses every flow between them, the fix is the missing half, written out as a
  NetworkPolicy; deleting the rule would lose the intent.
- ``entry-point-blocked`` (ING-6): an Ingress, route or exposed Service through which no request
  reaches a backend, with the first failing hop and the rule that would let it through.

``lint`` imports this module when it runs (it reads lint's rule table)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..engine.engine import Engine
from ..engine.entrypeers import GATEWAY_NAME_LABEL
from ..engine.evaluate import Origin, Resolver, evaluate_side, resolve_ports
from ..engine.portset import ALL, PortSet
from ..engine.services import find_service, service_port, translate
from ..engine.trace import Effect, Layer, Reason, Step, StepTier
from ..engine.universe import Identity, bits
from ..ir import (
    MAX_PORT,
    MIN_PORT,
    Action,
    Direction,
    LabelSelector,
    Operator,
    PodPeer,
    Policy,
    PortMatch,
    PortRange,
    Rule,
)
from ..model import NAMESPACE_NAME_LABEL, ContainerPort, ObjectRef, Service, Workload
from .connectivity_map import ConnectivityMap
from .entry import EntryPoint
from .lint import RULES, Finding, enforced_policies, limit_note, policy_finding
from .session import Analysis

ONE_SIDED_PAIRS = 20_000  # (subject, peer) pairs evaluated at most for one-sided-allow

# ---------------------------------------------------------------------------- NetworkPolicy snippets

_PLAIN = re.compile(r"[A-Za-z_][-A-Za-z0-9_./]*")
_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n"})
# Labels that change with every release or rollout: never part of a suggested selector.
_VOLATILE = frozenset({"pod-template-hash", "controller-revision-hash", "pod-template-generation",
                       "helm.sh/chart", "app.kubernetes.io/version", "app.kubernetes.io/managed-by"})


def _scalar(value: str) -> str:
    """A YAML scalar that reads back as the same string (quoted when YAML would read it otherwise)."""
    return value if _PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS else json.dumps(value)


def selector_yaml(selector: LabelSelector | Mapping[str, str]) -> str:
    """A label selector in YAML flow style: ``{matchLabels: {app: web}}``."""
    if isinstance(selector, LabelSelector):
        single = [r for r in selector.requirements if r.operator is Operator.IN and len(r.values) == 1]
        labels = {r.key: r.values[0] for r in single}
        rest = [r for r in selector.requirements if r not in single]
    else:
        labels, rest = dict(selector), []
    parts = []
    if labels:
        parts.append("matchLabels: {" + ", ".join(f"{_scalar(k)}: {_scalar(v)}" for k, v in sorted(labels.items()))
                     + "}")
    if rest:
        exprs = [f"{{key: {_scalar(r.key)}, operator: {r.operator.value}"
                 + (f", values: [{', '.join(_scalar(v) for v in r.values)}]" if r.values else "") + "}" for r in rest]
        parts.append(f"matchExpressions: [{', '.join(exprs)}]")
    return "{" + ", ".join(parts) + "}"


def _pods_yaml(policy_namespace: str, pods_namespace: str, selector: LabelSelector | Mapping[str, str]) -> str:
    """A NetworkPolicy peer naming pods, as a policy in ``policy_namespace`` must write it."""
    pods = f"podSelector: {selector_yaml(selector)}"
    if pods_namespace == policy_namespace:
        return "{" + pods + "}"
    return f"{{namespaceSelector: {{matchLabels: {{{NAMESPACE_NAME_LABEL}: {_scalar(pods_namespace)}}}}}, {pods}}}"


def _ports_yaml(ports: Iterable[PortMatch]) -> str:
    items = []
    for p in ports:
        if isinstance(p, PortRange):
            if p.first == MIN_PORT and p.last == MAX_PORT:
                items.append(f"{{protocol: {p.protocol}}}")
            else:
                end = f", endPort: {p.last}" if p.last != p.first else ""
                items.append(f"{{protocol: {p.protocol}, port: {p.first}{end}}}")
        else:
            items.append(f"{{protocol: {p.protocol or 'TCP'}, port: {_scalar(p.name)}}}")
    return f"[{', '.join(items)}]"


def missing_rule(namespace: str, selector: LabelSelector | Mapping[str, str], direction: Direction, peer: str,
                 ports: Iterable[PortMatch]) -> str:
    """The NetworkPolicy that adds one rule, in words and YAML flow style."""
    word = "from" if direction is Direction.INGRESS else "to"
    kind = direction.value.capitalize()
    return (f"in namespace {namespace}, a NetworkPolicy with `podSelector: {selector_yaml(selector)}`, "
            f"`policyTypes: [{kind}]`, `{direction.value}: [{{{word}: [{peer}], ports: {_ports_yaml(ports)}}}]` "
            "(or that rule in a policy that already selects those pods)")


# ---------------------------------------------------------------------------- one-sided allows


@dataclass(slots=True)
class _OtherSide:
    """What the other side of a rule's flows does: ``accepts`` whether it allows some of the
    rule's ports for some pair, ``anything`` whether it allows any port for some pair, ``refusal``
    the first rule or policy that refused; ``stopped`` whether the pair budget ran out first."""

    accepts: bool = False
    anything: bool = False
    refusal: Origin | None = None
    pairs: int = 0
    refusers: tuple[Identity, ...] = ()
    stopped: bool = False


def _matcher(engine: Engine, bit: int) -> Callable[[Rule], bool]:
    return lambda r: bool(engine.rule_mask(r) & bit)


def _resolver(dest_ports: tuple[ContainerPort, ...]) -> Resolver:
    return lambda ports: resolve_ports(ports, dest_ports)


def _other_side(engine: Engine, direction: Direction, rule: Rule, subjects: list[Identity], peers: list[Identity],
                budget: int) -> _OtherSide:
    """For each (subject, peer) pair: the peer's opposite side, evaluated on every port."""
    out = _OtherSide()
    refusers: list[Identity] = []
    for t in peers:
        other = engine.side(t, Direction.INGRESS if direction is Direction.EGRESS else Direction.EGRESS)
        for s in subjects:
            if s is t:
                continue
            dest_ports = (t if direction is Direction.EGRESS else s).ports
            rule_ports = resolve_ports(rule.ports, dest_ports)
            if not rule_ports:
                continue  # a named port the destination lacks: the rule itself allows nothing here
            if out.pairs >= budget:
                out.accepts = out.stopped = True  # out of budget: say nothing rather than guess
                return out
            out.pairs += 1
            origins: list[tuple[Origin, PortSet]] = []
            allowed = evaluate_side(other, _matcher(engine, 1 << s.index), _resolver(dest_ports), ALL, None, "", "",
                                    origins)
            if allowed & rule_ports:
                out.accepts = True
                return out
            out.anything = out.anything or bool(allowed)
            if out.refusal is None:
                out.refusal = next((o for o, _ in origins if o.effect is Effect.DENY), None)
            if t not in refusers:
                refusers.append(t)
    out.refusers = tuple(refusers)
    return out


def one_sided(analysis: Analysis) -> Iterable[Finding]:
    """NetworkPolicy rules naming pods and ports whose flows the other side refuses (NP-1, NP-5).
    A rule whose other side refuses every flow between them is reported in either direction, with
    the missing half; when the other side only allows other ports, the egress rule is reported
    (one finding per mismatch)."""
    engine = analysis.engine
    u = engine.universe
    budget = ONE_SIDED_PAIRS
    candidates = [(p, direction, r) for p in enforced_policies(analysis) if p.ref.kind == "NetworkPolicy"
                  for direction in Direction for r in p.rules(direction)
                  if r.action is Action.ALLOW and r.ports and any(isinstance(peer, PodPeer) for peer in r.peers)]
    subjects_of: dict[int, list[Identity]] = {}
    for k, (p, direction, r) in enumerate(candidates):
        subjects = subjects_of.get(id(p))
        if subjects is None:
            subjects = subjects_of[id(p)] = [u.identities[i] for i in
                                             bits(engine.subject_masks.get(id(p), 0) & u.identity_mask)]
        if not subjects:
            continue
        subject_workloads = {w.id for s in subjects for w in s.workloads}
        pods = [peer for peer in r.peers if isinstance(peer, PodPeer)]
        mask = 0
        for peer in pods:
            mask |= engine.universe.peer_mask(peer)
        peers = [u.identities[i] for i in bits(mask & u.identity_mask)]
        if not peers or {w.id for t in peers for w in t.workloads} <= subject_workloads:
            continue
        other = _other_side(engine, direction, r, subjects, peers, budget)
        budget -= other.pairs
        if other.stopped:
            yield limit_note("one-sided-allow", f"stopped after {ONE_SIDED_PAIRS:,} (subject, peer) pairs: "
                                                f"{len(candidates) - k:,} of {len(candidates):,} allow rules not "
                                                f"checked or checked in part, from {p.ref.display} {r.label} on")
            return
        if other.accepts or not other.pairs or (other.anything and direction is Direction.INGRESS):
            continue
        yield _one_sided_finding(analysis, p, direction, r, pods, other)


def _one_sided_finding(analysis: Analysis, p: Policy, direction: Direction, r: Rule, pods: list[PodPeer],
                       other: _OtherSide) -> Finding:
    ref = p.ref
    named = "; ".join(map(str, pods))
    ports = ", ".join(str(m) for m in r.ports or ())
    by = f": {other.refusal.describe()}" if other.refusal is not None else ""
    if direction is Direction.EGRESS:
        said = f"{ref.display} {r.label}: allows egress to {named} on {ports}, but their ingress"
        opposite, word = Direction.INGRESS, "from"
    else:
        said = f"{ref.display} {r.label}: allows ingress from {named} on {ports}, but their egress"
        opposite, word = Direction.EGRESS, "to"
    if other.anything:  # egress only: the other side allows other ports between them
        return policy_finding("one-sided-allow", p, f"{said} never accepts those ports {word} these pods{by}",
                              line=r.line)
    refusal = other.refusal
    if refusal is not None and refusal.rule is not None and refusal.policy.kind != "BaselineAdminNetworkPolicy":
        # An explicit deny rule (AdminNetworkPolicy, Cilium deny, a Calico tier) wins over any allow on their side.
        return policy_finding("one-sided-allow", p, f"{said} denies every flow {word} these pods{by}", line=r.line,
                              fix="their side denies this flow with an explicit rule, which an allow there would not "
                                  f"override: narrow {refusal.policy.display}'s rule ({refusal.where}) if the flow is "
                                  "wanted, or delete this rule")
    message = f"{said} refuses every flow {word} these pods{by}; the rule has no effect until their side allows it"
    # The missing half: on the peers' side, naming the policy's own pods, on the rule's ports.
    target = other.refusers[0]
    peer = next((x for x in pods if analysis.engine.universe.peer_mask(x) >> target.index & 1), pods[0])
    subject = _pods_yaml(target.namespace, ref.namespace, p.subject.pod_selector)
    fix = ("add the missing half on their side (do not delete this rule): "
           + missing_rule(target.namespace, peer.pod_selector, opposite, subject, r.ports or ()))
    return policy_finding("one-sided-allow", p, message, line=r.line, fix=fix)


# ---------------------------------------------------------------------------- entry points


def _object_of(analysis: Analysis, via: Mapping[str, object]) -> ObjectRef | None:
    """The Ingress, route or Service an entry point's way in belongs to."""
    entry = analysis.cluster.entry
    kind, ns, name = via.get("kind"), via.get("namespace"), via.get("name")
    route = via.get("route")
    if isinstance(route, str):
        kind, _, rest = route.partition(" ")
        ns, _, name = rest.partition("/")
    for ing in entry.ingresses:
        if (kind, ns, name) == ("Ingress", ing.ref.namespace, ing.ref.name):
            return ing.ref
    for r in entry.routes:
        if (kind, ns, name) == (r.ref.kind, r.ref.namespace, r.ref.name):
            return r.ref
    for svc in analysis.cluster.services:
        if (kind, ns, name) == ("Service", svc.namespace, svc.name):
            return ObjectRef("Service", svc.namespace, svc.name, svc.origin.file, svc.origin.line)
    return None


def _backends(analysis: Analysis, via: Mapping[str, object]) -> list[tuple[Workload, Service, str, int]]:
    """The backend pods of a way in, with the Service and the pod port they are reached on."""
    cluster = analysis.cluster
    wanted: list[tuple[str, str, object]] = []  # (namespace, Service, port)
    route = via.get("route")
    if isinstance(route, str):
        kind, _, rest = route.partition(" ")
        ns, _, name = rest.partition("/")
        found = next((r for r in cluster.entry.routes if (r.ref.kind, r.ref.namespace, r.ref.name) == (kind, ns, name)),
                     None)
        index = via.get("rule")
        if found is not None and isinstance(index, int) and 0 <= index < len(found.rules):
            wanted = [(b.namespace, b.name, b.port) for b in found.rules[index].backends if b.kind == "Service"]
    elif via.get("kind") == "Ingress" and isinstance(via.get("service"), str):
        ns, _, name = str(via["service"]).partition("/")
        wanted = [(ns, name, via.get("servicePort"))]
    elif via.get("kind") == "Service":
        wanted = [(str(via.get("namespace")), str(via.get("name")), via.get("port"))]
    out = []
    for ns, name, port in wanted:
        svc = find_service(cluster, ns, name)
        sport = service_port(svc, port) if svc is not None and isinstance(port, int | str) else None
        if svc is None or sport is None:
            continue
        for b in translate(cluster, svc, sport).backends:
            if b.pod_port is not None:
                out.append((b.workload, svc, sport.protocol, b.pod_port))
    return out


def _stable_labels(w: Workload) -> dict[str, str]:
    """The labels that pick a proxy's pods, without those that change with each release."""
    if GATEWAY_NAME_LABEL in w.labels:
        return {GATEWAY_NAME_LABEL: w.labels[GATEWAY_NAME_LABEL]}
    if w.labels.get("app.kubernetes.io/name") == "ingress-nginx":
        return {k: w.labels[k] for k in ("app.kubernetes.io/name", "app.kubernetes.io/component") if k in w.labels}
    return {k: v for k, v in w.labels.items() if k not in _VOLATILE}


def _hop_text(step: Step) -> str:
    """The first failing hop, named with its place (as the map's entry points print it)."""
    where = f" ({step.where})" if step.where else ""
    who = f"{step.policy.display}{where}: " if step.policy else ""
    side = f"{step.direction.value} of {step.subject}: " if step.layer is Layer.CNI else f"{step.layer.value}: "
    return f"{side}{who}{step.message}"


_ENTRY_FIXES = {
    Reason.NOT_ACCEPTED: RULES["route-not-accepted"].fix,
    Reason.NO_ROUTE: "add a rule (host, path) or a route that matches the request, or a default backend",
    Reason.BACKEND_INVALID: "point the backend at a Service and port that exist (and a ReferenceGrant for another "
                            "namespace's Service)",
    Reason.NO_ENDPOINTS: "fix the Service's selector (or targetPort) to the backend pods' labels and ports",
    Reason.TLS: "give the listener a certificate it may use: tls.certificateRefs (and a ReferenceGrant for another "
                "namespace's Secret)",
}


def _cni_fix(analysis: Analysis, point: EntryPoint, step: Step) -> str:
    """The rule to add on the side that refuses: an ingress rule on the backend pods admitting the
    proxy pods, an egress rule on the proxy pods, or an ingress rule on the proxy from anywhere."""
    policy = f"{step.policy.display} ({step.where})" if step.policy else "the policy that decides"
    if step.tier in (StepTier.DENY, StepTier.ADMIN) and step.reason is Reason.RULE_MATCHED:
        return (f"a deny rule of {policy} refuses it, and deny rules win over NetworkPolicy allows: narrow that rule "
                "(or, for an AdminNetworkPolicy, allow the flow in a rule of higher priority)")
    if step.tier is StepTier.CALICO:
        return f"allow the flow in {policy}'s tier, before the rule that denies it (CAL-8)"
    if step.tier is StepTier.L7:
        return f"add an HTTP rule that admits {point.request} to {policy}"
    cluster = analysis.cluster
    proxy_id = point.via.get("controller") or point.via.get("dataPlane")
    proxy = cluster.workload(proxy_id) if isinstance(proxy_id, str) else None
    backends = _backends(analysis, point.via)
    side = f"add the rule on the side that refuses ({step.direction.value} of {step.subject}): "
    if proxy is not None and step.subject == proxy.id:
        if step.direction is Direction.INGRESS:  # the clients to the proxy, on its listening port
            url = urlsplit(point.request)
            port = url.port or (443 if url.scheme == "https" else 80)
            return side + missing_rule(proxy.namespace, _stable_labels(proxy), Direction.INGRESS,
                                       "{ipBlock: {cidr: 0.0.0.0/0}}", [PortRange("TCP", port, port)])
        if not backends:
            return RULES["entry-point-blocked"].fix
        w, svc, protocol, _ = backends[0]
        ports = sorted({PortRange(pr, n, n) for b, _, pr, n in backends if b is w}, key=str)
        to = _pods_yaml(proxy.namespace, w.namespace, svc.selector or w.labels)
        return side + missing_rule(proxy.namespace, _stable_labels(proxy), Direction.EGRESS, to, ports)
    mine = [(w, svc, pr, n) for w, svc, pr, n in backends if w.id == step.subject]
    if step.direction is not Direction.INGRESS or not mine:
        return RULES["entry-point-blocked"].fix
    w, svc = mine[0][0], mine[0][1]
    ports = sorted({PortRange(pr, n, n) for _, _, pr, n in mine}, key=str)
    source = _pods_yaml(w.namespace, proxy.namespace, _stable_labels(proxy)) if proxy is not None \
        else "{ipBlock: {cidr: 0.0.0.0/0}}"
    return side + missing_rule(w.namespace, svc.selector or w.labels, Direction.INGRESS, source, ports)


def _entry_fix(analysis: Analysis, point: EntryPoint, step: Step) -> str:
    if step.layer is Layer.CNI:
        return _cni_fix(analysis, point, step)
    if step.layer is Layer.MESH:
        return ("let the proxy through the backend's sidecar: an AuthorizationPolicy ALLOW rule for the proxy's "
                "identity, or PeerAuthentication PERMISSIVE on that port when the proxy has no sidecar (IST-7)")
    return _ENTRY_FIXES.get(step.reason, RULES["entry-point-blocked"].fix)


# Hops that a finding from the diagnostics already reports on the same object, with its fix.
_REPORTED_HOPS = {Reason.NOT_ACCEPTED: ("route-not-accepted", "no-parent", "ingress-conflict", "route-not-admitted"),
                  Reason.BACKEND_INVALID: ("backend-not-found", "backend-port-not-found", "ref-not-permitted")}


def _reported(step: Step | None, ref: ObjectRef, said: set[tuple[str, str, str, str]]) -> bool:
    return step is not None and any((code, ref.kind, ref.namespace, ref.name) in said
                                    for code in _REPORTED_HOPS.get(step.reason, ()))


def blocked_entries(analysis: Analysis, cmap: ConnectivityMap, reported: Iterable[Finding] = ()) -> Iterable[Finding]:
    """One finding per Ingress, route or exposed Service through which some request reaches no
    backend: the first failing hop of its first blocked way in, and the rule to add. A way in
    whose failing hop is a finding of ``reported`` on the same object already (a route not
    accepted or admitted, an Ingress path an older Ingress keeps, a backend that does not exist)
    is skipped: that finding says it, with its fix."""
    said = {(f.code, f.kind, f.namespace, f.name) for f in reported}
    by_object: dict[ObjectRef, list[EntryPoint]] = {}
    for point in cmap.entries:
        ref = _object_of(analysis, point.via)
        if ref is not None:
            by_object.setdefault(ref, []).append(point)
    rule = RULES["entry-point-blocked"]
    for ref, points in by_object.items():
        blocked = [pt for pt in points if not pt.path.allowed]
        # Ways in whose failing hop a finding on this object already reports are not told twice.
        untold = [pt for pt in blocked if not _reported(pt.first_failure(), ref, said)]
        if not untold:
            continue
        first = untold[0]
        step = first.first_failure()
        scope = "no request reaches a backend through it: every way in is blocked" if len(blocked) == len(points) \
            else f"{len(blocked)} of its {len(points)} ways in reach no backend"
        request = f" of {first.request}" if first.request else ""
        hop = _hop_text(step) if step is not None else "no route reaches a backend"
        fix = _entry_fix(analysis, first, step) if step is not None else rule.fix
        yield Finding(rule.code, rule.severity, f"{ref.display}: {scope}; first failing hop{request}: {hop}",
                      ref.kind, ref.namespace, ref.name, ref.file, ref.line, fix)


__all__ = ["one_sided", "blocked_entries", "missing_rule", "selector_yaml"]
