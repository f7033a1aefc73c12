"""Calico's selector language (CAL-1 … CAL-3): a real grammar, absent-label semantics,
precedence, both quote styles, and syntax errors with their column."""

from __future__ import annotations

import pytest

from kubeward.dialects.calico_selector import All, SelectorError, parse_selector

WEB = {"app": "web", "tier": "frontend", "version": "v1.2", "team": "shop-core"}


@pytest.mark.parametrize(("selector", "labels", "expected"), [
    # CAL-1: the match operators
    ("app == 'web'", WEB, True),
    ("app == 'api'", WEB, False),
    ('app == "web"', WEB, True),                       # both quote styles
    ("app != 'api'", WEB, True),
    ("missing != 'x'", WEB, True),                     # != is true when the label is absent
    ("app in {'web', 'api'}", WEB, True),
    ("app in {}", WEB, False),
    ("missing in {'x'}", WEB, False),
    ("app not in {'api'}", WEB, True),
    ("missing not in {'x'}", WEB, True),               # not in is true when the label is absent
    ("has(tier)", WEB, True),
    ("!has(tier)", WEB, False),
    ("!has(missing)", WEB, True),
    ("team contains 'core'", WEB, True),
    ("missing contains ''", WEB, False),               # CAL-3: contains needs the label
    ("version starts with 'v1'", WEB, True),
    ("version ends with '.2'", WEB, True),
    ("version ends with '.3'", WEB, False),
    ("all()", {}, True),
    ("", {}, True),                                    # an empty selector is all()
    ("   ", WEB, True),
    # CAL-2: precedence: ! binds tighter than &&, && tighter than ||
    ("app == 'api' || tier == 'frontend' && team == 'other'", WEB, False),
    ("(app == 'api' || tier == 'frontend') && team == 'shop-core'", WEB, True),
    ("!app == 'web' || has(tier)", WEB, True),
    ("!(app == 'web' || has(tier))", WEB, False),
    ("!!has(tier)", WEB, True),                       # each ! toggles
    ("has(app) && has(tier) && !has(canary)", WEB, True),
    ("has(kubernetes.io/metadata.name)", {"kubernetes.io/metadata.name": "shop"}, True),
])
def test_a_selector_matches_a_label_set_as_calico_does(selector: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_selector(selector).matches(labels) is expected


def test_an_empty_selector_is_the_all_expression() -> None:
    assert isinstance(parse_selector(""), All)


@pytest.mark.parametrize(("selector", "column"), [
    ("app = 'web'", 5),
    ("app == web", 8),
    ("has(app", 8),
    ("app in {'a' 'b'}", 13),
    ("app == 'web' &&& has(x)", 16),
])
def test_a_syntax_error_names_its_column(selector: str, column: int) -> None:
    with pytest.raises(SelectorError) as err:
        parse_selector(selector)
    assert err.value.column == column
    assert f"column {column}" in str(err.value)


def test_a_parsed_selector_prints_back_in_calico_syntax() -> None:
    text = "app == 'web' && (tier in {'a', 'b'} || !has(canary))"
    assert str(parse_selector(text)) == "app == 'web' && (tier in {'a', 'b'} || !has(canary))"
    assert parse_selector(str(parse_selector(text))) == parse_selector(text)
