"""Reading a live cluster (issue 13, "Live cluster input"), at the level of ``read_cluster``:
discovery, typed lists whose items carry no kind, pagination, Secrets as metadata only, groups
not served, kinds refused — against the protocol-level fake API server of ``fake_apiserver.py``
(the official client library talks to it over HTTPS; nothing of the library is mocked)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from fake_apiserver import METADATA_ONLY, FakeApiServer, objects_of, plural, serving
from kubeward import ClusterError, Leans, Severity, read_cluster
from kubeward.diagnostics import Diagnostics
from kubeward.live.convert import live_object
from kubeward.live.kinds import wanted_kinds
from kubeward.live.read import ISTIO_ROOT, MESH_CONFIGMAP
from kubeward.loader import LList, LMap, load_text


def netpol(name: str, namespace: str = "shop", port: int = 80) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"podSelector": {}, "ingress": [{"ports": [{"port": port}]}]}}


def read(server: FakeApiServer, tmp_path: Path, **kwargs: Any) -> Any:
    return read_cluster(kubeconfig=str(server.kubeconfig(tmp_path / "kubeconfig")), **kwargs)


def test_every_object_of_the_files_comes_back_with_its_kind_and_apiversion_from_the_list(tmp_path: Path) -> None:
    objects = objects_of("examples/shop")
    with serving(objects) as server:
        snapshot = read(server, tmp_path)
    assert sorted((o.api_version, o.kind, o.namespace, o.name) for o in snapshot.objects) == sorted(
        (o["apiVersion"], o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in objects)
    web = next(o for o in snapshot.objects if o.kind == "Deployment" and o.name == "web")
    assert (web.file, web.line, web.live) == ("cluster:fake/Deployment/shop/web", 1, True)
    assert "managedFields" not in web.metadata  # hidden, as kubectl hides it
    calico = next(o for o in snapshot.objects if o.group == "projectcalico.org")
    assert calico.file == "cluster:fake/NetworkPolicy.projectcalico.org/shop/app-db"  # not Kubernetes' NetworkPolicy
    assert (snapshot.context, snapshot.namespace, snapshot.label) == ("fake", "default", "cluster:fake")


def test_lists_are_read_page_by_page_with_continue_tokens_and_limit_500(tmp_path: Path) -> None:
    with serving([netpol(f"p{i}") for i in range(7)], page_size=3) as server:
        snapshot = read(server, tmp_path)
        pages = server.lists_of("networkpolicies")
    assert sorted(o.name for o in snapshot.objects) == [f"p{i}" for i in range(7)]
    assert [r.query["limit"] for r in pages] == [["500"]] * 3
    assert ["continue" in r.query for r in pages] == [False, True, True]


def test_an_expired_continue_token_restarts_the_list_once_without_duplicates(tmp_path: Path) -> None:
    with serving([netpol(f"p{i}") for i in range(7)], page_size=3, expire={"networkpolicies"}) as server:
        snapshot = read(server, tmp_path)
        pages = server.lists_of("networkpolicies")
    assert sorted(o.name for o in snapshot.objects) == [f"p{i}" for i in range(7)]
    assert ["continue" in r.query for r in pages] == [False, True, False, True, True]


def test_the_page_size_is_the_limit_asked(tmp_path: Path) -> None:
    with serving([netpol(f"p{i}") for i in range(5)], page_size=100) as server:
        read(server, tmp_path, page_size=2)
        pages = server.lists_of("networkpolicies")
    assert [r.query["limit"] for r in pages] == [["2"]] * 3


SECRET = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
          "metadata": {"name": "shop-tls", "namespace": "shop"},
          "data": {"tls.key": base64.b64encode(b"-----PRIVATE KEY do-not-leak-7f3e").decode()}}


def test_secrets_are_asked_for_as_metadata_only_and_nothing_else_is_kept(tmp_path: Path) -> None:
    with serving([SECRET]) as server:
        snapshot = read(server, tmp_path)
        (request,) = server.lists_of("secrets")
    assert request.headers["accept"] == "application/json;" + METADATA_ONLY
    (secret,) = [o for o in snapshot.objects if o.kind == "Secret"]
    assert (secret.api_version, secret.name, secret.namespace, sorted(secret.data)) == (
        "v1", "shop-tls", "shop", ["apiVersion", "kind", "metadata"])
    assert "do-not-leak" not in json.dumps([o.data for o in snapshot.objects])


def test_a_group_that_is_not_served_is_one_note(tmp_path: Path) -> None:
    with serving([netpol("a")]) as server:
        snapshot = read(server, tmp_path)
    notes = sorted(d.message for d in snapshot.diagnostics if d.code == "cluster-api-not-served")
    assert notes == [
        "no AdminNetworkPolicies or ClusterNetworkPolicies: the policy.networking.k8s.io API is not served",
        "no Calico resources: neither the projectcalico.org nor the crd.projectcalico.org API is served",
        "no Cilium policies: the cilium.io API is not served",
        "no Gateway API objects: the gateway.networking.k8s.io API is not served",
        "no Istio policies: the security.istio.io API is not served",
        "no Istio traffic objects (ServiceEntries, Sidecars, Gateways, VirtualServices): the networking.istio.io API "
        "is not served",
        "no OpenShift Routes: the route.openshift.io API is not served",
    ]
    assert {d.severity for d in snapshot.diagnostics if d.code == "cluster-api-not-served"} == {Severity.INFO}
    assert {d.file for d in snapshot.diagnostics} == {"cluster:fake"}


def test_a_kind_the_server_refuses_to_list_is_a_warning_naming_it_and_what_it_means(tmp_path: Path) -> None:
    with serving([netpol("a"), *objects_of("examples/shop/base/workloads.yaml")],
                 forbidden={"networkpolicies"}) as server:
        snapshot = read(server, tmp_path)
    (warning,) = [d for d in snapshot.diagnostics if d.severity is Severity.WARNING]
    assert warning.code == "cluster-forbidden"
    assert warning.leans is Leans.EITHER
    assert warning.message.startswith("NetworkPolicy (networking.k8s.io/v1, networkpolicies) not read: the API "
                                      "server refused to list them (403 Forbidden: networkpolicies.networking.k8s.io "
                                      "is forbidden: ")
    assert warning.message.endswith("grant list on networkpolicies.networking.k8s.io (docs/cli.md); the policies of "
                                    "this kind are not in the answer: what they allow, isolate or deny is not shown")
    assert {o.kind for o in snapshot.objects} == {"Deployment", "Service"}
    assert all(type(o.kind) is str for o in snapshot.objects)


def test_a_refused_kind_that_opens_traffic_leans_towards_allowing_more(tmp_path: Path) -> None:
    route = {"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute", "metadata": {"name": "r", "namespace": "a"},
             "spec": {}}
    with serving([route], forbidden={"ingressroutes"}) as server:
        snapshot = read(server, tmp_path)
    (warning,) = [d for d in snapshot.diagnostics if d.code == "cluster-forbidden"]
    assert warning.leans is Leans.MAY_ALLOW_MORE
    assert "IngressRoute (traefik.io/v1alpha1, ingressroutes) not read" in warning.message


def test_calico_is_read_from_its_api_server_and_not_again_from_its_storage(tmp_path: Path) -> None:
    policy = {"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy", "metadata": {"name": "g"},
              "spec": {"selector": "all()"}}
    stored = {**policy, "apiVersion": "crd.projectcalico.org/v1", "metadata": {"name": "default.g"}}
    with serving([policy, stored]) as server:
        snapshot = read(server, tmp_path)
        paths = [r.path for r in server.requests]
    assert [(o.api_version, o.name) for o in snapshot.objects] == [("projectcalico.org/v3", "g")]
    assert not any(p.startswith("/apis/crd.projectcalico.org") for p in paths)
    assert [d.code for d in snapshot.diagnostics if "calico" in d.code] == ["cluster-calico-storage"]


def test_the_preferred_version_is_read_when_it_has_the_kind_else_one_kubeward_knows(tmp_path: Path) -> None:
    istio_v1 = {"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
                "metadata": {"name": "default", "namespace": "shop"}, "spec": {"mtls": {"mode": "STRICT"}}}
    istio_beta = {**istio_v1, "apiVersion": "security.istio.io/v1beta1", "metadata": {"name": "b", "namespace": "x"}}
    with serving([istio_v1, istio_beta]) as server:  # v1 preferred (listed first): every object served in it
        snapshot = read(server, tmp_path)
    assert sorted((o.api_version, o.name) for o in snapshot.objects) == [
        ("security.istio.io/v1", "b"), ("security.istio.io/v1", "default")]


def test_progress_is_told_kind_by_kind(tmp_path: Path) -> None:
    said: list[str] = []
    with serving([netpol(f"p{i}") for i in range(4)], page_size=3) as server:
        read(server, tmp_path, progress=said.append)
    assert said[0] == "discovering the API of fake"
    assert [s for s in said if "networkpolicies" in s] == ["reading networkpolicies (0)", "reading networkpolicies (3)"]


def test_an_object_nested_deeper_than_the_loaders_limit_is_refused_alone(tmp_path: Path) -> None:
    deep: dict[str, Any] = {}
    for _ in range(250):
        deep = {"x": deep}
    policy = {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
              "metadata": {"name": "deep", "namespace": "a"}, "spec": {"endpointSelector": {}, "d": deep}}
    with serving([policy, netpol("ok")]) as server:
        snapshot = read(server, tmp_path)
    assert [o.name for o in snapshot.objects] == ["ok"]
    (error,) = [d for d in snapshot.diagnostics if d.severity is Severity.ERROR]
    assert (error.code, error.file) == ("too-deep", "cluster:fake/CiliumNetworkPolicy/a/deep")


def test_a_cluster_that_cannot_be_reached_raises_cluster_error(tmp_path: Path) -> None:
    server = FakeApiServer([])
    config = server.kubeconfig(tmp_path / "kubeconfig")
    server.stop()  # never started: nothing listens on its port any more
    with pytest.raises(ClusterError, match=r"cannot reach the API server https?://127\.0\.0\.1:\d+ \(context fake\): "
                                           r".*Connection refused"):
        read_cluster(kubeconfig=str(config))


# ---- lines: the object as `kubectl get -o yaml` lays it out ------------------------------------

KUBECTL_YAML = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy"}
    note: |-
      two
      lines
  creationTimestamp: "2026-01-01T00:00:00Z"
  labels: {}
  name: web
  namespace: shop
spec:
  egress:
  - ports:
    - port: 53
      protocol: UDP
    to:
    - namespaceSelector: {}
      podSelector:
        matchLabels:
          k8s-app: kube-dns
  - {}
  ingress:
  - from:
    - ipBlock:
        cidr: 10.0.0.0/8
        except:
        - 10.1.0.0/16
  podSelector:
    matchExpressions:
    - key: app
      operator: In
      values:
      - web
      - web2
  policyTypes:
  - Ingress
  - Egress
status: {}
"""


