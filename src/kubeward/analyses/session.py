"""Loading an input into an analysable snapshot, and naming peers in it."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..diagnostics import Diagnostics, Leans
from ..dialects import build_cluster
from ..engine.engine import Engine
from ..engine.entrypeers import add_entry_workloads, check_entry
from ..engine.flow import FlowEnd
from ..engine.mesh import add_mesh_workloads, check_mesh
from ..engine.options import Cni, Mesh, Options
from ..engine.profiles import resolve_cni
from ..engine.services import check_services, find_service, selected_workloads
from ..engine.staging import stage
from ..engine.trace import Effect
from ..engine.universe import WORLD_IPV6, Identity, Network, world_name
from ..errors import UsageError
from ..ir import L7Kind
from ..loader import RawObject, load_paths, load_text
from ..model import Cluster, MtlsMode, PodFacts, Service, Workload, WorkloadKind
from .lint_hostnet import check_host_network_subjects

if TYPE_CHECKING:  # the live package is imported only when a cluster is read
    from ..live import LiveSnapshot

WORLD = "world"
_DOMAIN = re.compile(r"^(\*\.)?([a-z0-9]([-a-z0-9_]*[a-z0-9])?\.)+[a-z0-9]([-a-z0-9_]*[a-z0-9])?\.?$", re.I)
# Where `world` points: a public address outside every private and reserved range.
_PRIVATE = [ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/3")]


@dataclass(slots=True)
class Analysis:
    """One input, loaded and analysed under one profile: what every analysis reads.

    ``options`` are the resolved options (``auto`` replaced by what the input says)."""

    objects: list[RawObject]
    cluster: Cluster
    engine: Engine

    @property
    def diagnostics(self) -> Diagnostics:
        return self.cluster.diagnostics

    @property
    def options(self) -> Options:
        return self.engine.options


def analyse_objects(objects: list[RawObject], diags: Diagnostics, options: Options | None = None, *,
                    extra_domains: Iterable[str] = (), adjust: Callable[[Cluster], None] | None = None) -> Analysis:
    """Analyse objects already loaded (``diags``: the loading's diagnostics, which the analysis
    adds to). ``extra_domains``: DNS names to place in the universe besides those the policies name.
    ``adjust``: called on the model as the dialects built it, before anything reads it (``labels``'
    relabel simulation changes labels there)."""
    cluster = build_cluster(objects, diags)
    if adjust is not None:
        adjust(cluster)
    stage(cluster, options or Options(), diags)  # CAL-23, IST-40: staged and dry-run policies
    options = resolve_cni(cluster, options or Options(), diags)
    add_entry_workloads(cluster, diags, options.ingress_controller)
    add_mesh_workloads(cluster, options, diags)
    check_services(cluster, diags)
    check_entry(cluster, diags, options.watch_ingress_without_class)
    check_mesh(cluster, options, diags)
    analysis = Analysis(objects, cluster, Engine(cluster, options, extra_domains))
    mesh_cni_checks(analysis)
    check_host_network_subjects(analysis.engine, diags)  # NP-25: policies that select only hostNetwork pods
    return analysis


def analyse_paths(paths: Iterable[str], options: Options | None = None, *,
                  extra_domains: Iterable[str] = (), shown_as: Callable[[str], str] | None = None) -> Analysis:
    """Load files, folders and ``-`` (stdin) and analyse them under ``options`` (default: every
    choice ``auto``). ``shown_as`` renames each file in every file:line (``diff --git`` uses it)."""
    diags = Diagnostics()
    objects = load_paths(paths, diags, shown_as)
    return analyse_objects(objects, diags, options, extra_domains=extra_domains)


def analyse_cluster(snapshot: LiveSnapshot | None = None, *, kubeconfig: str | None = None,
                    context: str | None = None, overlay: Sequence[str] = (), options: Options | None = None,
                    extra_domains: Iterable[str] = ()) -> Analysis:
    """Analyse a live cluster: ``snapshot`` (from ``read_cluster``), else the cluster of the
    kubeconfig context (``kubeconfig``/``context`` as kubectl's flags; None: ``KUBECONFIG`` and
    the current context), read now. ``overlay``: files, folders or ``-`` applied over the
    live objects (same group, kind, namespace and name replaces): the cluster as it would run
    after ``kubectl apply -f``. Raises ``ClusterError`` when the cluster cannot be read."""
    if snapshot is None:
        from ..live import read_cluster

        snapshot = read_cluster(kubeconfig=kubeconfig, context=context,
                                root_namespace=(options or Options()).root_namespace)
    diags = Diagnostics()
    snapshot.report(diags)
    files = load_paths(overlay, diags) if overlay else []
    from ..live import overlay as overlay_objects

    return analyse_objects(overlay_objects(snapshot, files, diags), diags, options, extra_domains=extra_domains)


def analyse_input(paths: Sequence[str], options: Options | None = None, *, cluster: LiveSnapshot | None = None,
                  extra_domains: Iterable[str] = ()) -> Analysis:
    """What every command analyses: ``paths``, or with ``cluster`` the live cluster with ``paths``
    overlaid."""
    if cluster is not None:
        return analyse_cluster(cluster, overlay=paths, options=options, extra_domains=extra_domains)
    return analyse_paths(paths, options, extra_domains=extra_domains)


def analyse_text(text: str, file: str = "<text>", options: Options | None = None) -> Analysis:
    """Analyse YAML or JSON text (one or more documents); ``file`` names it in every file:line."""
    diags = Diagnostics()
    return analyse_objects(load_text(text, file, diags), diags, options)


def unknown_namespaces(analysis: Analysis, namespaces: Iterable[str]) -> list[str]:
    """The ``namespaces`` the input does not have, sorted."""
    return sorted(set(namespaces) - set(analysis.cluster.namespaces))


def is_domain(spec: str) -> bool:
    return "/" not in spec and ":" not in spec and not is_ip(spec) and bool(_DOMAIN.match(spec)) \
        and not spec.replace(".", "").isdigit()


def is_ip(text: str) -> bool:
    """Whether ``text`` is an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def world_address(analysis: Analysis) -> str:
    """A public address, in the largest atom of public IPv4 space."""
    best: tuple[int, str] | None = None
    # Largest atoms first: once an atom is no larger than the best part found, none can beat it.
    atoms = sorted((a for a in analysis.engine.universe.networks if a.version == 4), key=lambda a: a.first - a.last)
    for atom in atoms:
        if best is not None and atom.last - atom.first + 1 <= best[0]:
            break
        for net in atom.cidrs:
            n = ipaddress.IPv4Network(net)
            if any(n.subnet_of(p) for p in _PRIVATE):
                continue
            for candidate in _public_parts(n):
                size = candidate.num_addresses
                if best is None or size > best[0]:
                    best = (size, str(candidate.network_address + (1 if size > 2 else 0)))
    return best[1] if best else "8.8.8.8"


