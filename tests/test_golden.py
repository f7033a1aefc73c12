"""Golden outputs: `kubeward check examples/shop`, the first command a newcomer runs, byte for byte.

When an intended change alters the report, regenerate with
`kubeward check examples/shop > tests/golden/check-shop.txt` and review the diff."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kubeward.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_check_of_the_shop_lab_matches_its_golden_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["check", "examples/shop"])
    assert result.exit_code == 1  # warnings, findings and two failing verification scenarios
    assert result.stdout == (ROOT / "tests" / "golden" / "check-shop.txt").read_text()
