"""CNI profiles: which policies a cluster's CNI enforces, and how (CIL-1, CIL-24, NP-18).

``auto`` picks the profile from the input: Cilium policies → cilium; Calico resources → calico;
both → a diagnostic asking for a choice, analysed as generic (Kubernetes policies only) so
that the report stays useful.
"""

from __future__ import annotations

from dataclasses import replace

from ..diagnostics import Diagnostics, Leans, Severity
from ..model import Cluster, ObjectRef
from .options import Cni, Mesh, Options

CILIUM_KINDS = ("CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy")
CALICO_GROUPS = ("projectcalico.org", "crd.projectcalico.org")
CALICO_KINDS = ("CalicoNetworkPolicy", "GlobalNetworkPolicy")


def resolve_cni(cluster: Cluster, options: Options, diags: Diagnostics) -> Options:
    cilium = [p.ref for p in cluster.policies if p.ref.kind in CILIUM_KINDS]
    calico = [f"{p.ref.where}" for p in cluster.policies + cluster.staged
              if p.ref.kind in CALICO_KINDS or p.staged is not None] + [
        n.first.where for n in cluster.not_modelled if n.api_version.split("/")[0] in CALICO_GROUPS]
    cni = options.cni
    if cni == Cni.AUTO:
        if cilium and calico:
            diags.warning("cni-ambiguous",
                          f"the input has Cilium policies ({cilium[0].where}) and Calico resources "
                          f"({calico[0]}); no cluster runs both: analysed with the generic profile "
                          "(Kubernetes policies only). Choose with --cni cilium or --cni calico",
                          cilium[0].file, cilium[0].line, leans=Leans.EITHER)
            cni = Cni.GENERIC
        elif cilium:
            cni = Cni.CILIUM
            diags.info("cni-auto", f"--cni auto: Cilium policies in the input ({cilium[0].where}): the cilium profile")
        elif calico:
            cni = Cni.CALICO
            diags.info("cni-auto", f"--cni auto: Calico resources in the input ({calico[0]}): the calico "
                       "profile (Calico's tiers, with the Kubernetes policies in its default tier)")
        else:
            cni = Cni.GENERIC
    mesh = options.mesh
    if mesh == Mesh.AUTO:
        istio = [p.ref for p in cluster.mesh.peer_authentications] + \
            [p.ref for p in cluster.mesh.authorization_policies] + \
            [e.ref for e in cluster.mesh.service_entries] + [c.ref for c in cluster.mesh.sidecars] + \
            [ref for _, ref in cluster.mesh.outbound.values()]  # IST-28 … IST-30: egress control
        mesh = Mesh.ISTIO if istio else Mesh.NONE
        if istio:
            diags.info("mesh-auto", f"--mesh auto: Istio policies in the input ({istio[0].where}): the istio "
                       "mesh layer is evaluated")
    resolved = replace(options, cni=cni, mesh=mesh)
    enforced = resolved.enforced_kinds
    # The input errors of policies this CNI does not enforce are not the user's to fix now.
    ignored = [p.ref for p in cluster.policies if p.ref.kind not in enforced]
    if ignored:
        diags.downgrade(ignored, Severity.INFO, f"not enforced under --cni {cni}")
    if cni in (Cni.FLANNEL, Cni.NONE):
        if cluster.policies:
            first = cluster.policies[0].ref
            inert = tuple(dict.fromkeys(p.ref for p in cluster.policies))
            diags.warning("policies-inert", f"--cni {cni}: this CNI enforces no network policy: the "
                          f"{len({(p.ref.kind, p.ref.namespace, p.ref.name) for p in cluster.policies})} "
                          "policies in the input are INERT and every flow is allowed", first.file, first.line,
                          leans=Leans.MAY_DENY_MORE, related=inert)
        return resolved
    skipped: dict[str, dict[ObjectRef, None]] = {}
    for p in cluster.policies:
        if p.ref.kind not in enforced:
            skipped.setdefault(p.ref.kind, {})[p.ref] = None
    for kind, objects in sorted(skipped.items()):
        refs = tuple(objects)
        diags.info("not-enforced", f"{kind}: {len({r.where for r in refs})} object(s) not enforced under --cni {cni} "
                   f"(first at {refs[0].where})", related=refs)
    return resolved