def _lines(value: Any) -> Any:
    """Every key's and item's line, recursively, of located values."""
    if isinstance(value, LMap):
        return {"@": value.line, **{k: (value.line_of(k), _lines(v)) for k, v in value.items()}}
    if isinstance(value, LList):
        return [(value.line_of(i), _lines(v)) for i, v in enumerate(value)]
    return None


def test_a_live_objects_lines_are_those_of_kubectl_get_o_yaml() -> None:
    (written,) = load_text(KUBECTL_YAML, "kubectl.yaml", Diagnostics())
    item = json.loads(json.dumps(written.data))
    del item["apiVersion"], item["kind"]  # a list's items carry neither
    item["metadata"]["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]  # kubectl hides it
    live = live_object(item, "networking.k8s.io/v1", "NetworkPolicy", "cluster:c/NetworkPolicy/shop/web")
    expected = _lines(written.data)
    expected["metadata"][1]["annotations"][1].pop("kubectl.kubernetes.io/last-applied-configuration")  # not kept
    assert _lines(live.data) == expected
    assert live.data["spec"]["podSelector"]["matchExpressions"][0]["values"] == ["web", "web2"]


def test_the_clusterrole_of_docs_cli_md_grants_list_on_exactly_what_a_live_read_lists() -> None:
    page = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text()
    role = next(yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", page, re.S)
                if "kind: ClusterRole" in block)
    granted = {(group, resource) for rule in role["rules"] if rule["verbs"] == ["list"]
               for group in rule["apiGroups"] for resource in rule["resources"]}
    assert granted == {(w.group, plural(w.kind)) for w in wanted_kinds()}


def test_the_role_of_docs_cli_md_grants_get_on_exactly_the_istio_configmap_of_the_root_namespace() -> None:
    page = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text()
    role = next(yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", page, re.S)
                if "kind: Role\n" in block)
    assert role["metadata"]["namespace"] == ISTIO_ROOT
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [MESH_CONFIGMAP],
                              "verbs": ["get"]}]


