"""Issue 13, "What a cluster dump holds": a `kubectl get -A -o yaml` dump reads as the manifests do.

A cluster holds more than its manifests: the ReplicaSets and Jobs its controllers create, a pod
per replica with a generated name, status, addresses, Endpoints. Pods are grouped into the
workload of their top controller by ownerReferences (NP-32), whether or not the controller is in
the dump; terminated pods are no endpoints (NP-31). tests/dumps/shop-dump.yaml (and .json) is
examples/shop as a kind cluster holds it (written by tests/shop_dump.py).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kubeward import Analysis, Options, analyse_paths, analyse_text, connectivity_map, explain
from kubeward.cli import main
from kubeward.model import Workload
from shop_dump import document, render_json, render_yaml

ROOT = Path(__file__).resolve().parent.parent
DUMPS = ROOT / "tests" / "dumps"
SHOP = ROOT / "examples" / "shop"


def connections(path: Path, cni: str = "auto") -> tuple[int, set[tuple[str, str, str, str]]]:
    """`kubeward map PATH --format json` at workload level: its exit code, and (src, dst,
    protocols, HTTP filters) per connection."""
    result = CliRunner().invoke(main, ["map", str(path), "--cni", cni, "--format", "json"])
    assert result.exit_code in (0, 2), result.output  # 2: examples/shop's Calico policy is refused (CAL-7)
    doc = json.loads(result.stdout)
    return result.exit_code, {(c["src"], c["dst"], json.dumps(c["protocols"], sort_keys=True),
                               json.dumps(c.get("l7"), sort_keys=True)) for c in doc["connections"]}


def workloads(analysis: Analysis) -> dict[str, Workload]:
    return {w.id: w for w in analysis.cluster.workloads if not w.assumed}


def diagnostics(analysis: Analysis, code: str) -> list[str]:
    return [d.message for d in analysis.diagnostics.items if d.code == code]


def test_the_dump_fixtures_are_what_their_generator_writes() -> None:
    doc = document()
    assert (DUMPS / "shop-dump.yaml").read_text(encoding="utf-8") == render_yaml(doc)
    assert (DUMPS / "shop-dump.json").read_text(encoding="utf-8") == render_json(doc)


@pytest.mark.parametrize("cni", ["auto", "cilium", "calico"])
def test_a_dump_of_the_shop_maps_as_its_manifests_do(cni: str) -> None:
    manifests = connections(SHOP, cni)
    assert manifests[1]  # the comparison says something
    assert connections(DUMPS / "shop-dump.yaml", cni) == manifests


def test_the_json_dump_reads_as_the_yaml_dump() -> None:
    as_yaml, as_json = analyse_paths([str(DUMPS / "shop-dump.yaml")]), analyse_paths([str(DUMPS / "shop-dump.json")])
    shape = [(w.kind, w.id, w.replicas, w.pods, w.pod_ips, dict(w.labels)) for w in as_yaml.cluster.workloads]
    assert [(w.kind, w.id, w.replicas, w.pods, w.pod_ips, dict(w.labels)) for w in as_json.cluster.workloads] == shape
    assert connections(DUMPS / "shop-dump.json") == connections(DUMPS / "shop-dump.yaml")
    assert sorted(d.code for d in as_json.diagnostics.items) == sorted(d.code for d in as_yaml.diagnostics.items)


def test_replicas_collapse_into_their_deployment_with_their_addresses() -> None:
    found = workloads(analyse_paths([str(DUMPS / "shop-dump.yaml")]))
    assert sorted(found) == ["kube-system/coredns", "shop/api", "shop/mysql", "shop/web"]
    web = found["shop/web"]
    assert (web.kind, web.replicas, dict(web.labels)) == ("Deployment", 2, {"app": "web"})
    assert web.pods == ("web-6b7f9c8d5c-x2k9p", "web-6b7f9c8d5c-zp4lr")
    assert web.pod_ips == (("10.244.1.5",), ("10.244.2.4",))
    assert web.running  # SVC-6: the pods run, so their service account exists


def without_kinds(tmp_path: Path, *kinds: str) -> Path:
    doc = document()
    doc["items"] = [item for item in doc["items"] if item["kind"] not in kinds]
    path = tmp_path / "pods-only.yaml"
    path.write_text(render_yaml(doc), encoding="utf-8")
    return path


def test_a_dump_without_replicasets_and_deployments_groups_pods_by_deployment(tmp_path: Path) -> None:
    # `kubectl get pods,svc,netpol,... -A -o yaml`: the pod-template-hash label says which part of
    # the ReplicaSet name is the Deployment's (NP-32).
    path = without_kinds(tmp_path, "ReplicaSet", "Deployment")
    analysis = analyse_paths([str(path)])
    found = workloads(analysis)
    assert sorted(found) == ["kube-system/coredns", "shop/api", "shop/mysql", "shop/web"]
    web = found["shop/web"]
    assert (web.kind, web.replicas, web.pods) == ("Deployment", 2, ("web-6b7f9c8d5c-x2k9p", "web-6b7f9c8d5c-zp4lr"))
    # the labels its pods share, the pod-template-hash included; its origin: the first pod
    assert dict(web.labels) == {"app": "web", "pod-template-hash": "6b7f9c8d5c"}
    assert connections(path) == connections(SHOP)
    assert connections(path, "cilium") == connections(SHOP, "cilium")


def test_a_workload_without_its_controller_starts_at_its_first_pod(tmp_path: Path) -> None:
    path = without_kinds(tmp_path, "ReplicaSet", "Deployment")
    web = workloads(analyse_paths([str(path)]))["shop/web"]
    lines = path.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines, 1) if line.endswith("name: web-6b7f9c8d5c-x2k9p"))
    item = max(i for i, line in enumerate(lines[:first], 1) if line.startswith("- "))
    assert (web.origin.file, web.origin.line) == (str(path), item)


POD = """\
---
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: app
  labels: {labels}
  ownerReferences: [{{apiVersion: {api}, kind: {kind}, name: {owner}, uid: u-{owner}, controller: true,
                     blockOwnerDeletion: true}}]
