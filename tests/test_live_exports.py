"""Issue 11, item 14: what an export of a live cluster proves is not reported as missing.

A pod whose status shows it running was admitted, so its ServiceAccount exists (SVC-6); the
namespaces the API server creates in every cluster exist whether the export lists them or not.
"""

from __future__ import annotations

import pytest

from kubeward import Analysis, analyse_text


def codes(a: Analysis, code: str) -> list[tuple[str, int]]:
    return [(d.message.split(" ")[1], d.line) for d in a.diagnostics.items if d.code == code]


def pod(status: str, name: str = "web-1", namespace: str = "app") -> str:
    return f"""\
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {namespace}, labels: {{app: web}}}}
spec: {{serviceAccountName: robot, containers: [{{name: c, image: nginx}}]}}
{status}"""


NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata: {name: app}\n---\n"


@pytest.mark.parametrize("status", [
    pytest.param("status: {phase: Running, podIP: 10.0.0.1}\n", id="phase-running"),
    pytest.param("status: {phase: Pending, containerStatuses: [{name: c, ready: false}]}\n", id="container-statuses"),
])
def test_item14_a_pod_whose_status_shows_it_runs_has_no_service_account_missing(status: str) -> None:
    a = analyse_text(NAMESPACE + pod(status), "live.yaml")
    assert codes(a, "service-account-missing") == []


def test_item14_a_pod_without_status_still_gets_service_account_missing() -> None:
    a = analyse_text(NAMESPACE + pod(""), "manifests.yaml")
    assert codes(a, "service-account-missing") == [("app/web-1", 5)]


def test_item14_a_deployment_with_ready_replicas_or_a_running_pod_has_no_service_account_missing() -> None:
    deployment = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {serviceAccountName: robot, containers: [{name: c, image: nginx}]}
"""
    assert codes(analyse_text(NAMESPACE + deployment, "d.yaml"), "service-account-missing") == [("app/web", 5)]
    ready = deployment + "status: {replicas: 2, readyReplicas: 2}\n"
    assert codes(analyse_text(NAMESPACE + ready, "d.yaml"), "service-account-missing") == []
    owner = "ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: u-web, controller: true}]"
    owned = pod("status: {phase: Running}\n").replace("labels: {app: web}}", f"labels: {{app: web}}, {owner}}}")
    both = analyse_text(NAMESPACE + deployment + "---\n" + owned, "d.yaml")
    assert [w.id for w in both.cluster.workloads] == ["app/web"]
    assert codes(both, "service-account-missing") == []


def test_item14_the_namespaces_every_cluster_has_are_not_undefined() -> None:
    objects = "---\n".join(pod("status: {phase: Running}\n", f"p-{ns}", ns)
                           for ns in ("default", "kube-system", "kube-public", "kube-node-lease", "ghost"))
    a = analyse_text(objects, "live.yaml")
    assert [d.message.split(" ")[1] for d in a.diagnostics.items if d.code == "undefined-namespace"] == ["ghost"]
    assert dict(a.cluster.namespaces["kube-system"].labels) == {"kubernetes.io/metadata.name": "kube-system"}
