"""The XDP layer (issue 15): a user's XDP program, attached on the nodes' NICs, runs before the CNI.

kubeward does not read the program: it *characterises* it by running it through
``BPF_PROG_TEST_RUN`` on crafted packets for the flows in question (``XdpLayer.verdicts``: one
bpftool process for a batch, every answer cached by (source, destination, protocol, port)).
``explain``/``map`` (and the replay) ask ``verdict(src, dst, protocol, port)``; XDP_DROP and
XDP_ABORTED drop the packet at the NIC, XDP_PASS hands it on to the CNI; XDP_TX and
XDP_REDIRECT send it elsewhere: it does not reach the pod either.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .bpf_run import LoadedProgram, ProgramError, XdpAction
from .packets import PROTO_NUMBERS, frame

Query = tuple[str, str, str, int]  # source address, destination address, protocol, destination port


@dataclass(frozen=True, slots=True)
class XdpVerdict:
    """What the program returned for one packet."""

    action: XdpAction
    program: str   # the object file as given
    section: str

    @property
    def dropped(self) -> bool:
        """The packet does not go on to the CNI (and the pod): DROP, ABORTED, TX or REDIRECT."""
        return self.action is not XdpAction.PASS

    def to_json(self) -> dict[str, object]:
        return {"object": self.program, "section": self.section, "action": self.action.label,
                "dropped": self.dropped}


def parse_spec(spec: str) -> tuple[Path, str | None]:
    """``OBJECT.o[:SECTION]`` → (path, section or None); a file named with the colon wins."""
    path, sep, section = spec.rpartition(":")
    if sep and path and not Path(spec).exists():
        return Path(path), section or None
    return Path(spec), None


class XdpLayer:
    """One loaded XDP program and the answers it gave. Use as a context manager (it unpins)."""

    def __init__(self, program: LoadedProgram, label: str) -> None:
        self._program = program
        self.label = label
        self.section = program.program.section
        self._cache: dict[Query, XdpVerdict] = {}
        self.runs = 0  # packets actually run (the rest came from the cache)

    @classmethod
    def load(cls, path: str | Path, section: str | None = None) -> XdpLayer:
        """Load ``path`` (an ELF object compiled with clang -target bpf); ProgramError or
        ToolsMissing when it cannot be."""
        p = Path(path)
        if not p.is_file():
            raise ProgramError(f"{p}: no such file")
        return cls(LoadedProgram(p, section), str(path))

    @classmethod
    def from_spec(cls, spec: str) -> XdpLayer:
        path, section = parse_spec(spec)
        return cls.load(path, section)

    @property
    def path(self) -> Path:
        """The object file."""
        return self._program.path

    @property
    def pin(self) -> Path:
        """The loaded program's pin (for ``ip link set ... xdp pinned``: ip loads nothing itself)."""
        return self._program.pin

    def verdict(self, src_ip: str, dst_ip: str, proto: str, dport: int) -> XdpVerdict:
        return self.verdicts([(src_ip, dst_ip, proto, dport)])[0]

    def verdicts(self, queries: list[Query]) -> list[XdpVerdict]:
        """The program's answer for each (source, destination, protocol, port); protocols other
        than TCP/UDP/SCTP/ICMP are run as TCP."""
        todo = list(dict.fromkeys(q for q in queries if q not in self._cache))
        if todo:
            packets = [frame(s, d, p if p in PROTO_NUMBERS else "TCP", port) for s, d, p, port in todo]
            actions = self._program.run(packets)
            self.runs += len(todo)
            for q, a in zip(todo, actions, strict=True):
                self._cache[q] = XdpVerdict(a, self.label, self.section)
        return [self._cache[q] for q in queries]

    def close(self) -> None:
        self._program.close()

    def __enter__(self) -> XdpLayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
