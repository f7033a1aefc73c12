"""Provenance as fields: a diagnostic names its object with an ObjectRef (kind, namespace, name,
file, line), a summary lists the objects it summarises, and every command prints a diagnostic
through the same function (with its ``resource``)."""

from __future__ import annotations

import gc
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from kubeward.analyses.lint import lint
from kubeward.analyses.session import analyse_text
from kubeward.cli import main
from kubeward.diagnostics import Diagnostic, Diagnostics, Severity
from kubeward.engine.options import Options
from kubeward.ir import ObjectRef
from manifests import APP

BAD_PORT = textwrap.dedent("""\
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: server-in, namespace: app}
    spec:
      podSelector: {matchLabels: {app: server}}
      ingress:
      - ports:
        - port: 8080
          endPort: 8000
    """)

CILIUM = textwrap.dedent("""\
    apiVersion: cilium.io/v2
    kind: CiliumNetworkPolicy
    metadata: {name: c1, namespace: app}
    spec:
      endpointSelector: {}
    ---
    apiVersion: cilium.io/v2
    kind: CiliumNetworkPolicy
    metadata: {name: c2, namespace: app}
    spec:
      endpointSelector: {}
    """)

WIDGETS = textwrap.dedent("""\
    apiVersion: example.com/v1
    kind: Widget
    metadata: {name: w1, namespace: app}
    ---
    apiVersion: example.com/v1
    kind: Widget
    metadata: {name: w2}
    """)


def _line(text: str, marker: str, nth: int = 0) -> int:
    return [i for i, line in enumerate(text.splitlines(), 1) if marker in line][nth]


def _only(diags: Diagnostics, code: str) -> Diagnostic:
    [d] = [d for d in diags.items if d.code == code]
    return d


def test_a_diagnostic_of_a_policy_carries_the_policy_as_an_object_ref() -> None:
    text = APP + "---\n" + BAD_PORT
    d = _only(analyse_text(text, "in.yaml").diagnostics, "invalid-port")
    start = _line(text, "apiVersion: networking.k8s.io/v1")
    assert d.ref == ObjectRef("NetworkPolicy", "app", "server-in", "in.yaml", start, "networking.k8s.io/v1")
    assert (d.file, d.line) == ("in.yaml", _line(text, "endPort: 8000"))  # the problem itself
    assert d.resource == "NetworkPolicy app/server-in" and d.related == ()


def test_a_diagnostic_of_a_service_carries_the_service_with_its_defaulted_namespace() -> None:
    text = APP + textwrap.dedent("""\
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: nobody}
        spec:
          selector: {app: none}
          ports: [{port: 80}]
        """)
    d = _only(analyse_text(text, "in.yaml").diagnostics, "service-selects-nothing")
    assert d.ref == ObjectRef("Service", "default", "nobody", "in.yaml", _line(text, "kind: Service") - 1)
    assert d.resource == "Service default/nobody"


def test_a_summary_has_no_object_and_lists_the_objects_it_summarises() -> None:
    text = APP + "---\n" + CILIUM
    analysis = analyse_text(text, "in.yaml", Options(cni="generic"))
    d = _only(analysis.diagnostics, "not-enforced")
    first, second = _line(text, "kind: CiliumNetworkPolicy", 0) - 1, _line(text, "kind: CiliumNetworkPolicy", 1) - 1
    assert d.ref is None and d.resource == "" and d.file == ""
    assert d.related == (ObjectRef("CiliumNetworkPolicy", "app", "c1", "in.yaml", first, "cilium.io/v2"),
                         ObjectRef("CiliumNetworkPolicy", "app", "c2", "in.yaml", second, "cilium.io/v2"))
    # lint points the finding at the first object, from the field (not from the message text)
    [finding] = [f for f in lint(analysis).findings if f.code == "not-enforced"]
    assert (finding.file, finding.line, finding.kind) == ("in.yaml", first, "")


def test_a_not_modelled_summary_lists_every_object_of_its_kind() -> None:
    text = APP + "---\n" + WIDGETS
    d = _only(analyse_text(text, "in.yaml").diagnostics, "not-modelled")
    assert [(r.kind, r.namespace, r.name, r.line) for r in d.related] == [
        ("Widget", "app", "w1", _line(text, "name: w1") - 2), ("Widget", "", "w2", _line(text, "name: w2") - 2)]
    assert d.ref is None and "[" not in str(d)


def test_input_errors_of_policies_the_cni_does_not_enforce_are_downgraded_by_their_object() -> None:
    broken = textwrap.dedent("""\
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: c1, namespace: app}
        spec:
          endpointSelector: {}
          ingress:
          - toPorts: [{ports: [{port: "99999"}]}]
        """)
    diags = analyse_text(APP + "---\n" + broken + "---\n" + BAD_PORT, "in.yaml", Options(cni="generic")).diagnostics
    cilium = [d for d in diags.items if d.ref is not None and d.ref.name == "c1"]
    assert cilium and all(d.severity is Severity.INFO and d.message.endswith("not enforced under --cni generic")
                          for d in cilium)
    [np_error] = [d for d in diags.items if d.ref is not None and d.ref.name == "server-in"]
    assert np_error.severity is Severity.ERROR  # the NetworkPolicy's error stays


def test_to_json_is_the_documented_diagnostic() -> None:
    d = _only(analyse_text(APP + "---\n" + BAD_PORT, "in.yaml").diagnostics, "invalid-port")
    assert list(d.to_json()) == ["code", "severity", "message", "file", "line", "resource", "leans"]
    assert d.to_json()["resource"] == "NetworkPolicy app/server-in"
    summary = _only(analyse_text(APP + "---\n" + WIDGETS, "in.yaml").diagnostics, "not-modelled")
    assert "resource" not in summary.to_json()


# ---------------------------------------------------------------------------- every command


@pytest.fixture()
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text(APP + "---\n" + BAD_PORT, encoding="utf-8")
    was_enabled = gc.isenabled()  # the CLI turns the collector off
    yield
    if was_enabled:
        gc.enable()


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.mark.usefixtures("in_tmp")
@pytest.mark.parametrize("command", [
    ("map", "bad.yaml"),
    ("explain", "bad.yaml", "--from", "app/client", "--to", "app/server", "--port", "80"),
    ("check", "bad.yaml"),
], ids=lambda c: c[0])
def test_every_command_prints_the_diagnostic_with_its_resource(command: tuple[str, ...]) -> None:
    result = _run(*command, "--format", "json")
    [diag] = [d for d in json.loads(result.stdout)["diagnostics"] if d["code"] == "invalid-port"]
    assert diag["resource"] == "NetworkPolicy app/server-in"
    assert list(diag) == ["code", "severity", "message", "file", "line", "resource", "leans"]
