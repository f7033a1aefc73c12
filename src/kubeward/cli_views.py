"""The commands that show the configuration to people (issue 17): ``kubeward labels`` (the labels
the selectors read, and relabel simulations) and ``kubeward report`` (one self-contained HTML page).
Registered on :data:`kubeward.cli.main`."""

from __future__ import annotations

import sys

import click

from .cli import (
    EXIT_INPUT,
    EXIT_OK,
    _ClusterInput,
    _diag_json,
    _emit,
    _fail,
    _inputs,
    _known_namespaces,
    _progress,
    _read_cluster,
    _stderr_diagnostics,
    _write,
    _write_all,
    main,
    profile_options,
)
from .cli_habits import namespaces_option, output_options
from .diagnostics import Severity
from .engine.options import Options
from .errors import UsageError

_FORMATS = ("json", "yaml", "yml", "text", "md", "csv", "dot", "wide", "name", "sarif")


@main.command()
@_inputs
@profile_options
@click.option("--relabel", nargs=2, multiple=True, metavar="TARGET CHANGES",
              help="Simulate label changes: TARGET is a workload (NS/NAME, deploy/web, deployment/NS/NAME, NAME "
                   "with -n), or ns/NAME for a namespace; CHANGES is key=value (set) or key- (remove), "
                   "comma-separated. Repeatable: all are applied together.")
@click.option("--simulate", "simulations", type=click.IntRange(min=0), default=None, metavar="N",
              help="Simulate removing each selected-on label from each workload or namespace that carries it, "
                   "up to N removals (0: none) [default: 20, fewer from 50 workloads on, none from 1,000].")
@output_options(["text", "json", "md"])
@namespaces_option("Only the labels an object of this namespace reads or one of its workloads (or the namespace) "
                   "carries, and the removals from those; one -n is also the namespace of --relabel's names")
@click.option("--verbose", "-v", is_flag=True, help="Also print informational notes.")
def labels(paths: tuple[str, ...], live: _ClusterInput | None, options: Options, relabel: tuple[tuple[str, str], ...],
           simulations: int, fmt: str, namespaces: tuple[str, ...], verbose: bool) -> None:
    """The labels and namespace labels that the policies and Services of PATHS select on: which
    objects depend on each (file:line), in which role (subject, peer, Service selector) and with which
    operator; labels no workload or namespace carries; and what removing each from what carries it
    would change in what is allowed (a relabel simulation: the input analysed again with the label
    changed, and the two maps compared). --relabel simulates the changes you name.

    Exit code: 0, 2 on a bad --relabel or input errors."""
    from .analyses.labels import label_dependencies, parse_relabel
    from .analyses.session import analyse_input

    analysis = analyse_input(paths, options, cluster=_read_cluster("labels", live, options))
    _stderr_diagnostics(analysis, verbose)
    _known_namespaces("labels", analysis, namespaces)
    try:
        changes = parse_relabel(analysis.cluster, relabel, namespaces[0] if len(namespaces) == 1 else None)
    except UsageError as exc:
        _fail("labels", f"--relabel {exc}")
    with _progress("simulating relabels"):
        report = label_dependencies(analysis, relabel=changes, simulations=simulations, namespaces=namespaces)
    if fmt in ("json", "yaml"):
        doc = report.to_json()
        doc["diagnostics"] = _diag_json(analysis)
        _emit(doc, fmt)
    elif fmt == "md":
        from .render.labels_text import labels_markdown

        click.echo(labels_markdown(report), nl=False)
    else:
        from .render.labels_text import labels_lines

        _write_all(line + "\n" for line in labels_lines(report))
    sys.exit(EXIT_INPUT if analysis.diagnostics.has_errors else EXIT_OK)


@main.command()
@_inputs
@profile_options
@click.option("--flows", "flows_paths", metavar="FLOWS", multiple=True, type=click.Path(allow_dash=True),
              help="Hubble flow records (as for `kubeward flows`): add the observed drops by reason and the "
                   "disagreements (repeatable).")
@click.option("--output", "-o", "out_file", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="The HTML file to write (- for standard output).")
@namespaces_option("The page of this namespace and its direct peers: the graph cut to the connections with an end "
                   "in it, the sections to what has an end in it")
@click.option("-q", "--quiet", "be_quiet", is_flag=True,
              help="Print nothing but errors (with -o -: not the page either): the exit code says it.")
@click.option("--verbose", "-v", is_flag=True, help="Also print informational notes.")
def report(paths: tuple[str, ...], live: _ClusterInput | None, options: Options, flows_paths: tuple[str, ...],
           out_file: str, namespaces: tuple[str, ...], be_quiet: bool, verbose: bool) -> None:
    """One self-contained HTML page to look at: the connectivity graph (namespaces, workloads, the
    outside world, broken paths in red with the rule that breaks them), per workload who can reach
    it and whom it reaches with the deciding rules (file:line), entry points with their hops, lint
    findings with fixes, the TestSuite results, and with --flows the observed drops and the
    disagreements. Nothing in the page is fetched from the network.

    Exit code: 0 written, 2 input errors (the page is written all the same)."""
    from .analyses.report import report_paths
    from .render.report_html import report_html

    if out_file.lower() in _FORMATS:  # kubectl's -o FORMAT: here -o is the page's file (issue 17)
        _fail("report", f"-o {out_file}: report writes one HTML page, and -o names its file (-o report.html, "
                        "- for standard output); the data as JSON or YAML: kubeward check/map/labels -o json|yaml")
    cluster = _read_cluster("report", live, options)
    try:
        with _progress("analysing"):
            result = report_paths(paths, options=options, cluster=cluster, flows=flows_paths, namespaces=namespaces)
    except UsageError as exc:
        _fail("report", exc)
    for d in result.diagnostics:
        if (d.severity is not Severity.INFO or verbose) and (not be_quiet or d.severity is Severity.ERROR):
            click.echo(str(d), err=True)
    page = report_html(result)
    if out_file == "-":
        if not be_quiet:
            _write(page)
    else:
        try:
            with open(out_file, "wb") as out:
                out.write(page)
        except OSError as exc:
            _fail("report", f"{out_file}: {exc.strerror or exc}")
    sys.exit(EXIT_INPUT if result.has_errors else EXIT_OK)
