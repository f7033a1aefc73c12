"""Policy dialects: one module per API, registered in one table keyed by (group, kind).

:func:`build_cluster` turns raw objects into the typed :class:`~kubeward.model.Cluster`.
Kinds kubeward does not model are counted and reported once per kind, never dropped silently;
a kind that looks like a misspelling of a modelled one gets a "did you mean" diagnostic.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from ..diagnostics import Diagnostics, Leans
from ..ir import NamedPort, PodPeer, Policy, PortMatch, PortRange, Requirement, Rule, ServicePeer
from ..loader import RawObject
from ..model import NAMESPACE_NAME_LABEL, AuthorizationPolicy, Cluster, Namespace, NotModelled, Origin
from ._reader import ref_of
from .adminnetworkpolicy import PARSERS as ANP_PARSERS
from .calico import parse_calico_policy, parse_network_set, parse_profile, parse_tier
from .cilium import parse_cilium_policy
from .core import WORKLOAD_GROUPS, CoreBuilder
from .gateway import GROUP as GATEWAY_GROUP
from .gateway import ROUTE_KINDS, parse_gateway, parse_gateway_class, parse_reference_grant, parse_route
from .ingress import parse_ingress, parse_ingress_class
from .istio import parse_authorization_policy, parse_peer_authentication
from .istio_egress import (
    is_egress_gateway,
    parse_destination_rule,
    parse_istio_operator,
    parse_mesh_config,
    parse_service_entry,
    parse_sidecar,
    parse_virtual_service,
)
from .istio_egress import (
    parse_gateway as parse_istio_gateway,
)
from .networkpolicy import parse_network_policy
from .openshift import GROUP as OPENSHIFT_ROUTE_GROUP
from .openshift import parse_route as parse_openshift_route
from .staged import STAGES, parse_staged_policy
from .strict import StrictReading, apply_to_mesh, apply_to_policies, read_strictly
from .unmodelled import opens_traffic


@dataclass(frozen=True, slots=True)
class Dialect:
    group: str
    kind: str
    versions: tuple[str, ...]
    namespaced: bool
    handler: Callable[[RawObject, _Build], None]


class _Build:
    def __init__(self, diags: Diagnostics) -> None:
        self.cluster = Cluster(diagnostics=diags)
        self.diags = diags
        self.core = CoreBuilder(self.cluster, diags)

    def add_policy(self, policy: Policy | None) -> None:
        if policy is not None:
            self.cluster.policies.append(policy)


def _policy(parse: Callable[[RawObject, Diagnostics], Policy | None]) -> Callable[[RawObject, _Build], None]:
    return lambda obj, b: b.add_policy(parse(obj, b.diags))


REGISTRY: dict[tuple[str, str], Dialect] = {}


def register(dialect: Dialect) -> None:
    REGISTRY[(dialect.group, dialect.kind)] = dialect


register(Dialect("", "Namespace", ("v1",), False, lambda o, b: b.core.namespace(o)))
register(Dialect("", "ServiceAccount", ("v1",), True, lambda o, b: b.core.service_account(o)))
register(Dialect("", "Service", ("v1",), True, lambda o, b: b.core.service(o)))
register(Dialect("", "Node", ("v1",), False, lambda o, b: b.core.node(o)))
for _kind, _group in WORKLOAD_GROUPS.items():
    register(Dialect(_group, _kind, ("v1",), True, lambda o, b: b.core.workload(o)))
register(Dialect("networking.k8s.io", "NetworkPolicy", ("v1",), True, _policy(parse_network_policy)))
register(Dialect("policy.networking.k8s.io", "AdminNetworkPolicy", ("v1alpha1",), False,
                 _policy(ANP_PARSERS["AdminNetworkPolicy"])))
register(Dialect("policy.networking.k8s.io", "BaselineAdminNetworkPolicy", ("v1alpha1",), False,
                 _policy(ANP_PARSERS["BaselineAdminNetworkPolicy"])))
register(Dialect("policy.networking.k8s.io", "ClusterNetworkPolicy", ("v1alpha2",), False,
                 _policy(ANP_PARSERS["ClusterNetworkPolicy"])))

def _cilium(clusterwide: bool) -> Callable[[RawObject, _Build], None]:
    def handle(obj: RawObject, b: _Build) -> None:
        for policy in parse_cilium_policy(obj, b.diags, clusterwide):
            b.add_policy(policy)
    return handle


register(Dialect("cilium.io", "CiliumNetworkPolicy", ("v2",), True, _cilium(False)))
register(Dialect("cilium.io", "CiliumClusterwideNetworkPolicy", ("v2",), False, _cilium(True)))
for _ver in (("v1beta1", "v1"),):
    register(Dialect("security.istio.io", "PeerAuthentication", _ver, True,
                     lambda o, b: parse_peer_authentication(o, b.cluster, b.diags)))
    register(Dialect("security.istio.io", "AuthorizationPolicy", _ver, True,
                     lambda o, b: parse_authorization_policy(o, b.cluster, b.diags)))
_ISTIO_NET = ("networking.istio.io", ("v1alpha3", "v1beta1", "v1"))
_ISTIO_PARSERS: dict[str, Callable[[RawObject, Cluster, Diagnostics], None]] = {
    "ServiceEntry": parse_service_entry, "Sidecar": parse_sidecar, "Gateway": parse_istio_gateway,
    "VirtualService": parse_virtual_service, "DestinationRule": parse_destination_rule}


def _istio_net(parse: Callable[[RawObject, Cluster, Diagnostics], None]) -> Callable[[RawObject, _Build], None]:
    return lambda o, b: parse(o, b.cluster, b.diags)


for _name, _parse in _ISTIO_PARSERS.items():
    register(Dialect(_ISTIO_NET[0], _name, _ISTIO_NET[1], True, _istio_net(_parse)))


def _calico(global_: bool) -> Callable[[RawObject, _Build], None]:
    return lambda o, b: b.add_policy(parse_calico_policy(o, b.cluster, b.diags, global_))


for _group, _versions in (("projectcalico.org", ("v3",)), ("crd.projectcalico.org", ("v1",))):
    register(Dialect(_group, "NetworkPolicy", _versions, True, _calico(False)))
    register(Dialect(_group, "GlobalNetworkPolicy", _versions, False, _calico(True)))
    register(Dialect(_group, "Tier", _versions, False, lambda o, b: parse_tier(o, b.cluster, b.diags)))
    register(Dialect(_group, "NetworkSet", _versions, True,
                     lambda o, b: parse_network_set(o, b.cluster, b.diags, False)))
    register(Dialect(_group, "GlobalNetworkSet", _versions, False,
                     lambda o, b: parse_network_set(o, b.cluster, b.diags, True)))
    for _staged in ("StagedNetworkPolicy", "StagedGlobalNetworkPolicy", "StagedKubernetesNetworkPolicy"):
        register(Dialect(_group, _staged, _versions, _staged != "StagedGlobalNetworkPolicy",
                         lambda o, b: b.add_policy(parse_staged_policy(o, b.cluster, b.diags))))  # CAL-23
    register(Dialect(_group, "Profile", _versions, False, lambda o, b: parse_profile(o, b.cluster, b.diags)))
    register(Dialect(_group, "HostEndpoint", _versions, False, lambda o, b: b.diags.info(
        "not-modelled", f"{o.kind} {o.name}: host endpoints are not modelled", o.file, o.line)))
# kubeward's own test suites (tests.yaml beside the manifests): read by `test` and `check`.
register(Dialect("kubeward.dev", "TestSuite", ("v1",), False, lambda o, b: b.cluster.test_suites.append(o)))
register(Dialect("networking.k8s.io", "Ingress", ("v1",), True, lambda o, b: parse_ingress(o, b.cluster, b.diags)))
register(Dialect("networking.k8s.io", "IngressClass", ("v1",), False,
                 lambda o, b: parse_ingress_class(o, b.cluster, b.diags)))
register(Dialect("", "Secret", ("v1",), True, lambda o, b: b.core.secret(o)))
_GW_VERSIONS = ("v1alpha2", "v1beta1", "v1")
register(Dialect(GATEWAY_GROUP, "GatewayClass", _GW_VERSIONS, False,
                 lambda o, b: parse_gateway_class(o, b.cluster, b.diags)))
register(Dialect(GATEWAY_GROUP, "Gateway", _GW_VERSIONS, True, lambda o, b: parse_gateway(o, b.cluster, b.diags)))
register(Dialect(GATEWAY_GROUP, "ReferenceGrant", _GW_VERSIONS, True,
                 lambda o, b: parse_reference_grant(o, b.cluster, b.diags)))
for _route in ROUTE_KINDS:
    register(Dialect(GATEWAY_GROUP, _route, _GW_VERSIONS, True, lambda o, b: parse_route(o, b.cluster, b.diags)))
register(Dialect(OPENSHIFT_ROUTE_GROUP, "Route", ("v1",), True,
                 lambda o, b: parse_openshift_route(o, b.cluster, b.diags)))

_MODELLED_KINDS = sorted({k for _, k in REGISTRY})
_MODELLED_GROUPS = {g for g, _ in REGISTRY}
# The namespaces every cluster has (the API server creates them): using them is no news.
ALWAYS_PRESENT_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
# API groups of other projects whose kinds are reported as not modelled (never "did you mean").
FOREIGN_GROUPS = {"cilium.io", "projectcalico.org", "crd.projectcalico.org", "security.istio.io",
                  "networking.istio.io", "telemetry.istio.io"}
# Kinds known but not modelled that can expose workloads or open traffic: dialects/unmodelled.py.


def build_cluster(objects: Iterable[RawObject], diags: Diagnostics) -> Cluster:
    """The typed cluster the objects describe."""
    build = _Build(diags)
    not_modelled: dict[tuple[str, str], list[RawObject]] = {}
    raw_istio: list[RawObject] = []
    for obj in _last_of_each(objects, diags):
        cluster = build.cluster
        if not obj.kind:
            diags.error("missing-kind", "object has no kind; it is ignored", obj.file, obj.line)
            continue
        if not obj.api_version:
            diags.error("missing-api-version", f"{obj.kind} has no apiVersion; it is ignored",
                        obj.file, obj.line)
            continue
        if not obj.name:
            raw_name = obj.metadata.get("name")
            if raw_name is None:
                diags.error("missing-name", f"{obj.kind} has no metadata.name; it is ignored",
                            obj.file, obj.line)
            else:
                diags.error("invalid-type", f"{obj.kind} metadata.name must be a string, not "
                            f"{raw_name!r}; it is ignored", obj.file, obj.metadata.line_of("name"))
            continue
        cluster.kinds[obj.kind] = cluster.kinds.get(obj.kind, 0) + 1
        dialect = REGISTRY.get((obj.group, obj.kind))
        if (obj.group, obj.kind) == ("", "ConfigMap") and obj.name.startswith("istio"):
            parse_mesh_config(obj, cluster, diags)  # IST-30, IST-50: the outbound policy; otherwise unmodelled
        elif (obj.group, obj.kind) == ("install.istio.io", "IstioOperator"):
            parse_istio_operator(obj, cluster, diags)  # IST-30: the same, as the operator will write it
        if dialect is None:
            not_modelled.setdefault((obj.kind, obj.api_version), []).append(obj)
            continue
        if obj.group == "networking.istio.io":
            raw_istio.append(obj)
        version = obj.api_version.rpartition("/")[2]
        if version not in dialect.versions:
            diags.warning("unknown-version", f"{obj.kind} {obj.api_version} is not a version kubeward "
                          f"knows ({', '.join(dialect.versions)}); read as "
                          f"{dialect.versions[-1]}", obj.file, obj.line)
        if obj.live:  # NP-29: read from the API server, which stored it: already read strictly (by its release)
            dialect.handler(obj, build)
            continue
        # NP-29: every modelled object read as strictly as the API server reads it.
        reading = read_strictly(obj)
        if reading.left_out:
            reading.report(diags)  # NP-28: the API server never creates it
            continue
        before, first = _Counts.of(build.cluster), len(diags.items)
        dialect.handler(obj, build)
        reading.report(diags, _read_strictly(build.cluster, before, reading), first)
    build.core.finish()
    build.cluster.policies = [_calico_service_ports(build.cluster, p) for p in build.cluster.policies]
    _istio_entry_points(build.cluster, raw_istio, not_modelled)
    _report_not_modelled(build.cluster, not_modelled, diags)
    _add_referenced_namespaces(build.cluster, diags)
    return build.cluster


@dataclass(frozen=True, slots=True)
class _Counts:
    """How many policies of each store the cluster had before an object was read."""

    policies: int
    authorization_policies: int
    peer_authentications: int
    mesh_rejected: int

    @classmethod
    def of(cls, cluster: Cluster) -> _Counts:
        mesh = cluster.mesh
        return cls(len(cluster.policies), len(mesh.authorization_policies), len(mesh.peer_authentications),
                   len(mesh.rejected))


def _read_strictly(cluster: Cluster, before: _Counts, reading: StrictReading) -> bool:
    """Apply the strict reading to the policies the object just read became (NP-29); whether the
    dialect's own checks already reject them."""
    built = cluster.policies[before.policies:]
    rejected_anyway = any(p.rejected for p in built)
    cluster.policies[before.policies:] = apply_to_policies(built, reading)
    mesh = cluster.mesh
    stores: list[list[Any]] = [mesh.authorization_policies, mesh.peer_authentications, mesh.rejected]
    counts = (before.authorization_policies, before.peer_authentications, before.mesh_rejected)
    rejected_anyway = rejected_anyway or len(mesh.rejected) > before.mesh_rejected
    new_mesh = [p for store, count in zip(stores, counts, strict=True) for p in store[count:]]
    for store, count in zip(stores, counts, strict=True):
        del store[count:]
    for policy in new_mesh:
        read = apply_to_mesh(policy, reading)
        if read.rejected:
            mesh.rejected.append(read)
        elif isinstance(read, AuthorizationPolicy):
            mesh.authorization_policies.append(read)
        else:
            mesh.peer_authentications.append(read)
    return rejected_anyway


