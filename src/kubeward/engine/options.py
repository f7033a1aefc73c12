"""Choices where implementations disagree: named, documented, shown in traces."""

from __future__ import annotations

from dataclasses import dataclass

CNI_CHOICES = ("auto", "generic", "cilium", "calico", "flannel", "none")
# Which policy kinds each CNI enforces (by IR PolicyRef.kind).
ENFORCED: dict[str, frozenset[str]] = {
    "generic": frozenset({"NetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy"}),
    "cilium": frozenset({"NetworkPolicy", "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"}),
    "calico": frozenset({"NetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy",
                         "CalicoNetworkPolicy", "GlobalNetworkPolicy"}),
    "flannel": frozenset(),
    "none": frozenset(),
}


@dataclass(frozen=True, slots=True)
class Options:
    # --cni: which implementation's semantics decide. "generic" = upstream Kubernetes semantics.
    cni: str = "auto"
    # NP-18: whether an ipBlock matches pod IPs. None: as the CNI does it (generic and calico:
    # yes, when the pod's IP is known; cilium: no).
    ipblock_matches_pods: bool | None = None
    # NP-7: a single-pod workload reaching itself is always allowed; list it in maps?
    include_self: bool = False
    # ING-6: the workload whose pods are the ingress controller (default: found by the
    # ingress-nginx chart's labels, else a documented stand-in).
    ingress_controller: str | None = None
    # The service mesh: auto (istio when Istio policies are in the input), istio, none.
    mesh: str = "auto"
    root_namespace: str = "istio-system"  # IST-4: mesh-wide policies live here
    trust_domain: str = "cluster.local"    # principals: <trust-domain>/ns/<ns>/sa/<sa>

    @property
    def ipblocks_match_pods(self) -> bool:
        if self.ipblock_matches_pods is not None:
            return self.ipblock_matches_pods
        return self.cni != "cilium"

    @property
    def enforced_kinds(self) -> frozenset[str]:
        return ENFORCED.get(self.cni, ENFORCED["generic"])

    def describe(self) -> list[str]:
        return [
            f"cni={self.cni}",
            f"ipblock-matches-pods={'yes' if self.ipblocks_match_pods else 'no'}",
            f"self-traffic={'listed' if self.include_self else 'omitted'}",
        ] + ([f"ingress-controller={self.ingress_controller}"] if self.ingress_controller else []) + (
            [f"mesh={self.mesh}"] if self.mesh == "istio" else [])
