"""Strict reading: one loaded object checked against the upstream schema of its kind.

Use::

    from kubeward.dialects.schema import check_object

    for problem in check_object(raw):      # raw: kubeward.loader.RawObject
        ...  # problem.path, problem.line (in raw.file), problem.problem, problem.message, problem.fatal

:func:`check_object` returns the located :class:`SchemaProblem` s of one object, worded as the API
server words them, or ``[]`` when the object is valid or kubeward has no schema for its
apiVersion and kind (unknown kinds are reported elsewhere; :func:`has_schema` tells which case
it is). ``fatal`` says whether the API server rejects the object whichever client sends it. An
unknown field is the one problem that is not fatal: kubectl asks for strict field validation
(its default), which rejects the object, but other clients get the field pruned and the object
stored without it; the message says both.

The schemas (see :mod:`kubeward.dialects._schemas`): the Kubernetes OpenAPI definitions of
Kubernetes :data:`KUBERNETES_VERSION` for built-in kinds, and the published CRD schemas of
Cilium, Calico, Istio, Gateway API and the network-policy API for custom resources. What a
schema cannot say (label syntax, port names, CIDR semantics, selectors, CEL rules) is not
checked here.

Validation (ARCHITECTURE.md, "Strict reading"): a compiled ``fastjsonschema`` validator says yes
or no first, and only the objects it rejects go through ``jsonschema``, which finds the errors,
with exact paths and every failing keyword, and they become the problems. Compiled validators are
kept between runs (:mod:`kubeward.dialects._compiled`); without that cache, a kind is compiled
once it has had enough objects (:data:`SCHEMA_BYTES_PER_OBJECT`) and ``jsonschema`` alone
checks the ones before. Each problem's line is that of the deepest key of its path that the
object has.
"""

from __future__ import annotations

import base64
import copy
import datetime
import difflib
import ipaddress
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any

from ..loader import LList, LMap, RawObject
from . import _compiled
from ._schemas import CHECKED_FORMATS, KUBERNETES_VERSION, KindSchema, SchemaOrigin, schema_for

if TYPE_CHECKING:  # imported when an object must be explained (jsonschema) or a validator compiled
    import jsonschema
    from jsonschema.exceptions import ValidationError

__all__ = ["KUBERNETES_VERSION", "Problem", "SchemaProblem", "check_object", "has_schema", "schema_source"]

Json = Any


class Problem(StrEnum):
    """What is wrong at a path, in the API server's terms."""

    UNKNOWN_FIELD = "unknown-field"   # not in the schema: rejected by strict field validation, else pruned
    WRONG_TYPE = "wrong-type"         # a value of another JSON type than the schema's
    ENUM = "enum"                     # a value outside the schema's list
    PATTERN = "pattern"               # a string that does not match the schema's regular expression
    FORMAT = "format"                 # a string that is not of the schema's format (cidr, ipv4, ipv6)
    RANGE = "range"                   # a number below the minimum, above the maximum, not a multiple
    LENGTH = "length"                 # a string shorter or longer than the schema allows
    COUNT = "count"                   # a list or map with too few or too many entries
    DUPLICATE = "duplicate"           # the same item twice in a list that is a set
    REQUIRED = "required"             # a required field missing
    ALTERNATIVES = "alternatives"     # none, or more than one, of the schema's alternatives (oneOf/anyOf/not)
    TOO_DEEP = "too-deep"             # nested deeper than the checker follows


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """One problem of one object: where (``path`` as the API server writes it, ``line`` in the
    object's file), what (``problem``), the API server's words (``message``), and whether the
    API server rejects the object whichever client sends it (``fatal``). ``suggestion`` is the
    field an unknown one most likely meant, or the value an unsupported one most likely meant ("" when
    none is close)."""

    path: str
    line: int
    problem: Problem
    message: str
    fatal: bool
    suggestion: str = ""