def _public_parts(net: ipaddress.IPv4Network) -> list[ipaddress.IPv4Network]:
    parts: list[ipaddress.IPv4Network] = [net]
    for private in _PRIVATE:
        nxt: list[ipaddress.IPv4Network] = []
        for p in parts:
            if p.overlaps(private):
                if p.subnet_of(private):
                    continue
                if private.subnet_of(p):
                    nxt.extend(p.address_exclude(private))
                    continue
            nxt.append(p)
        parts = nxt
    return parts


_SPACES = {WORLD: "0.0.0.0/0", WORLD_IPV6: "::/0"}
_GLOBAL_V6 = int(ipaddress.IPv6Address("2000::1"))


def network_spec(spec: str, role: str = "to") -> tuple[int, int, int, list[tuple[int, int]]] | None:
    """A range of addresses as the outputs name them (issue 17: one name for the outside world):
    ``world`` (0.0.0.0/0), ``world-ipv6`` (::/0), a CIDR, a range ``FIRST-LAST`` (a map's piece),
    and any of them ``except CIDR, …`` (a map group's IP block): (IP version, first, last, the
    excepted ranges). None: not one of those. Raises UsageError on a bad ``except``."""
    base, sep, rest = spec.partition(" except ")
    base = _SPACES.get(base.strip(), base.strip())
    first, dash, last = base.partition("-")
    try:
        if "/" in base:
            net = ipaddress.ip_network(base, strict=False)
            version, lo, hi = net.version, int(net.network_address), int(net.broadcast_address)
        elif dash and is_ip(first) and is_ip(last):
            a, b = ipaddress.ip_address(first), ipaddress.ip_address(last)
            version, lo, hi = a.version, int(a), int(b)
            if b.version != version or lo > hi:
                return None
        else:
            return None
    except ValueError:
        return None
    try:
        cuts = [ipaddress.ip_network(x.strip(), strict=False) for x in rest.split(",")] if sep else []
    except ValueError as exc:
        raise UsageError(f"--{role} {spec!r}: {exc}") from None
    return version, lo, hi, sorted((int(c.network_address), int(c.broadcast_address)) for c in cuts
                                   if c.version == version)


