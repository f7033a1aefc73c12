"""The XDP layer in `explain` and `map` (``--xdp OBJECT.o[:SECTION]``, issue 15).

The program runs at the NIC of the destination pod's node, before the CNI: it applies to flows
whose destination is a pod. For each flow kubeward crafts the packet (the source's and the
destination's addresses — a pod's from its status, else an assumed address in 10.255.0.0/16,
said so — protocol, destination port) and runs it through BPF_PROG_TEST_RUN.

Which ports are run: one port when the question names it; else, within the ports the CNI allows,
the first and last of each range and every port a policy or a container of the input names there
(``probe_ports``): the program is characterised on those ports only, and the answer says so.
"""

from __future__ import annotations

import ipaddress
import zlib

from ..analyses.connectivity_map import ConnectivityMap, PeerType
from ..analyses.explain import Explanation
from ..engine.flow import FlowEnd
from ..engine.portset import PortSet
from ..engine.trace import Effect, Layer, Reason, Step, StepTier
from ..errors import UsageError
from ..ir import Direction, PortRange
from ..model import Cluster, Workload
from .xdp import Query, XdpLayer, XdpVerdict

MAX_QUERIES = 50_000  # packets one map may run (each is one BPF_PROG_TEST_RUN)


class XdpTooMuch(UsageError):
    """The map would run more packets than MAX_QUERIES."""


def assumed_address(ident: str) -> str:
    """A stable stand-in address for a pod the input gives no address: 10.255.x.y."""
    n = zlib.crc32(ident.encode()) % 65_534 + 1
    return f"10.255.{n >> 8}.{n & 0xFF}"


def workload_address(w: Workload) -> tuple[str, bool]:
    """The first address of the workload's pods, or an assumed one (second item True)."""
    for ips in w.pod_ips:
        if ips:
            return ips[0], False
    return assumed_address(w.id), True


def end_address(end: FlowEnd, family: int = 4) -> tuple[str, bool] | None:
    """The address of a flow's end, or None (a DNS name: no address to put in a packet)."""
    if end.address:
        try:
            ipaddress.ip_address(end.address)
        except ValueError:
            return None
        return end.address, False
    if end.workload is not None:
        return workload_address(end.workload)
    return None


def policy_ports(cluster: Cluster) -> list[tuple[str, int]]:
    """Every port number a rule of the input names (range edges included), and every port a
    container of the input declares."""
    found: set[tuple[str, int]] = {(cp.protocol, cp.port) for w in cluster.workloads for cp in w.ports}
    for p in cluster.policies:
        for rule in (*p.ingress, *p.egress):
            for port in rule.ports or ():
                if isinstance(port, PortRange):
                    found.update({(port.protocol, port.first), (port.protocol, port.last)})
    return sorted(found)