def has_schema(api_version: str, kind: str) -> bool:
    """Whether :func:`check_object` checks objects of this apiVersion and kind."""
    return schema_for(api_version, kind) is not None


def schema_source(api_version: str, kind: str) -> str | None:
    """Which upstream schema checks this apiVersion and kind (project, release, data file)."""
    found = schema_for(api_version, kind)
    return found.source if found is not None else None


def check_object(raw: RawObject) -> list[SchemaProblem]:
    """Every problem the upstream schema finds in ``raw``, ordered by line; ``[]`` when it has
    none or when kubeward has no schema for its apiVersion and kind."""
    validators = _validators(raw.api_version, raw.kind)
    if validators is None:
        return []
    try:
        if validators.accepts(raw.data):
            return []
        found = validators.schema
        # YAML-only scalars (timestamps, binary) are strings to the API server
        errors = list(validators.explainer.iter_errors(_plain(raw.data)))
        problems = _Explainer(found, raw).problems(iter(errors)) if errors else []
    except RecursionError:
        return [SchemaProblem("", raw.line, Problem.TOO_DEEP, "the object is nested too deeply to check against "
                              f"its schema ({validators.schema.source}); it is read as rejected", True)]
    return problems


# --- validators -------------------------------------------------------------------------------------

def _go_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Go's ``net.ParseIP``: no zone (Python would take ``%eth0``)."""
    if "%" in text:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _go_cidr(value: object) -> bool:
    """Format ``cidr`` as Go's ``net.ParseCIDR`` reads it: an address, "/", and a decimal prefix
    length in range."""
    if not isinstance(value, str):
        return True
    address, slash, prefix = value.partition("/")
    if not slash or not prefix.isascii() or not prefix.isdigit():
        return False
    parsed = _go_address(address)
    return parsed is not None and int(prefix) <= parsed.max_prefixlen


def _go_ip(mark: str) -> Callable[[object], bool]:
    """Formats ``ipv4`` and ``ipv6`` as the API server's format registry reads them: Go parses
    the address, and the text has a "." (ipv4) or a ":" (ipv6)."""
    def check(value: object) -> bool:
        return not isinstance(value, str) or (mark in value and _go_address(value) is not None)
    return check


FORMAT_CHECKS: dict[str, Callable[[object], bool]] = {"cidr": _go_cidr, "ipv4": _go_ip("."), "ipv6": _go_ip(":")}
assert set(FORMAT_CHECKS) == set(CHECKED_FORMATS)


def _format_checker() -> jsonschema.FormatChecker:
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    for name, check in FORMAT_CHECKS.items():
        checker.checks(name)(check)
    return checker


