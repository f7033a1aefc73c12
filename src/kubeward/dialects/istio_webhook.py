"""What istiod's validating webhook (and the CRDs' own rules) refuse in AuthorizationPolicy and
PeerAuthentication (IST-23). Read from istio/istio ``pkg/config/validation/validation.go``
(ValidateAuthorizationPolicy, ValidatePeerAuthentication, validateWorkloadSelector),
``pkg/config/security/security.go`` and the CRD schema; only what those refuse is listed here.
What they accept is analysed as written, even when no request can match it (e.g. a method in both
``methods`` and ``notMethods``, or principals on plaintext traffic: IST-16).

Each check works on the object as written and yields ``(path, problem, line)``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from ..loader import LList, LMap

Problem = tuple[str, str, int]

ACTIONS = ("ALLOW", "DENY", "AUDIT", "CUSTOM")
MODES = ("UNSET", "DISABLE", "PERMISSIVE", "STRICT")
_IDENTITY = ("principals", "notPrincipals", "namespaces", "notNamespaces")
_SERVICE_ACCOUNTS = ("serviceAccounts", "notServiceAccounts")
_SOURCE = (*_IDENTITY, *_SERVICE_ACCOUNTS, "requestPrincipals", "notRequestPrincipals", "ipBlocks",
           "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks", "trustDomains", "notTrustDomains")
_CUSTOM_FORBIDDEN = (*_IDENTITY, *_SERVICE_ACCOUNTS, "trustDomains", "notTrustDomains", "requestPrincipals",
                     "notRequestPrincipals")
_ADDRESSES = ("ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks")
_OPERATION = ("ports", "notPorts", "methods", "notMethods", "paths", "notPaths", "hosts", "notHosts")
# IST-19: the `when` keys; `[…]` keys need a name in brackets.
_PLAIN_KEYS = {"source.ip": "ip", "remote.ip": "ip", "destination.ip": "ip", "destination.port": "port",
               "source.namespace": "", "source.serviceAccount": "account", "source.principal": "",
               "source.trustDomain": "domain", "request.auth.principal": "", "request.auth.audiences": "",
               "request.auth.presenter": "", "connection.sni": ""}
_BRACKET_KEYS = ("request.headers", "request.auth.claims", "experimental.envoy.filters.")
_RETIRED_KEYS = {"destination.namespace": "is replaced by the policy's own namespace",
                 "destination.labels": "is replaced by the workload selector",
                 "destination.name": "was only supported in v1alpha1", "destination.user": "was only supported "
                 "in v1alpha1"}
_CUSTOM_KEYS = ("source.namespace", "source.serviceAccount", "source.trustDomain", "source.principal")


def selector_problems(spec: LMap, path: str) -> Iterator[Problem]:
    """IST-23: a workload selector's labels, and one of selector / targetRef / targetRefs."""
    present = [k for k in ("selector", "targetRef", "targetRefs") if spec.get(k) not in (None, [])]
    if len(present) > 1:
        yield (f"{path}.{present[1]}", "only one of selector, targetRef and targetRefs may be set "
               f"({', '.join(present)})", spec.line_of(present[1]))
    selector = spec.get("selector")
    labels = selector.get("matchLabels") if isinstance(selector, LMap) else None
    if not isinstance(labels, LMap):
        return
    for key, value in labels.items():
        where, line = f"{path}.selector.matchLabels", labels.line_of(key)
        text = value if isinstance(value, str) else ""
        if not key:
            yield where, "a label key is empty", line
        if "*" in key or "*" in text:
            yield where, f"{key}={text}: a selector takes no wildcard", line
        if len(text) > 63:
            yield where, f"label value {text!r} is {len(text)} characters long (at most 63)", line


