"""The closed sets of the JSON output are enums, and docs/json.md lists every value of each."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import pytest

from kubeward.analyses.labels import ChangeTarget, LabelOp, Role, Target
from kubeward.diagnostics import Leans, Severity
from kubeward.engine.trace import Effect, Layer, Reason, StepTier
from kubeward.model import IngressPathType, ServiceType, WorkloadKind

DOC = Path(__file__).resolve().parent.parent / "docs" / "json.md"

# The line of json.md's Vocabulary section that lists each enum's values, by its first words.
LISTED: dict[type[StrEnum], str] = {
    Layer: "`layer`",
    Effect: "`effect`",
    StepTier: "`tier`",
    Reason: "`reason`",
    Severity: "`severity`",
    Leans: "`leans`",
    WorkloadKind: "workload `kind`",
    ServiceType: "Service `serviceType`",
    IngressPathType: "Ingress `pathType`",
    Target: "label `target`",
    Role: "label `role`",
    LabelOp: "label `operator`",
    ChangeTarget: "relabel `target`",
}


def _vocabulary() -> dict[str, set[str]]:
    """Each bullet of the Vocabulary section: its first words → the values quoted in it."""
    text = DOC.read_text()
    section = text.split("## Vocabulary", 1)[1].split("\n## ", 1)[0]
    bullets = re.split(r"\n- ", "\n" + section.split("\n- ", 1)[1])
    out: dict[str, set[str]] = {}
    for bullet in filter(None, bullets):
        head, _, rest = bullet.partition(":")
        name = re.sub(r"\s*\(.*", "", head).strip()
        out[name] = set(re.findall(r"`([^`]+)`", rest))
    return out


@pytest.mark.parametrize("enum", list(LISTED), ids=lambda e: e.__name__)
def test_docs_json_md_lists_every_value_of_the_enum_and_nothing_else(enum: type[StrEnum]) -> None:
    listed = _vocabulary()[LISTED[enum]]
    assert {m.value for m in enum} == listed


def test_a_step_serialises_its_vocabulary_as_the_plain_strings_of_the_json_contract() -> None:
    from kubeward.engine.trace import Step
    from kubeward.ir import Direction

    step = Step(Layer.ENTRY, Direction.INGRESS, "https://x/", StepTier.TLS, Reason.TLS, Effect.WARN, "no secret")
    out = step.to_json()
    assert (out["layer"], out["tier"], out["reason"], out["effect"]) == ("entry", "tls", "tls", "warn")
    assert all(type(out[k]) is str for k in ("layer", "tier", "reason", "effect"))
