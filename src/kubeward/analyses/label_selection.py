"""What a relabel changes in what selectors select (issue 17): for each selector term that reads a
changed label, the workloads (or namespaces) it selected before and after, read from the two
analyses' engines — so a change that the connectivity map does not show (the traffic was denied
for another reason, or the policy kind is not enforced under the profile) is still named."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..engine.services import selected_workloads
from ..engine.universe import Universe
from ..ir import LabelSelector, ObjectRef, Policy
from ..model import AuthorizationPolicy, Cluster, PeerAuthentication
from .session import Analysis


@dataclass(frozen=True, slots=True)
class SelectionChange:
    """One selector (a policy's subject, a rule's peers, a Service's or an Istio policy's selector,
    a Gateway listener's namespaces) whose selection a relabel changes."""

    ref: ObjectRef
    where: str        # "subject", "ingress rule 0", "selector", "listener http"
    role: str         # a labels.Role value
    line: int
    lost: tuple[str, ...]    # workloads (ns/name) or namespaces it no longer selects
    gained: tuple[str, ...]  # … it now selects
    enforced: bool    # False: the profile does not enforce this kind (it changes nothing now)

    def to_json(self) -> dict[str, object]:
        return {"kind": self.ref.kind, "namespace": self.ref.namespace, "name": self.ref.name,
                "file": self.ref.file, "line": self.line, "where": self.where, "role": self.role,
                "lost": list(self.lost), "gained": list(self.gained), "enforced": self.enforced}


def _members(u: Universe, mask: int) -> frozenset[str]:
    return frozenset(w.id for ident in u.identities if mask >> ident.index & 1 for w in ident.workloads
                     if not w.assumed)


def _picked(cluster: Cluster, selector: LabelSelector, namespace: str, root: str) -> list[str]:
    """The workloads an Istio policy's selector picks: in its namespace, or anywhere from the root namespace."""
    return [w.id for w in cluster.workloads if not w.assumed and selector.matches(w.labels)
            and namespace in (w.namespace, root)]


def _subject(a: Analysis, p: Policy) -> frozenset[str]:
    """The workloads a policy applies to (also when the profile does not enforce its kind)."""
    u = a.engine.universe
    mask = a.engine.subject_masks.get(id(p))
    if mask is None:
        mask = u.calico_subject_mask(p.selector_expr, p.subject.namespace) if p.selector_expr is not None \
            else u.subject_mask(p.subject)
    return _members(u, mask)


def _key(ref: ObjectRef) -> tuple[str, str, str, str, int]:
    return (ref.kind, ref.namespace, ref.name, ref.file, ref.line)


def selection_changes(old: Analysis, new: Analysis, reads: Callable[[ObjectRef], bool]) -> list[SelectionChange]:
    """The selections that differ between ``old`` and ``new`` (the same input, relabelled), among
    the objects ``reads`` says read a changed label."""
    out: list[SelectionChange] = []

    def add(ref: ObjectRef, where: str, role: str, line: int, before: Iterable[str], after: Iterable[str],
            enforced: bool) -> None:
        b, a = set(before), set(after)
        if a != b:
            out.append(SelectionChange(ref, where, role, line, tuple(sorted(b - a)), tuple(sorted(a - b)), enforced))

    ou, nu = old.engine.universe, new.engine.universe
    enforced_kinds = old.options.enforced_kinds
    news: dict[tuple[str, str, str, str, int], Policy] = {_key(p.ref): p for p in new.cluster.policies}
    for p in old.cluster.policies:
        q = news.get(_key(p.ref))
        if q is None or not reads(p.ref):
            continue
        on = p.ref.kind in enforced_kinds
        add(p.ref, "subject", "subject", p.ref.line, _subject(old, p), _subject(new, q), on)
        for r, s in zip((*p.ingress, *p.egress), (*q.ingress, *q.egress), strict=False):
            if r.peers:
                add(p.ref, r.label, "peer", r.line or p.ref.line, _members(ou, ou.peers_mask(r.peers)),
                    _members(nu, nu.peers_mask(s.peers)), on)
    for svc in old.cluster.services:
        ref = ObjectRef("Service", svc.namespace, svc.name, svc.origin.file, svc.origin.line)
        if svc.selector and reads(ref):
            after = next((s for s in new.cluster.services if (s.namespace, s.name) == (svc.namespace, svc.name)), None)
            add(ref, "selector", "service-selector", ref.line, (w.id for w in selected_workloads(old.cluster, svc)),
                (w.id for w in selected_workloads(new.cluster, after)) if after is not None else (), True)
    mesh_on = old.options.mesh == "istio"
    root = old.options.root_namespace
    meshes: list[AuthorizationPolicy | PeerAuthentication] = [*old.cluster.mesh.authorization_policies,
                                                              *old.cluster.mesh.peer_authentications]
    for ap in meshes:
        if ap.selector is not None and reads(ap.ref):
            add(ap.ref, "selector", "subject", ap.ref.line, _picked(old.cluster, ap.selector, ap.ref.namespace, root),
                _picked(new.cluster, ap.selector, ap.ref.namespace, root), mesh_on)
    for gw in old.cluster.entry.gateways:
        if not reads(gw.ref):
            continue
        for listener in gw.listeners:
            if listener.allowed_selector is not None:
                sel = listener.allowed_selector
                add(gw.ref, f"listener {listener.name}", "route-namespaces", listener.line or gw.ref.line,
                    (n for n, ns in old.cluster.namespaces.items() if sel.matches(ns.labels)),
                    (n for n, ns in new.cluster.namespaces.items() if sel.matches(ns.labels)), True)
    return out
