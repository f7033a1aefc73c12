"""`kubeward flows` as text and Markdown: plain lines written as produced (no table widgets)."""

from __future__ import annotations

from collections.abc import Iterator

from ..analyses.flows import FlowResult, FlowsReport, RuleKey
from ..diagnostics import escape


def _flow(r: FlowResult) -> str:
    k = r.flow.key
    what = f"{k.protocol}/{k.port}"
    if k.method:
        what += f" {k.method} {k.path}"
    if k.dns:
        what += f" dns {k.dns}"
    return f"{r.source.peer} → {r.destination.peer} {what}"


def _rule(key: RuleKey) -> str:
    kind, ns, name, direction, rule = key
    where = f"{kind} {ns + '/' if ns else ''}{name}"
    return f"default deny of {where} ({direction})" if rule is None else f"{where} {direction} rule {rule}"


def _where(r: FlowResult) -> str:
    s = r.decided.step if r.decided else None
    return f" ({s.where})" if s is not None and s.where else ""


def flows_lines(report: FlowsReport) -> Iterator[str]:
    s = report.summary()
    yield f"options: {', '.join(report.options)}\n"
    yield (f"{s['records']} flow records, {s['distinct']} distinct; compared {s['compared']}: {s['agree']} agree, "
           f"{s['disagree']} disagree; apart: {s['replies']} replies, {s['nonPolicyDrops']} non-policy drops, "
           f"{s['unplaced']} unplaced, {s['notModelled']} not modelled; {s['badLines']} bad lines\n")
    yield "\nflows (observed / kubeward, deciding rule):\n"
    for r in report.results:
        mark = "ok  " if r.agree else "DIFF"
        yield escape(f"  {mark} {_flow(r)}  ×{r.flow.count}  {r.flow.key.verdict.lower()}"
                     f"{' ' + r.flow.key.drop_reason if r.flow.key.drop_reason else ''} / {r.computed} — "
                     f"{r.decided.phrase if r.decided else '-'}{_where(r)}") + "\n"
    if report.disagreements:
        yield "\ndisagreements:\n"
        for r in report.disagreements:
            k = r.flow.key
            head = ("observed FORWARDED, the configuration denies (drift)" if r.observed == "allow"
                    else f"observed {k.verdict} ({k.drop_reason or 'no reason'}), the configuration allows")
            yield escape(f"  {_flow(r)}: {head}; first seen {r.flow.where}") + "\n"
            for step in r.steps:
                mark = {"allow": "✓", "deny": "✗"}.get(str(step.effect), "·")
                where = f" ({step.where})" if step.where else ""
                yield escape(f"      {mark} [{step.tier}] {step.message}{where}") + "\n"
            yield "      it could be:\n"
            for cause in r.causes:
                yield escape(f"        - {cause}") + "\n"
    drops = report.drops()
    if drops:
        yield "\ndrops by namespace, reason and rule (distinct / records):\n"
        for ns, reason, rule, distinct, n in drops:
            yield escape(f"  {ns}  {reason}  {rule}  {distinct} / {n}") + "\n"
    yield "\nrule hits (records / distinct flows):\n"
    for key, n in sorted(report.hits.items(), key=lambda kv: -kv[1]):
        where = report.rules[key][0] if key in report.rules else report.tier_ends.get(key, "")
        yield escape(f"  {n:>8} / {report.distinct_hits[key]:<5} {_rule(key)}{' (' + where + ')' if where else ''}") \
            + "\n"
    unused = report.unused_rules
    yield f"\nrules no observed flow used ({len(unused)}): candidates to remove or tighten\n"
    for key in unused:
        yield escape(f"  {_rule(key)} ({report.rules[key][0]})") + "\n"
    if report.apart:
        yield "\nnot compared:\n"
        for a in report.apart:
            if a.reason == "reply":
                continue
            k = a.flow.key
            yield escape(f"  {a.reason}: {k.source.display} → {k.destination.display} {k.protocol}/{k.port} "
                         f"{k.verdict} {k.drop_reason}".rstrip() + (f" — {a.detail}" if a.detail else "")
                         + f" ({a.flow.where})") + "\n"


def _cell(text: object) -> str:
    return escape(str(text)).replace("|", "\\|")


def flows_markdown(report: FlowsReport) -> Iterator[str]:
    s = report.summary()
    yield "## kubeward flows\n\n"
    yield (f"{s['records']} flow records, {s['distinct']} distinct; {s['agree']} agree, **{s['disagree']} "
           f"disagree**; {s['replies']} replies, {s['nonPolicyDrops']} non-policy drops, {s['unplaced']} unplaced.\n\n")
    if report.disagreements:
        yield "### Disagreements\n\n| flow | observed | kubeward | deciding rule | could be |\n"
        yield "| --- | --- | --- | --- | --- |\n"
        for r in report.disagreements:
            yield (f"| {_cell(_flow(r))} | {_cell(r.flow.key.verdict)} | {r.computed} | "
                   f"{_cell((r.decided.phrase if r.decided else '-') + _where(r))} | {_cell(r.causes[0])} |\n")
        yield "\n"
    yield "### Flows\n\n| flow | records | observed | kubeward | deciding rule |\n| --- | --- | --- | --- | --- |\n"
    for r in report.results:
        yield (f"| {_cell(_flow(r))} | {r.flow.count} | {_cell(r.flow.key.verdict)} | {r.computed} | "
               f"{_cell((r.decided.phrase if r.decided else '-') + _where(r))} |\n")
    drops = report.drops()
    if drops:
        yield "\n### Drops\n\n| namespace | reason | rule | distinct | records |\n| --- | --- | --- | --- | --- |\n"
        for ns, reason, rule, distinct, n in drops:
            yield f"| {_cell(ns)} | {_cell(reason)} | {_cell(rule)} | {distinct} | {n} |\n"
    yield "\n### Rules no observed flow used\n\n"
    for key in report.unused_rules:
        yield f"- {_cell(_rule(key))} ({_cell(report.rules[key][0])})\n"
