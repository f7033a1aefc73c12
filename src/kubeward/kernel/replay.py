"""Replay an analysis on the real kernel and compare every probe with the engine's verdict.

Steps: address every endpoint (pods: their status IP when it is IPv4 and unique, else one
allocated in a private /16 that lies inside one address piece, so no CIDR of the input tells it
apart; address pieces: one address each), compile each identity's tier pipeline into nftables
(``nft.py``), build the namespaces (``topology.py``), probe every pair × representative port
(``probe.py``), ask the engine (``engine.flow.decide``) for each pair's allowed ports, and report
agreements and disagreements, with the engine's trace and the nft rules whose counters moved
when the disagreeing probe is run again alone. With an XDP program (``--xdp``, ``replay_xdp.py``)
it is attached in front of every destination pod and is the first layer of each probe's verdict.
"""

from __future__ import annotations

import ipaddress
import random
import re
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from types import FrameType
from typing import Any

from ..engine.engine import Engine
from ..engine.flow import FlowEnd, FlowVerdict, decide
from ..engine.options import Mesh
from ..engine.portset import PortSet
from ..engine.universe import Identity, Network
from ..ir import MAX_PORT, NamedPort, PortRange
from .nft import TABLE, Addressing, Compiler
from .probe import Outcome, Probe, Result, run_probes
from .replay_xdp import DROP_WAIT, XdpReplay, XdpTamper, attach, characterise, xdp_ports
from .topology import KernelUnavailable, Topology, check_available, remove_stale
from .xdp import XdpLayer, XdpVerdict

SCHEMA = 1
PROBED_PROTOCOLS = ("TCP", "UDP")
MOVED_SHOWN = 10  # the disagreements whose probe is run again alone to read the moved counters
_FORBIDDEN = [ipaddress.IPv4Network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/3")]
_POD_RANGES = [ipaddress.IPv4Network(f"10.{i}.0.0/16") for i in range(200, 256)] + [
    ipaddress.IPv4Network(f"172.{i}.0.0/16") for i in range(16, 32)]
_COUNTER = re.compile(r"counter packets (\d+) bytes \d+ ?")
_HANDLE = re.compile(r" # handle (\d+)$")


@dataclass(frozen=True, slots=True)
class Endpoint:
    index: int      # the universe's endpoint index
    label: str
    address: str
    endpoint: Identity | Network

    @property
    def identity(self) -> Identity | None:
        return self.endpoint if isinstance(self.endpoint, Identity) else None


@dataclass(slots=True)
class Disagreement:
    probe: Probe
    source: str
    destination: str
    engine: str         # allow / deny
    kernel: Result
    xdp: XdpVerdict | None = None  # the program's characterised answer (None: no program in front)
    trace: list[dict[str, Any]] = field(default_factory=list)
    moved: list[dict[str, Any]] = field(default_factory=list)

    @property
    def layer(self) -> str:
        """The layer whose verdict the engine side is: ``xdp`` when the program drops it, else ``cni``."""
        return "xdp" if self.xdp is not None and self.xdp.dropped else "cni"

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "destination": self.destination, "protocol": self.probe.protocol,
                "port": self.probe.port, "engine": self.engine, "engine_layer": self.layer,
                "xdp": self.xdp.action.label if self.xdp else None, "kernel": self.kernel.outcome.value,
                "kernel_detail": self.kernel.detail, "trace": self.trace, "moved_rules": self.moved}


@dataclass(slots=True)
class ReplayReport:
    endpoints: int = 0
    identities: int = 0
    outside: int = 0
    ports: dict[str, list[int]] = field(default_factory=dict)
    candidates: int = 0
    probes: int = 0
    sampled: bool = False
    agreements: int = 0
    allowed: int = 0
    denied: int = 0
    dropped: int = 0    # agreements: the XDP program drops it, and the kernel's probe got no answer
    xdp: XdpReplay | None = None
    disagreements: list[Disagreement] = field(default_factory=list)
    not_replayed: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    nft_rules: int = 0
    retried: int = 0

    @property
    def exit_code(self) -> int:
        return 1 if self.disagreements else 0

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "endpoints": self.endpoints, "identities": self.identities,
                "outside": self.outside, "ports": self.ports, "candidates": self.candidates,
                "probes": self.probes, "sampled": self.sampled, "agreements": self.agreements,
                "allowed": self.allowed, "denied": self.denied, "dropped": self.dropped,
                "xdp": self.xdp.to_json() if self.xdp else None, "nft_rules": self.nft_rules, "retried": self.retried,
                "disagreements": [d.to_json() for d in self.disagreements],
                "not_replayed": self.not_replayed, "seconds": self.seconds}


