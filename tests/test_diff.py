"""`kubeward diff`: the semantic difference between two versions of the configuration, for
GitOps review — what is newly allowed, what no longer is, and the policy (file:line) responsible."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from kubeward.cli import main

APP = """\
apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: nginx, ports: [{containerPort: 80}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: demo}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: c, image: api, ports: [{containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: demo}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: mysql, ports: [{containerPort: 3306}]}]}
"""

DENY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: demo}
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-api, namespace: demo}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: api}}}]
    ports: [{port: 3306}]
"""

WIDER = DENY.replace("podSelector: {matchLabels: {app: api}}",
                     "podSelector: {matchExpressions: [{key: app, operator: In, values: [api, web]}]}")

HTTP_POLICY = """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api-http, namespace: demo}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: web}}]
    toPorts:
    - ports: [{port: "8080", protocol: TCP}]
      rules:
        http:
        - {method: GET, path: "/v1/catalog"}
"""
HTTP_POLICY_WITH_ORDER = HTTP_POLICY + '        - {method: POST, path: "/v1/order"}\n'


def side(root: Path, name: str, **files: str) -> str:
    folder = root / name
    folder.mkdir()
    (folder / "app.yaml").write_text(APP)
    for file, text in files.items():
        (folder / f"{file}.yaml").write_text(text)
    return str(folder)



@pytest.fixture
def chdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_adding_a_default_deny_closes_every_pair_and_names_the_policy(chdir: Path) -> None:
    side(chdir, "old")
    side(chdir, "new", deny=DENY)
    result = CliRunner().invoke(main, ["diff", "old", "new"])
    assert result.exit_code == 0, result.output
    assert result.stdout == textwrap.dedent("""\
        diff old → new (cni=generic, ipblock-matches-pods=yes, self-traffic=omitted)
        demo/api -> demo/db: - no longer allowed TCP/1-3305,3307-65535 UDP/all SCTP/all
            denied by NetworkPolicy demo/default-deny (new/deny.yaml:1)
        demo/api -> demo/web: - no longer allowed all ports
            denied by NetworkPolicy demo/default-deny (new/deny.yaml:1)
        demo/db -> demo/api: - no longer allowed all ports
            denied by NetworkPolicy demo/default-deny (new/deny.yaml:1)
        demo/db -> demo/web: - no longer allowed all ports
            denied by NetworkPolicy demo/default-deny (new/deny.yaml:1)
        demo/web -> demo/api: - no longer allowed all ports
            denied by NetworkPolicy demo/default-deny (new/deny.yaml:1)
        demo/web -> demo/db: - no longer allowed all ports
            denied by NetworkPolicy demo/default-deny (new/deny.yaml:1)
        world -> demo/api: - no longer allowed all ports
            denied by NetworkPolicy demo/default-deny (new/deny.yaml:1)
        world -> demo/db: - no longer allowed all ports
            denied by NetworkPolicy demo/default-deny (new/deny.yaml:1)
        world -> demo/web: - no longer allowed all ports
            denied by NetworkPolicy demo/default-deny (new/deny.yaml:1)
        9 pair(s) changed, 0 entry point(s) changed, 0 workload(s) added, 0 removed
        """)


def test_widening_a_selector_opens_exactly_one_port_and_names_the_rule_with_its_line(chdir: Path) -> None:
    side(chdir, "old", deny=DENY)
    side(chdir, "new", deny=WIDER)
    result = CliRunner().invoke(main, ["diff", "old", "new", "--exit-code"])
    assert result.exit_code == 1  # --exit-code: something changed
    assert result.stdout == textwrap.dedent("""\
        diff old → new (cni=generic, ipblock-matches-pods=yes, self-traffic=omitted)
        demo/web -> demo/db: + now allowed TCP/3306
            allowed by NetworkPolicy demo/db-from-api ingress rule 0 (new/deny.yaml:14)
            was denied by NetworkPolicy demo/default-deny (old/deny.yaml:1)
        1 pair(s) changed, 0 entry point(s) changed, 0 workload(s) added, 0 removed
        """)


