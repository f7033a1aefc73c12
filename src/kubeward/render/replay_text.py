"""``kubeward replay`` as text."""

from __future__ import annotations

from ..kernel.replay import ReplayReport


def replay_report(report: ReplayReport) -> str:
    lines = [f"replayed on the kernel: {report.endpoints} endpoints ({report.identities} identities, "
             f"{report.outside} outside address pieces), {report.nft_rules} nft rules",
             f"probes: {report.probes}" + (f" (a deterministic sample of {report.candidates})" if report.sampled
                                           else ""),
             f"agreements: {report.agreements} ({report.allowed} allowed, {report.denied} denied by both"
             + (f", {report.dropped} dropped by XDP in both" if report.xdp else "") + ")",
             f"disagreements: {len(report.disagreements)}"]
    if report.xdp is not None:
        x = report.xdp
        kind = "native" if x.mode == "xdp" else "generic"
        lines.insert(1, f"xdp: {x.layer.label} (section {x.layer.section}) attached ({kind} XDP, ip link set dev "
                        f"eth0 {x.mode}) on {x.attached} "
                        f"pod interfaces; {x.packets} packets run through BPF_PROG_TEST_RUN, "
                        f"{x.expected_dropped} probes dropped by it")
    for d in report.disagreements:
        engine = f"{d.engine} (xdp)" if d.layer == "xdp" else d.engine
        lines.append(f"  {d.source} -> {d.destination} {d.probe.protocol}/{d.probe.port}: engine {engine}, "
                     f"kernel {d.kernel.outcome.value}" + (f" ({d.kernel.detail})" if d.kernel.detail else ""))
        for step in d.trace:
            lines.append(f"    engine: [{step.get('direction', '')}] {step.get('message', '')}")
        for rule in d.moved:
            lines.append(f"    nft ({rule['namespace']}, chain {rule['chain']}, +{rule['packets']} packets): "
                         f"{rule['rule']}")
    if report.not_replayed:
        lines.append("not replayed:")
        lines += [f"  - {n}" for n in report.not_replayed]
    timing = ", ".join(f"{k} {v:.2f}s" for k, v in report.seconds.items())
    lines.append(f"time: {timing}")
    return "\n".join(lines) + "\n"
