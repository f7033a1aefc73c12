"""Network namespaces for a replay: one per endpoint, all wired to one router namespace.

Every namespace this module creates is named ``kw<pid>x<run>-<n>`` (``<n>``: ``r`` for the
router, else the endpoint's number), so concurrent runs (and pytest-xdist workers) never collide;
each run holds the lock of its prefix (``runlock``) while its namespaces exist, so a run can tell
the namespaces of a dead run, whatever PID namespace it ran in, and remove them. An endpoint's
namespace has one veth (``eth0``, its /32 address, a default route through a link-local
gateway whose neighbour entry is permanent); the router's end of it has a /32 route and a
permanent neighbour entry back: no ARP at any scale. Nothing is done in the host's namespace
but creating and deleting the named namespaces.
"""

from __future__ import annotations

import ctypes
import os
import re
import resource
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count

from .runlock import RunLock, stale

NETNS_DIR = "/var/run/netns"
CLONE_NEWNET = 0x40000000
GATEWAY = "169.254.1.1"
_NAME = re.compile(r"^kw(\d+)x(\d+)-")
_runs = count()
_libc: ctypes.CDLL | None = None


class KernelUnavailable(Exception):
    """The replay cannot run here (not root, a tool missing): the message says what to do."""


def _setns(fd: int) -> None:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextmanager
def inside(ns_fd: int, home_fd: int) -> Iterator[None]:
    """Run the block in the network namespace ``ns_fd``, then switch straight back to ``home_fd``.
    Sockets created inside stay in that namespace (Python 3.11 has no os.setns: libc's)."""
    _setns(ns_fd)
    try:
        yield
    finally:
        _setns(home_fd)


def check_available() -> None:
    """Raise :class:`KernelUnavailable` unless this process can build namespaces and nft tables."""
    import shutil

    if os.geteuid() != 0:
        raise KernelUnavailable("replay needs root (network namespaces and nftables): run it as root, e.g. in a "
                                "disposable VM or container with CAP_NET_ADMIN and CAP_SYS_ADMIN")
    missing = [tool for tool in ("ip", "nft") if shutil.which(tool) is None]
    if missing:
        raise KernelUnavailable(f"replay needs {' and '.join(missing)} (Debian: apt-get install "
                                f"{' '.join({'ip': 'iproute2', 'nft': 'nftables'}[t] for t in missing)})")


