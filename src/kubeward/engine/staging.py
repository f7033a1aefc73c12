"""Staged and dry-run policies (CAL-23, IST-40): set aside, or enforced under ``--enforce-staged``.

Calico never enforces a staged policy and istiod builds a dry-run AuthorizationPolicy as a shadow
rule: today's answers leave them out. ``--enforce-staged`` analyses the cluster as it would be once
they are enforced: a staged ``Set`` replaces the enforced policy of the same kind, namespace and
name (or adds it), a staged ``Delete`` removes it; a dry-run AuthorizationPolicy is enforced."""

from __future__ import annotations

from ..diagnostics import Diagnostics
from ..dialects.staged import STAGES
from ..ir import Policy, StagedAction
from ..model import Cluster
from .options import Options


def stage(cluster: Cluster, options: Options, diags: Diagnostics) -> None:
    """Set the staged and dry-run policies aside, or (``options.enforce_staged``) enforce them."""
    staged = [p for p in cluster.policies if p.staged is not None]
    dry_run = [p for p in cluster.mesh.authorization_policies if p.dry_run]
    if not staged and not dry_run:
        return
    cluster.mesh.dry_run = dry_run
    cluster.staged = staged
    if not options.enforce_staged:
        cluster.policies = [p for p in cluster.policies if p.staged is None]
        cluster.mesh.authorization_policies = [p for p in cluster.mesh.authorization_policies if not p.dry_run]
        for p in staged:
            diags.info("staged-policy", f"{p.ref.display}: a staged policy ({p.staged} "
                       f"{STAGES[p.ref.kind]} {p.ref.name}), which Calico never enforces: left out; "
                       "--enforce-staged analyses it as enforced (CAL-23)", p.ref.file, p.ref.line, p.ref)
        for ap in dry_run:
            diags.info("dry-run", f"{ap.ref.display}: istio.io/dry-run: istiod logs its decisions, never "
                       "enforces them: left out; --enforce-staged analyses it as enforced (IST-40)",
                       ap.ref.file, ap.ref.line)
        return
    cluster.policies = enforce(cluster.policies, staged)


def staged_target(policy: Policy) -> tuple[str, str, str]:
    """The enforced policy a staged one stands for: (IR kind, namespace, name)."""
    return STAGES[policy.ref.kind], policy.ref.namespace, policy.ref.name


def enforce(policies: list[Policy], staged: list[Policy]) -> list[Policy]:
    """CAL-23: ``policies`` as they are once the staged ones are enforced."""
    replaced = {staged_target(p) for p in staged}
    kept = [p for p in policies if p.staged is None
            and (p.ref.kind, p.ref.namespace, p.ref.name) not in replaced]
    return kept + [p for p in staged if p.staged is StagedAction.SET]


__all__ = ["stage", "enforce", "staged_target"]