def _items_as_definitions(document: dict[str, Json]) -> dict[str, Json]:
    """``document`` with every inline list-item schema moved to ``definitions``: fastjsonschema
    then generates one small function per item schema instead of one huge function, whose
    error path (``locals()``) costs time in proportion to its size."""
    document = copy.deepcopy(document)
    definitions: dict[str, Json] = document["definitions"]
    count = 0

    def hoist(node: Json) -> None:
        nonlocal count
        if isinstance(node, list):
            for item in node:
                hoist(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in ("enum", "required"):
                    continue
                if key == "properties":
                    for sub in value.values():
                        hoist(sub)
                    continue
                hoist(value)
                if key == "items" and isinstance(value, dict) and "$ref" not in value:
                    name = f"kubeward.items.{count}"
                    count += 1
                    definitions[name] = value
                    node[key] = {"$ref": "#/definitions/" + name}

    for definition in list(definitions.values()):
        hoist(definition)
    hoist({key: value for key, value in document.items() if key != "definitions"})
    return document


SCHEMA_BYTES_PER_OBJECT = 250
"""A kind's fastjsonschema validator is compiled once the kind has had one object per this many
bytes of its schema (JSON): compiling costs 2-3 ms per KB of schema and then saves 0.6-0.8 ms an
object over jsonschema, so this is about where compiling starts to pay (ARCHITECTURE.md, "Strict
reading": after 23 NetworkPolicies, 334 CiliumNetworkPolicies)."""


class _Validators:
    """The validators of one kind: ``fast`` (fastjsonschema, compiled) says yes or no first, so
    that a valid object, the common case, costs a fraction of a millisecond; ``explainer``
    (jsonschema, built when first needed) finds every error of an object ``fast`` refuses.
    ``fast`` comes from the cache of compiled validators, or is compiled on first use when that
    cache is kept (outside CI); else once the kind has had ``compile_after`` objects (before
    that, ``explainer`` alone checks them)."""

    def __init__(self, api_version: str, kind: str, fast: _compiled.Validate | None) -> None:
        self.api_version, self.kind = api_version, kind
        self.fast = fast
        self.seen = 0
        self.compile_after = -1  # known once the schema is

    @property
    def schema(self) -> KindSchema:
        found = schema_for(self.api_version, self.kind)
        assert found is not None  # a kind without a schema has no _Validators
        return found

    @property
    def explainer(self) -> jsonschema.Draft7Validator:
        return _explainer(self.api_version, self.kind)

    def accepts(self, value: Json) -> bool | None:
        """Whether the compiled validator accepts ``value``; None while there is none yet."""
        self.seen += 1
        if self.fast is None:
            document = self.schema.document
            if self.compile_after < 0:  # kept between runs: compile now; else once it pays in this run
                size = len(json.dumps(document))
                self.compile_after = 0 if _compiled.compile_ahead() else size // SCHEMA_BYTES_PER_OBJECT
            if self.seen <= self.compile_after:
                return None
            self.fast = _compiled.compile_validator(self.api_version, self.kind, _items_as_definitions(document),
                                                    FORMAT_CHECKS)
        try:
            self.fast(value)
        except _compiled.Rejected:
            return False
        return True


@cache
def _validators(api_version: str, kind: str) -> _Validators | None:
    """The validators of a kind, None when kubeward has no schema for it: stored ones first
    (no schema is read then), else from its schema."""
    stored = _compiled.load(api_version, kind)
    if isinstance(stored, _compiled.NoSchema):
        return None
    if stored is None and schema_for(api_version, kind) is None:
        _compiled.store_no_schema(api_version, kind)
        return None
    return _Validators(api_version, kind, stored)


@cache
def _explainer(api_version: str, kind: str) -> jsonschema.Draft7Validator:
    import jsonschema

    found = schema_for(api_version, kind)
    assert found is not None
    return jsonschema.Draft7Validator(found.document, format_checker=_format_checker())


def _plain(value: Json) -> Json:
    """``value`` as the API server receives it (JSON): YAML timestamps and binary become strings.
    The same object when nothing needs to change."""
    if isinstance(value, dict):
        items = {key: _plain(sub) for key, sub in value.items()}
        return value if all(items[key] is value[key] for key in value) else items
    if isinstance(value, list):
        entries = [_plain(sub) for sub in value]
        return value if all(new is old for new, old in zip(entries, value, strict=True)) else entries
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


# --- errors as the API server words them ---------------------------------------------------------

_STRICT = "kubectl's strict field validation rejects the object (other clients prune the field)"


def _json_type(value: Json) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


_GO_JSON_KINDS = {"boolean": "bool", "integer": "number", "number": "number", "null": "null"}


def _shown(value: Json) -> str:
    """A value as Go's field errors show it: strings quoted, numbers and booleans bare."""
    if isinstance(value, (dict, list)):
        return json.dumps(_json_type(value))
    return json.dumps(value, default=str, ensure_ascii=False)


def did_you_mean(name: str, candidates: Sequence[str]) -> str:
    """The candidate ``name`` most likely meant: the same name in another case, else the
    closest by difflib's ratio (at least 0.6), else ""."""
    for candidate in candidates:
        if candidate.lower() == name.lower():
            return candidate
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return close[0] if close else ""


@dataclass(frozen=True, slots=True)
class _Step:
    """One step of a path through the schema: the key (or index), how the API server writes it
    (``.field``, ``[key]`` of a map, ``[index]``), the schema node reached (None past the
    schema), and the built-in definition that declares the field (for Go's messages)."""

    key: str | int
    written: str
    node: dict[str, Json] | None
    declared_in: str


class _Explainer:
    """Turns jsonschema's errors for one object into located, worded problems."""

    def __init__(self, schema: KindSchema, raw: RawObject) -> None:
        self.schema = schema
        self.raw = raw
        self.definitions: dict[str, Json] = schema.document["definitions"]

    # paths

    def _resolve(self, node: Json, declared_in: str) -> tuple[dict[str, Json] | None, str]:
        while isinstance(node, dict) and "$ref" in node:
            declared_in = node["$ref"].rpartition("/")[2]
            node = self.definitions.get(declared_in)
        return (node if isinstance(node, dict) else None), declared_in

    def steps(self, path: Sequence[str | int]) -> list[_Step]:
        node, declared_in = self._resolve(self.schema.document, "")
        steps: list[_Step] = []
        for key in path:
            owner = declared_in
            if isinstance(key, int):
                written = f"[{key}]"
                child = node.get("items") if node else None
            elif node and key in node.get("properties", {}):
                written, child = f".{key}", node["properties"][key]
            elif node and isinstance(node.get("additionalProperties"), dict):
                written, child = f"[{key}]", node["additionalProperties"]
            else:
                written, child = f".{key}", None
            node, declared_in = self._resolve(child, declared_in)
            steps.append(_Step(key, written, node, owner))
        return steps

    @staticmethod
    def written(steps: Sequence[_Step]) -> str:
        return "".join(step.written for step in steps).removeprefix(".")

    def line_of(self, path: Sequence[str | int]) -> int:
        """The line of the deepest key (or item) of ``path`` the object has."""
        node: Json = self.raw.data
        line = self.raw.line
        for key in path:
            if isinstance(node, LMap) and isinstance(key, str) and key in node:
                line, node = node.line_of(key), node[key]
            elif isinstance(node, LList) and isinstance(key, int) and 0 <= key < len(node):
                line, node = node.line_of(key), node[key]
            else:
                break
        return line

    def problem(self, path: Sequence[str | int], problem: Problem, message: str, fatal: bool = True,
                suggestion: str = "") -> SchemaProblem:
        return SchemaProblem(self.written(self.steps(path)), self.line_of(path), problem, message, fatal, suggestion)

    # messages

    def _go_type(self, node: dict[str, Json] | None, ref: str = "") -> str:
        if ref:
            package, _, name = ref.rpartition(".")
            return f"{package.rpartition('.')[2]}.{name}"
        if node is None:
            return "interface {}"
        kind = node.get("type")
        kinds = [k for k in (kind if isinstance(kind, list) else [kind]) if k != "null"]
        if kinds == ["array"]:
            item = node.get("items")
            item_ref = item.get("$ref", "").rpartition("/")[2] if isinstance(item, dict) else ""
            resolved, _ = self._resolve(item, "")
            return "[]" + self._go_type(resolved, item_ref)
        if kinds == ["object"]:
            value = node.get("additionalProperties")
            if isinstance(value, dict):
                value_ref = value.get("$ref", "").rpartition("/")[2]
                resolved, _ = self._resolve(value, "")
                return "map[string]" + self._go_type(resolved, value_ref)
            return "map[string]interface {}"
        if kinds == ["string"]:
            return "string"
        if kinds == ["boolean"]:
            return "bool"
        if kinds == ["integer"]:
            return "int64" if node.get("x-kubeward-format") == "int64" else "int32"
        if kinds == ["number"]:
            return "float64"
        return "interface {}"

    def _wrong_type(self, error: ValidationError) -> SchemaProblem:
        path = list(error.absolute_path)
        declared: Json = error.validator_value
        expected = [str(t) for t in (declared if isinstance(declared, list) else [declared]) if t != "null"]
        got = _json_type(error.instance)
        steps = self.steps(path)
        where = self.written(steps)
        if error.instance is None and path and isinstance(path[-1], str):
            # A null field is no value: Go decodes it as the zero value, a CRD's pruning drops
            # it; the API server then says that the required field is missing. (A null list
            # item is a wrong type.)
            return self.problem(path, Problem.REQUIRED, f"{where}: Required value")
        if self.schema.origin == SchemaOrigin.CRD or not path:
            message = f'{where}: Invalid value: "{got}": {where} in body must be of type {",".join(expected)}: "{got}"'
            return self.problem(path, Problem.WRONG_TYPE, message)
        # Built-in kinds are decoded into Go structs; Go names the struct, the field path (JSON
        # names, no indices or map keys) and the Go type.
        fields = [s for s in steps if s.written.startswith(".")]
        last = fields[-1] if fields else steps[-1]
        struct = last.declared_in.rpartition(".")[2] or self.raw.kind
        field_path = ".".join(str(s.key) for s in fields)
        leaf_ref = ""
        parent = steps[-2].node if len(steps) > 1 else self._resolve(self.schema.document, "")[0]
        raw_leaf = self._raw_child(parent, path[-1])
        if isinstance(raw_leaf, dict) and "$ref" in raw_leaf:
            leaf_ref = raw_leaf["$ref"].rpartition("/")[2]
        go_type = self._go_type(steps[-1].node, leaf_ref)
        message = (f"json: cannot unmarshal {_GO_JSON_KINDS.get(got, got)} into Go struct field "
                   f"{struct}.{field_path} of type {go_type}")
        return self.problem(path, Problem.WRONG_TYPE, message)

    @staticmethod
    def _raw_child(parent: dict[str, Json] | None, key: str | int) -> Json:
        if parent is None:
            return None
        if isinstance(key, int):
            return parent.get("items")
        if key in parent.get("properties", {}):
            return parent["properties"][key]
        extra = parent.get("additionalProperties")
        return extra if isinstance(extra, dict) else None

    def _unknown_fields(self, error: ValidationError) -> Iterator[SchemaProblem]:
        known = list(error.schema.get("properties", {})) if isinstance(error.schema, dict) else []
        base = list(error.absolute_path)
        instance = error.instance if isinstance(error.instance, dict) else {}
        for name in instance:
            if name in known:
                continue
            path = [*base, name]
            where = self.written(self.steps(path))
            suggestion = did_you_mean(name, known)
            message = f'unknown field "{where}": {_STRICT}'
            if suggestion:
                message += f'; did you mean "{suggestion}"?'
            yield self.problem(path, Problem.UNKNOWN_FIELD, message, fatal=False, suggestion=suggestion)

    def _alternatives(self, error: ValidationError) -> SchemaProblem:
        path = list(error.absolute_path)
        where = self.written(self.steps(path)) or self.raw.kind
        branches = error.validator_value if isinstance(error.validator_value, list) else []
        if error.validator == "not":
            text = f'"{where}" must not validate the schema (not)'
        elif error.validator == "anyOf":
            text = f'"{where}" must validate at least one schema (anyOf)'
        else:
            failed = {sub.schema_path[0] for sub in error.context or [] if sub.schema_path}
            valid = len(branches) - len(failed)
            found = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
            text = f'"{where}" must validate one and only one schema (oneOf). {found}'
        names = [b["required"][0] for b in branches
                 if isinstance(b, dict) and len(b.get("required", [])) == 1 and set(b) <= {"required", "properties"}]
        if names and len(names) == len(branches):
            quantity = "at least one" if error.validator == "anyOf" else "exactly one"
            text += f" ({quantity} of {', '.join(names)})"
        return self.problem(path, Problem.ALTERNATIVES, f"{where}: Invalid value: {_shown(error.instance)}: {text}")

    def _constraint(self, error: ValidationError) -> SchemaProblem:
        path = list(error.absolute_path)
        where = self.written(self.steps(path))
        value: Json = error.instance
        limit: Json = error.validator_value
        keyword = str(error.validator)
        invalid = f"{where}: Invalid value: {_shown(value)}: {where} in body"
        if keyword == "enum":
            supported = ", ".join(_shown(v) for v in limit if v is not None)
            choices = [str(v) for v in limit if isinstance(v, str)]
            near = did_you_mean(value, choices) if isinstance(value, str) else ""
            return self.problem(path, Problem.ENUM, f"{where}: Unsupported value: {_shown(value)}: "
                                f"supported values: {supported}", suggestion=near)
        if keyword == "required":
            missing = [name for name in limit if not isinstance(value, dict) or name not in value]
            target = [*path, missing[0]] if missing else path
            where = self.written(self.steps(target))
            return self.problem(target, Problem.REQUIRED, f"{where}: Required value")
        if keyword == "pattern":
            written = error.schema.get("x-kubeward-pattern", limit) if isinstance(error.schema, dict) else limit
            return self.problem(path, Problem.PATTERN, f"{invalid} should match '{written}'")
        if keyword == "format":
            return self.problem(path, Problem.FORMAT, f"{invalid} must be of type {limit}: {_shown(value)}")
        if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
            words = {"minimum": "greater than or equal to", "maximum": "less than or equal to",
                     "exclusiveMinimum": "greater than", "exclusiveMaximum": "less than",
                     "multipleOf": "a multiple of"}[keyword]
            return self.problem(path, Problem.RANGE, f"{invalid} should be {words} {limit}")
        if keyword == "maxLength":
            return self.problem(path, Problem.LENGTH, f"{where}: Too long: may not be more than {limit} bytes")
        if keyword == "minLength":
            return self.problem(path, Problem.LENGTH, f"{invalid} should be at least {limit} chars long")
        if keyword == "maxItems":
            return self.problem(path, Problem.COUNT, f"{where}: Too many: {len(value)}: must have at most "
                                f"{limit} items")
        if keyword in ("minItems", "minProperties", "maxProperties"):
            unit = "items" if keyword == "minItems" else "properties"
            most = "at most" if keyword == "maxProperties" else "at least"
            return self.problem(path, Problem.COUNT, f"{where}: Invalid value: {len(value)}: {where} in body "
                                f"should have {most} {limit} {unit}")
        if keyword == "uniqueItems":
            seen: list[Json] = []
            for index, item in enumerate(value):
                if item in seen:
                    target = [*path, index]
                    return self.problem(target, Problem.DUPLICATE, f"{self.written(self.steps(target))}: "
                                        f"Duplicate value: {_shown(item)}")
                seen.append(item)
        return self.problem(path, Problem.WRONG_TYPE, f"{where}: Invalid value: {_shown(value)}: {error.message}")

    def problems(self, errors: Iterator[ValidationError]) -> list[SchemaProblem]:
        found: list[SchemaProblem] = []
        wrong_type_at: set[tuple[str | int, ...]] = set()
        rest: list[ValidationError] = []
        for error in errors:
            if error.validator == "type":
                wrong_type_at.add(tuple(error.absolute_path))
                found.append(self._wrong_type(error))
            else:
                rest.append(error)
        for error in rest:
            if tuple(error.absolute_path) in wrong_type_at:
                continue  # a value of the wrong type: its other checks say nothing more
            if error.validator == "additionalProperties" and error.validator_value is False:
                found.extend(self._unknown_fields(error))
            elif error.validator in ("oneOf", "anyOf", "not"):
                found.append(self._alternatives(error))
            else:
                found.append(self._constraint(error))
        unique = list(dict.fromkeys(found))
        return sorted(unique, key=lambda p: (p.line, p.path))