def raise_nofile(wanted: int) -> None:
    """Raise this process's soft limit of open files to ``wanted`` (the children inherit it: a
    batch of ``ip`` holds a file per namespace it names); beyond the hard limit, say so."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return
    if hard != resource.RLIM_INFINITY and hard < wanted:
        raise KernelUnavailable(f"replay needs {wanted} open files here and the hard limit is {hard}: raise it "
                                f"(ulimit -Hn {wanted}, or LimitNOFILE= for a service) or replay fewer endpoints")
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _runs_on_disk() -> dict[str, list[str]]:
    """The namespaces of kubeward runs, by prefix."""
    try:
        names = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return {}
    runs: dict[str, list[str]] = {}
    for n in sorted(names):
        if m := _NAME.match(n):
            runs.setdefault(m.group(0), []).append(n)
    return runs


def run_namespaces(prefix: str) -> list[str]:
    """The namespaces that exist now with ``prefix``."""
    try:
        return sorted(n for n in os.listdir(NETNS_DIR) if n.startswith(prefix))
    except FileNotFoundError:
        return []


def _ip_batch(lines: list[str], namespace: str | None = None) -> None:
    if not lines:
        return
    argv = ["ip", *(("-n", namespace) if namespace else ()), "-force", "-batch", "-"]
    done = subprocess.run(argv, input="\n".join(lines) + "\n", capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()[:500]}")


def delete_namespaces(names: list[str]) -> None:
    _ip_batch([f"netns delete {n}" for n in names])


def remove_stale() -> list[str]:
    """Remove what killed runs left behind (see ``runlock``: a run whose lock is held is alive,
    whatever its pid says here); the names removed."""
    removed: list[str] = []
    for prefix, names in _runs_on_disk().items():
        m = _NAME.match(prefix)
        assert m is not None
        try:
            with stale(prefix, int(m.group(1))) as dead:
                if dead:
                    delete_namespaces(names)
                    removed += names
        except RuntimeError:
            continue  # another run removed them first: its lock file stays until one succeeds
    return removed


def _mac(kind: int, n: int) -> str:
    return f"02:6b:{kind:02x}:{(n >> 16) & 0xff:02x}:{(n >> 8) & 0xff:02x}:{n & 0xff:02x}"


@dataclass(slots=True)
class Topology:
    """The namespaces of one run. ``build`` creates them; ``destroy`` removes every one (safe to
    call twice, and after a partial build)."""

    addresses: list[str]                      # endpoint n's address
    prefix: str = ""                          # "": the first free kw<pid>x<run>- (locked)
    fds: list[int] = field(default_factory=list)
    home: int = -1
    created: list[str] = field(default_factory=list)
    lock: RunLock | None = None

    def __post_init__(self) -> None:
        if not self.prefix:
            pid = os.getpid()
            self.lock = RunLock.claim(lambda n: f"kw{pid}x{n}-", _runs)
            self.prefix = self.lock.name

    @property
    def router(self) -> str:
        return f"{self.prefix}r"

    def name(self, n: int) -> str:
        return f"{self.prefix}{n}"

    def build(self, workers: int = 4) -> None:
        # A file per namespace here (``fds``) and in each ``ip -batch`` that names them all.
        raise_nofile(2 * len(self.addresses) + 256)
        self.home = os.open("/proc/self/ns/net", os.O_RDONLY)
        names = [self.router, *(self.name(n) for n in range(len(self.addresses)))]
        self.created = names  # before creating: a failure half-way still removes what exists
        _ip_batch([f"netns add {n}" for n in names])
        router = [f"link add v{n} address {_mac(1, n)} type veth peer name eth0 netns {self.name(n)} "
                  f"address {_mac(0, n)}" for n in range(len(self.addresses))]
        for n, address in enumerate(self.addresses):
            router += [f"link set v{n} up", f"route add {address}/32 dev v{n}",
                       f"neigh replace {address} lladdr {_mac(0, n)} dev v{n} nud permanent"]
        _ip_batch(router, self.router)
        self.run(self.router, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])

        def endpoint(n: int) -> None:
            _ip_batch(["link set lo up", "link set eth0 up", f"address add {self.addresses[n]}/32 dev eth0",
                       f"route add default via {GATEWAY} dev eth0 onlink",
                       f"neigh replace {GATEWAY} lladdr {_mac(1, n)} dev eth0 nud permanent"], self.name(n))

        self.parallel(endpoint, range(len(self.addresses)), workers)
        self.fds = [os.open(f"{NETNS_DIR}/{self.name(n)}", os.O_RDONLY) for n in range(len(self.addresses))]
        for fd in self.fds:
            # The kernel rate-limits ICMP errors per peer: a burst of rejected probes would time
            # out instead of failing at once. No ICMP type is rate-limited in a replay namespace.
            with inside(fd, self.home), open("/proc/sys/net/ipv4/icmp_ratemask", "w", encoding="ascii") as f:
                f.write("0\n")

    @staticmethod
    def parallel(work: Callable[[int], None], items: range | list[int], workers: int) -> None:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for _ in pool.map(work, items):
                pass

    def run(self, namespace: str, argv: list[str], stdin: str | None = None) -> str:
        """A command inside ``namespace`` (entered with setns in the child: no mount namespace games)."""
        fd = os.open(f"{NETNS_DIR}/{namespace}", os.O_RDONLY)
        try:
            done = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False,
                                  preexec_fn=lambda: _setns(fd), pass_fds=(fd,))
        finally:
            os.close(fd)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} in {namespace}: {done.stderr.strip()[:800]}")
        return done.stdout

    def destroy(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds = []
        if self.home >= 0:
            os.close(self.home)
            self.home = -1
        existing = set(run_namespaces(self.prefix))
        names = [n for n in self.created if n in existing]
        self.created = []
        if names:
            delete_namespaces(names)
        if self.lock is not None:  # after the namespaces: until then a run that sees them sees the lock held
            self.lock.release()
            self.lock = None
