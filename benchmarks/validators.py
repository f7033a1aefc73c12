"""Which JSON Schema library checks objects against the upstream schemas fastest?

    python benchmarks/validators.py [--count 2000] [--repeat 5]

Validates --count NetworkPolicies (those of benchmarks/generate.py's 10,000-pod cluster) and
--count CiliumNetworkPolicies (generated here, seeded) as kubeward loads them (located
``LMap``s), with the draft-7 documents that ``kubeward.dialects._schemas`` builds, and prints one
table of medians over --repeat runs:

* ``prepare``: from the schema document to a ready validator (jsonschema: construct the
  validator; fastjsonschema: generate and compile Python code), once per process and kind;
* ``valid``: a yes/no for every object (jsonschema ``is_valid``; fastjsonschema's compiled
  function, as kubeward compiles it: no detailed exceptions, no defaults filled in, list items
  as definitions — and once more on the document as it is, one generated function);
* ``errors``: every error of every object, located (jsonschema ``iter_errors``; fastjsonschema
  stops at the first error, so it has no such column).

Run from the repository root; ``src/`` is put on the path.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from random import Random
from typing import Any, TypeVar, cast

import yaml

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src"), str(HERE)]

import fastjsonschema  # noqa: E402
import jsonschema  # noqa: E402

from generate import generate  # noqa: E402
from kubeward.diagnostics import Diagnostics  # noqa: E402
from kubeward.dialects import _schemas, schema  # noqa: E402
from kubeward.loader import LMap, load_text  # noqa: E402


def _located(objects: list[dict[str, Any]]) -> list[LMap]:
    text = yaml.safe_dump_all(objects, sort_keys=False)
    return [raw.data for raw in load_text(text, "bench.yaml", Diagnostics())]


def network_policies(count: int) -> list[LMap]:
    objects, _ = generate(pods=count * 5)
    return _located([o for o in objects if o["kind"] == "NetworkPolicy"][:count])


def cilium_policies(count: int, seed: int = 1) -> list[LMap]:
    rng = Random(seed)
    objects = []
    for i in range(count):
        app = f"app-{rng.randrange(400)}"
        port = {"port": str(rng.choice([80, 443, 8080, 5432])), "protocol": rng.choice(["TCP", "UDP"])}
        rules: dict[str, Any] = {"ports": [port]}
        if rng.random() < 0.3:
            rules["rules"] = {"http": [{"method": "GET", "path": f"/api/v{rng.randrange(3)}/.*"}]}
        ingress = [{"fromEndpoints": [{"matchLabels": {"app": f"app-{rng.randrange(400)}"}}], "toPorts": [rules]}]
        egress = [{"toCIDRSet": [{"cidr": f"10.{rng.randrange(256)}.0.0/16", "except": ["10.0.1.0/24"]}]},
                  {"toEndpoints": [{"matchExpressions": [{"key": "tier", "operator": "In", "values": ["db"]}]}]}]
        objects.append({
            "apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
            "metadata": {"name": f"cnp-{i}", "namespace": f"ns-{rng.randrange(50)}", "labels": {"team": "a"}},
            "spec": {"endpointSelector": {"matchLabels": {"app": app}}, "ingress": ingress, "egress": egress},
        })
    return _located(objects)


T = TypeVar("T")


def _timed(action: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def _passes(validate: Callable[[Any], Any], value: Any) -> bool:
    try:
        validate(value)
    except fastjsonschema.JsonSchemaValueException:
        return False
    return True


def _compiled(document: dict[str, Any]) -> Callable[[Any], Any]:
    return cast(Callable[[Any], Any], fastjsonschema.compile(
        document, formats=schema.FORMAT_CHECKS, use_default=False, detailed_exceptions=False))


def _all_valid(validator: jsonschema.Draft7Validator, objects: list[LMap]) -> list[bool]:
    return [validator.is_valid(o) for o in objects]


def _all_errors(validator: jsonschema.Draft7Validator, objects: list[LMap]) -> list[list[Any]]:
    return [list(validator.iter_errors(o)) for o in objects]


def _all_pass(validate: Callable[[Any], Any], objects: list[LMap]) -> list[bool]:
    return [_passes(validate, o) for o in objects]


def measure(name: str, document: dict[str, Any], objects: list[LMap], repeat: int) -> list[str]:
    """Median milliseconds of: preparing the validator, a yes/no for every object, every error
    of every object, for jsonschema, fastjsonschema as kubeward compiles it (list items as
    definitions), and fastjsonschema on the document as it is (one generated function)."""
    times: dict[str, dict[str, list[float]]] = {
        "jsonschema": {"prepare": [], "valid": [], "errors": []},
        "fastjsonschema": {"prepare": [], "valid": []},
        "fastjsonschema, 1 function": {"prepare": [], "valid": []},
    }
    hoisted = schema._items_as_definitions(document)
    for _ in range(repeat):
        js = times["jsonschema"]
        seconds, explainer = _timed(lambda: jsonschema.Draft7Validator(document,
                                                                       format_checker=schema._format_checker()))
        js["prepare"].append(seconds)
        js["valid"].append(_timed(partial(_all_valid, explainer, objects))[0])
        js["errors"].append(_timed(partial(_all_errors, explainer, objects))[0])
        for library, source in (("fastjsonschema", hoisted), ("fastjsonschema, 1 function", document)):
            seconds, compiled = _timed(partial(_compiled, source))
            times[library]["prepare"].append(seconds)
            times[library]["valid"].append(_timed(partial(_all_pass, compiled, objects))[0])
    rows = []
    for library, columns in times.items():
        cells = [f"{statistics.median(columns[k]) * 1000:10.1f}" if k in columns else f"{'—':>10}"
                 for k in ("prepare", "valid", "errors")]
        rows.append(f"{name:<20} {len(objects):>7} {library:<27} " + " ".join(cells))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cases = [("NetworkPolicy", "networking.k8s.io/v1", network_policies(args.count)),
             ("CiliumNetworkPolicy", "cilium.io/v2", cilium_policies(args.count))]
    print(f"{'kind':<20} {'objects':>7} {'library':<27} {'prepare ms':>10} {'valid ms':>10} {'errors ms':>10}")
    for kind, api_version, objects in cases:
        found = _schemas.schema_for(api_version, kind)
        assert found is not None
        for row in measure(kind, found.document, objects, args.repeat):
            print(row)


if __name__ == "__main__":
    main()
