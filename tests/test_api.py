"""The public API: typed options, the commands from paths, and the CLI building one Options."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import kubeward
from kubeward import Cni, Mesh, Options, UsageError, cli
from kubeward.analyses.session import analyse_input

ROOT = Path(__file__).resolve().parent.parent
SHOP = str(ROOT / "examples" / "shop")


def test_options_take_the_enums_or_their_strings_and_refuse_anything_else() -> None:
    assert Options(cni="calico", mesh="none") == Options(cni=Cni.CALICO, mesh=Mesh.NONE)
    assert Options().cni is Cni.AUTO and Options().mesh is Mesh.AUTO
    assert replace(Options(), cni=Cni.FLANNEL) == Options(cni="flannel")
    with pytest.raises(ValueError):
        Options(cni="weave")
    # StrEnum values: comparisons with strings, text and JSON are what they were
    assert Options(cni="cilium").cni == "cilium"
    assert Options(cni="cilium", mesh="istio").describe()[0] == "cni=cilium"
    assert json.dumps(Options(cni="cilium").describe()) == '["cni=cilium", "ipblock-matches-pods=no", ' \
                                                          '"self-traffic=omitted"]'


def test_every_profile_option_of_the_command_line_reaches_one_options(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Options] = []
    real = analyse_input

    def spy(paths: Any, options: Options | None = None, **kwargs: Any) -> kubeward.Analysis:
        assert options is not None
        seen.append(options)
        return real(paths, options, **kwargs)

    monkeypatch.setattr(cli, "analyse_input", spy)
    args = ["map", SHOP, "--cni", "calico", "--no-ipblock-matches-pods", "--include-self",
            "--ingress-controller", "ingress-nginx/ingress-nginx-controller",
            "--mesh", "none", "--root-namespace", "mesh", "--trust-domain", "example.org"]
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 2, result.output  # the lab under calico: its appendix-A policy is rejected (CAL-7)
    assert seen == [Options(cni=Cni.CALICO, ipblock_matches_pods=False, include_self=True,
                            ingress_controller="ingress-nginx/ingress-nginx-controller", mesh=Mesh.NONE,
                            root_namespace="mesh", trust_domain="example.org")]


def test_a_suite_naming_an_unknown_cni_is_a_problem_not_a_silent_profile(tmp_path: Path) -> None:
    suite = tmp_path / "tests.yaml"
    suite.write_text("apiVersion: kubeward.dev/v1\nkind: TestSuite\nmetadata: {name: s}\nspec:\n  cni: weave\n"
                     "  cases:\n  - {name: a, from: shop/web, to: shop/api, port: 8080, expect: allow}\n")
    run = kubeward.run_tests([SHOP], cases=str(suite))
    assert run.problems == [f"{suite}:5: spec.cni: expected one of auto, generic, cilium, calico, flannel, none, "
                            "not 'weave'"]
    assert run.exit_code == 2


def test_run_tests_without_a_suite_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no test cases"):
        kubeward.run_tests([str(ROOT / "examples" / "shop" / "base")])
    empty = tmp_path / "empty.yaml"
    empty.write_text("kind: ConfigMap\napiVersion: v1\nmetadata: {name: x}\n")
    with pytest.raises(UsageError, match="no TestSuite"):
        kubeward.run_tests([SHOP], cases=str(empty))


def test_lint_config_needs_reasons_and_known_codes(tmp_path: Path) -> None:
    config = tmp_path / "k.yaml"
    config.write_text("lint:\n  disable: [one-sided-allow]\n  ignore:\n  - {code: spiffe-principal, reason: later}\n")
    read = kubeward.read_lint_config(str(config))
    assert read.disabled == ("one-sided-allow",) and [s.reason for s in read.suppressions] == ["later"]
    config.write_text("lint:\n  ignore:\n  - {code: spiffe-principal}\n")
    with pytest.raises(UsageError, match="a suppression needs a reason"):
        kubeward.read_lint_config(str(config))
    with pytest.raises(UsageError, match="unknown finding code"):
        kubeward.lint(kubeward.analyse_paths([SHOP]), disabled=["no-such-code"])


def test_diff_revisions_names_the_revision_git_cannot_read() -> None:
    with pytest.raises(UsageError, match="cannot read .* at no-such-revision-xyz"):
        kubeward.diff_revisions(SHOP, "no-such-revision-xyz", "HEAD")
