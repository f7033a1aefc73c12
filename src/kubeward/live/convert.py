"""An object of a list response → the located values the file loader produces (``LMap``/``LList``),
straight from the decoded JSON: no YAML text in between.

Lines: the object laid out as ``kubectl get KIND NAME -n NS -o yaml`` prints it — block style,
keys in sorted order, one line per key and list item (a list item's first key on the item's
line), a string with line breaks as a literal block, ``metadata.managedFields`` hidden. kubectl
folds long strings over several lines; kubeward keeps them on one, so past such a string the
line may be a little earlier than kubectl's.

What no analysis reads is counted (for the lines) but not kept: the copy of the object in the
``kubectl.kubernetes.io/last-applied-configuration`` annotation, a Node's image list. Of a
Secret only ``metadata`` is kept, whatever the response holds.
"""

from __future__ import annotations

from typing import Any

from ..loader import MAX_DEPTH, LList, LMap, RawObject, json_number

_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


class TooDeep(Exception):
    """An object nested deeper than MAX_DEPTH levels (the file loader's limit)."""


def _scalar_lines(value: Any) -> int:
    """Lines a scalar (or an empty list or mapping) takes after its key or dash."""
    if isinstance(value, str) and "\n" in value:
        return 1 + value.count("\n") + (0 if value.endswith("\n") else 1)  # `key: |` and the text
    return 1


def _lines(value: Any, depth: int) -> int:
    """Lines a value takes after its key, as the layout above writes it."""
    if depth > MAX_DEPTH:
        raise TooDeep
    if isinstance(value, dict) and value:
        return 1 + sum(_lines(v, depth + 1) for v in value.values())
    if isinstance(value, list) and value:
        return 1 + sum(_item_lines(v, depth + 1) for v in value)
    return _scalar_lines(value)


def _item_lines(value: Any, depth: int) -> int:
    """Lines of a list item: a non-empty mapping or list starts on the dash's line."""
    if isinstance(value, (dict, list)) and value:
        return _lines(value, depth) - 1
    return _scalar_lines(value)


class _Layout:
    """Builds located values, keeping the line each value starts on."""

    def __init__(self) -> None:
        self.line = 1

    def mapping(self, data: dict[str, Any], depth: int, skip: frozenset[str] = frozenset()) -> LMap:
        """A non-empty mapping whose first key is on the current line."""
        if depth > MAX_DEPTH:
            raise TooDeep
        out = LMap(self.line)
        for key in sorted(data):
            value = data[key]
            if key in skip:
                self.line += _lines(value, depth)
                continue
            out.key_lines[key] = self.line
            out[key] = self.after_key(value, depth + 1)
        return out

    def after_key(self, value: Any, depth: int) -> Any:
        if isinstance(value, dict) and value:
            self.line += 1
            return self.mapping(value, depth)
        if isinstance(value, list) and value:
            self.line += 1
            return self.sequence(value, depth)
        return self.scalar(value)

    def sequence(self, data: list[Any], depth: int) -> LList:
        """A non-empty list whose first item is on the current line."""
        if depth > MAX_DEPTH:
            raise TooDeep
        out = LList(self.line)
        for value in data:
            out.item_lines.append(self.line)
            if isinstance(value, dict) and value:
                out.append(self.mapping(value, depth + 1))
            elif isinstance(value, list) and value:
                out.append(self.sequence(value, depth + 1))
            else:
                out.append(self.scalar(value))
        return out

    def scalar(self, value: Any) -> Any:
        line = self.line
        self.line += _scalar_lines(value)
        if isinstance(value, dict):
            return LMap(line)
        if isinstance(value, list):
            return LList(line)
        return json_number(value)


def _trimmed(item: dict[str, Any], group: str, kind: str) -> dict[str, Any]:
    """The parts of ``item`` kubeward keeps: without managed fields (kubectl hides them too); of
    a Secret, its metadata alone."""
    metadata = item.get("metadata")
    if isinstance(metadata, dict) and "managedFields" in metadata:
        metadata = {k: v for k, v in metadata.items() if k != "managedFields"}
    if group == "" and kind == "Secret":
        return {"metadata": metadata} if isinstance(metadata, dict) else {}
    return {**item, "metadata": metadata} if isinstance(metadata, dict) else dict(item)


def live_object(item: dict[str, Any], api_version: str, kind: str, file: str) -> RawObject:
    """One item of a list response as a located object (``kind`` and ``apiVersion`` filled in:
    a list's items carry neither). Raises TooDeep past MAX_DEPTH levels."""
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    data = _trimmed(item, group, kind)
    data["apiVersion"], data["kind"] = api_version, kind
    layout = _Layout()
    root = LMap(1)
    for key in sorted(data):
        value = data[key]
        root.key_lines[key] = layout.line
        if key == "metadata" and isinstance(value, dict) and value:
            layout.line += 1
            root[key] = _metadata(layout, value)
        elif key == "status" and kind == "Node" and group == "" and isinstance(value, dict) and value:
            layout.line += 1
            root[key] = layout.mapping(value, 2, skip=frozenset({"images"}))
        else:
            root[key] = layout.after_key(value, 1)
    return RawObject(root, file, 1, live=True)


def _metadata(layout: _Layout, metadata: dict[str, Any]) -> LMap:
    out = LMap(layout.line)
    for key in sorted(metadata):
        value = metadata[key]
        out.key_lines[key] = layout.line
        if key == "annotations" and isinstance(value, dict) and _LAST_APPLIED in value:
            layout.line += 1
            out[key] = layout.mapping(value, 3, skip=frozenset({_LAST_APPLIED}))
        else:
            out[key] = layout.after_key(value, 2)
    return out
