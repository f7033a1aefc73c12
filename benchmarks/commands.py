"""Every command against its target (issue 13): a printed table of medians, peak RSS and output size.

    python benchmarks/commands.py [--repeat 5] [--only map,check] [--workdir DIR] [--skip-50k]

Generates the dense 10,000-pod cluster (``generate.py --shape dense``: 100 namespaces, 2,000
Deployments × 5 replicas, 2,000 NetworkPolicies, a fifth of them with ``ipBlock`` + ``except``),
the sparse one (``--shape default``) at 10,000 and 50,000 pods and a 300-pod / 150-policy one,
then runs each command ``--repeat`` times as a child process (stdout to a file) and prints, per
command: median/min/max wall seconds, peak RSS (MiB), output size (MiB) and whether the target
of the issue is met. Exit code 1 if a command fails (exit code 2 or more).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import _child_env, _prepare, _run_once, _tail  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHOP = str(ROOT / "examples" / "shop")


@dataclass(frozen=True)
class Case:
    name: str
    cluster: str            # key of the clusters below, or "shop"
    args: tuple[str, ...]   # after `python -m kubeward`; {file} is the cluster
    seconds: float          # the target: median at most this
    mb: float = 0.0         # and peak RSS below this (0: no target)


# (pods, shape, policies): the generated clusters
CLUSTERS: dict[str, tuple[int, str, int | None]] = {
    "dense": (10_000, "dense", None), "sparse": (10_000, "default", None), "sparse50k": (50_000, "default", None),
    "small": (300, "default", 150)}

CASES = [
    Case("map (grouped, text)", "dense", ("map", "{file}"), 3.0, 1024),
    Case("map (grouped, json)", "dense", ("map", "{file}", "--format", "json"), 3.0, 1024),
    Case("map --expand --format json", "dense", ("map", "{file}", "--expand", "--format", "json"), 8.0, 1536),
    Case("map --expand (text)", "dense", ("map", "{file}", "--expand"), 15.0, 1536),
    Case("check", "dense", ("check", "{file}"), 3.0),
    Case("lint", "dense", ("lint", "{file}"), 3.0),
    Case("explain of one pair", "dense", ("explain", "{file}", "--from", "{src}", "--to", "{dst}"), 1.0),
    Case("map examples/shop (start-up)", "shop", ("map", SHOP), 0.2),
    Case("map, 300 pods / 150 policies", "small", ("map", "{file}"), 0.15),
    Case("map (grouped), sparse 10k", "sparse", ("map", "{file}", "--format", "json"), 10.0, 2048),
    Case("map (grouped), sparse 50k", "sparse50k", ("map", "{file}", "--format", "json"), 20.0),
]


@dataclass
class Row:
    case: Case
    times: list[float] = field(default_factory=list)
    peak_mb: float = 0.0
    out_mb: float = 0.0
    failed: bool = False


def _two_workloads(path: Path) -> tuple[str, str]:
    """Two Deployments of the generated cluster, for explain."""
    names: list[str] = []
    namespace = ""
    for line in path.read_text().splitlines():
        if line.startswith("kind: "):
            kind = line[6:]
        elif line.startswith("  name: ") and kind == "Deployment":
            name = line[8:]
        elif line.startswith("  namespace: ") and kind == "Deployment":
            namespace = line[13:]
            names.append(f"{namespace}/{name}")
        if len(names) >= 40:
            break
    return names[3], names[37]


_IN_PROCESS = """import gc, statistics, sys, time
gc.disable()
from kubeward import Options, analyse_paths, connectivity_map
runs = []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter()
    connectivity_map(analyse_paths([sys.argv[1]], Options()), grouped=True)
    runs.append(time.perf_counter() - t)
print(f"{statistics.median(runs):.3f} {min(runs):.3f} {max(runs):.3f}")
"""


def in_process(path: Path, repeat: int) -> str:
    """Median/min/max seconds of loading, analysing and mapping ``path`` inside one process,
    after its start-up (what network-config-analyzer's 92 s for 300 pods compares with)."""
    done = subprocess.run([sys.executable, "-c", _IN_PROCESS, str(path), str(max(repeat, 3))],
                          capture_output=True, text=True, env=_child_env())
    return done.stdout.strip() or done.stderr.strip().splitlines()[-1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", default="", help="comma-separated words: run the cases whose name has one")
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--skip-50k", action="store_true", help="leave out the 50,000-pod cluster")
    args = ap.parse_args(argv)
    words = [w for w in args.only.split(",") if w]
    cases = [c for c in CASES if (not words or any(w in c.name for w in words))
             and not (args.skip_50k and c.cluster == "sparse50k")]
    with tempfile.TemporaryDirectory(prefix="kubeward-cmds-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        files: dict[str, Path] = {}
        for key in sorted({c.cluster for c in cases} - {"shop"}):
            pods, shape, policies = CLUSTERS[key]
            files[key] = _prepare(pods, 1, workdir, shape, policies)[0].rename(workdir / f"{key}.yaml")
        rows: list[Row] = []
        for case in cases:
            row = Row(case)
            argv_ = [sys.executable, "-m", "kubeward"]
            path = files.get(case.cluster)
            src, dst = _two_workloads(path) if path is not None and "{src}" in case.args else ("", "")
            argv_ += [a.replace("{file}", str(path)).replace("{src}", src).replace("{dst}", dst) for a in case.args]
            out, err = workdir / "out", workdir / "err"
            for _ in range(args.repeat):
                code, secs, rss = _run_once(argv_, out, err)
                if code not in (0, 1):
                    row.failed = True
                    print(f"FAILED ({code}): {' '.join(argv_)}\n{_tail(err)}", file=sys.stderr)
                    break
                row.times.append(secs)
                row.peak_mb = max(row.peak_mb, rss)
                row.out_mb = out.stat().st_size / 2**20
            print(f"  {case.name}: {[round(t, 2) for t in row.times]}", file=sys.stderr)
            rows.append(row)
        small = files.get("small")
        inside = in_process(small, args.repeat) if small is not None else ""
    _print(rows)
    if inside:
        print(f"\n300 pods / 150 policies in-process (load + analyse + grouped map, no start-up), "
              f"median/min/max s: {inside} (target <= 0.15 s)")
    return 1 if any(r.failed for r in rows) else 0


def _print(rows: list[Row]) -> None:
    head = ["command", "cluster", "median s", "min s", "max s", "peak MB", "out MB", "target", "met"]
    table = [head]
    for r in rows:
        c = r.case
        target = f"<= {c.seconds:g} s" + (f", < {c.mb:,.0f} MB" if c.mb else "")
        if not r.times:
            table.append([c.name, c.cluster, "-", "-", "-", "-", "-", target, "FAILED"])
            continue
        median = statistics.median(r.times)
        met = median <= c.seconds and (not c.mb or r.peak_mb < c.mb)
        table.append([c.name, c.cluster, f"{median:.2f}", f"{min(r.times):.2f}", f"{max(r.times):.2f}",
                      f"{r.peak_mb:.0f}", f"{r.out_mb:.1f}", target, "yes" if met else "MISSED"])
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(w) if j < 2 else cell.rjust(w) for j, (cell, w) in enumerate(zip(row, widths,
                                                                                                   strict=True))))
        if i == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    sys.exit(main())
