"""A protocol-level fake of the Kubernetes API server, for the tests of ``--cluster``.

It speaks what the official client and kubeward send and read, over HTTPS with a certificate
made for the test (with the ``cryptography`` package, a test dependency), in a thread of the test process:

- discovery: ``/api`` (APIVersions), ``/apis`` (APIGroupList with preferred versions),
  ``/api/v1`` and ``/apis/GROUP/VERSION`` (APIResourceList, subresources included);
- typed lists (``DeploymentList`` …) whose items carry no ``kind``/``apiVersion``, as a real
  server writes them, cluster-wide, in pages of at most ``page_size`` items whatever ``limit``
  asks (a server may return fewer), with opaque ``continue`` tokens; an expired token (410) once
  per plural in ``expire``;
- single-object GETs ``/api/v1/namespaces/{ns}/{plural}/{name}`` (and ``/apis/GROUP/VERSION/…``):
  the object with its ``kind``/``apiVersion``, 404 when absent;
- ``Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1``: metadata only;
  Secrets are never sent otherwise (406);
- bearer-token authentication (401 with a Status otherwise), 403 for the resources in
  ``forbidden`` (``networkpolicies``: of every group; ``networkpolicies.networking.k8s.io``: of
  one; a get as a list), 404 for everything it does not serve.

Every request is recorded (path, query, headers) for the tests to read.
"""

from __future__ import annotations

import base64
import copy
import datetime
import ipaddress
import json
import shutil
import ssl
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TOKEN = "kw-test-token-5a1f0c9e8d7b6a5f4e3d2c1b"
METADATA_ONLY = "as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"

# What every cluster serves, whatever objects it holds.
BUILTIN: dict[str, list[str]] = {
    "v1": ["Namespace", "Pod", "Service", "ServiceAccount", "Node", "Secret", "ReplicationController", "ConfigMap",
           "Endpoints"],
    "apps/v1": ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"],
    "batch/v1": ["Job", "CronJob"],
    "networking.k8s.io/v1": ["NetworkPolicy", "Ingress", "IngressClass"],
    "rbac.authorization.k8s.io/v1": ["Role", "ClusterRole"],
}
CLUSTER_SCOPED = frozenset({
    "Namespace", "Node", "IngressClass", "GatewayClass", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy",
    "ClusterNetworkPolicy", "CiliumClusterwideNetworkPolicy", "GlobalNetworkPolicy", "GlobalNetworkSet", "Tier",
    "Profile", "HostEndpoint", "StagedGlobalNetworkPolicy", "ClusterRole"})


def plural(kind: str) -> str:
    lower = kind.lower()
    if lower == "endpoints":
        return lower
    if lower.endswith("y") and lower[-2:-1] not in ("a", "e", "o", "u"):
        return lower[:-1] + "ies"
    if lower.endswith(("s", "x")):
        return lower + "es"
    return lower + "s"


@dataclass(frozen=True, slots=True)
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass(slots=True)
class _Kind:
    group: str
    kind: str
    namespaced: bool
    items: list[dict[str, Any]] = field(default_factory=list)


