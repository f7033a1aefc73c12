"""Issue 11, item 1: manifests are typed as kubectl types them (NP-26).

kubectl converts YAML to JSON with sigs.k8s.io/yaml, whose go-yaml v2 resolver differs from
PyYAML's YAML 1.1 one: no base-60 numbers, no timestamps, no ``=``, ``y``/``n`` are booleans, Go's
integer syntax (``0o17``), floats without a dot (``1e3``, ``08``), and keys written as JSON strings.
Each case below is one of those differences, seen through the public API.
"""

from __future__ import annotations

import pytest

from kubeward import Analysis, Options, analyse_text, explain

APP = """\
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: app, labels: {app: client}}
spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: app, labels: {app: server}}
spec: {containers: [{name: c, image: nginx}]}
"""


def analyse(extra: str, cni: str = "generic") -> Analysis:
    return analyse_text(APP + "---\n" + extra, file="in.yaml", options=Options(cni=cni))


def errors(a: Analysis) -> list[str]:
    return [f"{d.line}: {d.code}: {d.message}" for d in a.diagnostics.items if d.severity.value == "error"]


def server_allows(ports: str) -> str:
    return f"""\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: server-in, namespace: app}}
spec:
  podSelector: {{matchLabels: {{app: server}}}}
  ingress:
  - ports: {ports}
"""


def allowed(a: Analysis, port: int) -> bool:
    return explain(a, "app/client", "app/server", port).allowed


def test_item1_a_calico_port_range_20_21_is_the_string_20_21_not_base60_1221() -> None:
    a = analyse("""\
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: server-in, namespace: app}
spec:
  selector: app == 'server'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    destination: {ports: [20:21, 1:30]}
""", cni="calico")
    assert errors(a) == []
    assert [p for p in (1, 20, 21, 30, 31, 1221, 90) if allowed(a, p)] == [1, 20, 21, 30]


@pytest.mark.parametrize(("written", "port"), [
    pytest.param("0o17", 15, id="0o17-is-go-octal"),
    pytest.param("017", 15, id="017-is-octal"),
    pytest.param("0x50", 80, id="0x50-is-hex"),
    pytest.param("08", 8, id="08-is-the-float-8"),
    pytest.param("1e3", 1000, id="1e3-is-the-float-1000"),
    pytest.param("80.0", 80, id="80.0-is-80-after-json"),
    pytest.param("8_080", 8080, id="underscores-are-dropped"),
])
def test_item1_numbers_are_go_yaml_numbers_and_whole_floats_are_integers(written: str, port: int) -> None:
    a = analyse(server_allows(f"[{{port: {written}}}]"))
    assert errors(a) == []
    assert allowed(a, port)
    assert not allowed(a, port + 1)


def test_item1_a_timestamp_stays_a_string_and_is_a_valid_label_value() -> None:
    a = analyse("""\
apiVersion: v1
kind: Pod
metadata: {name: batch, namespace: app, labels: {release: 2024-01-31}}
spec: {containers: [{name: c, image: busybox}]}
---
""" + server_allows("[{port: 80}]").replace("  ingress:\n  - ports:", """\
  ingress:
  - from: [{podSelector: {matchLabels: {release: 2024-01-31}}}]
    ports:"""))
    assert errors(a) == []
    assert explain(a, "app/batch", "app/server", 80).allowed
    assert not explain(a, "app/client", "app/server", 80).allowed


@pytest.mark.parametrize("word", ["y", "n", "Y", "N", "yes", "off"])
def test_item1_y_and_n_are_booleans_as_go_yaml_reads_them(word: str) -> None:
    a = analyse(server_allows("[{port: 80}]").replace("  ingress:\n  - ports:", f"""\
  ingress:
  - from: [{{podSelector: {{matchLabels: {{app: {word}}}}}}}]
    ports:"""))
    [error] = errors(a)
    # In the API server's words (issue 12): the label value is a boolean, not a string.
    assert error.startswith("21: invalid-type: json: cannot unmarshal bool into Go struct field "
                            "LabelSelector.spec.ingress.from.podSelector.matchLabels of type string")


def test_item1_an_equals_sign_is_a_string_not_a_yaml_value_tag() -> None:
    a = analyse("""\
apiVersion: v1
kind: ConfigMap
metadata: {name: eq, namespace: app, annotations: {op: =}}
---
""" + server_allows("[{port: 80}]"))
    assert errors(a) == []
    assert allowed(a, 80)


def test_item1_keys_are_written_into_json_as_go_yaml_reads_them() -> None:
    a = analyse("""\
apiVersion: v1
kind: Pod
metadata: {name: flagged, namespace: app, labels: {yes: x, 1.50: v}}
spec: {containers: [{name: c, image: busybox}]}
---
""" + server_allows("[{port: 80}]").replace("  ingress:\n  - ports:", """\
  ingress:
  - from: [{podSelector: {matchLabels: {"true": x, "1.5": v}}}]
    ports:"""))
    assert errors(a) == []
    assert explain(a, "app/flagged", "app/server", 80).allowed


def test_item1_infinity_is_refused_by_kubectl_at_its_line() -> None:
    a = analyse(server_allows("[{port: .inf}]"))
    assert errors(a)[0] == ("21: yaml-value: '.inf' is not a number JSON can carry: kubectl cannot convert "
                            "this document to JSON and refuses it (NP-26); kubeward reads it as text")


def test_item1_a_null_key_is_refused_and_the_rest_of_the_file_is_read() -> None:
    a = analyse("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: app}\ndata: {~: x}\n---\n"
                + server_allows("[{port: 80}]"))
    assert [e.split(":")[1].strip() for e in errors(a)] == ["yaml-value"]
    assert errors(a)[0].startswith("18: yaml-value: the mapping key '~' is null")
    assert allowed(a, 80) and not allowed(a, 81)
