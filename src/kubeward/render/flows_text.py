"""`kubeward flows` as text and Markdown: plain lines written as produced (no table widgets)."""

from __future__ import annotations

from collections.abc import Iterator

from ..analyses.flow_diff import FlowChange, FlowsDiff
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
    if report.namespaces:
        yield f"only the flows with an end in namespace(s) {', '.join(report.namespaces)}\n"
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
    if report.namespaces:
        yield f"Only the flows with an end in namespace(s) {', '.join(report.namespaces)}.\n\n"
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


def _change_flow(c: FlowChange) -> str:
    return _flow(c.after)


def _decided(r: FlowResult) -> str:
    return (r.decided.phrase if r.decided else "-") + _where(r)


def flows_diff_lines(d: FlowsDiff, flows: str) -> Iterator[str]:
    """The section `diff --flows` prints after the diff."""
    s = d.summary()
    yield (f"\nobserved flows ({flows}): {s['records']} records, {s['distinct']} distinct; compared on both sides "
           f"{s['compared']}: {s['wouldBreak']} would be broken, {s['newlyAllowed']} newly allowed, "
           f"{s['unchanged']} unchanged; {s['oldOnly']} only in OLD, {s['newOnly']} only in NEW; apart: "
           f"{s['replies']} replies, {s['nonPolicyDrops']} non-policy drops, {s['unplaced']} unplaced, "
           f"{s['notModelled']} not modelled\n")
    for title, changes in (("would be broken (allowed before, denied after)", d.would_break),
                           ("newly allowed (denied before, allowed after)", d.newly_allowed)):
        if not changes:
            continue
        yield f"{title}:\n"
        for c in changes:
            k = c.flow.key
            yield escape(f"  {_change_flow(c)}  ×{c.flow.count}  observed {k.verdict.lower()}"
                         f"{' ' + k.drop_reason if k.drop_reason else ''}; first seen {c.flow.where}") + "\n"
            yield escape(f"      before: {_decided(c.before)}") + "\n"
            yield escape(f"      after:  {_decided(c.after)}") + "\n"
    if d.one_side:
        yield "on one side only:\n"
        for o in d.one_side:
            r = o.result
            yield escape(f"  {_flow(r)}  ×{r.flow.count}  only in {o.side.upper()}: {r.computed} there — "
                         f"{_decided(r)}; {'NEW' if o.side == 'old' else 'OLD'}: {o.missing}") + "\n"
    shown = [a for a in d.apart if a.reason != "reply"]
    if shown:
        yield "not compared:\n"
        for a in shown:
            k = a.flow.key
            yield escape(f"  {a.reason}: {k.source.display} → {k.destination.display} {k.protocol}/{k.port} "
                         f"{k.verdict} {k.drop_reason}".rstrip() + f"  ×{a.flow.count}"
                         + (f" — {a.detail}" if a.detail else "") + f" ({a.flow.where})") + "\n"


def flows_diff_markdown(d: FlowsDiff) -> Iterator[str]:
    s = d.summary()
    yield "\n#### Observed flows\n\n"
    yield (f"{s['records']} flow records, {s['distinct']} distinct: **{s['wouldBreak']} would be broken** "
           f"({s['wouldBreakRecords']} records), {s['newlyAllowed']} newly allowed, {s['unchanged']} unchanged; "
           f"{s['oldOnly']} only in OLD, {s['newOnly']} only in NEW; {s['replies']} replies, "
           f"{s['nonPolicyDrops']} non-policy drops, {s['unplaced']} unplaced.\n")
    rows = [("would be broken", c) for c in d.would_break] + [("newly allowed", c) for c in d.newly_allowed]
    if rows:
        yield "\n| change | flow | records | observed | before | after |\n| --- | --- | --- | --- | --- | --- |\n"
        for what, c in rows:
            yield (f"| {what} | {_cell(_change_flow(c))} | {c.flow.count} | {_cell(c.flow.key.verdict)} | "
                   f"{_cell(_decided(c.before))} | {_cell(_decided(c.after))} |\n")
    if d.one_side:
        yield "\n| flow | records | only in | verdict there | other side |\n| --- | --- | --- | --- | --- |\n"
        for o in d.one_side:
            yield (f"| {_cell(_flow(o.result))} | {o.result.flow.count} | {o.side.upper()} | "
                   f"{o.result.computed}: {_cell(_decided(o.result))} | {_cell(o.missing)} |\n")