SERVICE_ENTRY = {"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
                 "metadata": {"name": "payment", "namespace": "istio-system"},
                 "spec": {"hosts": ["api.payment.example.com"], "location": "MESH_EXTERNAL"}}


def configmap(name: str, namespace: str, mesh: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace},
            "data": {"mesh": mesh}}


def test_the_istio_configmap_of_the_root_namespace_is_read_by_name_and_no_configmap_is_listed(
        tmp_path: Path) -> None:
    registry_only = "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n"
    served = [SERVICE_ENTRY, configmap("istio", "istio-system", registry_only),
              configmap("istio-sidecar-injector", "istio-system", "big"), configmap("istio", "shop", "other")]
    with serving(served) as server:
        snapshot = read(server, tmp_path)
        requests = [r for r in server.requests if "configmaps" in r.path]
    (mesh,) = [o for o in snapshot.objects if o.kind == "ConfigMap"]
    assert (mesh.api_version, mesh.namespace, mesh.name, mesh.file, mesh.live) == (
        "v1", "istio-system", "istio", "cluster:fake/ConfigMap/istio-system/istio", True)
    assert mesh.data["data"]["mesh"] == registry_only
    assert mesh.data["data"].line_of("mesh") == 3  # kubectl get -o yaml: apiVersion, data:, mesh
    assert [r.path for r in requests] == ["/api/v1/namespaces/istio-system/configmaps/istio"]
    assert server.lists_of("configmaps") == []
    assert snapshot.namespaced[("", "ConfigMap")] is True  # a file's ConfigMap without namespace goes to the context's


