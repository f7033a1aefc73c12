"""`kubeward lint`: findings against the operations checklist and the known traps, each with a
stable code, severity, resource, file:line and fix.

The two tables below read as the rules' specification: for every code, a small manifest where it
fires and a near miss — the same manifest with the smallest edit that makes the trap go away —
where it does not. The line a finding points at is marked in the manifest with ``# <-``.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kubeward.analyses.lint import COMPUTED, FROM_DIAGNOSTICS, NOTES, RULES, Finding, lint
from kubeward.analyses.session import analyse_text
from kubeward.cli import main
from kubeward.engine.options import Options

FILE = "x.yaml"
MARK = "# <-"

# ============================================================================ building blocks


def namespace(name: str = "app", mark: bool = False, labels: dict[str, str] | None = None) -> str:
    pairs = ", ".join(f"{k}: {v}" for k, v in (labels or {}).items())
    meta = f"{{name: {name}" + (f", labels: {{{pairs}}}" if pairs else "") + "}"
    return f"apiVersion: v1{'  ' + MARK if mark else ''}\nkind: Namespace\nmetadata: {meta}\n"


def deployment(name: str, port: int = 80, ns: str = "app", mark: bool = False) -> str:
    return textwrap.dedent(f"""\
        apiVersion: apps/v1{'  ' + MARK if mark else ''}
        kind: Deployment
        metadata: {{name: {name}, namespace: {ns}}}
        spec:
          selector: {{matchLabels: {{app: {name}}}}}
          template:
            metadata: {{labels: {{app: {name}}}}}
            spec: {{containers: [{{name: c, image: x, ports: [{{containerPort: {port}}}]}}]}}
        """)


def docs(*parts: str) -> str:
    return "---\n".join(textwrap.dedent(p) for p in parts)


def edit(text: str, old: str, new: str) -> str:
    """``text`` with the one occurrence of ``old`` replaced: the near miss of a firing manifest."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def mark_at(text: str, needle: str) -> str:
    """``text`` with its ``# <-`` mark moved to the one line that contains ``needle``."""
    lines = text.replace(f"  {MARK}", "").split("\n")
    [i] = [i for i, line in enumerate(lines) if needle in line]
    lines[i] += f"  {MARK}"
    return "\n".join(lines)


KUBE_DNS = docs(namespace("kube-system"), """\
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: coredns, namespace: kube-system}
    spec:
      selector: {matchLabels: {k8s-app: kube-dns}}
      template:
        metadata: {labels: {k8s-app: kube-dns}}
        spec:
          containers:
          - name: coredns
            image: coredns
            ports: [{containerPort: 53, protocol: UDP}, {containerPort: 53, protocol: TCP}]
    """)

WEB, DB, API = deployment("web", 80), deployment("db", 3306), deployment("api", 8080)


def netpol(name: str, body: str, mark: bool = False) -> str:
    return (f"apiVersion: networking.k8s.io/v1{'  ' + MARK if mark else ''}\nkind: NetworkPolicy\n"
            f"metadata: {{name: {name}, namespace: app}}\nspec:\n" + textwrap.indent(textwrap.dedent(body), "  "))


def cnp(name: str, *body: str) -> str:
    return (f"apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {{name: {name}, namespace: app}}\n"
            "spec:\n" + "".join(textwrap.indent(textwrap.dedent(b).rstrip(" "), "  ") for b in body))


DENY_EGRESS = netpol("deny-egress", "podSelector: {}\npolicyTypes: [Egress]\n")
ALLOW_DNS = netpol("allow-dns", """\
    podSelector: {}
    policyTypes: [Egress]
    egress:
    - to:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
        podSelector: {matchLabels: {k8s-app: kube-dns}}
      ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
    """)
CILIUM_DNS = """\
    - toEndpoints:
      - matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s:k8s-app: kube-dns}
      toPorts:
      - ports: [{port: "53", protocol: UDP}, {port: "53", protocol: TCP}]
        rules: {dns: [{matchPattern: "*"}]}
    """

# ============================================================================ running lint


def lint_text(text: str, cni: str = "generic", mesh: str = "auto", cilium_audit: bool = False) -> list[Finding]:
    report = lint(analyse_text(text, file=FILE, options=Options(cni=cni, mesh=mesh, cilium_audit=cilium_audit)))
    assert not report.input_errors, report.input_errors
    return report.findings


def of(findings: list[Finding], code: str) -> list[Finding]:
    return [f for f in findings if f.code == code]


def marked_line(text: str) -> int:
    [line] = [i + 1 for i, line in enumerate(text.splitlines()) if MARK in line]
    return line


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def run_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = run("lint", *args, "--format", "json")
    return result.exit_code, json.loads(result.stdout)


@dataclass(frozen=True)
class Case:
    code: str
    severity: str
    resource: tuple[str, str, str]  # kind, namespace, name
    firing: str
    near_miss: str
    cni: str = "generic"
    mesh: str = "auto"
    near_miss_cni: str | None = None
    fix: str | None = None  # when the finding says something more specific than the rule's fix
    cilium_audit: bool = False  # CIL-31: --cilium-audit, on both manifests

    def __str__(self) -> str:
        return self.code


def check_case(case: Case) -> None:
    found = of(lint_text(case.firing, case.cni, case.mesh, case.cilium_audit), case.code)
    assert len(found) == 1, found
    [f] = found
    assert (f.severity, (f.kind, f.namespace, f.name), f.file, f.line) == (
        case.severity, case.resource, FILE, marked_line(case.firing)), f
    assert f.fix == (case.fix if case.fix is not None else RULES[case.code].fix)
    assert not of(lint_text(case.near_miss, case.near_miss_cni or case.cni, case.mesh, case.cilium_audit), case.code)


# ============================================================================ computed rules

_deny_in_only = docs(namespace(mark=True), WEB, netpol("deny", "podSelector: {}\npolicyTypes: [Ingress]\n"))
_deny_out_only = docs(namespace(mark=True), WEB, netpol("deny", "podSelector: {}\npolicyTypes: [Egress]\n"))
# Egress denied; DNS allowed on TCP only (a common slip: lookups go over UDP first).
_dns_tcp_only = docs(namespace(mark=True), WEB, KUBE_DNS, DENY_EGRESS,
                     edit(ALLOW_DNS, "[{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]",
                          "[{port: 53, protocol: TCP}]"))
_dns_coredns_only = docs(namespace(mark=True), WEB, KUBE_DNS, DENY_EGRESS, ALLOW_DNS)
_db_ingress_only = docs(namespace(), deployment("web", mark=True), DB, netpol("db-ingress", """\
    podSelector: {matchLabels: {app: db}}
    policyTypes: [Ingress]
    """))
_selects_typo = docs(namespace(), WEB, DB, netpol("db-ingress", """\
    podSelector: {matchLabels: {app: dbb}}
    policyTypes: [Ingress]
    """, mark=True))
_peer_typo = docs(namespace(), WEB, DB, netpol("db-ingress", f"""\
    podSelector: {{matchLabels: {{app: db}}}}
    policyTypes: [Ingress]
    ingress:
    - from: [{{podSelector: {{matchLabels: {{app: wbe}}}}}}]  {MARK}
      ports: [{{port: 3306}}]
    """))
_all_namespaces = docs(namespace(), WEB, DB, netpol("db-ingress", f"""\
    podSelector: {{matchLabels: {{app: db}}}}
    policyTypes: [Ingress]
    ingress:
    - from: [{{namespaceSelector: {{}}}}]  {MARK}
      ports: [{{port: 3306}}]
    """))
_all_namespaces_pods = edit(_all_namespaces, "{namespaceSelector: {}}",
                            "{namespaceSelector: {}, podSelector: {matchLabels: {app: web}}}")
