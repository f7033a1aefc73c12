"""``--cluster`` end to end (issue 13, "Live cluster input"): every command reads the cluster of
a kubeconfig context through the official client, against the protocol-level fake API server of
``fake_apiserver.py`` serving the objects of ``examples/shop`` over HTTPS with a bearer token.

The key property: the live read and the files give the same answer. And: files overlay the live
objects, ``diff --cluster NEW`` compares the cluster with the cluster after NEW, failures are a
clear message and exit code 2, never a traceback, and no credential reaches any output.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

import kubeward
from fake_apiserver import TOKEN, FakeApiServer, objects_of, serving
from kubeward.cli import main

ROOT = Path(__file__).resolve().parent.parent
SHOP = "examples/shop"


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[FakeApiServer, str]]:
    """The fake API server serving examples/shop, and a kubeconfig pointing at it."""
    with serving(objects_of(SHOP)) as server:
        yield server, str(server.kubeconfig(tmp_path / "kubeconfig"))


def kubeward_cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env={"CI": "", **(env or {})})


_REF = re.compile(r"[^\s(),]+\.(?:yaml|yml|json):\d+|cluster:fake[^\s(),]*:\d+")


def workload_level(doc: Any) -> Any:
    """A JSON answer without where its objects came from: no file or line, no diagnostics."""
    if isinstance(doc, dict):
        return {k: workload_level(v) for k, v in doc.items() if k not in ("file", "line", "diagnostics")}
    if isinstance(doc, list):
        return sorted((workload_level(v) for v in doc), key=lambda v: json.dumps(v, sort_keys=True))
    return _REF.sub("<ref>", doc) if isinstance(doc, str) else doc


def test_map_of_the_live_cluster_is_the_map_of_the_same_objects_as_files(shop: tuple[FakeApiServer, str]) -> None:
    server, config = shop
    live = kubeward_cli("map", "--cluster", "--kubeconfig", config, "--format", "json")
    files = kubeward_cli("map", SHOP, "--format", "json")
    assert (live.exit_code, files.exit_code) == (0, 0)
    live_doc, files_doc = json.loads(live.stdout), json.loads(files.stdout)
    assert live_doc["connections"] and workload_level(live_doc["connections"]) == workload_level(
        files_doc["connections"])
    assert workload_level(live_doc) == workload_level(files_doc)
    assert len(server.lists_of("deployments")) == 2  # 4 Deployments, pages of 3


def test_the_text_map_names_live_objects_by_context_kind_namespace_and_name(shop: tuple[FakeApiServer, str]) -> None:
    _, config = shop
    result = kubeward_cli("map", "--cluster", "--kubeconfig", config, "-v")
    assert result.exit_code == 0
    assert "NetworkPolicy shop/default-deny (cluster:fake/NetworkPolicy/shop/default-deny:1)" in result.stdout
    assert re.search(r"^cluster:fake: info: cluster-read: read 23 objects of 12 kinds from the API server "
                     r"https?://127\.0\.0\.1:\d+ \(context fake\)$", result.stderr, re.M)
    assert "cluster:fake: info: cluster-api-not-served: no OpenShift Routes: the route.openshift.io API is not " \
           "served" in result.stderr.splitlines()


@pytest.mark.parametrize("command", [
    ["explain", "--from", "shop/web", "--to", "shop/api", "--port", "8080", "--format", "json"],
    ["check", "--format", "json"],
    ["lint", "--format", "json"],
], ids=lambda c: c[0])
def test_every_command_gives_the_same_answer_from_the_cluster_as_from_the_files(
        shop: tuple[FakeApiServer, str], command: list[str]) -> None:
    _, config = shop
    live = kubeward_cli(command[0], "--cluster", "--kubeconfig", config, *command[1:])
    files = kubeward_cli(command[0], SHOP, *command[1:])
    assert live.exit_code == files.exit_code
    live_doc, files_doc = json.loads(live.stdout), json.loads(files.stdout)
    if command[0] == "explain":
        assert live_doc["verdict"] == files_doc["verdict"] == "deny"
    if command[0] == "check":  # the cluster's notes on what it read are extra; tests.yaml is a file's
        live_doc["diagnostics"] = [d for d in live_doc["diagnostics"] if not d["code"].startswith("cluster-")]
        del files_doc["tests"], live_doc["tests"], files_doc["inventory"]["kinds"]["TestSuite"]
    assert workload_level(live_doc) == workload_level(files_doc)


def test_test_runs_a_testsuite_file_against_the_cluster(shop: tuple[FakeApiServer, str]) -> None:
    _, config = shop
    live = kubeward_cli("test", "--cluster", "--kubeconfig", config, f"{SHOP}/tests.yaml", "--format", "json")
    files = kubeward_cli("test", SHOP, "--format", "json")
    assert live.exit_code == files.exit_code == 1  # the lab's own policies fail some of its scenarios
    assert [(c["name"], c["passed"]) for c in json.loads(live.stdout)["cases"]] == \
        [(c["name"], c["passed"]) for c in json.loads(files.stdout)["cases"]]


def test_files_given_with_cluster_replace_the_live_objects_of_the_same_kind_and_name(
        shop: tuple[FakeApiServer, str]) -> None:
    _, config = shop
    before = kubeward_cli("explain", "--cluster", "--kubeconfig", config, "--from", "shop/api", "--to", "shop/mysql",
                          "--port", "3306")
    fixed = "examples/shop-fixed/base/networkpolicies.yaml"
    after = kubeward_cli("explain", "--cluster", "--kubeconfig", config, fixed, "--from", "shop/api", "--to",
                         "shop/mysql", "--port", "3306", "-v")
    assert (before.exit_code, after.exit_code) == (1, 0)
    assert before.stdout.startswith("DENY") and after.stdout.startswith("ALLOW")
    assert "examples/shop-fixed/base/networkpolicies.yaml:3: info: overlay-replaces: NetworkPolicy shop/default-deny " \
           "replaces the object of the cluster (cluster:fake/NetworkPolicy/shop/default-deny)" in after.stderr


def test_a_file_object_without_namespace_goes_into_the_contexts_namespace(tmp_path: Path) -> None:
    change = tmp_path / "open.yaml"
    change.write_text("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: default-deny}\n"
                      "spec: {podSelector: {}, ingress: [{}], egress: [{}]}\n")
    with serving(objects_of(SHOP)) as server:
        config = str(server.kubeconfig(tmp_path / "kubeconfig", namespace="shop"))
        result = kubeward_cli("explain", "--cluster", "--kubeconfig", config, str(change), "--from", "shop/api",
                              "--to", "shop/mysql", "--port", "3306")
    assert result.exit_code == 0, result.stdout  # the live shop/default-deny is replaced by one that allows all


def test_diff_cluster_new_compares_the_cluster_with_the_cluster_after_new(shop: tuple[FakeApiServer, str],
                                                                          tmp_path: Path) -> None:
    _, config = shop
    live = kubeward_cli("diff", "--cluster", "--kubeconfig", config, "examples/shop-fixed", "--format", "json")
    # the same as files: OLD the shop, NEW the shop with shop-fixed's objects read after it (the later one wins)
    proposed = tmp_path / "proposed"
    shutil.copytree(ROOT / SHOP, proposed / "a")
    shutil.copytree(ROOT / "examples/shop-fixed", proposed / "b")
    files = kubeward_cli("diff", SHOP, str(proposed), "--format", "json")
    assert live.exit_code == files.exit_code == 0
    live_doc, files_doc = json.loads(live.stdout), json.loads(files.stdout)
    assert live_doc["old"] == "cluster:fake" and live_doc["new"] == "cluster:fake + examples/shop-fixed"
    pairs = [(p["src"], p["dst"]) for p in live_doc["pairs"]]
    assert ("shop/api", "shop/mysql") in pairs
    assert workload_level(live_doc["pairs"]) == workload_level(files_doc["pairs"])
    assert workload_level(live_doc["entries"]) == workload_level(files_doc["entries"])


def test_the_library_reads_the_cluster_once_and_analyses_it_with_files_overlaid(
        shop: tuple[FakeApiServer, str]) -> None:
    server, config = shop
    snapshot = kubeward.read_cluster(kubeconfig=config)
    requests = len(server.requests)
    fixed = kubeward.analyse_cluster(snapshot, overlay=["examples/shop-fixed/base/networkpolicies.yaml"])
    assert kubeward.explain(fixed, "shop/api", "shop/mysql", 3306).allowed
    assert kubeward.check_paths([], cluster=snapshot).exit_code == 1
    assert kubeward.diff_cluster("examples/shop-fixed", cluster=snapshot).result.changed
    assert len(server.requests) == requests  # one read, analysed three times


# ---- failures: a message and exit code 2 ------------------------------------------------------

def test_a_server_that_is_down_is_exit_code_2_with_a_message(tmp_path: Path) -> None:
    server = FakeApiServer([])
    config = server.kubeconfig(tmp_path / "kubeconfig")
    server.stop()
    result = kubeward_cli("map", "--cluster", "--kubeconfig", str(config))
    assert result.exit_code == 2
    assert re.fullmatch(r"kubeward map: cannot reach the API server https?://127\.0\.0\.1:\d+ \(context fake\): "
                        r"\[Errno 111\] Connection refused\n", result.stderr)


def test_a_wrong_token_is_exit_code_2_with_a_message_naming_authentication(tmp_path: Path) -> None:
    with serving(objects_of(SHOP)) as server:
        config = server.kubeconfig(tmp_path / "kubeconfig", token="kw-wrong-token-0123456789")
        result = kubeward_cli("check", "--cluster", "--kubeconfig", str(config))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert re.fullmatch(r"kubeward check: the API server https?://127\.0\.0\.1:\d+ \(context fake\) refused the "
                        r"credentials of the context \(401 Unauthorized: authentication failed\); check the user of "
                        r"the context, or log in again\n", result.stderr)
    assert "kw-wrong-token" not in result.output


def test_a_certificate_the_kubeconfig_does_not_trust_is_refused(tmp_path: Path) -> None:
    with serving([]) as server:
        config = server.kubeconfig(tmp_path / "kubeconfig", trust=False)
        result = kubeward_cli("map", "--cluster", "--kubeconfig", str(config))
    assert result.exit_code == 2
    assert result.stderr.endswith("TLS: the server's certificate is not trusted (self-signed certificate)\n")


def test_a_refused_kind_is_a_warning_and_the_rest_is_analysed(tmp_path: Path) -> None:
    with serving(objects_of(SHOP), forbidden={"networkpolicies.networking.k8s.io"}) as server:
        config = str(server.kubeconfig(tmp_path / "kubeconfig"))
        mapped = kubeward_cli("map", "--expand", "--cluster", "--kubeconfig", config)
        checked = kubeward_cli("check", "--cluster", "--kubeconfig", config, "--format", "json")
    assert mapped.exit_code == 0
    warning = next(line for line in mapped.stderr.splitlines() if "cluster-forbidden" in line)
    assert warning.startswith("cluster:fake: warning: cluster-forbidden: NetworkPolicy (networking.k8s.io/v1, "
                              "networkpolicies) not read: the API server refused to list them (403 Forbidden:")
    assert warning.endswith("(may allow or deny more than shown)")
    assert "shop/web                                shop/api" in mapped.stdout  # no NetworkPolicy isolates it now
    assert checked.exit_code == 1
    assert [d["leans"] for d in json.loads(checked.stdout)["diagnostics"] if d["code"] == "cluster-forbidden"] == [
        "may allow or deny more than shown"]


# ---- IST-30: the istio ConfigMap, read by name ---------------------------------------------------

EGRESS = "examples/shop-egress"
GOOGLE = ("--from", "shop/web", "--to", "www.google.com", "--port", "443")


def _egress_trace(*args: str) -> tuple[int, str, list[tuple[str, str, str, str]]]:
    result = kubeward_cli("explain", *args, *GOOGLE, "--format", "json")
    doc = json.loads(result.stdout)
    return result.exit_code, doc["verdict"], [(s["layer"], s["subject"], s["reason"], s["effect"])
                                              for s in doc["trace"]]


def _without_configmaps(tmp_path: Path) -> tuple[list[dict[str, Any]], str]:
    """examples/shop-egress without its istio ConfigMap: as objects, and as one file."""
    objects = [o for o in objects_of(EGRESS) if o["kind"] != "ConfigMap"]
    path = tmp_path / "egress.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    return objects, str(path)


def test_registry_only_in_the_live_istio_configmap_black_holes_an_unknown_host_as_the_files_do(
        tmp_path: Path) -> None:
    with serving(objects_of(EGRESS)) as server:
        config = str(server.kubeconfig(tmp_path / "kubeconfig"))
        live = _egress_trace("--cluster", "--kubeconfig", config)
        text = kubeward_cli("explain", "--cluster", "--kubeconfig", config, *GOOGLE)
        gets = [r.path for r in server.gets()]
        configmap_lists = server.lists_of("configmaps")
    assert live == _egress_trace(EGRESS) == (1, "deny", [("mesh", "shop/web", "mesh-blackhole", "deny")])
    assert "✗ [mesh] ConfigMap istio-system/istio (cluster:fake/ConfigMap/istio-system/istio:3): " in text.stdout
    assert "outboundTrafficPolicy REGISTRY_ONLY (ConfigMap istio-system/istio (meshConfig)) sends it to the " \
           "BlackHoleCluster" in text.stdout
    assert gets == ["/api/v1/namespaces/istio-system/configmaps/istio"] * 2  # one GET by name per read
    assert configmap_lists == []  # ConfigMaps are never listed


def test_no_istio_configmap_in_the_cluster_is_istios_default_allow_any_as_the_files_say(tmp_path: Path) -> None:
    objects, files = _without_configmaps(tmp_path)
    with serving(objects) as server:
        config = str(server.kubeconfig(tmp_path / "kubeconfig"))
        live = _egress_trace("--cluster", "--kubeconfig", config)
        noted = kubeward_cli("explain", "--cluster", "--kubeconfig", config, *GOOGLE, "-v")
    assert live == _egress_trace(files)
    code, verdict, steps = live
    assert (code, verdict) == (1, "deny")  # web's CNI egress admits only the egress gateway and DNS
    assert steps[0] == ("mesh", "shop/web", "mesh-outbound", "allow")  # ALLOW_ANY: passed through
    assert "mesh-blackhole" not in {s[2] for s in steps}
    assert "cluster:fake: info: cluster-mesh-config: no ConfigMap istio-system/istio: the mesh-wide " \
           "outboundTrafficPolicy is Istio's default, ALLOW_ANY (IST-30)" in noted.stderr.splitlines()


def test_a_refused_istio_configmap_is_a_warning_leaning_towards_allow_any_and_the_answer_is_unchanged(
        tmp_path: Path) -> None:
    objects, files = _without_configmaps(tmp_path)
    with serving(objects_of(EGRESS), forbidden={"configmaps"}) as server:
        config = str(server.kubeconfig(tmp_path / "kubeconfig"))
        live = _egress_trace("--cluster", "--kubeconfig", config)
        text = kubeward_cli("explain", "--cluster", "--kubeconfig", config, *GOOGLE)
        checked = kubeward_cli("check", "--cluster", "--kubeconfig", config, "--format", "json")
    assert live == _egress_trace(files)  # the policy unknown: taken as ALLOW_ANY, exit code 1 (the CNI denies)
    warning = next(line for line in text.stderr.splitlines() if "cluster-forbidden" in line)
    assert warning == (
        'cluster:fake: warning: cluster-forbidden: ConfigMap istio-system/istio not read: the API server refused to '
        'get it (403 Forbidden: configmaps "istio" is forbidden: User "system:serviceaccount:ci:kubeward" cannot get '
        'resource "configmaps" in API group "" in the namespace "istio-system"); grant get on configmaps named istio '
        "in istio-system (docs/cli.md); the mesh-wide outboundTrafficPolicy is unknown: it is taken as ALLOW_ANY "
        "(IST-30), which may allow more than shown; --mesh-outbound sets it (may allow more than shown)")
    assert [d["leans"] for d in json.loads(checked.stdout)["diagnostics"] if d["code"] == "cluster-forbidden"] == [
        "may allow more than shown"]


def test_the_istio_configmap_is_read_from_the_root_namespace_given(tmp_path: Path) -> None:
    moved = [{**o, "metadata": {**o["metadata"], "namespace": "mesh-root"}} if o["kind"] == "ConfigMap" else o
             for o in objects_of(EGRESS)]
    with serving(moved) as server:
        config = str(server.kubeconfig(tmp_path / "kubeconfig"))
        default = _egress_trace("--cluster", "--kubeconfig", config)
        given = kubeward_cli("explain", "--cluster", "--kubeconfig", config, "--root-namespace", "mesh-root", *GOOGLE)
        gets = [r.path for r in server.gets()]
    assert default[2][0][2] == "mesh-outbound"  # not in istio-system: ALLOW_ANY
    assert "REGISTRY_ONLY (ConfigMap mesh-root/istio (meshConfig)) sends it to the BlackHoleCluster" in given.stdout
    assert gets == ["/api/v1/namespaces/istio-system/configmaps/istio", "/api/v1/namespaces/mesh-root/configmaps/istio"]


def test_a_cluster_without_istio_networking_costs_no_configmap_request(shop: tuple[FakeApiServer, str]) -> None:
    server, config = shop
    assert kubeward_cli("map", "--cluster", "--kubeconfig", config).exit_code == 0
    assert "networking.istio.io" not in server.versions  # examples/shop: Istio's security API only
    assert [r.path for r in server.requests if "configmaps" in r.path] == []


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--kubeconfig", "/nonexistent/kubeconfig"], {}, "--kubeconfig /nonexistent/kubeconfig: no such file"),
    ([], {"KUBECONFIG": "/nonexistent/a:/nonexistent/b"},
     "no kubeconfig: none of the files of KUBECONFIG exists (/nonexistent/a:/nonexistent/b)"),
    ([], {"KUBECONFIG": "", "HOME": "/nonexistent"},
     "no kubeconfig: ~/.kube/config does not exist; give --kubeconfig FILE or set KUBECONFIG"),
], ids=["kubeconfig", "KUBECONFIG", "home"])
def test_no_kubeconfig_is_exit_code_2_with_a_message(args: list[str], env: dict[str, str], message: str) -> None:
    result = kubeward_cli("map", "--cluster", *args, env=env)
    assert (result.exit_code, result.stderr) == (2, f"kubeward map: {message}\n")


def test_an_unknown_context_is_exit_code_2_naming_the_contexts(shop: tuple[FakeApiServer, str]) -> None:
    _, config = shop
    result = kubeward_cli("lint", "--cluster", "--kubeconfig", config, "--context", "prod")
    assert (result.exit_code, result.stderr) == (2, f"kubeward lint: no context 'prod' in the kubeconfig {config} "
                                                    "(contexts: fake)\n")


def test_kubeconfig_files_are_merged_from_KUBECONFIG_and_context_chooses_among_them(tmp_path: Path) -> None:
    with serving(objects_of(SHOP)) as server:
        wrong = server.kubeconfig(tmp_path / "wrong", token="not-the-token-012345", context="stale")
        right = server.kubeconfig(tmp_path / "right", context="prod")
        env = {"KUBECONFIG": f"{wrong}:{right}"}
        current = kubeward_cli("map", "--cluster", env=env)  # the first file's current context: stale
        chosen = kubeward_cli("map", "--cluster", "--context", "prod", env=env)
    # both files name their cluster and user alike: the first file's entries win, as kubectl merges them
    assert current.exit_code == 2 and "refused the credentials" in current.stderr
    assert "(context stale)" in current.stderr
    assert chosen.exit_code == 2 and "(context prod)" in chosen.stderr


def test_a_context_with_its_own_user_is_read_when_chosen(tmp_path: Path) -> None:
    with serving(objects_of(SHOP)) as server:
        config = yaml.safe_load(server.kubeconfig(tmp_path / "kubeconfig").read_text())
        config["users"].append({"name": "stale-user", "user": {"token": "not-the-token-012345"}})
        config["contexts"].append({"name": "stale", "context": {"cluster": "fake-cluster", "user": "stale-user"}})
        config["current-context"] = "stale"
        path = tmp_path / "two-contexts"
        path.write_text(yaml.safe_dump(config))
        stale = kubeward_cli("map", "--cluster", "--kubeconfig", str(path))
        fake = kubeward_cli("map", "--cluster", "--kubeconfig", str(path), "--context", "fake")
    assert stale.exit_code == 2 and "(context stale) refused the credentials" in stale.stderr
    assert fake.exit_code == 0 and "shop/web" in fake.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["map"], "give PATH... (files, folders, - for standard input), or --cluster"),
    (["map", SHOP, "--context", "x"], "--context is an option of --cluster"),
    (["diff", "--cluster", SHOP, "examples/shop-fixed"], None),
])
def test_cluster_options_are_checked_before_anything_is_read(args: list[str], message: str | None) -> None:
    result = kubeward_cli(*args, env={"KUBECONFIG": "/nonexistent"})
    assert result.exit_code == 2
    if message is None:
        assert result.stderr == "kubeward diff: --cluster takes exactly one NEW path (and no --git): the live " \
                                "cluster is OLD\n"
    else:
        assert result.stderr.endswith(f"Error: {message}\n")


# ---- no credential in any output ---------------------------------------------------------------

def test_no_token_certificate_or_secret_data_reaches_any_output(tmp_path: Path) -> None:
    key = base64.b64encode(b"PRIVATE-KEY-kw-7f3e9a").decode()
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "shop-tls", "namespace": "shop"},
              "data": {"tls.key": key}}
    with serving([*objects_of(SHOP), secret]) as server:
        config = server.kubeconfig(tmp_path / "kubeconfig")
        wrong = server.kubeconfig(tmp_path / "wrong", token=TOKEN[::-1])
        garbled = tmp_path / "garbled"
        garbled.write_text(config.read_text().replace(f"token: {TOKEN}", f"token: {TOKEN}: [oops"))
        ca = base64.b64encode(server.ca_pem).decode() if server.ca_pem else "no-ca-over-plain-http"
        runs = [kubeward_cli(*command, "--cluster", "--kubeconfig", str(path))
                for path in (config, wrong, garbled)
                for command in (["map", "-v"], ["map", "--format", "json"], ["check"], ["check", "--format", "json"],
                                ["lint", "--format", "sarif"], ["explain", "--from", "shop/web", "--to", "shop/api"],
                                ["diff", "examples/shop-fixed", "-v"])]
        debug = CliRunner().invoke(main, ["--debug", "map", "--cluster", "--kubeconfig", str(garbled)])
    outputs = "".join(r.output for r in (*runs, debug))
    assert {r.exit_code for r in runs[:7]} == {0, 1} and {r.exit_code for r in runs[7:]} == {2}
    for credential in (TOKEN, TOKEN[::-1], ca[:40], ca[-40:], "PRIVATE-KEY-kw", key):
        assert credential not in outputs


# ---- start-up: the client library only when a cluster is read ----------------------------------

def test_reading_files_never_imports_the_kubernetes_client() -> None:
    program = ("import sys\nfrom kubeward.cli import main\n"
               "try:\n    main(['map', 'examples/shop'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
               "print(sorted(m for m in sys.modules if m == 'kubernetes' or m.startswith('kubernetes.')))\n")
    result = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=True,
                            env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
    assert result.stdout.splitlines()[-1] == "[]"


# ---- progress: on a terminal only --------------------------------------------------------------

def _stderr_on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[str, str]:
    """Run kubeward with standard error on a pseudo-terminal: (stdout, what the terminal showed)."""
    import os
    import pty

    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "kubeward", *args], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=slave, env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", **env})
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    stdout = process.communicate()[0]
    os.close(master)
    return stdout.decode(), shown.decode(errors="replace")


@pytest.mark.parametrize("ci", ["", "true"], ids=["terminal", "CI"])
def test_a_spinner_says_what_is_read_on_a_terminal_and_never_in_ci(shop: tuple[FakeApiServer, str], ci: str) -> None:
    _, config = shop
    env = {"CI": ci} if ci else {}
    stdout, terminal = _stderr_on_a_terminal(["map", "--cluster", "--kubeconfig", config, "--format", "json"], env)
    assert json.loads(stdout)["connections"]
    assert ("kubeward: reading" in terminal) is (not ci)
