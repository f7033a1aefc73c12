"""Trace steps: returned data that says how a verdict came about."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..ir import Direction, PolicyRef


class Layer(StrEnum):
    """What a packet or request meets on its way; each layer is ANDed with the others."""

    ENTRY = "entry"      # Ingress / Gateway listener and route, TLS
    SERVICE = "service"  # Service exposure and translation to the pod port
    CNI = "cni"          # the CNI's policy tiers (and Cilium's L7 proxy)
    MESH = "mesh"        # the Istio sidecar: mTLS, AuthorizationPolicy
    XDP = "xdp"          # an XDP program at the node's NIC, before the CNI (--xdp, issue 15)


class Effect(StrEnum):
    """What a step does to the flow. Stable: part of the JSON contract."""

    ALLOW = "allow"
    DENY = "deny"
    PASS = "pass"   # on to the next tier
    NONE = "none"   # a fact on the way: decides nothing
    WARN = "warn"   # a hop that works but with a caveat (e.g. no TLS)


class StepTier(StrEnum):
    """Where in its layer a step was taken. Stable: part of the JSON contract."""

    # cni
    DENY = "deny"                    # Cilium's deny rules (CIL-23)
    ADMIN = "admin"                  # AdminNetworkPolicy (ANP-1)
    NETWORK_POLICY = "networkpolicy"  # NetworkPolicy and Cilium allows (NP-4, CIL-24)
    BASELINE = "baseline"            # BaselineAdminNetworkPolicy
    CALICO = "calico"                # a Calico tier (CAL-10)
    PROFILE = "profile"              # Calico's namespace profile (CAL-14)
    DEFAULT = "default"              # no tier decided
    SELF = "self"                    # NP-7
    NONE = "none"                    # no policy applies (not a pod, hostNetwork, inert CNI)
    L7 = "l7"                        # Cilium's HTTP proxy
    XDP = "xdp"                      # the XDP program at the node's NIC (--xdp)
    # mesh
    MESH = "mesh"
    # entry and service hops
    INGRESS = "ingress"
    GATEWAY = "gateway"
    ROUTE = "route"
    TLS = "tls"
    ENTRY = "entry"
    EXPOSURE = "exposure"
    SERVICE = "service"


class Reason(StrEnum):
    """Why a step has the effect it has. Stable: part of the JSON contract."""

    SELF = "self-traffic"                    # NP-7: a pod reaching itself
    HOST_NETWORK = "host-network"            # NP-25: hostNetwork pods are not selected
    NOT_A_POD = "not-a-pod"                  # external side: no policy applies
    RULE_MATCHED = "rule-matched"            # an admin/baseline rule decided (allow, deny or pass)
    PEER_MISMATCH = "peer-mismatch"          # a rule's peers do not include the other end
    PORT_MISMATCH = "port-mismatch"          # a rule's ports do not include the flow's port
    SHADOWED = "shadowed"                    # an earlier rule already decided these ports
    ISOLATED = "isolated"                    # a NetworkPolicy isolates the subject (NP-3)
    ALLOWED_BY_RULE = "allowed-by-rule"      # NP-4: one allow rule of an isolating policy matched
    NO_RULE_MATCHED = "no-rule-matched"      # isolated and nothing allowed it: default deny
    NOT_ISOLATED = "not-isolated"            # no NetworkPolicy selects the subject in this direction
    DEFAULT_ALLOW = "default-allow"          # no tier decided: Kubernetes default allow
    PASSED = "passed"                        # an admin Pass sent the flow to the next tier
    PODS_DIFFER = "pods-differ"              # pods of one workload get different answers
    CNI_INERT = "cni-not-enforcing"          # flannel / none: no policy is enforced
    POLICY_REJECTED = "policy-rejected"      # the API server refuses the policy: not applied (CAL-7)
    POLICY_AUDIT = "policy-audit"            # Cilium policy audit mode: would be denied, allowed (CIL-31)
    NOT_ENFORCED = "not-enforced"            # a staged or dry-run policy would change this (CAL-23, IST-40)
    FQDN_INEFFECTIVE = "fqdn-without-dns-visibility"  # CIL-21
    L7_ALLOWED = "l7-allowed"                # an HTTP rule admits the request (CIL-15)
    L7_DENIED = "l7-denied"                  # no HTTP rule admits it: the proxy answers 403 (CIL-17)
    L7_UNRESTRICTED = "l7-unrestricted"      # an L4-only allow covers the port: no L7 filter (CIL-18)
    # mesh (Istio)
    MESH_INERT = "mesh-inert"                # no sidecar at the destination: Istio policies inert (IST-3)
    MTLS = "mtls"                            # the connection's mTLS mode (IST-4 … IST-6)
    MTLS_REQUIRED = "mtls-required"          # STRICT and a plaintext client: refused (IST-7)
    MESH_CUSTOM = "mesh-custom"              # CUSTOM action: external authorizer decides
    MESH_DENIED = "mesh-denied"              # a DENY AuthorizationPolicy rule matches
    MESH_NO_ALLOW = "mesh-no-allow-policy"   # no ALLOW policy applies: allowed
    MESH_ALLOWED = "mesh-allowed"            # an ALLOW rule matches
    MESH_RULE_MISMATCH = "mesh-rule-mismatch"
    MESH_CONDITIONAL = "mesh-conditional"    # depends on the request or on what kubeward cannot know
    MESH_NOT_ALLOWED = "mesh-not-allowed"    # ALLOW policies apply and none matches: 403
    # mesh egress (IST-28 … IST-36)
    MESH_BYPASS = "mesh-bypass"              # no sidecar at the source: the mesh's egress controls do not apply
    MESH_OUTBOUND = "mesh-outbound"          # the sidecar knows the host (ServiceEntry) or passes it through
    MESH_BLACKHOLE = "mesh-blackhole"        # REGISTRY_ONLY, or the Sidecar hides the host: BlackHoleCluster, 502
    MESH_EGRESS_ROUTE = "mesh-egress-route"  # a VirtualService sends the host to the egress gateway, or on out
    MESH_TLS = "mesh-tls"                    # the TLS a proxy opens (DestinationRule) or a gateway server takes
    # entry and service hops
    ROUTED = "routed"                        # an Ingress rule or a route matches the request
    NO_ROUTE = "no-route"                    # nothing matches: 404, or no listener
    NOT_ACCEPTED = "route-not-accepted"      # the Gateway does not accept the route (GW-1)
    BACKEND_INVALID = "backend-invalid"      # BackendNotFound, RefNotPermitted, missing port (GW-2)
    TLS = "tls"                              # certificate and redirect facts (ING-5, GW-3)
    TRANSLATED = "service-translated"        # Service port → pod port (SVC-1, NP-24)
    NO_ENDPOINTS = "no-endpoints"            # no pod backs the Service port
    EXPOSED = "exposed"                      # NodePort / LoadBalancer: reachable from outside (SVC-3)
    NOT_EXPOSED = "not-exposed"              # ClusterIP / headless: not reachable from outside
    SOURCE_NAT = "source-nat"                # externalTrafficPolicy: Cluster (SVC-4)
    # the XDP layer (--xdp, issue 15): what BPF_PROG_TEST_RUN returned for the flow's packet
    XDP_DROPPED = "xdp-dropped"              # XDP_DROP (or ABORTED, TX, REDIRECT): never reaches the CNI
    XDP_PASSED = "xdp-passed"                # XDP_PASS: on to the CNI


@dataclass(frozen=True, slots=True)
class Step:
    layer: Layer
    direction: Direction  # egress: the source's side; ingress: the destination's side
    subject: str          # the peer whose policies this step reads
    tier: StepTier
    reason: Reason
    effect: Effect
    message: str
    policy: PolicyRef | None = None
    rule: int | None = None
    rule_name: str = ""
    line: int = 0
    section: str = ""  # the YAML list of the rule when not ingress/egress (Cilium ingressDeny, egressDeny)
    xdp: tuple[str, str, str] | None = None  # layer xdp: (object file, section, XDP action)

    @property
    def where(self) -> str:
        if self.policy is None:
            return ""
        return f"{self.policy.file}:{self.line or self.policy.line}"

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "layer": str(self.layer),
            "direction": self.direction.value,
            "subject": self.subject,
            "tier": str(self.tier),
            "reason": self.reason.value,
            "effect": str(self.effect),
            "message": self.message,
        }
        if self.policy is not None:
            out["policy"] = {"kind": self.policy.kind, "namespace": self.policy.namespace,
                             "name": self.policy.name}
            out["rule"] = self.rule
            if self.rule_name:
                out["ruleName"] = self.rule_name
            if self.section:
                out["section"] = self.section
            out["file"] = self.policy.file
            out["line"] = self.line or self.policy.line
        if self.xdp is not None:
            out["xdp"] = {"object": self.xdp[0], "section": self.xdp[1], "action": self.xdp[2]}
        return out
