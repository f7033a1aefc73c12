"""Text for people: explain traces, map tables, check reports, diagnostics.

Every string from the input is printed safely: each line is escaped as a whole (``escape``:
control characters, newlines and other unprintable characters written as ``\\n``, ``\\x1b``), so
an object name or a label value cannot forge a line of a CI log. Lines are escaped where they are
emitted — ``_lines`` for the line-list renderers, ``_say`` and table cells for the console ones."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.cells import cell_len

from ..analyses.connectivity_map import ConnectivityMap
from ..diagnostics import Diagnostic, Severity, escape
from ..engine.portset import PortSet
from ..engine.trace import Effect, Layer, Step, StepTier
from ..ir import Direction

if TYPE_CHECKING:  # rich's console and the other reports: imported by the renderers that use them
    from rich.console import Console

    from ..analyses.check import CheckReport
    from ..analyses.diff import ConfigDiff
    from ..analyses.explain import Explanation
    from ..analyses.lint import LintReport
    from ..analyses.testsuite import SuiteResult

CHECK_TABLE_LIMIT = 60  # check prints the connection table only for inputs this small
_MARK = {"allow": "✓", "deny": "✗", "pass": "→", "none": "·", "warn": "!"}


def _console(width: int | None) -> tuple[Console, io.StringIO]:
    from rich.console import Console

    buf = io.StringIO()
    # markup=False: names, paths and regexes from the input ([a-z]+) are text, never rich tags.
    return Console(file=buf, width=width or 120, color_system=None, highlight=False,
                   soft_wrap=True, emoji=False, markup=False), buf


def _lines(lines: Iterable[str]) -> str:
    """Lines of text, each escaped as one line (a newline inside one is written ``\\n``)."""
    return "".join(escape(line) + "\n" for line in lines)


def _say(console: Console, line: str, end: str = "\n") -> None:
    """One line on a console, escaped."""
    console.print(escape(line), end=end)


def _block(console: Console, text: str) -> None:
    """Text a renderer of this module made (its lines are escaped already)."""
    console.file.write(text)


def diagnostics(diags: Iterable[Diagnostic]) -> str:
    return "".join(f"{d}\n" for d in diags)


def _step_line(step: Step) -> str:
    where = f" ({step.where})" if step.where else ""
    who = ""
    if step.policy is not None:
        who = step.policy.display
        if step.rule is not None:
            side = "" if step.layer == Layer.MESH else f" {step.section or step.direction.value}"
            who += f"{side} rule {step.rule}" + (f" ({step.rule_name})" if step.rule_name else "")
        who += where + ": "
    return f"{_MARK.get(step.effect, '·')} [{step.tier}] {who}{step.message} <{step.reason.value}>"


def _steps_lines(steps: list[Step], indent: str) -> list[str]:
    lines: list[str] = []
    groups: list[tuple[str, list[Step]]] = []
    for step in steps:
        if step.layer == Layer.CNI:
            head = (f"egress of {step.subject} (source side)" if step.direction is Direction.EGRESS
                    else f"ingress of {step.subject} (destination side)")
            if step.tier == StepTier.SELF:
                head = "self"
        else:
            head = {"entry": "entry point", "service": "service", "xdp": "xdp at the node's NIC (before the CNI)"}.get(
                step.layer, step.layer)
        if not groups or groups[-1][0] != head:
            groups.append((head, []))
        groups[-1][1].append(step)
    for head, group in groups:
        lines.append(f"{indent}{head}")
        lines.extend(f"{indent}  {_step_line(s)}" for s in group)
    return lines


def _via(via: dict[str, object]) -> str:
    kind = via.get("kind")
    name = f"{via.get('namespace')}/{via.get('name')}" if via.get("namespace") else str(via.get("name"))
    extra = ""
    if kind == "Ingress":
        extra = (f" host {via.get('host')} path {via.get('path')} → Service {via.get('service')}:"
                 f"{via.get('servicePort')}")
    elif kind == "Gateway":
        route = f", {via.get('route')} rule {via.get('rule')}" if via.get("route") else ""
        extra = f" listener {via.get('listener')}{route}"
    elif kind == "Service":
        extra = f" port {via.get('port')} ({via.get('type')})"
    elif kind == "Route" and via.get("services") is not None:
        services = via.get("services")
        names = ", ".join(str(x) for x in services) if isinstance(services, list) else ""
        extra = f" host {via.get('host')} path {via.get('path')} ({via.get('termination')}) → Service {names}"
    return f"{kind} {name}{extra}"


def explanation(exp: Explanation) -> str:
    v = exp.verdict
    asked = f"{v.protocol}/{v.port}" if v.port is not None else (
        f"{v.protocol}/all ports" if v.protocol else "all ports")
    lines = [f"{v.verdict.upper()}  {v.source.label} -> {v.destination.label}  {asked}",
             f"  options: {', '.join(exp.options)}"]
    if exp.target is not None:
        if not exp.paths:
            lines.extend(_steps_lines(v.steps, "  "))
        for i, path in enumerate(exp.paths, 1):
            lines.append(f"  way {i} of {len(exp.paths)}: via {_via(path.via)} — {'ALLOW' if path.allowed else 'DENY'}")
            lines.extend(_steps_lines(path.steps, "    "))
            first = _first_failure(path.steps)
            if first:
                lines.append(f"    first failing hop: {first}")
        lines.append(f"  verdict: {v.verdict}" + ("" if v.allowed or not exp.paths
                                                   else " — no way in reaches the destination"))
        return _lines(lines)
    lines.extend(_steps_lines(v.steps, "  "))
    reason = _first_failure(v.steps)
    if v.port is None:
        lines.append(f"  allowed: {v.allowed_ports}")
        if v.allowed and reason:
            lines.append(f"  verdict: allow for {v.allowed_ports} only; the rest is denied — {reason}")
            return _lines(lines)
    lines.append(f"  verdict: {v.verdict}" + (f" — {reason}" if reason else ""))
    return _lines(lines)


def _first_failure(steps: list[Step]) -> str:
    """The first step that denied, named with its place."""
    for s in steps:
        if s.effect == Effect.DENY:
            where = f" ({s.where})" if s.where else ""
            who = f"{s.policy.display}{where}: " if s.policy else ""
            side = f"{s.direction.value} of {s.subject}: " if s.layer == Layer.CNI else f"{s.layer}: "
            return f"{side}{who}{s.message}"
    return ""


def connectivity_table(cmap: ConnectivityMap, width: int | None = None) -> str:
    """The map as text (render/map_text.py writes it line by line)."""
    from .map_text import connectivity_table as table

    return table(cmap)


def check_report(report: CheckReport, width: int | None = None) -> str:
    console, buf = _console(width)
    for d in report.diagnostics:
        if d.code in ("policies-inert", "cni-ambiguous"):
            _say(console, f"!!! {d.message}")
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(report.kinds.items()))
    _say(console, f"Inventory: {kinds or 'no objects'}")
    defined = [n for n, d in report.namespaces if d]
    assumed = [n for n, d in report.namespaces if not d]
    _say(console, f"Namespaces: {', '.join(defined) or 'none defined'}"
                  + (f" (assumed: {', '.join(assumed)})" if assumed else ""))
    pol = ", ".join(f"{k} {n}" for k, n in sorted(report.policies.items()))
    _say(console, f"Workloads: {report.workloads}; policies analysed: {pol or 'none'}")
    if report.assumed:
        _say(console, f"Assumed (not in the input): {', '.join(report.assumed)}")
    for nm in report.not_modelled:
        _say(console, f"Not modelled: {nm.kind} ({nm.api_version}), {nm.count} object"
                      f"{'s' if nm.count != 1 else ''} — first at {nm.first.where}")
    _say(console, f"Options: {', '.join(report.options)}")
    console.print()
    if report.protection:
        rows = [["WORKLOAD", "INGRESS", "EGRESS"]]
        for p in report.protection:
            if p.host_network:
                rows.append([p.workload, "hostNetwork: not selectable", "hostNetwork: not selectable"])
                continue
            rows.append([p.workload,
                         ", ".join(_short(x) for x in p.ingress_isolated_by) or "OPEN (no policy isolates it)",
                         ", ".join(_short(x) for x in p.egress_isolated_by) or "OPEN (no policy isolates it)"])
        _say(console, "Isolation (NetworkPolicies that select each workload):")
        # Formatted directly, a line per workload (a rich Table of 2,000 rows takes a second).
        cells = [[escape(c) for c in row] for row in rows]
        widths = [max(cell_len(r[i]) for r in cells) for i in range(2)]
        _block(console, "".join(f"{r[0]}{' ' * (widths[0] - cell_len(r[0]))}  {r[1]}"
                                f"{' ' * (widths[1] - cell_len(r[1]))}  {r[2]}".rstrip() + "\n" for r in cells))
        console.print()
    focus = f" with an end in {', '.join(report.focus)}" if report.focus else ""
    _say(console, f"Connectivity: {report.workload_connections} workload-to-workload connections{focus} allow traffic")
    exposed = report.exposed_to_networks
    _say(console, f"  reachable from outside the cluster's pods: {', '.join(exposed) or 'none'}")
    reaching = report.reaching_networks
    _say(console, f"  can reach addresses outside the pods: {', '.join(reaching) or 'none'}")
    if 0 < len(report.map.connections) <= CHECK_TABLE_LIMIT:
        console.print()
        _block(console, connectivity_table(report.map, width))
    elif report.map.connections:
        _say(console, f"  ({len(report.map.connections)} connections in all: `kubeward map` lists them)")
        if report.map.entries:
            console.print()
            _block(console, entry_points(report.map))
    console.print()
    if report.findings:
        fcount = {s: sum(1 for f in report.findings if f.severity == s) for s in ("error", "warning", "info")}
        _say(console, f"Findings: {fcount['error']} error(s), {fcount['warning']} warning(s), {fcount['info']} info "
                      "(`kubeward lint` for SARIF, --disable and suppressions)")
        for f in report.findings:
            _say(console, f"  {f.where}: {f.severity}: {f.code}: {f.message}"
                          + (f" [{f.resource}]" if f.resource else ""))
            _say(console, f"      fix: {f.fix}")
        console.print()
    if report.tests is not None:
        run = report.tests
        _say(console, f"Tests: {run.result.passed} passed, {run.result.failed} failed "
                      f"({', '.join(run.analysis.options.describe())})")
        for r in run.result.results:
            if not r.passed:
                _say(console, f"  FAIL  {r.case.name}  ({r.case.file}:{r.case.line})")
                _say(console, f"        {r.message}")
        for problem in run.problems:
            _say(console, f"  error: {problem}")
        console.print()
    problems = report.input_problems
    counts = {s: sum(1 for d in problems if d.severity is s) for s in Severity}
    _say(console, f"Diagnostics: {counts[Severity.ERROR]} error(s), {counts[Severity.WARNING]} warning(s), "
                  f"{counts[Severity.INFO]} note(s)")
    for d in problems:
        _say(console, f"  {d}")
    return buf.getvalue()


def entry_points(cmap: ConnectivityMap) -> str:
    """Every way in, with what it reaches or the hop that blocks it (plain lines: the text map
    needs no rich console)."""
    lines = [f"Entry points ({len(cmap.entries)}):"]
    for e in cmap.entries:
        reached = ", ".join(f"{w} {p}/{n}" for w, p, n in e.path.reached)
        head = f"  {'✓' if e.path.allowed else '✗'} {_via(e.via)}" + (f" [{e.request}]" if e.request else "")
        if e.path.allowed:
            lines.append(f"{head} → {reached}")
        else:
            failure = e.first_failure()
            lines.append(f"{head} — blocked: {_first_failure([failure]) if failure else 'no route'}")
    return _lines(lines)


def _mesh_text(mesh: dict[str, object]) -> str:
    via = mesh.get("egressVia")
    if isinstance(via, list) and "mtls" not in mesh:  # IST-33: an outside name reached through the egress gateway
        return "mesh: via " + ", ".join(str(v) for v in via)
    text = "mesh: " + ("mTLS" if mesh.get("mtls") else "plaintext")
    requires = mesh.get("requires")
    if isinstance(requires, list) and requires:
        text += "; " + "; ".join(str(r) for r in requires)
    return text


def _l7_text(entry: dict[str, object]) -> str:
    protocols = entry.get("protocols")
    ports = " ".join(f"{p} " + ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in r)
                     for p, r in (protocols.items() if isinstance(protocols, dict) else []))
    rules = entry.get("http")
    http = ", ".join(" ".join(str(v) for k, v in rule.items() if k in ("method", "path", "host"))
                     for rule in (rules if isinstance(rules, list) else []))
    return f"{ports} HTTP {http} ({entry.get('direction')} proxy)"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _short(display: str) -> str:
    return display.removeprefix("NetworkPolicy ")


def test_report(result: SuiteResult, options: list[str]) -> str:
    lines = [f"options: {', '.join(options)}"]
    for r in result.results:
        mark = "PASS" if r.passed else "FAIL"
        lines.append(f"{mark}  {r.case.name}  ({r.case.file}:{r.case.line})")
        if not r.passed:
            lines.append(f"      {r.message}")
            if r.explanation is not None:
                lines.extend(f"      {_step_line(s)}" for s in r.explanation.verdict.steps
                             if s.effect in (Effect.DENY, Effect.ALLOW)
                             and (s.policy is not None or s.effect == Effect.DENY))
    lines.append(f"{result.passed} passed, {result.failed} failed")
    return _lines(lines)


def _ports_or_none(p: PortSet) -> str:
    return str(p) if p else ""


def _diff_options(d: ConfigDiff) -> str:
    """Both sides' options when they differ (``diff --staged``: OLD without ``staged=enforced``)."""
    focus = f"; namespaces {', '.join(d.namespaces)} only" if d.namespaces else ""
    if d.old_options is None:
        return ", ".join(d.options) + focus
    return f"OLD: {', '.join(d.old_options)}; NEW: {', '.join(d.options)}{focus}"


