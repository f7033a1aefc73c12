"""Istio security policies (security.istio.io v1beta1, v1) → model. Rules IST-4 … IST-19."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..diagnostics import Diagnostics, Leans
from ..loader import LList, LMap, RawObject
from ..model import (
    AuthorizationPolicy,
    Cluster,
    MeshAction,
    MeshCondition,
    MeshOperation,
    MeshRule,
    MeshSource,
    MtlsMode,
    ObjectRef,
    PeerAuthentication,
)
from ._reader import Reader, describe
from .istio_webhook import Problem, authorization_policy_problems, peer_authentication_problems
from .rule_sites import mesh_rules_match_nothing
from .validation import ISTIOD

MODES = tuple(MtlsMode)
ACTIONS = tuple(MeshAction)
_SOURCE_FIELDS = {"principals": "principals", "notPrincipals": "not_principals", "namespaces": "namespaces",
                  "notNamespaces": "not_namespaces", "serviceAccounts": "service_accounts",
                  "notServiceAccounts": "not_service_accounts", "ipBlocks": "ip_blocks",
                  "notIpBlocks": "not_ip_blocks", "requestPrincipals": "request_principals",
                  "notRequestPrincipals": "not_request_principals", "remoteIpBlocks": "remote_ip_blocks",
                  "notRemoteIpBlocks": "not_remote_ip_blocks"}
_OPERATION_FIELDS = {"hosts": "hosts", "notHosts": "not_hosts", "ports": "ports", "notPorts": "not_ports",
                     "methods": "methods", "notMethods": "not_methods", "paths": "paths", "notPaths": "not_paths"}


def _strings(r: Reader, raw: LMap, key: str, path: str) -> tuple[str, ...] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, LList):
        r.error("invalid-type", f"{path}.{key} must be a list of strings", raw.line_of(key), Leans.EITHER)
        return ()
    return tuple(str(v) for v in value)


def _selector(r: Reader, spec: LMap, path: str) -> Any:
    raw = r.get_map(spec, "selector", path, Leans.EITHER)
    if raw is None:
        return None
    labels = raw.get("matchLabels")
    if not isinstance(labels, LMap):
        r.error("invalid-selector", f"{path}.selector needs matchLabels", raw.line, Leans.EITHER)
    return r.selector_value(LMap(raw.line) if not isinstance(labels, LMap) else _only_labels(raw), f"{path}.selector",
                            Leans.EITHER)


def _only_labels(raw: LMap) -> LMap:
    out = LMap(raw.line)
    out["matchLabels"] = raw["matchLabels"]
    out.key_lines["matchLabels"] = raw.line_of("matchLabels")
    return out


def parse_peer_authentication(obj: RawObject, cluster: Cluster, diags: Diagnostics) -> None:
    r = Reader(obj, diags)
    ns = obj.namespace or "default"
    spec = r.get_map(obj.data, "spec", "") or LMap(obj.line)
    selector = _selector(r, spec, "spec")
    mtls = r.get_map(spec, "mtls", "spec") or LMap(spec.line)
    written = str(mtls.get("mode") or MtlsMode.UNSET).upper()
    mode = MtlsMode(written) if written in MODES else MtlsMode.UNSET  # IST-23: another mode is refused
    ports: dict[int, MtlsMode] = {}
    port_level = r.get_map(spec, "portLevelMtls", "spec")
    if port_level and selector is not None:  # IST-6, IST-23: without a selector it is refused
        for key, value in port_level.items():
            m = value.get("mode") if isinstance(value, LMap) else None
            port_mode = str(m or MtlsMode.UNSET).upper()
            if str(key).isdigit() and port_mode in MODES:  # IST-23: another port or mode is refused
                ports[int(key)] = MtlsMode(port_mode)
    pa = PeerAuthentication(ObjectRef("PeerAuthentication", ns, obj.name, obj.file, obj.line), selector, mode, ports,
                            str(obj.metadata.get("creationTimestamp") or ""),
                            rejected=_rejected(r, peer_authentication_problems(spec)))
    (cluster.mesh.rejected if pa.rejected else cluster.mesh.peer_authentications).append(pa)


def parse_authorization_policy(obj: RawObject, cluster: Cluster, diags: Diagnostics) -> None:
    r = Reader(obj, diags)
    ns = obj.namespace or "default"
    spec = r.get_map(obj.data, "spec", "") or LMap(obj.line)
    written = str(spec.get("action") or MeshAction.ALLOW).upper()
    action = MeshAction(written) if written in ACTIONS else MeshAction.ALLOW  # IST-23: another action is refused
    selector = _selector(r, spec, "spec")
    targets: list[str] = []
    for key in ("targetRef", "targetRefs"):
        raw = spec.get(key)
        items = [raw] if isinstance(raw, LMap) else list(raw) if isinstance(raw, LList) else []
        targets.extend(f"{t.get('kind', '')}/{t.get('name', '')}" for t in items if isinstance(t, LMap))
    rules: list[MeshRule] | None = None
    raw_rules = spec.get("rules")
    if raw_rules is not None:
        rules = []
        for i, raw in enumerate(raw_rules if isinstance(raw_rules, LList) else []):
            rp = f"spec.rules[{i}]"
            if not isinstance(raw, LMap):
                rules.append(MeshRule(None, None, (), i, raw_rules.line_of(i)))
                continue
            unreadable = _unreadable_parts(raw)
            for part, value, line in unreadable:
                problem = f"must be {'a list' if '[' not in part else 'a mapping'}, not {describe(value)}"
                if action is MeshAction.ALLOW:
                    r.error("invalid-type", f"{rp}.{part} {problem}; this ALLOW rule allows nothing", line,
                            Leans.MAY_DENY_MORE)
                else:  # a deny that cannot be read is not narrowed: the object is refused, as the cluster does
                    r.reject("invalid-type", f"{rp}.{part}", problem, line, ISTIOD)
            if unreadable:
                rules.append(MeshRule((), None, (), i, raw_rules.line_of(i)))  # no source matches it
                continue
            sources = None
            if raw.get("from") is not None:
                sources = tuple(MeshSource(**{attr: _strings(r, s.get("source") or LMap(s.line), key,
                                                             f"{rp}.from.source")
                                             for key, attr in _SOURCE_FIELDS.items()})
                                for s in raw["from"] if isinstance(s, LMap))
            operations = None
            if raw.get("to") is not None:
                operations = tuple(MeshOperation(**{attr: _strings(r, o.get("operation") or LMap(o.line), key,
                                                                   f"{rp}.to.operation")
                                                    for key, attr in _OPERATION_FIELDS.items()})
                                   for o in raw["to"] if isinstance(o, LMap))
            conditions = tuple(MeshCondition(str(c.get("key")), _strings(r, c, "values", f"{rp}.when"),
                                             _strings(r, c, "notValues", f"{rp}.when"))
                               for c in raw.get("when") or ())
            rules.append(MeshRule(sources, operations, conditions, i, raw_rules.line_of(i)))
            for source in sources or ():
                for p in (source.principals or ()) + (source.not_principals or ()):
                    if p.startswith("spiffe://"):
                        # IST-17: Istio prepends spiffe:// itself; this value can never match.
                        r.warning("spiffe-principal", f"{rp}.from.source.principals {p!r}: Istio adds "
                                  "'spiffe://' itself, so this principal becomes 'spiffe://spiffe://…' and never "
                                  f"matches (IST-17); write {p.removeprefix('spiffe://')!r}", raw.line,
                                  _spiffe_leans(action, p in (source.principals or ())))
    provider = ""
    raw_provider = spec.get("provider")
    if action is MeshAction.CUSTOM and isinstance(raw_provider, LMap):
        provider = str(raw_provider.get("name") or "")
    dry_run = _dry_run(r, obj, action)
    ap = AuthorizationPolicy(ObjectRef("AuthorizationPolicy", ns, obj.name, obj.file, obj.line), selector,
                             tuple(targets), action, tuple(rules) if rules is not None else None, provider,
                             rejected=_rejected(r, authorization_policy_problems(spec)), dry_run=dry_run)
    ap = mesh_rules_match_nothing(ap, r.broken_rules)  # IST-27: a refused part of an ALLOW rule
    (cluster.mesh.rejected if ap.rejected else cluster.mesh.authorization_policies).append(ap)


def _unreadable_parts(raw: LMap) -> list[tuple[str, Any, int]]:
    """The parts of one AuthorizationPolicy rule that are not of their type, as (path in the rule,
    value, line): ``from``, ``to`` and ``when`` are lists of mappings, ``source`` and ``operation``
    mappings."""
    out: list[tuple[str, Any, int]] = []
    for key, inner in (("from", "source"), ("to", "operation"), ("when", "")):
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, LList):
            out.append((key, value, raw.line_of(key)))
            continue
        for j, item in enumerate(value):
            if not isinstance(item, LMap):
                out.append((f"{key}[{j}]", item, value.line_of(j)))
            elif inner and item.get(inner) is not None and not isinstance(item[inner], LMap):
                out.append((f"{key}[{j}].{inner}", item[inner], item.line_of(inner)))
    return out


def _rejected(r: Reader, problems: Iterable[Problem]) -> str:
    """IST-23: each problem istiod's webhook refuses is an error; the reasons, '' if none."""
    for path, problem, line in problems:
        r.reject("istio-rejected", path, problem, line, ISTIOD)
    return r.rejected