def _last_of_each(objects: Iterable[RawObject], diags: Diagnostics) -> list[RawObject]:
    """One object per (group, kind, namespace, name): the last one, as ``kubectl apply`` of the
    same input would leave it. The same place read twice (a path given twice) is no news."""
    chosen: dict[tuple[str, str, str, str], RawObject] = {}
    unnamed: list[tuple[int, RawObject]] = []
    order: dict[tuple[str, str, str, str], int] = {}
    for i, obj in enumerate(objects):
        if not obj.kind or not obj.name:
            unnamed.append((i, obj))
            continue
        key = (obj.group, obj.kind, obj.namespace, obj.name)
        prev = chosen.get(key)
        if prev is not None and (prev.file, prev.line) != (obj.file, obj.line):
            diags.warning("duplicate-object", f"{obj.kind} {(obj.namespace + '/') if obj.namespace else ''}"
                          f"{obj.name} is also defined at {prev.file}:{prev.line}; this later one is used",
                          obj.file, obj.line)
        chosen[key] = obj
        order[key] = i
    ranked = [(order[k], o) for k, o in chosen.items()] + unnamed
    return [o for _, o in sorted(ranked, key=lambda t: t[0])]


def _calico_service_ports(cluster: Cluster, policy: Policy) -> Policy:
    """CAL-6: a Calico rule to ``destination.services`` without ports takes the Service's ports (its
    target ports on the pods): the peer's Service in an egress rule, the policy's own endpoint's in an
    ingress rule (CAL-18)."""
    if STAGES.get(policy.ref.kind, policy.ref.kind) not in ("CalicoNetworkPolicy", "GlobalNetworkPolicy"):
        return policy
    return replace(policy, ingress=_service_ports(cluster, policy.ingress, own_side=True),
                   egress=_service_ports(cluster, policy.egress, own_side=False))


