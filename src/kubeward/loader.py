"""Load manifests from files, folders and stdin into located raw objects.

Every mapping and list keeps the line it starts on and the line of each key or item, so that
any field can be reported as ``file:line``. YAML is parsed with PyYAML's C parser when it is
available; JSON is read as YAML (a JSON document is valid YAML), falling back to :mod:`json`
for the rare JSON that PyYAML's YAML 1.1 reader refuses.

Scalars are typed as kubectl types them (NP-26), not as PyYAML's YAML 1.1 resolver does:
kubectl converts YAML to JSON with sigs.k8s.io/yaml, whose go-yaml v2 resolver knows no base-60
numbers, no timestamps (they stay strings) and no ``=``, reads ``0o17``, ``08``, ``1e3``, ``-.5``
and ``y``/``n`` its own way, and turns mapping keys into JSON strings (``yes:`` is ``"true"``).
:func:`go_scalar` is that resolver; :class:`_KubectlLoader` leaves it every plain scalar.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import re
import struct
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .diagnostics import Diagnostics

try:  # the C parser makes loading large inputs several times faster
    _Loader: type[Any] = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Loader = yaml.SafeLoader

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_PLAIN = "tag:kubeward,2024:plain"  # an untagged, unquoted scalar: typed by go_scalar
STDIN = "-"

# ---- scalars as go-yaml v2 types them (NP-26) ------------------------------------------
# sigs.k8s.io/yaml (kubectl, the API server's YAML input) resolves with go-yaml v2: the first
# character says whether a plain scalar can be anything but a string.
_HINTS = frozenset("+-0123456789.yYnNtTfFoO~")
_GO_WORDS: dict[str, Any] = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
# strconv.ParseInt(s, 0, 64) syntax (underscores removed first): 0x, 0o, 0b prefixes, a leading 0 is octal.
_GO_INT = re.compile(r"[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)\Z")
_GO_OCTAL = re.compile(r"[-+]?0[0-7]+\Z")
_GO_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_GO_DOT_FLOAT = re.compile(r"\.[0-9]+(?:[eE][-+]?[0-9]+)?\Z")  # ParseFloat of a plain starting with '.'
_INT64 = (-(2 ** 63), 2 ** 64 - 1)  # int64 or, past it, uint64


def go_scalar(text: str) -> Any:
    """A plain scalar as go-yaml v2 resolves it: bool, None, int, float or the string itself.
    Timestamps, base-60 numbers (``20:21``) and ``=`` stay strings."""
    if text in _GO_WORDS:
        return _GO_WORDS[text]
    first = text[0]
    if first == ".":
        if _GO_DOT_FLOAT.match(text):
            value = float(text)
            return text if math.isinf(value) else value
        return text
    if first not in "+-0123456789":
        return text
    plain = text.replace("_", "")
    if _GO_INT.match(plain):
        number = int(plain, 8) if _GO_OCTAL.match(plain) else int(plain, 0)
        if _INT64[0] <= number <= _INT64[1] or not _GO_FLOAT.match(plain):
            return number  # past 64 bits, a decimal is read as a float, any other base as a big int
    if _GO_FLOAT.match(plain):
        value = float(plain)
        return text if math.isinf(value) else value  # out of float64 range: ParseFloat fails
    return text


def go_key(key: Any) -> str | None:
    """A resolved mapping key as sigs.k8s.io/yaml writes it into JSON; None when it refuses it."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key) if -(2 ** 63) <= key < 2 ** 63 else None
    if isinstance(key, float):
        return _go_float32_g(key)
    return None


def _go_float32_g(value: float) -> str:
    """strconv.FormatFloat(value, 'g', -1, 32): the shortest float32 digits, exponent form from 1e21 or
    below 1e-4 (Go uses exponent 6 as the limit when the precision is the shortest)."""
    if math.isnan(value):
        return ".nan"
    try:
        single = struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        single = math.copysign(math.inf, value)
    if math.isinf(single):
        return ".inf" if single > 0 else "-.inf"
    for precision in range(1, 10):
        written = f"{single:.{precision - 1}e}"
        if struct.unpack("f", struct.pack("f", float(written)))[0] == single:
            break
    mantissa, _, exp_text = written.partition("e")
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "").rstrip("0") or "0"
    exponent = int(exp_text)
    if exponent < -4 or exponent >= 6:
        body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{body}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    point = exponent + 1
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def json_number(value: Any) -> Any:
    """A YAML number after kubectl's JSON round trip: a whole float below 1e21 is written as an
    integer (``80.0`` → ``80``), which the API server reads into integer fields."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    return value


class _KubectlLoader(_Loader):  # type: ignore[misc]
    """libyaml's parser and PyYAML's composer, with go-yaml's reading of plain scalars: every
    untagged unquoted scalar that may be more than a string is tagged ``_PLAIN`` and typed by
    :func:`go_scalar` when converted; the rest are strings (quoted ones always are)."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode and implicit[0]:
            if value == "<<":
                return _MERGE
            return _PLAIN if not value or value[0] in _HINTS else _STR
        return super().resolve(kind, value, implicit)


