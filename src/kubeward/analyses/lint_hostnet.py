"""Policies whose selector picks only hostNetwork pods (NP-25): a diagnostic of the analysis, so
every command (``map``, ``explain``, ``check``) carries it, and ``lint`` turns it into the finding
``policy-selects-host-network`` instead of "matches no workload; fix the selector's labels".

A hostNetwork pod shares its node's network namespace: no pod or namespace selector picks it, as
subject or as peer, and its traffic is its node's. A policy that only such pods would match
changes nothing, and the fix is not in its labels."""

from __future__ import annotations

from ..diagnostics import Diagnostics
from ..engine.engine import Engine
from ..engine.universe import Identity
from ..ir import Policy

HOST_NETWORK_CODE = "policy-selects-host-network"
_MESH_KINDS = frozenset({"AuthorizationPolicy", "PeerAuthentication"})  # the mesh reports its own (IST-3)


def _selects_ignoring_np25(engine: Engine, policy: Policy, ident: Identity) -> bool:
    """Whether the policy's selector would pick this identity if hostNetwork pods were pods."""
    u = engine.universe
    subject = policy.subject
    if subject.namespace is not None and ident.namespace != subject.namespace:
        return False
    if policy.selector_expr is not None:  # Calico: the selector reads Calico's labels (CAL-4)
        return policy.selector_expr.matches(u._calico_labels(ident))
    if subject.namespace is None and subject.namespace_selector is not None:
        ns = engine.cluster.namespaces.get(ident.namespace)
        if not subject.namespace_selector.matches(ns.labels if ns is not None else {}):
            return False
    return subject.pod_selector.matches(dict(u._selectable_labels(ident)))


def host_network_only(engine: Engine, policy: Policy) -> list[str]:
    """The hostNetwork workloads the policy's selector names when it selects no other pod
    (NP-25); empty when it selects a pod, or nothing at all."""
    if policy.rejected or policy.ref.kind in _MESH_KINDS or engine.subject_masks.get(id(policy), 0):
        return []
    u = engine.universe
    return sorted(w.id for ident in u.identities if ident.host_network and _selects_ignoring_np25(engine, policy, ident)
                  for w in ident.workloads)


def check_host_network_subjects(engine: Engine, diags: Diagnostics) -> None:
    """A warning on each enforced policy whose selector matches only hostNetwork pods (NP-25)."""
    if not engine.universe.host_mask:
        return
    enforced = engine.options.enforced_kinds
    for p in engine.cluster.policies:
        if p.ref.kind not in enforced:
            continue
        names = host_network_only(engine, p)
        if names:
            selector = f" ({p.subject.pod_selector})" if p.selector_expr is None else ""
            diags.warning(HOST_NETWORK_CODE, f"{p.ref.display}: its selector{selector} selects only hostNetwork pods "
                          f"({', '.join(names)}), which policies do not govern (NP-25): it changes nothing",
                          p.ref.file, p.ref.line, p.ref)