def network_address(analysis: Analysis, spec: str, role: str) -> tuple[str, Network] | None:
    """An address in the range ``spec`` names (``network_spec``) and its atom: ``world``'s public
    address for the whole IPv4 space, else one of the largest part of the range that one atom of
    the universe holds whole (the parts of one atom have one verdict). None: not a range."""
    parsed = network_spec(spec, role)
    if parsed is None:
        return None
    version, lo, hi, cuts = parsed
    u = analysis.engine.universe
    if not any(a.version == version for a in u.networks):
        raise UsageError(f"--{role} {spec}: no IPv6 address is modelled (the input names none): not an address "
                         "kubeward can place")
    if version == 4 and (lo, hi) == (0, 2**32 - 1):  # world's public address, unless an except holds it
        address = world_address(analysis)
        if not any(c_lo <= int(ipaddress.IPv4Address(address)) <= c_hi for c_lo, c_hi in cuts):
            atom = u.atom_of(address)
            assert atom is not None
            return address, atom
    best: tuple[int, int, Network] | None = None
    for atom in (a for a in u.networks if a.version == version and a.last >= lo and a.first <= hi):
        start, end = max(atom.first, lo), min(atom.last, hi)
        for c_lo, c_hi in cuts:  # the first address of the piece outside every except
            if c_lo <= start <= c_hi:
                start = c_hi + 1
        if start <= end and (best is None or end - start > best[1] - best[0]):
            best = (start, end, atom)
    if best is None:
        raise UsageError(f"--{role} {spec}: no address left in it")
    start, end, piece = best
    number = start + 1 if end - start > 1 else start
    if version == 6 and start <= _GLOBAL_V6 <= end:  # a global unicast address rather than ::1
        number = _GLOBAL_V6
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    return str(cls(number)), piece


def resolve_peer(analysis: Analysis, spec: str, role: str) -> FlowEnd:
    """A peer named on the command line: ``namespace/name``, an IP address, ``world``,
    ``world-ipv6``, a CIDR (and ``… except CIDR, …``: an address of it), or a DNS name."""
    u = analysis.engine.universe
    ranged = network_address(analysis, spec, role) if spec != WORLD else None
    if ranged is not None:
        name = spec if " except " in spec else world_name(spec.replace(WORLD_IPV6, "::/0"))  # 0.0.0.0/0 is world
        where = "" if ranged[1].id == name else f" in {ranged[1].id}"
        return FlowEnd(ranged[1], f"{name} ({ranged[0]}{where})", None, ranged[0])
    if spec == WORLD:
        address = world_address(analysis)
        atom = u.atom_of(address)
        assert atom is not None
        where = "" if atom.id == WORLD else f" in {atom.id}"  # the whole space is itself `world` (issue 17)
        return FlowEnd(atom, f"world ({address}{where})", None, address)
    if is_ip(spec):
        ident = u.identity_of_ip(spec)
        if ident is not None:
            workload = next((w for w in ident.workloads if any(spec in ips for ips in w.pod_ips)),
                            ident.workloads[0])
            return FlowEnd(ident, f"{workload.id} ({spec})", workload, spec)
        atom = u.atom_of(spec)
        if atom is None:
            raise UsageError(f"--{role} {spec}: not an address kubeward can place")
        return FlowEnd(atom, f"{spec} (in {atom.id})", None, spec)
    if "/" in spec:
        ns, _, name = spec.partition("/")
        if "/" in name or not ns or not name:
            raise UsageError(f"--{role} {spec!r}: expected namespace/name, an IP address, 'world' or a DNS name")
        idents = u.identities_of.get(spec)
        grouped = None if idents else _pod_of_group(analysis, ns, name)
        if grouped is not None:  # a pod of a group of alike bare pods (one workload, named after the first)
            return FlowEnd(grouped[0], spec, grouped[1])
        if not idents:
            known = sorted(u.identities_of)
            near = [k for k in known if k.endswith("/" + name) or k.startswith(ns + "/")][:5]
            hint = f"; workloads there: {', '.join(near)}" if near else ""
            raise UsageError(f"--{role} {spec}: no workload {spec} in the input{hint}")
        return FlowEnd(idents[0], spec, analysis.cluster.workload(spec))
    dns = cluster_dns_name(analysis.cluster, spec) if is_domain(spec) else None
    if dns is not None and dns.pod:
        w = dns.workload(analysis.cluster)
        return FlowEnd(u.identities_of[w.id][0], f"{w.id} ({spec})", w)
    if dns is not None:
        svc = dns.service
        raise UsageError(f"--{role} {spec}: the cluster DNS name of Service {svc.namespace}/{svc.name}, which "
                         "sends no traffic of its own: name a workload (namespace/name) (SVC-7)")
    if is_domain(spec):
        domain = u.domain(spec)
        if domain is None:
            raise UsageError(f"--{role} {spec}: internal error: domain not in the universe")
        return FlowEnd(domain, spec)
    raise UsageError(f"--{role} {spec!r}: expected namespace/name, an IP address, 'world' or a DNS name")


