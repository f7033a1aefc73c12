"""`kubeward advise` as text: what was written, the proof, what else the set allows, and the diff
against the current configuration."""

from __future__ import annotations

from collections.abc import Iterator

from ..analyses.advise_proof import Checked, Proof
from ..diagnostics import escape
from .text import config_diff


def _decided(c: Checked) -> str:
    if c.decided is None:
        return ""
    where = f" ({c.decided.step.where})" if c.decided.step.where else ""
    return f" — {c.decided.phrase}{where}"


def advise_lines(proof: Proof) -> Iterator[str]:
    s = proof.summary()
    advice = proof.advice
    yield f"options: {', '.join(proof.options)}; dialect: {advice.dialect}\n"
    yield (f"{s['observedAllowed']} distinct allowed flows observed ({s['observedDenied']} denied, {s['apart']} "
           f"replies or non-policy verdicts set apart, {s['skipped']} not writable)\n")
    yield f"wrote {s['policies']} policies in {s['files']} files:\n"
    for ns, file in proof.files.items():
        names = ", ".join(p.name for p in advice.policies[ns])
        yield escape(f"  {file}: {names}") + "\n"
    for sk in advice.skipped:
        k = sk.flow.key
        yield escape(f"not written: {k.source.display} → {k.destination.display} {k.protocol}/{k.port} "
                     f"({sk.flow.where}): {sk.reason}") + "\n"
    yield "\nproof: every observed allowed flow against the written set\n"
    for c in proof.checked:
        mark = "ok  " if c.allowed else ("above" if c.above else "FAIL")
        asked = f" (asked as {c.asked})" if c.asked not in (c.observed.dst,) else ""
        yield escape(f"  {mark} {c.observed.label}{asked} ×{c.observed.flow.count}{_decided(c)}") + "\n"
    if proof.failures:
        yield (f"{len(proof.failures)} observed allowed flow(s) NOT allowed by the written set: a bug of the "
               "advice or a case it does not model\n")
    else:
        above = s["deniedAbove"]
        note = f" ({above} denied above the network by the input's mesh policies, which stay)" if above else ""
        yield f"the proof holds: {s['proven']} of {s['observedAllowed']} flows allowed{note}\n"
    yield "\nallowed beyond the observed pairs and ports:\n"
    if not proof.beyond:
        yield "  nothing\n"
    for b in proof.beyond:
        yield escape(f"  {b.src} → {b.dst} {b.ports}") + "\n"
    if proof.diff is not None:
        yield "\n"
        yield config_diff(proof.diff)
