"""kubeward: what a Kubernetes network security configuration allows, and why.

The public API (docs/api.md) — every command of the CLI is a call here::

    from kubeward import Options, analyse_paths, connectivity_map, explain

    analysis = analyse_paths(["examples/shop"], Options(cni="generic"))
    print(explain(analysis, "shop/web", "shop/api", 8080).verdict.verdict)

- load and analyse: ``analyse_paths``, ``analyse_text``, ``analyse_objects`` → ``Analysis``,
  under ``Options`` (``Cni``, ``Mesh``); a live cluster: ``read_cluster`` → ``LiveSnapshot``,
  ``analyse_cluster`` (files overlaid with ``overlay=``);
- analyses of an ``Analysis``: ``explain``, ``connectivity_map`` (the CLI's ``map``: not
  exported as ``map``, which would shadow the builtin), ``check``, ``lint``, ``diff``;
- commands from paths: ``check_paths``, ``run_tests`` (both take ``cluster=`` a ``LiveSnapshot``),
  ``diff_paths``, ``diff_revisions``, ``diff_cluster``; their results know the command's exit code.

Options are keyword-only, except the ``options`` of ``analyse_*`` (positional since 0.1).
"""

from __future__ import annotations

__version__ = "0.1.0"

from .analyses.check import CheckReport, check
from .analyses.commands import check_paths, run_tests
from .analyses.connectivity_map import Connection, ConnectivityMap, MapPeer, connectivity_map
from .analyses.diff import ConfigDiff, EntryChange, PairChange, diff
from .analyses.explain import Explanation, explain
from .analyses.lint import Finding, LintReport, Suppression
from .analyses.lint_config import LintConfig, input_problems, lint, lint_exit_code, read_lint_config
from .analyses.revisions import DiffRun, diff_cluster, diff_paths, diff_revisions
from .analyses.session import Analysis, analyse_cluster, analyse_objects, analyse_paths, analyse_text
from .analyses.testsuite import CaseResult, SuiteResult, SuiteRun
from .diagnostics import Diagnostic, Diagnostics, Leans, Severity
from .engine.options import Cni, Mesh, Options
from .errors import ClusterError, KubewardError, UsageError
from .live import LiveSnapshot, read_cluster

__all__ = [
    # loading and options
    "Analysis", "Cni", "Mesh", "Options", "analyse_objects", "analyse_paths", "analyse_text",
    # a live cluster
    "LiveSnapshot", "analyse_cluster", "read_cluster",
    # analyses of an Analysis, and their results
    "CheckReport", "ConfigDiff", "Connection", "ConnectivityMap", "EntryChange", "Explanation", "Finding",
    "LintConfig", "LintReport", "MapPeer", "PairChange", "Suppression",
    "check", "connectivity_map", "diff", "explain", "input_problems", "lint", "lint_exit_code", "read_lint_config",
    # commands from paths, and their results
    "CaseResult", "DiffRun", "SuiteResult", "SuiteRun", "check_paths", "diff_cluster", "diff_paths", "diff_revisions",
    "run_tests",
    # diagnostics and errors
    "ClusterError", "Diagnostic", "Diagnostics", "KubewardError", "Leans", "Severity", "UsageError",
    "__version__",
]
