"""What a live read lists: every kind kubeward models (the dialect registry), the kinds it does not
model that can open traffic (so that their warnings reach the user), and what it means for the
answer when one of them cannot be read."""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import Leans
from ..dialects import REGISTRY
from ..dialects.unmodelled import OPENS_TRAFFIC

# Calico's two APIs: the Calico API server's (projectcalico.org) is read when it is served; its
# storage (crd.projectcalico.org) only when it is not (both at once would read every policy twice).
CALICO_API, CALICO_STORAGE = "projectcalico.org", "crd.projectcalico.org"
_NOT_LISTED = frozenset({("kubeward.dev", "TestSuite")})  # kubeward's own test suites live in files


@dataclass(frozen=True, slots=True)
class Wanted:
    """A kind to list: its group, the versions kubeward knows (newest last), whether kubeward
    models it, and what it means for the answer when the API server refuses to list it."""

    group: str
    kind: str
    versions: tuple[str, ...]
    modelled: bool
    missing: str        # "…; <missing>" in the warning of a refused list
    leans: Leans | None
    shown: str = ""     # how file:line names the kind: KIND, or KIND.GROUP when another group's KIND comes first


_WORKLOADS = ("their pods are not in the answer: the connections they take part in are not shown",
              Leans.MAY_ALLOW_MORE)
_POLICIES = ("the policies of this kind are not in the answer: what they allow, isolate or deny is not shown",
             Leans.EITHER)
_ENTRY = ("the entry points of this kind are not in the answer: ways in from outside may be missing",
          Leans.MAY_ALLOW_MORE)
_MEANING: dict[str, tuple[str, Leans | None]] = {
    "Namespace": ("namespace labels are unknown: each namespace is assumed to carry only "
                  "kubernetes.io/metadata.name, so namespaceSelectors on other labels match nothing", Leans.EITHER),
    **dict.fromkeys(("Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "ReplicationController", "Job",
                     "CronJob"), _WORKLOADS),
    "ServiceAccount": ("service accounts are reported as missing (SVC-6) though they may exist", None),
    "Service": ("Services are not in the answer: Service ports, their translation to pod ports and their "
                "exposure outside the cluster are not shown", Leans.EITHER),
    "Node": ("node addresses are unknown: traffic of host-network pods and nodes is not placed", Leans.EITHER),
    "Secret": ("TLS certificates of Ingresses and Gateways are reported as missing though they may exist", None),
    **dict.fromkeys(("Ingress", "Gateway", "HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute", "Route"),
                    _ENTRY),
    "IngressClass": ("Ingress classes are assumed (ING-3) instead of read", Leans.EITHER),
    "GatewayClass": ("Gateway classes are unknown: every Gateway is read as accepted", Leans.EITHER),
    "ReferenceGrant": ("cross-namespace references are read as not granted (GW-2)", Leans.MAY_ALLOW_MORE),
}

# What a group holds, for the one-line note when the API server does not serve it.
GROUP_HOLDS: dict[str, str] = {
    "cilium.io": "Cilium policies",
    "security.istio.io": "Istio policies",
    "networking.istio.io": "Istio traffic objects (ServiceEntries, Sidecars, Gateways, VirtualServices)",
    "gateway.networking.k8s.io": "Gateway API objects",
    "policy.networking.k8s.io": "AdminNetworkPolicies or ClusterNetworkPolicies",
    "route.openshift.io": "OpenShift Routes",
    "networking.k8s.io": "NetworkPolicies or Ingresses",
    "apps": "Deployments, ReplicaSets, StatefulSets or DaemonSets",
    "batch": "Jobs or CronJobs",
}


def _meaning(group: str, kind: str, modelled: bool) -> tuple[str, Leans | None]:
    if not modelled:
        opens = OPENS_TRAFFIC[(group, kind)]
        return (f"what {opens.product} lets through with them is not even reported ({opens.opens.how})",
                opens.leans)
    if kind in _MEANING:
        return _MEANING[kind]
    if group in ("projectcalico.org", "crd.projectcalico.org") and kind.startswith("Staged"):
        return "staged policies are never enforced: nothing changes", None
    if group in (CALICO_API, CALICO_STORAGE) and kind == "HostEndpoint":
        return "host endpoints are not modelled: nothing changes", None
    return _POLICIES


def wanted_kinds() -> list[Wanted]:
    """Every kind a live read lists, modelled kinds first, in the registry's order."""
    out: list[Wanted] = []
    first: dict[str, str] = {}  # kind → the group whose kind of that name is written bare

    def shown(group: str, kind: str) -> str:
        if group == CALICO_STORAGE and first.get(kind) == CALICO_API:
            return kind  # read only when projectcalico.org is not: never both
        if first.setdefault(kind, group) != group:
            return f"{kind}.{group}"
        return kind

    for (group, registered), dialect in REGISTRY.items():
        kind = str(registered)  # the workload kinds are registered as WorkloadKind members
        if (group, kind) in _NOT_LISTED:
            continue
        missing, leans = _meaning(group, kind, True)
        out.append(Wanted(group, kind, dialect.versions, True, missing, leans, shown(group, kind)))
    for group, kind in OPENS_TRAFFIC:
        if (group, kind) not in REGISTRY:
            missing, leans = _meaning(group, kind, False)
            out.append(Wanted(group, kind, (), False, missing, leans, shown(group, kind)))
    return out


def namespaced_kind(group: str, kind: str) -> bool | None:
    """Whether kubeward's registry says ``kind`` is namespaced (None: a kind it does not know)."""
    dialect = REGISTRY.get((group, kind))
    return dialect.namespaced if dialect is not None else None
