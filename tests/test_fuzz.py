"""Issue 12: a fuzz test — mutated manifests of every dialect never crash kubeward, never make
the command line exit with anything but 0, 1 or 2, and a malformed allow rule never allows more
than the same input without that rule.

The manifests start from every object of ``examples/`` (plus an OpenShift Route, ``EXTRA``) and of
the truth tables (``tests/truthtables``, ``tests/entrytables``), each in its own cluster (the
example's folder, the table's fixture and objects); a kind is drawn first, then one of its
objects. A mutant changes one place of one object in one way (``Op``): delete a key, rename a key
by one letter, replace a value (mostly by one of another JSON type: a number, a string, a list, a
map, null, a huge string, control characters, rich markup), duplicate a list item, nest a value
one level deeper. Hypothesis draws the mutants; ``derandomize=True`` makes every run draw the same
ones, and ``max_examples`` keeps the whole module to a few seconds.

The properties:

- **no traceback**: ``analyse_text`` on 200 mutants; ``connectivity_map``, ``check``, ``lint`` and
  ``explain`` as well on 30; reading a mutated ``.kubeward.yaml``: nothing raises but kubeward's
  documented ``UsageError``;
- **exit codes**: ``kubeward check`` and ``kubeward map --format json`` exit 0, 1 or 2 without an
  exception;
- **a malformed allow rule never widens**: for an allow rule of a NetworkPolicy, a Cilium policy,
  a Calico policy or an AdminNetworkPolicy, a mutant inside the rule that the strict reading
  (``kubeward.dialects.schema``) or kubeward itself reports as malformed (a schema problem inside
  the rule, or an error on its lines) allows no workload pair a port that the input does not allow
  with that rule replaced by one matching nothing. ``policyTypes`` (Calico ``types``) is written
  out in the base input, so that removing a rule never changes it (NP-2, CAL-12). When kubeward
  reports that the API server rejects the whole policy (NP-28), the reference is the input
  without the policy.

``KNOWN_OPEN`` lists the failure classes other changes of issue 12 fix; the strategies leave
their mutants out (Hypothesis has no skip inside a property) and say so once per class with a
warning; ``test_fuzz_known_open_reproducer_still_fails`` fails once a class is fixed. The lead
removes the list once those changes are merged.
"""

from __future__ import annotations

import copy
import functools
import re
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubeward import Options, UsageError, analyse_text, check, connectivity_map, explain, lint, read_lint_config
from kubeward.analyses.session import Analysis
from kubeward.cli import main
from kubeward.diagnostics import Diagnostics, Severity
from kubeward.dialects.schema import check_object
from kubeward.engine.portset import PortSet
from kubeward.loader import LList, LMap, load_text

ROOT = Path(__file__).resolve().parent.parent
Json = Any
Path_ = tuple[str | int, ...]

# ============================================================================ seeds


@dataclass(eq=False)
class Seed:
    """One object to mutate (``target``) in its cluster (``context``), analysed under ``options``."""

    name: str  # where it comes from: FILE#DOC or FOLDER, and the object
    context: tuple[Json, ...]
    target: Json
    options: Options

    def __repr__(self) -> str:
        return self.name

    @functools.cached_property
    def context_yaml(self) -> str:
        return to_yaml(list(self.context))

    def text(self, target: Json) -> str:
        """The cluster with ``target`` as its last document."""
        return self.context_yaml + ("---\n" if self.context else "") + to_yaml([target])


LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _docs(text: str) -> list[Json]:
    return [d for d in yaml.load_all(text, Loader=LOADER) if isinstance(d, dict)]


def _describe(obj: Json) -> str:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    ns = meta.get("namespace")
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"


def _cni_for(obj: Json, default: str) -> str:
    group = str(obj.get("apiVersion", "")).split("/")[0]
    return {"cilium.io": "cilium", "projectcalico.org": "calico", "crd.projectcalico.org": "calico"}.get(group, default)


