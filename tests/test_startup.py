"""Issue 13, start-up: a command imports only what it uses, and compiled validators are kept.

Start-up time itself is measured by benchmarks/startup.py, not here; these tests pin down the
structure that makes it short, in real child processes: which modules a command imports, and what
the cache of compiled schema validators (dialects/_compiled.py) does between runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"

# Runs kubeward's command line in this process, then says which of the interesting modules it imported.
RUNNER = """\
import runpy, sys
sys.argv = ["kubeward", *sys.argv[1:]]
try:
    runpy.run_module("kubeward", run_name="__main__")
except SystemExit as exit:
    code = exit.code
watched = ("jsonschema", "fastjsonschema", "lark", "rich.console", "kubeward.analyses.session",
           "kubeward.analyses.lint", "kubeward.analyses.check", "kubeward.dialects")
print(json.dumps({"exit": code, "imported": [m for m in watched if m in sys.modules]}), file=sys.stderr)
""".replace("import runpy, sys", "import json, runpy, sys")

POLICY = """\
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: x, ports: [{containerPort: 8080}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: app}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {}}], ports: [{port: 8080}]}]
"""
CALICO = """\
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: calico, namespace: app}
spec:
  selector: app == 'web'
  ingress: [{action: Allow, protocol: TCP, source: {selector: "app == 'web'"}}]
"""


def kubeward(cache: Path | str, *args: str, ci: bool = False, code: int = 0) -> tuple[str, list[str]]:
    """Standard output of ``kubeward ARGS`` in a child process with this cache folder (its exit
    code must be ``code``), and what it imported."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "KUBEWARD_CACHE_DIR")}
    env.update({"PYTHONPATH": str(SRC), "KUBEWARD_CACHE_DIR": str(cache)})
    if ci:
        env["CI"] = "true"
    done = subprocess.run([sys.executable, "-c", RUNNER, *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert (report["exit"] or 0) == code, done.stderr
    imported: list[str] = report["imported"]
    return done.stdout, imported


def entries(cache: Path) -> list[str]:
    return sorted(p.name.rsplit("-", 1)[0] for p in cache.glob("validators/*/*") if not p.name.startswith("."))


def test_version_imports_no_analysis() -> None:
    out, imported = kubeward("off", "--version")
    assert out.startswith("kubeward, version ")
    assert imported == []


def test_map_imports_what_it_uses_and_a_warm_run_no_schema_library(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(POLICY, encoding="utf-8")
    cache = tmp_path / "cache"
    first, imported = kubeward(cache, "map", str(tmp_path / "app.yaml"), "--format", "json")
    # no Calico selector: no lark; JSON: no rich console; map: no lint or check
    assert imported == ["fastjsonschema", "kubeward.analyses.session", "kubeward.dialects"]
    assert entries(cache) == ["apps_v1_Deployment", "networking.k8s.io_v1_NetworkPolicy", "v1_Namespace"]
    again, imported = kubeward(cache, "map", str(tmp_path / "app.yaml"), "--format", "json")
    assert imported == ["kubeward.analyses.session", "kubeward.dialects"]
    assert json.loads(again) == json.loads(first)
    off, _ = kubeward("off", "map", str(tmp_path / "app.yaml"), "--format", "json")
    assert json.loads(off) == json.loads(first)


def test_a_calico_selector_imports_lark_and_its_tables_are_kept(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(POLICY + CALICO, encoding="utf-8")
    cache = tmp_path / "cache"
    first, imported = kubeward(cache, "map", str(tmp_path / "app.yaml"), "--cni", "calico")
    assert "lark" in imported and "rich.console" not in imported
    assert [p.name for p in cache.glob("validators/*/calico-selector-*.lark")]
    again, _ = kubeward(cache, "map", str(tmp_path / "app.yaml"), "--cni", "calico")
    assert again == first and "app/web" in first


def test_a_warm_run_still_explains_what_the_schema_refuses(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(POLICY, encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(POLICY.replace("ports: [{port: 8080}]", "ports: [{port: 8080, prot: TCP}]"),
                                       encoding="utf-8")
    cache = tmp_path / "cache"
    kubeward(cache, "map", str(tmp_path / "good.yaml"))
    out, imported = kubeward(cache, "check", str(tmp_path / "bad.yaml"), "--format", "json", code=2)
    assert "jsonschema" in imported
    [problem] = [d for d in json.loads(out)["diagnostics"] if d["code"] == "unknown-field"]
    assert problem["line"] == 19 and '"spec.ingress[0].ports[0].prot"' in problem["message"]


def test_a_damaged_entry_is_compiled_again(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(POLICY, encoding="utf-8")
    cache = tmp_path / "cache"
    first, _ = kubeward(cache, "map", str(tmp_path / "app.yaml"), "--format", "json")
    for entry in cache.glob("validators/*/*.bin"):
        entry.write_bytes(b"\x00 not marshal data")
    again, imported = kubeward(cache, "map", str(tmp_path / "app.yaml"), "--format", "json")
    assert json.loads(again) == json.loads(first)
    assert "fastjsonschema" in imported  # compiled again, and stored again
    _, imported = kubeward(cache, "map", str(tmp_path / "app.yaml"), "--format", "json")
    assert "fastjsonschema" not in imported


def test_a_cache_folder_others_may_write_is_not_used(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(POLICY, encoding="utf-8")
    cache = tmp_path / "shared"
    kubeward(cache, "map", str(tmp_path / "app.yaml"))
    for folder in cache.glob("validators/*"):
        folder.chmod(0o777)  # its entries are code kubeward runs
        for entry in folder.iterdir():
            entry.unlink()
    kubeward(cache, "map", str(tmp_path / "app.yaml"))
    assert entries(cache) == []


def test_in_ci_a_few_objects_are_checked_without_compiling(tmp_path: Path) -> None:
    # A fresh CI machine would compile every kind at every run: there, as without a cache, a
    # validator is compiled only once it pays within the run (docs/cli.md).
    (tmp_path / "app.yaml").write_text(POLICY, encoding="utf-8")
    cache = tmp_path / "cache"
    _, imported = kubeward(cache, "map", str(tmp_path / "app.yaml"), ci=True)
    assert "fastjsonschema" not in imported and "jsonschema" in imported
    assert entries(cache) == []


def test_folders_of_other_versions_are_removed_once_unused_for_a_month(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(POLICY, encoding="utf-8")
    cache = tmp_path / "cache"
    stale, recent = cache / "validators" / "stale", cache / "validators" / "recent"
    for folder in (stale, recent):
        folder.mkdir(parents=True)
        (folder / "entry.bin").write_bytes(b"x")
    month_ago = time.time() - 31 * 86400
    os.utime(stale, (month_ago, month_ago))
    kubeward(cache, "map", str(tmp_path / "app.yaml"))
    assert not stale.exists() and (recent / "entry.bin").exists()  # another version in use keeps its own