spec: {{containers: [{{name: c, image: x, ports: [{{containerPort: 8080, name: http}}]}}]}}
status: {status}
"""
RUNNING = "{phase: Running, podIP: %s, podIPs: [{ip: %s}], hostIP: 172.18.0.3}"


def pod(name: str, kind: str, owner: str, labels: str, status: str, api: str = "apps/v1") -> str:
    return POD.format(name=name, kind=kind, owner=owner, labels=labels, status=status, api=api)


SERVER = """\
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: app, labels: {app: server}}
spec: {containers: [{name: c, image: x, ports: [{containerPort: 80}]}]}
status: {phase: Running, podIP: 10.0.9.9}
"""


def only_from(selector: str) -> str:
    return f"""\
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: only, namespace: app}}
spec:
  podSelector: {{matchLabels: {{app: server}}}}
  ingress: [{{from: [{{podSelector: {{matchLabels: {selector}}}}}]}}]
"""


def test_np32_a_rollout_is_one_workload_whose_pods_policies_still_tell_apart() -> None:
    # Two ReplicaSets of Deployment web, neither in the input, with different labels: one row,
    # but the pods are what they are (NP-32): the map shows the union, explain a pod's own answer.
    text = (pod("web-aaa11-x", "ReplicaSet", "web-aaa11", "{app: web, track: old, pod-template-hash: aaa11}",
                RUNNING % ("10.0.1.1", "10.0.1.1"))
            + pod("web-bbb22-y", "ReplicaSet", "web-bbb22", "{app: web, track: new, pod-template-hash: bbb22}",
                  RUNNING % ("10.0.1.2", "10.0.1.2"))
            + SERVER + only_from("{track: new}"))
    analysis = analyse_text(text, "rollout.yaml", Options(cni="generic"))
    found = workloads(analysis)
    assert sorted(found) == ["app/server", "app/web"]
    web = found["app/web"]
    assert (web.kind, web.replicas, dict(web.labels)) == ("Deployment", 2, {"app": "web"})
    assert len(analysis.engine.universe.identities_of["app/web"]) == 2
    assert not explain(analysis, "app/web-aaa11-x", "app/server", 80).allowed
    assert explain(analysis, "app/web-bbb22-y", "app/server", 80).allowed
    assert explain(analysis, "10.0.1.1", "app/server", 80).verdict.verdict == "deny"
    both = explain(analysis, "app/web", "app/server", 80)
    assert both.allowed and "do not all get the same answer" in both.verdict.steps[-1].message
    pairs = {(c.src, c.dst) for c in connectivity_map(analysis).connections}
    assert ("app/web", "app/server") in pairs
    [note] = diagnostics(analysis, "pods-differ")
    assert note.startswith("Deployment app/web: its 2 pods are not all alike")


def test_np32_a_statefulsets_pods_are_one_workload_and_its_per_pod_labels_still_select() -> None:
    text = "".join(pod(f"db-{i}", "StatefulSet", "db", "{app: db, controller-revision-hash: db-7f9, "
                       f"statefulset.kubernetes.io/pod-name: db-{i}, apps.kubernetes.io/pod-index: '{i}'}}",
                       RUNNING % (f"10.0.2.{i}", f"10.0.2.{i}")) for i in range(3))
    text += SERVER + only_from("{statefulset.kubernetes.io/pod-name: db-0}")
    analysis = analyse_text(text, "sts.yaml", Options(cni="generic"))
    db = workloads(analysis)["app/db"]
    assert (db.kind, db.replicas, db.pods) == ("StatefulSet", 3, ("db-0", "db-1", "db-2"))
    assert dict(db.labels) == {"app": "db", "controller-revision-hash": "db-7f9"}
    assert explain(analysis, "app/db-0", "app/server", 80).allowed
    assert not explain(analysis, "app/db-1", "app/server", 80).allowed
    assert diagnostics(analysis, "pods-differ") == []  # per-pod labels of the controller: no news


def test_np32_daemonset_and_replicationcontroller_pods_collapse_without_their_controller() -> None:
    text = "".join(pod(f"agent-{s}", "DaemonSet", "agent", "{app: agent, controller-revision-hash: 6f7, "
                       "pod-template-generation: '1'}", RUNNING % (f"10.0.3.{i}", f"10.0.3.{i}"))
                   for i, s in enumerate(("k2x8q", "m9p3w", "z7c4n")))
    text += "".join(pod(f"legacy-{s}", "ReplicationController", "legacy", "{app: legacy}", "{phase: Pending}",
                        api="v1") for s in ("abcde", "fghij"))
    found = workloads(analyse_text(text, "ds.yaml"))
    assert [(w.kind, w.id, w.replicas, len(w.pods)) for w in found.values()] == [
        ("DaemonSet", "app/agent", 3, 3), ("ReplicationController", "app/legacy", 2, 2)]
    # Pending pods without an address yet are endpoints all the same
    assert found["app/legacy"].pod_ips == ()


def test_np32_a_job_a_cronjob_created_belongs_to_the_cronjob_when_it_is_in_the_input() -> None:
    job_pods = "".join(pod(f"backup-28473640-{s}", "Job", "backup-28473640",
                           "{app: backup, batch.kubernetes.io/job-name: backup-28473640, "
                           "job-name: backup-28473640}", RUNNING % (f"10.0.4.{i}", f"10.0.4.{i}"), api="batch/v1")
                       for i, s in enumerate(("4xk2p", "9wq7d")))
    alone = workloads(analyse_text(job_pods, "jobs.yaml"))
    assert [(w.kind, w.id, w.replicas) for w in alone.values()] == [("Job", "app/backup-28473640", 2)]
    cronjob = """\
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: app}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: backup}}
        spec: {restartPolicy: OnFailure, containers: [{name: c, image: x}]}