# Kinds no example or table has, added to examples/shop.
EXTRA = """\
apiVersion: route.openshift.io/v1
kind: Route
metadata: {name: web, namespace: shop, creationTimestamp: "2024-01-01T00:00:00Z"}
spec:
  host: shop.apps.example.com
  path: /
  to: {kind: Service, name: web, weight: 100}
  alternateBackends: [{kind: Service, name: api, weight: 10}]
  port: {targetPort: http}
  tls: {termination: edge, insecureEdgeTerminationPolicy: Redirect}
  wildcardPolicy: None
"""


@functools.cache
def seeds() -> tuple[Seed, ...]:
    """Every object of examples/ and of the truth tables, each in its own cluster."""
    out: list[Seed] = []
    for folder in sorted((ROOT / "examples").iterdir()):
        if not folder.is_dir():
            continue
        docs = [d for f in sorted(folder.rglob("*.yaml")) for d in _docs(f.read_text(encoding="utf-8"))]
        for i, obj in enumerate(docs):
            rest = tuple(docs[:i] + docs[i + 1:])
            out.append(Seed(f"examples/{folder.name}: {_describe(obj)}", rest, obj,
                            Options(cni=_cni_for(obj, "auto"))))
        if folder.name == "shop":
            out += [Seed(f"examples/shop + {_describe(obj)}", tuple(docs), obj, Options()) for obj in _docs(EXTRA)]
    fixtures: dict[str, list[Json]] = {}
    for table in ("truthtables", "entrytables"):
        for file in sorted((ROOT / "tests" / table).rglob("*.yaml")):
            if "fixtures" in file.parts:
                continue
            for n, case in enumerate(yaml.load_all(file.read_text(encoding="utf-8"), Loader=LOADER)):
                if not isinstance(case, dict) or not case.get("objects"):
                    continue
                fixture = case.get("fixture")
                if fixture and fixture not in fixtures:
                    path = ROOT / "tests" / "truthtables" / "fixtures" / f"{fixture}.yaml"
                    fixtures[fixture] = _docs(path.read_text(encoding="utf-8"))
                base = fixtures.get(fixture, []) if fixture else []
                objects = _docs(case["objects"])
                for i, obj in enumerate(objects):
                    rest = tuple(base + objects[:i] + objects[i + 1:])
                    options = Options(cni=_cni_for(obj, str(case.get("cni", "generic"))),
                                      mesh=str(case.get("mesh", "auto")))
                    out.append(Seed(f"{file.relative_to(ROOT)}#{n}: {_describe(obj)}", rest, obj, options))
    return tuple(out)


# ============================================================================ mutations


class Op(StrEnum):
    DELETE = "delete the key or item"
    RENAME = "rename the key"
    REPLACE = "replace the value"
    DUPLICATE = "duplicate the list item"
    NEST_LIST = "nest the value in a list"
    NEST_MAP = "nest the value in a map"


HUGE = "a" * 65_536
CONTROL = "a\x00b\x07c\x1b[31mred\r\nkind: Forged\t\u202eevil\u200bx"
VALUES: tuple[Json, ...] = (
    0, 5, -1, 65536, 2.5, 10**20, True,                   # numbers (and a boolean)
    "", "x", "8080", "Ingress", "*", "x[/]y",            # strings (the last is rich markup)
    [], [5], ["x"], [{}],                                # lists
    {}, {"x": 1}, {"x": {"y": []}},                       # maps
    None, HUGE, CONTROL,                                 # null, a huge string, control characters
)


def _renamed(key: str, how: int) -> str:
    """A key with one letter changed: the last dropped, an ``s`` added, the first's case swapped."""
    if how == 0 and len(key) > 1:
        return key[:-1]
    if how == 1 or not key:
        return key + "s"
    return key[0].swapcase() + key[1:]