_from_anywhere = edit(_all_namespaces, "{namespaceSelector: {}}", "{ipBlock: {cidr: 0.0.0.0/0}}")
_from_any_peer = edit(_all_namespaces, "- from: [{namespaceSelector: {}}]", "- ports: [{port: 3306}]") \
    .replace("\n    ports: [{port: 3306}]\n", "\n")
_to_anywhere = docs(namespace(), WEB, netpol("web-egress", f"""\
    podSelector: {{matchLabels: {{app: web}}}}
    policyTypes: [Egress]
    egress:
    - to: [{{ipBlock: {{cidr: 0.0.0.0/0}}}}]  {MARK}
      ports: [{{port: 443, protocol: TCP}}]
    """))
_one_sided = docs(namespace(), WEB, DB, netpol("web-egress", f"""\
    podSelector: {{matchLabels: {{app: web}}}}
    policyTypes: [Egress]
    egress:
    - to: [{{podSelector: {{matchLabels: {{app: db}}}}}}]  {MARK}
      ports: [{{port: 3306}}]
    """), netpol("db-ingress", """\
    podSelector: {matchLabels: {app: db}}
    policyTypes: [Ingress]
    ingress:
    - from: [{podSelector: {matchLabels: {app: web}}}]
      ports: [{port: 5432}]
    """))
_toports_only = docs(namespace(), WEB, DB, cnp("web-egress", f"""\
    endpointSelector: {{matchLabels: {{app: web}}}}
    egress:
    - toEndpoints: [{{matchLabels: {{app: db}}}}]
    - toPorts: [{{ports: [{{port: "3306", protocol: TCP}}]}}]  {MARK}
    """))
_fqdn_no_ports = docs(namespace(), WEB, KUBE_DNS, cnp("web-egress", f"""\
    endpointSelector: {{matchLabels: {{app: web}}}}
    egress:
    - toFQDNs: [{{matchName: api.example.com}}]  {MARK}
    """, CILIUM_DNS))
_toports_alone = docs(namespace(), WEB, cnp("web-egress", f"""\
    endpointSelector: {{matchLabels: {{app: web}}}}
    egress:
    - toPorts: [{{ports: [{{port: "443", protocol: TCP}}]}}]  {MARK}
    """))
_to_world = docs(namespace(), WEB, cnp("web-egress", f"""\
    endpointSelector: {{matchLabels: {{app: web}}}}
    egress:
    - toEntities: [world]
      toPorts: [{{ports: [{{port: "443", protocol: TCP}}]}}]  {MARK}
    """))
_from_all = edit(edit(edit(_to_world, "egress:", "ingress:"), "toEntities: [world]", "fromEntities: [all]"),
                 '"443"', '"80"')
_l7 = docs(namespace(), WEB, API, cnp("api-http", f"""\
    endpointSelector: {{matchLabels: {{app: api}}}}
    ingress:
    - fromEndpoints: [{{matchLabels: {{app: web}}}}]
      toPorts:
      - ports: [{{port: "8080", protocol: TCP}}]
        rules:
          http:
          - method: GET  {MARK}
            path: "/v1/catalog"
    """))
_l7_host_dot = edit(_l7, 'path: "/v1/catalog"', "host: api.example.com")
_l7_path_dot = edit(_l7, 'path: "/v1/catalog"', 'path: "/v1/catalog.json"')

_redundant = docs(namespace(), WEB, API, deployment("db", 3306), netpol("db-from-app", """\
    podSelector: {matchLabels: {app: db}}
    ingress:
    - from: [{podSelector: {}}]
      ports: [{port: 3306}]
    """), netpol("db-from-web", """\
    podSelector: {matchLabels: {app: db}}
    ingress:
    - from: [{podSelector: {matchLabels: {app: web}}}]
      ports: [{port: 3306, protocol: TCP}]
    """, mark=True), netpol("default-deny", "podSelector: {}\npolicyTypes: [Ingress]\n"))

_strict = docs(namespace(labels={"istio-injection": "enabled"}), deployment("web", 80, mark=True),
               namespace("plain"), deployment("client", 80, ns="plain"), """\
    apiVersion: security.istio.io/v1
    kind: PeerAuthentication
    metadata: {name: default, namespace: app}
    spec: {mtls: {mode: STRICT}}
    """)


_calico_pass = docs(namespace(), deployment("db", 3306), """\
    apiVersion: projectcalico.org/v3
    kind: NetworkPolicy
    metadata: {name: db-pass, namespace: app}
    spec:
      selector: app == 'db'
      types: [Ingress]
      ingress:
      - action: Pass  # <-
        source: {selector: app == 'web'}
    """)


_SERVICE = """\
    apiVersion: v1
    kind: Service
    metadata: {name: web, namespace: app}
    spec:
      selector: {app: web}
      ports: [{port: 80}]
    """
_ingress = docs(namespace(), WEB, _SERVICE, f"""\
    apiVersion: networking.k8s.io/v1{'  ' + MARK}
    kind: Ingress
    metadata: {{name: web, namespace: app}}
    spec:
      ingressClassName: nginx
      rules:
      - host: shop.example.com
        http:
          paths:
          - path: /
            pathType: Prefix
            backend: {{service: {{name: web, port: {{number: 80}}}}}}
    """)
# ING-6: default deny isolates the backend's ingress; the controller's pods are not admitted.
_entry_blocked = docs(_ingress, netpol("deny", "podSelector: {}\npolicyTypes: [Ingress]\n"))
_ENTRY_ALLOW = netpol("from-controller", """\
    podSelector: {matchLabels: {app: web}}
    ingress:
    - from:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}
        podSelector: {matchLabels: {app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/component: controller}}
      ports: [{port: 80}]
    """)

_staged_alone_in_tier = docs(namespace(), WEB, """\
    apiVersion: projectcalico.org/v3
    kind: Tier
    metadata: {name: security}
    spec: {order: 100}
    """, f"""\
    apiVersion: projectcalico.org/v3  {MARK}
    kind: StagedGlobalNetworkPolicy
    metadata: {{name: security.web}}
    spec:
      tier: security
      selector: app == 'web'
      types: [Ingress]
    """)
_audited_cnp = docs(namespace(), WEB, cnp("web-ingress", """\
    endpointSelector: {matchLabels: {app: web}}
    ingress: [{fromEndpoints: [{}]}]
    """).replace("apiVersion: cilium.io/v2", f"apiVersion: cilium.io/v2  {MARK}"))
_dry_run = docs(namespace(labels={"istio-injection": "enabled"}), WEB, f"""\
    apiVersion: security.istio.io/v1  {MARK}
    kind: AuthorizationPolicy
    metadata:
      name: deny-web
      namespace: app
      annotations: {{istio.io/dry-run: "true"}}
    spec:
      selector: {{matchLabels: {{app: web}}}}
      action: DENY
      rules: [{{to: [{{operation: {{paths: ["/admin"]}}}}]}}]
    """)
# IST-28 … IST-36: the egress gateway pattern (examples/shop-egress, Istio's egress gateway task).
_EGRESS_GW = """\
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: istio-egressgateway, namespace: istio-system}
    spec:
      selector: {matchLabels: {istio: egressgateway}}
      template:
        metadata: {labels: {istio: egressgateway}}
        spec: {containers: [{name: istio-proxy, image: x, ports: [{containerPort: 8443}]}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: istio-egressgateway, namespace: istio-system}
    spec: {selector: {istio: egressgateway}, ports: [{port: 443, targetPort: 8443}]}
    ---
    apiVersion: networking.istio.io/v1
    kind: Gateway
    metadata: {name: egress, namespace: istio-system}
    spec:
      selector: {istio: egressgateway}
      servers: [{port: {number: 443, name: tls, protocol: TLS}, hosts: [api.example.com], tls: {mode: PASSTHROUGH}}]
    ---
    apiVersion: networking.istio.io/v1
    kind: ServiceEntry
    metadata: {name: api, namespace: istio-system}
    spec: {hosts: [api.example.com], ports: [{number: 443, name: tls, protocol: TLS}], resolution: DNS}
    ---
    apiVersion: networking.istio.io/v1  @MARK@
    kind: VirtualService
    metadata: {name: api-via-gateway, namespace: istio-system}
    spec:
      hosts: [api.example.com]
      gateways: [mesh, egress]
      tls:
      - match: [{gateways: [mesh], port: 443, sniHosts: [api.example.com]}]
        route: [{destination: {host: istio-egressgateway.istio-system.svc.cluster.local, port: {number: 443}}}]
      - match: [{gateways: [egress], port: 443, sniHosts: [api.example.com]}]
        route: [{destination: {host: api.example.com, port: {number: 443}}}]
    """
