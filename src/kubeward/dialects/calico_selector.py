"""Calico's selector language (CAL-1 … CAL-3), parsed with a real grammar (lark).

``app == 'web' && !has(canary) || tier in {'a', "b"}`` becomes a small typed expression tree
whose ``matches(labels)`` answers for one label set. Syntax errors carry the column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedEOF, UnexpectedInput, UnexpectedToken

GRAMMAR = r"""
?start: expr?
?expr: or_expr
?or_expr: and_expr ("||" and_expr)*
?and_expr: not_expr ("&&" not_expr)*
?not_expr: "!" not_expr -> negate
         | atom
?atom: "(" expr ")"
     | LABEL "==" STRING                 -> eq
     | LABEL "!=" STRING                 -> ne
     | LABEL "in" set_                   -> in_
     | LABEL "not" "in" set_             -> not_in
     | "has" "(" LABEL ")"               -> has
     | LABEL "contains" STRING           -> contains
     | LABEL "starts" "with" STRING      -> starts
     | LABEL "ends" "with" STRING        -> ends
     | "all" "(" ")"                     -> all_
     | "global" "(" ")"                  -> global_
set_: "{" [STRING ("," STRING)*] "}"
STRING: /'[^']*'/ | /"[^"]*"/
LABEL: /[a-zA-Z0-9_][a-zA-Z0-9_.\/-]*/
%import common.WS
%ignore WS
"""


class Expr:
    def matches(self, labels: Mapping[str, str]) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class All(Expr):
    """``all()``, or an empty selector: every endpoint."""

    def matches(self, labels: Mapping[str, str]) -> bool:
        return True

    def __str__(self) -> str:
        return "all()"


@dataclass(frozen=True, slots=True)
class Global(Expr):
    """``global()``: only meaningful in a namespaceSelector (non-namespaced resources)."""

    def matches(self, labels: Mapping[str, str]) -> bool:
        return True

    def __str__(self) -> str:
        return "global()"


@dataclass(frozen=True, slots=True)
class Compare(Expr):
    op: str  # == != contains starts ends
    key: str
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        have = labels.get(self.key)
        if self.op == "!=":
            return have != self.value  # CAL-1: true when the label is absent
        if have is None:
            return False  # CAL-3: the other operators need the label
        if self.op == "==":
            return have == self.value
        if self.op == "contains":
            return self.value in have
        if self.op == "starts with":
            return have.startswith(self.value)
        return have.endswith(self.value)

    def __str__(self) -> str:
        return f"{self.key} {self.op} '{self.value}'"


@dataclass(frozen=True, slots=True)
class InSet(Expr):
    key: str
    values: tuple[str, ...]
    negated: bool = False

    def matches(self, labels: Mapping[str, str]) -> bool:
        have = labels.get(self.key)
        if self.negated:
            return have is None or have not in self.values  # CAL-1: true when absent
        return have is not None and have in self.values

    def __str__(self) -> str:
        values = ", ".join(f"'{v}'" for v in self.values)
        return f"{self.key} {'not in' if self.negated else 'in'} {{{values}}}"


@dataclass(frozen=True, slots=True)
class Has(Expr):
    key: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        return self.key in labels

    def __str__(self) -> str:
        return f"has({self.key})"


@dataclass(frozen=True, slots=True)
class Not(Expr):
    inner: Expr

    def matches(self, labels: Mapping[str, str]) -> bool:
        return not self.inner.matches(labels)

    def __str__(self) -> str:
        return f"!{self.inner}" if isinstance(self.inner, (Has, All, Global)) else f"!({self.inner})"


@dataclass(frozen=True, slots=True)
class And(Expr):
    parts: tuple[Expr, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(p.matches(labels) for p in self.parts)

    def __str__(self) -> str:
        return " && ".join(f"({p})" if isinstance(p, Or) else str(p) for p in self.parts)


@dataclass(frozen=True, slots=True)
class Or(Expr):
    parts: tuple[Expr, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        return any(p.matches(labels) for p in self.parts)

    def __str__(self) -> str:
        return " || ".join(str(p) for p in self.parts)


def _text(token: Token) -> str:
    return str(token)[1:-1]  # no escapes in Calico strings (CAL-1)


@v_args(inline=True)
class _Build(Transformer[Token, Expr]):
    def start(self, expr: Expr | None = None) -> Expr:
        return expr if expr is not None else All()

    def or_expr(self, *parts: Expr) -> Expr:
        return Or(tuple(parts))

    def and_expr(self, *parts: Expr) -> Expr:
        return And(tuple(parts))

    def negate(self, inner: Expr) -> Expr:
        return Not(inner)

    def eq(self, key: Token, value: Token) -> Expr:
        return Compare("==", str(key), _text(value))

    def ne(self, key: Token, value: Token) -> Expr:
        return Compare("!=", str(key), _text(value))

    def contains(self, key: Token, value: Token) -> Expr:
        return Compare("contains", str(key), _text(value))

    def starts(self, key: Token, value: Token) -> Expr:
        return Compare("starts with", str(key), _text(value))

    def ends(self, key: Token, value: Token) -> Expr:
        return Compare("ends with", str(key), _text(value))

    def set_(self, *values: Token | None) -> tuple[str, ...]:
        return tuple(_text(v) for v in values if v is not None)

    def in_(self, key: Token, values: tuple[str, ...]) -> Expr:
        return InSet(str(key), values)

    def not_in(self, key: Token, values: tuple[str, ...]) -> Expr:
        return InSet(str(key), values, negated=True)

    def has(self, key: Token) -> Expr:
        return Has(str(key))

    def all_(self) -> Expr:
        return All()

    def global_(self) -> Expr:
        return Global()


@lru_cache(maxsize=1)
def _parser() -> Lark:
    """Built on first use: most inputs have no Calico selector to parse."""
    return Lark(GRAMMAR, parser="lalr", maybe_placeholders=True)


class SelectorError(ValueError):
    """A selector that does not parse; ``column`` is 1-based within the selector text."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.column = column


