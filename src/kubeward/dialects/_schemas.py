"""The upstream schemas, as self-contained JSON Schema (draft 7) documents, one per kind.

Two sources, both loaded lazily and cached per (group, version, kind):

- **Built-in kinds**: the Kubernetes OpenAPI definitions as shipped, per Kubernetes version, by the
  ``kubernetes-validate`` package (its ``-local-strict`` flavour: ``additionalProperties: false``
  on every object, as the API server's strict decoding). A kind's definition and every definition
  it reaches through ``$ref`` become one document.
- **Custom resources**: the ``openAPIV3Schema`` of each version of the upstream CRDs, kept as
  data in ``kubeward/schemas/*.json`` (see the README there), translated from the CRD dialect of
  OpenAPI v3 to JSON Schema with the API server's structural-schema semantics:

  * an object without ``x-kubernetes-preserve-unknown-fields`` knows only its ``properties``
    (anything else is an unknown field: pruned, or rejected under strict field validation);
    ``additionalProperties`` makes it a map;
  * ``x-kubernetes-int-or-string`` is an integer or a string;
  * ``nullable: true`` admits null; a null field that is not nullable is pruned (dropped before
    validation), so it is no error either, unless the field is required (then it is missing);
  * a field with a ``default`` is never missing: the API server defaults it before validating;
  * ``x-kubernetes-list-type: set`` forbids duplicate items;
  * ``metadata`` is the Kubernetes ``ObjectMeta`` (the CRDs only say ``type: object``);
  * ``format`` is checked for ``cidr``, ``ipv4`` and ``ipv6`` (other formats are not checked);
  * CEL rules (``x-kubernetes-validations``) and the keys of ``x-kubernetes-list-type: map``
    are not checked.

Regular expressions are the API server's (RE2): ``$`` ends the text (it is ``\\Z`` in Python)
and the character classes ``\\d``, ``\\w``, ``\\s`` are ASCII-only; a pattern Python cannot
compile is left out rather than guessed.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, lru_cache
from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from typing import Any

KUBERNETES_VERSION = "1.37.0"
"""The Kubernetes version whose OpenAPI definitions check built-in kinds (the newest that the
``kubernetes-validate`` release required by pyproject.toml ships)."""

_K8S_SCHEMA_DIR = f"v{KUBERNETES_VERSION}-local-strict"
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
CRD_FILES = (
    "cilium.json", "calico.json", "istio.json", "gateway-api.json",
    "network-policy-api-v0.1.json", "network-policy-api-v0.2.json",
)
CHECKED_FORMATS = ("cidr", "ipv4", "ipv6")

Json = Any  # a JSON value: dict, list, str, int, float, bool or None


class SchemaOrigin(StrEnum):
    """Where a kind's schema comes from: built-in kinds are decoded into Go structs, custom
    resources validated against their structural schema, and the API server words the errors of
    the two differently."""

    BUILTIN = "builtin"
    CRD = "crd"


@dataclass(frozen=True, slots=True)
class KindSchema:
    """One kind's schema: ``document`` is self-contained (its ``definitions`` hold every
    ``$ref`` target); ``source`` names the upstream."""

    document: dict[str, Json]
    origin: SchemaOrigin
    source: str


def _split(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


# --- built-in kinds ---------------------------------------------------------------------------

def k8s_definitions_file() -> Path | None:
    """Where kubernetes-validate keeps the definitions, found without importing it (its package
    imports jsonschema, which a run of valid objects does without); None if not on disk."""
    spec = find_spec("kubernetes_validate")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(folder) / "kubernetes-json-schema" / _K8S_SCHEMA_DIR / "_definitions.json"
        if path.is_file():
            return path
    return None


@cache
def _k8s_definitions() -> dict[str, Json]:
    found = k8s_definitions_file()
    if found is not None:
        with found.open(encoding="utf-8") as handle:
            definitions: dict[str, Json] = json.load(handle)["$defs"]
        return definitions
    root = resources.files("kubernetes_validate") / "kubernetes-json-schema" / _K8S_SCHEMA_DIR
    with (root / "_definitions.json").open(encoding="utf-8") as handle:
        definitions = json.load(handle)["$defs"]
    return definitions


@cache
def _k8s_kinds() -> dict[tuple[str, str, str], str]:
    """(group, version, kind) → definition name, for every definition that is one kind."""
    kinds: dict[tuple[str, str, str], str] = {}
    for name, definition in _k8s_definitions().items():
        gvks = definition.get("x-kubernetes-group-version-kind") or []
        if len(gvks) == 1:
            gvk = gvks[0]
            kinds[(gvk["group"], gvk["version"], gvk["kind"])] = name
    return kinds


def _ref_name(ref: str) -> str:
    return ref.rpartition("/")[2]


def _only_types(branches: list[Json]) -> list[str] | None:
    """The types of a ``oneOf``/``anyOf`` whose branches say nothing but a type, else None."""
    types: list[str] = []
    for branch in branches:
        if not isinstance(branch, dict) or set(branch) != {"type"}:
            return None
        kinds = branch["type"] if isinstance(branch["type"], list) else [branch["type"]]
        types.extend(t for t in kinds if t not in types)
    return types


def _builtin_node(node: Json) -> Json:
    """A built-in definition as draft 7: refs to ``#/definitions``, prose dropped, formats kept
    only as a note (the API server decodes them, it does not check them as formats), a union of
    bare types (IntOrString, Quantity) as one ``type`` list."""
    if isinstance(node, list):
        return [_builtin_node(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "oneOf" in node and (types := _only_types(node["oneOf"])) is not None:
        return {"type": types}
    out: dict[str, Json] = {}
    for key, value in node.items():
        if key == "description" or key.startswith("x-kubernetes-"):
            continue
        if key == "format":
            out["x-kubeward-format"] = value  # Go's integer width, for messages; not checked
        elif key == "$ref":
            out[key] = "#/definitions/" + _ref_name(value)
        elif key == "properties":
            out[key] = {name: _builtin_node(sub) for name, sub in value.items()}
        elif key in ("enum", "required"):
            out[key] = value
        else:
            out[key] = _builtin_node(value)
    return out


def _with_definitions(root: dict[str, Json], names: list[str]) -> dict[str, Json]:
    """``root`` with the built-in definitions it (transitively) refers to, and ``names``."""
    definitions = _k8s_definitions()
    wanted = list(names)
    found: dict[str, Json] = {}

    def refs_in(node: Json) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str):
                    wanted.append(_ref_name(value))
                elif key not in ("enum", "required", "x-kubernetes-group-version-kind"):
                    refs_in(value)
        elif isinstance(node, list):
            for item in node:
                refs_in(item)

    refs_in(root)
    while wanted:
        name = wanted.pop()
        if name in found:
            continue
        found[name] = _builtin_node(definitions[name])
        refs_in(definitions[name])
    document = dict(root)
    document["definitions"] = found
    return document


def _builtin_schema(group: str, version: str, kind: str) -> KindSchema | None:
    source = f"Kubernetes {KUBERNETES_VERSION} OpenAPI (kubernetes-validate)"
    if (group, version, kind) == ("", "v1", "List"):
        # kubectl's client-side List (`kubectl get -o yaml`): no API type, only this shape.
        root = {
            "type": "object", "additionalProperties": False,
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                           "metadata": {"$ref": "#/definitions/" + _LIST_META},
                           "items": {"type": "array", "items": {"type": "object"}}},
        }
        return KindSchema(_with_definitions(root, [_LIST_META]), SchemaOrigin.BUILTIN, source)
    name = _k8s_kinds().get((group, version, kind))
    if name is None:
        return None
    root = {"$ref": "#/definitions/" + name}
    return KindSchema(_with_definitions(root, [name]), SchemaOrigin.BUILTIN, source)


# --- custom resources ---------------------------------------------------------------------------

@cache
def _crd_files() -> dict[tuple[str, str, str], tuple[str, int]]:
    """(group, version, kind) → (file, index of its schema in the file)."""
    found: dict[tuple[str, str, str], tuple[str, int]] = {}
    for file in CRD_FILES:
        for entry in _crd_file(file)["kinds"]:
            for version, index in entry["versions"].items():
                found[(entry["group"], version, entry["kind"])] = (file, index)
    return found


@cache
def _crd_file(file: str) -> dict[str, Json]:
    with (resources.files("kubeward") / "schemas" / file).open(encoding="utf-8") as handle:
        data: dict[str, Json] = json.load(handle)
    return data


def go_pattern(pattern: str) -> str | None:
    """An RE2 pattern as a Python one (``$`` ends the text and classes are ASCII, as in Go), or
    None when Python's ``re`` cannot compile it."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            pair = pattern[i : i + 2]
            out.append("\\Z" if pair == "\\z" and not in_class else pair)
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        if char == "$":
            char = "\\$" if in_class else "\\Z"  # a class's "$" escaped: validators rewrite a bare one
        out.append(char)
        i += 1
    translated = "(?a)" + "".join(out)  # RE2's \d, \w, \s and \b are ASCII-only
    try:
        re.compile(translated)
    except re.error:
        return None
    return translated


