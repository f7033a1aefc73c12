"""Ingress conflicts and Ingresses without a class (issue 11, items 9 and 13), as specifications.

ING-8: when two Ingresses of one class define the same host and path, ingress-nginx serves the
oldest (creationTimestamp; equal times: descending namespace/name) and its admission webhook
rejects the newer one. ING-9: an Ingress without a class is given the default IngressClass when it
is created (the newest default), and ingress-nginx ignores one that still has none unless it runs
with --watch-ingress-without-class. docs/semantics.md §7.
"""

from __future__ import annotations

import json

from click.testing import CliRunner

from entry_helpers import FILE, codes_at, deployment, docs, ingress, ingress_class, line_of, namespace, path, service
from kubeward import Analysis, Options, analyse_text, connectivity_map, explain
from kubeward.cli import main

APP = docs(namespace("app"), deployment("app", "client", {"app": "client"}))
BACKENDS = [
    deployment("app", "old", {"app": "old"}, [(8080, "http")]),
    deployment("app", "new", {"app": "new"}, [(9090, "http")]),
    service("app", "old", {"app": "old"}, [{"name": "http", "port": 80, "targetPort": 8080}]),
    service("app", "new", {"app": "new"}, [{"name": "http", "port": 80, "targetPort": 9090}]),
]
URL = "http://shop.example.com/cart"


def created(document: str, name: str, timestamp: str) -> str:
    """The Ingress ``name`` of ``document`` with a metadata.creationTimestamp."""
    return document.replace(f"{{name: {name}, namespace: app}}",
                            f"{{name: {name}, namespace: app, creationTimestamp: \"{timestamp}\"}}")


def cart(name: str, service_name: str, class_name: str | None = "nginx") -> str:
    return ingress("app", name, [("shop.example.com", [path("/cart", "Prefix", service_name)])],
                   class_name=class_name)


def analyse(*objects: str, options: Options | None = None) -> tuple[Analysis, str]:
    text = docs(APP, *BACKENDS, *objects)
    return analyse_text(text, FILE, options), text


def served_by(a: Analysis, url: str = URL) -> list[tuple[str, bool, list[str]]]:
    """(Ingress name, allowed, workloads reached) of every way in through an Ingress."""
    return [(str(p.via.get("name")), p.allowed, [w for w, _, _ in p.reached])
            for p in explain(a, "world", url).paths if p.via.get("kind") == "Ingress"]


# =========================================================================== item 9: ING-8


def test_item9_ingress_conflict_the_oldest_ingress_serves_the_path_whatever_the_file_order() -> None:
    newer = created(cart("cart-new", "new"), "cart-new", "2024-06-01T10:00:00Z")
    older = created(cart("cart-old", "old"), "cart-old", "2024-01-01T10:00:00Z")
    a, text = analyse(newer, older)  # the newer Ingress comes first in the file
    assert served_by(a) == [("cart-old", True, ["app/old"])]
    [conflict] = [d for d in a.diagnostics.items if d.code == "ingress-conflict"]
    cart_lines = [i for i, line in enumerate(text.splitlines(), 1) if "path: /cart" in line]
    assert (conflict.severity.value, conflict.file, conflict.line) == ("warning", FILE, cart_lines[0])
    assert conflict.ref is not None and conflict.ref.name == "cart-new"
    assert [r.name for r in conflict.related] == ["cart-old"]
    assert conflict.message == (
        f"host shop.example.com and path /cart are also defined by Ingress app/cart-old ({FILE}:{cart_lines[1]}): "
        "ingress-nginx serves the path of the older Ingress, and its admission webhook rejects the newer one "
        "(ING-8); Ingress app/cart-old was created at 2024-01-01T10:00:00Z, this one at 2024-06-01T10:00:00Z")
    # The map's way in from outside goes to the older Ingress's backend only; the newer Ingress's
    # path is listed as a blocked entry point that names the older one.
    cmap = connectivity_map(a)
    [edge] = [c for c in cmap.connections if c.src == "world" and c.via]  # issue 17: via an entry
    assert (edge.dst, [v["name"] for v in edge.via or []]) == ("app/old", ["cart-old"])
    assert [(e.via["name"], e.path.allowed) for e in cmap.entries] == [("cart-new", False), ("cart-old", True)]
    blocked = cmap.entries[0].first_failure()
    assert blocked is not None and (blocked.line, blocked.message) == (cart_lines[0], (
        "host shop.example.com and path /cart are served by the older Ingress app/cart-old: ingress-nginx keeps the "
        "oldest Ingress's path and its admission webhook rejects this one (ING-8)"))


def test_item9_ingress_conflict_equal_timestamps_go_to_the_namespace_and_name_that_sorts_last() -> None:
    same = "2024-01-01T10:00:00Z"
    a, _ = analyse(created(cart("a-cart", "old"), "a-cart", same), created(cart("b-cart", "new"), "b-cart", same))
    assert served_by(a) == [("b-cart", True, ["app/new"])]
    [conflict] = [d for d in a.diagnostics.items if d.code == "ingress-conflict"]
    assert conflict.ref is not None and conflict.ref.name == "a-cart"
    assert conflict.message.endswith("; both were created at 2024-01-01T10:00:00Z: the tie goes to the "
                                      "namespace/name that sorts last, app/b-cart")