def _service_ports(cluster: Cluster, rules: tuple[Rule, ...], own_side: bool) -> tuple[Rule, ...]:
    out = []
    for rule in rules:
        svc_peer = (rule.subject_only if isinstance(rule.subject_only, ServicePeer) else None) if own_side else (
            rule.peers[0] if len(rule.peers) == 1 and isinstance(rule.peers[0], ServicePeer) else None)
        svc = next((s for s in cluster.services if svc_peer and s.namespace == svc_peer.namespace
                    and s.name == svc_peer.name), None)
        if rule.ports is None and svc is not None:
            ports: list[PortMatch] = []
            for sp in svc.ports:
                target = sp.target_port if sp.target_port is not None else sp.port
                if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
                    ports.append(PortRange(sp.protocol, int(target), int(target)))
                else:
                    ports.append(NamedPort(str(target), sp.protocol))
            rule = replace(rule, ports=tuple(ports))
        out.append(rule)
    return tuple(out)


def _report_not_modelled(cluster: Cluster, groups: dict[tuple[str, str], list[RawObject]],
                         diags: Diagnostics) -> None:
    for (kind, api_version), objs in sorted(groups.items()):
        first = objs[0]
        related = tuple(ref_of(o) for o in objs)
        cluster.not_modelled.append(NotModelled(kind, api_version, related))
        near = difflib.get_close_matches(kind, _MODELLED_KINDS, n=1, cutoff=0.8)
        count = f"{len(objs)} object{'s' if len(objs) != 1 else ''}"
        opens = opens_traffic(first.group, kind)
        if opens is not None:
            # A known kind that can expose workloads or open traffic: the analysis may miss what it lets through.
            diags.warning("not-modelled", f"not modelled: {kind} ({api_version}), {count} — {opens.product} "
                          f"{opens.opens.value}: {opens.opens.how}; what it lets through is not in this analysis",
                          first.file, first.line, leans=opens.leans, related=related)
        elif first.group in _MODELLED_GROUPS and near and near[0] != kind:
            # The API server has no such kind: kubectl apply would fail.
            diags.error("unknown-kind", f"unknown kind {kind} ({api_version}): did you mean {near[0]}? "
                        f"{len(objs)} object(s) not analysed", first.file, first.data.line_of("kind"),
                        leans=Leans.EITHER, related=related)
        elif first.group not in FOREIGN_GROUPS and any(d.kind == kind for d in REGISTRY.values()):
            diags.warning("unknown-group", f"{kind} ({api_version}) is not in an API group kubeward "
                          f"knows for {kind}; {len(objs)} object(s) not analysed", first.file, first.line,
                          related=related)
        else:
            diags.info("not-modelled", f"not modelled: {kind} ({api_version}), {count}", first.file, first.line,
                       related=related)