def _spiffe_leans(action: MeshAction, in_principals: bool) -> Leans | None:
    """IST-17: kubeward, like Istio, never matches a ``spiffe://`` principal. Were it to match after
    all, a ``principals`` entry would widen an ALLOW rule (the cluster may allow more than shown)
    and a DENY or CUSTOM rule (it may deny more); a ``notPrincipals`` entry the other way round.
    AUDIT decides nothing."""
    if action is MeshAction.AUDIT:
        return None
    widens = (action is MeshAction.ALLOW) == in_principals
    return Leans.MAY_ALLOW_MORE if widens else Leans.MAY_DENY_MORE


DRY_RUN = "istio.io/dry-run"
# Go's strconv.ParseBool, with which istiod reads the annotation.
_TRUE, _FALSE = ("1", "t", "T", "TRUE", "true", "True"), ("0", "f", "F", "FALSE", "false", "False")


def _dry_run(r: Reader, obj: RawObject, action: MeshAction) -> bool:
    """IST-40: ``istio.io/dry-run`` read as istiod reads it (a Go boolean); its webhook refuses
    another value, and the annotation on an action other than ALLOW and DENY (IST-23)."""
    annotations = obj.metadata.get("annotations")
    if not isinstance(annotations, LMap) or DRY_RUN not in annotations:
        return False
    value, line = annotations.get(DRY_RUN), annotations.line_of(DRY_RUN)
    path = f"metadata.annotations[{DRY_RUN}]"
    if action not in (MeshAction.ALLOW, MeshAction.DENY):
        r.reject("istio-rejected", path, f"the annotation is only supported on ALLOW and DENY policies, not "
                 f"{action.value} (IST-40)", line, ISTIOD)
        return False
    text = str(value)
    if text not in _TRUE + _FALSE:
        r.reject("istio-rejected", path, f"{text!r} is not a boolean (IST-40)", line, ISTIOD)
        return False
    return text in _TRUE
