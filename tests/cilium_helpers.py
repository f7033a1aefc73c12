"""Builders and assertions for the Cilium specification tests (test_cilium.py).

Policies are plain dicts dumped to one multi-document YAML text (``spec.yaml``) and analysed
through the public API, as :mod:`rules_helpers` does for Kubernetes NetworkPolicies. Line
numbers in diagnostics and trace steps refer to that text: :func:`line_of` finds them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubeward import Analysis, Connection, Diagnostic, Explanation, Options, analyse_text, connectivity_map, explain
from kubeward.engine.trace import Reason, Step
from kubeward.ir import Direction
from rules_helpers import Obj, namespace, pod, to_yaml

INGRESS = Direction.INGRESS
EGRESS = Direction.EGRESS
FILE = "spec.yaml"


# ----------------------------------------------------------------------------- objects


def cnp(ref: str, **spec: Any) -> Obj:
    """A CiliumNetworkPolicy ``ns/name``; keyword arguments are its spec verbatim."""
    ns, _, name = ref.partition("/")
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def ccnp(name: str, **spec: Any) -> Obj:
    """A CiliumClusterwideNetworkPolicy; keyword arguments are its spec verbatim."""
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy",
            "metadata": {"name": name}, "spec": spec}


def match(**kv: str) -> Obj:
    """A Cilium endpoint selector ``{matchLabels: ...}`` (keys may carry ``k8s:`` / ``any:``)."""
    return {"matchLabels": dict(kv)}


def in_ns(ns: str, **kv: str) -> Obj:
    """An endpoint selector naming the namespace with Cilium's identity label (CIL-7)."""
    return {"matchLabels": {"k8s:io.kubernetes.pod.namespace": ns, **kv}}


def tcp(*ports: int | str, **extra: Any) -> list[Obj]:
    """``toPorts`` with one entry listing TCP ``ports``."""
    return [{"ports": [{"port": str(p), "protocol": "TCP", **extra} for p in ports]}]


def http(port: int, *rules: Obj) -> list[Obj]:
    """``toPorts`` with one TCP port governed by HTTP rules."""
    return [{"ports": [{"port": str(port), "protocol": "TCP"}], "rules": {"http": list(rules)}}]


