"""Compile, load and run XDP programs on this machine's kernel (issue 15).

Everything goes through the system's tools: ``clang -target bpf`` compiles, ``bpftool`` loads
(``prog loadall`` into a pin directory of its own under /sys/fs/bpf) and runs programs with
``BPF_PROG_TEST_RUN`` (``prog run ... data_in FILE``); many runs are one ``bpftool -j batch
file`` process. Pins are named after the process id and removed in ``close()`` (and at exit);
a process killed before that (SIGKILL, SIGTERM outside a replay) leaves its pin, and with it its
program, in the kernel: the next load removes the pins whose process is gone, told by the lock
each loader holds on its pin's name (``runlock``), not by the pid (another PID namespace's).
An object file's programs are read from its ELF section and symbol tables here (no library).
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from ..errors import KubewardError
from .runlock import RunLock, stale

BPFFS = Path("/sys/fs/bpf")
INSTALL_HINT = ("on Debian/Ubuntu as root: sh tools/install-system-packages "
                "(or apt-get install clang llvm bpftool libbpf-dev)")
_counter = itertools.count()
_PIN = re.compile(r"^kubeward_(\d+)_\d+$")


class ToolsMissing(KubewardError):
    """clang, bpftool, root or the BPF file system is missing: the kernel features cannot run."""


class ProgramError(KubewardError):
    """The object cannot be loaded as an XDP program: not ELF/BPF, no such section, refused."""


class XdpAction(IntEnum):
    """enum xdp_action of <linux/bpf.h>: what BPF_PROG_TEST_RUN returns."""

    ABORTED = 0
    DROP = 1
    PASS = 2
    TX = 3
    REDIRECT = 4

    @property
    def label(self) -> str:
        return f"XDP_{self.name}"


def missing_tools(compile_: bool = True) -> list[str]:
    """What this machine lacks to compile (``compile_``) and run XDP programs; empty: nothing."""
    missing = []
    if compile_ and shutil.which("clang") is None:
        missing.append("clang (package clang)")
    if shutil.which("bpftool") is None:
        missing.append("bpftool (package bpftool)")
    if shutil.which("unshare") is None:
        missing.append("unshare (package util-linux)")
    if os.geteuid() != 0:
        missing.append("root (BPF_PROG_TEST_RUN needs CAP_BPF and CAP_NET_ADMIN: run as root)")
    elif not os.path.ismount(BPFFS):
        missing.append(f"the BPF file system at {BPFFS} (mount -t bpf bpf {BPFFS})")
    return missing


def require_tools(compile_: bool = True) -> None:
    missing = missing_tools(compile_)
    if missing:
        raise ToolsMissing(f"missing: {'; '.join(missing)}. Install: {INSTALL_HINT}")


def _multiarch_include() -> list[str]:
    """Debian keeps <asm/types.h> under /usr/include/<triplet>; clang -target bpf does not look there."""
    out: list[str] = []
    for d in sorted(Path("/usr/include").glob("*-linux-gnu*")):
        if (d / "asm" / "types.h").exists():
            out += ["-I", str(d)]
            break
    return out


def compile_c(source: Path, output: Path) -> None:
    """clang -O2 -g -target bpf: a compile error is a ProgramError with clang's first lines."""
    cmd = ["clang", "-O2", "-g", "-Wall", "-target", "bpf", *_multiarch_include(), "-c", str(source), "-o", str(output)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if run.returncode != 0:
        raise ProgramError(f"{source}: clang failed: " + "\n".join(run.stderr.strip().splitlines()[:12]))


@dataclass(frozen=True, slots=True)
class ElfProgram:
    section: str
    name: str  # the function: bpftool pins it under this name


def programs_of(path: Path) -> list[ElfProgram]:
    """The programs (function symbols in executable sections other than .text) of a BPF ELF object."""
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise ProgramError(f"{path}: cannot read: {exc.strerror}") from None
    if blob[:4] != b"\x7fELF" or len(blob) < 64:
        raise ProgramError(f"{path}: not an ELF object file (compile it with clang -target bpf -c)")
    if blob[4] != 2 or blob[5] != 1:
        raise ProgramError(f"{path}: not a 64-bit little-endian ELF object (not BPF for this machine)")
    machine = struct.unpack_from("<H", blob, 18)[0]
    if machine != 247:  # EM_BPF
        raise ProgramError(f"{path}: an ELF object for machine {machine}, not BPF (compile with clang -target bpf)")
    shoff, = struct.unpack_from("<Q", blob, 40)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", blob, 58)
    try:
        sections = [struct.unpack_from("<IIQQQQIIQQ", blob, shoff + i * shentsize) for i in range(shnum)]
        names_off = sections[shstrndx][4]

        def cstr(off: int) -> str:
            return blob[off:blob.index(b"\0", off)].decode("utf-8", "replace")

        names = [cstr(names_off + s[0]) for s in sections]
        found: list[ElfProgram] = []
        for s in sections:
            if s[1] != 2:  # SHT_SYMTAB
                continue
            strtab_off = sections[s[6]][4]
            for off in range(s[4], s[4] + s[5], 24):
                st_name, st_info, _, st_shndx = struct.unpack_from("<IBBH", blob, off)
                if st_info & 0xF != 2 or st_shndx >= len(sections):  # STT_FUNC in a real section
                    continue
                sec = sections[st_shndx]
                if sec[2] & 0x4 and names[st_shndx] != ".text":  # SHF_EXECINSTR
                    found.append(ElfProgram(names[st_shndx], cstr(strtab_off + st_name)))
    except (struct.error, IndexError, ValueError):
        raise ProgramError(f"{path}: a damaged ELF object") from None
    return found


def pick_program(path: Path, section: str | None) -> ElfProgram:
    """The program of ``section`` (None: the object's only XDP program)."""
    progs = programs_of(path)
    if not progs:
        raise ProgramError(f"{path}: no BPF program in it (a function in a SEC(\"xdp\") section)")
    if section is not None:
        chosen = [p for p in progs if p.section == section]
        if not chosen:
            have = ", ".join(sorted({p.section for p in progs}))
            raise ProgramError(f"{path}: no section {section!r} (sections with programs: {have})")
    else:
        chosen = [p for p in progs if _is_xdp_section(p.section)] or progs
    prog = chosen[0]
    if not _is_xdp_section(prog.section):
        raise ProgramError(f"{path}: section {prog.section!r} is not an XDP program (libbpf loads XDP programs "
                           "from sections named xdp, xdp/… or xdp.frags)")
    if section is None and len(chosen) > 1:
        raise ProgramError(f"{path}: several XDP programs ({', '.join(p.section for p in chosen)}): "
                           "name one as OBJECT.o:SECTION")
    return prog


def _is_xdp_section(name: str) -> bool:
    return name == "xdp" or name.startswith(("xdp/", "xdp.", "xdp_"))


def remove_stale_pins() -> list[Path]:
    """Remove the pin directories of kubeward processes that are gone; the directories removed."""
    try:
        entries = list(BPFFS.iterdir())
    except OSError:
        return []
    removed: list[Path] = []
    for d in entries:
        m = _PIN.match(d.name)
        if m is None:
            continue
        try:
            with stale(d.name, int(m.group(1))) as dead:
                if dead:
                    for p in d.iterdir():
                        p.unlink(missing_ok=True)
                    d.rmdir()
                    removed.append(d)
        except OSError:
            continue  # another run removed it first, or it is not ours to remove
    return removed


class LoadedProgram:
    """An XDP program loaded into the kernel, pinned under a directory of this process."""

    def __init__(self, path: Path, section: str | None = None) -> None:
        require_tools(compile_=False)
        self.path = path
        self.program = pick_program(path, section)
        remove_stale_pins()
        pid = os.getpid()
        self._lock: RunLock | None = RunLock.claim(lambda n: f"kubeward_{pid}_{n}", _counter)
        self.pin_dir = BPFFS / self._lock.name
        self._work = Path(tempfile.mkdtemp(prefix="kubeward-xdp-"))
        atexit.register(self.close)
        try:
            # The object's maps pinned by name (LIBBPF_PIN_BY_NAME) would be pinned under the host's
            # /sys/fs/bpf, or reuse a live program's map of that name there: bpftool runs in a mount
            # namespace of its own with a fresh bpffs on /sys/fs/bpf (gone with it), and pins the
            # program through a bind of the host's bpffs.
            host = self._work / "host"
            host.mkdir()
            script = ('mount --bind "$1" "$2" && mount -t bpf kubeward /sys/fs/bpf && '
                      'exec bpftool prog loadall "$3" "$2/$4"')
            run = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                                  str(BPFFS), str(host), str(path), self.pin_dir.name],
                                 capture_output=True, text=True, timeout=60, check=False)
            if run.returncode != 0:
                msg = " ".join(line.strip() for line in run.stderr.strip().splitlines()[-4:])
                raise ProgramError(f"{path}: the kernel refused to load it (bpftool prog loadall): {msg}")
            self.pin = self.pin_dir / self.program.name
            show = subprocess.run(["bpftool", "-j", "prog", "show", "pinned", str(self.pin)],
                                  capture_output=True, text=True, timeout=30, check=False)
            kind = json.loads(show.stdout).get("type") if show.returncode == 0 else None
            if kind != "xdp":
                raise ProgramError(f"{path}: section {self.program.section!r} loaded as a {kind or 'unknown'} "
                                   "program, not XDP")
        except BaseException:
            self.close()
            raise

    def run(self, packets: list[bytes]) -> list[XdpAction]:
        """BPF_PROG_TEST_RUN on each packet (one bpftool process for all of them)."""
        if not packets:
            return []
        batch = self._work / "batch"
        lines = []
        for i, pkt in enumerate(packets):
            f = self._work / f"p{i}.bin"
            f.write_bytes(pkt)
            lines.append(f"prog run pinned {self.pin} data_in {f}\n")
        batch.write_text("".join(lines))
        run = subprocess.run(["bpftool", "-j", "batch", "file", str(batch)], capture_output=True, text=True,
                             timeout=300, check=False)
        try:
            doc = json.loads(run.stdout)
            values = [int(item["output"]["retval"]) for item in doc]
        except (ValueError, KeyError, TypeError):
            values = []
        if run.returncode != 0 or len(values) != len(packets):
            raise ProgramError(f"{self.path}: BPF_PROG_TEST_RUN failed: {run.stderr.strip()[-300:]}")
        out = []
        for v in values:
            try:
                out.append(XdpAction(v))
            except ValueError:
                out.append(XdpAction.ABORTED)
        return out

    def close(self) -> None:
        if self.pin_dir.exists():
            for p in self.pin_dir.iterdir():
                p.unlink(missing_ok=True)
            self.pin_dir.rmdir()
        if self._lock is not None:  # after the pin: until then a load that sees it sees the lock held
            self._lock.release()
            self._lock = None
        shutil.rmtree(self._work, ignore_errors=True)

    def __enter__(self) -> LoadedProgram:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
