"""Choices where implementations disagree: named, documented, shown in traces."""

from __future__ import annotations

from dataclasses import dataclass

CNI_CHOICES = ("generic",)


@dataclass(frozen=True, slots=True)
class Options:
    # --cni: which implementation's semantics decide. "generic" = upstream Kubernetes semantics.
    cni: str = "generic"
    # NP-18: whether an ipBlock matches pod IPs. generic: yes, when the pod's IP is known.
    ipblock_matches_pods: bool = True
    # NP-7: a single-pod workload reaching itself is always allowed; list it in maps?
    include_self: bool = False
    # ING-6: the workload whose pods are the ingress controller (default: found by the
    # ingress-nginx chart's labels, else a documented stand-in).
    ingress_controller: str | None = None

    def describe(self) -> list[str]:
        return [
            f"cni={self.cni}",
            f"ipblock-matches-pods={'yes' if self.ipblock_matches_pods else 'no'}",
            f"self-traffic={'listed' if self.include_self else 'omitted'}",
        ] + ([f"ingress-controller={self.ingress_controller}"] if self.ingress_controller else [])
