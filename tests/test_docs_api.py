"""docs/api.md tells the truth: every ``python`` block on the page runs as a doctest, in order,
in one namespace, from the repository root; and the package root exports what the page lists."""

from __future__ import annotations

import doctest
import inspect
import re
from pathlib import Path

import pytest

import kubeward
from fake_apiserver import objects_of, serving

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "api.md"
TEXT = PAGE.read_text()
# (line of the block's first line on the page, the block's text)
BLOCKS = [(TEXT.count("\n", 0, m.start(1)), m.group(1)) for m in re.finditer(r"```python\n(.*?)```", TEXT, re.S)]


def test_every_python_block_of_the_page_is_a_doctest() -> None:
    assert BLOCKS
    assert [line + 1 for line, b in BLOCKS if not b.lstrip().startswith(">>> ")] == []


def test_the_examples_of_docs_api_md_run_and_print_what_the_page_shows(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT)
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    failures: list[str] = []
    with serving(objects_of("examples/shop")) as server:  # "A live cluster": the test API server the page names
        # shared: a block uses what the blocks above it defined
        namespace: dict[str, object] = {"kubeconfig": str(server.kubeconfig(tmp_path / "kubeconfig"))}
        for line, block in BLOCKS:
            test = parser.get_doctest(block, namespace, "docs/api.md", str(PAGE), line)
            test.globs = namespace  # get_doctest copies the namespace
            runner.run(test, out=failures.append, clear_globs=False)
    assert runner.failures == 0, "".join(failures)
    assert runner.tries >= 30


def test_the_package_root_exports_every_analysis_with_a_docstring() -> None:
    for name in ("analyse_paths", "analyse_text", "analyse_objects", "explain", "connectivity_map", "check", "lint",
                 "diff", "check_paths", "run_tests", "diff_paths", "diff_revisions", "read_lint_config",
                 "lint_exit_code", "input_problems", "read_cluster", "analyse_cluster", "diff_cluster"):
        assert name in kubeward.__all__
        assert inspect.getdoc(getattr(kubeward, name)), name
    assert "map" not in kubeward.__all__  # documented: connectivity_map, not the builtin's name
    assert all(hasattr(kubeward, name) for name in kubeward.__all__)


def test_the_options_of_the_commands_from_paths_are_keyword_only() -> None:
    for function in (kubeward.check_paths, kubeward.run_tests, kubeward.diff_paths, kubeward.diff_revisions,
                     kubeward.lint, kubeward.analyse_cluster, kubeward.diff_cluster):
        parameter = inspect.signature(function).parameters.get("options") or \
            inspect.signature(function).parameters["severity"]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, function.__name__
