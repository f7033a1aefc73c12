"""What kubectl users expect of a command line (issue 17): ``-o``/``--output`` beside ``--format``
(``yaml`` wherever ``json`` is: the same document), ``-q``/``--quiet`` for exit-code-only use,
and colour only on a terminal with ``NO_COLOR`` unset. Imported by cli.py at start-up: only
click and the standard library here."""

from __future__ import annotations

import functools
import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import click

Command = Callable[..., Any]

_state = {"quiet": False}


def quiet() -> bool:
    """Whether the running command was given ``-q``: no standard output, errors only on standard error."""
    return _state["quiet"]


class _Sink(io.RawIOBase):
    """Standard output under ``-q``: bytes written to it are dropped."""

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        return len(memoryview(b))


def output_options(choices: Iterable[str]) -> Callable[[Command], Command]:
    """``--format``/``-o``/``--output`` (one option: the command gets ``fmt``; ``yaml`` added
    after ``json``) and ``-q``/``--quiet``."""
    formats = [f for c in choices for f in ((c, "yaml") if c == "json" else (c,))]

    def decorate(command: Command) -> Command:
        @functools.wraps(command)
        def with_output(*args: Any, be_quiet: bool, **kwargs: Any) -> Any:
            _state["quiet"] = be_quiet
            if be_quiet:
                sys.stdout = io.TextIOWrapper(io.BufferedWriter(_Sink()), encoding="utf-8")
            return command(*args, **kwargs)

        with_output = click.option(
            "-q", "--quiet", "be_quiet", is_flag=True,
            help="Print nothing on standard output (warnings neither): the exit code says it.")(with_output)
        return click.option("--format", "-o", "--output", "fmt", type=click.Choice(formats), default=formats[0],
                            show_default=True, help="Output format (-o as kubectl's).")(with_output)

    return decorate


def namespaces_option(what: str) -> Callable[[Command], Command]:
    """``-n``/``--namespace`` as kubectl's, repeatable: the command gets ``namespaces`` (a tuple)."""
    return click.option("--namespace", "-n", "namespaces", multiple=True, metavar="NAMESPACE",
                        help=f"{what} (repeatable).")


def emit_yaml(doc: object) -> None:
    """``-o yaml``: the command's JSON document as YAML — the same data (its ``schema`` too), key
    order kept."""
    import json

    import yaml

    from .render import data

    value = json.loads(doc if isinstance(doc, bytes | bytearray) else data.json_bytes(doc))
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    sys.stdout.write(yaml.dump(value, Dumper=dumper, sort_keys=False, allow_unicode=True, default_flow_style=False))
    sys.stdout.flush()


def colour_enabled() -> bool:
    """Colour on standard output: only on a terminal, never with ``NO_COLOR`` set to anything
    non-empty (no-color.org) or ``TERM=dumb``."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


_COLOURS = {"✓": "\x1b[32m✓\x1b[0m", "✗": "\x1b[31m✗\x1b[0m"}


def colour(text: str) -> str:
    """The verdict marks of a text report in colour (✓ green, ✗ red) when ``colour_enabled()``."""
    if not colour_enabled():
        return text
    for mark, painted in _COLOURS.items():
        text = text.replace(mark, painted)
    return text


def colour_all(chunks: Iterable[str]) -> Iterator[str]:
    on = colour_enabled()
    for chunk in chunks:
        yield colour(chunk) if on else chunk


__all__ = ["output_options", "namespaces_option", "emit_yaml", "colour", "colour_all", "colour_enabled", "quiet"]