@dataclass(frozen=True)
class Mutation:
    path: Path_
    op: Op
    value: Json = None  # REPLACE: the new value; RENAME: which rename (0, 1, 2)

    def __repr__(self) -> str:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path)
        shown = repr(self.value) if len(repr(self.value)) < 60 else f"{repr(self.value)[:40]}…({len(self.value)})"
        if self.op is Op.REPLACE:
            return f"{where}: {self.op} by {shown}"
        if self.op is Op.RENAME:
            return f"{where}: {self.op} to {_renamed(str(self.path[-1]), int(self.value))!r}"
        return f"{where}: {self.op}"

    def apply(self, obj: Json) -> Json:
        out = copy.deepcopy(obj)
        parent = out
        for step in self.path[:-1]:
            parent = parent[step]
        last = self.path[-1]
        node = parent[last]
        if self.op is Op.DELETE:
            del parent[last]
        elif self.op is Op.RENAME:
            assert isinstance(parent, dict)
            items = [(_renamed(str(k), int(self.value)) if k == last else k, v) for k, v in parent.items()]
            parent.clear()
            parent.update(items)
        elif self.op is Op.REPLACE:
            parent[last] = copy.deepcopy(self.value)
        elif self.op is Op.DUPLICATE:
            parent.insert(int(last) + 1, copy.deepcopy(node))
        elif self.op is Op.NEST_LIST:
            parent[last] = [node]
        else:
            parent[last] = {str(last) if isinstance(last, str) else "x": node}
        return out


def paths(node: Json, prefix: Path_ = ()) -> Iterator[Path_]:
    """Every place below ``node`` (not ``node`` itself)."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


def _parent(obj: Json, path: Path_) -> Json:
    for step in path[:-1]:
        obj = obj[step]
    return obj


def ops_at(obj: Json, path: Path_) -> list[Op]:
    in_list = isinstance(_parent(obj, path), list)
    return [op for op in Op if not (in_list and op is Op.RENAME) and (in_list or op is not Op.DUPLICATE)]


@dataclass(frozen=True, eq=False)
class Mutant:
    """One mutation of a seed's target (of an allow rule in it, for the third property); its repr
    is the reproducer."""

    seed: Seed
    mutation: Mutation
    rule: AllowRule | None = None

    def __repr__(self) -> str:
        return f"{self.seed.name} at {self.mutation!r}"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """How Hypothesis shows a falsifying example: the reproducer, not the whole cluster."""
        printer.text(repr(self))

    @functools.cached_property
    def target(self) -> Json:
        return self.mutation.apply(self.seed.target)

    @functools.cached_property
    def text(self) -> str:
        return self.seed.text(self.target)

    def at(self, pattern: str) -> bool:
        """Whether the mutated place matches ``pattern``: ``.spec.rules[].from``, ``[]`` for any index."""
        where = "".join("[]" if isinstance(p, int) else f".{p}" for p in self.mutation.path)
        return re.fullmatch(pattern, where) is not None


def to_yaml(docs: list[Json]) -> str:
    return yaml.dump_all(docs, Dumper=DUMPER, sort_keys=False)


def _where(path: Path_) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


# ============================================================================ allow rules


NOTHING = {"kubeward-fuzz": "matches-nothing"}


@dataclass(frozen=True, eq=False)
class AllowRule:
    """An allow rule of a seed's policy: where it is, and a rule that matches nothing to put in its place."""

    seed: Seed        # its target has policyTypes (Calico types) written out
    path: Path_       # of the rule in the target
    nothing: Json     # a rule of the same dialect and direction that allows nothing

    def __repr__(self) -> str:
        return f"{self.seed.name} {_where(self.path)}"


def _group(obj: Json) -> str:
    return str(obj.get("apiVersion", "")).split("/")[0]