def authorization_policy_problems(spec: LMap) -> Iterator[Problem]:
    """IST-23: what ValidateAuthorizationPolicy and the CRD refuse."""
    yield from selector_problems(spec, "spec")
    action = spec.get("action")
    if action is not None and action not in ACTIONS:
        yield "spec.action", f"{action!r} is not one of {', '.join(ACTIONS)}", spec.line_of("action")
        action = None
    action = action or "ALLOW"
    provider = spec.get("provider")
    rules = spec.get("rules")
    if action in ("DENY", "CUSTOM") and rules is None:
        yield "spec.rules", (f"a {action} policy without rules never applies; write `rules: [{{}}]` to apply it to "
                             "every request"), spec.line_of("action")
    if action == "CUSTOM" and rules is not None and not (isinstance(provider, LMap) and provider.get("name")):
        yield "spec.provider.name", "a CUSTOM policy needs a provider name", spec.line_of("provider")
    if action != "CUSTOM" and provider is not None:
        yield "spec.provider", f"only a CUSTOM policy has a provider (this one is {action})", spec.line_of("provider")
    if not isinstance(rules, LList):
        return
    for i, rule in enumerate(rules):
        line = rules.line_of(i)
        if not isinstance(rule, LMap):
            yield f"spec.rules[{i}]", "a rule must not be null", line
            continue
        yield from _rule_problems(rule, f"spec.rules[{i}]", line, action == "CUSTOM")


def _rule_problems(rule: LMap, path: str, line: int, custom: bool) -> Iterator[Problem]:
    for key, inner in (("from", "source"), ("to", "operation")):
        items = rule.get(key)
        if not isinstance(items, LList):
            continue
        for j, item in enumerate(items):
            where, at = f"{path}.{key}[{j}]", items.line_of(j)
            body = item.get(inner) if isinstance(item, LMap) else None
            if not isinstance(body, LMap):
                yield where, f"`{key}` entries need a `{inner}`", at
            elif inner == "source":
                yield from _source_problems(body, f"{where}.source", at, custom)
            else:
                yield from _operation_problems(body, f"{where}.operation", at)
    conditions = rule.get("when")
    for j, condition in enumerate(conditions if isinstance(conditions, LList) else ()):
        if isinstance(condition, LMap):
            yield from _condition_problems(condition, f"{path}.when[{j}]", custom)


def _strings(body: LMap, key: str) -> list[str]:
    values = body.get(key)
    return [str(v) if v is not None else "" for v in values] if isinstance(values, LList) else []


def _source_problems(source: LMap, path: str, line: int, custom: bool) -> Iterator[Problem]:
    if not any(_strings(source, k) for k in _SOURCE):
        yield path, "a source must set at least one field (an empty source is refused)", line
    if any(_strings(source, k) for k in _IDENTITY) and any(_strings(source, k) for k in _SERVICE_ACCOUNTS):
        yield path, "serviceAccounts cannot be combined with namespaces or principals", line
    for key in _SOURCE:
        values = _strings(source, key)
        at = source.line_of(key)
        if custom and values and key in _CUSTOM_FORBIDDEN:
            yield f"{path}.{key}", "a CUSTOM policy cannot match on it", at
        problem = (_addresses_problem(values) if key in _ADDRESSES else _account_problem(values)
                   if key in _SERVICE_ACCOUNTS else _domain_problem(values) if key.endswith("rustDomains")
                   else _empty_problem(values))
        if problem:
            yield f"{path}.{key}", problem, at


def _operation_problems(operation: LMap, path: str, line: int) -> Iterator[Problem]:
    if not any(_strings(operation, k) for k in _OPERATION):
        yield path, "an operation must set at least one field (an empty operation is refused)", line
    for key in _OPERATION:
        values = _strings(operation, key)
        problem = (_ports_problem(values) if key.lower().endswith("ports") else _path_problem(values)
                   if key.lower().endswith("paths") else _empty_problem(values))
        if problem:
            yield f"{path}.{key}", problem, operation.line_of(key)