def _pod_of_group(analysis: Analysis, ns: str, pod: str) -> tuple[Identity, Workload] | None:
    """The identity and workload of the pod ``ns/pod`` when it is a pod of a workload named
    otherwise (a controller's pod, NP-32, or one of a group of alike Pods): the identity of its
    own labels and ports (when its pods differ) and of its own addresses, if it has any."""
    u = analysis.engine.universe
    for w in analysis.cluster.workloads:
        if w.namespace == ns and pod in w.pods and w.id in u.identities_of:
            idents = u.identities_of[w.id]
            index = w.pods.index(pod)
            ips = w.pod_ips[index] if len(w.pod_ips) == len(w.pods) else ()
            facts = w.pod_facts[index] if len(w.pod_facts) == len(w.pods) else None
            return next((i for i in idents if _is_pod(i, facts, ips)), idents[0]), w
    return None


def _is_pod(ident: Identity, facts: PodFacts | None, ips: tuple[str, ...]) -> bool:
    """Whether ``ident`` is the identity of a pod that shows ``facts`` and has the addresses ``ips``."""
    if facts is not None and (tuple(sorted(ident.labels.items())), ident.ports) != (facts.labels, facts.ports):
        return False
    return not ips or bool(set(ips) & set(ident.ips))


@dataclass(frozen=True, slots=True)
class ClusterDnsName:
    """A name the cluster's DNS answers for a Service of the input (SVC-7): ``NAME.NS``,
    ``NAME.NS.svc`` or ``NAME.NS.svc.ZONE``; with ``pod``, a headless Service's pod
    ``POD.NAME.NS.svc[.ZONE]``."""

    service: Service
    pod: str = ""

    def workload(self, cluster: Cluster) -> Workload:
        """The workload whose pod ``pod`` is: a pod the input names, or a StatefulSet's ordinal pod
        ``NAME-N``, among the Service's backends. Raises UsageError when there is none."""
        svc, name = self.service, f"{self.pod}.{self.service.name}.{self.service.namespace}.svc"
        if svc.cluster_ip != "None":
            raise UsageError(f"--to {name}: Service {svc.namespace}/{svc.name} is not headless: the cluster DNS "
                             "has no per-pod names under it (SVC-7)")
        for w in selected_workloads(cluster, svc):
            ordinal = w.kind == WorkloadKind.STATEFUL_SET and re.fullmatch(rf"{re.escape(w.name)}-(\d+)", self.pod)
            if self.pod in w.pods or (ordinal and (w.replicas is None or int(ordinal.group(1)) < w.replicas)):
                return w
        raise UsageError(f"{name}: no pod {self.pod} behind headless Service {svc.namespace}/{svc.name} in the "
                         "input (SVC-7)")


