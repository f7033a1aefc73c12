"""The command line: a thin layer over the public API and the renderers.

Exit codes: 0 = clean / allowed, 1 = findings / denied, 2 = usage or input error.
"""

from __future__ import annotations

import gc
import io
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .analyses.check import check as run_check
from .analyses.connectivity_map import connectivity_map
from .analyses.explain import explain as run_explain
from .analyses.session import Analysis, analyse_paths, is_domain
from .diagnostics import Diagnostics, Severity
from .engine.options import CNI_CHOICES, Options
from .errors import UsageError
from .loader import RawObject
from .render import data, text

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2


def _common(func: F) -> F:
    func = click.argument("paths", nargs=-1, required=True, type=click.Path(allow_dash=True))(func)
    return _profile_options(func)


def _profile_options(func: F) -> F:
    """The options where implementations disagree, shared by every command."""
    func = click.option("--cni", type=click.Choice(CNI_CHOICES), default="auto", show_default=True,
                        help="The cluster's CNI: which policies are enforced, and how. auto: from the input.")(func)
    func = click.option("--ipblock-matches-pods/--no-ipblock-matches-pods", default=None,
                        help="NP-18: whether an ipBlock matches pods whose IP is known "
                             "[default: as the CNI does it: yes, except cilium].")(func)
    func = click.option("--mesh", type=click.Choice(["auto", "istio", "none"]), default="auto", show_default=True,
                        help="The service mesh layer. auto: istio when Istio policies are in the input.")(func)
    func = click.option("--root-namespace", default="istio-system", show_default=True,
                        help="Istio's root namespace (mesh-wide policies).")(func)
    func = click.option("--trust-domain", default="cluster.local", show_default=True,
                        help="Istio's trust domain (principals <td>/ns/<ns>/sa/<sa>).")(func)
    func = click.option("--ingress-controller", metavar="NS/NAME", default=None,
                        help="ING-6: the workload whose pods are the ingress controller "
                             "[default: found by the ingress-nginx chart's labels, else a stand-in].")(func)
    return func


def _options(cni: str, ipblock_matches_pods: bool | None, ingress_controller: str | None,
             include_self: bool = False, mesh: str = "auto", root_namespace: str = "istio-system",
             trust_domain: str = "cluster.local") -> Options:
    return Options(cni=cni, ipblock_matches_pods=ipblock_matches_pods, include_self=include_self,
                   ingress_controller=ingress_controller, mesh=mesh, root_namespace=root_namespace,
                   trust_domain=trust_domain)


def _stderr_diagnostics(analysis: Analysis, verbose: bool) -> None:
    for d in analysis.diagnostics.sorted():
        if d.severity is Severity.INFO and not verbose:
            continue
        click.echo(str(d), err=True)


def _diag_json(analysis: Analysis) -> list[dict[str, object]]:
    return [d.to_json() for d in analysis.diagnostics.sorted()]


def _progress(what: str) -> Any:
    """A spinner on standard error when it is a terminal — never in pipes or CI."""
    import contextlib
    import os

    if not sys.stderr.isatty() or os.environ.get("CI"):
        return contextlib.nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(f"kubeward: {what}…")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kubeward")
def main() -> None:
    """kubeward: what your Kubernetes network security configuration allows, and why."""
    # A short-lived process that builds millions of small acyclic objects: the cyclic garbage
    # collector only costs time here (it halves the run time of a 10,000-pod map).
    gc.disable()


@main.command()
@_common
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def check(paths: tuple[str, ...], cni: str, ipblock_matches_pods: bool | None, ingress_controller: str | None,
          mesh: str, root_namespace: str, trust_domain: str, fmt: str) -> None:
    """Inventory, findings (as `lint`), connectivity summary and the results of a TestSuite
    (tests.yaml) among PATHS (files, folders, - for stdin).

    Exit code: 0 clean, 1 warnings, findings or failing tests, 2 input errors."""
    from .analyses.testsuite import run_suites

    options = _options(cni, ipblock_matches_pods, ingress_controller, False, mesh, root_namespace, trust_domain)
    with _progress("analysing"):
        analysis = analyse_paths(paths, options)
        suites = [s for s in analysis.cluster.test_suites if isinstance(s, RawObject)]
        tests = run_suites(paths, options, suites, analysis) if suites else None
        report = run_check(analysis, tests)
    if fmt == "json":
        click.echo(data.to_json(report.to_json()), nl=False)
    else:
        click.echo(text.check_report(report), nl=False)
    sys.exit(report.exit_code)


