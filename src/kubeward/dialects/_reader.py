"""Typed, located field access for dialect parsers.

A :class:`Reader` is bound to one raw object. Each accessor checks the type of a field and,
when it is wrong, records a diagnostic with the field's file:line and returns ``None``, so a
parser can carry on with the rest of the object.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from typing import Any

from ..diagnostics import Diagnostics, Leans
from ..ir import (
    EVERYTHING,
    NOTHING,
    IPRange,
    LabelSelector,
    NetworkPeer,
    NoPeer,
    Operator,
    Policy,
    Requirement,
)
from ..loader import LList, LMap, RawObject
from ..refs import ObjectRef
from .rule_sites import allow_nothing, rule_site
from .validation import Admission, label_key_problem, label_value_problem


def ref_of(obj: RawObject) -> ObjectRef:
    """A raw object as an :class:`ObjectRef`: its kind, namespace (as written), name, file:line."""
    return ObjectRef(obj.kind, obj.namespace, obj.name, obj.file, obj.line, obj.api_version)


_TYPE_NAMES = {LMap: "a mapping", LList: "a list", str: "a string", int: "an integer", bool: "a boolean"}


@dataclass(slots=True)
class Reader:
    """``admission``: who validates this kind's label selectors (NP-27); None: nobody checks them
    (the dialect validates its own selectors, or the cluster accepts anything)."""

    obj: RawObject
    diags: Diagnostics
    failed: bool = False  # set once any error was recorded for this object
    admission: Admission | None = None
    rejections: list[str] = field(default_factory=list)  # why the cluster refuses the object (NP-28)
    # NP-29: the allow rules a refused part lies in, read as allowing nothing, and why
    broken_rules: dict[str, str] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return self.obj.file

    @property
    def ref(self) -> ObjectRef:
        """The object being read, as the manifest names it (its namespace as written)."""
        return ref_of(self.obj)

    def error(self, code: str, message: str, line: int, leans: Leans | None = None) -> None:
        self.failed = True
        self.diags.error(code, message, self.file, line, self.ref, leans)

    def warning(self, code: str, message: str, line: int, leans: Leans | None = None) -> None:
        self.diags.warning(code, message, self.file, line, self.ref, leans)

    def info(self, code: str, message: str, line: int) -> None:
        self.diags.info(code, message, self.file, line, self.ref)

    def reject(self, code: str, path: str, problem: str, line: int, admission: Admission | None = None) -> None:
        """NP-28: a problem for which the cluster refuses the whole object: an error at its line,
        and the object is not enforced (the engine says so on every side it would select)."""
        by = admission or self.admission
        if by is None:  # pragma: no cover - a dialect rejects only with an admission
            raise ValueError("reject() needs an admission")
        site = rule_site(self.obj, path)
        if site is not None:
            # NP-29: inside an allow rule, the refused part makes the rule allow nothing instead.
            why = f"{by.by} refuses {path}: {problem}"
            before = self.broken_rules.get(site.path)
            self.broken_rules[site.path] = f"{before}; {why}" if before else f"{site.path} allows nothing: {why}"
            self.error(code, f"{path}: {problem}; {by.by} refuses the {self.obj.kind} ({by.rule}), and kubeward reads "
                       f"{site.path} as allowing nothing (a malformed allow rule never allows more, NP-29)", line,
                       Leans.MAY_ALLOW_MORE)
            return
        self.rejections.append(f"{by.by} refuses {path}: {problem}")
        self.error(code, f"{path}: {problem}; {by.says(self.obj.kind)}", line)

    @property
    def rejected(self) -> str:
        """Every reason the cluster refuses the object, for ``Policy.rejected`` ('' if none)."""
        return "; ".join(self.rejections)

    def finish(self, policy: Policy) -> Policy:
        """``policy`` as the cluster's checks leave it: rejected (NP-28), or with the allow rules a
        check refused a part of allowing nothing (NP-29)."""
        return allow_nothing(replace(policy, rejected=self.rejected), self.broken_rules)

    # ---- typed access --------------------------------------------------------------

    def field(self, parent: LMap, key: str, kind: type[Any], path: str,
              leans: Leans | None = None) -> Any:
        """``parent[key]`` if it has the right type; None (and a diagnostic) if it has not;
        None silently if absent or null."""
        if key not in parent or parent[key] is None:
            return None
        value = parent[key]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok:
            self.error("invalid-type",
                       f"{path}.{key} must be {_TYPE_NAMES.get(kind, kind.__name__)}, "
                       f"not {describe(value)}", parent.line_of(key), leans)
            return None
        return value

    def get_map(self, parent: LMap, key: str, path: str, leans: Leans | None = None) -> LMap | None:
        value: LMap | None = self.field(parent, key, LMap, path, leans)
        return value

    def get_list(self, parent: LMap, key: str, path: str, leans: Leans | None = None) -> LList | None:
        value: LList | None = self.field(parent, key, LList, path, leans)
        return value

    def get_str(self, parent: LMap, key: str, path: str, leans: Leans | None = None) -> str | None:
        value: str | None = self.field(parent, key, str, path, leans)
        return value

    def get_int(self, parent: LMap, key: str, path: str, leans: Leans | None = None) -> int | None:
        value: int | None = self.field(parent, key, int, path, leans)
        return value

    def get_items(self, parent: LMap, key: str, path: str, leans: Leans | None = None) -> LList:
        """The items of a list field: empty when absent or null, and empty with an ``invalid-type``
        error when it is not a list (a string is never iterated character by character)."""
        return self.get_list(parent, key, path, leans) or LList(parent.line_of(key))

    def string_list(self, parent: LMap, key: str, path: str, leans: Leans | None = None) -> tuple[str, ...] | None:
        """A list of strings: ``()`` when absent or null; None (and an ``invalid-type`` error at the
        field) when it is not a list or an item is not a string, so the caller can fail closed."""
        items = self.get_list(parent, key, path, leans)
        if items is None:
            return None if key in parent and parent[key] is not None else ()
        for i, item in enumerate(items):
            if not isinstance(item, str):
                self.error("invalid-type", f"{path}.{key}[{i}] must be a string, not {describe(item)}",
                           items.line_of(i), leans)
                return None
        return tuple(items)

    def unknown_keys(self, parent: LMap, known: set[str], path: str) -> None:
        for key in parent:
            if key not in known:
                self.warning("unknown-field", f"{path}.{key} is not a field of this API; ignored "
                             "(the API server would reject or drop it)", parent.line_of(key))

    # ---- label selectors -----------------------------------------------------------

    def labels(self, parent: LMap, key: str, path: str) -> dict[str, str]:
        raw = self.get_map(parent, key, path)
        if raw is None:
            return {}
        out: dict[str, str] = {}
        for k, v in raw.items():
            if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                self.error("invalid-type", f"{path}.{key}.{k} must be a string, not {describe(v)}",
                           raw.line_of(k))
                continue
            if not isinstance(v, str):
                self.error("invalid-type", f"{path}.{key}.{k} must be a string (quote it): "
                           f"{v!r} is {describe(v)}", raw.line_of(k))
            self._check_label(k, str(v), f"{path}.{key}".lstrip("."), raw.line_of(k))  # NP-27
            out[k] = str(v)
        return out

    def selector(self, parent: LMap, key: str, path: str, leans: Leans) -> LabelSelector | None:
        """A LabelSelector field: None when absent; NOTHING (fail closed) when broken."""
        if key not in parent or parent[key] is None:
            return None
        raw = parent[key]
        if not isinstance(raw, LMap):
            self.error("invalid-type", f"{path}.{key} must be a label selector mapping, "
                       f"not {describe(raw)}; it selects nothing here", parent.line_of(key), leans)
            return NOTHING
        return self.selector_value(raw, f"{path}.{key}", leans)

    def selector_value(self, raw: LMap, path: str, leans: Leans) -> LabelSelector:
        reqs: list[Requirement] = []
        broken = False
        for key in raw:
            if key not in ("matchLabels", "matchExpressions"):
                # The API server prunes unknown fields: what remains may select far more.
                self.error("invalid-selector", f"{path}.{key} is not a field of a label selector "
                           "(matchLabels, matchExpressions); the API server drops it, so the selector "
                           "as stored does not mean what it says", raw.line_of(key), Leans.EITHER)
        labels = raw.get("matchLabels")
        if labels is not None:
            if not isinstance(labels, LMap):
                self.error("invalid-type", f"{path}.matchLabels must be a mapping", raw.line_of("matchLabels"), leans)
                broken = True
            else:
                for k, v in labels.items():
                    if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                        where = f"{path}.matchLabels.{k}"
                        if self.admission is not None and rule_site(self.obj, where) is not None:
                            # NP-29: inside an allow rule the unreadable selector makes the whole
                            # rule allow nothing, not only this peer.
                            self.reject("invalid-type", where, "must be a string", labels.line_of(k))
                        else:
                            self.error("invalid-type", f"{where} must be a string", labels.line_of(k), leans)
                        broken = True
                        continue
                    self._check_label(k, str(v), f"{path}.matchLabels", labels.line_of(k))
                    reqs.append(Requirement(k, Operator.IN, (str(v),)))
        exprs = raw.get("matchExpressions")
        if exprs is not None:
            if not isinstance(exprs, LList):
                self.error("invalid-type", f"{path}.matchExpressions must be a list",
                           raw.line_of("matchExpressions"), leans)
                broken = True
            else:
                for i, expr in enumerate(exprs):
                    req = self._requirement(expr, exprs.line_of(i), f"{path}.matchExpressions[{i}]", leans)
                    if req is None:
                        broken = True
                    else:
                        reqs.append(req)
        if broken:
            return NOTHING
        return LabelSelector(tuple(sorted(set(reqs), key=lambda r: (r.key, r.operator, r.values))))

    def _requirement(self, expr: Any, line: int, path: str, leans: Leans) -> Requirement | None:
        if not isinstance(expr, LMap):
            self.error("invalid-type", f"{path} must be a mapping", line, leans)
            return None
        key = expr.get("key")
        op = expr.get("operator")
        values = expr.get("values")
        if not isinstance(key, str) or not key:
            self.error("invalid-selector", f"{path}.key is required", line, leans)
            return None
        try:
            operator = Operator(str(op))
        except ValueError:
            if self.admission is not None:  # NP-27: not a selector operator
                self.reject("invalid-selector", f"{path}.operator", f"{op!r} is not one of In, NotIn, Exists, "
                            "DoesNotExist", expr.line_of("operator"))
                return None
            self.error("invalid-selector",
                       f"{path}.operator {op!r} is not one of In, NotIn, Exists, DoesNotExist; "
                       "the selector selects nothing here", expr.line_of("operator"), leans)
            return None
        vals: tuple[str, ...] = ()
        if values is not None:
            if not isinstance(values, LList) or not all(isinstance(v, str) for v in values):
                self.error("invalid-selector", f"{path}.values must be a list of strings",
                           expr.line_of("values"), leans)
                return None
            vals = tuple(sorted(set(values)))
        if self.admission is not None:
            self._check_label(key, None, path, expr.line_of("key"))
            listed = values if isinstance(values, LList) else LList(expr.line)
            for i, v in enumerate(listed):
                self._check_label(None, v, f"{path}.values[{i}]", listed.line_of(i))
        if operator in (Operator.IN, Operator.NOT_IN) and not vals:
            if self.admission is not None:  # NP-27: In and NotIn need values
                self.reject("invalid-selector", f"{path}.values", f"operator {operator.value} needs at least one "
                            "value", expr.line_of("operator"))
                return Requirement(key, operator, ())  # as written: the object is not enforced anyway
            self.error("invalid-selector", f"{path}: operator {operator.value} needs values",
                       expr.line_of("operator"), leans)
            return None
        if operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and vals:
            if self.admission is not None:  # NP-27: Exists and DoesNotExist take no values
                self.reject("invalid-selector", f"{path}.values", f"operator {operator.value} takes no values",
                            expr.line_of("values"))
                return Requirement(key, operator, ())
            self.error("invalid-selector", f"{path}: operator {operator.value} takes no values",
                       expr.line_of("values"), leans)
            return None
        return Requirement(key, operator, vals)

    def _check_label(self, key: str | None, value: str | None, path: str, line: int) -> None:
        """NP-27: a selector's label key and value as the cluster validates them (the selector is
        kept as written: the object is rejected as a whole)."""
        if self.admission is None:
            return
        problem = label_key_problem(key, self.admission.keys) if key is not None else None
        if problem is not None:
            self.reject("invalid-label-key", path, problem, line)
        problem = label_value_problem(value) if value is not None else None
        if problem is not None:
            self.reject("invalid-label-value", path, problem, line)

    # ---- addresses -----------------------------------------------------------------

    def network(self, cidr: Any, excepts: Any, line: int, path: str, leans: Leans,
                matches_pods: bool = False) -> NetworkPeer | NoPeer:
        """A CIDR minus excepts (NP-17). Broken input yields a peer that matches nothing."""
        if not isinstance(cidr, str):
            self.error("invalid-cidr", f"{path}.cidr must be a CIDR string", line, leans)
            return NoPeer("invalid cidr")
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            self.error("invalid-cidr", f"{path}.cidr {cidr!r} is not a valid CIDR", line, leans)
            return NoPeer(f"invalid cidr {cidr!r}")
        if str(net) != cidr and "/" in cidr:
            self.warning("cidr-host-bits", f"{path}.cidr {cidr!r} has host bits set; it means {net}", line)
        holes: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        written: list[str] = []
        if excepts is not None:
            if not isinstance(excepts, LList):
                self.error("invalid-type", f"{path}.except must be a list of CIDRs", line, leans)
                return NoPeer("invalid except")
            for j, item in enumerate(excepts):
                try:
                    hole = ipaddress.ip_network(str(item), strict=False)
                except ValueError:
                    self.error("invalid-cidr", f"{path}.except[{j}] {item!r} is not a valid CIDR",
                               excepts.line_of(j), leans)
                    return NoPeer(f"invalid except {item!r}")
                if hole.version != net.version or not hole.subnet_of(net):  # type: ignore[arg-type]
                    # NP-17: except entries must lie inside cidr.
                    self.error("except-outside-cidr",
                               f"{path}.except[{j}] {item} is not inside {net}; the API server "
                               "rejects this ipBlock", excepts.line_of(j), leans)
                    return NoPeer(f"except {item} outside {net}")
                holes.append(hole)
                written.append(str(item))
        return NetworkPeer(str(net), tuple(written), network_ranges(net, holes), matches_pods)


def network_ranges(net: ipaddress.IPv4Network | ipaddress.IPv6Network,
                   holes: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> tuple[IPRange, ...]:
    """The address ranges of ``net`` minus ``holes``."""
    ranges = [(int(net.network_address), int(net.broadcast_address))]
    for hole in sorted(holes, key=lambda h: int(h.network_address)):
        lo, hi = int(hole.network_address), int(hole.broadcast_address)
        nxt: list[tuple[int, int]] = []
        for a, b in ranges:
            if hi < a or lo > b:
                nxt.append((a, b))
                continue
            if a < lo:
                nxt.append((a, lo - 1))
            if hi < b:
                nxt.append((hi + 1, b))
        ranges = nxt
    return tuple(IPRange(net.version, a, b) for a, b in ranges)


def describe(value: Any) -> str:
    """A value's JSON type in a message: "a list", "an integer", "null", …"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    for kind, name in _TYPE_NAMES.items():
        if isinstance(value, kind):
            return name
    if isinstance(value, float):
        return "a number"
    return type(value).__name__


__all__ = ["Reader", "describe", "network_ranges", "EVERYTHING"]