def _with_types(obj: Json) -> Json:
    """The policy with its isolation written out as the cluster defaults it (NP-2, CAL-12), so that
    no rule decides it."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return obj
    out = copy.deepcopy(obj)
    if _group(obj) == "networking.k8s.io" and "policyTypes" not in spec:
        out["spec"]["policyTypes"] = ["Ingress"] + (["Egress"] if spec.get("egress") else [])
    if _group(obj) == "projectcalico.org" and "types" not in spec:
        out["spec"]["types"] = (["Ingress"] if spec.get("ingress") or not spec.get("egress") else []) + (
            ["Egress"] if spec.get("egress") else [])
    return out


def _nothing(group: str, direction: str, rule: Json) -> Json | None:
    """A rule that matches no pod, of the dialect and direction given; None if ``rule`` is no allow rule."""
    ingress = direction == "ingress"
    action = rule.get("action") if isinstance(rule, dict) else None
    if group == "networking.k8s.io":
        return {"from" if ingress else "to": [{"podSelector": {"matchLabels": NOTHING}}]}
    if group == "cilium.io":
        return {"fromEndpoints" if ingress else "toEndpoints": [{"matchLabels": NOTHING}]}
    if group == "projectcalico.org" and action == "Allow":
        return {"action": "Allow", "source" if ingress else "destination": {"selector": "kubeward-fuzz == 'none'"}}
    if group == "policy.networking.k8s.io" and action in ("Allow", "Accept"):
        peer = {"pods": {"namespaceSelector": {}, "podSelector": {"matchLabels": NOTHING}}}
        return {"name": "kubeward-fuzz", "action": action, "from" if ingress else "to": [peer]}
    return None


@functools.cache
def allow_rules() -> tuple[AllowRule, ...]:
    """Every allow rule (ingress, egress) of the NetworkPolicies, Cilium, Calico and admin policies of the seeds."""
    out: list[AllowRule] = []
    for seed in seeds():
        target = _with_types(seed.target)
        sections = [(("spec",), target.get("spec"))] + [(("specs", i), x) for i, x in
                                                        enumerate(target.get("specs") or [])]
        pinned = Seed(seed.name, seed.context, target, seed.options)
        for prefix, section in sections:
            for direction in ("ingress", "egress"):
                rules = section.get(direction) if isinstance(section, dict) else None
                for i, rule in enumerate(rules if isinstance(rules, list) else []):
                    nothing = _nothing(_group(target), direction, rule)
                    if nothing is not None:
                        out.append(AllowRule(pinned, (*prefix, direction, i), nothing))
    return tuple(out)


def _span(node: Json, first: int) -> tuple[int, int]:
    """The first and last line of a loaded node."""
    lines = [first]
    if isinstance(node, LMap):
        lines += [node.line, *(node.line_of(k) for k in node), *(_span(v, node.line_of(k))[1] for k, v in node.items())]
    elif isinstance(node, LList):
        lines += [node.line, *(node.line_of(i) for i in range(len(node))),
                  *(_span(v, node.line_of(i))[1] for i, v in enumerate(node))]
    return min(lines), max(lines)


def _pairs(a: Analysis) -> dict[tuple[str, str], PortSet]:
    workloads = {w.id for w in a.cluster.workloads}
    return {(c.src, c.dst): c.ports for c in connectivity_map(a).connections
            if c.src in workloads and c.dst in workloads}


@functools.lru_cache(maxsize=256)
def _reference(rule: AllowRule, without_policy: bool) -> dict[tuple[str, str], PortSet]:
    text = rule.seed.context_yaml if without_policy else rule.seed.text(
        Mutation(rule.path, Op.REPLACE, rule.nothing).apply(rule.seed.target))
    return _pairs(analyse_text(text, "fuzz.yaml", rule.seed.options))


@dataclass
class Judgement:
    """What a mutant of an allow rule does: the strict reading's problems inside the rule (``schema``),
    kubeward's errors on its lines (``errors``), whether kubeward rejects the policy (NP-28), and the
    workload pairs and ports it allows beyond the reference (``widened``)."""

    schema: list[str]
    errors: list[str]
    rejected: bool
    widened: list[str]

    @property
    def malformed(self) -> bool:
        return bool(self.schema or self.errors)

    def __str__(self) -> str:
        return (f"allows beyond the input without the {'policy (rejected, NP-28)' if self.rejected else 'rule'}: "
                f"{'; '.join(self.widened)}; malformed: {'; '.join(self.schema + self.errors)[:500]}")


_judged: dict[tuple[int, str], Judgement] = {}


def judge(m: Mutant) -> Judgement:
    """The mutant of an allow rule compared with the input without the rule (without the policy
    when kubeward rejects it): only a malformed rule is compared."""
    rule = m.rule
    assert rule is not None
    key = (id(rule), repr((m.mutation.path, m.mutation.op, m.mutation.value)))
    if key in _judged:
        return _judged[key]
    a = analyse_text(m.text, "fuzz.yaml", m.seed.options)
    raw = load_text(m.text, "fuzz.yaml", Diagnostics())[-1]
    where = _where(rule.path).lstrip(".")
    schema = [f"{p.path}: {p.message}" for p in check_object(raw)
              if p.path == where or p.path.startswith((where + ".", where + "["))]
    node: Json = raw.data
    line = raw.line
    for step in rule.path:
        try:
            line, node = node.line_of(step), node[step]
        except (AttributeError, IndexError, KeyError, TypeError):  # the rule was deleted or renamed away
            node = None
            break
    first, last = _span(node, line) if node is not None else (0, -1)
    errors = [f"{d.where}: {d.code}: {d.message}" for d in a.diagnostics.items
              if d.severity is Severity.ERROR and d.file == "fuzz.yaml" and first <= d.line <= last]
    kind, name = str(m.target.get("kind")), (m.target.get("metadata") or {}).get("name")
    rejected = any(p.rejected for p in a.cluster.policies  # Calico's namespaced kind is CalicoNetworkPolicy here
                   if p.ref.kind.endswith(kind) and p.ref.name == name)
    widened: list[str] = []
    if schema or errors:
        reference = _reference(rule, rejected)
        for pair, ports in sorted(_pairs(a).items()):
            extra = ports - reference[pair] if pair in reference else ports
            if extra:
                widened.append(f"{pair[0]} -> {pair[1]} {extra}")
    _judged[key] = Judgement(schema, errors, rejected, widened)
    return _judged[key]


# ============================================================================ known open (other helpers)


@dataclass(frozen=True)
class KnownOpen:
    """A failure class another change of issue 12 fixes (``area``): its mutants are left out of the
    strategies, with a warning naming the class once. ``example``: a minimal reproducer, as the
    seed's name and the mutation."""

    area: str         # the helper area that fixes it
    failure: str      # what fails today
    example: tuple[str, Mutation]
    matches: Callable[[Mutant], bool]

    def __str__(self) -> str:
        return f"{self.area}: {self.failure}"

    @property
    def reproducer(self) -> Mutant:
        name, mutation = self.example
        rule = next((r for r in allow_rules() if r.seed.name == name and mutation.path[:len(r.path)] == r.path), None)
        seed = rule.seed if rule is not None else next(s for s in (*seeds(), CONFIG) if s.name == name)
        return Mutant(seed, mutation, rule)