class LMap(dict[str, Any]):
    """A mapping that remembers its own line and the line of each key."""

    __slots__ = ("line", "key_lines")

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[str, int] = {}

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LList(list[Any]):
    """A list that remembers its own line and the line of each item."""

    __slots__ = ("line", "item_lines")

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


def line_of(value: Any, default: int = 0) -> int:
    """The line a located value starts on (scalars carry none: use ``default``)."""
    return value.line if isinstance(value, (LMap, LList)) else default


@dataclass(frozen=True, slots=True)
class RawObject:
    """One Kubernetes object as written, with where it came from."""

    data: LMap
    file: str
    line: int

    @property
    def api_version(self) -> str:
        value = self.data.get("apiVersion")
        return value if isinstance(value, str) else ""

    @property
    def kind(self) -> str:
        value = self.data.get("kind")
        return value if isinstance(value, str) else ""

    @property
    def metadata(self) -> LMap:
        value = self.data.get("metadata")
        return value if isinstance(value, LMap) else LMap(self.line)

    @property
    def name(self) -> str:
        value = self.metadata.get("name")
        return value if isinstance(value, str) else ""

    @property
    def namespace(self) -> str:
        value = self.metadata.get("namespace")
        return value if isinstance(value, str) else ""

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0] if "/" in self.api_version else ""


class _Converter:
    """Turns a composed YAML node tree into LMap/LList/scalars."""

    def __init__(self, loader: Any, file: str, diags: Diagnostics) -> None:
        self.loader = loader
        self.file = file
        self.diags = diags

    def convert(self, node: Node) -> Any:
        if isinstance(node, ScalarNode):
            if node.tag == _STR:  # the common case
                return node.value
            return self._scalar(node)
        if isinstance(node, SequenceNode):
            seq = LList(node.start_mark.line + 1)
            for item in node.value:
                seq.item_lines.append(item.start_mark.line + 1)
                seq.append(self.convert(item))
            return seq
        if isinstance(node, MappingNode):
            self.loader.flatten_mapping(node)  # merge keys (<<)
            mapping = LMap(node.start_mark.line + 1)
            for key_node, value_node in node.value:
                line = key_node.start_mark.line + 1
                key = self._key(key_node, line)
                if key is None:
                    continue
                if key in mapping:
                    self.diags.warning(
                        "duplicate-key",
                        f"key {key!r} appears twice in one mapping; the last value is used "
                        "(as kubectl does)",
                        self.file, line,
                    )
                mapping[key] = self.convert(value_node)
                mapping.key_lines[key] = line
            return mapping
        return None  # pragma: no cover

    def _key(self, node: Node, line: int) -> str | None:
        """NP-26: a key as kubectl writes it into JSON (``yes`` → ``"true"``, ``1.50`` → ``"1.5"``)."""
        if not isinstance(node, ScalarNode):
            kind = "list" if isinstance(node, SequenceNode) else "mapping"
            self._refuse(f"a {kind} cannot be a mapping key", line, "leaves the entry out")
            return None
        if node.tag == _STR:
            return str(node.value)
        raw = go_scalar(node.value) if node.tag == _PLAIN else self._scalar(node)
        key = go_key(raw)
        if key is None:
            read = "null" if raw is None else f"{raw!r}"
            self._refuse(f"the mapping key {node.value!r} is {read}, which cannot be a JSON key", line,
                         "leaves the entry out")
        return key

    def _scalar(self, node: ScalarNode) -> Any:
        """NP-26: a plain scalar as go-yaml types it, then as the JSON round trip leaves it; an
        explicitly tagged one as go-yaml decodes that tag into an untyped value."""
        line = node.start_mark.line + 1
        text = node.value
        if node.tag == _PLAIN:
            value = go_scalar(text)
        elif node.tag == "tag:yaml.org,2002:binary":
            try:
                return base64.b64decode("".join(text.split()), validate=True).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                self._refuse(f"!!binary {text!r} is not base64", line)
                return text
        elif node.tag in _TYPED_TAGS:
            value = go_scalar(text) if text else None
            wanted = _TYPED_TAGS[node.tag]
            if wanted is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            elif wanted is str:  # !!timestamp: go-yaml hands an untyped timestamp back as its text
                value = text
            if not (type(value) is wanted or (wanted is type(None) and value is None)):
                self._refuse(f"{text!r} cannot be decoded as !!{node.tag.rpartition(':')[2]}", line)
                return text
        else:
            return text  # !!str, and tags go-yaml does not resolve (`!foo`, `!!set`): the text
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            self._refuse(f"{text!r} is not a number JSON can carry", line)
            return text
        return json_number(value)

    def _refuse(self, what: str, line: int, kept: str = "reads it as text") -> None:
        self.diags.error("yaml-value", f"{what}: kubectl cannot convert this document to JSON and refuses it "
                         f"(NP-26); kubeward {kept}", self.file, line)


_TYPED_TAGS: dict[str, type[Any]] = {
    "tag:yaml.org,2002:int": int, "tag:yaml.org,2002:float": float, "tag:yaml.org,2002:bool": bool,
    "tag:yaml.org,2002:null": type(None), "tag:yaml.org,2002:timestamp": str,
}