def probe_ports(allowed: PortSet, named: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The ports of ``allowed`` the program is run on: each range's first and last port, and the
    named ports inside the set."""
    out: dict[tuple[str, int], None] = {}
    for protocol, ranges in allowed.items():
        if protocol not in ("TCP", "UDP", "SCTP"):
            continue
        for first, last in ranges:
            out[(protocol, first)] = None
            out[(protocol, last)] = None
    for protocol, port in named:
        if allowed.contains(protocol, port):
            out[(protocol, port)] = None
    return list(out)


def _family_match(src: str, dst: str) -> str:
    """Sources and destinations must share a family; an IPv6 end meets an IPv4 one as ::ffff:a.b.c.d."""
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if s.version == d.version:
        return src
    return str(ipaddress.IPv6Address(f"::ffff:{s}")) if s.version == 4 else str(s.ipv4_mapped or "0.0.0.0")


def xdp_step(layer: XdpLayer, dropped: list[tuple[str, int, XdpVerdict]], probed: int, destination: str,
             src: str, dst: str, assumed: bool) -> Step:
    """The trace step of the XDP layer: which probed packets the program dropped."""
    where = f"{src} → {dst}" + (" (addresses assumed: not in the input)" if assumed else "")
    if dropped:
        action = dropped[0][2].action.label
        ports = ", ".join(f"{p}/{n}" for p, n, _ in dropped[:8]) + (" …" if len(dropped) > 8 else "")
        msg = (f"dropped at the node's NIC by XDP program {layer.label} (section {layer.section}): {action} "
               f"for {ports}, {where}")
        return Step(Layer.XDP, Direction.INGRESS, destination, StepTier.XDP, Reason.XDP_DROPPED, Effect.DENY, msg,
                    xdp=(layer.label, layer.section, action))
    msg = (f"XDP program {layer.label} (section {layer.section}) passes it: XDP_PASS for the {probed} "
           f"packet(s) run, {where}")
    return Step(Layer.XDP, Direction.INGRESS, destination, StepTier.XDP, Reason.XDP_PASSED, Effect.NONE, msg,
                xdp=(layer.label, layer.section, "XDP_PASS"))


def apply_to_flow(layer: XdpLayer, cluster: Cluster, source: FlowEnd, destination: FlowEnd,
                  protocol: str | None, port: int | None, allowed: PortSet) -> tuple[Step | None, PortSet]:
    """The XDP step of one flow (None: the destination is not a pod) and the ports left allowed."""
    if destination.workload is None:
        return None, allowed
    dst_found, src_found = end_address(destination), end_address(source)
    if dst_found is None or src_found is None:
        return None, allowed
    (dst, dst_assumed), (src, src_assumed) = dst_found, src_found
    src = _family_match(src, dst)
    if port is not None:
        probes = [(protocol or "TCP", port)]
    else:
        probes = probe_ports(allowed, policy_ports(cluster))
        if not probes:
            return None, allowed  # the CNI allows nothing: no packet to run
    verdicts = layer.verdicts([(src, dst, p, n) for p, n in probes])
    dropped = [(p, n, v) for (p, n), v in zip(probes, verdicts, strict=True) if v.dropped]
    left = allowed
    for p, n, _ in dropped:
        left = left - PortSet.of(p, n, n)
    step = xdp_step(layer, dropped, len(probes), destination.label, src, dst, src_assumed or dst_assumed)
    return step, left


def map_queries(pairs: list[tuple[str, str, PortSet]], named: list[tuple[str, int]]
                ) -> tuple[list[Query], list[list[tuple[str, int]]]]:
    """For each (source address, destination address, allowed ports): the packets to run."""
    queries: list[Query] = []
    per_pair: list[list[tuple[str, int]]] = []
    for src, dst, allowed in pairs:
        ports = probe_ports(allowed, named)
        per_pair.append(ports)
        src = _family_match(src, dst)
        queries.extend((src, dst, p, n) for p, n in ports)
    return queries, per_pair


def apply_to_map(layer: XdpLayer, cluster: Cluster, cmap: ConnectivityMap) -> dict[str, object]:
    """Run the program on the packets of every connection to a pod (an expanded map: one per
    pair); the ports it drops leave the connection, a connection left with none disappears.
    Returns the ``xdp`` part of the map's JSON: what was run and every drop."""
    peers = {p.id: p for p in cmap.peers}
    todo: list[tuple[int, str, str, PortSet]] = []
    for i, c in enumerate(cmap.connections):
        dst_peer, src_peer = peers.get(c.dst), peers.get(c.src)
        dst_w = cluster.workload(c.dst) if dst_peer is not None and dst_peer.type is PeerType.WORKLOAD else None
        if dst_w is None or src_peer is None:
            continue
        if src_peer.type is PeerType.WORKLOAD:
            src_w = cluster.workload(c.src)
            if src_w is None:
                continue
            src = workload_address(src_w)[0]
        elif src_peer.type is PeerType.NETWORK and src_peer.cidrs:
            net = ipaddress.ip_network(src_peer.cidrs[0], strict=False)
            src = str(net.network_address + (1 if net.num_addresses > 2 else 0))  # not the network's own address
        else:
            continue  # entry points and DNS names: no source address to put in a packet
        todo.append((i, src, workload_address(dst_w)[0], c.ports))
    queries, per_pair = map_queries([(s, d, ports) for _, s, d, ports in todo], policy_ports(cluster))
    if len(queries) > MAX_QUERIES:
        raise XdpTooMuch(f"--xdp: {len(queries)} packets to run (more than {MAX_QUERIES}): narrow the map "
                         "with --namespace or --workload")
    verdicts = iter(layer.verdicts(queries))
    dropped: list[dict[str, object]] = []
    gone: set[int] = set()
    for (i, src, dst, _), ports in zip(todo, per_pair, strict=True):
        c = cmap.connections[i]
        hit = [(p, n, v) for (p, n) in ports if (v := next(verdicts)).dropped]
        if not hit:
            continue
        lost = PortSet.from_ranges([(p, n, n) for p, n, _ in hit])
        c.ports = c.ports - lost
        if not c.ports:
            gone.add(i)
        dropped.append({"src": c.src, "dst": c.dst, "source": src, "destination": dst, "protocols": lost.to_json(),
                        "action": hit[0][2].action.label, "removed": not c.ports})
    cmap.connections = [c for i, c in enumerate(cmap.connections) if i not in gone]
    return {"object": layer.label, "section": layer.section, "packets": len(queries), "dropped": dropped}


def apply_to_explanation(layer: XdpLayer, cluster: Cluster, exp: Explanation) -> None:
    """The XDP step first in the trace (the NIC comes before the CNI); the ports it drops leave
    the verdict. Flows through entry points and Services are not run (their packets reach the
    pod from the proxy or after translation: a later issue)."""
    if exp.target is not None:
        return
    v = exp.verdict
    step, v.allowed_ports = apply_to_flow(layer, cluster, v.source, v.destination, v.protocol, v.port,
                                          v.allowed_ports)
    if step is not None:
        v.steps.insert(0, step)
