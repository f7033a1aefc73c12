"""The commands that read Hubble's flows (issue 9, issue 12): ``kubeward flows`` (observed against
computed) and ``kubeward advise`` (least-privilege policies from them). Registered on
:data:`kubeward.cli.main`."""

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
    _known_namespaces,
    _progress,
    _read_cluster,
    _stderr_diagnostics,
    _write_all,
    main,
    profile_options,
)
from .cli_habits import namespaces_option, output_options
from .diagnostics import Severity
from .engine.options import Options
from .errors import UsageError


@main.command()
@click.argument("flows_path", metavar="FLOWS", type=click.Path(allow_dash=True))
@_inputs
@profile_options
@output_options(["text", "json", "md"])
@namespaces_option("Only the flows with an end in this namespace (the counts too)")
@click.option("--verbose", "-v", is_flag=True, help="Also print informational notes.")
def flows(flows_path: str, paths: tuple[str, ...], live: _ClusterInput | None, options: Options, fmt: str,
          namespaces: tuple[str, ...], verbose: bool) -> None:
    """Every distinct flow of FLOWS (Hubble's `hubble observe -o json` / `-o jsonpb` output: a file,
    a folder, - for stdin, gzip too) against the configuration in PATHS: the verdict Hubble saw,
    kubeward's with the rule that decides it, the disagreements, drops by reason and rule, and the
    rules no observed flow used.

    Exit code: 0 all agree, 1 a disagreement, 2 input errors."""
    from .analyses.flows import flows_report, read_placed
    from .analyses.focus import focus_flows
    from .analyses.session import analyse_input

    analysis = analyse_input(paths, options, cluster=_read_cluster("flows", live, options))
    _stderr_diagnostics(analysis, verbose)
    _known_namespaces("flows", analysis, namespaces)
    with _progress("reading flows") as status:
        say = (lambda n: status.update(f"kubeward: reading flows… {n:,} records")) if status is not None else None
        read, placer = read_placed(analysis, [flows_path], progress=say)
    for d in read.diagnostics.sorted():
        click.echo(str(d), err=True)
    with _progress("comparing flows"):
        report = flows_report(analysis, read, placer)
    if namespaces:
        report = focus_flows(report, namespaces)
    if fmt in ("json", "yaml"):
        doc = report.to_json()
        doc["diagnostics"] = [*doc["diagnostics"], *_diag_json(analysis)]  # type: ignore[misc]
        _emit(doc, fmt)
    elif fmt == "md":
        from .render.flows_text import flows_markdown

        _write_all(flows_markdown(report))
    else:
        from .render.flows_text import flows_lines

        _write_all(flows_lines(report))
    if read.diagnostics.has_errors or analysis.diagnostics.has_errors:
        sys.exit(EXIT_INPUT)
    sys.exit(report.exit_code)


@main.command()
@click.argument("flows_path", metavar="FLOWS", type=click.Path(allow_dash=True))
@_inputs
@profile_options
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="The folder to write the policies to: one file per namespace, NAMESPACE.yaml.")
@click.option("--dialect", type=click.Choice(["networkpolicy", "cilium"]), default="networkpolicy",
              show_default=True, help="NetworkPolicy, or CiliumNetworkPolicy with DNS names and HTTP rules.")
@namespaces_option("Write policies for this namespace only [default: every namespace of the observed workloads]")
@output_options(["text", "json"])
@click.option("--verbose", "-v", is_flag=True, help="Also print informational notes.")
def advise(flows_path: str, paths: tuple[str, ...], live: _ClusterInput | None, options: Options, out_dir: str,
           dialect: str, namespaces: tuple[str, ...], fmt: str, verbose: bool) -> None:
    """Least-privilege policies written from the allowed traffic of FLOWS (Hubble's flows, as for
    `kubeward flows`) on the workloads of PATHS: per namespace a default deny, DNS egress and the
    observed peers and ports of each workload, into --out DIR, commented with the flows each rule
    covers. Then proved: every observed allowed flow must be allowed by the written set (with the
    input's other objects, its network policies removed), and what else it allows is listed, with
    the diff against the current configuration.

    Exit code: 0 the proof holds, 1 an observed allowed flow is not allowed, 2 input errors."""
    from .analyses.advise import advise as run_advise
    from .analyses.advise import read_for_advice
    from .analyses.advise_proof import prove, write_advice
    from .analyses.session import analyse_input

    analysis = analyse_input(paths, options, cluster=_read_cluster("advise", live, options))
    _stderr_diagnostics(analysis, verbose)
    _known_namespaces("advise", analysis, namespaces)
    with _progress("reading flows") as status:
        say = (lambda n: status.update(f"kubeward: reading flows… {n:,} records")) if status is not None else None
        read = read_for_advice(analysis, [flows_path], progress=say)
    for d in read.diagnostics.sorted():
        click.echo(str(d), err=True)
    if read.diagnostics.has_errors or analysis.diagnostics.has_errors:
        sys.exit(EXIT_INPUT)
    advice = run_advise(analysis, read, dialect, namespaces)
    try:
        files = write_advice(advice, out_dir)
    except UsageError as exc:
        _fail("advise", exc)
    with _progress("proving the policies"):
        proof = prove(analysis, advice, files)
    for d in proof.diagnostics.sorted():
        if d.severity is not Severity.INFO or verbose:
            click.echo(f"advised: {d}", err=True)
    if fmt in ("json", "yaml"):
        _emit(proof.to_json(), fmt)
    else:
        from .render.advise_text import advise_lines

        _write_all(advise_lines(proof))
    sys.exit(proof.exit_code)
