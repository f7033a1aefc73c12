"""Calico staged policies (CAL-23): StagedNetworkPolicy, StagedGlobalNetworkPolicy and
StagedKubernetesNetworkPolicy, read as the policy they stage (with the Calico or the Kubernetes
NetworkPolicy reader) and marked with their ``stagedAction``. Calico never enforces them; the
engine sets them aside unless the profile says ``--enforce-staged`` (engine/staging.py)."""

from __future__ import annotations

from dataclasses import replace

from ..diagnostics import Diagnostics
from ..ir import Policy, StagedAction
from ..loader import LMap, RawObject
from ..model import Cluster
from ._reader import Reader
from .calico import parse_calico_policy
from .networkpolicy import parse_network_policy

# The kind each staged kind stages (by IR PolicyRef.kind): Set replaces, Delete removes, the
# enforced policy of that kind, namespace and name (CAL-23).
STAGES = {"StagedNetworkPolicy": "CalicoNetworkPolicy", "StagedGlobalNetworkPolicy": "GlobalNetworkPolicy",
          "StagedKubernetesNetworkPolicy": "NetworkPolicy"}


def parse_staged_policy(obj: RawObject, cluster: Cluster, diags: Diagnostics) -> Policy | None:
    """The staged policy, or None when its stagedAction is one kubeward does not model."""
    r = Reader(obj, diags)
    spec = obj.data.get("spec")
    raw = spec.get("stagedAction") if isinstance(spec, LMap) else None
    line = spec.line_of("stagedAction") if isinstance(spec, LMap) and raw is not None else obj.line
    if raw is None or raw == "Set":
        action = StagedAction.SET  # CAL-23: Set is the default
    elif raw == "Delete":
        action = StagedAction.DELETE
    elif raw in ("Learn", "Ignore"):
        # Calico Enterprise's policy-recommendation states: nothing would be enforced.
        r.info("not-modelled", f"{obj.kind} {obj.name}: spec.stagedAction {raw} (policy recommendation) is "
               "not modelled; the policy is left out, even with --enforce-staged (CAL-23)", line)
        return None
    else:
        r.error("invalid-value", f"spec.stagedAction {raw!r} is none of Set, Delete, Learn, Ignore: the API "
                "server refuses the object; it is left out (CAL-23)", line)
        return None
    if obj.kind == "StagedKubernetesNetworkPolicy":
        policy: Policy | None = parse_network_policy(obj, diags)
    else:
        policy = parse_calico_policy(obj, cluster, diags, obj.kind == "StagedGlobalNetworkPolicy")
    return replace(policy, staged=action) if policy is not None else None


__all__ = ["parse_staged_policy", "STAGES"]
