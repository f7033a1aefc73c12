"""`kubeward xdp` as text: the rules, the program, the verification table."""

from __future__ import annotations

from ..kernel.xdp_gen import XdpReport
from ..kernel.xdp_rules import XdpDeny


def _what(rule: XdpDeny) -> str:
    ports = ("every protocol and port" if rule.ports is None else
             ", ".join(f"{p}/{a}" if a == b else f"{p}/{a}-{b}" for p, a, b in rule.ports))
    sources = "any source" if rule.sources is None else "from " + ", ".join(rule.sources)
    return f"{ports}, {sources}"


def xdp_report(report: XdpReport) -> str:
    lines: list[str] = []
    if not report.rules:
        lines.append("no deny rule holds for every pod of a node regardless of identity: no XDP program written")
    else:
        lines.append(f"XDP program: {report.source} → {report.obj} (section xdp), {len(report.rules)} rule(s)")
        for r in report.rules:
            lines.append(f"  drop  {_what(r)}  ← {r.rule_id} {r.origin} ({r.file}:{r.line}); holds for {r.scope}")
    if report.skipped:
        lines.append("left out (the CNI enforces them; XDP cannot tell identities):")
        lines.extend(f"  {s.origin} ({s.file}:{s.line}): {s.reason}" for s in report.skipped)
    if report.checks:
        lines.append(f"verification with BPF_PROG_TEST_RUN ({len(report.checks)} packets):")
        width = max(len(c.source) for c in report.checks)
        for c in report.checks:
            mark = "ok  " if c.ok else "FAIL"
            lines.append(f"  {mark} IPv{c.family} {c.protocol:<4} {c.source:<{width}} → {c.destination}:{c.port:<5} "
                         f"expected {c.expected.label:<8} got {c.actual.label if c.actual else '-':<8}"
                         + (f"  ({c.rule})" if c.rule else ""))
        failed = len(report.failed)
        lines.append(f"verdict: {len(report.checks) - failed}/{len(report.checks)} packets as the rules say"
                     + (f"; {failed} FAILED" if failed else ""))
    return "\n".join(lines) + "\n"


def map_note(xdp: dict[str, object]) -> str:
    """`map --xdp` in text: the connections that lose ports to the program."""
    dropped = xdp["dropped"]
    assert isinstance(dropped, list)
    head = (f"xdp: {xdp['object']} (section {xdp['section']}), {xdp['packets']} packets run: "
            f"{len(dropped)} connection(s) lose ports to it\n")
    return head + "".join(f"  {d['src']} -> {d['dst']}: {d['action']} on {_ports_text(d['protocols'])}"
                          f"{' (connection removed)' if d['removed'] else ''}\n" for d in dropped)


def _ports_text(ports: dict[str, list[list[int]]]) -> str:
    return ", ".join(f"{p}/{a}" if a == b else f"{p}/{a}-{b}" for p, ranges in ports.items() for a, b in ranges)