def cluster_dns_name(cluster: Cluster, spec: str) -> ClusterDnsName | None:
    """SVC-7: ``spec`` as a Service's cluster DNS name, when the input has that Service."""
    labels = spec.lower().rstrip(".").split(".")
    at = labels.index("svc", 2) if "svc" in labels[2:4] else len(labels) if len(labels) == 2 else -1
    if at not in (2, 3):
        return None
    pod, name, ns = ([""] + labels[:2]) if at == 2 else labels[:3]
    service = find_service(cluster, ns, name)
    return ClusterDnsName(service, pod) if service is not None else None


__all__ = ["Analysis", "analyse_cluster", "analyse_input", "analyse_paths", "analyse_text", "analyse_objects",
           "resolve_peer", "cluster_dns_name", "ClusterDnsName", "Network"]


def mesh_cni_checks(analysis: Analysis) -> None:
    """Where the mesh and the CNI meet: sidecars cut off from istiod (IST-21), Cilium HTTP rules
    on ports that carry Istio mTLS (CIL-19), and egress the mesh does not control (IST-20)."""
    from ..engine.flow import decide
    from ..engine.mesh import istiod, membership, peer_authentication

    cluster, engine, options = analysis.cluster, analysis.engine, analysis.options
    if options.mesh != Mesh.ISTIO:
        return
    diags = analysis.diagnostics
    control = istiod(cluster, options)
    u = engine.universe
    meshed = [w for w in cluster.workloads if membership(cluster, w)[0] == "sidecar"]
    if control is not None:
        target = FlowEnd(u.identities_of[control.id][0], control.id, control)
        for w in meshed:
            verdict = decide(engine, FlowEnd(u.identities_of[w.id][0], w.id, w), target, "TCP", 15012)
            if not verdict.allowed:
                deny = next((s for s in verdict.steps if s.effect == Effect.DENY), None)
                where = f" ({deny.policy.display}, {deny.where})" if deny and deny.policy else ""
                diags.warning("sidecar-cut-off", f"{w.id} runs a sidecar but its egress to {control.id}:15012 (xDS and "
                              f"certificates) is denied{where}: its proxy never gets configuration (IST-21)",
                              w.origin.file, w.origin.line, w.ref, Leans.MAY_DENY_MORE)  # an unconfigured proxy drops
    if options.cni == Cni.CILIUM:
        for p in cluster.policies:
            if p.ref.kind not in options.enforced_kinds:
                continue
            for rule in (*p.ingress, *p.egress):
                if rule.l7 is None or rule.l7.kind is not L7Kind.HTTP:
                    continue
                mask = engine.subject_masks.get(id(p), 0)
                subjects = [w for w in meshed if mask >> u.identities_of[w.id][0].index & 1]
                if any(peer_authentication(cluster, options, w, 0)[0] is not MtlsMode.DISABLE for w in subjects):
                    diags.warning("cilium-l7-under-mtls", f"{p.ref.display} {rule.label}: HTTP rules on traffic that "
                                  "Istio sidecars encrypt with mTLS: Cilium's proxy cannot parse it (CIL-19); Cilium "
                                  "requires PeerAuthentication DISABLE for HTTP policies", p.ref.file, rule.line,
                                  p.ref, Leans.EITHER)
    if meshed:
        from .egress import outbound_policy, revision_of, sidecar_of

        diags.info("mesh-egress", "AuthorizationPolicy does not restrict egress in sidecar mode (IST-20); flows to "
                   "DNS names go through the sidecar's registry, outboundTrafficPolicy and the egress gateway "
                   "(IST-28 … IST-36)")
        strict = [w for w in meshed
                  if outbound_policy(analysis, sidecar_of(analysis, w), revision_of(analysis, w))[0] == "REGISTRY_ONLY"]
        if strict:
            # IST-30, IST-49: explain applies the sidecar to a flow to an address; the map does not.
            diags.warning("mesh-egress-addresses", f"outboundTrafficPolicy REGISTRY_ONLY applies to {len(strict)} "
                          f"workload(s) with a sidecar ({strict[0].id} first): the map answers their flows to IP "
                          "addresses or CIDRs (not DNS names) by the CNI alone, but their sidecar refuses addresses "
                          "no ServiceEntry lists (IST-30; explain with --to ADDRESS applies it, IST-49)",
                          leans=Leans.MAY_DENY_MORE)
