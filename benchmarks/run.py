"""Performance benchmark: time `kubeward map <cluster> --format json` on synthetic clusters.

    python benchmarks/run.py [--sizes 1000,5000,10000] [--repeat 5] [--cmd "..."] [--profile]

For each size, generates a cluster (benchmarks/generate.py) into a temporary directory, runs the
command --repeat times as a child process and reports wall time (median/min/max) and the child's
peak RSS (max over runs). --cmd replaces `python -m kubeward`; if it contains `{file}` it is used
as is, otherwise `map <file> --format json` is appended. --profile instead runs the largest size
once in-process under cProfile and prints the top 25 cumulative entries.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import inspect
import io
import os
import pstats
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"  # run from a checkout without installing
TARGET_PODS, TARGET_SECONDS, TARGET_MB = 10_000, 10.0, 2048.0


@dataclass
class Result:
    pods: int
    stats: dict[str, int]  # as printed by generate.py: pods, workloads, policies, ...
    input_mb: float
    times: list[float] = field(default_factory=list)
    peak_mb: float = 0.0
    connections: int | None = None
    failed: bool = False


def _child_env() -> dict[str, str]:
    """The children's environment: the checkout's src on the path, and Python's bytecode kept
    between runs as an installed package has it (in a folder of this run, so the checkout stays
    clean; a ``PYTHONDONTWRITEBYTECODE`` of the environment would make every run compile
    kubeward's sources again, about 0.1 s)."""
    env = dict(os.environ)
    if SRC.is_dir():
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", os.path.join(tempfile.gettempdir(), f"kubeward-bench-pyc-{os.getpid()}"))
    return env


def _command(cmd: list[str], path: Path) -> list[str]:
    if any("{file}" in part for part in cmd):
        return [part.replace("{file}", str(path)) for part in cmd]
    return [*cmd, "map", str(path), "--format", "json"]


def _run_once(argv: list[str], out: Path, err: Path) -> tuple[int, float, float]:
    """Run argv with stdout/stderr to files; return (exit code, seconds, peak RSS in MB)."""
    with open(out, "wb") as fout, open(err, "wb") as ferr:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=fout, stderr=ferr, env=_child_env())
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # tell Popen it has been reaped
    # ru_maxrss: KiB on Linux, bytes on macOS; it covers the child and the children it waited for
    rss_mb = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return proc.returncode, elapsed, rss_mb


# Generation and JSON parsing run in child processes: a child's ru_maxrss includes the
# high-water RSS of this process at spawn time (the spawned child starts on our address space),
# so this process must stay small or it would inflate every later measurement.
_COUNT = """import json, sys
try:
    data = json.load(open(sys.argv[1], "rb"))
except ValueError:
    sys.exit()
conns = data.get("connections") if isinstance(data, dict) else None
if isinstance(conns, list):
    print(len(conns))
"""


def _count_connections(path: Path) -> int | None:
    done = subprocess.run([sys.executable, "-c", _COUNT, str(path)], capture_output=True, text=True)
    return int(done.stdout) if done.returncode == 0 and done.stdout.strip().isdigit() else None


def _tail(path: Path, lines: int = 20) -> str:
    text = path.read_text(encoding="utf-8", errors="replace").rstrip("\n").splitlines()
    return "\n".join(text[-lines:]) or "(stderr is empty)"


def _prepare(pods: int, seed: int, workdir: Path, shape: str = "default",
             policies: int | None = None) -> tuple[Path, dict[str, int], float]:
    path = workdir / f"cluster-{pods}.yaml"
    gen = [sys.executable, str(HERE / "generate.py"), "--pods", str(pods), "--seed", str(seed), "--shape", shape,
           *(["--policies", str(policies)] if policies is not None else [])]
    t0 = time.perf_counter()
    done = subprocess.run([*gen, "--out", str(path)], capture_output=True, text=True)
    took = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"generate.py failed:\n{done.stderr}")
    stats = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", done.stderr)}
    mb = path.stat().st_size / 2**20
    print(
        f"generated {path.name}: {mb:.1f} MB, {stats['policies']} policies in {took:.1f}s",
        file=sys.stderr,
    )
    return path, stats, mb


def bench(pods: int, args: argparse.Namespace, workdir: Path) -> Result:
    path, stats, mb = _prepare(pods, args.seed, workdir, args.shape)
    res = Result(pods, stats, mb)
    argv = _command(args.cmd, path)
    out, err = workdir / f"out-{pods}.json", workdir / f"err-{pods}.txt"
    for i in range(args.repeat):
        try:
            code, secs, rss = _run_once(argv, out, err)
        except OSError as exc:  # e.g. the command does not exist
            err.write_text(str(exc))
            code, secs, rss = -1, 0.0, 0.0
        # 0 clean; 1 findings (check, lint, test: the run completed). 2 and up: it did not.
        if code not in (0, 1):
            res.failed = True
            print(
                f"FAILED: {shlex.join(argv)} exited {code} after {secs:.2f}s; stderr tail:\n"
                f"{_tail(err)}",
                file=sys.stderr,
            )
            break
        res.times.append(secs)
        res.peak_mb = max(res.peak_mb, rss)
        if i == 0:
            res.connections = _count_connections(out)
        print(
            f"  {pods} pods run {i + 1}/{args.repeat}: {secs:.2f}s, {rss:.0f} MB", file=sys.stderr
        )
    return res


