"""Documents: one file's text → located values, read without recursion from libyaml's events, and
the Kubernetes objects in them. The limits of a document are checked as it is read: nesting
(MAX_DEPTH), aliases (kubectl's budget), the size of one object, the length of its name.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from ..diagnostics import Diagnostics
from .values import (
    MERGE_TAG,
    PLAIN_TAG,
    STR_TAG,
    KubectlLoader,
    LList,
    LMap,
    RawObject,
    go_key,
    go_scalar,
    json_number,
)

MAX_DEPTH = 200                    # nesting levels of a document (kubectl's YAML reader allows 10,000)
MAX_OBJECT_BYTES = 3 * 1024 * 1024   # one object: the API server's limit on a request body
MAX_NAME_LENGTH = 253              # metadata.name: no name rule of the API server allows more
MAX_NAMESPACE_LENGTH = 63          # metadata.namespace: a DNS label
# go-yaml v2 (sigs.k8s.io/yaml, kubectl) refuses a document whose alias expansion is excessive:
# above 100 alias-driven decode operations and 1,000 in all, their share may not pass 99% up to
# 400,000 operations, falling linearly to 10% at 4,000,000.
_ALIAS_RANGE = (400_000, 4_000_000)
_ALIAS_SHARE = (0.99, 0.10)
_ALIAS_FLOOR, _DECODE_FLOOR = 100, 1_000


def allowed_alias_share(decodes: int) -> float:
    """The share of a document's decode operations that may come from alias expansion, after
    ``decodes`` operations (go-yaml v2's rule, which kubectl applies to every document)."""
    low, high = _ALIAS_RANGE
    if decodes <= low:
        return _ALIAS_SHARE[0]
    if decodes >= high:
        return _ALIAS_SHARE[1]
    return _ALIAS_SHARE[0] - (_ALIAS_SHARE[0] - _ALIAS_SHARE[1]) * (decodes - low) / (high - low)


class _Refused(Exception):
    """A document (or object) beyond an input limit: ``code``, ``message`` and ``line``."""

    def __init__(self, code: str, message: str, line: int) -> None:
        super().__init__(message)
        self.code, self.message, self.line = code, message, line


@dataclass(slots=True)
class _Anchor:
    """An anchored value: what an alias to it expands to, and what that expansion costs."""

    value: Any
    decodes: int = 1      # go-yaml's decode operations to decode it, its own aliases expanded
    depth: int = 0        # nesting levels of the expanded value (0: a scalar)
    scalar: tuple[str, str] | None = None  # a scalar's (tag, text), to type it again as a key
    open: bool = True     # still being built: an alias to it now is an alias to itself


@dataclass(slots=True)
class _Key:
    """A mapping key as written: a scalar's tag and text, or a collection (never a valid key)."""

    line: int
    tag: str = ""
    text: str = ""
    collection: str = ""  # "list" or "mapping"


@dataclass(slots=True)
class _Open:
    """A collection being built: its value, where it starts, its pending key and merges (mappings)."""

    value: LMap | LList
    line: int
    start: int            # character index, for the size of an object
    decodes_before: int
    anchor: _Anchor | None
    depth: int = 1
    key: _Key | None = None
    merges: list[tuple[Any, int]] | None = None  # the values of `<<` keys, with their lines


_HINTS = frozenset("+-0123456789.yYnNtTfFoO~")  # a plain scalar starting otherwise is a string (NP-26)


class _Builder:
    """Builds located values straight from libyaml's events, one document at a time, without
    recursion: nesting, aliases and sizes are counted as they are read, so that a document beyond
    a limit is refused before it costs time or memory. Scalars are typed as go-yaml types them
    (NP-26); merge keys (``<<``) as PyYAML merges them."""

    def __init__(self, loader: Any, file: str, diags: Diagnostics) -> None:
        self.loader = loader
        self.file = file
        self.diags = diags
        self.oversized: dict[int, int] = {}  # id of a mapping larger than MAX_OBJECT_BYTES → its size
        self.decodes = 0
        self.aliased = 0
        self.anchors: dict[str, _Anchor] = {}

    # ---- documents ------------------------------------------------------------------------

    def documents(self) -> Iterator[tuple[Any, int]]:
        """(data, line) of each document; a refused one is reported and skipped."""
        self.loader.get_event()  # StreamStartEvent
        while not self.loader.check_event(yaml.StreamEndEvent):
            self.loader.get_event()  # DocumentStartEvent
            try:
                yield self._document()
            except _Refused as refused:
                self.diags.error(refused.code, f"{refused.message}; this document is not read", self.file,
                                 refused.line)
                while not isinstance(self.loader.get_event(), yaml.DocumentEndEvent):
                    pass

    def _document(self) -> tuple[Any, int]:  # noqa: C901 - one loop over the event kinds, kept flat for speed
        self.decodes, self.aliased, self.anchors = 1, 0, {}  # go-yaml counts the document node
        get_event = self.loader.get_event
        stack: list[_Open] = []
        root: tuple[Any, int] = (None, 1)
        while True:
            event = get_event()
            kind = type(event)
            line = event.start_mark.line + 1
            key: _Key | None = None
            if kind is ScalarEvent:
                self.decodes += 1
                if self.aliased > _ALIAS_FLOOR:
                    self._check(line)
                text = event.value
                tag = event.tag
                if tag is None or tag == "!":
                    if event.implicit[0]:
                        tag = MERGE_TAG if text == "<<" else PLAIN_TAG if not text or text[0] in _HINTS else STR_TAG
                    else:
                        tag = STR_TAG
                parent = stack[-1] if stack else None
                is_key = parent is not None and parent.key is None and type(parent.value) is LMap
                if is_key and event.anchor is None:
                    parent.key = _Key(line, tag, text)  # type: ignore[union-attr]
                    continue
                value: Any = text if tag == STR_TAG else self._scalar(tag, text, line)
                if event.anchor is not None:
                    self.anchors[event.anchor] = _Anchor(value, scalar=(tag, text), open=False)
                if is_key:
                    parent.key = _Key(line, tag, text)  # type: ignore[union-attr]
                    continue
                depth = 0
            elif kind is AliasEvent:
                target = self.anchors.get(event.anchor)
                if target is None:
                    raise yaml.composer.ComposerError(None, None, f"found undefined alias {event.anchor!r}",
                                                      event.start_mark)
                if target.open:
                    raise _Refused("yaml-aliases", f"anchor {event.anchor!r} contains an alias to itself: kubectl "
                                   "refuses the document", line)
                if len(stack) + target.depth > MAX_DEPTH:
                    raise _Refused("too-deep", f"alias *{event.anchor} nests the document deeper than {MAX_DEPTH} "
                                   "levels", line)
                self.decodes += 1 + target.decodes
                self.aliased += target.decodes
                self._check(line)
                if target.scalar is not None:
                    key = _Key(line, *target.scalar)
                else:
                    key = _Key(line, collection="mapping" if isinstance(target.value, LMap) else "list")
                value, depth = _copy(target.value), target.depth
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                if len(stack) >= MAX_DEPTH:
                    raise _Refused("too-deep", f"the document nests deeper than {MAX_DEPTH} levels", line)
                self.decodes += 1
                if self.aliased > _ALIAS_FLOOR:
                    self._check(line)
                opened: LMap | LList = LMap(line) if kind is MappingStartEvent else LList(line)
                anchor = None
                if event.anchor is not None:
                    anchor = self.anchors[event.anchor] = _Anchor(opened)
                stack.append(_Open(opened, line, event.start_mark.index, self.decodes - 1, anchor))
                continue
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                frame = stack.pop()
                if frame.merges is not None:
                    self._merge(frame)
                if kind is MappingEndEvent and event.end_mark.index - frame.start > MAX_OBJECT_BYTES:
                    self.oversized[id(frame.value)] = event.end_mark.index - frame.start
                if frame.anchor is not None:
                    frame.anchor.decodes = self.decodes - frame.decodes_before
                    frame.anchor.depth = frame.depth
                    frame.anchor.open = False
                value, depth, line = frame.value, frame.depth, frame.line
                key = _Key(line, collection="mapping" if kind is MappingEndEvent else "list")
            else:  # DocumentEndEvent: the root is complete
                return root
            if not stack:
                root = (value, line)
                continue
            parent = stack[-1]
            if depth + 1 > parent.depth:
                parent.depth = depth + 1
            collection = parent.value
            if type(collection) is LList:
                collection.item_lines.append(line)
                collection.append(value)
            elif parent.key is None:
                parent.key = key if key is not None else _Key(line, STR_TAG, str(value))
            else:
                self._set(parent, parent.key, value)
                parent.key = None

    def _check(self, line: int) -> None:
        """kubectl's alias budget, after each decode operation."""
        if self.aliased > _ALIAS_FLOOR and self.decodes > _DECODE_FLOOR \
                and self.aliased / self.decodes > allowed_alias_share(self.decodes):
            raise _Refused("yaml-aliases", f"the document contains excessive aliasing ({self.aliased:,} of "
                           f"{self.decodes:,} values come from aliases): kubectl refuses it", line)

    # ---- mappings ------------------------------------------------------------------------

    def _set(self, frame: _Open, key: _Key, value: Any) -> None:
        """One pair into a mapping; a key written twice keeps its last value, with a warning."""
        if key.tag == MERGE_TAG:
            if frame.merges is None:
                frame.merges = []
            frame.merges.append((value, key.line))
            return
        name = key.text if key.tag == STR_TAG else self._key(key)
        if name is None:
            return
        mapping = frame.value
        assert type(mapping) is LMap
        if name in mapping:
            self.diags.warning("duplicate-key", f"key {name!r} appears twice in one mapping; the last value "
                               "is used (as kubectl does)", self.file, key.line)
        mapping[name] = value
        mapping.key_lines[name] = key.line

    def _merge(self, frame: _Open) -> None:
        """PyYAML's merge keys: the merged pairs first (of a list of mappings, the first listed
        wins), then the mapping's own pairs."""
        mapping = frame.value
        assert type(mapping) is LMap and frame.merges is not None
        merged: list[tuple[str, int, Any]] = []
        for value, line in frame.merges:
            sources = [value] if isinstance(value, LMap) else list(value) if isinstance(value, LList) else None
            if sources is None or not all(isinstance(s, LMap) for s in sources):
                found = "a scalar" if sources is None else "a list item that is not a mapping"
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", None,
                    f"expected a mapping or list of mappings for merging, but found {found}",
                    yaml.Mark(self.file, 0, line - 1, 0, None, 0))
            for source in reversed(sources):
                merged.extend((k, source.line_of(k), _copy(v)) for k, v in source.items())
        own = [(k, mapping.key_lines[k], v) for k, v in mapping.items()]
        mapping.clear()
        mapping.key_lines.clear()
        for name, line, value in (*merged, *own):
            if name in mapping:
                self.diags.warning("duplicate-key", f"key {name!r} appears twice in one mapping; the last value "
                                   "is used (as kubectl does)", self.file, line)
            mapping[name] = value
            mapping.key_lines[name] = line

    def _key(self, key: _Key) -> str | None:
        """NP-26: a key as kubectl writes it into JSON (``yes`` → ``"true"``, ``1.50`` → ``"1.5"``)."""
        if key.collection:
            self._refuse(f"a {key.collection} cannot be a mapping key", key.line, "leaves the entry out")
            return None
        if key.tag == STR_TAG:
            return key.text
        raw = go_scalar(key.text) if key.tag == PLAIN_TAG else self._scalar(key.tag, key.text, key.line)
        name = go_key(raw)
        if name is None:
            read = "null" if raw is None else f"{raw!r}"
            self._refuse(f"the mapping key {key.text!r} is {read}, which cannot be a JSON key", key.line,
                         "leaves the entry out")
        return name

    # ---- scalars -------------------------------------------------------------------------

    def _scalar(self, tag: str, text: str, line: int) -> Any:
        """NP-26: a plain scalar as go-yaml types it, then as the JSON round trip leaves it; an
        explicitly tagged one as go-yaml decodes that tag into an untyped value."""
        if tag == PLAIN_TAG:
            value = go_scalar(text)
        elif tag == "tag:yaml.org,2002:binary":
            try:
                return base64.b64decode("".join(text.split()), validate=True).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                self._refuse(f"!!binary {text!r} is not base64", line)
                return text
        elif tag in _TYPED_TAGS:
            value = go_scalar(text) if text else None
            wanted = _TYPED_TAGS[tag]
            if wanted is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            elif wanted is str:  # !!timestamp: go-yaml hands an untyped timestamp back as its text
                value = text
            if not (type(value) is wanted or (wanted is type(None) and value is None)):
                self._refuse(f"{text!r} cannot be decoded as !!{tag.rpartition(':')[2]}", line)
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


