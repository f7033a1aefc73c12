"""`test`: regression cases without a cluster — each case a flow, the verdict expected and,
optionally, the policy expected to decide it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from ..dialects.schema import did_you_mean
from ..engine.options import CNI_CHOICES, MESH_CHOICES, Cni, Mesh, Options
from ..engine.trace import Effect, Step
from ..errors import UsageError
from ..loader import LList, LMap, RawObject
from .explain import Explanation, explain
from .session import Analysis, analyse_input

if TYPE_CHECKING:  # the live package is imported only when a cluster is read
    from ..live import LiveSnapshot

SUITE_API = "kubeward.dev/v1"
SUITE_KIND = "TestSuite"


@dataclass(frozen=True, slots=True)
class TestCase:
    name: str
    source: str
    destination: str
    port: int | None
    protocol: str | None
    expect: str  # allow | deny
    method: str | None = None
    path: str | None = None
    host: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    decided_by: tuple[str, str, str] | None = None  # (kind, namespace, name)
    file: str = ""
    line: int = 0


@dataclass(slots=True)
class CaseResult:
    """One case: passed or not, the verdict, the step that decided it, and the trace when it failed."""

    case: TestCase
    passed: bool
    verdict: str
    decided_by: Step | None
    message: str
    explanation: Explanation | None = None

    def to_json(self) -> dict[str, object]:
        c = self.case
        out: dict[str, object] = {"name": c.name, "file": c.file, "line": c.line, "expect": c.expect,
                                  "verdict": self.verdict, "passed": self.passed, "message": self.message}
        if self.decided_by is not None and self.decided_by.policy is not None:
            p = self.decided_by.policy
            out["decidedBy"] = {"kind": p.kind, "namespace": p.namespace, "name": p.name,
                                "file": p.file, "line": self.decided_by.line or p.line}
        if not self.passed and self.explanation is not None:
            out["trace"] = [s.to_json() for s in self.explanation.verdict.steps]
        return out


@dataclass(slots=True)
class SuiteResult:
    """The result of every case: passed and failed counts, JSON, JUnit XML."""

    results: list[CaseResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # cases that could not run

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if not r.passed)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    def to_json(self) -> dict[str, object]:
        return {"schema": 1, "passed": self.passed, "failed": self.failed,
                "cases": [r.to_json() for r in self.results], "errors": self.errors}

    def junit(self, suite_name: str = "kubeward") -> str:
        """JUnit XML as CI systems read it (testsuites/testsuite/testcase/failure)."""
        suites = ElementTree.Element("testsuites", tests=str(len(self.results)), failures=str(self.failed))
        suite = ElementTree.SubElement(suites, "testsuite", name=suite_name, tests=str(len(self.results)),
                                       failures=str(self.failed), errors="0", skipped="0")
        for r in self.results:
            case = ElementTree.SubElement(suite, "testcase", name=r.case.name, classname=suite_name,
                                          file=r.case.file, line=str(r.case.line))
            if not r.passed:
                failure = ElementTree.SubElement(case, "failure", message=r.message, type="VerdictMismatch")
                if r.explanation is not None:
                    failure.text = "\n".join(f"[{s.layer}/{s.tier}] {s.message}" for s in r.explanation.verdict.steps)
        return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def is_suite(obj: RawObject) -> bool:
    return obj.api_version == SUITE_API and obj.kind == SUITE_KIND


# --- the TestSuite's own schema (docs/tests.md): read as strictly as the kinds it tests ----------

@dataclass(frozen=True, slots=True)
class _Field:
    """A field of a TestSuite: its type, the values it may take, and a mapping's own fields (None:
    any keys) or a list's items."""

    kind: type
    choices: tuple[str, ...] = ()
    fields: Mapping[str, _Field] | None = None
    items: _Field | None = None


_TEXT = _Field(str)
_ANY_MAP = _Field(LMap)
_CASE = _Field(LMap, fields={
    "name": _TEXT, "from": _TEXT, "to": _TEXT, "port": _Field(int), "protocol": _TEXT, "expect": _TEXT,
    "http": _Field(LMap, fields={"method": _TEXT, "path": _TEXT, "host": _TEXT, "headers": _ANY_MAP}),
    "decidedBy": _Field(LMap, fields={"kind": _TEXT, "namespace": _TEXT, "name": _TEXT})})
