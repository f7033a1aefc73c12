"""The command line: a thin layer over the public API and the renderers. Each command parses its
arguments, calls the API (``kubeward`` / ``kubeward.analyses``), calls a renderer and sets the
exit code; what a result means lives in the analyses.

Exit codes: 0 = clean / allowed, 1 = findings / denied, 2 = usage or input error, 3 = internal
error (a short message; the traceback with ``--debug``).
"""

from __future__ import annotations

import dataclasses
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
from .cli_habits import colour, colour_all, emit_yaml, namespaces_option, output_options, quiet
from .diagnostics import Severity, escape
from .engine.options import CNI_CHOICES, MESH_CHOICES, MESH_OUTBOUND_CHOICES, Options
from .errors import ClusterError, KubewardError, UsageError

if TYPE_CHECKING:
    from .analyses import focus
    from .analyses.commands import check_paths, run_tests
    from .analyses.connectivity_map import connectivity_map
    from .analyses.denied_map import DeniedMap
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
    data, text, focus = _LaterModule("render.data"), _LaterModule("render.text"), _LaterModule("analyses.focus")

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


_PLUGIN = {"on": False}  # run as `kubectl kubeward` (kubectl_main)


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
            if _PLUGIN["on"] and not read_live and not kwargs.get("paths"):
                read_live = True  # `kubectl kubeward map -n shop`: a kubectl plugin reads kubectl's cluster
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
        if (d.severity is Severity.INFO and not verbose) or (quiet() and d.severity is not Severity.ERROR):
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
@output_options(["text", "json"])
@namespaces_option("The connectivity summary of what has an end in this namespace")
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
        _fail("check", exc)
    if fmt in ("json", "yaml"):
        _emit(report.to_json(), fmt, pretty=True)
    else:
        click.echo(colour(text.check_report(report)), nl=False)
    sys.exit(report.exit_code)


@main.command(name="map")
@_inputs
@profile_options(include_self=True)
@output_options(["text", "json", "csv", "md", "dot"])
@namespaces_option("Only connections with an end in this namespace")
@click.option("--workload", "-w", "workloads", multiple=True, metavar="NS/NAME",
              help="Only connections with an end in this workload (repeatable).")
@click.option("--expand", is_flag=True,
              help="One connection per pair of peers instead of connections between groups.")
@click.option("--denied", is_flag=True,
              help="Also what is denied: each workload's declared ports that other workloads and world cannot reach, "
                   "with the deciding rule (grouped by destination port and rule).")
@click.option("--verbose", "-v", is_flag=True, help="Also print informational notes.")
@click.option("--xdp", "xdp_spec", metavar="OBJECT.o[:SECTION]", default=None,
              help="An XDP program attached on the nodes' NICs: run through BPF_PROG_TEST_RUN on the flows' "
                   "packets, a layer before the CNI (needs root, bpftool).")
