"""`check` and `test` as one call each, from paths: load and analyse, find the TestSuites, run
them, and return a result that knows its exit code. (`diff` from paths: ``revisions.py``.)"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..diagnostics import Diagnostics
from ..engine.options import Options
from ..errors import UsageError
from ..loader import RawObject, load_paths
from .check import CheckReport, check
from .session import Analysis, analyse_input
from .testsuite import SuiteRun, is_suite, run_suites

if TYPE_CHECKING:  # the live package is imported only when a cluster is read
    from ..live import LiveSnapshot


def suites_in(analysis: Analysis) -> list[RawObject]:
    """The TestSuite documents (kubeward.dev/v1) found among the analysed input."""
    return [s for s in analysis.cluster.test_suites if isinstance(s, RawObject)]


def check_paths(paths: Sequence[str], *, options: Options | None = None, cluster: LiveSnapshot | None = None,
                namespaces: Sequence[str] = (), workloads: Sequence[str] = ()) -> CheckReport:
    """Inventory, lint findings, connectivity summary and the results of the TestSuites found among
    ``paths`` (what ``kubeward check`` reports); ``report.exit_code`` is the command's. With
    ``cluster`` (``read_cluster``): of the live cluster with ``paths`` overlaid. ``namespaces``,
    ``workloads``: the connectivity summary of what has an end in them (``UsageError`` when one is
    not in the input)."""
    options = options or Options()
    analysis = analyse_input(paths, options, cluster=cluster)
    suites = suites_in(analysis)
    tests = run_suites(paths, options, suites, analysis, cluster=cluster) if suites else None
    return check(analysis, tests, namespaces=namespaces, workloads=workloads)


def run_tests(paths: Sequence[str], *, options: Options | None = None, cases: str | None = None,
              cluster: LiveSnapshot | None = None) -> SuiteRun:
    """Run the TestSuite cases against ``paths`` without a cluster — or against the live
    ``cluster`` (``read_cluster``) with ``paths`` overlaid: the suites in the file ``cases``, else
    those found among ``paths``. Raises ``UsageError`` when there are none; the problems reading
    the cases are in ``run.problems``, and ``run.exit_code`` is the command's."""
    options = options or Options()
    suites: list[RawObject] | None = None
    if cases is not None:
        suites = [o for o in load_paths([cases], Diagnostics()) if is_suite(o)]
        if not suites:
            raise UsageError(f"{cases}: no TestSuite (apiVersion kubeward.dev/v1) in this file")
    analysis = analyse_input(paths, options, cluster=cluster)
    if suites is None:
        suites = suites_in(analysis)
    if not suites:
        raise UsageError("no test cases: give --cases FILE or put a TestSuite (tests.yaml) among PATHS")
    return run_suites(paths, options, suites, analysis, cluster=cluster)