# A test hook: called with each identity's nft text, returns the text to load (None: as compiled).
Tamper = Callable[[Identity, str], str]


def replay(engine: Engine, *, max_probes: int = 20000, timeout: float = 1.0, concurrency: int = 256,
           tamper: Tamper | None = None, verdicts: Callable[[FlowVerdict], PortSet] | None = None,
           xdp: XdpLayer | None = None, xdp_tamper: XdpTamper | None = None) -> ReplayReport:
    """Replay ``engine``'s configuration on the kernel. Raises ``KernelUnavailable`` when it cannot run,
    ``ProgramError`` when ``xdp`` cannot be attached. ``xdp``: an XDP program attached in front of
    every destination pod. ``verdicts``, ``xdp_tamper`` (tests): replace the engine's allowed ports
    of a pair, the program's characterised verdict of a probe."""
    check_available()
    remove_stale()
    report = ReplayReport()
    started = time.monotonic()
    if engine.options.mesh is Mesh.ISTIO:
        report.not_replayed.append("the Istio mesh layer (AuthorizationPolicies, mTLS): the replay checks the "
                                   "CNI's L3/L4 policies only")
        engine = Engine(engine.cluster, replace(engine.options, mesh=Mesh.NONE))
    endpoints = _endpoints(engine, report)
    ports = _ports(engine, xdp_ports(engine.cluster) if xdp is not None else [])
    report.ports = {p: list(v) for p, v in ports.items()}
    pairs = [(s, d) for s, a in enumerate(endpoints) for d, b in enumerate(endpoints)
             if s != d and (a.identity is not None or b.identity is not None)]
    port_list = [(proto, port) for proto in PROBED_PROTOCOLS for port in ports[proto]]
    report.candidates = len(pairs) * len(port_list)
    chosen: range | list[int] = range(report.candidates)
    if report.candidates > max_probes:
        chosen = sorted(random.Random(15).sample(range(report.candidates), max_probes))
        report.sampled = True
    probes = [Probe(*pairs[i // len(port_list)], *port_list[i % len(port_list)]) for i in chosen]
    report.probes = len(probes)
    addressing = Addressing({e.index: int(ipaddress.IPv4Address(e.address)) for e in endpoints if e.identity},
                            {e.index: int(ipaddress.IPv4Address(e.address)) for e in endpoints if not e.identity})
    compiler = Compiler(engine, addressing)
    tables: dict[int, str] = {}
    for n, e in enumerate(endpoints):
        if e.identity is not None:
            text = compiler.table(e.identity)
            tables[n] = tamper(e.identity, text) if tamper else text
    report.nft_rules = sum(t.count(" counter ") + t.count("\tcounter ") for t in tables.values())
    report.seconds["compile"] = round(time.monotonic() - started, 3)
    xdp_verdicts: list[XdpVerdict | None] = [None] * len(probes)
    if xdp is not None:
        t0 = time.monotonic()
        report.xdp = XdpReplay(xdp)
        runs = xdp.runs
        pods = {n for n, e in enumerate(endpoints) if e.identity is not None}
        xdp_verdicts = characterise(xdp, [e.address for e in endpoints], pods, probes, xdp_tamper)
        report.xdp.packets = xdp.runs - runs
        report.seconds["xdp"] = round(time.monotonic() - t0, 3)
    drops = [i for i, v in enumerate(xdp_verdicts) if v is not None and v.dropped]
    if report.xdp is not None:
        report.xdp.expected_dropped = len(drops)
    topology = Topology([e.address for e in endpoints])
    with _cleanup_on_signals():
        try:
            t0 = time.monotonic()
            try:
                topology.build()
            except RuntimeError as exc:  # ip refused: a kernel without veth, namespaces, …
                raise KernelUnavailable(f"could not build the replay's network namespaces ({exc}); the replay "
                                        "needs network namespaces and veth pairs (module veth)") from exc
            Topology.parallel(lambda n: _load(topology, n, tables[n]), sorted(tables), 4)
            if xdp is not None and report.xdp is not None:
                attach(topology, xdp, sorted({p.destination for p in probes if endpoints[p.destination].identity}),
                       report.xdp)
            report.seconds["setup"] = round(time.monotonic() - t0, 3)
            t0 = time.monotonic()
            results = _probe_all(topology, probes, set(drops), timeout, concurrency, report)
            report.seconds["probe"] = round(time.monotonic() - t0, 3)
            t0 = time.monotonic()
            _compare(engine, endpoints, probes, results, report, verdicts, xdp_verdicts)
            for d in report.disagreements[:MOVED_SHOWN]:
                d.moved = _moved_rules(topology, d.probe, timeout, tables)
            report.seconds["compare"] = round(time.monotonic() - t0, 3)
        finally:
            t0 = time.monotonic()
            topology.destroy()
            report.seconds["cleanup"] = round(time.monotonic() - t0, 3)
    report.seconds["total"] = round(time.monotonic() - started, 3)
    return report


def _probe_all(topology: Topology, probes: list[Probe], drops: set[int], timeout: float, concurrency: int,
               report: ReplayReport) -> list[Result]:
    """Every probe; the ones the XDP program drops (``drops``) after the others, once, with a
    short wait, their timeout called ``dropped``."""
    first = [i for i in range(len(probes)) if i not in drops]
    results: list[Result] = [Result(Outcome.ERROR, "not run")] * len(probes)
    for i, r in zip(first, run_probes(topology, [probes[i] for i in first], timeout, concurrency), strict=True):
        results[i] = r
    # A veth's queue starts when the kernel's link watch sees its carrier (up to a second
    # after "up"): the first packets may be lost. Rejections are immediate, so a timeout is
    # never a verdict of the compiled rules: a probe that timed out is run again. The probes the
    # XDP program drops run here too, after every destination's link has carried the first
    # round (so their silence is the program's), with a short wait and no retry.
    again = [i for i in first if results[i].outcome is Outcome.TIMEOUT]
    report.retried = len(again)
    later = again + sorted(drops)
    waits = [timeout] * len(again) + [min(timeout, DROP_WAIT)] * len(drops)
    for i, r in zip(later, run_probes(topology, [probes[i] for i in later], timeout, concurrency, waits),
                    strict=True):
        if i in drops and r.outcome is Outcome.TIMEOUT:
            r = Result(Outcome.DROPPED, f"no answer within {min(timeout, DROP_WAIT):g}s (XDP_DROP is silent)")
        results[i] = r
    return results


def _load(topology: Topology, n: int, text: str) -> None:
    try:
        topology.run(topology.name(n), ["nft", "-f", "-"], text)
    except RuntimeError as exc:
        # The text is the compiler's: what nft refuses here is a feature this kernel or nft lacks.
        raise KernelUnavailable(f"nft could not load a compiled ruleset ({exc}); the replay needs nf_tables with "
                                "inet tables, conntrack (ct state), interval sets and reject with icmpx "
                                "(modules nf_tables, nft_ct, nft_reject_inet)") from exc


@contextmanager
def _cleanup_on_signals() -> Iterator[None]:
    """SIGTERM (and SIGHUP) unwind like Ctrl-C, so the ``finally`` removes the namespaces."""
    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _endpoints(engine: Engine, report: ReplayReport) -> list[Endpoint]:
    u = engine.universe
    taken: set[int] = set()
    out: list[Endpoint] = []
    fresh = _allocator(engine, taken)
    for ident in u.identities:
        address = next((ip for ip in ident.ips if _usable(ip) and int(ipaddress.IPv4Address(ip)) not in taken), None)
        value = int(ipaddress.IPv4Address(address)) if address is not None else fresh()
        taken.add(value)
        out.append(Endpoint(ident.index, ident.display, str(ipaddress.IPv4Address(value)), ident))
    report.identities = len(out)
    skipped: list[str] = []
    for net in u.networks:
        if net.version != 4:
            skipped.append(net.id)
            continue
        outside = _outside_address(net, taken)
        if outside is None:
            skipped.append(net.id)
            continue
        taken.add(outside)
        out.append(Endpoint(net.index, net.id, str(ipaddress.IPv4Address(outside)), net))
    report.outside = len(out) - report.identities
    report.endpoints = len(out)
    if skipped:
        report.not_replayed.append(f"address pieces without a usable IPv4 address (IPv6, loopback, link-local, "
                                   f"multicast): {', '.join(skipped[:10])}" + (" …" if len(skipped) > 10 else ""))
    if u.domains:
        report.not_replayed.append(f"FQDN peers ({', '.join(d.name for d in u.domains[:10])}): their addresses "
                                   "come from DNS at run time")
    if any(r.l7 is not None for p in engine.cluster.policies for r in (*p.ingress, *p.egress)):
        report.not_replayed.append("L7 rules (Cilium HTTP, DNS, Kafka): the kernel checks their L3/L4 part only")
    assumed = [w.id for w in engine.cluster.workloads if w.assumed]
    if assumed:
        report.not_replayed.append(f"entry points (Ingress, Gateway, LoadBalancer paths): replayed as the pods of "
                                   f"their stand-in workloads only ({', '.join(assumed[:5])})")
    if any(i.host_network for i in u.identities):
        report.not_replayed.append("hostNetwork pods: replayed as pods of their own namespace (no policy selects "
                                   "them, NP-25)")
    report.not_replayed.append("SCTP: compiled into the rulesets, not probed (that needs the kernel's sctp "
                               "module, which a replay does not load: it changes the host); a pod to itself "
                               "(NP-7) and address piece to address piece are not probed")
    return out


def _usable(ip: str) -> bool:
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return a.version == 4 and not any(a in n for n in _FORBIDDEN)


def _allocator(engine: Engine, taken: set[int]) -> Callable[[], int]:
    """Addresses for pods without one: a private /16 inside one address piece (no CIDR of the
    input tells its addresses apart) and clear of every known pod address."""
    u = engine.universe
    known = {int(ipaddress.IPv4Address(ip)) for i in u.identities for ip in i.ips if _usable(ip)}
    block: ipaddress.IPv4Network | None = None
    for net in _POD_RANGES:
        first, last = int(net.network_address), int(net.broadcast_address)
        atom = u.atom_of(str(net.network_address))
        if atom is not None and atom.last >= last and not any(first <= k <= last for k in known):
            block = net
            break
    if block is None:
        block = _POD_RANGES[0]
    addresses = iter(range(int(block.network_address) + 1, int(block.broadcast_address)))

    def fresh() -> int:
        for value in addresses:
            if value not in taken:
                return value
        raise RuntimeError("no pod addresses left")
    return fresh


def _outside_address(net: Network, taken: set[int]) -> int | None:
    size = net.last - net.first
    after = [int(f.broadcast_address) + 1 for f in _FORBIDDEN]
    for value in (net.first + size // 2, net.first + size // 4, net.first + 1, net.first, net.last - 1, net.last,
                  *after):
        if net.first <= value <= net.last and value not in taken and _usable(str(ipaddress.IPv4Address(value))):
            return value
    return None


def _ports(engine: Engine, extra: list[tuple[str, int]]) -> dict[str, tuple[int, ...]]:
    """One port per class the policies tell apart (the start of each elementary interval of
    the ranges they name, named ports resolved in every pod), and one port no policy names;
    and the ``extra`` ports (those an XDP program is characterised on)."""
    cuts: dict[str, set[int]] = {p: set() for p in PROBED_PROTOCOLS}
    for proto, port in extra:
        cuts[proto].add(port)
    named = {n.name for p in engine.cluster.policies for r in (*p.ingress, *p.egress) for n in r.ports or ()
             if isinstance(n, NamedPort)}
    for p in engine.cluster.policies:
        for r in (*p.ingress, *p.egress):
            for m in r.ports or ():
                if isinstance(m, PortRange) and m.protocol in cuts:
                    cuts[m.protocol].update({m.first, m.last + 1})
    for ident in engine.universe.identities:
        for cp in ident.ports:
            if cp.name in named and cp.protocol in cuts:
                cuts[cp.protocol].update({cp.port, cp.port + 1})
    out: dict[str, tuple[int, ...]] = {}
    for proto, points in cuts.items():
        reps = sorted(x for x in points if 1 <= x <= MAX_PORT)
        unnamed = next(x for x in range(7777, MAX_PORT) if not reps or x < reps[0] or x > reps[-1] or x not in points)
        out[proto] = tuple(sorted({*reps, unnamed}))
    return out


def _compare(engine: Engine, endpoints: list[Endpoint], probes: list[Probe], results: list[Result],
             report: ReplayReport, verdicts: Callable[[FlowVerdict], PortSet] | None,
             xdp_verdicts: list[XdpVerdict | None]) -> None:
    by_pair: dict[tuple[int, int], FlowVerdict] = {}
    for p, r, x in zip(probes, results, xdp_verdicts, strict=True):
        if x is not None and x.dropped:
            # The XDP layer first: the packet never reaches the CNI; the probe must go unanswered.
            if report.xdp is not None:
                report.xdp.probes.append({"source": endpoints[p.source].label,
                                          "destination": endpoints[p.destination].label, "protocol": p.protocol,
                                          "port": p.port, "action": x.action.label, "kernel": r.outcome.value,
                                          "agrees": r.outcome is Outcome.DROPPED})
            if r.outcome is Outcome.DROPPED:
                report.agreements += 1
                report.dropped += 1
            else:
                report.disagreements.append(_disagreement(engine, endpoints, p, r, "deny", x))
            continue
        key = (p.source, p.destination)
        verdict = by_pair.get(key)
        if verdict is None:
            verdict = by_pair[key] = decide(engine, _end(endpoints[p.source]), _end(endpoints[p.destination]),
                                            None, None)
            if verdicts is not None:
                verdict.allowed_ports = verdicts(verdict)
        engine_allows = verdict.allowed_ports.contains(p.protocol, p.port)
        kernel_allows = r.outcome is Outcome.ALLOWED
        # The compiled rulesets deny with a reject (an immediate answer) and a probe that timed out
        # was run twice: a silence is no verdict of the rules (a wiring fault, a silent drop the
        # compilation never writes), so it never agrees with a denial.
        if engine_allows == kernel_allows and r.outcome not in (Outcome.ERROR, Outcome.TIMEOUT):
            report.agreements += 1
            if kernel_allows:
                report.allowed += 1
            else:
                report.denied += 1
            continue
        report.disagreements.append(_disagreement(engine, endpoints, p, r, "allow" if engine_allows else "deny", x))


def _disagreement(engine: Engine, endpoints: list[Endpoint], p: Probe, r: Result, expected: str,
                  x: XdpVerdict | None) -> Disagreement:
    flow = decide(engine, _end(endpoints[p.source]), _end(endpoints[p.destination]), p.protocol, p.port)
    steps = [s.to_json() for s in flow.steps]
    if x is not None:
        steps.insert(0, {"layer": "xdp", "direction": "ingress", "effect": "deny" if x.dropped else "none",
                         "message": f"XDP program {x.program} (section {x.section}) at the destination's NIC: "
                                    f"{x.action.label} for {p.protocol}/{p.port}, "
                                    f"{endpoints[p.source].address} → {endpoints[p.destination].address} "
                                    "(BPF_PROG_TEST_RUN)"})
    return Disagreement(p, endpoints[p.source].label, endpoints[p.destination].label, expected, r, xdp=x, trace=steps)


def _end(e: Endpoint) -> FlowEnd:
    ident = e.identity
    if ident is not None:
        return FlowEnd(ident, e.label, ident.workloads[0] if ident.workloads else None, e.address)
    return FlowEnd(e.endpoint, e.label, None, e.address)


def _counters(topology: Topology, n: int) -> dict[str, tuple[int, str, str]]:
    """handle → (packets, chain, rule text without its counter) in namespace ``n``'s table."""
    text = topology.run(topology.name(n), ["nft", "-a", "list", "table", "inet", TABLE])
    out: dict[str, tuple[int, str, str]] = {}
    chain = ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("chain "):
            chain = line.split()[1]
        m = _COUNTER.search(line)
        h = _HANDLE.search(line)
        if m and h:
            rule = _HANDLE.sub("", _COUNTER.sub("counter ", line)).strip()
            out[h.group(1)] = (int(m.group(1)), chain, rule)
    return out


def _moved_rules(topology: Topology, probe: Probe, timeout: float, tables: dict[int, str]) -> list[dict[str, Any]]:
    """Run the probe again alone; the rules whose counters moved, in the source's then the
    destination's namespace."""
    sides = [(n, "source" if n == probe.source else "destination") for n in (probe.source, probe.destination)
             if n in tables]
    before = {n: _counters(topology, n) for n, _ in sides}
    run_probes(topology, [probe], timeout, 1)
    moved: list[dict[str, Any]] = []
    for n, role in sides:
        after = _counters(topology, n)
        for handle, (packets, chain, rule) in after.items():
            old = before[n].get(handle, (0, "", ""))[0]
            if packets > old:
                moved.append({"namespace": role, "chain": chain, "rule": rule, "packets": packets - old})
    return moved
