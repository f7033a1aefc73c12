"""`kubeward labels` as text and as Markdown (a page for a repository's docs)."""

from __future__ import annotations

from collections.abc import Iterator

from ..analyses.diff import ConfigDiff
from ..analyses.label_selection import SelectionChange
from ..analyses.labels import NAME_LABEL, LabelDependency, LabelsReport, Simulation, Target
from ..diagnostics import escape
from .text import config_diff

_TITLE = {Target.POD: "pod label", Target.NAMESPACE: "namespace label", Target.SERVICE: "Service label",
          Target.NODE: "node label"}


def _selection(s: SelectionChange) -> str:
    what = "; ".join([*(["no longer selects " + ", ".join(s.lost)] if s.lost else []),
                      *(["now selects " + ", ".join(s.gained)] if s.gained else [])])
    off = "" if s.enforced else " — not enforced under this profile"
    return f"{s.ref.display} {s.where} ({s.role}, {s.ref.file}:{s.line}): {what}{off}"


def _diff_lines(d: ConfigDiff) -> list[str]:
    """``config_diff`` without its header and its closing count."""
    if not d.changed:
        return ["no change in what is allowed"]
    return config_diff(d).splitlines()[1:-1]


def _simulation_lines(sim: Simulation, indent: str) -> Iterator[str]:
    for line in _diff_lines(sim.diff):
        yield indent + line
    for s in sim.selections:
        yield indent + "selector: " + _selection(s)


def _carried(dep: LabelDependency) -> str:
    stand_ins = [f"{w} (a stand-in kubeward adds)" for w in dep.stand_ins]
    if dep.carriers or stand_ins:
        return "on " + ", ".join([*dep.carriers, *stand_ins])
    if dep.carried_by_none:
        what = "workload" if dep.target is Target.POD else dep.target.value
        return f"on no {what}: the selectors that need it select nothing by it (a typo, or not yet set?)"
    return "on none"


def labels_lines(report: LabelsReport) -> Iterator[str]:
    """The text of ``kubeward labels``, line by line (escaped)."""
    yield escape(f"Labels the policies and Services select on ({', '.join(report.options)})")
    if report.namespaces:
        yield escape(f"only the labels of namespace(s) {', '.join(report.namespaces)}: read by their objects or "
                     "carried by their workloads (or themselves); removals from those")
    for dep in report.labels:
        yield ""
        yield escape(f"{_TITLE[dep.target]} {dep.text} — {_carried(dep)}")
        for u in dep.uses:
            values = f" ({', '.join(u.values)})" if len(u.values) > 1 or (dep.value is None and u.values) else ""
            yield escape(f"  {u.ref.display} {u.where}: {u.role}, {u.operator}{values} "
                         f"[{u.selector}] {u.ref.file}:{u.line}")
        if dep.key == NAME_LABEL and dep.target is Target.NAMESPACE:
            yield "  (set by Kubernetes to the namespace's name: it cannot be removed)"
        for index in dep.simulations:
            sim = report.simulations[index]
            yield escape(f"  removing {dep.key} from {sim.changes[0].name}:")
            for line in _simulation_lines(sim, "    "):
                yield escape(line)
        if dep.not_simulated:
            names = ", ".join(dep.not_simulated[:3]) + (f" and {len(dep.not_simulated) - 3} more"
                                                         if len(dep.not_simulated) > 3 else "")
            target = ("ns/" if dep.target is Target.NAMESPACE else "") + dep.not_simulated[0]
            yield escape(f"  removing {dep.key} from {names}: not simulated (limit {report.limit}): "
                         f"use --relabel {target} {dep.key}-")
    if report.relabel is not None:
        yield ""
        yield escape(f"relabel {'; '.join(str(c) for c in report.relabel.changes)}:")
        for line in _simulation_lines(report.relabel, "  "):
            yield escape(line)
    unused = [d for d in report.labels if d.carried_by_none]
    yield ""
    yield (f"{len(report.labels)} label(s) selected on, {len(unused)} carried by nothing; "
           f"{len(report.simulations)} removal(s) simulated"
           + (f", {report.skipped} not (limit {report.limit})" if report.skipped else ""))


def labels_text(report: LabelsReport) -> str:
    return "".join(line + "\n" for line in labels_lines(report))


def _cell(text: str) -> str:
    return escape(text).replace("|", "\\|")


def _md_simulation(sim: Simulation, title: str) -> Iterator[str]:
    yield f"### {title}"
    yield ""
    d = sim.diff
    if not d.changed:
        yield "No change in what is allowed."
    else:
        yield "| from | to | now allowed | no longer allowed | why |"
        yield "| --- | --- | --- | --- | --- |"
        for c in d.pairs:
            why = "<br>".join(_cell(r) for r in c.responsible)
            yield (f"| `{c.src}` | `{c.dst}` | {c.opened if c.opened else ''} | {c.closed if c.closed else ''} "
                   f"| {why} |")
        for e in d.entries:
            via = f"{e.via.get('kind')} {e.via.get('namespace')}/{e.via.get('name')}"
            yield f"| entry point {_cell(via)} | `{e.request}` | | | {e.change} |"
    if sim.selections:
        yield ""
        for s in sim.selections:
            yield f"- {_cell(_selection(s))}"
    yield ""


def labels_markdown(report: LabelsReport) -> str:
    """A page for a repository's docs: the labels the policies depend on, and what removing each
    (or the --relabel) would change."""
    out = ["# Label dependencies", "",
           f"Generated by `kubeward labels` ({', '.join(report.options)}). Changing a label listed here "
           "changes what these objects select.", ""]
    if report.namespaces:
        out += [f"Only the labels of namespace(s) {', '.join(report.namespaces)}.", ""]
    for target in Target:
        deps = [d for d in report.labels if d.target is target]
        if not deps:
            continue
        out += [f"## {_TITLE[target].capitalize()}s", "",
                "| label | carried by | object | where | role | operator | source |",
                "| --- | --- | --- | --- | --- | --- | --- |"]
        for dep in deps:
            carriers = ", ".join([*(f"`{c}`" for c in dep.carriers), *(f"`{c}` (stand-in)" for c in dep.stand_ins)]) \
                or ("**none**" if dep.carried_by_none else "")
            for u in dep.uses:
                out.append(f"| `{_cell(dep.text)}` | {carriers} | {_cell(u.ref.display)} | {_cell(u.where)} "
                           f"| {u.role} | {u.operator} | `{_cell(u.ref.file)}:{u.line}` |")
        out.append("")
    unused = [d for d in report.labels if d.carried_by_none]
    if unused:
        out += ["## Labels nothing carries", ""]
        out += [f"- {_TITLE[d.target]} `{_cell(d.text)}`: selected on by "
                + ", ".join(f"{_cell(u.ref.display)} (`{_cell(u.ref.file)}:{u.line}`)" for u in d.uses)
                for d in unused]
        out.append("")
    if report.simulations:
        out += ["## What removing a label would change", ""]
        for sim in report.simulations:
            c = sim.changes[0]
            where = f"namespace `{c.name}`" if c.target == "namespace" else f"`{c.name}`"
            out += _md_simulation(sim, f"`{_cell(c.key)}` removed from {where}")
    if report.skipped:
        out += [f"{report.skipped} more removal(s) not simulated (limit {report.limit}).", ""]
    if report.relabel is not None:
        out += ["## Relabel", ""]
        out += _md_simulation(report.relabel, _cell("; ".join(str(c) for c in report.relabel.changes)))
    return "\n".join(out).rstrip("\n") + "\n"
