"""Bad input never crashes kubeward and never passes silently.

For every kind of broken input: a diagnostic with a stable code, the right file and the line of
the problem; the rest of the input is still analysed (a good file in the same run keeps its
verdicts); the command exits non-zero. A broken part of an allow rule fails closed and never widens
what a policy allows; its diagnostic says the cluster "may allow more than shown" (it rejects the
policy, or prunes the field, and so never allows less than kubeward shows).

Each test writes its input into a fresh ``tmp_path`` and runs the command line from there, so
diagnostics name files as a user typed them (``bad.yaml``).
"""

from __future__ import annotations

import gc
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kubeward.cli import main
from kubeward.diagnostics import Leans
from manifests import APP

ALLOW_MORE = Leans.MAY_ALLOW_MORE.value  # fail closed: the cluster may allow more
EITHER = Leans.EITHER.value
ALLOW_MORE = Leans.MAY_ALLOW_MORE.value

# Namespace app: client, server (port 80 "http") and other. Only `other` is isolated: it admits
# client on TCP 8080. That connection is the witness that the good file was analysed.
GOOD = APP + "---\n" + textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: other, namespace: app}
    spec:
      selector: {matchLabels: {app: other}}
      template:
        metadata: {labels: {app: other}}
        spec: {containers: [{name: c, image: x}]}
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: other-from-client, namespace: app}
    spec:
      podSelector: {matchLabels: {app: other}}
      policyTypes: [Ingress]
      ingress:
      - from: [{podSelector: {matchLabels: {app: client}}}]
        ports: [{port: 8080}]
    """)
WITNESS = {"TCP": [[8080, 8080]]}


# ---------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
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
    hits = [i for i, line in enumerate(Path(name).read_text(encoding="utf-8").splitlines(), 1) if marker in line]
    assert len(hits) == 1, (marker, hits)
    return hits[0]


def run_map(*paths: str) -> tuple[int, dict[str, Any], str]:
    result = kubeward("map", "--expand", *paths, "--format", "json")
    return result.exit_code, json.loads(result.stdout), result.stderr


def run_check(*paths: str) -> tuple[int, dict[str, Any]]:
    result = kubeward("check", *paths, "--format", "json")
    return result.exit_code, json.loads(result.stdout)


def verdict(*paths: str, src: str, dst: str, port: str = "80") -> tuple[int, str]:
    result = kubeward("explain", *paths, "--from", src, "--to", dst, "--port", port, "--format", "json")
    return result.exit_code, json.loads(result.stdout)["verdict"]


def only(doc: dict[str, Any], code: str) -> dict[str, Any]:
    """The one diagnostic with ``code`` (and no other error or warning besides it)."""
    found: list[dict[str, Any]] = [d for d in doc["diagnostics"] if d["code"] == code]
    assert len(found) == 1, doc["diagnostics"]
    others = [d for d in doc["diagnostics"] if d["code"] != code and d["severity"] != "info"]
    assert others == [], others
    return found[0]


def ports(doc: dict[str, Any], src: str, dst: str) -> dict[str, Any] | None:
    found = [c["protocols"] for c in doc["connections"] if c["src"] == src and c["dst"] == dst]
    return found[0] if found else None


def into(doc: dict[str, Any], dst: str) -> list[str]:
    return [c["src"] for c in doc["connections"] if c["dst"] == dst]


def assert_good_file_analysed(doc: dict[str, Any]) -> None:
    assert ports(doc, "app/client", "app/other") == WITNESS
    assert ports(doc, "app/server", "app/other") is None


def server_policy(ingress: str) -> str:
    """A NetworkPolicy isolating app/server for ingress with the given (YAML) ingress rules."""
    return textwrap.dedent("""\
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: server-in, namespace: app}
        spec:
          podSelector: {matchLabels: {app: server}}
          policyTypes: [Ingress]
          ingress:
        """) + textwrap.indent(textwrap.dedent(ingress), "  ")


def from_client(port_entries: str) -> str:
    """One ingress rule from app/client with the given (YAML) list of port entries."""
    return ("- from:\n  - podSelector: {matchLabels: {app: client}}\n  ports:\n"
            + textwrap.indent(textwrap.dedent(port_entries), "  "))


# ---------------------------------------------------------------------------- loading


def test_a_yaml_syntax_error_in_one_file_of_a_folder_is_located_and_the_other_file_is_analysed() -> None:
    Path("manifests").mkdir()
    Path("good.yaml").rename("manifests/good.yaml")
    bad = write("manifests/broken.yaml", """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: early, namespace: app}
        spec:
          selector: {matchLabels: {app: early}}
          template: {metadata: {labels: {app: early}},
                     spec: {containers: [{name: c, image: x}]}}
        ---
        apiVersion: v1
        kind: Service
        metadata: name: web
        spec: {selector: {app: server}}
        """)
    code, doc, stderr = run_map("manifests")
    assert code == 2
    diag = only(doc, "yaml-syntax")
    assert (diag["severity"], diag["file"], diag["line"]) == ("error", bad, line_of(bad, "metadata: name: web"))
    assert "mapping values are not allowed" in diag["message"]
    assert "the rest of this file is not read (1 document(s) before it are)" in diag["message"]
    assert f"{bad}:11: error: yaml-syntax:" in stderr
    assert_good_file_analysed(doc)
    # The document before the error is kept.
    assert "app/early" in [p["id"] for p in doc["peers"]]


def test_explain_still_prints_its_verdict_but_exits_2_when_a_file_is_broken() -> None:
    write("broken.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: name: x\n")
    assert verdict("good.yaml", "broken.yaml", src="app/client", dst="app/other", port="8080") == (2, "allow")
    assert verdict("good.yaml", "broken.yaml", src="app/server", dst="app/other", port="8080") == (2, "deny")


def test_an_unclosed_flow_mapping_is_reported_at_the_line_that_opens_it() -> None:
    bad = write("broken.yaml", """\
        apiVersion: v1
        kind: Namespace
        metadata:
          name: extra
          labels: {team: a
        ---
        apiVersion: v1
        kind: Namespace
        metadata: {name: later}
        """)
    code, doc, _ = run_map("good.yaml", bad)
    assert code == 2
    diag = only(doc, "yaml-syntax")
    assert (diag["file"], diag["line"]) == (bad, line_of(bad, "labels: {team: a"))


def test_a_document_without_kind_is_reported_at_its_first_line() -> None:
    bad = write("nokind.yaml", """\
        # a ConfigMap that lost its kind
        apiVersion: v1
        metadata: {name: settings, namespace: app}
        data: {a: b}
        """)
    code, doc, _ = run_map("good.yaml", bad)
    assert code == 2
    diag = only(doc, "missing-kind")
    assert (diag["severity"], diag["file"], diag["line"]) == ("error", bad, 2)
    assert_good_file_analysed(doc)


def test_a_document_without_metadata_name_is_reported_and_ignored() -> None:
    bad = write("noname.yaml", """\
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          namespace: app
        spec: {podSelector: {}, policyTypes: [Ingress]}
        """)
    code, doc, _ = run_map("good.yaml", bad)
    assert code == 2
    diag = only(doc, "missing-name")
    assert (diag["severity"], diag["file"], diag["line"]) == ("error", bad, 2)
    assert "NetworkPolicy has no metadata.name" in diag["message"]
    assert_good_file_analysed(doc)
    assert ports(doc, "app/client", "app/server") is not None  # the nameless policy is not applied


def test_a_metadata_name_that_is_not_a_string_is_a_wrong_type_at_its_line() -> None:
    bad = write("numname.yaml", """\
        apiVersion: v1
        kind: Namespace
        metadata:
          name: 5
        """)
    code, doc, _ = run_map("good.yaml", bad)
    assert code == 2
    diag = only(doc, "invalid-type")
    assert (diag["file"], diag["line"]) == (bad, line_of(bad, "name: 5"))
    assert "metadata.name" in diag["message"]


def test_a_misspelled_kind_of_a_known_group_asks_did_you_mean() -> None:
    bad = write("typo.yaml", """\
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolcy
        metadata: {name: server-in, namespace: app}
        spec: {podSelector: {}, policyTypes: [Ingress]}
        """)
    code, doc = run_check("good.yaml", bad)
    assert code == 2  # an error: the API server has no such kind, and the object is not analysed
    diag = only(doc, "unknown-kind")
    assert (diag["severity"], diag["file"]) == ("error", bad)
    assert "unknown kind NetworkPolcy (networking.k8s.io/v1): did you mean NetworkPolicy?" in diag["message"]
    assert {"kind": "NetworkPolcy", "apiVersion": "networking.k8s.io/v1", "count": 1, "file": bad,
            "line": 1} in doc["inventory"]["notModelled"]
    protection = {p["workload"]: p["ingressIsolatedBy"] for p in doc["protection"]}
    assert protection == {"app/client": [], "app/other": ["NetworkPolicy app/other-from-client"],
                          "app/server": []}


def test_a_misspelled_kind_is_reported_at_the_kind_line() -> None:
    bad = write("typo.yaml", """\
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolcy
        metadata: {name: server-in, namespace: app}
        spec: {podSelector: {}, policyTypes: [Ingress]}
        """)
    _, doc = run_check("good.yaml", bad)
    assert only(doc, "unknown-kind")["line"] == line_of(bad, "kind: NetworkPolcy")


def test_a_missing_path_is_reported_and_the_other_paths_are_analysed() -> None:
    code, doc, stderr = run_map("good.yaml", "missing.yaml")
    assert code == 2
    diag = only(doc, "no-such-path")
    assert (diag["severity"], diag["file"], diag["line"]) == ("error", "missing.yaml", 0)
    assert "missing.yaml: error: no-such-path: no such file or folder" in stderr
    assert_good_file_analysed(doc)
    assert verdict("good.yaml", "missing.yaml", src="app/client", dst="app/other", port="8080") == (2, "allow")


def test_an_unreadable_file_is_reported_and_the_other_files_are_analysed() -> None:
    Path("binary.yaml").write_bytes(b"\xff\xfe\x00k\x00i\x00n\x00d\x00")
    code, doc, _ = run_map("good.yaml", "binary.yaml")
    assert code == 2
    diag = only(doc, "unreadable")
    assert (diag["severity"], diag["file"], diag["line"]) == ("error", "binary.yaml", 0)
    assert "cannot read" in diag["message"]
    assert_good_file_analysed(doc)


def test_an_empty_file_is_reported() -> None:
    write("empty.yaml", "")
    code, doc, _ = run_map("good.yaml", "empty.yaml")
    assert_good_file_analysed(doc)
    assert [d["file"] for d in doc["diagnostics"]] == ["empty.yaml"]
    assert doc["diagnostics"][0]["line"] in (0, 1)
    assert code != 0


def test_documents_that_are_not_mappings_are_reported_at_their_lines_and_the_rest_is_read() -> None:
    bad = write("scalars.yaml", """\
        # first a bare list, then a bare string, then a real object
        ---
        - a
        - b
        ---
        just a string
        ---
        apiVersion: v1
        kind: Namespace
        metadata: {name: later}
        """)
    code, doc = run_check("good.yaml", bad)
    assert code == 2
    diags = [(d["code"], d["file"], d["line"]) for d in doc["diagnostics"]]
    assert diags == [("not-an-object", bad, line_of(bad, "- a")),
                     ("not-an-object", bad, line_of(bad, "just a string"))]
    assert {"name": "later", "defined": True} in doc["inventory"]["namespaces"]
    assert doc["inventory"]["workloads"] == 3


# ---------------------------------------------------------------------------- NetworkPolicy fields


def test_a_port_of_the_wrong_type_is_located_and_its_rule_allows_nothing() -> None:
    """Issue 12 (NP-29): the API server rejects the policy; read strictly, the malformed allow
    rule allows nothing (before, only that port was lost and port 443 stayed allowed)."""
    bad = write("bad.yaml", server_policy(from_client("""\
          - port: [1]
          - port: 443
        """)))
    code, doc, _ = run_map("good.yaml", bad)
    assert code == 2
    diag = only(doc, "invalid-type")
    assert (diag["severity"], diag["file"], diag["line"]) == ("error", bad, line_of(bad, "port: [1]"))
    assert diag["message"].startswith("json: cannot unmarshal array into Go struct field "
                                      "NetworkPolicyPort.spec.ingress.ports.port of type intstr.IntOrString")
    assert diag["leans"] == ALLOW_MORE
    assert ports(doc, "app/client", "app/server") is None
    assert_good_file_analysed(doc)


def test_an_unknown_protocol_is_located_and_matches_no_port() -> None:
    bad = write("bad.yaml", server_policy(from_client("""\
          - protocol: ICMP
            port: 80
          - port: 443
        """)))
    code, doc, _ = run_map("good.yaml", bad)
    assert code == 2
    diag = only(doc, "unknown-protocol")
    assert (diag["file"], diag["line"]) == (bad, line_of(bad, "protocol: ICMP"))
    assert "'ICMP' is not TCP, UDP or SCTP" in diag["message"]
    assert diag["leans"] == ALLOW_MORE
    assert ports(doc, "app/client", "app/server") == {"TCP": [[443, 443]]}
    assert_good_file_analysed(doc)


def test_an_end_port_below_its_port_is_located_at_end_port() -> None:
    bad = write("bad.yaml", server_policy(from_client("""\
          - port: 8080
            endPort: 8000
          - port: 443
        """)))
    code, doc, _ = run_map("good.yaml", bad)
    assert code == 2
    diag = only(doc, "invalid-port")
    assert (diag["file"], diag["line"]) == (bad, line_of(bad, "endPort: 8000"))
    assert "endPort 8000 is below port 8080" in diag["message"]
    assert diag["leans"] == ALLOW_MORE
    assert ports(doc, "app/client", "app/server") == {"TCP": [[443, 443]]}
    assert_good_file_analysed(doc)


def test_an_end_port_with_a_named_port_is_located_at_end_port() -> None:
    bad = write("bad.yaml", server_policy(from_client("""\
          - port: http
            endPort: 90
          - port: 443
        """)))
    code, doc, _ = run_map("good.yaml", bad)
    assert code == 2
    diag = only(doc, "invalid-port")
    assert (diag["file"], diag["line"]) == (bad, line_of(bad, "endPort: 90"))
    assert "endPort cannot be used with the named port 'http'" in diag["message"]
    assert diag["leans"] == ALLOW_MORE
    assert ports(doc, "app/client", "app/server") == {"TCP": [[443, 443]]}  # not port 80 ("http")
    assert_good_file_analysed(doc)


def test_an_invalid_cidr_is_located_and_its_peer_matches_nothing() -> None:
    bad = write("bad.yaml", server_policy("""\
        - from:
          - podSelector: {matchLabels: {app: client}}
          - ipBlock:
              cidr: 10.0.0.0/33
        """))
    code, doc, _ = run_map("good.yaml", bad)
    assert code == 2
    diag = only(doc, "invalid-cidr")
    assert (diag["file"], diag["line"]) == (bad, line_of(bad, "cidr: 10.0.0.0/33"))
    assert "'10.0.0.0/33' is not a valid CIDR" in diag["message"]
    assert diag["leans"] == ALLOW_MORE
    assert into(doc, "app/server") == ["app/client"]  # the selector peer of the same rule still works
    assert_good_file_analysed(doc)


def test_an_except_outside_its_cidr_is_located_at_the_except_entry() -> None:
    bad = write("bad.yaml", server_policy("""\
        - from:
          - podSelector: {matchLabels: {app: client}}
          - ipBlock:
              cidr: 10.0.0.0/8
              except:
              - 10.1.0.0/16
              - 192.168.0.0/16
        """))
    code, doc, _ = run_map("good.yaml", bad)
    assert code == 2
    diag = only(doc, "except-outside-cidr")
    assert (diag["file"], diag["line"]) == (bad, line_of(bad, "- 192.168.0.0/16"))
    assert "except[1] 192.168.0.0/16 is not inside 10.0.0.0/8" in diag["message"]
    assert diag["leans"] == ALLOW_MORE
    assert into(doc, "app/server") == ["app/client"]
    assert_good_file_analysed(doc)


def test_a_selector_with_an_unknown_operator_is_located_at_the_operator_and_its_allow_rule_allows_nothing() -> None:
    # Issue 11 item 2 (NP-27, NP-28): the API server rejects the NetworkPolicy. Issue 12 (NP-29): in an
    # allow rule, read strictly, the refused selector makes that rule allow nothing; the policy isolates.
    bad = write("bad.yaml", server_policy("""\
        - from:
          - podSelector:
              matchExpressions:
              - key: app
                operator: Equals
                values: [client]
        """))
    code, doc, _ = run_map("good.yaml", bad)
    assert code == 2
    diag = only(doc, "invalid-selector")
    assert (diag["file"], diag["line"]) == (bad, line_of(bad, "operator: Equals"))
    assert "operator: 'Equals' is not one of In, NotIn, Exists, DoesNotExist" in diag["message"]
    assert "the API server refuses the NetworkPolicy (NP-28), and kubeward reads spec.ingress[0] as allowing " \
           "nothing" in diag["message"]
    assert diag["leans"] == ALLOW_MORE  # the cluster, without the policy, allows more
    assert into(doc, "app/server") == []  # isolated, and the rule allows nothing
    assert_good_file_analysed(doc)


def test_diagnostics_on_stderr_give_file_line_code_resource_and_leans() -> None:
    bad = write("bad.yaml", server_policy(from_client("""\
          - port: 8080
            endPort: 8000
        """)))
    result = kubeward("map", "--expand", "good.yaml", bad)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{bad}:{line_of(bad, 'endPort: 8000')}: error: invalid-port: spec.ingress[0].ports[0].endPort 8000 "
        "is below port 8080 [NetworkPolicy app/server-in] (may allow more than shown)"
    ]
    check = kubeward("check", "good.yaml", bad, "--format", "json")
    [diag] = json.loads(check.stdout)["diagnostics"]
    assert (diag["resource"], diag["leans"]) == ("NetworkPolicy app/server-in", ALLOW_MORE)


# A rule whose only peer (or only port) is broken: (id, the rule, a marker on the bad line, code).
BROKEN_ONLY_PART = [
    ("an ipBlock with an invalid cidr", """\
        - from:
          - ipBlock: {cidr: 10.0.0.0/33}
        """, "10.0.0.0/33", "invalid-cidr"),
    ("an ipBlock of everything with an invalid except", """\
        - from:
          - ipBlock:
              cidr: 0.0.0.0/0
              except: [not-a-cidr]
        """, "not-a-cidr", "invalid-cidr"),
    ("an ipBlock with an except outside its cidr", """\
        - from:
          - ipBlock:
              cidr: 10.0.0.0/8
              except: [0.0.0.0/0]
        """, "except: [0.0.0.0/0]", "except-outside-cidr"),
    ("an ipBlock whose cidr is missing", """\
        - from:
          - ipBlock: {except: [10.0.0.0/8]}
        """, "ipBlock: {except", "invalid-cidr"),
    ("an ipBlock combined with a selector", """\
        - from:
          - {ipBlock: {cidr: 0.0.0.0/0}, namespaceSelector: {}}
        """, "ipBlock: {cidr: 0.0.0.0/0}", "invalid-peer"),
    ("an empty peer", """\
        - from:
          - {}
        """, "- {}", "invalid-peer"),
    ("a peer that is not a mapping", """\
        - from:
          - app=client
        """, "app=client", "invalid-type"),
    ("a from that is not a list", """\
        - from: {podSelector: {}}
        """, "from: {podSelector", "invalid-type"),
    ("a ports list whose only entry is broken", """\
        - ports:
          - port: [80]
        """, "port: [80]", "invalid-type"),
]


# The cases the upstream schema finds (the others only kubeward's own checks).
SCHEMA_FINDS = {"ipBlock: {except", "app=client", "from: {podSelector", "port: [80]"}


@pytest.mark.parametrize(("rule", "marker", "code"), [case[1:] for case in BROKEN_ONLY_PART],
                         ids=[case[0] for case in BROKEN_ONLY_PART])
def test_a_broken_part_of_an_allow_rule_never_widens_what_the_policy_allows(rule: str, marker: str,
                                                                            code: str) -> None:
    bad = write("bad.yaml", server_policy(rule))
    exit_code, doc, _ = run_map("good.yaml", bad)
    assert exit_code == 2
    diag = only(doc, code)
    assert (diag["severity"], diag["file"], diag["line"]) == ("error", bad, line_of(bad, marker))
    # What the schema finds is read strictly (issue 12, NP-29): the error is in the API server's
    # words, and the cluster, which rejects the policy, may allow more than the rule that allows nothing.
    strict = diag["message"].endswith("as allowing nothing (a malformed allow rule never allows more)")
    assert strict is (marker in SCHEMA_FINDS)
    assert diag["leans"] == ALLOW_MORE
    assert into(doc, "app/server") == []  # neither pods nor any network: the rule allows nothing
    assert verdict("good.yaml", bad, src="world", dst="app/server") == (2, "deny")
    assert_good_file_analysed(doc)


# ---------------------------------------------------------------------------- AdminNetworkPolicy


def _anp(name: str, priority: int, action: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: policy.networking.k8s.io/v1alpha1
        kind: AdminNetworkPolicy
        metadata:
          name: {name}
        spec:
          priority: {priority}
          subject:
            pods:
              namespaceSelector: {{}}
              podSelector: {{matchLabels: {{app: server}}}}
          ingress:
          - name: {action.lower()}-client
            action: {action}
            from:
            - pods:
                namespaceSelector: {{}}
                podSelector: {{matchLabels: {{app: client}}}}
        """)