def dns_rule(*patterns: str, names: Iterable[str] = ()) -> Obj:
    """An egress rule to kube-dns on port 53 with ``rules.dns`` (what gives toFQDNs its
    addresses, CIL-21)."""
    dns = [{"matchPattern": p} for p in patterns] + [{"matchName": n} for n in names]
    return {"toEndpoints": [in_ns("kube-system", **{"k8s-app": "kube-dns"})],
            "toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}], "rules": {"dns": dns}}]}


def kube_dns() -> list[Obj]:
    return [namespace("kube-system"),
            pod("kube-system/coredns", labels={"k8s-app": "kube-dns"}, ports=[("dns", 53, "UDP"), ("dns-tcp", 53)])]


# ----------------------------------------------------------------------------- analysis


def analyse(*objects: Obj, cni: str = "cilium", **options: Any) -> Analysis:
    return analyse_text(to_yaml(objects), file=FILE, options=Options(cni=cni, **options))


def text_of(*objects: Obj) -> str:
    return to_yaml(objects)


def line_of(objects: Iterable[Obj], needle: str, nth: int = 0) -> int:
    """The 1-based line of the ``nth`` line containing ``needle`` in the YAML of ``objects``."""
    hits = [i + 1 for i, line in enumerate(to_yaml(list(objects)).splitlines()) if needle in line]
    assert len(hits) > nth, f"{needle!r} not found {nth + 1} time(s)"
    return hits[nth]


def flow(analysis: Analysis, src: str, dst: str, port: int | None, protocol: str | None = "TCP",
         **http_request: Any) -> Explanation:
    return explain(analysis, src, dst, port, protocol, **http_request)


def side_steps(exp: Explanation, direction: Direction) -> list[Step]:
    return [s for s in exp.verdict.steps if s.direction is direction and s.tier != "l7"]


def decisive(exp: Explanation, direction: Direction) -> Step:
    """The last L3/L4 step of one side with an effect: what decided that side."""
    steps = [s for s in side_steps(exp, direction) if s.effect in ("allow", "deny")]
    assert steps, f"no deciding {direction.value} step in {exp.verdict.steps}"
    return steps[-1]


def l7_steps(exp: Explanation) -> list[Step]:
    return [s for s in exp.verdict.steps if s.tier == "l7"]


def policy_of(step: Step) -> tuple[str, str] | None:
    """(kind, ns/name or name) of the policy a step names."""
    if step.policy is None:
        return None
    p = step.policy
    return p.kind, f"{p.namespace}/{p.name}" if p.namespace else p.name


def assert_allowed_by(exp: Explanation, direction: Direction, kind: str, name: str, rule: int,
                      whole_flow: bool = True) -> Step:
    """This side is allowed by that rule (and, unless ``whole_flow`` is False, so is the flow)."""
    if whole_flow:
        assert exp.allowed, exp.verdict.steps
    step = decisive(exp, direction)
    assert (step.reason, step.effect, step.tier) == (Reason.ALLOWED_BY_RULE, "allow", "networkpolicy"), step
    assert policy_of(step) == (kind, name)
    assert step.rule == rule
    return step


def assert_default_denied(exp: Explanation, direction: Direction, kind: str, name: str) -> Step:
    """Denied because the side is isolated and no allow rule matched (CIL-1, CIL-2)."""
    assert not exp.allowed, exp.verdict.steps
    step = decisive(exp, direction)
    assert (step.reason, step.effect, step.tier) == (Reason.NO_RULE_MATCHED, "deny", "networkpolicy"), step
    assert policy_of(step) == (kind, name)
    return step


def assert_denied_by_deny_rule(exp: Explanation, direction: Direction, kind: str, name: str, rule: int | None) -> Step:
    """Denied by a Cilium deny rule (CIL-23); ``rule`` None: any rule index."""
    assert not exp.allowed, exp.verdict.steps
    steps = [s for s in side_steps(exp, direction) if s.effect == "deny"]
    assert steps, exp.verdict.steps
    step = steps[0]
    assert (step.reason, step.effect, step.tier) == (Reason.RULE_MATCHED, "deny", "deny"), step
    assert policy_of(step) == (kind, name)
    if rule is not None:
        assert step.rule == rule
    return step


def allowing(exp: Explanation, direction: Direction) -> set[tuple[str, str] | None]:
    """The policies whose rules allow this side (an allow-list union: every matching rule)."""
    return {policy_of(s) for s in side_steps(exp, direction) if s.reason is Reason.ALLOWED_BY_RULE}


def assert_open(exp: Explanation, direction: Direction) -> None:
    """No policy isolates this side: allowed by default."""
    step = decisive(exp, direction)
    assert (step.reason, step.effect, step.tier) == (Reason.NOT_ISOLATED, "allow", "default"), step


def diags(analysis: Analysis, code: str) -> list[Diagnostic]:
    return [d for d in analysis.diagnostics.items if d.code == code]


def codes(analysis: Analysis) -> list[str]:
    return [d.code for d in analysis.diagnostics.items]


def _connection(analysis: Analysis, src: str, dst: str) -> Connection | None:
    for c in connectivity_map(analysis).connections:
        if c.src == src and c.dst == dst:
            return c
    return None


def connection(analysis: Analysis, src: str, dst: str) -> Connection:
    """The map's connection from ``src`` to ``dst``; the test fails when there is none."""
    c = _connection(analysis, src, dst)
    assert c is not None, f"no connection {src} -> {dst} in the map"
    return c


def mapped(analysis: Analysis, src: str, dst: str) -> dict[str, list[list[int]]] | None:
    c = _connection(analysis, src, dst)
    return None if c is None else c.ports.to_json()