_REGISTRY_ONLY = """\
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: istio, namespace: istio-system}
    data: {mesh: "outboundTrafficPolicy: {mode: REGISTRY_ONLY}"}
    """
_egress_vs = _EGRESS_GW.replace("  @MARK@", "")
_egress_vs_marked = _EGRESS_GW.replace("@MARK@", MARK)
_meshed = namespace(labels={"istio-injection": "enabled"})
_bypass = docs(_meshed, deployment("web", mark=True), _egress_vs, _REGISTRY_ONLY)
_no_bypass = docs(_meshed, deployment("web"), _egress_vs, _REGISTRY_ONLY, DENY_EGRESS)
_allow_any = docs(_meshed, deployment("web", mark=True), _egress_vs, DENY_EGRESS)
_GW_FROM_APP = f"""\
    apiVersion: security.istio.io/v1  {MARK}
    kind: AuthorizationPolicy
    metadata: {{name: egress-from-app, namespace: istio-system}}
    spec:
      selector: {{matchLabels: {{istio: egressgateway}}}}
      rules: [{{from: [{{source: {{namespaces: [app]}}}}]}}]
    """
_GW_MUTUAL = """\
    apiVersion: networking.istio.io/v1
    kind: DestinationRule
    metadata: {name: egressgateway, namespace: istio-system}
    spec:
      host: istio-egressgateway.istio-system.svc.cluster.local
      trafficPolicy: {tls: {mode: ISTIO_MUTUAL, sni: api.example.com}}
    """
_identity_plain = docs(_meshed, WEB, _egress_vs, _GW_FROM_APP)
_all_hosts = docs(_meshed, WEB, f"""\
    apiVersion: networking.istio.io/v1  {MARK}
    kind: ServiceEntry
    metadata: {{name: everything, namespace: app}}
    spec: {{hosts: ["*"], ports: [{{number: 443, name: tls, protocol: TLS}}]}}
    """)
_missing_gw = docs(_meshed, WEB, edit(_egress_vs_marked, """    kind: Gateway
    metadata: {name: egress, namespace: istio-system}""", """    kind: Gateway
    metadata: {name: egress-gw, namespace: istio-system}"""))

COMPUTED_CASES = [
    Case("no-default-deny-ingress", "warning", ("Namespace", "", "app"),
         _deny_out_only, edit(_deny_out_only, "[Egress]", "[Egress, Ingress]"),
         fix="add to namespace app a NetworkPolicy with podSelector: {} and policyTypes: [Ingress], then allow what "
             "is needed"),
    Case("no-default-deny-egress", "warning", ("Namespace", "", "app"),
         _deny_in_only, edit(_deny_in_only, "[Ingress]", "[Ingress, Egress]"),
         fix="add to namespace app a NetworkPolicy with podSelector: {} and policyTypes: [Egress], then allow DNS "
             "and what is needed"),
    Case("egress-deny-without-dns", "warning", ("Namespace", "", "app"),
         _dns_tcp_only, _dns_coredns_only),
    Case("dns-nodelocal-bypass", "info", ("Namespace", "", "app"),
         _dns_coredns_only, edit(_dns_coredns_only, "  - to:\n", "  - to:\n    - ipBlock: {cidr: 169.254.20.10/32}\n")),
    Case("unprotected-workload", "warning", ("Deployment", "app", "web"),
         _db_ingress_only, edit(_db_ingress_only, "podSelector: {matchLabels: {app: db}}",
                                "podSelector: {matchExpressions: [{key: app, operator: In, values: [db, web]}]}")),
    Case("policy-selects-nothing", "warning", ("NetworkPolicy", "app", "db-ingress"),
         _selects_typo, edit(_selects_typo, "{app: dbb}", "{app: db}")),
    Case("peer-selects-nothing", "warning", ("NetworkPolicy", "app", "db-ingress"),
         _peer_typo, edit(_peer_typo, "{app: wbe}", "{app: web}")),
    Case("allow-from-all-namespaces", "warning", ("NetworkPolicy", "app", "db-ingress"),
         _all_namespaces, edit(_all_namespaces, "{namespaceSelector: {}}",
                               "{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: app}}}")),
    Case("allow-from-all-namespaces", "warning", ("NetworkPolicy", "app", "db-ingress"),
         _all_namespaces_pods, edit(_all_namespaces_pods, "namespaceSelector: {}, ", "")),
    Case("allow-from-anywhere", "warning", ("NetworkPolicy", "app", "db-ingress"),
         _from_anywhere, edit(_from_anywhere, "{cidr: 0.0.0.0/0}", "{cidr: 0.0.0.0/0, except: [10.0.0.0/8]}")),
    Case("allow-from-anywhere", "warning", ("NetworkPolicy", "app", "db-ingress"),
         edit(_from_anywhere, "0.0.0.0/0", "'::/0'"), edit(_from_anywhere, "0.0.0.0/0", "'2001:db8::/32'")),
    Case("allow-from-anywhere", "warning", ("NetworkPolicy", "app", "db-ingress"),
         _from_any_peer, edit(_from_any_peer, "- ports: [{port: 3306}]",
                              "- from: [{podSelector: {}}]\n    ports: [{port: 3306}]")),
    Case("allow-to-anywhere", "warning", ("NetworkPolicy", "app", "web-egress"),
         _to_anywhere, edit(_to_anywhere, "0.0.0.0/0", "203.0.113.0/24")),
    # Cilium: the entities world (≡ 0.0.0.0/0) and all, and a toPorts-only rule on its own (an L3
    # wildcard: that port to anything); next to narrower rules it is cilium-l3-wildcard-toports instead.
    Case("allow-to-anywhere", "warning", ("CiliumNetworkPolicy", "app", "web-egress"),
         _to_world, edit(_to_world, "[world]", "[cluster]"), cni="cilium"),
    Case("allow-from-anywhere", "warning", ("CiliumNetworkPolicy", "app", "web-egress"),
         _from_all, edit(_from_all, "[all]", "[cluster]"), cni="cilium"),
    Case("allow-to-anywhere", "warning", ("CiliumNetworkPolicy", "app", "web-egress"),
         _toports_alone, _toports_only, cni="cilium"),
    # A policy whose allows another policy already makes; a default deny is never "redundant".
    Case("policy-redundant", "info", ("NetworkPolicy", "app", "db-from-web"),
         _redundant, edit(_redundant, "{port: 3306, protocol: TCP}", "{port: 3307, protocol: TCP}")),
    # IST-7: the network lets plain/client in, the sidecar refuses its plaintext.
    Case("mtls-strict-plaintext-client", "warning", ("Deployment", "app", "web"),
         _strict, edit(_strict, "STRICT", "PERMISSIVE"), mesh="istio"),
    # CAL-8: Pass in the last tier that applies hands the flow to the profiles (allow).
    Case("calico-pass-in-last-tier", "warning", ("CalicoNetworkPolicy", "app", "db-pass"),
         _calico_pass, edit(_calico_pass, "action: Pass", "action: Deny"), cni="calico"),
    Case("egress-gateway-bypass", "warning", ("Deployment", "app", "web"), _bypass, _no_bypass, mesh="istio"),
    Case("mesh-allow-any-with-egress-gateway", "info", ("Deployment", "app", "web"),
         _allow_any, docs(_allow_any.replace(f"  {MARK}", ""), _REGISTRY_ONLY), mesh="istio"),
    Case("egress-gateway-identity-without-mtls", "warning", ("AuthorizationPolicy", "istio-system", "egress-from-app"),
         _identity_plain, docs(_meshed, WEB, _egress_vs, _GW_FROM_APP, _GW_MUTUAL), mesh="istio"),
    Case("service-entry-all-hosts", "warning", ("ServiceEntry", "app", "everything"),
         _all_hosts, edit(_all_hosts, '["*"]', "[api.example.com]"), mesh="istio"),
    Case("virtual-service-gateway-missing", "warning", ("VirtualService", "istio-system", "api-via-gateway"),
         _missing_gw, docs(_meshed, WEB, _egress_vs_marked), mesh="istio"),
    Case("one-sided-allow", "warning", ("NetworkPolicy", "app", "web-egress"),
         _one_sided, edit(_one_sided, "{port: 5432}", "{port: 3306}")),
    Case("entry-point-blocked", "warning", ("Ingress", "app", "web"),
         _entry_blocked, docs(_entry_blocked, _ENTRY_ALLOW),
         fix="add the rule on the side that refuses (ingress of app/web): in namespace app, a NetworkPolicy with "
             "`podSelector: {matchLabels: {app: web}}`, `policyTypes: [Ingress]`, `ingress: [{from: "
             "[{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}, podSelector: "
             "{matchLabels: {app.kubernetes.io/component: controller, app.kubernetes.io/name: ingress-nginx}}}], "
             "ports: [{protocol: TCP, port: 80}]}]` (or that rule in a policy that already selects those pods)"),
    Case("cilium-l3-wildcard-toports", "warning", ("CiliumNetworkPolicy", "app", "web-egress"),
         _toports_only, edit(_toports_only, "  - toPorts:", "    toPorts:"), cni="cilium"),
    Case("cilium-fqdn-without-ports", "info", ("CiliumNetworkPolicy", "app", "web-egress"),
         _fqdn_no_ports, edit(_fqdn_no_ports, f"{MARK}\n", f"{MARK}\n    toPorts: [{{ports: [{{port: \"443\", "
                                                              "protocol: TCP}]}]\n"), cni="cilium"),
    Case("cilium-l7-regex-anchored", "warning", ("CiliumNetworkPolicy", "app", "api-http"),
         _l7, edit(_l7, '"/v1/catalog"', '"/v1/catalog(/.*)?"'), cni="cilium",
         fix="write '/v1/catalog(/.*)?' for the path and its subpaths; add '(\\?.*)?' for a query string"),
    Case("cilium-l7-regex-anchored", "warning", ("CiliumNetworkPolicy", "app", "api-http"),
         edit(_l7, '"/v1/catalog"', '"^/v1/catalog$"'), edit(_l7, '"/v1/catalog"', '"^/v1/catalog.*"'),
         cni="cilium",
         fix="write '/v1/catalog(/.*)?' for the path and its subpaths; add '(\\?.*)?' for a query string"),
    Case("cilium-l7-regex-dot", "info", ("CiliumNetworkPolicy", "app", "api-http"),
         _l7_host_dot, edit(_l7_host_dot, "api.example.com", "'api\\.example\\.com'"), cni="cilium"),
    Case("cilium-l7-regex-dot", "info", ("CiliumNetworkPolicy", "app", "api-http"),
         _l7_path_dot, edit(_l7_path_dot, '"/v1/catalog.json"', "'/v1/catalog\\.json'"), cni="cilium"),
    Case("staged-policy-ends-tier", "warning", ("StagedGlobalNetworkPolicy", "", "security.web"),
         _staged_alone_in_tier, edit(_staged_alone_in_tier, "kind: StagedGlobalNetworkPolicy",
                                     "kind: GlobalNetworkPolicy"), cni="calico"),
    Case("dry-run-policy", "warning", ("AuthorizationPolicy", "app", "deny-web"),
         _dry_run, edit(_dry_run, '"true"', '"false"'), mesh="istio"),
    Case("cilium-audit-mode", "warning", ("CiliumNetworkPolicy", "app", "web-ingress"),
         _audited_cnp, edit(_audited_cnp, "endpointSelector: {matchLabels: {app: web}}",
                            "endpointSelector: {matchLabels: {app: db}}"), cni="cilium",
         cilium_audit=True),
]