@main.command(name="map")
@_common
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv", "md", "dot"]), default="text",
              show_default=True)
@click.option("--namespace", "-n", "namespaces", multiple=True,
              help="Only connections with an end in this namespace (repeatable).")
@click.option("--include-self", is_flag=True, help="List single-pod workloads reaching themselves (NP-7).")
@click.option("--verbose", "-v", is_flag=True, help="Also print informational notes.")
def map_(paths: tuple[str, ...], cni: str, ipblock_matches_pods: bool | None, ingress_controller: str | None, mesh: str,
         root_namespace: str, trust_domain: str, fmt: str,
         namespaces: tuple[str, ...], include_self: bool, verbose: bool) -> None:
    """Who can reach whom, on which ports. Exit code: 0, or 2 on input errors."""
    analysis = analyse_paths(paths, _options(cni, ipblock_matches_pods, ingress_controller, include_self, mesh,
                                             root_namespace, trust_domain))
    _stderr_diagnostics(analysis, verbose)
    unknown = sorted(set(namespaces) - set(analysis.cluster.namespaces))
    if unknown:
        known = ", ".join(sorted(analysis.cluster.namespaces)) or "none"
        click.echo(f"kubeward map: --namespace {', '.join(unknown)}: not in the input "
                   f"(namespaces: {known})", err=True)
        sys.exit(EXIT_INPUT)
    cmap = connectivity_map(analysis, namespaces)
    if fmt == "json":
        doc = cmap.to_json()
        doc["diagnostics"] = _diag_json(analysis)
        click.echo(data.to_compact_json(doc), nl=False)
    elif fmt == "csv":
        click.echo(data.map_csv(cmap), nl=False)
    elif fmt == "md":
        click.echo(data.map_markdown(cmap), nl=False)
    elif fmt == "dot":
        click.echo(data.map_dot(cmap), nl=False)
    else:
        click.echo(text.connectivity_table(cmap), nl=False)
    sys.exit(EXIT_INPUT if analysis.diagnostics.has_errors else EXIT_OK)


@main.command()
@_common
@click.option("--from", "source", required=True, help="namespace/name, an IP address, or 'world'.")
@click.option("--to", "destination", required=True,
              help="namespace/name, an IP address, 'world', a DNS name, a URL (https://host/path: through "
                   "Ingresses and Gateways) or service/NS/NAME (with --port: the Service port).")
@click.option("--port", type=int, default=None,
              help="Destination (pod) port. Without it: which ports are allowed.")
