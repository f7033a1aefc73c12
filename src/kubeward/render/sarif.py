"""SARIF 2.1.0 for `lint --format sarif`: what code-scanning services read. ruleIds are the stable
finding codes; partialFingerprints carry a hash of code + resource + message, so a finding keeps
its identity when lines move."""

from __future__ import annotations

from .. import __version__
from ..analyses.lint import RULES, LintReport

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def sarif(report: LintReport) -> dict[str, object]:
    used = sorted({f.code for f in report.findings})
    index = {code: i for i, code in enumerate(used)}
    rules = [{
        "id": code,
        "name": code,
        "shortDescription": {"text": RULES[code].title},
        "help": {"text": f"Fix: {RULES[code].fix}" + (f" ({RULES[code].source})" if RULES[code].source else "")},
        "defaultConfiguration": {"level": _LEVEL[RULES[code].severity]},
        "properties": {"source": RULES[code].source},
    } for code in used]
    results = []
    for f in report.findings:
        location: dict[str, object] = {"artifactLocation": {"uri": f.file}}
        if f.line:
            location["region"] = {"startLine": f.line}
        result: dict[str, object] = {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": _LEVEL[f.severity],
            "message": {"text": f"{f.message}. Fix: {f.fix}"},
            "locations": [{"physicalLocation": location}] if f.file else [],
            "partialFingerprints": {"kubewardFinding/v1": f.fingerprint},
        }
        if f.kind:
            result["properties"] = {"resource": {"kind": f.kind, "namespace": f.namespace, "name": f.name}}
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "kubeward", "version": __version__,
                                "informationUri": "https://github.com/kubeward/kubeward", "rules": rules}},
            "results": results,
        }],
    }