def test_a_dns_allow_to_a_coredns_outside_the_input_counts_as_the_dns_allow() -> None:
    # The manifests of an app rarely include CoreDNS: the allow-dns rule matches no pod here, and
    # still is the DNS allow the checklist asks for.
    without_coredns = docs(namespace(), WEB, DENY_EGRESS, ALLOW_DNS)
    assert not of(lint_text(without_coredns), "egress-deny-without-dns")
    assert of(lint_text(docs(namespace(), WEB, DENY_EGRESS)), "egress-deny-without-dns")


def test_every_computed_rule_has_a_case() -> None:
    assert {c.code for c in COMPUTED_CASES} == set(COMPUTED)


@pytest.mark.parametrize("case", COMPUTED_CASES, ids=str)
def test_a_computed_rule_fires_on_its_trap_and_not_on_the_near_miss(case: Case) -> None:
    check_case(case)


# ============================================================================ rules from diagnostics

_INJECTED = namespace(labels={"istio-injection": "enabled"})
_spiffe = docs(_INJECTED, WEB, API, f"""\
    apiVersion: security.istio.io/v1
    kind: AuthorizationPolicy
    metadata: {{name: api-allow, namespace: app}}
    spec:
      selector: {{matchLabels: {{app: api}}}}
      action: ALLOW
      rules:
      - from:  {MARK}
        - source: {{principals: ["spiffe://cluster.local/ns/app/sa/default"]}}
    """)
_inert = edit(edit(_spiffe, "spiffe://", ""), f"  {MARK}", "").replace(
    "apiVersion: security.istio.io/v1", f"apiVersion: security.istio.io/v1  {MARK}")
_inert = edit(_inert, _INJECTED, namespace())
_cut_off = docs(_INJECTED, deployment("web", mark=True), DENY_EGRESS)
_calico = docs(namespace(), WEB, f"""\
    apiVersion: projectcalico.org/v3
    kind: NetworkPolicy
    metadata: {{name: web-ingress, namespace: app}}
    spec:
      selector: app == 'web'
      ingress:
      - action: Allow
        destination:
          ports: [80]  {MARK}
    """)
_gateway = docs(namespace(), namespace("infra"), WEB, """\
    apiVersion: v1
    kind: Service
    metadata: {name: web, namespace: app}
    spec:
      selector: {app: web}
      ports: [{port: 80}]
    ---
    apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: {name: edge, namespace: infra}
    spec:
      gatewayClassName: nginx
      listeners:
      - name: http
        protocol: HTTP
        port: 80
        allowedRoutes: {namespaces: {from: Same}}
    """, f"""\
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {{name: web, namespace: app}}
    spec:
      parentRefs:
      - {{name: edge, namespace: infra}}  {MARK}
      rules:
      - backendRefs: [{{name: web, port: 80}}]
    """)
_ingress_tls = edit(edit(_ingress, f"  {MARK}", ""), "  rules:\n",
                    f"  tls:\n  - {{hosts: [shop.example.com], secretName: web-tls}}  {MARK}\n  rules:\n")
_SECRET = """\
    apiVersion: v1
    kind: Secret
    metadata: {name: web-tls, namespace: app}
    type: kubernetes.io/tls
    data: {tls.crt: "", tls.key: ""}
    """
