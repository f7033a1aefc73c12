"""The typed cluster kubeward builds from manifests: namespaces, workloads and their pods."""

from __future__ import annotations

import textwrap

import pytest

from kubeward import analyse_text
from kubeward.model import Workload


def _workloads(text: str) -> dict[str, Workload]:
    analysis = analyse_text(textwrap.dedent(text), "cluster.yaml")
    return {w.id: w for w in analysis.cluster.workloads}


TEMPLATE = textwrap.dedent("""\
    template:
      metadata: {labels: {app: x, tier: t}}
      spec:
        serviceAccountName: sa-x
        hostNetwork: HOSTNET
        containers:
        - name: c
          ports:
          - {containerPort: 8080, name: http}
          - {containerPort: 53, name: dns, protocol: UDP}
""")
SELECTOR = "selector: {matchLabels: {app: x}}\n"  # apps/v1 controllers require one


@pytest.mark.parametrize(("kind", "api", "spec", "replicas"), [
    ("Deployment", "apps/v1", "replicas: 3\n" + SELECTOR + TEMPLATE, 3),
    ("ReplicaSet", "apps/v1", SELECTOR + TEMPLATE, 1),
    ("StatefulSet", "apps/v1", "replicas: 2\n" + SELECTOR + TEMPLATE, 2),
    ("DaemonSet", "apps/v1", SELECTOR + TEMPLATE, None),
    ("ReplicationController", "v1", "replicas: 4\n" + TEMPLATE, 4),
    ("Job", "batch/v1", "parallelism: 5\n" + TEMPLATE, 5),
    ("CronJob", "batch/v1", "schedule: '* * * * *'\njobTemplate:\n  spec:\n"
     + textwrap.indent(TEMPLATE, "    "), 1),
], ids=lambda v: v if isinstance(v, str) and " " not in v and "/" not in v else "")
def test_every_workload_kind_yields_its_pod_template(kind: str, api: str, spec: str, replicas: int | None) -> None:
    body = textwrap.indent(spec.replace("HOSTNET", "true"), "  ")
    [w] = _workloads(f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: x, namespace: 'n'}}\nspec:\n{body}").values()
    assert (w.kind, w.id, dict(w.labels), w.service_account, w.host_network, w.replicas) == (
        kind, "n/x", {"app": "x", "tier": "t"}, "sa-x", True, replicas)
    assert [(p.name, p.port, p.protocol) for p in w.ports] == [("http", 8080, "TCP"), ("dns", 53, "UDP")]


def test_pods_owned_by_a_replicaset_owned_by_a_deployment_collapse_into_the_deployment() -> None:
    workloads = _workloads("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: shop}
        spec:
          replicas: 2
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec: {containers: [{name: c}]}
        ---
        apiVersion: apps/v1
        kind: ReplicaSet
        metadata:
          name: web-7d4b9
          namespace: shop
          ownerReferences:
          - {apiVersion: apps/v1, kind: Deployment, name: web, uid: u-web, controller: true}
        spec:
          selector: {matchLabels: {app: web, pod-template-hash: 7d4b9}}
          template:
            metadata: {labels: {app: web, pod-template-hash: 7d4b9}}
            spec: {containers: [{name: c}]}
        ---
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: Pod
          metadata:
            name: web-7d4b9-a
            namespace: shop
            labels: {app: web, pod-template-hash: 7d4b9}
            ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-7d4b9, uid: u-rs, controller: true}]
          spec: {containers: [{name: c}]}
          status: {podIP: 10.0.0.5, podIPs: [{ip: 10.0.0.5}, {ip: "fd00::5"}]}
        - apiVersion: v1
          kind: Pod
          metadata:
            name: orphan-from-elsewhere
            namespace: shop
            labels: {app: batch}
            ownerReferences:
            - {apiVersion: apps/v1, kind: ReplicaSet, name: not-in-the-input, uid: u-x, controller: true}
          spec: {containers: [{name: c}]}
        """)
    # NP-32: a pod whose ReplicaSet is not in the input belongs to that ReplicaSet (without a
    # pod-template-hash label nothing says that a Deployment owns it).
    assert sorted(workloads) == ["shop/not-in-the-input", "shop/web"]
    web = workloads["shop/web"]
    assert (web.kind, web.replicas, dict(web.labels)) == ("Deployment", 2, {"app": "web"})
    assert web.pods == ("web-7d4b9-a",)
    assert web.pod_ips == (("10.0.0.5", "fd00::5"),)
    orphan = workloads["shop/not-in-the-input"]
    assert (orphan.kind, orphan.replicas, orphan.pods) == ("ReplicaSet", 1, ("orphan-from-elsewhere",))


def test_every_namespace_carries_its_immutable_name_label_and_undefined_ones_are_assumed() -> None:
    analysis = analyse_text(textwrap.dedent("""\
        apiVersion: v1
        kind: Namespace
        metadata: {name: shop, labels: {team: a}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: p, namespace: ghost}
        spec: {containers: [{name: c}]}
        """), "cluster.yaml")
    namespaces = analysis.cluster.namespaces
    assert dict(namespaces["shop"].labels) == {"team": "a", "kubernetes.io/metadata.name": "shop"}
    assert dict(namespaces["ghost"].labels) == {"kubernetes.io/metadata.name": "ghost"}
    assert namespaces["ghost"].origin is None
    [diag] = [d for d in analysis.diagnostics.items if d.code == "undefined-namespace"]
    assert (diag.file, diag.line) == ("cluster.yaml", 5)


def test_kinds_kubeward_does_not_model_are_reported_once_per_kind_with_their_count() -> None:
    analysis = analyse_text(textwrap.dedent("""\
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: {name: a, namespace: "n"}
        ---
        apiVersion: telemetry.istio.io/v1
        kind: Telemetry
        metadata: {name: b, namespace: "n"}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: c, namespace: "n"}
        """), "cluster.yaml")
    notes = sorted(str(d) for d in analysis.diagnostics.items if d.code == "not-modelled")
    assert notes == [
        "cluster.yaml:1: info: not-modelled: not modelled: Telemetry (telemetry.istio.io/v1), 2 objects",
        "cluster.yaml:9: info: not-modelled: not modelled: ConfigMap (v1), 1 object",
    ]


def test_pods_of_one_workload_share_one_identity_and_equal_workloads_share_it_too() -> None:
    analysis = analyse_text(textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: a, namespace: "n"}
        spec: {replicas: 5, selector: {matchLabels: {app: same}},
              template: {metadata: {labels: {app: same}}, spec: {containers: [{name: c}]}}}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: b, namespace: "n"}
        spec: {replicas: 3, selector: {matchLabels: {app: same}},
              template: {metadata: {labels: {app: same}}, spec: {containers: [{name: c}]}}}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: c, namespace: "n"}
        spec: {selector: {matchLabels: {app: other}},
              template: {metadata: {labels: {app: other}}, spec: {containers: [{name: c}]}}}
        """), "cluster.yaml")
    u = analysis.engine.universe
    assert len(u.identities) == 2
    assert u.identities_of["n/a"] == u.identities_of["n/b"] != u.identities_of["n/c"]
