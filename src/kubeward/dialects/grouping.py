"""Which workload each pod belongs to: pods grouped by their top controller (issue 13).

A workload is one top controller, or one bare Pod. The objects read (controllers, Pods) are
first :class:`RawWorkload` records; :func:`group_workloads` follows each one's controller
``ownerReferences`` up to the top (NP-32), through the controllers of the input and, where the
input lacks one, through the names Kubernetes gives: a Pod of ReplicaSet ``web-7d4b9c8f6d``
with the label ``pod-template-hash: 7d4b9c8f6d`` is a pod of Deployment ``web``; a Pod of Job
``backup-28473640`` is a pod of CronJob ``backup`` when that CronJob is in the input. The pods of
one top controller are one workload, named after it, whether or not the controller itself is in
the input. Terminated Pods (phase Succeeded or Failed) are no endpoint and are left out (NP-31).

A workload has one set of labels, service account, ports and hostNetwork flag for what works
on workloads (Service selectors, the mesh, entry points): its controller's pod template when
the controller is in the input, else the labels all its pods share and the service account,
ports and hostNetwork flag most of its pods have. Pods that differ from that (a rollout's two
ReplicaSets, a StatefulSet's per-pod labels, an injected sidecar's ports) keep their own
:class:`~kubeward.model.PodFacts`: the engine makes one identity per distinct pod, so policies
tell them apart exactly; the map shows the workload's connections as their union.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..diagnostics import Diagnostics
from ..model import ContainerPort, Origin, PodFacts, Workload, WorkloadKind

POD_TEMPLATE_HASH = "pod-template-hash"  # set by the Deployment controller on its ReplicaSets' pods
TERMINATED_PHASES = ("Succeeded", "Failed")
MAX_ALIKE_PODS = 10  # more alike Pods without a controller are one workload (see _alike_pods)
MAX_OWNER_DEPTH = 8  # ownerReferences of broken input may form a cycle

# Labels Kubernetes controllers set on each pod (per pod, revision or Job): pods of one workload
# differing only in these are no news (a StatefulSet's pods always do).
CONTROLLER_LABELS = frozenset({
    POD_TEMPLATE_HASH, "controller-revision-hash", "pod-template-generation",
    "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
    "batch.kubernetes.io/job-completion-index", "batch.kubernetes.io/job-name", "job-name",
    "batch.kubernetes.io/controller-uid", "controller-uid",
})

_CONTROLLERS = {k.value: k for k in WorkloadKind if k is not WorkloadKind.POD}

Key = tuple[str, WorkloadKind, str]  # (namespace, kind, name)


@dataclass(slots=True)
class PodSpecFacts:
    labels: dict[str, str]
    service_account: str
    ports: tuple[ContainerPort, ...]
    host_network: bool

    def shape(self) -> tuple[str, tuple[ContainerPort, ...], bool]:
        return self.service_account, self.ports, self.host_network


@dataclass(slots=True)
class RawWorkload:
    """One controller or Pod as read: its pod template's facts (a Pod's own), ``owner`` its
    controller's (kind, name), and for a Pod its addresses and ``status.phase``."""

    kind: WorkloadKind
    namespace: str
    name: str
    facts: PodSpecFacts
    replicas: int | None
    origin: Origin
    owner: tuple[str, str] | None
    ips: tuple[str, ...] = ()
    phase: str = ""
    running: bool = False  # its status (a Pod's phase, a controller's ready counts) shows pods running


@dataclass(slots=True)
class _Group:
    controllers: list[RawWorkload] = field(default_factory=list)  # of the input, top first if present
    pods: list[RawWorkload] = field(default_factory=list)