def config_diff(d: ConfigDiff) -> str:
    lines = [f"diff {d.old} → {d.new} ({_diff_options(d)})"]
    if not d.changed:
        lines.append("no change in what is allowed")
        return _lines(lines)
    lines.extend(f"+ workload {w}" for w in d.peers_added)
    lines.extend(f"- workload {w}" for w in d.peers_removed)
    for c in d.pairs:
        parts = []
        if c.opened:
            parts.append(f"+ now allowed {c.opened}")
        if c.closed:
            parts.append(f"- no longer allowed {c.closed}")
        if c.l7_before != c.l7_after:
            if not c.l7_before:
                parts.append("~ now only HTTP " + "; ".join(_l7_text(x) for x in c.l7_after or []))
            elif not c.l7_after:
                parts.append("~ HTTP filter gone: any request allowed")
            else:
                parts += [f"+ HTTP {r}" for r in c.requests_added] + [f"- HTTP {r}" for r in c.requests_removed]
        why = {"added": " (new workload)", "removed": " (workload removed)"}.get(c.cause, "")
        lines.append(f"{c.src} -> {c.dst}: " + "; ".join(parts) + why)
        lines.extend(f"    {r}" for r in c.responsible)
    for e in d.entries:
        lines.append(f"entry {e.change}: {_via(e.via)}" + (f" [{e.request}]" if e.request else ""))
    lines.append(f"{len(d.pairs)} pair(s) changed, {len(d.entries)} entry point(s) changed, "
                 f"{len(d.peers_added)} workload(s) added, {len(d.peers_removed)} removed")
    return _lines(lines)


