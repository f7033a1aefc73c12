"""Strict reading (issue 12): every object checked against the upstream schema of its kind.

Each repro of issue 12's "Fail-open" and "fail-closed misreadings" lists is a schema problem here,
with the path and line the API server would name and its words. Unknown fields are reported as
kubectl's strict field validation rejects them (other clients prune them: not ``fatal``); every
other problem is rejected by the API server whichever client sends the object (``fatal``).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from kubeward.diagnostics import Diagnostics
from kubeward.dialects import schema as schema_module
from kubeward.dialects.schema import (
    KUBERNETES_VERSION,
    Problem,
    SchemaProblem,
    check_object,
    has_schema,
    schema_source,
)
from kubeward.loader import LList, LMap, RawObject, load_text

ROOT = Path(__file__).resolve().parent.parent
REJECTS = "kubectl's strict field validation rejects the object (other clients prune the field)"

Found = tuple[str, int, Problem, str, bool]


def objects_in(text: str, file: str = "repro.yaml") -> list[RawObject]:
    return load_text(textwrap.dedent(text), file, Diagnostics())


def problems(text: str) -> list[Found]:
    """The problems of the one object in ``text`` as (path, line, problem, message, fatal)."""
    (raw,) = objects_in(text)
    return [(p.path, p.line, p.problem, p.message, p.fatal) for p in check_object(raw)]


def unknown(path: str, line: int, meant: str) -> Found:
    return (path, line, Problem.UNKNOWN_FIELD, f'unknown field "{path}": {REJECTS}; did you mean "{meant}"?', False)


def wrong_type(path: str, line: int, got: str, expected: str) -> Found:
    message = f'{path}: Invalid value: "{got}": {path} in body must be of type {expected}: "{got}"'
    return (path, line, Problem.WRONG_TYPE, message, True)


# ------------------------------------------------------------------ issue 12: fail-open repros


def test_item_fail_open_networkpolicy_ipblock_exept_is_an_unknown_field() -> None:
    assert problems("""\
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: web, namespace: app}
        spec:
          podSelector: {}
          ingress:
          - from:
            - ipBlock:
                cidr: 10.0.0.0/8
                exept: [10.1.0.0/16]
        """) == [unknown("spec.ingress[0].from[0].ipBlock.exept", 10, "except")]


def test_item_fail_open_cilium_ingresdeny_is_an_unknown_field_and_leaves_no_rule_section() -> None:
    # Pruned, the policy has no rule section left, which the CRD's anyOf rejects: fatal either way.
    assert problems("""\
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: deny, namespace: app}
        spec:
          endpointSelector: {matchLabels: {app: db}}
          ingresDeny:
          - fromEndpoints: [{matchLabels: {app: web}}]
        """) == [
        ("spec", 4, Problem.ALTERNATIVES, 'spec: Invalid value: "object": "spec" must validate at least one schema '
         "(anyOf) (at least one of ingress, ingressDeny, egress, egressDeny)", True),
        unknown("spec.ingresDeny", 6, "ingressDeny"),
    ]


def test_item_fail_open_cilium_deny_rule_with_fromendpoint_is_an_unknown_field() -> None:
    assert problems("""\
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: deny, namespace: app}
        spec:
          endpointSelector: {matchLabels: {app: db}}
          ingressDeny:
          - fromEndpoint: [{matchLabels: {app: web}}]
        """) == [unknown("spec.ingressDeny[0].fromEndpoint", 7, "fromEndpoints")]


def test_item_fail_open_cilium_allow_rule_with_toport_is_an_unknown_field() -> None:
    assert problems("""\
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: allow, namespace: app}
        spec:
          endpointSelector: {matchLabels: {app: db}}
          ingress:
          - fromEndpoints: [{matchLabels: {app: web}}]
            toPort:
            - ports: [{port: "5432", protocol: TCP}]
        """) == [unknown("spec.ingress[0].toPort", 8, "toPorts")]


def test_item_fail_open_cilium_toports_as_a_string_is_the_wrong_type() -> None:
    assert problems("""\
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: allow, namespace: app}
        spec:
          endpointSelector: {matchLabels: {app: db}}
          ingress:
          - fromEndpoints: [{matchLabels: {app: web}}]
            toPorts: "9999"
        """) == [wrong_type("spec.ingress[0].toPorts", 8, "string", "array")]


def test_item_fail_open_cilium_http_header_as_a_map_is_the_wrong_type() -> None:
    assert problems("""\
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: l7, namespace: app}
        spec:
          endpointSelector: {matchLabels: {app: api}}
          ingress:
          - toPorts:
            - ports: [{port: "80", protocol: TCP}]
              rules:
                http:
                - method: GET
                  headers: [{X-My-Header: "true"}]
        """) == [wrong_type("spec.ingress[0].toPorts[0].rules.http[0].headers[0]", 12, "object", "string")]


def test_item_fail_open_istio_deny_with_rule_for_rules_is_an_unknown_field() -> None:
    assert problems("""\
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: deny, namespace: app}
        spec:
          action: DENY
          rule:
          - from: [{source: {namespaces: [other]}}]
        """) == [unknown("spec.rule", 6, "rules")]


def test_item_fail_open_istio_deny_with_rules_true_is_the_wrong_type() -> None:
    assert problems("""\
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: deny, namespace: app}
        spec:
          action: DENY
          rules: true
        """) == [wrong_type("spec.rules", 6, "boolean", "array")]


def test_item_fail_open_calico_destination_as_a_selector_string_is_the_wrong_type() -> None:
    assert problems("""\
        apiVersion: projectcalico.org/v3
        kind: NetworkPolicy
        metadata: {name: web, namespace: app}
        spec:
          selector: app == 'db'
          ingress:
          - action: Allow
            destination: "app == 'web'"
        """) == [wrong_type("spec.ingress[0].destination", 8, "string", "object")]


# ------------------------------------------------------ issue 12: fail-closed misreadings


def test_item_misreading_calico_sorce_and_selectr_are_unknown_fields() -> None:
    assert problems("""\
        apiVersion: crd.projectcalico.org/v1
        kind: GlobalNetworkPolicy
        metadata: {name: db}
        spec:
          selectr: app == 'db'
          ingress:
          - action: Allow
            sorce: {selector: app == 'web'}
        """) == [unknown("spec.selectr", 5, "selector"), unknown("spec.ingress[0].sorce", 8, "source")]


def test_item_misreading_anp_podselectr_is_an_unknown_field_and_podselector_is_missing() -> None:
    assert problems("""\
        apiVersion: policy.networking.k8s.io/v1alpha1
        kind: AdminNetworkPolicy
        metadata: {name: db}
        spec:
          priority: 10
          subject:
            pods:
              namespaceSelector: {}
              podSelectr: {matchLabels: {app: db}}
          ingress:
          - action: Deny
            from: [{namespaces: {}}]
        """) == [
        ("spec.subject.pods.podSelector", 7, Problem.REQUIRED, "spec.subject.pods.podSelector: Required value", True),
        unknown("spec.subject.pods.podSelectr", 9, "podSelector"),
    ]


def test_item_misreading_istio_principal_sources_and_form_are_unknown_fields() -> None:
    assert problems("""\
        apiVersion: security.istio.io/v1beta1
        kind: AuthorizationPolicy
        metadata: {name: allow, namespace: app}
        spec:
          action: ALLOW
          rules:
          - from:
            - source: {principal: ["cluster.local/ns/app/sa/web"]}
            - sources: {namespaces: [app]}
            form: []
        """) == [
        unknown("spec.rules[0].from[0].source.principal", 8, "principals"),
        unknown("spec.rules[0].from[1].sources", 9, "source"),
        unknown("spec.rules[0].form", 10, "from"),
    ]


def test_item_misreading_istio_action_deny_in_lower_case_is_not_a_supported_value() -> None:
    assert problems("""\
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: deny, namespace: app}
        spec:
          action: deny
          rules: [{from: [{source: {namespaces: [other]}}]}]
        """) == [("spec.action", 5, Problem.ENUM,
                  'spec.action: Unsupported value: "deny": supported values: "ALLOW", "DENY", "AUDIT", "CUSTOM"', True)]


def test_item_misreading_peerauthentication_mtls_in_another_case_is_an_unknown_field() -> None:
    assert problems("""\
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata: {name: default, namespace: app}
        spec:
          Mtls: {mode: STRICT}
        """) == [unknown("spec.Mtls", 5, "mtls")]


def test_item_misreading_ingress_rules_hosts_is_an_unknown_field() -> None:
    assert problems("""\
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: web, namespace: app}
        spec:
          rules:
          - hosts: shop.example.com
            http:
              paths:
              - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
        """) == [unknown("spec.rules[0].hosts", 6, "host")]


def test_item_misreading_metadata_namespace_as_a_number_is_rejected_as_go_decoding_words_it() -> None:
    assert problems("""\
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: web
          namespace: 5
        spec: {podSelector: {}}
        """) == [("metadata.namespace", 5, Problem.WRONG_TYPE, "json: cannot unmarshal number into Go struct field "
                  "ObjectMeta.metadata.namespace of type string", True)]


def test_metadata_namespace_as_a_number_in_a_custom_resource_is_rejected_too() -> None:
    found = problems("""\
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: c, namespace: 5}
        spec: {endpointSelector: {}, ingress: [{}]}
        """)
    assert [(path, line, problem, fatal) for path, line, problem, _, fatal in found] == [
        ("metadata.namespace", 3, Problem.WRONG_TYPE, True)]


# ------------------------------------------------------------------ built-in kinds


def test_builtin_wrong_types_name_the_go_struct_field_and_type() -> None:
    assert problems("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: app, labels: {tier: 5}}
        spec:
          replicas: "3"
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
              - name: c
                image: x
                ports: [{containerPort: 80, protocl: TCP}]
        """) == [
        ("metadata.labels[tier]", 3, Problem.WRONG_TYPE,
         "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string", True),
        ("spec.replicas", 5, Problem.WRONG_TYPE,
         "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32", True),
        unknown("spec.template.spec.containers[0].ports[0].protocl", 13, "protocol"),
    ]


