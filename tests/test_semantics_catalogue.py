"""The semantics catalogue: every rule id the project cites is defined, once, in docs/semantics.md.

Code cites a rule id (``NP-16``, ``CIL-11``, ...) in a comment at the branch that implements the
rule; tests and documents cite it to say which rule they pin down or explain. The catalogue
``docs/semantics.md`` is where those ids resolve. It defines each rule with a heading of one
fixed form, followed by the rule in the project's words and the upstream sources it was read from::

    ### NP-16 — Two selectors in one peer element combine with AND
    A peer element that carries both ...
    Upstream: [K8S-NP-DOC]

and lists each source key with its address as a Markdown link reference (``[K8S-NP-DOC]: https://...``).

The specification:

- every id cited in ``src/``, ``tests/``, ``docs/``, README.md and ARCHITECTURE.md is defined;
- no id is defined twice;
- each definition sits in the section of its API, has a title and names its upstream sources;
- every source key a definition names resolves to an address.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "docs" / "semantics.md"

# The prefix of a rule id names its API, and the numbered section of the catalogue it belongs in.
SECTION_OF_PREFIX: dict[str, int] = {
    "NP": 1,  # Kubernetes NetworkPolicy
    "SVC": 2,  # Services
    "ANP": 3,  # AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy
    "CIL": 4,  # Cilium
    "CAL": 5,  # Calico
    "IST": 6,  # Istio
    "GW": 7,  # Gateway API
    "ING": 7,  # Ingress
    "ROUTE": 7,  # OpenShift Route
}
_PREFIXES = "|".join(SECTION_OF_PREFIX)
RULE_ID = re.compile(rf"\b(?:{_PREFIXES})-\d+\b")
DEFINITION = re.compile(rf"^### (?P<rule_id>(?:{_PREFIXES})-\d+) — (?P<title>.*)$")
SECTION = re.compile(r"^## (?P<number>\d+)\. ")
HEADING = re.compile(r"^#{1,3} ")
UPSTREAM = re.compile(r"^Upstream: (?P<keys>.+)$")
SOURCE_KEY = re.compile(r"\[(?P<key>[A-Z0-9][A-Z0-9-]*)\]")
LINK_REFERENCE = re.compile(r"^\[(?P<key>[A-Z0-9][A-Z0-9-]*)\]: (?P<address>\S+)$")

# Where citations are looked for, and in which kinds of file.
CODE_FILES = sorted((ROOT / "src" / "kubeward").rglob("*.py"))
DOC_FILES = sorted([*(ROOT / "docs").rglob("*.md"), ROOT / "README.md", ROOT / "ARCHITECTURE.md"])
TEST_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".json", ".txt", ".csv"}
TEST_FILES = sorted(path for path in (ROOT / "tests").rglob("*") if path.is_file() and path.suffix in TEST_SUFFIXES)


@dataclass(frozen=True)
class Citation:
    """One mention of a rule id: where it was found."""

    rule_id: str
    file: Path
    line: int

    def __str__(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}: {self.rule_id}"


@dataclass(frozen=True)
class Definition:
    """One rule of the catalogue: its heading, the section it sits in and its text."""

    rule_id: str
    title: str
    line: int
    section: int | None
    body: tuple[str, ...]

    @property
    def upstream_keys(self) -> list[str]:
        """The source keys named on the definition's ``Upstream:`` lines."""
        keys: list[str] = []
        for text in self.body:
            match = UPSTREAM.match(text)
            if match:
                keys.extend(found.group("key") for found in SOURCE_KEY.finditer(match.group("keys")))
        return keys

    def __str__(self) -> str:
        return f"docs/semantics.md:{self.line}: {self.rule_id}"


def citations(files: Iterable[Path]) -> Iterator[Citation]:
    """Every rule id mentioned in ``files``, with its file and line."""
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            for match in RULE_ID.finditer(line):
                yield Citation(match.group(), path, number)


