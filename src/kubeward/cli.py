"""The command line: a thin layer over the public API and the renderers. Each command parses its
arguments, calls the API (``kubeward`` / ``kubeward.analyses``), calls a renderer and sets the
exit code; what a result means lives in the analyses.

Exit codes: 0 = clean / allowed, 1 = findings / denied, 2 = usage or input error, 3 = internal
error (a short message; the traceback with ``--debug``).
"""

from __future__ import annotations

import functools
import gc
import os
import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any, NoReturn, overload

import click

from . import __version__
from .diagnostics import Severity, escape
from .engine.options import CNI_CHOICES, MESH_CHOICES, MESH_OUTBOUND_CHOICES, Options
from .errors import ClusterError, KubewardError, UsageError

if TYPE_CHECKING:
    from .analyses.commands import check_paths, run_tests
    from .analyses.connectivity_map import connectivity_map
    from .analyses.explain import explain as run_explain
    from .analyses.flow_diff import FlowsDiff
    from .analyses.revisions import DiffRun
    from .analyses.session import Analysis, analyse_input, is_domain, unknown_namespaces
    from .live import LiveSnapshot, read_cluster
    from .render import data, text
else:  # the same names, imported on first use: a command pays only for what it runs (issue 13)

    def _later(module: str, name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            return getattr(import_module(f".{module}", __package__), name)(*args, **kwargs)
        return call

    class _LaterModule:
        def __init__(self, module: str) -> None:
            self._module = module

        def __getattr__(self, name: str) -> Any:
            return getattr(import_module(f".{self._module}", __package__), name)

    check_paths, run_tests = _later("analyses.commands", "check_paths"), _later("analyses.commands", "run_tests")
    connectivity_map = _later("analyses.connectivity_map", "connectivity_map")
    run_explain = _later("analyses.explain", "explain")
    analyse_input, is_domain = _later("analyses.session", "analyse_input"), _later("analyses.session", "is_domain")
    read_cluster = _later("live", "read_cluster")
    unknown_namespaces = _later("analyses.session", "unknown_namespaces")
    data, text = _LaterModule("render.data"), _LaterModule("render.text")

Command = Callable[..., Any]

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3

# The options where implementations disagree, in the order --help lists them; each sets the
# field of `Options` with its name.
_PROFILE_OPTIONS = (
    click.option("--cni", type=click.Choice(CNI_CHOICES), default="auto", show_default=True,
                 help="The cluster's CNI: which policies are enforced, and how. auto: from the input."),
    click.option("--ipblock-matches-pods/--no-ipblock-matches-pods", default=None,
                 help="NP-18: whether an ipBlock matches pods whose IP is known "
                      "[default: as the CNI does it: yes, except cilium]."),
    click.option("--mesh", type=click.Choice(MESH_CHOICES), default="auto", show_default=True,
                 help="The service mesh layer. auto: istio when Istio policies are in the input."),
    click.option("--root-namespace", default="istio-system", show_default=True,
                 help="Istio's root namespace (mesh-wide policies)."),
    click.option("--trust-domain", default="cluster.local", show_default=True,
                 help="Istio's trust domain (principals <td>/ns/<ns>/sa/<sa>)."),
    click.option("--mesh-outbound", type=click.Choice(MESH_OUTBOUND_CHOICES), default=None,
                 help="IST-30: what sidecars do with traffic to hosts not in the registry "
                      "[default: the istio ConfigMap's outboundTrafficPolicy, else allow-any]."),
    click.option("--ingress-controller", metavar="NS/NAME", default=None,
                 help="ING-6: the workload whose pods are the ingress controller "
                      "[default: found by the ingress-nginx chart's labels, else a stand-in]."),
    click.option("--watch-ingress-without-class", is_flag=True, default=False,
                 help="ING-9: the ingress controller serves Ingresses without a class, as ingress-nginx "
                      "started with --watch-ingress-without-class [default: they are not served]."),
    click.option("--enforce-staged", is_flag=True, default=False,
                 help="CAL-23, IST-40: analyse as if Calico's staged policies and Istio's istio.io/dry-run "
                      "AuthorizationPolicies were enforced [default: they are not, as in the cluster]."),
    click.option("--cilium-audit", is_flag=True, default=False,
                 help="CIL-31: the Cilium agent runs with policy-audit-mode: policy drops are only logged, "
                      "the traffic allowed [default: enforced]."),
)
_INCLUDE_SELF = click.option("--include-self", is_flag=True,
                             help="List single-pod workloads reaching themselves (NP-7).")
_PROFILE_FIELDS = ("cni", "ipblock_matches_pods", "mesh", "root_namespace", "trust_domain", "mesh_outbound",
                   "ingress_controller", "watch_ingress_without_class", "enforce_staged", "cilium_audit",
                   "include_self")


@overload
def profile_options(func: Command) -> Command: ...


@overload
def profile_options(*, include_self: bool = False) -> Callable[[Command], Command]: ...


def profile_options(func: Command | None = None, *, include_self: bool = False) -> Any:
    """The profile options of every command (``--include-self`` too when ``include_self``),
    collected into one ``options: Options`` argument of the command function."""

    def decorate(command: Command) -> Command:
        @functools.wraps(command)
        def with_options(*args: Any, **kwargs: Any) -> Any:
            fields = {name: kwargs.pop(name) for name in _PROFILE_FIELDS if name in kwargs}
            return command(*args, options=Options(**fields), **kwargs)

        for option in reversed((*_PROFILE_OPTIONS, *((_INCLUDE_SELF,) if include_self else ()))):
            with_options = option(with_options)
        return with_options

    return decorate(func) if func is not None else decorate


@dataclass(frozen=True, slots=True)
class _ClusterInput:
    """--cluster with its --kubeconfig and --context: which cluster to read."""

    kubeconfig: str | None
    context: str | None


_CLUSTER_OPTIONS = (
    click.option("--cluster", "read_live", is_flag=True,
                 help="Read the cluster of the current kubeconfig context (PATHS, if any, are applied over it)."),
    click.option("--kubeconfig", metavar="FILE", default=None,
                 help="With --cluster: the kubeconfig file [default: KUBECONFIG, else ~/.kube/config]."),
    click.option("--context", "kube_context", metavar="NAME", default=None,
                 help="With --cluster: the kubeconfig context [default: its current context]."),
)


@overload
def _inputs(func: Command) -> Command: ...


@overload
def _inputs(*, required: bool = True) -> Callable[[Command], Command]: ...


def _inputs(func: Command | None = None, *, required: bool = True) -> Any:
    """PATH... and --cluster, --kubeconfig, --context: the command gets ``paths`` and ``live``
    (which cluster to read, or None). PATH is required unless --cluster is given (``required``)."""

    def decorate(command: Command) -> Command:
        @functools.wraps(command)
        def with_inputs(*args: Any, read_live: bool, kubeconfig: str | None, kube_context: str | None,
                        **kwargs: Any) -> Any:
            if not read_live and (kubeconfig or kube_context):
                raise click.UsageError(f"{'--kubeconfig' if kubeconfig else '--context'} is an option of --cluster")
            if required and not read_live and not kwargs.get("paths"):
                raise click.UsageError("give PATH... (files, folders, - for standard input), or --cluster")
            live = _ClusterInput(kubeconfig, kube_context) if read_live else None
            return command(*args, live=live, **kwargs)

        for option in reversed(_CLUSTER_OPTIONS):
            with_inputs = option(with_inputs)
        return click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))(with_inputs)

    return decorate(func) if func is not None else decorate