_service_typo = docs(namespace(), WEB, edit(_SERVICE, "apiVersion: v1", f"apiVersion: v1  {MARK}")
                     .replace("selector: {app: web}", "selector: {app: wbe}"))
_no_type = docs(namespace(), WEB, DB, netpol("db", f"""\
    podSelector: {{matchLabels: {{app: db}}}}
    policyTypes: [Ingress]
    egress:  {MARK}
    - to: [{{podSelector: {{matchLabels: {{app: web}}}}}}]
    """))
_any_policy = docs(namespace(), WEB, netpol("deny", "podSelector: {}\npolicyTypes: [Ingress]\n", mark=True))
_fqdn_no_dns = docs(namespace(), WEB, KUBE_DNS, cnp("web-egress", f"""\
    endpointSelector: {{matchLabels: {{app: web}}}}
    egress:
    - toFQDNs: [{{matchName: api.example.com}}]
      toPorts: [{{ports: [{{port: "443", protocol: TCP}}]}}]  {MARK}
    """))

# Under a CNI that does not read them (no resource: a summary per kind, pointing at the first one).
_cnp_only = docs(namespace(), WEB, cnp("web-ingress", """\
    endpointSelector: {matchLabels: {app: web}}
    ingress: [{fromEndpoints: [{}]}]
    """).replace("apiVersion: cilium.io/v2", f"apiVersion: cilium.io/v2  {MARK}"))
_staged = docs(namespace(), WEB, f"""\
    apiVersion: projectcalico.org/v3  {MARK}
    kind: StagedNetworkPolicy
    metadata: {{name: web-staged, namespace: app}}
    spec:
      selector: app == 'web'
      types: [Ingress]
    """)
_host_bits = edit(_to_anywhere, "0.0.0.0/0", "10.0.0.1/8")
_target_port = docs(namespace(), WEB, edit(_SERVICE, "apiVersion: v1", f"apiVersion: v1  {MARK}")
                    .replace("{port: 80}", "{port: 80, targetPort: http}"))
_service_account = docs(namespace(), edit(deployment("web", mark=True), "spec: {containers",
                                          "spec: {serviceAccountName: web-sa, containers"))
_SERVICE_ACCOUNT = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web-sa, namespace: app}\n"
_backend_gone = mark_at(edit(_ingress, "name: web, port", "name: gone, port"), "backend:")
_backend_port = mark_at(edit(_ingress, "number: 80", "number: 81"), "backend:")
_route = edit(_gateway, "from: Same", "from: All")  # accepted: only the backend is wrong
_route_backend_gone = mark_at(edit(_route, "{name: web, port: 80}", "{name: gone, port: 80}"), "backendRefs")
_route_backend_port = mark_at(edit(_route, "{name: web, port: 80}", "{name: web, port: 8080}"), "backendRefs")
_INGRESS_CLASS = """\
    apiVersion: networking.k8s.io/v1
    kind: IngressClass
    metadata: {name: nginx, annotations: {ingressclass.kubernetes.io/is-default-class: "true"}}
    spec: {controller: k8s.io/ingress-nginx}
    """
_no_class = edit(_ingress, "  ingressClassName: nginx\n", "")
_https_gateway = docs(namespace("infra"), f"""\
    apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: {{name: edge, namespace: infra}}
    spec:
      gatewayClassName: nginx
      listeners:
      - name: https  {MARK}
        protocol: HTTPS
        port: 443
    """)
_cert_elsewhere = mark_at(docs(namespace("certs"), edit(
    _https_gateway, "port: 443\n", "port: 443\n    tls: {certificateRefs: [{name: wild, namespace: certs}]}\n"),
    edit(_SECRET, "{name: web-tls, namespace: app}", "{name: wild, namespace: certs}")), "certificateRefs")
_GRANT_SECRET = """\
    apiVersion: gateway.networking.k8s.io/v1beta1
    kind: ReferenceGrant
    metadata: {name: let-infra, namespace: certs}
    spec:
      from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: infra}]
      to: [{group: "", kind: Secret}]
    """
# The route in the Gateway's namespace (accepted by from: Same), its backend in app.
_backend_elsewhere = mark_at(edit(edit(_gateway, "metadata: {name: web, namespace: app}\nspec:\n  parentRefs",
                                       "metadata: {name: web, namespace: infra}\nspec:\n  parentRefs"),
                                  "{name: web, port: 80}", "{name: web, namespace: app, port: 80}"), "backendRefs")
_GRANT_SERVICE = """\
    apiVersion: gateway.networking.k8s.io/v1beta1
    kind: ReferenceGrant
    metadata: {name: let-infra, namespace: app}
    spec:
      from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: infra}]
      to: [{group: "", kind: Service}]
    """
# GW: no-parent is reported at the route's first line (apiVersion).
_no_parent = edit(edit(_gateway, "  parentRefs:\n  - {name: edge, namespace: infra}  # <-\n", ""),
                  "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute",
                  f"---\napiVersion: gateway.networking.k8s.io/v1  {MARK}\nkind: HTTPRoute")
# undefined-namespace has no resource: it points at the first object that uses the namespace.
_undefined = docs(deployment("web", mark=True))
_undefined_by_name = docs(namespace(), WEB, netpol("web-egress", f"""\
    podSelector: {{matchLabels: {{app: web}}}}
    policyTypes: [Egress]
    egress:
    - to: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: billing}}}}}}]  {MARK}
    """))
# CIL-19: reported at the toPorts entry of the HTTP rule (the Cilium rule's line).
_l7_meshed = mark_at(docs(_INJECTED, WEB, API, _l7.split("---\n")[-1]), '- ports: [{port: "8080"')
_MTLS_DISABLE = """\
    apiVersion: security.istio.io/v1
    kind: PeerAuthentication
    metadata: {name: default, namespace: app}
    spec: {mtls: {mode: DISABLE}}
    """

_host_only = docs(namespace(), WEB, edit(deployment("agent", 9100), "spec: {containers", "spec: {hostNetwork: true, "
                                          "containers"),
                  netpol("agent-in", "podSelector: {matchLabels: {app: agent}}\npolicyTypes: [Ingress]\n", mark=True))

# ING-8: two Ingresses of class nginx define host shop.example.com and path /; without timestamps the
# first in the input is the older, so the newer one's path is reported (the near miss renames it).
_INGRESS_V2 = f"""\
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {{name: web-v2, namespace: app}}
    spec:
      ingressClassName: nginx
      rules:
      - host: shop.example.com
        http:
          paths:
          - path: /  {MARK}
            pathType: Prefix
            backend: {{service: {{name: web, port: {{number: 80}}}}}}
    """
_ingress_conflict = docs(edit(_ingress, f"  {MARK}", ""), _INGRESS_V2)
# ROUTE-6: a newer Route of the same host and path is refused by the OpenShift router.
_ROUTE = """\
    apiVersion: route.openshift.io/v1
    kind: Route
    metadata: {name: web, namespace: app}
    spec:
      host: shop.apps.example.com
      to: {kind: Service, name: web}
      tls: {termination: edge}
    """
_ROUTE_V2 = edit(_ROUTE, "{name: web, namespace: app}", "{name: web-v2, namespace: app}")
_route_refused = docs(namespace(), WEB, _SERVICE, _ROUTE, mark_at(_ROUTE_V2, "apiVersion"))
_route_plain = docs(namespace(), WEB, _SERVICE, mark_at(edit(_ROUTE, "  tls: {termination: edge}\n", ""),
                                                         "apiVersion"))


def calico_policy(name: str, body: str) -> str:
    return (f"apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: app}}\n"
            "spec:\n" + textwrap.indent(textwrap.dedent(body), "  "))


# CAL-20: ports under source match the client's (ephemeral) port, not the port it connects to.
_source_ports = docs(namespace(), WEB, calico_policy("web-ingress", f"""\
    selector: app == 'web'
    ingress:
    - action: Allow
      protocol: TCP
      source:
        ports: [80]  {MARK}
    """))