@click.option("--protocol", default=None, help="TCP, UDP or SCTP [default: TCP with --port, else all].")
@click.option("--method", default=None, help="HTTP method (L7 rules, routes) [default: GET].")
@click.option("--path", "http_path", default=None, help="HTTP path, with any query (L7 rules).")
@click.option("--host", "http_host", default=None, help="HTTP Host header (L7 rules).")
@click.option("--header", "headers", multiple=True, metavar="NAME:VALUE", help="HTTP header (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="Also print informational notes.")
def explain(paths: tuple[str, ...], cni: str, ipblock_matches_pods: bool | None, ingress_controller: str | None,
            mesh: str, root_namespace: str, trust_domain: str, source: str, destination: str, port: int | None, protocol: str | None, method: str | None,
            http_path: str | None, http_host: str | None, headers: tuple[str, ...], fmt: str, verbose: bool) -> None:
    """The verdict for one flow and the trace behind it.

    Exit code: 0 allowed, 1 denied, 2 usage or input error."""
    extra = [p for p in (source, destination) if is_domain(p)]
    analysis = analyse_paths(paths, _options(cni, ipblock_matches_pods, ingress_controller, False, mesh,
                                             root_namespace, trust_domain), extra_domains=extra)
    _stderr_diagnostics(analysis, verbose)
    parsed: list[tuple[str, str]] = []
    for h in headers:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            click.echo(f"kubeward explain: --header {h!r}: expected NAME:VALUE", err=True)
            sys.exit(EXIT_INPUT)
        parsed.append((name.strip(), value.strip()))
    try:
        result = run_explain(analysis, source, destination, port, protocol, method, tuple(parsed), http_path,
                             http_host)
    except UsageError as exc:
        click.echo(f"kubeward explain: {exc}", err=True)
        sys.exit(EXIT_INPUT)
    if fmt == "json":
        doc = result.to_json()
        doc["diagnostics"] = _diag_json(analysis)
        click.echo(data.to_json(doc), nl=False)
    else:
        click.echo(text.explanation(result), nl=False)
    if analysis.diagnostics.has_errors:
        sys.exit(EXIT_INPUT)
    sys.exit(EXIT_OK if result.allowed else EXIT_FINDINGS)


@main.command(name="test")
@_common
@click.option("--cases", "cases_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A TestSuite file [default: the TestSuite documents found among PATHS, e.g. tests.yaml].")
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the results as JUnit XML.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def test_(paths: tuple[str, ...], cni: str, ipblock_matches_pods: bool | None, ingress_controller: str | None,
          mesh: str, root_namespace: str, trust_domain: str, cases_file: str | None, junit_file: str | None,
          fmt: str) -> None:
    """Run regression cases (expected verdicts) against PATHS without a cluster.

    Exit code: 0 all cases pass, 1 a case fails, 2 usage or input error."""
    from .analyses.testsuite import is_suite, run_suites
    from .loader import load_paths

    suite_diags = Diagnostics()
    suites = [o for o in load_paths([cases_file], suite_diags) if is_suite(o)] if cases_file else None
    if cases_file and not suites:
        click.echo(f"kubeward test: {cases_file}: no TestSuite (apiVersion kubeward.dev/v1) in this file", err=True)
        sys.exit(EXIT_INPUT)
    options = _options(cni, ipblock_matches_pods, ingress_controller, False, mesh, root_namespace, trust_domain)
    analysis = analyse_paths(paths, options)
    if suites is None:
        suites = [s for s in analysis.cluster.test_suites if isinstance(s, RawObject)]
    if not suites:
        click.echo("kubeward test: no test cases: give --cases FILE or put a TestSuite (tests.yaml) among PATHS",
                   err=True)
        sys.exit(EXIT_INPUT)
    run = run_suites(paths, options, suites, analysis)
    analysis, result, problems = run.analysis, run.result, run.problems
    _stderr_diagnostics(analysis, False)
    for p in problems:
        click.echo(f"kubeward test: {p}", err=True)
    if junit_file:
        with open(junit_file, "w", encoding="utf-8") as out:
            out.write(result.junit())
    if fmt == "json":
        click.echo(data.to_json(result.to_json()), nl=False)
    else:
        click.echo(text.test_report(result, analysis.options.describe()), nl=False)
    if problems or analysis.diagnostics.has_errors:
        sys.exit(EXIT_INPUT)
    sys.exit(EXIT_FINDINGS if result.failed else EXIT_OK)


@dataclass(frozen=True)
class _Side:
    path: str      # where the files are read
    label: str     # how the side is named in the report
    real_root: str = ""   # --git: the temporary checkout, shown as ``label`` in file:line

    def shown_as(self, file: str) -> str:
        return self.label + file[len(self.real_root):] if self.real_root and file.startswith(self.real_root) else file

    def analyse(self, options: Options) -> Analysis:
        return analyse_paths([self.path], options, shown_as=self.shown_as if self.real_root else None)


def _diff_sides(old_side: _Side, new_side: _Side, options: Options) -> tuple[Analysis, Analysis]:
    """Both sides under one set of semantics. With --cni/--mesh auto, NEW decides; when NEW names
    no CNI (or mesh) but OLD does — the change removed its last Cilium or Istio policy — OLD's applies."""
    new = new_side.analyse(options)
    old = old_side.analyse(replace(options, cni=new.options.cni, mesh=new.options.mesh))
    cni_open = options.cni == "auto" and new.options.cni == "generic"
    mesh_open = options.mesh == "auto" and new.options.mesh != "istio"
    if cni_open or mesh_open:
        probe = old_side.analyse(options)
        cni = probe.options.cni if cni_open else new.options.cni
        mesh = probe.options.mesh if mesh_open else new.options.mesh
        if (cni, mesh) != (new.options.cni, new.options.mesh):
            new = new_side.analyse(replace(options, cni=cni, mesh=mesh))
            old = probe if (probe.options.cni, probe.options.mesh) == (cni, mesh) else \
                old_side.analyse(replace(options, cni=cni, mesh=mesh))
    return old, new


def _git_side(path: str, rev: str, tmp: Path) -> _Side:
    """PATH as it is at git revision REV, extracted under ``tmp``."""
    top = subprocess.run(["git", "-C", path, "rev-parse", "--show-toplevel"], check=True,
                         capture_output=True, text=True).stdout.strip()
    prefix = subprocess.run(["git", "-C", path, "rev-parse", "--show-prefix"], check=True,
                            capture_output=True, text=True).stdout.strip()
    archive = subprocess.run(["git", "-C", top, "archive", rev, prefix or "."], check=True, capture_output=True)
    target = tmp / rev.replace("/", "_")
    target.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    root = str(target / prefix).rstrip("/") if prefix else str(target)
    return _Side(root, f"{path.rstrip('/')}@{rev}", root)


@main.command(name="diff")
@_common
@click.option("--git", "git_range", metavar="REV1..REV2", default=None,
              help="Compare PATH at two git revisions instead of two paths.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "md"]), default="text", show_default=True)
@click.option("--exit-code", is_flag=True, help="Exit 1 when anything changed.")
@click.option("--verbose", "-v", is_flag=True, help="Also print informational notes.")
def diff_(paths: tuple[str, ...], cni: str, ipblock_matches_pods: bool | None, ingress_controller: str | None,
          mesh: str, root_namespace: str, trust_domain: str, git_range: str | None, fmt: str, exit_code: bool,
          verbose: bool) -> None:
    """What changed in what is allowed between OLD and NEW (two paths), or between two git
    revisions of PATH (--git REV1..REV2 PATH). Both sides are analysed under the same options;
    with --cni/--mesh auto, NEW decides them.

    Exit code: 0, or 1 with --exit-code when something changed, 2 on input errors."""
    from .analyses.diff import diff as run_diff

    options = _options(cni, ipblock_matches_pods, ingress_controller, False, mesh, root_namespace, trust_domain)
    with tempfile.TemporaryDirectory() as tmp:
        if git_range:
            rev1, _, rev2 = git_range.partition("..")
            if len(paths) != 1 or not rev1 or not rev2:
                click.echo("kubeward diff: --git REV1..REV2 takes exactly one PATH", err=True)
                sys.exit(EXIT_INPUT)
            sides = []
            for rev in (rev1, rev2):
                try:
                    sides.append(_git_side(paths[0], rev, Path(tmp)))
                except (subprocess.CalledProcessError, OSError, tarfile.TarError) as exc:
                    detail = str(exc)
                    if isinstance(exc, subprocess.CalledProcessError) and exc.stderr:
                        err = exc.stderr
                        detail = (err.decode(errors="replace") if isinstance(err, bytes) else err).strip()
                    click.echo(f"kubeward diff: cannot read {paths[0]} at {rev}: {detail}", err=True)
                    sys.exit(EXIT_INPUT)
        else:
            if len(paths) != 2:
                click.echo("kubeward diff: give OLD and NEW, or --git REV1..REV2 PATH", err=True)
                sys.exit(EXIT_INPUT)
            sides = [_Side(paths[0], paths[0]), _Side(paths[1], paths[1])]
        old, new = _diff_sides(sides[0], sides[1], options)
        result = run_diff(old, new, sides[0].label, sides[1].label)
    for name, analysis in (("old", old), ("new", new)):
        for d in analysis.diagnostics.sorted():
            if d.severity is not Severity.INFO or verbose:
                click.echo(f"{name}: {d}", err=True)
    if fmt == "json":
        click.echo(data.to_json(result.to_json()), nl=False)
    elif fmt == "md":
        click.echo(text.config_diff_markdown(result), nl=False)
    else:
        click.echo(text.config_diff(result), nl=False)
    if old.diagnostics.has_errors or new.diagnostics.has_errors:
        sys.exit(EXIT_INPUT)
    sys.exit(EXIT_FINDINGS if exit_code and result.changed else EXIT_OK)


def _lint_config(path: str) -> tuple[list[str], list[Any]]:
    """The `lint:` section of a kubeward config file: `disable: [CODE…]` and
    `ignore: [{code, resource?, reason}]` (a reason is required)."""
    import yaml

    from .analyses.lint import RULES, Suppression

    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"{path}: cannot read the config: {exc}") from exc
    section = doc.get("lint", {}) if isinstance(doc, dict) else None
    if not isinstance(section, dict):
        raise UsageError(f"{path}: expected a mapping with a 'lint:' section")
    disabled = section.get("disable", []) or []
    if not isinstance(disabled, list) or not all(isinstance(c, str) for c in disabled):
        raise UsageError(f"{path}: lint.disable must be a list of finding codes")
    suppressions = []
    for i, item in enumerate(section.get("ignore", []) or []):
        if not isinstance(item, dict) or not isinstance(item.get("code"), str):
            raise UsageError(f"{path}: lint.ignore[{i}]: needs a code")
        if not isinstance(item.get("reason"), str) or not item["reason"].strip():
            raise UsageError(f"{path}: lint.ignore[{i}] ({item['code']}): a suppression needs a reason")
        suppressions.append(Suppression(item["code"], str(item.get("resource", "")), item["reason"].strip()))
    unknown = sorted({c for c in disabled if c not in RULES} | {s.code for s in suppressions
                                                                   if s.code not in RULES and s.code != "*"})
    if unknown:
        raise UsageError(f"{path}: unknown finding code(s): {', '.join(unknown)} (see kubeward lint --list)")
    return list(disabled), suppressions


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@_profile_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True)
@click.option("--severity", type=click.Choice(["info", "warning", "error"]), default="info", show_default=True,
              help="Report findings of this severity and above.")