def definitions() -> list[Definition]:
    """The rules the catalogue defines, in the order it defines them."""
    lines = CATALOGUE.read_text(encoding="utf-8").splitlines()
    found: list[Definition] = []
    section: int | None = None
    for index, line in enumerate(lines):
        section_match = SECTION.match(line)
        if section_match:
            section = int(section_match.group("number"))
        match = DEFINITION.match(line)
        if not match:
            continue
        end = next((k for k in range(index + 1, len(lines)) if HEADING.match(lines[k])), len(lines))
        body = tuple(lines[index + 1 : end])
        found.append(Definition(match.group("rule_id"), match.group("title").strip(), index + 1, section, body))
    return found


def source_addresses() -> dict[str, str]:
    """Source key → address, from the catalogue's Markdown link references."""
    addresses: dict[str, str] = {}
    for line in CATALOGUE.read_text(encoding="utf-8").splitlines():
        match = LINK_REFERENCE.match(line)
        if match:
            addresses[match.group("key")] = match.group("address")
    return addresses


def undefined(cited: Iterable[Citation]) -> list[str]:
    """The citations whose id the catalogue does not define, as ``file:line: id``."""
    defined = {definition.rule_id for definition in definitions()}
    return [str(citation) for citation in cited if citation.rule_id not in defined]


def _report(problem: str, places: list[str]) -> str:
    """An assertion message listing every offending place, one per line."""
    return f"{len(places)} {problem}:\n" + "\n".join(places)


def test_the_catalogue_defines_rules_of_every_api() -> None:
    defined_prefixes = {definition.rule_id.split("-")[0] for definition in definitions()}
    assert defined_prefixes == set(SECTION_OF_PREFIX)


def test_every_rule_cited_in_the_code_is_defined() -> None:
    cited = list(citations(CODE_FILES))
    assert cited, "the code cites rule ids in comments; none were found"
    missing = undefined(cited)
    assert not missing, _report("cited in src/ but not defined in docs/semantics.md", missing)


def test_every_rule_cited_in_the_documentation_is_defined() -> None:
    missing = undefined(citations(DOC_FILES))
    assert not missing, _report("cited in the documentation but not defined in docs/semantics.md", missing)


def test_every_rule_cited_in_the_tests_is_defined() -> None:
    missing = undefined(citations(TEST_FILES))
    assert not missing, _report("cited in tests/ but not defined in docs/semantics.md", missing)


def test_no_rule_is_defined_twice() -> None:
    counts = Counter(definition.rule_id for definition in definitions())
    twice = [str(definition) for definition in definitions() if counts[definition.rule_id] > 1]
    assert not twice, _report("defined more than once", twice)


def test_each_rule_is_defined_in_the_section_of_its_api() -> None:
    misplaced: list[str] = []
    for definition in definitions():
        expected = SECTION_OF_PREFIX[definition.rule_id.split("-")[0]]
        if definition.section != expected:
            misplaced.append(f"{definition} is in section {definition.section}, expected {expected}")
    assert not misplaced, _report("defined outside the section of their API", misplaced)


def test_each_definition_has_a_title_and_a_text() -> None:
    empty = [
        str(definition)
        for definition in definitions()
        if not definition.title or not any(line.strip() and not UPSTREAM.match(line) for line in definition.body)
    ]
    assert not empty, _report("defined without a title or a text", empty)


def test_each_definition_names_its_upstream_sources() -> None:
    unsourced = [str(definition) for definition in definitions() if not definition.upstream_keys]
    assert not unsourced, _report("defined without an `Upstream:` line naming a source", unsourced)


def test_every_source_a_definition_names_has_an_address() -> None:
    addresses = source_addresses()
    unresolved = [
        f"{definition}: [{key}]"
        for definition in definitions()
        for key in definition.upstream_keys
        if key not in addresses
    ]
    assert not unresolved, _report("citing a source key without a link reference in §9", unresolved)
    assert all(address.startswith("https://") for address in addresses.values())


def test_the_catalogue_is_self_contained() -> None:
    """The repository owns its catalogue: nothing points at a semantics.md outside the repository."""
    this_file = Path(__file__).resolve()
    outside = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in [*DOC_FILES, *CODE_FILES, *TEST_FILES]
        if path != this_file
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1)
        if "shared/docs/semantics.md" in line
    ]
    assert not outside, _report("pointing at a catalogue outside the repository", outside)