@lru_cache(maxsize=4096)
def parse_selector(text: str) -> Expr:
    """The expression a Calico selector denotes; an empty selector is ``all()``."""
    if not text.strip():
        return All()
    try:
        tree = _parser().parse(text)
    except UnexpectedEOF:
        column = len(text.rstrip()) + 1
        raise SelectorError(f"syntax error at column {column} (the selector ends too early)", column) from None
    except UnexpectedInput as exc:
        if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
            column = len(text.rstrip()) + 1
            raise SelectorError(f"syntax error at column {column} (the selector ends too early)", column) from None
        column = getattr(exc, "column", 0) or 0
        near = text[max(column - 1, 0):][:12]
        raise SelectorError(f"syntax error at column {column} (near {near!r})", column) from None
    except LarkError as exc:  # pragma: no cover - lark's other failures
        raise SelectorError(str(exc).splitlines()[0], 0) from None
    return _Build().transform(tree)


def prefix_keys(expr: Expr, prefix: str) -> Expr:
    """The same expression over ``prefix + key`` labels (e.g. a namespace selector evaluated on an
    endpoint's ``pcns.*`` labels, as Calico's profiles apply them)."""
    if isinstance(expr, Compare):
        return Compare(expr.op, prefix + expr.key, expr.value)
    if isinstance(expr, InSet):
        return InSet(prefix + expr.key, expr.values, expr.negated)
    if isinstance(expr, Has):
        return Has(prefix + expr.key)
    if isinstance(expr, Not):
        return Not(prefix_keys(expr.inner, prefix))
    if isinstance(expr, And):
        return And(tuple(prefix_keys(p, prefix) for p in expr.parts))
    if isinstance(expr, Or):
        return Or(tuple(prefix_keys(p, prefix) for p in expr.parts))
    return expr
