"""Load manifests from files, folders and stdin into located raw objects.

Every mapping and list keeps the line it starts on and the line of each key or item, so that
any field can be reported as ``file:line``. YAML is parsed with PyYAML's C parser when it is
available; JSON is read as YAML (a JSON document is valid YAML), falling back to :mod:`json`
for the rare JSON that PyYAML's YAML 1.1 reader refuses.
"""

from __future__ import annotations

import json
import os
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
STDIN = "-"


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
            if node.tag == _STR:  # the common case, without the constructor's bookkeeping
                return node.value
            return self.loader.construct_object(node)
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
                key = self.convert(key_node)
                line = key_node.start_mark.line + 1
                if not isinstance(key, str):
                    key = str(key)
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
    return value


def parse_documents(text: str, file: str, diags: Diagnostics) -> list[tuple[Any, int]]:
    """All documents of one file as (data, line). A syntax error is a diagnostic; the
    documents before it are kept."""
    docs: list[tuple[Any, int]] = []
    loader = _Loader(text)
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
