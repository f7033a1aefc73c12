"""Extract the OpenAPI v3 schemas of upstream CRDs into src/kubeward/schemas/*.json.

Run by hand when the upstream releases change (not part of the package or of the tests):

    python scripts/extract_schemas.py MIRRORS_DIR

where MIRRORS_DIR holds bare git clones named ``owner+repo/repo`` (the releases below must be
reachable in them). Only ``spec.versions[].schema.openAPIV3Schema`` of each CRD is kept, with
every ``description`` keyword removed (the schemas' meaning is unchanged; the prose is not
needed and would triple the size). Identical schemas of several versions are stored once.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

OUT = Path(__file__).resolve().parent.parent / "src" / "kubeward" / "schemas"


# file name -> (repository, git directory name, release tag (or "tag=commit" where the clone has the release
# commit but not its tag), [(path in the repository, kinds to keep or None)])
SOURCES: dict[str, tuple[str, str, str, list[tuple[str, set[str] | None]]]] = {
    "cilium.json": ("cilium/cilium", "rastislavs+cilium", "v1.19.4=95e477fdcfd35d438b135f4d981ee20ce3016ac3", [
        ("pkg/k8s/apis/cilium.io/client/crds/v2/ciliumnetworkpolicies.yaml", None),
        ("pkg/k8s/apis/cilium.io/client/crds/v2/ciliumclusterwidenetworkpolicies.yaml", None),
    ]),
    "calico.json": ("projectcalico/calico", "projectcalico+calico", "v3.32.1", [
        (f"{folder}/{prefix}_{name}.yaml", None)
        for folder, prefix in (("api/config/crd", "projectcalico.org"),
                               ("libcalico-go/config/crd", "crd.projectcalico.org"))
        for name in ("networkpolicies", "globalnetworkpolicies", "tiers", "networksets", "globalnetworksets",
                     "hostendpoints", "stagednetworkpolicies", "stagedglobalnetworkpolicies",
                     "stagedkubernetesnetworkpolicies")
    ]),
    "istio.json": ("istio/istio", "istio+istio", "1.30.3", [
        ("manifests/charts/base/files/crd-all.gen.yaml",
         {"AuthorizationPolicy", "PeerAuthentication", "Gateway", "VirtualService", "ServiceEntry", "Sidecar",
          "DestinationRule"}),
    ]),
    "gateway-api.json": ("kubernetes-sigs/gateway-api", "kubernetes-sigs+gateway-api", "v1.6.1", [
        (f"config/crd/experimental/gateway.networking.k8s.io_{name}.yaml", None)
        for name in ("gatewayclasses", "gateways", "httproutes", "grpcroutes", "tlsroutes", "tcproutes",
                     "udproutes", "referencegrants")
    ]),
    "network-policy-api-v0.1.json": ("kubernetes-sigs/network-policy-api", "kubernetes-sigs+network-policy-api",
                                     "v0.1.8", [
        ("config/crd/experimental/policy.networking.k8s.io_adminnetworkpolicies.yaml", None),
        ("config/crd/experimental/policy.networking.k8s.io_baselineadminnetworkpolicies.yaml", None),
    ]),
    "network-policy-api-v0.2.json": ("kubernetes-sigs/network-policy-api", "kubernetes-sigs+network-policy-api",
                                     "v0.2.0", [
        ("config/crd/experimental/policy.networking.k8s.io_clusternetworkpolicies.yaml", None),
    ]),
}


def _git(mirrors: Path, repo_dir: str, *args: str) -> str:
    return subprocess.run(["git", "-C", str(mirrors / repo_dir / "repo"), *args], check=True,
                          capture_output=True, text=True).stdout


def _without_descriptions(node: Any) -> Any:
    """The schema without its prose: ``description`` is dropped where it is a keyword, never
    where it names a field (inside ``properties``)."""
    if isinstance(node, list):
        return [_without_descriptions(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "description" and isinstance(value, str):
            continue
        if key in ("properties", "patternProperties", "definitions") and isinstance(value, dict):
            out[key] = {name: _without_descriptions(sub) for name, sub in value.items()}
        else:
            out[key] = _without_descriptions(value)
    return out


def extract(mirrors: Path, name: str) -> None:
    repository, repo_dir, release, files = SOURCES[name]
    release, _, ref = release.partition("=")
    commit = _git(mirrors, repo_dir, "rev-parse", f"{ref or release}^{{commit}}").strip()
    schemas: list[Any] = []
    kinds: list[dict[str, Any]] = []
    for path, wanted in files:
        for doc in yaml.safe_load_all(_git(mirrors, repo_dir, "show", f"{commit}:{path}")):
            if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            kind = spec["names"]["kind"]
            if wanted is not None and kind not in wanted:
                continue
            versions: dict[str, int] = {}
            storage = ""
            for version in spec["versions"]:
                schema = _without_descriptions(version["schema"]["openAPIV3Schema"])
                if schema not in schemas:
                    schemas.append(schema)
                versions[version["name"]] = schemas.index(schema)
                if version.get("storage"):
                    storage = version["name"]
            kinds.append({"group": spec["group"], "kind": kind, "scope": spec["scope"], "storage": storage,
                          "versions": versions, "path": path})
    data = {"repository": repository, "release": release, "commit": commit, "kinds": kinds, "schemas": schemas}
    (OUT / name).write_text(json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"{name}: {len(kinds)} kinds, {len(schemas)} schemas, {(OUT / name).stat().st_size:,} bytes")


if __name__ == "__main__":
    for file_name in SOURCES:
        extract(Path(sys.argv[1]), file_name)
