"""The design's one-way pipeline, enforced: load → dialects → model/IR → engine → analyses →
render → cli. A module may import only from stages to its left."""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "kubeward"

# stage of each top-level module or subpackage; a module may import stages <= its own
STAGES = {
    "errors": 0, "refs": 0, "diagnostics": 0, "loader": 1, "flows": 1, "ir": 1, "model": 2, "dialects": 3, "live": 4,
    "engine": 4,
    "analyses": 5, "kernel": 5, "render": 6, "cli": 7, "cli_flows": 7, "cli_habits": 7, "cli_kernel": 7, "cli_views": 7,
    "__main__": 8, "__init__": 8,
}


def _stage(module: str) -> int:
    return STAGES[module.split(".")[0]]


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    rel = path.relative_to(PACKAGE).with_suffix("")
    package_parts = list(rel.parts[:-1])
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package_parts[: len(package_parts) - (node.level - 1)]
            target = ".".join([*base, node.module] if node.module else base)
            if target:
                found.append(target)
            else:  # "from . import x"
                found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kubeward."):
            found.append(node.module.removeprefix("kubeward."))
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_imports_only_from_earlier_stages_of_the_pipeline(path: Path) -> None:
    rel = path.relative_to(PACKAGE).with_suffix("")
    own = _stage(".".join(rel.parts))
    for target in _imports(path):
        if target.split(".")[0] not in STAGES:
            continue
        assert _stage(target) <= own, f"{rel} (stage {own}) imports {target} (stage {_stage(target)})"


def test_no_module_grows_past_800_lines() -> None:
    long = {str(p.relative_to(PACKAGE)): n for p in _modules() if (n := len(p.read_text().splitlines())) > 800}
    assert not long


def _checker(module: str) -> None:
    """Skip the check when ``module`` is not installed, saying so, except in CI (CI set), where a
    missing checker fails: a check that silently does not run is no check."""
    if importlib.util.find_spec(module) is not None:
        return
    reason = f"{module} is not installed (pip install -e '.[test]'): not checked"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}, and CI is set")
    warnings.warn(reason, stacklevel=2)  # shown in the run's warnings summary, unlike a plain skip
    pytest.skip(reason)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_the_package_its_tests_and_the_benchmarks_type_check_under_mypy_strict() -> None:
    _checker("mypy")
    result = _run("mypy")  # files and strictness: [tool.mypy] in pyproject.toml
    if result.returncode != 0:
        pytest.fail(result.stdout + result.stderr, pytrace=False)


def test_ruff_finds_nothing_in_the_package_the_tests_or_the_benchmarks() -> None:
    _checker("ruff")
    result = _run("ruff", "check", "--output-format", "concise", "src", "tests", "benchmarks")
    if result.returncode != 0:
        pytest.fail(result.stdout + result.stderr, pytrace=False)


def test_every_lint_code_is_documented_in_docs_lint_md() -> None:
    from kubeward.analyses.lint import RULES

    doc = (ROOT / "docs" / "lint.md").read_text()
    assert [code for code in RULES if f"| `{code}` |" not in doc] == []