"""
    found = workloads(analyse_text(cronjob + job_pods, "cron.yaml"))
    assert [(w.kind, w.id, w.pods) for w in found.values()] == [
        ("CronJob", "app/backup", ("backup-28473640-4xk2p", "backup-28473640-9wq7d"))]


def test_np32_a_job_in_the_input_leads_its_pods_to_its_cronjob_even_when_the_cronjob_is_not() -> None:
    job = """\
---
apiVersion: batch/v1
kind: Job
metadata:
  name: report-28473700
  namespace: app
  ownerReferences: [{apiVersion: batch/v1, kind: CronJob, name: report, uid: u-c, controller: true}]
spec:
  template:
    metadata: {labels: {app: report}}
    spec: {restartPolicy: Never, containers: [{name: c, image: x}]}
"""
    text = job + pod("report-28473700-5kd9x", "Job", "report-28473700", "{app: report}",
                     RUNNING % ("10.0.5.1", "10.0.5.1"), api="batch/v1")
    found = workloads(analyse_text(text, "job.yaml"))
    assert [(w.kind, w.id, w.pods) for w in found.values()] == [("CronJob", "app/report", ("report-28473700-5kd9x",))]


def test_np31_terminated_pods_are_no_endpoints() -> None:
    done = "{phase: Succeeded, podIP: 10.0.6.1, podIPs: [{ip: 10.0.6.1}]}"
    failed = "{phase: Failed, podIP: 10.0.6.2, podIPs: [{ip: 10.0.6.2}]}"
    text = (pod("migrate-7sd8f", "Job", "migrate", "{app: migrate}", done, api="batch/v1")
            + pod("migrate-k2l9q", "Job", "migrate", "{app: migrate}", failed, api="batch/v1")
            + pod("web-aaa11-x", "ReplicaSet", "web-aaa11", "{app: web, pod-template-hash: aaa11}", done)
            + pod("web-aaa11-y", "ReplicaSet", "web-aaa11", "{app: web, pod-template-hash: aaa11}",
                  RUNNING % ("10.0.6.3", "10.0.6.3"))
            + SERVER)
    analysis = analyse_text(text, "done.yaml")
    found = workloads(analysis)
    # only terminated pods and no controller: gone; with a running replica: its address only
    assert sorted(found) == ["app/server", "app/web"]
    assert (found["app/web"].pods, found["app/web"].pod_ips) == (("web-aaa11-y",), (("10.0.6.3",),))
    assert diagnostics(analysis, "terminated-pods") == [
        "3 Pods have terminated (phase Succeeded or Failed): not endpoints, left out (NP-31): migrate-7sd8f, "
        "migrate-k2l9q, web-aaa11-x"]
    # the released address is nobody's: it is a piece of the outside world
    assert explain(analysis, "10.0.6.1", "app/server", 80).verdict.source.workload is None


def test_np31_a_completed_job_stays_listed_from_its_controller_without_pods() -> None:
    job = """\
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: app}
spec:
  template:
    metadata: {labels: {app: migrate}}
    spec: {restartPolicy: Never, containers: [{name: c, image: x}]}