def test_a_cluster_without_istio_networking_is_asked_for_no_configmap(tmp_path: Path) -> None:
    security_only = {"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
                     "metadata": {"name": "default", "namespace": "istio-system"}, "spec": {}}
    with serving([security_only, configmap("istio", "istio-system", "x: 1")]) as server:
        snapshot = read(server, tmp_path)
        requests = [r for r in server.requests if "configmaps" in r.path]
    assert requests == []
    assert not [o for o in snapshot.objects if o.kind == "ConfigMap"]
    assert not [d for d in snapshot.diagnostics if d.code == "cluster-mesh-config"]


def test_a_server_error_on_the_istio_configmap_is_a_warning_leaning_towards_allow_any(tmp_path: Path) -> None:
    class Failing(FakeApiServer):
        def answer(self, path: str, query: dict[str, list[str]], accept: str) -> tuple[int, dict[str, Any]]:
            if path.endswith("/configmaps/istio"):
                return 500, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "etcd timeout",
                             "reason": "InternalError", "code": 500}
            return super().answer(path, query, accept)

    server = Failing([SERVICE_ENTRY]).start()
    try:
        snapshot = read(server, tmp_path, root_namespace="mesh-root")
        (request,) = [r for r in server.requests if "configmaps" in r.path]
    finally:
        server.stop()
    assert request.path == "/api/v1/namespaces/mesh-root/configmaps/istio"
    (warning,) = [d for d in snapshot.diagnostics if d.severity is Severity.WARNING]
    assert (warning.code, warning.leans) == ("cluster-list-failed", Leans.MAY_ALLOW_MORE)
    assert warning.message == (
        "ConfigMap mesh-root/istio not read: the API server failed to get it (500 Internal Server Error: etcd "
        "timeout); the mesh-wide outboundTrafficPolicy is unknown: it is taken as ALLOW_ANY (IST-30), which may "
        "allow more than shown; --mesh-outbound sets it")


def test_a_revision_named_by_a_namespace_has_its_istio_revision_configmap_read_by_name(tmp_path: Path) -> None:
    canary = {"apiVersion": "v1", "kind": "Namespace",
              "metadata": {"name": "shop", "labels": {"istio.io/rev": "canary"}}}
    stable = {"apiVersion": "v1", "kind": "Namespace",
              "metadata": {"name": "blog", "labels": {"istio.io/rev": "default"}}}
    served = [SERVICE_ENTRY, canary, stable, configmap("istio-canary", "istio-system", "x: 1")]
    with serving(served) as server:
        snapshot = read(server, tmp_path)
        requests = [r.path for r in server.requests if "configmaps" in r.path]
    assert requests == ["/api/v1/namespaces/istio-system/configmaps/istio",
                        "/api/v1/namespaces/istio-system/configmaps/istio-canary"]  # IST-50; "default" is istio
    assert [o.name for o in snapshot.objects if o.kind == "ConfigMap"] == ["istio-canary"]
    assert server.lists_of("configmaps") == []
