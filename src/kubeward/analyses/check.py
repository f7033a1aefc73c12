"""`check`: inventory, diagnostics and a connectivity summary of the whole input."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..diagnostics import Diagnostic, Severity
from ..engine.trace import StepTier
from ..errors import UsageError
from ..ir import Direction, Tier
from ..model import NotModelled
from .connectivity_map import ConnectivityMap, connectivity_map
from .lint import FROM_DIAGNOSTICS, Finding, aggregate, lint
from .session import Analysis, unknown_namespaces
from .testsuite import SuiteRun


@dataclass(frozen=True, slots=True)
class Protection:
    """How one workload is covered by policies, per direction."""

    workload: str
    ingress_isolated_by: tuple[str, ...]
    egress_isolated_by: tuple[str, ...]
    admin_policies: tuple[str, ...]
    host_network: bool

    def to_json(self) -> dict[str, object]:
        return {"workload": self.workload, "ingressIsolatedBy": list(self.ingress_isolated_by),
                "egressIsolatedBy": list(self.egress_isolated_by),
                "clusterPolicies": list(self.admin_policies), "hostNetwork": self.host_network}


@dataclass(slots=True)
class CheckReport:
    """What `check` reports: inventory, diagnostics, lint findings, protection per workload, the
    connectivity map and the TestSuite results; ``exit_code`` is the command's."""

    kinds: dict[str, int]
    namespaces: list[tuple[str, bool]]
    workloads: int
    assumed: list[str]
    policies: dict[str, int]
    not_modelled: list[NotModelled]
    diagnostics: list[Diagnostic]
    protection: list[Protection]
    map: ConnectivityMap
    options: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # lint, with fixes
    tests: SuiteRun | None = None  # the TestSuite (tests.yaml) found among the input
    focus: tuple[str, ...] = ()  # the namespaces and workloads the connectivity summary is cut to

    @property
    def input_problems(self) -> list[Diagnostic]:
        """Diagnostics about the input itself; the traps lint reports as findings are not repeated."""
        return [d for d in self.diagnostics if d.code not in FROM_DIAGNOSTICS]

    @property
    def exit_code(self) -> int:
        """2: input errors; 1: warnings, a warning or error finding, or a failing test; 0: clean
        (info notes do not count)."""
        if any(d.severity is Severity.ERROR for d in self.input_problems):
            return 2
        if self.tests is not None and (self.tests.problems or self.tests.analysis.diagnostics.has_errors):
            return 2
        if any(d.severity is Severity.WARNING for d in self.diagnostics) or \
                any(f.severity in ("warning", "error") for f in self.findings) or \
                (self.tests is not None and self.tests.result.failed):
            return 1
        return 0

    @property
    def workload_connections(self) -> int:
        """Workload pairs that allow something (a grouped map's connections expanded)."""
        return self.map.workload_pairs()

    @property
    def exposed_to_networks(self) -> list[str]:
        return sorted({w for c in self.map.connections if self.map.outside(c.src) for w in self.map.members(c.dst)})

    @property
    def reaching_networks(self) -> list[str]:
        return sorted({w for c in self.map.connections if self.map.outside(c.dst) for w in self.map.members(c.src)})

    def to_json(self) -> dict[str, object]:
        return {
            "schema": 1,
            "options": self.options,
            "inventory": {
                "kinds": dict(sorted(self.kinds.items())),
                "namespaces": [{"name": n, "defined": d} for n, d in self.namespaces],
                "workloads": self.workloads,
                "assumedWorkloads": self.assumed,
                "policies": dict(sorted(self.policies.items())),
                "notModelled": [{"kind": n.kind, "apiVersion": n.api_version, "count": n.count,
                                 "file": n.first.file, "line": n.first.line} for n in self.not_modelled],
            },
            "diagnostics": [d.to_json() for d in self.diagnostics],
            "findings": [f.to_json() for f in self.findings],
            "tests": None if self.tests is None else {"options": self.tests.analysis.options.describe(),
                                                      "problems": self.tests.problems,
                                                      **{k: v for k, v in self.tests.result.to_json().items()
                                                         if k != "schema"}},
            "protection": [p.to_json() for p in self.protection],
            "connectivity": {
                **({"focus": list(self.focus)} if self.focus else {}),
                "workloadConnections": self.workload_connections,
                "reachableFromNetworks": self.exposed_to_networks,
                "reachingNetworks": self.reaching_networks,
            },
            "exitCode": self.exit_code,
        }


def check(analysis: Analysis, tests: SuiteRun | None = None, *, namespaces: Sequence[str] = (),
          workloads: Sequence[str] = ()) -> CheckReport:
    """Inventory, findings and connectivity summary of ``analysis``; ``tests``: a TestSuite run to
    include; ``namespaces``/``workloads`` (``ns/name``): the connectivity summary of what has an end
    in them only (a workload named as kubectl users do: ``deploy/web``, ``web`` with one namespace,
    issue 17). Raises ``UsageError`` when one is not in the input."""
    from .names import resolve_workload

    cluster = analysis.cluster
    engine = analysis.engine
    unknown = unknown_namespaces(analysis, namespaces)
    if unknown:
        known = ", ".join(sorted(cluster.namespaces)) or "none"
        raise UsageError(f"--namespace {', '.join(unknown)}: not in the input (namespaces: {known})")
    default_ns = namespaces[0] if len(namespaces) == 1 else None
    workloads = [resolve_workload(cluster, w, default_ns).workload.id for w in workloads]
    cmap = connectivity_map(analysis, namespaces, workloads=workloads, grouped=True)
    protection: list[Protection] = []
    for w in cluster.workloads:
        idents = engine.universe.identities_of.get(w.id, [])
        if not idents:
            continue
        ident = idents[0]
        ing = engine.side(ident, Direction.INGRESS)
        eg = engine.side(ident, Direction.EGRESS)
        admin = sorted({r.policy.display for side in (ing, eg)
                        for r in (*side.rules_in(StepTier.ADMIN), *side.rules_in(StepTier.BASELINE))})
        protection.append(Protection(
            w.id, tuple(p.display for p in ing.isolating), tuple(p.display for p in eg.isolating),
            tuple(admin), w.host_network))
    policies: dict[str, int] = {}
    enforced = analysis.options.enforced_kinds
    for p in {(p.ref.kind, p.ref.namespace, p.ref.name) for p in cluster.policies if p.ref.kind in enforced}:
        policies[p[0]] = policies.get(p[0], 0) + 1
    return CheckReport(
        kinds=dict(cluster.kinds),
        namespaces=[(n.name, n.origin is not None) for n in sorted(cluster.namespaces.values(), key=lambda n: n.name)],
        workloads=sum(1 for w in cluster.workloads if not w.assumed),
        assumed=[w.id for w in cluster.workloads if w.assumed],
        policies=policies,
        not_modelled=list(cluster.not_modelled),
        diagnostics=analysis.diagnostics.sorted(),
        protection=protection,
        map=cmap,
        focus=(*namespaces, *workloads),
        options=analysis.options.describe(),
        # lint reads the whole map (a focused one would hide other namespaces' DNS egress)
        findings=aggregate(lint(analysis, cmap if not (namespaces or workloads) else None).findings),
        tests=tests,
    )


__all__ = ["check", "CheckReport", "Protection", "Tier"]