def config_diff_markdown(d: ConfigDiff) -> str:
    """Sized for a pull-request comment: one table row per changed pair."""
    lines = [f"### kubeward: connectivity changes ({_diff_options(d)})", ""]
    if not d.changed:
        return _lines(lines + ["No change in what is allowed."])
    if d.peers_added or d.peers_removed:
        lines += [f"- added workload `{w}`" for w in d.peers_added]
        lines += [f"- removed workload `{w}`" for w in d.peers_removed]
        lines.append("")
    lines += ["| from | to | now allowed | no longer allowed | why |", "| --- | --- | --- | --- | --- |"]
    for c in d.pairs:
        why = "<br>".join(c.responsible) or {"added": "new workload", "removed": "workload removed"}.get(c.cause, "")
        lines.append(f"| `{c.src}` | `{c.dst}` | {_ports_or_none(c.opened)} | {_ports_or_none(c.closed)} | {why} |")
    if d.entries:
        lines += ["", "| entry point | change |", "| --- | --- |"]
        lines += [f"| {_via(e.via)} | {e.change} |" for e in d.entries]
    return _lines(lines)


def lint_report(report: LintReport) -> str:
    lines = []
    for f in report.findings:
        lines.append(f"{f.where}: {f.severity}: {f.code}: {f.message}" + (f" [{f.resource}]" if f.resource else ""))
        lines.append(f"    fix: {f.fix}")
    for f, reason in report.suppressed:
        lines.append(f"{f.where}: suppressed: {f.code} [{f.resource}]: {reason}")
    counts = {s: sum(1 for f in report.findings if f.severity == s) for s in ("error", "warning", "info")}
    lines.append(f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info"
                 + (f", {len(report.suppressed)} suppressed" if report.suppressed else ""))
    return _lines(lines)