def map_(paths: tuple[str, ...], live: _ClusterInput | None, options: Options, fmt: str, namespaces: tuple[str, ...],
         workloads: tuple[str, ...], expand: bool, denied: bool, verbose: bool, xdp_spec: str | None) -> None:
    """Who can reach whom, on which ports: connections between groups of peers (whole namespaces,
    workloads, address ranges) that cover every pair exactly; --expand: one row per pair.
    --xdp: one row per pair, the ports the program drops removed.

    Exit code: 0, or 2 on input errors."""
    layer = _xdp_layer("map", xdp_spec)
    analysis = analyse_input(paths, options, cluster=_read_cluster("map", live, options))
    _stderr_diagnostics(analysis, verbose)
    workloads = _check_focus(analysis, namespaces, workloads)
    cmap = connectivity_map(analysis, namespaces, workloads=workloads, grouped=not expand and layer is None)
    xdp: dict[str, object] | None = None
    if layer is not None:
        from .kernel.xdp_flows import apply_to_map

        try:
            with layer:
                xdp = apply_to_map(layer, analysis.cluster, cmap)
        except (UsageError, KubewardError) as exc:
            _fail("map", exc)
    if denied and fmt not in ("text", "json", "yaml", "dot"):
        _fail("map", f"--denied is shown in text, json, yaml and dot, not {fmt}")
    denied_rows = _denied(analysis, namespaces, workloads) if denied else None
    if fmt in ("json", "yaml"):
        doc = cmap.to_json()
        if xdp is not None:
            doc["xdp"] = xdp
        if denied_rows is not None:
            doc["denied"] = denied_rows.to_json()
        doc["diagnostics"] = _diag_json(analysis)
        _emit(doc, fmt)
    elif fmt == "csv":
        _write_all(data.map_csv(cmap))
    elif fmt == "md":
        _write_all(data.map_markdown(cmap))
    elif fmt == "dot":
        _write_all([data.map_dot(cmap, denied_rows)])
    else:
        from .render.map_text import connectivity_lines

        _write_all(colour_all(connectivity_lines(cmap)))
        if denied_rows is not None:
            from .render.map_text import denied_lines

            _write_all(colour_all(denied_lines(denied_rows)))
    if xdp is not None and fmt not in ("json", "yaml"):
        from .render.xdp_text import map_note

        click.echo(map_note(xdp), err=fmt != "text", nl=False)
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


def _check_focus(analysis: Analysis, namespaces: tuple[str, ...], workloads: tuple[str, ...]) -> tuple[str, ...]:
    """--namespace / --workload must name what the input has; the workloads as NS/NAME (issue 17:
    ``deploy/web``, ``web`` with one ``-n``)."""
    from .analyses.names import resolve_workload

    _known_namespaces("map", analysis, namespaces)
    default_ns = namespaces[0] if len(namespaces) == 1 else None
    try:
        return tuple(resolve_workload(analysis.cluster, w, default_ns).workload.id for w in workloads)
    except UsageError as exc:
        _fail("map", exc)


def _known_namespaces(command: str, analysis: Analysis, namespaces: Iterable[str]) -> None:
    """-n must name namespaces of the input: else exit 2, with the ones it has (issue 17)."""
    unknown = unknown_namespaces(analysis, namespaces)
    if unknown:
        known = ", ".join(sorted(analysis.cluster.namespaces)) or "none"
        _fail(command, f"--namespace {', '.join(unknown)}: not in the input (namespaces: {known})")


def _denied(analysis: Analysis, namespaces: tuple[str, ...], workloads: tuple[str, ...]) -> DeniedMap:
    from .analyses.denied_map import denied_map

    with _progress("asking what is denied"):
        return denied_map(analysis, namespaces, workloads)


def _emit(doc: object, fmt: str, *, pretty: bool = False) -> None:
    """A command's JSON document: JSON (indented when ``pretty``, as the command always wrote it) or
    ``-o yaml``, the same data as YAML."""
    if fmt == "yaml":
        emit_yaml(doc)
    elif pretty:
        click.echo(data.to_json(doc), nl=False)
    else:
        _write(data.json_bytes(doc))


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
@click.option("--from", "source", required=True,
              help="A workload (namespace/name, deploy/web, deployment/NS/NAME, pod/NAME, NAME with -n), an IP "
                   "address, or 'world'.")
@click.option("--to", "destination", required=True,
              help="A workload (as --from), an IP address, 'world', a DNS name, a URL (https://host/path: through "
                   "Ingresses and Gateways) or service/NS/NAME, svc/NAME with -n (with --port: the Service port).")
@click.option("--namespace", "-n", "namespace", default=None,
              help="The namespace of workload names given without one (--from web, --to svc/web).")
@click.option("--port", default=None,
              help="Destination (pod) port: a number, or a name (NP-22: as the destination's pods name it; a "
                   "Service's port name with --to service/…). Without it: which ports are allowed.")