def group_workloads(raws: list[RawWorkload], diags: Diagnostics) -> list[Workload]:
    """The workloads of the input, sorted by namespace and name (module docstring)."""
    controllers: dict[Key, RawWorkload] = {(w.namespace, w.kind, w.name): w for w in raws
                                           if w.kind is not WorkloadKind.POD}
    groups: dict[Key, _Group] = {}
    bare: list[RawWorkload] = []
    terminated: list[RawWorkload] = []
    for w in raws:
        if w.kind is WorkloadKind.POD and w.phase in TERMINATED_PHASES:
            terminated.append(w)  # NP-31: its containers have stopped and its IP is released
            continue
        top = _top(w, controllers)
        if top is None:
            bare.append(w)
            continue
        group = groups.setdefault(top, _Group())
        (group.pods if w.kind is WorkloadKind.POD else group.controllers).append(w)
    workloads = [_workload(key, controllers.get(key), group, diags) for key, group in groups.items()]
    workloads.extend(_alike_pods(bare, diags))
    if terminated:
        names = ", ".join(p.name for p in terminated[:3]) + (" …" if len(terminated) > 3 else "")
        count = f"{len(terminated)} Pod{'s have' if len(terminated) != 1 else ' has'}"
        diags.info("terminated-pods", f"{count} terminated (phase Succeeded or Failed): not endpoints, left "
                   f"out (NP-31): {names}", terminated[0].origin.file, terminated[0].origin.line)
    return sorted(workloads, key=lambda w: (w.namespace, w.name, w.kind))


def _top(w: RawWorkload, controllers: dict[Key, RawWorkload]) -> Key | None:
    """NP-32: the top controller of ``w`` by controller ownerReferences of the kinds that run
    pods (None: a Pod without one); past a controller the input lacks, by the names Kubernetes
    gives (:func:`_owner_by_name`)."""
    ns = w.namespace
    key: Key | None = None if w.kind is WorkloadKind.POD else (ns, w.kind, w.name)
    child, owner = w, w.owner
    for _ in range(MAX_OWNER_DEPTH):
        kind = _CONTROLLERS.get(owner[0]) if owner is not None and owner[1] else None
        if kind is None or owner is None:
            break
        key = (ns, kind, owner[1])
        parent = controllers.get(key)
        if parent is None:
            inferred = _owner_by_name(key, child, controllers)
            if inferred is None:
                break
            key = inferred
            parent = controllers.get(inferred)
            if parent is None:
                break
        child, owner = parent, parent.owner
    return key


def _owner_by_name(key: Key, child: RawWorkload, controllers: dict[Key, RawWorkload]) -> Key | None:
    """The owner of a controller the input lacks, from the name Kubernetes gave it (NP-32)."""
    ns, kind, name = key
    if kind is WorkloadKind.REPLICA_SET and child.kind is WorkloadKind.POD:
        # A Deployment names its ReplicaSet <deployment>-<pod-template-hash> and labels its pods with the hash.
        digest = child.facts.labels.get(POD_TEMPLATE_HASH, "")
        if digest and name.endswith("-" + digest) and len(name) > len(digest) + 1:
            return ns, WorkloadKind.DEPLOYMENT, name[: -len(digest) - 1]
    elif kind is WorkloadKind.JOB:
        # A CronJob names its Jobs <cronjob>-<scheduled time in minutes>: taken when that CronJob is in the input.
        base, dash, minutes = name.rpartition("-")
        if dash and base and minutes.isdigit() and (ns, WorkloadKind.CRON_JOB, base) in controllers:
            return ns, WorkloadKind.CRON_JOB, base
    return None