def _copy(value: Any) -> Any:
    """A copy of a located value (an alias expands to its own copy, as each alias is decoded anew).
    Its depth is bounded by MAX_DEPTH, so recursion is safe."""
    if isinstance(value, LMap):
        mapping = LMap(value.line)
        mapping.update((k, _copy(v)) for k, v in value.items())
        mapping.key_lines.update(value.key_lines)
        return mapping
    if isinstance(value, LList):
        seq = LList(value.line)
        seq.extend(_copy(v) for v in value)
        seq.item_lines.extend(value.item_lines)
        return seq
    return value


def _from_plain(value: Any, line: int, depth: int = 1) -> Any:
    """Locate plain JSON data at one line (the fallback path)."""
    if depth > MAX_DEPTH and isinstance(value, (dict, list)):
        raise _Refused("too-deep", f"the document nests deeper than {MAX_DEPTH} levels", line)
    if isinstance(value, dict):
        mapping = LMap(line)
        for k, v in value.items():
            mapping[str(k)] = _from_plain(v, line, depth + 1)
            mapping.key_lines[str(k)] = line
        return mapping
    if isinstance(value, list):
        seq = LList(line)
        for v in value:
            seq.item_lines.append(line)
            seq.append(_from_plain(v, line, depth + 1))
        return seq
    return json_number(value)