def _from_plain(value: Any, line: int) -> Any:
    """Locate plain JSON data at one line (the fallback path)."""
    if isinstance(value, dict):
        mapping = LMap(line)
        for k, v in value.items():
            mapping[str(k)] = _from_plain(v, line)
            mapping.key_lines[str(k)] = line
        return mapping
    if isinstance(value, list):
        seq = LList(line)
        for v in value:
            seq.item_lines.append(line)
            seq.append(_from_plain(v, line))
        return seq
    return json_number(value)


def parse_documents(text: str, file: str, diags: Diagnostics) -> list[tuple[Any, int]]:
    """All documents of one file as (data, line). A syntax error is a diagnostic; the
    documents before it are kept."""
    docs: list[tuple[Any, int]] = []
    loader = _KubectlLoader(text)
    converter = _Converter(loader, file, diags)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            docs.append((converter.convert(node), node.start_mark.line + 1))
    except yaml.YAMLError as exc:
        if file.endswith(".json"):
            try:
                return [(_from_plain(json.loads(text), 1), 1)]
            except json.JSONDecodeError as jexc:
                diags.error("json-syntax", f"invalid JSON: {jexc.msg}", file, jexc.lineno)
                return []
        mark = getattr(exc, "problem_mark", None)
        opened = getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context = getattr(exc, "context", None)
        text_ = f"{context}, {problem}" if context else str(problem)
        if opened is not None and mark is not None and opened.line < mark.line:
            # An unclosed bracket or quote: the error is where it opened, not where the
            # parser gave up.
            text_ += f" (opened at line {opened.line + 1}, still open at line {line})"
            line = opened.line + 1
        diags.error(
            "yaml-syntax",
            f"invalid YAML: {text_}; the rest of this file is not read"
            + (f" ({len(docs)} document(s) before it are)" if docs else ""),
            file, line,
        )
    finally:
        loader.dispose()
    return docs


def _objects_in(doc: Any, line: int, file: str, diags: Diagnostics) -> Iterator[RawObject]:
    if doc is None:
        return
    if not isinstance(doc, LMap):
        diags.error("not-an-object", "a document that is not a mapping is not a Kubernetes object",
                    file, line)
        return
    kind = doc.get("kind")
    items = doc.get("items")
    if isinstance(kind, str) and (kind == "List" or kind.endswith("List")) and "items" in doc:
        # kubectl get -o yaml writes `kind: List` (or DeploymentList, ...) with items.
        if not isinstance(items, LList):
            diags.error("invalid-field", f"{kind}.items must be a list", file, doc.line_of("items"))
            return
        item_kind = kind[: -len("List")] if kind != "List" else ""
        api_version = doc.get("apiVersion")
        for index, item in enumerate(items):
            if item_kind and isinstance(item, LMap) and "kind" not in item:
                # The API server's typed lists (DeploymentList) leave kind/apiVersion off items.
                item["kind"] = item_kind
                item.key_lines["kind"] = item.line
                if "apiVersion" not in item and isinstance(api_version, str):
                    item["apiVersion"] = api_version
                    item.key_lines["apiVersion"] = item.line
            yield from _objects_in(item, items.line_of(index), file, diags)
        return
    yield RawObject(doc, file, doc.line if doc.line else line)


def _files_under(path: Path) -> list[Path]:
    found: list[Path] = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root) / f for f in sorted(files) if f.endswith(MANIFEST_SUFFIXES))
    return found


def load_text(text: str, file: str, diags: Diagnostics) -> list[RawObject]:
    objects: list[RawObject] = []
    for doc, line in parse_documents(text, file, diags):
        objects.extend(_objects_in(doc, line, file, diags))
    return objects


def load_paths(paths: Iterable[str], diags: Diagnostics,
               shown_as: Callable[[str], str] | None = None) -> list[RawObject]:
    """Every object in the given files, folders (recursive) and ``-`` (stdin). ``shown_as``
    renames files in messages and file:line references (``diff --git`` shows ``PATH@REV/...``
    instead of a temporary folder)."""
    def _display(path: Path | str) -> str:
        return shown_as(str(path)) if shown_as else str(path)

    objects: list[RawObject] = []
    for given in paths:
        if given == STDIN:
            objects.extend(load_text(sys.stdin.read(), "<stdin>", diags))
            continue
        path = Path(given)
        if path.is_dir():
            files = _files_under(path)
            if not files:
                diags.warning("no-manifests", "no .yaml, .yml or .json file in this folder", _display(given))
        elif path.is_file():
            files = [path]
        else:
            diags.error("no-such-path", "no such file or folder", _display(given))
            continue
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                diags.error("unreadable", f"cannot read: {exc}", _display(file))
                continue
            found = load_text(text, _display(file), diags)
            if not found and not diags.has_errors_in(_display(file)):
                # kubectl apply -f on such a file fails ("no objects passed to apply").
                message = "no Kubernetes object in this file"
                if path.is_dir():
                    diags.warning("no-objects", message, _display(file))
                else:
                    diags.error("no-objects", message, _display(file))
            objects.extend(found)
    return objects