# CAL-19: '!global()' in a rule's namespaceSelector: accepted before Calico v3.30, rejected since.
_not_global = docs(namespace(), WEB, calico_policy("web-egress", f"""\
    selector: app == 'web'
    types: [Egress]
    egress:
    - action: Allow
      destination:
        namespaceSelector: '!global()'  {MARK}
    """))
# CAL-21: the Profile kns.app says env=dev, the Namespace app says env=prod: the Namespace wins.
_profile_conflict = docs(namespace(labels={"env": "prod"}), WEB, f"""\
    apiVersion: projectcalico.org/v3  {MARK}
    kind: Profile
    metadata: {{name: kns.app}}
    spec: {{labelsToApply: {{pcns.env: dev}}}}
    """, calico_policy("web-ingress", """\
    selector: app == 'web'
    ingress: [{action: Allow, source: {namespaceSelector: env == 'prod'}}]
    """))

DIAGNOSTIC_CASES = [
    Case("spiffe-principal", "warning", ("AuthorizationPolicy", "app", "api-allow"),
         _spiffe, edit(_spiffe, "spiffe://", "")),
    Case("mesh-policy-inert", "warning", ("AuthorizationPolicy", "app", "api-allow"),
         _inert, edit(_inert, namespace(), _INJECTED)),
    Case("sidecar-cut-off", "warning", ("Deployment", "app", "web"),
         _cut_off, edit(_cut_off, "policyTypes: [Egress]\n", textwrap.dedent("""\
             policyTypes: [Egress]
             egress:
             - to:
               - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: istio-system}}
                 podSelector: {matchLabels: {app: istiod}}
               ports: [{port: 15012, protocol: TCP}]
             """).replace("\n", "\n  ").rstrip(" ")), mesh="istio"),
    Case("calico-port-without-protocol", "error", ("NetworkPolicy", "app", "web-ingress"),
         _calico, edit(_calico, "destination:", "protocol: TCP\n    destination:"), cni="calico"),
    Case("route-not-accepted", "warning", ("HTTPRoute", "app", "web"),
         _gateway, edit(_gateway, "from: Same", "from: All")),
    Case("ingress-without-tls", "warning", ("Ingress", "app", "web"),
         _ingress, _ingress_tls),
    Case("tls-secret-missing", "warning", ("Ingress", "app", "web"),
         _ingress_tls, docs(_ingress_tls, _SECRET)),
    Case("service-selects-nothing", "warning", ("Service", "app", "web"),
         _service_typo, edit(_service_typo, "{app: wbe}", "{app: web}")),
    Case("rules-without-policy-type", "warning", ("NetworkPolicy", "app", "db"),
         _no_type, edit(_no_type, "[Ingress]", "[Ingress, Egress]")),
    Case("policies-inert", "warning", ("", "", ""),
         _any_policy, _any_policy, cni="flannel", near_miss_cni="calico"),
    Case("fqdn-without-dns-visibility", "warning", ("CiliumNetworkPolicy", "app", "web-egress"),
         _fqdn_no_dns, _fqdn_no_ports.replace(
             "- toFQDNs: [{matchName: api.example.com}]  # <-\n",
             '- toFQDNs: [{matchName: api.example.com}]\n    toPorts: [{ports: [{port: "443", protocol: TCP}]}]\n'),
         cni="cilium"),
    Case("not-enforced", "info", ("", "", ""),
         _cnp_only, _cnp_only, cni="generic", near_miss_cni="cilium"),
    Case("staged-policy", "info", ("StagedNetworkPolicy", "app", "web-staged"),
         _staged, edit(_staged, "StagedNetworkPolicy", "NetworkPolicy"), cni="calico"),
    Case("cidr-host-bits", "warning", ("NetworkPolicy", "app", "web-egress"),
         _host_bits, edit(_host_bits, "10.0.0.1/8", "10.0.0.0/8")),
    Case("target-port-not-declared", "warning", ("Service", "app", "web"),
         _target_port, edit(_target_port, "targetPort: http", "targetPort: 80")),
    Case("service-account-missing", "warning", ("Deployment", "app", "web"),
         _service_account, docs(_service_account, _SERVICE_ACCOUNT)),
    Case("backend-not-found", "warning", ("Ingress", "app", "web"),
         _backend_gone, docs(_backend_gone, edit(_SERVICE, "{name: web,", "{name: gone,"))),
    Case("backend-not-found", "warning", ("HTTPRoute", "app", "web"),
         _route_backend_gone, docs(_route_backend_gone, edit(_SERVICE, "{name: web,", "{name: gone,"))),
    Case("backend-port-not-found", "warning", ("Ingress", "app", "web"),
         _backend_port, edit(_backend_port, "number: 81", "number: 80")),
    Case("backend-port-not-found", "warning", ("HTTPRoute", "app", "web"),
         _route_backend_port, edit(_route_backend_port, "port: 8080", "port: 80")),
    Case("ingress-class-missing", "warning", ("Ingress", "app", "web"),
         _ingress, docs(_ingress, _INGRESS_CLASS)),
    Case("ingress-class-missing", "warning", ("Ingress", "app", "web"),
         _no_class, docs(_no_class, _INGRESS_CLASS)),
    Case("listener-without-certificate", "warning", ("Gateway", "infra", "edge"),
         _https_gateway, edit(_https_gateway, "port: 443\n",
                              "port: 443\n    tls: {certificateRefs: [{name: edge-cert}]}\n")),
    Case("ref-not-permitted", "warning", ("Gateway", "infra", "edge"),
         _cert_elsewhere, docs(_cert_elsewhere, _GRANT_SECRET)),
    Case("ref-not-permitted", "warning", ("HTTPRoute", "infra", "web"),
         _backend_elsewhere, docs(_backend_elsewhere, _GRANT_SERVICE)),
    Case("no-parent", "warning", ("HTTPRoute", "app", "web"),
         _no_parent, _gateway),
    Case("undefined-namespace", "warning", ("", "", ""),
         _undefined, docs(namespace(), _undefined)),
    Case("undefined-namespace", "warning", ("", "", ""),
         _undefined_by_name, docs(_undefined_by_name, namespace("billing"))),
    Case("cilium-l7-under-mtls", "warning", ("CiliumNetworkPolicy", "app", "api-http"),
         _l7_meshed, docs(_l7_meshed, _MTLS_DISABLE), cni="cilium", mesh="istio"),
    # NP-25: a policy that only hostNetwork pods would match (the near miss: the pods leave the host network).
    Case("policy-selects-host-network", "warning", ("NetworkPolicy", "app", "agent-in"),
         _host_only, edit(_host_only, "hostNetwork: true, ", "")),
    # Issue 11: entry points (ING-8, ROUTE-1, ROUTE-6, TLS) and Calico (CAL-19 … CAL-21).
    Case("ingress-conflict", "warning", ("Ingress", "app", "web-v2"),
         _ingress_conflict, edit(_ingress_conflict, f"- path: /  {MARK}", "- path: /v2")),
    Case("route-not-admitted", "warning", ("Route", "app", "web-v2"),
         _route_refused, docs(namespace(), WEB, _SERVICE, _ROUTE, edit(_ROUTE_V2, "shop.apps", "v2.apps"))),
    Case("route-without-tls", "warning", ("Route", "app", "web"),
         _route_plain, docs(namespace(), WEB, _SERVICE, mark_at(_ROUTE, "apiVersion"))),
    Case("calico-source-ports", "warning", ("NetworkPolicy", "app", "web-ingress"),
         _source_ports, edit(_source_ports, "source:", "destination:"), cni="calico"),
    Case("calico-version-dependent", "warning", ("NetworkPolicy", "app", "web-egress"),
         _not_global, edit(_not_global, "'!global()'", "all()"), cni="calico"),
    Case("calico-profile-conflict", "warning", ("Profile", "", "kns.app"),
         _profile_conflict, edit(_profile_conflict, "{pcns.env: dev}", "{pcns.env: prod}"), cni="calico"),
]