def print_table(results: list[Result]) -> None:
    head = [
        "pods",
        "workloads",
        "policies",
        "input MB",
        "median s",
        "min s",
        "max s",
        "peak MB",
        "connections",
    ]
    rows = []
    for r in results:
        t = r.times
        timing = (
            [f"{statistics.median(t):.2f}", f"{min(t):.2f}", f"{max(t):.2f}"] if t else ["-"] * 3
        )
        conns = "FAILED" if r.failed else ("n/a" if r.connections is None else str(r.connections))
        rows.append(
            [
                str(r.pods),
                str(r.stats["workloads"]),
                str(r.stats["policies"]),
                f"{r.input_mb:.1f}",
                *timing,
                f"{r.peak_mb:.0f}" if t else "-",
                conns,
            ]
        )
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    for row in [head, ["-" * w for w in widths], *rows]:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    for r in results:
        if r.pods == TARGET_PODS and r.times and not r.failed:
            ok = statistics.median(r.times) < TARGET_SECONDS and r.peak_mb < TARGET_MB
            print(
                f"\ntarget ({TARGET_PODS} pods: median < {TARGET_SECONDS:.0f} s, "
                f"peak < {TARGET_MB / 1024:.0f} GB): {'met' if ok else 'MISSED'}"
            )


def _load_main() -> Callable[..., Any] | None:
    if SRC.is_dir():
        sys.path.insert(0, str(SRC))
    for module in ("kubeward.cli", "kubeward.__main__", "kubeward"):
        try:
            mod = __import__(module, fromlist=["main"])
        except ImportError as exc:
            print(f"import {module}: {exc}", file=sys.stderr)
            continue
        main: object = getattr(mod, "main", None)
        if callable(main):
            return main
    return None


def profile(pods: int, args: argparse.Namespace, workdir: Path) -> int:
    main = _load_main()
    if main is None:
        print(
            "cannot import kubeward's CLI (tried kubeward.cli, kubeward.__main__, kubeward)",
            file=sys.stderr,
        )
        return 2
    path, _, _ = _prepare(pods, args.seed, workdir, args.shape)
    cli_args = ["map", str(path), "--format", "json"]
    takes_argv = bool(inspect.signature(main).parameters)
    profiler = cProfile.Profile()
    code: Any = 0
    with open(workdir / "profile-out.json", "w", encoding="utf-8") as sink:
        saved_argv = sys.argv
        sys.argv = ["kubeward", *cli_args]
        try:
            with contextlib.redirect_stdout(sink):
                profiler.enable()
                code = main(cli_args) if takes_argv else main()
        except SystemExit as exc:
            code = exc.code
        finally:
            profiler.disable()
            sys.argv = saved_argv
    buf = io.StringIO()
    pstats.Stats(profiler, stream=buf).sort_stats("cumulative").print_stats(25)
    print(buf.getvalue())
    print(f"kubeward returned {code!r}")
    return 0 if code in (0, None) else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,5000,10000", help="pod counts, comma-separated")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--shape", default="default", choices=["default", "dense", "no-policies", "bare-pods"],
                    help="the generated cluster (generate.py --shape)")
    ap.add_argument(
        "--cmd",
        type=shlex.split,
        default=[sys.executable, "-m", "kubeward"],
        help="command to run (default: python -m kubeward); {file} = the cluster",
    )
    ap.add_argument("--workdir", type=Path, help="keep generated files here (default: temp dir)")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="profile the largest size once in-process instead of benchmarking",
    )
    args = ap.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.replace(",", " ").split())
    if not sizes or args.repeat < 1:
        ap.error("need at least one size and --repeat >= 1")

    with contextlib.ExitStack() as stack:
        if args.workdir:
            args.workdir.mkdir(parents=True, exist_ok=True)
            workdir = args.workdir
        else:
            workdir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="kubeward-bench-"))
            )
        if args.profile:
            return profile(sizes[-1], args, workdir)
        print(f"command: {shlex.join(_command(args.cmd, Path('<file>')))}", file=sys.stderr)
        _, _, floor = _run_once([sys.executable, "-c", ""], workdir / "floor", workdir / "floor")
        results = [bench(n, args, workdir) for n in sizes]
    print()
    print_table(results)
    print(f"\n(peak MB of a bare `python -c ''` child here: {floor:.0f} MB)")
    return 1 if any(r.failed for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
