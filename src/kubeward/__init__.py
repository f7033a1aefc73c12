"""kubeward: what a Kubernetes network security configuration allows, and why.

The public API (docs/api.md) — every command of the CLI is a call here::

    from kubeward import Options, analyse_paths, connectivity_map, explain

    analysis = analyse_paths(["examples/shop"], Options(cni="generic"))
    print(explain(analysis, "shop/web", "shop/api", 8080).verdict.verdict)

- load and analyse: ``analyse_paths``, ``analyse_text``, ``analyse_objects`` → ``Analysis``,
  under ``Options`` (``Cni``, ``Mesh``); a live cluster: ``read_cluster`` → ``LiveSnapshot``,
  ``analyse_cluster`` (files overlaid with ``overlay=``);
- analyses of an ``Analysis``: ``explain``, ``connectivity_map`` (the CLI's ``map``: not
  exported as ``map``, which would shadow the builtin), ``check``, ``lint``, ``diff``,
  ``label_dependencies`` (the CLI's ``labels``);
- commands from paths: ``check_paths``, ``run_tests`` (both take ``cluster=`` a ``LiveSnapshot``),
  ``diff_paths``, ``diff_revisions``, ``diff_cluster`` (their results know the command's exit
  code), ``labels_paths``.

Options are keyword-only, except the ``options`` of ``analyse_*`` (positional since 0.1).
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names below are imported on first use (PEP 562): see __getattr__
    from .analyses.check import CheckReport, check
    from .analyses.commands import check_paths, run_tests
    from .analyses.connectivity_map import Connection, ConnectivityMap, MapPeer, connectivity_map
    from .analyses.diff import ConfigDiff, EntryChange, PairChange, diff
    from .analyses.explain import Explanation, explain
    from .analyses.labels import LabelChange, LabelDependency, LabelsReport, label_dependencies, labels_paths
    from .analyses.lint import Finding, LintReport, Suppression
    from .analyses.lint_config import LintConfig, input_problems, lint, lint_exit_code, read_lint_config
    from .analyses.revisions import DiffRun, diff_cluster, diff_paths, diff_revisions
    from .analyses.session import Analysis, analyse_cluster, analyse_objects, analyse_paths, analyse_text
    from .analyses.testsuite import CaseResult, SuiteResult, SuiteRun
    from .diagnostics import Diagnostic, Diagnostics, Leans, Severity
    from .engine.options import Cni, Mesh, Options
    from .errors import ClusterError, KubewardError, UsageError
    from .live import LiveSnapshot, read_cluster

# Where each public name lives. Importing the package imports none of them (issue 13: the CLI's
# start-up, and `kubeward --version`, pay only for what a command uses); `kubeward.NAME` and
# `from kubeward import NAME` import its module on first use.
_WHERE = {
    **dict.fromkeys(("CheckReport", "check"), "analyses.check"),
    **dict.fromkeys(("check_paths", "run_tests"), "analyses.commands"),
    **dict.fromkeys(("Connection", "ConnectivityMap", "MapPeer", "connectivity_map"), "analyses.connectivity_map"),
    **dict.fromkeys(("ConfigDiff", "EntryChange", "PairChange", "diff"), "analyses.diff"),
    **dict.fromkeys(("Explanation", "explain"), "analyses.explain"),
    **dict.fromkeys(("LabelChange", "LabelDependency", "LabelsReport", "label_dependencies", "labels_paths"),
                    "analyses.labels"),
    **dict.fromkeys(("Finding", "LintReport", "Suppression"), "analyses.lint"),
    **dict.fromkeys(("LintConfig", "input_problems", "lint", "lint_exit_code", "read_lint_config"),
                    "analyses.lint_config"),
    **dict.fromkeys(("DiffRun", "diff_cluster", "diff_paths", "diff_revisions"), "analyses.revisions"),
    **dict.fromkeys(("Analysis", "analyse_cluster", "analyse_objects", "analyse_paths", "analyse_text"),
                    "analyses.session"),
    **dict.fromkeys(("CaseResult", "SuiteResult", "SuiteRun"), "analyses.testsuite"),
    **dict.fromkeys(("Diagnostic", "Diagnostics", "Leans", "Severity"), "diagnostics"),
    **dict.fromkeys(("Cni", "Mesh", "Options"), "engine.options"),
    **dict.fromkeys(("ClusterError", "KubewardError", "UsageError"), "errors"),
    **dict.fromkeys(("LiveSnapshot", "read_cluster"), "live"),
}


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'kubeward' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # once: later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


__all__ = [
    # loading and options
    "Analysis", "Cni", "Mesh", "Options", "analyse_objects", "analyse_paths", "analyse_text",
    # a live cluster
    "LiveSnapshot", "analyse_cluster", "read_cluster",
    # analyses of an Analysis, and their results
    "CheckReport", "ConfigDiff", "Connection", "ConnectivityMap", "EntryChange", "Explanation", "Finding",
    "LabelChange", "LabelDependency", "LabelsReport", "LintConfig", "LintReport", "MapPeer", "PairChange",
    "Suppression",
    "check", "connectivity_map", "diff", "explain", "input_problems", "label_dependencies", "lint", "lint_exit_code",
    "read_lint_config",
    # commands from paths, and their results
    "CaseResult", "DiffRun", "SuiteResult", "SuiteRun", "check_paths", "diff_cluster", "diff_paths", "diff_revisions",
    "labels_paths", "run_tests",
    # diagnostics and errors
    "ClusterError", "Diagnostic", "Diagnostics", "KubewardError", "Leans", "Severity", "UsageError",
    "__version__",
]