def test_every_rule_from_diagnostics_has_a_case() -> None:
    assert {c.code for c in DIAGNOSTIC_CASES} == set(FROM_DIAGNOSTICS)


@pytest.mark.parametrize("case", DIAGNOSTIC_CASES, ids=str)
def test_a_trap_found_while_reading_is_a_finding_with_its_fix(case: Case) -> None:
    check_case(case)


def test_a_refused_route_or_an_ingress_path_an_older_ingress_keeps_is_one_finding_not_two() -> None:
    """ING-8, ROUTE-6: the way in they block is not also reported as entry-point-blocked."""
    on_v2 = [f.code for f in lint_text(_ingress_conflict) if f.name == "web-v2"]
    assert "ingress-conflict" in on_v2 and "entry-point-blocked" not in on_v2
    assert [f.code for f in lint_text(_route_refused) if f.name == "web-v2"] == ["route-not-admitted"]


def test_an_ingress_path_an_older_ingress_keeps_does_not_hide_another_blocked_path() -> None:
    # web-v2's first path is web's (ING-8); its second, /admin, is its own, and default deny blocks it.
    admin = _ingress_conflict + ("      - path: /admin\n        pathType: Prefix\n"
                                 "        backend: {service: {name: web, port: {number: 80}}}\n")
    text = docs(admin, netpol("deny", "podSelector: {}\npolicyTypes: [Ingress]\n"))
    [blocked] = [f for f in of(lint_text(text), "entry-point-blocked") if f.name == "web-v2"]
    assert blocked.message.startswith("Ingress app/web-v2: no request reaches a backend through it: every way in "
                                      "is blocked; first failing hop of http://shop.example.com/admin: ingress of "
                                      "app/web: NetworkPolicy app/deny")


def test_the_severity_of_a_diagnostic_finding_is_the_diagnostics() -> None:
    """A Calico policy the API server rejects is an error under Calico, a note under another CNI."""
    [f] = of(lint_text(_calico, "cilium"), "calico-port-without-protocol")
    assert f.severity == "info" and f.fix == FROM_DIAGNOSTICS["calico-port-without-protocol"].fix


# ============================================================================ the command: options, config, exit codes

# Default deny both ways and DNS allowed: one info finding (dns-nodelocal-bypass) and nothing else.
QUIET = docs(namespace(mark=True), WEB, KUBE_DNS, netpol("deny", "podSelector: {}\npolicyTypes: [Ingress, Egress]\n"),
             ALLOW_DNS)
CLEAN = edit(QUIET, "  - to:\n", "  - to:\n    - ipBlock: {cidr: 169.254.20.10/32}\n")
# Warnings of several codes, an info, two policies and a workload to point suppressions at.
NOISY = docs(namespace(), WEB, DB, namespace("ops"), deployment("tool", ns="ops"), KUBE_DNS, ALLOW_DNS,
             netpol("db-ingress", """\
    podSelector: {matchLabels: {app: db}}
    policyTypes: [Ingress]
    ingress:
    - from: [{ipBlock: {cidr: 0.0.0.0/0}}]
    """), netpol("web-ingress", """\
    podSelector: {matchLabels: {app: web}}
    policyTypes: [Ingress]
    ingress:
    - from: [{ipBlock: {cidr: 0.0.0.0/0}}]
    """))


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def codes(doc: dict[str, Any], key: str = "findings") -> list[str]:
    return sorted(f["code"] for f in doc[key])


def test_lint_json_reports_each_finding_with_resource_file_line_and_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "app.yaml", QUIET)
    rc, doc = run_json(path)
    assert rc == 0  # an info finding does not fail the default --fail-on warning
    assert doc["schema"] == 1
    assert doc["options"] == ["cni=generic", "ipblock-matches-pods=yes", "self-traffic=omitted"]
    assert doc["findings"] == [{
        "code": "dns-nodelocal-bypass", "severity": "info",
        "message": "namespace app: DNS is allowed to the cluster DNS pods but not to NodeLocal DNSCache "
                   "(169.254.20.10); with NodeLocal DNSCache, lookups fail",
        "resource": {"kind": "Namespace", "namespace": "", "name": "app"}, "file": path,
        "line": marked_line(QUIET), "fix": RULES["dns-nodelocal-bypass"].fix}]
    assert doc["suppressed"] == [] and doc["inputErrors"] == []


def test_severity_warning_hides_info_findings(tmp_path: Path) -> None:
    path = write(tmp_path, "app.yaml", NOISY)
    _, everything = run_json(path)
    _, warnings = run_json(path, "--severity", "warning")
    assert "dns-nodelocal-bypass" in codes(everything)
    assert {f["severity"] for f in everything["findings"]} == {"info", "warning"}
    assert {f["severity"] for f in warnings["findings"]} == {"warning"}
    assert codes(warnings) == [c for c in codes(everything) if RULES[c].severity != "info"]
    _, errors = run_json(path, "--severity", "error")
    assert errors["findings"] == []


def test_disable_removes_a_code_and_an_unknown_code_is_a_usage_error(tmp_path: Path) -> None:
    path = write(tmp_path, "app.yaml", NOISY)
    _, everything = run_json(path)
    _, less = run_json(path, "--disable", "allow-from-anywhere", "--disable", "dns-nodelocal-bypass")
    assert codes(everything).count("allow-from-anywhere") == 2
    assert codes(less) == [c for c in codes(everything) if c not in ("allow-from-anywhere", "dns-nodelocal-bypass")]
    result = run("lint", path, "--disable", "nosuch")
    assert result.exit_code == 2
    assert "unknown finding code(s): nosuch" in result.stderr


def test_a_config_file_disables_codes_and_suppresses_findings_with_their_reason(tmp_path: Path) -> None:
    path = write(tmp_path, "app.yaml", NOISY)
    config = write(tmp_path, "kubeward.yaml", textwrap.dedent("""\
        lint:
          disable: [dns-nodelocal-bypass]
          ignore:
          - code: allow-from-anywhere
            resource: app/web-ingress
            reason: the load balancer's health checks come from anywhere
          - code: unprotected-workload
            resource: Deployment ops/tool
            reason: a debugging tool, removed after the incident
        """))
    _, before = run_json(path)
    _, after = run_json(path, "--config", config)
    assert "dns-nodelocal-bypass" not in codes(after) + codes(after, "suppressed")
    suppressed = {(f["code"], f["resource"]["name"]): f["reason"] for f in after["suppressed"]}
    assert suppressed == {
        ("allow-from-anywhere", "web-ingress"): "the load balancer's health checks come from anywhere",
        ("unprotected-workload", "tool"): "a debugging tool, removed after the incident"}
    # The other policy's allow-from-anywhere is still reported: a suppression names its resource.
    assert [f["resource"]["name"] for f in after["findings"] if f["code"] == "allow-from-anywhere"] == ["db-ingress"]
    assert len(after["findings"]) == len(before["findings"]) - 3
    # An ignore without a resource covers every resource of the code.
    config2 = write(tmp_path, "all.yaml", "lint:\n  ignore:\n  - {code: allow-from-anywhere, reason: lab}\n")
    _, all_ = run_json(path, "--config", config2)
    assert "allow-from-anywhere" not in codes(all_)
    assert codes(all_, "suppressed") == ["allow-from-anywhere", "allow-from-anywhere"]


