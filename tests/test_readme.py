"""The README tells the truth: its commands are what CI runs, and its example output is real."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from kubeward.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _blocks() -> list[str]:
    return re.findall(r"```(?:sh|console)\n(.*?)```", README, re.S)


def test_the_readme_opens_with_the_example_command_then_the_test_command() -> None:
    first, second = _blocks()[:2]
    assert first.strip() == 'python -m pip install . && kubeward check examples/shop'
    assert second.strip() == ('sh tools/install-system-packages'
                              ' && python -m pip install -e ".[test]" && python -m pytest')


def test_ci_runs_exactly_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _blocks()[1].strip() in script


@pytest.mark.parametrize("console", [b for b in _blocks() if b.startswith("$ kubeward ")],
                         ids=lambda b: b.partition("\n")[0])
def test_the_readme_example_output_is_what_kubeward_prints(console: str, monkeypatch: pytest.MonkeyPatch) -> None:
    command, _, expected = console.partition("\n")
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, command.removeprefix("$ kubeward ").split())
    passes = expected.startswith("ALLOW") or expected.rstrip().endswith(" passed, 0 failed")
    assert result.exit_code == (0 if passes else 1)
    assert result.stdout == expected


def _example_consoles() -> list[tuple[str, str]]:
    """The ``$ kubeward …`` blocks of the examples' READMEs (examples/*/README.md)."""
    return [(str(path.relative_to(ROOT)), block) for path in sorted(ROOT.glob("examples/*/README.md"))
            for block in re.findall(r"```(?:sh|console)\n(.*?)```", path.read_text(), re.S)
            if block.startswith("$ kubeward ")]


@pytest.mark.parametrize(("readme", "console"), _example_consoles(),
                         ids=lambda v: v.partition("\n")[0] if v.startswith("$") else v)
def test_the_examples_readmes_show_what_kubeward_prints(readme: str, console: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    command, _, expected = console.partition("\n")
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, shlex.split(command.removeprefix("$ kubeward ")))
    assert result.exit_code in (0, 1), result.output
    assert result.stdout == expected, readme


def test_the_examples_readmes_have_console_blocks() -> None:
    assert {readme for readme, _ in _example_consoles()} >= {"examples/shop-egress/README.md",
                                                             "examples/shop-fixed/README.md"}