def _read_cluster(command: str, live: _ClusterInput | None, options: Options) -> LiveSnapshot | None:
    """The cluster --cluster names, read with a progress display on a terminal; exit code 2 when
    it cannot be read. The istio ConfigMap is read from --root-namespace (IST-30)."""
    if live is None:
        return None
    try:
        with _progress("reading the cluster") as status:
            say = (lambda text: status.update(f"kubeward: {escape(text)}…")) if status is not None else None
            return read_cluster(kubeconfig=live.kubeconfig, context=live.context, progress=say,
                                root_namespace=options.root_namespace)
    except ClusterError as exc:
        _fail(command, exc)


def _fail(command: str, message: object) -> NoReturn:
    click.echo(escape(f"kubeward {command}: {message}"), err=True)
    sys.exit(EXIT_INPUT)


def _stderr_diagnostics(analysis: Analysis, verbose: bool) -> None:
    for d in analysis.diagnostics.sorted():
        if d.severity is Severity.INFO and not verbose:
            continue
        click.echo(str(d), err=True)


def _diag_json(analysis: Analysis) -> list[dict[str, object]]:
    return [d.to_json() for d in analysis.diagnostics.sorted()]


def _progress(what: str) -> Any:
    """A spinner on standard error when it is a terminal — never in pipes or CI."""
    import contextlib
    import os

    if not sys.stderr.isatty() or os.environ.get("CI"):
        return contextlib.nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(f"kubeward: {what}…")