def _istio_entry_points(cluster: Cluster, raw: list[RawObject],
                        not_modelled: dict[tuple[str, str], list[RawObject]]) -> None:
    """IST-32, IST-33: kubeward models Istio Gateways and VirtualServices on the egress path only.
    An ingress Gateway, and a VirtualService bound to Gateways none of which is an egress gateway
    in the input, still let traffic in through a proxy kubeward does not follow: reported as not
    modelled entry points, as before."""
    gateways = {(g.ref.namespace, g.ref.name): g for g in cluster.mesh.gateways}
    for obj in raw:
        ns = obj.namespace or "default"
        if obj.kind == "Gateway":
            gw = gateways.get((ns, obj.name))
            ingress = gw is not None and not is_egress_gateway(gw)
        elif obj.kind == "VirtualService":
            vs = next((v for v in cluster.mesh.virtual_services if (v.ref.namespace, v.ref.name) == (ns, obj.name)),
                      None)
            named = [g for g in (vs.gateways if vs else ()) if g != "mesh"]
            found = [gateways.get((g.split("/")[0], g.split("/")[1]) if "/" in g else (ns, g)) for g in named]
            ingress = bool(named) and not any(g is not None and is_egress_gateway(g) for g in found)
        else:
            continue
        if ingress:
            not_modelled.setdefault((obj.kind, obj.api_version), []).append(obj)


