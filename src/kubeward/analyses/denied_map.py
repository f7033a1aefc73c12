"""`map --denied` (issue 17): what is denied, beside what the map allows.

"Everything not allowed" is every other port of every pair: too much to be read. What a person
asks is which of the ports a workload *listens on* others cannot reach, and which rule stops them.
So the questions are: for each destination workload, each of its declared container ports, each
source workload (and ``world``); a denied one is answered with the deciding step of the engine
(the same verdict as ``explain``), and the rows are grouped: one row per destination port and
deciding rule, listing its sources. Bounded: at most ``limit`` questions (``-n``/``--workload``
narrow it), the rest counted, never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..engine.flow import FlowEnd, decide
from ..engine.trace import Effect
from .flows import Decider
from .session import Analysis, resolve_peer

DENIED_LIMIT = 200_000  # questions (source × destination port) a --denied map asks at most


@dataclass(slots=True)
class DeniedRow:
    """One destination port that the ``sources`` cannot reach, and the rule that says so."""

    dst: str
    protocol: str
    port: int
    port_name: str
    decided: Decider | None
    sources: list[str] = field(default_factory=list)

    @property
    def phrase(self) -> str:
        if self.decided is None:
            return "denied"
        s, p = self.decided.step, self.decided.step.policy
        where = f" ({p.file}:{s.line or p.line})" if p is not None else ""
        return f"{self.decided.phrase}, {s.direction.value}{where}"

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"dst": self.dst, "protocol": self.protocol, "port": self.port}
        if self.port_name:
            out["portName"] = self.port_name
        out["sources"] = self.sources
        out["decidedBy"] = self.decided.to_json() if self.decided is not None else None
        return out


@dataclass(slots=True)
class DeniedMap:
    rows: list[DeniedRow]
    pairs: int          # denied (source, destination port) questions
    asked: int          # questions asked
    skipped: int = 0    # questions past the limit, not asked

    def to_json(self) -> dict[str, object]:
        return {"rows": [r.to_json() for r in self.rows], "pairs": self.pairs, "asked": self.asked,
                "notAsked": self.skipped}


def denied_map(analysis: Analysis, namespaces: Sequence[str] = (), workloads: Sequence[str] = (),
               limit: int = DENIED_LIMIT) -> DeniedMap:
    """The declared ports each workload (and ``world``) cannot reach on each other workload, with an
    end in ``namespaces``/``workloads`` when given; grouped by destination port and deciding rule."""
    cluster, engine = analysis.cluster, analysis.engine
    u = engine.universe
    wanted, focused = set(namespaces), set(workloads)

    def focus(w: str) -> bool:
        return not (wanted or focused) or w in focused or w.split("/", 1)[0] in wanted

    ends = {w.id: FlowEnd(u.identities_of[w.id][0], w.id, w) for w in cluster.workloads if w.id in u.identities_of}
    sources: list[tuple[str, FlowEnd]] = [("world", resolve_peer(analysis, "world", "from")), *sorted(ends.items())]
    rows: dict[tuple[str, str, int, object], DeniedRow] = {}
    pairs = asked = skipped = 0
    for dst_id, dst in sorted(ends.items()):
        w = dst.workload
        assert w is not None
        ports = sorted({(p.protocol, p.port, p.name) for p in w.ports})
        for src_id, src in sources:
            # a pod reaching itself is always allowed (NP-7); two pods of one workload are asked like any pair
            if (src_id == dst_id and w.single_pod) or not (focus(src_id) or focus(dst_id)):
                continue
            for protocol, port, name in ports:
                if asked >= limit:
                    skipped += 1
                    continue
                asked += 1
                verdict = decide(engine, src, dst, protocol, port)
                if verdict.allowed:
                    continue
                pairs += 1
                deny = next((s for s in verdict.steps if s.effect is Effect.DENY), None)
                decided = Decider(deny) if deny is not None else None
                key = (dst_id, protocol, port, decided.to_json().__repr__() if decided else None)
                row = rows.get(key)
                if row is None:
                    row = rows[key] = DeniedRow(dst_id, protocol, port, name, decided)
                row.sources.append(src_id)
    return DeniedMap(list(rows.values()), pairs, asked, skipped)


__all__ = ["DENIED_LIMIT", "DeniedMap", "DeniedRow", "denied_map"]