SUITE_SCHEMA = _Field(LMap, fields={
    "apiVersion": _TEXT, "kind": _TEXT, "metadata": _ANY_MAP,
    "spec": _Field(LMap, fields={"cni": _Field(str, CNI_CHOICES), "mesh": _Field(str, MESH_CHOICES),
                                 "cases": _Field(LList, items=_CASE)})})
_TYPE_NAMES = {str: "a string", int: "an integer", LMap: "a mapping", LList: "a list"}


def schema_problems(value: Any, schema: _Field, path: str, line: int) -> Iterator[tuple[str, int, str]]:
    """Each (path, line, message) where ``value`` does not follow ``schema``: an unknown field (with
    "did you mean"), a value of another type, a value outside its choices."""
    where = path or "the TestSuite"
    if value is None:
        return
    if not isinstance(value, schema.kind) or (schema.kind is int and isinstance(value, bool)):
        yield path, line, f"{where} must be {_TYPE_NAMES[schema.kind]}"
        return
    if schema.choices and value not in schema.choices:
        near = did_you_mean(str(value), schema.choices)
        hint = f"; did you mean {near!r}?" if near else ""
        yield path, line, f"{where}: expected one of {', '.join(schema.choices)}, not {value!r}{hint}"
    if isinstance(value, LMap) and schema.fields is not None:
        for key in value:
            sub = f"{path}.{key}" if path else str(key)
            known = schema.fields.get(str(key))
            if known is None:
                near = did_you_mean(str(key), list(schema.fields))
                hint = f'; did you mean "{near}"?' if near else ""
                yield sub, value.line_of(key), f'unknown field "{sub}"{hint}'
            else:
                yield from schema_problems(value[key], known, sub, value.line_of(key))
    if isinstance(value, LList) and schema.items is not None:
        for i, item in enumerate(value):
            yield from schema_problems(item, schema.items, f"{path}[{i}]", value.line_of(i))


def read_cases(obj: RawObject) -> tuple[list[TestCase], dict[str, object], list[str]]:
    """The cases of one TestSuite document, its options (cni, mesh) and the problems found."""
    problems: list[str] = []
    spec = obj.data.get("spec")
    if not isinstance(spec, LMap):
        return [], {}, [f"{obj.file}:{obj.line}: a TestSuite needs a spec with cases"]
    found = list(schema_problems(obj.data, SUITE_SCHEMA, "", obj.line))
    problems.extend(f"{obj.file}:{line}: {message}" for _, line, message in found)
    broken = {path for path, _, _ in found}
    options: dict[str, object] = {}
    for key, choices in (("cni", CNI_CHOICES), ("mesh", MESH_CHOICES)):
        value = spec.get(key)
        if isinstance(value, str) and value in choices:
            options[key] = value
    cases: list[TestCase] = []
    raw_cases = spec.get("cases")
    for i, raw in enumerate(raw_cases if isinstance(raw_cases, LList) else []):
        line = raw_cases.line_of(i) if isinstance(raw_cases, LList) else obj.line
        where = f"{obj.file}:{line}"
        if not isinstance(raw, LMap):
            continue  # said by the schema
        if any(p == f"spec.cases[{i}]" or p.startswith(f"spec.cases[{i}].") for p in broken):
            continue  # a case that cannot be read as written is not run
        missing = [k for k in ("name", "from", "to", "expect") if raw.get(k) is None]
        if missing:
            problems.append(f"{where}: case needs {', '.join(missing)}")
            continue
        expect = str(raw["expect"]).lower()
        if expect not in ("allow", "deny"):
            problems.append(f"{where}: expect must be allow or deny, not {raw['expect']!r}")
            continue
        raw_http = raw.get("http")
        http: LMap = raw_http if isinstance(raw_http, LMap) else LMap(line)
        raw_headers = http.get("headers")
        headers: LMap = raw_headers if isinstance(raw_headers, LMap) else LMap(line)
        decided: Any = raw.get("decidedBy")
        decided_by = None
        if isinstance(decided, LMap):
            decided_by = (str(decided.get("kind", "")), str(decided.get("namespace", "")), str(decided.get("name", "")))
        port = raw.get("port")
        cases.append(TestCase(str(raw["name"]), str(raw["from"]), str(raw["to"]),
                              int(port) if isinstance(port, int) else None,
                              str(raw["protocol"]).upper() if raw.get("protocol") else None, expect,
                              str(http["method"]) if http.get("method") else None,
                              str(http["path"]) if http.get("path") else None,
                              str(http["host"]) if http.get("host") else None,
                              tuple((str(k), str(v)) for k, v in headers.items()), decided_by, obj.file, line))
    return cases, options, problems