def test_two_admin_policies_with_one_priority_over_the_same_pods_are_ambiguous() -> None:
    bad = write("anp.yaml", _anp("deny-client", 10, "Deny") + "---\n" + _anp("allow-client", 10, "Allow"))
    code, doc, _ = run_map("good.yaml", bad)
    assert code == 2
    diag = only(doc, "ambiguous-priority")
    # Reported at the priority of the policy it names first (allow-client: the second document).
    assert (diag["severity"], diag["file"], diag["line"]) == ("error", bad, line_of(bad, "---") + 6)
    assert "AdminNetworkPolicy allow-client and AdminNetworkPolicy deny-client (anp.yaml:1)" in diag["message"]
    assert "share priority 10 in the admin tier and select the same pods" in diag["message"]
    assert "undefined" in diag["message"]
    assert diag["leans"] == EITHER
    assert_good_file_analysed(doc)
    # A verdict is still given (kubeward evaluates equal priorities by name), with exit code 2.
    assert verdict("good.yaml", bad, src="app/client", dst="app/server") == (2, "allow")


def test_admin_policies_with_different_priorities_are_not_ambiguous() -> None:
    good_anp = write("anp.yaml", _anp("deny-client", 5, "Deny") + "---\n" + _anp("allow-client", 10, "Allow"))
    code, doc, _ = run_map("good.yaml", good_anp)
    assert code == 0
    assert [d for d in doc["diagnostics"] if d["severity"] != "info"] == []
    assert ports(doc, "app/client", "app/server") is None  # priority 5 Deny comes first
    assert_good_file_analysed(doc)