def _errors_yet_allows(m: Mutant) -> bool:
    if m.rule is None:
        return False
    j = judge(m)
    return bool(j.widened) and bool(j.errors)


# The lint section of a kubeward config file (lint_config.py), mutated like a manifest.
CONFIG = Seed("a .kubeward.yaml", (), {"lint": {"disable": ["dns-nodelocal-bypass"], "ignore": [
    {"code": "allow-from-anywhere", "resource": "shop/web", "reason": "the load balancer's health checks"}]}},
    Options())


SCHEMA_WIRING = "strict schema checker wiring"
KNOWN_OPEN: list[KnownOpen] = [
    # Empty: every class found while issue 12 was built is fixed. A new open class goes here with
    # its reproducer, the area that owns it, and a check that fails once it is fixed.
]

_warned: set[str] = set()


def not_known_open(m: Mutant) -> bool:
    """False for a mutant of a known open class (said once per class, as a warning)."""
    for k in KNOWN_OPEN:
        try:
            known = k.matches(m)
        except Exception:  # noqa: BLE001 - a crash outside the known classes: the property reports it
            return True
        if known:
            if str(k) not in _warned:
                _warned.add(str(k))
                warnings.warn(f"fuzz: left out, known open ({k.area}): {k.failure}; e.g. {m!r}", stacklevel=2)
            return False
    return True


