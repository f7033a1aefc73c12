"""Results keep their origins, and a side's pipeline is data.

Every allowed and every refused part of a pair knows the rules that decided it, read from the
connectivity result (no re-analysis): `diff` attributes each changed port to its rules. A side is
an ordered list of typed tiers that one evaluator walks, whatever the CNI profile."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from kubeward.analyses.connectivity_map import connectivity_map
from kubeward.analyses.session import analyse_text
from kubeward.cli import main
from kubeward.engine.evaluate import Matching, Origin
from kubeward.engine.options import Options
from kubeward.engine.trace import Effect, StepTier
from kubeward.ir import Direction, TierEnd

APP = """\
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: nginx}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: demo}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: c, image: api}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: demo}
spec:
  podSelector: {}
  policyTypes: [Ingress]
"""

ONE_PORT = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-from-web, namespace: demo}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 8080}]
"""

# Three more ports on the same pair, each from its own rule of two policies.
THREE_MORE = ONE_PORT + """\
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 9090}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-metrics, namespace: demo}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 9100}, {port: 9101, protocol: UDP}]
"""


def _sides(root: Path, **files: str) -> None:
    for side, text in files.items():
        folder = root / side
        folder.mkdir()
        (folder / "app.yaml").write_text(APP)
        (folder / "policy.yaml").write_text(text)


def test_a_change_that_opens_three_ports_on_one_pair_attributes_every_port_to_its_rule(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _sides(tmp_path, old=ONE_PORT, new=THREE_MORE)
    result = CliRunner().invoke(main, ["diff", "old", "new"])
    assert result.exit_code == 0, result.output
    assert result.stdout == textwrap.dedent("""\
        diff old → new (cni=generic, ipblock-matches-pods=yes, self-traffic=omitted)
        demo/web -> demo/api: + now allowed TCP/9090,9100 UDP/9101
            allowed by NetworkPolicy demo/api-from-web ingress rule 1 (new/policy.yaml:9)
            allowed by NetworkPolicy demo/api-metrics ingress rule 0 (new/policy.yaml:18)
            was denied by NetworkPolicy demo/default-deny (old/app.yaml:23)
        1 pair(s) changed, 0 entry point(s) changed, 0 workload(s) added, 0 removed
        """)


def test_the_map_knows_what_allowed_and_what_refused_each_part_of_a_pair() -> None:
    analysis = analyse_text(APP + "---\n" + THREE_MORE)
    cmap = connectivity_map(analysis)
    origins = dict(cmap.origins("demo/web", "demo/api"))
    described = {o.describe(): str(ports) for o, ports in origins.items()}
    assert described == {
        "allowed by NetworkPolicy demo/api-from-web ingress rule 0 (<text>:36)": "TCP/8080",
        "allowed by NetworkPolicy demo/api-from-web ingress rule 1 (<text>:38)": "TCP/9090",
        "allowed by NetworkPolicy demo/api-metrics ingress rule 0 (<text>:47)": "TCP/9100 UDP/9101",
        "denied by NetworkPolicy demo/default-deny (<text>:23)":
            "TCP/1-8079,8081-9089,9091-9099,9101-65535 UDP/1-9100,9102-65535 SCTP/all",
    }
    # A pair that is not connected at all still knows what refused it.
    [(refusal, ports)] = cmap.origins("demo/api", "demo/web")
    assert refusal == Origin(Effect.DENY, refusal.policy, Direction.INGRESS, line=23)
    assert refusal.policy.name == "default-deny" and str(ports) == "all ports"


@dataclass(frozen=True)
class _Tier:
    kind: StepTier
    matching: Matching
    end: TierEnd
    rules: int


def _pipeline(yaml: str, cni: str, workload: str, direction: Direction) -> list[_Tier]:
    analysis = analyse_text(yaml, options=Options(cni=cni))
    ident = analysis.engine.universe.identities_of[workload][0]
    side = analysis.engine.side(ident, direction)
    return [_Tier(t.kind, t.matching, t.end, len(t.rules)) for t in side.tiers]


ADMIN = """\
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: pass-dns}
spec:
  priority: 10
  subject: {namespaces: {}}
  ingress:
  - {action: Pass, from: [{namespaces: {}}]}
"""

CALICO = """\
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 100, defaultAction: Pass}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: security.allow-web, namespace: demo}
spec:
  tier: security
  order: 10
  selector: app == 'api'
  ingress:
  - {action: Allow, protocol: TCP, source: {selector: app == 'web'}}
"""


def test_the_kubernetes_pipeline_is_admin_then_networkpolicy_then_the_default_as_data() -> None:
    assert _pipeline(APP + "---\n" + ADMIN, "generic", "demo/api", Direction.INGRESS) == [
        _Tier(StepTier.ADMIN, Matching.FIRST_MATCH, TierEnd.NEXT, 1),
        _Tier(StepTier.NETWORK_POLICY, Matching.UNION, TierEnd.DENY, 0),
        _Tier(StepTier.DEFAULT, Matching.FIRST_MATCH, TierEnd.ALLOW, 0),
    ]


def test_the_calico_pipeline_is_named_tiers_by_order_then_the_profile_as_data() -> None:
    assert _pipeline(APP + "---\n" + CALICO, "calico", "demo/api", Direction.INGRESS) == [
        _Tier(StepTier.CALICO, Matching.FIRST_MATCH, TierEnd.PASS, 1),     # security, order 100
        _Tier(StepTier.CALICO, Matching.FIRST_MATCH, TierEnd.DENY, 0),     # default: the KNP default-deny
        _Tier(StepTier.PROFILE, Matching.FIRST_MATCH, TierEnd.ALLOW, 0),
    ]


def test_an_unknown_peer_type_is_an_error_never_a_silent_match_nothing() -> None:
    analysis = analyse_text(APP)

    @dataclass(frozen=True)
    class Stranger:
        name: str

    with pytest.raises(AssertionError):
        analysis.engine.universe.peer_mask(Stranger("x"))  # type: ignore[arg-type]
