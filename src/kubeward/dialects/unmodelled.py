"""Kinds kubeward knows but does not model, that can expose workloads or open traffic.

Every kind kubeward does not model is reported once per kind (``not-modelled``). For most
(a ConfigMap, Istio Telemetry) that is a note: they carry no traffic decision. The kinds below
are different: they are entry points (they let traffic in from outside through a proxy kubeward
does not see) or policies and proxy configurations that can let through traffic the modelled
policies refuse. Ignoring them could make the analysis show less than the cluster allows, so
each is a warning that leans "may allow more than shown" (or "either way" when the kind can
also refuse). docs/lint.md ("Kinds known but not modelled") lists them with the reason.

Deliberately not here (a note is enough: they refuse more, or open nothing the analysis does not
already show): Istio ``Sidecar`` and ``DestinationRule`` (narrow egress, client TLS),
``RequestAuthentication`` (rejects bad tokens only), ``ServiceEntry`` (under the default
``ALLOW_ANY`` egress is already what the CNI allows, IST-20), ``Telemetry``; Linkerd's policy
kinds (allow-lists over its default policy: they only refuse); Cilium ``CiliumEgressGatewayPolicy``
(changes the source address of egress, not what is allowed), BGP and LB-IPAM kinds (a
LoadBalancer Service is already an exposed entry point); Calico staged policies (never
enforced); ``Endpoints``/``EndpointSlice`` (a Service's backends, not its exposure).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..diagnostics import Leans


class Opens(StrEnum):
    """How an unmodelled kind can let in traffic the analysis does not show."""

    ENTRY = "entry point"
    POLICY = "policy"
    PROXY = "proxy configuration"

    @property
    def how(self) -> str:
        return _HOW[self]


_HOW = {Opens.ENTRY: "it lets traffic in from outside through a proxy",
        Opens.POLICY: "it can allow traffic the modelled policies refuse",
        Opens.PROXY: "it can re-route traffic or bypass the modelled filters"}


@dataclass(frozen=True, slots=True)
class Unmodelled:
    product: str
    opens: Opens
    leans: Leans = Leans.MAY_ALLOW_MORE


_ISTIO, _CILIUM, _ANTREA = "Istio", "Cilium", "Antrea"
_TRAEFIK = ("traefik.io", "traefik.containo.us")

# (API group, kind) → what it is. A kind here is never a "did you mean" misspelling.
OPENS_TRAFFIC: dict[tuple[str, str], Unmodelled] = {
    ("networking.istio.io", "Gateway"): Unmodelled(_ISTIO, Opens.ENTRY),
    ("networking.istio.io", "VirtualService"): Unmodelled(_ISTIO, Opens.ENTRY),
    ("networking.istio.io", "EnvoyFilter"): Unmodelled(_ISTIO, Opens.PROXY, Leans.EITHER),
    ("gateway.networking.x-k8s.io", "XListenerSet"): Unmodelled("Gateway API", Opens.ENTRY),
    ("gateway.networking.k8s.io", "ListenerSet"): Unmodelled("Gateway API", Opens.ENTRY),
    ("projectcontour.io", "HTTPProxy"): Unmodelled("Contour", Opens.ENTRY),
    **{(g, k): Unmodelled("Traefik", Opens.ENTRY) for g in _TRAEFIK
       for k in ("IngressRoute", "IngressRouteTCP", "IngressRouteUDP")},
    ("configuration.konghq.com", "TCPIngress"): Unmodelled("Kong", Opens.ENTRY),
    ("configuration.konghq.com", "UDPIngress"): Unmodelled("Kong", Opens.ENTRY),
    **{("getambassador.io", k): Unmodelled("Emissary-ingress", Opens.ENTRY)
       for k in ("Mapping", "TCPMapping", "Host", "Listener")},
    **{("k8s.nginx.org", k): Unmodelled("NGINX Ingress Controller", Opens.ENTRY)
       for k in ("VirtualServer", "VirtualServerRoute", "TransportServer")},
    **{("gateway.solo.io", k): Unmodelled("Gloo", Opens.ENTRY) for k in ("Gateway", "VirtualService", "RouteTable")},
    ("zalando.org", "RouteGroup"): Unmodelled("Skipper", Opens.ENTRY),
    ("serving.knative.dev", "Service"): Unmodelled("Knative", Opens.ENTRY),
    ("serving.knative.dev", "Route"): Unmodelled("Knative", Opens.ENTRY),
    ("cilium.io", "CiliumEnvoyConfig"): Unmodelled(_CILIUM, Opens.PROXY),
    ("cilium.io", "CiliumClusterwideEnvoyConfig"): Unmodelled(_CILIUM, Opens.PROXY),
    ("cilium.io", "CiliumLocalRedirectPolicy"): Unmodelled(_CILIUM, Opens.PROXY, Leans.EITHER),
    # Antrea-native policies sit in tiers before Kubernetes NetworkPolicies: an Allow there wins.
    ("crd.antrea.io", "ClusterNetworkPolicy"): Unmodelled(_ANTREA, Opens.POLICY, Leans.EITHER),
    ("crd.antrea.io", "NetworkPolicy"): Unmodelled(_ANTREA, Opens.POLICY, Leans.EITHER),
}


def opens_traffic(group: str, kind: str) -> Unmodelled | None:
    """What an unmodelled kind can open, or None when it opens nothing the analysis misses."""
    return OPENS_TRAFFIC.get((group, kind))