# ============================================================================ strategies


def api_of(obj: Json) -> str:
    return f"{_group(obj)} {obj.get('kind')}"


@functools.cache
def seeds_by_api() -> dict[str, tuple[Seed, ...]]:
    out: dict[str, list[Seed]] = {}
    for s in seeds():
        out.setdefault(api_of(s.target), []).append(s)
    return {k: tuple(v) for k, v in sorted(out.items())}


def by_api() -> st.SearchStrategy[Seed]:
    """A kind first, then one of its objects: every kind is drawn as often (Pods outnumber policies)."""
    return st.sampled_from(sorted(seeds_by_api())).flatmap(lambda api: st.sampled_from(seeds_by_api()[api]))


def _json_type(value: Json) -> type:
    return next((t for t in (bool, dict, list, str, int, float) if isinstance(value, t)), type(None))


def _mutation(draw: st.DrawFn, target: Json, places: list[Path_]) -> Mutation:
    path = draw(st.sampled_from(places))
    op = draw(st.sampled_from(ops_at(target, path)))
    value: Json = None
    if op is Op.REPLACE:
        # Mostly a value of another JSON type than the one there: where readers trip.
        node = _parent(target, path)[path[-1]]
        other = [v for v in VALUES if _json_type(v) is not _json_type(node)]
        value = draw(st.sampled_from(other if draw(st.integers(0, 3)) else VALUES))
    elif op is Op.RENAME:
        value = draw(st.integers(0, 2))
    return Mutation(path, op, value)


@st.composite
def mutants(draw: st.DrawFn) -> Mutant:
    seed = draw(by_api())
    return Mutant(seed, _mutation(draw, seed.target, list(paths(seed.target))))


@st.composite
def rule_mutants(draw: st.DrawFn) -> Mutant:
    """A mutation inside an allow rule (the rule itself included)."""
    rule = draw(st.sampled_from(allow_rules()))
    node = rule.seed.target
    for step in rule.path:
        node = node[step]
    places = [rule.path, *(rule.path + p for p in paths(node))]
    return Mutant(rule.seed, _mutation(draw, rule.seed.target, places), rule)


# ============================================================================ running kubeward


def analyses(text: str, options: Options) -> Analysis:
    """What the commands do with an input, in process: any exception but UsageError escapes."""
    a = analyse_text(text, "fuzz.yaml", options)
    cmap = connectivity_map(a)
    check(a)
    lint(a, cmap)
    workloads = [w for w in a.cluster.workloads if not w.assumed]
    if workloads:
        src, dst = workloads[0], workloads[-1]
        for port in (None, *(p.port for p in dst.ports[:1])):
            for source in (src.id, "world"):
                try:
                    explain(a, source, dst.id, port)
                except UsageError:
                    pass
    return a


def cli(*args: str) -> tuple[int, BaseException | None, str]:
    """The exit code of ``kubeward ARGS``, the exception it raised (if any) and its output."""
    result = CliRunner().invoke(main, list(args))
    exc = result.exception if not isinstance(result.exception, SystemExit) else None
    return result.exit_code, exc, result.output


# ============================================================================ the properties

FAST = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])


@settings(FAST, max_examples=200)
@given(mutants().filter(not_known_open))
def test_fuzz_a_mutant_is_read_without_raising(m: Mutant) -> None:
    """Reading and analysing (the dialects, the model, the engine): many mutants, cheaply."""
    analyse_text(m.text, "fuzz.yaml", m.seed.options)


@settings(FAST, max_examples=30)
@given(mutants().filter(not_known_open))
def test_fuzz_a_mutant_never_raises_in_the_analyses(m: Mutant) -> None:
    """Everything the commands compute: map, check, lint, explain."""
    analyses(m.text, m.seed.options)