def test_item9_ingress_conflict_without_timestamps_says_the_winner_depends_on_apply_order() -> None:
    a, text = analyse(cart("cart-new", "new"), cart("cart-old", "old"))
    assert served_by(a) == [("cart-new", True, ["app/new"])]  # input order: the first one applied
    [conflict] = [d for d in a.diagnostics.items if d.code == "ingress-conflict"]
    assert conflict.ref is not None and conflict.ref.name == "cart-old"
    assert conflict.leans is not None and conflict.leans.value == "may allow or deny more than shown"
    assert conflict.message.endswith("; without creationTimestamps the winner depends on which is applied first: "
                                     "kubeward assumes input order, so Ingress app/cart-new serves it")


def test_item9_ingress_conflict_other_paths_other_classes_and_a_canary_are_no_conflict() -> None:
    canary = ingress("app", "cart-canary", [("shop.example.com", [path("/cart", "Prefix", "new")])],
                     annotations={"nginx.ingress.kubernetes.io/canary": "true"})
    other_path = ingress("app", "cart-api", [("shop.example.com", [path("/cart/api", "Prefix", "new")])])
    other_class = cart("cart-b", "new", class_name="other")
    a, _ = analyse(canary, cart("cart-old", "old"), other_path, other_class)
    assert codes_at(a, "ingress-conflict") == []
    # The canary does not take the primary's path: the controller merges it into that location.
    assert ("cart-old", True, ["app/old"]) in served_by(a)


# =========================================================================== item 13: ING-9


def test_item13_an_ingress_without_class_is_not_served_and_the_message_says_so() -> None:
    a, text = analyse(cart("cart", "old", class_name=None))
    [d] = [d for d in a.diagnostics.items if d.code == "ingress-class-missing"]
    assert (d.severity.value, d.line) == ("warning", line_of(text, "metadata: {name: cart,") - 2)  # its apiVersion
    assert d.message == (
        "no ingressClassName, no kubernetes.io/ingress.class annotation and no default IngressClass: ingress-nginx "
        "ignores an Ingress without a class unless it runs with --watch-ingress-without-class, so no controller "
        "serves it (ING-9); set spec.ingressClassName (or pass --watch-ingress-without-class if your controller "
        "runs with it)")
    # explain and map agree with the message: no way in.
    exp = explain(a, "world", URL)
    assert exp.verdict.verdict == "deny" and served_by(a) == []
    cmap = connectivity_map(a)
    assert [c for c in cmap.connections if c.src == "world" and c.via] == []  # issue 17: via
    [entry] = cmap.entries
    assert entry.via == {"kind": "Ingress", "namespace": "app", "name": "cart"} and not entry.path.allowed
    blocked = entry.first_failure()
    assert blocked is not None and blocked.message == (
        "Ingress app/cart has no class and there is no default IngressClass: ingress-nginx ignores it unless it "
        "runs with --watch-ingress-without-class (ING-9)")


def test_item13_watch_ingress_without_class_serves_it_and_is_shown_in_the_options() -> None:
    options = Options(watch_ingress_without_class=True)
    a, _ = analyse(cart("cart", "old", class_name=None), options=options)
    assert served_by(a) == [("cart", True, ["app/old"])]
    [d] = [d for d in a.diagnostics.items if d.code == "ingress-class-missing"]
    assert d.severity.value == "info" and "because of --watch-ingress-without-class (ING-9)" in d.message
    assert "ingress-without-class=served" in explain(a, "world", URL).options
    assert "ingress-without-class=served" not in Options().describe()


def test_item13_watch_ingress_without_class_on_the_command_line(tmp_path: object) -> None:
    text = docs(APP, *BACKENDS, cart("cart", "old", class_name=None))
    args = ["explain", "-", "--from", "world", "--to", URL, "--format", "json"]
    off = CliRunner().invoke(main, args, input=text, catch_exceptions=False)
    on = CliRunner().invoke(main, [*args, "--watch-ingress-without-class"], input=text, catch_exceptions=False)
    assert (off.exit_code, json.loads(off.stdout)["verdict"]) == (1, "deny")
    assert (on.exit_code, json.loads(on.stdout)["verdict"]) == (0, "allow")
    assert "ingress-without-class=served" in json.loads(on.stdout)["options"]


def test_item13_a_class_less_ingress_gets_the_newest_default_ingress_class() -> None:
    older = ingress_class("nginx", default=True).replace(
        "metadata: {name: nginx,", "metadata: {name: nginx, creationTimestamp: \"2023-01-01T00:00:00Z\",")
    newer = ingress_class("other", default=True).replace(
        "metadata: {name: other,", "metadata: {name: other, creationTimestamp: \"2024-01-01T00:00:00Z\",")
    a, _ = analyse(older, newer, cart("cart", "old", class_name=None), cart("cart-b", "new", class_name="nginx"))
    assert codes_at(a, "ingress-class-missing") == []
    # Both Ingresses are served, by different classes (other = the newest default): no conflict.
    assert codes_at(a, "ingress-conflict") == []
    assert sorted(served_by(a)) == [("cart", True, ["app/old"]), ("cart-b", True, ["app/new"])]