class FakeApiServer:
    """The fake server over ``objects`` (plain dicts with ``apiVersion`` and ``kind``, as in files)."""

    def __init__(self, objects: Iterable[dict[str, Any]], *, token: str = TOKEN, page_size: int = 3,
                 forbidden: Iterable[str] = (), expire: Iterable[str] = (), tls: bool = True) -> None:
        self.token, self.page_size = token, page_size
        self.forbidden, self.expire = set(forbidden), set(expire)
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self.kinds: dict[tuple[str, str], _Kind] = {}
        self.versions: dict[str, list[str]] = {}  # group → versions served, preferred first
        self.kinds_of: dict[str, list[str]] = {gv: list(kinds) for gv, kinds in BUILTIN.items()}
        for gv, kinds in BUILTIN.items():
            group, _, version = gv.rpartition("/")
            self.versions.setdefault(group, []).append(version)
            for kind in kinds:
                self.kinds[(group, kind)] = _Kind(group, kind, kind not in CLUSTER_SCOPED)
        for obj in objects:
            self.add(obj)
        self._tmp = Path(tempfile.mkdtemp(prefix="kubeward-fake-apiserver-"))
        self.ca_pem = b""
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        scheme = "http"
        if tls:
            self.ca_pem = self._certificate()
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self._tmp / "cert.pem", self._tmp / "key.pem")
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def add(self, obj: dict[str, Any]) -> None:
        """Store an object as the API server stores it (in the default namespace when it names none)."""
        group, _, version = str(obj["apiVersion"]).rpartition("/")
        kind = str(obj["kind"])
        gv = f"{group}/{version}" if group else version
        if version not in self.versions.setdefault(group, []):
            self.versions[group].append(version)
        if kind not in self.kinds_of.setdefault(gv, []):
            self.kinds_of[gv].append(kind)
        entry = self.kinds.setdefault((group, kind), _Kind(group, kind, kind not in CLUSTER_SCOPED))
        item = {k: copy.deepcopy(v) for k, v in obj.items() if k not in ("apiVersion", "kind")}
        meta = item.setdefault("metadata", {})
        if entry.namespaced:
            meta.setdefault("namespace", "default")
        meta.setdefault("resourceVersion", str(1000 + len(entry.items)))
        meta.setdefault("managedFields", [{"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:spec": {}}}])
        entry.items.append(item)

    def _certificate(self) -> bytes:
        """A self-signed certificate for 127.0.0.1 (P-256, one day), written as cert.pem and key.pem."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubeward-fake-apiserver")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                               critical=False)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        pem = cert.public_bytes(serialization.Encoding.PEM)
        (self._tmp / "cert.pem").write_bytes(pem)
        (self._tmp / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                              serialization.PrivateFormat.PKCS8,
                                                              serialization.NoEncryption()))
        return pem

    def start(self) -> FakeApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def lists_of(self, resource: str) -> list[Request]:
        """The list requests of one plural (``networkpolicies``), in order."""
        return [r for r in self.requests if r.path.rstrip("/").rpartition("/")[2] == resource]

    def kubeconfig(self, path: Path, *, token: str | None = None, context: str = "fake", namespace: str = "",
                   trust: bool = True) -> Path:
        """A kubeconfig whose one context points at this server, with a bearer token."""
        cluster: dict[str, Any] = {"server": self.url}
        if self.ca_pem and trust:
            cluster["certificate-authority-data"] = base64.b64encode(self.ca_pem).decode()
        ctx: dict[str, Any] = {"cluster": "fake-cluster", "user": "fake-user"}
        if namespace:
            ctx["namespace"] = namespace
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "fake-cluster", "cluster": cluster}],
            "contexts": [{"name": context, "context": ctx}],
            "users": [{"name": "fake-user", "user": {"token": token if token is not None else self.token}}],
        }))
        return path

    # ---- answers ------------------------------------------------------------------------------

    def answer(self, path: str, query: dict[str, list[str]], accept: str) -> tuple[int, dict[str, Any]]:
        parts = [p for p in path.split("/") if p]
        if parts == ["api"]:
            return 200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if parts == ["apis"]:
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": group, "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in versions],
                 "preferredVersion": {"groupVersion": f"{group}/{versions[0]}", "version": versions[0]}}
                for group, versions in self.versions.items() if group]}
        if parts[:1] == ["api"] and len(parts) >= 2:
            gv, rest = parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            gv, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        else:
            return _status(404, "NotFound", f"the server could not find the requested resource ({path})")
        if gv not in self.kinds_of:
            return _status(404, "NotFound", "the server could not find the requested resource")
        group = gv.rpartition("/")[0]
        if not rest:
            return 200, self._resources(gv, group)
        if len(rest) == 4 and rest[0] == "namespaces":
            return self._get(gv, group, *rest[1:])
        if len(rest) != 1:
            return _status(404, "NotFound", "the server could not find the requested resource")
        kind = next((k for k in self.kinds_of[gv] if plural(k) == rest[0]), None)
        if kind is None:
            return _status(404, "NotFound", "the server could not find the requested resource")
        resource = rest[0]
        if resource in self.forbidden or f"{resource}.{group}" in self.forbidden:
            who = 'User "system:serviceaccount:ci:kubeward"'
            scope = f'in API group "{group}" at the cluster scope'
            return _status(403, "Forbidden", f'{resource}{"." + group if group else ""} is forbidden: {who} cannot '
                           f'list resource "{resource}" {scope}')
        metadata_only = METADATA_ONLY in accept.replace(" ", "")
        if kind == "Secret" and not group and not metadata_only:
            return _status(406, "NotAcceptable", "this fake API server never sends secret data")
        return self._list(gv, self.kinds[(group, kind)], resource, query, metadata_only)

    def _get(self, gv: str, group: str, namespace: str, resource: str, name: str) -> tuple[int, dict[str, Any]]:
        """One namespaced object by name, as ``kubectl get -n NAMESPACE RESOURCE NAME`` asks for it."""
        kind = next((k for k in self.kinds_of[gv] if plural(k) == resource), None)
        if kind is None or not self.kinds[(group, kind)].namespaced:
            return _status(404, "NotFound", "the server could not find the requested resource")
        if resource in self.forbidden or f"{resource}.{group}" in self.forbidden:
            who = 'User "system:serviceaccount:ci:kubeward"'
            return _status(403, "Forbidden", f'{resource}{"." + group if group else ""} "{name}" is forbidden: {who} '
                           f'cannot get resource "{resource}" in API group "{group}" in the namespace "{namespace}"')
        if kind == "Secret" and not group:
            return _status(406, "NotAcceptable", "this fake API server never sends secret data")
        found = next((i for i in self.kinds[(group, kind)].items
                      if i["metadata"].get("namespace") == namespace and i["metadata"].get("name") == name), None)
        if found is None:
            return _status(404, "NotFound", f'{resource} "{name}" not found')
        return 200, {"kind": kind, "apiVersion": gv, **copy.deepcopy(found)}

    def gets(self) -> list[Request]:
        """The single-object GETs (``…/namespaces/NS/PLURAL/NAME``), in order."""
        return [r for r in self.requests if len(_rest(r.path)) == 4 and _rest(r.path)[0] == "namespaces"]

    def _resources(self, gv: str, group: str) -> dict[str, Any]:
        resources: list[dict[str, Any]] = []
        for kind in self.kinds_of[gv]:
            namespaced = self.kinds[(group, kind)].namespaced
            verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
            resources.append({"name": plural(kind), "singularName": kind.lower(), "namespaced": namespaced,
                              "kind": kind, "verbs": verbs})
            resources.append({"name": f"{plural(kind)}/status", "singularName": "", "namespaced": namespaced,
                              "kind": kind, "verbs": ["get", "patch", "update"]})
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}

    def _list(self, gv: str, entry: _Kind, resource: str, query: dict[str, list[str]],
              metadata_only: bool) -> tuple[int, dict[str, Any]]:
        start = 0
        token = query.get("continue", [""])[0]
        if token:
            if resource in self.expire:
                self.expire.discard(resource)
                return _status(410, "Expired", "The provided continue parameter is too old to display a consistent "
                               "list result. You can start a new list without the continue parameter.")
            start = json.loads(base64.urlsafe_b64decode(token))["start"]
        limit = int(query.get("limit", ["0"])[0] or 0)
        size = min(limit, self.page_size) if limit else len(entry.items)
        page = entry.items[start:start + size]
        meta: dict[str, Any] = {"resourceVersion": "5000"}
        if start + size < len(entry.items):
            meta["continue"] = base64.urlsafe_b64encode(json.dumps({"start": start + size}).encode()).decode()
            meta["remainingItemCount"] = len(entry.items) - start - size
        if metadata_only:
            items = [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                      "metadata": copy.deepcopy(i["metadata"])} for i in page]
            return 200, {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                         "items": items}
        return 200, {"kind": f"{entry.kind}List", "apiVersion": gv, "metadata": meta, "items": copy.deepcopy(page)}


def _rest(path: str) -> list[str]:
    """The parts of a path after its group version."""
    parts = [p for p in path.split("/") if p]
    return parts[2:] if parts[:1] == ["api"] else parts[3:]


def _status(code: int, reason: str, message: str) -> tuple[int, dict[str, Any]]:
    return code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
                  "reason": reason, "code": code}


def _handler(server: FakeApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            headers = {k.lower(): v for k, v in self.headers.items()}
            server.record(Request(url.path, query, headers))
            if headers.get("authorization") != f"Bearer {server.token}":
                code, body = _status(401, "Unauthorized", "Unauthorized")
            else:
                code, body = server.answer(url.path, query, headers.get("accept", ""))
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

    return Handler


@contextmanager
def serving(objects: Iterable[dict[str, Any]], **kwargs: Any) -> Iterator[FakeApiServer]:
    server = FakeApiServer(objects, **kwargs).start()
    try:
        yield server
    finally:
        server.stop()


def objects_of(*paths: str) -> list[dict[str, Any]]:
    """The objects of manifest files as plain dicts (kubeward's own loader reads them), without
    kubeward's TestSuites, which no cluster holds."""
    from kubeward.diagnostics import Diagnostics
    from kubeward.loader import load_paths

    found = load_paths(paths, Diagnostics())
    return [json.loads(json.dumps(o.data)) for o in found if o.group != "kubeward.dev"]