def _nullable(schema: dict[str, Json]) -> dict[str, Json]:
    """``schema`` admitting null too (a field the API server prunes when it is null)."""
    kind = schema.get("type")
    if isinstance(kind, str):
        schema = {**schema, "type": [kind, "null"]}
    elif isinstance(kind, list) and "null" not in kind:
        schema = {**schema, "type": [*kind, "null"]}
    if "enum" in schema and None not in schema["enum"]:
        schema = {**schema, "enum": [*schema["enum"], None]}
    return schema


_JUNCTORS = ("oneOf", "anyOf", "allOf")


def _crd_node(node: Json, in_junctor: bool = False) -> Json:
    """One CRD schema node as draft 7, with the structural-schema semantics (module docstring).
    Inside ``oneOf``/``anyOf``/``allOf``/``not`` a node only adds constraints: it neither prunes
    nor widens."""
    if not isinstance(node, dict):
        return node
    out: dict[str, Json] = {}
    preserve = bool(node.get("x-kubernetes-preserve-unknown-fields"))
    int_or_string = bool(node.get("x-kubernetes-int-or-string"))
    # The API server applies a field's default before it validates: a required field with a
    # default is never missing (nor null: a null is pruned, then defaulted).
    defaulted = {name for name, sub in node.get("properties", {}).items() if isinstance(sub, dict) and "default" in sub}
    required = [name for name in node.get("required", []) if name not in defaulted]
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: _crd_node(sub) if name in required else _nullable(_crd_node(sub))
                        for name, sub in value.items()}
        elif key == "items":
            out[key] = _crd_node(value)
        elif key == "additionalProperties":
            out[key] = value if isinstance(value, bool) else _nullable(_crd_node(value))
        elif key in _JUNCTORS:
            if int_or_string and key == "anyOf" and _only_types(value) is not None:
                continue  # the int-or-string marker restated as types
            out[key] = [_crd_node(branch, True) for branch in value]
        elif key == "not":
            out[key] = _crd_node(value, True)
        elif key == "pattern":
            if (pattern := go_pattern(value)) is not None:
                out[key] = pattern
                out["x-kubeward-pattern"] = value  # as written upstream, for messages
        elif key == "format":
            if value in CHECKED_FORMATS:
                out[key] = value
        elif key in ("exclusiveMinimum", "exclusiveMaximum"):
            # OpenAPI v3.0: a flag on minimum/maximum; JSON Schema draft 7: the bound itself.
            bound = node.get("minimum" if key == "exclusiveMinimum" else "maximum")
            if value is True and bound is not None:
                out[key] = bound
        elif key in ("minimum", "maximum"):
            if not node.get("exclusive" + key.capitalize()):
                out[key] = value
        elif key == "x-kubernetes-list-type":
            if value == "set":
                out["uniqueItems"] = True
        elif key == "required":
            if required:
                out[key] = required
        elif key in ("type", "enum", "minLength", "maxLength", "minItems", "maxItems",
                     "minProperties", "maxProperties", "uniqueItems", "multipleOf"):
            out[key] = value
        # else: default, nullable (below), x-kubernetes-* markers and CEL rules: not checked
    if int_or_string:
        out["type"] = ["integer", "string"]
    if node.get("nullable") and "type" in out:
        out = _nullable(out)
    kind = out.get("type")
    is_object = kind == "object" or (isinstance(kind, list) and "object" in kind)
    if is_object and not preserve and not in_junctor and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def _crd_schema(group: str, version: str, kind: str) -> KindSchema | None:
    where = _crd_files().get((group, version, kind))
    if where is None:
        return None
    file, index = where
    data = _crd_file(file)
    root = _crd_node(copy.deepcopy(data["schemas"][index]))
    properties = root.setdefault("properties", {})
    properties["apiVersion"] = {"type": "string"}
    properties["kind"] = {"type": "string"}
    properties["metadata"] = {"$ref": "#/definitions/" + _OBJECT_META}
    root["type"] = "object"
    root["additionalProperties"] = False
    source = f"{data['repository']} {data['release']} ({file})"
    return KindSchema(_with_definitions(root, [_OBJECT_META]), SchemaOrigin.CRD, source)


@lru_cache(maxsize=1024)  # bounded: apiVersion and kind come from the input
def schema_for(api_version: str, kind: str) -> KindSchema | None:
    """The schema of ``kind`` in ``api_version``, or None when kubeward has none for it."""
    group, version = _split(api_version)
    return _crd_schema(group, version, kind) or _builtin_schema(group, version, kind)
