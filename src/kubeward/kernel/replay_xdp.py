"""``kubeward replay --xdp OBJECT.o[:SECTION]``: the user's XDP program in the replay (issue 15).

The program runs where a packet enters each destination pod's namespace: its ``eth0``, the pod
side of the veth to the router, stands for the node's NIC in front of the pod (the replay has no
node: one pod per namespace). It is attached there with ``ip link set dev eth0 xdp pinned PIN`` (the
program already loaded; native XDP, the veth driver has it), else ``xdpgeneric`` — so the kernel runs it in
the path of every probe. The engine's side of a probe is the program's answer for the probe's
packet, characterised with BPF_PROG_TEST_RUN through :class:`XdpLayer` (one batch for all
probes, the topology's own addresses), before the CNI verdict: a packet it does not pass is
expected to be dropped silently, so the probe must time out (``dropped``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..ir import MAX_PORT
from ..model import Cluster
from .bpf_run import ProgramError
from .probe import Probe
from .topology import Topology
from .xdp import XdpLayer, XdpVerdict
from .xdp_flows import policy_ports

IFACE = "eth0"            # the pod side of its veth: where packets enter the pod's namespace
MODES = ("xdp", "xdpgeneric")  # native first; generic (the kernel's skb path) if the driver refuses
SHOWN = 1000              # dropped probes listed in the report
DROP_WAIT = 0.3          # seconds a probe the program drops waits (XDP_DROP never answers)

# A test hook: the characterised verdict of a probe → the verdict the engine side uses.
XdpTamper = Callable[[Probe, XdpVerdict], XdpVerdict]


@dataclass(slots=True)
class XdpReplay:
    """What the replay did with the program: the JSON ``xdp`` object."""

    layer: XdpLayer
    mode: str = ""                 # the ip link mode it was attached in
    attached: int = 0              # pod interfaces it runs on
    native_refused: str = ""       # why native XDP did not attach (then: xdpgeneric)
    packets: int = 0               # packets run through BPF_PROG_TEST_RUN
    expected_dropped: int = 0      # probes the program drops (engine side)
    probes: list[dict[str, Any]] = field(default_factory=list)  # each of them, with the kernel's outcome

    def to_json(self) -> dict[str, Any]:
        return {"object": self.layer.label, "section": self.layer.section, "interface": IFACE,
                "mode": self.mode, "attached": self.attached, "native_refused": self.native_refused or None,
                "packets": self.packets, "expected_dropped": self.expected_dropped,
                "dropped_probes": self.probes[:SHOWN]}


def xdp_ports(cluster: Cluster) -> list[tuple[str, int]]:
    """The ports probed besides the policies' classes when a program is in front of the pods:
    the ports ``explain``/``map --xdp`` characterise it on (every port a rule or a container of
    the input names) and the next port after each, so a drop on one port and not its neighbour
    shows."""
    out = {(p, n + d) for p, n in policy_ports(cluster) for d in (0, 1)}
    return sorted((p, n) for p, n in out if p in ("TCP", "UDP") and 1 <= n <= MAX_PORT)


def characterise(layer: XdpLayer, addresses: Sequence[str], pods: set[int], probes: Sequence[Probe],
                 tamper: XdpTamper | None = None) -> list[XdpVerdict | None]:
    """The program's verdict of each probe's packet (None: the destination is not a pod, no
    program in front of it), all run in one batch."""
    wanted = [i for i, p in enumerate(probes) if p.destination in pods]
    verdicts = layer.verdicts([(addresses[probes[i].source], addresses[probes[i].destination],
                                probes[i].protocol, probes[i].port) for i in wanted])
    out: list[XdpVerdict | None] = [None] * len(probes)
    for i, v in zip(wanted, verdicts, strict=True):
        out[i] = tamper(probes[i], v) if tamper else v
    return out


def attach(topology: Topology, layer: XdpLayer, endpoints: Sequence[int], state: XdpReplay,
           workers: int = 4) -> None:
    """Attach the program on ``eth0`` of each endpoint's namespace (native XDP when the first one
    takes it, else generic for all). ProgramError when neither mode attaches."""
    if not endpoints:
        return

    def command(mode: str) -> list[str]:
        # The program already loaded (and characterised), by its pin: ``xdp obj`` would load the
        # object again with ip's own loader, which pins maps under the host's /sys/fs/bpf/tc/globals.
        return ["ip", "link", "set", "dev", IFACE, mode, "pinned", str(layer.pin)]

    first, rest = endpoints[0], list(endpoints[1:])
    refused: list[str] = []
    for mode in MODES:
        try:
            topology.run(topology.name(first), command(mode))
        except RuntimeError as exc:
            refused.append(f"{mode}: {exc}")
            continue
        state.mode = mode
        break
    else:
        raise ProgramError(f"--xdp {layer.label}: ip link refused to attach it: " + "; ".join(refused)[:800])
    if refused:
        state.native_refused = refused[0][:300]
    Topology.parallel(lambda n: _attach_one(topology, n, command(state.mode)), rest, workers)
    state.attached = len(endpoints)


def _attach_one(topology: Topology, n: int, argv: list[str]) -> None:
    try:
        topology.run(topology.name(n), argv)
    except RuntimeError as exc:
        raise ProgramError(f"ip link refused to attach the XDP program: {exc}") from None