def _condition_problems(condition: LMap, path: str, custom: bool) -> Iterator[Problem]:
    key = str(condition.get("key") or "")
    line = condition.line_of("key")
    if not key:
        yield f"{path}.key", "a condition needs a key", condition.line
        return
    values, not_values = _strings(condition, "values"), _strings(condition, "notValues")
    if not values and not not_values:
        yield path, f"the condition on {key} needs values or notValues", line
        return
    if custom and (key in _CUSTOM_KEYS or key.startswith("request.auth.")):
        yield f"{path}.key", f"a CUSTOM policy cannot match on {key}", line
    kind = _PLAIN_KEYS.get(key)
    if kind is None:
        base = next((b for b in _BRACKET_KEYS if key.startswith(b)), None)
        retired = next((why for k, why in _RETIRED_KEYS.items() if key.startswith(k)), None)
        if retired:
            yield f"{path}.key", f"{key} {retired}", line
        elif base is None:
            yield f"{path}.key", f"{key} is not a condition key Istio knows (IST-19)", line
        elif not (key.endswith("]") and 0 < key.find("[") < len(key) - 2):
            yield f"{path}.key", f"{key} must name its entry in brackets, like {base.rstrip('.')}[name]", line
        kind = ""
    check = {"ip": _addresses_problem, "port": _ports_problem, "account": _account_problem,
             "domain": _domain_problem}.get(kind, _empty_problem)
    for field_name, listed in (("values", values), ("notValues", not_values)):
        problem = check(listed)
        if problem:
            yield f"{path}.{field_name}", problem, condition.line_of(field_name)


def _empty_problem(values: list[str]) -> str | None:
    return "an empty string is not a value" if "" in values else None


def _addresses_problem(values: list[str]) -> str | None:
    for v in values:
        try:
            ipaddress.ip_network(v, strict=False) if "/" in v else ipaddress.ip_address(v)
        except ValueError:
            return f"{v!r} is not an IP address or CIDR"
    return None


def _ports_problem(values: list[str]) -> str | None:
    bad = [v for v in values if not (v.isdigit() and int(v) <= 65535)]
    return f"{bad[0]!r} is not a port number 0-65535" if bad else None


def _account_problem(values: list[str]) -> str | None:
    if len(values) > 16:
        return "at most 16 service accounts"
    for v in values:
        ns, slash, name = v.partition("/")
        if not v or "*" in v or "/" in name or len(v) > 320 or (slash and not (ns and name)):
            return f"{v!r} is not 'serviceAccount' or 'namespace/serviceAccount' (no wildcard, at most 320 characters)"
    return None


def _domain_problem(values: list[str]) -> str | None:
    for v in values:
        stars = v.count("*")
        if not v or "/" in v or stars > 1 or (stars and v != "*" and not (v.startswith("*") or v.endswith("*"))):
            return f"{v!r} is not a trust domain (no '/', one wildcard at most, at its start or end)"
    return None


def _path_problem(values: list[str]) -> str | None:
    if "" in values:
        return "an empty string is not a value"
    for v in values:
        segments = v.strip("/").split("/")
        any_seen = False
        for segment in segments:
            if segment in ("{*}", "{**}") and not any_seen:
                any_seen = segment == "{**}"
                continue
            if segment in ("{*}", "{**}"):
                return f"{v!r}: {{**}} must be the last template operator"
            if "{" in segment or "}" in segment:
                return f"{v!r}: braces other than the templates {{*}} and {{**}}"
    return None


def peer_authentication_problems(spec: LMap) -> Iterator[Problem]:
    """IST-23: what ValidatePeerAuthentication and the CRD refuse (IST-6)."""
    yield from selector_problems(spec, "spec")
    mtls = spec.get("mtls")
    mode: Any = mtls.get("mode") if isinstance(mtls, LMap) else None
    if mode is not None and mode not in MODES:
        yield "spec.mtls.mode", f"{mode!r} is not one of {', '.join(MODES)}", mtls.line_of("mode")  # type: ignore[union-attr]
    ports = spec.get("portLevelMtls")
    if not ports:
        return
    selector = spec.get("selector")
    labels = selector.get("matchLabels") if isinstance(selector, LMap) else None
    line = spec.line_of("portLevelMtls")
    if not labels:
        yield "spec.portLevelMtls", "a namespace-wide or mesh-wide PeerAuthentication cannot set port-level mTLS " \
            "(it needs a selector with labels)", line
    for key, value in (ports.items() if isinstance(ports, LMap) else ()):
        if not (key.isdigit() and 1 <= int(key) <= 65535):
            yield f"spec.portLevelMtls.{key}", "a port must be 1-65535", ports.line_of(key)
        written = value.get("mode") if isinstance(value, LMap) else None
        if written is not None and written not in MODES:
            yield f"spec.portLevelMtls.{key}.mode", f"{written!r} is not one of {', '.join(MODES)}", \
                ports.line_of(key)
