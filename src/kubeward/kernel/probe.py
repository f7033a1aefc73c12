"""Listeners and probes, all in this one process: each socket is created inside its endpoint's
namespace (setns there and straight back) and then driven by one asyncio loop.

A TCP probe connects; a UDP probe sends one datagram and waits for the listener's echo. The
outcome is ``allowed`` (connected / echoed), ``rejected`` (the compiled ruleset's
``reject with icmpx admin-prohibited``: EHOSTUNREACH, or EACCES/EPERM when the sender's own
output chain rejects), ``timeout`` or ``error`` (anything else, e.g. no listener). The replay
calls a timeout ``dropped`` when an XDP program in front of the destination drops the packet
(XDP_DROP is silent: only an XDP program drops without an answer there).
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .topology import Topology, inside, raise_nofile

_REJECTED = {errno.EHOSTUNREACH, errno.EACCES, errno.EPERM, errno.ENETUNREACH}


class Outcome(StrEnum):
    ALLOWED = "allowed"
    REJECTED = "rejected"
    TIMEOUT = "timeout"
    DROPPED = "dropped"    # no answer, and the XDP program in front of the destination drops it
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Probe:
    """One connection attempt: from endpoint ``source`` to endpoint ``destination`` (numbers of
    the topology's namespaces) on ``protocol``/``port``."""

    source: int
    destination: int
    protocol: str  # "TCP" or "UDP"
    port: int


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    detail: str = ""


class _Close(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


class _Echo(asyncio.DatagramProtocol):
    transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.transport.sendto(data, addr)


def run_probes(topology: Topology, probes: Sequence[Probe], timeout: float = 1.0,
               concurrency: int = 256, timeouts: Sequence[float] | None = None) -> list[Result]:
    """Listen on every (destination, protocol, port) the probes need, then run every probe
    (``timeouts``: each probe's own wait instead of ``timeout``)."""
    waits = list(timeouts) if timeouts is not None else [timeout] * len(probes)
    return asyncio.run(_run(topology, probes, waits, concurrency))


async def _run(topology: Topology, probes: Sequence[Probe], waits: list[float], concurrency: int) -> list[Result]:
    loop = asyncio.get_running_loop()
    wanted = sorted({(p.destination, p.protocol, p.port) for p in probes})
    raise_nofile(len(topology.fds) + len(wanted) + concurrency * 2 + 256)
    closers: list[asyncio.BaseTransport | asyncio.AbstractServer] = []
    try:
        for dest, protocol, port in wanted:
            kind = socket.SOCK_STREAM if protocol == "TCP" else socket.SOCK_DGRAM
            with inside(topology.fds[dest], topology.home):
                sock = socket.socket(socket.AF_INET, kind)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("0.0.0.0", port))
            sock.setblocking(False)
            if protocol == "TCP":
                sock.listen(1024)
                closers.append(await loop.create_server(_Close, sock=sock))
            else:
                transport, _ = await loop.create_datagram_endpoint(_Echo, sock=sock)
                closers.append(transport)
        gate = asyncio.Semaphore(concurrency)

        async def one(p: Probe, wait: float) -> Result:
            async with gate:
                return await _probe(topology, p, wait)

        return list(await asyncio.gather(*(one(p, w) for p, w in zip(probes, waits, strict=True))))
    finally:
        for c in closers:
            c.close()


async def _probe(topology: Topology, p: Probe, timeout: float) -> Result:
    loop = asyncio.get_running_loop()
    address = topology.addresses[p.destination]
    kind = socket.SOCK_STREAM if p.protocol == "TCP" else socket.SOCK_DGRAM
    with inside(topology.fds[p.source], topology.home):
        sock = socket.socket(socket.AF_INET, kind)
    sock.setblocking(False)
    try:
        if p.protocol == "TCP":
            await asyncio.wait_for(loop.sock_connect(sock, (address, p.port)), timeout)
            return Result(Outcome.ALLOWED)
        sock.connect((address, p.port))
        sock.send(b"kubeward")
        data = await asyncio.wait_for(loop.sock_recv(sock, 64), timeout)
        return Result(Outcome.ALLOWED if data == b"kubeward" else Outcome.ERROR, "" if data == b"kubeward" else
                      "unexpected reply")
    except TimeoutError:
        return Result(Outcome.TIMEOUT, f"no answer within {timeout:g}s")
    except OSError as exc:
        if exc.errno in _REJECTED:
            return Result(Outcome.REJECTED, errno.errorcode.get(exc.errno or 0, str(exc.errno)))
        return Result(Outcome.ERROR, f"{errno.errorcode.get(exc.errno or 0, exc.errno)}: {exc.strerror}")
    finally:
        sock.close()