@click.option("--protocol", default=None, help="TCP, UDP or SCTP [default: TCP with --port, else all].")
@click.option("--method", default=None, help="HTTP method (L7 rules, routes) [default: GET].")
@click.option("--path", "http_path", default=None, help="HTTP path, with any query (L7 rules).")
@click.option("--host", "http_host", default=None, help="HTTP Host header (L7 rules).")
@click.option("--header", "headers", multiple=True, metavar="NAME:VALUE", help="HTTP header (repeatable).")
@output_options(["text", "json"])
@click.option("--verbose", "-v", is_flag=True, help="Also print informational notes.")
@click.option("--xdp", "xdp_spec", metavar="OBJECT.o[:SECTION]", default=None,
              help="An XDP program attached on the nodes' NICs: run through BPF_PROG_TEST_RUN on the flows' "
                   "packets, a layer before the CNI (needs root, bpftool).")
def explain(paths: tuple[str, ...], live: _ClusterInput | None, options: Options, source: str, destination: str,
            namespace: str | None, port: str | None, protocol: str | None, method: str | None,
            http_path: str | None, http_host: str | None,
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
    from .analyses.names import peer_spec, resolve_named_port

    try:
        if namespace is not None and namespace not in analysis.cluster.namespaces:
            known = ", ".join(sorted(analysis.cluster.namespaces)) or "none"
            raise UsageError(f"--namespace {namespace}: not in the input (namespaces: {known})")
        source = peer_spec(analysis, source, namespace, "--from")
        destination = peer_spec(analysis, destination, namespace, "--to")
        number: int | None = None
        if port is not None and port.isdigit():
            number = int(port)
        elif port is not None:
            number, named_protocol = resolve_named_port(analysis, destination, port)
            if protocol is not None and protocol.upper() != named_protocol:
                raise UsageError(f"--port {port} is {named_protocol}/{number}, not {protocol.upper()}")
            protocol = named_protocol
        result = run_explain(analysis, source, destination, number, protocol, method=method, headers=tuple(parsed),
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
    if fmt in ("json", "yaml"):
        doc = result.to_json()
        doc["diagnostics"] = _diag_json(analysis)
        _emit(doc, fmt, pretty=True)
    else:
        click.echo(colour(text.explanation(result)), nl=False)
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
@output_options(["text", "json"])
@namespaces_option("Only the cases with an end (as explain resolves it) in this namespace")
def test_(paths: tuple[str, ...], live: _ClusterInput | None, options: Options, cases_file: str | None,
          junit_file: str | None, fmt: str, namespaces: tuple[str, ...]) -> None:
    """Run regression cases (expected verdicts) against PATHS without a cluster.

    Exit code: 0 all cases pass, 1 a case fails, 2 usage or input error."""
    try:
        run = run_tests(paths, options=options, cases=cases_file, cluster=_read_cluster("test", live, options))
    except UsageError as exc:
        _fail("test", exc)
    if namespaces:
        _known_namespaces("test", run.analysis, namespaces)
        run = dataclasses.replace(run, result=focus.focus_suite(run.result, namespaces))
    _stderr_diagnostics(run.analysis, False)
    for p in run.problems:
        click.echo(escape(f"kubeward test: {p}"), err=True)
    if junit_file:
        with open(junit_file, "w", encoding="utf-8") as out:
            out.write(run.result.junit())
    if fmt in ("json", "yaml"):
        _emit(run.result.to_json(), fmt, pretty=True)
    else:
        click.echo(colour(text.test_report(run.result, run.analysis.options.describe())), nl=False)
    sys.exit(run.exit_code)


@main.command(name="diff")
@_inputs
@profile_options
@click.option("--git", "git_range", metavar="REV1..REV2", default=None,
              help="Compare PATH at two git revisions instead of two paths.")
@output_options(["text", "json", "md"])
@click.option("--flows", "flows_path", metavar="FLOWS", type=click.Path(allow_dash=True), default=None,
              help="Hubble flow records (a file, a folder, - for stdin): list the observed flows the change "
                   "would break or newly allow.")
@click.option("--staged", is_flag=True,
              help="CAL-23, IST-40: one PATH: what enforcing its staged and dry-run policies would change.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when anything changed (or an observed flow would break).")
@namespaces_option("Only the changes with an end in this namespace, on either side")
@click.option("--verbose", "-v", is_flag=True, help="Also print informational notes.")
def diff_(paths: tuple[str, ...], live: _ClusterInput | None, options: Options, git_range: str | None, fmt: str,
          flows_path: str | None, staged: bool, exit_code: bool, namespaces: tuple[str, ...], verbose: bool) -> None:
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
            if (d.severity is not Severity.INFO or verbose) and (not quiet() or d.severity is Severity.ERROR):
                click.echo(f"{name}: {d}", err=True)  # a Diagnostic prints escaped
    if namespaces:  # a namespace of either side
        _known_namespaces("diff", run.new, unknown_namespaces(run.old, namespaces))
        run = dataclasses.replace(run, result=focus.focus_diff(run.result, namespaces))
    flows_diff = _flows_diff(run, flows_path) if flows_path is not None else None
    if fmt in ("json", "yaml"):
        doc = run.result.to_json()
        if flows_diff is not None:
            doc["flows"] = flows_diff.to_json()
        _emit(doc, fmt, pretty=True)
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
@output_options(["text", "json", "sarif"])
@click.option("--severity", type=click.Choice(["info", "warning", "error"]), default="info", show_default=True,
              help="Report findings of this severity and above.")
@click.option("--fail-on", type=click.Choice(["info", "warning", "error"]), default="warning", show_default=True,
              help="Exit 1 when a reported finding has this severity or above.")
@click.option("--disable", "disabled", multiple=True, metavar="CODE", help="Do not report this finding code.")
@click.option("--config", "config", type=click.Path(), default=None,
              help="A kubeward config file (lint.disable, lint.ignore with reasons) [default: .kubeward.yaml "
                   "in the current folder, if any].")
@click.option("--list", "list_rules", is_flag=True, help="List the finding codes and exit.")
@namespaces_option("Only findings about objects of this namespace (cluster-scoped objects' left out)")
def lint(paths: tuple[str, ...], live: _ClusterInput | None, options: Options, fmt: str, severity: str, fail_on: str,
         disabled: tuple[str, ...], config: str | None, list_rules: bool, namespaces: tuple[str, ...]) -> None:
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
    if namespaces:  # issue 17: -n as kubectl's
        _known_namespaces("lint", analysis, namespaces)
        report = dataclasses.replace(report, findings=[f for f in report.findings if f.namespace in namespaces])
    # Input problems that are not findings (syntax, schema, unknown fields, empty folders): on
    # standard error, never dropped; errors among them make the exit code 2.
    for d in input_problems(analysis):
        if not quiet() or d.severity is Severity.ERROR:
            click.echo(str(d), err=True)
    if fmt in ("json", "yaml"):
        _emit(report.to_json(), fmt, pretty=True)
    elif fmt == "sarif":
        click.echo(data.to_json(sarif(report)), nl=False)
    else:
        click.echo(colour(text.lint_report(report)), nl=False)
    sys.exit(lint_exit_code(report, analysis, fail_on))


def kubectl_main() -> None:
    """``kubectl-kubeward``: kubeward as a kubectl plugin (``kubectl kubeward map -n shop``). kubectl
    runs the first ``kubectl-kubeward`` on PATH with the words after ``kubectl kubeward`` as its
    arguments; without a PATH, a command reads the cluster of kubectl's kubeconfig (as ``--cluster``,
    honouring ``KUBECONFIG``)."""
    _PLUGIN["on"] = True
    main(prog_name="kubectl kubeward")


# Commands kept in modules of their own (each registers on `main` when imported; click and the
# standard library only at import time, as here).
from . import cli_flows, cli_kernel, cli_views  # noqa: E402,F401
