"""Upstream scenarios as truth tables: every probe must give the upstream answer, through
both explain (one flow) and map (all pairs)."""

from __future__ import annotations

import pytest

from kubeward import Options
from truthtable import Case, discover, mismatches

K8S_E2E = discover("k8s-e2e")
NPA = discover("npa-conformance")
CILIUM = discover("cilium")


def test_the_corpora_are_not_empty() -> None:
    assert len(K8S_E2E) >= 40
    assert sum(len(c.probes()) for c in K8S_E2E) > 3000


@pytest.mark.parametrize("case", K8S_E2E, ids=[c.id for c in K8S_E2E])
def test_kubernetes_netpol_e2e_scenario(case: Case) -> None:
    bad = mismatches(case)
    assert not bad, f"{case.name}:\n" + "\n".join(bad[:20])


@pytest.mark.parametrize("case", NPA, ids=[c.id for c in NPA])
def test_network_policy_api_conformance_scenario(case: Case) -> None:
    bad = mismatches(case)
    assert not bad, f"{case.name}:\n" + "\n".join(bad[:20])


@pytest.mark.parametrize("case", CILIUM, ids=[c.id for c in CILIUM])
def test_cilium_documentation_scenario(case: Case) -> None:
    bad = mismatches(case)
    assert not bad, f"{case.name}:\n" + "\n".join(bad[:20])


@pytest.mark.parametrize("case", K8S_E2E, ids=[c.id for c in K8S_E2E])
def test_kubernetes_netpol_e2e_scenario_inside_calicos_default_tier(case: Case) -> None:
    """CAL-13: Kubernetes NetworkPolicies in Calico's default tier give the upstream answers."""
    bad = mismatches(case, Options(cni="calico"))
    assert not bad, f"{case.name} (--cni calico):\n" + "\n".join(bad[:20])


@pytest.mark.parametrize("case", NPA, ids=[c.id for c in NPA])
def test_network_policy_api_conformance_scenario_in_calicos_admin_and_baseline_tiers(case: Case) -> None:
    """ANP-13 / CAL-16: ANPs in kube-admin and BANPs in kube-baseline give the upstream answers."""
    bad = mismatches(case, Options(cni="calico"))
    assert not bad, f"{case.name} (--cni calico):\n" + "\n".join(bad[:20])


CALICO = discover("calico")


@pytest.mark.parametrize("case", CALICO, ids=[c.id for c in CALICO])
def test_calico_documentation_scenario(case: Case) -> None:
    bad = mismatches(case)
    assert not bad, f"{case.name}:\n" + "\n".join(bad[:20])
