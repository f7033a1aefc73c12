"""`lint`: findings against the operations checklist (default deny, DNS, FQDN egress, mTLS, TLS)
and the known traps of semantics.md — each with a stable code, severity, resource, file:line and a
concrete fix. Rules computed here read the analysis (which policies isolate whom, what the map
allows); traps the dialects already detect while reading (diagnostics such as IST-17 principals
or CAL-7 rejected policies) become findings with their fix."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from ..diagnostics import Diagnostic, Severity
from ..engine.trace import StepTier
from ..errors import UsageError
from ..ir import Action, AnyPeer, Direction, DomainPeer, EntityPeer, NetworkPeer, PodPeer, Policy, PortRange, Rule
from ..model import Workload
from .connectivity_map import ConnectivityMap, connectivity_map
from .explain import explain
from .lint_hostnet import HOST_NETWORK_CODE
from .session import Analysis

SEVERITIES = (Severity.INFO, Severity.WARNING, Severity.ERROR)  # in ascending order
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
NODELOCAL_DNS = "169.254.20.10"  # NodeLocal DNSCache's link-local listen address
HOST_NETWORK_CONTROLS = ("policies cannot isolate hostNetwork pods (their traffic is their node's): restrict them on "
                         "the node (a host firewall, Cilium host policies, Calico host endpoints), match them in other "
                         "pods' policies by the node addresses (ipBlock), or run them without hostNetwork")


@dataclass(frozen=True, slots=True)
class LintRule:
    code: str
    severity: Severity
    title: str
    fix: str           # the default fix; a finding may say something more specific
    source: str = ""   # the checklist item or semantics.md rule id


# Rules computed from the analysis.
COMPUTED: dict[str, LintRule] = {r.code: r for r in (
    LintRule("no-default-deny-ingress", Severity.WARNING, "a namespace without default-deny for ingress",
             "add a NetworkPolicy with podSelector: {} and policyTypes: [Ingress], then allow what is needed",
             "checklist: default deny per namespace (NP-3)"),
    LintRule("no-default-deny-egress", Severity.WARNING, "a namespace without default-deny for egress",
             "add a NetworkPolicy with podSelector: {} and policyTypes: [Egress], then allow DNS and what is needed",
             "checklist: default deny per namespace (NP-3)"),
    LintRule("egress-deny-without-dns", Severity.WARNING, "egress is denied but DNS is not allowed",
             "allow egress to kube-system pods k8s-app=kube-dns on UDP 53 and TCP 53",
             "checklist: DNS allow"),
    LintRule("dns-nodelocal-bypass", Severity.INFO, "the DNS allow names the CoreDNS pods only",
             f"with NodeLocal DNSCache, pods ask {NODELOCAL_DNS}: also allow egress to ipBlock {NODELOCAL_DNS}/32 "
             "on UDP/TCP 53", "checklist: DNS allow"),
    LintRule("unprotected-workload", Severity.WARNING, "a workload no policy selects",
             "select it with a default-deny policy and an allow-list", "checklist: minimal allow-lists"),
    LintRule("policy-selects-nothing", Severity.WARNING, "a policy whose selector matches no workload of the input",
             "fix the selector's labels or namespace, or delete the policy", "NP-2"),
    LintRule("peer-selects-nothing", Severity.WARNING, "a rule whose peers match no workload of the input",
             "fix the peer's labels or namespace selector; a rule that matches nothing allows nothing", "NP-9"),
    LintRule("allow-from-all-namespaces", Severity.WARNING, "an ingress allow from every namespace",
             "name the namespaces with a namespaceSelector on their labels", "checklist: minimal allow-lists"),
    LintRule("allow-from-anywhere", Severity.WARNING,
             "an ingress allow from every address (0.0.0.0/0, ::/0 or any peer)",
             "name the sources: pods, namespaces or the CIDRs that need access", "checklist: minimal allow-lists"),
    LintRule("allow-to-anywhere", Severity.WARNING, "an egress allow to every address (0.0.0.0/0, ::/0 or any peer)",
             "name the destinations: pods, CIDRs, or FQDNs (Cilium toFQDNs)", "checklist: egress only where needed"),
    LintRule("one-sided-allow", Severity.WARNING, "an allow whose other side never allows the flow",
             "add the matching ingress (or egress) rule on the other side, or delete the allow",
             "NP-1: a flow needs egress of the source and ingress of the destination"),
    LintRule("entry-point-blocked", Severity.WARNING, "an Ingress, route or exposed Service that reaches no backend",
             "allow the flow on the side that refuses it: the backend's ingress from the proxy pods, the proxy's "
             "egress to the backend, or the proxy's ingress from the clients", "ING-6"),
    LintRule("mtls-strict-plaintext-client", Severity.WARNING,
             "STRICT mTLS on a workload that clients without a sidecar reach",
             "inject a sidecar into those clients, or set PERMISSIVE on the port they use (portLevelMtls)", "IST-7"),
    LintRule("policy-redundant", Severity.INFO, "a policy that changes nothing: without it, the same flows are allowed",
             "delete it, or fix it if it was meant to allow or deny something else",
             "checklist: minimal allow-lists"),
    LintRule("egress-gateway-bypass", Severity.WARNING,
             "a pod whose sidecar routes to the egress gateway can also reach the internet directly",
             "deny the pod's direct egress with a NetworkPolicy (allow only the egress gateway's pods, DNS and the "
             "cluster), so the gateway is the only way out", "IST-36"),
    LintRule("egress-gateway-identity-without-mtls", Severity.WARNING,
             "an identity rule of the egress gateway's AuthorizationPolicy that sidecars reach in plaintext",
             "send ISTIO_MUTUAL to the gateway (the DestinationRule's tls, with sni the host) and terminate it "
             "(the Gateway server's tls.mode ISTIO_MUTUAL), or match the clients by ipBlocks", "IST-42, IST-44"),
    LintRule("service-entry-all-hosts", Severity.WARNING, "a ServiceEntry that lists the host '*'",
             "list the outside hosts the workloads need, one by one (or a narrow *.domain)", "IST-28, IST-30"),
    LintRule("virtual-service-gateway-missing", Severity.WARNING,
             "a VirtualService bound to a Gateway that is not in the input",
             "fix the gateway name (namespace/name, or a name in the VirtualService's namespace) or create the "
             "Gateway", "IST-33"),
    LintRule("mesh-allow-any-with-egress-gateway", Severity.INFO,
             "outboundTrafficPolicy ALLOW_ANY while routes rely on the egress gateway",
             "set meshConfig.outboundTrafficPolicy.mode REGISTRY_ONLY (the istio ConfigMap) so hosts without a "
             "ServiceEntry are refused rather than passed through", "IST-30"),
    LintRule("calico-pass-in-last-tier", Severity.WARNING,
             "a Calico Pass in the last tier that applies: the profile allows",
             "end the tier with an explicit Deny (or Allow) rule for that traffic; Pass only hands over to a later "
             "tier", "CAL-8, CAL-11"),
    LintRule("cilium-l3-wildcard-toports", Severity.WARNING, "a toPorts-only rule: that port to any destination",
             "put the L3 selector (toFQDNs, toEndpoints, toCIDR) and toPorts in the same rule", "CIL-11"),
    LintRule("cilium-fqdn-without-ports", Severity.INFO, "toFQDNs without toPorts: every port to those names",
             "add toPorts (e.g. 443/TCP) to the toFQDNs rule", "CIL-14"),
    LintRule("cilium-l7-regex-anchored", Severity.WARNING, "an HTTP path regex that matches one exact path",
             "Envoy matches the whole path: write '/v1/catalog(/.*)?' (and allow a query string if used)",
             "CIL-16"),
    LintRule("cilium-l7-regex-dot", Severity.INFO,
             "an unescaped '.' in an HTTP path or host regex matches any character",
             "escape it: '\\.'", "CIL-16"),
    LintRule("staged-policy-ends-tier", Severity.WARNING,
             "a staged policy alone in its tier: enforcing it switches on the tier's end-of-tier Deny",
             "before enforcing it, allow in the staged policy what its endpoints need (or end it with a Pass rule); "
             "kubeward diff --staged lists the flows that would change", "CAL-24"),
    LintRule("dry-run-policy", Severity.WARNING, "an Istio AuthorizationPolicy in dry-run: not enforced",
             "remove the istio.io/dry-run annotation once its logged decisions are as intended; kubeward diff "
             "--staged lists the flows enforcing it would change", "IST-41"),
    LintRule("cilium-audit-mode", Severity.WARNING, "Cilium policy audit mode on where policies select workloads",
             "turn policy audit mode off (Helm policyAuditMode: false, or cilium-dbg endpoint config <id> "
             "PolicyAuditMode=Disabled) once Hubble's AUDIT verdicts are as intended", "CIL-32"),
)}

# Traps the dialects and checks detect while reading, with their fix.
FROM_DIAGNOSTICS: dict[str, LintRule] = {r.code: r for r in (
    LintRule("spiffe-principal", Severity.WARNING, "an Istio principal written with spiffe://",
             "write the principal as <trust-domain>/ns/<namespace>/sa/<service-account>", "IST-17"),
    LintRule("mesh-policy-inert", Severity.WARNING, "an Istio policy in a namespace without sidecars",
             "label the namespace istio-injection=enabled (and restart the pods), or delete the policy", "IST-3"),
    LintRule("sidecar-cut-off", Severity.WARNING, "default-deny egress cuts sidecars off istiod",
             "allow egress from meshed pods to istiod in istio-system on TCP 15012 and 15017", "IST-21"),
    LintRule("cilium-l7-under-mtls", Severity.WARNING, "a Cilium HTTP rule on a port Istio mTLS encrypts",
             "enforce the HTTP rule with an Istio AuthorizationPolicy, or take the port out of mTLS", "CIL-19"),
    LintRule("fqdn-without-dns-visibility", Severity.WARNING, "toFQDNs without DNS visibility",
             "add an egress rule to kube-dns on port 53 with rules: dns: [{matchPattern: '*'}]", "CIL-21"),
    LintRule("calico-port-without-protocol", Severity.ERROR, "input the Calico API server rejects",
             "set protocol: TCP (or UDP, SCTP) on a rule with numeric ports", "CAL-7"),
    LintRule("calico-source-ports", Severity.WARNING, "a Calico rule restricted to source ports",
             "source ports are the client's, usually ephemeral: to match the port the connection goes to, move the "
             "ports to destination.ports", "CAL-20"),
    LintRule("calico-version-dependent", Severity.WARNING,
             "a Calico namespaceSelector that combines global() with other terms (v3.30 and later reject it)",
             "write it without global() (all() selects every namespace, which is what !global() means) or as "
             "global() alone; to match both, write two rules", "CAL-19"),
    LintRule("calico-profile-conflict", Severity.WARNING,
             "a Calico Profile whose labelsToApply contradict its Namespace or ServiceAccount",
             "set the label on the Namespace (or ServiceAccount) and remove the key from the Profile: Calico "
             "generates the kns.* and ksa.* profiles from those objects", "CAL-21"),
    LintRule("policies-inert", Severity.WARNING, "policies under a CNI that does not enforce them",
             "run a CNI that enforces NetworkPolicy (Calico, Cilium), or set --cni to the cluster's", "CNI"),
    LintRule("staged-policy", Severity.INFO, "a Calico staged policy: a preview, not enforced",
             "kubeward diff --staged lists the flows enforcing it would change; when they are as intended, apply "
             "the policy it stages (and delete the staged one)", "CAL-23"),
    LintRule("not-enforced", Severity.INFO, "policies of a kind this CNI does not enforce",
             "run the CNI they are written for, or pass --cni to match the cluster", "CNI"),
    LintRule("rules-without-policy-type", Severity.WARNING, "rules for a direction policyTypes does not list",
             "add the direction to policyTypes, or delete the rules (they are ignored)", "NP-4"),
    LintRule("cidr-host-bits", Severity.WARNING, "a CIDR with host bits set", "write the network address", "NP-17"),
    LintRule("service-selects-nothing", Severity.WARNING, "a Service whose selector matches no pod",
             "fix the Service's selector to the pods' labels", "SVC"),
    LintRule("target-port-not-declared", Severity.WARNING, "a Service targetPort no container declares",
             "point targetPort at a declared containerPort (by number or name)", "SVC"),
    LintRule("service-account-missing", Severity.WARNING, "a workload's ServiceAccount is not in the input",
             "add the ServiceAccount (pods of a missing one are never created)", "SVC-6"),
    LintRule("backend-not-found", Severity.WARNING, "an Ingress or route backend Service is not in the input",
             "create the Service, or fix the backend's name", "ING"),
    LintRule("backend-port-not-found", Severity.WARNING, "a backend port the Service does not have",
             "use a port the Service declares", "ING"),
    LintRule("ingress-class-missing", Severity.WARNING, "an IngressClass that is not in the input",
             "create the IngressClass, or fix ingressClassName", "ING-3"),
    LintRule("ingress-conflict", Severity.WARNING, "two Ingresses of one class define the same host and path",
             "remove or rename the newer Ingress's path: the older Ingress keeps it, and ingress-nginx's admission "
             "webhook rejects the newer one", "ING-8"),
    LintRule("ingress-without-tls", Severity.WARNING, "an Ingress without TLS",
             "add spec.tls with the host and a certificate Secret", "checklist: TLS on entry points"),
    LintRule("route-without-tls", Severity.WARNING, "an OpenShift Route without TLS",
             "add spec.tls with termination: edge (or reencrypt, passthrough) and insecureEdgeTerminationPolicy: "
             "Redirect", "checklist: TLS on entry points"),
    LintRule("tls-secret-missing", Severity.WARNING, "a TLS certificate Secret that is not in the input",
             "create the Secret (or a cert-manager Certificate that does)", "checklist: TLS on entry points"),
    LintRule("listener-without-certificate", Severity.WARNING, "an HTTPS listener without a certificate",
             "add tls.certificateRefs to the listener", "GW-3"),
    LintRule("route-not-accepted", Severity.WARNING, "a route its Gateway does not accept",
             "allow the route's namespace and kind in the listener's allowedRoutes, or move the route", "GW-1"),
    LintRule("route-not-admitted", Severity.WARNING, "an OpenShift Route the router does not admit",
             "give the Route a host (or path) no older Route holds — a host belongs to the namespace of its oldest "
             "Route — or remove the older Route; the default router refuses wildcardPolicy: Subdomain",
             "ROUTE-1, ROUTE-6"),
    LintRule("ref-not-permitted", Severity.WARNING, "a cross-namespace reference without a ReferenceGrant",
             "add a ReferenceGrant in the referenced namespace", "GW-4"),
    LintRule("no-parent", Severity.WARNING, "a route whose parent Gateway is not in the input",
             "fix parentRefs, or add the Gateway", "GW-1"),
    LintRule("undefined-namespace", Severity.WARNING, "a namespace used but not defined",
             "add the Namespace with the labels selectors expect", "NP-10"),
    LintRule(HOST_NETWORK_CODE, Severity.WARNING, "a policy whose selector matches only hostNetwork pods",
             f"{HOST_NETWORK_CONTROLS}; delete this policy", "NP-25"),
)}

# Notes about the run itself.
CHECK_LIMITED = "check-limited"
NOTES: dict[str, LintRule] = {r.code: r for r in (
    LintRule(CHECK_LIMITED, Severity.INFO, "a check that stopped at its size limit: its findings are incomplete",
             "lint a part of the input at a time (a folder, a namespace) to get that check's complete answer",
             "lint size limits (docs/lint.md)"),
)}

RULES: dict[str, LintRule] = {**COMPUTED, **FROM_DIAGNOSTICS, **NOTES}


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: Severity
    message: str
    kind: str
    namespace: str
    name: str
    file: str
    line: int
    fix: str
    about: str = ""  # check-limited: the code of the check that stopped

    @property
    def resource(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}" if self.kind else ""

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else (self.file or "<input>")

    @property
    def fingerprint(self) -> str:
        """Stable across edits that move lines: the code, the resource and the message."""
        key = "\0".join((self.code, self.kind, self.namespace, self.name, self.message))
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    def to_json(self) -> dict[str, object]:
        return {"code": self.code, "severity": self.severity, "message": self.message,
                "resource": {"kind": self.kind, "namespace": self.namespace, "name": self.name},
                "file": self.file, "line": self.line, "fix": self.fix}


@dataclass(frozen=True, slots=True)
class Suppression:
    code: str
    resource: str  # "Kind ns/name", "ns/name" or "" (every resource)
    reason: str

    def covers(self, f: Finding) -> bool:
        if self.code not in (f.code, "*"):
            return False
        if not self.resource:
            return True
        short = f"{f.namespace + '/' if f.namespace else ''}{f.name}"
        return self.resource in (f.resource, short)


@dataclass(slots=True)
class LintReport:
    findings: list[Finding]
    suppressed: list[tuple[Finding, str]] = field(default_factory=list)
    input_errors: list[Diagnostic] = field(default_factory=list)
    options: list[str] = field(default_factory=list)

    def exit_code(self, fail_on: str = Severity.WARNING) -> int:
        """2: input errors; 1: a finding at or above ``fail_on``; 0 otherwise."""
        if self.input_errors:
            return 2
        floor = SEVERITIES.index(fail_on)
        return 1 if any(SEVERITIES.index(f.severity) >= floor for f in self.findings) else 0

    def to_json(self) -> dict[str, object]:
        return {"schema": 1, "options": self.options, "findings": [f.to_json() for f in self.findings],
                "suppressed": [{**f.to_json(), "reason": r} for f, r in self.suppressed],
                "inputErrors": [{k: v for k, v in d.to_json().items() if k in _INPUT_ERROR_FIELDS}
                                for d in self.input_errors]}


_INPUT_ERROR_FIELDS = ("code", "message", "file", "line")  # lint's inputErrors: a part of each diagnostic


def policy_finding(code: str, p: Policy, message: str, line: int = 0, fix: str = "") -> Finding:
    rule = RULES[code]
    return Finding(code, rule.severity, message, p.ref.kind, p.ref.namespace, p.ref.name, p.ref.file,
                   line or p.ref.line, fix or rule.fix)


def limit_note(code: str, message: str) -> Finding:
    """``check-limited``: the check ``code`` stopped at its size limit; ``message`` says where."""
    rule = RULES[CHECK_LIMITED]
    return Finding(CHECK_LIMITED, rule.severity, f"{code}: {message}", "", "", "", "", 0, rule.fix, about=code)


def _workload_finding(code: str, w: Workload, message: str, fix: str = "") -> Finding:
    rule = RULES[code]
    return Finding(code, rule.severity, message, w.kind, w.namespace, w.name, w.origin.file, w.origin.line,
                   fix or rule.fix)


def _namespace_finding(analysis: Analysis, code: str, ns: str, message: str, fix: str = "") -> Finding:
    rule = RULES[code]
    namespace = analysis.cluster.namespaces.get(ns)
    origin = namespace.origin if namespace is not None else None
    if origin is None:  # not defined: point at its first workload
        first = next((w.origin for w in analysis.cluster.workloads if w.namespace == ns and not w.assumed), None)
        origin = first
    return Finding(code, rule.severity, message, "Namespace", "", ns, origin.file if origin else "",
                   origin.line if origin else 0, fix or rule.fix)


def _default_deny(analysis: Analysis, cmap: ConnectivityMap) -> Iterable[Finding]:
    engine = analysis.engine
    by_ns: dict[str, list[Workload]] = {}
    for w in analysis.cluster.workloads:
        if not w.assumed and w.namespace not in SYSTEM_NAMESPACES and not w.host_network:
            by_ns.setdefault(w.namespace, []).append(w)
    dns_ok = {w for c in cmap.connections if c.ports.contains("UDP", 53) for w in cmap.members(c.src)}
    for ns, workloads in sorted(by_ns.items()):
        for direction, code in ((Direction.INGRESS, "no-default-deny-ingress"),
                                (Direction.EGRESS, "no-default-deny-egress")):
            open_ = []
            for w in workloads:
                idents = engine.universe.identities_of.get(w.id, [])
                side = engine.side(idents[0], direction) if idents else None
                # NP-3/CIL-1: isolated when a NetworkPolicy-tier policy selects it for this direction,
                # or (Calico) a tier has rules for it, or a baseline admin policy decides last.
                if side is None or not (side.isolating or side.named_tiers or side.rules_in(StepTier.BASELINE)):
                    open_.append(w.name)
            if open_:
                yield _namespace_finding(analysis, code, ns, f"namespace {ns}: {direction.value} is not denied by "
                                         f"default: {', '.join(sorted(open_))} accept{'s' if len(open_) == 1 else ''} "
                                         f"{'any source' if direction is Direction.INGRESS else 'any destination'} "
                                         "no policy names",
                                         fix=RULES[code].fix.replace("add a NetworkPolicy", f"add to namespace {ns} a "
                                                                     "NetworkPolicy"))
        isolated_egress = []
        for w in workloads:
            idents = engine.universe.identities_of.get(w.id, [])
            if idents:
                side = engine.side(idents[0], Direction.EGRESS)
                if side.isolating or side.named_tiers or side.rules_in(StepTier.BASELINE):
                    isolated_egress.append(w)
        # DNS servers outside the input: an egress allow rule on UDP 53 whose peers match nothing
        # here (CoreDNS not among the manifests) still counts as the DNS allow.
        no_dns = [w.name for w in isolated_egress if w.id not in dns_ok and not _udp53_rule(analysis, w)]
        if no_dns:
            yield _namespace_finding(analysis, "egress-deny-without-dns", ns,
                                     f"namespace {ns}: egress is denied and {', '.join(sorted(no_dns))} cannot "
                                     "reach any DNS server on UDP 53: name lookups fail")
        with_dns = [w for w in isolated_egress if w.id in dns_ok]
        if with_dns:
            try:
                nodelocal = explain(analysis, with_dns[0].id, NODELOCAL_DNS, 53, "UDP").verdict.allowed
            except UsageError:
                nodelocal = True
            if not nodelocal:
                yield _namespace_finding(analysis, "dns-nodelocal-bypass", ns,
                                         f"namespace {ns}: DNS is allowed to the cluster DNS pods but not to "
                                         f"NodeLocal DNSCache ({NODELOCAL_DNS}); with NodeLocal DNSCache, "
                                         "lookups fail")


def _udp53_rule(analysis: Analysis, w: Workload) -> bool:
    engine = analysis.engine
    idents = engine.universe.identities_of.get(w.id, [])
    if not idents:
        return False
    for r in engine.side(idents[0], Direction.EGRESS).all_rules:
        if r.action is Action.ALLOW and (r.ports is None or any(
                isinstance(m, PortRange) and m.protocol == "UDP" and m.first <= 53 <= m.last for m in r.ports)):
            return True
    return False


def _unprotected(analysis: Analysis) -> Iterable[Finding]:
    engine = analysis.engine
    for w in analysis.cluster.workloads:
        if w.assumed or w.namespace in SYSTEM_NAMESPACES:
            continue
        idents = engine.universe.identities_of.get(w.id, [])
        if w.host_network:  # NP-25: no policy can select it; a default-deny would not help
            yield _workload_finding("unprotected-workload", w,
                                    f"{w.kind} {w.id}: runs with hostNetwork: no policy selects it, in either "
                                    "direction, and none can (NP-25)", fix=HOST_NETWORK_CONTROLS)
        elif idents and all(engine.side(idents[0], d).open for d in Direction):
            yield _workload_finding("unprotected-workload", w,
                                    f"{w.kind} {w.id}: no policy selects it, in either direction")


def enforced_policies(analysis: Analysis) -> list[Policy]:
    kinds = analysis.options.enforced_kinds
    return [p for p in analysis.cluster.policies if p.ref.kind in kinds and not p.rejected]


def _selectors(analysis: Analysis) -> Iterable[Finding]:
    universe = analysis.engine.universe
    host_only = {d.ref for d in analysis.diagnostics.items if d.code == HOST_NETWORK_CODE}
    for p in enforced_policies(analysis):
        if p.selector_expr is not None or p.ref.kind in ("AuthorizationPolicy", "PeerAuthentication"):
            continue  # Calico selectors and Istio policies: reported by their own checks
        if p.ref in host_only:
            continue  # NP-25: it names hostNetwork pods; policy-selects-host-network says so
        if universe.subject_mask(p.subject) == 0:
            yield policy_finding("policy-selects-nothing", p,
                                  f"{p.ref.display}: its selector ({p.subject.pod_selector}) matches no workload "
                                  "of the input: it changes nothing")
            continue
        for direction in Direction:
            for r in p.rules(direction):
                pods = [peer for peer in r.peers if isinstance(peer, PodPeer)]
                if pods and len(pods) == len(r.peers) and all(universe.peer_mask(peer) == 0 for peer in pods):
                    yield policy_finding("peer-selects-nothing", p,
                                          f"{p.ref.display} {r.label}: its peers ({'; '.join(map(str, pods))}) "
                                          "match no workload of the input", line=r.line)


def _broad(analysis: Analysis) -> Iterable[Finding]:
    for p in enforced_policies(analysis):
        for direction in Direction:
            for r in p.rules(direction):
                if r.action is not Action.ALLOW:
                    continue
                for peer in r.peers:
                    if p.ref.kind.startswith("Cilium") and _l3_wildcard(direction, r, p.rules(direction)):
                        continue  # a toPorts-only rule: cilium-l3-wildcard-toports says it (CIL-11)
                    everywhere = isinstance(peer, AnyPeer) or (
                        isinstance(peer, EntityPeer) and peer.entity in ("all", "world")) or (
                        isinstance(peer, NetworkPeer) and peer.cidr in ("0.0.0.0/0", "::/0") and not peer.excepts)
                    if everywhere:
                        code = "allow-from-anywhere" if direction is Direction.INGRESS else "allow-to-anywhere"
                        on = f" on {_ports_text(r)}" if r.ports else " on every port"
                        yield policy_finding(code, p, f"{p.ref.display} {r.label}: allows "
                                              f"{'from' if direction is Direction.INGRESS else 'to'} {peer}{on}",
                                              line=r.line)
                        break
                    if direction is Direction.INGRESS and isinstance(peer, PodPeer) and peer.namespace is None \
                            and peer.namespace_selector is not None and peer.namespace_selector.is_everything:
                        yield policy_finding("allow-from-all-namespaces", p,
                                              f"{p.ref.display} {r.label}: allows {peer}", line=r.line)
                        break


def _ports_text(r: Rule) -> str:
    return ", ".join(str(m) for m in r.ports or ())


def _l3_wildcard(direction: Direction, r: Rule, rules: Iterable[Rule]) -> bool:
    """CIL-11: an egress toPorts-only rule next to narrower egress rules (rules do not combine)."""
    return direction is Direction.EGRESS and bool(r.ports) and any(isinstance(x, AnyPeer) for x in r.peers) \
        and any(not any(isinstance(x, AnyPeer) for x in o.peers) for o in rules if o is not r)


_ANCHORED = re.compile(r"^\^?/[^.*+?()\[\]{}|\\$]*\$?$")
_UNESCAPED_DOT = re.compile(r"(?<!\\)\.(?![*+?])")


def _cilium(analysis: Analysis) -> Iterable[Finding]:
    for p in enforced_policies(analysis):
        if not p.ref.kind.startswith("Cilium"):
            continue
        for direction in Direction:
            rules = p.rules(direction)
            for r in rules:
                if r.action is not Action.ALLOW:
                    continue
                # CIL-11: a rule with toPorts and no L3 part allows that port to (from) anything.
                if _l3_wildcard(direction, r, rules):
                    yield policy_finding("cilium-l3-wildcard-toports", p,
                                          f"{p.ref.display} {r.label}: toPorts without an L3 selector allows "
                                          f"{_ports_text(r)} to any destination, next to narrower egress rules "
                                          "(they do not combine across rules)", line=r.line)
                if any(isinstance(x, DomainPeer) for x in r.peers) and r.ports is None:
                    yield policy_finding("cilium-fqdn-without-ports", p,
                                          f"{p.ref.display} {r.label}: toFQDNs without toPorts allows every port "
                                          "to these names", line=r.line)
                for h in r.l7.http if r.l7 is not None else ():
                    if h.path and _ANCHORED.match(h.path):
                        exact = h.path.strip("^$")
                        yield policy_finding(
                            "cilium-l7-regex-anchored", p,
                            f"{p.ref.display} {r.label}: path '{h.path}' matches only the exact path {exact} "
                            f"(not {exact.rstrip('/')}/1, not {exact}?q=1): the regex matches the whole path",
                            line=h.line or r.line,
                            fix=f"write '{exact}(/.*)?' for the path and its subpaths; add '(\\?.*)?' "
                                "for a query string")
                    for value in (h.path, h.host):
                        if value and _UNESCAPED_DOT.search(value):
                            yield policy_finding("cilium-l7-regex-dot", p,
                                                  f"{p.ref.display} {r.label}: '{value}': an unescaped '.' "
                                                  "matches any character", line=h.line or r.line)


def _bits(mask: int) -> Iterable[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


MESH_PAIRS = 2000       # explained (client, meshed workload) pairs at most
REDUNDANCY_POLICIES = 40  # inputs with more enforced policies skip policy-redundant (one re-analysis each)


def _strict_mtls(analysis: Analysis) -> Iterable[Finding]:
    """IST-7: for each workload with a sidecar, the clients without one that the CNI lets through
    but the sidecar refuses (STRICT mTLS)."""
    from ..engine.mesh import membership
    from ..engine.trace import Effect, Reason

    if analysis.options.mesh != "istio":
        return
    cluster = analysis.cluster
    meshed = [w for w in cluster.workloads if membership(cluster, w)[0] == "sidecar"]
    plain = [w for w in cluster.workloads if not membership(cluster, w)[0] and not w.host_network]
    budget = MESH_PAIRS
    targets = [(dst, port) for dst in meshed
               if (port := next((p.port for p in dst.ports if p.protocol == "TCP"), None)) is not None]
    for k, (dst, port) in enumerate(targets):
        refused = []
        for src in plain:
            if budget <= 0:
                left = len(targets) - k
                yield limit_note("mtls-strict-plaintext-client",
                                 f"stopped after {MESH_PAIRS:,} (client, meshed workload) pairs of "
                                 f"{len(targets) * len(plain):,}: {left:,} meshed workload(s) not checked or checked "
                                 f"in part, from {dst.kind} {dst.id} on")
                return
            budget -= 1
            try:
                steps = explain(analysis, src.id, dst.id, port, "TCP").verdict.steps
            except UsageError:
                continue
            if any(st.reason is Reason.MTLS_REQUIRED for st in steps) and \
                    all(st.effect != Effect.DENY for st in steps if st.reason is not Reason.MTLS_REQUIRED):
                refused.append(src.id)
        if refused:
            yield _workload_finding("mtls-strict-plaintext-client", dst,
                                    f"{dst.kind} {dst.id}: mTLS STRICT refuses {', '.join(refused)} on TCP/{port}: "
                                    "the network allows them, but they have no sidecar")


def _entry_verdicts(cmap: ConnectivityMap) -> set[tuple[str, str, bool]]:
    return {(repr(sorted((k, repr(v)) for k, v in e.via.items())), e.request, e.path.allowed) for e in cmap.entries}


def _redundant(analysis: Analysis, cmap: ConnectivityMap) -> Iterable[Finding]:
    """A policy whose removal leaves the connectivity map as it is. Exact, by re-analysis: only
    for inputs with at most REDUNDANCY_POLICIES enforced policies."""
    from ..diagnostics import Diagnostics
    from .session import analyse_objects

    policies = [p for p in enforced_policies(analysis) if p.ref.kind not in ("PeerAuthentication",)]
    count = len({(p.ref.kind, p.ref.namespace, p.ref.name) for p in policies})
    if count > REDUNDANCY_POLICIES:
        yield limit_note("policy-redundant", f"not checked: {count:,} enforced policies, more than "
                                             f"{REDUNDANCY_POLICIES} (the check analyses the input again without "
                                             "each policy)")
        return
    if not policies:
        return
    cmap = connectivity_map(analysis) if cmap.grouped else cmap  # pair by pair: group names differ between inputs
    baseline = {(c.src, c.dst): (c.ports, repr(c.l7), repr(c.mesh)) for c in cmap.connections}
    entries = _entry_verdicts(cmap)
    seen: set[tuple[str, str, str]] = set()
    for p in policies:
        key = (p.ref.kind, p.ref.namespace, p.ref.name)
        if key in seen:
            continue
        seen.add(key)
        if p.subject.pod_selector.is_everything and not p.ingress and not p.egress:
            continue  # a namespace's default deny: it guards the pods that come later
        rest = [o for o in analysis.objects if not (o.kind == p.ref.kind and o.name == p.ref.name
                                                     and o.namespace in (p.ref.namespace, ""))]
        if len(rest) == len(analysis.objects):
            continue
        other_map = connectivity_map(analyse_objects(rest, Diagnostics(), replace(analysis.options)))
        other = {(c.src, c.dst): (c.ports, repr(c.l7), repr(c.mesh)) for c in other_map.connections}
        if other == baseline and _entry_verdicts(other_map) == entries:
            yield policy_finding("policy-redundant", p, f"{p.ref.display}: without it the same flows are allowed "
                                  "(what it allows is allowed by other policies or refused on the other side, "
                                  "and every pod it "
                                  "isolates is isolated by another policy)")


def _egress(analysis: Analysis) -> Iterable[Finding]:
    """IST-28 … IST-36: the traps of the egress gateway pattern (analyses/lint_egress.py)."""
    from .lint_egress import egress_findings

    for code, message, kind, ns, name, file, line in egress_findings(analysis):
        rule = COMPUTED[code]
        yield Finding(code, rule.severity, message, kind, ns, name, file, line, rule.fix)


def _calico_pass(analysis: Analysis) -> Iterable[Finding]:
    """CAL-8: a Pass in the last tier that applies to an endpoint hands the flow to the endpoint's
    profiles, which allow in Kubernetes — often not what "Pass" was meant to do."""
    if analysis.options.cni != "calico":
        return
    engine = analysis.engine
    by_ref = {(p.ref.kind, p.ref.namespace, p.ref.name): p for p in analysis.cluster.policies}
    reported: set[tuple[str, int]] = set()
    for ident in engine.universe.identities:
        for direction in Direction:
            tiers = engine.side(ident, direction).named_tiers
            if not tiers:
                continue
            last = tiers[-1]
            for r in last.rules:
                key = (r.policy.display, r.line)
                if r.action is Action.PASS and key not in reported:
                    reported.add(key)
                    p = by_ref.get((r.policy.kind, r.policy.namespace, r.policy.name))
                    if p is not None:
                        yield policy_finding("calico-pass-in-last-tier", p,
                                              f"{p.ref.display} {r.label}: Pass in tier {last.name}, the last tier "
                                              f"that applies to {ident.namespace} pods {{{_labels(ident.labels)}}}: "
                                              "the flow goes to the profiles, which allow it", line=r.line)


def _labels(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if not k.startswith("pod-template-hash"))


def lint(analysis: Analysis, cmap: ConnectivityMap | None = None) -> LintReport:
    """Every finding; ``cmap``: the connectivity map when the caller has it already."""
    cmap = cmap or connectivity_map(analysis, grouped=True)
    findings: list[Finding] = []
    input_errors: list[Diagnostic] = []
    for d in analysis.diagnostics.sorted():
        rule = FROM_DIAGNOSTICS.get(d.code)
        if rule is None:
            if d.severity is Severity.ERROR:
                input_errors.append(d)
            continue
        kind, ns, name = (d.ref.kind, d.ref.namespace, d.ref.name) if d.ref is not None else ("", "", "")
        file, line = d.file, d.line
        if not file and d.related:  # a summary ("… first at FILE:LINE"): point at its first object
            file, line = d.related[0].file, d.related[0].line
        findings.append(Finding(d.code, d.severity, d.message, kind, ns, name, file, line, rule.fix))
    from .lint_reach import blocked_entries, one_sided  # it reads this module's rule table
    from .lint_staged import staged_findings  # likewise

    computed: list[Finding] = []
    for source in (_default_deny(analysis, cmap), _unprotected(analysis), _selectors(analysis), _broad(analysis),
                   _cilium(analysis), one_sided(analysis), _strict_mtls(analysis), _redundant(analysis, cmap),
                   _calico_pass(analysis), blocked_entries(analysis, cmap, findings), staged_findings(analysis),
                   _egress(analysis)):
        computed.extend(source)
    findings.extend(_explain_redundancy(computed, findings))
    findings.sort(key=lambda f: (f.file, f.line, f.code, f.message))
    return LintReport(findings, input_errors=input_errors, options=analysis.options.describe())


_SAYS_WHY = ("one-sided-allow", "policy-selects-nothing", HOST_NETWORK_CODE)  # findings that explain a redundancy


def _explain_redundancy(computed: list[Finding], from_diagnostics: list[Finding]) -> list[Finding]:
    """``policy-redundant`` only where no other finding says why the policy changes nothing. A
    policy redundant because the other side refuses its allows gets its one-sided findings, which
    say so and name the missing half instead of "delete it"."""
    def key(f: Finding) -> tuple[str, str, str]:
        return f.kind, f.namespace, f.name

    explained = {key(f) for f in (*computed, *from_diagnostics) if f.code in _SAYS_WHY}
    redundant = {key(f) for f in computed if f.code == "policy-redundant"}
    out = []
    for f in computed:
        if f.code == "policy-redundant" and key(f) in explained:
            continue
        if f.code == "one-sided-allow" and key(f) in redundant:
            f = replace(f, message=f"{f.message}; as it stands the policy changes nothing: it lacks its other half")
        out.append(f)
    return out


def select(report: LintReport, min_severity: str = Severity.INFO, disabled: Iterable[str] = (),
           suppressions: Iterable[Suppression] = ()) -> LintReport:
    """The report with findings below ``min_severity`` dropped, ``disabled`` codes dropped, and
    findings a suppression covers moved to ``suppressed`` with its reason."""
    floor = SEVERITIES.index(min_severity)
    off = set(disabled)
    rules = list(suppressions)
    kept: list[Finding] = []
    quiet: list[tuple[Finding, str]] = []
    for f in report.findings:
        # A check-limited note goes wherever the findings of the check it qualifies go.
        severity = RULES[f.about].severity if f.about else f.severity
        if f.code in off or f.about in off or SEVERITIES.index(severity) < floor:
            continue
        reason = next((s.reason for s in rules if s.covers(f)), None)
        if reason is None:
            kept.append(f)
        else:
            quiet.append((f, reason))
    return LintReport(aggregate(kept), quiet, report.input_errors, report.options)


# Per-workload findings summed up per namespace when a namespace has more than AGGREGATE_ABOVE of
# them (a real cluster: 1,000 unprotected workloads are one finding per namespace, with the list).
AGGREGATE_ABOVE = 5
AGGREGATED = {"unprotected-workload": "workloads no policy selects, in either direction"}


def aggregate(findings: list[Finding]) -> list[Finding]:
    """``findings`` with each namespace's AGGREGATED findings (those with the rule's own fix)
    replaced by one finding about the namespace listing them, when there are more than
    AGGREGATE_ABOVE; at the first one's file:line."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        if f.code in AGGREGATED and f.kind != "Namespace" and f.fix == RULES[f.code].fix:
            groups.setdefault((f.code, f.namespace), []).append(f)
    merged = {id(f) for group in groups.values() if len(group) > AGGREGATE_ABOVE for f in group}
    if not merged:
        return findings
    out = [f for f in findings if id(f) not in merged]
    for (code, ns), group in groups.items():
        if len(group) <= AGGREGATE_ABOVE:
            continue
        first = min(group, key=lambda f: (f.file, f.line))
        names = ", ".join(sorted(f"{f.kind} {f.name}" for f in group))
        out.append(Finding(code, first.severity, f"namespace {ns}: {len(group):,} {AGGREGATED[code]}: {names}",
                           "Namespace", "", ns, first.file, first.line, first.fix))
    out.sort(key=lambda f: (f.file, f.line, f.code, f.message))
    return out