def test_the_markdown_is_a_pull_request_comment_with_one_row_per_changed_pair(chdir: Path) -> None:
    side(chdir, "old", deny=DENY)
    side(chdir, "new", deny=WIDER)
    result = CliRunner().invoke(main, ["diff", "old", "new", "--format", "md"])
    assert result.stdout == textwrap.dedent("""\
        ### kubeward: connectivity changes (cni=generic, ipblock-matches-pods=yes, self-traffic=omitted)

        | from | to | now allowed | no longer allowed | why |
        | --- | --- | --- | --- | --- |
        | `demo/web` | `demo/db` | TCP/3306 |  | allowed by NetworkPolicy demo/db-from-api ingress rule 0 \
(new/deny.yaml:14)<br>was denied by NetworkPolicy demo/default-deny (old/deny.yaml:1) |
        """)


def test_deleting_a_policy_opens_pairs_and_names_what_used_to_deny_them(chdir: Path) -> None:
    side(chdir, "old", deny=DENY)
    side(chdir, "new")
    out = CliRunner().invoke(main, ["diff", "old", "new"]).stdout
    assert "demo/web -> demo/db: + now allowed all ports\n" \
           "    was denied by NetworkPolicy demo/default-deny (old/deny.yaml:1)\n" in out


def test_an_added_http_route_in_a_cilium_policy_is_one_request_and_its_rule(chdir: Path) -> None:
    side(chdir, "old", cnp=HTTP_POLICY)
    side(chdir, "new", cnp=HTTP_POLICY_WITH_ORDER)
    result = CliRunner().invoke(main, ["diff", "old", "new"])
    assert result.stdout == textwrap.dedent("""\
        diff old → new (cni=cilium, ipblock-matches-pods=no, self-traffic=omitted)
        demo/web -> demo/api: + HTTP TCP 8080 POST /v1/order (ingress)
            allowed by CiliumNetworkPolicy demo/api-http ingress rule 0 (new/cnp.yaml:9)
            allowed by CiliumNetworkPolicy demo/api-http ingress rule 0 (new/cnp.yaml:13)
        1 pair(s) changed, 0 entry point(s) changed, 0 workload(s) added, 0 removed
        """)
    back = CliRunner().invoke(main, ["diff", "new", "old"]).stdout
    assert "demo/web -> demo/api: - HTTP TCP 8080 POST /v1/order (ingress)\n" in back


def test_removing_the_last_cilium_policy_is_judged_under_cilium_not_the_generic_default(chdir: Path) -> None:
    side(chdir, "old", cnp=HTTP_POLICY)
    side(chdir, "new")
    out = CliRunner().invoke(main, ["diff", "old", "new"]).stdout
    assert out.startswith("diff old → new (cni=cilium,")
    assert "demo/web -> demo/api: + now allowed TCP/1-8079,8081-65535 UDP/all SCTP/all; " \
           "~ HTTP filter gone: any request allowed\n" in out


def test_the_json_is_versioned_and_carries_ports_requests_and_causes(chdir: Path) -> None:
    side(chdir, "old", cnp=HTTP_POLICY)
    side(chdir, "new", cnp=HTTP_POLICY_WITH_ORDER)
    doc = json.loads(CliRunner().invoke(main, ["diff", "old", "new", "--format", "json"]).stdout)
    assert doc["schema"] == 2 and doc["old"] == "old" and doc["new"] == "new"
    assert doc["peers"] == {"added": [], "removed": []} and doc["entries"] == []
    [pair] = doc["pairs"]
    assert (pair["src"], pair["dst"], pair["cause"], pair["opened"], pair["closed"]) == \
        ("demo/web", "demo/api", "changed", {}, {})
    assert pair["l7"]["requestsAdded"] == ["TCP 8080 POST /v1/order (ingress)"]
    assert pair["l7"]["requestsRemoved"] == []
    assert pair["l7"]["after"][0]["http"] == [{"method": "GET", "path": "/v1/catalog"},
                                              {"method": "POST", "path": "/v1/order"}]


