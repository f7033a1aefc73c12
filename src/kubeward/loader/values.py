"""Located values: YAML and JSON data as kubectl reads it, with the line of every key and item.

Scalars are typed as kubectl types them (NP-26), not as PyYAML's YAML 1.1 resolver does:
kubectl converts YAML to JSON with sigs.k8s.io/yaml, whose go-yaml v2 resolver knows no base-60
numbers, no timestamps (they stay strings) and no ``=``, reads ``0o17``, ``08``, ``1e3``, ``-.5``
and ``y``/``n`` its own way, and turns mapping keys into JSON strings (``yes:`` is ``"true"``).
:func:`go_scalar` is that resolver; :class:`KubectlLoader` leaves it every plain scalar.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import ScalarNode

try:  # the C parser makes loading large inputs several times faster
    _Loader: type[Any] = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Loader = yaml.SafeLoader

STR_TAG = "tag:yaml.org,2002:str"
MERGE_TAG = "tag:yaml.org,2002:merge"
PLAIN_TAG = "tag:kubeward,2024:plain"  # an untagged, unquoted scalar: typed by go_scalar

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


class KubectlLoader(_Loader):  # type: ignore[misc]
    """libyaml's parser and PyYAML's composer, with go-yaml's reading of plain scalars: every
    untagged unquoted scalar that may be more than a string is tagged ``PLAIN_TAG`` and typed by
    :func:`go_scalar` when converted; the rest are strings (quoted ones always are)."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode and implicit[0]:
            if value == "<<":
                return MERGE_TAG
            return PLAIN_TAG if not value or value[0] in _HINTS else STR_TAG
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
    """One Kubernetes object as written, with where it came from. ``live``: read from an API
    server (``--cluster``), which has validated and stored it."""

    data: LMap
    file: str
    line: int
    live: bool = False

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