status: {succeeded: 1, completionTime: "2024-05-14T09:30:00Z"}
"""
    text = job + pod("migrate-7sd8f", "Job", "migrate", "{app: migrate, job-name: migrate}",
                     "{phase: Succeeded, podIP: 10.0.6.1}", api="batch/v1")
    found = workloads(analyse_text(text, "job.yaml"))
    migrate = found["app/migrate"]
    assert (migrate.kind, migrate.pods, migrate.pod_ips, dict(migrate.labels)) == ("Job", (), (), {"app": "migrate"})


def test_pods_of_another_projects_controller_or_of_a_node_stay_themselves() -> None:
    # Static pods are owned by their Node; kubeward knows no kind "Node" that runs pods.
    text = "".join(pod(f"kube-apiserver-{n}", "Node", n, "{component: kube-apiserver, tier: control-plane}",
                       RUNNING % (f"172.18.0.{i}", f"172.18.0.{i}"), api="v1") for i, n in enumerate(("cp1", "cp2")))
    found = workloads(analyse_text(text, "static.yaml"))
    assert [(w.kind, w.id) for w in found.values()] == [("Pod", "app/kube-apiserver-cp1"),
                                                         ("Pod", "app/kube-apiserver-cp2")]


def test_a_kubectl_list_in_json_loads_as_in_yaml() -> None:
    items: list[dict[str, Any]] = [yaml.safe_load(pod(f"web-aaa11-{s}", "ReplicaSet", "web-aaa11",
                                                       "{app: web, pod-template-hash: aaa11}",
                                                       RUNNING % ("10.0.7.1", "10.0.7.1")).removeprefix("---\n"))
                                   for s in ("x", "y")]
    listing = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}
    as_json = workloads(analyse_text(json.dumps(listing, indent=4), "pods.json"))
    as_yaml = workloads(analyse_text(textwrap.dedent(yaml.safe_dump(listing)), "pods.yaml"))
    assert [(w.kind, w.id, w.pods) for w in as_json.values()] == [("Deployment", "app/web", ("web-aaa11-x",
                                                                                              "web-aaa11-y"))]
    assert [(w.kind, w.id, w.pods) for w in as_yaml.values()] == [(w.kind, w.id, w.pods) for w in as_json.values()]
