"""Hostile input (issue 12): every repro of "Crashes", "Hangs and denial of service", "Limits",
"Exit codes" and "Output you can trust", through the command line.

A wrong type is a located error, never a traceback: in the API server's words when its schema
finds it first (``schema-invalid``, or the dialect's ``invalid-type`` code inside an allow rule),
and the broken part fails closed (an allow rule allows nothing; any other object is left out).
A document beyond a limit (nesting, aliases, size, a name longer than the API server allows) is
refused with a diagnostic at file:line and the rest of the input is still read. Only regular
files are read: a FIFO or a device never blocks a run. An internal error is a short message and
exit code 3. Strings from the input are printed escaped, so a manifest cannot forge a line of a
CI log.

Each test writes its input into a fresh ``tmp_path`` and runs the command line from there (a
subprocess with a timeout where a real process matters: a FIFO, a hang).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kubeward import __file__ as PACKAGE_INIT
from kubeward.cli import main
from manifests import APP

ROOT = Path(__file__).resolve().parent.parent
ALLOW_MORE = "may allow more than shown"  # a part read as allowing nothing (docs/semantics.md, `leans`)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    was_enabled = gc.isenabled()
    yield
    if was_enabled:
        gc.enable()


def kubeward(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def write(name: str, text: str) -> str:
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return name


def line_of(name: str, marker: str) -> int:
    """The 1-based line of the only line of file ``name`` that contains ``marker``."""
    found = [i for i, line in enumerate(Path(name).read_text().splitlines(), 1) if marker in line]
    assert len(found) == 1, f"{marker!r} is on lines {found}"
    return found[0]


def check_json(*paths: str) -> dict[str, Any]:
    result = kubeward("check", *paths, "--format", "json")
    doc: dict[str, Any] = json.loads(result.stdout)
    doc["exit"] = result.exit_code
    return doc


def errors(doc: dict[str, Any]) -> set[tuple[str, str, int, str]]:
    """(code, file, line, message) of every error of a JSON document."""
    return {(d["code"], d["file"], d["line"], d["message"]) for d in doc["diagnostics"] if d["severity"] == "error"}


def error_at(doc: dict[str, Any], code: str, file: str, line: int) -> str:
    """The message of the one error ``code`` at ``file:line``. A wrong type is reported by the
    strict reading (issue 12: the API server's schema, `schema-invalid` in its words) before the
    dialect reads the object, or by the dialect's typed reader (`invalid-type`): either counts."""
    codes = {"invalid-type", "schema-invalid"} if code == "invalid-type" else {code}
    found = [m for c, f, n, m in errors(doc) if c in codes and (f, n) == (file, line)]
    assert len(found) == 1, f"no single {code} at {file}:{line} in {sorted(errors(doc))}"
    return found[0]


def explain_json(*args: str) -> dict[str, Any]:
    result = kubeward("explain", *args, "--format", "json")
    assert result.exit_code in (0, 1, 2), result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def fails_closed(doc: dict[str, Any], policy: str) -> bool:
    """The broken part allows nothing (the flow is denied), or the cluster refuses the whole policy
    — the API server's schema refuses a wrong type — and the trace says so where it would apply."""
    if doc["verdict"] == "deny":
        return True
    return any(step["reason"] == "policy-rejected" and policy in step["message"] for step in doc["trace"])


def run(*args: str, timeout: float, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The command line in a real process (the package these tests import), killed after ``timeout``."""
    env = {**os.environ, "PYTHONPATH": str(Path(PACKAGE_INIT).resolve().parent.parent)}
    return subprocess.run([sys.executable, "-m", "kubeward", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, input=stdin, check=False)


# ============================================================================ crashes: a number for a list

INGRESS = """\
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: web, namespace: app}
    spec:
      ingressClassName: nginx
      tls:
      - hosts: 5
        secretName: web-tls
      rules:
      - host: shop.example.com
        http:
          paths:
          - {path: /, pathType: Prefix, backend: {service: {name: server, port: {number: 80}}}}
    """


SERVER = APP + textwrap.dedent("""\
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: server, namespace: app}
    spec:
      selector: {app: server}
      ports: [{port: 80, targetPort: 80}]
    ---
    """)


def ingress_entries(path: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(kubeward("map", "--expand", path, "--format", "json").stdout)["entries"]
    return entries


def test_crash_ingress_tls_hosts_a_number_is_a_located_error_and_terminates_tls_for_no_host() -> None:
    write("ing.yaml", SERVER + textwrap.dedent(INGRESS).replace("hosts: 5", "hosts: [shop.example.com]"))
    assert [e["request"] for e in ingress_entries("ing.yaml")] == ["https://shop.example.com/"]
    write("ing.yaml", SERVER + textwrap.dedent(INGRESS))
    doc = check_json("ing.yaml")
    assert doc["exit"] == 2
    # The API server's schema answers first: the Ingress never exists, so it serves no host at all.
    assert error_at(doc, "invalid-type", "ing.yaml", line_of("ing.yaml", "hosts: 5")) == (
        "json: cannot unmarshal number into Go struct field IngressTLS.spec.tls.hosts of type []string; the API "
        "server rejects this Ingress: it never exists in the cluster, so kubeward leaves it out")
    assert ingress_entries("ing.yaml") == []


def test_crash_a_string_where_a_list_is_expected_is_not_read_character_by_character() -> None:
    write("ing.yaml", SERVER + textwrap.dedent(INGRESS).replace("hosts: 5", "hosts: shop.example.com"))
    doc = check_json("ing.yaml")
    assert error_at(doc, "invalid-type", "ing.yaml", line_of("ing.yaml", "hosts: shop")) == (
        "json: cannot unmarshal string into Go struct field IngressTLS.spec.tls.hosts of type []string; the API "
        "server rejects this Ingress: it never exists in the cluster, so kubeward leaves it out")
    assert ingress_entries("ing.yaml") == []


CILIUM_L7 = APP + """\
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: l7, namespace: app}
spec:
  endpointSelector: {matchLabels: {app: server}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts:
    - ports: [{port: "80", protocol: TCP}]
      rules:
        http:
        - method: GET
          BROKEN
"""


@pytest.mark.parametrize("field", ["headers", "headerMatches"])
def test_crash_cilium_http_headers_a_number_is_a_located_error_and_the_rule_allows_nothing(field: str) -> None:
    write("cnp.yaml", CILIUM_L7.replace("BROKEN", f"{field}: 5"))
    doc = explain_json("cnp.yaml", "--from", "app/client", "--to", "app/server", "--port", "80")
    assert fails_closed(doc, "CiliumNetworkPolicy app/l7")  # never: the HTTP rule without its headers
    line = line_of("cnp.yaml", f"{field}: 5")
    at = f"spec.ingress[0].toPorts[0].rules.http[0].{field}"
    message = (f'{at}: Invalid value: "integer": {at} in body must be of type array: "integer"; kubeward reads '
               "spec.ingress[0] as allowing nothing (a malformed allow rule never allows more)")
    assert {"code": "invalid-type", "severity": "error", "message": message, "file": "cnp.yaml", "line": line,
            "resource": "CiliumNetworkPolicy app/l7", "leans": ALLOW_MORE} in doc["diagnostics"]


def test_crash_cilium_headers_well_typed_still_admit_the_request() -> None:
    write("cnp.yaml", CILIUM_L7.replace("BROKEN", "headers: [X-Token]"))
    doc = explain_json("cnp.yaml", "--from", "app/client", "--to", "app/server", "--port", "80",
                       "--header", "X-Token:1")
    assert doc["verdict"] == "allow"


CALICO = APP + """\
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: from-client, namespace: app}
spec:
  selector: app == 'server'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source:
      BROKEN
