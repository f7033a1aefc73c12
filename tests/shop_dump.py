"""Writes shop-dump.yaml and shop-dump.json: examples/shop as a cluster holds it (issue 13).

The objects of ``examples/shop`` as ``kubectl get ns,all,sa,ep,endpointslices,netpol,
ciliumnetworkpolicies,networkpolicies.projectcalico.org,ingress,gateway,httproute,
peerauthentication,authorizationpolicy -A -o yaml --show-managed-fields`` (and ``-o json``) print
them from a kind cluster that runs it: one ``List`` whose items carry their kind and apiVersion,
server-set metadata (uid, resourceVersion, generation, creationTimestamp, managedFields,
ownerReferences with ``controller: true``), defaulted specs, status blocks, the ReplicaSets of
each Deployment (web with an old generation scaled to 0) and their pods with generated names,
``pod-template-hash`` labels and addresses, Services with cluster IPs, and the Endpoints and
EndpointSlices the control plane keeps. Written by hand after real kubectl output; run
``python tests/shop_dump.py`` to write the two files again (tests/test_dumps.py checks
that they are up to date).

YAML as kubectl writes it: keys sorted, lists not indented under their key, strings that would
read as another type double-quoted. JSON as kubectl writes it: fields in the API's order,
indented by four spaces.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent / "dumps"
Obj = dict[str, Any]

NODES = {"kind-worker": "172.18.0.3", "kind-worker2": "172.18.0.4", "kind-control-plane": "172.18.0.2"}


def uid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "kubeward-shop-dump/" + "/".join(parts)))


def at(minute: int, second: int = 0) -> str:
    return f"2024-05-14T09:{minute:02d}:{second:02d}Z"


def meta(kind: str, name: str, namespace: str | None, minute: int, rv: int, **extra: Any) -> Obj:
    out: Obj = {"name": name}
    if namespace is not None:
        out["namespace"] = namespace
    out["uid"] = uid(kind, namespace or "", name)
    out["resourceVersion"] = str(rv)
    out["creationTimestamp"] = at(minute)
    out.update(extra)
    return out


def managed(manager: str, operation: str, api_version: str, minute: int, fields: Obj,
            subresource: str | None = None) -> Obj:
    entry: Obj = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": at(minute),
                  "fieldsType": "FieldsV1", "fieldsV1": fields}
    if subresource:
        entry["subresource"] = subresource
    return entry


def owner(api_version: str, kind: str, name: str, namespace: str) -> Obj:
    return {"apiVersion": api_version, "kind": kind, "name": name, "uid": uid(kind, namespace, name),
            "controller": True, "blockOwnerDeletion": True}


def last_applied(obj: Obj) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True) + "\n"


# --------------------------------------------------------------------------- namespaces

def namespace(name: str, rv: int, applied: bool = False) -> Obj:
    m = meta("Namespace", name, None, 0 if not applied else 20, rv,
             labels={"kubernetes.io/metadata.name": name})
    if applied:
        m["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": last_applied(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"annotations": {}, "name": name}})}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": m,
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


# --------------------------------------------------------------------------- workloads

def container(name: str, image: str, ports: list[Obj], args: list[str] | None = None,
              env: list[Obj] | None = None) -> Obj:
    c: Obj = {"name": name, "image": image}
    if args:
        c["args"] = args
    c["ports"] = [{"name": p["name"], "containerPort": p["containerPort"], "protocol": p.get("protocol", "TCP")}
                  for p in ports]
    if env:
        c["env"] = env
    c.update({"resources": {}, "terminationMessagePath": "/dev/termination-log",
              "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"})
    return c


def pod_spec(containers: list[Obj], account: str | None, critical: bool = False) -> Obj:
    spec: Obj = {"containers": containers, "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
                 "dnsPolicy": "Default" if critical else "ClusterFirst"}
    if account:
        spec["serviceAccountName"] = account
        spec["serviceAccount"] = account
    spec["securityContext"] = {}
    spec["schedulerName"] = "default-scheduler"
    if critical:
        spec["priorityClassName"] = "system-cluster-critical"
    return spec


class App:
    """One Deployment of the dump and what the cluster made of it."""

    def __init__(self, namespace: str, name: str, replicas: int | None, labels: dict[str, str],
                 account: str | None, containers: list[Obj], digest: str, old_digest: str | None,
                 pods: list[tuple[str, str, str]], minute: int, cluster_ip: str, service: Obj,
                 deployment_labels: dict[str, str] | None = None, critical: bool = False) -> None:
        self.namespace, self.name, self.replicas, self.labels = namespace, name, replicas, labels
        self.account, self.containers, self.digest, self.old_digest = account, containers, digest, old_digest
        self.pods, self.minute, self.cluster_ip, self.service = pods, minute, cluster_ip, service
        self.deployment_labels = deployment_labels
        self.critical = critical

    @property
    def count(self) -> int:
        return self.replicas if self.replicas is not None else 1

    def written(self) -> Obj:
        """The Deployment as its manifest in examples/shop writes it (last-applied-configuration)."""
        metadata: Obj = {"annotations": {}, "name": self.name, "namespace": self.namespace}
        if self.deployment_labels:
            metadata["labels"] = self.deployment_labels
        spec: Obj = {"selector": {"matchLabels": self.labels},
                     "template": {"metadata": {"labels": self.labels},
                                  "spec": {"containers": [{k: v for k, v in c.items() if k in (
                                      "name", "image", "args", "env", "ports")} for c in self.containers]}}}
        if self.replicas is not None:
            spec["replicas"] = self.replicas
        if self.account:
            spec["template"]["spec"]["serviceAccountName"] = self.account
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": spec}

    def template(self, digest: str | None) -> Obj:
        labels = dict(self.labels) if digest is None else {**self.labels, "pod-template-hash": digest}
        return {"metadata": {"creationTimestamp": None, "labels": labels},
                "spec": pod_spec(self.containers, self.account, self.critical)}

    def deployment(self, rv: int) -> Obj:
        extra: Obj = {"generation": 2 if self.old_digest else 1}
        if self.deployment_labels:
            extra["labels"] = self.deployment_labels
        extra["annotations"] = {"deployment.kubernetes.io/revision": "2" if self.old_digest else "1",
                                "kubectl.kubernetes.io/last-applied-configuration": last_applied(self.written())}
        extra["managedFields"] = [
            managed("kubectl-client-side-apply", "Update", "apps/v1", self.minute, {
                "f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}},
                "f:spec": {"f:progressDeadlineSeconds": {}, "f:replicas": {}, "f:revisionHistoryLimit": {},
                           "f:selector": {}, "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {},
                                                                                "f:maxUnavailable": {}},
                                                            "f:type": {}},
                           "f:template": {"f:metadata": {"f:labels": {".": {}, **{
                               f"f:{k}": {} for k in self.labels}}}, "f:spec": {"f:containers": {}}}}}),
            managed("kube-controller-manager", "Update", "apps/v1", self.minute + 1, {
                "f:metadata": {"f:annotations": {"f:deployment.kubernetes.io/revision": {}}},
                "f:status": {"f:availableReplicas": {}, "f:conditions": {}, "f:observedGeneration": {},
                             "f:readyReplicas": {}, "f:replicas": {}, "f:updatedReplicas": {}}}, "status"),
        ]
        m = meta("Deployment", self.name, self.namespace, self.minute, rv, **extra)
        n = self.count
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": m,
                "spec": {"replicas": n, "selector": {"matchLabels": self.labels}, "template": self.template(None),
                         "strategy": {"type": "RollingUpdate",
                                      "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                         "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600},
                "status": {"observedGeneration": extra["generation"], "replicas": n, "updatedReplicas": n,
                           "readyReplicas": n, "availableReplicas": n, "conditions": [
                               {"type": "Available", "status": "True", "lastUpdateTime": at(self.minute + 1),
                                "lastTransitionTime": at(self.minute + 1), "reason": "MinimumReplicasAvailable",
                                "message": "Deployment has minimum availability."},
                               {"type": "Progressing", "status": "True", "lastUpdateTime": at(self.minute + 1),
                                "lastTransitionTime": at(self.minute), "reason": "NewReplicaSetAvailable",
                                "message": f'ReplicaSet "{self.name}-{self.digest}" has successfully progressed.'}]}}

    def replica_set(self, digest: str, replicas: int, revision: int, rv: int) -> Obj:
        name = f"{self.name}-{digest}"
        m = meta("ReplicaSet", name, self.namespace, self.minute - (1 if replicas == 0 else 0), rv,
                 generation=2 if replicas == 0 else 1,
                 labels={**self.labels, "pod-template-hash": digest},
                 annotations={"deployment.kubernetes.io/desired-replicas": str(self.count),
                              "deployment.kubernetes.io/max-replicas": str(self.count + 1),
                              "deployment.kubernetes.io/revision": str(revision)},
                 ownerReferences=[owner("apps/v1", "Deployment", self.name, self.namespace)])
        status: Obj = {"replicas": replicas, "observedGeneration": m["generation"]}
        if replicas:
            status.update({"fullyLabeledReplicas": replicas, "readyReplicas": replicas,
                           "availableReplicas": replicas})
        return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": m,
                "spec": {"replicas": replicas,
                         "selector": {"matchLabels": {**self.labels, "pod-template-hash": digest}},
                         "template": self.template(digest)},
                "status": status}

    def pod(self, suffix: str, node: str, ip: str, rv: int) -> Obj:
        rs = f"{self.name}-{self.digest}"
        name = f"{rs}-{suffix}"
        volume = f"kube-api-access-{suffix[:5]}"
        spec = pod_spec([{**c, "volumeMounts": [{"name": volume, "readOnly": True,
                                                  "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]}
                         for c in self.containers], self.account or "default", self.critical)
        spec.update({
            "volumes": [{"name": volume, "projected": {"sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                    "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}], "defaultMode": 420}}],
            "nodeName": node, "enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority",
            "priority": 2000000000 if self.critical else 0,
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                             "tolerationSeconds": 300},
                            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                             "tolerationSeconds": 300}]})
        started = at(self.minute, 12)
        owned_by = f'k:{{"uid":"{uid("ReplicaSet", self.namespace, rs)}"}}'
        m = meta("Pod", name, self.namespace, self.minute, rv, generateName=rs + "-",
                 labels={**self.labels, "pod-template-hash": self.digest},
                 ownerReferences=[owner("apps/v1", "ReplicaSet", rs, self.namespace)],
                 managedFields=[
                     managed("kube-controller-manager", "Update", "v1", self.minute, {
                         "f:metadata": {"f:generateName": {}, "f:labels": {".": {}, "f:pod-template-hash": {}},
                                        "f:ownerReferences": {".": {}, owned_by: {}}},
                         "f:spec": {"f:containers": {}, "f:dnsPolicy": {}, "f:restartPolicy": {}}}),
                     managed("kubelet", "Update", "v1", self.minute, {
                         "f:status": {"f:conditions": {}, "f:containerStatuses": {}, "f:hostIP": {}, "f:hostIPs": {},
                                      "f:phase": {}, "f:podIP": {}, "f:podIPs": {".": {}, f'k:{{"ip":"{ip}"}}': {
                                          ".": {}, "f:ip": {}}}, "f:startTime": {}}}, "status")])
        conditions = [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": started}
                      for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                                "PodScheduled")]
        return {"apiVersion": "v1", "kind": "Pod", "metadata": m, "spec": spec, "status": {
            "phase": "Running", "conditions": conditions, "hostIP": NODES[node], "hostIPs": [{"ip": NODES[node]}],
            "podIP": ip, "podIPs": [{"ip": ip}], "startTime": started,
            "containerStatuses": [{"name": c["name"], "state": {"running": {"startedAt": at(self.minute, 14)}},
                                   "lastState": {}, "ready": True, "restartCount": 0, "image": c["image"],
                                   "imageID": c["image"].split(":")[0] + "@sha256:" + uuid.uuid5(
                                       uuid.NAMESPACE_URL, c["image"]).hex * 2,
                                   "containerID": "containerd://" + uuid.uuid5(uuid.NAMESPACE_URL, name).hex * 2,
                                   "started": True} for c in self.containers],
            "qosClass": "BestEffort"}}

    def service_objects(self, rv: int) -> list[Obj]:
        """The Service (its manifest, defaulted by the API server), its Endpoints and EndpointSlice."""
        written = self.service
        ports = [{"name": p["name"], "protocol": p.get("protocol", "TCP"), "port": p["port"],
                  "targetPort": p.get("targetPort", p["port"])} if "name" in p else
                 {"protocol": p.get("protocol", "TCP"), "port": p["port"], "targetPort": p.get("targetPort", p["port"])}
                 for p in written["spec"]["ports"]]
        labels = written["metadata"].get("labels")
        extra: Obj = {"labels": labels} if labels else {}
        extra["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": last_applied(
            {**written, "metadata": {"annotations": {}, **written["metadata"]}})}
        svc_meta = meta("Service", written["metadata"]["name"], self.namespace, self.minute, rv, **extra)
        service = {"apiVersion": "v1", "kind": "Service", "metadata": svc_meta, "spec": {
            "ports": ports, "selector": written["spec"]["selector"], "clusterIP": self.cluster_ip,
            "clusterIPs": [self.cluster_ip], "type": "ClusterIP", "sessionAffinity": "None",
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster"},
            "status": {"loadBalancer": {}}}
        name = svc_meta["name"]
        pods = [(f"{self.name}-{self.digest}-{suffix}", node, ip) for suffix, node, ip in self.pods]
        named = {c["name"]: c for cont in self.containers for c in cont["ports"]}

        def pod_port(port: Obj) -> int:
            target = port["targetPort"]
            return int(named[target]["containerPort"]) if isinstance(target, str) else int(target)

        endpoint_ports = [{**({"name": p["name"]} if "name" in p else {}), "port": pod_port(p),
                           "protocol": p["protocol"]} for p in ports]
        targets = [{"ip": ip, "nodeName": node, "targetRef": {"kind": "Pod", "namespace": self.namespace,
                                                                "name": pod, "uid": uid("Pod", self.namespace, pod)}}
                   for pod, node, ip in pods]
        endpoints: Obj = {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta(
            "Endpoints", name, self.namespace, self.minute, rv + 1, labels=labels or {},
            annotations={"endpoints.kubernetes.io/last-change-trigger-time": at(self.minute, 14)}),
            "subsets": [{"addresses": targets, "ports": endpoint_ports}]}
        if not labels:
            del endpoints["metadata"]["labels"]
        slice_name = f"{name}-{uid('slice', name)[:5]}"
        endpoint_slice = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": meta(
            "EndpointSlice", slice_name, self.namespace, self.minute, rv + 2, generateName=name + "-", generation=1,
            labels={**(labels or {}), "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                    "kubernetes.io/service-name": name},
            annotations={"endpoints.kubernetes.io/last-change-trigger-time": at(self.minute, 14)},
            ownerReferences=[owner("v1", "Service", name, self.namespace)]),
            "addressType": "IPv4",
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True, "serving": True, "terminating": False},
                           "targetRef": {"kind": "Pod", "namespace": self.namespace, "name": pod,
                                         "uid": uid("Pod", self.namespace, pod)}, "nodeName": node}
                          for pod, node, ip in pods],
            "ports": [{"name": p.get("name", ""), "protocol": p["protocol"], "port": p["port"]}
                      for p in endpoint_ports]}
        return [service, endpoints, endpoint_slice]


def port(name: str, number: int, protocol: str = "TCP") -> Obj:
    return {"name": name, "containerPort": number, "protocol": protocol}


APPS = [
    App("kube-system", "coredns", 2, {"k8s-app": "kube-dns"}, "coredns",
        [container("coredns", "registry.k8s.io/coredns/coredns:v1.11.1",
                   [port("dns", 53, "UDP"), port("dns-tcp", 53), port("metrics", 9153)])],
        "5d78c9869d", None, [("4kq7x", "kind-control-plane", "10.244.0.3"), ("n8w2c", "kind-control-plane",
                                                                            "10.244.0.4")],
        1, "10.96.0.10",
        {"metadata": {"name": "kube-dns"}, "spec": {"selector": {"k8s-app": "kube-dns"}, "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
            {"name": "metrics", "port": 9153, "protocol": "TCP"}]}},
        deployment_labels={"k8s-app": "kube-dns"}, critical=True),
    App("shop", "api", 2, {"app": "api"}, "api-sa",
        [container("api", "docker.io/hashicorp/http-echo:0.2.3", [port("http", 8080)], args=["-text=ok"])],
        "7c9d5f6b8", None, [("h2x9m", "kind-worker", "10.244.1.7"), ("q5v8z", "kind-worker2", "10.244.2.5")],
        22, "10.96.41.17",
        {"metadata": {"name": "api"}, "spec": {"selector": {"app": "api"}, "ports": [
            {"port": 8080, "targetPort": "http"}]}}),
    App("shop", "mysql", None, {"app": "mysql"}, None,
        [container("mysql", "mysql:8.0", [port("mysql", 3306)], env=[{"name": "MYSQL_ROOT_PASSWORD",
                                                                      "value": "rootpw"}])],
        "64c8d9b7f4", None, [("t7kzr", "kind-worker2", "10.244.2.6")],
        22, "10.96.188.3",
        {"metadata": {"name": "mysql"}, "spec": {"selector": {"app": "mysql"}, "ports": [
            {"port": 3306, "targetPort": "mysql"}]}}),
    App("shop", "web", 2, {"app": "web"}, "web-sa",
        [container("web", "ghcr.io/nginxdemos/hello:plain-text", [port("http", 8080)])],
        "6b7f9c8d5c", "85f4d6c7b9", [("x2k9p", "kind-worker", "10.244.1.5"), ("zp4lr", "kind-worker2",
                                                                              "10.244.2.4")],
        22, "10.96.73.201",
        {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [
            {"port": 80, "targetPort": "http"}]}}),
]


def kubernetes_service() -> list[Obj]:
    labels = {"component": "apiserver", "provider": "kubernetes"}
    return [
        {"apiVersion": "v1", "kind": "Service", "metadata": meta("Service", "kubernetes", "default", 0, 196,
                                                                   labels=labels),
         "spec": {"ports": [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": 6443}],
                  "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"], "type": "ClusterIP",
                  "sessionAffinity": "None", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                  "internalTrafficPolicy": "Cluster"},
         "status": {"loadBalancer": {}}},
        {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta("Endpoints", "kubernetes", "default", 0, 198,
                                                                     labels={"endpointslice.kubernetes.io/"
                                                                             "skip-mirror": "true"}),
         "subsets": [{"addresses": [{"ip": NODES["kind-control-plane"]}],
                      "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": meta(
            "EndpointSlice", "kubernetes", "default", 0, 199, generation=1,
            labels={"kubernetes.io/service-name": "kubernetes"}),
         "addressType": "IPv4",
         "endpoints": [{"addresses": [NODES["kind-control-plane"]],
                        "conditions": {"ready": True, "serving": True, "terminating": False}}],
         "ports": [{"name": "https", "protocol": "TCP", "port": 6443}]},
    ]


# --------------------------------------------------------------------------- policies and entry points

def applied(api_version: str, kind: str, name: str, namespace: str, spec: Obj, minute: int, rv: int,
            generation: int = 1, status: Obj | None = None) -> Obj:
    """An object applied with kubectl from examples/shop: its spec as written, server metadata added."""
    written = {"apiVersion": api_version, "kind": kind, "metadata": {"annotations": {}, "name": name,
                                                                     "namespace": namespace}, "spec": spec}
    m = meta(kind, name, namespace, minute, rv, generation=generation,
             annotations={"kubectl.kubernetes.io/last-applied-configuration": last_applied(written)},
             managedFields=[managed("kubectl-client-side-apply", "Update", api_version, minute, {
                 "f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}},
                 "f:spec": {f"f:{k}": {} for k in spec}})])
    out: Obj = {"apiVersion": api_version, "kind": kind, "metadata": m, "spec": spec}
    if status is not None:
        out["status"] = status
    return out


def network_policies() -> list[Obj]:
    np = "networking.k8s.io/v1"
    dns_peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
    return [
        applied(np, "NetworkPolicy", "allow-api-egress-mysql", "shop", {
            "podSelector": {"matchLabels": {"app": "api"}},
            "egress": [{"ports": [{"protocol": "TCP", "port": 3306}],
                        "to": [{"podSelector": {"matchLabels": {"app": "mysql"}}}]}],
            "policyTypes": ["Egress"]}, 23, 1204),
        applied(np, "NetworkPolicy", "allow-dns", "shop", {
            "podSelector": {},
            "egress": [{"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                        "to": [dns_peer]}],
            "policyTypes": ["Egress"]}, 23, 1205),
        applied(np, "NetworkPolicy", "allow-web-to-api", "shop", {
            "podSelector": {"matchLabels": {"app": "api"}},
            "ingress": [{"ports": [{"protocol": "TCP", "port": 8080}],
                         "from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}],
            "policyTypes": ["Ingress"]}, 23, 1203),
        applied(np, "NetworkPolicy", "default-deny", "shop", {
            "podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, 23, 1202),
    ]


def other_policies() -> list[Obj]:
    cilium = [
        applied("cilium.io/v2", "CiliumNetworkPolicy", "web-egress-payment", "shop", {
            "endpointSelector": {"matchLabels": {"app": "web"}},
            "egress": [{"toFQDNs": [{"matchName": "api.payment.example.com"}]},
                       {"toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]}]}, 24, 1301),
        applied("cilium.io/v2", "CiliumNetworkPolicy", "web-to-api-l7", "shop", {
            "endpointSelector": {"matchLabels": {"app": "web"}},
            "egress": [{"toEndpoints": [{"matchLabels": {"app": "api"}}],
                        "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}],
                                     "rules": {"http": [{"method": "GET", "path": "^/v1/catalog"},
                                                        {"method": "POST", "path": "^/v1/order"}]}}]}]}, 24, 1300),
    ]
    calico = applied("projectcalico.org/v3", "NetworkPolicy", "app-db", "shop", {
        "tier": "default", "selector": "app == 'api'", "types": ["Ingress", "Egress"],
        "ingress": [{"action": "Allow", "protocol": "TCP", "source": {"selector": "app == 'web'"},
                     "destination": {"ports": [8080]}}],
        "egress": [{"action": "Allow", "destination": {"selector": "app == 'mysql'", "ports": [3306]}}]}, 25, 1400)
    del calico["metadata"]["managedFields"]  # served by the Calico API server, which keeps none
    ingress = applied("networking.k8s.io/v1", "Ingress", "web-ing", "shop", {
        "ingressClassName": "nginx",
        "tls": [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}],
        "rules": [{"host": "shop.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
            "service": {"name": "web", "port": {"number": 80}}}}]}}]}, 26, 1500, status={"loadBalancer": {}})
    ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/ssl-redirect"] = "true"
    gateway = applied("gateway.networking.k8s.io/v1", "Gateway", "edge", "infra", {
        "gatewayClassName": "nginx",
        "listeners": [{"name": "https", "protocol": "HTTPS", "port": 443, "allowedRoutes": {
            "namespaces": {"from": "Same"}}, "tls": {"mode": "Terminate", "certificateRefs": [
                {"group": "", "kind": "Secret", "name": "edge-cert"}]}}]}, 26, 1510,
        status={"conditions": [{"type": "Accepted", "status": "Unknown", "reason": "Pending",
                                "message": "Waiting for controller", "lastTransitionTime": "1970-01-01T00:00:00Z"},
                               {"type": "Programmed", "status": "Unknown", "reason": "Pending",
                                "message": "Waiting for controller",
                                "lastTransitionTime": "1970-01-01T00:00:00Z"}]})
    route = applied("gateway.networking.k8s.io/v1", "HTTPRoute", "shop-route", "shop", {
        "parentRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "edge",
                        "namespace": "infra"}],
        "hostnames": ["shop.example.com"],
        "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                   "backendRefs": [{"group": "", "kind": "Service", "name": "web", "port": 80, "weight": 1}]}]},
        26, 1511)
    peer = applied("security.istio.io/v1", "PeerAuthentication", "default", "shop", {
        "mtls": {"mode": "STRICT"}}, 27, 1600)
    authz = applied("security.istio.io/v1", "AuthorizationPolicy", "api-allow", "shop", {
        "selector": {"matchLabels": {"app": "api"}},
        "rules": [{"from": [{"source": {"principals": ["spiffe://cluster.local/ns/shop/sa/web-sa"]}}],
                   "to": [{"operation": {"methods": ["GET", "POST"], "paths": ["/v1/catalog", "/v1/order"]}}]}]},
        27, 1601)
    return [*cilium, calico, ingress, gateway, route, peer, authz]


# --------------------------------------------------------------------------- the dump

def items() -> list[Obj]:
    namespaces = [namespace("default", 38), namespace("infra", 1180, applied=True),
                  namespace("kube-node-lease", 5), namespace("kube-public", 9), namespace("kube-system", 4),
                  namespace("shop", 1170, applied=True)]
    rv = 2000
    pods: list[Obj] = []
    services: list[Obj] = []
    endpoints: list[Obj] = []
    slices: list[Obj] = []
    deployments: list[Obj] = []
    replica_sets: list[Obj] = []
    for app in APPS:
        for suffix, node, ip in app.pods:
            rv += 3
            pods.append(app.pod(suffix, node, ip, rv))
        rv += 5
        service, endpoint, endpoint_slice = app.service_objects(rv)
        services.append(service)
        endpoints.append(endpoint)
        slices.append(endpoint_slice)
        rv += 5
        deployments.append(app.deployment(rv))
        rv += 1
        replica_sets.append(app.replica_set(app.digest, app.count, 2 if app.old_digest else 1, rv))
        if app.old_digest:
            rv += 1
            replica_sets.append(app.replica_set(app.old_digest, 0, 1, rv))
    default_service, default_endpoints, default_slice = kubernetes_service()
    services.insert(0, default_service)
    endpoints.insert(0, default_endpoints)
    slices.insert(0, default_slice)
    accounts = [{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(
        "ServiceAccount", name, ns, 1 if ns == "kube-system" else 21, 300 + i)}
        for i, (ns, name) in enumerate([("default", "default"), ("kube-system", "coredns"),
                                        ("kube-system", "default"), ("shop", "api-sa"), ("shop", "default"),
                                        ("shop", "web-sa")])]
    by_place = sorted(replica_sets, key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"]))
    return [*namespaces, *pods, *services, *deployments, *by_place, *accounts, *endpoints, *slices,
            *network_policies(), *other_policies()]


def document() -> Obj:
    return {"apiVersion": "v1", "items": items(), "kind": "List", "metadata": {"resourceVersion": ""}}


class _KubectlDumper(yaml.SafeDumper):
    """Strings that a YAML reader would take for another type are double-quoted, as kubectl writes
    them; no anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    tag: str = dumper.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    plain = tag == "tag:yaml.org,2002:str"
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=None if plain and value else '"')


_KubectlDumper.add_representer(str, _string)


def render_yaml(doc: Obj) -> str:
    return yaml.dump(doc, Dumper=_KubectlDumper, sort_keys=True, default_flow_style=False, width=1 << 20,
                     allow_unicode=True)


def render_json(doc: Obj) -> str:
    return json.dumps(doc, indent=4, ensure_ascii=False) + "\n"


def main() -> None:
    doc = document()
    (HERE / "shop-dump.yaml").write_text(render_yaml(doc), encoding="utf-8")
    (HERE / "shop-dump.json").write_text(render_json(doc), encoding="utf-8")


if __name__ == "__main__":
    main()
