"""`kubeward report` on the dense 10,000-pod cluster (issue 17): a printed table of medians.

    python benchmarks/report.py [--repeat 3] [--workdir DIR]

Generates the dense cluster (``generate.py --pods 10000 --shape dense``), writes its report
``--repeat`` times as a child process (wall seconds, page size), then opens the page in the system
Chromium through Playwright ``--repeat`` times: seconds from navigation to the graph drawn
(``data-graph-ready``: the page answers clicks), and to a namespace opened by a click and its
workload's panel shown. Targets: written in ≤ 10 s, < 20 MB, interactive in ≤ 10 s. Exit code 1
when a target is missed or a run fails.
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

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TARGET_WRITE_S, TARGET_MB, TARGET_INTERACTIVE_S = 10.0, 20.0, 10.0


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}


def write_times(cluster: Path, page: Path, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "kubeward", "report", str(cluster), "-o", str(page)],
                             env=_env(), capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if run.returncode not in (0, 1):
            sys.exit(f"kubeward report failed ({run.returncode}): {run.stderr[-2000:]}")
    return times


def browser_times(page_file: Path, repeat: int) -> tuple[list[float], list[float]]:
    from playwright.sync_api import sync_playwright

    ready, opened = [], []
    profile = tempfile.mkdtemp(prefix="kubeward-bench-chromium-")
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=ARGS,
                                                           headless=True, viewport={"width": 1440, "height": 900})
            for _ in range(repeat):
                page = context.new_page()
                start = time.perf_counter()
                page.goto(page_file.as_uri(), timeout=120_000)
                page.wait_for_selector("body[data-graph-ready='1']", timeout=120_000)
                ready.append(time.perf_counter() - start)
                first = page.evaluate("() => window.kubewardReport.data.graph.workloads[0].id")
                start = time.perf_counter()
                page.fill("#search", first)
                page.click("#search-results li >> nth=0")  # opens its namespace, shows its panel
                page.wait_for_function("id => document.querySelector('#panel h3').textContent === id", arg=first)
                opened.append(time.perf_counter() - start)
                page.close()
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return ready, opened


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", default=None, help="keep the cluster and the page here")
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="kubeward-report-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    cluster, page = workdir / "dense-10000.yaml", workdir / "dense-10000.html"
    if not cluster.exists():
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "--pods", "10000", "--seed", "1",
                        "--shape", "dense", "--out", str(cluster)], check=True, capture_output=True)
    written = write_times(cluster, page, args.repeat)
    mb = page.stat().st_size / 1e6
    rows = [("report written (s)", statistics.median(written), min(written), max(written), TARGET_WRITE_S),
            ("page size (MB)", mb, mb, mb, TARGET_MB)]
    if Path(CHROMIUM).is_file():
        ready, opened = browser_times(page, args.repeat)
        rows.append(("browser: graph drawn, interactive (s)", statistics.median(ready), min(ready), max(ready),
                     TARGET_INTERACTIVE_S))
        rows.append(("browser: search + open a namespace (s)", statistics.median(opened), min(opened), max(opened),
                     TARGET_INTERACTIVE_S))
    else:
        print(f"no Chromium at {CHROMIUM}: the browser timings are left out")
    print(f"dense cluster, 10,000 pods, {args.repeat} runs each (median, min, max)")
    print(f"{'measure':42} {'median':>8} {'min':>8} {'max':>8} {'target':>8}  met")
    missed = False
    for name, median, low, high, target in rows:
        ok = median < target if "MB" in name else median <= target
        missed |= not ok
        print(f"{name:42} {median:8.2f} {low:8.2f} {high:8.2f} {target:8.1f}  {'yes' if ok else 'MISSED'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