def _add_referenced_namespaces(cluster: Cluster, diags: Diagnostics) -> None:
    """Namespaces used by objects, or selected by name, but not defined are created (with a
    diagnostic): their only label is kubernetes.io/metadata.name (NP-20)."""
    referenced: dict[str, Origin] = {}
    for w in cluster.workloads:
        referenced.setdefault(w.namespace, w.origin)
    for s in cluster.services:
        referenced.setdefault(s.namespace, s.origin)
    for ing in cluster.entry.ingresses:
        referenced.setdefault(ing.ref.namespace, Origin(ing.ref.file, ing.ref.line))
    for gw in cluster.entry.gateways:
        referenced.setdefault(gw.ref.namespace, Origin(gw.ref.file, gw.ref.line))
    for route in cluster.entry.routes:
        referenced.setdefault(route.ref.namespace, Origin(route.ref.file, route.ref.line))
    for p in cluster.policies:
        if p.ref.namespace:
            referenced.setdefault(p.ref.namespace, Origin(p.ref.file, p.ref.line))
        for rule in (*p.ingress, *p.egress):
            for peer in rule.peers:
                if isinstance(peer, PodPeer) and peer.namespace_selector is not None:
                    for req in peer.namespace_selector.requirements:
                        if req.key == NAMESPACE_NAME_LABEL and req.operator.value == "In":
                            for name in req.values:
                                referenced.setdefault(name, Origin(p.ref.file, rule.line))
    for name, origin in sorted(referenced.items()):
        if name in cluster.namespaces:
            continue
        cluster.namespaces[name] = Namespace(name, {NAMESPACE_NAME_LABEL: name}, None)
        if name in ALWAYS_PRESENT_NAMESPACES:
            continue  # every cluster has them (the API server creates them): no news
        diags.warning("undefined-namespace", f"namespace {name} is referenced but not defined in the "
                      f"input; assumed to exist with only the label {NAMESPACE_NAME_LABEL}={name} "
                      "(selectors on its other labels will not match it)", origin.file, origin.line)


__all__ = ["build_cluster", "REGISTRY", "Dialect", "register", "Requirement"]