def _workload(key: Key, top: RawWorkload | None, group: _Group, diags: Diagnostics) -> Workload:
    ns, kind, name = key
    pods = group.pods
    facts: PodSpecFacts
    if top is not None:  # the controller's own pod template
        facts, replicas, origin = top.facts, top.replicas, top.origin
    elif pods:  # NP-32: the controller is not in the input: its pods say what it runs
        shape, _ = Counter(p.facts.shape() for p in pods).most_common(1)[0]  # ties: the first pod's
        shared = dict(pods[0].facts.labels)
        for p in pods[1:]:
            shared = {k: v for k, v in shared.items() if p.facts.labels.get(k) == v}
        facts = PodSpecFacts(shared, *shape)
        replicas, origin = len(pods), pods[0].origin
    else:  # only controllers below it (ReplicaSets of a Deployment not in the input), no pod
        ref = max(group.controllers, key=lambda c: c.replicas or 0)
        counts = [c.replicas for c in group.controllers]
        facts, origin = ref.facts, ref.origin
        replicas = None if None in counts else sum(c for c in counts if c is not None)
    running = any(m.running for m in (*group.controllers, *pods))
    own = PodFacts.of(facts.labels, facts.service_account, facts.ports, facts.host_network)
    interned: dict[PodFacts, PodFacts] = {}
    per_pod = tuple(interned.setdefault(f, f) for f in (PodFacts.of(p.facts.labels, *p.facts.shape()) for p in pods))
    if len(interned) > 1 and len({_beyond_controller_labels(f) for f in interned}) > 1:
        diags.info("pods-differ", f"{kind} {ns}/{name}: its {len(pods)} pods are not all alike ({len(interned)} "
                   "kinds: labels, service account or ports differ, as during a rollout); policies see each pod as "
                   "it is, the map shows the workload's connections as their union, and explain takes a pod's "
                   "name (NP-32)", origin.file, origin.line)
    return Workload(
        kind, ns, name, dict(sorted(facts.labels.items())), facts.service_account, facts.ports, facts.host_network,
        replicas, origin, _aligned_ips(pods), tuple(p.name for p in pods), running=running,
        pod_facts=() if all(f == own for f in per_pod) else per_pod)


def _beyond_controller_labels(facts: PodFacts) -> PodFacts:
    return PodFacts(tuple(kv for kv in facts.labels if kv[0] not in CONTROLLER_LABELS), facts.service_account,
                    facts.ports, facts.host_network)


def _aligned_ips(pods: list[RawWorkload]) -> tuple[tuple[str, ...], ...]:
    """Per pod (aligned with the pod names) its addresses; () when no pod has one."""
    return tuple(p.ips for p in pods) if any(p.ips for p in pods) else ()


def _alike_pods(bare: list[RawWorkload], diags: Diagnostics) -> list[Workload]:
    """Pods without a controller of a kind that runs pods (bare Pods, static Pods owned by their
    Node, pods of another project's controller) are each their own workload, except that more
    than MAX_ALIKE_PODS that no policy can tell apart (namespace, labels, service account, ports,
    hostNetwork, owner) are one workload, named after the first: N workloads would make N² pairs
    to map."""
    alike: dict[tuple[object, ...], list[RawWorkload]] = {}
    for w in bare:
        f = w.facts
        alike.setdefault((w.namespace, tuple(sorted(f.labels.items())), f.service_account, f.ports,
                          f.host_network, w.owner), []).append(w)
    out: list[Workload] = []
    for group in alike.values():
        group.sort(key=lambda p: p.name)
        heads = group if len(group) <= MAX_ALIKE_PODS else group[:1]
        for head in heads:
            members = [head] if len(group) <= MAX_ALIKE_PODS else group
            f = head.facts
            out.append(Workload(
                head.kind, head.namespace, head.name, dict(sorted(f.labels.items())), f.service_account, f.ports,
                f.host_network, len(members), head.origin, _aligned_ips(members), tuple(p.name for p in members),
                running=any(p.running for p in members)))
        if len(group) > MAX_ALIKE_PODS:
            head = group[0]
            diags.info("alike-pods", f"{len(group)} Pods of namespace {head.namespace} that no policy can tell "
                       f"apart ({head.name} … {group[-1].name}) are one workload, {head.namespace}/{head.name}; "
                       "explain still takes each pod's name", head.origin.file, head.origin.line)
    return out
