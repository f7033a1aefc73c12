"""The design's one-way pipeline, enforced: load → dialects → model/IR → engine → analyses →
render → cli. A module may import only from stages to its left."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "kubeward"

# stage of each top-level module or subpackage; a module may import stages <= its own
STAGES = {
    "errors": 0, "refs": 0, "diagnostics": 0, "loader": 1, "ir": 1, "model": 2, "dialects": 3, "engine": 4,
    "analyses": 5, "render": 6, "cli": 7, "__main__": 8, "__init__": 8,
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


@pytest.mark.skipif(shutil.which("mypy") is None and sys.modules.get("mypy") is None,
                    reason="mypy is not installed (pip install -e '.[test]')")
def test_the_package_type_checks_under_mypy_strict() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=PACKAGE.parent.parent,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_lint_code_is_documented_in_docs_lint_md() -> None:
    from kubeward.analyses.lint import RULES

    doc = (Path(__file__).resolve().parent.parent / "docs" / "lint.md").read_text()
    assert [code for code in RULES if f"| `{code}` |" not in doc] == []