"""


@pytest.mark.parametrize(("field", "message"), [
    ("serviceAccounts: {names: 5}", "spec.ingress[0].source.serviceAccounts.names must be a list of names, not an "
                                    "integer"),
    ("nets: 5", "spec.ingress[0].source.nets must be a list of CIDRs, not an integer"),
    ("ports: 5", "spec.ingress[0].source.ports must be a list of ports, not an integer"),
])
def test_crash_calico_source_a_number_is_a_located_error_and_the_policy_is_rejected(field: str, message: str) -> None:
    write("calico.yaml", CALICO.replace("BROKEN", field))
    doc = check_json("calico.yaml")
    assert doc["exit"] == 2
    line = line_of("calico.yaml", field)
    assert error_at(doc, "invalid-type", "calico.yaml", line).startswith(
        f"{message}; the Calico API server rejects this policy, so it is not applied (CAL-7)")


GATEWAY = """\
    apiVersion: v1
    kind: Namespace
    metadata: {name: app}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, namespace: app}
    spec:
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: c, image: x, ports: [{containerPort: 8080, name: http}]}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: web, namespace: app}
    spec:
      selector: {app: web}
      ports: [{port: 80, targetPort: 8080}]
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: GatewayClass
    metadata: {name: nginx}
    spec: {controllerName: example.com/gateway}
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: {name: gw, namespace: app}
    spec:
      gatewayClassName: nginx
      listeners:
      - name: http
        protocol: HTTP
        port: 80
        allowedRoutes:
          kinds: [{kind: HTTPRoute}]
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: web, namespace: app}
    spec:
      parentRefs: [{name: gw}]
      hostnames: [shop.example.com]
      rules:
      - matches:
        - path: {type: PathPrefix, value: /}
          headers: [{name: x-a, value: b}]
          queryParams: [{name: q, value: v}]
        backendRefs: [{name: web, port: 80}]
    """
URL = ("--from", "world", "--to", "http://shop.example.com/?q=v", "--header", "x-a:b")


def test_crash_gateway_route_well_typed_serves_the_request() -> None:
    write("gw.yaml", GATEWAY)
    assert explain_json("gw.yaml", *URL)["verdict"] == "allow"


@pytest.mark.parametrize(("written", "broken", "at"), [
    ("kinds: [{kind: HTTPRoute}]", "kinds: 5", "spec.listeners[0].allowedRoutes.kinds"),
    ("hostnames: [shop.example.com]", "hostnames: 5", "spec.hostnames"),
    ("backendRefs: [{name: web, port: 80}]", "backendRefs: 5", "spec.rules[0].backendRefs"),
    ("headers: [{name: x-a, value: b}]", "headers: 5", "spec.rules[0].matches[0].headers"),
    ("queryParams: [{name: q, value: v}]", "queryParams: 5", "spec.rules[0].matches[0].queryParams"),
])
def test_crash_gateway_and_httproute_a_number_is_a_located_error_and_serves_nothing(written: str, broken: str,
                                                                                   at: str) -> None:
    # The API server's schema answers first: the Gateway or HTTPRoute never exists, so nothing is served.
    write("gw.yaml", GATEWAY.replace(written, broken))
    doc = explain_json("gw.yaml", *URL)
    assert doc["verdict"] == "deny"
    kind = "Gateway" if at.startswith("spec.listeners") else "HTTPRoute"
    message = (f'{at}: Invalid value: "integer": {at} in body must be of type array: "integer"; the API server '
               f"rejects this {kind}: it never exists in the cluster, so kubeward leaves it out")
    assert error_at(doc, "invalid-type", "gw.yaml", line_of("gw.yaml", broken)) == message


ISTIO = """\
    apiVersion: v1
    kind: Namespace
    metadata: {name: app, labels: {istio-injection: enabled}}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: client, namespace: app, labels: {app: client}}
    spec: {serviceAccountName: client, containers: [{name: c, image: x}]}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: server, namespace: app, labels: {app: server}}
    spec: {serviceAccountName: server, containers: [{name: c, image: x, ports: [{containerPort: 8080}]}]}
    ---
    apiVersion: security.istio.io/v1
    kind: AuthorizationPolicy
    metadata: {name: server, namespace: app}
    spec:
      selector: {matchLabels: {app: server}}
      action: ACTION
      rules:
      - from: [{source: {principals: [cluster.local/ns/app/sa/client]}}]
        WHEN
    """
FLOW = ("--from", "app/client", "--to", "app/server", "--port", "8080")


def test_crash_authorizationpolicy_when_a_number_makes_an_allow_rule_allow_nothing() -> None:
    when = "when: [{key: destination.port, values: ['8080']}]"
    write("ap.yaml", ISTIO.replace("ACTION", "ALLOW").replace("WHEN", when))
    assert explain_json("ap.yaml", *FLOW)["verdict"] == "allow"
    write("ap.yaml", ISTIO.replace("ACTION", "ALLOW").replace("WHEN", "when: 5"))
    doc = explain_json("ap.yaml", *FLOW)
    assert fails_closed(doc, "AuthorizationPolicy app/server")
    assert {"code": "invalid-type", "severity": "error",
            "message": 'spec.rules[0].when: Invalid value: "integer": spec.rules[0].when in body must be of type '
                       'array: "integer"; kubeward reads spec.rules[0] as allowing nothing (a malformed allow rule '
                       "never allows more)",
            "file": "ap.yaml", "line": line_of("ap.yaml", "when: 5"), "resource": "AuthorizationPolicy app/server",
            "leans": ALLOW_MORE} in doc["diagnostics"]


@pytest.mark.parametrize(("broken", "part"), [("from: 5", "from"), ("to: 5", "to")])
def test_crash_authorizationpolicy_from_and_to_of_the_wrong_type_make_an_allow_rule_allow_nothing(
        broken: str, part: str) -> None:
    write("ap.yaml", ISTIO.replace("ACTION", "ALLOW").replace(
        "- from: [{source: {principals: [cluster.local/ns/app/sa/client]}}]\n        WHEN", f"- {broken}"))
    doc = explain_json("ap.yaml", *FLOW)
    assert fails_closed(doc, "AuthorizationPolicy app/server")
    message = (f'spec.rules[0].{part}: Invalid value: "integer": spec.rules[0].{part} in body must be of type array: '
               '"integer"; kubeward reads spec.rules[0] as allowing nothing (a malformed allow rule never allows more)')
    assert error_at(doc, "invalid-type", "ap.yaml", line_of("ap.yaml", broken)) == message


def test_crash_authorizationpolicy_when_a_number_in_a_deny_rule_rejects_the_policy() -> None:
    write("ap.yaml", ISTIO.replace("ACTION", "DENY").replace("WHEN", "when: 5"))
    doc = explain_json("ap.yaml", *FLOW)
    assert doc["verdict"] == "allow"  # the cluster refuses the policy: nothing denies the flow
    messages = [d["message"] for d in doc["diagnostics"] if d["code"] == "invalid-type"]
    assert "spec.rules[0].when: must be a list, not an integer; istiod's validating webhook rejects this " \
           "AuthorizationPolicy: it never exists in the cluster, so it is not enforced (IST-23)" in messages


def test_crash_pod_owner_references_a_number_is_a_located_error() -> None:
    write("pod.yaml", """\
        apiVersion: v1
        kind: Pod
        metadata: {name: p, namespace: app, ownerReferences: 5}
        spec: {containers: [{name: c, image: x}]}
        """)
    doc = check_json("pod.yaml")
    # The API server's schema answers first: the Pod never exists, so it is no workload.
    assert error_at(doc, "invalid-type", "pod.yaml", 3) == (
        "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.ownerReferences of type "
        "[]v1.OwnerReference; the API server rejects this Pod: it never exists in the cluster, so kubeward leaves "
        "it out")
    assert doc["inventory"]["workloads"] == 0


def test_crash_kubeward_yaml_lint_ignore_a_number_is_a_usage_error_with_its_line() -> None:
    write("ok.yaml", APP)
    write(".kubeward.yaml", "lint:\n  ignore: 5\n")
    result = kubeward("lint", "ok.yaml")
    assert result.exit_code == 2
    assert result.stderr == "kubeward lint: .kubeward.yaml:2: lint.ignore must be a list of suppressions ({code, " \
                            "resource, reason})\n"


# ============================================================================ deep nesting, sizes, special files

def test_deep_nesting_yaml_brackets_1000_deep_is_a_located_error_and_other_files_are_read() -> None:
    write("ok.yaml", APP)
    write("deep.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata:\n  x: " + "[" * 1000
          + "]" * 1000 + "\n")
    doc = check_json("ok.yaml", "deep.yaml")
    assert doc["exit"] == 2
    assert error_at(doc, "too-deep", "deep.yaml", 5) == \
        "brackets ([ and {) nest deeper than 200 levels; this file is not read"
    assert doc["inventory"]["kinds"] == {"Deployment": 2, "Namespace": 1}


def test_deep_nesting_json_brackets_2000_deep_is_a_located_error() -> None:
    write("deep.json", '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "deep"}, "data": {"x": '
          + "[" * 2000 + "]" * 2000 + "}}")
    doc = check_json("deep.json")
    assert error_at(doc, "too-deep", "deep.json", 1).startswith("brackets ([ and {) nest deeper than 200 levels")


def test_deep_nesting_of_block_lists_is_refused_at_its_document_and_the_next_document_is_read() -> None:
    write("deep.yaml", "- " * 1000 + "x\n---\n" + APP)
    doc = check_json("deep.yaml")
    assert error_at(doc, "too-deep", "deep.yaml", 1) == \
        "the document nests deeper than 200 levels; this document is not read"
    assert doc["inventory"]["kinds"] == {"Deployment": 2, "Namespace": 1}


def test_deep_nesting_100000_brackets_is_refused_without_parsing(tmp_path: Path) -> None:
    # libyaml's scanner is quadratic in the flow nesting: 100,000 levels would take minutes.
    write("deep.yaml", "a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    started = time.perf_counter()
    doc = check_json("deep.yaml")
    assert time.perf_counter() - started < 10
    assert error_at(doc, "too-deep", "deep.yaml", 1).startswith("brackets")


def test_symlink_to_dev_zero_in_a_folder_is_refused_as_not_a_regular_file() -> None:
    write("manifests/ok.yaml", APP)
    os.symlink("/dev/zero", "manifests/zero.yaml")
    doc = check_json("manifests")
    assert error_at(doc, "not-a-regular-file", "manifests/zero.yaml", 0) == \
        "not a regular file (a character device): kubeward reads only regular files"
    assert doc["inventory"]["kinds"] == {"Deployment": 2, "Namespace": 1}


def test_a_50_mb_policy_is_refused_before_it_is_read() -> None:
    rule = "  - from: [{ipBlock: {cidr: 10.0.0.1/32}}]\n"
    text = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: big, namespace: app}\n" \
           "spec:\n  podSelector: {}\n  ingress:\n" + rule * (50_000_000 // len(rule))
    Path("big.yaml").write_text(text, encoding="utf-8")
    started = time.perf_counter()
    doc = check_json("big.yaml")
    assert time.perf_counter() - started < 10
    assert error_at(doc, "too-large", "big.yaml", 0) == \
        "more than 32 MiB: kubeward does not read files this large (split it)"


def test_limit_in_all_files_after_the_limit_are_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    import kubeward.loader.files as files

    write("a.yaml", APP)
    write("b.yaml", APP.replace("name: app", "name: other").replace("namespace: app", "namespace: other"))
    monkeypatch.setattr(files, "MAX_TOTAL_BYTES", len(Path("a.yaml").read_bytes()) + 10)
    doc = check_json("a.yaml", "b.yaml")
    assert error_at(doc, "too-large", "b.yaml", 0) == \
        "not read: the input would pass 0 MiB in all, kubeward's limit for one run"
    assert doc["inventory"]["kinds"] == {"Deployment": 2, "Namespace": 1}


def test_limit_one_object_over_the_api_servers_3_mib_is_refused() -> None:
    Path("big.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big, namespace: app}\n"
                                "data:\n  x: '" + "a" * (4 * 2 ** 20) + "'\n---\n" + APP, encoding="utf-8")
    doc = check_json("big.yaml")
    assert error_at(doc, "too-large", "big.yaml", 1) == (
        "this object is 4.0 MiB of text, over the API server's request limit of 3 MiB; the API server rejects this "
        "object: it never exists in the cluster, so kubeward leaves it out (NP-28)")
    assert doc["inventory"]["kinds"] == {"Deployment": 2, "Namespace": 1}


def test_limit_symlink_loops_and_symlinked_folders() -> None:
    write("manifests/ok.yaml", APP)
    os.symlink("loop-b.yaml", "manifests/loop-a.yaml")
    os.symlink("loop-a.yaml", "manifests/loop-b.yaml")
    os.symlink("..", "manifests/up")
    doc = check_json("manifests")
    assert error_at(doc, "symlink-loop", "manifests/loop-a.yaml", 0) == \
        "cannot read: a symlink loop (too many levels of symbolic links)"
    notes = {(d["code"], d["file"]) for d in doc["diagnostics"] if d["severity"] == "info"}
    assert ("not-followed", "manifests/up") in notes
    assert doc["inventory"]["kinds"] == {"Deployment": 2, "Namespace": 1}
    doc = check_json("manifests/loop-a.yaml")
    assert error_at(doc, "symlink-loop", "manifests/loop-a.yaml", 0).startswith("cannot read: a symlink loop")


def test_limit_manifest_suffixes_in_any_case_are_read_from_folders() -> None:
    write("manifests/A.YAML", APP)
    write("manifests/B.Json", json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}}))
    write("manifests/notes.txt", "not a manifest")
    doc = check_json("manifests")
    assert doc["inventory"]["kinds"] == {"Deployment": 2, "Namespace": 2}


# ============================================================================ hangs and denial of service

def alias_bomb(levels: int) -> str:
    """The billion laughs: each level an anchored list of nine aliases to the level below."""
    names = "abcdefghij"
    lines = ["a: &a [x,x,x,x,x,x,x,x,x]"]
    lines += [f"{names[i]}: &{names[i]} [" + ",".join([f"*{names[i - 1]}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("levels", "size"), [(8, 271), (10, 341)])
def test_alias_bomb_of_272_and_342_bytes_is_refused_as_kubectl_refuses_it_and_quickly(levels: int, size: int) -> None:
    # Before: 21 s and 2.4 GB for the first, more than 45 s and 5 GB for the second.
    text = alias_bomb(levels)
    assert len(text) == size
    Path("bomb.yaml").write_text(text + "---\n" + APP, encoding="utf-8")
    started = time.perf_counter()
    done = run("check", "bomb.yaml", "--format", "json", timeout=30)
    assert time.perf_counter() - started < 15
    doc = json.loads(done.stdout)
    assert done.returncode == 2
    refused = [d for d in doc["diagnostics"] if d["code"] == "yaml-aliases"]
    # go-yaml's count: the fourth *c of line 4 brings the aliased share past 99% after 1,000 values.
    assert len(refused) == 1 and (refused[0]["file"], refused[0]["line"]) == ("bomb.yaml", 4)
    assert refused[0]["message"] == ("the document contains excessive aliasing (4,630 of 4,671 values come from "
                                     "aliases): kubectl refuses it; this document is not read")
    assert doc["inventory"]["kinds"] == {"Deployment": 2, "Namespace": 1}  # the next document is read


def test_aliases_within_kubectls_budget_and_merge_keys_are_read() -> None:
    write("ok.yaml", """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: app, labels: &labels {app: web, tier: front}}
        spec:
          selector: {matchLabels: *labels}
          template:
            metadata: {labels: *labels}
            spec:
              containers:
              - &container {name: c, image: x, ports: [{containerPort: 80}]}
              - <<: *container
                name: sidecar
        """)
    doc = check_json("ok.yaml")
    assert not errors(doc)
    assert doc["inventory"]["kinds"] == {"Deployment": 1}


def test_an_anchor_containing_an_alias_to_itself_is_refused() -> None:
    write("self.yaml", "a: &a [1, *a]\n")
    doc = check_json("self.yaml")
    assert error_at(doc, "yaml-aliases", "self.yaml", 1) == \
        "anchor 'a' contains an alias to itself: kubectl refuses the document; this document is not read"


def test_fifo_named_yaml_in_a_folder_blocks_no_command(tmp_path: Path) -> None:
    write("manifests/ok.yaml", APP)
    os.mkfifo("manifests/pipe.yaml")
    done = run("check", "manifests", "--format", "json", timeout=30)
    doc = json.loads(done.stdout)
    assert done.returncode == 2
    assert error_at(doc, "not-a-regular-file", "manifests/pipe.yaml", 0) == \
        "not a regular file (a FIFO): kubeward reads only regular files"
    assert doc["inventory"]["kinds"] == {"Deployment": 2, "Namespace": 1}
    done = run("map", "manifests/pipe.yaml", timeout=30)  # named directly: refused as well
    assert done.returncode == 2
    assert "manifests/pipe.yaml: error: not-a-regular-file" in done.stderr


@pytest.mark.parametrize(("length", "code"), [(10_000_000, "too-large"), (1_000_000, "invalid-name")])
def test_a_10_mb_metadata_name_is_refused_at_once(length: int, code: str) -> None:
    Path("name.yaml").write_text("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                                 f"metadata: {{name: {'a' * length}, namespace: app}}\n"
                                 "spec: {podSelector: {}}\n---\n" + APP, encoding="utf-8")
    done = run("check", "name.yaml", "--format", "json", timeout=30)
    doc = json.loads(done.stdout)
    refused = [d for d in doc["diagnostics"] if d["code"] == code]
    assert len(refused) == 1 and refused[0]["line"] in (1, 3)
    if code == "invalid-name":
        assert refused[0]["message"].startswith(f"metadata.name: '{'a' * 60}'… ({length:,} characters) is longer "
                                                "than 253 characters; the API server rejects this object")
    assert doc["inventory"]["kinds"] == {"Deployment": 2, "Namespace": 1}
    assert len(done.stdout) < 100_000  # the name is never printed whole


def bare_pods(count: int) -> str:
    return "".join(f"---\napiVersion: v1\nkind: Pod\n"
                   f"metadata: {{name: worker-{i}, namespace: app, labels: {{app: w}}}}\n"
                   "spec: {containers: [{name: c, image: x, ports: [{containerPort: 8080}]}]}\n"
                   for i in range(count))


def test_5000_bare_pods_are_checked_quickly_as_one_workload() -> None:
    Path("pods.yaml").write_text(bare_pods(5000), encoding="utf-8")
    started = time.perf_counter()
    done = run("check", "pods.yaml", "--format", "json", timeout=60)
    assert time.perf_counter() - started < 30
    doc = json.loads(done.stdout)
    assert doc["inventory"]["workloads"] == 1
    note = [d for d in doc["diagnostics"] if d["code"] == "alike-pods"]
    assert [d["message"] for d in note] == ["5000 Pods of namespace app that no policy can tell apart (worker-0 … "
                                            "worker-999) are one workload, app/worker-0; explain still takes each "
                                            "pod's name"]


def test_alike_bare_pods_explain_still_takes_each_pods_name() -> None:
    write("pods.yaml", bare_pods(20) + "---\n" + APP)
    result = kubeward("explain", "pods.yaml", "--from", "app/worker-17", "--to", "app/server", "--port", "80")
    assert result.exit_code == 0
    assert result.stdout.startswith("ALLOW  app/worker-17 -> app/server  TCP/80")


def test_a_few_alike_bare_pods_stay_one_workload_each() -> None:
    write("pods.yaml", bare_pods(3))
    result = kubeward("map", "--expand", "pods.yaml", "--format", "json")
    peers = {p["id"] for p in json.loads(result.stdout)["peers"] if p["type"] == "workload"}
    assert peers == {"app/worker-0", "app/worker-1", "app/worker-2"}


def test_text_map_of_hundreds_of_open_deployments_is_quick() -> None:
    # 300 Deployments and no policy: 90,000 rows (a rich Table took minutes for 500).
    text = "".join(f"---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app-{i}, namespace: ns}}\n"
                   f"spec: {{selector: {{matchLabels: {{app: a{i}}}}}, "
                   f"template: {{metadata: {{labels: {{app: a{i}}}}}, spec: {{containers: [{{name: c, "
                   "image: x}]}}}\n" for i in range(300))
    Path("open.yaml").write_text(text, encoding="utf-8")
    started = time.perf_counter()
    result = kubeward("map", "--expand", "open.yaml")
    assert time.perf_counter() - started < 20
    lines = result.stdout.splitlines()
    assert len(lines) == 2 + 300 * 300 + 300  # the summary, the header, workload pairs and world rows
    assert lines[1].split() == ["FROM", "TO", "ALLOWED"]
    assert lines[-1].split() == ["world", "ns/app-99", "all", "ports"]  # issue 17: world sorts as a name


# ============================================================================ exit codes

def test_exit_code_3_an_internal_error_is_a_short_message(monkeypatch: pytest.MonkeyPatch) -> None:
    import kubeward.cli as cli

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("the map broke")

    monkeypatch.setattr(cli, "connectivity_map", broken)
    write("ok.yaml", APP)
    result = kubeward("map", "--expand", "ok.yaml")
    assert result.exit_code == 3
    assert result.stderr == ("kubeward: internal error: RuntimeError: the map broke — please report it; run with "
                             "--debug for the traceback\n")
    assert "Traceback" not in result.output


def test_exit_code_3_with_debug_prints_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import kubeward.cli as cli

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("the map broke")

    monkeypatch.setattr(cli, "connectivity_map", broken)
    write("ok.yaml", APP)
    result = kubeward("--debug", "map", "--expand", "ok.yaml")
    assert result.exit_code == 3
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert 'raise RuntimeError("the map broke")' in result.stderr
    assert result.stderr.endswith("kubeward: internal error: RuntimeError: the map broke — please report it; run "
                                  "with --debug for the traceback\n")


def test_exit_codes_0_1_2_are_unchanged() -> None:
    write("ok.yaml", APP)
    write("bad.yaml", "a: [\n")
    assert kubeward("map", "--expand", "ok.yaml").exit_code == 0
    assert kubeward("explain", "ok.yaml", "--from", "app/client", "--to", "app/nobody").exit_code == 2
    assert kubeward("map", "--expand", "bad.yaml").exit_code == 2


# ============================================================================ output you can trust

def test_output_a_policy_named_with_a_newline_and_an_ansi_label_value_print_one_escaped_line_each() -> None:
    write("evil.yaml", APP + textwrap.dedent("""\
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: "ok\\n::error file=x::forged", namespace: app}
        spec: {podSelector: {}}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: painted, namespace: app}
        spec:
          selector: {matchLabels: {tier: paint}}
          template:
            metadata: {labels: {tier: paint, app: "\\e[31mred\\e[0m"}}
            spec: {containers: [{name: c, image: x}]}
        """))
    for result in (kubeward("check", "evil.yaml"), kubeward("map", "--expand", "evil.yaml")):
        out = result.stdout + result.stderr
        assert "\x1b" not in out
        assert not any(line.startswith("::error") for line in out.splitlines())
        named = [line for line in out.splitlines() if "forged" in line]
        assert len(named) == 1 and "metadata.name: 'ok\\n::error file=x::forged' is not a DNS subdomain" in named[0]
        painted = [line for line in out.splitlines() if "31mred" in line]
        assert len(painted) == 1 and "\\x1b[31mred\\x1b[0m" in painted[0]


def test_output_a_file_name_with_a_newline_is_escaped_in_every_diagnostic() -> None:
    name = "x\n::error::forged.yaml"
    Path(name).write_text("a: [\n", encoding="utf-8")
    result = kubeward("map", "--expand", name)
    assert result.exit_code == 2
    assert not any(line.startswith("::error") for line in result.stderr.splitlines())
    assert "x\\n::error::forged.yaml:2: error: yaml-syntax" in result.stderr


def test_output_strings_of_rules_are_escaped_in_the_text_map() -> None:
    write("cnp.yaml", CILIUM_L7.replace("BROKEN", 'path: "/a\\n::error::forged"'))
    result = kubeward("map", "--expand", "cnp.yaml")
    assert "/a\\n::error::forged" in result.stdout
    assert not any(line.startswith("::error") for line in result.stdout.splitlines())