def test_builtin_required_field_missing_is_named_at_the_line_of_its_parent() -> None:
    assert problems("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: app}
        spec:
          template:
            spec: {containers: [{name: c, image: x}]}
        """) == [("spec.selector", 4, Problem.REQUIRED, "spec.selector: Required value", True)]


def test_builtin_int_or_string_port_takes_a_number_or_a_name_but_not_a_boolean() -> None:
    assert problems("""\
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: web, namespace: app}
        spec:
          podSelector: {}
          ingress:
          - ports: [{port: 80}, {port: http}, {port: true}]
        """) == [("spec.ingress[0].ports[2].port", 7, Problem.WRONG_TYPE, "json: cannot unmarshal bool into Go struct "
                  "field NetworkPolicyPort.spec.ingress.ports.port of type intstr.IntOrString", True)]


# ------------------------------------------------------------------ CRD structural schemas


def test_crd_null_fields_are_pruned_not_rejected_and_preserved_fields_are_not_checked() -> None:
    assert problems("""\
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: {name: allow, namespace: app}
        spec:
          action: null
          selector: null
          rules: [{from: [{source: {namespaces: [app]}}]}]
        status: {anything: {goes: [1, two]}}
        """) == []


def test_crd_null_required_field_is_missing_and_null_list_item_is_the_wrong_type() -> None:
    assert problems("""\
        apiVersion: projectcalico.org/v3
        kind: GlobalNetworkPolicy
        metadata: {name: db}
        spec:
          selector: app == 'db'
          ingress:
          - action: null
          - null
        """) == [("spec.ingress[0].action", 7, Problem.REQUIRED, "spec.ingress[0].action: Required value", True),
                 wrong_type("spec.ingress[1]", 8, "null", "object")]


def test_crd_int_or_string_takes_a_number_or_a_string_but_not_a_boolean() -> None:
    assert problems("""\
        apiVersion: crd.projectcalico.org/v1
        kind: NetworkPolicy
        metadata: {name: web, namespace: app}
        spec:
          selector: app == 'web'
          ingress:
          - action: Allow
            protocol: TCP
            destination: {ports: [80, http, "8000:9000", true]}
        """) == [wrong_type("spec.ingress[0].destination.ports[3]", 9, "boolean", "integer,string")]


def test_crd_metadata_is_object_meta_with_its_own_unknown_fields() -> None:
    assert problems("""\
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata:
          name: c
          namespace: app
          labelz: {app: web}
        spec: {endpointSelector: {}, ingress: [{}]}
        """) == [unknown("metadata.labelz", 6, "labels")]


def test_crd_patterns_end_at_the_end_of_the_text_as_in_go() -> None:
    # Python's "$" would match before a final newline; the API server's RE2 "$" does not.
    pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
    path = "spec.ingress[0].fromCIDRSet[0].cidrGroupRef"
    assert problems("""\
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: c, namespace: app}
        spec:
          endpointSelector: {}
          ingress:
          - fromCIDRSet: [{cidrGroupRef: "web\\n"}]
        """) == [(path, 7, Problem.PATTERN, f'{path}: Invalid value: "web\\n": {path} in body should match '
                  f"'{pattern}'", True)]


def test_crd_cidr_format_is_checked_as_go_parses_a_cidr() -> None:
    path = "spec.ingress[0].fromCIDR[0]"
    assert problems("""\
        apiVersion: cilium.io/v2
        kind: CiliumClusterwideNetworkPolicy
        metadata: {name: c}
        spec:
          endpointSelector: {}
          ingress:
          - fromCIDR: [10.0.0.0/33, 10.0.0.1/8, "2001:db8::/64"]
        """) == [(path, 7, Problem.FORMAT, f'{path}: Invalid value: "10.0.0.0/33": {path} in body must be of type '
                  'cidr: "10.0.0.0/33"', True)]


def test_crd_range_is_checked() -> None:
    path = "spec.rules[0].backendRefs[0].port"
    assert problems("""\
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: r, namespace: app}
        spec:
          parentRefs: [{name: gw}]
          rules:
          - backendRefs: [{name: web, port: 99999}]
        """) == [(path, 7, Problem.RANGE, f"{path}: Invalid value: 99999: {path} in body should be less than or "
                  "equal to 65535", True)]


def test_yaml_timestamps_are_strings_as_the_api_server_receives_them() -> None:
    assert problems("""\
        apiVersion: v1
        kind: Namespace
        metadata:
          name: app
          annotations: {reviewed: 2024-01-01, at: 2024-01-01T10:00:00Z}
        """) == []


# ------------------------------------------------------------------ scope and robustness


def test_kinds_without_a_schema_have_no_problems() -> None:
    (raw,) = objects_in("""\
        apiVersion: example.com/v1
        kind: Widget
        metadata: {name: w}
        spec: {anything: [1, 2]}
        """)
    assert not has_schema(raw.api_version, raw.kind)
    assert check_object(raw) == []


@pytest.mark.parametrize(("api_version", "kind"), [
    ("networking.k8s.io/v1", "NetworkPolicy"), ("v1", "Pod"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"), ("apps/v1", "ReplicaSet"), ("batch/v1", "Job"), ("batch/v1", "CronJob"),
    ("v1", "ReplicationController"), ("v1", "Service"), ("v1", "Namespace"), ("v1", "ServiceAccount"),
    ("v1", "Node"), ("networking.k8s.io/v1", "Ingress"), ("networking.k8s.io/v1", "IngressClass"),
    ("v1", "Secret"), ("v1", "List"),
    ("cilium.io/v2", "CiliumNetworkPolicy"), ("cilium.io/v2", "CiliumClusterwideNetworkPolicy"),
    *[(f"{group}/{version}", kind) for group, version in (("projectcalico.org", "v3"), ("crd.projectcalico.org", "v1"))
      for kind in ("NetworkPolicy", "GlobalNetworkPolicy", "Tier", "NetworkSet", "GlobalNetworkSet", "HostEndpoint",
                   "StagedNetworkPolicy", "StagedGlobalNetworkPolicy", "StagedKubernetesNetworkPolicy")],
    *[(f"security.istio.io/{v}", k) for v in ("v1", "v1beta1") for k in ("AuthorizationPolicy", "PeerAuthentication")],
    *[(f"networking.istio.io/{v}", k) for v in ("v1", "v1beta1", "v1alpha3")
      for k in ("Gateway", "VirtualService", "ServiceEntry", "Sidecar", "DestinationRule")],
    *[(f"gateway.networking.k8s.io/{v}", k) for v in ("v1", "v1beta1")
      for k in ("GatewayClass", "Gateway", "HTTPRoute", "ReferenceGrant")],
    *[(f"gateway.networking.k8s.io/{v}", k) for v in ("v1", "v1alpha2") for k in ("TLSRoute", "TCPRoute", "UDPRoute")],
    ("gateway.networking.k8s.io/v1", "GRPCRoute"),
    ("policy.networking.k8s.io/v1alpha1", "AdminNetworkPolicy"),
    ("policy.networking.k8s.io/v1alpha1", "BaselineAdminNetworkPolicy"),
    ("policy.networking.k8s.io/v1alpha2", "ClusterNetworkPolicy"),
])
def test_every_modelled_kind_has_an_upstream_schema(api_version: str, kind: str) -> None:
    assert has_schema(api_version, kind)


def test_schema_sources_name_the_upstream_release() -> None:
    assert schema_source("cilium.io/v2", "CiliumNetworkPolicy") == "cilium/cilium v1.19.4 (cilium.json)"
    assert schema_source("v1", "Pod") == f"Kubernetes {KUBERNETES_VERSION} OpenAPI (kubernetes-validate)"
    assert schema_source("example.com/v1", "Widget") is None


def test_the_compiled_validator_of_a_busy_kind_finds_the_same_problems() -> None:
    template = """\
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {{name: p{0}, namespace: app}}
        spec:
          podSelector: {{}}
          ingress:
          - from: [{{ipBlock: {{cidr: 10.0.0.0/8, {1}: [10.1.0.0/16]}}}}]
        """
    valid = [objects_in(template.format(i, "except"))[0] for i in range(60)]
    (typo,) = objects_in(template.format("x", "exept"))
    assert [check_object(raw) for raw in valid] == [[]] * 60
    validators = schema_module._validators("networking.k8s.io/v1", "NetworkPolicy")
    assert validators is not None and validators.fast is not None
    assert check_object(typo) == [SchemaProblem(
        "spec.ingress[0].from[0].ipBlock.exept", 7, Problem.UNKNOWN_FIELD,
        f'unknown field "spec.ingress[0].from[0].ipBlock.exept": {REJECTS}; did you mean "except"?', False, "except")]


def test_nesting_too_deep_to_check_is_a_fatal_problem_not_a_crash() -> None:
    deep: LList = LList(5)
    inner = deep
    for _ in range(5000):
        nested = LList(5)
        inner.append(nested)
        inner = nested
    data = LMap(1)
    data.update({"apiVersion": "v1", "kind": "Namespace", "metadata": LMap(3)})
    data["metadata"].update({"name": "app", "annotations": LMap(4)})
    data["metadata"]["annotations"]["a"] = deep
    (found,) = check_object(RawObject(data, "deep.yaml", 1))
    assert (found.problem, found.fatal, found.line) == (Problem.TOO_DEEP, True, 1)


# ------------------------------------------------------------------ the project's own inputs


def _inputs() -> list[tuple[str, str]]:
    """(name, YAML text) of every manifest under examples/ and of every case of the truth tables
    and entry tables (their ``objects``; fixture files as they are)."""
    found: list[tuple[str, str]] = []
    for path in sorted((ROOT / "examples").rglob("*.yaml")):
        found.append((str(path.relative_to(ROOT)), path.read_text()))
    tables = [*(ROOT / "tests" / "truthtables").rglob("*.yaml"), *(ROOT / "tests" / "entrytables").rglob("*.yaml")]
    for path in sorted(tables):
        text = path.read_text()
        cases = [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]
        if any("objects" in case for case in cases):
            found.extend((f"{path.relative_to(ROOT)}#{i}", case["objects"])
                         for i, case in enumerate(cases) if isinstance(case.get("objects"), str))
        else:
            found.append((str(path.relative_to(ROOT)), text))
    return found


# Cilium 1.19 removed fromRequires/toRequires (the CRD allows no item); this case describes the
# versions before 1.19, whose CRD accepted them.
KNOWN_REJECTED = {
    ("tests/truthtables/cilium/l3-from-requires.yaml#0", "specs[0].ingress[0].fromRequires"),
    ("tests/truthtables/cilium/l3-from-requires.yaml#0", "specs[0].ingress[0].fromRequires[0]"),
}


def test_examples_truth_tables_and_entry_tables_have_no_fatal_problem_but_the_known_ones() -> None:
    fatal: set[tuple[str, str]] = set()
    checked = 0
    for name, text in _inputs():
        for raw in objects_in(text, name):
            checked += has_schema(raw.api_version, raw.kind)
            fatal.update((name, p.path) for p in check_object(raw) if p.fatal)
    assert checked > 2000
    assert fatal == KNOWN_REJECTED
