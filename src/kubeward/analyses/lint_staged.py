"""Lint of staged, dry-run and audited policies: the traps of rolling policies out safely (CAL-24,
IST-41, CIL-32)."""

from __future__ import annotations

from collections.abc import Iterable

from ..dialects.staged import STAGES
from ..engine.options import Cni
from ..ir import Direction, ObjectRef, Policy, TierEnd
from ..model import AuthorizationPolicy, MeshAction
from .explain import enforced_analysis
from .lint import RULES, Finding, policy_finding
from .session import Analysis


def staged_findings(analysis: Analysis) -> Iterable[Finding]:
    yield from _staged_switches_tier_on(analysis)
    yield from _dry_run(analysis)
    yield from _audit_mode(analysis)


def _staged_switches_tier_on(analysis: Analysis) -> Iterable[Finding]:
    """CAL-24: a tier only staged policies make apply to an endpoint: today skipped (its end-of-tier
    Deny suppressed), once they are enforced the tier's end denies what they leave undecided."""
    if analysis.options.cni != Cni.CALICO or analysis.options.enforce_staged or not analysis.cluster.staged:
        return
    enforced = enforced_analysis(analysis)
    today_ids = analysis.engine.universe.identities
    by_ref = {p.ref: p for p in enforced.cluster.policies if p.ref.kind in STAGES}
    found: dict[tuple[ObjectRef, str, Direction], list[str]] = {}
    for ident in enforced.engine.universe.identities:
        today = today_ids[ident.index] if ident.index < len(today_ids) else None
        if today is None or [w.id for w in today.workloads] != [w.id for w in ident.workloads]:
            continue
        for direction in Direction:
            applying = {t.name for t in analysis.engine.side(today, direction).named_tiers}
            for tier in enforced.engine.side(ident, direction).named_tiers:
                if tier.end is not TierEnd.DENY or tier.name in applying:
                    continue
                if tier.policies and all(ref.kind in STAGES for ref in tier.policies):
                    for ref in tier.policies:
                        found.setdefault((ref, tier.name, direction), []).extend(w.id for w in ident.workloads)
    for (ref, tier_name, direction), workloads in found.items():
        policy = by_ref.get(ref)
        if policy is None:
            continue
        names = ", ".join(sorted(set(workloads)))
        toward = "from" if direction is Direction.INGRESS else "to"
        yield policy_finding(
            "staged-policy-ends-tier", policy,
            f"{policy.ref.display} is the only policy of tier {tier_name} that selects {names} for "
            f"{direction.value}: today the tier is skipped for them (no enforced policy there, so its end-of-tier "
            f"Deny does not run); once the staged policy is enforced, everything it does not allow {toward} them "
            "is denied at the end of the tier (CAL-24)")


def _dry_run(analysis: Analysis) -> Iterable[Finding]:
    """IST-41: a dry-run AuthorizationPolicy protects nothing."""
    for ap in analysis.cluster.mesh.dry_run if not analysis.options.enforce_staged else ():
        yield _mesh_finding(ap, f"{ap.ref.display} has istio.io/dry-run: \"true\": istiod only logs what it would "
                            f"decide; its {ap.action.value} rules are not enforced (IST-40, IST-41)"
                            + ("; the requests it names are allowed" if ap.action is MeshAction.DENY else ""))


def _mesh_finding(ap: AuthorizationPolicy, message: str) -> Finding:
    rule = RULES["dry-run-policy"]
    return Finding("dry-run-policy", rule.severity, message, ap.ref.kind, ap.ref.namespace, ap.ref.name,
                   ap.ref.file, ap.ref.line, rule.fix)


def _audit_mode(analysis: Analysis) -> Iterable[Finding]:
    """CIL-32: policy audit mode on where policies select workloads: none of them is enforced."""
    options = analysis.options
    if options.cni != Cni.CILIUM or not options.cilium_audit:
        return
    engine = analysis.engine
    first_of: dict[str, list[str]] = {}
    policies: dict[str, Policy] = {}
    for p in analysis.cluster.policies:
        if p.ref.kind in options.enforced_kinds and not p.rejected and engine.subject_masks.get(id(p), 0):
            first_of.setdefault(p.ref.namespace, []).append(p.ref.display)
            policies.setdefault(p.ref.namespace, p)
    for ns, names in sorted(first_of.items()):
        unique = list(dict.fromkeys(names))
        where = f"namespace {ns}" if ns else "the cluster"
        yield policy_finding("cilium-audit-mode", policies[ns],
                             f"policy audit mode is on (--cilium-audit) and {len(unique)} polic"
                             f"{'y selects' if len(unique) == 1 else 'ies select'} workloads in {where} "
                             f"({', '.join(unique[:3])}{', …' if len(unique) > 3 else ''}): what they deny is only "
                             "logged (AUDIT), never dropped (CIL-31, CIL-32)")


__all__ = ["staged_findings"]
