"""The proof of `kubeward advise` (issue 14): the written policies analysed with the input's other
objects (its own network policies removed), under the input's profile — every observed allowed
flow must be allowed, and what else the set allows is listed against the observed pairs and ports,
and as the `diff` of what is allowed against the current configuration."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, replace

from ..diagnostics import Diagnostics
from ..engine.options import Cni
from ..engine.portset import EMPTY, PortSet
from ..engine.trace import Effect, Layer, Step
from ..errors import UsageError
from ..loader import load_paths
from .advise import Advice, Observed, namespace_yaml
from .connectivity_map import ConnectivityMap, MapPeer, PeerType, connectivity_map
from .diff import ConfigDiff, diff
from .explain import Explanation, explain
from .flows import Decider
from .session import Analysis, analyse_objects

# The kinds the written set replaces: the network policies of every dialect. The mesh's policies
# (Istio) and every other object stay.
REPLACED_KINDS = frozenset({"NetworkPolicy", "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy",
                            "AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "GlobalNetworkPolicy",
                            "ClusterNetworkPolicy"})


@dataclass(slots=True)
class Checked:
    observed: Observed
    allowed: bool
    asked: str                      # the destination the engine was asked about
    decided: Decider | None
    above: bool = False             # denied by the mesh layer kept from the input, not by the written set

    def to_json(self) -> dict[str, object]:
        out = self.observed.to_json()
        out.update(asked=self.asked, allowed=self.allowed,
                   decidedBy=self.decided.to_json() if self.decided else None)
        if self.above:
            out["deniedAbove"] = True
        return out


@dataclass(slots=True)
class Beyond:
    """A connection the written set allows on ports no observed flow used."""

    src: str
    dst: str
    ports: PortSet

    def to_json(self) -> dict[str, object]:
        return {"src": self.src, "dst": self.dst, "protocols": self.ports.to_json()}


@dataclass(slots=True)
class Proof:
    advice: Advice
    files: dict[str, str]            # namespace -> file written
    options: list[str]
    checked: list[Checked] = field(default_factory=list)
    beyond: list[Beyond] = field(default_factory=list)
    diff: ConfigDiff | None = None
    diagnostics: Diagnostics = field(default_factory=Diagnostics)  # of the written files
    analysis: Analysis | None = field(default=None, repr=False)     # the written set with the input's workloads

    @property
    def failures(self) -> list[Checked]:
        return [c for c in self.checked if not c.allowed and not c.above]

    @property
    def exit_code(self) -> int:
        if self.diagnostics.has_errors:
            return 2
        return 1 if self.failures else 0

    def summary(self) -> dict[str, object]:
        return {"observedAllowed": len(self.advice.observed), "observedDenied": self.advice.observed_denied,
                "apart": self.advice.apart, "skipped": len(self.advice.skipped),
                "policies": sum(len(p) for p in self.advice.policies.values()), "files": len(self.files),
                "proven": sum(1 for c in self.checked if c.allowed), "notAllowed": len(self.failures),
                "deniedAbove": sum(1 for c in self.checked if c.above), "beyondObserved": len(self.beyond)}

    def to_json(self) -> dict[str, object]:
        return {
            "schema": 1, "dialect": self.advice.dialect, "options": self.options, "summary": self.summary(),
            "policies": [p.to_json(self.files[ns]) for ns, ps in self.advice.policies.items() for p in ps],
            "flows": [c.to_json() for c in self.checked],
            "failures": [c.to_json() for c in self.failures],
            "skipped": [s.to_json() for s in self.advice.skipped],
            "beyondObserved": [b.to_json() for b in self.beyond],
            "diff": self.diff.to_json() if self.diff else None,
            "diagnostics": [d.to_json() for d in self.diagnostics.sorted()],
        }


def write_advice(advice: Advice, out_dir: str) -> dict[str, str]:
    """One file per namespace, ``DIR/<namespace>.yaml``; raises ``UsageError`` when DIR cannot be
    written."""
    try:
        os.makedirs(out_dir, exist_ok=True)
        files: dict[str, str] = {}
        for ns, policies in advice.policies.items():
            path = os.path.join(out_dir, f"{ns}.yaml")
            with open(path, "w", encoding="utf-8") as f:
                f.write(namespace_yaml(ns, policies, advice.dialect))
            files[ns] = path
    except OSError as exc:
        raise UsageError(f"--out {out_dir}: {exc.strerror or exc}") from exc
    return files


def prove(analysis: Analysis, advice: Advice, files: dict[str, str]) -> Proof:
    """Analyse the written ``files`` with the objects of ``analysis`` that are not network
    policies, and check the observed allowed flows against them."""
    options = analysis.options
    if advice.dialect == "cilium" and options.cni is not Cni.CILIUM:
        options = replace(options, cni=Cni.CILIUM)  # CiliumNetworkPolicies are enforced by Cilium only
    names = sorted({n for o in advice.observed for n in o.names})
    diags = Diagnostics()
    kept = [o for o in analysis.objects if o.kind not in REPLACED_KINDS]
    written = load_paths(list(files.values()), diags)
    advised = analyse_objects([*kept, *written], diags, options, extra_domains=names)
    current = analysis
    if options != analysis.options or names:
        current = analyse_objects(analysis.objects, Diagnostics(), options, extra_domains=names)
    proof = Proof(advice, files, advised.options.describe(), analysis=advised)
    for d in diags.sorted():  # the input's own diagnostics were reported with the input
        if d.file in files.values():
            proof.diagnostics.items.append(d)
    asked: dict[tuple[str, str, int, str, str, str], Explanation | str] = {}
    for o in advice.observed:
        # A name seen for an outside address: the NetworkPolicy set names the address (ipBlock), the
        # Cilium set the name (toFQDNs).
        dst = o.dst_ip if o.dst_ip and (advice.dialect != "cilium" or not o.names) else o.dst
        src = o.src_ip or o.src
        question = (src, dst, o.port, o.protocol, o.method, o.path)
        if question not in asked:  # one engine call per distinct question (DNS queries differ, verdicts not)
            try:
                asked[question] = explain(advised, src, dst, o.port, o.protocol, method=o.method or None,
                                          path=o.path or None)
            except UsageError as exc:
                asked[question] = str(exc)
        ex = asked[question]
        if isinstance(ex, str):
            proof.diagnostics.error("advise-unplaceable", f"{o.label}: {ex}", o.flow.where.rpartition(":")[0])
            continue
        if ex.allowed:
            proof.checked.append(Checked(o, True, dst, _last_allow(ex.verdict.steps)))
            continue
        deny = next((s for s in ex.verdict.steps if s.effect is Effect.DENY), None)
        decided = Decider(deny) if deny is not None else None
        above = deny is not None and deny.layer is not Layer.CNI and deny.policy is not None \
            and deny.policy.file not in files.values()
        proof.checked.append(Checked(o, False, dst, decided, above))
    governed = set(advice.policies)  # the namespaces written: elsewhere, what is allowed did not change
    proof.beyond = [b for b in beyond_observed(connectivity_map(advised), advice.observed)
                    if {b.src.partition("/")[0], b.dst.partition("/")[0]} & governed
                    and (advised.cluster.workload(b.src) or advised.cluster.workload(b.dst))]
    proof.diff = diff(current, advised, "current", "advised")
    return proof


def _last_allow(steps: list[Step]) -> Decider | None:
    allows = [s for s in steps if s.effect is Effect.ALLOW and s.policy is not None]
    return Decider(allows[-1]) if allows else None


def beyond_observed(cmap: ConnectivityMap, observed: list[Observed]) -> list[Beyond]:
    """Per connection of the written set's map: the ports no observed flow between its ends used."""
    peers = {p.id: p for p in cmap.peers}
    seen: dict[tuple[str, str], PortSet] = {}
    for o in observed:
        pair = (o.src, o.dst)
        seen[pair] = seen.get(pair, EMPTY) | PortSet.of(o.protocol, o.port, o.port)
    out: list[Beyond] = []
    for c in cmap.connections:
        used = EMPTY
        for (src, dst), ports in seen.items():
            if _is(peers.get(c.src), c.src, src, [o.src_ip for o in observed if o.src == src]) and \
                    _is(peers.get(c.dst), c.dst, dst, [o.dst_ip for o in observed if o.dst == dst]):
                used = used | ports
        rest = c.ports - used
        if rest:
            out.append(Beyond(c.src, c.dst, rest))
    return out


def _is(peer: MapPeer | None, peer_id: str, observed: str, ips: list[str]) -> bool:
    """Whether the map peer ``peer_id`` is the observed end: the same workload, or a network
    holding an address seen for it."""
    if peer_id == observed:
        return True
    cidrs = peer.cidrs if peer is not None and peer.type is PeerType.NETWORK else ()
    for ip in ips:
        if ip and any(ipaddress.ip_address(ip) in ipaddress.ip_network(c) for c in cidrs):
            return True
    return False