def _deciding(exp: Explanation) -> Step | None:
    steps = exp.verdict.steps
    if not exp.allowed:
        return next((s for s in steps if s.effect == Effect.DENY), None)
    allowing = [s for s in steps if s.effect == Effect.ALLOW and s.policy is not None]
    return allowing[-1] if allowing else None


def run_case(analysis: Analysis, case: TestCase) -> CaseResult:
    try:
        exp = explain(analysis, case.source, case.destination, case.port, case.protocol, case.method, case.headers,
                      case.path, case.host)
    except UsageError as exc:
        return CaseResult(case, False, "error", None, str(exc))
    verdict = exp.verdict.verdict
    step = _deciding(exp)
    if verdict != case.expect:
        why = ""
        if step is not None:
            who = f"{step.policy.display} ({step.where}): " if step.policy else ""
            why = f" — {who}{step.message}"
        return CaseResult(case, False, verdict, step, f"expected {case.expect}, got {verdict}{why}", exp)
    if case.decided_by is not None:
        kind, ns, name = case.decided_by
        p = step.policy if step is not None else None
        if p is None or p.name != name or (ns and p.namespace != ns) or (kind and p.kind != kind):
            got = f"{p.kind} {p.namespace}/{p.name}" if p else "no policy"
            return CaseResult(case, False, verdict, step, f"{verdict} as expected, but decided by {got}, not "
                              f"{kind} {ns}/{name}", exp)
    return CaseResult(case, True, verdict, step, f"{verdict} as expected", exp)


def run_suite(analysis: Analysis, cases: list[TestCase]) -> SuiteResult:
    result = SuiteResult()
    for case in cases:
        result.results.append(run_case(analysis, case))
    return result


@dataclass(slots=True)
class SuiteRun:
    """A suite run: the analysis it ran on (under the suite's profile), its result, and the
    problems found reading the cases."""

    analysis: Analysis
    result: SuiteResult
    problems: list[str]

    @property
    def exit_code(self) -> int:
        """2: problems reading the cases, or input errors; 1: a case fails; 0: every case passes."""
        if self.problems or self.analysis.diagnostics.has_errors:
            return 2
        return 1 if self.result.failed else 0


def run_suites(paths: Sequence[str], options: Options, suites: list[RawObject],
               analysis: Analysis | None = None, *, cluster: LiveSnapshot | None = None) -> SuiteRun:
    """Run every case of ``suites`` against ``paths`` (with ``cluster``: the live cluster with
    ``paths`` overlaid). A suite's ``spec.cni``/``spec.mesh`` apply where ``options`` leaves them
    ``auto`` (the command line wins); ``analysis`` is reused when they change nothing."""
    cases: list[TestCase] = []
    problems: list[str] = []
    suite_options: dict[str, object] = {}
    for suite in suites:
        found, opts, bad = read_cases(suite)
        cases.extend(found)
        problems.extend(bad)
        suite_options.update(opts)
    given = {"cni": options.cni, "mesh": options.mesh}
    wanted = {k: v for k, v in suite_options.items() if given.get(k) == "auto"}
    if wanted or analysis is None:
        cni, mesh = wanted.get("cni", options.cni), wanted.get("mesh", options.mesh)
        analysis = analyse_input(paths, replace(options, cni=Cni(str(cni)), mesh=Mesh(str(mesh))), cluster=cluster)
    return SuiteRun(analysis, run_suite(analysis, cases), problems)
