"""Observed flow endpoints placed among the peers of an analysis (issue 14): a pod by its name
(the workload its owners group it into, NP-32), else by its labels in its namespace, else by its
address (a pod's IP, a Service's cluster IP, an address outside); Hubble's reserved identities
(CIL-29) as the network. An end that cannot be placed is said so, never guessed."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace

from ..flows.read import Endpoint
from ..model import Workload
from .session import Analysis

# Reserved identities that are addresses outside the pods (CIL-29): placed by their address.
_NETWORK_IDENTITIES = {"world", "world-ipv4", "world-ipv6", "host", "remote-node", "kube-apiserver", "ingress"}


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an end is: ``peer`` as ``explain`` names peers (``ns/name``, an address, ``world``,
    a DNS name, ``service/ns/name``), or ``peer`` empty and ``reason`` why not; ``how`` says what
    placed it (pod, labels, address, reserved, dns)."""

    peer: str
    how: str
    reason: str = ""


class Placer:
    """Places endpoints of one analysis; answers are cached per endpoint."""

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        cluster = analysis.cluster
        self._pods: dict[tuple[str, str], str] = {}
        self._ips: dict[str, str] = {}
        self._by_ns: dict[str, list[Workload]] = {}
        for w in cluster.workloads:
            self._by_ns.setdefault(w.namespace, []).append(w)
            for pod in w.pods:
                self._pods[(w.namespace, pod)] = w.id
            for ips in w.pod_ips:
                for ip in ips:
                    self._ips.setdefault(ip, w.id)
        self._services = {s.cluster_ip: f"service/{s.namespace}/{s.name}" for s in cluster.services
                          if s.cluster_ip and s.cluster_ip != "None"}
        self._cache: dict[tuple[Endpoint, tuple[str, ...]], Placement] = {}

    def place(self, end: Endpoint, names: tuple[str, ...] = ()) -> Placement:
        """``names``: the DNS names Hubble saw the destination address answer for (toFQDNs)."""
        if end.peer:
            return Placement(end.peer, end.placed_by)
        key = (end, names)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._place(end, names)
        return found

    def endpoint(self, end: Endpoint, names: tuple[str, ...] = ()) -> Endpoint:
        """``end`` as its peer (``read_flows(place=…)``): ends of one workload become one; an end
        that cannot be placed stays as Hubble named it."""
        placed = self.place(end, names)
        if not placed.peer:
            return end
        return replace(end, pod="", labels=(), ip="", workload="", identity=0, peer=placed.peer, placed_by=placed.how)

    def _place(self, end: Endpoint, names: tuple[str, ...]) -> Placement:
        if end.pod:
            wid = self._pods.get((end.namespace, end.pod))
            if wid is not None:
                return Placement(wid, "pod")
            by_labels = self._by_labels(end)
            if by_labels is not None:
                return by_labels
            if end.workload and self.analysis.cluster.workload(f"{end.namespace}/{end.workload}") is not None:
                return Placement(f"{end.namespace}/{end.workload}", "workload")
            return Placement("", "", f"pod {end.namespace}/{end.pod}: not in the input, and no workload of "
                                     f"namespace {end.namespace} has its labels {{{','.join(end.labels)}}}")
        if end.labels and end.namespace:
            by_labels = self._by_labels(end)
            if by_labels is not None:
                return by_labels
        if end.ip:
            if end.ip in self._ips:
                return Placement(self._ips[end.ip], "address")
            if end.ip in self._services:
                return Placement(self._services[end.ip], "service address")
            if names and (not end.reserved or set(end.reserved) & {"world", "world-ipv4", "world-ipv6"}):
                return Placement(names[0], "dns")
            if end.reserved and not set(end.reserved) & _NETWORK_IDENTITIES:
                return Placement("", "", f"reserved:{end.reserved[0]} ({end.ip}): not a peer kubeward models")
            if not end.reserved and _private(end.ip) and (end.namespace or end.labels):
                return Placement("", "", f"{end.display}: a pod address no workload of the input has")
            return Placement(end.ip, "reserved" if end.reserved else "address")
        if set(end.reserved) & {"world", "world-ipv4", "world-ipv6"}:
            return Placement(names[0] if names else "world", "dns" if names else "reserved")
        return Placement("", "", f"{end.display}: no pod name, labels or address to place it by")

    def _by_labels(self, end: Endpoint) -> Placement | None:
        labels = dict(label.partition("=")[::2] for label in end.labels)
        if not labels:
            return None
        fits = [w for w in self._by_ns.get(end.namespace, ())
                if w.labels and all(labels.get(k) == v for k, v in w.labels.items())]
        if not fits:
            return None
        best = max(len(w.labels) for w in fits)
        fits = [w for w in fits if len(w.labels) == best]
        if len(fits) > 1:
            return Placement("", "", f"{end.display}: the labels fit {len(fits)} workloads "
                                     f"({', '.join(w.id for w in fits[:3])}): ambiguous")
        return Placement(fits[0].id, "labels")


def _private(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_private
    except ValueError:
        return False