def test_an_invalid_network_in_an_admin_deny_rule_fails_closed_and_an_empty_one_is_rejected() -> None:
    """ANP-9: an unusable peer of a Deny rule matches everything; it must not let traffic through.
    An empty ``networks`` list is no peer the CRD accepts (minItems 1): read strictly, the policy is
    rejected, and the trace says so (issue 12, ANP-16)."""
    anp = textwrap.dedent("""\
        apiVersion: policy.networking.k8s.io/v1alpha1
        kind: AdminNetworkPolicy
        metadata: {name: deny-egress}
        spec:
          priority: 10
          subject: {namespaces: {}}
          egress:
          - name: deny-internet
            action: Deny
            to:
            - networks: [%s]
        """)
    write("empty-networks.yaml", anp % "")
    empty = kubeward("explain", "good.yaml", "empty-networks.yaml", "--from", "app/client", "--to", "8.8.8.8",
                     "--port", "443", "--format", "json")
    assert (empty.exit_code, json.loads(empty.stdout)["verdict"]) == (2, "allow")
    assert "policy-rejected" in [step["reason"] for step in json.loads(empty.stdout)["trace"]]
    bad = write("bad-network.yaml", anp % "300.0.0.0/8")
    code, doc, _ = run_map("good.yaml", bad)
    assert code == 2
    diag = only(doc, "invalid-cidr")
    assert (diag["file"], diag["line"], diag["leans"]) == (bad, line_of(bad, "300.0.0.0/8"), EITHER)
    assert verdict("good.yaml", bad, src="app/client", dst="8.8.8.8", port="443") == (2, "deny")
