"""Start-up benchmark: wall time of short kubeward commands, where start-up dominates (issue 13).

    python benchmarks/startup.py [--runs 10] [--src PATH] [--cmd "map examples/shop"]... [--no-bytecode]

Runs each command --runs times as a child process (``python -m kubeward ...`` from the repository
root, output discarded; a run that crashes stops the benchmark) and prints the median, min and
max wall time in milliseconds, twice:

- ``warm``: as a machine that has run kubeward before — one warm-up run first, then every run
  finds the compiled validators and parser tables in kubeward's cache folder
  (``KUBEWARD_CACHE_DIR``, a temporary folder here);
- ``first run``: every run with an empty cache folder (a new machine, or a new version of
  kubeward): the validators of the kinds of the input are compiled and stored;
- ``first, CI``: the same with ``CI`` set (a fresh CI machine): kinds are compiled only where it
  pays within the run, as without a cache.

By default the commands are ``map examples/shop`` (the issue's target: at most 0.2 s warm) and
``--version`` (the interpreter and the imports alone). Python's own bytecode cache is used as
an installed package has it (``PYTHONPYCACHEPREFIX``, a temporary folder: the checkout stays
clean, and a ``PYTHONDONTWRITEBYTECODE`` of the environment is lifted); ``--no-bytecode``
compiles kubeward's sources on every run instead. ``--src`` runs another checkout's ``src``
(default: this one's), so that two versions can be compared on the same machine;
``python -X importtime -m kubeward ...`` says where the imports go. A benchmark, not a test: the
numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_COMMANDS = ("map examples/shop", "--version")
TARGET_SECONDS = {("map examples/shop", "warm"): 0.2}


def _env(src: Path, bytecode: Path | None, cache: Path, ci: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    env["KUBEWARD_CACHE_DIR"] = str(cache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if bytecode is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env["PYTHONPYCACHEPREFIX"] = str(bytecode)
    return env


def _run(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1, 2):  # 3: kubeward's internal error; a crash is no start-up time
        raise SystemExit(f"{' '.join(args)}: exit code {done.returncode}\n{done.stderr.decode()[-2000:]}")
    return seconds


def measure(command: str, runs: int, src: Path, bytecode: Path | None, work: Path) -> dict[str, list[float]]:
    """Wall times of ``command``, warm and as a first run."""
    args = [sys.executable, "-m", "kubeward", *command.split()]
    warm_cache = work / "warm-cache"
    _run(args, _env(src, bytecode, warm_cache))  # writes the bytecode and kubeward's cache
    warm = [_run(args, _env(src, bytecode, warm_cache)) for _ in range(runs)]
    first: dict[bool, list[float]] = {False: [], True: []}
    for ci in (False, True):
        for i in range(runs):
            cold_cache = work / f"cold-cache-{i}"
            first[ci].append(_run(args, _env(src, bytecode, cold_cache, ci)))
            shutil.rmtree(cold_cache, ignore_errors=True)
    return {"warm": warm, "first run": first[False], "first, CI": first[True]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the src folder to run (default: this one)")
    parser.add_argument("--cmd", action="append", help="a kubeward command line (repeatable)")
    parser.add_argument("--no-bytecode", action="store_true", help="compile kubeward's sources on every run")
    options = parser.parse_args(argv)
    commands = options.cmd or list(DEFAULT_COMMANDS)
    print(f"{'command':<24} {'cache':<10} {'median ms':>10} {'min ms':>8} {'max ms':>8}  target")
    with tempfile.TemporaryDirectory(prefix="kubeward-startup-") as folder:
        work = Path(folder)
        bytecode = None if options.no_bytecode else work / "pycache"
        for command in commands:
            for mode, times in measure(command, options.runs, options.src.resolve(), bytecode, work).items():
                median = statistics.median(times)
                target = TARGET_SECONDS.get((command, mode))
                met = target is not None and median <= target
                verdict = "" if target is None else f"≤ {target * 1000:.0f} ms: {'met' if met else 'MISSED'}"
                print(f"{command:<24} {mode:<10} {median * 1000:>10.0f} {min(times) * 1000:>8.0f} "
                      f"{max(times) * 1000:>8.0f}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
