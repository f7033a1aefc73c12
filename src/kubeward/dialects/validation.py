"""What the cluster refuses: label keys and values, and label selector requirements (NP-27),
checked the same way for every dialect whose selectors the API server (or the enforcing agent)
validates. An object with such a problem is rejected (NP-28): it does not exist in the cluster,
so kubeward reports it and does not enforce it.

Each check returns the first problem in kubeward's words, or None when the input is valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

MAX_NAME = 63        # a label value, the name part of a label key
MAX_PREFIX = 253     # the DNS-subdomain prefix of a label key
_NAME = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?\Z")
_SUBDOMAIN = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*\Z")
_CILIUM_SOURCE = re.compile(r"[A-Za-z0-9]+\Z")
_NAME_RULE = "letters, digits, '-', '_' and '.', beginning and ending with a letter or digit"


class KeySyntax(StrEnum):
    """How a dialect writes label keys."""

    KUBERNETES = "kubernetes"  # a qualified name: [DNS-subdomain prefix '/'] name
    CILIUM = "cilium"          # an optional source ('k8s', 'any', …) and ':' before a qualified name


@dataclass(frozen=True, slots=True)
class Admission:
    """Who refuses an object whose selectors are invalid, and the key syntax it checks against.
    ``consequence`` completes a diagnostic; ``by`` names the refuser in a trace note."""

    by: str
    consequence: str  # "{kind}" is replaced by the object's kind
    rule: str         # the rule id the rejection cites
    keys: KeySyntax = KeySyntax.KUBERNETES

    def says(self, kind: str) -> str:
        return self.consequence.format(kind=kind) + f" ({self.rule})"


# NP-28: the API server validates every NetworkPolicy selector (AllowInvalidLabelValueInSelector is
# off on create).
API_SERVER = Admission("the API server", "the API server rejects this {kind}: it never exists in the cluster, "
                       "so it is not enforced", "NP-28")
# NP-27, NP-28: the same checks on the labels and selectors of the objects policies select.
API_SERVER_OBJECT = Admission("the API server", "the API server rejects this {kind}: it never exists in the cluster, "
                              "so kubeward leaves it out", "NP-28")
# ANP-14: the CRDs do not check selector syntax; implementations convert each selector and cannot.
ANP_IMPLEMENTATIONS = Admission(
    "its implementation", "the CRD accepts this {kind}, but an implementation cannot turn the selector into a "
    "label selector and does not apply the policy: it is not enforced", "ANP-14")
# ANP-15: a CEL rule that only the experimental channel's CRDs carry.
CRD_EXPERIMENTAL = Admission("the experimental channel's CRD", "the experimental channel's CRD (the only one "
                             "with the peers used here) rejects this {kind}: it is not enforced", "ANP-15")
# IST-23: istiod's validating webhook (and the CRD's own rules) for security.istio.io kinds.
ISTIOD = Admission("istiod's webhook", "istiod's validating webhook rejects this {kind}: it never exists in the "
                   "cluster, so it is not enforced", "IST-23")
# CIL-26: the CRD schema checks matchLabels values and operators, the agent every other part.
CILIUM = Admission("Cilium", "Cilium rejects this {kind} (its CRD schema or the agent's policy import): it is "
                   "not enforced", "CIL-26", KeySyntax.CILIUM)


def label_key_problem(key: str, syntax: KeySyntax = KeySyntax.KUBERNETES) -> str | None:
    """NP-27: why ``key`` is not a label key, or None."""
    if syntax is KeySyntax.CILIUM and ":" in key:
        source, _, rest = key.partition(":")
        if ":" in rest:
            return f"label key {key!r} has more than one ':' (Cilium allows one, after the label source)"
        if not _CILIUM_SOURCE.match(source):
            return f"label key {key!r} has the source {source!r}, which is not letters and digits"
        key = rest
    if not key:
        return "a label key is empty"
    prefix, slash, name = key.rpartition("/")
    if slash:
        if "/" in prefix:
            return f"label key {key!r} has more than one '/'"
        if not prefix:
            return f"label key {key!r} has an empty prefix before '/'"
        if len(prefix) > MAX_PREFIX or not _SUBDOMAIN.match(prefix):
            return (f"the prefix {prefix!r} of label key {key!r} is not a DNS subdomain (lower-case letters, "
                    f"digits, '-' and '.', at most {MAX_PREFIX} characters, beginning and ending with a letter "
                    "or digit)")
    if not name:
        return f"label key {key!r} has an empty name after '/'"
    if len(name) > MAX_NAME:
        return f"the name of label key {key!r} is {len(name)} characters long (at most {MAX_NAME})"
    if not _NAME.match(name):
        return f"label key {key!r} is not a valid name: {_NAME_RULE}"
    return None


def label_value_problem(value: str) -> str | None:
    """NP-27: why ``value`` is not a label value, or None (the empty value is valid)."""
    if len(value) > MAX_NAME:
        return f"label value {value!r} is {len(value)} characters long (at most {MAX_NAME})"
    if value and not _NAME.match(value):
        return f"label value {value!r} is not valid: {_NAME_RULE}"
    return None


_PORT_NAME_CHARSET = re.compile(r"[-a-z0-9]+\Z")
_PORT_NAME_LETTER = re.compile(r"[a-z]")
MAX_PORT_NAME = 15


def port_name_problem(name: str) -> str | None:
    """NP-30: why ``name`` is not a port name (IANA_SVC_NAME), in the API server's words, or None.
    A quoted number (``"8080"``) is a name to the API server, and no valid one: it has no letter."""
    problems = []
    if len(name.encode()) > MAX_PORT_NAME:
        problems.append(f"must be no more than {MAX_PORT_NAME} bytes")
    if not _PORT_NAME_CHARSET.match(name):
        problems.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _PORT_NAME_LETTER.search(name):
        problems.append("must contain at least one letter (a-z)")
    if "--" in name:
        problems.append("must not contain consecutive hyphens")
    if name.startswith("-") or name.endswith("-"):
        problems.append("must not begin or end with a hyphen")
    return ", ".join(problems) or None


__all__ = ["Admission", "KeySyntax", "API_SERVER", "API_SERVER_OBJECT", "ANP_IMPLEMENTATIONS", "CILIUM",
           "CRD_EXPERIMENTAL", "ISTIOD", "label_key_problem", "label_value_problem",
           "port_name_problem"]