@settings(FAST, max_examples=10)
@given(mutants().filter(not_known_open))
def test_fuzz_a_mutant_exits_0_1_or_2_from_the_command_line(m: Mutant) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.yaml"
        path.write_text(m.text, encoding="utf-8")
        cni = ["--cni", m.seed.options.cni.value]
        for args in (["check", str(path), *cni], ["map", str(path), "--format", "json", *cni]):
            code, exc, out = cli(*args)
            assert exc is None, f"kubeward {' '.join(args)}: {exc!r}"
            assert code in (0, 1, 2), f"kubeward {' '.join(args)}: exit {code}\n{out[-2000:]}"


@settings(FAST, max_examples=40)
@given(rule_mutants().filter(not_known_open))
def test_fuzz_a_malformed_allow_rule_never_allows_more_than_no_rule(m: Mutant) -> None:
    verdict = judge(m)
    assert not verdict.widened, str(verdict)


@st.composite
def config_mutants(draw: st.DrawFn) -> Mutant:
    return Mutant(CONFIG, _mutation(draw, CONFIG.target, list(paths(CONFIG.target))))


@settings(FAST, max_examples=50)
@given(config_mutants().filter(not_known_open))
def test_fuzz_a_mutated_config_file_is_read_or_refused_with_a_usage_error(m: Mutant) -> None:
    _config_read(m)


# ============================================================================ the fuzz's own checks, and what it found


def test_fuzz_seeds_cover_every_dialect() -> None:
    """The seeds hold objects of every API kubeward reads, and allow rules of every policy dialect."""
    groups = {_group(s.target) for s in seeds()}
    assert {"networking.k8s.io", "cilium.io", "projectcalico.org", "policy.networking.k8s.io", "security.istio.io",
            "gateway.networking.k8s.io", "v1", "apps", "kubeward.dev", "route.openshift.io"} <= groups
    assert {_group(r.seed.target) for r in allow_rules()} == {
        "networking.k8s.io", "cilium.io", "projectcalico.org", "policy.networking.k8s.io"}


def _config_read(m: Mutant) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ".kubeward.yaml"
        path.write_text(to_yaml([m.target]), encoding="utf-8")
        try:
            read_lint_config(str(path))
        except UsageError:
            pass


@pytest.mark.parametrize("known", KNOWN_OPEN, ids=str)
def test_fuzz_known_open_reproducer_still_fails(known: KnownOpen) -> None:
    """Each class left out names a reproducer that its class covers and that fails today (printed
    for the lead). When this test fails, the class is fixed: delete it from KNOWN_OPEN."""
    m = known.reproducer
    print(f"known open: {known.area}: {known.failure}: {m!r}")
    assert known.matches(m)
    assert judge(m).widened, f"fixed: {known}"


def test_item1_fuzz_a_route_rule_without_a_readable_match_matches_no_request() -> None:
    """Found by the fuzz: an HTTPRoute rule whose every match is unreadable (``matches: [5]``) left the
    rule with no match, and the map's entry points took its first match (IndexError). The strict
    reading now answers first, as the API server does: a match that is not an object makes the whole
    HTTPRoute invalid, so it never exists in the cluster — an error at the match's line, the route is
    left out, and no request is served through it (nor through its well-formed second rule)."""
    seed = next(s for s in seeds() if s.name.startswith("tests/entrytables/gateway-api/httproute-exact-path-matching"
                                                         ".yaml#0: HTTPRoute"))
    m = Mutant(seed, Mutation(("spec", "rules", 0, "matches"), Op.REPLACE, [5]))
    a = analyses(m.text, seed.options)
    line = m.text.splitlines().index("    - 5") + 1
    [error] = [d for d in a.diagnostics.items if d.severity is Severity.ERROR]
    assert (error.code, error.line, error.ref and error.ref.name) == ("schema-invalid", line, "exact-matching")
    assert "spec.rules[0].matches[0]" in error.message and "must be of type object" in error.message
    assert connectivity_map(a).entries == []
