"""Calico's selector language (CAL-1 … CAL-3), parsed with a real grammar (lark).

``app == 'web' && !has(canary) || tier in {'a', "b"}`` becomes a small typed expression tree
whose ``matches(labels)`` answers for one label set. Syntax errors carry the column.

lark is imported when the first selector is parsed (most inputs have none), and the parser's
tables are kept in the kubeward cache folder (:mod:`._compiled`), so that later runs load them
instead of analysing the grammar again.
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import TYPE_CHECKING

from . import _compiled

if TYPE_CHECKING:
    from lark import Lark, Token, Transformer

from ..ir import (
    AllExpr,
    AndExpr,
    CompareExpr,
    CompareOp,
    GlobalExpr,
    HasExpr,
    InSetExpr,
    NotExpr,
    OrExpr,
    SelectorExpr,
)

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


# The expression tree is the IR's (kubeward.ir); the names below are the ones this module has
# always exported.
Expr = SelectorExpr
All = AllExpr
Global = GlobalExpr
Compare = CompareExpr
InSet = InSetExpr
Has = HasExpr
Not = NotExpr
And = AndExpr
Or = OrExpr


def _text(token: Token) -> str:
    return str(token)[1:-1]  # no escapes in Calico strings (CAL-1)


@lru_cache(maxsize=1)
def _builder() -> Transformer[Token, Expr]:
    from lark import Token, Transformer, v_args

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
            return Compare(CompareOp.EQ, str(key), _text(value))

        def ne(self, key: Token, value: Token) -> Expr:
            return Compare(CompareOp.NE, str(key), _text(value))

        def contains(self, key: Token, value: Token) -> Expr:
            return Compare(CompareOp.CONTAINS, str(key), _text(value))

        def starts(self, key: Token, value: Token) -> Expr:
            return Compare(CompareOp.STARTS, str(key), _text(value))

        def ends(self, key: Token, value: Token) -> Expr:
            return Compare(CompareOp.ENDS, str(key), _text(value))

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

    return _Build()


@lru_cache(maxsize=1)
def _parser() -> Lark:
    """Built on first use: most inputs have no Calico selector to parse. Its tables are kept
    between runs (lark's own save and load, keyed by the grammar and lark's version)."""
    import zlib

    import lark

    entry = f"calico-selector-{lark.__version__}-{zlib.crc32(GRAMMAR.encode()):08x}.lark"
    stored = _compiled.load_bytes(entry)
    if stored is not None:
        try:
            return lark.Lark.load(io.BytesIO(stored))
        except Exception:  # a damaged entry: build the parser again
            pass
    parser = lark.Lark(GRAMMAR, parser="lalr", maybe_placeholders=True)
    if _compiled.available():
        saved = io.BytesIO()
        parser.save(saved)
        _compiled.store_bytes(entry, saved.getvalue())
    return parser


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
    from lark.exceptions import LarkError, UnexpectedEOF, UnexpectedInput, UnexpectedToken

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
    return _builder().transform(tree)


NAMESPACE_LABEL = "projectcalico.org/namespace"  # every namespaced endpoint and network set has it


def prefix_keys(expr: Expr, prefix: str, all_means: Expr | None = None, global_means: Expr | None = None) -> Expr:
    """The same expression over ``prefix + key`` labels (e.g. a namespace selector evaluated on an
    endpoint's ``pcns.*`` labels, as Calico's profiles apply them). ``all_means`` and
    ``global_means``, when given, replace every ``all()`` and ``global()`` of the expression."""
    if isinstance(expr, All) and all_means is not None:
        return all_means
    if isinstance(expr, Global) and global_means is not None:
        return global_means
    if isinstance(expr, Compare):
        return Compare(expr.op, prefix + expr.key, expr.value)
    if isinstance(expr, InSet):
        return InSet(prefix + expr.key, expr.values, expr.negated)
    if isinstance(expr, Has):
        return Has(prefix + expr.key)
    if isinstance(expr, Not):
        return Not(prefix_keys(expr.inner, prefix, all_means, global_means))
    if isinstance(expr, And):
        return And(tuple(prefix_keys(p, prefix, all_means, global_means) for p in expr.parts))
    if isinstance(expr, Or):
        return Or(tuple(prefix_keys(p, prefix, all_means, global_means) for p in expr.parts))
    return expr


def namespace_scope(expr: Expr) -> Expr:
    """CAL-19: a rule's ``namespaceSelector`` as Calico evaluates it on endpoints and network
    sets: over their ``pcns.*`` labels, with every ``all()`` meaning "has a namespace" and every
    ``global()`` meaning "has none", wherever they stand in the expression."""
    in_a_namespace = Has(NAMESPACE_LABEL)
    return prefix_keys(expr, "pcns.", all_means=in_a_namespace, global_means=Not(in_a_namespace))


def uses_global(expr: Expr) -> bool:
    """Whether ``global()`` appears anywhere in the expression."""
    if isinstance(expr, Global):
        return True
    if isinstance(expr, Not):
        return uses_global(expr.inner)
    if isinstance(expr, (And, Or)):
        return any(uses_global(p) for p in expr.parts)
    return False


def canonical(expr: Expr) -> str:
    """The selector as Calico's parser prints it back (``&&`` and ``||`` groups in parentheses,
    ``!`` glued to its operand): releases before v3.30 validate ``global()`` on this text."""
    if isinstance(expr, Not):
        return "!" + canonical(expr.inner)
    if isinstance(expr, And):
        return "(" + " && ".join(canonical(p) for p in expr.parts) + ")"
    if isinstance(expr, Or):
        return "(" + " || ".join(canonical(p) for p in expr.parts) + ")"
    return str(expr)