@click.option("--fail-on", type=click.Choice(["info", "warning", "error"]), default="warning", show_default=True,
              help="Exit 1 when a reported finding has this severity or above.")
@click.option("--disable", "disabled", multiple=True, metavar="CODE", help="Do not report this finding code.")
@click.option("--config", "config", type=click.Path(), default=None,
              help="A kubeward config file (lint.disable, lint.ignore with reasons) [default: .kubeward.yaml "
                   "in the current folder, if any].")
@click.option("--list", "list_rules", is_flag=True, help="List the finding codes and exit.")
def lint(paths: tuple[str, ...], cni: str, ipblock_matches_pods: bool | None, mesh: str, root_namespace: str,
         trust_domain: str, ingress_controller: str | None, fmt: str, severity: str, fail_on: str,
         disabled: tuple[str, ...], config: str | None, list_rules: bool) -> None:
    """Findings against the operations checklist and the known traps, each with a fix.

    Exit code: 0 none at --fail-on or above, 1 some, 2 input errors or a bad config."""
    import os

    from .analyses.lint import RULES, select
    from .analyses.lint import lint as run_lint
    from .render.sarif import sarif

    if list_rules:
        for code, rule in sorted(RULES.items()):
            click.echo(f"{code:32} {rule.severity:8} {rule.title} ({rule.source})")
        sys.exit(EXIT_OK)
    if not paths:
        click.echo("kubeward lint: give at least one PATH", err=True)
        sys.exit(EXIT_INPUT)
    unknown = sorted(set(disabled) - set(RULES))
    if unknown:
        click.echo(f"kubeward lint: unknown finding code(s): {', '.join(unknown)} (see --list)", err=True)
        sys.exit(EXIT_INPUT)
    off: list[str] = list(disabled)
    suppressions: list[Any] = []
    config = config or (".kubeward.yaml" if os.path.isfile(".kubeward.yaml") else None)
    if config:
        try:
            more, suppressions = _lint_config(config)
        except UsageError as exc:
            click.echo(f"kubeward lint: {exc}", err=True)
            sys.exit(EXIT_INPUT)
        off += more
    analysis = analyse_paths(paths, _options(cni, ipblock_matches_pods, ingress_controller, False, mesh,
                                             root_namespace, trust_domain))
    report = select(run_lint(analysis), severity, off, suppressions)
    from .analyses.lint import FROM_DIAGNOSTICS

    # Input problems that are not findings (syntax, schema, unknown fields, empty folders): on
    # standard error, never dropped; errors among them make the exit code 2.
    input_warnings = False
    for d in analysis.diagnostics.sorted():
        if d.code not in FROM_DIAGNOSTICS and d.severity is not Severity.INFO:
            click.echo(str(d), err=True)
            input_warnings = input_warnings or d.severity is Severity.WARNING
    if fmt == "json":
        click.echo(data.to_json(report.to_json()), nl=False)
    elif fmt == "sarif":
        click.echo(data.to_json(sarif(report)), nl=False)
    else:
        click.echo(text.lint_report(report), nl=False)
    status = report.exit_code(fail_on)
    if status == EXIT_OK and input_warnings and fail_on != "error":
        status = EXIT_FINDINGS  # an input warning (an empty folder, an unknown field) counts as a warning
    sys.exit(status)