def test_a_workload_that_appears_is_reported_as_such_not_as_a_policy_change(chdir: Path) -> None:
    side(chdir, "old", deny=DENY)
    new = side(chdir, "new", deny=DENY)
    (Path(new) / "app.yaml").write_text(APP + APP[APP.index("---\napiVersion: apps/v1\nkind: Deployment\n"
                                                            "metadata: {name: db"):].replace("db", "cache"))
    doc = json.loads(CliRunner().invoke(main, ["diff", "old", "new", "--format", "json"]).stdout)
    assert doc["peers"] == {"added": ["demo/cache"], "removed": []}
    assert {p["cause"] for p in doc["pairs"]} == {"added"}
    assert all("demo/cache" in (p["src"], p["dst"]) and "responsible" not in p for p in doc["pairs"])
    text = CliRunner().invoke(main, ["diff", "old", "new"]).stdout
    assert "+ workload demo/cache\n" in text and "(new workload)" in text


def test_no_change_says_so_and_exits_zero_even_with_exit_code(chdir: Path) -> None:
    side(chdir, "old", deny=DENY)
    side(chdir, "new", deny=DENY)
    result = CliRunner().invoke(main, ["diff", "old", "new", "--exit-code"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1:] == ["no change in what is allowed"]


def test_bad_input_on_either_side_is_reported_with_its_side_and_line_and_exits_two(chdir: Path) -> None:
    side(chdir, "old")
    new = side(chdir, "new", deny=DENY)
    (Path(new) / "broken.yaml").write_text("kind: [oops\n")
    result = CliRunner().invoke(main, ["diff", "old", "new"])
    assert result.exit_code == 2
    assert "new: new/broken.yaml:1: error: yaml-syntax" in result.stderr
    assert "9 pair(s) changed" in result.stdout  # the rest is still compared


def test_usage_errors_exit_two_with_a_message(chdir: Path) -> None:
    side(chdir, "old")
    result = CliRunner().invoke(main, ["diff", "old"])
    assert result.exit_code == 2 and "give OLD and NEW" in result.stderr
    result = CliRunner().invoke(main, ["diff", "--git", "HEAD", "old"])
    assert result.exit_code == 2 and "--git REV1..REV2" in result.stderr


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_mode_compares_a_folder_at_two_revisions(chdir: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=chdir, check=True,
                       capture_output=True)

    git("init", "-q")
    cfg = chdir / "k8s"
    cfg.mkdir()
    (cfg / "app.yaml").write_text(APP)
    (cfg / "deny.yaml").write_text(DENY)
    git("add", ".")
    git("commit", "-q", "-m", "one")
    (cfg / "deny.yaml").write_text(WIDER)
    git("commit", "-q", "-am", "two")
    result = CliRunner().invoke(main, ["diff", "--git", "HEAD~1..HEAD", "k8s"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("diff k8s@HEAD~1 → k8s@HEAD (")
    assert lines[1:3] == ["demo/web -> demo/db: + now allowed TCP/3306",
                          "    allowed by NetworkPolicy demo/db-from-api ingress rule 0 (k8s@HEAD/deny.yaml:14)"]
    bad = CliRunner().invoke(main, ["diff", "--git", "HEAD~1..nosuchrev", "k8s"])
    assert bad.exit_code == 2 and "cannot read k8s at nosuchrev" in bad.stderr


def test_an_anchored_http_path_is_still_attributed_to_its_rule(chdir: Path) -> None:
    # CIL-16: Envoy matches the whole path, so ^ and $ change nothing and the request can be explained.
    side(chdir, "old", cnp=HTTP_POLICY)
    side(chdir, "new", cnp=HTTP_POLICY + '        - {method: POST, path: "^/v1/order$"}\n')
    out = CliRunner().invoke(main, ["diff", "old", "new"]).stdout
    assert "demo/web -> demo/api: + HTTP TCP 8080 POST ^/v1/order$ (ingress)\n" \
           "    allowed by CiliumNetworkPolicy demo/api-http ingress rule 0 (new/cnp.yaml:9)\n" in out