def test_a_suppressed_finding_does_not_fail_the_run(tmp_path: Path) -> None:
    path = write(tmp_path, "app.yaml", docs(namespace(), WEB, KUBE_DNS, ALLOW_DNS, netpol("deny", """\
        podSelector: {}
        policyTypes: [Ingress, Egress]
        ingress:
        - from: [{ipBlock: {cidr: 0.0.0.0/0}}]
        """)))
    assert run("lint", path).exit_code == 1
    config = write(tmp_path, "kubeward.yaml",
                   "lint:\n  ignore:\n  - {code: allow-from-anywhere, resource: app/deny, reason: public}\n")
    rc, doc = run_json(path, "--config", config)
    # (deny's ingress rule admits everything and allow-dns isolates egress already: deny is redundant, an info)
    assert rc == 0 and codes(doc) == ["dns-nodelocal-bypass", "policy-redundant"]
    assert codes(doc, "suppressed") == ["allow-from-anywhere"]


@pytest.mark.parametrize("config, message", [
    ("lint:\n  ignore:\n  - {code: allow-from-anywhere, resource: app/db-ingress}\n",
     "lint.ignore[0] (allow-from-anywhere): a suppression needs a reason"),
    ("lint:\n  ignore:\n  - {code: allow-from-anywhere, reason: '  '}\n",
     "lint.ignore[0] (allow-from-anywhere): a suppression needs a reason"),
    ("lint:\n  ignore:\n  - {reason: why}\n", "lint.ignore[0]: needs a code"),
    ("lint:\n  disable: [nosuch]\n", "unknown finding code(s): nosuch"),
    ("lint: [a]\n", "expected a mapping with a 'lint:' section"),
    ("lint: {disable: [\n", "cannot read the config"),
])
def test_a_bad_config_exits_2_with_a_message(tmp_path: Path, config: str, message: str) -> None:
    path = write(tmp_path, "app.yaml", NOISY)
    result = run("lint", path, "--config", write(tmp_path, "kubeward.yaml", config))
    assert result.exit_code == 2
    assert message in result.stderr and result.stdout == ""


def test_kubeward_yaml_in_the_current_folder_is_the_default_config(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "app.yaml", QUIET)
    write(tmp_path, ".kubeward.yaml", "lint:\n  disable: [dns-nodelocal-bypass]\n")
    monkeypatch.chdir(tmp_path)
    rc, doc = run_json(path)
    assert rc == 0 and doc["findings"] == []


@pytest.mark.parametrize("manifest, fail_on, exit_code", [
    (CLEAN, "info", 0),      # nothing to say
    (QUIET, "warning", 0),   # an info finding, below the default --fail-on
    (QUIET, "info", 1),
    (NOISY, "warning", 1),
    (NOISY, "error", 0),     # warnings only
    (_calico, "error", 1),   # calico-port-without-protocol (under --cni calico) is an error
])
def test_exit_code_is_1_when_a_finding_is_at_fail_on_or_above(tmp_path: Path, manifest: str, fail_on: str,
                                                              exit_code: int) -> None:
    path = write(tmp_path, "app.yaml", manifest)
    cni = "calico" if manifest is _calico else "generic"
    result = run("lint", path, "--cni", cni, "--fail-on", fail_on)
    assert result.exit_code == exit_code, result.output


def test_an_unreadable_file_exits_2_and_the_good_files_are_still_linted(tmp_path: Path) -> None:
    good = write(tmp_path, "good.yaml", QUIET)
    bad = write(tmp_path, "bad.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: [\n")
    result = run("lint", good, bad, "--format", "json", "--fail-on", "error")
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert [(f["code"], f["file"]) for f in doc["findings"]] == [("dns-nodelocal-bypass", good)]
    assert [e["file"] for e in doc["inputErrors"]] == [bad]
    assert bad in result.stderr  # the error is printed on standard error too


def test_list_names_every_code_with_its_severity() -> None:
    result = run("lint", "--list")
    assert result.exit_code == 0
    listed = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()}
    assert listed == {code: rule.severity for code, rule in RULES.items()}
    assert set(RULES) == set(COMPUTED) | set(FROM_DIAGNOSTICS) | set(NOTES)  # NOTES: check-limited (issue 12)


def test_without_a_path_lint_is_a_usage_error() -> None:
    assert run("lint").exit_code == 2


def test_text_format_prints_location_code_and_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "app.yaml", QUIET)
    out = run("lint", path).stdout
    assert f"{path}:{marked_line(QUIET)}: info: dns-nodelocal-bypass: " in out
    assert f"    fix: {RULES['dns-nodelocal-bypass'].fix}" in out


# ============================================================================ SARIF


def sarif_of(path: str, *args: str) -> dict[str, Any]:
    result = run("lint", path, "--format", "sarif", *args)
    assert result.exit_code in (0, 1), result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_sarif_has_the_structure_code_scanning_reads(tmp_path: Path) -> None:
    path = write(tmp_path, "app.yaml", NOISY)
    doc = sarif_of(path)
    assert doc["version"] == "2.1.0"
    assert doc["$schema"].startswith("https://") and "sarif-2.1.0" in doc["$schema"]
    [run_] = doc["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "kubeward" and driver["version"]
    ids = [r["id"] for r in driver["rules"]]
    assert len(ids) == len(set(ids))
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] == RULES[rule["id"]].title
        assert RULES[rule["id"]].fix in rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    results = run_["results"]
    _, as_json = run_json(path)
    assert len(results) == len(as_json["findings"]) > 3
    assert set(ids) == {r["ruleId"] for r in results}
    for r in results:
        assert r["ruleId"] in ids and ids[r["ruleIndex"]] == r["ruleId"]
        assert r["level"] in ("error", "warning", "note")
        assert r["level"] == {"info": "note"}.get(RULES[r["ruleId"]].severity, RULES[r["ruleId"]].severity)
        assert r["message"]["text"]
        [loc] = r["locations"]
        assert loc["physicalLocation"]["artifactLocation"]["uri"] == path
        assert isinstance(loc["physicalLocation"]["region"]["startLine"], int)
        assert loc["physicalLocation"]["region"]["startLine"] >= 1
        assert r["partialFingerprints"]["kubewardFinding/v1"]
    fingerprints = [r["partialFingerprints"]["kubewardFinding/v1"] for r in results]
    assert len(set(fingerprints)) == len(fingerprints)


def test_sarif_fingerprints_survive_lines_moving(tmp_path: Path) -> None:
    before = sarif_of(write(tmp_path, "app.yaml", NOISY))["runs"][0]["results"]
    after = sarif_of(write(tmp_path, "app.yaml", "#\n" + NOISY))["runs"][0]["results"]

    def keyed(results: list[dict[str, Any]]) -> dict[str, tuple[str, int]]:
        return {r["partialFingerprints"]["kubewardFinding/v1"]:
                (r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results}

    old, new = keyed(before), keyed(after)
    assert old.keys() == new.keys()
    assert all(new[k] == (rule, line + 1) for k, (rule, line) in old.items())


def test_sarif_levels_follow_the_finding_severity(tmp_path: Path) -> None:
    doc = sarif_of(write(tmp_path, "app.yaml", _calico), "--cni", "calico")
    levels = {r["ruleId"]: r["level"] for r in doc["runs"][0]["results"]}
    assert levels["calico-port-without-protocol"] == "error"
    assert levels["no-default-deny-egress"] == "warning"
    doc = sarif_of(write(tmp_path, "app.yaml", QUIET))
    assert [(r["ruleId"], r["level"]) for r in doc["runs"][0]["results"]] == [("dns-nodelocal-bypass", "note")]


def test_input_problems_that_are_not_findings_go_to_stderr_and_count_as_warnings(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("lint", str(empty))
    assert result.exit_code == 1  # a path with no manifests is not a clean lint
    assert f"{empty}: warning: no-manifests: no .yaml, .yml or .json file in this folder" in result.stderr
    assert result.stdout == "0 error(s), 0 warning(s), 0 info\n"
    assert run("lint", str(empty), "--fail-on", "error").exit_code == 0
