"""`kubeward flows` on 1,000,000 Hubble flow records (issue 14): a printed table of the median,
min and max wall seconds and peak RSS.

    python benchmarks/flows.py [--lines 1000000] [--repeat 3] [--workdir DIR] [--gzip]

Writes a flow file of ``--lines`` records (``hubble observe -o jsonpb`` lines, the shape of the
lab's traffic on examples/shop: web → api HTTP with 1,000 distinct paths, api → mysql drops,
DNS, web → the outside on 500 addresses, replies, non-policy drops; 60 pods per workload) and
runs `kubeward flows FILE examples/shop --cni cilium --format json` as a child process. Target:
a median of at most 20 s.
"""

from __future__ import annotations

import argparse
import gzip
import random
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import _run_once, _tail  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHOP = str(ROOT / "examples" / "shop")
TARGET_SECONDS = 20.0

_ENDS = {
    "web": ('"namespace":"shop","labels":["k8s:app=web","k8s:io.cilium.k8s.policy.cluster=default",'
            '"k8s:io.kubernetes.pod.namespace=shop"],"podName":"web-7d4b9c6f5-{i}"', "10.0.1.{i}"),
    "api": ('"namespace":"shop","labels":["k8s:app=api","k8s:io.kubernetes.pod.namespace=shop"],'
            '"podName":"api-5f6c8d7b9-{i}"', "10.0.2.{i}"),
    "mysql": ('"namespace":"shop","labels":["k8s:app=mysql"],"podName":"mysql-0"', "10.0.3.1"),
    "dns": ('"namespace":"kube-system","labels":["k8s:k8s-app=kube-dns"],"podName":"coredns-5d78c9869d-{i}"',
            "10.0.0.{i}"),
    "world": ('"identity":2,"labels":["reserved:world"]', "203.0.{j}.{i}"),
}


def _line(rng: random.Random, t: int) -> str:
    kind = rng.random()
    i, j = rng.randrange(1, 61), rng.randrange(0, 2)
    l7 = names = ""
    verdict, reason, reply = "FORWARDED", "", "false"
    if kind < 0.45:
        src, dst, proto, port = "web", "api", "TCP", 8080
        l7 = (f',"Type":"L7","l7":{{"type":"REQUEST","http":{{"method":"GET",'
              f'"url":"http://api.shop.svc:8080/v1/item/{rng.randrange(1000)}?q=1"}}}}')
    elif kind < 0.60:
        src, dst, proto, port = "api", "mysql", "TCP", 3306
        verdict, reason = "DROPPED", ',"dropReason":133,"dropReasonDesc":"POLICY_DENIED"'
    elif kind < 0.75:
        src, dst, proto, port = "web", "dns", "UDP", 53
        l7 = ',"Type":"L7","l7":{"type":"REQUEST","dns":{"query":"api.payment.example.com."}}'
    elif kind < 0.85:
        src, dst, proto, port = "web", "world", "TCP", 443
        names = ',"destinationNames":["api.payment.example.com"]'
        j = rng.randrange(113, 121)
        i = rng.randrange(1, 64)
    elif kind < 0.98:
        src, dst, proto, port = "api", "web", "TCP", rng.randrange(30000, 60000)
        reply = "true"
    else:
        src, dst, proto, port = "web", "api", "TCP", 8080
        verdict, reason = "DROPPED", ',"dropReason":155,"dropReasonDesc":"CT_MAP_INSERTION_FAILED"'
    s_ep, s_ip = _ENDS[src]
    d_ep, d_ip = _ENDS[dst]
    when = f"2026-12-01T10:{t // 60000 % 60:02d}:{t // 1000 % 60:02d}.{t % 1000:03d}Z"
    return (f'{{"flow":{{"time":"{when}","verdict":"{verdict}"{reason},"IP":{{"source":"{s_ip.format(i=i, j=j)}",'
            f'"destination":"{d_ip.format(i=i, j=j)}","ipVersion":"IPv4"}},"l4":{{"{proto}":{{"sourcePort":'
            f'{rng.randrange(30000, 60000)},"destinationPort":{port}}}}},"source":{{{s_ep.format(i=i)}}},'
            f'"destination":{{{d_ep.format(i=i)}}}{names}{l7},"nodeName":"lab-worker","trafficDirection":"EGRESS",'
            f'"isReply":{reply}}},"node_name":"lab-worker","time":"{when}"}}\n')


def write_flows(path: Path, lines: int, seed: int = 14, packed: bool = False) -> None:
    rng = random.Random(seed)
    opener = gzip.open if packed else open
    with opener(path, "wt", encoding="utf-8") as out:
        chunk: list[str] = []
        for t in range(lines):
            chunk.append(_line(rng, t))
            if len(chunk) == 10_000:
                out.write("".join(chunk))
                chunk.clear()
        out.write("".join(chunk))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--gzip", action="store_true", help="Write the flow file gzip-compressed.")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kubeward-flows-"))
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / ("flows.json.gz" if args.gzip else "flows.json")
    write_flows(path, args.lines, packed=args.gzip)
    print(f"wrote {path}: {args.lines:,} records, {path.stat().st_size / 2**20:.0f} MB", file=sys.stderr)
    argv = [sys.executable, "-m", "kubeward", "flows", str(path), SHOP, "--cni", "cilium", "--format", "json"]
    times: list[float] = []
    peak = 0.0
    for _ in range(args.repeat):
        code, seconds, mb = _run_once(argv, workdir / "out.json", workdir / "err.txt")
        if code >= 2:
            print(f"kubeward flows failed ({code}):\n{_tail(workdir / 'err.txt')}", file=sys.stderr)
            return 1
        times.append(seconds)
        peak = max(peak, mb)
    median = statistics.median(times)
    print("| command | records | median s | min s | max s | peak MB | target |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    met = "met" if median <= TARGET_SECONDS else "MISSED"
    print(f"| flows{' (gzip)' if args.gzip else ''} | {args.lines:,} | {median:.2f} | {min(times):.2f} | "
          f"{max(times):.2f} | {peak:.0f} | ≤ {TARGET_SECONDS:.0f} s {met} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
