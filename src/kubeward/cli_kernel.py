"""The commands on a real kernel (issue 15): ``kubeward xdp`` (an XDP program from the node-wide
denies, compiled and verified with BPF_PROG_TEST_RUN) and ``kubeward replay`` (the configuration
replayed in network namespaces with nftables). Registered on :data:`kubeward.cli.main`."""

from __future__ import annotations

import sys

import click

from .cli import (
    EXIT_INPUT,
    _ClusterInput,
    _diag_json,
    _emit,
    _fail,
    _inputs,
    _progress,
    _read_cluster,
    _stderr_diagnostics,
    _write_all,
    _xdp_layer,
    main,
    profile_options,
)
from .cli_habits import output_options
from .engine.options import Options
from .errors import KubewardError


@main.command(name="xdp")
@_inputs
@profile_options
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="The folder to write kubeward_xdp.c and kubeward_xdp.o to.")
@output_options(["text", "json"])
@click.option("--verbose", "-v", is_flag=True, help="Also print informational notes.")
def xdp(paths: tuple[str, ...], live: _ClusterInput | None, options: Options, out_dir: str, fmt: str,
        verbose: bool) -> None:
    """An XDP program from the deny rules that hold for every pod of a node regardless of identity
    (Cilium clusterwide and host ingressDeny by port and CIDR, Calico untracked host-endpoint
    Deny rules), compiled with clang and verified with BPF_PROG_TEST_RUN on crafted packets.

    Exit code: 0 verified (or no rule qualifies: no program), 1 a packet got the wrong answer,
    2 input errors or missing tools (clang, bpftool, root)."""
    from pathlib import Path

    from .analyses.session import analyse_input
    from .kernel.xdp_gen import build, refused_objects
    from .render.xdp_text import xdp_report

    analysis = analyse_input(paths, options, cluster=_read_cluster("xdp", live, options))
    _stderr_diagnostics(analysis, verbose)
    try:
        with _progress("building and verifying the XDP program"):
            report = build(analysis.objects, analysis.cluster, list(paths), Path(out_dir),
                           refused=refused_objects(analysis))
    except KubewardError as exc:
        _fail("xdp", exc)
    if fmt in ("json", "yaml"):
        doc = report.to_json()
        doc["diagnostics"] = _diag_json(analysis)
        _emit(doc, fmt)
    else:
        click.echo(xdp_report(report), nl=False)
    sys.exit(EXIT_INPUT if analysis.diagnostics.has_errors else report.exit_code)


@main.command()
@_inputs
@profile_options
@output_options(["text", "json"])
@click.option("--max-pairs", "max_pairs", type=click.IntRange(min=1), default=20000, show_default=True,
              help="At most this many probes (pair × port); more: a deterministic sample, reported as such.")
@click.option("--timeout", type=click.FloatRange(min=0.05), default=1.0, show_default=True,
              help="Seconds a probe waits for its answer.")
@click.option("--xdp", "xdp_spec", metavar="OBJECT.o[:SECTION]", default=None,
              help="An XDP program attached on the nodes' NICs: attached in front of every pod of the replay "
                   "and characterised with BPF_PROG_TEST_RUN; the probes it drops must go unanswered.")
@click.option("--verbose", "-v", is_flag=True, help="Also print informational notes.")
def replay(paths: tuple[str, ...], live: _ClusterInput | None, options: Options, fmt: str, max_pairs: int,
           timeout: float, xdp_spec: str | None, verbose: bool) -> None:
    """Replay PATHS on the real kernel (needs root, ip and nft): one network namespace per
    identity and per outside address piece, the engine's policy tiers compiled into nftables,
    every pair probed on the ports the policies tell apart, each probe compared with the engine.
    --xdp: the program attached on each pod's interface, a layer before the CNI on both sides.

    Exit code: 0 every probe agrees, 1 a disagreement, 2 usage or input error, or no root/nft/ip."""
    from .analyses.session import analyse_input
    from .kernel.replay import replay as run_replay
    from .kernel.topology import KernelUnavailable, check_available

    try:
        check_available()
    except KernelUnavailable as exc:
        _fail("replay", exc)
    layer = _xdp_layer("replay", xdp_spec)
    analysis = analyse_input(paths, options, cluster=_read_cluster("replay", live, options))
    _stderr_diagnostics(analysis, verbose)
    if analysis.diagnostics.has_errors:
        sys.exit(EXIT_INPUT)
    from .kernel.bpf_run import ProgramError

    try:
        with _progress("replaying on the kernel"):
            report = run_replay(analysis.engine, max_probes=max_pairs, timeout=timeout, xdp=layer)
    except (KernelUnavailable, ProgramError) as exc:
        _fail("replay", exc)
    finally:
        if layer is not None:
            layer.close()
    if fmt in ("json", "yaml"):
        _emit(report.to_json(), fmt)
    else:
        from .render.replay_text import replay_report

        _write_all([replay_report(report)])
    sys.exit(report.exit_code)