def _is_json(file: str) -> bool:
    return file.lower().endswith(".json")


def parse_documents(text: str, file: str, diags: Diagnostics) -> list[tuple[Any, int]]:
    """All documents of one file as (data, line). A syntax error is a diagnostic; the
    documents before it are kept. A document beyond a limit (nesting, aliases) is reported and
    left out; the documents after it are read."""
    return _parse(text, file, diags)[0]


_BRACKETS = re.compile(r"[\[\]{}]")


def _brackets_too_deep(text: str) -> int | None:
    """The line where ``[`` and ``{`` first nest deeper than MAX_DEPTH, or None. libyaml's scanner
    takes time in proportion to the flow nesting for every token (quadratic in all), so this is
    checked on the text before parsing; brackets inside strings count too."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    depth = 0
    for match in _BRACKETS.finditer(text):
        if match.group() in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return text.count("\n", 0, match.start()) + 1
        elif depth:
            depth -= 1
    return None


def _parse(text: str, file: str, diags: Diagnostics) -> tuple[list[tuple[Any, int]], dict[int, int]]:
    docs: list[tuple[Any, int]] = []
    deep = _brackets_too_deep(text)
    if deep is not None:
        diags.error("too-deep", f"brackets ([ and {{) nest deeper than {MAX_DEPTH} levels; this file is not read",
                    file, deep)
        return docs, {}
    loader = KubectlLoader(text)
    builder = _Builder(loader, file, diags)
    try:
        docs.extend(builder.documents())
    except yaml.YAMLError as exc:
        if _is_json(file):
            return _parse_json(text, file, diags), {}
        mark = getattr(exc, "problem_mark", None)
        opened = getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if mark is not None and "maximum nesting depth" in str(problem):
            # libyaml 0.2.6+ (PyYAML 6.0.4+) stops at its own nesting limit, before the builder's
            # MAX_DEPTH check sees the document: refuse that document alone and read the others.
            return _without_deep_document(text, mark.line, file, diags)
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
    return docs, builder.oversized


def _without_deep_document(text: str, error_line: int, file: str,
                           diags: Diagnostics) -> tuple[list[tuple[Any, int]], dict[int, int]]:
    """The file read again with the document around ``error_line`` (0-based) blanked out, so
    every line keeps its number; that document is a ``too-deep`` error."""
    lines = text.split("\n")
    start = next((i + 1 for i in range(min(error_line, len(lines) - 1), -1, -1) if lines[i].startswith("---")), 0)
    end = next((i for i in range(error_line + 1, len(lines)) if lines[i].startswith("---")), len(lines))
    diags.error("too-deep", f"the document nests deeper than {MAX_DEPTH} levels; this document is not read",
                file, start + 1)
    return _parse("\n".join(lines[:start] + [""] * (end - start) + lines[end:]), file, diags)


def _parse_json(text: str, file: str, diags: Diagnostics) -> list[tuple[Any, int]]:
    """The fallback for JSON that the YAML 1.1 reader refuses."""
    try:
        return [(_from_plain(json.loads(text), 1), 1)]
    except json.JSONDecodeError as jexc:
        diags.error("json-syntax", f"invalid JSON: {jexc.msg}", file, jexc.lineno)
    except RecursionError:
        diags.error("too-deep", f"the document nests deeper than {MAX_DEPTH} levels; this document is not read",
                    file, 1)
    except _Refused as refused:
        diags.error(refused.code, f"{refused.message}; this document is not read", file, refused.line)
    return []


def _objects_in(doc: Any, line: int, file: str, diags: Diagnostics,
                oversized: dict[int, int]) -> Iterator[RawObject]:
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
            yield from _objects_in(item, items.line_of(index), file, diags, oversized)
        return
    obj = RawObject(doc, file, doc.line if doc.line else line)
    problem = _object_problem(obj, oversized.get(id(doc)))
    if problem is not None:
        diags.error(problem[0], f"{problem[1]}; the API server rejects this object: it never exists in the cluster, "
                    "so kubeward leaves it out (NP-28)", file, problem[2])
        return
    yield obj


def _object_problem(obj: RawObject, size: int | None) -> tuple[str, str, int] | None:
    """Why the API server refuses an object before reading the rest of it (code, words, line), or
    None: a request body over MAX_OBJECT_BYTES, or a name or namespace that its name rule refuses
    (NP-28). Checked first, so that a huge name costs nothing later."""
    if size is not None:
        return "too-large", f"this object is {size / 2 ** 20:.1f} MiB of text, over the API server's request " \
                            f"limit of {MAX_OBJECT_BYTES // 2 ** 20} MiB", obj.line
    meta = obj.metadata
    for key in ("name", "namespace"):
        value = meta.get(key)
        if isinstance(value, str) and value:
            problem = name_problem(value, obj.kind, obj.group) if key == "name" else _label_problem(value, 1123)
            if problem is not None:
                return "invalid-name", f"metadata.{key}: {problem}", meta.line_of(key)
    return None


_DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?\Z")
_DNS_1035_LABEL = re.compile(r"[a-z](?:[-a-z0-9]*[a-z0-9])?\Z")
_PATH_SEGMENT_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})


def _shown(name: str) -> str:
    """A name in a message: quoted with its control characters escaped, and cut when long."""
    return repr(name) if len(name) <= 80 else f"{name[:60]!r}… ({len(name):,} characters)"


def _label_problem(name: str, rfc: int) -> str | None:
    if len(name) > MAX_NAMESPACE_LENGTH:
        return f"{_shown(name)} is longer than {MAX_NAMESPACE_LENGTH} characters"
    if not (_DNS_1035_LABEL if rfc == 1035 else _DNS_LABEL).match(name):
        start = "a letter" if rfc == 1035 else "a letter or digit"
        return (f"{_shown(name)} is not a DNS label (RFC {rfc}: lower-case letters, digits and '-', beginning "
                f"with {start} and ending with a letter or digit)")
    return None


def name_problem(name: str, kind: str, group: str) -> str | None:
    """Why the API server refuses ``name`` for an object of ``kind``, or None: a Namespace's name
    is a DNS label, a Service's an RFC 1035 label, an RBAC object's any path segment, and every
    other kind's (custom resources too) a DNS subdomain; none is longer than 253 characters."""
    if len(name) > MAX_NAME_LENGTH:
        return f"{_shown(name)} is longer than {MAX_NAME_LENGTH} characters"
    if group == "" and kind in ("Namespace", "Service"):
        return _label_problem(name, 1123 if kind == "Namespace" else 1035)
    if group == "rbac.authorization.k8s.io" and kind in _PATH_SEGMENT_KINDS:
        if name in (".", "..") or "/" in name or "%" in name:
            return f"{_shown(name)} cannot be '.' or '..' or contain '/' or '%'"
        return None
    if not all(_DNS_LABEL.match(part) for part in name.split(".")):
        return (f"{_shown(name)} is not a DNS subdomain (lower-case letters, digits, '-' and '.', each part "
                "beginning and ending with a letter or digit)")
    return None


def load_text(text: str, file: str, diags: Diagnostics) -> list[RawObject]:
    """The objects of one file's text (``kind: List`` and ``*List`` unpacked)."""
    objects: list[RawObject] = []
    docs, oversized = _parse(text, file, diags)
    for doc, line in docs:
        objects.extend(_objects_in(doc, line, file, diags, oversized))
    return objects
