"""Time ``kubeward replay`` on generated clusters (needs root, ip and nft).

    python benchmarks/replay.py                    # dense, 200 pods / 100 policies; 3 runs
    python benchmarks/replay.py --pods 200 --policies 100 --repeat 5
    python benchmarks/replay.py --xdp OBJECT.o     # with an XDP program in front of every pod

Prints the median of each phase (compile, setup, probe, compare, cleanup, total) and the
probe counts. The target (issue 15): the dense 200-pod / 100-policy cluster in at most 60 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import yaml  # noqa: E402

import generate  # noqa: E402
from kubeward.analyses.session import analyse_text  # noqa: E402
from kubeward.kernel.replay import replay  # noqa: E402
from kubeward.kernel.xdp import XdpLayer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=200)
    parser.add_argument("--policies", type=int, default=100)
    parser.add_argument("--shape", default="dense")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-pairs", type=int, default=20000)
    parser.add_argument("--xdp", default=None, help="OBJECT.o[:SECTION]: replay --xdp")
    args = parser.parse_args()
    docs, _ = generate.generate(args.pods, 1, generate.Shape(args.shape), policies=args.policies)
    text = yaml.dump_all(docs, Dumper=yaml.CSafeDumper, sort_keys=False)
    runs = []
    for _ in range(args.repeat):
        engine = analyse_text(text, "generated.yaml").engine
        if args.xdp:
            with XdpLayer.from_spec(args.xdp) as layer:
                report = replay(engine, max_probes=args.max_pairs, xdp=layer)
        else:
            report = replay(engine, max_probes=args.max_pairs)
        if report.disagreements:
            print(f"{len(report.disagreements)} disagreements", file=sys.stderr)
            return 1
        runs.append(report)
    phases = list(runs[0].seconds)
    print(f"{args.shape} cluster: {args.pods} pods, {args.policies} policies; {runs[0].endpoints} endpoints, "
          f"{runs[0].probes} probes of {runs[0].candidates}, {runs[0].nft_rules} nft rules; median of {args.repeat}")
    if runs[0].xdp is not None:
        x = runs[0].xdp
        print(f"xdp: {x.layer.label} ({x.mode}) on {x.attached} pods, {x.packets} packets characterised, "
              f"{x.expected_dropped} probes dropped, retried {runs[0].retried}")
    print("| " + " | ".join(phases) + " |")
    print("|" + "---|" * len(phases))
    print("| " + " | ".join(f"{statistics.median(r.seconds[p] for r in runs):.2f} s" for p in phases) + " |")
    total = statistics.median(r.seconds["total"] for r in runs)
    print(f"target (≤ 60 s): {'met' if total <= 60 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
