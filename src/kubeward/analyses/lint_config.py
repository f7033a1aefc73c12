"""`lint` as it is configured: the codes turned off, the suppressions (with their reasons) of a
kubeward config file, the severity floor — and the exit policy of the command."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from ..diagnostics import Diagnostic, Diagnostics, Severity
from ..errors import UsageError
from ..loader import LList, LMap, parse_documents, read_regular_file
from .connectivity_map import ConnectivityMap
from .lint import FROM_DIAGNOSTICS, RULES, LintReport, Suppression, select
from .lint import lint as all_findings
from .session import Analysis

CONFIG_FILE = ".kubeward.yaml"  # read from the current folder when no config is named


@dataclass(frozen=True, slots=True)
class LintConfig:
    """The ``lint:`` section of a kubeward config file: ``disable: [CODE…]`` and
    ``ignore: [{code, resource?, reason}]``."""

    disabled: tuple[str, ...] = ()
    suppressions: tuple[Suppression, ...] = ()


def unknown_codes(codes: Iterable[str]) -> list[str]:
    """The codes that name no lint rule, sorted."""
    return sorted(set(codes) - set(RULES))


def default_config_path(folder: str = ".") -> str | None:
    """``.kubeward.yaml`` in ``folder``, when there is one."""
    path = os.path.join(folder, CONFIG_FILE) if folder != "." else CONFIG_FILE
    return path if os.path.isfile(path) else None


def read_lint_config(path: str) -> LintConfig:
    """The ``lint:`` section of the config file ``path``. A suppression needs a reason; an
    unreadable file, a wrong shape or an unknown code raises ``UsageError`` (with the line).
    The file is read as manifests are, within the same limits (a regular file, nesting, aliases)."""
    diags = Diagnostics()
    text = read_regular_file(path, diags)
    docs = parse_documents(text, path, diags) if text is not None else []
    errors = [d for d in diags.items if d.severity is Severity.ERROR]
    if errors:
        raise UsageError(f"cannot read the config: {errors[0]}")
    doc = docs[0][0] if docs else None
    if doc is None:  # an empty file
        return LintConfig()
    section = doc.get("lint", LMap(doc.line)) if isinstance(doc, LMap) else None
    if not isinstance(section, LMap):
        raise UsageError(f"{path}: expected a mapping with a 'lint:' section")

    def wrong(key: str, what: str) -> UsageError:
        return UsageError(f"{path}:{section.line_of(key)}: lint.{key} must be {what}")

    disabled = section.get("disable") or LList(section.line)
    if not isinstance(disabled, LList) or not all(isinstance(c, str) for c in disabled):
        raise wrong("disable", "a list of finding codes")
    ignore = section.get("ignore") or LList(section.line)
    if not isinstance(ignore, LList):
        raise wrong("ignore", "a list of suppressions ({code, resource, reason})")
    suppressions: list[Suppression] = []
    for i, item in enumerate(ignore):
        where = f"{path}:{ignore.line_of(i)}: lint.ignore[{i}]"
        if not isinstance(item, LMap) or not isinstance(item.get("code"), str):
            raise UsageError(f"{where}: needs a code")
        if not isinstance(item.get("reason"), str) or not item["reason"].strip():
            raise UsageError(f"{where} ({item['code']}): a suppression needs a reason")
        resource = item.get("resource", "")
        if not isinstance(resource, str):
            raise UsageError(f"{where} ({item['code']}): resource must be a string (Kind ns/name)")
        suppressions.append(Suppression(item["code"], resource, item["reason"].strip()))
    unknown = sorted(set(unknown_codes(disabled)) | {s.code for s in suppressions
                                                     if s.code not in RULES and s.code != "*"})
    if unknown:
        raise UsageError(f"{path}: unknown finding code(s): {', '.join(unknown)} (see kubeward lint --list)")
    return LintConfig(tuple(disabled), tuple(suppressions))


def lint(analysis: Analysis, cmap: ConnectivityMap | None = None, *, severity: str = "info",
         disabled: Iterable[str] = (), config: LintConfig | None = None) -> LintReport:
    """Findings against the operations checklist and the known traps, each with a fix: those of
    ``severity`` and above, without the ``disabled`` codes (and the config's), and with the
    findings a suppression of ``config`` covers moved to ``report.suppressed``.

    ``cmap``: the connectivity map, when the caller has it already. An unknown code in
    ``disabled`` raises ``UsageError``."""
    off = list(disabled)
    unknown = unknown_codes(off)
    if unknown:
        raise UsageError(f"unknown finding code(s): {', '.join(unknown)} (see --list)")
    config = config or LintConfig()
    return select(all_findings(analysis, cmap), severity, [*off, *config.disabled], config.suppressions)


def input_problems(analysis: Analysis) -> list[Diagnostic]:
    """The warnings and errors about the input that are not findings (syntax, schema, unknown
    fields, empty folders): lint reports them beside its findings, never drops them."""
    return [d for d in analysis.diagnostics.sorted()
            if d.code not in FROM_DIAGNOSTICS and d.severity is not Severity.INFO]


def lint_exit_code(report: LintReport, analysis: Analysis, fail_on: str = "warning") -> int:
    """2: input errors; 1: a reported finding at ``fail_on`` or above, or (unless ``fail_on`` is
    error) an input warning; 0 otherwise."""
    status = report.exit_code(fail_on)
    if status == 0 and fail_on != "error" and any(d.severity is Severity.WARNING for d in input_problems(analysis)):
        return 1  # an input warning (an empty folder, an unknown field) counts as a warning
    return status
