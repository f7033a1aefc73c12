"""Choices where implementations disagree: named, documented, shown in traces."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Cni(enum.StrEnum):
    """``--cni``: whose semantics decide which policies are enforced, and how."""

    AUTO = "auto"        # from the input (engine/profiles.py)
    GENERIC = "generic"  # upstream Kubernetes semantics
    CILIUM = "cilium"
    CALICO = "calico"
    FLANNEL = "flannel"  # enforces no policy
    NONE = "none"        # no CNI policy enforcement at all


class Mesh(enum.StrEnum):
    """``--mesh``: the service mesh layer evaluated after the CNI."""

    AUTO = "auto"    # istio when Istio policies are in the input
    ISTIO = "istio"
    NONE = "none"


class MeshOutbound(enum.StrEnum):
    """``--mesh-outbound``: the mesh-wide outboundTrafficPolicy (IST-30), over the istio ConfigMap's."""

    ALLOW_ANY = "allow-any"
    REGISTRY_ONLY = "registry-only"


MESH_OUTBOUND_CHOICES = tuple(m.value for m in MeshOutbound)
CNI_CHOICES = tuple(c.value for c in Cni)
MESH_CHOICES = tuple(m.value for m in Mesh)
# Which policy kinds each CNI enforces (by IR PolicyRef.kind).
ENFORCED: dict[Cni, frozenset[str]] = {
    Cni.GENERIC: frozenset({"NetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy",
                            "ClusterNetworkPolicy"}),
    Cni.CILIUM: frozenset({"NetworkPolicy", "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"}),
    Cni.CALICO: frozenset({"NetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy",
                           "ClusterNetworkPolicy", "CalicoNetworkPolicy", "GlobalNetworkPolicy",
                           # CAL-23: in the analysis only with --enforce-staged (engine/staging.py)
                           "StagedNetworkPolicy", "StagedGlobalNetworkPolicy", "StagedKubernetesNetworkPolicy"}),
    Cni.FLANNEL: frozenset(),
    Cni.NONE: frozenset(),
}


@dataclass(frozen=True, slots=True, init=False)
class Options:
    """The analysis profile: the choices where implementations disagree.

    ``cni`` and ``mesh`` accept the enum or its string value (``Options(cni="cilium")``); an
    unknown value raises ``ValueError``. Every field is what the command-line option of the same
    name sets."""

    # --cni: which implementation's semantics decide. "generic" = upstream Kubernetes semantics.
    cni: Cni
    # NP-18: whether an ipBlock matches pod IPs. None: as the CNI does it (generic and calico:
    # yes, when the pod's IP is known; cilium: no).
    ipblock_matches_pods: bool | None
    # NP-7: a single-pod workload reaching itself is always allowed; list it in maps?
    include_self: bool
    # ING-6: the workload whose pods are the ingress controller (default: found by the
    # ingress-nginx chart's labels, else a documented stand-in).
    ingress_controller: str | None
    # The service mesh: auto (istio when Istio policies are in the input), istio, none.
    mesh: Mesh
    root_namespace: str  # IST-4: mesh-wide policies live here
    trust_domain: str    # principals: <trust-domain>/ns/<ns>/sa/<sa>
    # IST-30: the mesh-wide outbound policy; None: the istio ConfigMap's, else allow-any.
    mesh_outbound: MeshOutbound | None
    # ING-9: the ingress controller serves Ingresses without a class (ingress-nginx's
    # --watch-ingress-without-class); by default it ignores them.
    watch_ingress_without_class: bool
    # CAL-23, IST-40: analyse as if Calico's staged policies and Istio's dry-run policies were enforced.
    enforce_staged: bool
    # CIL-31: the Cilium agent's policy-audit-mode: policy drops are logged, the traffic allowed.
    cilium_audit: bool

    def __init__(self, cni: Cni | str = Cni.AUTO, ipblock_matches_pods: bool | None = None,
                 include_self: bool = False, ingress_controller: str | None = None,
                 mesh: Mesh | str = Mesh.AUTO, root_namespace: str = "istio-system",
                 trust_domain: str = "cluster.local", watch_ingress_without_class: bool = False,
                 enforce_staged: bool = False, cilium_audit: bool = False,
                 mesh_outbound: MeshOutbound | str | None = None) -> None:
        set_field = object.__setattr__  # a frozen dataclass: fields are set once, here
        set_field(self, "cni", Cni(cni))
        set_field(self, "ipblock_matches_pods", ipblock_matches_pods)
        set_field(self, "include_self", include_self)
        set_field(self, "ingress_controller", ingress_controller)
        set_field(self, "mesh", Mesh(mesh))
        set_field(self, "root_namespace", root_namespace)
        set_field(self, "trust_domain", trust_domain)
        set_field(self, "watch_ingress_without_class", watch_ingress_without_class)
        set_field(self, "enforce_staged", enforce_staged)
        set_field(self, "cilium_audit", cilium_audit)
        set_field(self, "mesh_outbound", MeshOutbound(mesh_outbound) if mesh_outbound is not None else None)

    @property
    def ipblocks_match_pods(self) -> bool:
        if self.ipblock_matches_pods is not None:
            return self.ipblock_matches_pods
        return self.cni != Cni.CILIUM

    @property
    def enforced_kinds(self) -> frozenset[str]:
        return ENFORCED.get(self.cni, ENFORCED[Cni.GENERIC])

    def describe(self) -> list[str]:
        return [
            f"cni={self.cni}",
            f"ipblock-matches-pods={'yes' if self.ipblocks_match_pods else 'no'}",
            f"self-traffic={'listed' if self.include_self else 'omitted'}",
        ] + ([f"ingress-controller={self.ingress_controller}"] if self.ingress_controller else []) + (
            [f"mesh={self.mesh}"] if self.mesh == Mesh.ISTIO else []) + (
            [f"mesh-outbound={self.mesh_outbound}"] if self.mesh_outbound else []) + (
            ["ingress-without-class=served"] if self.watch_ingress_without_class else []) + (
            ["staged=enforced"] if self.enforce_staged else []) + (
            ["cilium-audit=on"] if self.cilium_audit and self.cni == Cni.CILIUM else [])