class _Kubeward(click.Group):
    """The command group, turning an internal error into a short message and exit code 3 (the
    traceback only with ``--debug``): a bug never reads as "findings" (1) or "input error" (2)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:  # the reader went away (`kubeward map … | head`): what a shell does on SIGPIPE
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(128 + 13)
        except Exception as exc:  # an internal error: any exception the commands did not turn into an exit code
            if ctx.params.get("debug"):
                click.echo(traceback.format_exc(), err=True, nl=False)
            what = escape(f"{type(exc).__name__}: {exc}")
            what = what if len(what) <= 300 else what[:300] + "…"
            click.echo(f"kubeward: internal error: {what} — please report it; run with --debug for the traceback",
                       err=True)
            ctx.exit(EXIT_INTERNAL)


@click.group(cls=_Kubeward, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kubeward")
@click.option("--debug", is_flag=True, help="On an internal error (exit code 3), print the traceback.")
def main(debug: bool) -> None:
    """kubeward: what your Kubernetes network security configuration allows, and why."""
    # A short-lived process that builds millions of small acyclic objects: the cyclic garbage
    # collector only costs time here (it halves the run time of a 10,000-pod map).
    gc.disable()


@main.command()
@_inputs
@profile_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--namespace", "-n", "namespaces", multiple=True,
              help="The connectivity summary of what has an end in this namespace (repeatable).")
@click.option("--workload", "-w", "workloads", multiple=True, metavar="NS/NAME",
              help="The connectivity summary of what has an end in this workload (repeatable).")
def check(paths: tuple[str, ...], live: _ClusterInput | None, options: Options, fmt: str,
          namespaces: tuple[str, ...], workloads: tuple[str, ...]) -> None:
    """Inventory, findings (as `lint`), connectivity summary and the results of a TestSuite
    (tests.yaml) among PATHS (files, folders, - for stdin).

    Exit code: 0 clean, 1 warnings, findings or failing tests, 2 input errors."""
    cluster = _read_cluster("check", live, options)
    try:
        with _progress("analysing"):
            report = check_paths(paths, options=options, cluster=cluster, namespaces=namespaces, workloads=workloads)
    except UsageError as exc:
        _fail("check", f"--namespace/--workload {exc}")
    if fmt == "json":
        click.echo(data.to_json(report.to_json()), nl=False)
    else:
        click.echo(text.check_report(report), nl=False)
    sys.exit(report.exit_code)


@main.command(name="map")
@_inputs
@profile_options(include_self=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv", "md", "dot"]), default="text",
              show_default=True)
@click.option("--namespace", "-n", "namespaces", multiple=True,
              help="Only connections with an end in this namespace (repeatable).")
@click.option("--workload", "-w", "workloads", multiple=True, metavar="NS/NAME",
              help="Only connections with an end in this workload (repeatable).")
@click.option("--expand", is_flag=True,
              help="One connection per pair of peers instead of connections between groups.")
@click.option("--verbose", "-v", is_flag=True, help="Also print informational notes.")
@click.option("--xdp", "xdp_spec", metavar="OBJECT.o[:SECTION]", default=None,
              help="An XDP program attached on the nodes' NICs: run through BPF_PROG_TEST_RUN on the flows' "
                   "packets, a layer before the CNI (needs root, bpftool).")
def map_(paths: tuple[str, ...], live: _ClusterInput | None, options: Options, fmt: str, namespaces: tuple[str, ...],
         workloads: tuple[str, ...], expand: bool, verbose: bool, xdp_spec: str | None) -> None:
    """Who can reach whom, on which ports: connections between groups of peers (whole namespaces,
    workloads, address ranges) that cover every pair exactly; --expand: one row per pair.
    --xdp: one row per pair, the ports the program drops removed.

    Exit code: 0, or 2 on input errors."""
    layer = _xdp_layer("map", xdp_spec)
    analysis = analyse_input(paths, options, cluster=_read_cluster("map", live, options))
    _stderr_diagnostics(analysis, verbose)
    _check_focus(analysis, namespaces, workloads)
    cmap = connectivity_map(analysis, namespaces, workloads=workloads, grouped=not expand and layer is None)
    xdp: dict[str, object] | None = None
    if layer is not None:
        from .kernel.xdp_flows import apply_to_map

        try:
            with layer:
                xdp = apply_to_map(layer, analysis.cluster, cmap)
        except (UsageError, KubewardError) as exc:
            _fail("map", exc)
    if fmt == "json":
        doc = cmap.to_json()
        if xdp is not None:
            doc["xdp"] = xdp
        doc["diagnostics"] = _diag_json(analysis)
        _write(data.json_bytes(doc))
    elif fmt == "csv":
        _write_all(data.map_csv(cmap))
    elif fmt == "md":
        _write_all(data.map_markdown(cmap))
    elif fmt == "dot":
        _write_all([data.map_dot(cmap)])
    else:
        from .render.map_text import connectivity_lines

        _write_all(connectivity_lines(cmap))
    if xdp is not None and fmt != "json":
        click.echo(_xdp_map_note(xdp), err=fmt != "text", nl=False)
    sys.exit(EXIT_INPUT if analysis.diagnostics.has_errors else EXIT_OK)


def _xdp_layer(command: str, spec: str | None) -> Any:
    """--xdp OBJECT.o[:SECTION] loaded (an XdpLayer), or None; exit 2 when it cannot be."""
    if spec is None:
        return None
    from .kernel.xdp import XdpLayer

    try:
        return XdpLayer.from_spec(spec)
    except KubewardError as exc:
        _fail(command, f"--xdp {spec}: {exc}")


def _xdp_map_note(xdp: dict[str, object]) -> str:
    dropped = xdp["dropped"]
    assert isinstance(dropped, list)
    head = (f"xdp: {xdp['object']} (section {xdp['section']}), {xdp['packets']} packets run: "
            f"{len(dropped)} connection(s) lose ports to it\n")
    return head + "".join(f"  {d['src']} -> {d['dst']}: {d['action']} on {_ports_text(d['protocols'])}"
                          f"{' (connection removed)' if d['removed'] else ''}\n" for d in dropped)


def _ports_text(ports: dict[str, list[list[int]]]) -> str:
    return ", ".join(f"{p}/{a}" if a == b else f"{p}/{a}-{b}" for p, ranges in ports.items() for a, b in ranges)


def _check_focus(analysis: Analysis, namespaces: tuple[str, ...], workloads: tuple[str, ...]) -> None:
    """--namespace / --workload must name what the input has."""
    unknown = unknown_namespaces(analysis, namespaces)
    if unknown:
        known = ", ".join(sorted(analysis.cluster.namespaces)) or "none"
        _fail("map", f"--namespace {', '.join(unknown)}: not in the input (namespaces: {known})")
    missing = [w for w in workloads if analysis.cluster.workload(w) is None]
    if missing:
        _fail("map", f"--workload {', '.join(missing)}: no such workload in the input (give NAMESPACE/NAME, as "
                     "the map names them)")


def _write(chunk: bytes | bytearray) -> None:
    """Bytes to standard output as they are."""
    sys.stdout.flush()
    sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.flush()


def _write_all(chunks: Iterable[str]) -> None:
    """Text to standard output as it is produced."""
    out = sys.stdout
    for chunk in chunks:
        out.write(chunk)
    out.flush()


@main.command()
@_inputs
@profile_options
@click.option("--from", "source", required=True, help="namespace/name, an IP address, or 'world'.")
@click.option("--to", "destination", required=True,
              help="namespace/name, an IP address, 'world', a DNS name, a URL (https://host/path: through "
                   "Ingresses and Gateways) or service/NS/NAME (with --port: the Service port).")
@click.option("--port", type=int, default=None,
              help="Destination (pod) port. Without it: which ports are allowed.")
@click.option("--protocol", default=None, help="TCP, UDP or SCTP [default: TCP with --port, else all].")
@click.option("--method", default=None, help="HTTP method (L7 rules, routes) [default: GET].")
@click.option("--path", "http_path", default=None, help="HTTP path, with any query (L7 rules).")
@click.option("--host", "http_host", default=None, help="HTTP Host header (L7 rules).")
@click.option("--header", "headers", multiple=True, metavar="NAME:VALUE", help="HTTP header (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="Also print informational notes.")
@click.option("--xdp", "xdp_spec", metavar="OBJECT.o[:SECTION]", default=None,
              help="An XDP program attached on the nodes' NICs: run through BPF_PROG_TEST_RUN on the flows' "
                   "packets, a layer before the CNI (needs root, bpftool).")
def explain(paths: tuple[str, ...], live: _ClusterInput | None, options: Options, source: str, destination: str,
            port: int | None, protocol: str | None, method: str | None, http_path: str | None, http_host: str | None,
            headers: tuple[str, ...], fmt: str, verbose: bool, xdp_spec: str | None) -> None:
    """The verdict for one flow and the trace behind it.

    Exit code: 0 allowed, 1 denied, 2 usage or input error."""
    layer = _xdp_layer("explain", xdp_spec)
    # DNS names among the peers are placed in the universe as it is built (else explain binds again).
    analysis = analyse_input(paths, options, cluster=_read_cluster("explain", live, options),
                             extra_domains=[p for p in (source, destination) if is_domain(p)])
    _stderr_diagnostics(analysis, verbose)
    parsed: list[tuple[str, str]] = []
    for h in headers:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            _fail("explain", f"--header {h!r}: expected NAME:VALUE")
        parsed.append((name.strip(), value.strip()))
    try:
        result = run_explain(analysis, source, destination, port, protocol, method=method, headers=tuple(parsed),
                             path=http_path, host=http_host)
    except UsageError as exc:
        _fail("explain", exc)
    if layer is not None:
        from .kernel.xdp_flows import apply_to_explanation

        try:
            with layer:
                apply_to_explanation(layer, analysis.cluster, result)
        except KubewardError as exc:
            _fail("explain", f"--xdp {xdp_spec}: {exc}")
    if fmt == "json":
        doc = result.to_json()
        doc["diagnostics"] = _diag_json(analysis)
        click.echo(data.to_json(doc), nl=False)
    else:
        click.echo(text.explanation(result), nl=False)
    if analysis.diagnostics.has_errors:
        sys.exit(EXIT_INPUT)
    sys.exit(EXIT_OK if result.allowed else EXIT_FINDINGS)


@main.command(name="test")
@_inputs
@profile_options
@click.option("--cases", "cases_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A TestSuite file [default: the TestSuite documents found among PATHS, e.g. tests.yaml].")
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the results as JUnit XML.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def test_(paths: tuple[str, ...], live: _ClusterInput | None, options: Options, cases_file: str | None,
          junit_file: str | None, fmt: str) -> None:
    """Run regression cases (expected verdicts) against PATHS without a cluster.

    Exit code: 0 all cases pass, 1 a case fails, 2 usage or input error."""
    try:
        run = run_tests(paths, options=options, cases=cases_file, cluster=_read_cluster("test", live, options))
    except UsageError as exc:
        _fail("test", exc)
    _stderr_diagnostics(run.analysis, False)
    for p in run.problems:
        click.echo(escape(f"kubeward test: {p}"), err=True)
    if junit_file:
        with open(junit_file, "w", encoding="utf-8") as out:
            out.write(run.result.junit())
    if fmt == "json":
        click.echo(data.to_json(run.result.to_json()), nl=False)
    else:
        click.echo(text.test_report(run.result, run.analysis.options.describe()), nl=False)
    sys.exit(run.exit_code)


@main.command(name="diff")
@_inputs
@profile_options
@click.option("--git", "git_range", metavar="REV1..REV2", default=None,
              help="Compare PATH at two git revisions instead of two paths.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "md"]), default="text", show_default=True)
@click.option("--flows", "flows_path", metavar="FLOWS", type=click.Path(allow_dash=True), default=None,
              help="Hubble flow records (a file, a folder, - for stdin): list the observed flows the change "
                   "would break or newly allow.")
@click.option("--staged", is_flag=True,
              help="CAL-23, IST-40: one PATH: what enforcing its staged and dry-run policies would change.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when anything changed (or an observed flow would break).")
@click.option("--verbose", "-v", is_flag=True, help="Also print informational notes.")
def diff_(paths: tuple[str, ...], live: _ClusterInput | None, options: Options, git_range: str | None, fmt: str,
          flows_path: str | None, staged: bool, exit_code: bool, verbose: bool) -> None:
    """What changed in what is allowed between OLD and NEW (two paths), between two git
    revisions of PATH (--git REV1..REV2 PATH), or between the live cluster and the cluster with
    NEW applied over it (--cluster NEW). Both sides are analysed under the same options; with
    --cni/--mesh auto, NEW decides them. With --flows, the observed flows whose verdict the change
    flips follow the diff: would be broken, newly allowed, with the deciding rule before and after.

    Exit code: 0, or 1 with --exit-code when something changed or an observed flow would be
    broken, 2 on input errors (of either side or of FLOWS)."""
    from .analyses.revisions import diff_cluster, diff_paths, diff_revisions, diff_staged

    if staged:
        if git_range or len(paths) != (0 if live is not None else 1):
            _fail("diff", "--staged takes exactly one PATH (or --cluster alone), and no --git")
        cluster = _read_cluster("diff", live, options) if live is not None else None
        run = diff_staged(paths[0] if paths else "", cluster=cluster, options=options)
    elif live is not None:
        if git_range or len(paths) != 1:
            _fail("diff", "--cluster takes exactly one NEW path (and no --git): the live cluster is OLD")
        cluster = _read_cluster("diff", live, options)
        assert cluster is not None
        run = diff_cluster(paths[0], cluster=cluster, options=options)
    elif git_range:
        rev1, _, rev2 = git_range.partition("..")
        if len(paths) != 1 or not rev1 or not rev2:
            _fail("diff", "--git REV1..REV2 takes exactly one PATH")
        try:
            run = diff_revisions(paths[0], rev1, rev2, options=options)
        except UsageError as exc:
            _fail("diff", exc)
    else:
        if len(paths) != 2:
            _fail("diff", "give OLD and NEW, or --git REV1..REV2 PATH")
        run = diff_paths(paths[0], paths[1], options=options)
    for name, analysis in (("old", run.old), ("new", run.new)):
        for d in analysis.diagnostics.sorted():
            if d.severity is not Severity.INFO or verbose:
                click.echo(f"{name}: {d}", err=True)  # a Diagnostic prints escaped
    flows_diff = _flows_diff(run, flows_path) if flows_path is not None else None
    if fmt == "json":
        doc = run.result.to_json()
        if flows_diff is not None:
            doc["flows"] = flows_diff.to_json()
        click.echo(data.to_json(doc), nl=False)
    elif fmt == "md":
        click.echo(text.config_diff_markdown(run.result), nl=False)
        if flows_diff is not None:
            from .render.flows_text import flows_diff_markdown

            _write_all(flows_diff_markdown(flows_diff))
    else:
        click.echo(text.config_diff(run.result), nl=False)
        if flows_diff is not None:
            from .render.flows_text import flows_diff_lines

            _write_all(flows_diff_lines(flows_diff, flows_path or ""))
    code = run.exit_code(changes_fail=exit_code)
    if flows_diff is not None and flows_diff.read.diagnostics.has_errors:
        code = EXIT_INPUT
    elif code == EXIT_OK and exit_code and flows_diff is not None and flows_diff.would_break:
        code = 1
    sys.exit(code)


def _flows_diff(run: DiffRun, flows_path: str) -> FlowsDiff:
    """The observed flows of ``flows_path`` against both sides of ``run`` (read diagnostics on stderr)."""
    from .analyses.flow_diff import read_flows_diff

    with _progress("reading flows") as status:
        say = (lambda n: status.update(f"kubeward: reading flows… {n:,} records")) if status is not None else None
        result = read_flows_diff(run.old, run.new, [flows_path], progress=say)
    for d in result.read.diagnostics.sorted():
        click.echo(str(d), err=True)
    return result


@main.command()
@_inputs(required=False)
@profile_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True)
@click.option("--severity", type=click.Choice(["info", "warning", "error"]), default="info", show_default=True,
              help="Report findings of this severity and above.")
@click.option("--fail-on", type=click.Choice(["info", "warning", "error"]), default="warning", show_default=True,
              help="Exit 1 when a reported finding has this severity or above.")
@click.option("--disable", "disabled", multiple=True, metavar="CODE", help="Do not report this finding code.")
@click.option("--config", "config", type=click.Path(), default=None,
              help="A kubeward config file (lint.disable, lint.ignore with reasons) [default: .kubeward.yaml "
                   "in the current folder, if any].")
@click.option("--list", "list_rules", is_flag=True, help="List the finding codes and exit.")
def lint(paths: tuple[str, ...], live: _ClusterInput | None, options: Options, fmt: str, severity: str, fail_on: str,
         disabled: tuple[str, ...], config: str | None, list_rules: bool) -> None:
    """Findings against the operations checklist and the known traps, each with a fix.

    Exit code: 0 none at --fail-on or above, 1 some, 2 input errors or a bad config."""
    from .analyses.lint import RULES
    from .analyses.lint_config import (
        LintConfig,
        default_config_path,
        input_problems,
        lint_exit_code,
        read_lint_config,
        unknown_codes,
    )
    from .analyses.lint_config import lint as run_lint
    from .render.sarif import sarif

    if list_rules:
        for code, rule in sorted(RULES.items()):
            click.echo(f"{code:32} {rule.severity:8} {rule.title} ({rule.source})")
        sys.exit(EXIT_OK)
    if not paths and live is None:
        _fail("lint", "give at least one PATH, or --cluster")
    unknown = unknown_codes(disabled)
    if unknown:
        _fail("lint", f"unknown finding code(s): {', '.join(unknown)} (see --list)")
    config = config or default_config_path()
    try:
        settings = read_lint_config(config) if config else LintConfig()
    except UsageError as exc:
        _fail("lint", exc)
    analysis = analyse_input(paths, options, cluster=_read_cluster("lint", live, options))
    report = run_lint(analysis, severity=severity, disabled=disabled, config=settings)
    # Input problems that are not findings (syntax, schema, unknown fields, empty folders): on
    # standard error, never dropped; errors among them make the exit code 2.
    for d in input_problems(analysis):
        click.echo(str(d), err=True)
    if fmt == "json":
        click.echo(data.to_json(report.to_json()), nl=False)
    elif fmt == "sarif":
        click.echo(data.to_json(sarif(report)), nl=False)
    else:
        click.echo(text.lint_report(report), nl=False)
    sys.exit(lint_exit_code(report, analysis, fail_on))


@main.command()
@_inputs
@profile_options
@click.option("--relabel", nargs=2, multiple=True, metavar="TARGET CHANGES",
              help="Simulate label changes: TARGET is NS/WORKLOAD, or ns/NAME for a namespace; CHANGES is "
                   "key=value (set) or key- (remove), comma-separated. Repeatable: all are applied together.")
@click.option("--simulate", "simulations", type=click.IntRange(min=0), default=None, metavar="N",
              help="Simulate removing each selected-on label from each workload or namespace that carries it, "
                   "up to N removals (0: none) [default: 20, fewer from 50 workloads on, none from 1,000].")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "md"]), default="text", show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="Also print informational notes.")
def labels(paths: tuple[str, ...], live: _ClusterInput | None, options: Options, relabel: tuple[tuple[str, str], ...],
           simulations: int, fmt: str, verbose: bool) -> None:
    """The labels and namespace labels that the policies and Services of PATHS select on: which
    objects depend on each (file:line), in which role (subject, peer, Service selector) and with which
    operator; labels no workload or namespace carries; and what removing each from what carries it
    would change in what is allowed (a relabel simulation: the input analysed again with the label
    changed, and the two maps compared). --relabel simulates the changes you name.

    Exit code: 0, 2 on a bad --relabel or input errors."""
    from .analyses.labels import label_dependencies, parse_relabel

    analysis = analyse_input(paths, options, cluster=_read_cluster("labels", live, options))
    _stderr_diagnostics(analysis, verbose)
    try:
        changes = parse_relabel(analysis.cluster, relabel)
    except UsageError as exc:
        _fail("labels", f"--relabel {exc}")
    with _progress("simulating relabels"):
        report = label_dependencies(analysis, relabel=changes, simulations=simulations)
    if fmt == "json":
        doc = report.to_json()
        doc["diagnostics"] = _diag_json(analysis)
        _write(data.json_bytes(doc))
    elif fmt == "md":
        from .render.labels_text import labels_markdown

        click.echo(labels_markdown(report), nl=False)
    else:
        from .render.labels_text import labels_lines

        _write_all(line + "\n" for line in labels_lines(report))
    sys.exit(EXIT_INPUT if analysis.diagnostics.has_errors else EXIT_OK)


@main.command()
@click.argument("flows_path", metavar="FLOWS", type=click.Path(allow_dash=True))
@_inputs
@profile_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "md"]), default="text", show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="Also print informational notes.")
def flows(flows_path: str, paths: tuple[str, ...], live: _ClusterInput | None, options: Options, fmt: str,
          verbose: bool) -> None:
    """Every distinct flow of FLOWS (Hubble's `hubble observe -o json` / `-o jsonpb` output: a file,
    a folder, - for stdin, gzip too) against the configuration in PATHS: the verdict Hubble saw,
    kubeward's with the rule that decides it, the disagreements, drops by reason and rule, and the
    rules no observed flow used.

    Exit code: 0 all agree, 1 a disagreement, 2 input errors."""
    from .analyses.flows import flows_report, read_placed

    analysis = analyse_input(paths, options, cluster=_read_cluster("flows", live, options))
    _stderr_diagnostics(analysis, verbose)
    with _progress("reading flows") as status:
        say = (lambda n: status.update(f"kubeward: reading flows… {n:,} records")) if status is not None else None
        read, placer = read_placed(analysis, [flows_path], progress=say)
    for d in read.diagnostics.sorted():
        click.echo(str(d), err=True)
    with _progress("comparing flows"):
        report = flows_report(analysis, read, placer)
    if fmt == "json":
        doc = report.to_json()
        doc["diagnostics"] = [*doc["diagnostics"], *_diag_json(analysis)]  # type: ignore[misc]
        _write(data.json_bytes(doc))
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
@click.option("--namespace", "-n", "namespaces", multiple=True,
              help="Write policies for this namespace only (repeatable) [default: every namespace of the "
                   "observed workloads].")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
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

    analysis = analyse_input(paths, options, cluster=_read_cluster("advise", live, options))
    _stderr_diagnostics(analysis, verbose)
    unknown = unknown_namespaces(analysis, namespaces)
    if unknown:
        _fail("advise", f"--namespace {', '.join(unknown)}: not in the input")
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
    if fmt == "json":
        _write(data.json_bytes(proof.to_json()))
    else:
        from .render.advise_text import advise_lines

        _write_all(advise_lines(proof))
    sys.exit(proof.exit_code)


@main.command(name="xdp")
@_inputs
@profile_options
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="The folder to write kubeward_xdp.c and kubeward_xdp.o to.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="Also print informational notes.")
def xdp(paths: tuple[str, ...], live: _ClusterInput | None, options: Options, out_dir: str, fmt: str,
        verbose: bool) -> None:
    """An XDP program from the deny rules that hold for every pod of a node regardless of identity
    (Cilium clusterwide and host ingressDeny by port and CIDR, Calico untracked host-endpoint
    Deny rules), compiled with clang and verified with BPF_PROG_TEST_RUN on crafted packets.

    Exit code: 0 verified (or no rule qualifies: no program), 1 a packet got the wrong answer,
    2 input errors or missing tools (clang, bpftool, root)."""
    from pathlib import Path

    from .kernel.xdp_gen import build
    from .render.xdp_text import xdp_report

    analysis = analyse_input(paths, options, cluster=_read_cluster("xdp", live, options))
    _stderr_diagnostics(analysis, verbose)
    try:
        with _progress("building and verifying the XDP program"):
            report = build(analysis.objects, analysis.cluster, list(paths), Path(out_dir))
    except KubewardError as exc:
        _fail("xdp", exc)
    if fmt == "json":
        doc = report.to_json()
        doc["diagnostics"] = _diag_json(analysis)
        _write(data.json_bytes(doc))
    else:
        click.echo(xdp_report(report), nl=False)
    sys.exit(EXIT_INPUT if analysis.diagnostics.has_errors else report.exit_code)


@main.command()
@_inputs
@profile_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
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
    if fmt == "json":
        _write(data.json_bytes(report.to_json()))
    else:
        from .render.replay_text import replay_report

        _write_all([replay_report(report)])
    sys.exit(report.exit_code)


@main.command()
@_inputs
@profile_options
@click.option("--flows", "flows_paths", metavar="FLOWS", multiple=True, type=click.Path(allow_dash=True),
              help="Hubble flow records (as for `kubeward flows`): add the observed drops by reason and the "
                   "disagreements (repeatable).")
@click.option("--output", "-o", "out_file", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="The HTML file to write (- for standard output).")
@click.option("--verbose", "-v", is_flag=True, help="Also print informational notes.")
def report(paths: tuple[str, ...], live: _ClusterInput | None, options: Options, flows_paths: tuple[str, ...],
           out_file: str, verbose: bool) -> None:
    """One self-contained HTML page to look at: the connectivity graph (namespaces, workloads, the
    outside world, broken paths in red with the rule that breaks them), per workload who can reach
    it and whom it reaches with the deciding rules (file:line), entry points with their hops, lint
    findings with fixes, the TestSuite results, and with --flows the observed drops and the
    disagreements. Nothing in the page is fetched from the network.

    Exit code: 0 written, 2 input errors (the page is written all the same)."""
    from .analyses.report import report_paths
    from .render.report_html import report_html

    cluster = _read_cluster("report", live, options)
    with _progress("analysing"):
        result = report_paths(paths, options=options, cluster=cluster, flows=flows_paths)
    for d in result.diagnostics:
        if d.severity is not Severity.INFO or verbose:
            click.echo(str(d), err=True)
    page = report_html(result)
    if out_file == "-":
        _write(page)
    else:
        try:
            with open(out_file, "wb") as out:
                out.write(page)
        except OSError as exc:
            _fail("report", f"{out_file}: {exc.strerror or exc}")
    sys.exit(EXIT_INPUT if result.has_errors else EXIT_OK)
